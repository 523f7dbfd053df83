use steward_rules::Value;
use steward_rules::memory::MemoryRecord;

use super::support::{num, string, ts, value, value_on};

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| (*s).to_owned()).collect())
}

#[test]
fn coalesce_and_is_set() {
    assert_eq!(value("coalesce(arr, mrr)"), num(500.0));
    assert_eq!(value("coalesce(arr, null)"), Value::Null);
    assert_eq!(value("coalesce(plan)"), string("pro"));
    assert_eq!(value("is_set(arr)"), Value::Bool(false));
    assert_eq!(value("is_set(mrr)"), Value::Bool(true));
}

#[test]
fn strings() {
    assert_eq!(value("lower(owner.email)"), string("ann@acme.com"));
    assert_eq!(value("upper(plan)"), string("PRO"));
    assert_eq!(value("trim(\"  a b  \")"), string("a b"));
    assert_eq!(value("contains(owner.email, \"@Acme\")"), Value::Bool(true));
    assert_eq!(
        value("contains(owner.email, \"@acme\")"),
        Value::Bool(false)
    );
    assert_eq!(value("starts_with(name, \"Ac\")"), Value::Bool(true));
    assert_eq!(value("ends_with(name, \"me\")"), Value::Bool(true));
    assert_eq!(value("len(\"héllo\")"), num(5.0));
    assert_eq!(value("size(tags)"), num(2.0));
    assert_eq!(
        value("concat(name, \"/\", mrr, \"/\", isTrial)"),
        string("Acme/500/false")
    );
    assert_eq!(
        value("concat(mrr / 3)"),
        string(&(500.0f64 / 3.0).to_string())
    );
    assert_eq!(value("contains(tags, \"vip\")"), Value::Bool(true));
}

#[test]
fn string_functions_propagate_null() {
    let blank = MemoryRecord::new();
    for source in [
        "lower(name)",
        "upper(name)",
        "trim(name)",
        "contains(name, \"a\")",
        "starts_with(name, \"a\")",
        "ends_with(name, \"a\")",
        "len(name)",
        "concat(\"a\", name)",
    ] {
        assert_eq!(value_on(source, &blank), Value::Null, "{source}");
    }
}

#[test]
fn numbers() {
    assert_eq!(value("round(2.5)"), num(3.0));
    assert_eq!(value("round(-2.5)"), num(-3.0));
    assert_eq!(value("round(2.71828, 2)"), num(2.72));
    assert_eq!(value("round(1234, -2)"), num(1200.0));
    assert_eq!(value("round(1, 0.5)"), Value::Null);
    assert_eq!(value("round(1, 400)"), Value::Null);
    assert_eq!(value("floor(2.7)"), num(2.0));
    assert_eq!(value("ceil(2.1)"), num(3.0));
    assert_eq!(value("abs(-4)"), num(4.0));
    assert_eq!(value("min(3, 1, 2)"), num(1.0));
    assert_eq!(value("max(3, 1, 2)"), num(3.0));
    assert_eq!(value("max(mrr, arr)"), Value::Null, "null propagates");
    assert_eq!(value("round(arr)"), Value::Null);
    assert_eq!(
        value("max(nextRenewalDate, lastSeenTimestamp)"),
        Value::Date(ts("2024-07-01T00:00:00Z"))
    );
    assert_eq!(
        value("min(nextRenewalDate, \"2024-01-01T00:00:00Z\")"),
        Value::Date(ts("2024-01-01T00:00:00Z")),
        "next to a date, a string is a date"
    );
}

#[test]
fn lists() {
    assert_eq!(
        value("contains_any(tags, [\"vip\", \"x\"])"),
        Value::Bool(true)
    );
    assert_eq!(value("contains_any(tags, [\"x\"])"), Value::Bool(false));
    assert_eq!(
        value("contains_all(tags, [\"vip\", \"beta\"])"),
        Value::Bool(true)
    );
    assert_eq!(
        value("contains_all(tags, [\"vip\", \"x\"])"),
        Value::Bool(false)
    );
    assert_eq!(value("contains_none(tags, [\"x\"])"), Value::Bool(true));
    assert_eq!(value("contains_none(tags, [\"vip\"])"), Value::Bool(false));
    assert_eq!(value("contains_any(tags, [])"), Value::Bool(false));
    assert_eq!(value("[plan, \"x\"]"), list(&["pro", "x"]));
    // Null items are dropped from list literals.
    assert_eq!(
        value("[vitally.custom.nextStep, trim(name), lower(status)]"),
        list(&["call", "Acme", "subscribed"])
    );
    let blank = MemoryRecord::new();
    assert_eq!(value_on("contains_any(tags, [\"a\"])", &blank), Value::Null);
    assert_eq!(
        value_on("contains_none(tags, [\"a\"])", &blank),
        Value::Null
    );
    assert_eq!(value_on("[name, \"x\"]", &blank), list(&["x"]));
}
