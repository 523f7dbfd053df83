//! Lifecycle rules with an injected clock, and user deactivation.

use serde_json::json;
use steward_engine::GraphChange;
use steward_engine::derive::{DerivedChange, LifecycleRecord, Status};
use steward_engine::metrics::{EventInput, EventKind};

use super::*;

use Status::{Churned, Ignored, Subscribed, Trial};

fn accounts(rules: serde_json::Value) -> serde_json::Value {
    json!({"lifecycle": {"accounts": rules}})
}

#[test]
fn default_is_subscribed_and_mrr_is_the_first_revenue_trait_with_a_value() {
    let mut f = Fixture::new(accounts(json!({
        "revenueTraits": ["amount", "traits.stripe_mrr"],
        "nextRenewalDateTrait": "renewsOn"
    })));
    f.account(1, None);
    assert_eq!(f.status(a(1)), Subscribed);
    let view = |f: &Fixture| f.engine.derived(ws(), a(1)).unwrap();
    assert_eq!(view(&f).mrr, None);
    f.set(a(1), json!({"stripe_mrr": 40, "renewsOn": "2024-09-01"}));
    assert_eq!(view(&f).mrr, Some(40.0));
    assert_eq!(
        view(&f).next_renewal_date,
        Some(Millis::parse_iso("2024-09-01T00:00:00Z").unwrap())
    );
    f.set(a(1), json!({"amount": 0}));
    assert_eq!(view(&f).mrr, Some(0.0), "the first trait wins, even at 0");
}

#[test]
fn trial_end_passing_moves_trials_to_subscribed_or_churned() {
    let rules = accounts(json!({
        "revenueTraits": ["amount"],
        "paidCondition": "isTrial != true",
        "trialCondition": "plan == \"trial\"",
        "trialEndDateTrait": "trialEnds"
    }));
    let mut f = Fixture::new(rules);
    f.account(1, None).account(2, None);
    f.set(
        a(1),
        json!({"plan": "trial", "isTrial": true, "trialEnds": iso(14.0)}),
    );
    f.set(
        a(2),
        json!({"plan": "trial", "isTrial": true, "trialEnds": iso(14.0)}),
    );
    assert_eq!(f.status(a(1)), Trial);
    assert_eq!(f.engine.next_timer(ws()), Some(day(14.0)));
    // Account 2 converts during the trial (paid, still on the trial plan until it ends).
    f.at(10.0)
        .set(a(2), json!({"isTrial": false, "amount": 99}));
    assert_eq!(f.status(a(2)), Trial);
    f.at(13.9);
    assert_eq!(f.status(a(1)), Trial);
    f.at(14.0);
    assert_eq!(f.status(a(1)), Churned, "unconverted trials churn");
    assert_eq!(f.churned_at(a(1)), Some(day(14.0)), "as of the end date");
    assert_eq!(f.status(a(2)), Subscribed);
    assert_eq!(
        f.transitions(a(1)),
        vec![(Subscribed, Trial), (Trial, Churned)]
    );
    // Paying later brings it back.
    f.at(20.0)
        .set(a(1), json!({"isTrial": false, "amount": 10}));
    assert_eq!(f.status(a(1)), Subscribed);
    assert_eq!(f.churned_at(a(1)), None);
}

#[test]
fn unconverted_trials_can_stay_trials() {
    let mut f = Fixture::new(accounts(json!({
        "revenueTraits": ["amount"],
        "trialCondition": "isTrial == true",
        "trialEndDateTrait": "trialEnds",
        "unconvertedTrials": "keepAsTrial"
    })));
    f.account(1, None);
    f.set(a(1), json!({"isTrial": true, "trialEnds": iso(3.0)}));
    f.at(4.0);
    let view = f.engine.derived(ws(), a(1)).unwrap();
    assert_eq!(view.status, Some(Trial));
    assert!(view.unconverted_trial);
}

