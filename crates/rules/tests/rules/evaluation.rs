use steward_rules::memory::MemoryRecord;
use steward_rules::{EvalContext, Scope, Value, compile_formula};

use super::support::{account, ctx, matches, num, schema, string, ts, value, value_on};

#[test]
fn arithmetic() {
    assert_eq!(value("mrr + 1"), num(501.0));
    assert_eq!(value("mrr - 1"), num(499.0));
    assert_eq!(value("mrr * 12"), num(6000.0));
    assert_eq!(value("mrr / 4"), num(125.0));
    assert_eq!(value("mrr % 7"), num(3.0));
    assert_eq!(value("-mrr"), num(-500.0));
    assert_eq!(value("2 + 3 * 4"), num(14.0));
    assert_eq!(value("(2 + 3) * 4"), num(20.0));
    assert_eq!(value("10 - 4 - 3"), num(3.0));
}

#[test]
fn division_by_zero_and_overflow_give_null() {
    assert_eq!(value("mrr / 0"), Value::Null);
    assert_eq!(value("mrr % 0"), Value::Null);
    assert_eq!(value("1e308 * 10"), Value::Null);
    assert_eq!(value("coalesce(mrr / 0, -1)"), num(-1.0));
}

#[test]
fn arithmetic_with_null_is_null() {
    assert_eq!(value("arr + 1"), Value::Null);
    assert_eq!(value("-arr"), Value::Null);
    assert_eq!(value("null * 2"), Value::Null);
}

#[test]
fn comparisons() {
    assert!(matches("mrr == 500"));
    assert!(matches("mrr != 499"));
    assert!(matches(
        "mrr > 499 && mrr >= 500 && mrr < 501 && mrr <= 500"
    ));
    assert!(!matches("mrr > 500"));
    assert!(matches("plan == \"pro\""));
    assert!(matches("name < \"Zed\""));
    assert!(matches("isTrial == false"));
    assert!(matches("nextRenewalDate > lastSeenTimestamp"));
    assert!(matches("nextRenewalDate == \"2024-07-01T00:00:00Z\""));
    assert!(matches("nextRenewalDate == \"2024-07-01\""));
    assert!(
        matches("tags == [\"vip\", \"beta\"]"),
        "lists compare as sets"
    );
}

#[test]
fn comparisons_with_null_never_match() {
    // `arr` is unset on the sample account.
    for source in [
        "arr == 1",
        "arr != 1",
        "arr < 1",
        "arr > 1",
        "!(arr == 1)",
        "churnedAt < \"2030-01-01\"",
    ] {
        assert!(!matches(source), "{source}");
    }
    assert_eq!(value("arr != 1"), Value::Null);
    assert!(matches("arr is not set || arr != 1"));
}

#[test]
fn is_set_and_empty_values() {
    assert!(matches("mrr is set"));
    assert!(matches("arr is not set"));
    assert!(matches("churnedAt is not set"));
    assert!(matches("is_set(plan) && !is_set(arr)"));
    let blank = MemoryRecord::new()
        .with("name", "")
        .with("tags", Vec::<String>::new());
    assert_eq!(value_on("name is set", &blank), Value::Bool(false));
    assert_eq!(value_on("tags is set", &blank), Value::Bool(false));
    assert_eq!(value_on("coalesce(name, \"anon\")", &blank), string("anon"));
}

#[test]
fn three_valued_logic() {
    assert_eq!(value("arr > 1 && false"), Value::Bool(false));
    assert_eq!(value("arr > 1 && true"), Value::Null);
    assert_eq!(value("arr > 1 || true"), Value::Bool(true));
    assert_eq!(value("arr > 1 || false"), Value::Null);
    assert_eq!(value("!(arr > 1)"), Value::Null);
    assert_eq!(value("true && true && true"), Value::Bool(true));
    assert_eq!(value("false || false"), Value::Bool(false));
}

#[test]
fn conditionals() {
    assert_eq!(
        value("if mrr > 100 then \"big\" else \"small\""),
        string("big")
    );
    assert_eq!(
        value("if mrr > 1000 then \"big\" else \"small\""),
        string("small")
    );
    // A null condition takes the else branch.
    assert_eq!(value("if arr > 1 then 1 else 2"), num(2.0));
    assert_eq!(
        value("if isTrial then 1 else if mrr > 1 then 2 else 3"),
        num(2.0)
    );
}

