//! Steward's rule and formula language.
//!
//! One small, CEL-flavoured expression language serves every place where
//! customer-success teams write logic over customer records:
//!
//! * **filters** (boolean): segment membership, lifecycle conditions
//!   (subscribed / trial / churn / track rules), playbook triggers, views,
//!   health-score conditions;
//! * **formulas** (any type): formula traits, including rollups over related
//!   records (`sum(accounts, mrr)`).
//!
//! The pipeline is: text ([`parse`]) or JSON ([`Filter::from_json`]) →
//! [`Expr`] (syntax tree, printable back to text) → [`Program`] (checked
//! against a [`Schema`], names resolved) → [`Program::eval`] on a [`Record`],
//! plus [`Program::dependencies`] and [`Program::next_change`] for
//! incremental recomputation, and [`formula_order`] for formula traits that
//! read each other.
//!
//! The crate is pure: no IO, no clock reads (the time comes in
//! [`EvalContext`]), no global state, no `unsafe`.
//!
//! ```
//! use steward_rules::{compile_filter, EvalContext, Scope};
//! use steward_rules::memory::{MemoryRecord, MemorySchema};
//!
//! let schema = MemorySchema::demo();
//! let at_risk = compile_filter(
//!     r#"mrr >= 1000 && count(users where lastSeenTimestamp in last 30 days) == 0"#,
//!     &Scope::Account,
//!     &schema,
//! )
//! .unwrap();
//! let account = MemoryRecord::new()
//!     .with("mrr", 1500.0)
//!     .with_related("users", MemoryRecord::new().with("lastSeenTimestamp", "2024-03-01"));
//! let ctx = EvalContext::new("2024-06-01T00:00:00Z".parse().unwrap());
//! assert!(at_risk.matches(&account, &ctx));
//! ```
//!
//! # Grammar
//!
//! ```text
//! expr       = where_expr ;
//! where_expr = or_expr [ "where" or_expr ] ;          (* only as an aggregation's first argument *)
//! or_expr    = and_expr { "||" and_expr } ;
//! and_expr   = compare { "&&" compare } ;
//! compare    = sum [ compare_tail ] ;                  (* comparisons do not chain *)
//! compare_tail
//!            = ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) sum
//!            | [ "not" ] "in" sum                     (* membership: plan in ["a", "b"] *)
//!            | [ "not" ] "in" ( "last" | "next" ) sum "days"
//!            | "more" "than" sum "days" ( "ago" | "from" "now" )
//!            | "is" [ "not" ] "set"
//!            | "between" sum "and" sum                (* inclusive *)
//!            | ( "before" | "on" | "after" ) sum ;    (* calendar days *)
//! sum        = product { ( "+" | "-" ) product } ;
//! product    = unary { ( "*" | "/" | "%" ) unary } ;
//! unary      = ( "!" | "-" ) unary | primary ;
//! primary    = number | string | "true" | "false" | "null"
//!            | "[" [ expr { "," expr } [ "," ] ] "]"
//!            | name "(" [ expr { "," expr } [ "," ] ] ")"
//!            | path
//!            | "if" expr "then" expr "else" expr
//!            | "(" expr ")" ;
//! path       = name { "." name } ;
//! name       = ident | "`" { any char but "`", or an escape } "`" ;
//! ident      = ( letter | "_" ) { letter | digit | "_" } ;
//! number     = digit { digit } [ "." digit { digit } ] [ ( "e" | "E" ) [ "+" | "-" ] digit { digit } ] ;
//! string     = '"' { any char but '"' or "\", or an escape } '"' ;
//! escape     = "\" ( '"' | "\" | "`" | "n" | "t" | "r" | "u{" hex { hex } "}" ) ;
//! ```
//!
//! Precedence, loosest first: `where`, `||`, `&&`, comparisons and
//! predicates, `+ -`, `* / %`, prefix `! -`. `if ... else e` extends as far
//! right as possible. Only `true`, `false`, `null` and `if` are reserved;
//! other keywords (`in`, `is`, `where`, `days`, ...) are recognised only in
//! operator position, and any name can be written in backticks. `-` directly
//! before a number is part of the literal (`-5`), and `x not in l` is
//! shorthand for `!(x in l)`; both print in their canonical form. After
//! `in`, `last`/`next` start a window when an operand follows them.
//! Printing ([`Expr`]'s `Display`) adds only the parentheses the grammar
//! needs and quotes names that look like keywords, so printed text always
//! parses back to the same tree.
//!
//! ## Names
//!
//! A path is resolved against the [`Schema`] for the record's [`Scope`]:
//! leading segments that name a to-one relation are followed
//! (`organization.mrr` on an account), and the rest is one field name, dots
//! included (`traits.plan`, `owner.email`, `vitally.custom.nextStep`). Use
//! backticks for names with other characters: `` `utm-source` ``. Unknown
//! names are errors with a suggestion: "unknown trait `mrrr`, did you mean
//! `mrr`?".
//!
//! ## Aggregations
//!
//! `count(rel)`, `count(rel where filter)`, and `sum`, `avg`, `min`, `max`
//! with a second argument evaluated on each related record:
//! `sum(accounts where status == "subscribed", mrr)`,
//! `max(users, lastSeenTimestamp)`. `rel` is a relation name from the schema
//! (`accounts`, `users`, custom-object keys), or a path of relations
//! (`organization.accounts`). Nulls are skipped. `sum` of nothing is 0; `avg`,
//! `min`, `max` of nothing are null. `min`/`max` with a non-relation first
//! argument are the scalar functions. "Has a user matching" is
//! `count(users where ...) > 0`.
//!
//! ## Dates and time
//!
//! There are no duration literals; windows spell out days:
//! `lastSeenTimestamp in last 14 days`, `nextRenewalDate in next 30 days`,
//! `churnedAt more than 90 days ago`, `trialEndDate more than 7 days from now`.
//! These compare instants, with `N days` added as calendar days in the
//! evaluation time zone. `before`, `on`, `after` and date `between` compare
//! **calendar days** in the zone, which is what a date picker means
//! (`churnedAt after "2024-01-31"` starts on February 1st); use `<`, `>` for
//! instant precision. Where a date is expected, a string is read as ISO 8601:
//! with an offset it is an instant, without one (`"2024-01-31"`,
//! `"2024-01-31T09:00"`) it is local time in the evaluation zone. Literal
//! date strings are validated when checking. The zone is
//! [`EvalContext::time_zone`] (UTC by default).
//!
//! ## Functions
//!
//! | function | meaning |
//! |---|---|
//! | `coalesce(a, b, ...)` | first non-null argument |
//! | `is_set(x)` | `x is set` |
//! | `lower(s)`, `upper(s)`, `trim(s)` | string case and whitespace |
//! | `contains(s, part)`, `starts_with(s, p)`, `ends_with(s, p)` | case-sensitive substring tests; `contains(list, item)` tests a multi-select |
//! | `len(x)` / `size(x)` | characters in a string, items in a list |
//! | `concat(a, ...)` | text of all arguments joined |
//! | `round(x)`, `round(x, digits)` | half away from zero; negative digits round to tens, hundreds, ... |
//! | `floor(x)`, `ceil(x)`, `abs(x)` | |
//! | `min(a, b, ...)`, `max(a, b, ...)` | numbers or dates |
//! | `now()` | the injected clock |
//! | `date(s)` | parse an ISO-8601 string |
//! | `days_since(d)`, `days_until(d)` | calendar days between `d` and today |
//! | `date_diff_days(a, b)` | calendar days from `b` to `a` (`a - b`) |
//! | `date_add(d, n)` | `n` calendar days later (whole `n`, may be negative) |
//! | `year(d)`, `month(d)`, `day(d)` | calendar fields in the zone |
//! | `contains_any(list, [..])`, `contains_all`, `contains_none` | multi-select tests |
//!
//! ## Types and null
//!
//! Values are [`Value`]s: null, boolean, number (f64), string, date, list of
//! strings. Types are checked against the schema before evaluation; `+`
//! needs numbers (`concat` joins strings), `<` needs two numbers, dates or
//! strings, `in` needs a list on the right. A filter must be boolean.
//!
//! Null means "not set"; empty strings and empty lists read from records
//! count as null. The rules follow SQL:
//!
//! * arithmetic and functions with a null argument give null (except
//!   `coalesce` and `is_set`);
//! * a comparison with null is unknown (null), never true; so `x != "a"`
//!   does not match records where `x` is unset. `is set` / `is not set` are
//!   the only tests for null, and comparing with the `null` literal is
//!   rejected with a hint;
//! * `&&`, `||`, `!` use three-valued logic: `false && null` is false,
//!   `true || null` is true, `!null` is null;
//! * `if` takes the `else` branch when the condition is null;
//! * a filter matches only when it evaluates to `true`.
//!
//! Evaluation never panics and never fails: division or `%` by zero, results
//! that are not finite, date overflow, and values of the wrong kind all give
//! null.
//!
//! # Wiring it into the engine
//!
//! The engine implements [`Schema`] (field and relation lookup per
//! [`Scope`], with engine-chosen ids so evaluation can skip hashing names)
//! and [`Record`] (`get` a field, visit `related` records). It compiles each
//! rule once per schema version, keeps the [`Program`], and then per write:
//!
//! 1. finds affected programs through [`Program::dependencies`] (own fields,
//!    fields on related records with the relation path, relation
//!    memberships);
//! 2. re-evaluates them with [`Program::eval`] / [`Program::matches`];
//! 3. for programs that read the clock, schedules a timer at
//!    [`Program::next_change`].
//!
//! Formula traits that read other formula traits are computed in the order
//! given by [`formula_order`], which also rejects cycles. [`memory`] has
//! simple map-based implementations for tests and previews.
//!
//! # JSON form
//!
//! See [`Filter`]. It converts to the same [`Expr`], so it shares the checker
//! and evaluator and can be printed as text.
//!
//! # Limits
//!
//! Input is at most [`MAX_INPUT_LEN`] bytes and nests at most [`MAX_DEPTH`]
//! levels, so hostile input cannot exhaust the stack.
#![forbid(unsafe_code)]

mod aggregate;
mod ast;
mod check;
mod dates;
mod deps;
mod error;
mod eval;
mod filter;
mod functions;
mod ir;
mod kernel;
mod lexer;
mod limits;
pub mod memory;
mod parser;
mod print;
mod program;
mod suggest;
mod timing;
mod types;
mod value;

pub use aggregate::{Accumulator, Contribution, Rollup};
pub use ast::{BinaryOp, DayOp, Expr, ExprKind, LogicOp, Span, UnaryOp, WindowOp};
pub use dates::parse_date;
pub use deps::{Dependencies, FieldDependency, RelationDependency, formula_order};
pub use error::{ErrorCode, RuleError};
pub use eval::EvalContext;
pub use filter::{Condition, Filter, OPERATOR_NAMES, Operator, Scalar};
pub use kernel::Kernel;
pub use limits::{MAX_DEPTH, MAX_INPUT_LEN};
pub use parser::parse;
pub use program::{Program, compile_filter, compile_formula};
pub use types::{FieldDef, FieldRef, Record, RelationDef, RelationRef, Schema, Scope, Type};
pub use value::Value;

/// Re-exported so callers can build an [`EvalContext`] without naming jiff's
/// module paths.
pub use jiff::{Timestamp, tz::TimeZone};
