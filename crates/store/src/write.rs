//! Writes: typed requests that the server's single writer hands to storage in batches.

use steward_engine::GraphChange;
use steward_engine::domain::{Email, ExternalId, FieldError, RecordName, TraitPatch};
use steward_engine::ids::{AdminId, CustomFieldId};
use steward_engine::time::Millis;

use crate::rows::{AccountRow, AdminRow, CustomFieldRow, OrganizationRow, UserRow};

/// A reference to a record as clients give it: Steward's id or the record's externalId.
/// Steward ids are tried first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRef(pub String);

impl RecordRef {
    pub fn as_uuid(&self) -> Option<uuid::Uuid> {
        uuid::Uuid::parse_str(&self.0).ok()
    }
}

/// How to treat a reference to a parent that does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MissingParent {
    /// Refuse the write (REST API: 400 naming the field).
    #[default]
    Refuse,
    /// Create the parent, named after its external id (ingestion: referenced parents are
    /// created even when import filters would not create them).
    Create,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrganizationFields {
    pub name: Option<RecordName>,
    pub traits: TraitPatch,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccountFields {
    pub name: Option<RecordName>,
    pub traits: TraitPatch,
    /// `None`: leave as is; `Some(None)`: detach; `Some(Some(r))`: move under `r`.
    pub organization: Option<Option<RecordRef>>,
    pub missing_parent: MissingParent,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserFields {
    pub name: Option<Option<String>>,
    pub email: Option<Option<Email>>,
    pub avatar: Option<Option<String>>,
    pub traits: TraitPatch,
    /// The complete set of accounts, replacing the current one.
    pub accounts: Option<Vec<RecordRef>>,
    /// The complete set of directly linked organizations, replacing the current one.
    pub organizations: Option<Vec<RecordRef>>,
    /// Accounts to add to the current set (ingestion links one account at a time).
    pub add_accounts: Vec<RecordRef>,
    /// Accounts to remove from the current set (unlink).
    pub remove_accounts: Vec<RecordRef>,
    pub joined_at: Option<Option<Millis>>,
    pub unsubscribed: Option<bool>,
    pub missing_parent: MissingParent,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AdminFields {
    pub name: Option<RecordName>,
    pub email: Option<Email>,
    pub license_status: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CustomFieldFields {
    pub label: Option<String>,
    pub field_type: Option<String>,
    pub description: Option<Option<String>>,
    pub options: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// Create, or update the record with this external id.
    UpsertOrganization {
        external_id: ExternalId,
        fields: OrganizationFields,
    },
    UpdateOrganization {
        target: RecordRef,
        fields: OrganizationFields,
    },
    /// Accounts are detached, or deleted (with their users that belong nowhere else) when
    /// `cascade` is set.
    DeleteOrganization {
        target: RecordRef,
        cascade: bool,
    },
    UpsertAccount {
        external_id: ExternalId,
        fields: AccountFields,
    },
    UpdateAccount {
        target: RecordRef,
        fields: AccountFields,
    },
    DeleteAccount {
        target: RecordRef,
    },
    UpsertUser {
        external_id: ExternalId,
        fields: UserFields,
    },
    UpdateUser {
        target: RecordRef,
        fields: UserFields,
    },
    DeleteUser {
        target: RecordRef,
    },
    CreateAdmin {
        name: RecordName,
        email: Email,
        license_status: String,
    },
    UpdateAdmin {
        target: AdminId,
        fields: AdminFields,
    },
    DeleteAdmin {
        target: AdminId,
    },
    CreateCustomField {
        model: String,
        key: String,
        label: String,
        field_type: String,
        description: Option<String>,
        options: serde_json::Value,
    },
    UpdateCustomField {
        target: CustomFieldId,
        fields: CustomFieldFields,
    },
    DeleteCustomField {
        target: CustomFieldId,
    },
}

/// The record a write left behind.
#[derive(Clone, Debug, PartialEq)]
pub enum Written {
    Organization(OrganizationRow),
    Account(AccountRow),
    User(UserRow),
    Admin(AdminRow),
    CustomField(CustomFieldRow),
    Deleted,
}

/// The result of one write that storage accepted.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub written: Written,
    /// Whether the write created the record (POST answers the same either way; ingestion
    /// counts it).
    pub created: bool,
    /// What the engine must apply once the batch has committed.
    pub changes: Vec<GraphChange>,
}

/// Why storage refused one write of a batch; the rest of the batch is unaffected.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Invalid(FieldError),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}
