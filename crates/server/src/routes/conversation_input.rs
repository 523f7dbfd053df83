//! Conversation and message bodies, parsed into writes. Errors name the field by its path in
//! the body (`messages[0].from.id`), so a client can find the value at fault in a long list.
//! Participants are only parsed here; whether they exist is storage's to say (in the write's
//! transaction), with the same path.

use serde_json::{Map, Value};
use steward_engine::domain::{ExternalId, FieldError};
use steward_engine::time::Millis;
use steward_store::write::{
    ConversationFields, MessageInput, ParticipantKind, ParticipantRef, RecordRef,
};

use crate::error::ApiResult;
use crate::extract::{Body, parse_instant};

/// A JSON object under a path in the body (`""` for the body itself).
struct Object<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

impl<'a> Object<'a> {
    fn of(value: &'a Value, path: &'a str) -> Result<Self, FieldError> {
        match value {
            Value::Object(map) => Ok(Self { map, path }),
            _ => Err(FieldError::new(path, format!("`{path}` must be an object"))),
        }
    }

    fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The member, `None` when absent or null.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn required(&self, key: &str) -> Result<&'a Value, FieldError> {
        self.get(key)
            .ok_or_else(|| FieldError::missing(&self.field(key)))
    }

    fn string(&self, key: &str) -> Result<Option<String>, FieldError> {
        let field = self.field(key);
        match self.get(key) {
            None => Ok(None),
            // PostgreSQL cannot store NUL in text; refuse it on every backend alike.
            Some(Value::String(s)) if s.contains('\0') => Err(FieldError::new(
                &field,
                format!("`{field}` must not contain NUL characters"),
            )),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(FieldError::new(
                &field,
                format!("`{field}` must be a string"),
            )),
        }
    }

    fn required_string(&self, key: &str) -> Result<String, FieldError> {
        self.string(key)?
            .ok_or_else(|| FieldError::missing(&self.field(key)))
    }

    fn external_id(&self, key: &str) -> Result<ExternalId, FieldError> {
        ExternalId::from_json(&self.field(key), self.required(key)?)
    }

    fn timestamp(&self, key: &str) -> Result<Option<Millis>, FieldError> {
        let field = self.field(key);
        self.string(key)?
            .map(|s| {
                parse_instant(&s).ok_or_else(|| {
                    FieldError::new(
                        &field,
                        format!("`{field}` must be an ISO-8601 date or date-time"),
                    )
                })
            })
            .transpose()
    }

    /// An array member (absent or null: empty unless `required`), each item parsed with its
    /// path (`to[1]`).
    fn list<T>(
        &self,
        key: &str,
        required: bool,
        item: impl Fn(&Value, &str) -> Result<T, FieldError>,
    ) -> Result<Vec<T>, FieldError> {
        let field = self.field(key);
        match self.get(key) {
            None if required => Err(FieldError::missing(&field)),
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| item(v, &format!("{field}[{i}]")))
                .collect(),
            Some(_) => Err(FieldError::new(
                &field,
                format!("`{field}` must be an array"),
            )),
        }
    }
}

/// `{"type": "user"|"admin", "id": ...}`: a user by Steward id or external id, a team member
/// by id or e-mail.
fn participant(value: &Value, path: &str) -> Result<ParticipantRef, FieldError> {
    let object = Object::of(value, path)?;
    let type_field = object.field("type");
    let kind = match object.string("type")? {
        Some(raw) => ParticipantKind::parse(&raw).ok_or_else(|| {
            FieldError::new(
                &type_field,
                format!("`{type_field}` must be `user` or `admin`"),
            )
        })?,
        None => return Err(FieldError::missing(&type_field)),
    };
    let id = object.external_id("id")?;
    Ok(ParticipantRef {
        kind,
        reference: RecordRef(id.into_string()),
        field: object.field("id"),
    })
}

/// A message: `{externalId*, message*, from*, to*, timestamp?, cc?, bcc?, externalUrl?}`.
pub fn message(value: &Value, path: &str) -> Result<MessageInput, FieldError> {
    let object = Object::of(value, path)?;
    let from_field = object.field("from");
    Ok(MessageInput {
        external_id: object.external_id("externalId")?,
        body: object.required_string("message")?,
        from: participant(object.required("from")?, &from_field)?,
        to: object.list("to", true, participant)?,
        cc: object.list("cc", false, participant)?,
        bcc: object.list("bcc", false, participant)?,
        timestamp: object.timestamp("timestamp")?,
        external_url: object.string("externalUrl")?,
    })
}

