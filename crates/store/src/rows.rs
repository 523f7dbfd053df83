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

/// A message participant, resolved: a user's or a team member's Steward id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Participant {
    #[serde(rename = "type", with = "participant_kind")]
    pub kind: crate::write::ParticipantKind,
    pub id: uuid::Uuid,
}

mod participant_kind {
    use crate::write::ParticipantKind;

    pub fn serialize<S: serde::Serializer>(k: &ParticipantKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(k.as_str())
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<ParticipantKind, D::Error> {
        let raw: String = serde::Deserialize::deserialize(d)?;
        ParticipantKind::parse(&raw)
            .ok_or_else(|| serde::de::Error::custom("unknown participant type"))
    }
}

/// One message of a conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageRow {
    pub id: steward_engine::ids::MessageId,
    pub conversation_id: steward_engine::ids::ConversationId,
    pub external_id: String,
    pub direction: steward_engine::Direction,
    /// The message's `timestamp`.
    pub sent_at: Millis,
    /// The message (HTML).
    pub body: String,
    pub from: Participant,
    pub to: Vec<Participant>,
    pub cc: Vec<Participant>,
    pub bcc: Vec<Participant>,
    pub external_url: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl MessageRow {
    /// Every participant: sender, then to, cc and bcc.
    pub fn participants(&self) -> impl Iterator<Item = &Participant> {
        std::iter::once(&self.from)
            .chain(&self.to)
            .chain(&self.cc)
            .chain(&self.bcc)
    }
}

/// A conversation with the records its messages' participants associate it with.
#[derive(Clone, Debug, PartialEq)]
pub struct ConversationRow {
    pub id: steward_engine::ids::ConversationId,
    pub external_id: String,
    pub subject: Option<String>,
    pub traits: Traits,
    pub external_url: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// The users among its messages' participants (existing ones), sorted.
    pub users: Vec<UserId>,
    /// The team members among its messages' participants, sorted.
    pub admins: Vec<AdminId>,
    /// The accounts those users belong to now, sorted.
    pub accounts: Vec<AccountId>,
    /// Its messages by timestamp (then id), where asked for (lists leave them out).
    pub messages: Option<Vec<MessageRow>>,
}

listed!(ConversationRow, MessageRow);
