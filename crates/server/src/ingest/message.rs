//! Reading one ingested message: the pieces Segment's and Vitally's formats share.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use steward_engine::domain::{Email, ExternalId, FieldError, RecordName, TraitPatch};
use steward_engine::time::Millis;
use steward_store::write::{EventKind, EventWrite, IngestAction, Properties, UserFields};

use crate::error::{ApiError, ErrorCode};
use crate::extract::parse_instant;

/// Largest message: Segment's documented limit.
pub const MAX_MESSAGE: usize = 32 * 1024;

/// One message as a JSON object, with the path it sits at (`batch[3]`) for error messages.
pub struct Msg<'a> {
    pub map: &'a Map<String, Value>,
    pub path: String,
}

impl<'a> Msg<'a> {
    pub fn new(value: &'a Value, path: String) -> Result<Self, ApiError> {
        let map = value
            .as_object()
            .ok_or_else(|| invalid(&path, "must be a JSON object"))?;
        Ok(Self { map, path })
    }

    pub fn field_path(&self, field: &str) -> String {
        if self.path.is_empty() {
            field.to_owned()
        } else {
            format!("{}.{field}", self.path)
        }
    }

    pub fn get(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    /// An id (string or integer) that must be present.
    pub fn required_id(&self, field: &str) -> Result<ExternalId, ApiError> {
        self.optional_id(field)?
            .ok_or_else(|| FieldError::missing(&self.field_path(field)).into())
    }

    pub fn optional_id(&self, field: &str) -> Result<Option<ExternalId>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => Ok(Some(ExternalId::from_json(&self.field_path(field), v)?)),
        }
    }

    pub fn required_string(&self, field: &str) -> Result<String, ApiError> {
        match self.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() && !s.contains('\0') => Ok(s.clone()),
            Some(Value::String(_)) => Err(invalid(
                &self.field_path(field),
                "must be a non-empty string",
            )),
            Some(_) => Err(invalid(&self.field_path(field), "must be a string")),
            None => Err(FieldError::missing(&self.field_path(field)).into()),
        }
    }

    pub fn optional_string(&self, field: &str) -> Result<Option<String>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) if !s.contains('\0') => Ok(Some(s.clone())),
            Some(_) => Err(invalid(&self.field_path(field), "must be a string")),
        }
    }

    /// An object member (absent or null: empty).
    pub fn object(&self, field: &str) -> Result<Map<String, Value>, ApiError> {
        match self.get(field) {
            None => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(_) => Err(invalid(&self.field_path(field), "must be an object")),
        }
    }

    /// The message's time: `timestamp`, else when it was received.
    pub fn timestamp(&self, received: Millis) -> Result<Millis, ApiError> {
        match self.get("timestamp") {
            None => Ok(received),
            Some(Value::String(s)) => parse_instant(s).ok_or_else(|| {
                invalid(
                    &self.field_path("timestamp"),
                    "must be an ISO-8601 date-time",
                )
            }),
            Some(_) => Err(invalid(
                &self.field_path("timestamp"),
                "must be an ISO-8601 date-time string",
            )),
        }
    }

    /// `messageId`, or a hash of the message so that identical re-sends collapse into one.
    pub fn message_id(&self) -> Result<String, ApiError> {
        match self.get("messageId") {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 => Ok(format!("m:{s}")),
            Some(Value::Number(n)) => Ok(format!("m:{n}")),
            Some(_) => Err(invalid(
                &self.field_path("messageId"),
                "must be a string of 1 to 255 characters",
            )),
            None => {
                // serde_json's maps are ordered by key, so equal messages serialize equally.
                let canonical = Value::Object(self.map.clone()).to_string();
                Ok(format!("h:{:x}", Sha256::digest(canonical.as_bytes())))
            }
        }
    }
}

/// Refuses a message larger than Segment's limit; `size` is its length as sent.
pub fn check_size(path: &str, size: usize) -> Result<(), ApiError> {
    if size > MAX_MESSAGE {
        let what = if path.is_empty() { "the message" } else { path };
        return Err(ApiError::field(
            ErrorCode::PayloadTooLarge,
            path,
            format!("`{what}` is {size} bytes; a message may have at most {MAX_MESSAGE}"),
        ));
    }
    Ok(())
}

