//! Vitally's HTTPS analytics API (`/analytics/v1/...`).

use serde_json::Value;
use steward_engine::domain::{RecordName, TraitPatch};
use steward_engine::time::Millis;
use steward_store::write::{
    AccountFields, EventKind, EventWrite, IngestAction, IngestOp, InstanceFields, MissingParent,
    OrganizationFields, Properties, RecordRef, UserFields, Write,
};

use super::message::{Msg, Opened, invalid, open, record_traits, user_traits};
use crate::error::{ApiError, ErrorCode};

/// Maps one analytics message of type `kind`.
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
    if msg.get("timestamp").is_none() && msg.get("messageId").is_none() {
        return Err(ApiError::field(
            ErrorCode::MissingField,
            msg.field_path("messageId"),
            format!(
                "`{}` or `{}` is required",
                msg.field_path("messageId"),
                msg.field_path("timestamp")
            ),
        ));
    }
    let action = match kind.as_str() {
        "organization" => {
            let (name, traits) = record_traits(&msg, "traits", msg.object("traits")?)?;
            Write::UpsertOrganization {
                external_id: msg.required_id("organizationId")?,
                fields: OrganizationFields { name, traits },
            }
            .into_action()
        }
        "account" => {
            let (name, traits) = record_traits(&msg, "traits", msg.object("traits")?)?;
            let organization = msg
                .optional_id("organizationId")?
                .map(|o| Some(RecordRef(o.into_string())));
            Write::UpsertAccount {
                external_id: msg.required_id("accountId")?,
                fields: AccountFields {
                    name,
                    traits,
                    organization,
                    missing_parent: MissingParent::Create,
                },
            }
            .into_action()
        }
        "user" => {
            let account = msg.optional_id("accountId")?;
            let organization = msg.optional_id("organizationId")?;
            if account.is_none() && organization.is_none() {
                return Err(ApiError::field(
                    ErrorCode::MissingField,
                    msg.field_path("accountId"),
                    format!(
                        "`{}` or `{}` is required",
                        msg.field_path("accountId"),
                        msg.field_path("organizationId")
                    ),
                ));
            }
            let mut fields = UserFields {
                missing_parent: MissingParent::Create,
                ..UserFields::default()
            };
            fields
                .add_accounts
                .extend(account.map(|a| RecordRef(a.into_string())));
            fields
                .add_organizations
                .extend(organization.map(|o| RecordRef(o.into_string())));
            user_traits(&msg, "traits", msg.object("traits")?, &mut fields)?;
            Write::UpsertUser {
                external_id: msg.required_id("userId")?,
                fields,
            }
            .into_action()
        }
        "track" => {
            let event = msg.required_string("event")?;
            let user = msg.optional_id("userId")?;
            let account = msg.optional_id("accountId")?;
            let organization = msg.optional_id("organizationId")?;
            if user.is_none() && account.is_none() && organization.is_none() {
                return Err(ApiError::field(
                    ErrorCode::MissingField,
                    msg.field_path("userId"),
                    format!(
                        "one of `{}`, `accountId`, `organizationId` is required",
                        msg.field_path("userId")
                    ),
                ));
            }
            IngestAction::Event(EventWrite {
                kind: EventKind::Track,
                name: event,
                user,
                account,
                organization,
                at,
                properties: Properties::from_map(&msg.object("properties")?),
            })
        }
        "unlink" => IngestAction::Unlink {
            user: msg.required_id("userId")?,
            account: msg.required_id("accountId")?,
        },
        "customobjectinstance" => custom_object_instance(&msg)?,
        other => {
            return Err(invalid(
                &msg.field_path("type"),
                &format!(
                    "is {other:?}; expected organization, account, user, track, unlink or customobjectinstance"
                ),
            ));
        }
    };
    Ok(IngestOp {
        message_id: message_id.into(),
        actions: vec![action],
    })
}

/// Upserts the instance `externalId` of the custom object `customObjectId` (its id or name),
/// under `accountId` and/or `organizationId` (created when missing, as every parent a message
/// names). `traits` merge; `name` defaults to the externalId on creation.
fn custom_object_instance(msg: &Msg<'_>) -> Result<IngestAction, ApiError> {
    let account = msg.optional_id("accountId")?;
    let organization = msg.optional_id("organizationId")?;
    if account.is_none() && organization.is_none() {
        return Err(ApiError::field(
            ErrorCode::MissingField,
            msg.field_path("accountId"),
            format!(
                "`{}` or `{}` is required",
                msg.field_path("accountId"),
                msg.field_path("organizationId")
            ),
        ));
    }
    let name = match msg.optional_string("name")? {
        Some(n) if !n.trim().is_empty() => Some(RecordName::parse(&msg.field_path("name"), &n)?),
        _ => None,
    };
    let traits = TraitPatch::from_json(
        &msg.field_path("traits"),
        &Value::Object(msg.object("traits")?),
    )?;
    Ok(Write::UpsertCustomObjectInstance {
        object: RecordRef(msg.required_id("customObjectId")?.into_string()),
        external_id: Some(msg.required_id("externalId")?),
        fields: InstanceFields {
            name,
            traits,
            account: account.map(|a| Some(RecordRef(a.into_string()))),
            organization: organization.map(|o| Some(RecordRef(o.into_string()))),
            missing_parent: MissingParent::Create,
            account_field: "accountId",
            ..InstanceFields::default()
        },
    }
    .into_action())
}

trait IntoAction {
    fn into_action(self) -> IngestAction;
}

impl IntoAction for Write {
    fn into_action(self) -> IngestAction {
        IngestAction::Record(self)
    }
}
