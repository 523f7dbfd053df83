//! Writes: typed requests that the server's single writer hands to storage in batches.

use steward_engine::GraphChange;
use steward_engine::domain::{Email, ExternalId, FieldError, RecordName, TraitPatch};
use steward_engine::ids::{AccountId, AdminId, CustomFieldId, OrganizationId, UserId, WorkspaceId};
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
    /// Organizations to link directly, keeping the current links (ingestion).
    pub add_organizations: Vec<RecordRef>,
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

/// A custom field definition as written; custom objects carry theirs.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDefinition {
    pub key: String,
    pub label: String,
    pub field_type: String,
    pub description: Option<String>,
    /// `[{"label":..,"value":..}]` for picklists and multi-selects, else empty.
    pub options: serde_json::Value,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CustomObjectFields {
    pub label: Option<String>,
    /// The complete list of field definitions, replacing the current one: definitions keep
    /// their id when their key stays.
    pub fields: Option<Vec<FieldDefinition>>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct InstanceFields {
    pub name: Option<RecordName>,
    pub traits: TraitPatch,
    /// `None`: leave as is; `Some(None)`: detach; `Some(Some(r))`: attach to `r`.
    pub account: Option<Option<RecordRef>>,
    pub organization: Option<Option<RecordRef>>,
    /// A new external id (updates only; an upsert's key is the write's own).
    pub external_id: Option<ExternalId>,
    pub missing_parent: MissingParent,
    /// How the client named the account, for errors: `customerId` (Vitally's REST API) or
    /// `accountId` (analytics, and Steward's alias). Empty means `accountId`.
    pub account_field: &'static str,
}

impl InstanceFields {
    pub fn account_field(&self) -> &'static str {
        if self.account_field.is_empty() {
            "accountId"
        } else {
            self.account_field
        }
    }
}

/// A conversation as written (see `crate::conversations`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConversationFields {
    pub subject: Option<String>,
    pub traits: TraitPatch,
    pub external_url: Option<Option<String>>,
    pub messages: Option<Vec<MessageInput>>,
}

/// Who a participant is: a user (a customer's person) or a team member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParticipantKind {
    User,
    Admin,
}

impl ParticipantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "user" => Some(Self::User),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// A participant as the client named it: a user by id or external id, a team member by id
/// or e-mail. `field` is where the reference sits in the request (`messages[0].from.id`),
/// for the error when it names no one.
#[derive(Clone, Debug, PartialEq)]
pub struct ParticipantRef {
    pub kind: ParticipantKind,
    pub reference: RecordRef,
    pub field: String,
}

