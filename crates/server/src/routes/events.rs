//! A record's events (`/resources/{users,accounts,organizations}/:id/events`) and its usage
//! metrics (`.../:id/metrics`).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use steward_engine::metrics::{AccountMetrics, EventStats};
use steward_engine::page::{PageKey, SortBy};
use steward_store::EventOwner;
use steward_store::write::{RecordRef, RecordedEvent};

use super::support::Params;
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::pagination::{envelope, page_request};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/resources/users/{id}/events", get(user_events))
        .route("/resources/accounts/{id}/events", get(account_events))
        .route(
            "/resources/organizations/{id}/events",
            get(organization_events),
        )
        .route("/resources/users/{id}/metrics", get(user_metrics))
        .route("/resources/accounts/{id}/metrics", get(account_metrics))
        .route(
            "/resources/organizations/{id}/metrics",
            get(organization_metrics),
        )
}

async fn owner(state: &AppState, auth: &Auth, kind: &str, id: String) -> ApiResult<EventOwner> {
    let r = RecordRef(id);
    let ws = auth.workspace;
    Ok(match kind {
        "user" => EventOwner::User(
            state
                .store
                .find_user(ws, &r)
                .await?
                .ok_or_else(|| ApiError::not_found("user"))?
                .id,
        ),
        "account" => EventOwner::Account(
            state
                .store
                .find_account(ws, &r)
                .await?
                .ok_or_else(|| ApiError::not_found("account"))?
                .id,
        ),
        _ => EventOwner::Organization(
            state
                .store
                .find_organization(ws, &r)
                .await?
                .ok_or_else(|| ApiError::not_found("organization"))?
                .id,
        ),
    })
}

fn render_event(e: &RecordedEvent) -> Value {
    json!({
        "id": e.id,
        "type": e.kind.as_str(),
        "event": e.name,
        "userId": e.user,
        "accountId": e.account,
        "organizationId": e.organization,
        "timestamp": e.at.to_iso(),
        "receivedAt": e.received_at.to_iso(),
        "properties": e.properties,
    })
}

/// Newest first by event time; `limit` and `from` as on every list (`sortBy` does not apply).
async fn events(
    state: AppState,
    auth: Auth,
    kind: &str,
    id: String,
    mut query: HashMap<String, String>,
) -> ApiResult<Json<Value>> {
    query.insert("sortBy".to_owned(), SortBy::CreatedAt.as_str().to_owned());
    let page = page_request(&query)?;
    let owner = owner(&state, &auth, kind, id).await?;
    let rows = state
        .store
        .list_events(auth.workspace, owner, page.limit + 1, page.after)
        .await?;
    Ok(Json(envelope(
        &page,
        rows,
        |e| PageKey { at: e.at, id: e.id },
        render_event,
    )))
}

async fn user_events(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(query): Params,
) -> ApiResult<Json<Value>> {
    events(state, auth, "user", id, query).await
}

async fn account_events(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(query): Params,
) -> ApiResult<Json<Value>> {
    events(state, auth, "account", id, query).await
}

async fn organization_events(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(query): Params,
) -> ApiResult<Json<Value>> {
    events(state, auth, "organization", id, query).await
}

fn render_stats(events: &[(String, EventStats)]) -> Value {
    let mut out = Map::new();
    for (name, s) in events {
        out.insert(
            name.clone(),
            json!({
                "total": s.total,
                "last30Days": s.last_30_days,
                "previous30Days": s.previous_30_days,
                "lastSeenAt": s.last_seen_at.map(|t| t.to_iso()),
            }),
        );
    }
    Value::Object(out)
}

fn render_group(m: &AccountMetrics) -> Value {
    json!({
        "firstSeenTimestamp": m.first_seen.map(|t| t.to_iso()),
        "lastSeenTimestamp": m.last_seen.map(|t| t.to_iso()),
        "activeUsersLast30Days": m.active_users_30d,
        "activeUsersShareLast30Days": m.active_users_share_30d,
        "usersCount": m.users,
        "events": render_stats(&m.events),
    })
}

async fn user_metrics(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let EventOwner::User(user) = owner(&state, &auth, "user", id).await? else {
        unreachable!()
    };
    let now = state.clock.now();
    let engine = state.engine().await;
    let m = engine
        .metrics(auth.workspace)
        .and_then(|m| m.user(user, now));
    Ok(Json(match m {
        Some(m) => json!({
            "firstKnown": m.first_known.map(|t| t.to_iso()),
            "lastSeenTimestamp": m.last_seen.map(|t| t.to_iso()),
            "sessions": m.sessions,
            "events": render_stats(&m.events),
        }),
        None => json!({"firstKnown": null, "lastSeenTimestamp": null, "sessions": 0, "events": {}}),
    }))
}

async fn account_metrics(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    group_metrics(state, auth, "account", id).await
}

async fn organization_metrics(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    group_metrics(state, auth, "organization", id).await
}

/// An account's or an organization's metrics (an organization sums its accounts).
async fn group_metrics(
    state: AppState,
    auth: Auth,
    kind: &str,
    id: String,
) -> ApiResult<Json<Value>> {
    let owner = owner(&state, &auth, kind, id).await?;
    let now = state.clock.now();
    let engine = state.engine().await;
    let empty = steward_engine::Graph::new();
    let graph = engine.graph(auth.workspace).unwrap_or(&empty);
    // Through the engine: deactivated users drop out of user-based figures.
    let ws = auth.workspace;
    let m = match owner {
        EventOwner::Account(a) => engine
            .account_metrics(ws, a, now)
            .unwrap_or_else(|| no_usage(graph.account_users_count(a))),
        EventOwner::Organization(o) => engine
            .organization_metrics(ws, o, now)
            .unwrap_or_else(|| no_usage(graph.organization_users_count(o))),
        EventOwner::User(_) => unreachable!("users have their own metrics"),
    };
    Ok(Json(render_group(&m)))
}

/// Metrics of a workspace that has had no events yet.
fn no_usage(users: usize) -> AccountMetrics {
    AccountMetrics {
        first_seen: None,
        last_seen: None,
        events: Vec::new(),
        active_users_share_30d: (users > 0).then_some(0.0),
        active_users_30d: 0,
        users: users as u32,
    }
}
