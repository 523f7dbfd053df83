//! `GET /resources/{accounts,organizations}/:id/statusHistory`: a record's lifecycle status
//! transitions, oldest first (`[{"from", "to", "at"}]`), as the engine reported them.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::accounts::Accounts;
use super::organizations::Organizations;
use super::records::{RecordKind, find_or_404, row_id};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiResult;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/resources/accounts/{id}/statusHistory",
            get(history::<Accounts>),
        )
        .route(
            "/resources/organizations/{id}/statusHistory",
            get(history::<Organizations>),
        )
}

async fn history<K: RecordKind>(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let row = find_or_404::<K>(&state, auth.workspace, id).await?;
    let id = row_id::<K>(&row);
    let history = state.store.status_history(auth.workspace, id).await?;
    Ok(Json(
        history
            .into_iter()
            .map(|(from, to, at)| json!({"from": from, "to": to, "at": at.to_iso()}))
            .collect(),
    ))
}
