use steward_rules::memory::MemoryRecord;
use steward_rules::{Scope, Value, compile_formula};

use super::support::{ctx, num, schema, ts, user, value, value_on};

fn organization() -> MemoryRecord {
    let account = |status: &str, mrr: f64, users: usize| {
        let mut record = MemoryRecord::new().with("status", status).with("mrr", mrr);
        for i in 0..users {
            record = record.with_related(
                "users",
                user(&format!("u{i}"), "2024-06-01T00:00:00Z", 8.0).with("isAdmin", i == 0),
            );
        }
        record
    };
    MemoryRecord::new()
        .with_related("accounts", account("subscribed", 100.0, 2))
        .with_related("accounts", account("subscribed", 250.0, 1))
        .with_related("accounts", account("churned", 50.0, 0))
        .with_related("accounts", MemoryRecord::new().with("status", "trial"))
}

fn org_value(source: &str) -> Value {
    compile_formula(source, &Scope::Organization, &schema())
        .unwrap_or_else(|e| panic!("{source}: {e}"))
        .eval(&organization(), &ctx())
}

#[test]
fn count_sum_avg_min_max() {
    assert_eq!(value("count(users)"), num(3.0));
    assert_eq!(
        value("count(users where lastSeenTimestamp in last 30 days)"),
        num(1.0)
    );
    assert_eq!(value("count(users where npsLastScore >= 9)"), num(1.0));
    assert_eq!(value("sum(users, npsLastScore)"), num(15.0));
    assert_eq!(
        value("avg(users, npsLastScore)"),
        num(7.5),
        "nulls are skipped"
    );
    assert_eq!(value("min(users, npsLastScore)"), num(6.0));
    assert_eq!(value("max(users, npsLastScore)"), num(9.0));
    assert_eq!(
        value("max(users, lastSeenTimestamp)"),
        Value::Date(ts("2024-06-14T09:00:00Z"))
    );
    assert_eq!(
        value("min(users where npsLastScore > 0, lastSeenTimestamp)"),
        Value::Date(ts("2024-05-01T09:00:00Z"))
    );
}

#[test]
fn empty_aggregations() {
    assert_eq!(value("count(users where isAdmin)"), num(0.0));
    assert_eq!(value("sum(users where isAdmin, npsLastScore)"), num(0.0));
    assert_eq!(value("avg(users where isAdmin, npsLastScore)"), Value::Null);
    assert_eq!(value("min(users where isAdmin, npsLastScore)"), Value::Null);
    let lonely = MemoryRecord::new();
    assert_eq!(value_on("count(users)", &lonely), num(0.0));
    assert_eq!(value_on("sum(users, npsLastScore)", &lonely), num(0.0));
    assert_eq!(value_on("max(users, npsLastScore)", &lonely), Value::Null);
}

#[test]
fn organization_rollups() {
    assert_eq!(org_value("sum(accounts, mrr)"), num(400.0));
    assert_eq!(
        org_value("sum(accounts where status == \"subscribed\", mrr)"),
        num(350.0)
    );
    assert_eq!(
        org_value("count(accounts where status != \"churned\")"),
        num(3.0)
    );
    assert_eq!(org_value("avg(accounts, mrr)"), num(400.0 / 3.0));
    // Nested: users per account, summed.
    assert_eq!(org_value("sum(accounts, count(users))"), num(3.0));
    assert_eq!(
        org_value("sum(accounts, count(users where isAdmin))"),
        num(2.0)
    );
    assert_eq!(
        org_value("count(accounts where count(users) > 1 && mrr > 10)"),
        num(1.0)
    );
    assert_eq!(
        org_value("max(accounts, mrr) - min(accounts, mrr)"),
        num(200.0)
    );
    // Scalar min/max still work next to aggregations.
    assert_eq!(org_value("min(sum(accounts, mrr), 300)"), num(300.0));
}

#[test]
fn relation_paths() {
    let sibling = MemoryRecord::new().with("mrr", 7.0);
    let org = MemoryRecord::new()
        .with("mrr", 1.0)
        .with_related("accounts", sibling.clone())
        .with_related("accounts", sibling);
    let account = MemoryRecord::new().with_related("organization", org);
    assert_eq!(
        value_on("sum(organization.accounts, mrr)", &account),
        num(14.0)
    );
    assert_eq!(value_on("count(organization)", &account), num(1.0));
}
