use steward_rules::memory::MemoryRecord;
use steward_rules::{EvalContext, Scope, TimeZone, Value, compile_formula};

use super::support::{ctx, new_york, num, schema, ts, value};

/// Evaluates `source` on an account whose `lastSeenTimestamp` is `seen`, at
/// `now`, in `tz`.
fn at(source: &str, seen: &str, now: &str, tz: TimeZone) -> Value {
    let program = compile_formula(source, &Scope::Account, &schema())
        .unwrap_or_else(|e| panic!("{source}: {e}"));
    let record = MemoryRecord::new().with("lastSeenTimestamp", seen);
    program.eval(&record, &EvalContext::new(ts(now)).with_time_zone(tz))
}

fn utc(source: &str, seen: &str, now: &str) -> Value {
    at(source, seen, now, TimeZone::UTC)
}

#[test]
fn date_functions() {
    assert_eq!(value("now()"), Value::Date(ctx().now));
    assert_eq!(value("days_since(lastSeenTimestamp)"), num(5.0));
    assert_eq!(value("days_until(nextRenewalDate)"), num(16.0));
    assert_eq!(
        value("date_diff_days(\"2024-03-01\", \"2024-02-01\")"),
        num(29.0)
    );
    assert_eq!(
        value("date_diff_days(\"2024-02-01\", \"2024-03-01\")"),
        num(-29.0)
    );
    assert_eq!(
        value("date_add(nextRenewalDate, 3)"),
        Value::Date(ts("2024-07-04T00:00:00Z"))
    );
    assert_eq!(
        value("date_add(nextRenewalDate, -1)"),
        Value::Date(ts("2024-06-30T00:00:00Z"))
    );
    assert_eq!(value("date_add(nextRenewalDate, 1.5)"), Value::Null);
    assert_eq!(value("date_add(nextRenewalDate, 1e15)"), Value::Null);
    assert_eq!(value("year(nextRenewalDate)"), num(2024.0));
    assert_eq!(value("month(nextRenewalDate)"), num(7.0));
    assert_eq!(value("day(nextRenewalDate)"), num(1.0));
    assert_eq!(
        value("date(\"2024-02-03\")"),
        Value::Date(ts("2024-02-03T00:00:00Z"))
    );
    assert_eq!(value("date(plan)"), Value::Null);
    assert_eq!(value("days_since(churnedAt)"), Value::Null);
}

#[test]
fn days_are_calendar_days_in_the_zone() {
    // 03:00 UTC on the 15th is 23:00 on the 14th in New York.
    let seen = "2024-06-15T03:00:00Z";
    let now = "2024-06-15T12:00:00Z";
    assert_eq!(utc("days_since(lastSeenTimestamp)", seen, now), num(0.0));
    assert_eq!(
        at("days_since(lastSeenTimestamp)", seen, now, new_york()),
        num(1.0)
    );
    assert_eq!(
        at("day(lastSeenTimestamp)", seen, now, new_york()),
        num(14.0)
    );
    assert_eq!(
        utc("lastSeenTimestamp on \"2024-06-15\"", seen, now),
        Value::Bool(true)
    );
    assert_eq!(
        at("lastSeenTimestamp on \"2024-06-14\"", seen, now, new_york()),
        Value::Bool(true)
    );
    assert_eq!(
        at("lastSeenTimestamp on \"2024-06-15\"", seen, now, new_york()),
        Value::Bool(false)
    );
    // A date-only string is the start of that day in the zone.
    assert_eq!(
        at("date(\"2024-06-15\")", seen, now, new_york()),
        Value::Date(ts("2024-06-15T04:00:00Z"))
    );
    // A string with an offset is an instant everywhere.
    assert_eq!(
        at("date(\"2024-06-15T00:00:00Z\")", seen, now, new_york()),
        Value::Date(ts("2024-06-15T00:00:00Z"))
    );
}

