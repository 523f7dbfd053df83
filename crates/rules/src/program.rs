//! A checked expression, ready to evaluate: the engine's main handle.

use jiff::Timestamp;

use crate::aggregate::Rollup;
use crate::ast::Expr;
use crate::check::check;
use crate::deps::Dependencies;
use crate::error::{ErrorCode, RuleError};
use crate::eval::{EvalContext, eval, eval_ref, is_true};
use crate::ir::Node;
use crate::kernel::Kernel;
use crate::parser::parse;
use crate::timing::next_change;
use crate::types::{Record, Schema, Scope, Type};
use crate::value::Value;

/// A type-checked expression with names resolved against the schema.
///
/// Build one with [`Program::formula`] / [`Program::filter`] (from a parsed
/// [`Expr`]), [`compile_formula`] / [`compile_filter`] (from text), or
/// [`crate::Filter::compile`] (from the JSON form). Programs are immutable,
/// `Send + Sync`, and cheap to evaluate repeatedly. Recompile when the schema
/// changes: field ids and types are baked in.
#[derive(Debug, Clone)]
pub struct Program {
    node: Node,
    ty: Type,
    scope: Scope,
    dependencies: Dependencies,
    /// The expression as a kernel, when it has one of the kernels' shapes.
    kernel: Option<Kernel>,
    /// Kernels of a one-relation aggregation's filter and value.
    rollup_kernels: [Option<Kernel>; 2],
}

impl Program {
    /// Checks a formula: any type; see [`Program::ty`].
    pub fn formula(expr: &Expr, scope: &Scope, schema: &dyn Schema) -> Result<Program, RuleError> {
        let (node, ty) = check(expr, scope, schema)?;
        let dependencies = Dependencies::of(&node, scope);
        let kernel = Kernel::of(&node);
        let rollup_kernels = Rollup::of(&node, &[None, None]).map_or([None, None], |r| {
            r.parts().map(|part| part.and_then(Kernel::of))
        });
        Ok(Program {
            kernel,
            rollup_kernels,
            node,
            ty,
            scope: scope.clone(),
            dependencies,
        })
    }

    /// Checks a filter: it must be boolean.
    pub fn filter(expr: &Expr, scope: &Scope, schema: &dyn Schema) -> Result<Program, RuleError> {
        let program = Program::formula(expr, scope, schema)?;
        if Type::Bool.accepts(program.ty) {
            Ok(program)
        } else {
            Err(RuleError::at(
                ErrorCode::TypeMismatch,
                expr.span,
                format!("a filter must be true or false, but this is {}", program.ty),
            ))
        }
    }

    /// The result type (`Bool` for filters; may be `Any` when it depends on
    /// untyped fields).
    pub fn ty(&self) -> Type {
        self.ty
    }

    /// The record kind this program runs on.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// What the program reads.
    pub fn dependencies(&self) -> &Dependencies {
        &self.dependencies
    }

    /// The value for `record`. Never panics; see the crate docs for null rules.
    pub fn eval<R: Record + ?Sized>(&self, record: &R, ctx: &EvalContext) -> Value {
        match &self.kernel {
            Some(kernel) => kernel.eval(record, ctx),
            None => eval(&self.node, record, ctx),
        }
    }

    /// Whether a filter matches `record`: only `true` matches, so null (an
    /// unknown answer, e.g. comparing an unset field) does not.
    pub fn matches<R: Record + ?Sized>(&self, record: &R, ctx: &EvalContext) -> bool {
        match &self.kernel {
            Some(kernel) => is_true(&kernel.eval_ref(record, ctx)),
            None => is_true(&eval_ref(&self.node, record, ctx)),
        }
    }

    /// The checked tree, for tests comparing kernels with the interpreter.
    #[cfg(test)]
    pub(crate) fn node(&self) -> &Node {
        &self.node
    }

    /// The program as a kernel (one operation on one field of the record and constants),
    /// when it has that shape: a caller holding a column of the field can compute a column of
    /// values from it.
    pub fn kernel(&self) -> Option<&Kernel> {
        self.kernel.as_ref()
    }

    /// The program taken apart when it is an aggregation along one relation (`sum(users,
    /// seats)`), so a caller can compute it for many records in one pass over the related ones.
    pub fn rollup(&self) -> Option<Rollup<'_>> {
        Rollup::of(&self.node, &self.rollup_kernels)
    }

    /// The earliest instant after `ctx.now` at which the value for `record`
    /// may change without any write, for scheduling a re-evaluation; `None`
    /// if it cannot (the program does not read the clock, or every time
    /// threshold is in the past).
    ///
    /// Exact for relative windows (`lastSeenTimestamp in last 14 days` flips
    /// one nanosecond after `lastSeenTimestamp + 14 days`), comparisons with
    /// `now()` or `date_add(now(), n)`, and calendar-day functions of the
    /// clock (next midnight in the zone). Other uses of `now()` get a
    /// one-minute polling interval.
    pub fn next_change(&self, record: &dyn Record, ctx: &EvalContext) -> Option<Timestamp> {
        if !self.dependencies.reads_clock {
            return None;
        }
        next_change(&self.node, record, ctx)
    }
}

/// Parses and checks a formula.
///
/// ```
/// use steward_rules::{compile_formula, EvalContext, Scope, Type, Value};
/// use steward_rules::memory::{MemoryRecord, MemorySchema};
///
/// let schema = MemorySchema::demo();
/// let program = compile_formula("sum(accounts where status == \"subscribed\", mrr)", &Scope::Organization, &schema).unwrap();
/// assert_eq!(program.ty(), Type::Number);
///
/// let org = MemoryRecord::new()
///     .with_related("accounts", MemoryRecord::new().with("status", "subscribed").with("mrr", 100.0))
///     .with_related("accounts", MemoryRecord::new().with("status", "churned").with("mrr", 50.0));
/// let ctx = EvalContext::new("2024-06-01T00:00:00Z".parse().unwrap());
/// assert_eq!(program.eval(&org, &ctx), Value::Number(100.0));
/// ```
pub fn compile_formula(
    source: &str,
    scope: &Scope,
    schema: &dyn Schema,
) -> Result<Program, RuleError> {
    Program::formula(&parse(source)?, scope, schema)
}

/// Parses and checks a filter.
///
/// ```
/// use steward_rules::{compile_filter, EvalContext, Scope};
/// use steward_rules::memory::{MemoryRecord, MemorySchema};
///
/// let schema = MemorySchema::demo();
/// let recent = compile_filter("lastSeenTimestamp in last 14 days", &Scope::User, &schema).unwrap();
/// let user = MemoryRecord::new().with("lastSeenTimestamp", "2024-05-25T12:00:00Z");
/// let ctx = EvalContext::new("2024-06-01T00:00:00Z".parse().unwrap());
/// assert!(recent.matches(&user, &ctx));
/// // Re-evaluate when the window closes, 14 days after the last visit.
/// assert_eq!(recent.next_change(&user, &ctx).unwrap().to_string(), "2024-06-08T12:00:00.000000001Z");
///
/// let err = compile_filter("mrrr > 10", &Scope::Account, &schema).unwrap_err();
/// assert_eq!(err.to_string(), "unknown trait `mrrr`, did you mean `mrr`? at 0..4");
/// ```
pub fn compile_filter(
    source: &str,
    scope: &Scope,
    schema: &dyn Schema,
) -> Result<Program, RuleError> {
    Program::filter(&parse(source)?, scope, schema)
}