#[test]
fn churn_date_is_the_trait_or_the_moment_of_first_match() {
    let mut f = Fixture::new(accounts(json!({
        "churnCondition": "canceled == true",
        "churnDateTrait": "canceledOn"
    })));
    f.account(1, None).account(2, None);
    f.at(3.0).set(a(1), json!({"canceled": true}));
    assert_eq!(f.churned_at(a(1)), Some(day(3.0)));
    // Still matching later does not move the date.
    f.at(5.0).set(a(1), json!({"plan": "x", "canceled": true}));
    assert_eq!(f.churned_at(a(1)), Some(day(3.0)));
    f.set(a(2), json!({"canceled": true, "canceledOn": "2024-05-20"}));
    assert_eq!(
        f.churned_at(a(2)),
        Millis::parse_iso("2024-05-20T00:00:00Z")
    );
    assert!(f.changes.iter().any(|c| matches!(c,
        DerivedChange::Persist(LifecycleRecord { record, status: Churned, churned_since: Some(_), .. }) if *record == a(2))));
}

#[test]
fn organization_churn_and_ignore_carry_to_accounts_never_upwards() {
    let mut f = Fixture::new(json!({"lifecycle": {
        "organizations": {
            "churnCondition": "canceled == true",
            "track": {"mode": "exclude", "condition": "test == true"}
        },
        "accounts": {"churnCondition": "canceled == true", "trialCondition": "isTrial == true"}
    }}));
    f.org(1)
        .account(1, Some(1))
        .account(2, Some(1))
        .account(3, None);
    f.set(a(1), json!({"isTrial": true}));
    f.at(1.0).set(a(2), json!({"canceled": true}));
    assert_eq!(
        f.status(o(1)),
        Subscribed,
        "an account churning leaves its organization"
    );
    f.at(2.0).set(o(1), json!({"canceled": true}));
    assert_eq!(f.status(a(1)), Churned);
    assert_eq!(
        f.churned_at(a(1)),
        Some(day(2.0)),
        "the organization's date"
    );
    assert_eq!(f.churned_at(a(2)), Some(day(1.0)), "its own date first");
    assert_eq!(
        f.engine.derived(ws(), a(1)).unwrap().own_status,
        Some(Trial)
    );
    f.set(o(1), json!({"test": true}));
    assert_eq!(f.status(o(1)), Ignored, "ignored wins over churned");
    assert_eq!(f.status(a(1)), Ignored);
    assert_eq!(f.status(a(2)), Ignored);
    // Moving an account out of the organization frees it.
    f.account(1, None);
    assert_eq!(f.status(a(1)), Trial);
    f.account(3, Some(1));
    assert_eq!(f.status(a(3)), Ignored);
    // Deleting the organization frees the rest.
    f.graph(GraphChange::DeleteOrganization { id: org(1) });
    assert_eq!(f.status(a(3)), Subscribed);
    assert_eq!(f.status(a(2)), Churned);
}

#[test]
fn organizations_churn_when_all_their_accounts_churned() {
    let mut f = Fixture::new(json!({"lifecycle": {
        "organizations": {"churnCondition": "count(accounts) > 0 && count(accounts where ownStatus != \"churned\") == 0"},
        "accounts": {"churnCondition": "canceled == true"}
    }}));
    f.org(1).account(1, Some(1)).account(2, Some(1));
    f.set(a(1), json!({"canceled": true}));
    assert_eq!(f.status(o(1)), Subscribed);
    f.set(a(2), json!({"canceled": true}));
    assert_eq!(f.status(o(1)), Churned);
    // One account back: the organization's churn lifts (no subscribed rules: not matching is enough).
    f.set(a(2), json!({"canceled": false}));
    assert_eq!(f.status(a(2)), Subscribed);
    assert_eq!(f.status(o(1)), Subscribed);
}

#[test]
fn track_rules_in_include_mode_ignore_everything_else() {
    let mut f = Fixture::new(accounts(json!({
        "track": {"mode": "include", "condition": {"field": "plan", "op": "is_any_of", "value": ["pro", "team"]}}
    })));
    f.account(1, None);
    assert_eq!(f.status(a(1)), Ignored, "no plan: not tracked");
    f.set(a(1), json!({"plan": "pro"}));
    assert_eq!(f.status(a(1)), Subscribed);
}

