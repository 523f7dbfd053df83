//! The lifecycle decision for one organization or account, given what its rules say now and
//! what it was before (vitally-product §2).

use super::Status;
use super::config::{TrackMode, UnconvertedTrials};
use crate::time::Millis;

/// Why a status is being recomputed: decides whether sticky churn may lift.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The record's data (or related data, or the clock) changed: a churned record that is
    /// paid again (or, without a subscribed configuration, no longer matches any churn rule)
    /// comes back.
    Data,
    /// The rules changed: nobody is un-churned (protects history), new matches still churn.
    Rules,
    /// An explicit "reprocess all using the new configuration": the rules decide alone.
    Reprocess,
}

/// What the rules say about a record now.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Facts {
    pub(crate) tracked: bool,
    pub(crate) churn_matches: bool,
    pub(crate) trial_matches: bool,
    pub(crate) trial_end: Option<Millis>,
    /// A subscribed configuration exists (revenue traits or a paid condition).
    pub(crate) has_subscribed_rules: bool,
    pub(crate) paid: bool,
    pub(crate) unconverted: UnconvertedTrials,
}

/// The record's own lifecycle outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) status: Status,
    /// The sticky churn moment to keep (`None` clears it).
    pub(crate) churned_since: Option<Millis>,
    pub(crate) unconverted_trial: bool,
}

pub(crate) fn track_allows(mode: TrackMode, matches: bool) -> bool {
    match mode {
        TrackMode::Include => matches,
        TrackMode::Exclude => !matches,
    }
}

/// Ignored > churned > trial > subscribed, with sticky churn.
pub(crate) fn decide(
    facts: Facts,
    previous_since: Option<Millis>,
    mode: Mode,
    now: Millis,
) -> Outcome {
    let trial_over = facts.trial_end.is_some_and(|end| end <= now);
    let mut unconverted_trial = false;
    // The rules alone, and when they would date a churn.
    let (raw, raw_since) = if !facts.tracked {
        (Status::Ignored, None)
    } else if facts.churn_matches {
        (Status::Churned, Some(now))
    } else if facts.trial_matches && !trial_over {
        (Status::Trial, None)
    } else if facts.trial_matches && !facts.paid {
        match facts.unconverted {
            // Failed to convert: churned as of the end date, not whenever we noticed.
            UnconvertedTrials::Churn => (Status::Churned, facts.trial_end),
            UnconvertedTrials::KeepAsTrial => {
                unconverted_trial = true;
                (Status::Trial, None)
            }
        }
    } else {
        (Status::Subscribed, None)
    };
    let comes_back = match mode {
        Mode::Reprocess => true,
        Mode::Rules => false,
        Mode::Data => facts.paid || !facts.has_subscribed_rules,
    };
    let (status, churned_since) = match raw {
        Status::Churned => (Status::Churned, previous_since.or(raw_since)),
        // Ignoring wins over churn, but the churn stays underneath for when it is tracked again.
        Status::Ignored if mode == Mode::Reprocess => (Status::Ignored, None),
        Status::Ignored => (Status::Ignored, previous_since),
        _ if previous_since.is_some() && !comes_back => (Status::Churned, previous_since),
        other => (other, None),
    };
    Outcome {
        status,
        churned_since,
        unconverted_trial: unconverted_trial && status == Status::Trial,
    }
}

/// An account's status after its organization's: an organization's ignore or churn carries to
/// its accounts, never the other way.
pub(crate) fn combine(
    own: Status,
    own_churned_at: Option<Millis>,
    organization: Status,
    organization_churned_at: Option<Millis>,
) -> (Status, Option<Millis>) {
    if own == Status::Ignored || organization == Status::Ignored {
        (Status::Ignored, None)
    } else if own == Status::Churned {
        (Status::Churned, own_churned_at)
    } else if organization == Status::Churned {
        (Status::Churned, organization_churned_at)
    } else {
        (own, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            tracked: true,
            ..Facts::default()
        }
    }

    #[test]
    fn precedence_is_ignored_then_churned_then_trial() {
        let now = Millis(100);
        let all = Facts {
            tracked: false,
            churn_matches: true,
            trial_matches: true,
            ..facts()
        };
        assert_eq!(decide(all, None, Mode::Data, now).status, Status::Ignored);
        let churn_and_trial = Facts {
            churn_matches: true,
            trial_matches: true,
            ..facts()
        };
        assert_eq!(
            decide(churn_and_trial, None, Mode::Data, now).status,
            Status::Churned
        );
        let trial = Facts {
            trial_matches: true,
            ..facts()
        };
        assert_eq!(decide(trial, None, Mode::Data, now).status, Status::Trial);
        assert_eq!(
            decide(facts(), None, Mode::Data, now).status,
            Status::Subscribed
        );
    }

    #[test]
    fn churn_lifts_on_data_only_when_paid_again() {
        let now = Millis(100);
        let since = Some(Millis(10));
        let unpaid = Facts {
            has_subscribed_rules: true,
            ..facts()
        };
        let paid = Facts {
            paid: true,
            ..unpaid
        };
        assert_eq!(
            decide(unpaid, since, Mode::Data, now).status,
            Status::Churned
        );
        assert_eq!(
            decide(paid, since, Mode::Data, now).status,
            Status::Subscribed
        );
        assert_eq!(
            decide(paid, since, Mode::Rules, now).status,
            Status::Churned
        );
        assert_eq!(
            decide(unpaid, since, Mode::Reprocess, now).status,
            Status::Subscribed
        );
        // Without subscribed rules, no longer matching the churn rule is enough.
        assert_eq!(
            decide(facts(), since, Mode::Data, now).status,
            Status::Subscribed
        );
    }

    #[test]
    fn combine_carries_organization_churn_and_ignore_down() {
        let at = Some(Millis(5));
        assert_eq!(
            combine(Status::Trial, None, Status::Churned, at),
            (Status::Churned, at)
        );
        assert_eq!(
            combine(Status::Churned, Some(Millis(1)), Status::Churned, at),
            (Status::Churned, Some(Millis(1)))
        );
        assert_eq!(
            combine(Status::Churned, None, Status::Ignored, None),
            (Status::Ignored, None)
        );
        assert_eq!(
            combine(Status::Subscribed, None, Status::Trial, None),
            (Status::Subscribed, None)
        );
    }
}
