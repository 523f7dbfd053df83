//! The built-in scalar functions: names and run-time behaviour. Type rules
//! live in `check.rs`, next to the other typing rules.
//!
//! Every function propagates null (any null argument gives null) except
//! `coalesce` and `is_set`, which exist to handle nulls.

use crate::dates::{add_days, civil_day, days_between, whole_days};
use crate::eval::EvalContext;
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Coalesce,
    IsSet,
    Lower,
    Upper,
    Trim,
    Contains,
    StartsWith,
    EndsWith,
    Len,
    Concat,
    Round,
    Floor,
    Ceil,
    Abs,
    Min,
    Max,
    Now,
    DaysSince,
    DaysUntil,
    DateAdd,
    DateDiffDays,
    Year,
    Month,
    Day,
    Date,
    ContainsAny,
    ContainsAll,
    ContainsNone,
}

/// Scalar functions by name. `min` and `max` are also aggregations; the
/// checker picks the aggregation when the first argument is a relation.
pub(crate) const FUNCTIONS: &[(&str, Func)] = &[
    ("coalesce", Func::Coalesce),
    ("is_set", Func::IsSet),
    ("lower", Func::Lower),
    ("upper", Func::Upper),
    ("trim", Func::Trim),
    ("contains", Func::Contains),
    ("starts_with", Func::StartsWith),
    ("ends_with", Func::EndsWith),
    ("len", Func::Len),
    ("size", Func::Len),
    ("concat", Func::Concat),
    ("round", Func::Round),
    ("floor", Func::Floor),
    ("ceil", Func::Ceil),
    ("abs", Func::Abs),
    ("min", Func::Min),
    ("max", Func::Max),
    ("now", Func::Now),
    ("days_since", Func::DaysSince),
    ("days_until", Func::DaysUntil),
    ("date_add", Func::DateAdd),
    ("date_diff_days", Func::DateDiffDays),
    ("year", Func::Year),
    ("month", Func::Month),
    ("day", Func::Day),
    ("date", Func::Date),
    ("contains_any", Func::ContainsAny),
    ("contains_all", Func::ContainsAll),
    ("contains_none", Func::ContainsNone),
];

/// Aggregations over a relation: `count(users)`, `sum(accounts, mrr)`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Aggregation {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

pub(crate) const AGGREGATIONS: &[(&str, Aggregation)] = &[
    ("count", Aggregation::Count),
    ("sum", Aggregation::Sum),
    ("avg", Aggregation::Avg),
    ("min", Aggregation::Min),
    ("max", Aggregation::Max),
];

pub(crate) fn lookup(name: &str) -> Option<Func> {
    FUNCTIONS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

pub(crate) fn lookup_aggregation(name: &str) -> Option<Aggregation> {
    AGGREGATIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, a)| *a)
}

/// Every callable name, for "did you mean" suggestions.
pub(crate) fn all_names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS
        .iter()
        .map(|(n, _)| *n)
        .chain(AGGREGATIONS.iter().map(|(n, _)| *n))
}

