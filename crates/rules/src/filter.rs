//! The JSON filter form used by the API and the web app's filter builder.
//!
//! ```json
//! {"all": [
//!   {"field": "mrr", "op": "gt", "value": 100},
//!   {"any": [
//!     {"field": "plan", "op": "is_any_of", "value": ["pro", "enterprise"]},
//!     {"field": "churnedAt", "op": "is_not_set"}
//!   ]},
//!   {"not": {"field": "tags", "op": "contains_any", "value": ["test"]}},
//!   {"expr": "count(users where lastSeenTimestamp in last 30 days) > 3"}
//! ]}
//! ```
//!
//! A node is exactly one of `all` (AND), `any` (OR), `not`, `expr` (a
//! condition in the text syntax), or a condition (`field`, `op`, `value`).
//! An empty `all` matches everything; an empty `any` matches nothing.
//! Filters convert to the same [`Expr`] as the text form, so there is one
//! checker and one evaluator, and any filter can be shown as text.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value as Json, json};

use crate::ast::{self, BinaryOp, DayOp, Expr, ExprKind, LogicOp, Span, UnaryOp, WindowOp};
use crate::dates::DateText;
use crate::error::{ErrorCode, RuleError};
use crate::limits::MAX_DEPTH;
use crate::parser::parse;
use crate::program::Program;
use crate::suggest::did_you_mean;
use crate::types::{Schema, Scope};

/// One node of a JSON filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    All(Vec<Filter>),
    Any(Vec<Filter>),
    Not(Box<Filter>),
    Condition(Condition),
    /// A condition written in the text syntax.
    Expr(Expr),
}

/// `{"field": ..., "op": ..., "value": ...}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// A field name as in the text syntax, dots included:
    /// `mrr`, `organization.mrr`, `vitally.custom.nextStep`.
    pub field: String,
    pub op: Operator,
}

/// An operator with its operand, already validated for shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Operator {
    // Any type.
    IsSet,
    IsNotSet,
    // Strings (and `is`/`is_not` for any scalar).
    Is(Scalar),
    IsNot(Scalar),
    Contains(String),
    DoesNotContain(String),
    StartsWith(String),
    EndsWith(String),
    IsAnyOf(Vec<String>),
    IsNoneOf(Vec<String>),
    // Numbers.
    Eq(f64),
    Ne(f64),
    Gt(f64),
    Gte(f64),
    Lt(f64),
    Lte(f64),
    Between(f64, f64),
    // Dates: ISO-8601 strings, compared by calendar day.
    Before(String),
    After(String),
    On(String),
    DateBetween(String, String),
    InLastDays(u32),
    InNextDays(u32),
    MoreThanDaysAgo(u32),
    MoreThanDaysFromNow(u32),
    // Booleans.
    IsTrue,
    IsFalse,
    // Multi-select.
    ContainsAny(Vec<String>),
    ContainsAll(Vec<String>),
    ContainsNone(Vec<String>),
}

/// The operand of `is` / `is_not`.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    String(String),
    Number(f64),
    Bool(bool),
}

/// Every operator name, for errors and suggestions.
pub const OPERATOR_NAMES: &[&str] = &[
    "is_set",
    "is_not_set",
    "is",
    "is_not",
    "contains",
    "does_not_contain",
    "starts_with",
    "ends_with",
    "is_any_of",
    "is_none_of",
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "before",
    "after",
    "on",
    "in_last_days",
    "in_next_days",
    "more_than_days_ago",
    "more_than_days_from_now",
    "is_true",
    "is_false",
    "contains_any",
    "contains_all",
    "contains_none",
];

/// Group nesting allowed in JSON; conditions add a few levels below.
const MAX_GROUP_DEPTH: usize = MAX_DEPTH / 2;

/// Spans of conditions in a tagged lowering are `k << TAG_SHIFT`, far above
/// any offset in a text expression (which is at most `MAX_INPUT_LEN`).
const TAG_SHIFT: u32 = 20;

fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn shape_error(path: &str, message: impl Into<String>) -> RuleError {
    RuleError::at_path(ErrorCode::InvalidFilter, path, message)
}

