//! `/resources/config`: the workspace's whole configuration as one document (see
//! `config::file`). Reads take any key; applying a file needs an admin key.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use steward_store::write::Write;

use crate::app::AppState;
use crate::auth::Auth;
use crate::config::{self, file::ConfigFile};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonObject;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/resources/config", get(export).put(apply))
        .route(
            "/resources/config/reprocess",
            axum::routing::post(reprocess),
        )
}

/// Applies the current lifecycle rules to every record, churned ones included: rule edits
/// never un-churn anyone until this is asked for (docs/derivation.md).
async fn reprocess(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let done = state
        .writer
        .write_then(
            auth.workspace,
            Write::All(Vec::new()),
            crate::writer::Then::Reprocess,
        )
        .await?;
    let transitions = done
        .derived
        .iter()
        .filter(|c| matches!(c, steward_engine::DerivedChange::Status { .. }))
        .count();
    Ok(Json(serde_json::json!({ "statusChanges": transitions })))
}

fn as_json(file: &ConfigFile) -> ApiResult<Json<Value>> {
    Ok(Json(
        serde_json::to_value(file).map_err(ApiError::internal)?,
    ))
}

async fn export(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    as_json(&config::file::export(&state, auth.workspace).await?)
}

async fn apply(
    State(state): State<AppState>,
    auth: Auth,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let file: ConfigFile = config::from_json(Value::Object(body.0), "")?;
    as_json(&config::file::apply(&state, auth.workspace, file).await?)
}
