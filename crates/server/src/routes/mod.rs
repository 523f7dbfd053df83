//! The HTTP surface: one module per resource, merged here.

mod accounts;
mod admins;
mod config;
mod conversation_input;
mod conversations;
pub(crate) mod custom_fields;
mod custom_object_instances;
pub(crate) mod custom_objects;
mod events;
mod organizations;
pub(crate) mod records;
mod roles;
mod status_filter;
mod status_history;
mod support;
mod system;
mod users;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;

use crate::app::AppState;
use crate::error::{ApiError, ErrorCode};

pub fn router(state: AppState) -> Router {
    // Every resource module spells out its `/resources/...` paths: a nested router would
    // rebuild each request's URI to strip the prefix.
    Router::new()
        .merge(organizations::routes())
        .merge(accounts::routes())
        .merge(users::routes())
        .merge(admins::routes())
        .merge(custom_fields::routes())
        .merge(custom_objects::routes())
        .merge(custom_object_instances::routes())
        .merge(conversations::routes())
        .merge(events::routes())
        .merge(roles::routes())
        .merge(config::routes())
        .merge(status_history::routes())
        .merge(system::routes())
        .merge(crate::ingest::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such endpoint; see /openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this endpoint does not accept that method",
    )
}

/// A panic is a bug: answer like any internal error (the cause is logged) instead of
/// dropping the connection.
fn panic_response(cause: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let cause = cause
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| cause.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".to_owned());
    let mut response = ApiError::internal(format!("panic: {cause}")).into_response();
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}