impl Filter {
    /// Parses a JSON document, naming the JSON path of any error
    /// (`all[1].value: expected a number`).
    ///
    /// ```
    /// use steward_rules::Filter;
    /// let json = serde_json::json!({"all": [
    ///     {"field": "mrr", "op": "gt", "value": 100},
    ///     {"field": "plan", "op": "is_any_of", "value": ["pro", "enterprise"]}
    /// ]});
    /// let filter = Filter::from_json(&json).unwrap();
    /// assert_eq!(filter.to_expr().to_string(), r#"mrr > 100 && plan in ["pro", "enterprise"]"#);
    ///
    /// let bad = serde_json::json!({"all": [{"field": "mrr", "op": "gt", "value": "big"}]});
    /// assert_eq!(Filter::from_json(&bad).unwrap_err().to_string(), "all[0].value: expected a number");
    /// ```
    pub fn from_json(json: &Json) -> Result<Filter, RuleError> {
        node_from_json(json, "", 0)
    }

    /// [`Filter::from_json`] from text.
    pub fn from_json_str(text: &str) -> Result<Filter, RuleError> {
        let json: Json = serde_json::from_str(text)
            .map_err(|e| RuleError::new(ErrorCode::InvalidFilter, format!("invalid JSON: {e}")))?;
        Filter::from_json(&json)
    }

    /// The JSON document.
    pub fn to_json(&self) -> Json {
        match self {
            Filter::All(items) => {
                json!({ "all": items.iter().map(Filter::to_json).collect::<Vec<_>>() })
            }
            Filter::Any(items) => {
                json!({ "any": items.iter().map(Filter::to_json).collect::<Vec<_>>() })
            }
            Filter::Not(inner) => json!({ "not": inner.to_json() }),
            Filter::Expr(expr) => json!({ "expr": expr.to_string() }),
            Filter::Condition(condition) => {
                let (op, value) = condition.op.to_json();
                let mut object = serde_json::Map::new();
                object.insert("field".into(), Json::String(condition.field.clone()));
                object.insert("op".into(), Json::String(op.into()));
                if let Some(value) = value {
                    object.insert("value".into(), value);
                }
                Json::Object(object)
            }
        }
    }

    /// The equivalent expression (with empty spans).
    pub fn to_expr(&self) -> Expr {
        Lowering {
            tagged: false,
            conditions: Vec::new(),
        }
        .lower(self, "")
    }

    /// Checks the filter for records of `scope`. Errors name the JSON path of
    /// the condition at fault (`any[0].field: unknown trait ...`); errors
    /// inside an `expr` condition also carry the span within that text.
    pub fn compile(&self, scope: &Scope, schema: &dyn Schema) -> Result<Program, RuleError> {
        let mut lowering = Lowering {
            tagged: true,
            conditions: Vec::new(),
        };
        let expr = lowering.lower(self, "");
        Program::filter(&expr, scope, schema).map_err(|error| lowering.locate(error))
    }
}

impl Serialize for Filter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Json::deserialize(deserializer)?;
        Filter::from_json(&json).map_err(serde::de::Error::custom)
    }
}

fn node_from_json(json: &Json, path: &str, depth: usize) -> Result<Filter, RuleError> {
    if depth > MAX_GROUP_DEPTH {
        return Err(RuleError::at_path(
            ErrorCode::TooDeeplyNested,
            path,
            format!("filter groups nest deeper than {MAX_GROUP_DEPTH} levels"),
        ));
    }
    let Json::Object(object) = json else {
        return Err(shape_error(
            path,
            "expected an object with `all`, `any`, `not`, `expr`, or `field` and `op`",
        ));
    };
    for key in ["all", "any", "not", "expr"] {
        let Some(inner) = object.get(key) else {
            continue;
        };
        if let Some(extra) = object.keys().find(|k| *k != key) {
            return Err(shape_error(
                path,
                format!("`{key}` cannot be combined with `{extra}` in one object"),
            ));
        }
        let inner_path = child_path(path, key);
        return match key {
            "all" | "any" => {
                let Json::Array(items) = inner else {
                    return Err(shape_error(&inner_path, "expected an array of filters"));
                };
                let children = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| node_from_json(item, &format!("{inner_path}[{i}]"), depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if key == "all" {
                    Filter::All(children)
                } else {
                    Filter::Any(children)
                })
            }
            "not" => Ok(Filter::Not(Box::new(node_from_json(
                inner,
                &inner_path,
                depth + 1,
            )?))),
            _ => {
                let Json::String(text) = inner else {
                    return Err(shape_error(&inner_path, "expected a string"));
                };
                parse(text).map(Filter::Expr).map_err(|e| RuleError {
                    path: Some(inner_path),
                    ..e
                })
            }
        };
    }
    condition_from_json(object, path).map(Filter::Condition)
}

