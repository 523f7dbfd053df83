//! Ingestion: Vitally's analytics API and Segment's tracking API.
//!
//! A request's messages are parsed and validated first (any bad message refuses the whole
//! request with a 400 naming it, so nothing is half-written), then sent to the single writer
//! as one write: applied in one transaction, each message at most once per workspace (replays
//! are recognised by `messageId`, or by a hash of the message), and answered only once
//! committed, so a `200` survives a crash.

mod analytics;
mod message;
mod segment;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use steward_engine::time::Millis;
use steward_store::write::{IngestOp, Write};
use tower_http::decompression::RequestDecompressionLayer;

use crate::app::AppState;
use crate::auth::{Auth, key_from_header};
use crate::error::{ApiError, ErrorCode};

/// Largest request body (after decompression): Segment's documented limit.
pub const MAX_REQUEST: usize = 500 * 1024;
/// Most messages in one Vitally analytics batch.
pub const MAX_ANALYTICS_BATCH: usize = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/analytics/v1/batch", post(analytics_batch))
        .route("/analytics/v1/{kind}", post(analytics_single))
        .route("/v1/batch", post(segment_batch))
        .route("/v1/{kind}", post(segment_single))
        .layer(RequestDecompressionLayer::new())
}

/// The parsed request: its JSON and the caller.
async fn read(
    state: &AppState,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<(Auth, Value), ApiError> {
    let bytes: Bytes = axum::body::to_bytes(body, MAX_REQUEST).await.map_err(|e| {
        if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
        {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the request body is larger than {MAX_REQUEST} bytes"),
            )
        } else {
            ApiError::new(
                ErrorCode::InvalidJson,
                format!("the request body could not be read (bad gzip?): {e}"),
            )
        }
    })?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidJson,
            format!("the request body is not valid JSON: {e}"),
        )
    })?;
    // The key: the Authorization header, else Segment's `writeKey` in the body.
    let key = match headers.get(axum::http::header::AUTHORIZATION) {
        Some(h) => h.to_str().ok().and_then(key_from_header),
        None => value
            .get("writeKey")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
    .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "Authorization header not present."))?;
    let auth = state.keys.authenticate(&state.store, &key).await?;
    if let Some(limiter) = &state.rate_limiter {
        limiter.check(&crate::auth::hash_key(&key), std::time::Instant::now())?;
    }
    auth.require_write()?;
    Ok((auth, value))
}

async fn apply(
    state: &AppState,
    auth: &Auth,
    mut ops: Vec<IngestOp>,
    list: &str,
) -> Result<(), ApiError> {
    if ops.is_empty() {
        return Ok(());
    }
    crate::assign::import_gate::filter_ingest(state, auth, &mut ops).await?;
    let write = Write::Ingest(ops);
    crate::trait_types::check(state, auth.workspace, &write, list).await?;
    let write = crate::assign::prepare(state, auth.workspace, write).await?;
    state.writer.write(auth.workspace, write).await.map(|_| ())
}

fn now(state: &AppState) -> Millis {
    state.clock.now()
}

/// The two API families differ only in how they say yes.
#[derive(Clone, Copy)]
enum Api {
    Analytics,
    Segment,
}

/// Reads one request, maps its body to messages with `map`, applies them, and answers.
async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: axum::body::Body,
    api: Api,
    map: impl FnOnce(&Value, Millis) -> Result<Vec<IngestOp>, ApiError>,
) -> Response {
    let result = async {
        let (auth, value) = read(state, headers, body).await?;
        let ops = map(&value, now(state))?;
        apply(
            state,
            &auth,
            ops,
            match api {
                Api::Segment => "batch",
                Api::Analytics => "",
            },
        )
        .await
    }
    .await;
    match (result, api) {
        (Ok(()), Api::Analytics) => axum::Json(json!({"message": "Success."})).into_response(),
        (Ok(()), Api::Segment) => axum::Json(json!({"success": true})).into_response(),
        (Err(e), _) => e.into_response(),
    }
}

async fn analytics_single(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    handle(&state, &headers, body, Api::Analytics, |value, received| {
        Ok(vec![analytics::message(
            value,
            String::new(),
            Some(&kind),
            received,
        )?])
    })
    .await
}

/// A bare array of at most 100 messages, each with its `type`.
async fn analytics_batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    handle(&state, &headers, body, Api::Analytics, |value, received| {
        let messages = value.as_array().ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidJson,
                "the batch must be a JSON array of messages",
            )
        })?;
        if messages.len() > MAX_ANALYTICS_BATCH {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "a batch holds at most {MAX_ANALYTICS_BATCH} messages, not {}",
                    messages.len()
                ),
            ));
        }
        messages
            .iter()
            .enumerate()
            .map(|(i, m)| analytics::message(m, format!("[{i}]"), None, received))
            .collect()
    })
    .await
}

async fn segment_single(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    handle(&state, &headers, body, Api::Segment, |value, received| {
        if !["identify", "group", "track", "page", "screen", "alias"].contains(&kind.as_str()) {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("no such endpoint: /v1/{kind}"),
            ));
        }
        Ok(vec![segment::message(
            value,
            String::new(),
            Some(&kind),
            received,
        )?])
    })
    .await
}

/// `{"batch": [...], "sentAt": ..., "writeKey": ...}`.
async fn segment_batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    handle(&state, &headers, body, Api::Segment, parse_segment_batch).await
}

/// Parses and maps a Segment batch body without applying it (the benchmark's parse-only
/// ceiling runs exactly this).
pub fn parse_segment_batch(value: &Value, received: Millis) -> Result<Vec<IngestOp>, ApiError> {
    let messages = value
        .get("batch")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ApiError::field(
                ErrorCode::MissingField,
                "batch",
                "`batch` must be an array of messages",
            )
        })?;
    messages
        .iter()
        .enumerate()
        .map(|(i, m)| segment::message(m, format!("batch[{i}]"), None, received))
        .collect()
}
