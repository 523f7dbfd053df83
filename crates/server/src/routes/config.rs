//! `/resources/config`: the workspace's whole configuration as one document (see
//! `config::file`). Reads take any key; applying a file needs an admin key.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use crate::app::AppState;
use crate::auth::Auth;
use crate::config::{self, file::ConfigFile};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonObject;

pub fn routes() -> Router<AppState> {
    Router::new().route("/config", get(export).put(apply))
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
