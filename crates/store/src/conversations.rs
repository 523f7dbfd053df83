//! Conversations and messages in storage: the pieces both backends share
//! (`conversation_ops.rs` has the SQL), and the [`Store`] operations.
//!
//! Steward only records conversations (it never sends mail). A message's participants are
//! stored as the client named them, resolved to Steward ids; the users and team members among
//! them are also rows of `message_users` / `message_admins`, which deleting the user or team
//! member removes. A conversation's `users` and `admins` come from those rows, its `accounts`
//! from its users' current account memberships, and the lists of an account's or
//! organization's conversations join through the same memberships: the same rule the engine's
//! last inbound / outbound message follows (see `steward_engine::conversations`).

use steward_engine::ids::{AccountId, ConversationId, OrganizationId, WorkspaceId};
use steward_engine::page::PageRequest;
use steward_engine::{Direction, GraphChange, MessageChange};

use crate::error::Result;
use crate::rows::{ConversationRow, MessageRow, Participant};
use crate::write::{ParticipantKind, RecordRef};
use crate::{Inner, Store, postgres, sqlite};

pub(crate) const CONVERSATION_COLS: &str =
    "id, external_id, subject, traits, external_url, created_at, updated_at";
pub(crate) const MESSAGE_COLS: &str = "id, conversation_id, external_id, direction, sent_at, body, sender, recipients, external_url, created_at, updated_at";

/// Which conversations a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConversationScope {
    All,
    /// Those with a message to or from one of the account's users.
    Account(AccountId),
    /// Those with a message to or from one of the organization's users (direct, or through
    /// its accounts).
    Organization(OrganizationId),
}

/// A message's recipients as stored (`recipients` column).
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Recipients {
    pub(crate) to: Vec<Participant>,
    pub(crate) cc: Vec<Participant>,
    pub(crate) bcc: Vec<Participant>,
}

/// The direction a sender gives a message: a user writes in, a team member writes out.
pub(crate) fn direction_of(sender: &Participant) -> Direction {
    match sender.kind {
        ParticipantKind::User => Direction::Inbound,
        ParticipantKind::Admin => Direction::Outbound,
    }
}

/// What the engine learns of a message as it now is.
pub(crate) fn recorded(row: &MessageRow) -> GraphChange {
    let mut users: Vec<steward_engine::ids::UserId> = row
        .participants()
        .filter(|p| p.kind == ParticipantKind::User)
        .map(|p| steward_engine::ids::UserId(p.id))
        .collect();
    users.sort_unstable();
    users.dedup();
    GraphChange::Messages(MessageChange::Record {
        message: row.id,
        direction: row.direction,
        at: row.sent_at,
        users,
    })
}

pub(crate) fn forgotten(message: steward_engine::ids::MessageId) -> GraphChange {
    GraphChange::Messages(MessageChange::Forget { message })
}

impl Store {
    /// A conversation by its id, else its external id, with its messages.
    pub async fn find_conversation(
        &self,
        ws: WorkspaceId,
        r: &RecordRef,
    ) -> Result<Option<ConversationRow>> {
        dispatch!(self.find_conversation(ws, r))
    }

    /// A page of conversations in `scope`, newest first, without their messages.
    pub async fn list_conversations(
        &self,
        ws: WorkspaceId,
        scope: ConversationScope,
        page: &PageRequest,
    ) -> Result<Vec<ConversationRow>> {
        dispatch!(self.list_conversations(ws, scope, page))
    }

    /// A message by its id, else its external id.
    pub async fn find_message(&self, ws: WorkspaceId, r: &RecordRef) -> Result<Option<MessageRow>> {
        dispatch!(self.find_message(ws, r))
    }

    /// A page of a conversation's messages, newest first.
    pub async fn list_messages(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        page: &PageRequest,
    ) -> Result<Vec<MessageRow>> {
        dispatch!(self.list_messages(ws, conversation, page))
    }
}
