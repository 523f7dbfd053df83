//! Turns source text into tokens with byte spans.

use crate::ast::Span;
use crate::error::{ErrorCode, RuleError};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Number(f64),
    Str(String),
    /// A bare identifier. Only bare identifiers can act as keywords, so a
    /// field called `on` is written `` `on` ``.
    Ident(String),
    /// A backtick-quoted name: always a name, never a keyword.
    Quoted(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    Bang,
    Eof,
}

impl Tok {
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Number(n) => format!("number `{n}`"),
            Tok::Str(_) => "string".to_owned(),
            Tok::Ident(name) => format!("`{name}`"),
            Tok::Quoted(name) => format!("`{name}`"),
            Tok::Eof => "end of input".to_owned(),
            other => format!("`{}`", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Comma => ",",
            Tok::Dot => ".",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::EqEq => "==",
            Tok::NotEq => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::Bang => "!",
            _ => "",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

pub(crate) fn lex(src: &str) -> Result<Vec<Token>, RuleError> {
    let mut lexer = Lexer { src, pos: 0 };
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next_token()?;
        let done = token.tok == Tok::Eof;
        tokens.push(token);
        if done {
            return Ok(tokens);
        }
    }
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

pub(crate) fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

pub(crate) fn is_ident_continue(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        let mut chars = self.src[self.pos..].chars();
        chars.next();
        chars.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// An error covering the source from `start` to what was consumed.
    fn error(&self, start: usize, message: impl Into<String>) -> RuleError {
        RuleError::at(
            ErrorCode::Syntax,
            Span::new(start, self.pos.max(start)),
            message,
        )
    }

    fn next_token(&mut self) -> Result<Token, RuleError> {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
        let start = self.pos;
        let Some(c) = self.bump() else {
            return Ok(Token {
                tok: Tok::Eof,
                span: Span::new(start, start),
            });
        };
        let tok = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            ',' => Tok::Comma,
            '.' => Tok::Dot,
            '+' => Tok::Plus,
            '-' => Tok::Minus,
            '*' => Tok::Star,
            '/' => Tok::Slash,
            '%' => Tok::Percent,
            '=' if self.eat('=') => Tok::EqEq,
            '=' => return Err(self.error(start, "use `==` to compare values")),
            '!' if self.eat('=') => Tok::NotEq,
            '!' => Tok::Bang,
            '<' if self.eat('=') => Tok::Le,
            '<' => Tok::Lt,
            '>' if self.eat('=') => Tok::Ge,
            '>' => Tok::Gt,
            '&' if self.eat('&') => Tok::AndAnd,
            '&' => return Err(self.error(start, "use `&&` for \"and\"")),
            '|' if self.eat('|') => Tok::OrOr,
            '|' => return Err(self.error(start, "use `||` for \"or\"")),
            '?' | ':' => {
                return Err(self.error(start, "write conditionals as `if cond then a else b`"));
            }
            '"' => self.string(start)?,
            '`' => self.quoted_name(start)?,
            c if c.is_ascii_digit() => self.number(start)?,
            c if is_ident_start(c) => {
                while self.peek().is_some_and(is_ident_continue) {
                    self.bump();
                }
                Tok::Ident(self.src[start..self.pos].to_owned())
            }
            other => return Err(self.error(start, format!("unexpected character `{other}`"))),
        };
        Ok(Token {
            tok,
            span: Span::new(start, self.pos),
        })
    }

    fn eat(&mut self, expected: char) -> bool {
        if self.peek() == Some(expected) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn digits(&mut self) -> usize {
        let from = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        self.pos - from
    }

    fn number(&mut self, start: usize) -> Result<Tok, RuleError> {
        self.digits();
        if self.peek() == Some('.') && self.peek_second().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            self.digits();
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let mark = self.pos;
            self.bump();
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            if self.digits() == 0 {
                self.pos = mark;
            }
        }
        if self.peek().is_some_and(is_ident_continue) {
            // `14d` reads like a duration, which the language spells out.
            while self.peek().is_some_and(is_ident_continue) {
                self.bump();
            }
            return Err(self.error(
                start,
                format!(
                    "invalid number `{}` (write durations as `in last 14 days`)",
                    &self.src[start..self.pos]
                ),
            ));
        }
        let text = &self.src[start..self.pos];
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Tok::Number(n)),
            _ => Err(self.error(start, format!("number `{text}` is too large"))),
        }
    }

    fn string(&mut self, start: usize) -> Result<Tok, RuleError> {
        let mut out = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(self.error(start, "unterminated string"));
            };
            match c {
                '"' => return Ok(Tok::Str(out)),
                '\\' => out.push(self.escape(start)?),
                c => out.push(c),
            }
        }
    }

    fn quoted_name(&mut self, start: usize) -> Result<Tok, RuleError> {
        let mut out = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => return Err(self.error(start, "unterminated `` ` `` name")),
                Some('`') if out.is_empty() => return Err(self.error(start, "empty `` ` `` name")),
                Some('`') => return Ok(Tok::Quoted(out)),
                Some('\\') => out.push(self.escape(start)?),
                Some(c) => out.push(c),
            }
        }
    }

    fn escape(&mut self, start: usize) -> Result<char, RuleError> {
        let escape_start = self.pos - 1;
        let c = match self.bump() {
            Some('n') => '\n',
            Some('t') => '\t',
            Some('r') => '\r',
            Some(c @ ('"' | '\\' | '`')) => c,
            Some('u') => return self.unicode_escape(escape_start),
            _ => {
                return Err(RuleError::at(
                    ErrorCode::Syntax,
                    Span::new(escape_start, self.pos.max(start)),
                    "unknown escape; use \\\" \\\\ \\` \\n \\t \\r or \\u{...}",
                ));
            }
        };
        Ok(c)
    }

    fn unicode_escape(&mut self, escape_start: usize) -> Result<char, RuleError> {
        let bad = |lexer: &Self| {
            RuleError::at(
                ErrorCode::Syntax,
                Span::new(escape_start, lexer.pos),
                "invalid unicode escape; write \\u{1F600}",
            )
        };
        if !self.eat('{') {
            return Err(bad(self));
        }
        let hex_start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) && self.pos - hex_start < 6 {
            self.bump();
        }
        let hex = &self.src[hex_start..self.pos];
        if hex.is_empty() || !self.eat('}') {
            return Err(bad(self));
        }
        u32::from_str_radix(hex, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| bad(self))
    }
}
