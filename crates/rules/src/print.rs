//! Prints an [`Expr`] back to text that parses to the same tree.
//!
//! Parentheses are added only where the parser's binding powers need them,
//! using the same table ([`crate::parser::bp`]).

use std::fmt::{self, Write};

use crate::ast::{Expr, ExprKind, LogicOp, UnaryOp, WindowOp};
use crate::lexer::{is_ident_continue, is_ident_start};
use crate::parser::{binary_bp, bp};

/// Words that are keywords somewhere in the grammar. Names spelled like them
/// are printed in backticks so they can never be misread.
const KEYWORDS: &[&str] = &[
    "true", "false", "null", "if", "then", "else", "where", "in", "not", "is", "set", "between",
    "and", "before", "on", "after", "more", "than", "days", "ago", "from", "now", "last", "next",
];

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_expr(f, self, 0)
    }
}

fn own_bp(expr: &Expr) -> u8 {
    match &expr.kind {
        ExprKind::Null
        | ExprKind::Bool(_)
        | ExprKind::Number(_)
        | ExprKind::String(_)
        | ExprKind::List(_)
        | ExprKind::Path(_)
        | ExprKind::Call { .. } => bp::ATOM,
        ExprKind::Unary { .. } => bp::PREFIX,
        ExprKind::Binary { op, .. } => binary_bp(*op),
        ExprKind::Logic {
            op: LogicOp::And, ..
        } => bp::AND,
        ExprKind::Logic {
            op: LogicOp::Or, ..
        } => bp::OR,
        ExprKind::IsSet { .. }
        | ExprKind::Between { .. }
        | ExprKind::Day { .. }
        | ExprKind::Window { .. } => bp::COMPARE,
        ExprKind::Where { .. } => bp::WHERE,
        // `if` extends as far right as it can, so it needs parentheses
        // anywhere but a top-level-like position.
        ExprKind::If { .. } => 0,
    }
}

fn write_expr(f: &mut fmt::Formatter<'_>, expr: &Expr, min_bp: u8) -> fmt::Result {
    let parenthesize = own_bp(expr) < min_bp;
    if parenthesize {
        f.write_char('(')?;
    }
    write_bare(f, expr)?;
    if parenthesize {
        f.write_char(')')?;
    }
    Ok(())
}

fn write_bare(f: &mut fmt::Formatter<'_>, expr: &Expr) -> fmt::Result {
    const OPERAND: u8 = bp::COMPARE_OPERAND;
    match &expr.kind {
        ExprKind::Null => f.write_str("null"),
        ExprKind::Bool(b) => write!(f, "{b}"),
        ExprKind::Number(n) => write!(f, "{n}"),
        ExprKind::String(s) => write_quoted(f, s, '"'),
        ExprKind::List(items) => {
            f.write_char('[')?;
            write_comma_separated(f, items)?;
            f.write_char(']')
        }
        ExprKind::Path(segments) => {
            for (i, segment) in segments.iter().enumerate() {
                if i > 0 {
                    f.write_char('.')?;
                }
                write_name(f, segment)?;
            }
            Ok(())
        }
        ExprKind::Call { name, args } => {
            write_name(f, name)?;
            f.write_char('(')?;
            write_comma_separated(f, args)?;
            f.write_char(')')
        }
        ExprKind::Unary { op, operand } => {
            f.write_str(match op {
                UnaryOp::Not => "!",
                UnaryOp::Neg => "-",
            })?;
            // `-(5)` keeps the negation a node: `-5` would re-parse as one literal.
            let positive_literal =
                matches!(operand.kind, ExprKind::Number(n) if n.is_sign_positive());
            if *op == UnaryOp::Neg && positive_literal {
                write!(f, "({operand})")
            } else {
                write_expr(f, operand, bp::PREFIX)
            }
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let op_bp = binary_bp(*op);
            let (lhs_bp, rhs_bp) = if op_bp == bp::COMPARE {
                (OPERAND, OPERAND)
            } else {
                (op_bp, op_bp + 1)
            };
            write_expr(f, lhs, lhs_bp)?;
            write!(f, " {} ", op.symbol())?;
            write_expr(f, rhs, rhs_bp)
        }
        ExprKind::Logic { op, operands } => {
            let operand_bp = own_bp(expr) + 1;
            for (i, operand) in operands.iter().enumerate() {
                if i > 0 {
                    write!(f, " {} ", op.symbol())?;
                }
                write_expr(f, operand, operand_bp)?;
            }
            Ok(())
        }
        ExprKind::If {
            cond,
            then,
            otherwise,
        } => {
            write!(f, "if {cond} then {then} else {otherwise}")
        }
        ExprKind::Where { source, filter } => {
            write_expr(f, source, bp::WHERE + 1)?;
            f.write_str(" where ")?;
            write_expr(f, filter, bp::WHERE + 1)
        }
        ExprKind::IsSet { subject, negated } => {
            write_expr(f, subject, OPERAND)?;
            f.write_str(if *negated { " is not set" } else { " is set" })
        }
        ExprKind::Between { subject, low, high } => {
            write_expr(f, subject, OPERAND)?;
            f.write_str(" between ")?;
            write_expr(f, low, OPERAND)?;
            f.write_str(" and ")?;
            write_expr(f, high, OPERAND)
        }
        ExprKind::Day { op, subject, day } => {
            write_expr(f, subject, OPERAND)?;
            write!(f, " {} ", op.keyword())?;
            write_expr(f, day, OPERAND)
        }
        ExprKind::Window { op, subject, days } => {
            write_expr(f, subject, OPERAND)?;
            f.write_str(match op {
                WindowOp::InLast => " in last ",
                WindowOp::InNext => " in next ",
                WindowOp::MoreThanAgo | WindowOp::MoreThanFromNow => " more than ",
            })?;
            write_expr(f, days, OPERAND)?;
            f.write_str(match op {
                WindowOp::InLast | WindowOp::InNext => " days",
                WindowOp::MoreThanAgo => " days ago",
                WindowOp::MoreThanFromNow => " days from now",
            })
        }
    }
}

fn write_comma_separated(f: &mut fmt::Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write_expr(f, item, 0)?;
    }
    Ok(())
}

/// Whether `name` can be written bare as a path segment.
pub(crate) fn is_plain_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_ident_start)
        && chars.all(is_ident_continue)
        && !KEYWORDS.contains(&name)
}

fn write_name(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    if is_plain_name(name) {
        f.write_str(name)
    } else {
        write_quoted(f, name, '`')
    }
}

fn write_quoted(f: &mut fmt::Formatter<'_>, text: &str, quote: char) -> fmt::Result {
    f.write_char(quote)?;
    for c in text.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c if c == quote => write!(f, "\\{c}")?,
            c if c.is_control() => write!(f, "\\u{{{:x}}}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char(quote)
}
