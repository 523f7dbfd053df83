//! The checked, resolved form that evaluation and analysis walk.
//!
//! Names are resolved to schema ids once, date literals are parsed once, and
//! every implicit conversion (string to date) is an explicit node, so the
//! evaluator never consults the schema and never re-parses text.

use crate::ast::{BinaryOp, DayOp, LogicOp, WindowOp};
use crate::dates::DateText;
use crate::functions::{Aggregation, Func};
use crate::types::{Scope, Type};
use crate::value::Value;

#[derive(Debug, Clone)]
pub(crate) struct FieldSlot {
    pub id: u32,
    pub name: String,
    pub ty: Type,
    /// The record kind the field belongs to (for dependency reports).
    pub scope: Scope,
}

#[derive(Debug, Clone)]
pub(crate) struct RelationSlot {
    pub id: u32,
    pub name: String,
    pub target: Scope,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Const(Value),
    /// A date literal; strings without an offset resolve in the evaluation zone.
    DateConst(DateText),
    Field(FieldSlot),
    /// Read `inner` on the record a to-one relation points at.
    Hop {
        relation: RelationSlot,
        inner: Box<Node>,
    },
    List(Vec<Node>),
    Not(Box<Node>),
    Neg(Box<Node>),
    Arith(BinaryOp, Box<Node>, Box<Node>),
    Compare(BinaryOp, Box<Node>, Box<Node>),
    In(Box<Node>, Box<Node>),
    Logic(LogicOp, Vec<Node>),
    If(Box<Node>, Box<Node>, Box<Node>),
    IsSet {
        subject: Box<Node>,
        negated: bool,
    },
    Between(Box<Node>, Box<Node>, Box<Node>),
    Day(DayOp, Box<Node>, Box<Node>),
    Window(WindowOp, Box<Node>, Box<Node>),
    Call(Func, Vec<Node>),
    Aggregate {
        kind: Aggregation,
        /// Relations followed in turn from the record (usually one).
        path: Vec<RelationSlot>,
        filter: Option<Box<Node>>,
        value: Option<Box<Node>>,
    },
    /// Reads a string (or an untyped value) as a date.
    ToDate(Box<Node>),
    /// An untyped value used where the checker promised a type (an `if`
    /// branch, a `coalesce` argument): values of another kind become null,
    /// so a program's declared type always holds.
    Fit(Box<Node>, Type),
}

impl Node {
    /// Direct children, for analyses that do not care about the node kind.
    pub(crate) fn children(&self) -> Vec<&Node> {
        match self {
            Node::Const(_) | Node::DateConst(_) | Node::Field(_) => Vec::new(),
            Node::Hop { inner, .. } => vec![inner],
            Node::List(items) | Node::Logic(_, items) | Node::Call(_, items) => {
                items.iter().collect()
            }
            Node::Not(x)
            | Node::Neg(x)
            | Node::ToDate(x)
            | Node::Fit(x, _)
            | Node::IsSet { subject: x, .. } => {
                vec![x]
            }
            Node::Arith(_, a, b)
            | Node::Compare(_, a, b)
            | Node::In(a, b)
            | Node::Day(_, a, b)
            | Node::Window(_, a, b) => vec![a, b],
            Node::If(a, b, c) | Node::Between(a, b, c) => vec![a, b, c],
            Node::Aggregate { filter, value, .. } => {
                filter.iter().chain(value.iter()).map(|b| &**b).collect()
            }
        }
    }
}
