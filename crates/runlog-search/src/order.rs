//! `order_by` clauses and the order of search results.
//!
//! MLflow (`SearchUtils.sort`) first sorts runs by their natural order, `start_time`
//! descending then `run_id` ascending, and then applies each `order_by` clause, last to first,
//! as a stable sort. The result is the lexicographic order "first clause, second clause, …,
//! natural order", which [`sort_runs`] computes in one stable sort. Within one clause:
//!
//! * runs that have a value come first, then runs whose value is NaN, then runs without the
//!   key, in **both** directions;
//! * values compare as Python compares them (floats numerically with `-0.0 == 0.0`, strings
//!   by code point), and DESC reverses only the values, so runs that tie keep the natural
//!   order: DESC is not the reverse of ASC.

use std::borrow::Borrow;
use std::cmp::Ordering;

use crate::ast::{Attribute, Subject};
use crate::error::{ErrorKind, SearchError};
use crate::ident::{Entity, resolve_identifier};
use crate::lexer::{Kind, is_space, lex};
use crate::parser::Cursor;
use crate::run::RunView;

/// One `order_by` element: a key and a direction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderBy {
    /// What to sort by (never [`Subject::Dataset`], which MLflow cannot sort by).
    pub subject: Subject,
    /// `true` for ASC (the default), `false` for DESC.
    pub ascending: bool,
}

impl OrderBy {
    /// Parses one `order_by` element such as `metrics.acc DESC`, ``metrics.`val acc` ``,
    /// `params.lr asc` or `start_time`.
    ///
    /// The key uses the same prefixes and quoting as filters (a bare key is an attribute);
    /// the direction is `ASC` or `DESC` in any case and defaults to ascending. As in MLflow,
    /// an element holds exactly one key: a comma, or whitespace before or after the element,
    /// is an error.
    ///
    /// # Errors
    ///
    /// Returns a [`SearchError`] with MLflow's wording ("Invalid order_by clause …. Could not
    /// be parsed.", "Invalid ordering key in order_by clause …", "Invalid entity type …",
    /// "Invalid attribute key …").
    pub fn parse(text: &str) -> Result<OrderBy, SearchError> {
        let key = split_order_by(text)?;
        let identifier = resolve_identifier(&key.text, key.start, true)?;
        if identifier.entity == Entity::Dataset {
            return Err(SearchError::at(
                ErrorKind::InvalidOrderBy,
                key.start,
                "Invalid order_by entity type 'dataset'",
                "runs cannot be ordered by dataset fields",
            ));
        }
        let subject = identifier.subject().ok_or_else(|| {
            SearchError::at(
                ErrorKind::InvalidOrderBy,
                key.start,
                format!("Invalid order_by clause '{text}'. Could not be parsed."),
                "the key names nothing a run has",
            )
        })?;
        Ok(OrderBy {
            subject,
            ascending: key.ascending,
        })
    }

    /// Orders two runs by this clause alone (`Equal` when they tie).
    pub fn compare(&self, a: &RunView, b: &RunView) -> Ordering {
        let (va, vb) = (sort_value(a, &self.subject), sort_value(b, &self.subject));
        match (va.rank().cmp(&vb.rank()), va, vb) {
            (Ordering::Equal, SortValue::Present(x), SortValue::Present(y)) => {
                let o = x.cmp_to(&y);
                if self.ascending { o } else { o.reverse() }
            }
            (rank, _, _) => rank,
        }
    }
}

/// The key and direction of one `order_by` element, before the key is resolved.
pub(crate) struct OrderKey {
    /// The key as MLflow passes it to `_get_identifier` (dequoted by `shlex` when a
    /// direction follows it, trimmed).
    pub(crate) text: String,
    /// The byte offset where the key starts.
    pub(crate) start: usize,
    /// `true` for ASC (the default), `false` for DESC.
    pub(crate) ascending: bool,
}

/// MLflow's `_parse_order_by_string`, shared by runs and experiments: one key, optionally
/// followed by one space-separated `ASC` or `DESC` in any case. A comma, or whitespace
/// before or after the element, is an error.
pub(crate) fn split_order_by(text: &str) -> Result<OrderKey, SearchError> {
    let unparsable = |at: usize, detail: &str| {
        SearchError::at(
            ErrorKind::InvalidOrderBy,
            at,
            format!("Invalid order_by clause '{text}'. Could not be parsed."),
            detail,
        )
    };
    if text.is_empty() {
        return Err(unparsable(0, "the clause is empty"));
    }
    if text.starts_with(is_space) || text.ends_with(is_space) {
        let at = if text.starts_with(is_space) {
            0
        } else {
            text.trim_end_matches(is_space).len()
        };
        return Err(unparsable(at, "remove the surrounding whitespace"));
    }
    let tokens = lex(text);
    let mut cursor = Cursor::new(text, &tokens);
    let ident = cursor
        .identifier()
        .map_err(|e| unparsable(e.position().unwrap_or(0), "expected a key"))?;
    let mut direction = None;
    if !cursor.at_end() {
        let space_at = cursor.offset();
        if cursor.peek().is_none_or(|t| t.kind != Kind::Space) {
            return Err(unparsable(
                space_at,
                "expected a space and ASC or DESC after the key",
            ));
        }
        cursor.skip_space();
        let Some(word) = cursor.peek().filter(|t| t.kind == Kind::Word) else {
            return Err(unparsable(
                cursor.offset(),
                "expected ASC or DESC after the key",
            ));
        };
        cursor.advance();
        if !cursor.at_end() {
            return Err(unparsable(
                cursor.offset(),
                "expected nothing after the direction",
            ));
        }
        direction = Some(word);
    }
    let (key_text, ascending) = match direction {
        None => (ident.text.to_owned(), true),
        Some(word) => {
            let ascending = if word.text.eq_ignore_ascii_case("asc") {
                true
            } else if word.text.eq_ignore_ascii_case("desc") {
                false
            } else {
                return Err(SearchError::at(
                    ErrorKind::InvalidOrderBy,
                    word.start,
                    format!("Invalid ordering key in order_by clause '{text}'."),
                    &format!("the direction must be ASC or DESC, not {}", word.text),
                ));
            };
            // MLflow splits "key DIR" with `shlex` (backticks turned into double quotes)
            // and uses the dequoted key.
            let dequoted = shlex_dequote(&ident.text.replace('`', "\""))
                .ok_or_else(|| unparsable(ident.start, "a quote in the key is never closed"))?;
            (dequoted, ascending)
        }
    };
    Ok(OrderKey {
        text: key_text.trim_matches(is_space).to_owned(),
        start: ident.start,
        ascending,
    })
}