/// A message as written. Its direction follows from the sender: a user's is inbound, a team
/// member's outbound.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageInput {
    pub external_id: ExternalId,
    /// The message (HTML).
    pub body: String,
    pub from: ParticipantRef,
    pub to: Vec<ParticipantRef>,
    pub cc: Vec<ParticipantRef>,
    pub bcc: Vec<ParticipantRef>,
    /// When it was sent; `None`: now.
    pub timestamp: Option<Millis>,
    pub external_url: Option<String>,
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
    /// A new custom object with its field definitions (409 when the name is taken).
    CreateCustomObject {
        name: steward_engine::custom_objects::CustomObjectName,
        label: String,
        fields: Vec<FieldDefinition>,
    },
    /// `target`: the object's id or name.
    UpdateCustomObject {
        target: RecordRef,
        fields: CustomObjectFields,
    },
    /// Deletes the object, its field definitions and all its instances; with `if_empty`,
    /// only when it has no instance other than archived ones (a conflict otherwise).
    DeleteCustomObject {
        target: RecordRef,
        if_empty: bool,
    },
    /// Adds one field definition to an object (409 when the key is taken on it).
    AddCustomObjectField {
        object: RecordRef,
        field: FieldDefinition,
    },
    /// Creates an instance, or updates the one with this external id (restoring it if it was
    /// archived). Without an external id, always creates.
    UpsertCustomObjectInstance {
        object: RecordRef,
        external_id: Option<ExternalId>,
        fields: InstanceFields,
    },
    /// `target`: the instance's id or external id, within `object`.
    UpdateCustomObjectInstance {
        object: RecordRef,
        target: RecordRef,
        fields: InstanceFields,
    },
    /// Sets `archivedAt` (the REST API's DELETE).
    ArchiveCustomObjectInstance {
        object: RecordRef,
        target: RecordRef,
    },
    /// Creates a conversation, or updates the one with this external id: `subject` and
    /// `external_url` set when given, traits merged, `messages` created or updated by their
    /// external ids (others kept).
    UpsertConversation {
        external_id: ExternalId,
        fields: ConversationFields,
    },
    /// `target`: the conversation's id or external id. `messages`, when given, replace the
    /// conversation's messages (those left out are deleted; those kept keep their ids).
    UpdateConversation {
        target: RecordRef,
        fields: ConversationFields,
    },
    /// Deletes the conversation and its messages.
    DeleteConversation {
        target: RecordRef,
    },
    /// Adds a message to `conversation` (its id or external id), or updates the message with
    /// this external id there.
    UpsertMessage {
        conversation: RecordRef,
        message: MessageInput,
    },
    /// `target`: the message's id or external id.
    DeleteMessage {
        target: RecordRef,
    },
    /// The messages of one ingestion request, applied together (all or nothing). Each message
    /// is applied at most once per workspace: a message id seen before is skipped.
    Ingest(Vec<IngestOp>),
    /// `write` (an organization or account write), then key roles and owner on the record it
    /// left behind, in the same savepoint (see `roles_ops.rs`).
    Assign {
        write: Box<Write>,
        assign: crate::assign::AssignmentWrite,
    },
    /// A workspace configuration document (see `assign::ConfigWrite`).
    Config(crate::assign::ConfigWrite),
    /// Writes that stand or fall together (a whole configuration file): the first that fails
    /// undoes the others. Ingestion batches cannot be part of one.
    All(Vec<Write>),
    /// What derived values reported after a commit: lifecycle state to keep and status
    /// transitions for the history (see `steward_engine::DerivedChange`).
    Derived(Vec<steward_engine::DerivedChange>),
}

impl Write {
    /// The record write itself, without the assignments wrapped around it.
    pub fn unwrapped(&self) -> &Write {
        match self {
            Write::Assign { write, .. } => write.unwrapped(),
            other => other,
        }
    }
}

/// One ingested message.
#[derive(Clone, Debug, PartialEq)]
pub struct IngestOp {
    /// The message's `messageId`, or a hash of its content when it has none.
    pub message_id: MessageId,
    /// What the message does, in order (a Segment `group` upserts the account, then links the
    /// user to it).
    pub actions: Vec<IngestAction>,
}

/// A message's id, and the key replay detection files it under (see `event_log`).
///
/// The key is a SHA-256 of workspace and id: worth computing where the message was read, in
/// parallel, rather than in the single writer. [`MessageId::prepare`] does that; the writer
/// computes what was not prepared.
#[derive(Clone, Debug)]
pub struct MessageId {
    id: String,
    key: std::sync::OnceLock<(WorkspaceId, crate::event_log::chunk::MessageKey)>,
}

impl MessageId {
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// Computes the message's key in `ws` ahead of the writer.
    pub fn prepare(&self, ws: WorkspaceId) {
        self.key
            .get_or_init(|| (ws, crate::event_log::chunk::MessageKey::of(ws.0, &self.id)));
    }

    pub(crate) fn key(&self, ws: WorkspaceId) -> crate::event_log::chunk::MessageKey {
        match self.key.get() {
            Some((prepared_for, key)) if *prepared_for == ws => *key,
            _ => crate::event_log::chunk::MessageKey::of(ws.0, &self.id),
        }
    }
}

impl From<String> for MessageId {
    fn from(id: String) -> Self {
        Self {
            id,
            key: std::sync::OnceLock::new(),
        }
    }
}

impl PartialEq for MessageId {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum IngestAction {
    /// An upsert of an organization, account or user (referenced parents are created).
    Record(Write),
    /// Removes a user from an account; a no-op when either is unknown.
    Unlink {
        user: ExternalId,
        account: ExternalId,
    },
    /// An event for the log and the usage metrics.
    Event(EventWrite),
    /// Accepted and recorded as seen, with no effect (Segment `alias`, anonymous messages).
    Ignore,
}

/// What kind of activity an event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A named product event (Segment/Vitally `track`): counted per name.
    Track,
    /// A page view (Segment `page`): user activity, not counted per name.
    Page,
    /// A screen view (Segment `screen`): user activity, not counted per name.
    Screen,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Track => "track",
            Self::Page => "page",
            Self::Screen => "screen",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "track" => Some(Self::Track),
            "page" => Some(Self::Page),
            "screen" => Some(Self::Screen),
            _ => None,
        }
    }
}

