//! Segment's tracking API (`/v1/batch`, `/v1/identify`, ...), mapped as Vitally's Segment
//! destination does: `group` upserts an account and links the user, `identify` upserts a user,
//! `track` records an event; `page` and `screen` are user activity; `alias` is accepted.

use serde_json::Value;
use steward_engine::time::Millis;
use steward_store::write::{
    AccountFields, EventKind, IngestAction, IngestOp, MissingParent, Properties, RecordRef,
    UserFields, Write,
};

use super::message::{Msg, Opened, event_action, invalid, open, record_traits, user_traits};
use crate::error::ApiError;

/// Maps one Segment message; `kind` is the endpoint's type for single-message calls.
pub fn message(
    value: &Value,
    path: String,
    kind: Option<&str>,
    received: Millis,
) -> Result<IngestOp, ApiError> {
    let Opened {
        msg,
        kind,
        message_id,
        at,
    } = open(value, path, kind, received)?;
    let user = msg.optional_id("userId")?;
    let actions = match kind.as_str() {
        "identify" => identify(&msg, user)?,
        "group" => group(&msg, user)?,
        "track" => {
            let name = msg.required_string("event")?;
            event(&msg, user, EventKind::Track, name, at)?
        }
        "page" | "screen" => {
            let name = msg.optional_string("name")?.unwrap_or_default();
            event(
                &msg,
                user,
                if kind == "page" {
                    EventKind::Page
                } else {
                    EventKind::Screen
                },
                name,
                at,
            )?
        }
        "alias" => vec![IngestAction::Ignore],
        other => {
            return Err(invalid(
                &msg.field_path("type"),
                &format!("is {other:?}; expected identify, group, track, page, screen or alias"),
            ));
        }
    };
    Ok(IngestOp {
        message_id: message_id.into(),
        actions,
    })
}

/// Anonymous messages (no `userId`) are accepted but not tracked: Steward's records are keyed
/// by your ids.
fn identify(
    msg: &Msg<'_>,
    user: Option<steward_engine::domain::ExternalId>,
) -> Result<Vec<IngestAction>, ApiError> {
    let Some(user) = user else {
        return Ok(vec![IngestAction::Ignore]);
    };
    // Top-level traits, else context.traits (Segment's libraries put them in either).
    let (field, mut traits) = if msg.get("traits").is_some() {
        ("traits", msg.object("traits")?)
    } else {
        let context = msg.object("context")?;
        match context.get("traits") {
            Some(Value::Object(t)) => ("context.traits", t.clone()),
            _ => ("traits", serde_json::Map::new()),
        }
    };
    let mut fields = UserFields {
        missing_parent: MissingParent::Create,
        ..UserFields::default()
    };
    // traits.company = {id, remove: true} unlinks the user from that account.
    if let Some(Value::Object(company)) = traits.get("company")
        && company.get("remove") == Some(&Value::Bool(true))
    {
        let id = company.get("id").ok_or_else(|| {
            invalid(
                &msg.field_path(&format!("{field}.company.id")),
                "is required to remove a company",
            )
        })?;
        let id = steward_engine::domain::ExternalId::from_json(
            &msg.field_path(&format!("{field}.company.id")),
            id,
        )?;
        fields.remove_accounts.push(RecordRef(id.into_string()));
        traits.remove("company");
    }
    user_traits(msg, field, traits, &mut fields)?;
    Ok(vec![IngestAction::Record(Write::UpsertUser {
        external_id: user,
        fields,
    })])
}

fn group(
    msg: &Msg<'_>,
    user: Option<steward_engine::domain::ExternalId>,
) -> Result<Vec<IngestAction>, ApiError> {
    let account = msg.required_id("groupId")?;
    let (name, traits) = record_traits(msg, "traits", msg.object("traits")?)?;
    let mut actions = vec![IngestAction::Record(Write::UpsertAccount {
        external_id: account.clone(),
        fields: AccountFields {
            name,
            traits,
            missing_parent: MissingParent::Create,
            ..AccountFields::default()
        },
    })];
    if let Some(user) = user {
        actions.push(IngestAction::Record(Write::UpsertUser {
            external_id: user,
            fields: UserFields {
                add_accounts: vec![RecordRef(account.into_string())],
                missing_parent: MissingParent::Create,
                ..UserFields::default()
            },
        }));
    }
    Ok(actions)
}

/// The event's account: `context.groupId`, else `properties.accountId`, else (decided in
/// storage) the user's most recent account.
fn event(
    msg: &Msg<'_>,
    user: Option<steward_engine::domain::ExternalId>,
    kind: EventKind,
    name: String,
    at: Millis,
) -> Result<Vec<IngestAction>, ApiError> {
    let properties = msg.object("properties")?;
    let context = msg.object("context")?;
    let account = match (
        context.get("groupId").filter(|v| !v.is_null()),
        properties.get("accountId").filter(|v| !v.is_null()),
    ) {
        (Some(v), _) => Some(steward_engine::domain::ExternalId::from_json(
            &msg.field_path("context.groupId"),
            v,
        )?),
        (None, Some(v)) => Some(steward_engine::domain::ExternalId::from_json(
            &msg.field_path("properties.accountId"),
            v,
        )?),
        (None, None) => None,
    };
    Ok(vec![event_action(
        kind,
        name,
        user,
        account,
        at,
        Properties::from_map(&properties),
    )])
}
