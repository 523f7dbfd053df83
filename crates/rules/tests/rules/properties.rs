//! Property tests: printing round-trips, the JSON form round-trips, the
//! parser never panics, and evaluating well-typed expressions never panics.

use proptest::prelude::*;
use steward_rules::memory::MemoryRecord;
use steward_rules::{
    BinaryOp, Condition, DayOp, EvalContext, Expr, ExprKind, FieldRef, Filter, LogicOp, Operator,
    Record, RelationRef, Scalar, Scope, Span, Type, UnaryOp, Value, WindowOp, compile_formula,
    parse,
};

use super::support::{account, ctx, schema, ts};

// ---------------------------------------------------------------------------
// Random syntax trees.

fn node(kind: ExprKind) -> Expr {
    Expr::new(kind, Span::default())
}

fn arb_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "mrr", "plan", "users", "in", "is", "on", "days", "last", "next", "where", "not",
            "set", "and", "then", "else", "if", "true", "null", "now", "more", "from", "ago",
        ])
        .prop_map(str::to_owned),
        2 => "[a-zA-Z_][a-zA-Z0-9_]{0,6}",
        1 => "\\PC{1,4}",
        1 => any::<String>().prop_filter("names are not empty", |s| !s.is_empty()),
    ]
}

fn arb_number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |n| n.is_finite()),
        prop::sample::select(vec![0.0, -0.0, 1.0, -1.0, 0.5, 1e21, -2.5e-7, 42.0]),
    ]
}

fn arb_path() -> impl Strategy<Value = Expr> {
    prop::collection::vec(arb_name(), 1..4).prop_map(|segments| node(ExprKind::Path(segments)))
}

fn arb_leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        Just(node(ExprKind::Null)),
        any::<bool>().prop_map(|b| node(ExprKind::Bool(b))),
        arb_number().prop_map(|n| node(ExprKind::Number(n))),
        any::<String>().prop_map(|s| node(ExprKind::String(s))),
        arb_path(),
    ]
}

fn arb_expr() -> impl Strategy<Value = Expr> {
    let binary_ops = vec![
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Rem,
        BinaryOp::Eq,
        BinaryOp::Ne,
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Gt,
        BinaryOp::Ge,
        BinaryOp::In,
    ];
    let windows = vec![
        WindowOp::InLast,
        WindowOp::InNext,
        WindowOp::MoreThanAgo,
        WindowOp::MoreThanFromNow,
    ];
    arb_leaf().prop_recursive(4, 48, 4, move |inner| {
        let boxed = |e: Expr| Box::new(e);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| node(ExprKind::List(items))),
            (
                prop::sample::select(vec![UnaryOp::Not, UnaryOp::Neg]),
                inner.clone()
            )
                .prop_map(move |(op, operand)| node(ExprKind::Unary {
                    op,
                    operand: boxed(operand)
                })),
            (
                prop::sample::select(binary_ops.clone()),
                inner.clone(),
                inner.clone()
            )
                .prop_map(move |(op, lhs, rhs)| node(ExprKind::Binary {
                    op,
                    lhs: boxed(lhs),
                    rhs: boxed(rhs)
                })),
            (
                prop::sample::select(vec![LogicOp::And, LogicOp::Or]),
                prop::collection::vec(inner.clone(), 2..5)
            )
                .prop_map(|(op, operands)| node(ExprKind::Logic { op, operands })),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(move |(c, t, o)| node(
                ExprKind::If {
                    cond: boxed(c),
                    then: boxed(t),
                    otherwise: boxed(o)
                }
            )),
            (arb_name(), prop::collection::vec(inner.clone(), 0..4))
                .prop_map(|(name, args)| node(ExprKind::Call { name, args })),
            (arb_path(), inner.clone()).prop_map(move |(source, filter)| node(ExprKind::Where {
                source: boxed(source),
                filter: boxed(filter)
            })),
            (inner.clone(), any::<bool>()).prop_map(move |(subject, negated)| node(
                ExprKind::IsSet {
                    subject: boxed(subject),
                    negated
                }
            )),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(move |(s, l, h)| node(
                ExprKind::Between {
                    subject: boxed(s),
                    low: boxed(l),
                    high: boxed(h)
                }
            )),
            (
                prop::sample::select(vec![DayOp::Before, DayOp::On, DayOp::After]),
                inner.clone(),
                inner.clone()
            )
                .prop_map(move |(op, subject, day)| node(ExprKind::Day {
                    op,
                    subject: boxed(subject),
                    day: boxed(day)
                })),
            (
                prop::sample::select(windows.clone()),
                inner.clone(),
                inner.clone()
            )
                .prop_map(move |(op, subject, days)| node(ExprKind::Window {
                    op,
                    subject: boxed(subject),
                    days: boxed(days)
                })),
        ]
    })
}