#[test]
fn churn_is_sticky_across_rule_edits_until_reprocessed() {
    let churn_on = |plan: &str| {
        accounts(json!({
            "revenueTraits": ["amount"],
            "churnCondition": format!("plan == \"{plan}\"")
        }))
    };
    let mut f = Fixture::new(churn_on("canceled"));
    f.account(1, None).account(2, None);
    f.set(a(1), json!({"plan": "canceled", "amount": 10}));
    f.set(a(2), json!({"plan": "paused"}));
    assert_eq!(f.status(a(1)), Churned);
    // New rules no longer churn `canceled`, and churn `paused`: the old churn stays.
    f.at(1.0).reconfigure(churn_on("paused"));
    assert_eq!(f.status(a(1)), Churned, "rule edits do not un-churn");
    assert_eq!(f.churned_at(a(1)), Some(day(0.0)));
    assert_eq!(f.status(a(2)), Churned, "new matches churn");
    // A restart: the persisted state comes back, sticky churn included.
    let saved = f.engine.lifecycle_state(ws());
    let mut g = Fixture::new(json!({}));
    g.engine = steward_engine::Engine::new();
    g.now = f.now;
    g.engine.restore(ws(), &saved);
    g.account(1, None).account(2, None);
    g.traits = f.traits.clone();
    g.reconfigure(churn_on("paused"));
    assert_eq!(g.status(a(1)), Churned);
    assert_eq!(g.churned_at(a(1)), Some(day(0.0)));
    assert!(
        g.transitions(a(1)).is_empty(),
        "no transition reported after a restart"
    );
    // Reprocessing applies the new rules to everyone.
    let out = f.engine.reprocess(ws(), day(2.0));
    assert_eq!(f.status(a(1)), Subscribed);
    assert_eq!(f.status(a(2)), Churned);
    assert!(out.contains(&DerivedChange::Status {
        record: a(1),
        from: Churned,
        to: Subscribed,
        at: day(2.0)
    }));
}

#[test]
fn a_churned_record_comes_back_by_data_only_when_paid_again() {
    let mut f = Fixture::new(accounts(json!({
        "revenueTraits": ["amount"],
        "churnCondition": "canceled == true"
    })));
    f.account(1, None);
    f.set(a(1), json!({"canceled": true}));
    f.set(a(1), json!({"canceled": false}));
    assert_eq!(f.status(a(1)), Churned, "not paid: stays churned");
    f.set(a(1), json!({"amount": 30}));
    assert_eq!(f.status(a(1)), Subscribed, "paid again: back");
}

#[test]
fn deactivated_users_leave_user_metrics_and_their_events_stop_counting() {
    let mut f = Fixture::new(json!({
        "userDeactivation": "ends_with(email, \"@us.example\")",
        "lifecycle": {"accounts": {"churnCondition": "canceled == true"}}
    }));
    f.account(1, None)
        .account(2, None)
        .user(1, &[1])
        .user(2, &[1]);
    let event = |user: u32, account: u32, d: f64| EventInput {
        at: day(d),
        kind: EventKind::Track,
        name: "login",
        user: Some(usr(user)),
        account: Some(acc(account)),
        organization: None,
    };
    f.engine.record_event(ws(), &event(1, 1, 0.0));
    f.at(1.0).set(u(1), json!({"email": "me@us.example"}));
    assert_eq!(
        f.engine.derived(ws(), u(1)).unwrap().deactivated_at,
        Some(day(1.0))
    );
    f.engine.record_event(ws(), &event(1, 1, 1.5));
    f.engine.record_event(ws(), &event(2, 1, 1.5));
    let metrics = f.engine.account_metrics(ws(), acc(1), day(2.0)).unwrap();
    assert_eq!(metrics.users, 1, "the deactivated user is left out");
    assert_eq!(metrics.active_users_30d, 1);
    assert_eq!(
        metrics.events[0].1.total, 2,
        "the event before deactivation counts, the one after does not"
    );
    // Churned accounts' events do not count from the churn on.
    f.set(a(2), json!({"canceled": true}));
    f.engine.record_event(ws(), &event(2, 2, 2.0));
    assert!(
        f.engine
            .account_metrics(ws(), acc(2), day(2.0))
            .unwrap()
            .events
            .is_empty()
    );
    // Matching no more reactivates.
    f.set(u(1), json!({"email": "me@customer.example"}));
    assert_eq!(f.engine.derived(ws(), u(1)).unwrap().deactivated_at, None);
}

