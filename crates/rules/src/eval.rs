//! Evaluates a checked [`Node`] against a record.
//!
//! Evaluation is total: it never panics and never fails. Anything that cannot
//! produce a value (null input, division by zero, a value of the wrong kind
//! from an untyped field, date overflow) produces [`Value::Null`].

use std::borrow::Cow;
use std::cmp::Ordering;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::aggregate::aggregate;
use crate::ast::{BinaryOp, DayOp, LogicOp, WindowOp};
use crate::dates::{add_days, civil_day, parse_date, whole_days};
use crate::functions::{self, Func};
use crate::ir::{FieldSlot, Node, RelationSlot};
use crate::types::{FieldRef, Record, RelationRef, Type};
use crate::value::Value;

/// Everything evaluation needs besides the record: the clock and the zone.
///
/// The clock is always passed in so the crate stays pure and tests can pin
/// time. The zone decides calendar days (`on`, `before`, `days_since`,
/// `year`, ...) and where a date-only string like `"2024-01-31"` starts.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalContext {
    pub now: Timestamp,
    pub time_zone: TimeZone,
}

impl EvalContext {
    /// A context in UTC.
    pub fn new(now: Timestamp) -> Self {
        EvalContext {
            now,
            time_zone: TimeZone::UTC,
        }
    }

    /// The same instant, with calendar days taken in `time_zone`.
    pub fn with_time_zone(self, time_zone: TimeZone) -> Self {
        EvalContext { time_zone, ..self }
    }
}

pub(crate) fn eval<R: Record + ?Sized>(node: &Node, record: &R, ctx: &EvalContext) -> Value {
    eval_ref(node, record, ctx).into_owned()
}

/// Whether a value is `true` (what a filter needs to match).
pub(crate) fn is_true(value: &Value) -> bool {
    matches!(value, Value::Bool(true))
}

/// Evaluates without copying what it reads where it can: constants, and record fields the
/// record lends ([`Record::get_ref`]) in their declared type, are borrowed.
///
/// Leaves (constants, fields) are handled here, in a small frame; everything else in
/// [`eval_compound`], whose large arms live in functions of their own.
#[inline]
pub(crate) fn eval_ref<'a, R: Record + ?Sized>(
    node: &'a Node,
    record: &'a R,
    ctx: &EvalContext,
) -> Cow<'a, Value> {
    match node {
        Node::Const(value) => Cow::Borrowed(value),
        Node::Field(slot) => field(slot, record, ctx),
        _ => eval_compound(node, record, ctx),
    }
}

#[inline]
pub(crate) fn field<'a, R: Record + ?Sized>(
    slot: &'a FieldSlot,
    record: &'a R,
    ctx: &EvalContext,
) -> Cow<'a, Value> {
    let field = FieldRef {
        id: slot.id,
        name: &slot.name,
    };
    match record.get_ref(field) {
        Some(raw) if fits(raw, slot.ty) => Cow::Borrowed(raw),
        Some(raw) => Cow::Owned(coerce(raw.clone(), slot.ty, &ctx.time_zone)),
        None => Cow::Owned(coerce(record.get(field), slot.ty, &ctx.time_zone)),
    }
}

