//! The values that go in and out of [`Metrics`](super::Metrics).

use crate::ids::{AccountId, OrganizationId, UserId};
use crate::time::Millis;

/// What kind of message an event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A product event (`track`): counted under its name, and activity.
    Track,
    /// A Segment `page` or `screen` call: activity only (first/last seen, sessions), its name
    /// is not counted.
    Activity,
}

/// One event, with its account already resolved by the ingestion layer.
///
/// It counts for its user, for its account, and for its organization only when it names no
/// account (an event with both counts for the organization through the account, if the account
/// is in it at read time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventInput<'a> {
    /// When the event happened (its own timestamp, not when it was received).
    pub at: Millis,
    pub kind: EventKind,
    pub name: &'a str,
    pub user: Option<UserId>,
    pub account: Option<AccountId>,
    pub organization: Option<OrganizationId>,
}

impl EventInput<'_> {
    /// The organization the event counts for directly: only when it names no account (with
    /// an account, it reaches the account's organization at read time).
    pub(crate) fn direct_organization(&self) -> Option<OrganizationId> {
        self.account
            .is_none()
            .then_some(self.organization)
            .flatten()
    }

    /// Whether the event counts for any record at all.
    pub(crate) fn counts_for_a_record(&self) -> bool {
        self.user.is_some() || self.account.is_some() || self.direct_organization().is_some()
    }
}

/// Counters of one event name. See the module docs for the exact windows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventStats {
    /// All events ever, whatever their time.
    pub total: u64,
    /// Events on the UTC days `day(now) - 29 ..= day(now)`.
    pub last_30_days: u64,
    /// Events on the UTC days `day(now) - 59 ..= day(now) - 30`.
    pub previous_30_days: u64,
    /// The latest event's time (exact, never moves backwards).
    pub last_seen_at: Option<Millis>,
}

/// A user's default metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct UserMetrics {
    /// Earliest activity (track, page or screen).
    pub first_known: Option<Millis>,
    /// Latest activity.
    pub last_seen: Option<Millis>,
    /// Number of distinct UTC days with activity.
    pub sessions: u32,
    /// Product-event counters by name, sorted by name.
    pub events: Vec<(String, EventStats)>,
}

/// An account's (or an organization's) default metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountMetrics {
    pub first_seen: Option<Millis>,
    pub last_seen: Option<Millis>,
    /// Product-event counters by name, sorted by name.
    pub events: Vec<(String, EventStats)>,
    /// `active_users_30d / users`; `None` without users.
    pub active_users_share_30d: Option<f64>,
    /// Users with activity on a day of the last-30-days window.
    pub active_users_30d: u32,
    /// Users of the record in the graph now.
    pub users: u32,
}

/// An organization's default metrics: the sum over its current accounts plus the events sent to
/// the organization directly; the active share is over its distinct users (direct or through
/// accounts).
pub type OrganizationMetrics = AccountMetrics;

/// Estimated heap bytes of [`Metrics`](super::Metrics), by record kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetricsBytes {
    pub users: usize,
    pub accounts: usize,
    pub organizations: usize,
    /// The event-name interner.
    pub names: usize,
}

impl MetricsBytes {
    pub fn total(&self) -> usize {
        self.users + self.accounts + self.organizations + self.names
    }
}
