//! Turning request bodies and query strings into domain values, with errors that name the
//! field at fault.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::{Map, Value};
use steward_engine::domain::{Email, ExternalId, FieldError, RecordName, TraitPatch};
use steward_engine::time::Millis;
use steward_store::write::RecordRef;

use crate::error::{ApiError, ErrorCode};

/// Largest JSON body the REST API accepts.
pub const MAX_BODY: usize = 1024 * 1024;

/// A JSON object body. Malformed JSON, a non-object body and oversized bodies become the
/// matching API errors instead of axum's plain-text rejections.
pub struct JsonObject(pub Body);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = read_json(req, state, MAX_BODY).await?;
        match value {
            Value::Object(map) => Ok(Self(Body(map))),
            _ => Err(ApiError::new(
                ErrorCode::InvalidJson,
                "the request body must be a JSON object",
            )),
        }
    }
}

/// Reads a body of at most `limit` bytes and parses it as JSON.
pub async fn read_json<S: Send + Sync>(
    req: Request,
    state: &S,
    limit: usize,
) -> Result<Value, ApiError> {
    let bytes = read_bytes(req, state, limit).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidJson,
            format!("the request body is not valid JSON: {e}"),
        )
    })
}

pub async fn read_bytes<S: Send + Sync>(
    req: Request,
    _state: &S,
    limit: usize,
) -> Result<Bytes, ApiError> {
    if let Some(len) = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > limit
    {
        return Err(too_large(limit));
    }
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|e| {
            if std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            {
                too_large(limit)
            } else {
                ApiError::new(
                    ErrorCode::InvalidJson,
                    format!("the request body could not be read: {e}"),
                )
            }
        })
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the request body is larger than {limit} bytes"),
    )
}

/// A parsed JSON object with typed accessors. Absent and `null` members are told apart where
/// the API gives them different meanings (`null` clears a value).
pub struct Body(pub Map<String, Value>);

/// A member that may be absent, explicitly null, or set.
pub enum Member<T> {
    Absent,
    Null,
    Set(T),
}

impl<T> Member<T> {
    /// `None` when absent; `Some(None)` when null.
    pub fn into_patch(self) -> Option<Option<T>> {
        match self {
            Member::Absent => None,
            Member::Null => Some(None),
            Member::Set(v) => Some(Some(v)),
        }
    }
}

impl Body {
    fn raw(&self, field: &str) -> Member<&Value> {
        match self.0.get(field) {
            None => Member::Absent,
            Some(Value::Null) => Member::Null,
            Some(v) => Member::Set(v),
        }
    }

    pub fn string(&self, field: &str) -> Result<Member<String>, ApiError> {
        Ok(match self.raw(field) {
            Member::Absent => Member::Absent,
            Member::Null => Member::Null,
            // PostgreSQL cannot store NUL in text; refuse it on every backend alike.
            Member::Set(Value::String(s)) if s.contains('\0') => {
                return Err(FieldError::new(
                    field,
                    format!("`{field}` must not contain NUL characters"),
                )
                .into());
            }
            Member::Set(Value::String(s)) => Member::Set(s.clone()),
            Member::Set(_) => {
                return Err(FieldError::new(field, format!("`{field}` must be a string")).into());
            }
        })
    }

