//! The handlers organizations, accounts and users share: list, get, update, delete. Each
//! resource says how to find, list, render and change its records ([`RecordKind`]); the flow
//! around that is written once here.

use std::future::Future;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;
use steward_engine::ids::WorkspaceId;
use steward_engine::page::PageRequest;
use steward_store::rows::Listed;
use steward_store::write::{RecordRef, Write};
use steward_store::{Store, StoreError};

use super::support::{self, Params};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, JsonObject};
use crate::pagination::{envelope, page_request, probe};
use crate::render::View;

pub trait RecordKind: Send + Sync + 'static {
    type Row: Listed + Send + Sync + 'static;
    /// The record kind in messages: "organization".
    const WHAT: &'static str;

    fn find(
        store: &Store,
        ws: WorkspaceId,
        r: RecordRef,
    ) -> impl Future<Output = Result<Option<Self::Row>, StoreError>> + Send;
    fn list(
        store: &Store,
        ws: WorkspaceId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Vec<Self::Row>, StoreError>> + Send;
    fn render(row: &Self::Row, view: &View<'_>) -> Value;
    fn external_id(row: &Self::Row) -> &str;
    /// The write a PUT/PATCH body asks for.
    fn update(target: RecordRef, body: &Body) -> ApiResult<Write>;
    /// The write a DELETE asks for (`params` for options such as `cascade`).
    fn delete(target: RecordRef, params: &Params) -> ApiResult<Write>;
}

pub async fn list<K: RecordKind>(
    State(state): State<AppState>,
    auth: Auth,
    Params(query): Params,
) -> ApiResult<Json<Value>> {
    let page = page_request(&query)?;
    let rows = K::list(&state.store, auth.workspace, probe(&page)).await?;
    let engine = state.engine();
    let view = View::of(&engine, auth.workspace, state.clock.now());
    Ok(Json(envelope(
        &page,
        rows,
        |r| r.page_key(page.sort),
        |r| K::render(r, &view),
    )))
}

pub async fn fetch<K: RecordKind>(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let row = K::find(&state.store, auth.workspace, RecordRef(id))
        .await?
        .ok_or_else(|| ApiError::not_found(K::WHAT))?;
    let engine = state.engine();
    Ok(Json(K::render(
        &row,
        &View::of(&engine, auth.workspace, state.clock.now()),
    )))
}

pub async fn update<K: RecordKind>(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let write = K::update(RecordRef(id.clone()), &body)?;
    if body.0.contains_key("externalId") {
        let current = K::find(&state.store, auth.workspace, RecordRef(id)).await?;
        support::refuse_changed_external_id(&body, current.as_ref().map(K::external_id))?;
    }
    support::write(&state, &auth, write).await
}

pub async fn remove<K: RecordKind>(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let write = K::delete(RecordRef(id.clone()), &params)?;
    support::delete(&state, &auth, &id, write).await
}