/// The natural order of search results: `start_time` descending, then `run_id` ascending.
///
/// A run without a start time (which MLflow cannot hold) sorts after every run that has one.
pub fn natural_order(a: &RunView, b: &RunView) -> Ordering {
    let by_start = match (a.start_time, b.start_time) {
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_start.then_with(|| a.run_id.cmp(&b.run_id))
}

/// Sorts `runs` into MLflow's result order for `order_by`.
pub fn sort_runs<R: Borrow<RunView>>(runs: &mut [R], order_by: &[OrderBy]) {
    runs.sort_by(|a, b| {
        let (a, b) = (a.borrow(), b.borrow());
        order_by
            .iter()
            .map(|clause| clause.compare(a, b))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| natural_order(a, b))
    });
}

/// A run's value for one sort key.
enum SortValue<'a> {
    Present(Value<'a>),
    Nan,
    Missing,
}

impl SortValue<'_> {
    /// Values first, then NaN, then missing: the same in both directions.
    fn rank(&self) -> u8 {
        match self {
            SortValue::Present(_) => 0,
            SortValue::Nan => 1,
            SortValue::Missing => 2,
        }
    }
}

/// A present, non-NaN sort value.
pub(crate) enum Value<'a> {
    Float(f64),
    Int(i64),
    Text(&'a str),
}

impl Value<'_> {
    /// Compares two values of the same key the way Python does.
    pub(crate) fn cmp_to(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Value::Float(x), Value::Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
            (Value::Int(x), Value::Int(y)) => x.cmp(y),
            // UTF-8 byte order is code-point order, which is how Python compares strings.
            (Value::Text(x), Value::Text(y)) => x.cmp(y),
            // One key never yields values of different types.
            _ => Ordering::Equal,
        }
    }
}

/// Reads the value `subject` names from `run`.
fn sort_value<'a>(run: &'a RunView, subject: &Subject) -> SortValue<'a> {
    let text = |v: Option<&'a String>| {
        v.map_or(SortValue::Missing, |s| SortValue::Present(Value::Text(s)))
    };
    match subject {
        Subject::Metric(key) => match run.metrics.get(key) {
            None => SortValue::Missing,
            Some(v) if v.is_nan() => SortValue::Nan,
            Some(v) => SortValue::Present(Value::Float(*v)),
        },
        Subject::Param(key) => text(run.params.get(key)),
        Subject::Tag(key) => text(run.tags.get(key)),
        Subject::Attribute(attr) => match attr {
            Attribute::RunId => text(Some(&run.run_id)),
            Attribute::RunName => text(Some(&run.run_name)),
            Attribute::Status => text(Some(&run.status)),
            Attribute::UserId => text(Some(&run.user_id)),
            Attribute::ArtifactUri => text(run.artifact_uri.as_ref()),
            Attribute::StartTime => run
                .start_time
                .map_or(SortValue::Missing, |t| SortValue::Present(Value::Int(t))),
            Attribute::EndTime => run
                .end_time
                .map_or(SortValue::Missing, |t| SortValue::Present(Value::Int(t))),
        },
        Subject::Dataset(_) => SortValue::Missing,
    }
}

/// Python's `shlex.split` (POSIX mode) for a string that must yield exactly one word: quotes
/// are removed, a backslash escapes the next character outside quotes and `"` or `\` inside
/// double quotes. Returns `None` for an unclosed quote or a trailing backslash.
fn shlex_dequote(s: &str) -> Option<String> {
    #[derive(PartialEq)]
    enum State {
        Plain,
        Double,
        Single,
    }
    let mut out = String::new();
    let mut state = State::Plain;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match state {
            State::Plain => match c {
                '"' => state = State::Double,
                '\'' => state = State::Single,
                '\\' => out.push(chars.next()?),
                c => out.push(c),
            },
            State::Double => match c {
                '"' => state = State::Plain,
                '\\' if matches!(chars.peek(), Some('"' | '\\')) => out.extend(chars.next()),
                c => out.push(c),
            },
            State::Single => match c {
                '\'' => state = State::Plain,
                c => out.push(c),
            },
        }
    }
    (state == State::Plain).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shlex_removes_quotes() {
        assert_eq!(
            shlex_dequote("metrics.\"val acc\"").as_deref(),
            Some("metrics.val acc")
        );
        assert_eq!(
            shlex_dequote("\"metrics.acc\"").as_deref(),
            Some("metrics.acc")
        );
        assert_eq!(shlex_dequote("tags.'t'").as_deref(), Some("tags.t"));
        assert_eq!(shlex_dequote("a\"b").as_deref(), None);
    }
}
