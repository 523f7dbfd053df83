//! `/resources/admins`: the workspace's team members.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use steward_engine::domain::Email;
use steward_engine::ids::AdminId;
use steward_store::write::{AdminFields, Write};

use super::support::{self, Params};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Body, JsonObject, Member};
use crate::pagination::{listed_envelope, page_request, probe};
use crate::render;

const LICENSE_STATUSES: [&str; 3] = ["active", "deactivated", "auto-created"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/resources/admins", get(list).post(create))
        .route("/resources/admins/search", get(search))
        .route(
            "/resources/admins/{id}",
            get(fetch).put(update).patch(update).delete(remove),
        )
}

fn admin_id(raw: &str) -> ApiResult<AdminId> {
    raw.parse().map_err(|_| ApiError::not_found("team member"))
}

fn license_status(body: &Body) -> ApiResult<Option<String>> {
    match body.string("licenseStatus")? {
        Member::Set(s) if LICENSE_STATUSES.contains(&s.as_str()) => Ok(Some(s)),
        Member::Set(_) | Member::Null => Err(ApiError::field(
            ErrorCode::InvalidField,
            "licenseStatus",
            "`licenseStatus` must be one of active, deactivated, auto-created",
        )),
        Member::Absent => Ok(None),
    }
}

async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Params(query): Params,
) -> ApiResult<Json<Value>> {
    let page = page_request(&query)?;
    let rows = state
        .store
        .list_admins(auth.workspace, &probe(&page))
        .await?;
    Ok(Json(listed_envelope(&page, rows, render::admin)))
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let name = body.required_name("name")?;
    let email = match body.email("email")? {
        Member::Set(e) => e,
        _ => return Err(steward_engine::domain::FieldError::missing("email").into()),
    };
    let license_status = license_status(&body)?.unwrap_or_else(|| "active".to_owned());
    support::write(
        &state,
        &auth,
        Write::CreateAdmin {
            name,
            email,
            license_status,
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
        .find_admin(auth.workspace, admin_id(&id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("team member"))?;
    Ok(Json(render::admin(&row)))
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let target = admin_id(&id)?;
    let email = match body.email("email")? {
        Member::Set(e) => Some(e),
        Member::Null => {
            return Err(ApiError::field(
                ErrorCode::InvalidField,
                "email",
                "`email` cannot be null",
            ));
        }
        Member::Absent => None,
    };
    let fields = AdminFields {
        name: body.optional_name("name")?,
        email,
        license_status: license_status(&body)?,
    };
    support::write(&state, &auth, Write::UpdateAdmin { target, fields }).await
}

async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let target = admin_id(&id)?;
    support::delete(&state, &auth, &id, Write::DeleteAdmin { target }).await
}

/// `?email=`: answers the team member itself (as Vitally does), or 404.
async fn search(
    State(state): State<AppState>,
    auth: Auth,
    Params(query): Params,
) -> ApiResult<Json<Value>> {
    let raw = query
        .get("email")
        .ok_or_else(|| ApiError::field(ErrorCode::InvalidQuery, "email", "`email` is required"))?;
    let email = Email::parse("email", raw)?;
    let row = state
        .store
        .admin_by_email(auth.workspace, &email.normalized())
        .await?
        .ok_or_else(|| ApiError::not_found("team member"))?;
    Ok(Json(render::admin(&row)))
}
