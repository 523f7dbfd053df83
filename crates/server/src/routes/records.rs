//! The handlers organizations, accounts and users share: list, get, update, delete. Each
//! resource says how to find, list, render and change its records ([`RecordKind`]); the flow
//! around that is written once here.
//!
//! Reads render straight into bytes from templates (see `template`, `body`), cached in
//! [`crate::body_cache`]; list pages take their keys from the engine, so a page of cached
//! records touches no storage at all.

use std::future::Future;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use steward_engine::Graph;
use steward_engine::ids::WorkspaceId;
use steward_engine::page::{PageKey, PageRequest, SortBy};
use steward_store::rows::Listed;
use steward_store::write::{RecordRef, Write};
use steward_store::{Store, StoreError};
use uuid::Uuid;

use super::support::{self, Params};
use crate::app::AppState;
use crate::auth::Auth;
use crate::body_cache::BodyKind;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, JsonObject};
use crate::pagination::{encode_cursor, page_request, probe};
use crate::render::View;
use crate::template::Template;

pub trait RecordKind: Send + Sync + 'static {
    type Row: Listed + Send + Sync + 'static;
    /// The record kind in messages: "organization".
    const WHAT: &'static str;
    /// Its entries in the body cache.
    const BODY: BodyKind;

    fn find(
        store: &Store,
        ws: WorkspaceId,
        r: RecordRef,
    ) -> impl Future<Output = Result<Option<Self::Row>, StoreError>> + Send;
    /// Records by id, in the order given (missing ones left out).
    fn by_ids(
        store: &Store,
        ws: WorkspaceId,
        ids: Vec<uuid::Uuid>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, StoreError>> + Send;
    /// A page of every record of this kind, from the engine's list order.
    fn page_keys(graph: &Graph, page: &PageRequest) -> Vec<PageKey>;
    /// The stored part of the record's JSON.
    fn template(row: &Self::Row) -> Template;
    /// The record's JSON: the template with its derived members filled from `view`.
    fn write_body(out: &mut Vec<u8>, id: Uuid, template: &Template, view: &View<'_>);
    /// The record's JSON through the reference renderer: for workspaces with derived values,
    /// whose formula traits join the stored ones (templates hold stored traits only).
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

pub(crate) fn row_id<K: RecordKind>(row: &K::Row) -> Uuid {
    row.page_key(SortBy::UpdatedAt).id
}

fn json_response(body: Vec<u8>) -> Response {
    ([(CONTENT_TYPE, "application/json")], body).into_response()
}

/// The templates of these records, from the cache or else from storage (and then cached);
/// `None` for records that no longer exist.
async fn templates_of<K: RecordKind>(
    state: &AppState,
    ws: WorkspaceId,
    keys: &[PageKey],
) -> ApiResult<Vec<Option<Arc<Template>>>> {
    // Before the storage read: see `BodyCache::insert`.
    let generation = state.bodies.generation();
    let mut templates = state
        .bodies
        .get_many(K::BODY, ws, keys.iter().map(|k| k.id));
    let missing: Vec<Uuid> = keys
        .iter()
        .zip(&templates)
        .filter(|(_, t)| t.is_none())
        .map(|(k, _)| k.id)
        .collect();
    if missing.is_empty() {
        return Ok(templates);
    }
    let rows = K::by_ids(&state.store, ws, missing).await?;
    let fetched: Vec<(Uuid, Arc<Template>)> = rows
        .iter()
        .map(|row| (row_id::<K>(row), Arc::new(K::template(row))))
        .collect();
    // `by_ids` keeps the order asked for, leaving out records deleted meanwhile.
    let mut next = fetched.iter().peekable();
    for (slot, key) in templates.iter_mut().zip(keys) {
        if slot.is_none() {
            *slot = next
                .next_if(|(id, _)| *id == key.id)
                .map(|(_, t)| t.clone());
        }
    }
    state.bodies.insert(K::BODY, ws, fetched, generation);
    Ok(templates)
}

/// A list page from up to `limit + 1` keys in list order (fetched with [`probe`]). The cursor
/// is made from the keys, so a record updated meanwhile does not shift the page boundary, and
/// whether another page follows does not depend on whether its first record still exists.
pub async fn page_of<K: RecordKind>(
    state: &AppState,
    ws: WorkspaceId,
    page: &PageRequest,
    mut keys: Vec<PageKey>,
) -> ApiResult<Response> {
    let more = keys.len() > page.limit;
    keys.truncate(page.limit);
    if state.engine().await.is_derived(ws) {
        let rows = K::by_ids(&state.store, ws, keys.iter().map(|k| k.id).collect()).await?;
        let engine = state.engine().await;
        let view = View::of(&engine, ws, state.clock.now());
        let next = keys
            .last()
            .filter(|_| more)
            .map(|last| encode_cursor(page.sort, *last));
        let results: Vec<Value> = rows.iter().map(|row| K::render(row, &view)).collect();
        let body = serde_json::to_vec(&serde_json::json!({"next": next, "results": results}))
            .map_err(ApiError::internal)?;
        return Ok(json_response(body));
    }
    let templates = templates_of::<K>(state, ws, &keys).await?;
    let mut out = Vec::with_capacity(
        64 + templates
            .iter()
            .flatten()
            .map(|t| t.text_len() + 160)
            .sum::<usize>(),
    );
    // `{"next":...,"results":[...]}`: members in key order, as serde_json writes the map.
    out.extend_from_slice(b"{\"next\":");
    match keys.last().filter(|_| more) {
        Some(last) => {
            out.push(b'"');
            out.extend_from_slice(encode_cursor(page.sort, *last).as_bytes());
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"results\":[");
    {
        let engine = state.engine().await;
        let view = View::of(&engine, ws, state.clock.now());
        let mut first = true;
        for (key, template) in keys.iter().zip(&templates) {
            let Some(template) = template else { continue };
            if !first {
                out.push(b',');
            }
            first = false;
            K::write_body(&mut out, key.id, template, &view);
        }
    }
    out.extend_from_slice(b"]}");
    Ok(json_response(out))
}

pub async fn list<K: RecordKind>(
    State(state): State<AppState>,
    auth: Auth,
    Params(query): Params,
) -> ApiResult<Response> {
    let page = page_request(&query)?;
    let keys = {
        let engine = state.engine().await;
        engine
            .graph(auth.workspace)
            .map(|g| K::page_keys(g, &probe(&page)))
            .unwrap_or_default()
    };
    page_of::<K>(&state, auth.workspace, &page, keys).await
}

pub async fn fetch<K: RecordKind>(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let ws = auth.workspace;
    if state.engine().await.is_derived(ws) {
        let row = find_or_404::<K>(&state, ws, id).await?;
        let engine = state.engine().await;
        let body = serde_json::to_vec(&K::render(&row, &View::of(&engine, ws, state.clock.now())))
            .map_err(ApiError::internal)?;
        return Ok(json_response(body));
    }
    let cached = Uuid::parse_str(&id)
        .ok()
        .and_then(|uuid| Some((uuid, state.bodies.get(K::BODY, ws, uuid)?)));
    let (id, template) = match cached {
        Some(hit) => hit,
        None => {
            let generation = state.bodies.generation();
            let row = find_or_404::<K>(&state, ws, id).await?;
            let id = row_id::<K>(&row);
            let template = Arc::new(K::template(&row));
            state
                .bodies
                .insert(K::BODY, ws, [(id, template.clone())], generation);
            (id, template)
        }
    };
    let mut out = Vec::new();
    {
        let engine = state.engine().await;
        K::write_body(
            &mut out,
            id,
            &template,
            &View::of(&engine, ws, state.clock.now()),
        );
    }
    Ok(json_response(out))
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
