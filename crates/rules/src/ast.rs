//! The syntax tree shared by the text and JSON forms.
//!
//! The tree is purely syntactic: names are not resolved and nothing is typed.
//! [`crate::Program`] is the checked, resolved form that evaluates.

use crate::error::{ErrorCode, RuleError};
use crate::limits::MAX_DEPTH;

/// A byte range in the source text. Expressions built from a JSON filter have
/// empty spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// One node of the tree, with the source range it came from.
///
/// Equality compares structure only and ignores spans, so that a printed and
/// re-parsed expression equals the original.
#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Self {
        Expr { kind, span }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Null,
    Bool(bool),
    /// Always finite: the lexer rejects literals that overflow.
    Number(f64),
    String(String),
    /// `["a", "b"]`.
    List(Vec<Expr>),
    /// `mrr`, `traits.plan`, `organization.mrr`, `` `vitally.custom.nextStep` ``.
    /// Whether a segment is a relation hop or part of a dotted field name is
    /// decided by the checker against the schema.
    Path(Vec<String>),
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `a && b && c` is one node so that long AND/OR chains (typical of JSON
    /// filters) stay shallow.
    Logic {
        op: LogicOp,
        operands: Vec<Expr>,
    },
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    Call {
        name: String,
        args: Vec<Expr>,
    },
    /// `users where lastSeenTimestamp in last 30 days`: only meaningful as the
    /// first argument of an aggregation.
    Where {
        source: Box<Expr>,
        filter: Box<Expr>,
    },
    /// `x is set` / `x is not set`.
    IsSet {
        subject: Box<Expr>,
        negated: bool,
    },
    /// `x between low and high`, inclusive.
    Between {
        subject: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
    },
    /// `x before d`, `x on d`, `x after d`: calendar-day comparisons.
    Day {
        op: DayOp,
        subject: Box<Expr>,
        day: Box<Expr>,
    },
    /// `x in last 14 days`, `x more than 30 days ago`, ...
    Window {
        op: WindowOp,
        subject: Box<Expr>,
        days: Box<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `x in list`.
    In,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogicOp {
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayOp {
    Before,
    On,
    After,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowOp {
    /// `x in last N days`: x is in the past, at most N days ago.
    InLast,
    /// `x in next N days`: x is in the future, at most N days ahead.
    InNext,
    /// `x more than N days ago`.
    MoreThanAgo,
    /// `x more than N days from now`.
    MoreThanFromNow,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
        }
    }

    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem
        )
    }
}

impl LogicOp {
    pub fn symbol(self) -> &'static str {
        match self {
            LogicOp::And => "&&",
            LogicOp::Or => "||",
        }
    }
}

impl DayOp {
    pub fn keyword(self) -> &'static str {
        match self {
            DayOp::Before => "before",
            DayOp::On => "on",
            DayOp::After => "after",
        }
    }
}

/// Rejects trees deeper than [`MAX_DEPTH`] without recursing further than
/// that, so it is safe on hand-built or hostile trees.
pub(crate) fn check_depth(expr: &Expr) -> Result<(), RuleError> {
    fn walk(expr: &Expr, depth: usize) -> Result<(), RuleError> {
        if depth > MAX_DEPTH {
            return Err(RuleError::at(
                ErrorCode::TooDeeplyNested,
                expr.span,
                format!("expression nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        // A path of n segments may become n nested relation hops.
        if let ExprKind::Path(segments) = &expr.kind
            && depth + segments.len().saturating_sub(1) > MAX_DEPTH
        {
            return walk(expr, MAX_DEPTH + 1);
        }
        children(expr).try_for_each(|child| walk(child, depth + 1))
    }
    walk(expr, 1)
}

/// The direct sub-expressions, in source order.
pub(crate) fn children(expr: &Expr) -> Box<dyn Iterator<Item = &Expr> + '_> {
    use std::iter::once;
    match &expr.kind {
        ExprKind::Null
        | ExprKind::Bool(_)
        | ExprKind::Number(_)
        | ExprKind::String(_)
        | ExprKind::Path(_) => Box::new(std::iter::empty()),
        ExprKind::List(items) => Box::new(items.iter()),
        ExprKind::Logic { operands, .. } => Box::new(operands.iter()),
        ExprKind::Call { args, .. } => Box::new(args.iter()),
        ExprKind::Unary { operand, .. } => Box::new(once(&**operand)),
        ExprKind::IsSet { subject, .. } => Box::new(once(&**subject)),
        ExprKind::Binary { lhs, rhs, .. } => Box::new(once(&**lhs).chain(once(&**rhs))),
        ExprKind::Where { source, filter } => Box::new(once(&**source).chain(once(&**filter))),
        ExprKind::Day { subject, day, .. } => Box::new(once(&**subject).chain(once(&**day))),
        ExprKind::Window { subject, days, .. } => Box::new(once(&**subject).chain(once(&**days))),
        ExprKind::If {
            cond,
            then,
            otherwise,
        } => Box::new(once(&**cond).chain(once(&**then)).chain(once(&**otherwise))),
        ExprKind::Between { subject, low, high } => {
            Box::new(once(&**subject).chain(once(&**low)).chain(once(&**high)))
        }
    }
}

/// Moves every span by `offset`; used to locate a text expression embedded in
/// a JSON filter. Depth is bounded by the caller's earlier parse.
pub(crate) fn shift_spans(expr: &mut Expr, offset: usize) {
    expr.span = Span::new(expr.span.start + offset, expr.span.end + offset);
    for_each_child_mut(expr, &mut |child| shift_spans(child, offset));
}

fn for_each_child_mut(expr: &mut Expr, f: &mut dyn FnMut(&mut Expr)) {
    match &mut expr.kind {
        ExprKind::Null
        | ExprKind::Bool(_)
        | ExprKind::Number(_)
        | ExprKind::String(_)
        | ExprKind::Path(_) => {}
        ExprKind::List(items) => items.iter_mut().for_each(f),
        ExprKind::Logic { operands, .. } => operands.iter_mut().for_each(f),
        ExprKind::Call { args, .. } => args.iter_mut().for_each(f),
        ExprKind::Unary { operand, .. } => f(operand),
        ExprKind::IsSet { subject, .. } => f(subject),
        ExprKind::Binary { lhs, rhs, .. } => {
            f(lhs);
            f(rhs);
        }
        ExprKind::Where { source, filter } => {
            f(source);
            f(filter);
        }
        ExprKind::Day { subject, day, .. } => {
            f(subject);
            f(day);
        }
        ExprKind::Window { subject, days, .. } => {
            f(subject);
            f(days);
        }
        ExprKind::If {
            cond,
            then,
            otherwise,
        } => {
            f(cond);
            f(then);
            f(otherwise);
        }
        ExprKind::Between { subject, low, high } => {
            f(subject);
            f(low);
            f(high);
        }
    }
}
