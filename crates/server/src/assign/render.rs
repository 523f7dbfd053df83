//! The members accounts and organizations carry about who is responsible for them:
//! `keyRoles` (`[{"keyRole": "csm", "vitallyUser": "<team member id>"}]`, sorted by role),
//! the legacy `csmId` and `accountExecutiveId`, and the owner (`accountOwnerId` or
//! `organizationOwnerId`, a user id). All come from the engine: no query.

use serde_json::{Value, json};
use steward_engine::{Assignments, Customer, RoleKey};

pub fn add(
    object: &mut Value,
    assignments: Option<&Assignments>,
    customer: Customer,
    owner_field: &str,
) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    let roles = assignments
        .map(|a| a.key_roles.of(customer))
        .unwrap_or_default();
    let holder = |key: &str| {
        roles
            .iter()
            .find(|(r, _)| r.as_str() == key)
            .map_or(Value::Null, |(_, a)| json!(a))
    };
    map.insert("csmId".into(), holder(RoleKey::CSM));
    map.insert(
        "accountExecutiveId".into(),
        holder(RoleKey::ACCOUNT_EXECUTIVE),
    );
    map.insert(
        "keyRoles".into(),
        roles
            .iter()
            .map(|(r, a)| json!({"keyRole": r.as_str(), "vitallyUser": a}))
            .collect(),
    );
    let owner = assignments.and_then(|a| a.owners.of(customer));
    map.insert(owner_field.into(), json!(owner));
}
