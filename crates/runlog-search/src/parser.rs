//! Parses a filter string into a [`Filter`], with MLflow 3.17.2's rules and error messages.
//!
//! Parsing runs in two passes, like MLflow's: the first cuts the token stream into clauses
//! (`identifier comparator value`, joined by `AND`) and rejects anything else with "Invalid
//! clause(s) in filter string"; the second (in `resolve.rs`) checks each clause's entity, key,
//! value and comparator, in the order MLflow checks them, so that a filter with several
//! mistakes reports the one MLflow would report.
//!
//! Two quirks of MLflow's `sqlparse`-based parser are kept on purpose, because real filters
//! rely on them: `AND` may be repeated or dangle at either end (`metrics.acc > 0.9 AND`), and
//! two comparisons written side by side without `AND` are still joined by `AND`. (When the
//! second of the two is `x IS NULL` or `x IN (…)`, MLflow glues them into one meaningless
//! comparison; this parser asks for the `AND` instead.)

use crate::ast::Filter;
use crate::error::{ErrorKind, SearchError};
use crate::lexer::{Kind, Token, lex};
use crate::resolve::resolve_clause;

/// Words that cannot start a comparison.
const RESERVED: [&str; 10] = [
    "AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE", "RLIKE", "REGEXP",
];

impl Filter {
    /// Parses a `search_runs` filter string.
    ///
    /// The empty string is the empty filter, which matches every run. A string of only
    /// whitespace is rejected, as MLflow rejects it ("Could not be parsed").
    ///
    /// # Errors
    ///
    /// Returns a [`SearchError`] whose message starts with MLflow's wording for the mistake and
    /// whose [`SearchError::position`] is the byte offset where it was found.
    pub fn parse(text: &str) -> Result<Filter, SearchError> {
        let clauses = split_clauses(text, &RUN_KEYS)?
            .iter()
            .map(resolve_clause)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Filter { clauses })
    }
}

/// How the error messages of the first pass describe the keys of one filter language.
pub(crate) struct KeyHints {
    /// A key of the language, e.g. `metrics.acc`.
    pub(crate) key: &'static str,
    /// A whole comparison, e.g. `metrics.acc > 0.5`.
    pub(crate) comparison: &'static str,
    /// What a left side may be.
    pub(crate) left_sides: &'static str,
}

/// The hints for `search_runs` filters.
pub(crate) const RUN_KEYS: KeyHints = KeyHints {
    key: "metrics.acc",
    comparison: "metrics.acc > 0.5",
    left_sides: "an attribute or metrics.<key>, params.<key>, tags.<key>",
};

/// First pass, shared by every filter language: cuts `text` into raw clauses
/// (`identifier comparator value`, joined by `AND`). The empty string gives no clauses;
/// whitespace alone is an error, as in MLflow.
pub(crate) fn split_clauses<'a>(
    text: &'a str,
    hints: &'static KeyHints,
) -> Result<Vec<RawClause<'a>>, SearchError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let tokens = lex(text);
    if tokens.iter().all(|t| t.kind == Kind::Space) {
        return Err(SearchError::at(
            ErrorKind::InvalidClause,
            0,
            format!("Invalid filter '{text}'. Could not be parsed."),
            "the filter holds only whitespace; pass an empty filter to match everything",
        ));
    }
    Cursor::new(text, &tokens).with_hints(hints).clauses()
}

/// The comparator of a raw clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Comparator {
    /// A run of `<>=~!` characters, as written.
    Op(String),
    /// `LIKE`, in any case.
    Like,
    /// `ILIKE`, in any case.
    ILike,
    /// `NOT LIKE`, `RLIKE`, `REGEXP` and friends, which `sqlparse` knows but MLflow rejects.
    Unsupported(String),
    /// `IN`, followed by a list.
    In,
    /// `NOT IN`, followed by a list.
    NotIn,
    /// `IS NULL`, with no value.
    IsNull,
    /// `IS NOT NULL`, with no value.
    IsNotNull,
}

impl Comparator {
    /// The comparator as MLflow prints it (upper case).
    pub(crate) fn text(&self) -> &str {
        match self {
            Comparator::Op(op) | Comparator::Unsupported(op) => op,
            Comparator::Like => "LIKE",
            Comparator::ILike => "ILIKE",
            Comparator::In => "IN",
            Comparator::NotIn => "NOT IN",
            Comparator::IsNull => "IS NULL",
            Comparator::IsNotNull => "IS NOT NULL",
        }
    }
}

