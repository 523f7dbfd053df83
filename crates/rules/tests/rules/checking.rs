use steward_rules::{ErrorCode, Expr, ExprKind, Program, Scope, Span, Type, compile_filter};

use super::support::{formula, formula_error, schema};

fn error_text(source: &str) -> String {
    formula_error(source).to_string()
}

#[test]
fn unknown_names_suggest_the_nearest() {
    let error = formula_error("mrrr + 1");
    assert_eq!(error.code, ErrorCode::UnknownField);
    assert_eq!(error.span, Some(0..4));
    assert_eq!(error.message, "unknown trait `mrrr`, did you mean `mrr`?");
    assert_eq!(
        error_text("mrrr + 1"),
        "unknown trait `mrrr`, did you mean `mrr`? at 0..4"
    );

    assert_eq!(
        error_text("organization.mrrr"),
        "unknown trait `mrrr` on `organization`, did you mean `mrr`? at 0..17"
    );
    assert_eq!(
        error_text("owner.emial"),
        "unknown trait `owner.emial`, did you mean `owner.email`? at 0..11"
    );
    assert_eq!(error_text("zzz"), "unknown trait `zzz` at 0..3");
    assert_eq!(
        error_text("lowr(name)"),
        "unknown function `lowr`, did you mean `lower`? at 0..10"
    );
    assert_eq!(formula_error("lowr(name)").code, ErrorCode::UnknownFunction);
    assert_eq!(
        error_text("count(userz)"),
        "the first argument is not a relation of account; `count` takes a relation, as in \
         `count(users where lastSeenTimestamp in last 30 days)`, did you mean `users`? at 6..11"
    );
    assert_eq!(
        error_text("count(userz where isAdmin)"),
        "unknown relation `userz` on account, did you mean `users`? at 6..11"
    );
}

#[test]
fn type_errors_name_the_spot() {
    assert_eq!(
        error_text("mrr + lower(name)"),
        "`+` expects numbers, found string; join strings with concat(a, b) at 6..17"
    );
    assert_eq!(formula_error("mrr + name").code, ErrorCode::TypeMismatch);
    assert_eq!(
        error_text("nextRenewalDate - 1"),
        "`-` expects numbers, found date; use date_add(d, days) or date_diff_days(a, b) at 0..15"
    );
    assert_eq!(
        error_text("mrr == \"x\""),
        "`==` cannot compare number with string at 0..10"
    );
    assert_eq!(
        error_text("tags < tags"),
        "`<` expects numbers, dates or strings, found list at 0..4"
    );
    assert_eq!(
        error_text("!mrr"),
        "`!` expects a boolean, found number at 1..4"
    );
    assert_eq!(
        error_text("mrr && isTrial"),
        "`&&` expects a boolean, found number at 0..3"
    );
    assert_eq!(
        error_text("plan in \"pro\""),
        "`in` expects a list on the right, found string; to search text use contains(text, part) at 8..13"
    );
    assert_eq!(
        error_text("mrr in tags"),
        "`in` expects a string, found number at 0..3"
    );
    assert_eq!(
        error_text("if isTrial then 1 else \"x\""),
        "`if` branches have different types: number and string at 23..26"
    );
    assert_eq!(
        error_text("if mrr then 1 else 2"),
        "`if` expects a boolean, found number at 3..6"
    );
    assert_eq!(
        error_text("lower(mrr)"),
        "`lower` expects a string, found number at 6..9"
    );
    assert_eq!(
        error_text("lower(name, name)"),
        "`lower` takes 1 argument, got 2 at 0..17"
    );
    assert_eq!(
        error_text("round()"),
        "`round` takes 1 to 2 arguments, got 0 at 0..7"
    );
    assert_eq!(
        error_text("coalesce()"),
        "`coalesce` takes at least 1 arguments, got 0 at 0..10"
    );
    assert_eq!(
        error_text("coalesce(mrr, name)"),
        "`coalesce` arguments must share a type: found number and string at 14..18"
    );
    assert_eq!(
        error_text("len(mrr)"),
        "`len` expects a string or a list, found number at 4..7"
    );
    assert_eq!(
        error_text("min(name, plan)"),
        "`min` expects numbers or dates, found string at 0..15"
    );
    assert_eq!(
        error_text("days_since(mrr)"),
        "`days_since` expects a date, found number at 11..14"
    );
    assert_eq!(
        error_text("mrr between \"a\" and 2"),
        "`between` expects numbers or dates, found string at 12..15"
    );
    assert_eq!(
        error_text("mrr in last 3 days"),
        "a date window expects a date, found number at 0..3"
    );
    assert_eq!(
        error_text("mrr on \"2024-01-01\""),
        "`on` expects a date, found number at 0..3"
    );
    assert_eq!(
        error_text("[mrr]"),
        "a list expects a string, found number at 1..4"
    );
    assert_eq!(
        error_text("sum(users, name)"),
        "`sum` expects a number, found string at 11..15"
    );
    assert_eq!(
        error_text("max(users, name)"),
        "`max` expects numbers or dates, found string at 11..15"
    );
    assert_eq!(
        error_text("count(users where npsLastScore)"),
        "`where` expects a boolean, found number at 18..30"
    );
    assert_eq!(
        error_text("sum(users)"),
        "`sum` takes a relation and a value, as in `sum(accounts where status == \"subscribed\", mrr)` at 0..10"
    );
}

