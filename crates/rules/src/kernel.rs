//! Kernels: the commonest small expressions, one operation on one field of the record itself
//! and constants (`seats * 2`, `role == "admin"`, `ends_with(email, "@x.example")`,
//! `isTrial != true`, `upper(plan)`, `renewsOn in next 30 days`, a lone field), evaluated
//! straight from that field's value instead of walking the tree.
//!
//! A [`Program`](crate::Program) whose expression has such a shape (and each one-relation
//! aggregation's filter and value, see [`crate::Rollup`]) keeps its kernel and evaluates through
//! it. A caller holding a column of the field's values (the engine's full recomputation) can
//! compute a column of results with [`Kernel::apply`], without a record per value. The result is
//! the interpreter's: the kernel calls the same functions on the same values (a property test in
//! `tests/rules/properties.rs` checks it).

use std::borrow::Cow;

use crate::ast::{BinaryOp, WindowOp};
use crate::eval::{EvalContext, arithmetic, coerce, compare, field, fits, is_true, window_value};
use crate::functions::{self, Func};
use crate::ir::{FieldSlot, Node};
use crate::types::{FieldRef, Record};
use crate::value::Value;

/// An operand: a constant, or the field.
#[derive(Debug, Clone)]
enum Arg {
    Const(Value),
    Field,
}

/// The one operation, on operands already known.
#[derive(Debug, Clone)]
enum Op {
    /// The field's value itself.
    Field,
    Not,
    Neg,
    IsSet {
        negated: bool,
    },
    Arith(BinaryOp, Arg, Arg),
    Compare(BinaryOp, Arg, Arg),
    In(Arg, Arg),
    Window(WindowOp, Arg, Arg),
    Call(Func, Vec<Arg>),
}

fn operand<'a>(arg: &'a Arg, field: &'a Value) -> &'a Value {
    match arg {
        Arg::Const(c) => c,
        Arg::Field => field,
    }
}

/// An expression computed from one field of the record it runs on.
#[derive(Debug, Clone)]
pub struct Kernel {
    field: FieldSlot,
    op: Op,
}

/// The operand a leaf node is, when it is a constant or a field of the record itself.
fn arg(node: &Node, field: &mut Option<FieldSlot>) -> Option<Arg> {
    match node {
        Node::Const(value) => Some(Arg::Const(value.clone())),
        Node::Field(slot) => {
            // One field only: a second, different one leaves the shape.
            match field {
                Some(seen) if seen.id != slot.id || seen.ty != slot.ty => return None,
                _ => *field = Some(slot.clone()),
            }
            Some(Arg::Field)
        }
        _ => None,
    }
}

impl Kernel {
    /// The kernel of a node of one of the shapes above; `None` for anything else.
    pub(crate) fn of(node: &Node) -> Option<Kernel> {
        let mut field = None;
        let mut one = |n: &Node| arg(n, &mut field);
        let op = match node {
            Node::Field(_) => {
                one(node)?;
                Op::Field
            }
            // A constant operand leaves no field: not a kernel (below).
            Node::Not(x) => one(x).map(|_| Op::Not)?,
            Node::Neg(x) => one(x).map(|_| Op::Neg)?,
            Node::IsSet { subject, negated } => {
                one(subject).map(|_| Op::IsSet { negated: *negated })?
            }
            Node::Arith(op, a, b) => Op::Arith(*op, one(a)?, one(b)?),
            Node::Compare(op, a, b) => Op::Compare(*op, one(a)?, one(b)?),
            Node::In(a, b) => Op::In(one(a)?, one(b)?),
            Node::Window(op, a, b) => Op::Window(*op, one(a)?, one(b)?),
            // `now()` reads the clock, not the field; `coalesce` is lazy in the interpreter,
            // which only matters for operands that are not constants or the field.
            Node::Call(func, args) if *func != Func::Now && (1..=2).contains(&args.len()) => {
                Op::Call(*func, args.iter().map(one).collect::<Option<_>>()?)
            }
            _ => return None,
        };
        Some(Kernel { field: field?, op })
    }

