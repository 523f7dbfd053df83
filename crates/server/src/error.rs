//! The one public error contract.
//!
//! Every error a client sees is `{"error": "<code>", "code": "<code>", "message": "<text>"}`,
//! plus `"field"` when one input field is at fault. Codes are stable snake_case strings, each
//! tied to one HTTP status in [`ErrorCode`]. `code` repeats `error` because Segment-spec
//! clients read `code` while Vitally-style clients read `error`. Internal causes are logged
//! once, here, and never sent to clients.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use steward_engine::domain::FieldError;
use steward_store::StoreError;
use steward_store::write::WriteError;

macro_rules! error_codes {
    ($($variant:ident => $code:literal, $status:ident;)*) => {
        /// Every error code the API can answer with, and its HTTP status.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ErrorCode { $($variant),* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code),* }
            }

            pub fn status(self) -> StatusCode {
                match self { $(ErrorCode::$variant => StatusCode::$status),* }
            }
        }
    };
}

error_codes! {
    InvalidJson => "invalid_json", BAD_REQUEST;
    InvalidField => "invalid_field", BAD_REQUEST;
    MissingField => "missing_field", BAD_REQUEST;
    InvalidReference => "invalid_reference", BAD_REQUEST;
    InvalidQuery => "invalid_query", BAD_REQUEST;
    InvalidCursor => "invalid_cursor", BAD_REQUEST;
    Unauthorized => "unauthorized", UNAUTHORIZED;
    Forbidden => "forbidden", FORBIDDEN;
    NotFound => "not_found", NOT_FOUND;
    MethodNotAllowed => "method_not_allowed", METHOD_NOT_ALLOWED;
    Conflict => "conflict", CONFLICT;
    ImportFiltered => "import_filtered", UNPROCESSABLE_ENTITY;
    PayloadTooLarge => "payload_too_large", PAYLOAD_TOO_LARGE;
    UnsupportedMediaType => "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE;
    RateLimited => "rate_limited", TOO_MANY_REQUESTS;
    Internal => "internal", INTERNAL_SERVER_ERROR;
    Unavailable => "unavailable", SERVICE_UNAVAILABLE;
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    /// Sent as `Retry-After` (429 only).
    pub retry_after_secs: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    pub fn field(code: ErrorCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: Some(field.into()),
            retry_after_secs: None,
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// An internal failure: the cause is logged here and replaced by a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            ErrorCode::Internal,
            "internal error; the cause has been logged",
        )
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        let code = if e.message.ends_with("is required") {
            ErrorCode::MissingField
        } else {
            ErrorCode::InvalidField
        };
        Self::field(code, e.field, e.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => {
                Self::new(ErrorCode::Conflict, format!("{what} already exists"))
            }
            other => Self::internal(other),
        }
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::NotFound(what) => Self::not_found(what),
            WriteError::Invalid(field) => {
                Self::field(ErrorCode::InvalidReference, field.field, field.message)
            }
            WriteError::Conflict(message) => Self::new(ErrorCode::Conflict, message),
            WriteError::Database(cause) => Self::internal(cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "error": self.code.as_str(),
            "code": self.code.as_str(),
            "message": self.message,
        });
        if let Some(field) = self.field {
            body["field"] = json!(field);
        }
        let mut response = (self.code.status(), Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
            assert!(seen.insert(s), "duplicate code {s}");
        }
    }
}