/// What every message starts with: its type, its id and its time.
pub struct Opened<'a> {
    pub msg: Msg<'a>,
    pub kind: String,
    pub message_id: String,
    pub at: Millis,
}

/// Opens a message; `kind` is the endpoint's type for single-message calls, else the
/// message's own `type`.
pub fn open<'a>(
    value: &'a Value,
    path: String,
    kind: Option<&str>,
    received: Millis,
) -> Result<Opened<'a>, ApiError> {
    let msg = Msg::new(value, path)?;
    let kind = match kind {
        Some(k) => k.to_owned(),
        None => msg.required_string("type")?,
    };
    let message_id = msg.message_id()?;
    let at = msg.timestamp(received)?;
    Ok(Opened {
        msg,
        kind,
        message_id,
        at,
    })
}

/// A Segment event's action: anonymous activity with no account has nothing to attach it to
/// and is only recorded as seen.
pub fn event_action(
    kind: EventKind,
    name: String,
    user: Option<ExternalId>,
    account: Option<ExternalId>,
    at: Millis,
    properties: Properties,
) -> IngestAction {
    if user.is_none() && account.is_none() {
        return IngestAction::Ignore;
    }
    IngestAction::Event(EventWrite {
        kind,
        name,
        user,
        account,
        organization: None,
        at,
        properties,
    })
}

pub fn invalid(path: &str, what: &str) -> ApiError {
    ApiError::field(ErrorCode::InvalidField, path, format!("`{path}` {what}"))
}

/// Splits the reserved user traits (`name`, `email`, `avatar`, `createdAt`) off the custom
/// ones and fills `fields` with both.
pub fn user_traits(
    msg: &Msg<'_>,
    traits_field: &str,
    mut traits: Map<String, Value>,
    fields: &mut UserFields,
) -> Result<(), ApiError> {
    let path = |k: &str| msg.field_path(&format!("{traits_field}.{k}"));
    if let Some(name) = traits.remove("name") {
        fields.name = Some(match name {
            Value::String(s) if !s.contains('\0') => Some(s),
            Value::Null => None,
            _ => return Err(invalid(&path("name"), "must be a string")),
        });
    }
    if let Some(email) = traits.remove("email") {
        fields.email = Some(match email {
            Value::String(s) => Some(Email::parse(&path("email"), &s)?),
            Value::Null => None,
            _ => return Err(invalid(&path("email"), "must be a string")),
        });
    }
    if let Some(avatar) = traits.remove("avatar") {
        fields.avatar = Some(match avatar {
            Value::String(s) if !s.contains('\0') => Some(s),
            Value::Null => None,
            _ => return Err(invalid(&path("avatar"), "must be a string")),
        });
    }
    if let Some(created) = traits.remove("createdAt") {
        fields.joined_at = Some(match created {
            Value::String(s) => Some(
                parse_instant(&s)
                    .ok_or_else(|| invalid(&path("createdAt"), "must be an ISO-8601 date-time"))?,
            ),
            Value::Number(n) => Some(Millis(
                n.as_i64()
                    .map(|secs| {
                        if secs > 100_000_000_000 {
                            secs
                        } else {
                            secs * 1000
                        }
                    })
                    .ok_or_else(|| invalid(&path("createdAt"), "must be a date"))?,
            )),
            Value::Null => None,
            _ => return Err(invalid(&path("createdAt"), "must be a date")),
        });
    }
    fields.traits = TraitPatch::from_json(&msg.field_path(traits_field), &Value::Object(traits))?;
    Ok(())
}

/// Splits `name` (and `avatar`, dropped) off account or organization traits.
pub fn record_traits(
    msg: &Msg<'_>,
    traits_field: &str,
    mut traits: Map<String, Value>,
) -> Result<(Option<RecordName>, TraitPatch), ApiError> {
    let name = match traits.remove("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(RecordName::parse(
            &msg.field_path(&format!("{traits_field}.name")),
            &s,
        )?),
        Some(Value::String(_)) | Some(Value::Null) | None => None,
        Some(_) => {
            return Err(invalid(
                &msg.field_path(&format!("{traits_field}.name")),
                "must be a string",
            ));
        }
    };
    traits.remove("avatar");
    let patch = TraitPatch::from_json(&msg.field_path(traits_field), &Value::Object(traits))?;
    Ok((name, patch))
}