// ---------------------------------------------------------------------------
// Random JSON filters.

fn arb_strings() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(any::<String>(), 0..3)
}

fn arb_date() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "2024-01-31",
        "2024-01-31T10:00:00Z",
        "2024-02-29T23:59:59+05:30",
        "1999-12-31T23:59",
    ])
    .prop_map(str::to_owned)
}

fn arb_operator() -> impl Strategy<Value = Operator> {
    let scalar = prop_oneof![
        any::<String>().prop_map(Scalar::String),
        arb_number().prop_map(Scalar::Number),
        any::<bool>().prop_map(Scalar::Bool),
    ];
    let days = 0u32..100_000;
    prop_oneof![
        prop::sample::select(vec![
            Operator::IsSet,
            Operator::IsNotSet,
            Operator::IsTrue,
            Operator::IsFalse
        ]),
        scalar.clone().prop_map(Operator::Is),
        scalar.prop_map(Operator::IsNot),
        any::<String>().prop_map(Operator::Contains),
        any::<String>().prop_map(Operator::DoesNotContain),
        any::<String>().prop_map(Operator::StartsWith),
        any::<String>().prop_map(Operator::EndsWith),
        arb_strings().prop_map(Operator::IsAnyOf),
        arb_strings().prop_map(Operator::IsNoneOf),
        arb_strings().prop_map(Operator::ContainsAny),
        arb_strings().prop_map(Operator::ContainsAll),
        arb_strings().prop_map(Operator::ContainsNone),
        arb_number().prop_map(Operator::Eq),
        arb_number().prop_map(Operator::Ne),
        arb_number().prop_map(Operator::Gt),
        arb_number().prop_map(Operator::Gte),
        arb_number().prop_map(Operator::Lt),
        arb_number().prop_map(Operator::Lte),
        (arb_number(), arb_number()).prop_map(|(a, b)| Operator::Between(a, b)),
        arb_date().prop_map(Operator::Before),
        arb_date().prop_map(Operator::After),
        arb_date().prop_map(Operator::On),
        (arb_date(), arb_date()).prop_map(|(a, b)| Operator::DateBetween(a, b)),
        days.clone().prop_map(Operator::InLastDays),
        days.clone().prop_map(Operator::InNextDays),
        days.clone().prop_map(Operator::MoreThanDaysAgo),
        days.prop_map(Operator::MoreThanDaysFromNow),
    ]
}

fn arb_field() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "mrr",
            "organization.mrr",
            "vitally.custom.nextStep",
            "a..b",
            ".x",
            "x.",
            "utm-source",
            "in",
        ])
        .prop_map(str::to_owned),
        any::<String>().prop_filter("fields are not empty", |s| !s.is_empty()),
    ]
}

fn arb_filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        4 => (arb_field(), arb_operator())
            .prop_map(|(field, op)| Filter::Condition(Condition { field, op })),
        1 => arb_expr().prop_map(Filter::Expr),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::All),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::Any),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

// ---------------------------------------------------------------------------
// Random well-typed expressions, as text, driven by a tape of choices.

struct Tape {
    choices: Vec<u32>,
    next: usize,
}

impl Tape {
    fn pick(&mut self, n: usize) -> usize {
        let choice = self.choices.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        choice as usize % n
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Account,
    User,
}

fn fields(ty: Type, kind: Kind) -> &'static [&'static str] {
    match (kind, ty) {
        (Kind::Account, Type::Number) => {
            &["mrr", "arr", "healthScore", "organization.mrr", "notes"]
        }
        (Kind::Account, Type::String) => {
            &["name", "status", "plan", "owner.email", "organization.name"]
        }
        (Kind::Account, Type::Date) => &[
            "nextRenewalDate",
            "churnedAt",
            "lastSeenTimestamp",
            "organization.createdAt",
        ],
        (Kind::Account, Type::List) => &["tags"],
        (Kind::Account, _) => &["isTrial"],
        (Kind::User, Type::Number) => &["npsLastScore"],
        (Kind::User, Type::String) => &["name", "email"],
        (Kind::User, Type::Date) => &["lastSeenTimestamp", "firstKnown", "deactivatedAt"],
        (Kind::User, Type::List) => &["roles"],
        (Kind::User, _) => &["isAdmin"],
    }
}

