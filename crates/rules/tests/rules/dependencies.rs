use steward_rules::memory::{MemoryRecord, MemorySchema};
use steward_rules::{
    ErrorCode, EvalContext, FieldDependency, Program, RelationDependency, Scope, Timestamp, Type,
    compile_filter, compile_formula, formula_order,
};

use super::support::{account, ctx, new_york, schema, ts};

fn field(via: &[&str], scope: Scope, name: &str) -> FieldDependency {
    FieldDependency {
        via: via.iter().map(|s| (*s).to_owned()).collect(),
        scope,
        field: name.to_owned(),
    }
}

fn relation(via: &[&str], target: Scope) -> RelationDependency {
    RelationDependency {
        via: via.iter().map(|s| (*s).to_owned()).collect(),
        target,
    }
}

#[test]
fn own_fields() {
    let program =
        compile_formula("mrr * 12 + coalesce(arr, 0)", &Scope::Account, &schema()).unwrap();
    let deps = program.dependencies();
    assert_eq!(deps.own_fields().collect::<Vec<_>>(), ["arr", "mrr"]);
    assert!(deps.relations.is_empty());
    assert!(!deps.reads_clock);
    assert!(deps.reads(&Scope::Account, "mrr"));
    assert!(!deps.reads(&Scope::User, "mrr"));
}

#[test]
fn fields_through_relations() {
    let program = compile_formula(
        "count(users where lastSeenTimestamp in last 30 days) + organization.mrr",
        &Scope::Account,
        &schema(),
    )
    .unwrap();
    let deps = program.dependencies();
    assert_eq!(
        deps.fields.iter().cloned().collect::<Vec<_>>(),
        [
            field(&["organization"], Scope::Organization, "mrr"),
            field(&["users"], Scope::User, "lastSeenTimestamp"),
        ]
    );
    assert!(deps.reads(&Scope::User, "lastSeenTimestamp"));
    assert!(deps.reads_clock);
    assert_eq!(
        deps.relations.iter().cloned().collect::<Vec<_>>(),
        [
            relation(&["organization"], Scope::Organization),
            relation(&["users"], Scope::User)
        ]
    );
}

#[test]
fn nested_aggregations_report_full_paths() {
    let program = compile_formula(
        "sum(accounts where status == \"subscribed\", count(users where isAdmin))",
        &Scope::Organization,
        &schema(),
    )
    .unwrap();
    let deps = program.dependencies();
    assert!(
        deps.fields
            .contains(&field(&["accounts"], Scope::Account, "status"))
    );
    assert!(
        deps.fields
            .contains(&field(&["accounts", "users"], Scope::User, "isAdmin"))
    );
    assert!(
        deps.relations
            .contains(&relation(&["accounts"], Scope::Account))
    );
    assert!(
        deps.relations
            .contains(&relation(&["accounts", "users"], Scope::User))
    );
    assert!(!deps.reads_clock);
    let json = serde_json::to_value(deps).unwrap();
    assert_eq!(
        json["fields"][1]["via"],
        serde_json::json!(["accounts", "users"])
    );
    assert_eq!(json["fields"][1]["scope"], serde_json::json!("user"));
}

#[test]
fn clock_readers_are_flagged() {
    for (source, reads_clock) in [
        ("now()", true),
        ("days_since(lastSeenTimestamp)", true),
        ("days_until(nextRenewalDate) < 30", true),
        ("lastSeenTimestamp more than 3 days ago", true),
        ("year(nextRenewalDate)", false),
        ("nextRenewalDate on \"2024-01-01\"", false),
    ] {
        let program = compile_formula(source, &Scope::Account, &schema()).unwrap();
        assert_eq!(program.dependencies().reads_clock, reads_clock, "{source}");
    }
}

fn next_change(source: &str, record: &MemoryRecord, ctx: &EvalContext) -> Option<Timestamp> {
    compile_formula(source, &Scope::Account, &schema())
        .unwrap_or_else(|e| panic!("{source}: {e}"))
        .next_change(record, ctx)
}

