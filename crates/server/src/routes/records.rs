//! The handlers organizations, accounts and users share: list, get, update, delete. Each
//! resource says how to find, list, render and change its records ([`RecordKind`]); the flow
//! around that is written once here.
//!
//! Reads render straight into bytes from templates (see `template`, `body`), cached in
//! [`crate::body_cache`]; list pages take their keys from the engine, so a page of cached
//! records touches no storage at all.

use std::future::Future;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use steward_engine::Graph;
use steward_engine::ids::WorkspaceId;
use steward_engine::page::{PageKey, PageRequest, RecordSlot, SlotKey, SortBy};
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
    fn page_keys(graph: &Graph, page: &PageRequest) -> Vec<SlotKey>;
    /// Where the graph holds the record, as a hint for reads ([`RecordSlot::UNKNOWN`] if not).
    fn record_slot(graph: &Graph, id: Uuid) -> RecordSlot;
    /// The stored part of the record's JSON.
    fn template(row: &Self::Row) -> Template;
    /// The record's derived members, read from the engine (`place`: where the graph holds it).
    type Fill<'v>;
    fn fill<'v>(id: Uuid, place: RecordSlot, view: &View<'v>) -> Self::Fill<'v>;
    /// The record's JSON: the template with its derived members filled in.
    fn write_filled(out: &mut Vec<u8>, template: &Template, fill: &Self::Fill<'_>);
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

/// Keys of a list that does not know where the graph holds its records (sub-lists).
pub fn unplaced(keys: Vec<PageKey>) -> Vec<SlotKey> {
    keys.into_iter().map(SlotKey::unplaced).collect()
}

/// The cache's key for each listed record: its id and graph slot.
fn records_of(keys: &[SlotKey]) -> impl Iterator<Item = (Uuid, RecordSlot)> + '_ {
    keys.iter().map(|k| (k.key.id, k.slot))
}