fn condition_from_json(
    object: &serde_json::Map<String, Json>,
    path: &str,
) -> Result<Condition, RuleError> {
    if let Some(unknown) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "field" | "op" | "value"))
    {
        return Err(shape_error(
            &child_path(path, unknown),
            format!("unknown key `{unknown}`; a condition has `field`, `op` and `value`"),
        ));
    }
    let field_path = child_path(path, "field");
    let field = match object.get("field") {
        Some(Json::String(field)) if !field.is_empty() => field.clone(),
        Some(_) => return Err(shape_error(&field_path, "expected a field name")),
        None => {
            return Err(shape_error(
                path,
                "expected `all`, `any`, `not`, `expr`, or a condition with `field` and `op`",
            ));
        }
    };
    let op_path = child_path(path, "op");
    let op_name = match object.get("op") {
        Some(Json::String(op)) => op.as_str(),
        Some(_) => return Err(shape_error(&op_path, "expected an operator name")),
        None => return Err(shape_error(&op_path, "missing operator")),
    };
    let value = object.get("value").filter(|v| !v.is_null());
    let op = Operator::from_json(op_name, value, &op_path, &child_path(path, "value"))?;
    Ok(Condition { field, op })
}

impl Operator {
    fn from_json(
        name: &str,
        value: Option<&Json>,
        op_path: &str,
        value_path: &str,
    ) -> Result<Operator, RuleError> {
        let expect = |what: &str| shape_error(value_path, format!("expected {what}"));
        let none = || match value {
            None => Ok(()),
            Some(_) => Err(expect("no value for this operator")),
        };
        let string = || match value {
            Some(Json::String(s)) => Ok(s.clone()),
            _ => Err(expect("a string")),
        };
        let number = || match value {
            Some(Json::Number(n)) => n.as_f64().ok_or_else(|| expect("a number")),
            _ => Err(expect("a number")),
        };
        let strings = || match value {
            Some(Json::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| expect("an array of strings")),
            _ => Err(expect("an array of strings")),
        };
        let date = |json: Option<&Json>| match json {
            Some(Json::String(s)) if DateText::parse(s).is_some() => Ok(s.clone()),
            _ => Err(expect("an ISO-8601 date such as \"2024-01-31\"")),
        };
        let days = || match value {
            Some(Json::Number(n)) => n
                .as_u64()
                .filter(|d| *d <= 10_000_000)
                .and_then(|d| u32::try_from(d).ok())
                .ok_or_else(|| expect("a whole number of days, zero or more")),
            _ => Err(expect("a whole number of days, zero or more")),
        };
        let scalar = || match value {
            Some(Json::String(s)) => Ok(Scalar::String(s.clone())),
            Some(Json::Bool(b)) => Ok(Scalar::Bool(*b)),
            Some(Json::Number(n)) => n
                .as_f64()
                .map(Scalar::Number)
                .ok_or_else(|| expect("a number")),
            _ => Err(expect("a string, number or boolean")),
        };
        Ok(match name {
            "is_set" => none().map(|()| Operator::IsSet)?,
            "is_not_set" => none().map(|()| Operator::IsNotSet)?,
            "is_true" => none().map(|()| Operator::IsTrue)?,
            "is_false" => none().map(|()| Operator::IsFalse)?,
            "is" => Operator::Is(scalar()?),
            "is_not" => Operator::IsNot(scalar()?),
            "contains" => Operator::Contains(string()?),
            "does_not_contain" => Operator::DoesNotContain(string()?),
            "starts_with" => Operator::StartsWith(string()?),
            "ends_with" => Operator::EndsWith(string()?),
            "is_any_of" => Operator::IsAnyOf(strings()?),
            "is_none_of" => Operator::IsNoneOf(strings()?),
            "contains_any" => Operator::ContainsAny(strings()?),
            "contains_all" => Operator::ContainsAll(strings()?),
            "contains_none" => Operator::ContainsNone(strings()?),
            "eq" => Operator::Eq(number()?),
            "ne" => Operator::Ne(number()?),
            "gt" => Operator::Gt(number()?),
            "gte" => Operator::Gte(number()?),
            "lt" => Operator::Lt(number()?),
            "lte" => Operator::Lte(number()?),
            "before" => Operator::Before(date(value)?),
            "after" => Operator::After(date(value)?),
            "on" => Operator::On(date(value)?),
            "in_last_days" => Operator::InLastDays(days()?),
            "in_next_days" => Operator::InNextDays(days()?),
            "more_than_days_ago" => Operator::MoreThanDaysAgo(days()?),
            "more_than_days_from_now" => Operator::MoreThanDaysFromNow(days()?),
            "between" => {
                let range_error =
                    || expect("a two-item array of numbers or of ISO-8601 dates, low first");
                let Some(Json::Array(items)) = value else {
                    return Err(range_error());
                };
                match items.as_slice() {
                    [Json::Number(low), Json::Number(high)] => {
                        match (low.as_f64(), high.as_f64()) {
                            (Some(low), Some(high)) => Operator::Between(low, high),
                            _ => return Err(range_error()),
                        }
                    }
                    [low @ Json::String(_), high @ Json::String(_)] => {
                        Operator::DateBetween(date(Some(low))?, date(Some(high))?)
                    }
                    _ => return Err(range_error()),
                }
            }
            unknown => {
                return Err(RuleError::at_path(
                    ErrorCode::UnknownOperator,
                    op_path,
                    format!(
                        "unknown operator `{unknown}`{}",
                        did_you_mean(unknown, OPERATOR_NAMES.iter().copied())
                    ),
                ));
            }
        })
    }