/// The syntactic class of a value, which decides what MLflow accepts it as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueClass {
    /// An integer literal.
    Int,
    /// A float literal.
    Float,
    /// A hexadecimal literal, which no entity accepts.
    Hex,
    /// A single-quoted literal.
    Str,
    /// An identifier: a double-quoted literal, a backticked name or a bare word.
    Ident,
    /// A parenthesised group.
    List,
    /// The keyword `NULL`.
    Null,
}

/// A piece of the input with the byte offset where it starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span<'a> {
    pub(crate) text: &'a str,
    pub(crate) start: usize,
}

/// A clause as cut from the token stream, before any validation of its parts.
pub(crate) struct RawClause<'a> {
    pub(crate) ident: Span<'a>,
    pub(crate) comparator: Comparator,
    pub(crate) comparator_at: usize,
    pub(crate) value: Option<(ValueClass, Span<'a>)>,
}

/// A position in the token stream.
pub(crate) struct Cursor<'t, 'a> {
    src: &'a str,
    tokens: &'t [Token<'a>],
    i: usize,
    hints: &'static KeyHints,
}

impl<'t, 'a> Cursor<'t, 'a> {
    /// A cursor at the first of `tokens`, which were cut from `src`.
    pub(crate) fn new(src: &'a str, tokens: &'t [Token<'a>]) -> Self {
        Cursor {
            src,
            tokens,
            i: 0,
            hints: &RUN_KEYS,
        }
    }

    /// The same cursor, describing keys with `hints` in its errors.
    pub(crate) fn with_hints(self, hints: &'static KeyHints) -> Self {
        Cursor { hints, ..self }
    }

    /// The current token, if any.
    pub(crate) fn peek(&self) -> Option<Token<'a>> {
        self.tokens.get(self.i).copied()
    }