const NUMBERS: &[&str] = &[
    "0", "1", "(-1)", "0.5", "1e308", "(-1e308)", "42", "3.7", "1e15", "(-0)",
];
const STRINGS: &[&str] = &[
    "\"\"",
    "\"pro\"",
    "\"a\\nb\"",
    "\"2024-01-31\"",
    "\"héllo\"",
];
const DATES: &[&str] = &[
    "now()",
    "date(\"2024-01-31\")",
    "date(\"2024-06-15T12:00:00Z\")",
    "date(\"9999-12-30T00:00:00Z\")",
    "date(\"-009999-01-03T00:00:00Z\")",
];

fn generate(ty: Type, kind: Kind, depth: u32, tape: &mut Tape) -> String {
    use Type::{Bool, Date, List, Number, String as Str};
    let field = |tape: &mut Tape| {
        let names = fields(ty, kind);
        names[tape.pick(names.len())].to_owned()
    };
    if depth == 0 || tape.pick(3) == 0 {
        return match (ty, tape.pick(3)) {
            (_, 0) => field(tape),
            (Number, _) => NUMBERS[tape.pick(NUMBERS.len())].to_owned(),
            (Str, _) => STRINGS[tape.pick(STRINGS.len())].to_owned(),
            (Date, _) => DATES[tape.pick(DATES.len())].to_owned(),
            (Bool, _) => ["true", "false"][tape.pick(2)].to_owned(),
            (List, 1) => "[\"a\", \"b\"]".to_owned(),
            (_, _) => field(tape),
        };
    }
    let d = depth - 1;
    let sub = |ty: Type, tape: &mut Tape| generate(ty, kind, d, tape);
    let any_type = |tape: &mut Tape| [Number, Str, Date, Bool, List][tape.pick(5)];
    // Forms every type has.
    match tape.pick(8) {
        0 => {
            return format!(
                "(if {} then {} else {})",
                sub(Bool, tape),
                sub(ty, tape),
                sub(ty, tape)
            );
        }
        1 => return format!("coalesce({}, {})", sub(ty, tape), sub(ty, tape)),
        _ => {}
    }
    let in_account = kind == Kind::Account;
    let user = |ty: Type, tape: &mut Tape| generate(ty, Kind::User, d, tape);
    match ty {
        Number => match tape.pick(if in_account { 14 } else { 11 }) {
            0 => {
                let op = ["+", "-", "*", "/", "%"][tape.pick(5)];
                format!("({} {op} {})", sub(Number, tape), sub(Number, tape))
            }
            1 => format!("-({})", sub(Number, tape)),
            2 => format!("round({}, {})", sub(Number, tape), sub(Number, tape)),
            3 => {
                let f = ["round", "floor", "ceil", "abs"][tape.pick(4)];
                format!("{f}({})", sub(Number, tape))
            }
            4 => {
                let f = ["min", "max"][tape.pick(2)];
                format!("{f}({}, {})", sub(Number, tape), sub(Number, tape))
            }
            5 => format!("len({})", sub(Str, tape)),
            6 => format!("size({})", sub(List, tape)),
            7 => {
                let f = ["days_since", "days_until", "year", "month", "day"][tape.pick(5)];
                format!("{f}({})", sub(Date, tape))
            }
            8 => format!("date_diff_days({}, {})", sub(Date, tape), sub(Date, tape)),
            9 | 10 => sub(Number, tape),
            11 => format!("count(users where {})", user(Bool, tape)),
            12 => {
                let f = ["sum", "avg", "min", "max"][tape.pick(4)];
                format!("{f}(users, {})", user(Number, tape))
            }
            _ => format!(
                "sum(users where {}, {})",
                user(Bool, tape),
                user(Number, tape)
            ),
        },
        Str => match tape.pick(3) {
            0 => {
                let f = ["lower", "upper", "trim"][tape.pick(3)];
                format!("{f}({})", sub(Str, tape))
            }
            1 => {
                let first = any_type(tape);
                let second = any_type(tape);
                format!("concat({}, {})", sub(first, tape), sub(second, tape))
            }
            _ => sub(Str, tape),
        },
        Date => match tape.pick(if in_account { 4 } else { 3 }) {
            0 => format!("date_add({}, {})", sub(Date, tape), sub(Number, tape)),
            1 => {
                let f = ["min", "max"][tape.pick(2)];
                format!("{f}({}, {})", sub(Date, tape), sub(Date, tape))
            }
            2 => sub(Date, tape),
            _ => format!("max(users, {})", user(Date, tape)),
        },
        List => format!("[{}, {}]", sub(Str, tape), sub(Str, tape)),
        Bool => match tape.pick(12) {
            0 => {
                let compared = [Number, Str, Date][tape.pick(3)];
                let op = ["==", "!=", "<", "<=", ">", ">="][tape.pick(6)];
                format!("({} {op} {})", sub(compared, tape), sub(compared, tape))
            }
            1 => {
                let op = ["&&", "||"][tape.pick(2)];
                format!("({} {op} {})", sub(Bool, tape), sub(Bool, tape))
            }
            2 => format!("!({})", sub(Bool, tape)),
            3 => format!("({} in {})", sub(Str, tape), sub(List, tape)),
            4 => {
                let t = any_type(tape);
                let not = ["", " not"][tape.pick(2)];
                format!("({} is{not} set)", sub(t, tape))
            }
            5 => {
                let t = [Number, Date][tape.pick(2)];
                format!(
                    "({} between {} and {})",
                    sub(t, tape),
                    sub(t, tape),
                    sub(t, tape)
                )
            }
            6 => {
                let op = ["before", "on", "after"][tape.pick(3)];
                format!("({} {op} {})", sub(Date, tape), sub(Date, tape))
            }
            7 => {
                let window = [
                    "in last {} days",
                    "in next {} days",
                    "more than {} days ago",
                    "more than {} days from now",
                ][tape.pick(4)];
                let days = sub(Number, tape);
                format!(
                    "({} {})",
                    sub(Date, tape),
                    window.replace("{}", &format!("({days} + 0)"))
                )
            }
            8 => {
                let f = ["contains", "starts_with", "ends_with"][tape.pick(3)];
                format!("{f}({}, {})", sub(Str, tape), sub(Str, tape))
            }
            9 => {
                let f = ["contains_any", "contains_all", "contains_none"][tape.pick(3)];
                format!("{f}({}, {})", sub(List, tape), sub(List, tape))
            }
            10 => format!("contains({}, {})", sub(List, tape), sub(Str, tape)),
            _ => {
                let t = any_type(tape);
                format!("is_set({})", sub(t, tape))
            }
        },
        Type::Any => sub(Number, tape),
    }
}

