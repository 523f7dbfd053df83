//! Ingestion: Vitally's analytics API and Segment's tracking API.
//!
//! A request's messages are parsed and validated first (any bad message refuses the whole
//! request with a 400 naming it, so nothing is half-written), then sent to the single writer
//! as one write: applied in one transaction, each message at most once per workspace (replays
//! are recognised by `messageId`, or by a hash of the message), and answered only once
//! committed, so a `200` survives a crash.

mod analytics;
mod fast;
mod message;
mod segment;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::value::RawValue;
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

/// The request body, decompressed, within [`MAX_REQUEST`].
async fn read_body(body: axum::body::Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_REQUEST).await.map_err(|e| {
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
    })
}

fn json_error(e: serde_json::Error) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidJson,
        format!("the request body is not valid JSON: {e}"),
    )
}

/// The body as a JSON tree.
fn value_of(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(json_error)
}

/// Segment's `writeKey` in a body.
fn write_key_of(value: &Value) -> Option<String> {
    value
        .get("writeKey")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The caller: the key in the Authorization header, else Segment's `writeKey` in the body.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    write_key: Option<&str>,
) -> Result<Auth, ApiError> {
    let key = match headers.get(axum::http::header::AUTHORIZATION) {
        Some(h) => h.to_str().ok().and_then(key_from_header),
        None => write_key.map(str::to_owned),
    }
    .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "Authorization header not present."))?;
    let auth = state.keys.authenticate(&state.store, &key).await?;
    if let Some(limiter) = &state.rate_limiter {
        limiter.check(&crate::auth::hash_key(&key), std::time::Instant::now())?;
    }
    auth.require_write()?;
    Ok(auth)
}

/// A request body read: the key it carries, and its messages mapped or the error that
/// refuses them (reported once the caller is known, as a malformed body is reported before).
struct Mapped {
    write_key: Option<String>,
    ops: Result<Vec<IngestOp>, ApiError>,
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
    for op in &ops {
        op.message_id.prepare(auth.workspace);
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
    map: impl FnOnce(&[u8], Millis) -> Result<Mapped, ApiError>,
) -> Response {
    let result = async {
        let bytes = read_body(body).await?;
        let mapped = map(&bytes, now(state))?;
        let auth = authenticate(state, headers, mapped.write_key.as_deref()).await?;
        apply(
            state,
            &auth,
            mapped.ops?,
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

/// A single-message body: the message is the whole body.
fn single(
    bytes: &[u8],
    map: impl FnOnce(&Value) -> Result<IngestOp, ApiError>,
) -> Result<Mapped, ApiError> {
    let value = value_of(bytes)?;
    Ok(Mapped {
        write_key: write_key_of(&value),
        ops: message::check_size("", bytes.len()).and_then(|()| Ok(vec![map(&value)?])),
    })
}

async fn analytics_single(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    handle(&state, &headers, body, Api::Analytics, |bytes, received| {
        single(bytes, |value| {
            analytics::message(value, String::new(), Some(&kind), received)
        })
    })
    .await
}

/// A bare array of at most 100 messages, each with its `type`.
async fn analytics_batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    handle(&state, &headers, body, Api::Analytics, |bytes, received| {
        let Ok(messages) = serde_json::from_slice::<Vec<&RawValue>>(bytes) else {
            value_of(bytes)?;
            return Err(ApiError::new(
                ErrorCode::InvalidJson,
                "the batch must be a JSON array of messages",
            ));
        };
        let ops = if messages.len() > MAX_ANALYTICS_BATCH {
            Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "a batch holds at most {MAX_ANALYTICS_BATCH} messages, not {}",
                    messages.len()
                ),
            ))
        } else {
            messages
                .iter()
                .enumerate()
                .map(|(i, raw)| {
                    let path = format!("[{i}]");
                    message::check_size(&path, raw.get().len())?;
                    let value: Value = serde_json::from_str(raw.get()).map_err(json_error)?;
                    analytics::message(&value, path, None, received)
                })
                .collect()
        };
        Ok(Mapped {
            write_key: None,
            ops,
        })
    })
    .await
}

async fn segment_single(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    handle(&state, &headers, body, Api::Segment, |bytes, received| {
        if !["identify", "group", "track", "page", "screen", "alias"].contains(&kind.as_str()) {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("no such endpoint: /v1/{kind}"),
            ));
        }
        single(bytes, |value| {
            segment::message(value, String::new(), Some(&kind), received)
        })
    })
    .await
}

/// `{"batch": [...], "sentAt": ..., "writeKey": ...}`.
async fn segment_batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    handle(&state, &headers, body, Api::Segment, map_segment_batch).await
}

/// A Segment batch body as the fast path reads it (`fast.rs`): the messages left as text.
#[derive(serde::Deserialize)]
struct SegmentBatch<'a> {
    #[serde(borrow)]
    batch: Option<Vec<&'a RawValue>>,
    #[serde(rename = "writeKey", borrow)]
    write_key: Option<std::borrow::Cow<'a, str>>,
}

/// Reads and maps a Segment batch body: each message by the fast path when it can
/// (`fast.rs`), else through a JSON tree. A body the fast reader cannot take (not an object,
/// no `batch` array, a `writeKey` that is not a string) is read the general way, which names
/// what is wrong.
fn map_segment_batch(bytes: &[u8], received: Millis) -> Result<Mapped, ApiError> {
    let body = match serde_json::from_slice::<SegmentBatch<'_>>(bytes) {
        Ok(body) if body.batch.is_some() && bytes.trim_ascii_start().starts_with(b"{") => body,
        _ => {
            let value = value_of(bytes)?;
            return Ok(Mapped {
                write_key: write_key_of(&value),
                ops: parse_segment_batch(&value, received),
            });
        }
    };
    let ops = body
        .batch
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            let path = || format!("batch[{i}]");
            message::check_size(&path(), raw.get().len())?;
            if let Some(op) = fast::event_message(raw, received) {
                return Ok(op);
            }
            let value: Value = serde_json::from_str(raw.get()).map_err(json_error)?;
            segment::message(&value, path(), None, received)
        })
        .collect();
    Ok(Mapped {
        write_key: body.write_key.map(|k| k.into_owned()),
        ops,
    })
}

/// Parses and maps a Segment batch body without applying it, as `POST /v1/batch` does (the
/// benchmark's parse-only ceiling runs exactly this).
pub fn parse_segment_batch_body(bytes: &[u8], received: Millis) -> Result<Vec<IngestOp>, ApiError> {
    map_segment_batch(bytes, received)?.ops
}

/// Maps a Segment batch read as a JSON tree.
fn parse_segment_batch(value: &Value, received: Millis) -> Result<Vec<IngestOp>, ApiError> {
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
        .map(|(i, m)| {
            let path = format!("batch[{i}]");
            message::check_size(&path, serde_json::to_string(m).map_or(0, |s| s.len()))?;
            segment::message(m, path, None, received)
        })
        .collect()
}
