//! Pieces every resource module uses.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde_json::{Value, json};
use steward_engine::ids::WorkspaceId;
use steward_store::write::{Write, Written};

use crate::app::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::render;

/// The query string as a map; a malformed query string is a JSON 400 like any other.
pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map(|Query(map)| Self(map))
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidQuery,
                    format!("the query string is malformed: {e}"),
                )
            })
    }
}

impl Params {
    pub fn flag(&self, name: &str) -> ApiResult<bool> {
        match self.0.get(name).map(String::as_str) {
            None | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") | Some("") => Ok(true),
            Some(_) => Err(ApiError::field(
                ErrorCode::InvalidQuery,
                name,
                format!("`{name}` must be true or false"),
            )),
        }
    }
}

/// Renders what a write left behind, with derived data from the engine.
pub async fn render_written(state: &AppState, workspace: WorkspaceId, written: &Written) -> Value {
    let engine = state.engine().await;
    let graph = &crate::render::View::of(&engine, workspace, state.clock.now());
    match written {
        Written::Organization(row) => render::organization(row, graph),
        Written::Account(row) => render::account(row, graph),
        Written::User(row) => render::user(row, graph),
        Written::Admin(row) => render::admin(row),
        Written::CustomField(row) => render::custom_field(row),
        Written::CustomObject(row) => render::custom_object(row),
        Written::CustomObjectInstance(row) => render::custom_object_instance(row),
        Written::Conversation(row) => render::conversation(row),
        Written::Message(row) => render::message(row),
        Written::Deleted => json!({ "deleted": true }),
        Written::Config => json!({ "saved": true }),
        Written::Ingested {
            applied,
            duplicates,
        } => json!({ "applied": applied, "duplicates": duplicates }),
    }
}

/// Sends a write through the single writer and renders the result.
pub async fn write(state: &AppState, auth: &Auth, write: Write) -> ApiResult<Json<Value>> {
    auth.require_write()?;
    crate::trait_types::check(state, auth.workspace, &write, "").await?;
    crate::assign::import_gate::check_rest(state, auth, &write).await?;
    let write = crate::assign::prepare(state, auth.workspace, write).await?;
    let outcome = state.writer.write(auth.workspace, write).await?;
    Ok(Json(
        render_written(state, auth.workspace, &outcome.written).await,
    ))
}

/// Sends a delete through the single writer; answers `{"id": ..., "deleted": true}`.
pub async fn delete(
    state: &AppState,
    auth: &Auth,
    id: &str,
    write: Write,
) -> ApiResult<Json<Value>> {
    auth.require_write()?;
    state.writer.write(auth.workspace, write).await?;
    Ok(Json(json!({ "id": id, "deleted": true })))
}

/// Refuses an attempt to change a create-only field.
pub fn refuse_changed_external_id(
    body: &crate::extract::Body,
    current: Option<&str>,
) -> ApiResult<()> {
    match (body.0.get("externalId"), current) {
        (Some(Value::String(new)), Some(current)) if new != current => Err(ApiError::field(
            ErrorCode::InvalidField,
            "externalId",
            "`externalId` is set on create and cannot be changed",
        )),
        _ => Ok(()),
    }
}