    /// The token `offset` places after the current one, if any.
    fn peek_at(&self, offset: usize) -> Option<Token<'a>> {
        self.tokens.get(self.i + offset).copied()
    }

    /// Moves past any whitespace tokens.
    pub(crate) fn skip_space(&mut self) {
        while self.peek().is_some_and(|t| t.kind == Kind::Space) {
            self.i += 1;
        }
    }

    /// Moves past the current token.
    pub(crate) fn advance(&mut self) {
        self.i += 1;
    }

    /// Whether the cursor is past the last token.
    pub(crate) fn at_end(&self) -> bool {
        self.i >= self.tokens.len()
    }

    /// Byte offset of the next token, or the end of the input.
    pub(crate) fn offset(&self) -> usize {
        self.peek().map_or(self.src.len(), |t| t.start)
    }

    /// First pass: cuts the whole filter into raw clauses.
    fn clauses(&mut self) -> Result<Vec<RawClause<'a>>, SearchError> {
        let mut out: Vec<RawClause<'a>> = Vec::new();
        // Whether an `AND` was seen since the last clause.
        let mut joined = true;
        loop {
            self.skip_space();
            let Some(tok) = self.peek() else { break };
            if tok.is_keyword("AND") {
                self.i += 1;
                joined = true;
            } else if starts_identifier(tok) {
                let clause = self.clause()?;
                let after_value = out.last().is_some_and(|prev| prev.value.is_some());
                let null_or_list = matches!(
                    clause.comparator,
                    Comparator::IsNull | Comparator::IsNotNull | Comparator::In | Comparator::NotIn
                );
                if !joined && after_value && null_or_list {
                    // MLflow's `sqlparse` glues "a = 'x' b IS NULL" into one nonsense comparison
                    // (and rejects "a IN (…) b IN (…)"); insist on the AND instead.
                    return Err(SearchError::at(
                        ErrorKind::InvalidClause,
                        tok.start,
                        format!(
                            "Invalid clause(s) in filter string: '{}'",
                            clause.ident.text
                        ),
                        "write AND between these two comparisons",
                    ));
                }
                out.push(clause);
                joined = false;
            } else {
                return Err(self.invalid_token(tok));
            }
        }
        Ok(out)
    }

    /// The error for a token that cannot start a comparison.
    fn invalid_token(&self, tok: Token<'a>) -> SearchError {
        let clause = |text: &str, detail: &str| {
            SearchError::at(
                ErrorKind::InvalidClause,
                tok.start,
                format!("Invalid clause(s) in filter string: '{text}'"),
                detail,
            )
        };
        match tok.kind {
            Kind::LParen => {
                let end = self
                    .group_end(self.i)
                    .map_or(self.src.len(), |j| self.tokens[j].end());
                clause(
                    &self.src[tok.start..end],
                    "parentheses are not supported; join comparisons with AND",
                )
            }
            Kind::Unterminated => clause(tok.text, "this quote is never closed"),
            Kind::Word if tok.is_keyword("OR") => clause(
                tok.text,
                "OR is not supported; only AND can join comparisons",
            ),
            Kind::Word if tok.is_keyword("NOT") => clause(tok.text, "NOT is not supported"),
            Kind::Other if tok.text == ";" => clause(tok.text, "a filter is a single expression"),
            Kind::SingleQuoted | Kind::Int | Kind::Float | Kind::Hex
                if self.comparator_follows() =>
            {
                SearchError::at(
                    ErrorKind::InvalidComparison,
                    tok.start,
                    format!(
                        "Invalid comparison clause. Expected 'Identifier' found '{}'",
                        tok.text
                    ),
                    &format!("the left side must be {}", self.hints.left_sides),
                )
            }
            _ => clause(
                tok.text,
                &format!(
                    "expected a comparison such as {}, or AND",
                    self.hints.comparison
                ),
            ),
        }
    }

    /// Whether the token after the current one (spaces skipped) is an operator or `LIKE`.
    fn comparator_follows(&self) -> bool {
        let next = self.tokens[self.i + 1..]
            .iter()
            .find(|t| t.kind != Kind::Space);
        next.is_some_and(|t| t.kind == Kind::Op || t.is_keyword("LIKE") || t.is_keyword("ILIKE"))
    }

    /// The index of the `)` that closes the `(` at token `open`, if any.
    fn group_end(&self, open: usize) -> Option<usize> {
        let mut depth = 0usize;
        for (j, t) in self.tokens.iter().enumerate().skip(open) {
            match t.kind {
                Kind::LParen => depth += 1,
                Kind::RParen => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Some(j);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Reads one `identifier comparator [value]` clause.
    fn clause(&mut self) -> Result<RawClause<'a>, SearchError> {
        let ident = self.identifier()?;
        self.skip_space();
        let comparator_at = self.offset();
        let comparator = self.comparator(ident)?;
        let value = match comparator {
            Comparator::IsNull | Comparator::IsNotNull => None,
            Comparator::In | Comparator::NotIn => {
                self.skip_space();
                match self.peek() {
                    Some(t) if t.kind == Kind::LParen => Some((ValueClass::List, self.group()?)),
                    _ => {
                        return Err(SearchError::at(
                            ErrorKind::InvalidClause,
                            self.offset(),
                            format!("Invalid clause(s) in filter string: '{}'", ident.text),
                            &format!(
                                "expected a parenthesised list of quoted strings after {}",
                                comparator.text()
                            ),
                        ));
                    }
                }
            }
            _ => Some(self.value(&comparator)?),
        };
        Ok(RawClause {
            ident,
            comparator,
            comparator_at,
            value,
        })
    }

    /// Reads an identifier: segments joined by `.` with no space around the dots. The first
    /// segment is a word, a backticked name or a double-quoted name; later segments may also
    /// be single-quoted (`tags.'t'` works in MLflow).
    pub(crate) fn identifier(&mut self) -> Result<Span<'a>, SearchError> {
        let first = self
            .peek()
            .filter(|t| starts_identifier(*t))
            .ok_or_else(|| {
                SearchError::at(
                    ErrorKind::InvalidComparison,
                    self.offset(),
                    "Invalid comparison clause. Expected 'Identifier'",
                    &format!("expected a key such as {}", self.hints.key),
                )
            })?;
        self.i += 1;
        let mut end = first.end();
        while self.peek().is_some_and(|t| t.kind == Kind::Dot) {
            match self.peek_at(1) {
                Some(t)
                    if matches!(
                        t.kind,
                        Kind::Word | Kind::Backticked | Kind::DoubleQuoted | Kind::SingleQuoted
                    ) =>
                {
                    end = t.end();
                    self.i += 2;
                }
                _ => {
                    let dot_end = end + 1;
                    return Err(SearchError::at(
                        ErrorKind::InvalidComparison,
                        dot_end,
                        format!(
                            "Invalid comparison clause. Expected 'Identifier' found '{}'",
                            &self.src[first.start..dot_end]
                        ),
                        "expected a key right after the '.'",
                    ));
                }
            }
        }
        Ok(Span {
            text: &self.src[first.start..end],
            start: first.start,
        })
    }

    /// Reads the comparator after `ident`.
    fn comparator(&mut self, ident: Span<'a>) -> Result<Comparator, SearchError> {
        let missing = |at: usize, detail: &str| {
            SearchError::at(
                ErrorKind::InvalidClause,
                at,
                format!("Invalid clause(s) in filter string: '{}'", ident.text),
                &format!("expected {detail} after {}", ident.text),
            )
        };
        let Some(tok) = self.peek() else {
            return Err(missing(self.src.len(), "a comparator"));
        };
        let word = |t: &Token<'_>| {
            if t.kind == Kind::Word {
                t.text.to_ascii_uppercase()
            } else {
                String::new()
            }
        };
        let upper = word(&tok);
        self.i += 1;
        let comparator = match (tok.kind, upper.as_str()) {
            (Kind::Op, _) => Comparator::Op(tok.text.to_owned()),
            (_, "LIKE") => Comparator::Like,
            (_, "ILIKE") => Comparator::ILike,
            (_, "RLIKE" | "REGEXP") => Comparator::Unsupported(upper),
            (_, "IN") => Comparator::In,
            (_, "NOT") => {
                self.skip_space();
                let next = self.peek().map(|t| word(&t)).unwrap_or_default();
                let comparator = match next.as_str() {
                    "IN" => Comparator::NotIn,
                    "LIKE" | "ILIKE" | "RLIKE" | "REGEXP" => {
                        Comparator::Unsupported(format!("NOT {next}"))
                    }
                    _ => return Err(missing(self.offset(), "IN after NOT")),
                };
                self.i += 1;
                comparator
            }
            (_, "IS") => {
                self.skip_space();
                let next = self.peek().map(|t| word(&t)).unwrap_or_default();
                if next == "NULL" {
                    self.i += 1;
                    Comparator::IsNull
                } else if next == "NOT" {
                    let not_at = self.offset();
                    let single_space = self.peek_at(1).is_some_and(|t| t.text == " ");
                    if single_space && self.peek_at(2).is_some_and(|t| t.is_keyword("NULL")) {
                        self.i += 3;
                        Comparator::IsNotNull
                    } else {
                        return Err(missing(
                            not_at,
                            "NULL after IS NOT (MLflow needs exactly one space in 'NOT NULL')",
                        ));
                    }
                } else {
                    return Err(missing(self.offset(), "NULL or NOT NULL after IS"));
                }
            }
            _ => {
                self.i -= 1;
                return Err(missing(
                    tok.start,
                    "a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL)",
                ));
            }
        };
        Ok(comparator)
    }

    /// Reads the value after a comparator.
    fn value(&mut self, comparator: &Comparator) -> Result<(ValueClass, Span<'a>), SearchError> {
        self.skip_space();
        let missing = |at: usize, text: &str, detail: &str| {
            SearchError::at(
                ErrorKind::InvalidClause,
                at,
                format!("Invalid clause(s) in filter string: '{text}'"),
                &format!("{detail} after '{}'", comparator.text()),
            )
        };
        let Some(tok) = self.peek() else {
            return Err(missing(
                self.src.len(),
                comparator.text(),
                "expected a value",
            ));
        };
        let span = Span {
            text: tok.text,
            start: tok.start,
        };
        let class = match tok.kind {
            Kind::Int => ValueClass::Int,
            Kind::Float => ValueClass::Float,
            Kind::Hex => ValueClass::Hex,
            Kind::SingleQuoted => ValueClass::Str,
            Kind::Word if tok.is_keyword("NULL") => ValueClass::Null,
            Kind::Word | Kind::Backticked | Kind::DoubleQuoted if starts_identifier(tok) => {
                return Ok((ValueClass::Ident, self.identifier()?));
            }
            Kind::LParen => return Ok((ValueClass::List, self.group()?)),
            Kind::Unterminated => {
                return Err(missing(
                    tok.start,
                    tok.text,
                    "this quote is never closed; expected a value",
                ));
            }
            _ => {
                return Err(missing(
                    tok.start,
                    tok.text,
                    "expected a number or a quoted string",
                ));
            }
        };
        self.i += 1;
        Ok((class, span))
    }

    /// Reads a parenthesised group starting at the current `(`.
    fn group(&mut self) -> Result<Span<'a>, SearchError> {
        let start = self.offset();
        match self.group_end(self.i) {
            Some(j) => {
                let end = self.tokens[j].end();
                self.i = j + 1;
                Ok(Span {
                    text: &self.src[start..end],
                    start,
                })
            }
            None => Err(SearchError::at(
                ErrorKind::InvalidClause,
                start,
                format!(
                    "Invalid clause(s) in filter string: '{}'",
                    &self.src[start..]
                ),
                "this parenthesis is never closed",
            )),
        }
    }
}

/// Whether `tok` can start an identifier.
fn starts_identifier(tok: Token<'_>) -> bool {
    match tok.kind {
        Kind::Word => !RESERVED.iter().any(|w| tok.text.eq_ignore_ascii_case(w)),
        Kind::Backticked | Kind::DoubleQuoted => true,
        _ => false,
    }
}
