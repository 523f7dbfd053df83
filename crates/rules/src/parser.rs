//! Precedence-climbing (Pratt) parser from tokens to [`Expr`].
//!
//! Keywords other than `true`, `false`, `null` and `if` are contextual: `in`,
//! `is`, `where`, `between`, `last`, `days`, ... are keywords only where an
//! operator or a fixed word is expected, so fields with those names still
//! parse in operand position. The printer quotes them anyway, to stay safe.

use crate::ast::{BinaryOp, DayOp, Expr, ExprKind, LogicOp, Span, UnaryOp, WindowOp};
use crate::error::{ErrorCode, RuleError};
use crate::lexer::{Tok, Token, lex};
use crate::limits::{MAX_DEPTH, MAX_INPUT_LEN};

/// Binding powers, loosest first. Printing uses the same table so that the
/// printer adds exactly the parentheses the parser needs.
pub(crate) mod bp {
    pub const WHERE: u8 = 1;
    pub const OR: u8 = 3;
    pub const AND: u8 = 5;
    /// Comparisons and predicates; they do not chain.
    pub const COMPARE: u8 = 7;
    /// Operands of comparisons and predicates: sums and tighter.
    pub const COMPARE_OPERAND: u8 = 8;
    pub const SUM: u8 = 9;
    pub const PRODUCT: u8 = 11;
    pub const PREFIX: u8 = 13;
    pub const ATOM: u8 = 15;
}

/// Parses one expression.
///
/// ```
/// let expr = steward_rules::parse("mrr > 100 && plan in [\"pro\", \"enterprise\"]").unwrap();
/// assert_eq!(expr.to_string(), "mrr > 100 && plan in [\"pro\", \"enterprise\"]");
/// ```
pub fn parse(src: &str) -> Result<Expr, RuleError> {
    if src.len() > MAX_INPUT_LEN {
        return Err(RuleError::new(
            ErrorCode::InputTooLong,
            format!(
                "expression is {} bytes long; the limit is {MAX_INPUT_LEN}",
                src.len()
            ),
        ));
    }
    let tokens = lex(src)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let (expr, _) = parser.expr(0)?;
    let next = parser.peek();
    if next.tok != Tok::Eof {
        return Err(RuleError::at(
            ErrorCode::Syntax,
            next.span,
            format!(
                "expected an operator or the end, found {}",
                next.tok.describe()
            ),
        ));
    }
    Ok(expr)
}

/// An expression with its tree depth, so depth is enforced while building
/// (a long `a + b + c ...` chain is built iteratively but is still deep).
type Parsed = (Expr, usize);

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

enum Infix {
    Where,
    Logic(LogicOp),
    Binary(BinaryOp),
    /// `in`, `not in`, `is`, `between`, `before`, `on`, `after`, `more`.
    Predicate,
}

impl Infix {
    fn left_bp(&self) -> u8 {
        match self {
            Infix::Where => bp::WHERE,
            Infix::Logic(LogicOp::Or) => bp::OR,
            Infix::Logic(LogicOp::And) => bp::AND,
            Infix::Binary(op) => binary_bp(*op),
            Infix::Predicate => bp::COMPARE,
        }
    }
}

pub(crate) fn binary_bp(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Add | BinaryOp::Sub => bp::SUM,
        BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => bp::PRODUCT,
        _ => bp::COMPARE,
    }
}