    /// The operator name and value as they appear in JSON.
    fn to_json(&self) -> (&'static str, Option<Json>) {
        let strings = |items: &Vec<String>| Some(json!(items));
        match self {
            Operator::IsSet => ("is_set", None),
            Operator::IsNotSet => ("is_not_set", None),
            Operator::IsTrue => ("is_true", None),
            Operator::IsFalse => ("is_false", None),
            Operator::Is(s) => ("is", Some(s.to_json())),
            Operator::IsNot(s) => ("is_not", Some(s.to_json())),
            Operator::Contains(s) => ("contains", Some(json!(s))),
            Operator::DoesNotContain(s) => ("does_not_contain", Some(json!(s))),
            Operator::StartsWith(s) => ("starts_with", Some(json!(s))),
            Operator::EndsWith(s) => ("ends_with", Some(json!(s))),
            Operator::IsAnyOf(items) => ("is_any_of", strings(items)),
            Operator::IsNoneOf(items) => ("is_none_of", strings(items)),
            Operator::ContainsAny(items) => ("contains_any", strings(items)),
            Operator::ContainsAll(items) => ("contains_all", strings(items)),
            Operator::ContainsNone(items) => ("contains_none", strings(items)),
            Operator::Eq(n) => ("eq", Some(number_json(*n))),
            Operator::Ne(n) => ("ne", Some(number_json(*n))),
            Operator::Gt(n) => ("gt", Some(number_json(*n))),
            Operator::Gte(n) => ("gte", Some(number_json(*n))),
            Operator::Lt(n) => ("lt", Some(number_json(*n))),
            Operator::Lte(n) => ("lte", Some(number_json(*n))),
            Operator::Between(low, high) => (
                "between",
                Some(Json::Array(vec![number_json(*low), number_json(*high)])),
            ),
            Operator::Before(d) => ("before", Some(json!(d))),
            Operator::After(d) => ("after", Some(json!(d))),
            Operator::On(d) => ("on", Some(json!(d))),
            Operator::DateBetween(low, high) => ("between", Some(json!([low, high]))),
            Operator::InLastDays(n) => ("in_last_days", Some(json!(n))),
            Operator::InNextDays(n) => ("in_next_days", Some(json!(n))),
            Operator::MoreThanDaysAgo(n) => ("more_than_days_ago", Some(json!(n))),
            Operator::MoreThanDaysFromNow(n) => ("more_than_days_from_now", Some(json!(n))),
        }
    }
}