/// A message posted on its own (`POST /conversations/:id/messages`).
pub fn message_body(body: &Body) -> ApiResult<MessageInput> {
    let value = Value::Object(body.0.clone());
    Ok(message(&value, "")?)
}

/// Refuses a message external id listed twice: each names one message.
fn distinct(messages: &[MessageInput]) -> Result<(), FieldError> {
    for (i, m) in messages.iter().enumerate() {
        if messages[..i].iter().any(|o| o.external_id == m.external_id) {
            let field = format!("messages[{i}].externalId");
            return Err(FieldError::new(
                &field,
                format!("`{field}` appears twice in `messages`"),
            ));
        }
    }
    Ok(())
}

/// A conversation: `subject` and `messages` are required (POST and PUT alike), `traits` and
/// `externalUrl` optional.
pub fn conversation_fields(body: &Body) -> ApiResult<ConversationFields> {
    let value = Value::Object(body.0.clone());
    let object = Object::of(&value, "")?;
    let messages = object.list("messages", true, message)?;
    distinct(&messages)?;
    Ok(ConversationFields {
        subject: Some(object.required_string("subject")?),
        traits: body.traits("traits")?,
        external_url: body
            .0
            .contains_key("externalUrl")
            .then(|| object.string("externalUrl"))
            .transpose()?,
        messages: Some(messages),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Body {
        Body(v.as_object().unwrap().clone())
    }

    fn field_of(v: Value) -> String {
        conversation_fields(&body(v))
            .unwrap_err()
            .field
            .unwrap_or_default()
    }

    #[test]
    fn errors_name_the_path_of_the_value_at_fault() {
        let ok = json!({"externalId": "m1", "message": "<p>hi</p>", "from": {"type": "user", "id": "u1"}, "to": []});
        let with = |patch: Value| {
            let mut m = ok.clone();
            for (k, v) in patch.as_object().unwrap() {
                m[k] = v.clone();
            }
            json!({"subject": "S", "messages": [ok.clone(), m]})
        };
        assert_eq!(field_of(json!({"messages": []})), "subject");
        assert_eq!(field_of(json!({"subject": 3, "messages": []})), "subject");
        assert_eq!(field_of(json!({"subject": "S"})), "messages");
        assert_eq!(
            field_of(json!({"subject": "S", "messages": {}})),
            "messages"
        );
        assert_eq!(
            field_of(json!({"subject": "S", "messages": [1]})),
            "messages[0]"
        );
        assert_eq!(
            field_of(with(json!({"externalId": null}))),
            "messages[1].externalId"
        );
        assert_eq!(field_of(with(json!({"message": 5}))), "messages[1].message");
        assert_eq!(field_of(with(json!({"from": "u1"}))), "messages[1].from");
        assert_eq!(
            field_of(with(json!({"from": {"id": "u1"}}))),
            "messages[1].from.type"
        );
        assert_eq!(
            field_of(with(json!({"to": [{"type": "bot", "id": "x"}]}))),
            "messages[1].to[0].type"
        );
        assert_eq!(
            field_of(with(json!({"cc": [{"type": "user"}]}))),
            "messages[1].cc[0].id"
        );
        assert_eq!(
            field_of(with(json!({"timestamp": "soon"}))),
            "messages[1].timestamp"
        );
        assert_eq!(
            field_of(with(json!({}))),
            "messages[1].externalId",
            "listed twice"
        );
        let fields = conversation_fields(&body(with(
            json!({"externalId": "m2", "timestamp": "2026-01-02"}),
        )))
        .unwrap();
        let messages = fields.messages.unwrap();
        assert_eq!(messages[1].timestamp, Some(Millis(1_767_312_000_000)));
        assert_eq!(messages[1].from.field, "messages[1].from.id");
    }

    #[test]
    fn a_message_alone_names_fields_from_the_top() {
        let e = message_body(&body(
            json!({"externalId": "m", "message": "x", "from": {"type": "admin", "id": "a@b.c"}}),
        ))
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("to"));
        let m = message_body(&body(json!({"externalId": 7, "message": "x", "from": {"type": "admin", "id": "a@b.c"}, "to": [{"type": "user", "id": 12}]})))
            .unwrap();
        assert_eq!(
            (m.external_id.as_str(), m.to[0].field.as_str()),
            ("7", "to[0].id")
        );
    }
}