    pub fn required_external_id(&self, field: &str) -> Result<ExternalId, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Err(FieldError::missing(field).into()),
            Some(v) => Ok(ExternalId::from_json(field, v)?),
        }
    }

    pub fn required_name(&self, field: &str) -> Result<RecordName, ApiError> {
        match self.string(field)? {
            Member::Set(s) => Ok(RecordName::parse(field, &s)?),
            _ => Err(FieldError::missing(field).into()),
        }
    }

    pub fn optional_name(&self, field: &str) -> Result<Option<RecordName>, ApiError> {
        match self.string(field)? {
            Member::Set(s) => Ok(Some(RecordName::parse(field, &s)?)),
            Member::Null => Err(FieldError::new(field, format!("`{field}` cannot be null")).into()),
            Member::Absent => Ok(None),
        }
    }

    pub fn email(&self, field: &str) -> Result<Member<Email>, ApiError> {
        Ok(match self.string(field)? {
            Member::Absent => Member::Absent,
            Member::Null => Member::Null,
            Member::Set(s) => Member::Set(Email::parse(field, &s)?),
        })
    }

    pub fn traits(&self, field: &str) -> Result<TraitPatch, ApiError> {
        match self.0.get(field) {
            None => Ok(TraitPatch::default()),
            Some(v) => Ok(TraitPatch::from_json(field, v)?),
        }
    }

    pub fn bool(&self, field: &str) -> Result<Option<bool>, ApiError> {
        match self.raw(field) {
            Member::Absent | Member::Null => Ok(None),
            Member::Set(Value::Bool(b)) => Ok(Some(*b)),
            Member::Set(_) => {
                Err(FieldError::new(field, format!("`{field}` must be true or false")).into())
            }
        }
    }

    pub fn timestamp(&self, field: &str) -> Result<Member<Millis>, ApiError> {
        Ok(match self.string(field)? {
            Member::Absent => Member::Absent,
            Member::Null => Member::Null,
            Member::Set(s) => Member::Set(parse_instant(&s).ok_or_else(|| {
                FieldError::new(
                    field,
                    format!("`{field}` must be an ISO-8601 date or date-time"),
                )
            })?),
        })
    }

    /// A reference to another record: its Steward id or external id.
    pub fn record_ref(&self, field: &str) -> Result<Member<RecordRef>, ApiError> {
        Ok(match self.raw(field) {
            Member::Absent => Member::Absent,
            Member::Null => Member::Null,
            Member::Set(v) => {
                Member::Set(RecordRef(ExternalId::from_json(field, v)?.into_string()))
            }
        })
    }

    /// A list of record references; `null` is an empty list.
    pub fn record_refs(&self, field: &str) -> Result<Option<Vec<RecordRef>>, ApiError> {
        match self.raw(field) {
            Member::Absent => Ok(None),
            Member::Null => Ok(Some(Vec::new())),
            Member::Set(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    Ok(RecordRef(
                        ExternalId::from_json(&format!("{field}[{i}]"), v)?.into_string(),
                    ))
                })
                .collect::<Result<Vec<_>, ApiError>>()
                .map(Some),
            Member::Set(_) => {
                Err(FieldError::new(field, format!("`{field}` must be an array of ids")).into())
            }
        }
    }
}

/// A date-time (`2024-01-01T00:00:00Z`) or a date (`2024-01-01`, midnight UTC).
pub fn parse_instant(s: &str) -> Option<Millis> {
    Millis::parse_iso(s).or_else(|| {
        let date: jiff::civil::Date = s.parse().ok()?;
        let ts = date.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
        Some(Millis(ts.as_millisecond()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Body {
        Body(v.as_object().unwrap().clone())
    }

    #[test]
    fn errors_name_the_field() {
        let b = body(json!({"name": 5, "externalId": "", "traits": [1]}));
        let e = b.required_name("name").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("name"));
        assert_eq!(
            b.required_external_id("externalId")
                .unwrap_err()
                .field
                .as_deref(),
            Some("externalId")
        );
        assert_eq!(
            b.traits("traits").unwrap_err().field.as_deref(),
            Some("traits")
        );
        let e = body(json!({}))
            .required_external_id("externalId")
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::MissingField);
    }

    #[test]
    fn instants_and_dates() {
        assert_eq!(parse_instant("1970-01-02"), Some(Millis(86_400_000)));
        assert_eq!(parse_instant("1970-01-01T00:00:01Z"), Some(Millis(1000)));
        assert_eq!(parse_instant("soon"), None);
    }
}
