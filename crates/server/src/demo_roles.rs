//! Key roles and owners of the demo workspace: a small CS team (two CSMs, an account
//! executive, an implementation specialist), assigned the ways a real workspace would
//! assign them: by hand on the big customers, by trait mapping on the long tail (each
//! startup's `csmEmail` and `ownerId` traits), with each startup's first user as its owner.

use serde_json::json;
use steward_engine::RoleKey;
use steward_engine::domain::{Email, ExternalId, RecordName, TraitPatch};
use steward_engine::ids::{AdminId, WorkspaceId};
use steward_store::assign::{AdminRef, AssignmentWrite, ConfigWrite, KeyRoleWrite, OwnerWrite};
use steward_store::write::{AccountFields, OrganizationFields, RecordRef, Write, Written};

use crate::app::AppState;
use crate::config::cache::ROLES;
use crate::config::roles::RolesConfig;

const TEAM: [(&str, &str); 4] = [
    ("Sam Rivera", "sam.rivera@steward.example"),
    ("Priya Nair", "priya.nair@steward.example"),
    ("Dana Whitfield", "dana.whitfield@steward.example"),
    ("Jonas Berg", "jonas.berg@steward.example"),
];

fn email(raw: &str) -> Email {
    Email::parse("email", raw).expect("demo e-mail")
}

fn role(key: &str, admin: AdminId) -> KeyRoleWrite {
    KeyRoleWrite {
        role: RoleKey::parse("role", key).expect("demo role"),
        admin: Some(AdminRef::Id(admin)),
        field: "keyRoles".to_owned(),
    }
}

async fn write(state: &AppState, ws: WorkspaceId, w: Write) -> anyhow::Result<Written> {
    let w = crate::assign::prepare(state, ws, w)
        .await
        .map_err(|e| anyhow::anyhow!("demo roles: {}", e.message))?;
    let outcome = state
        .writer
        .write(ws, w)
        .await
        .map_err(|e| anyhow::anyhow!("demo roles: {}", e.message))?;
    Ok(outcome.written)
}

/// A team member by e-mail, created when missing (loading the demo again finds them).
async fn member(
    state: &AppState,
    ws: WorkspaceId,
    name: &str,
    address: &str,
) -> anyhow::Result<AdminId> {
    let address = email(address);
    if let Some(row) = state
        .store
        .admin_by_email(ws, &address.normalized())
        .await?
    {
        return Ok(row.id);
    }
    let w = Write::CreateAdmin {
        name: RecordName::parse("name", name).expect("demo name"),
        email: address,
        license_status: "active".to_owned(),
    };
    match write(state, ws, w).await? {
        Written::Admin(row) => Ok(row.id),
        other => anyhow::bail!("demo roles: unexpected {other:?}"),
    }
}

fn assign(target: Write, key_roles: Vec<KeyRoleWrite>, owner: Option<&str>) -> Write {
    Write::Assign {
        write: Box::new(target),
        assign: AssignmentWrite {
            key_roles,
            owner: owner.map(|u| OwnerWrite {
                user: Some(RecordRef(u.to_owned())),
                create_missing: false,
                field: "owner".to_owned(),
            }),
        },
    }
}

fn update_account(id: &str, traits: serde_json::Value) -> Write {
    Write::UpdateAccount {
        target: RecordRef(id.to_owned()),
        fields: AccountFields {
            traits: TraitPatch::from_json("traits", &traits).expect("demo traits"),
            ..AccountFields::default()
        },
    }
}

fn update_org(id: &str) -> Write {
    Write::UpdateOrganization {
        target: RecordRef(id.to_owned()),
        fields: OrganizationFields::default(),
    }
}

pub async fn load(state: &AppState, ws: WorkspaceId) -> anyhow::Result<()> {
    let roles: RolesConfig = serde_json::from_value(json!({
        "keyRoles": [{"key": "implementation", "label": "Implementation Specialist"}],
        "keyRoleTraits": [{"role": "csm", "model": "accounts", "trait": "csmEmail"}],
        "ownerTraits": {"accounts": "ownerId"}
    }))?;
    roles
        .validate()
        .map_err(|e| anyhow::anyhow!("demo roles: {e:?}"))?;
    let value = serde_json::to_value(&roles)?;
    let keys = vec![RoleKey::parse("key", "implementation").expect("demo role")];
    write(
        state,
        ws,
        Write::Config(ConfigWrite::PutRoles {
            name: ROLES.to_owned(),
            value,
            roles: keys,
        }),
    )
    .await?;
    state.config.forget(ws);

    let mut team = Vec::new();
    for (name, address) in TEAM {
        team.push(member(state, ws, name, address).await?);
    }
    let [sam, priya, dana, jonas] = [team[0], team[1], team[2], team[3]];

    // The big customers, by hand: the district and Globex at both levels.
    write(
        state,
        ws,
        assign(
            update_org("district-springfield"),
            vec![role("csm", priya), role("accountExecutive", dana)],
            Some("district-superintendent-1"),
        ),
    )
    .await?;
    for i in 1..=6 {
        let school = format!("school-{i}");
        let owner = format!("{school}-teacher-0");
        write(
            state,
            ws,
            assign(
                update_account(&school, json!({})),
                vec![role("csm", priya)],
                Some(&owner),
            ),
        )
        .await?;
    }
    write(
        state,
        ws,
        assign(
            update_org("globex"),
            vec![
                role("csm", sam),
                role("accountExecutive", dana),
                role("implementation", jonas),
            ],
            Some("globex-vp-1"),
        ),
    )
    .await?;
    for region in ["us", "emea", "apac", "latam"] {
        let id = format!("globex-{region}");
        write(
            state,
            ws,
            assign(
                update_account(&id, json!({})),
                vec![role("csm", sam), role("accountExecutive", dana)],
                None,
            ),
        )
        .await?;
    }
    write(
        state,
        ws,
        assign(
            update_org("initech"),
            vec![role("accountExecutive", dana)],
            None,
        ),
    )
    .await?;

    // The long tail, by trait mapping: alternate CSMs; each startup's first user owns it.
    for i in 0..20 {
        let id = format!("acct-{}", 100 + i);
        let csm = if i % 2 == 0 { TEAM[0].1 } else { TEAM[1].1 };
        let owner = format!("{id}-user-0");
        ExternalId::parse("ownerId", &owner).expect("demo id");
        write(
            state,
            ws,
            update_account(&id, json!({"csmEmail": csm, "ownerId": owner})),
        )
        .await?;
    }
    Ok(())
}