/// Applies a null-propagating function to already evaluated arguments.
/// `coalesce` is lazy and handled by the evaluator; `is_set` never sees null
/// propagation. Argument types were checked, so a mismatch here means an
/// `Any` value of the wrong kind, which gives null.
pub(crate) fn apply(func: Func, args: &[&Value], ctx: &EvalContext) -> Value {
    use Value::{Bool, Date, List, Null, Number, String as Str};
    match func {
        Func::IsSet => return Bool(!args[0].is_null()),
        Func::Now => return Date(ctx.now),
        Func::Coalesce => {
            return args
                .iter()
                .find(|v| !v.is_null())
                .map_or(Null, |v| (*v).clone());
        }
        _ => {}
    }
    if args.iter().any(|v| v.is_null()) {
        return Null;
    }
    let tz = &ctx.time_zone;
    match (func, args) {
        (Func::Lower, [Str(s)]) => Str(s.to_lowercase()),
        (Func::Upper, [Str(s)]) => Str(s.to_uppercase()),
        (Func::Trim, [Str(s)]) => Str(s.trim().to_owned()),
        (Func::Contains, [Str(s), Str(part)]) => Bool(s.contains(part.as_str())),
        (Func::Contains, [List(items), Str(item)]) => Bool(items.contains(item)),
        (Func::StartsWith, [Str(s), Str(prefix)]) => Bool(s.starts_with(prefix.as_str())),
        (Func::EndsWith, [Str(s), Str(suffix)]) => Bool(s.ends_with(suffix.as_str())),
        (Func::Len, [Str(s)]) => Number(s.chars().count() as f64),
        (Func::Len, [List(items)]) => Number(items.len() as f64),
        (Func::Concat, parts) => Str(parts.iter().map(|v| display_text(v)).collect()),
        (Func::Round, [Number(n)]) => Value::number(n.round()),
        (Func::Round, [Number(n), Number(digits)]) => round_to(*n, *digits),
        (Func::Floor, [Number(n)]) => Value::number(n.floor()),
        (Func::Ceil, [Number(n)]) => Value::number(n.ceil()),
        (Func::Abs, [Number(n)]) => Value::number(n.abs()),
        (Func::Min | Func::Max, values) => extreme(func == Func::Max, values),
        (Func::DaysSince, [Date(d)]) => day_count(civil_day(*d, tz), civil_day(ctx.now, tz)),
        (Func::DaysUntil, [Date(d)]) => day_count(civil_day(ctx.now, tz), civil_day(*d, tz)),
        (Func::DateDiffDays, [Date(a), Date(b)]) => day_count(civil_day(*b, tz), civil_day(*a, tz)),
        (Func::DateAdd, [Date(d), Number(days)]) => whole_days(*days)
            .and_then(|days| add_days(*d, days, tz))
            .map_or(Null, Date),
        (Func::Year, [Date(d)]) => Number(f64::from(civil_day(*d, tz).year())),
        (Func::Month, [Date(d)]) => Number(f64::from(civil_day(*d, tz).month())),
        (Func::Day, [Date(d)]) => Number(f64::from(civil_day(*d, tz).day())),
        (Func::Date, [Date(d)]) => Date(*d),
        (Func::Date, [Str(s)]) => crate::dates::parse_date(s, tz).map_or(Null, Date),
        (Func::ContainsAny, [List(have), List(wanted)]) => {
            Bool(wanted.iter().any(|w| have.contains(w)))
        }
        (Func::ContainsAll, [List(have), List(wanted)]) => {
            Bool(wanted.iter().all(|w| have.contains(w)))
        }
        (Func::ContainsNone, [List(have), List(wanted)]) => {
            Bool(!wanted.iter().any(|w| have.contains(w)))
        }
        _ => Null,
    }
}

fn day_count(from: jiff::civil::Date, to: jiff::civil::Date) -> Value {
    Value::Number(days_between(from, to) as f64)
}

/// Rounds half away from zero to `digits` decimals (negative digits round to
/// tens, hundreds, ...).
fn round_to(n: f64, digits: f64) -> Value {
    if digits.fract() != 0.0 || digits.abs() > 15.0 {
        return Value::Null;
    }
    let scale = 10f64.powi(digits as i32);
    Value::number((n * scale).round() / scale)
}

fn extreme(max: bool, values: &[&Value]) -> Value {
    let mut best: Option<&Value> = None;
    for value in values {
        let better = match (best, value) {
            (None, _) => true,
            (Some(Value::Number(b)), Value::Number(v)) => (v > b) == max && v != b,
            (Some(Value::Date(b)), Value::Date(v)) => (v > b) == max && v != b,
            _ => return Value::Null,
        };
        if better {
            best = Some(*value);
        }
    }
    best.cloned().unwrap_or(Value::Null)
}

/// How `concat` renders a value: numbers without a trailing `.0`, dates in
/// RFC 3339, lists comma-separated.
pub(crate) fn display_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Date(d) => d.to_string(),
        Value::List(items) => items.join(", "),
    }
}
