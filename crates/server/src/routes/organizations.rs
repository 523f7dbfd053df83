//! `/resources/organizations`

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use steward_store::write::{OrganizationFields, RecordRef, Write};

use super::support::{self, Params};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, JsonObject};
use crate::pagination::{envelope, page_request, probe};
use crate::render;
use steward_store::rows::Listed;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/organizations", get(list).post(upsert))
        .route(
            "/organizations/{id}",
            get(fetch).put(update).patch(update).delete(remove),
        )
        .route("/organizations/{id}/accounts", get(accounts))
        .route("/organizations/{id}/users", get(users))
}

fn fields(body: &Body) -> ApiResult<OrganizationFields> {
    Ok(OrganizationFields {
        name: body.optional_name("name")?,
        traits: body.traits("traits")?,
    })
}

async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Params(query): Params,
) -> ApiResult<Json<Value>> {
    let page = page_request(&query)?;
    let rows = state
        .store
        .list_organizations(auth.workspace, &probe(&page))
        .await?;
    let engine = state.engine();
    let graph = &crate::render::View::of(&engine, auth.workspace, state.clock.now());
    Ok(Json(envelope(
        &page,
        rows,
        |r| r.page_key(page.sort),
        |r| render::organization(r, graph),
    )))
}

async fn upsert(
    State(state): State<AppState>,
    auth: Auth,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let external_id = body.required_external_id("externalId")?;
    let mut fields = fields(&body)?;
    fields.name = Some(body.required_name("name")?);
    support::write(
        &state,
        &auth,
        Write::UpsertOrganization {
            external_id,
            fields,
        },
    )
    .await
}

async fn fetch(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let row = state
        .store
        .find_organization(auth.workspace, &RecordRef(id))
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    let engine = state.engine();
    Ok(Json(render::organization(
        &row,
        &crate::render::View::of(&engine, auth.workspace, state.clock.now()),
    )))
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let fields = fields(&body)?;
    if body.0.contains_key("externalId") {
        let current = state
            .store
            .find_organization(auth.workspace, &RecordRef(id.clone()))
            .await?;
        support::refuse_changed_external_id(
            &body,
            current.as_ref().map(|r| r.external_id.as_str()),
        )?;
    }
    support::write(
        &state,
        &auth,
        Write::UpdateOrganization {
            target: RecordRef(id),
            fields,
        },
    )
    .await
}

/// Detaches the organization's accounts, or with `?cascade=true` deletes them too (and their
/// users that belong nowhere else).
async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let cascade = params.flag("cascade")?;
    support::delete(
        &state,
        &auth,
        &id,
        Write::DeleteOrganization {
            target: RecordRef(id.clone()),
            cascade,
        },
    )
    .await
}

async fn accounts(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(query): Params,
) -> ApiResult<Json<Value>> {
    let page = page_request(&query)?;
    let org = state
        .store
        .find_organization(auth.workspace, &RecordRef(id))
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    let keys = {
        let engine = state.engine();
        engine
            .graph(auth.workspace)
            .map(|g| g.organization_accounts_page(org.id, &probe(&page)))
            .unwrap_or_default()
    };
    let ids: Vec<_> = keys.iter().map(|k| k.id).collect();
    let rows = state.store.accounts_by_ids(auth.workspace, &ids).await?;
    let key_of: HashMap<_, _> = keys.iter().map(|k| (k.id, *k)).collect();
    let engine = state.engine();
    let graph = &crate::render::View::of(&engine, auth.workspace, state.clock.now());
    Ok(Json(envelope(
        &page,
        rows,
        |r| {
            key_of
                .get(&r.id.0)
                .copied()
                .unwrap_or_else(|| r.page_key(page.sort))
        },
        |r| render::account(r, graph),
    )))
}

async fn users(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(query): Params,
) -> ApiResult<Json<Value>> {
    let page = page_request(&query)?;
    let org = state
        .store
        .find_organization(auth.workspace, &RecordRef(id))
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    let keys = {
        let engine = state.engine();
        engine
            .graph(auth.workspace)
            .map(|g| g.organization_users_page(org.id, &probe(&page)))
            .unwrap_or_default()
    };
    super::users::page_of_users(&state, auth.workspace, &page, keys).await
}
