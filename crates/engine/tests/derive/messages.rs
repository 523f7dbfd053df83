//! The last inbound and outbound message in rules: on users, on accounts and organizations
//! (over their current users) and through `owner`, current after every message write, every
//! membership change and every deletion, with the clock injected.

use serde_json::{Value, json};
use steward_engine::conversations::{Direction, MessageChange};
use steward_engine::ids::MessageId;
use steward_engine::{AssignmentChange, Customer, GraphChange, LastMessages};
use uuid::Uuid;

use super::*;

fn msg(i: u128) -> MessageId {
    MessageId(Uuid::from_u128(0x6_0000 + i))
}

fn record(f: &mut Fixture, i: u128, direction: Direction, at: f64, users: &[u32]) {
    f.graph(GraphChange::Messages(MessageChange::Record {
        message: msg(i),
        direction,
        at: day(at),
        users: users.iter().copied().map(usr).collect(),
    }));
}

fn forget(f: &mut Fixture, i: u128) {
    f.graph(GraphChange::Messages(MessageChange::Forget {
        message: msg(i),
    }));
}

fn fixture() -> Fixture {
    let mut f = fixture_without_rules();
    f.reconfigure(rules());
    f
}

fn date(d: f64) -> Value {
    json!(iso(d))
}

#[test]
fn messages_move_users_accounts_organizations_and_owners() {
    let mut f = fixture();
    assert_eq!(f.formula(a(1), "lastIn"), Value::Null);
    // Never written to: unknown, not false (null propagates).
    assert_eq!(f.formula(a(1), "ownerWritten"), Value::Null);

    record(&mut f, 1, Direction::Inbound, 0.0, &[1]);
    assert_eq!(f.formula(u(1), "lastIn"), date(0.0));
    assert_eq!(f.formula(a(1), "lastIn"), date(0.0));
    assert_eq!(f.formula(o(1), "lastIn"), date(0.0));
    assert_eq!(f.formula(a(2), "lastIn"), Value::Null);

    // The owner (user 3, of account 2) writes in and is written to.
    f.at(1.0);
    record(&mut f, 2, Direction::Inbound, 1.0, &[3]);
    assert_eq!(f.formula(a(1), "ownerIn"), date(1.0));
    assert_eq!(f.formula(o(1), "lastIn"), date(1.0));
    f.at(3.0);
    assert_eq!(f.formula(a(1), "ownerQuiet"), json!(2.0));
    record(&mut f, 3, Direction::Outbound, 3.0, &[2, 3]);
    assert_eq!(f.formula(a(1), "ownerWritten"), json!(true));
    assert_eq!(f.formula(o(1), "ownerWritten"), json!(true));
    assert_eq!(f.formula(a(1), "lastOut"), date(3.0));

    // "in last 7 days" closes by itself, through the timer queue.
    f.at(11.0);
    assert_eq!(f.formula(a(1), "ownerWritten"), json!(false));

    // Deleting the owner's latest inbound message lowers the value.
    forget(&mut f, 2);
    assert_eq!(f.formula(a(1), "ownerIn"), Value::Null);
    assert_eq!(f.formula(a(1), "ownerQuiet"), Value::Null);
    assert_eq!(f.formula(o(1), "lastIn"), date(0.0));

    // Re-recording a message (a PUT) moves its timestamp.
    record(&mut f, 1, Direction::Inbound, 10.0, &[1]);
    assert_eq!(f.formula(a(1), "lastIn"), date(10.0));
}

#[test]
fn memberships_bring_and_take_a_user_s_messages() {
    let mut f = fixture();
    record(&mut f, 1, Direction::Inbound, 2.0, &[4]);
    assert_eq!(f.formula(u(4), "lastIn"), date(2.0));
    assert_eq!(f.formula(a(2), "lastIn"), Value::Null);
    // User 4 joins account 2: the account (and its organization) show the user's messages.
    f.user(4, &[2]);
    assert_eq!(f.formula(a(2), "lastIn"), date(2.0));
    assert_eq!(f.formula(o(1), "lastIn"), date(2.0));
    // ... and leaves: they take them away.
    f.user(4, &[]);
    assert_eq!(f.formula(a(2), "lastIn"), Value::Null);
    assert_eq!(f.formula(o(1), "lastIn"), Value::Null);
    // An account moving between organizations carries its users' messages along.
    f.user(4, &[2]);
    f.org(2).account(2, Some(2));
    assert_eq!(f.formula(o(1), "lastIn"), Value::Null);
    assert_eq!(f.formula(o(2), "lastIn"), date(2.0));
    // A deleted user's messages count nowhere.
    f.graph(GraphChange::DeleteUser { id: usr(4) });
    assert_eq!(f.formula(a(2), "lastIn"), Value::Null);
    assert_eq!(f.formula(o(2), "lastIn"), Value::Null);
    assert_eq!(f.engine.last_messages(ws(), u(4)), LastMessages::default());
}