#[test]
fn before_on_after_and_between_compare_days() {
    let late = "2024-01-31T23:00:00Z";
    let now = "2024-06-15T12:00:00Z";
    assert_eq!(
        utc("lastSeenTimestamp after \"2024-01-31\"", late, now),
        Value::Bool(false)
    );
    assert_eq!(
        utc("lastSeenTimestamp after \"2024-01-30\"", late, now),
        Value::Bool(true)
    );
    assert_eq!(
        utc("lastSeenTimestamp before \"2024-02-01\"", late, now),
        Value::Bool(true)
    );
    assert_eq!(
        utc("lastSeenTimestamp before \"2024-01-31\"", late, now),
        Value::Bool(false)
    );
    assert_eq!(
        utc("lastSeenTimestamp on \"2024-01-31\"", late, now),
        Value::Bool(true)
    );
    assert_eq!(
        utc(
            "lastSeenTimestamp between \"2024-01-01\" and \"2024-01-31\"",
            late,
            now
        ),
        Value::Bool(true)
    );
    assert_eq!(
        utc(
            "lastSeenTimestamp between \"2024-02-01\" and \"2024-02-28\"",
            late,
            now
        ),
        Value::Bool(false)
    );
    // Instant precision with `<` and `>`.
    assert_eq!(
        utc("lastSeenTimestamp > \"2024-01-31\"", late, now),
        Value::Bool(true)
    );
    // In New York the same instant is still January 31st at 18:00.
    assert_eq!(
        at(
            "lastSeenTimestamp after \"2024-01-30\"",
            late,
            now,
            new_york()
        ),
        Value::Bool(true)
    );
    assert_eq!(
        utc("lastSeenTimestamp on \"2024-02-01\"", "", now),
        Value::Null
    );
}

#[test]
fn relative_windows() {
    let seen = "2024-06-10T08:00:00Z";
    let now = "2024-06-15T12:00:00Z";
    let check = |source: &str, expected: bool| {
        assert_eq!(utc(source, seen, now), Value::Bool(expected), "{source}");
    };
    check("lastSeenTimestamp in last 5 days", false);
    check("lastSeenTimestamp in last 6 days", true);
    check("lastSeenTimestamp in last 0 days", false);
    check("lastSeenTimestamp in next 30 days", false);
    check("lastSeenTimestamp more than 5 days ago", true);
    check("lastSeenTimestamp more than 6 days ago", false);
    check("lastSeenTimestamp more than 1 days from now", false);
    check("date_add(lastSeenTimestamp, 20) in next 15 days", true);
    check("date_add(lastSeenTimestamp, 20) in next 14 days", false);
    check(
        "date_add(lastSeenTimestamp, 20) more than 14 days from now",
        true,
    );
    check(
        "date_add(lastSeenTimestamp, 20) more than 15 days from now",
        false,
    );
    check("date_add(lastSeenTimestamp, 20) in last 30 days", false);
    // Window edges are inclusive.
    assert_eq!(
        utc(
            "lastSeenTimestamp in last 5 days",
            "2024-06-10T12:00:00Z",
            now
        ),
        Value::Bool(true)
    );
    assert_eq!(
        utc("lastSeenTimestamp in last 5 days", now, now),
        Value::Bool(true)
    );
    // Unset dates and non-whole day counts are unknown.
    assert_eq!(
        utc("lastSeenTimestamp in last 5 days", "", now),
        Value::Null
    );
    assert_eq!(
        utc("lastSeenTimestamp in last (1 / 2) days", seen, now),
        Value::Null
    );
    assert_eq!(
        utc("lastSeenTimestamp in last (0 - 1) days", seen, now),
        Value::Null
    );
}

#[test]
fn windows_count_calendar_days_across_daylight_saving() {
    // New York springs forward on 2024-03-10: that day has 23 hours.
    let seen = "2024-03-09T17:00:00Z"; // 12:00 EST
    let now = "2024-03-10T16:30:00Z"; // 12:30 EDT, 23.5 hours later
    assert_eq!(
        utc("lastSeenTimestamp in last 1 days", seen, now),
        Value::Bool(true)
    );
    assert_eq!(
        at("lastSeenTimestamp in last 1 days", seen, now, new_york()),
        Value::Bool(false)
    );
    assert_eq!(
        at("date_add(lastSeenTimestamp, 1)", seen, now, new_york()),
        Value::Date(ts("2024-03-10T16:00:00Z"))
    );
}