#[inline(never)]
fn eval_compound<'a, R: Record + ?Sized>(
    node: &'a Node,
    record: &'a R,
    ctx: &EvalContext,
) -> Cow<'a, Value> {
    let value = match node {
        Node::Const(value) => return Cow::Borrowed(value),
        Node::Field(slot) => return field(slot, record, ctx),
        Node::DateConst(text) => text
            .resolve(&ctx.time_zone)
            .map_or(Value::Null, Value::Date),
        Node::Hop { relation, inner } => hop(relation, inner, record, ctx),
        Node::List(items) => Value::List(
            items
                .iter()
                .filter_map(|item| match eval_ref(item, record, ctx).into_owned() {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .collect(),
        ),
        Node::Not(operand) => match *eval_ref(operand, record, ctx) {
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::Null,
        },
        Node::Neg(operand) => match *eval_ref(operand, record, ctx) {
            Value::Number(n) => Value::number(-n),
            _ => Value::Null,
        },
        Node::Arith(op, lhs, rhs) => {
            match (&*eval_ref(lhs, record, ctx), &*eval_ref(rhs, record, ctx)) {
                (Value::Number(a), Value::Number(b)) => arithmetic(*op, *a, *b),
                _ => Value::Null,
            }
        }
        Node::Compare(op, lhs, rhs) => compare(
            *op,
            &eval_ref(lhs, record, ctx),
            &eval_ref(rhs, record, ctx),
        ),
        Node::In(item, list) => {
            match (&*eval_ref(item, record, ctx), &*eval_ref(list, record, ctx)) {
                (Value::String(item), Value::List(list)) => Value::Bool(list.contains(item)),
                _ => Value::Null,
            }
        }
        Node::Logic(op, operands) => logic(*op, operands, record, ctx),
        Node::If(cond, then, otherwise) => {
            return if is_true(&eval_ref(cond, record, ctx)) {
                eval_ref(then, record, ctx)
            } else {
                eval_ref(otherwise, record, ctx)
            };
        }
        Node::IsSet { subject, negated } => {
            Value::Bool(eval_ref(subject, record, ctx).is_null() == *negated)
        }
        Node::Between(subject, low, high) => between(
            &eval_ref(subject, record, ctx),
            &eval_ref(low, record, ctx),
            &eval_ref(high, record, ctx),
            &ctx.time_zone,
        ),
        Node::Day(op, subject, day) => day_compare(*op, subject, day, record, ctx),
        Node::Window(op, subject, days) => window_value(
            *op,
            &eval_ref(subject, record, ctx),
            &eval_ref(days, record, ctx),
            ctx,
        ),
        Node::Call(Func::Coalesce, args) => {
            return args
                .iter()
                .map(|arg| eval_ref(arg, record, ctx))
                .find(|value| !value.is_null())
                .unwrap_or(Cow::Owned(Value::Null));
        }
        Node::Call(func, args) => call(*func, args, record, ctx),
        Node::Aggregate {
            kind,
            path,
            filter,
            value,
        } => aggregate(
            *kind,
            path,
            filter.as_deref(),
            value.as_deref(),
            record,
            ctx,
        ),
        Node::Fit(inner, ty) => {
            let value = eval_ref(inner, record, ctx);
            if fits(&value, *ty) {
                return value;
            }
            coerce(value.into_owned(), *ty, &ctx.time_zone)
        }
        Node::ToDate(inner) => {
            let value = eval_ref(inner, record, ctx);
            match &*value {
                Value::Date(_) => return value,
                Value::String(s) => parse_date(s, &ctx.time_zone).map_or(Value::Null, Value::Date),
                _ => Value::Null,
            }
        }
    };
    Cow::Owned(value)
}

#[inline(never)]
fn hop<R: Record + ?Sized>(
    relation: &RelationSlot,
    inner: &Node,
    record: &R,
    ctx: &EvalContext,
) -> Value {
    let mut result = None;
    record.related(relation_ref(relation), &mut |related| {
        if result.is_none() {
            result = Some(eval_ref(inner, related, ctx).into_owned());
        }
    });
    result.unwrap_or(Value::Null)
}

#[inline(never)]
fn day_compare<R: Record + ?Sized>(
    op: DayOp,
    subject: &Node,
    day: &Node,
    record: &R,
    ctx: &EvalContext,
) -> Value {
    match (
        &*eval_ref(subject, record, ctx),
        &*eval_ref(day, record, ctx),
    ) {
        (Value::Date(subject), Value::Date(day)) => {
            let order = civil_day(*subject, &ctx.time_zone).cmp(&civil_day(*day, &ctx.time_zone));
            Value::Bool(match op {
                DayOp::Before => order == Ordering::Less,
                DayOp::On => order == Ordering::Equal,
                DayOp::After => order == Ordering::Greater,
            })
        }
        _ => Value::Null,
    }
}

#[inline(never)]
fn call<R: Record + ?Sized>(func: Func, args: &[Node], record: &R, ctx: &EvalContext) -> Value {
    match args {
        [] => functions::apply(func, &[], ctx),
        [a] => functions::apply(func, &[&*eval_ref(a, record, ctx)], ctx),
        [a, b] => functions::apply(
            func,
            &[&*eval_ref(a, record, ctx), &*eval_ref(b, record, ctx)],
            ctx,
        ),
        args => {
            let values: Vec<Cow<'_, Value>> =
                args.iter().map(|arg| eval_ref(arg, record, ctx)).collect();
            let refs: Vec<&Value> = values.iter().map(|v| &**v).collect();
            functions::apply(func, &refs, ctx)
        }
    }
}

pub(crate) fn relation_ref(slot: &RelationSlot) -> RelationRef<'_> {
    RelationRef {
        id: slot.id,
        name: &slot.name,
    }
}

/// Whether [`coerce`] keeps a value as it is.
pub(crate) fn fits(raw: &Value, ty: Type) -> bool {
    match raw {
        Value::String(s) if s.is_empty() => false,
        Value::List(items) if items.is_empty() => false,
        Value::Number(n) if !n.is_finite() => false,
        Value::Null => true,
        raw => ty == Type::Any || raw.type_of() == Some(ty),
    }
}

/// Fits a raw record value to the field's declared type. Empty strings and
/// lists mean "not set"; ISO-8601 strings become dates where dates are
/// declared; a lone string is a one-item multi-select; anything else that
/// does not fit is null.
pub(crate) fn coerce(raw: Value, ty: Type, tz: &TimeZone) -> Value {
    if fits(&raw, ty) {
        return raw;
    }
    match (raw, ty) {
        (Value::String(s), _) if s.is_empty() => Value::Null,
        (Value::List(items), _) if items.is_empty() => Value::Null,
        (Value::Number(n), _) if !n.is_finite() => Value::Null,
        (raw, Type::Any) => raw,
        (Value::String(s), Type::Date) => parse_date(&s, tz).map_or(Value::Null, Value::Date),
        (Value::String(s), Type::List) => Value::List(vec![s]),
        (raw, ty) if raw.type_of() == Some(ty) => raw,
        _ => Value::Null,
    }
}