    /// The field the kernel reads, as [`Record::get`] is handed it.
    pub fn field(&self) -> FieldRef<'_> {
        FieldRef {
            id: self.field.id,
            name: &self.field.name,
        }
    }

    /// The value for a record whose field holds `raw` (as [`Record::get_ref`] lends it, or
    /// [`Record::get`] returns it).
    #[inline]
    pub fn apply(&self, raw: &Value, ctx: &EvalContext) -> Value {
        if !fits(raw, self.field.ty) {
            return self.apply_coerced(raw, ctx);
        }
        self.compute(raw, ctx)
    }

    /// [`Kernel::apply`], borrowing `raw` when the value is the field's.
    #[inline]
    pub fn apply_ref<'a>(&self, raw: &'a Value, ctx: &EvalContext) -> Cow<'a, Value> {
        match self.op {
            Op::Field if fits(raw, self.field.ty) => Cow::Borrowed(raw),
            _ => Cow::Owned(self.apply(raw, ctx)),
        }
    }

    /// [`Kernel::apply`] of a value that is not of the field's type.
    #[cold]
    fn apply_coerced(&self, raw: &Value, ctx: &EvalContext) -> Value {
        self.compute(&coerce(raw.clone(), self.field.ty, &ctx.time_zone), ctx)
    }

    /// Whether the value for a record whose field holds `raw` is `true`.
    #[inline]
    pub fn matches(&self, raw: &Value, ctx: &EvalContext) -> bool {
        match self.op {
            Op::Field if fits(raw, self.field.ty) => is_true(raw),
            _ => is_true(&self.apply(raw, ctx)),
        }
    }

    /// The value for `record`.
    #[inline]
    pub(crate) fn eval<R: Record + ?Sized>(&self, record: &R, ctx: &EvalContext) -> Value {
        let value = field(&self.field, record, ctx);
        match (&self.op, value) {
            (Op::Field, value) => value.into_owned(),
            (_, value) => self.compute(&value, ctx),
        }
    }

    /// The value, borrowed when it is the field's.
    #[inline]
    pub(crate) fn eval_ref<'a, R: Record + ?Sized>(
        &'a self,
        record: &'a R,
        ctx: &EvalContext,
    ) -> Cow<'a, Value> {
        let value = field(&self.field, record, ctx);
        match self.op {
            Op::Field => value,
            _ => Cow::Owned(self.compute(&value, ctx)),
        }
    }

    /// The operation on the field's value, fitted to its type. Each arm is the interpreter's
    /// (`eval.rs`) for the same node.
    fn compute(&self, value: &Value, ctx: &EvalContext) -> Value {
        let get = |a| operand(a, value);
        match &self.op {
            Op::Field => value.clone(),
            Op::Not => match value {
                Value::Bool(b) => Value::Bool(!b),
                _ => Value::Null,
            },
            Op::Neg => match value {
                Value::Number(n) => Value::number(-n),
                _ => Value::Null,
            },
            Op::IsSet { negated } => Value::Bool(value.is_null() == *negated),
            Op::Arith(op, a, b) => match (get(a), get(b)) {
                (Value::Number(a), Value::Number(b)) => arithmetic(*op, *a, *b),
                _ => Value::Null,
            },
            Op::Compare(op, a, b) => compare(*op, get(a), get(b)),
            Op::In(a, b) => match (get(a), get(b)) {
                (Value::String(item), Value::List(list)) => Value::Bool(list.contains(item)),
                _ => Value::Null,
            },
            Op::Window(op, a, b) => window_value(*op, get(a), get(b), ctx),
            Op::Call(func, args) => match args.as_slice() {
                [a] => functions::apply(*func, &[get(a)], ctx),
                [a, b] => functions::apply(*func, &[get(a), get(b)], ctx),
                _ => Value::Null,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::eval::{EvalContext, eval, eval_ref, is_true};
    use crate::memory::{MemoryRecord, MemorySchema};
    use crate::types::{FieldRef, Record, RelationRef, Scope};
    use crate::value::Value;
    use crate::{Timestamp, compile_formula};

    /// Fields of every type (the demo schema's accounts).
    const FIELDS: &[&str] = &["mrr", "plan", "isTrial", "tags", "nextRenewalDate", "notes"];

    /// Constants of every type, some of the wrong type for any field.
    const CONSTANTS: &[&str] = &[
        "0",
        "2",
        "-1.5",
        "7",
        "\"pro\"",
        "\"\"",
        "\"@us.example\"",
        "\"2024-06-01\"",
        "true",
        "false",
        "null",
        "[\"beta\", \"pro\"]",
    ];

    /// The shapes kernels take, with `F` the field and `C` a constant.
    const SHAPES: &[&str] = &[
        "F",
        "!F",
        "-F",
        "F is set",
        "F is not set",
        "F + C",
        "C - F",
        "F * C",
        "F / C",
        "F % C",
        "F == C",
        "C != F",
        "F < C",
        "F >= C",
        "F in C",
        "C in F",
        "F in last C days",
        "F in next C days",
        "F more than C days ago",
        "upper(F)",
        "len(F)",
        "abs(F)",
        "round(F, C)",
        "ends_with(F, C)",
        "contains(F, C)",
        "coalesce(F, C)",
        "days_since(F)",
        "date_add(F, C)",
        "year(F)",
        "is_set(F)",
        "concat(F, C)",
        "F * F",
        "F == F",
    ];

    /// Values a record may hold, of every kind (some of no field's type).
    fn values() -> Vec<Value> {
        let date = |t: &str| Value::Date(t.parse::<Timestamp>().expect("date"));
        vec![
            Value::Null,
            Value::Bool(true),
            Value::Bool(false),
            Value::Number(0.0),
            Value::Number(-0.0),
            Value::Number(3.0),
            Value::Number(-2.5),
            Value::Number(1e300),
            Value::Number(f64::NAN),
            Value::String(String::new()),
            Value::String("pro".into()),
            Value::String("u1@us.example".into()),
            Value::String("2024-06-20".into()),
            Value::String("2024-06-10T08:00:00Z".into()),
            date("2024-06-14T00:00:00Z"),
            date("2024-07-01T12:00:00Z"),
            Value::List(Vec::new()),
            Value::List(vec!["pro".into()]),
        ]
    }

    /// A record that only copies (no `get_ref`), as a record without columns.
    struct Copying<'a>(&'a MemoryRecord);

    impl Record for Copying<'_> {
        fn get(&self, field: FieldRef<'_>) -> Value {
            self.0.get(field)
        }

        fn related(&self, _: RelationRef<'_>, _: &mut dyn FnMut(&dyn Record)) {}
    }

    fn same(a: &Value, b: &Value) -> bool {
        a == b || matches!((a, b), (Value::Number(x), Value::Number(y)) if x.is_nan() && y.is_nan())
    }

    #[test]
    fn the_common_shapes_are_kernels() {
        let kernels = [
            "mrr",
            "isTrial",
            "mrr * 12",
            "12 * mrr",
            "mrr > 5000",
            "plan == \"test\"",
            "isTrial != true",
            "!isTrial",
            "upper(plan)",
            "ends_with(plan, \"@us.example\")",
            "coalesce(mrr, 0)",
            "nextRenewalDate in next 30 days",
            "tags is set",
        ];
        // Two fields, two operations, a string read as a date, no field.
        let others = [
            "mrr * arr",
            "mrr > 1 && isTrial",
            "plan in last 3 days",
            "now()",
        ];
        let sources = kernels.iter().map(|s| (s, true));
        for (source, kernel) in sources.chain(others.iter().map(|s| (s, false))) {
            let program = compile_formula(source, &Scope::Account, &MemorySchema::demo());
            let program = program.expect(source);
            assert_eq!(
                program.kernel().is_some(),
                kernel,
                "{source}: {:?}",
                program.node()
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        #[test]
        fn kernels_compute_what_the_interpreter_does(
            shape in prop::sample::select(SHAPES),
            field in prop::sample::select(FIELDS),
            constant in prop::sample::select(CONSTANTS),
            value in prop::sample::select(values()),
            minutes in -100_000i64..100_000,
            new_york in any::<bool>(),
        ) {
            let source = shape.replace('F', field).replace('C', constant);
            let Ok(program) = compile_formula(&source, &Scope::Account, &MemorySchema::demo()) else {
                // Ill-typed: nothing to evaluate.
                return Ok(());
            };
            let node = program.node();
            // Not a kernel where the checker converts the field (a string read as a date).
            let Some(kernel) = program.kernel() else { return Ok(()) };
            let now: Timestamp = "2024-06-15T12:00:00Z".parse().expect("now");
            let mut ctx = EvalContext::new(now.checked_add(jiff::SignedDuration::from_mins(minutes)).expect("now"));
            if new_york {
                ctx = ctx.with_time_zone(jiff::tz::TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").expect("zone"));
            }
            let record = MemoryRecord::new().with(field, value.clone());
            let tree = eval(node, &record, &ctx);
            prop_assert!(same(&kernel.apply(&value, &ctx), &tree), "{source} on {value:?}: {tree:?}");
            prop_assert!(same(&program.eval(&record, &ctx), &tree), "{source} on {value:?}");
            prop_assert!(same(&program.eval(&Copying(&record), &ctx), &tree), "{source} copied");
            let matches = is_true(&eval_ref(node, &record, &ctx));
            prop_assert_eq!(kernel.matches(&value, &ctx), matches, "{}", source);
            prop_assert_eq!(program.matches(&record, &ctx), matches, "{}", source);
        }
    }
}
