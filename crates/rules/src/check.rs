//! Type checking and name resolution: [`Expr`] to the evaluable [`Node`].

use crate::ast::{self, BinaryOp, Expr, ExprKind, Span, UnaryOp};
use crate::dates::{DateText, whole_days};
use crate::error::{ErrorCode, RuleError};
use crate::functions::{self, Aggregation, Func};
use crate::ir::{FieldSlot, Node, RelationSlot};
use crate::suggest::did_you_mean;
use crate::types::{Schema, Scope, Type};
use crate::value::Value;

/// Checks `expr` as it would run on records of `scope`.
pub(crate) fn check(
    expr: &Expr,
    scope: &Scope,
    schema: &dyn Schema,
) -> Result<(Node, Type), RuleError> {
    // Hand-built trees skip the parser's limit; every pass below recurses.
    ast::check_depth(expr)?;
    Checker { schema }.expr(expr, scope)
}

struct Checker<'a> {
    schema: &'a dyn Schema,
}

/// A checked sub-expression with what error messages need.
struct Typed {
    node: Node,
    ty: Type,
    span: Span,
    /// The `null` literal: comparing with it is always unknown, a likely mistake.
    is_null_literal: bool,
}

fn mismatch(span: Span, message: String) -> RuleError {
    RuleError::at(ErrorCode::TypeMismatch, span, message)
}

fn a(ty: Type) -> &'static str {
    match ty {
        Type::Bool => "a boolean",
        Type::Number => "a number",
        Type::String => "a string",
        Type::Date => "a date",
        Type::List => "a list",
        Type::Any => "any value",
    }
}

fn invalid_date(span: Span, text: &str) -> RuleError {
    RuleError::at(
        ErrorCode::InvalidLiteral,
        span,
        format!(
            "`{text}` is not a date; write ISO 8601 such as \"2024-01-31\" or \"2024-01-31T09:00:00Z\""
        ),
    )
}

