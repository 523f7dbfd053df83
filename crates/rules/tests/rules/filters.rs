use serde_json::json;
use steward_rules::{ErrorCode, Filter, Operator, Scope, parse};

use super::support::{account, ctx, schema};

fn text(json: serde_json::Value) -> String {
    Filter::from_json(&json).unwrap().to_expr().to_string()
}

fn shape_error(json: serde_json::Value) -> String {
    Filter::from_json(&json).unwrap_err().to_string()
}

fn matches(json: serde_json::Value) -> bool {
    Filter::from_json(&json)
        .unwrap()
        .compile(&Scope::Account, &schema())
        .unwrap_or_else(|e| panic!("{e}"))
        .matches(&account(), &ctx())
}

fn condition(field: &str, op: &str, value: serde_json::Value) -> serde_json::Value {
    if value.is_null() {
        json!({"field": field, "op": op})
    } else {
        json!({"field": field, "op": op, "value": value})
    }
}

#[test]
fn the_documented_example() {
    let json = json!({"all": [
        {"field": "mrr", "op": "gt", "value": 100},
        {"any": [
            {"field": "plan", "op": "is_any_of", "value": ["pro", "enterprise"]},
            {"field": "churnedAt", "op": "is_not_set"}
        ]}
    ]});
    assert_eq!(
        text(json.clone()),
        r#"mrr > 100 && (plan in ["pro", "enterprise"] || churnedAt is not set)"#
    );
    assert!(matches(json));
}

#[test]
fn every_operator_converts_and_evaluates() {
    let cases = [
        ("plan", "is", json!("pro"), "plan == \"pro\"", true),
        ("mrr", "is", json!(500), "mrr == 500", true),
        ("isTrial", "is", json!(false), "isTrial == false", true),
        ("plan", "is_not", json!("pro"), "plan != \"pro\"", false),
        (
            "owner.email",
            "contains",
            json!("@Acme"),
            "contains(owner.email, \"@Acme\")",
            true,
        ),
        (
            "owner.email",
            "does_not_contain",
            json!("@Acme"),
            "!contains(owner.email, \"@Acme\")",
            false,
        ),
        (
            "name",
            "starts_with",
            json!("Ac"),
            "starts_with(name, \"Ac\")",
            true,
        ),
        (
            "name",
            "ends_with",
            json!("me"),
            "ends_with(name, \"me\")",
            true,
        ),
        (
            "plan",
            "is_any_of",
            json!(["pro"]),
            "plan in [\"pro\"]",
            true,
        ),
        (
            "plan",
            "is_none_of",
            json!(["pro"]),
            "!(plan in [\"pro\"])",
            false,
        ),
        ("plan", "is_set", json!(null), "plan is set", true),
        ("plan", "is_not_set", json!(null), "plan is not set", false),
        ("mrr", "eq", json!(500), "mrr == 500", true),
        ("mrr", "ne", json!(500), "mrr != 500", false),
        ("mrr", "gt", json!(499.5), "mrr > 499.5", true),
        ("mrr", "gte", json!(500), "mrr >= 500", true),
        ("mrr", "lt", json!(500), "mrr < 500", false),
        ("mrr", "lte", json!(500), "mrr <= 500", true),
        (
            "mrr",
            "between",
            json!([100, 500]),
            "mrr between 100 and 500",
            true,
        ),
        (
            "nextRenewalDate",
            "before",
            json!("2024-07-02"),
            "nextRenewalDate before date(\"2024-07-02\")",
            true,
        ),
        (
            "nextRenewalDate",
            "after",
            json!("2024-07-01"),
            "nextRenewalDate after date(\"2024-07-01\")",
            false,
        ),
        (
            "nextRenewalDate",
            "on",
            json!("2024-07-01"),
            "nextRenewalDate on date(\"2024-07-01\")",
            true,
        ),
        (
            "nextRenewalDate",
            "between",
            json!(["2024-06-01", "2024-07-01"]),
            "nextRenewalDate between date(\"2024-06-01\") and date(\"2024-07-01\")",
            true,
        ),
        (
            "lastSeenTimestamp",
            "in_last_days",
            json!(7),
            "lastSeenTimestamp in last 7 days",
            true,
        ),
        (
            "nextRenewalDate",
            "in_next_days",
            json!(10),
            "nextRenewalDate in next 10 days",
            false,
        ),
        (
            "lastSeenTimestamp",
            "more_than_days_ago",
            json!(3),
            "lastSeenTimestamp more than 3 days ago",
            true,
        ),
        (
            "nextRenewalDate",
            "more_than_days_from_now",
            json!(10),
            "nextRenewalDate more than 10 days from now",
            true,
        ),
        ("isTrial", "is_true", json!(null), "isTrial == true", false),
        ("isTrial", "is_false", json!(null), "isTrial == false", true),
        (
            "tags",
            "contains_any",
            json!(["vip", "x"]),
            "contains_any(tags, [\"vip\", \"x\"])",
            true,
        ),
        (
            "tags",
            "contains_all",
            json!(["vip", "x"]),
            "contains_all(tags, [\"vip\", \"x\"])",
            false,
        ),
        (
            "tags",
            "contains_none",
            json!(["x"]),
            "contains_none(tags, [\"x\"])",
            true,
        ),
        (
            "organization.mrr",
            "gt",
            json!(1000),
            "organization.mrr > 1000",
            true,
        ),
        (
            "vitally.custom.nextStep",
            "is",
            json!("call"),
            "vitally.custom.nextStep == \"call\"",
            true,
        ),
    ];
    for (field, op, value, expected_text, expected_match) in cases {
        let json = condition(field, op, value);
        assert_eq!(text(json.clone()), expected_text, "{op}");
        assert_eq!(matches(json.clone()), expected_match, "{op}");
        // The JSON form survives a round trip through `Filter`.
        let filter = Filter::from_json(&json).unwrap();
        assert_eq!(filter.to_json(), json, "{op}");
        // And the text form means the same.
        assert_eq!(parse(expected_text).unwrap(), filter.to_expr(), "{op}");
    }
}

