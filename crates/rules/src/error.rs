//! The one error type every stage returns, shaped for an HTTP 400 body.

use std::fmt;
use std::ops::Range;

use serde::Serialize;

use crate::ast::Span;

/// A stable, machine-readable error kind. Clients switch on the snake_case
/// name (`"unknown_field"`), so variants may be added but never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The source text is longer than [`crate::MAX_INPUT_LEN`].
    InputTooLong,
    /// The expression nests deeper than [`crate::MAX_DEPTH`].
    TooDeeplyNested,
    /// The text is not a well-formed expression.
    Syntax,
    /// A name does not match any field of the record kind.
    UnknownField,
    /// A call names no known function.
    UnknownFunction,
    /// An operand or argument has the wrong type.
    TypeMismatch,
    /// A function got too few or too many arguments.
    ArgumentCount,
    /// A literal is well-formed but unusable (an unparseable date, a negative day count).
    InvalidLiteral,
    /// A JSON filter has the wrong shape.
    InvalidFilter,
    /// A JSON filter names an operator we do not have.
    UnknownOperator,
    /// Formula definitions depend on each other in a loop.
    FormulaCycle,
}

impl ErrorCode {
    /// The snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InputTooLong => "input_too_long",
            ErrorCode::TooDeeplyNested => "too_deeply_nested",
            ErrorCode::Syntax => "syntax",
            ErrorCode::UnknownField => "unknown_field",
            ErrorCode::UnknownFunction => "unknown_function",
            ErrorCode::TypeMismatch => "type_mismatch",
            ErrorCode::ArgumentCount => "argument_count",
            ErrorCode::InvalidLiteral => "invalid_literal",
            ErrorCode::InvalidFilter => "invalid_filter",
            ErrorCode::UnknownOperator => "unknown_operator",
            ErrorCode::FormulaCycle => "formula_cycle",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What went wrong and where: a byte range into the source text, a JSON path
/// into a filter document, or both (for a text expression embedded in JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Range<usize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl RuleError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RuleError {
            code,
            message: message.into(),
            span: None,
            path: None,
        }
    }

    pub(crate) fn at(code: ErrorCode, span: Span, message: impl Into<String>) -> Self {
        RuleError {
            span: Some(span.start..span.end),
            ..RuleError::new(code, message)
        }
    }

    pub(crate) fn at_path(code: ErrorCode, path: &str, message: impl Into<String>) -> Self {
        RuleError {
            // The root of a document has an empty path: say nothing.
            path: (!path.is_empty()).then(|| path.to_owned()),
            ..RuleError::new(code, message)
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{path}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(span) = &self.span {
            write!(f, " at {}..{}", span.start, span.end)?;
        }
        Ok(())
    }
}

impl std::error::Error for RuleError {}
