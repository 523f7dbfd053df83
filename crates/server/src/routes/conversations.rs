//! Conversations and messages: `/resources/conversations[...]`, `/resources/messages/:id`, and
//! the conversations of an account or organization. Steward records conversations (from a
//! mailbox sync, a help desk), it never sends mail. Lists leave messages out, as Vitally's.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use steward_engine::ids::WorkspaceId;
use steward_store::conversations::ConversationScope;
use steward_store::rows::ConversationRow;
use steward_store::write::{RecordRef, Write};

use super::conversation_input::{conversation_fields, message_body};
use super::records::find_or_404;
use super::support::{self, Params};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonObject;
use crate::pagination::{listed_envelope, page_request, probe};
use crate::render;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/resources/conversations", get(list).post(create))
        .route(
            "/resources/conversations/{id}",
            get(fetch).put(update).delete(remove),
        )
        .route(
            "/resources/conversations/{id}/messages",
            get(messages).post(add_message),
        )
        .route(
            "/resources/messages/{id}",
            get(fetch_message).delete(remove_message),
        )
        .route("/resources/accounts/{id}/conversations", get(of_account))
        .route(
            "/resources/organizations/{id}/conversations",
            get(of_organization),
        )
}

async fn find_conversation_or_404(
    state: &AppState,
    ws: WorkspaceId,
    id: &str,
) -> ApiResult<ConversationRow> {
    state
        .store
        .find_conversation(ws, &RecordRef(id.to_owned()))
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))
}

/// `{externalId*, subject*, messages*, traits?, externalUrl?}`: creates the conversation, or
/// updates the one with this externalId (traits merge; messages are added or updated by their
/// externalId, others kept).
async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let external_id = body.required_external_id("externalId")?;
    let fields = conversation_fields(&body)?;
    let write = Write::UpsertConversation {
        external_id,
        fields,
    };
    support::write(&state, &auth, write).await
}

/// `{subject*, messages*, traits?, externalUrl?}`: the messages listed become the
/// conversation's (kept ones keep their ids; the others are deleted).
async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let current = find_conversation_or_404(&state, auth.workspace, &id).await?;
    support::refuse_changed_external_id(&body, Some(&current.external_id))?;
    let write = Write::UpdateConversation {
        target: RecordRef(current.id.to_string()),
        fields: conversation_fields(&body)?,
    };
    support::write(&state, &auth, write).await
}

async fn fetch(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let row = find_conversation_or_404(&state, auth.workspace, &id).await?;
    Ok(Json(render::conversation(&row)))
}

/// Deletes the conversation and its messages.
async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let write = Write::DeleteConversation {
        target: RecordRef(id.clone()),
    };
    support::delete(&state, &auth, &id, write).await
}

/// A page of conversations in `scope`, newest first, without their messages.
async fn page(
    state: &AppState,
    ws: WorkspaceId,
    scope: ConversationScope,
    params: &Params,
) -> ApiResult<Json<Value>> {
    let page = page_request(&params.0)?;
    let rows = state
        .store
        .list_conversations(ws, scope, &probe(&page))
        .await?;
    Ok(Json(listed_envelope(&page, rows, render::conversation)))
}

async fn list(State(state): State<AppState>, auth: Auth, params: Params) -> ApiResult<Json<Value>> {
    page(&state, auth.workspace, ConversationScope::All, &params).await
}

/// Conversations with a message to or from one of the account's users (its users now).
async fn of_account(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let account = find_or_404::<super::accounts::Accounts>(&state, auth.workspace, id).await?;
    let scope = ConversationScope::Account(account.id);
    page(&state, auth.workspace, scope, &params).await
}

/// Conversations with a message to or from one of the organization's users (direct, or
/// through its accounts).
async fn of_organization(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let org =
        find_or_404::<super::organizations::Organizations>(&state, auth.workspace, id).await?;
    let scope = ConversationScope::Organization(org.id);
    page(&state, auth.workspace, scope, &params).await
}

/// `{externalId*, message*, from*, to*, timestamp?, cc?, bcc?, externalUrl?}`: adds the
/// message, or updates the conversation's message with this externalId; answers the message.
async fn add_message(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let conversation = find_conversation_or_404(&state, auth.workspace, &id).await?;
    let message = message_body(&body)?;
    let write = Write::UpsertMessage {
        conversation: RecordRef(conversation.id.to_string()),
        message,
    };
    support::write(&state, &auth, write).await
}

/// A conversation's messages, newest first (by `sortBy`).
async fn messages(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let conversation = find_conversation_or_404(&state, auth.workspace, &id).await?;
    let page = page_request(&params.0)?;
    let rows = state
        .store
        .list_messages(auth.workspace, conversation.id, &probe(&page))
        .await?;
    Ok(Json(listed_envelope(&page, rows, render::message)))
}

async fn fetch_message(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let row = state
        .store
        .find_message(auth.workspace, &RecordRef(id))
        .await?
        .ok_or_else(|| ApiError::not_found("message"))?;
    Ok(Json(render::message(&row)))
}

async fn remove_message(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let write = Write::DeleteMessage {
        target: RecordRef(id.clone()),
    };
    support::delete(&state, &auth, &id, write).await
}