/// The templates of these records, from the cache or else from storage (and then cached);
/// `None` for records that no longer exist.
async fn templates_of<K: RecordKind>(
    state: &AppState,
    ws: WorkspaceId,
    keys: &[SlotKey],
) -> ApiResult<Vec<Option<Template>>> {
    // Before the storage read: see `BodyCache::insert`.
    let generation = state.bodies.generation();
    let mut templates = state.bodies.get_many(K::BODY, ws, records_of(keys));
    let missing: Vec<Uuid> = keys
        .iter()
        .zip(&templates)
        .filter(|(_, t)| t.is_none())
        .map(|(k, _)| k.key.id)
        .collect();
    if missing.is_empty() {
        return Ok(templates);
    }
    let rows = K::by_ids(&state.store, ws, missing).await?;
    // `by_ids` keeps the order asked for, leaving out records deleted meanwhile.
    let mut rows = rows.iter().peekable();
    let mut fetched: Vec<(Uuid, RecordSlot, Template)> = Vec::new();
    for (template, key) in templates.iter_mut().zip(keys) {
        if template.is_none()
            && let Some(row) = rows.next_if(|row| row_id::<K>(row) == key.key.id)
        {
            let made = K::template(row);
            *template = Some(made.clone());
            fetched.push((key.key.id, key.slot, made));
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
    mut keys: Vec<SlotKey>,
) -> ApiResult<Response> {
    let more = keys.len() > page.limit;
    keys.truncate(page.limit);
    let next = keys
        .last()
        .filter(|_| more)
        .map(|last| encode_cursor(page.sort, last.key));
    if state.engine().await.is_derived(ws) {
        let rows = K::by_ids(&state.store, ws, keys.iter().map(|k| k.key.id).collect()).await?;
        let engine = state.engine().await;
        let view = View::of(&engine, ws, state.clock.now());
        let results: Vec<Value> = rows.iter().map(|row| K::render(row, &view)).collect();
        let body = serde_json::to_vec(&serde_json::json!({"next": next, "results": results}))
            .map_err(ApiError::internal)?;
        return Ok(json_response(body));
    }
    // Every record cached (the common case): rendered under the cache's read lock. The engine
    // is taken first (the writer takes them in the same order), and let go before any await.
    {
        let engine = state.engine().await;
        let view = View::of(&engine, ws, state.clock.now());
        let rendered = state
            .bodies
            .with_many(K::BODY, ws, records_of(&keys), |found| {
                if found.iter().any(Option::is_none) {
                    return None;
                }
                Some(write_page::<K>(
                    next.as_deref(),
                    keys.iter().zip(found.iter().copied()),
                    &view,
                ))
            });
        if let Some(body) = rendered {
            return Ok(json_response(body));
        }
    }
    let templates = templates_of::<K>(state, ws, &keys).await?;
    let engine = state.engine().await;
    let view = View::of(&engine, ws, state.clock.now());
    let body = write_page::<K>(
        next.as_deref(),
        keys.iter().zip(templates.iter().map(Option::as_ref)),
        &view,
    );
    Ok(json_response(body))
}

/// `{"next":...,"results":[...]}`: members in key order, as serde_json writes the map. Records
/// without a template (deleted meanwhile) are left out.
fn write_page<'t, K: RecordKind>(
    next: Option<&str>,
    records: impl Iterator<Item = (&'t SlotKey, Option<&'t Template>)> + Clone,
    view: &View<'_>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        64 + records
            .clone()
            .filter_map(|(_, t)| t)
            .map(|t| t.text_len() + 160)
            .sum::<usize>(),
    );
    out.extend_from_slice(b"{\"next\":");
    match next {
        Some(cursor) => {
            out.push(b'"');
            out.extend_from_slice(cursor.as_bytes());
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"results\":[");
    // The derived members of the whole page first, in a tight loop of engine lookups whose
    // cache misses the CPU overlaps (the templates' text is touched there too); then the bytes.
    let records: Vec<(&Template, K::Fill<'_>)> = records
        .filter_map(|(key, template)| {
            let template = template?;
            template.warm();
            Some((template, K::fill(key.key.id, key.slot, view)))
        })
        .collect();
    for (n, (template, fill)) in records.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        K::write_filled(&mut out, template, fill);
    }
    out.extend_from_slice(b"]}");
    out
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
    let render = |id: Uuid, place: RecordSlot, template: &Template, view: &View<'_>| {
        let mut out = Vec::with_capacity(template.text_len() + 256);
        K::write_filled(&mut out, template, &K::fill(id, place, view));
        out
    };
    // A cached record renders under the cache's read lock (see `BodyCache::with_many`), the
    // engine taken first as in `page_of`, and found by its graph slot as pages find theirs.
    // One pass through the commit gate also answers whether the workspace derives values.
    let mut known: Option<(Uuid, RecordSlot)> = None;
    let derived = {
        let engine = state.engine().await;
        let derived = engine.is_derived(ws);
        if !derived && let Ok(uuid) = Uuid::parse_str(&id) {
            let view = View::of(&engine, ws, state.clock.now());
            let place = view
                .graph
                .map_or(RecordSlot::UNKNOWN, |g| K::record_slot(g, uuid));
            let hit =
                state
                    .bodies
                    .with_many(K::BODY, ws, std::iter::once((uuid, place)), |found| {
                        found[0].map(|template| render(uuid, place, template, &view))
                    });
            if let Some(body) = hit {
                return Ok(json_response(body));
            }
            known = Some((uuid, place));
        }
        derived
    };
    if derived {
        let row = find_or_404::<K>(&state, ws, id).await?;
        let engine = state.engine().await;
        let body = serde_json::to_vec(&K::render(&row, &View::of(&engine, ws, state.clock.now())))
            .map_err(ApiError::internal)?;
        return Ok(json_response(body));
    }
    let generation = state.bodies.generation();
    let row = find_or_404::<K>(&state, ws, id).await?;
    let id = row_id::<K>(&row);
    let template = K::template(&row);
    let (place, body) = {
        let engine = state.engine().await;
        let view = View::of(&engine, ws, state.clock.now());
        // The slot found above, if the path named the record by this id (a hint, checked by
        // the graph like any other); else looked up now.
        let place = match known {
            Some((uuid, place)) if uuid == id => place,
            _ => view
                .graph
                .map_or(RecordSlot::UNKNOWN, |g| K::record_slot(g, id)),
        };
        (place, render(id, place, &template, &view))
    };
    state
        .bodies
        .insert(K::BODY, ws, [(id, place, template)], generation);
    Ok(json_response(body))
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