/// A value of any kind, including the wrong kind for a field.
fn arb_value(tape: &mut Tape) -> Value {
    match tape.pick(12) {
        0 => Value::Null,
        1 => Value::Bool(tape.pick(2) == 0),
        2 => Value::Number([0.0, -1.0, 1e308, f64::NAN, f64::INFINITY, 7.5][tape.pick(6)]),
        3 => Value::String(String::new()),
        4 => Value::String("2024-06-01T00:00:00Z".into()),
        5 => Value::String("2024-06-20".into()),
        6 => Value::String("garbage".into()),
        7 => Value::Date(ts([
            "2024-06-14T00:00:00Z",
            "9999-12-30T00:00:00Z",
            "-009999-01-03T00:00:00Z",
        ][tape.pick(3)])),
        8 => Value::List(vec![]),
        9 => Value::List(vec!["a".into(), "b".into()]),
        _ => Value::Number(tape.pick(100) as f64),
    }
}

fn arb_record(kind: Kind, tape: &mut Tape) -> MemoryRecord {
    let mut record = MemoryRecord::new();
    for ty in [
        Type::Number,
        Type::String,
        Type::Date,
        Type::List,
        Type::Bool,
    ] {
        for name in fields(ty, kind)
            .iter()
            .filter(|n| !n.contains("organization"))
        {
            record.set(name, arb_value(tape));
        }
    }
    if kind == Kind::Account {
        for _ in 0..tape.pick(4) {
            record = record.with_related("users", arb_record(Kind::User, tape));
        }
        if tape.pick(2) == 0 {
            let org = MemoryRecord::new()
                .with("mrr", arb_value(tape))
                .with("name", arb_value(tape))
                .with("createdAt", arb_value(tape));
            record = record.with_related("organization", org);
        }
    }
    record
}