#[test]
fn groups_not_and_expr() {
    assert_eq!(text(json!({"all": []})), "true");
    assert_eq!(text(json!({"any": []})), "false");
    assert_eq!(
        text(json!({"all": [condition("mrr", "gt", json!(1))]})),
        "mrr > 1"
    );
    assert_eq!(
        text(
            json!({"not": {"any": [condition("mrr", "gt", json!(1)), condition("mrr", "lt", json!(0))]}})
        ),
        "!(mrr > 1 || mrr < 0)"
    );
    let with_text = json!({"all": [
        {"expr": "count(users where lastSeenTimestamp in last 30 days) >= 1"},
        {"field": "plan", "op": "is", "value": "pro"}
    ]});
    assert_eq!(
        text(with_text.clone()),
        "count(users where lastSeenTimestamp in last 30 days) >= 1 && plan == \"pro\""
    );
    assert!(matches(with_text));
    assert!(!matches(json!({"any": []})));
}

#[test]
fn shape_errors_name_the_json_path() {
    assert_eq!(
        shape_error(
            json!({"all": [{"field": "mrr", "op": "gt", "value": 1}, {"field": "mrr", "op": "gt", "value": "x"}]})
        ),
        "all[1].value: expected a number"
    );
    assert_eq!(
        shape_error(json!({"any": [{"all": [{"field": "mrr", "op": "gtt", "value": 1}]}]})),
        "any[0].all[0].op: unknown operator `gtt`, did you mean `gt`?"
    );
    assert_eq!(
        Filter::from_json(&json!({"field": "mrr", "op": "bigger"}))
            .unwrap_err()
            .code,
        ErrorCode::UnknownOperator
    );
    assert_eq!(
        shape_error(json!([1])),
        "expected an object with `all`, `any`, `not`, `expr`, or `field` and `op`"
    );
    assert_eq!(
        shape_error(json!({"all": {}})),
        "all: expected an array of filters"
    );
    assert_eq!(
        shape_error(json!({"all": [], "any": []})),
        "`all` cannot be combined with `any` in one object"
    );
    assert_eq!(
        shape_error(json!({"field": "mrr", "op": "gt", "valu": 1})),
        "valu: unknown key `valu`; a condition has `field`, `op` and `value`"
    );
    assert_eq!(
        shape_error(json!({"field": "", "op": "is_set"})),
        "field: expected a field name"
    );
    assert_eq!(shape_error(json!({"field": "x"})), "op: missing operator");
    assert_eq!(
        shape_error(json!({"field": "x", "op": "is_set", "value": 1})),
        "value: expected no value for this operator"
    );
    assert_eq!(
        shape_error(json!({"field": "x", "op": "is_any_of", "value": ["a", 1]})),
        "value: expected an array of strings"
    );
    assert_eq!(
        shape_error(json!({"field": "x", "op": "before", "value": "soon"})),
        "value: expected an ISO-8601 date such as \"2024-01-31\""
    );
    assert_eq!(
        shape_error(json!({"field": "x", "op": "in_last_days", "value": -1})),
        "value: expected a whole number of days, zero or more"
    );
    assert_eq!(
        shape_error(json!({"field": "x", "op": "in_last_days", "value": 1.5})),
        "value: expected a whole number of days, zero or more"
    );
    assert_eq!(
        shape_error(json!({"field": "x", "op": "between", "value": [1]})),
        "value: expected a two-item array of numbers or of ISO-8601 dates, low first"
    );
    assert_eq!(
        shape_error(json!({"field": "x", "op": "is", "value": null})),
        "value: expected a string, number or boolean"
    );
    assert_eq!(
        shape_error(json!({"all": [{"expr": "mrr >"}]})),
        "all[0].expr: expected an expression, found end of input at 5..5"
    );
    assert_eq!(shape_error(json!({"expr": 5})), "expr: expected a string");
}

