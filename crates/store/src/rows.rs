//! Records as storage returns them.

use steward_engine::domain::Traits;
use steward_engine::ids::{
    AccountId, AdminId, ApiKeyId, CustomFieldId, OrganizationId, UserId, WorkspaceId,
};
use steward_engine::page::{PageKey, SortBy};
use steward_engine::time::Millis;

#[derive(Clone, Debug, PartialEq)]
pub struct WorkspaceRow {
    pub id: WorkspaceId,
    pub name: String,
    pub created_at: Millis,
}

/// What a key may do. `Read` keys can only read; `Write` keys can also write records and send
/// data; `Admin` keys can also change configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRole {
    Read,
    Write,
    Admin,
}

impl KeyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    pub fn can_write(self) -> bool {
        matches!(self, Self::Write | Self::Admin)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ApiKeyRow {
    pub id: ApiKeyId,
    pub workspace_id: WorkspaceId,
    /// SHA-256 of the key; the key itself is never stored.
    pub key_hash: Vec<u8>,
    /// The first characters of the key, to recognise it in listings.
    pub prefix: String,
    pub label: Option<String>,
    pub role: KeyRole,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OrganizationRow {
    pub id: OrganizationId,
    pub external_id: String,
    pub name: String,
    pub traits: Traits,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AccountRow {
    pub id: AccountId,
    pub external_id: String,
    pub name: String,
    pub traits: Traits,
    pub organization_id: Option<OrganizationId>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UserRow {
    pub id: UserId,
    pub external_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub avatar: Option<String>,
    pub traits: Traits,
    pub joined_at: Option<Millis>,
    pub unsubscribed: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AdminRow {
    pub id: AdminId,
    pub name: String,
    pub email: String,
    pub license_status: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CustomFieldRow {
    pub id: CustomFieldId,
    pub model: String,
    pub key: String,
    pub label: String,
    pub field_type: String,
    pub description: Option<String>,
    /// `[{"label":..,"value":..}]` for picklists and multi-selects, else empty.
    pub options: serde_json::Value,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// Records that appear in paged lists.
pub trait Listed {
    fn page_key(&self, sort: SortBy) -> PageKey;
}

macro_rules! listed {
    ($($row:ty),*) => {$(
        impl Listed for $row {
            fn page_key(&self, sort: SortBy) -> PageKey {
                let at = match sort {
                    SortBy::UpdatedAt => self.updated_at,
                    SortBy::CreatedAt => self.created_at,
                };
                PageKey { at, id: self.id.0 }
            }
        }
    )*};
}

listed!(
    OrganizationRow,
    AccountRow,
    UserRow,
    AdminRow,
    CustomFieldRow
);

/// A custom object (a record type the workspace defines) with its custom field definitions.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomObjectRow {
    pub id: steward_engine::ids::CustomObjectId,
    /// The API key, unique per workspace (`deals`).
    pub name: String,
    pub label: String,
    /// Trait definitions of its instances, sorted by label; `model` is `customObjects`.
    pub fields: Vec<CustomFieldRow>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// One instance of a custom object.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomObjectInstanceRow {
    pub id: steward_engine::ids::CustomObjectInstanceId,
    pub custom_object_id: steward_engine::ids::CustomObjectId,
    pub external_id: Option<String>,
    pub name: String,
    pub traits: Traits,
    pub account_id: Option<AccountId>,
    pub organization_id: Option<OrganizationId>,
    /// Set when deleted through the API (instances are archived, not erased).
    pub archived_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

listed!(CustomObjectRow, CustomObjectInstanceRow);
