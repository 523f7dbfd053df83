//! Derived values: formula traits (rollups included), lifecycle status and user deactivation,
//! kept current on every write. See `docs/derivation.md` for the design.
//!
//! - [`config`]: the configuration as the API stores it (camelCase JSON);
//! - [`compile()`]: checks it against the workspace's fields into a [`Compiled`], reporting every
//!   problem with its path;
//! - the engine keeps, per configured workspace, a projection of the inputs rules read, the
//!   computed values and a timer queue; [`crate::Engine::configure`], `set_traits`, `apply_at`,
//!   `record_event` and `advance` return the [`DerivedChange`]s storage persists.
//!
//! Everything here is pure and deterministic: the clock comes in as `now`.

mod bulk;
pub mod compile;
pub mod config;
mod lifecycle;
mod records;
mod rollup;
pub mod schema;
mod state;
mod sweeps;
mod timers;
mod view;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

pub use compile::{Compiled, ConfigError, compile};
pub use config::{
    ChurnedRevenue, Condition, DerivationConfig, FormulaTrait, LifecycleConfig, LifecycleRules,
    Model, TrackMode, TrackRules, UnconvertedTrials,
};
pub(crate) use lifecycle::Mode;
pub use schema::{CustomFieldInput, FieldType, SchemaInput, key_role_fields, user_column_fields};
pub(crate) use state::{Before, Derivation};
pub(crate) use view::Links;

use crate::ids::{AccountId, OrganizationId, UserId};
use crate::time::Millis;

/// A record of the hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "model", content = "id", rename_all = "camelCase")]
pub enum RecordRef {
    Organization(OrganizationId),
    Account(AccountId),
    User(UserId),
}

impl RecordRef {
    /// The record's id, whatever its kind.
    pub fn uuid(self) -> uuid::Uuid {
        match self {
            RecordRef::Organization(id) => id.0,
            RecordRef::Account(id) => id.0,
            RecordRef::User(id) => id.0,
        }
    }

    pub fn model(self) -> Model {
        match self {
            RecordRef::Organization(_) => Model::Organization,
            RecordRef::Account(_) => Model::Account,
            RecordRef::User(_) => Model::User,
        }
    }
}

/// A record's current name and complete traits (not a patch), as storage has them after a
/// committed write. Only the keys some rule reads are kept.
#[derive(Clone, Copy, Debug)]
pub struct RecordInput<'a> {
    pub record: RecordRef,
    pub name: Option<&'a str>,
    pub traits: &'a Map<String, Json>,
    /// Columns declared as extra fields (users' `email`, `joinedAt`; see
    /// [`SchemaInput::extra_fields`]), when the workspace's rules may read them.
    pub extra: Option<&'a Map<String, Json>>,
}

/// The lifecycle bucket of an organization or account. Precedence when several rules match:
/// ignored > churned > trial > subscribed (the default).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    #[default]
    Subscribed,
    Trial,
    Churned,
    Ignored,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Subscribed => "subscribed",
            Status::Trial => "trial",
            Status::Churned => "churned",
            Status::Ignored => "ignored",
        }
    }
}

/// Something derived changed; storage persists these (history, the lifecycle table) and later
/// capabilities (playbooks, webhooks) react to them.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum DerivedChange {
    /// A lifecycle transition, for the status history.
    Status {
        record: RecordRef,
        from: Status,
        to: Status,
        at: Millis,
    },
    /// A derived value changed: a formula trait by its key, or `mrr`, `churnedAt`,
    /// `trialEndDate`, `nextRenewalDate`, `deactivatedAt`, `ownStatus`. `null`: unset.
    Value {
        record: RecordRef,
        key: String,
        value: Json,
    },
    /// The state that must survive a restart changed: upsert it (see [`crate::Engine::restore`]).
    Persist(LifecycleRecord),
    /// The record is gone: forget its persisted state.
    Forget { record: RecordRef },
}

/// What storage keeps per record so that sticky churn, first-match dates and the last status
/// survive restarts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleRecord {
    pub record: RecordRef,
    /// The status last reported (transitions after a restart are reported from it).
    pub status: Status,
    /// Set while the record is churned by its own rules: the moment it first matched. Churn
    /// is sticky while this is set (rule edits do not undo it, only data or `reprocess`).
    pub churned_since: Option<Millis>,
    /// The `churnedAt` last reported (events replayed at start-up stop counting from it).
    pub churned_at: Option<Millis>,
    /// A user's `deactivatedAt`: the moment the user first matched the deactivation rule.
    pub deactivated_at: Option<Millis>,
    /// While churned by its own rules: the `mrr` shown, which it keeps when its revenue traits
    /// empty (see `ChurnedRevenue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mrr: Option<f64>,
}

/// The derived values of one record, for rendering.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DerivedView {
    /// Organizations and accounts, when lifecycle rules exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// An account's status by its own rules, before its organization's churn or ignore.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own_status: Option<Status>,
    pub mrr: Option<f64>,
    pub churned_at: Option<Millis>,
    pub trial_end_date: Option<Millis>,
    /// The trial's end date passed without it becoming paid (kept as a trial by configuration).
    pub unconverted_trial: bool,
    pub next_renewal_date: Option<Millis>,
    pub deactivated_at: Option<Millis>,
    /// Formula traits in configuration order; `null` when a formula has no value.
    pub formulas: Vec<(String, Json)>,
}