#[test]
fn check_errors_name_the_json_path() {
    let compile = |json: serde_json::Value| {
        Filter::from_json(&json)
            .unwrap()
            .compile(&Scope::Account, &schema())
            .unwrap_err()
    };
    let error = compile(json!({"all": [
        {"field": "mrr", "op": "gt", "value": 1},
        {"any": [{"field": "mrrr", "op": "gt", "value": 1}]}
    ]}));
    assert_eq!(
        error.to_string(),
        "all[1].any[0].field: unknown trait `mrrr`, did you mean `mrr`?"
    );
    assert_eq!(error.span, None);

    let error = compile(json!({"all": [{"field": "plan", "op": "gt", "value": 1}]}));
    assert_eq!(
        error.to_string(),
        "all[0].op: `>` cannot compare string with number"
    );

    let error = compile(json!({"any": [
        {"field": "plan", "op": "is", "value": "pro"},
        {"expr": "lower(mrr) == \"x\""}
    ]}));
    assert_eq!(
        error.to_string(),
        "any[1].expr: `lower` expects a string, found number at 6..9"
    );
    assert_eq!(error.span, Some(6..9));
}

#[test]
fn deep_json_is_rejected() {
    let mut json = json!({"field": "mrr", "op": "is_set"});
    for _ in 0..100 {
        json = json!({"not": json});
    }
    assert_eq!(
        Filter::from_json(&json).unwrap_err().code,
        ErrorCode::TooDeeplyNested
    );
}

#[test]
fn wide_json_is_fine() {
    let conditions: Vec<_> = (0..1000)
        .map(|i| condition("mrr", "gt", json!(i)))
        .collect();
    let filter = Filter::from_json(&json!({"any": conditions})).unwrap();
    let program = filter.compile(&Scope::Account, &schema()).unwrap();
    assert!(program.matches(&account(), &ctx()));
    assert_eq!(
        parse(&filter.to_expr().to_string()).unwrap(),
        filter.to_expr()
    );
}

#[test]
fn serde_integration() {
    let filter: Filter = serde_json::from_str(r#"{"field":"mrr","op":"gte","value":10}"#).unwrap();
    assert_eq!(
        filter,
        Filter::Condition(steward_rules::Condition {
            field: "mrr".into(),
            op: Operator::Gte(10.0)
        })
    );
    assert_eq!(
        serde_json::to_string(&filter).unwrap(),
        r#"{"field":"mrr","op":"gte","value":10}"#
    );
    let error =
        serde_json::from_str::<Filter>(r#"{"field":"mrr","op":"gte","value":"x"}"#).unwrap_err();
    assert!(
        error.to_string().contains("value: expected a number"),
        "{error}"
    );
    assert_eq!(
        Filter::from_json_str("{").unwrap_err().code,
        ErrorCode::InvalidFilter
    );
}
