//! The common Segment message read straight from the request text.
//!
//! Most of what a tracking endpoint receives is `track`, `page` and `screen` messages with a
//! `messageId`. Building a JSON tree for each (and copying its `properties` twice more on the
//! way to the log) cost more than everything storage does with the event, so these are read
//! into a borrowed struct, their `properties` kept as the text they arrived as.
//!
//! The fast path only ever **accepts**: anything it does not recognise or would refuse (another
//! type, a missing `messageId`, a field of the wrong type, a bad timestamp) goes to the general
//! reader (`segment.rs`), which maps it or names the field at fault. Both give the same
//! operation for the messages the fast path takes; `tests/api/ingest.rs` checks that.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use steward_engine::domain::ExternalId;
use steward_engine::time::Millis;
use steward_store::write::{EventKind, IngestOp, Properties};

use crate::extract::parse_instant;

#[derive(Deserialize)]
struct EventMessage<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(rename = "userId", borrow)]
    user_id: Option<&'a RawValue>,
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(rename = "messageId", borrow)]
    message_id: Option<&'a RawValue>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    properties: Option<&'a RawValue>,
    #[serde(borrow)]
    context: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Context<'a> {
    #[serde(rename = "groupId", borrow)]
    group_id: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct AccountProperty<'a> {
    #[serde(rename = "accountId", borrow)]
    account_id: Option<&'a RawValue>,
}

