use steward_rules::{ErrorCode, Expr, ExprKind, MAX_DEPTH, MAX_INPUT_LEN, parse};

/// Parses and prints, checking the printed form parses to the same tree.
fn canonical(source: &str) -> String {
    let expr = parse(source).unwrap_or_else(|e| panic!("{source}: {e}"));
    let printed = expr.to_string();
    assert_eq!(
        parse(&printed).unwrap(),
        expr,
        "{source} printed as {printed}"
    );
    printed
}

fn syntax_error(source: &str) -> (String, std::ops::Range<usize>) {
    let error = parse(source).unwrap_err();
    (error.message, error.span.expect("syntax errors have spans"))
}

#[test]
fn precedence_follows_the_usual_rules() {
    assert_eq!(canonical("1 + 2 * 3"), "1 + 2 * 3");
    assert_eq!(canonical("(1 + 2) * 3"), "(1 + 2) * 3");
    assert_eq!(canonical("1 - (2 - 3)"), "1 - (2 - 3)");
    assert_eq!(canonical("(1 - 2) - 3"), "1 - 2 - 3");
    assert_eq!(canonical("a || b && c"), "a || b && c");
    assert_eq!(canonical("(a || b) && c"), "(a || b) && c");
    assert_eq!(canonical("!a == b"), "!a == b");
    assert_eq!(canonical("!(a == b)"), "!(a == b)");
    assert_eq!(canonical("-x * 2"), "-x * 2");
    assert_eq!(canonical("a && (b && c)"), "a && (b && c)");
}

#[test]
fn logic_chains_are_one_node() {
    let expr = parse("a && b && c && d").unwrap();
    let ExprKind::Logic { operands, .. } = expr.kind else {
        panic!("expected a logic node");
    };
    assert_eq!(operands.len(), 4);
}

#[test]
fn negative_literals_round_trip() {
    assert_eq!(parse("-5").unwrap().kind, ExprKind::Number(-5.0));
    assert_eq!(canonical("a - -5"), "a - -5");
    assert_eq!(canonical("-(5)"), "-(5)");
    assert_eq!(canonical("--5"), "--5");
    assert_eq!(canonical("1.5e3"), "1500");
}

#[test]
fn predicates_and_keywords() {
    for source in [
        "lastSeenTimestamp in last 14 days",
        "nextRenewalDate in next 30 days",
        "churnedAt more than 90 days ago",
        "trialEndDate more than 7 days from now",
        "churnedAt is set",
        "churnedAt is not set",
        "mrr between 10 and 20",
        "churnedAt before \"2024-01-01\"",
        "churnedAt on date(\"2024-01-01\")",
        "churnedAt after \"2024-01-01\"",
        "plan in [\"pro\", \"enterprise\"]",
        "count(users where lastSeenTimestamp in last 30 days)",
        "sum(accounts where status == \"subscribed\", mrr)",
        "if mrr > 100 then \"big\" else \"small\"",
    ] {
        assert_eq!(canonical(source), source);
    }
    assert_eq!(canonical("plan not in [\"a\"]"), "!(plan in [\"a\"])");
    assert_eq!(canonical("x in last (7 + 7) days"), "x in last 7 + 7 days");
}

#[test]
fn keywords_are_contextual() {
    // A field called `on` or `days` still parses in operand position ...
    assert_eq!(
        parse("on + days").unwrap().kind,
        parse("`on` + `days`").unwrap().kind
    );
    // ... and prints quoted, so it can never be misread.
    assert_eq!(canonical("on + days"), "`on` + `days`");
    // `in last` is a window only when an operand follows.
    assert_eq!(canonical("plan in last"), "plan in `last`");
    assert_eq!(canonical("`last`(1)"), "`last`(1)");
}

#[test]
fn names_with_odd_characters_use_backticks() {
    assert_eq!(
        parse("`vitally.custom.nextStep`").unwrap().kind,
        ExprKind::Path(vec!["vitally.custom.nextStep".into()])
    );
    assert_eq!(
        parse("vitally.custom.nextStep").unwrap().kind,
        ExprKind::Path(vec!["vitally".into(), "custom".into(), "nextStep".into()])
    );
    assert_eq!(
        canonical("`utm-source` == \"ads\""),
        "`utm-source` == \"ads\""
    );
    assert_eq!(canonical("`a\\`b`"), "`a\\`b`");
}

