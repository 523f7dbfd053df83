//! The derivation configuration of a workspace, as the API stores and serves it (camelCase
//! JSON). Nothing here is checked: [`super::compile`] turns it into rules the engine runs.

use serde::{Deserialize, Serialize};

/// Formula traits, lifecycle rules and the user deactivation rule of one workspace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DerivationConfig {
    #[serde(default)]
    pub formulas: Vec<FormulaTrait>,
    #[serde(default)]
    pub lifecycle: LifecycleConfig,
    /// Users matching this are deactivated (`deactivatedAt` is set to the moment they first
    /// matched); they leave user-based metrics and their events stop counting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_deactivation: Option<Condition>,
    /// The IANA time zone rules are evaluated in (`"America/New_York"`): calendar days of
    /// `before`/`on`/`after`, `in last N days`, date functions, dates written without an
    /// offset. UTC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// The record kind a formula trait is computed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Model {
    Organization,
    Account,
    User,
}

impl Model {
    pub fn as_str(self) -> &'static str {
        match self {
            Model::Organization => "organization",
            Model::Account => "account",
            Model::User => "user",
        }
    }

    /// Reads the store's custom-field model names (`organizations`, `accounts`, `users`) as
    /// well as the singular forms.
    pub fn parse(name: &str) -> Option<Model> {
        match name {
            "organization" | "organizations" => Some(Model::Organization),
            "account" | "accounts" => Some(Model::Account),
            "user" | "users" => Some(Model::User),
            _ => None,
        }
    }

    pub(crate) fn scope(self) -> steward_rules::Scope {
        match self {
            Model::Organization => steward_rules::Scope::Organization,
            Model::Account => steward_rules::Scope::Account,
            Model::User => steward_rules::Scope::User,
        }
    }

    pub(crate) fn of_scope(scope: &steward_rules::Scope) -> Option<Model> {
        match scope {
            steward_rules::Scope::Organization => Some(Model::Organization),
            steward_rules::Scope::Account => Some(Model::Account),
            steward_rules::Scope::User => Some(Model::User),
            steward_rules::Scope::CustomObject(_) => None,
        }
    }

    pub(crate) const ALL: [Model; 3] = [Model::Organization, Model::Account, Model::User];
}

/// A trait computed from an expression of the rules language.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FormulaTrait {
    pub model: Model,
    /// The name rules and the API read it by; must not shadow another field.
    pub key: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub expression: String,
}

/// A condition: rule-language text (`"plan == \"trial\""`) or the JSON filter form
/// (`{"field": "plan", "op": "is", "value": "trial"}`). Both compile to the same program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Condition {
    Text(String),
    /// Kept as JSON until compiled, so shape errors name their path in the configuration.
    Filter(serde_json::Value),
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LifecycleConfig {
    #[serde(default)]
    pub organizations: LifecycleRules,
    #[serde(default)]
    pub accounts: LifecycleRules,
}

/// The lifecycle rules of organizations or of accounts (vitally-product §2). Every part is
/// optional; with none, every record is `subscribed`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LifecycleRules {
    /// Traits holding revenue, in order: the first with a value is the record's `mrr`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revenue_traits: Vec<String>,
    /// Separates paying records; without it any revenue value (even 0) counts as paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_condition: Option<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_condition: Option<Condition>,
    /// A date trait: when it passes, a trial ends (paid: subscribed; unpaid: unconverted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_end_date_trait: Option<String>,
    #[serde(default)]
    pub unconverted_trials: UnconvertedTrials,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub churn_condition: Option<Condition>,
    /// A date trait giving `churnedAt`; without one, `churnedAt` is the moment the record
    /// first matched the churn rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub churn_date_trait: Option<String>,
    /// Which records are tracked at all; the others are `ignored`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<TrackRules>,
    /// A date trait exposed as `nextRenewalDate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_renewal_date_trait: Option<String>,
    /// What `mrr` shows for a churned record whose revenue traits are empty.
    #[serde(default)]
    pub churned_revenue: ChurnedRevenue,
}

/// `mrr` of a record churned by its own rules, once its revenue traits hold nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ChurnedRevenue {
    /// The last revenue it had (Vitally's default: history keeps what the customer paid).
    #[default]
    KeepLast,
    /// Null, like any record without revenue.
    Null,
}

/// What a trial whose end date passed without it becoming paid turns into.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UnconvertedTrials {
    /// It churns ("failed to convert a time-constrained trial"), `churnedAt` = the end date.
    #[default]
    Churn,
    /// It stays a trial, flagged `unconvertedTrial` in the derived view.
    KeepAsTrial,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrackRules {
    pub mode: TrackMode,
    pub condition: Condition,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TrackMode {
    /// Track only the records matching the condition; ignore the rest.
    Include,
    /// Ignore the records matching the condition.
    Exclude,
}

impl LifecycleRules {
    /// Whether any rule is set (an unconfigured level costs nothing per record).
    pub fn is_empty(&self) -> bool {
        self.revenue_traits.is_empty()
            && self.paid_condition.is_none()
            && self.trial_condition.is_none()
            && self.trial_end_date_trait.is_none()
            && self.churn_condition.is_none()
            && self.churn_date_trait.is_none()
            && self.track.is_none()
            && self.next_renewal_date_trait.is_none()
    }
}