#[test]
fn relations_are_not_values() {
    assert_eq!(
        error_text("users"),
        "`users` is a list of records; aggregate it, as in `count(users)` at 0..5"
    );
    assert_eq!(
        error_text("organization"),
        "`organization` is a record; read one of its fields, as in `organization.mrr` at 0..12"
    );
    assert_eq!(
        error_text("users.name"),
        "`users` holds many records; aggregate it, as in `sum(users, name)` at 0..10"
    );
    assert_eq!(
        error_text("(users where isAdmin)"),
        "`where` only filters the relation of an aggregation, as in `count(users where ...)` at 1..20"
    );
}

#[test]
fn null_comparisons_are_rejected_with_a_hint() {
    assert_eq!(
        error_text("churnedAt == null"),
        "comparing with null is never true; write `x is not set` at 13..17"
    );
    assert_eq!(
        error_text("churnedAt != null"),
        "comparing with null is never true; write `x is set` at 13..17"
    );
}

#[test]
fn invalid_literals_are_caught_when_checking() {
    let error = formula_error("churnedAt < \"next tuesday\"");
    assert_eq!(error.code, ErrorCode::InvalidLiteral);
    assert_eq!(error.span, Some(12..26));
    assert_eq!(
        formula_error("date(\"2024-13-01\")").code,
        ErrorCode::InvalidLiteral
    );
    assert_eq!(
        error_text("lastSeenTimestamp in last 1.5 days"),
        "the number of days must be a whole number, zero or more at 26..29"
    );
    assert_eq!(
        formula_error("lastSeenTimestamp in last -1 days").code,
        ErrorCode::InvalidLiteral
    );
}

#[test]
fn formulas_infer_their_type() {
    for (source, ty) in [
        ("mrr * 12", Type::Number),
        ("concat(name, \"!\")", Type::String),
        ("date_add(nextRenewalDate, 3)", Type::Date),
        ("tags", Type::List),
        ("mrr > 1", Type::Bool),
        ("coalesce(null, mrr)", Type::Number),
        ("notes", Type::Any),
        ("if isTrial then null else plan", Type::String),
        ("max(users, lastSeenTimestamp)", Type::Date),
        ("max(mrr, arr)", Type::Number),
        ("count(users)", Type::Number),
        ("nextRenewalDate", Type::Date),
        ("\"2024-01-01\"", Type::String),
        ("date(\"2024-01-01\")", Type::Date),
    ] {
        assert_eq!(formula(source).ty(), ty, "{source}");
    }
}

#[test]
fn filters_must_be_boolean() {
    let error = compile_filter("mrr * 2", &Scope::Account, &schema()).unwrap_err();
    assert_eq!(error.code, ErrorCode::TypeMismatch);
    assert_eq!(
        error.message,
        "a filter must be true or false, but this is number"
    );
    // Untyped values are allowed and checked when evaluated.
    assert!(compile_filter("notes", &Scope::Account, &schema()).is_ok());
}

#[test]
fn strings_meet_dates_as_dates() {
    assert!(formula("churnedAt < \"2024-01-01\"").ty() == Type::Bool);
    assert!(formula("\"2024-01-01T10:00:00+02:00\" > nextRenewalDate").ty() == Type::Bool);
    assert!(formula("notes > nextRenewalDate").ty() == Type::Bool);
}

#[test]
fn hand_built_trees_are_depth_checked() {
    let mut expr = Expr::new(ExprKind::Bool(true), Span::default());
    for _ in 0..10_000 {
        expr = Expr::new(
            ExprKind::Unary {
                op: steward_rules::UnaryOp::Not,
                operand: Box::new(expr),
            },
            Span::default(),
        );
    }
    let error = Program::formula(&expr, &Scope::Account, &schema()).unwrap_err();
    assert_eq!(error.code, ErrorCode::TooDeeplyNested);
    // Dropping a deep hand-built tree is the caller's business; forget it
    // here so the test does not depend on the stack size.
    std::mem::forget(expr);
}

#[test]
fn errors_serialize_for_http_bodies() {
    let error = formula_error("mrrr");
    let json = serde_json::to_value(&error).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "code": "unknown_field",
            "message": "unknown trait `mrrr`, did you mean `mrr`?",
            "span": {"start": 0, "end": 4}
        })
    );
    assert_eq!(ErrorCode::TooDeeplyNested.as_str(), "too_deeply_nested");
}
