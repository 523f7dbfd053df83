//! `/resources/accounts`

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use steward_store::rows::Listed;
use steward_store::write::{AccountFields, RecordRef, Write};

use super::support::{self, Params};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Body, JsonObject, Member};
use crate::pagination::{envelope, page_request, probe};
use crate::render;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/accounts", get(list).post(upsert))
        .route(
            "/accounts/{id}",
            get(fetch).put(update).patch(update).delete(remove),
        )
        .route("/accounts/{id}/users", get(users))
}

fn fields(body: &Body) -> ApiResult<AccountFields> {
    if let Member::Set(_) = body.string("accountOwnerId")? {
        return Err(ApiError::field(
            ErrorCode::InvalidField,
            "accountOwnerId",
            "`accountOwnerId` can only be set to null through the API",
        ));
    }
    Ok(AccountFields {
        name: body.optional_name("name")?,
        traits: body.traits("traits")?,
        organization: body.record_ref("organizationId")?.into_patch(),
        ..AccountFields::default()
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
        .list_accounts(auth.workspace, &probe(&page))
        .await?;
    let engine = state.engine();
    let graph = &crate::render::View::of(&engine, auth.workspace, state.clock.now());
    Ok(Json(envelope(
        &page,
        rows,
        |r| r.page_key(page.sort),
        |r| render::account(r, graph),
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
        Write::UpsertAccount {
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
        .find_account(auth.workspace, &RecordRef(id))
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    let engine = state.engine();
    Ok(Json(render::account(
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
            .find_account(auth.workspace, &RecordRef(id.clone()))
            .await?;
        support::refuse_changed_external_id(
            &body,
            current.as_ref().map(|r| r.external_id.as_str()),
        )?;
    }
    support::write(
        &state,
        &auth,
        Write::UpdateAccount {
            target: RecordRef(id),
            fields,
        },
    )
    .await
}

/// Deletes the account and its users that belong to no other account.
async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    support::delete(
        &state,
        &auth,
        &id,
        Write::DeleteAccount {
            target: RecordRef(id.clone()),
        },
    )
    .await
}

async fn users(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(query): Params,
) -> ApiResult<Json<Value>> {
    let page = page_request(&query)?;
    let account = state
        .store
        .find_account(auth.workspace, &RecordRef(id))
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    let keys = {
        let engine = state.engine();
        engine
            .graph(auth.workspace)
            .map(|g| g.account_users_page(account.id, &probe(&page)))
            .unwrap_or_default()
    };
    super::users::page_of_users(&state, auth.workspace, &page, keys).await
}