/// An event as ingested. Records are named by external id; missing ones are created.
#[derive(Clone, Debug, PartialEq)]
pub struct EventWrite {
    pub kind: EventKind,
    pub name: String,
    pub user: Option<ExternalId>,
    /// The account named by the message; without one, the user's most recent account.
    pub account: Option<ExternalId>,
    /// The organization named by the message; without one, the account's organization.
    pub organization: Option<ExternalId>,
    /// When it happened (the message timestamp, else when it was received).
    pub at: Millis,
    pub properties: Properties,
}

/// An event's properties: a JSON object, kept as the text it arrived in. The log stores it
/// and the API shows it as it came; nothing reads inside it on the way, so it is never parsed
/// into a tree and written out again.
#[derive(Clone, Debug)]
pub struct Properties(Box<serde_json::value::RawValue>);

impl Properties {
    /// `{}`.
    pub fn empty() -> Self {
        Self::from_map(&serde_json::Map::new())
    }

    pub fn from_map(map: &serde_json::Map<String, serde_json::Value>) -> Self {
        Self(serde_json::value::to_raw_value(map).expect("a JSON map serializes"))
    }

    /// `raw` must be a JSON object (the caller checked that it starts with `{`).
    pub fn from_raw(raw: &serde_json::value::RawValue) -> Self {
        debug_assert!(raw.get().starts_with('{'));
        Self(raw.to_owned())
    }

    /// Properties read back from storage, where only JSON objects are written.
    pub(crate) fn stored(text: &[u8]) -> Option<Self> {
        let raw: Box<serde_json::value::RawValue> = serde_json::from_slice(text).ok()?;
        raw.get().starts_with('{').then_some(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// The properties as a JSON map.
    pub fn to_map(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }
}

impl PartialEq for Properties {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl serde::Serialize for Properties {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// An event stored in the log, as the engine and the API see it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedEvent {
    pub id: uuid::Uuid,
    pub kind: EventKind,
    pub name: String,
    pub user: Option<UserId>,
    pub account: Option<AccountId>,
    pub organization: Option<OrganizationId>,
    pub at: Millis,
    pub received_at: Millis,
    pub properties: Properties,
}

/// What the engine's usage metrics read of a stored event, borrowed from the row being read
/// (the start-up replay reads millions: no allocation per event).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EventUsage<'a> {
    pub kind: EventKind,
    pub name: &'a str,
    pub user: Option<UserId>,
    pub account: Option<AccountId>,
    pub organization: Option<OrganizationId>,
    pub at: Millis,
    pub received_at: Millis,
}

impl RecordedEvent {
    pub fn usage(&self) -> EventUsage<'_> {
        EventUsage {
            kind: self.kind,
            name: &self.name,
            user: self.user,
            account: self.account,
            organization: self.organization,
            at: self.at,
            received_at: self.received_at,
        }
    }

    /// The records it belongs to: its user, account and organization, where set.
    pub(crate) fn owners(&self) -> impl Iterator<Item = uuid::Uuid> {
        [
            self.user.map(|u| u.0),
            self.account.map(|a| a.0),
            self.organization.map(|o| o.0),
        ]
        .into_iter()
        .flatten()
    }

    /// The properties as stored: JSON text.
    pub(crate) fn properties_text(&self) -> &str {
        self.properties.as_str()
    }
}

/// The record a write left behind.
#[derive(Clone, Debug, PartialEq)]
pub enum Written {
    Organization(OrganizationRow),
    Account(AccountRow),
    User(UserRow),
    Admin(AdminRow),
    CustomField(CustomFieldRow),
    CustomObject(crate::rows::CustomObjectRow),
    CustomObjectInstance(crate::rows::CustomObjectInstanceRow),
    Conversation(crate::rows::ConversationRow),
    Message(crate::rows::MessageRow),
    Deleted,
    /// A configuration document was stored or removed (read it back to show it).
    Config,
    /// An ingestion request: how many messages were new and how many replays were skipped.
    Ingested {
        applied: usize,
        duplicates: usize,
    },
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
    /// Events the write stored, for the engine's usage metrics.
    pub events: Vec<RecordedEvent>,
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
