//! Formula traits and rollups, kept current on every write.

use serde_json::{Value, json};
use steward_engine::GraphChange;
use steward_engine::derive::DerivedChange;
use steward_engine::metrics::{EventInput, EventKind};

use super::*;

fn rollups() -> serde_json::Value {
    json!({"formulas": [
        {"model": "user", "key": "seats2", "label": "S2", "expression": "seats * 2"},
        {"model": "account", "key": "arr", "label": "ARR", "expression": "amount * 12"},
        {"model": "account", "key": "seatTotal", "label": "Seats", "expression": "sum(users, seats2)"},
        {"model": "account", "key": "avgSeats", "label": "Avg", "expression": "avg(users, seats)"},
        {"model": "account", "key": "admins", "label": "Admins", "expression": "count(users where role == \"admin\")"},
        {"model": "organization", "key": "totalArr", "label": "Total", "expression": "sum(accounts, arr)"},
        {"model": "organization", "key": "people", "label": "People", "expression": "count(users)"},
        {"model": "organization", "key": "maxSeats", "label": "Max", "expression": "max(users, seats)"}
    ]})
}

#[test]
fn formulas_follow_own_traits_with_null_rules() {
    let mut f = Fixture::new(rollups());
    f.org(1).account(1, Some(1));
    // No amount: arr is null, the org's sum skips nulls (sum of nothing is 0).
    assert_eq!(f.formula(a(1), "arr"), Value::Null);
    assert_eq!(f.formula(o(1), "totalArr"), json!(0.0));
    assert_eq!(
        f.formula(a(1), "avgSeats"),
        Value::Null,
        "avg of nothing is null"
    );
    f.set(a(1), json!({"amount": 100}));
    assert_eq!(f.formula(a(1), "arr"), json!(1200.0));
    assert_eq!(f.formula(o(1), "totalArr"), json!(1200.0));
    // A value of the wrong type reads as null.
    f.set(a(1), json!({"amount": "lots"}));
    assert_eq!(f.formula(a(1), "arr"), Value::Null);
    f.set(a(1), json!({"amount": null}));
    assert_eq!(f.formula(a(1), "arr"), Value::Null);
    f.set(a(1), json!({"amount": 5}));
    assert_eq!(f.formula(o(1), "totalArr"), json!(60.0));
}

#[test]
fn user_writes_reach_their_accounts_and_organizations() {
    let mut f = Fixture::new(rollups());
    f.org(1).account(1, Some(1)).account(2, Some(1));
    f.user(1, &[1]).user(2, &[1, 2]);
    f.set(u(1), json!({"seats": 3, "role": "admin"}));
    f.set(u(2), json!({"seats": 5}));
    assert_eq!(f.formula(u(1), "seats2"), json!(6.0));
    assert_eq!(f.formula(a(1), "seatTotal"), json!(16.0));
    assert_eq!(f.formula(a(2), "seatTotal"), json!(10.0));
    assert_eq!(f.formula(a(1), "avgSeats"), json!(4.0));
    assert_eq!(f.formula(a(1), "admins"), json!(1.0));
    assert_eq!(f.formula(o(1), "people"), json!(2.0));
    assert_eq!(f.formula(o(1), "maxSeats"), json!(5.0));
    // A user trait change re-evaluates the user, its accounts and the organization above.
    f.changes.clear();
    f.set(u(2), json!({"seats": 1}));
    assert_eq!(f.formula(a(1), "seatTotal"), json!(8.0));
    assert_eq!(f.formula(a(2), "seatTotal"), json!(2.0));
    assert_eq!(f.formula(o(1), "maxSeats"), json!(3.0));
    let touched: std::collections::BTreeSet<RecordRef> = f
        .changes
        .iter()
        .filter_map(|c| match c {
            DerivedChange::Value { record, .. } => Some(*record),
            _ => None,
        })
        .collect();
    assert_eq!(touched, [o(1), a(1), a(2), u(2)].into_iter().collect());
    // A trait no rule reads changes nothing.
    f.changes.clear();
    f.set(u(2), json!({"favouriteColour": "green"}));
    assert!(f.changes.is_empty());
}

#[test]
fn moving_an_account_re_evaluates_the_old_and_the_new_organization() {
    let mut f = Fixture::new(rollups());
    f.org(1).org(2).account(1, Some(1)).user(1, &[1]);
    f.set(a(1), json!({"amount": 10}));
    assert_eq!(f.formula(o(1), "totalArr"), json!(120.0));
    assert_eq!(f.formula(o(1), "people"), json!(1.0));
    f.account(1, Some(2));
    assert_eq!(f.formula(o(1), "totalArr"), json!(0.0));
    assert_eq!(f.formula(o(1), "people"), json!(0.0));
    assert_eq!(f.formula(o(2), "totalArr"), json!(120.0));
    assert_eq!(f.formula(o(2), "people"), json!(1.0));
    // Membership changes count too.
    f.user(2, &[1]);
    assert_eq!(f.formula(o(2), "people"), json!(2.0));
    f.user(2, &[]);
    assert_eq!(f.formula(o(2), "people"), json!(1.0));
    f.graph(GraphChange::DeleteUser { id: usr(1) });
    assert_eq!(f.formula(o(2), "people"), json!(0.0));
    f.graph(GraphChange::DeleteAccount { id: acc(1) });
    assert_eq!(f.formula(o(2), "totalArr"), json!(0.0));
    assert!(f.changes.contains(&DerivedChange::Forget { record: a(1) }));
}