impl Checker<'_> {
    fn typed(&self, expr: &Expr, scope: &Scope) -> Result<Typed, RuleError> {
        let (node, ty) = self.expr(expr, scope)?;
        Ok(Typed {
            node,
            ty,
            span: expr.span,
            is_null_literal: matches!(expr.kind, ExprKind::Null),
        })
    }

    fn expr(&self, expr: &Expr, scope: &Scope) -> Result<(Node, Type), RuleError> {
        let span = expr.span;
        Ok(match &expr.kind {
            ExprKind::Null => (Node::Const(Value::Null), Type::Any),
            ExprKind::Bool(b) => (Node::Const(Value::Bool(*b)), Type::Bool),
            ExprKind::Number(n) => (Node::Const(Value::number(*n)), Type::Number),
            ExprKind::String(s) => (Node::Const(Value::String(s.clone())), Type::String),
            ExprKind::List(items) => (self.list(items, scope)?, Type::List),
            ExprKind::Path(segments) => self.path(span, segments, scope, None)?,
            ExprKind::Unary { op, operand } => {
                let operand = self.typed(operand, scope)?;
                match op {
                    UnaryOp::Not => (
                        Node::Not(Box::new(self.expect(operand, Type::Bool, "`!`")?)),
                        Type::Bool,
                    ),
                    UnaryOp::Neg => (
                        Node::Neg(Box::new(self.expect(operand, Type::Number, "`-`")?)),
                        Type::Number,
                    ),
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let lhs = self.typed(lhs, scope)?;
                let rhs = self.typed(rhs, scope)?;
                self.binary(*op, lhs, rhs, span)?
            }
            ExprKind::Logic { op, operands } => {
                let what = format!("`{}`", op.symbol());
                let nodes = operands
                    .iter()
                    .map(|operand| self.expect(self.typed(operand, scope)?, Type::Bool, &what))
                    .collect::<Result<_, _>>()?;
                (Node::Logic(*op, nodes), Type::Bool)
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                let cond = self.expect(self.typed(cond, scope)?, Type::Bool, "`if`")?;
                let then = self.typed(then, scope)?;
                let otherwise = self.typed(otherwise, scope)?;
                let ty = unify(then.ty, otherwise.ty).ok_or_else(|| {
                    mismatch(
                        otherwise.span,
                        format!(
                            "`if` branches have different types: {} and {}",
                            then.ty, otherwise.ty
                        ),
                    )
                })?;
                let (then, otherwise) = (fit(then, ty), fit(otherwise, ty));
                (
                    Node::If(Box::new(cond), Box::new(then), Box::new(otherwise)),
                    ty,
                )
            }
            ExprKind::Call { name, args } => self.call(name, args, span, scope)?,
            ExprKind::Where { .. } => {
                return Err(RuleError::at(
                    ErrorCode::Syntax,
                    span,
                    "`where` only filters the relation of an aggregation, as in `count(users where ...)`",
                ));
            }
            ExprKind::IsSet { subject, negated } => {
                let (subject, _) = self.expr(subject, scope)?;
                (
                    Node::IsSet {
                        subject: Box::new(subject),
                        negated: *negated,
                    },
                    Type::Bool,
                )
            }
            ExprKind::Between { subject, low, high } => {
                let parts = [
                    self.typed(subject, scope)?,
                    self.typed(low, scope)?,
                    self.typed(high, scope)?,
                ];
                let [subject, low, high] = self.between(parts)?;
                (
                    Node::Between(Box::new(subject), Box::new(low), Box::new(high)),
                    Type::Bool,
                )
            }
            ExprKind::Day { op, subject, day } => {
                let what = format!("`{}`", op.keyword());
                let subject = self.expect_date(self.typed(subject, scope)?, &what)?;
                let day = self.expect_date(self.typed(day, scope)?, &what)?;
                (Node::Day(*op, Box::new(subject), Box::new(day)), Type::Bool)
            }
            ExprKind::Window { op, subject, days } => {
                let subject = self.expect_date(self.typed(subject, scope)?, "a date window")?;
                if let ExprKind::Number(n) = days.kind
                    && (n < 0.0 || whole_days(n).is_none())
                {
                    return Err(RuleError::at(
                        ErrorCode::InvalidLiteral,
                        days.span,
                        "the number of days must be a whole number, zero or more",
                    ));
                }
                let days = self.expect(self.typed(days, scope)?, Type::Number, "a date window")?;
                (
                    Node::Window(*op, Box::new(subject), Box::new(days)),
                    Type::Bool,
                )
            }
        })
    }

    /// Checks `typed` against `expected`, converting strings to dates where a
    /// date is expected.
    fn expect(&self, typed: Typed, expected: Type, what: &str) -> Result<Node, RuleError> {
        if expected == Type::Date {
            return self.expect_date(typed, what);
        }
        if expected.accepts(typed.ty) {
            Ok(typed.node)
        } else {
            Err(mismatch(
                typed.span,
                format!("{what} expects {}, found {}", a(expected), typed.ty),
            ))
        }
    }

    fn expect_date(&self, typed: Typed, what: &str) -> Result<Node, RuleError> {
        match (typed.ty, typed.node) {
            (Type::Date, node) => Ok(node),
            (Type::String, Node::Const(Value::String(text))) => DateText::parse(&text)
                .map(Node::DateConst)
                .ok_or_else(|| invalid_date(typed.span, &text)),
            (Type::String | Type::Any, node) => Ok(Node::ToDate(Box::new(node))),
            (other, _) => Err(mismatch(
                typed.span,
                format!("{what} expects a date, found {other}"),
            )),
        }
    }

    fn list(&self, items: &[Expr], scope: &Scope) -> Result<Node, RuleError> {
        let nodes: Vec<Node> = items
            .iter()
            .map(|item| self.expect(self.typed(item, scope)?, Type::String, "a list"))
            .collect::<Result<_, _>>()?;
        // Lists of literals, by far the common case, become one constant.
        let constant: Option<Vec<String>> = nodes
            .iter()
            .map(|node| match node {
                Node::Const(Value::String(s)) => Some(s.clone()),
                _ => None,
            })
            .collect();
        Ok(match constant {
            Some(strings) => Node::Const(Value::List(strings)),
            None => Node::List(nodes),
        })
    }

    /// Resolves `a.b.c`: leading to-one relations are hops, the rest is one
    /// (possibly dotted) field name.
    fn path(
        &self,
        span: Span,
        segments: &[String],
        scope: &Scope,
        via: Option<&str>,
    ) -> Result<(Node, Type), RuleError> {
        if segments.len() > 1
            && let Some(relation) = self.schema.relation(scope, &segments[0])
        {
            if relation.many {
                return Err(mismatch(
                    span,
                    format!(
                        "`{name}` holds many records; aggregate it, as in `sum({name}, {field})`",
                        name = segments[0],
                        field = segments[1..].join(".")
                    ),
                ));
            }
            let slot = RelationSlot {
                id: relation.id,
                name: segments[0].clone(),
                target: relation.target.clone(),
            };
            let (inner, ty) =
                self.path(span, &segments[1..], &relation.target, Some(&segments[0]))?;
            return Ok((
                Node::Hop {
                    relation: slot,
                    inner: Box::new(inner),
                },
                ty,
            ));
        }
        let name = segments.join(".");
        if let Some(field) = self.schema.field(scope, &name) {
            let slot = FieldSlot {
                id: field.id,
                name,
                ty: field.ty,
                scope: scope.clone(),
            };
            return Ok((Node::Field(slot), field.ty));
        }
        if let Some(relation) = self.schema.relation(scope, &name) {
            let message = if relation.many {
                format!("`{name}` is a list of records; aggregate it, as in `count({name})`")
            } else {
                format!("`{name}` is a record; read one of its fields, as in `{name}.mrr`")
            };
            return Err(mismatch(span, message));
        }
        let fields = self.schema.field_names(scope);
        let relations = self.schema.relation_names(scope);
        let suggestion = did_you_mean(
            &name,
            fields.iter().chain(relations.iter()).map(String::as_str),
        );
        let location = via.map(|via| format!(" on `{via}`")).unwrap_or_default();
        Err(RuleError::at(
            ErrorCode::UnknownField,
            span,
            format!("unknown trait `{name}`{location}{suggestion}"),
        ))
    }

    fn binary(
        &self,
        op: BinaryOp,
        lhs: Typed,
        rhs: Typed,
        span: Span,
    ) -> Result<(Node, Type), RuleError> {
        let symbol = op.symbol();
        if op.is_arithmetic() {
            let numbers = |typed: Typed| {
                if Type::Number.accepts(typed.ty) {
                    Ok(typed.node)
                } else {
                    let hint = if op == BinaryOp::Add && typed.ty == Type::String {
                        "; join strings with concat(a, b)"
                    } else if typed.ty == Type::Date {
                        "; use date_add(d, days) or date_diff_days(a, b)"
                    } else {
                        ""
                    };
                    Err(mismatch(
                        typed.span,
                        format!("`{symbol}` expects numbers, found {}{hint}", typed.ty),
                    ))
                }
            };
            let lhs = numbers(lhs)?;
            let rhs = numbers(rhs)?;
            return Ok((Node::Arith(op, Box::new(lhs), Box::new(rhs)), Type::Number));
        }
        if op == BinaryOp::In {
            if !Type::List.accepts(rhs.ty) {
                let hint = if rhs.ty == Type::String {
                    "; to search text use contains(text, part)"
                } else {
                    ""
                };
                return Err(mismatch(
                    rhs.span,
                    format!("`in` expects a list on the right, found {}{hint}", rhs.ty),
                ));
            }
            let lhs = self.expect(lhs, Type::String, "`in`")?;
            return Ok((Node::In(Box::new(lhs), Box::new(rhs.node)), Type::Bool));
        }
        if let Some(null_side) = [&lhs, &rhs].into_iter().find(|t| t.is_null_literal) {
            let check = if op == BinaryOp::Ne {
                "is set"
            } else {
                "is not set"
            };
            return Err(mismatch(
                null_side.span,
                format!("comparing with null is never true; write `x {check}`"),
            ));
        }
        let ordering = !matches!(op, BinaryOp::Eq | BinaryOp::Ne);
        let [lhs, rhs] = self.comparable([lhs, rhs], span, &format!("`{symbol}`"), ordering)?;
        Ok((Node::Compare(op, Box::new(lhs), Box::new(rhs)), Type::Bool))
    }

    /// Brings operands of a comparison to one type: a date on either side
    /// turns strings and untyped values into dates.
    fn comparable<const N: usize>(
        &self,
        operands: [Typed; N],
        span: Span,
        what: &str,
        ordering: bool,
    ) -> Result<[Node; N], RuleError> {
        let is_date = operands.iter().any(|t| t.ty == Type::Date);
        let known: Option<&Typed> = operands.iter().find(|t| t.ty != Type::Any);
        if let Some(known) = known {
            if ordering && matches!(known.ty, Type::Bool | Type::List) {
                return Err(mismatch(
                    known.span,
                    format!(
                        "{what} expects numbers, dates or strings, found {}",
                        known.ty
                    ),
                ));
            }
            if !is_date && let Some(other) = operands.iter().find(|t| !known.ty.accepts(t.ty)) {
                return Err(mismatch(
                    span,
                    format!("{what} cannot compare {} with {}", known.ty, other.ty),
                ));
            }
        }
        let nodes: Vec<Node> = operands
            .into_iter()
            .map(|typed| {
                if is_date {
                    self.expect_date(typed, what)
                } else {
                    Ok(typed.node)
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(nodes
            .try_into()
            .unwrap_or_else(|_| unreachable!("same length in and out")))
    }

    fn between(&self, parts: [Typed; 3]) -> Result<[Node; 3], RuleError> {
        if let Some(bad) = parts
            .iter()
            .find(|t| matches!(t.ty, Type::Bool | Type::List | Type::String))
            .filter(|_| !parts.iter().any(|t| t.ty == Type::Date))
        {
            return Err(mismatch(
                bad.span,
                format!("`between` expects numbers or dates, found {}", bad.ty),
            ));
        }
        let span = parts[0].span.to(parts[2].span);
        self.comparable(parts, span, "`between`", true)
    }

    fn call(
        &self,
        name: &str,
        args: &[Expr],
        span: Span,
        scope: &Scope,
    ) -> Result<(Node, Type), RuleError> {
        if let Some(kind) = functions::lookup_aggregation(name) {
            if let Some(source) = args.first()
                && let Some(aggregate) = self.aggregation(kind, name, source, args, span, scope)?
            {
                return Ok(aggregate);
            }
            // `min`/`max` fall through to the scalar functions.
            if !matches!(kind, Aggregation::Min | Aggregation::Max) {
                let relations = self.schema.relation_names(scope);
                let suggestion = match args.first().map(|a| &a.kind) {
                    Some(ExprKind::Path(segments)) => {
                        did_you_mean(&segments.join("."), relations.iter().map(String::as_str))
                    }
                    _ => String::new(),
                };
                let at = args.first().map_or(span, |a| a.span);
                return Err(mismatch(
                    at,
                    format!(
                        "the first argument is not a relation of {scope}; `{name}` takes {}{suggestion}",
                        aggregation_example(kind)
                    ),
                ));
            }
        }
        let Some(func) = functions::lookup(name) else {
            return Err(RuleError::at(
                ErrorCode::UnknownFunction,
                span,
                format!(
                    "unknown function `{name}`{}",
                    did_you_mean(name, functions::all_names())
                ),
            ));
        };
        let args: Vec<Typed> = args
            .iter()
            .map(|arg| self.typed(arg, scope))
            .collect::<Result<_, _>>()?;
        self.scalar_call(func, name, args, span)
    }

    /// `None` when the first argument is not a relation (so `min(a, b)` is
    /// the scalar minimum).
    fn aggregation(
        &self,
        kind: Aggregation,
        name: &str,
        source: &Expr,
        args: &[Expr],
        span: Span,
        scope: &Scope,
    ) -> Result<Option<(Node, Type)>, RuleError> {
        let (relation_expr, filter) = match &source.kind {
            ExprKind::Where { source, filter } => (&**source, Some(&**filter)),
            _ => (source, None),
        };
        let ExprKind::Path(segments) = &relation_expr.kind else {
            return Ok(None);
        };
        let Some(path) = self.relation_path(segments, scope) else {
            if filter.is_some() {
                let relations = self.schema.relation_names(scope);
                let joined = segments.join(".");
                return Err(RuleError::at(
                    ErrorCode::UnknownField,
                    relation_expr.span,
                    format!(
                        "unknown relation `{joined}` on {scope}{}",
                        did_you_mean(&joined, relations.iter().map(String::as_str))
                    ),
                ));
            }
            return Ok(None);
        };
        let target = path.last().map_or(scope, |r| &r.target).clone();
        let expected_args = if kind == Aggregation::Count { 1 } else { 2 };
        if args.len() != expected_args {
            return Err(RuleError::at(
                ErrorCode::ArgumentCount,
                span,
                format!("`{name}` takes {}", aggregation_example(kind)),
            ));
        }
        let filter = filter
            .map(|f| self.expect(self.typed(f, &target)?, Type::Bool, "`where`"))
            .transpose()?
            .map(Box::new);
        let (value, ty) = match kind {
            Aggregation::Count => (None, Type::Number),
            Aggregation::Sum | Aggregation::Avg => {
                let value = self.typed(&args[1], &target)?;
                let node = self.expect(value, Type::Number, &format!("`{name}`"))?;
                (Some(Box::new(node)), Type::Number)
            }
            Aggregation::Min | Aggregation::Max => {
                let value = self.typed(&args[1], &target)?;
                if !matches!(value.ty, Type::Number | Type::Date | Type::Any) {
                    return Err(mismatch(
                        value.span,
                        format!("`{name}` expects numbers or dates, found {}", value.ty),
                    ));
                }
                let ty = value.ty;
                (Some(Box::new(value.node)), ty)
            }
        };
        let node = Node::Aggregate {
            kind,
            path,
            filter,
            value,
        };
        Ok(Some((node, ty)))
    }

    /// `users`, `organization.accounts`: every segment a relation.
    fn relation_path(&self, segments: &[String], scope: &Scope) -> Option<Vec<RelationSlot>> {
        let mut current = scope.clone();
        let mut path = Vec::with_capacity(segments.len());
        for segment in segments {
            let relation = self.schema.relation(&current, segment)?;
            path.push(RelationSlot {
                id: relation.id,
                name: segment.clone(),
                target: relation.target.clone(),
            });
            current = relation.target;
        }
        Some(path)
    }

    fn scalar_call(
        &self,
        func: Func,
        name: &str,
        args: Vec<Typed>,
        span: Span,
    ) -> Result<(Node, Type), RuleError> {
        let what = format!("`{name}`");
        let arity = |min: usize, max: usize| -> Result<(), RuleError> {
            if (min..=max).contains(&args.len()) {
                return Ok(());
            }
            let expected = match (min, max) {
                (n, m) if n == m => format!("{n} argument{}", if n == 1 { "" } else { "s" }),
                (n, usize::MAX) => format!("at least {n} arguments"),
                (n, m) => format!("{n} to {m} arguments"),
            };
            Err(RuleError::at(
                ErrorCode::ArgumentCount,
                span,
                format!("`{name}` takes {expected}, got {}", args.len()),
            ))
        };
        // Checks each argument against a fixed parameter list.
        let fixed = |params: &[Type], args: Vec<Typed>| -> Result<Vec<Node>, RuleError> {
            args.into_iter()
                .zip(params)
                .map(|(arg, ty)| self.expect(arg, *ty, &what))
                .collect()
        };
        use Type::{Bool, Date, List, Number, String as Str};
        let (params, result): (&[Type], Type) = match func {
            Func::Lower | Func::Upper | Func::Trim => (&[Str], Str),
            Func::StartsWith | Func::EndsWith => (&[Str, Str], Bool),
            Func::Floor | Func::Ceil | Func::Abs => (&[Number], Number),
            Func::Now => (&[], Date),
            Func::DaysSince | Func::DaysUntil | Func::Year | Func::Month | Func::Day => {
                (&[Date], Number)
            }
            Func::DateAdd => (&[Date, Number], Date),
            Func::DateDiffDays => (&[Date, Date], Number),
            Func::ContainsAny | Func::ContainsAll | Func::ContainsNone => (&[List, List], Bool),
            Func::Date => (&[Date], Date),
            Func::Round => {
                arity(1, 2)?;
                let nodes = fixed(&[Number, Number], args)?;
                return Ok((Node::Call(func, nodes), Number));
            }
            Func::IsSet => {
                arity(1, 1)?;
                let nodes = args.into_iter().map(|a| a.node).collect();
                return Ok((Node::Call(func, nodes), Bool));
            }
            Func::Concat => {
                arity(1, usize::MAX)?;
                let nodes = args.into_iter().map(|a| a.node).collect();
                return Ok((Node::Call(func, nodes), Str));
            }
            Func::Len => {
                arity(1, 1)?;
                let arg = one(args);
                if !matches!(arg.ty, Str | List | Type::Any) {
                    return Err(mismatch(
                        arg.span,
                        format!("{what} expects a string or a list, found {}", arg.ty),
                    ));
                }
                return Ok((Node::Call(func, vec![arg.node]), Number));
            }
            Func::Contains => {
                arity(2, 2)?;
                let Ok([haystack, needle]) = <[Typed; 2]>::try_from(args) else {
                    unreachable!("arity checked")
                };
                if !matches!(haystack.ty, Str | List | Type::Any) {
                    return Err(mismatch(
                        haystack.span,
                        format!("{what} expects a string or a list, found {}", haystack.ty),
                    ));
                }
                let needle = self.expect(needle, Str, &what)?;
                return Ok((Node::Call(func, vec![haystack.node, needle]), Bool));
            }
            Func::Coalesce | Func::Min | Func::Max => {
                let min_args = if func == Func::Coalesce { 1 } else { 2 };
                arity(min_args, usize::MAX)?;
                let mut ty = Type::Any;
                let has_date = args.iter().any(|a| a.ty == Date);
                for arg in &args {
                    let arg_ty = if has_date && arg.ty == Str {
                        Date
                    } else {
                        arg.ty
                    };
                    ty = unify(ty, arg_ty).ok_or_else(|| {
                        mismatch(
                            arg.span,
                            format!(
                                "{what} arguments must share a type: found {ty} and {}",
                                arg.ty
                            ),
                        )
                    })?;
                }
                if func != Func::Coalesce && !matches!(ty, Number | Date | Type::Any) {
                    return Err(mismatch(
                        span,
                        format!("{what} expects numbers or dates, found {ty}"),
                    ));
                }
                let nodes = if ty == Date {
                    // As in comparisons, a date among the arguments makes
                    // strings dates.
                    args.into_iter()
                        .map(|a| self.expect_date(a, &what))
                        .collect::<Result<_, _>>()?
                } else {
                    args.into_iter().map(|a| fit(a, ty)).collect()
                };
                return Ok((Node::Call(func, nodes), ty));
            }
        };
        arity(params.len(), params.len())?;
        if func == Func::Date {
            // `date("2024-01-31")` is checked and parsed once, here.
            return Ok((self.expect_date(one(args), &what)?, Date));
        }
        Ok((Node::Call(func, fixed(params, args)?), result))
    }
}

fn one(args: Vec<Typed>) -> Typed {
    args.into_iter()
        .next()
        .unwrap_or_else(|| unreachable!("arity checked"))
}

/// `typed` where a value of type `ty` is promised: untyped values are fitted
/// at run time.
fn fit(typed: Typed, ty: Type) -> Node {
    if typed.ty == Type::Any && ty != Type::Any && !typed.is_null_literal {
        Node::Fit(Box::new(typed.node), ty)
    } else {
        typed.node
    }
}

/// The common type of two branches or arguments; `Any` yields to the other.
fn unify(a: Type, b: Type) -> Option<Type> {
    match (a, b) {
        (Type::Any, other) | (other, Type::Any) => Some(other),
        (a, b) if a == b => Some(a),
        _ => None,
    }
}

fn aggregation_example(kind: Aggregation) -> &'static str {
    match kind {
        Aggregation::Count => {
            "a relation, as in `count(users where lastSeenTimestamp in last 30 days)`"
        }
        Aggregation::Sum => {
            "a relation and a value, as in `sum(accounts where status == \"subscribed\", mrr)`"
        }
        Aggregation::Avg => "a relation and a value, as in `avg(accounts, mrr)`",
        Aggregation::Min => "a relation and a value, as in `min(accounts, mrr)`",
        Aggregation::Max => "a relation and a value, as in `max(users, lastSeenTimestamp)`",
    }
}
