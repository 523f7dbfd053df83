//! Trait mappings: when a write sets a mapped trait, the key role or owner follows it.
//!
//! - a key-role trait holds a team member's e-mail: an e-mail assigns the role (an unknown
//!   one creates a placeholder team member), `null` or `""` vacates it;
//! - an owner trait holds the owning user's external id: an id sets the owner (an unknown
//!   user is created, as ingestion creates the records it references), `null` or `""`
//!   removes it.
//!
//! A value that is neither (a number where an e-mail belongs, a malformed e-mail) leaves the
//! assignment as it was: a stray value should not silently take a customer from its CSM.

use serde_json::Value;
use steward_engine::RoleKey;
use steward_engine::domain::{Email, ExternalId, TraitPatch};
use steward_store::assign::{AdminRef, AssignmentWrite, KeyRoleWrite, OwnerWrite};
use steward_store::write::{IngestAction, RecordRef, Write};

use crate::config::roles::{Model, RolesConfig};

/// Whether a write could carry assignments (so the configuration is worth loading).
pub fn may_assign(write: &Write) -> bool {
    match write {
        Write::Assign { .. } | Write::Ingest(_) => true,
        other => target(other).is_some(),
    }
}

/// The model and traits of an organization or account write.
fn target(write: &Write) -> Option<(Model, &TraitPatch)> {
    match write {
        Write::UpsertOrganization { fields, .. } | Write::UpdateOrganization { fields, .. } => {
            Some((Model::Organizations, &fields.traits))
        }
        Write::UpsertAccount { fields, .. } | Write::UpdateAccount { fields, .. } => {
            Some((Model::Accounts, &fields.traits))
        }
        _ => None,
    }
}

/// `write` with the assignments its traits imply; explicit ones (REST members) win over
/// mapped ones for the same role or owner.
pub fn apply(config: &RolesConfig, write: Write) -> Write {
    match write {
        Write::Ingest(mut ops) => {
            for op in &mut ops {
                for action in &mut op.actions {
                    if let IngestAction::Record(w) = action {
                        let inner = std::mem::replace(w, Write::Ingest(Vec::new()));
                        *w = apply(config, inner);
                    }
                }
            }
            Write::Ingest(ops)
        }
        Write::Assign { write, assign } => {
            let mut mapped = mapped(config, &write);
            // Later key-role writes win in storage; an explicit owner replaces a mapped one.
            mapped.key_roles.extend(assign.key_roles);
            if assign.owner.is_some() {
                mapped.owner = assign.owner;
            }
            Write::Assign {
                write,
                assign: mapped,
            }
        }
        other => {
            let mapped = mapped(config, &other);
            if mapped.is_empty() {
                other
            } else {
                Write::Assign {
                    write: Box::new(other),
                    assign: mapped,
                }
            }
        }
    }
}

fn blank(value: &Value) -> bool {
    value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty())
}

fn mapped(config: &RolesConfig, write: &Write) -> AssignmentWrite {
    let mut out = AssignmentWrite::default();
    let Some((model, traits)) = target(write) else {
        return out;
    };
    if traits.is_empty() {
        return out;
    }
    let value_of = |key: &str| {
        traits
            .entries()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    };
    for mapping in config.key_role_traits.iter().filter(|m| m.model == model) {
        let Some(value) = value_of(&mapping.trait_key) else {
            continue;
        };
        let Ok(role) = RoleKey::parse("role", &mapping.role) else {
            continue;
        };
        let field = format!("traits.{}", mapping.trait_key);
        let admin = if blank(value) {
            None
        } else {
            match value.as_str().map(|s| Email::parse(&field, s.trim())) {
                Some(Ok(email)) => Some(AdminRef::Email(email)),
                _ => continue,
            }
        };
        out.key_roles.push(KeyRoleWrite { role, admin, field });
    }
    if let Some(key) = config.owner_trait(model)
        && let Some(value) = value_of(key)
    {
        let field = format!("traits.{key}");
        let user = if blank(value) {
            Some(None)
        } else {
            ExternalId::from_json(&field, value)
                .ok()
                .map(|e| Some(RecordRef(e.into_string())))
        };
        if let Some(user) = user {
            out.owner = Some(OwnerWrite {
                user,
                create_missing: true,
                field,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use steward_engine::domain::ExternalId;
    use steward_store::write::AccountFields;

    fn config() -> RolesConfig {
        serde_json::from_value(json!({
            "keyRoleTraits": [
                {"role": "csm", "model": "accounts", "trait": "csmEmail"},
                {"role": "accountExecutive", "model": "organizations", "trait": "aeEmail"}
            ],
            "ownerTraits": {"accounts": "ownerId"}
        }))
        .unwrap()
    }

    fn account(traits: Value) -> Write {
        Write::UpsertAccount {
            external_id: ExternalId::parse("externalId", "a1").unwrap(),
            fields: AccountFields {
                traits: TraitPatch::from_json("traits", &traits).unwrap(),
                ..AccountFields::default()
            },
        }
    }

    fn assignments(w: &Write) -> Option<&AssignmentWrite> {
        match w {
            Write::Assign { assign, .. } => Some(assign),
            _ => None,
        }
    }

    #[test]
    fn mapped_traits_become_assignments() {
        let w = apply(
            &config(),
            account(json!({"csmEmail": "Ann@Vendor.io", "ownerId": 42, "aeEmail": "x@y.z"})),
        );
        let a = assignments(&w).expect("wrapped");
        assert_eq!(
            a.key_roles.len(),
            1,
            "aeEmail is mapped on organizations only"
        );
        assert_eq!(a.key_roles[0].role.as_str(), "csm");
        assert!(
            matches!(&a.key_roles[0].admin, Some(AdminRef::Email(e)) if e.as_str() == "Ann@Vendor.io")
        );
        let owner = a.owner.as_ref().unwrap();
        assert_eq!(owner.user, Some(RecordRef("42".into())));
        assert!(owner.create_missing);
    }

    #[test]
    fn blank_values_vacate_and_malformed_ones_are_ignored() {
        let w = apply(&config(), account(json!({"csmEmail": null, "ownerId": ""})));
        let a = assignments(&w).unwrap();
        assert_eq!(a.key_roles[0].admin, None);
        assert_eq!(a.owner.as_ref().unwrap().user, None);
        let w = apply(
            &config(),
            account(json!({"csmEmail": "not an e-mail", "ownerId": {"x": 1}})),
        );
        assert!(assignments(&w).is_none(), "{w:?}");
        let w = apply(&config(), account(json!({"plan": "pro"})));
        assert!(assignments(&w).is_none());
    }

    #[test]
    fn explicit_assignments_win() {
        let explicit = AssignmentWrite {
            key_roles: vec![KeyRoleWrite {
                role: RoleKey::csm(),
                admin: None,
                field: "csmId".into(),
            }],
            owner: Some(OwnerWrite {
                user: None,
                create_missing: false,
                field: "accountOwnerId".into(),
            }),
        };
        let w = apply(
            &config(),
            Write::Assign {
                write: Box::new(account(json!({"csmEmail": "a@b.c", "ownerId": "u1"}))),
                assign: explicit,
            },
        );
        let a = assignments(&w).unwrap();
        assert_eq!(
            a.key_roles.last().unwrap().field,
            "csmId",
            "applied last, so it wins"
        );
        assert_eq!(a.owner.as_ref().unwrap().field, "accountOwnerId");
    }
}