/// Whole numbers print as integers (`100`, not `100.0`), as a client wrote them.
fn number_json(n: f64) -> Json {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if n.fract() == 0.0 && n.abs() < EXACT {
        json!(n as i64)
    } else {
        json!(n)
    }
}

impl Scalar {
    fn to_json(&self) -> Json {
        match self {
            Scalar::String(s) => json!(s),
            Scalar::Number(n) => number_json(*n),
            Scalar::Bool(b) => json!(b),
        }
    }
}

/// Converts filters to expressions. When `tagged`, each condition gets a
/// distinct synthetic span so checker errors can be traced back to a JSON
/// path (see [`Lowering::locate`]).
struct Lowering {
    tagged: bool,
    /// Per condition, in order: its JSON path and whether it is an `expr`.
    conditions: Vec<(String, bool)>,
}

impl Lowering {
    fn tag(&mut self, path: &str, is_text: bool) -> usize {
        if !self.tagged {
            return 0;
        }
        self.conditions.push((path.to_owned(), is_text));
        self.conditions.len() << TAG_SHIFT
    }

    fn locate(&self, mut error: RuleError) -> RuleError {
        let Some(span) = error.span.take() else {
            return error;
        };
        let index = span.start >> TAG_SHIFT;
        let Some((path, is_text)) = index.checked_sub(1).and_then(|i| self.conditions.get(i))
        else {
            return error;
        };
        let base = index << TAG_SHIFT;
        if *is_text {
            error.path = Some(child_path(path, "expr"));
            error.span = Some(span.start - base..span.end.saturating_sub(base));
        } else {
            let key = match error.code {
                ErrorCode::UnknownField => "field",
                ErrorCode::InvalidLiteral => "value",
                _ => "op",
            };
            error.path = Some(child_path(path, key));
        }
        error
    }

    fn lower(&mut self, filter: &Filter, path: &str) -> Expr {
        let group = |lowering: &mut Lowering, op: LogicOp, key: &str, items: &[Filter]| {
            let mut operands: Vec<Expr> = items
                .iter()
                .enumerate()
                .map(|(i, item)| lowering.lower(item, &format!("{}[{i}]", child_path(path, key))))
                .collect();
            match operands.len() {
                0 => Expr::new(ExprKind::Bool(op == LogicOp::And), Span::default()),
                1 => operands.remove(0),
                _ => Expr::new(ExprKind::Logic { op, operands }, Span::default()),
            }
        };
        match filter {
            Filter::All(items) => group(self, LogicOp::And, "all", items),
            Filter::Any(items) => group(self, LogicOp::Or, "any", items),
            Filter::Not(inner) => {
                let operand = self.lower(inner, &child_path(path, "not"));
                not(operand, Span::default())
            }
            Filter::Expr(expr) => {
                let offset = self.tag(path, true);
                let mut expr = expr.clone();
                if offset > 0 && ast::check_depth(&expr).is_ok() {
                    ast::shift_spans(&mut expr, offset);
                }
                expr
            }
            Filter::Condition(condition) => {
                let offset = self.tag(path, false);
                condition.to_expr(Span::new(offset, offset))
            }
        }
    }
}

fn not(operand: Expr, span: Span) -> Expr {
    Expr::new(
        ExprKind::Unary {
            op: UnaryOp::Not,
            operand: Box::new(operand),
        },
        span,
    )
}