fn seen(at: &str) -> MemoryRecord {
    MemoryRecord::new()
        .with("lastSeenTimestamp", at)
        .with("nextRenewalDate", "2024-07-01T00:00:00Z")
}

#[test]
fn next_change_for_windows() {
    let just_after = |t: &str| {
        Some(
            ts(t)
                .checked_add(jiff::SignedDuration::from_nanos(1))
                .unwrap(),
        )
    };
    let recent = seen("2024-06-10T08:00:00Z");
    assert_eq!(
        next_change("lastSeenTimestamp in last 14 days", &recent, &ctx()),
        just_after("2024-06-24T08:00:00Z")
    );
    assert_eq!(
        next_change("lastSeenTimestamp more than 14 days ago", &recent, &ctx()),
        just_after("2024-06-24T08:00:00Z")
    );
    // Not yet in the window: it enters at the instant itself.
    let future = seen("2024-06-20T00:00:00Z");
    assert_eq!(
        next_change("lastSeenTimestamp in last 14 days", &future, &ctx()),
        Some(ts("2024-06-20T00:00:00Z"))
    );
    assert_eq!(
        next_change("nextRenewalDate in next 30 days", &recent, &ctx()),
        just_after("2024-07-01T00:00:00Z")
    );
    assert_eq!(
        next_change("nextRenewalDate in next 7 days", &recent, &ctx()),
        Some(ts("2024-06-24T00:00:00Z"))
    );
    assert_eq!(
        next_change("nextRenewalDate more than 7 days from now", &recent, &ctx()),
        Some(ts("2024-06-24T00:00:00Z"))
    );
    // Everything already in the past: nothing left to schedule.
    let old = seen("2020-01-01T00:00:00Z");
    assert_eq!(
        next_change("lastSeenTimestamp in last 14 days", &old, &ctx()),
        None
    );
    assert_eq!(
        next_change(
            "lastSeenTimestamp in last 14 days",
            &MemoryRecord::new(),
            &ctx()
        ),
        None
    );
    assert_eq!(next_change("mrr > 1", &recent, &ctx()), None);
}

#[test]
fn next_change_for_the_clock_itself() {
    let record = seen("2024-06-10T08:00:00Z");
    assert_eq!(
        next_change("days_since(lastSeenTimestamp) > 3", &record, &ctx()),
        Some(ts("2024-06-16T00:00:00Z"))
    );
    assert_eq!(
        next_change(
            "days_since(lastSeenTimestamp)",
            &record,
            &ctx().with_time_zone(new_york())
        ),
        Some(ts("2024-06-16T04:00:00Z"))
    );
    assert_eq!(
        next_change("nextRenewalDate < now()", &record, &ctx()),
        Some(ts("2024-07-01T00:00:00Z"))
    );
    assert_eq!(
        next_change("nextRenewalDate <= date_add(now(), 7)", &record, &ctx()),
        Some(ts("2024-06-24T00:00:00Z"))
    );
    assert_eq!(
        next_change("concat(now())", &record, &ctx()),
        Some(ts("2024-06-15T12:01:00Z")),
        "unanalysable clock use polls"
    );
}

#[test]
fn next_change_across_relations() {
    assert_eq!(
        next_change(
            "count(users where lastSeenTimestamp in last 30 days)",
            &account(),
            &ctx()
        ),
        Some(ts("2024-07-14T09:00:00.000000001Z"))
    );
}

