//! The handlers organizations, accounts and users share: list, get, update, delete. Each
//! resource says how to find, list, render and change its records ([`RecordKind`]); the flow
//! around that is written once here.

use std::collections::HashMap;
use std::future::Future;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;
use steward_engine::ids::WorkspaceId;
use steward_engine::page::{PageKey, PageRequest};
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
    /// Records by id, in the order given (missing ones left out).
    fn by_ids(
        store: &Store,
        ws: WorkspaceId,
        ids: Vec<uuid::Uuid>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, StoreError>> + Send;
    fn render(row: &Self::Row, view: &View<'_>) -> Value;
    fn external_id(row: &Self::Row) -> &str;
    /// The write a PUT/PATCH body asks for.
    fn update(target: RecordRef, body: &Body) -> ApiResult<Write>;
    /// The write a DELETE asks for (`params` for options such as `cascade`).
    fn delete(target: RecordRef, params: &Params) -> ApiResult<Write>;
}

/// The record `id` names (Steward id or external id), or a 404 naming its kind.
pub async fn find_or_404<K: RecordKind>(
    state: &AppState,
    ws: WorkspaceId,
    id: String,
) -> ApiResult<K::Row> {
    K::find(&state.store, ws, RecordRef(id))
        .await?
        .ok_or_else(|| ApiError::not_found(K::WHAT))
}

/// A sub-list page whose keys, in list order, came from the engine (the cursor is made from
/// the engine's keys, so a record updated meanwhile does not shift the page boundary).
pub async fn page_of<K: RecordKind>(
    state: &AppState,
    ws: WorkspaceId,
    page: &PageRequest,
    keys: Vec<PageKey>,
) -> ApiResult<Json<Value>> {
    let ids: Vec<_> = keys.iter().map(|k| k.id).collect();
    let rows = K::by_ids(&state.store, ws, ids).await?;
    let key_of: HashMap<_, _> = keys.iter().map(|k| (k.id, *k)).collect();
    let engine = state.engine();
    let view = View::of(&engine, ws, state.clock.now());
    let key = |r: &K::Row| {
        let own = r.page_key(page.sort);
        key_of.get(&own.id).copied().unwrap_or(own)
    };
    Ok(Json(envelope(page, rows, key, |r| K::render(r, &view))))
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
    let row = find_or_404::<K>(&state, auth.workspace, id).await?;
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