impl Condition {
    /// The condition as an expression, every node spanning `span`.
    fn to_expr(&self, span: Span) -> Expr {
        let node = |kind| Expr::new(kind, span);
        let boxed = |kind| Box::new(node(kind));
        let field = || {
            let segments: Vec<String> = self.field.split('.').map(str::to_owned).collect();
            if segments.iter().any(String::is_empty) {
                boxed(ExprKind::Path(vec![self.field.clone()]))
            } else {
                boxed(ExprKind::Path(segments))
            }
        };
        let string = |s: &str| boxed(ExprKind::String(s.to_owned()));
        let number = |n: f64| boxed(ExprKind::Number(n));
        let list = |items: &[String]| {
            boxed(ExprKind::List(
                items
                    .iter()
                    .map(|s| node(ExprKind::String(s.clone())))
                    .collect(),
            ))
        };
        let date = |d: &str| {
            boxed(ExprKind::Call {
                name: "date".into(),
                args: vec![node(ExprKind::String(d.to_owned()))],
            })
        };
        let binary = |op, rhs| ExprKind::Binary {
            op,
            lhs: field(),
            rhs,
        };
        let call = |name: &str, arg: Box<Expr>| ExprKind::Call {
            name: name.into(),
            args: vec![*field(), *arg],
        };
        let window = |op, days: u32| ExprKind::Window {
            op,
            subject: field(),
            days: number(f64::from(days)),
        };
        let day = |op, d: &str| ExprKind::Day {
            op,
            subject: field(),
            day: date(d),
        };
        let scalar = |s: &Scalar| match s {
            Scalar::String(s) => string(s),
            Scalar::Number(n) => number(*n),
            Scalar::Bool(b) => boxed(ExprKind::Bool(*b)),
        };
        let kind = match &self.op {
            Operator::IsSet => ExprKind::IsSet {
                subject: field(),
                negated: false,
            },
            Operator::IsNotSet => ExprKind::IsSet {
                subject: field(),
                negated: true,
            },
            Operator::IsTrue => binary(BinaryOp::Eq, boxed(ExprKind::Bool(true))),
            Operator::IsFalse => binary(BinaryOp::Eq, boxed(ExprKind::Bool(false))),
            Operator::Is(s) => binary(BinaryOp::Eq, scalar(s)),
            Operator::IsNot(s) => binary(BinaryOp::Ne, scalar(s)),
            Operator::Contains(s) => call("contains", string(s)),
            Operator::DoesNotContain(s) => return not(node(call("contains", string(s))), span),
            Operator::StartsWith(s) => call("starts_with", string(s)),
            Operator::EndsWith(s) => call("ends_with", string(s)),
            Operator::IsAnyOf(items) => binary(BinaryOp::In, list(items)),
            Operator::IsNoneOf(items) => return not(node(binary(BinaryOp::In, list(items))), span),
            Operator::ContainsAny(items) => call("contains_any", list(items)),
            Operator::ContainsAll(items) => call("contains_all", list(items)),
            Operator::ContainsNone(items) => call("contains_none", list(items)),
            Operator::Eq(n) => binary(BinaryOp::Eq, number(*n)),
            Operator::Ne(n) => binary(BinaryOp::Ne, number(*n)),
            Operator::Gt(n) => binary(BinaryOp::Gt, number(*n)),
            Operator::Gte(n) => binary(BinaryOp::Ge, number(*n)),
            Operator::Lt(n) => binary(BinaryOp::Lt, number(*n)),
            Operator::Lte(n) => binary(BinaryOp::Le, number(*n)),
            Operator::Between(low, high) => ExprKind::Between {
                subject: field(),
                low: number(*low),
                high: number(*high),
            },
            Operator::Before(d) => day(DayOp::Before, d),
            Operator::After(d) => day(DayOp::After, d),
            Operator::On(d) => day(DayOp::On, d),
            Operator::DateBetween(low, high) => ExprKind::Between {
                subject: field(),
                low: date(low),
                high: date(high),
            },
            Operator::InLastDays(n) => window(WindowOp::InLast, *n),
            Operator::InNextDays(n) => window(WindowOp::InNext, *n),
            Operator::MoreThanDaysAgo(n) => window(WindowOp::MoreThanAgo, *n),
            Operator::MoreThanDaysFromNow(n) => window(WindowOp::MoreThanFromNow, *n),
        };
        node(kind)
    }
}