/// A record that lends nothing ([`Record::get_ref`] is `None`), so evaluation copies every
/// value it reads, including on related records.
struct Copying<'a>(&'a dyn Record);

impl Record for Copying<'_> {
    fn get(&self, field: FieldRef<'_>) -> Value {
        self.0.get(field)
    }

    fn related(&self, relation: RelationRef<'_>, visit: &mut dyn FnMut(&dyn Record)) {
        self.0
            .related(relation, &mut |related| visit(&Copying(related)));
    }
}

fn same(a: &Value, b: &Value) -> bool {
    a == b || matches!((a, b), (Value::Number(x), Value::Number(y)) if x.is_nan() && y.is_nan())
}

// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn printed_trees_parse_back(expr in arb_expr()) {
        let printed = expr.to_string();
        let parsed = parse(&printed);
        prop_assert!(parsed.is_ok(), "{printed}: {:?}", parsed.err());
        prop_assert_eq!(parsed.unwrap(), expr, "{}", printed);
    }

    #[test]
    fn json_filters_round_trip(filter in arb_filter()) {
        // JSON -> Filter.
        let json = filter.to_json();
        prop_assert_eq!(Filter::from_json(&json).unwrap(), filter.clone(), "{}", json);
        // Filter -> AST -> text -> AST.
        let expr = filter.to_expr();
        let printed = expr.to_string();
        let parsed = parse(&printed);
        prop_assert!(parsed.is_ok(), "{printed}: {:?}", parsed.err());
        prop_assert_eq!(parsed.unwrap(), expr, "{}", printed);
        // Checking never panics, whatever the fields are.
        let _ = filter.compile(&Scope::Account, &schema());
    }

    #[test]
    fn parser_never_panics_on_strings(source in any::<String>()) {
        check_total(&source)?;
    }

    #[test]
    fn parser_never_panics_on_token_soup(tokens in prop::collection::vec(prop::sample::select(vec![
        "mrr", "plan", "users", "accounts", "organization", ".", "(", ")", "[", "]", ",", "+", "-",
        "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "!", "in", "not", "is", "set",
        "last", "next", "days", "more", "than", "ago", "from", "now", "between", "and", "before",
        "on", "after", "where", "if", "then", "else", "true", "false", "null", "1", "-2.5", "14",
        "\"x\"", "\"2024-01-01\"", "`a b`", "count", "sum", "min", "max", "lower", "date",
        "lastSeenTimestamp", "tags",
    ]), 0..40)) {
        check_total(&tokens.join(" "))?;
    }

    #[test]
    fn well_typed_expressions_evaluate_without_panicking(
        choices in prop::collection::vec(any::<u32>(), 0..300),
        record_choices in prop::collection::vec(any::<u32>(), 0..200),
        ty in prop::sample::select(vec![Type::Number, Type::String, Type::Date, Type::Bool, Type::List]),
        minutes in -10_000_000i64..10_000_000,
        new_york in any::<bool>(),
    ) {
        let source = generate(ty, Kind::Account, 4, &mut Tape { choices, next: 0 });
        let program = compile_formula(&source, &Scope::Account, &schema());
        prop_assert!(program.is_ok(), "{source}: {}", program.err().unwrap());
        let program = program.unwrap();
        let record = arb_record(Kind::Account, &mut Tape { choices: record_choices, next: 0 });
        let now = ctx().now.checked_add(jiff::SignedDuration::from_mins(minutes)).unwrap();
        let mut context = EvalContext::new(now);
        if new_york {
            context = context.with_time_zone(super::support::new_york());
        }
        let value = program.eval(&record, &context);
        // Borrowing what the record lends gives what copying it gives.
        let copied = program.eval(&Copying(&record), &context);
        prop_assert!(same(&copied, &value), "{source}: {value:?} borrowed, {copied:?} copied");
        prop_assert_eq!(
            program.matches(&record, &context),
            program.matches(&Copying(&record), &context)
        );
        if let Some(actual) = value.type_of() {
            prop_assert!(program.ty().accepts(actual), "{source} gave {value:?} for {}", program.ty());
        }
        if let Some(at) = program.next_change(&record, &context) {
            prop_assert!(at > context.now, "{source}: next change {at} is not after {}", context.now);
        }
        // The printed form means the same thing.
        let reprinted = parse(&source).unwrap().to_string();
        let again = compile_formula(&reprinted, &Scope::Account, &schema()).unwrap();
        let value_again = again.eval(&record, &context);
        prop_assert!(
            value_again == value || matches!((&value, &value_again), (Value::Number(a), Value::Number(b)) if a.is_nan() && b.is_nan()),
            "{source} / {reprinted}"
        );
    }
}

