//! The REST members that assign key roles and owners on accounts and organizations:
//!
//! - `keyRoles: [{"keyRole": "csm", "vitallyUser": "<team member id>" | null}]`: each listed
//!   role is given (or, with `null`, vacated); roles not listed are kept;
//! - `csmId`, `accountExecutiveId`: shorthands for the two built-in roles;
//! - `accountOwnerId` / `organizationOwnerId`: a user's id or external id; `null` removes.

use serde_json::Value;
use steward_engine::RoleKey;
use steward_engine::domain::FieldError;
use steward_engine::ids::AdminId;
use steward_store::assign::{AdminRef, AssignmentWrite, KeyRoleWrite, OwnerWrite};
use steward_store::write::Write;

use crate::error::ApiResult;
use crate::extract::{Body, Member};

/// `write` wrapped with the assignments `body` asks for (unchanged when it asks for none).
pub fn wrap(write: Write, body: &Body, owner_field: &str) -> ApiResult<Write> {
    let assign = parse(body, owner_field)?;
    Ok(if assign.is_empty() {
        write
    } else {
        Write::Assign {
            write: Box::new(write),
            assign,
        }
    })
}

pub fn parse(body: &Body, owner_field: &str) -> ApiResult<AssignmentWrite> {
    let mut out = AssignmentWrite::default();
    match body.0.get("keyRoles") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("keyRoles[{i}]");
                let Value::Object(item) = item else {
                    return Err(FieldError::new(
                        &path,
                        format!("`{path}` must be an object with `keyRole` and `vitallyUser`"),
                    )
                    .into());
                };
                let role_path = format!("{path}.keyRole");
                let role = match item.get("keyRole") {
                    Some(Value::String(s)) => RoleKey::parse(&role_path, s)?,
                    None | Some(Value::Null) => return Err(FieldError::missing(&role_path).into()),
                    Some(_) => {
                        return Err(FieldError::new(
                            &role_path,
                            format!("`{role_path}` must be a role key"),
                        )
                        .into());
                    }
                };
                let user_path = format!("{path}.vitallyUser");
                if !item.contains_key("vitallyUser") {
                    return Err(FieldError::new(
                        &user_path,
                        format!("`{user_path}` is required (null vacates the role)"),
                    )
                    .into());
                }
                let admin = admin_id(&user_path, &item["vitallyUser"])?;
                out.key_roles.push(KeyRoleWrite {
                    role,
                    admin: admin.map(AdminRef::Id),
                    field: user_path,
                });
            }
        }
        Some(_) => {
            return Err(FieldError::new(
                "keyRoles",
                "`keyRoles` must be an array of {keyRole, vitallyUser}",
            )
            .into());
        }
    }
    for (field, role) in [
        ("csmId", RoleKey::csm()),
        ("accountExecutiveId", RoleKey::account_executive()),
    ] {
        if let Some(value) = body.0.get(field) {
            let admin = admin_id(field, value)?;
            out.key_roles.push(KeyRoleWrite {
                role,
                admin: admin.map(AdminRef::Id),
                field: field.to_owned(),
            });
        }
    }
    match body.record_ref(owner_field)? {
        Member::Absent => {}
        Member::Null => {
            out.owner = Some(OwnerWrite {
                user: None,
                create_missing: false,
                field: owner_field.to_owned(),
            })
        }
        Member::Set(user) => {
            out.owner = Some(OwnerWrite {
                user: Some(user),
                create_missing: false,
                field: owner_field.to_owned(),
            })
        }
    }
    Ok(out)
}

/// A team member id (`"<uuid>"` or `{"id": "<uuid>"}`, as rendered), or `null`.
fn admin_id(field: &str, value: &Value) -> ApiResult<Option<AdminId>> {
    let raw = match value {
        Value::Null => return Ok(None),
        Value::String(s) => s.as_str(),
        Value::Object(o) => match o.get("id") {
            Some(Value::String(s)) => s.as_str(),
            _ => {
                return Err(
                    FieldError::new(field, format!("`{field}` must be a team member id")).into(),
                );
            }
        },
        _ => {
            return Err(
                FieldError::new(field, format!("`{field}` must be a team member id")).into(),
            );
        }
    };
    raw.parse::<AdminId>().map(Some).map_err(|_| {
        FieldError::new(
            field,
            format!("`{field}` must be a team member id (a UUID), not {raw:?}"),
        )
        .into()
    })
}