#[test]
fn strings_escape_and_unescape() {
    let expr = parse(r#""a\"b\\c\n\u{1F600}""#).unwrap();
    assert_eq!(expr.kind, ExprKind::String("a\"b\\c\n😀".into()));
    assert_eq!(canonical(r#""tab\there""#), r#""tab\there""#);
    assert_eq!(canonical("\"\u{7}\""), r#""\u{7}""#);
}

#[test]
fn spans_cover_their_source() {
    let source = "mrr + lower(name)";
    let expr = parse(source).unwrap();
    assert_eq!((expr.span.start, expr.span.end), (0, source.len()));
    let ExprKind::Binary { rhs, .. } = &expr.kind else {
        panic!()
    };
    assert_eq!(&source[rhs.span.start..rhs.span.end], "lower(name)");
}

#[test]
fn trailing_commas_are_fine() {
    assert_eq!(canonical("[\"a\", \"b\",]"), "[\"a\", \"b\"]");
    assert_eq!(canonical("max(1, 2,)"), "max(1, 2)");
}

#[test]
fn syntax_errors_explain_themselves() {
    assert_eq!(
        syntax_error("mrr = 5"),
        ("use `==` to compare values".into(), 4..5)
    );
    assert_eq!(
        syntax_error("a ? b : c").0,
        "write conditionals as `if cond then a else b`"
    );
    assert_eq!(
        syntax_error("mrr >"),
        ("expected an expression, found end of input".into(), 5..5)
    );
    assert_eq!(
        syntax_error("mrr > 1 plan"),
        (
            "expected an operator or the end, found `plan`".into(),
            8..12
        )
    );
    assert_eq!(
        syntax_error("a < b < c").0,
        "comparisons cannot be chained; combine them with `&&` or add parentheses"
    );
    assert_eq!(
        syntax_error("x in last 14d").0,
        "invalid number `14d` (write durations as `in last 14 days`)"
    );
    assert_eq!(syntax_error("\"open").0, "unterminated string");
    assert_eq!(
        syntax_error("x in last 3").0,
        "expected `days`, found end of input"
    );
    assert_eq!(
        syntax_error("x more than 3 days").0,
        "expected `ago` or `from now`, found end of input"
    );
    assert_eq!(
        syntax_error("(1 + 2) where x").0,
        "`where` must follow a relation name, as in `count(users where ...)`"
    );
    assert_eq!(
        syntax_error("a.b(1)").0,
        "only plain function names can be called, as in `lower(name)`"
    );
    assert_eq!(syntax_error("1 & 2").0, "use `&&` for \"and\"");
    assert_eq!(syntax_error("1e999").0, "number `1e999` is too large");
    assert_eq!(syntax_error("#").0, "unexpected character `#`");
    assert_eq!(syntax_error("``").0, "empty `` ` `` name");
    assert_eq!(
        syntax_error(r#""\q""#).0,
        "unknown escape; use \\\" \\\\ \\` \\n \\t \\r or \\u{...}"
    );
    assert_eq!(
        syntax_error("").0,
        "expected an expression, found end of input"
    );
}

#[test]
fn limits_stop_hostile_input() {
    let long = "1".repeat(MAX_INPUT_LEN + 1);
    assert_eq!(parse(&long).unwrap_err().code, ErrorCode::InputTooLong);

    let parens = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    assert_eq!(parse(&parens).unwrap_err().code, ErrorCode::TooDeeplyNested);

    let nots = format!("{}x", "!".repeat(5000));
    assert_eq!(parse(&nots).unwrap_err().code, ErrorCode::TooDeeplyNested);

    // Left-leaning chains are built in a loop but are still deep trees.
    let chain = vec!["1"; 2000].join(" + ");
    assert_eq!(parse(&chain).unwrap_err().code, ErrorCode::TooDeeplyNested);

    let path = vec!["organization"; 200].join(".");
    assert_eq!(parse(&path).unwrap_err().code, ErrorCode::TooDeeplyNested);

    // Wide is fine: && chains and lists are flat.
    let wide = vec!["a"; 2000].join(" && ");
    assert!(parse(&wide).is_ok());

    let ok_depth = format!(
        "{}1{}",
        "(".repeat(MAX_DEPTH - 1),
        ")".repeat(MAX_DEPTH - 1)
    );
    assert!(parse(&ok_depth).is_ok());
}

#[test]
fn equality_ignores_spans() {
    let a: Expr = parse("mrr+1").unwrap();
    let b: Expr = parse("  mrr  +  1 ").unwrap();
    assert_eq!(a, b);
    assert_ne!(a.span, b.span);
}

#[test]
fn fuzz_seeds_are_valid_expressions() {
    use steward_rules::memory::MemorySchema;
    use steward_rules::{Program, Scope};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse");
    let schema = MemorySchema::demo();
    let mut seeds = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let expr = parse(&source).unwrap_or_else(|e| panic!("{source}: {e}"));
        let compiles = [Scope::Organization, Scope::Account, Scope::User]
            .iter()
            .any(|scope| Program::formula(&expr, scope, &schema).is_ok());
        assert!(compiles, "{source} does not check in any scope");
        seeds += 1;
    }
    assert!(seeds >= 10);
}