#[test]
fn accounts_read_their_organization_and_formulas_chain() {
    let mut f = Fixture::new(json!({"formulas": [
        {"model": "organization", "key": "tier", "label": "T", "expression": "if sum(accounts, amount) > 100 then \"big\" else \"small\""},
        {"model": "account", "key": "orgTier", "label": "OT", "expression": "concat(organization.tier, \"-\", plan)"}
    ]}));
    f.org(1).account(1, Some(1)).account(2, Some(1));
    f.set(a(1), json!({"plan": "pro"}));
    assert_eq!(f.formula(a(1), "orgTier"), json!("small-pro"));
    // A sibling's write flips the organization, which flows back down to every account.
    f.set(a(2), json!({"amount": 500}));
    assert_eq!(f.formula(o(1), "tier"), json!("big"));
    assert_eq!(f.formula(a(1), "orgTier"), json!("big-pro"));
    assert_eq!(
        f.formula(a(2), "orgTier"),
        Value::Null,
        "concat with null is null"
    );
}

#[test]
fn usage_metrics_and_the_clock_drive_formulas_through_timers() {
    let mut f = Fixture::new(json!({"formulas": [
        {"model": "account", "key": "active", "label": "A", "expression": "count(users where lastSeenTimestamp in last 7 days)"},
        {"model": "user", "key": "recent", "label": "R", "expression": "lastSeenTimestamp in last 7 days"}
    ]}));
    f.account(1, None).user(1, &[1]).user(2, &[1]);
    assert_eq!(f.formula(a(1), "active"), json!(0.0));
    let event = |user: u32, at: Millis| EventInput {
        at,
        kind: EventKind::Track,
        name: "login",
        user: Some(usr(user)),
        account: Some(acc(1)),
        organization: None,
    };
    f.engine.record_event(ws(), &event(1, day(0.0)));
    f.at(2.0);
    f.engine.record_event(ws(), &event(2, day(2.0)));
    assert_eq!(f.formula(a(1), "active"), json!(2.0));
    assert_eq!(f.formula(u(1), "recent"), json!(true));
    assert_eq!(f.engine.next_timer(ws()), Some(Millis(day(7.0).0 + 1)));
    f.at(6.9);
    assert_eq!(f.formula(a(1), "active"), json!(2.0));
    f.at(7.5);
    assert_eq!(f.formula(a(1), "active"), json!(1.0));
    assert_eq!(f.formula(u(1), "recent"), json!(false));
    f.at(9.5);
    assert_eq!(f.formula(a(1), "active"), json!(0.0));
    assert_eq!(
        f.engine.next_timer(ws()),
        None,
        "nothing left to change by itself"
    );
}

#[test]
fn reconfiguring_keeps_unchanged_formulas_quiet_and_rebuilds_the_projection() {
    let mut f = Fixture::new(rollups());
    f.org(1).account(1, Some(1));
    f.set(a(1), json!({"amount": 2, "plan": "pro"}));
    f.changes.clear();
    let mut config = rollups();
    config["formulas"].as_array_mut().unwrap().push(
        json!({"model": "account", "key": "planName", "label": "P", "expression": "upper(plan)"}),
    );
    f.reconfigure(config);
    assert_eq!(f.formula(a(1), "planName"), json!("PRO"));
    assert_eq!(f.formula(a(1), "arr"), json!(24.0));
    let keys: Vec<&str> = f
        .changes
        .iter()
        .filter_map(|c| match c {
            DerivedChange::Value { key, .. } => Some(key.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(keys, vec!["planName"]);
}

#[test]
fn an_unconfigured_workspace_keeps_nothing() {
    let mut engine = steward_engine::Engine::new();
    let out = engine.configure(ws(), compiled(json!({})), [], Millis(T0));
    assert!(out.is_empty());
    engine.apply_at(
        ws(),
        &GraphChange::UpsertAccount {
            id: acc(1),
            organization: None,
            created_at: Millis(T0),
            updated_at: Millis(T0),
        },
        Millis(T0),
    );
    let traits = serde_json::Map::new();
    let out = engine.set_traits(
        ws(),
        RecordInput {
            record: a(1),
            name: None,
            traits: &traits,
            extra: None,
        },
        Millis(T0),
    );
    assert!(out.is_empty());
    assert!(engine.derived(ws(), a(1)).is_none());
}