pub(crate) fn arithmetic(op: BinaryOp, a: f64, b: f64) -> Value {
    match op {
        BinaryOp::Add => Value::number(a + b),
        BinaryOp::Sub => Value::number(a - b),
        BinaryOp::Mul => Value::number(a * b),
        BinaryOp::Div if b == 0.0 => Value::Null,
        BinaryOp::Div => Value::number(a / b),
        BinaryOp::Rem if b == 0.0 => Value::Null,
        BinaryOp::Rem => Value::number(a % b),
        _ => Value::Null,
    }
}

/// Orders two values of the same kind; `None` for null or mixed kinds.
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.partial_cmp(b),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn equal(a: &Value, b: &Value) -> Option<bool> {
    match (a, b) {
        (Value::Bool(a), Value::Bool(b)) => Some(a == b),
        // What `order` says, without ordering strings of different lengths.
        (Value::String(a), Value::String(b)) => Some(a == b),
        // Multi-select values are sets: order does not matter.
        (Value::List(a), Value::List(b)) => {
            let mut a = a.clone();
            let mut b = b.clone();
            a.sort();
            b.sort();
            a.dedup();
            b.dedup();
            Some(a == b)
        }
        _ => order(a, b).map(|o| o == Ordering::Equal),
    }
}

pub(crate) fn compare(op: BinaryOp, a: &Value, b: &Value) -> Value {
    let result = match op {
        BinaryOp::Eq => equal(a, b),
        BinaryOp::Ne => equal(a, b).map(|eq| !eq),
        BinaryOp::Lt => order(a, b).map(Ordering::is_lt),
        BinaryOp::Le => order(a, b).map(Ordering::is_le),
        BinaryOp::Gt => order(a, b).map(Ordering::is_gt),
        BinaryOp::Ge => order(a, b).map(Ordering::is_ge),
        _ => None,
    };
    result.map_or(Value::Null, Value::Bool)
}

/// Three-valued (Kleene) logic, as in SQL: `false && null` is false,
/// `true && null` is null, `true || null` is true.
fn logic<R: Record + ?Sized>(
    op: LogicOp,
    operands: &[Node],
    record: &R,
    ctx: &EvalContext,
) -> Value {
    let decisive = op == LogicOp::Or;
    let mut unknown = false;
    for operand in operands {
        match *eval_ref(operand, record, ctx) {
            Value::Bool(b) if b == decisive => return Value::Bool(decisive),
            Value::Bool(_) => {}
            _ => unknown = true,
        }
    }
    if unknown {
        Value::Null
    } else {
        Value::Bool(!decisive)
    }
}

/// Inclusive. Dates compare by calendar day, so `between "2024-01-01" and
/// "2024-01-31"` includes all of January 31st.
fn between(subject: &Value, low: &Value, high: &Value, tz: &TimeZone) -> Value {
    match (subject, low, high) {
        (Value::Date(s), Value::Date(l), Value::Date(h)) => {
            let day = civil_day(*s, tz);
            Value::Bool(civil_day(*l, tz) <= day && day <= civil_day(*h, tz))
        }
        _ => match (order(low, subject), order(subject, high)) {
            (Some(a), Some(b)) => Value::Bool(a.is_le() && b.is_le()),
            _ => Value::Null,
        },
    }
}

/// A relative window of a date and a day count; null for other values.
pub(crate) fn window_value(
    op: WindowOp,
    subject: &Value,
    days: &Value,
    ctx: &EvalContext,
) -> Value {
    match (subject, days) {
        (Value::Date(subject), Value::Number(days)) => {
            window(op, *subject, *days, ctx).map_or(Value::Null, Value::Bool)
        }
        _ => Value::Null,
    }
}

/// Relative windows, defined from the subject's side (`subject + N days`) so
/// that the instants where the answer flips are exact and can be scheduled
/// (see `timing.rs`). Days are calendar days in the evaluation zone.
fn window(op: WindowOp, subject: Timestamp, days: f64, ctx: &EvalContext) -> Option<bool> {
    let days = whole_days(days).filter(|d| *d >= 0)?;
    let now = ctx.now;
    let tz = &ctx.time_zone;
    Some(match op {
        WindowOp::InLast => subject <= now && now <= add_days(subject, days, tz)?,
        WindowOp::InNext => now <= subject && add_days(subject, -days, tz)? <= now,
        WindowOp::MoreThanAgo => add_days(subject, days, tz)? < now,
        WindowOp::MoreThanFromNow => add_days(subject, -days, tz)? > now,
    })
}
