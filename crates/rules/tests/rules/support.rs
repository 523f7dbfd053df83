//! Shared fixtures: the demo schema, a pinned clock, and sample records.

use steward_rules::memory::{MemoryRecord, MemorySchema};
use steward_rules::{
    EvalContext, Program, RuleError, Scope, TimeZone, Timestamp, Value, compile_filter,
    compile_formula,
};

pub fn schema() -> MemorySchema {
    MemorySchema::demo()
        .with_field(
            Scope::CustomObject("deals".into()),
            "amount",
            steward_rules::Type::Number,
        )
        .with_relation(
            Scope::Account,
            "deals",
            Scope::CustomObject("deals".into()),
            true,
        )
}

pub fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Saturday 2024-06-15, noon UTC.
pub fn now() -> Timestamp {
    ts("2024-06-15T12:00:00Z")
}

pub fn ctx() -> EvalContext {
    EvalContext::new(now())
}

pub fn new_york() -> TimeZone {
    TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").unwrap()
}

pub fn user(name: &str, last_seen: &str, nps: f64) -> MemoryRecord {
    MemoryRecord::new()
        .with("name", name)
        .with("email", format!("{}@acme.com", name.to_lowercase()))
        .with("lastSeenTimestamp", last_seen)
        .with("npsLastScore", nps)
}

pub fn account() -> MemoryRecord {
    let organization = MemoryRecord::new()
        .with("name", "Acme Group")
        .with("mrr", 2000.0)
        .with("createdAt", "2020-01-01");
    MemoryRecord::new()
        .with("name", "Acme")
        .with("mrr", 500.0)
        .with("status", "subscribed")
        .with("plan", "pro")
        .with("tags", vec!["beta".to_owned(), "vip".to_owned()])
        .with("isTrial", false)
        .with("nextRenewalDate", "2024-07-01T00:00:00Z")
        .with("lastSeenTimestamp", "2024-06-10T08:00:00Z")
        .with("owner.email", "Ann@Acme.com")
        .with("vitally.custom.nextStep", "call")
        .with_related("organization", organization)
        .with_related("users", user("Ann", "2024-06-14T09:00:00Z", 9.0))
        .with_related("users", user("Bob", "2024-05-01T09:00:00Z", 6.0))
        .with_related("users", MemoryRecord::new().with("name", "Cy"))
        .with_related("deals", MemoryRecord::new().with("amount", 1200.0))
}

pub fn formula(source: &str) -> Program {
    compile_formula(source, &Scope::Account, &schema()).unwrap_or_else(|e| panic!("{source}: {e}"))
}

/// Evaluates a formula on the sample account at the pinned time.
pub fn value(source: &str) -> Value {
    formula(source).eval(&account(), &ctx())
}

pub fn value_on(source: &str, record: &MemoryRecord) -> Value {
    formula(source).eval(record, &ctx())
}

/// Whether a filter matches the sample account.
pub fn matches(source: &str) -> bool {
    compile_filter(source, &Scope::Account, &schema())
        .unwrap_or_else(|e| panic!("{source}: {e}"))
        .matches(&account(), &ctx())
}

pub fn formula_error(source: &str) -> RuleError {
    match compile_formula(source, &Scope::Account, &schema()) {
        Ok(_) => panic!("{source} compiled"),
        Err(e) => e,
    }
}

pub fn num(n: f64) -> Value {
    Value::Number(n)
}

pub fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}