fn too_deep(span: Span) -> RuleError {
    RuleError::at(
        ErrorCode::TooDeeplyNested,
        span,
        format!("expression nests deeper than {MAX_DEPTH} levels"),
    )
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos]
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        let last = self.tokens.len() - 1;
        &self.tokens[(self.pos + ahead).min(last)].tok
    }

    fn bump(&mut self) -> Token {
        let token = self.tokens[self.pos].clone();
        if token.tok != Tok::Eof {
            self.pos += 1;
        }
        token
    }

    fn at_word(&self, word: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(name) if name == word)
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<Span, RuleError> {
        if self.peek().tok == tok {
            Ok(self.bump().span)
        } else {
            Err(self.unexpected(what))
        }
    }

    fn expect_word(&mut self, word: &str) -> Result<Span, RuleError> {
        if self.at_word(word) {
            Ok(self.bump().span)
        } else {
            Err(self.unexpected(&format!("`{word}`")))
        }
    }

    fn unexpected(&self, expected: &str) -> RuleError {
        let token = self.peek();
        RuleError::at(
            ErrorCode::Syntax,
            token.span,
            format!("expected {expected}, found {}", token.tok.describe()),
        )
    }

    fn checked(&self, expr: Expr, depth: usize) -> Result<Parsed, RuleError> {
        if depth > MAX_DEPTH {
            Err(too_deep(expr.span))
        } else {
            Ok((expr, depth))
        }
    }

    fn infix(&self) -> Option<Infix> {
        let infix = match &self.peek().tok {
            Tok::OrOr => Infix::Logic(LogicOp::Or),
            Tok::AndAnd => Infix::Logic(LogicOp::And),
            Tok::EqEq => Infix::Binary(BinaryOp::Eq),
            Tok::NotEq => Infix::Binary(BinaryOp::Ne),
            Tok::Lt => Infix::Binary(BinaryOp::Lt),
            Tok::Le => Infix::Binary(BinaryOp::Le),
            Tok::Gt => Infix::Binary(BinaryOp::Gt),
            Tok::Ge => Infix::Binary(BinaryOp::Ge),
            Tok::Plus => Infix::Binary(BinaryOp::Add),
            Tok::Minus => Infix::Binary(BinaryOp::Sub),
            Tok::Star => Infix::Binary(BinaryOp::Mul),
            Tok::Slash => Infix::Binary(BinaryOp::Div),
            Tok::Percent => Infix::Binary(BinaryOp::Rem),
            Tok::Ident(word) => match word.as_str() {
                "where" => Infix::Where,
                "in" | "is" | "between" | "before" | "on" | "after" | "more" => Infix::Predicate,
                "not" if matches!(self.peek_at(1), Tok::Ident(next) if next == "in") => {
                    Infix::Predicate
                }
                _ => return None,
            },
            _ => return None,
        };
        Some(infix)
    }

    /// Parses an expression whose operators all bind at least as tightly as
    /// `min_bp`.
    fn expr(&mut self, min_bp: u8) -> Result<Parsed, RuleError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(too_deep(self.peek().span));
        }
        let result = self.expr_inner(min_bp);
        self.depth -= 1;
        result
    }

    fn expr_inner(&mut self, min_bp: u8) -> Result<Parsed, RuleError> {
        let (mut lhs, mut depth) = self.prefix()?;
        let mut after_comparison = false;
        while let Some(infix) = self.infix() {
            if infix.left_bp() < min_bp {
                break;
            }
            let is_comparison = infix.left_bp() == bp::COMPARE;
            if is_comparison && after_comparison {
                return Err(RuleError::at(
                    ErrorCode::Syntax,
                    self.peek().span,
                    "comparisons cannot be chained; combine them with `&&` or add parentheses",
                ));
            }
            (lhs, depth) = match infix {
                Infix::Logic(op) => self.logic(op, (lhs, depth))?,
                Infix::Where => self.where_clause((lhs, depth))?,
                Infix::Binary(op) => {
                    self.bump();
                    let right_bp = if is_comparison {
                        bp::COMPARE_OPERAND
                    } else {
                        binary_bp(op) + 1
                    };
                    let (rhs, rhs_depth) = self.expr(right_bp)?;
                    let span = lhs.span.to(rhs.span);
                    let kind = ExprKind::Binary {
                        op,
                        lhs: Box::new(lhs),
                        rhs: Box::new(rhs),
                    };
                    self.checked(Expr::new(kind, span), depth.max(rhs_depth) + 1)?
                }
                Infix::Predicate => self.predicate((lhs, depth))?,
            };
            after_comparison = is_comparison;
        }
        Ok((lhs, depth))
    }

    fn logic(&mut self, op: LogicOp, (first, first_depth): Parsed) -> Result<Parsed, RuleError> {
        let operator_bp = match op {
            LogicOp::And => bp::AND,
            LogicOp::Or => bp::OR,
        };
        let operator = match op {
            LogicOp::And => Tok::AndAnd,
            LogicOp::Or => Tok::OrOr,
        };
        let mut span = first.span;
        let mut depth = first_depth;
        let mut operands = vec![first];
        while self.peek().tok == operator {
            self.bump();
            let (operand, operand_depth) = self.expr(operator_bp + 1)?;
            span = span.to(operand.span);
            depth = depth.max(operand_depth);
            operands.push(operand);
        }
        self.checked(Expr::new(ExprKind::Logic { op, operands }, span), depth + 1)
    }

    fn where_clause(&mut self, (source, source_depth): Parsed) -> Result<Parsed, RuleError> {
        let keyword = self.bump().span;
        if !matches!(source.kind, ExprKind::Path(_)) {
            return Err(RuleError::at(
                ErrorCode::Syntax,
                keyword,
                "`where` must follow a relation name, as in `count(users where ...)`",
            ));
        }
        let (filter, filter_depth) = self.expr(bp::WHERE + 1)?;
        let span = source.span.to(filter.span);
        let kind = ExprKind::Where {
            source: Box::new(source),
            filter: Box::new(filter),
        };
        self.checked(Expr::new(kind, span), source_depth.max(filter_depth) + 1)
    }

    fn predicate(&mut self, (subject, subject_depth): Parsed) -> Result<Parsed, RuleError> {
        let keyword = self.bump();
        let Tok::Ident(word) = &keyword.tok else {
            unreachable!("predicates start with a word")
        };
        let mut parts_depth = subject_depth;
        let mut operand = |parser: &mut Parser| -> Result<Expr, RuleError> {
            let (expr, depth) = parser.expr(bp::COMPARE_OPERAND)?;
            parts_depth = parts_depth.max(depth);
            Ok(expr)
        };
        let subject = Box::new(subject);
        let kind = match word.as_str() {
            "not" => {
                // `x not in list` is sugar for `!(x in list)`.
                let (inner, inner_depth) = self.predicate((*subject, subject_depth))?;
                let span = inner.span.to(keyword.span);
                let kind = ExprKind::Unary {
                    op: UnaryOp::Not,
                    operand: Box::new(inner),
                };
                return self.checked(Expr::new(kind, span), inner_depth + 1);
            }
            "in" if self.at_window_start() => {
                let op = if self.at_word("last") {
                    WindowOp::InLast
                } else {
                    WindowOp::InNext
                };
                self.bump();
                let days = Box::new(operand(self)?);
                self.expect_word("days")?;
                ExprKind::Window { op, subject, days }
            }
            "in" => ExprKind::Binary {
                op: BinaryOp::In,
                lhs: subject,
                rhs: Box::new(operand(self)?),
            },
            "is" => {
                let negated = self.at_word("not");
                if negated {
                    self.bump();
                }
                self.expect_word("set")?;
                ExprKind::IsSet { subject, negated }
            }
            "between" => {
                let low = Box::new(operand(self)?);
                self.expect_word("and")?;
                let high = Box::new(operand(self)?);
                ExprKind::Between { subject, low, high }
            }
            "before" | "on" | "after" => {
                let op = match word.as_str() {
                    "before" => DayOp::Before,
                    "on" => DayOp::On,
                    _ => DayOp::After,
                };
                let day = Box::new(operand(self)?);
                ExprKind::Day { op, subject, day }
            }
            "more" => {
                self.expect_word("than")?;
                let days = Box::new(operand(self)?);
                self.expect_word("days")?;
                let op = if self.at_word("ago") {
                    self.bump();
                    WindowOp::MoreThanAgo
                } else if self.at_word("from") {
                    self.bump();
                    self.expect_word("now")?;
                    WindowOp::MoreThanFromNow
                } else {
                    return Err(self.unexpected("`ago` or `from now`"));
                };
                ExprKind::Window { op, subject, days }
            }
            _ => unreachable!("infix() only yields known predicate words"),
        };
        let end = self.tokens[self.pos.saturating_sub(1)].span;
        let span = subject_span(&kind).to(end);
        self.checked(Expr::new(kind, span), parts_depth + 1)
    }

    /// `in last 14 days` versus `in lastYearPlans`: a window when `last` or
    /// `next` is followed by something that can start an operand.
    fn at_window_start(&self) -> bool {
        let is_window_word = self.at_word("last") || self.at_word("next");
        is_window_word
            && matches!(
                self.peek_at(1),
                Tok::Number(_)
                    | Tok::Ident(_)
                    | Tok::Quoted(_)
                    | Tok::LParen
                    | Tok::Minus
                    | Tok::Bang
                    | Tok::Str(_)
                    | Tok::LBracket
            )
    }

    fn prefix(&mut self) -> Result<Parsed, RuleError> {
        let token = self.bump();
        let start = token.span;
        let leaf = |kind| Ok((Expr::new(kind, start), 1));
        match token.tok {
            Tok::Number(n) => leaf(ExprKind::Number(n)),
            Tok::Str(s) => leaf(ExprKind::String(s)),
            Tok::Minus => {
                // `-5` is one literal so that printing a negative number and
                // parsing it back gives the same tree.
                if let Tok::Number(n) = self.peek().tok {
                    let end = self.bump().span;
                    return Ok((Expr::new(ExprKind::Number(-n), start.to(end)), 1));
                }
                self.unary(UnaryOp::Neg, start)
            }
            Tok::Bang => self.unary(UnaryOp::Not, start),
            Tok::LParen => {
                let (inner, depth) = self.expr(0)?;
                self.expect(Tok::RParen, "`)`")?;
                Ok((inner, depth))
            }
            Tok::LBracket => {
                let (items, depth, end) = self.comma_list(Tok::RBracket, "`]`")?;
                self.checked(Expr::new(ExprKind::List(items), start.to(end)), depth + 1)
            }
            Tok::Ident(word) => match word.as_str() {
                "true" => leaf(ExprKind::Bool(true)),
                "false" => leaf(ExprKind::Bool(false)),
                "null" => leaf(ExprKind::Null),
                "if" => self.if_expr(start),
                _ if self.peek().tok == Tok::LParen => {
                    self.bump();
                    let (args, depth, end) = self.comma_list(Tok::RParen, "`)`")?;
                    let kind = ExprKind::Call { name: word, args };
                    self.checked(Expr::new(kind, start.to(end)), depth + 1)
                }
                _ => self.path(word, start),
            },
            // Backticks make any name callable, which keeps printing total.
            Tok::Quoted(name) if self.peek().tok == Tok::LParen => {
                self.bump();
                let (args, depth, end) = self.comma_list(Tok::RParen, "`)`")?;
                let kind = ExprKind::Call { name, args };
                self.checked(Expr::new(kind, start.to(end)), depth + 1)
            }
            Tok::Quoted(name) => self.path(name, start),
            other => {
                self.pos -= usize::from(other != Tok::Eof);
                Err(self.unexpected("an expression"))
            }
        }
    }

    fn unary(&mut self, op: UnaryOp, start: Span) -> Result<Parsed, RuleError> {
        let (operand, depth) = self.expr(bp::PREFIX)?;
        let span = start.to(operand.span);
        let kind = ExprKind::Unary {
            op,
            operand: Box::new(operand),
        };
        self.checked(Expr::new(kind, span), depth + 1)
    }

    fn if_expr(&mut self, start: Span) -> Result<Parsed, RuleError> {
        let (cond, cond_depth) = self.expr(0)?;
        self.expect_word("then")?;
        let (then, then_depth) = self.expr(0)?;
        self.expect_word("else")?;
        let (otherwise, else_depth) = self.expr(0)?;
        let span = start.to(otherwise.span);
        let kind = ExprKind::If {
            cond: Box::new(cond),
            then: Box::new(then),
            otherwise: Box::new(otherwise),
        };
        self.checked(
            Expr::new(kind, span),
            cond_depth.max(then_depth).max(else_depth) + 1,
        )
    }

    fn path(&mut self, first: String, start: Span) -> Result<Parsed, RuleError> {
        let mut segments = vec![first];
        let mut span = start;
        while self.peek().tok == Tok::Dot {
            self.bump();
            let token = self.bump();
            match token.tok {
                Tok::Ident(name) | Tok::Quoted(name) => segments.push(name),
                _ => {
                    self.pos -= 1;
                    return Err(self.unexpected("a name after `.`"));
                }
            }
            span = span.to(token.span);
        }
        if segments.len() > 1 && self.peek().tok == Tok::LParen {
            return Err(RuleError::at(
                ErrorCode::Syntax,
                span,
                "only plain function names can be called, as in `lower(name)`",
            ));
        }
        // Each segment may become a relation hop, which nests like a call.
        let depth = segments.len();
        self.checked(Expr::new(ExprKind::Path(segments), span), depth)
    }

    /// Comma-separated expressions up to `close`; a trailing comma is fine.
    fn comma_list(
        &mut self,
        close: Tok,
        what: &str,
    ) -> Result<(Vec<Expr>, usize, Span), RuleError> {
        let mut items = Vec::new();
        let mut depth = 0;
        loop {
            if self.peek().tok == close {
                let end = self.bump().span;
                return Ok((items, depth, end));
            }
            let (item, item_depth) = self.expr(0)?;
            items.push(item);
            depth = depth.max(item_depth);
            if self.peek().tok == Tok::Comma {
                self.bump();
            } else if self.peek().tok != close {
                return Err(self.unexpected(&format!("`,` or {what}")));
            }
        }
    }
}

fn subject_span(kind: &ExprKind) -> Span {
    match kind {
        ExprKind::Binary { lhs: subject, .. }
        | ExprKind::Window { subject, .. }
        | ExprKind::IsSet { subject, .. }
        | ExprKind::Between { subject, .. }
        | ExprKind::Day { subject, .. } => subject.span,
        _ => Span::default(),
    }
}