#[test]
fn membership() {
    assert!(matches("plan in [\"pro\", \"enterprise\"]"));
    assert!(!matches("plan in [\"free\"]"));
    assert!(matches("plan not in [\"free\"]"));
    assert!(matches("\"vip\" in tags"));
    assert!(!matches("status in [plan]"));
    assert!(matches("plan in [status, plan]"));
    // Null membership is unknown, so neither `in` nor `not in` matches.
    let blank = MemoryRecord::new();
    assert_eq!(value_on("plan in [\"a\"]", &blank), Value::Null);
    assert_eq!(value_on("plan not in [\"a\"]", &blank), Value::Null);
    assert_eq!(
        value("coalesce(plan, null) in [\"pro\"]"),
        Value::Bool(true)
    );
}

#[test]
fn between_is_inclusive() {
    assert!(matches("mrr between 500 and 600"));
    assert!(matches("mrr between 400 and 500"));
    assert!(!matches("mrr between 501 and 600"));
    assert_eq!(value("arr between 1 and 2"), Value::Null);
}

#[test]
fn names_resolve_dots_relations_and_backticks() {
    assert_eq!(value("owner.email"), string("Ann@Acme.com"));
    assert_eq!(value("`owner.email`"), string("Ann@Acme.com"));
    assert_eq!(value("vitally.custom.nextStep"), string("call"));
    assert_eq!(value("organization.mrr"), num(2000.0));
    assert_eq!(value("organization.mrr + mrr"), num(2500.0));
    // No parent: reading through the relation gives null.
    let orphan = MemoryRecord::new().with("mrr", 1.0);
    assert_eq!(value_on("organization.mrr", &orphan), Value::Null);
}

#[test]
fn record_values_are_fitted_to_the_schema() {
    let odd = MemoryRecord::new()
        .with("mrr", "not a number")
        .with("plan", 3.0)
        .with("tags", "solo")
        .with("nextRenewalDate", "garbage")
        .with("lastSeenTimestamp", "2024-06-01T10:00:00+02:00")
        .with("notes", 12.0)
        .with("healthScore", f64::NAN);
    assert_eq!(value_on("mrr", &odd), Value::Null);
    assert_eq!(value_on("plan", &odd), Value::Null);
    assert_eq!(value_on("tags", &odd), Value::List(vec!["solo".into()]));
    assert_eq!(value_on("nextRenewalDate", &odd), Value::Null);
    assert_eq!(
        value_on("lastSeenTimestamp", &odd),
        Value::Date(ts("2024-06-01T08:00:00Z"))
    );
    assert_eq!(value_on("notes + 1", &odd), num(13.0));
    assert_eq!(value_on("healthScore", &odd), Value::Null);
    // An untyped value of the wrong kind gives null, not a panic.
    assert_eq!(value_on("lower(notes)", &odd), Value::Null);
    assert_eq!(value_on("notes > \"a\"", &odd), Value::Null);
}

#[test]
fn custom_objects_are_relations_like_any_other() {
    assert_eq!(value("sum(deals, amount)"), num(1200.0));
    let program = compile_formula(
        "amount * 2",
        &Scope::CustomObject("deals".into()),
        &schema(),
    )
    .unwrap();
    let deal = MemoryRecord::new().with("amount", 21.0);
    assert_eq!(program.eval(&deal, &ctx()), num(42.0));
}

#[test]
fn values_convert_to_and_from_json() {
    let json = serde_json::json!(["a", "b"]);
    assert_eq!(
        Value::from_json(&json),
        Value::List(vec!["a".into(), "b".into()])
    );
    assert_eq!(Value::from_json(&serde_json::json!([1, "b"])), Value::Null);
    assert_eq!(Value::from_json(&serde_json::json!({"a": 1})), Value::Null);
    assert_eq!(Value::from_json(&serde_json::json!(2.5)), num(2.5));
    assert_eq!(
        serde_json::to_value(Value::Date(ts("2024-01-02T03:04:05Z"))).unwrap(),
        serde_json::json!("2024-01-02T03:04:05Z")
    );
    assert_eq!(Value::Null.to_json(), serde_json::Value::Null);
}

#[test]
fn programs_are_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<steward_rules::Program>();
    assert_send_sync::<EvalContext>();
    let _ = account();
}