#[test]
fn the_owner_s_deletion_and_replacement_reach_owner_fields() {
    let mut f = fixture();
    record(&mut f, 1, Direction::Inbound, 1.0, &[3]);
    record(&mut f, 2, Direction::Inbound, 4.0, &[2]);
    assert_eq!(f.formula(a(1), "ownerIn"), date(1.0));
    f.graph(GraphChange::Assignment(AssignmentChange::SetOwner {
        customer: Customer::Account(acc(1)),
        user: Some(usr(2)),
    }));
    assert_eq!(f.formula(a(1), "ownerIn"), date(4.0));
    f.graph(GraphChange::DeleteUser { id: usr(2) });
    assert_eq!(f.formula(a(1), "ownerIn"), Value::Null);
    assert_eq!(f.formula(a(1), "lastIn"), Value::Null);
}

#[test]
fn reads_outside_rules_and_a_fresh_engine_agree_with_incremental_upkeep() {
    let mut f = fixture();
    record(&mut f, 1, Direction::Inbound, 1.0, &[1, 3]);
    record(&mut f, 2, Direction::Outbound, 2.0, &[2]);
    record(&mut f, 3, Direction::Inbound, 3.0, &[4]);
    forget(&mut f, 3);
    let expected = LastMessages {
        inbound: Some(day(1.0)),
        outbound: Some(day(2.0)),
    };
    assert_eq!(f.engine.last_messages(ws(), o(1)), expected);
    assert_eq!(f.engine.last_messages(ws(), a(2)).outbound, None);
    assert_eq!(f.engine.last_messages(ws(), u(4)), LastMessages::default());

    // What start-up does: records and messages first, then the rules over everything.
    let mut fresh = fixture_without_rules();
    record(&mut fresh, 1, Direction::Inbound, 1.0, &[1, 3]);
    record(&mut fresh, 2, Direction::Outbound, 2.0, &[2]);
    fresh.reconfigure(rules());
    for record in [a(1), a(2), o(1), u(1)] {
        assert_eq!(
            fresh.engine.derived(ws(), record).unwrap().formulas,
            f.engine.derived(ws(), record).unwrap().formulas,
            "{record:?}"
        );
    }
}

fn rules() -> Value {
    json!({
        "formulas": [
            {"model": "user", "key": "lastIn", "label": "", "expression": "lastInboundMessageTimestamp"},
            {"model": "account", "key": "lastIn", "label": "", "expression": "lastInboundMessageTimestamp"},
            {"model": "account", "key": "lastOut", "label": "", "expression": "lastOutboundMessageTimestamp"},
            {"model": "organization", "key": "lastIn", "label": "", "expression": "lastInboundMessageTimestamp"},
            {"model": "account", "key": "ownerIn", "label": "", "expression": "owner.lastInboundMessageTimestamp"},
            {"model": "account", "key": "ownerQuiet", "label": "", "expression": "days_since(owner.lastInboundMessageTimestamp)"},
            {"model": "account", "key": "ownerWritten", "label": "", "expression": "owner.lastOutboundMessageTimestamp in last 7 days"},
            {"model": "organization", "key": "ownerWritten", "label": "", "expression": "owner.lastOutboundMessageTimestamp in last 7 days"}
        ]
    })
}

/// Organization 1 holds accounts 1 (users 1, 2) and 2 (user 3); user 4 belongs nowhere.
/// User 3 owns account 1 and organization 1. No rules yet.
fn fixture_without_rules() -> Fixture {
    let mut f = Fixture::new(json!({}));
    f.org(1)
        .account(1, Some(1))
        .account(2, Some(1))
        .user(1, &[1])
        .user(2, &[1])
        .user(3, &[2])
        .user(4, &[]);
    for customer in [Customer::Account(acc(1)), Customer::Organization(org(1))] {
        f.graph(GraphChange::Assignment(AssignmentChange::SetOwner {
            customer,
            user: Some(usr(3)),
        }));
    }
    f
}