/// The operation for one batch message, when the fast path can read it.
pub(super) fn event_message(raw: &RawValue, received: Millis) -> Option<IngestOp> {
    // serde reads a struct from an array too: only objects are messages.
    let msg: EventMessage<'_> = object(raw)?;
    let (kind, name) = match &*msg.kind {
        "track" => (EventKind::Track, event_name(msg.event?)?),
        "page" => (EventKind::Page, plain_string(msg.name)?),
        "screen" => (EventKind::Screen, plain_string(msg.name)?),
        _ => return None,
    };
    let message_id = message_id(msg.message_id?)?;
    let at = match msg.timestamp {
        None => received,
        Some(t) => parse_instant(&t)?,
    };
    let user = optional_id(msg.user_id)?;
    let properties = match msg.properties {
        None => None,
        Some(p) if p.get().starts_with('{') => Some(p),
        Some(_) => return None,
    };
    let group = match msg.context {
        None => None,
        Some(context) => optional_id(object::<Context<'_>>(context)?.group_id)?,
    };
    let account = match (group, properties) {
        (Some(group), _) => Some(group),
        (None, Some(p)) => optional_id(object::<AccountProperty<'_>>(p)?.account_id)?,
        (None, None) => None,
    };
    let properties = properties.map_or_else(Properties::empty, Properties::from_raw);
    let action = super::message::event_action(kind, name, user, account, at, properties);
    Some(IngestOp {
        message_id: message_id.into(),
        actions: vec![action],
    })
}

/// `raw` read as `T`, when it is a JSON object that `T` can read.
fn object<'a, T: Deserialize<'a>>(raw: &'a RawValue) -> Option<T> {
    let text = raw.get();
    if !text.starts_with('{') {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// `event`: a non-empty string without NUL.
fn event_name(event: Cow<'_, str>) -> Option<String> {
    (!event.trim().is_empty() && !event.contains('\0')).then(|| event.into_owned())
}

/// An optional string without NUL (absent: empty).
fn plain_string(value: Option<Cow<'_, str>>) -> Option<String> {
    match value {
        None => Some(String::new()),
        Some(s) if !s.contains('\0') => Some(s.into_owned()),
        Some(_) => None,
    }
}

/// `messageId` as the general reader keys it: `m:` and the string, or the number.
fn message_id(raw: &RawValue) -> Option<String> {
    let text = raw.get();
    if text.starts_with('"') {
        let s = json_string(text)?;
        (!s.is_empty() && s.len() <= 255).then(|| format!("m:{s}"))
    } else {
        let n: serde_json::Number = serde_json::from_str(text).ok()?;
        Some(format!("m:{n}"))
    }
}

/// An id field that may be absent or null: `Some(None)`; a valid id: `Some(Some(id))`;
/// anything else: `None` (the general reader says what is wrong).
fn optional_id(raw: Option<&RawValue>) -> Option<Option<ExternalId>> {
    let Some(raw) = raw else { return Some(None) };
    let text = raw.get();
    let id = if text.starts_with('"') {
        ExternalId::parse("", &json_string(text)?).ok()?
    } else {
        let n: serde_json::Number = serde_json::from_str(text).ok()?;
        if !(n.is_i64() || n.is_u64()) {
            return None;
        }
        ExternalId::parse("", &n.to_string()).ok()?
    };
    Some(Some(id))
}

/// A JSON string literal's value, borrowed when it has no escapes.
fn json_string(text: &str) -> Option<Cow<'_, str>> {
    match serde_json::from_str::<&str>(text) {
        Ok(s) => Some(Cow::Borrowed(s)),
        Err(_) => serde_json::from_str::<String>(text).ok().map(Cow::Owned),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};
    use steward_store::write::{IngestAction, IngestOp, Properties};

    use super::*;

    const RECEIVED: Millis = Millis(1_700_000_000_000);

    /// The operation with its properties in one canonical text (the fast path keeps them as
    /// sent, the general reader writes them out compactly).
    fn canonical(mut op: IngestOp) -> IngestOp {
        for action in &mut op.actions {
            if let IngestAction::Event(e) = action {
                e.properties = Properties::from_map(&e.properties.to_map());
            }
        }
        op
    }

    /// Whatever the fast path accepts, the general reader maps to the same operation; what
    /// the general reader refuses, the fast path leaves to it.
    fn agree(message: &str) {
        let raw: Box<RawValue> = serde_json::from_str(message).unwrap();
        let value: Value = serde_json::from_str(message).unwrap();
        let general = super::super::segment::message(&value, "batch[0]".into(), None, RECEIVED);
        match (event_message(&raw, RECEIVED), general) {
            (Some(fast), Ok(general)) => {
                assert_eq!(canonical(fast), canonical(general), "{message}")
            }
            (Some(fast), Err(e)) => panic!("{message}: fast {fast:?}, general refuses: {e:?}"),
            (None, _) => {}
        }
    }

    #[test]
    fn the_common_messages_take_the_fast_path_and_agree() {
        let messages = [
            json!({"type": "track", "userId": "u1", "event": "Login", "messageId": "m1",
                   "timestamp": "2026-11-01T10:00:00.000Z", "properties": {"b": 1, "a": [1, {"x": null}]},
                   "context": {"groupId": "acct-1", "ip": "1.2.3.4"}}),
            json!({"type": "track", "userId": 42, "event": "Login", "messageId": 7}),
            json!({"type": "track", "userId": "u1", "event": "Login", "messageId": "m",
                   "properties": {"accountId": "a9"}}),
            json!({"type": "track", "userId": "u1", "event": "Login", "messageId": "m",
                   "properties": {"accountId": null}, "context": {"groupId": null}}),
            json!({"type": "track", "event": "Login", "messageId": "m", "context": {"groupId": "a"}}),
            json!({"type": "track", "event": "Login", "messageId": "anonymous"}),
            json!({"type": "page", "userId": "u1", "messageId": "p", "name": "Home"}),
            json!({"type": "screen", "userId": "u1", "messageId": "s"}),
            json!({"type": "track", "userId": "u\"1\\u00e9", "event": "Log\\nin", "messageId": "e\"x",
                   "properties": null, "context": null, "timestamp": null}),
        ];
        for m in messages {
            let text = m.to_string();
            let raw: Box<RawValue> = serde_json::from_str(&text).unwrap();
            assert!(event_message(&raw, RECEIVED).is_some(), "{text}");
            agree(&text);
        }
    }

    #[test]
    fn what_the_fast_path_cannot_read_is_left_to_the_general_reader() {
        for text in [
            r#"["track", "u1"]"#,
            r#"{"type": "identify", "userId": "u1", "messageId": "m"}"#,
            r#"{"type": "track", "userId": "u1", "event": "Login"}"#,
            r#"{"type": "track", "userId": "u1", "event": "", "messageId": "m"}"#,
            r#"{"type": "track", "userId": 1.5, "event": "x", "messageId": "m"}"#,
            r#"{"type": "track", "userId": "u1", "event": "x", "messageId": "m", "context": ["g"]}"#,
            r#"{"type": "track", "userId": "u1", "event": "x", "messageId": "m", "properties": [1]}"#,
            r#"{"type": "track", "userId": "u1", "event": "x", "messageId": "m", "timestamp": "soon"}"#,
            r#"{"type": "track", "userId": "u1", "event": "x", "messageId": "m", "userId": "u2"}"#,
            r#"{"type": "track", "userId": " u1", "event": "x", "messageId": "m"}"#,
        ] {
            let raw: Box<RawValue> = serde_json::from_str(text).unwrap();
            assert!(event_message(&raw, RECEIVED).is_none(), "{text}");
        }
    }

    /// A JSON value for one field: usually a plausible one, sometimes of a wrong type.
    fn field(
        plausible: impl Strategy<Value = Value> + 'static,
    ) -> impl Strategy<Value = Option<Value>> {
        let wrong = prop_oneof![
            Just(Value::Null),
            Just(json!(1.5)),
            Just(json!(-3)),
            Just(json!(true)),
            Just(json!([])),
            Just(json!({})),
            Just(json!("")),
            Just(json!(" x")),
            Just(json!("a\u{0}b")),
        ];
        prop_oneof![
            2 => Just(None),
            6 => plausible.prop_map(Some),
            2 => wrong.prop_map(Some),
        ]
    }

    fn word() -> impl Strategy<Value = Value> {
        "[a-z0-9\"\\\\ é]{1,6}".prop_map(Value::String)
    }

    fn message() -> impl Strategy<Value = Value> {
        let kind = prop_oneof![
            Just(json!("track")),
            Just(json!("page")),
            Just(json!("screen")),
            Just(json!("identify")),
        ];
        let properties = prop_oneof![
            Just(json!({"plan": "pro", "n": 1})),
            word().prop_map(|w| json!({"accountId": w})),
            Just(json!({"accountId": 12})),
            Just(json!({"accountId": null})),
        ];
        let context = prop_oneof![
            word().prop_map(|w| json!({"groupId": w})),
            Just(json!({"groupId": 99})),
            Just(json!({"traits": {"a": 1}})),
        ];
        let timestamp = prop_oneof![
            Just(json!("2026-11-01T10:00:00Z")),
            Just(json!("2026-11-01T10:00:00.123+02:00")),
        ];
        (
            field(kind),
            field(word()),
            field(word()),
            field(word()),
            field(prop_oneof![word(), Just(json!(5))]),
            field(timestamp),
            field(properties),
            field(context),
        )
            .prop_map(
                |(kind, user, event, name, id, timestamp, properties, context)| {
                    let mut m = serde_json::Map::new();
                    for (key, value) in [
                        ("type", kind),
                        ("userId", user),
                        ("event", event),
                        ("name", name),
                        ("messageId", id),
                        ("timestamp", timestamp),
                        ("properties", properties),
                        ("context", context),
                    ] {
                        if let Some(value) = value {
                            m.insert(key.to_owned(), value);
                        }
                    }
                    Value::Object(m)
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        #[test]
        fn the_fast_path_agrees_with_the_general_reader(m in message()) {
            agree(&m.to_string());
        }
    }
}