/// Parsing any text returns (never panics); what parses prints back to the
/// same tree and can be checked and evaluated without panicking.
fn check_total(source: &str) -> Result<(), TestCaseError> {
    if let Ok(expr) = parse(source) {
        let printed = expr.to_string();
        prop_assert_eq!(
            parse(&printed).ok(),
            Some(expr.clone()),
            "{} printed as {}",
            source,
            printed
        );
        if let Ok(program) = steward_rules::Program::formula(&expr, &Scope::Account, &schema()) {
            let _ = program.eval(&account(), &ctx());
            let _ = program.next_change(&account(), &ctx());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Rollups taken apart (`Program::rollup`): what a caller holding every record computes in
// one pass over the children must be what evaluating the aggregation gives.

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn rollups_added_up_child_by_child_equal_the_aggregation(
        choices in prop::collection::vec(any::<u32>(), 0..200),
        record_choices in prop::collection::vec(any::<u32>(), 0..200),
        kind in 0usize..6,
        filtered in any::<bool>(),
        new_york in any::<bool>(),
    ) {
        let tape = &mut Tape { choices, next: 0 };
        let filter = if filtered {
            format!(" where {}", generate(Type::Bool, Kind::User, 3, tape))
        } else {
            String::new()
        };
        let number = generate(Type::Number, Kind::User, 3, tape);
        let date = generate(Type::Date, Kind::User, 3, tape);
        let source = match kind {
            0 => format!("count(users{filter})"),
            1 => format!("sum(users{filter}, {number})"),
            2 => format!("avg(users{filter}, {number})"),
            3 => format!("min(users{filter}, {number})"),
            4 => format!("max(users{filter}, {date})"),
            _ => format!("min(users{filter}, {date})"),
        };
        let program = compile_formula(&source, &Scope::Account, &schema());
        prop_assert!(program.is_ok(), "{source}: {}", program.err().unwrap());
        let program = program.unwrap();
        let rollup = program.rollup();
        prop_assert!(rollup.is_some(), "{source} is a rollup");
        let rollup = rollup.unwrap();
        let mut context = ctx();
        if new_york {
            context = context.with_time_zone(super::support::new_york());
        }
        let record = arb_record(Kind::Account, &mut Tape { choices: record_choices, next: 0 });
        let mut sum = rollup.accumulator();
        record.related(rollup.relation(), &mut |user| sum.add(rollup.contribution(user, &context)));
        let whole = program.eval(&record, &context);
        prop_assert!(same(&sum.finish(), &whole), "{source}: {:?} added up, {whole:?} evaluated", sum.finish());
        // From columns of the kernels' fields, where every part is a kernel.
        if let Some([filter, value]) = rollup.kernels() {
            let mut sum = rollup.accumulator();
            record.related(rollup.relation(), &mut |user| {
                let raw = |kernel: Option<&steward_rules::Kernel>| {
                    kernel.map(|k| user.get_ref(k.field()).cloned().unwrap_or_else(|| user.get(k.field())))
                };
                let (filter, value) = (raw(filter), raw(value));
                sum.add(rollup.contribution_of(filter.as_ref(), value.as_ref(), &context));
            });
            prop_assert!(same(&sum.finish(), &whole), "{source} from columns: {:?}", sum.finish());
        }
        // Through `dyn Record`, as related records are visited, the same again.
        let dynamic: &dyn Record = &Copying(&record);
        prop_assert!(same(&program.eval(dynamic, &context), &whole), "{source} through dyn Record");
    }
}