#[test]
fn replay_after_a_restart_counts_the_same_events_as_live() {
    let config = accounts(json!({"churnCondition": "canceled == true"}));
    let mut f = Fixture::new(config.clone());
    f.account(1, None).user(1, &[1]);
    let event = |d: f64| EventInput {
        at: day(d),
        kind: EventKind::Track,
        name: "login",
        user: Some(usr(1)),
        account: Some(acc(1)),
        organization: None,
    };
    let log = [event(1.0), event(4.0)];
    f.at(1.0);
    f.engine.record_event(ws(), &log[0]);
    f.at(3.0).set(a(1), json!({"canceled": true}));
    assert!(!f.engine.counts_event(ws(), &log[1]));
    f.engine.record_event(ws(), &log[1]);
    let live = f.engine.account_metrics(ws(), acc(1), day(5.0)).unwrap();
    assert_eq!(live.events[0].1.total, 1);
    // Restart: graph, persisted lifecycle state, event replay, then the rules.
    let saved = f.engine.lifecycle_state(ws());
    let mut g = Fixture::new(json!({}));
    g.engine = steward_engine::Engine::new();
    g.now = day(5.0);
    g.account(1, None).user(1, &[1]);
    g.engine.restore(ws(), &saved);
    for e in &log {
        g.engine.record_event(ws(), e);
    }
    g.traits = f.traits.clone();
    g.reconfigure(config);
    let replayed = g.engine.account_metrics(ws(), acc(1), day(5.0)).unwrap();
    assert_eq!(replayed.events, live.events);
    assert_eq!(g.status(a(1)), Churned);
    assert_eq!(g.churned_at(a(1)), Some(day(3.0)));
}

fn mrr(f: &Fixture, record: RecordRef) -> Option<f64> {
    f.engine.derived(ws(), record).and_then(|v| v.mrr)
}

#[test]
fn a_churned_record_keeps_its_last_revenue() {
    let rules = |keep: &str| {
        json!({"lifecycle": {"accounts": {
            "revenueTraits": ["amount"],
            "churnCondition": "canceled == true",
            "churnedRevenue": keep
        }}})
    };
    let mut f = Fixture::new(rules("keepLast"));
    f.account(1, None).set(a(1), json!({"amount": 120}));
    assert_eq!(mrr(&f, a(1)), Some(120.0));
    // Churned and its revenue emptied in the same write: the last revenue stays.
    f.set(a(1), json!({"canceled": true, "amount": null}));
    assert_eq!(f.status(a(1)), Status::Churned);
    assert_eq!(mrr(&f, a(1)), Some(120.0));
    // A revenue value while churned is shown; emptied again, that one stays.
    f.set(a(1), json!({"amount": 80}));
    assert_eq!(mrr(&f, a(1)), Some(80.0));
    assert_eq!(
        f.status(a(1)),
        Status::Churned,
        "paid again, but the churn rule matches"
    );
    f.set(a(1), json!({"amount": null}));
    assert_eq!(mrr(&f, a(1)), Some(80.0));
    // It survives a restart (persisted with the churn state)...
    let mut fresh = Engine::new();
    fresh.apply_at(
        ws(),
        &GraphChange::UpsertAccount {
            id: acc(1),
            organization: None,
            created_at: f.now,
            updated_at: f.now,
        },
        f.now,
    );
    fresh.restore(ws(), &f.engine.lifecycle_state(ws()));
    let traits = f.traits[&a(1)].clone();
    fresh.configure(
        ws(),
        compiled(rules("keepLast")),
        [RecordInput {
            record: a(1),
            name: None,
            traits: &traits,
            extra: None,
        }],
        f.now,
    );
    assert_eq!(fresh.derived(ws(), a(1)).unwrap().mrr, Some(80.0));
    // ... and goes once the record is back (paid again; subscribed records show their revenue
    // as it is).
    f.set(a(1), json!({"canceled": false, "amount": 50}));
    assert_eq!(f.status(a(1)), Status::Subscribed);
    f.set(a(1), json!({"amount": null}));
    assert_eq!(mrr(&f, a(1)), None);

    // With `churnedRevenue: null`, a churned record without revenue has none.
    let mut f = Fixture::new(rules("null"));
    f.account(1, None).set(a(1), json!({"amount": 120}));
    f.set(a(1), json!({"canceled": true, "amount": null}));
    assert_eq!(mrr(&f, a(1)), None);
}
