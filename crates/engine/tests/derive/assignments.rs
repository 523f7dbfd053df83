//! Owner and key-role fields in rules: values follow the assignment, the owning user's data and
//! the team member's e-mail, incrementally.

use serde_json::{Map, Value, json};
use steward_engine::derive::{RecordInput, Status};
use steward_engine::ids::AdminId;
use steward_engine::metrics::{EventInput, EventKind};
use steward_engine::{AssignmentChange, Customer, GraphChange, RoleKey};
use uuid::Uuid;

use super::*;

fn member(i: u128) -> AdminId {
    AdminId(Uuid::from_u128(0x5_0000 + i))
}

fn assign(f: &mut Fixture, change: AssignmentChange) {
    f.graph(GraphChange::Assignment(change));
}

fn owner(f: &mut Fixture, account: u32, user: Option<u32>) {
    assign(
        f,
        AssignmentChange::SetOwner {
            customer: Customer::Account(acc(account)),
            user: user.map(usr),
        },
    );
}

fn fixture() -> Fixture {
    let mut f = Fixture::new(json!({
        "formulas": [
            {"model": "account", "key": "ownerEmail", "label": "", "expression": "owner.email"},
            {"model": "account", "key": "ownerJoined", "label": "", "expression": "owner.joinedAt"},
            {"model": "account", "key": "ownerSeen", "label": "", "expression": "owner.lastSeenTimestamp"},
            {"model": "account", "key": "ownerSessions", "label": "", "expression": "owner.sessions"},
            {"model": "account", "key": "csmEmail", "label": "", "expression": "keyRoles.csm.email"},
            {"model": "account", "key": "hasCsm", "label": "", "expression": "csmId is set"},
            {"model": "organization", "key": "ownedByAda", "label": "", "expression": "count(accounts where owner.email == \"ada@x.example\")"}
        ],
        "lifecycle": {
            "accounts": {"track": {"mode": "include", "condition": "keyRoles.implementation.id is set"}}
        }
    }));
    f.org(1)
        .account(1, Some(1))
        .account(2, Some(1))
        .user(1, &[1])
        .user(2, &[2]);
    f
}

#[test]
fn owner_fields_follow_the_owner_and_the_owner_s_data() {
    let mut f = fixture();
    f.set(u(1), json!({"email": "ada@x.example"}));
    assert_eq!(f.formula(a(1), "ownerEmail"), Value::Null);
    owner(&mut f, 1, Some(1));
    assert_eq!(f.formula(a(1), "ownerEmail"), json!("ada@x.example"));
    assert_eq!(f.formula(o(1), "ownedByAda"), json!(1.0));
    // The owner's own data changes: the accounts they own follow.
    f.set(u(1), json!({"email": "ada@y.example"}));
    assert_eq!(f.formula(a(1), "ownerEmail"), json!("ada@y.example"));
    assert_eq!(f.formula(o(1), "ownedByAda"), json!(0.0));
    // Usage: last seen and sessions of the owner.
    f.at(1.0);
    let event = EventInput {
        at: f.now,
        kind: EventKind::Track,
        name: "x",
        user: Some(usr(1)),
        // (Account 1 is ignored by the track rule below: its events would not count.)
        account: None,
        organization: None,
    };
    f.engine.record_event(ws(), &event);
    assert_eq!(f.formula(a(1), "ownerSeen"), json!(f.now.to_iso()));
    assert_eq!(f.formula(a(1), "ownerSessions"), json!(1.0));
    // A column passed beside the traits (users' join date).
    let traits = Map::new();
    let mut extra = Map::new();
    extra.insert("joinedAt".into(), json!("2024-01-02T00:00:00Z"));
    let out = f.engine.set_traits(
        ws(),
        RecordInput {
            record: u(1),
            name: None,
            traits: &traits,
            extra: Some(&extra),
        },
        f.now,
    );
    assert!(!out.is_empty());
    assert_eq!(
        f.formula(a(1), "ownerJoined"),
        json!("2024-01-02T00:00:00.000Z")
    );
    // Another owner, then none; deleting the owning user removes the owner.
    f.set(u(2), json!({"email": "bob@x.example"}));
    owner(&mut f, 1, Some(2));
    assert_eq!(f.formula(a(1), "ownerEmail"), json!("bob@x.example"));
    assert_eq!(f.formula(a(1), "ownerSessions"), json!(0.0));
    owner(&mut f, 1, None);
    assert_eq!(f.formula(a(1), "ownerEmail"), Value::Null);
    owner(&mut f, 2, Some(2));
    assert_eq!(f.formula(a(2), "ownerEmail"), json!("bob@x.example"));
    f.graph(GraphChange::DeleteUser { id: usr(2) });
    assert_eq!(f.formula(a(2), "ownerEmail"), Value::Null);
}

#[test]
fn key_role_fields_follow_assignments_and_team_members() {
    let mut f = fixture();
    let csm = |admin: Option<AdminId>| AssignmentChange::SetKeyRole {
        customer: Customer::Account(acc(1)),
        role: RoleKey::csm(),
        admin,
    };
    assign(
        &mut f,
        AssignmentChange::TeamMember {
            admin: member(1),
            email: "cs@team.example".into(),
        },
    );
    assert_eq!(f.formula(a(1), "hasCsm"), json!(false));
    assign(&mut f, csm(Some(member(1))));
    assert_eq!(f.formula(a(1), "csmEmail"), json!("cs@team.example"));
    assert_eq!(f.formula(a(1), "hasCsm"), json!(true));
    assign(
        &mut f,
        AssignmentChange::TeamMember {
            admin: member(1),
            email: "new@team.example".into(),
        },
    );
    assert_eq!(f.formula(a(1), "csmEmail"), json!("new@team.example"));
    assign(&mut f, AssignmentChange::ForgetAdmin { admin: member(1) });
    assert_eq!(f.formula(a(1), "csmEmail"), Value::Null);
    assert_eq!(f.formula(a(1), "hasCsm"), json!(false));

    // Lifecycle rules read custom roles too: only accounts with an implementation specialist
    // are tracked here.
    assert_eq!(f.status(a(2)), Status::Ignored);
    let implementation = RoleKey::parse("k", "implementation").unwrap();
    assign(
        &mut f,
        AssignmentChange::SetKeyRole {
            customer: Customer::Account(acc(2)),
            role: implementation.clone(),
            admin: Some(member(2)),
        },
    );
    assert_eq!(f.status(a(2)), Status::Subscribed);
    assign(
        &mut f,
        AssignmentChange::ForgetRole {
            role: implementation,
        },
    );
    assert_eq!(f.status(a(2)), Status::Ignored);
}

#[test]
fn unknown_roles_are_refused_with_a_suggestion() {
    let config: DerivationConfig = serde_json::from_value(json!({
        "formulas": [{"model": "account", "key": "x", "label": "", "expression": "keyRoles.cms.email"}]
    }))
    .unwrap();
    let errors = compile(&config, &schema()).unwrap_err();
    assert!(
        errors[0].message.contains("keyRoles.csm.email"),
        "{errors:?}"
    );
    // Stored rules recompiled at start-up accept any role (a removed one reads null).
    let mut lenient = schema();
    lenient.any_key_role = true;
    assert!(compile(&config, &lenient).is_ok());
}