#[test]
fn evaluating_at_next_change_sees_the_change() {
    for (source, at) in [
        ("lastSeenTimestamp in last 14 days", "2024-06-10T08:00:00Z"),
        ("lastSeenTimestamp in last 14 days", "2024-06-20T00:00:00Z"),
        (
            "lastSeenTimestamp more than 2 days ago",
            "2024-06-14T00:00:00Z",
        ),
        ("nextRenewalDate in next 7 days", "2024-06-14T00:00:00Z"),
        (
            "nextRenewalDate more than 7 days from now",
            "2024-06-14T00:00:00Z",
        ),
        ("nextRenewalDate < now()", "2024-06-14T00:00:00Z"),
        ("nextRenewalDate <= now()", "2024-06-14T00:00:00Z"),
        (
            "nextRenewalDate < date_add(now(), 10)",
            "2024-06-14T00:00:00Z",
        ),
        ("days_since(lastSeenTimestamp)", "2024-06-14T00:00:00Z"),
    ] {
        for tz in [steward_rules::TimeZone::UTC, new_york()] {
            // Act like the engine: wake at each reported instant until the
            // value changes, and check it never changed while asleep.
            let program = compile_formula(source, &Scope::Account, &schema()).unwrap();
            let record = seen(at);
            let start = ctx().with_time_zone(tz.clone());
            let original = program.eval(&record, &start);
            let mut awake = start.clone();
            let mut changed = false;
            for _ in 0..3 {
                let when = program.next_change(&record, &awake).unwrap();
                assert!(when > awake.now, "{source}: no progress");
                let just_before = EvalContext::new(
                    when.checked_sub(jiff::SignedDuration::from_nanos(1))
                        .unwrap(),
                )
                .with_time_zone(tz.clone());
                assert_eq!(
                    program.eval(&record, &just_before),
                    original,
                    "{source} changed before {when}"
                );
                awake = EvalContext::new(when).with_time_zone(tz.clone());
                if program.eval(&record, &awake) != original {
                    changed = true;
                    break;
                }
            }
            assert!(changed, "{source} never changed");
        }
    }
}

fn formula_schema() -> MemorySchema {
    schema()
        .with_field(Scope::Account, "a", Type::Number)
        .with_field(Scope::Account, "b", Type::Number)
        .with_field(Scope::Account, "c", Type::Number)
        .with_field(Scope::Account, "score", Type::Number)
        .with_field(Scope::Organization, "total", Type::Number)
}

fn account_formula(source: &str) -> Program {
    compile_formula(source, &Scope::Account, &formula_schema()).unwrap()
}

#[test]
fn formula_order_sorts_dependencies_first() {
    let a = account_formula("b + c");
    let b = account_formula("c * 2");
    let c = account_formula("mrr");
    let order = formula_order(&[("a", &a), ("b", &b), ("c", &c)]).unwrap();
    assert_eq!(order, [2, 1, 0]);
    let independent = formula_order(&[("c", &c), ("x", &c)]).unwrap();
    assert_eq!(independent, [0, 1]);
}

#[test]
fn formula_cycles_are_named() {
    let a = account_formula("b + 1");
    let b = account_formula("a + 1");
    let error = formula_order(&[("a", &a), ("b", &b)]).unwrap_err();
    assert_eq!(error.code, ErrorCode::FormulaCycle);
    assert_eq!(
        error.message,
        "formula traits depend on each other in a cycle: a -> b -> a"
    );

    let selfish = account_formula("a + 1");
    assert_eq!(
        formula_order(&[("a", &selfish)]).unwrap_err().message,
        "formula traits depend on each other in a cycle: a -> a"
    );

    let c = account_formula("mrr");
    let x = account_formula("c + b");
    let error = formula_order(&[("c", &c), ("x", &x), ("b", &b), ("a", &a)]).unwrap_err();
    assert_eq!(
        error.message,
        "formula traits depend on each other in a cycle: b -> a -> b"
    );
}

#[test]
fn formula_cycles_cross_scopes() {
    let score = account_formula("organization.total / 2");
    let total = compile_formula(
        "sum(accounts, score)",
        &Scope::Organization,
        &formula_schema(),
    )
    .unwrap();
    let error = formula_order(&[("score", &score), ("total", &total)]).unwrap_err();
    assert_eq!(
        error.message,
        "formula traits depend on each other in a cycle: account.score -> organization.total -> account.score"
    );
    let plain_score = account_formula("mrr");
    assert_eq!(
        formula_order(&[("total", &total), ("score", &plain_score)]).unwrap(),
        [1, 0]
    );
}

#[test]
fn filters_compile_too() {
    let filter = compile_filter("mrr > 1", &Scope::Account, &schema()).unwrap();
    assert_eq!(filter.scope(), &Scope::Account);
    assert_eq!(filter.ty(), Type::Bool);
}
