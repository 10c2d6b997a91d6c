//! Splits a filter or `order_by` string into tokens the way MLflow's `sqlparse` does.
//!
//! MLflow does not have a grammar of its own: it feeds the filter to `sqlparse` (0.5/0.6) and
//! inspects the tokens. The rules below reproduce the parts of `sqlparse.keywords.SQL_REGEX`
//! that a valid filter can touch, so that literals, quoted keys and numbers are cut at exactly
//! the same places:
//!
//! * `'…'` and `"…"` follow `'(''|\\'|[^'])*'`: a doubled quote or a backslash-quote stays
//!   inside the literal, and the regex backtracks when that leaves the literal unterminated.
//! * `` `…` `` follows `` `(``|[^`])*` ``.
//! * Numbers follow the hexadecimal, float and integer rules, including the rule that a
//!   number must not run straight into a letter (`1_000` and `0AND` are words, not numbers).
//! * Words are runs of `\w` characters (Unicode letters, digits and `_`).
//!
//! The lexer never fails: characters it does not know become [`Kind::Other`] tokens and an
//! unterminated literal becomes a [`Kind::Unterminated`] token, so that the parser can say
//! what it expected at that position.

/// The kind of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A run of whitespace.
    Space,
    /// A run of word characters (`\w+`) that is not a number.
    Word,
    /// A backticked name, quotes included.
    Backticked,
    /// A double-quoted literal, quotes included (a `Symbol` for `sqlparse`).
    DoubleQuoted,
    /// A single-quoted literal, quotes included.
    SingleQuoted,
    /// A quote that is never closed; the token runs to the end of the input.
    Unterminated,
    /// An integer literal such as `42` or `-7`.
    Int,
    /// A float literal such as `1.5`, `.5`, `5.`, `-1e-3` or `2.5E-1`.
    Float,
    /// A hexadecimal literal such as `0x10` (never a valid value).
    Hex,
    /// `.`
    Dot,
    /// `,`
    Comma,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// A run of `<`, `>`, `=`, `~` and `!`.
    Op,
    /// Any other single character.
    Other,
}

/// One token: its kind, its text (a slice of the input) and the byte offset where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub(crate) kind: Kind,
    pub(crate) text: &'a str,
    pub(crate) start: usize,
}

impl Token<'_> {
    /// The byte offset just past the token.
    pub(crate) fn end(&self) -> usize {
        self.start + self.text.len()
    }

    /// Whether the token is the word `word`, compared case-insensitively like SQL keywords.
    pub(crate) fn is_keyword(&self, word: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(word)
    }
}

/// Whether `c` is whitespace for Python's `\s` (which also counts U+001C to U+001F).
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Whether `c` is a word character for Python's `\w`.
pub(crate) fn is_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Splits `src` into tokens. Concatenating the tokens' texts gives back `src`.
pub(crate) fn lex(src: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    while let Some(c) = src[pos..].chars().next() {
        let (kind, len) = next_token(src, pos, c);
        // Every branch of `next_token` consumes at least one character.
        let len = len.max(c.len_utf8());
        tokens.push(Token {
            kind,
            text: &src[pos..pos + len],
            start: pos,
        });
        pos += len;
    }
    tokens
}

/// Classifies the token starting with `c` at `pos` and returns its kind and byte length.
fn next_token(src: &str, pos: usize, c: char) -> (Kind, usize) {
    let rest = &src[pos..];
    if is_space(c) {
        let len = rest.find(|ch: char| !is_space(ch)).unwrap_or(rest.len());
        return (Kind::Space, len);
    }
    match c {
        '`' => return quoted(rest, '`', false, Kind::Backticked),
        '\'' => return quoted(rest, '\'', true, Kind::SingleQuoted),
        '"' => return quoted(rest, '"', true, Kind::DoubleQuoted),
        _ => {}
    }
    if let Some(number) = number(rest) {
        return number;
    }
    if is_word(c) {
        let len = rest.find(|ch: char| !is_word(ch)).unwrap_or(rest.len());
        return (Kind::Word, len);
    }
    match c {
        '.' => (Kind::Dot, 1),
        ',' => (Kind::Comma, 1),
        '(' => (Kind::LParen, 1),
        ')' => (Kind::RParen, 1),
        '<' | '>' | '=' | '~' | '!' => {
            let len = rest
                .find(|ch: char| !matches!(ch, '<' | '>' | '=' | '~' | '!'))
                .unwrap_or(rest.len());
            (Kind::Op, len)
        }
        _ => (Kind::Other, c.len_utf8()),
    }
}

/// Matches a quoted literal at the start of `rest` with the backtracking semantics of
/// `q(qq|\\q|[^q])*q` (the `\\q` alternative only when `backslash` is set).
///
/// The search is a depth-first walk in the regex engine's order of preference (continue with
/// `qq`, then `\q`, then any other character, and only then stop at a closing quote), kept on
/// an explicit stack so that long inputs cannot overflow the call stack.
fn quoted(rest: &str, q: char, backslash: bool, kind: Kind) -> (Kind, usize) {
    let bytes = rest.as_bytes();
    let qb = q as u8; // All three quote characters are ASCII.
    let at = |i: usize| bytes.get(i).copied();
    // Each frame is (position in `rest`, next alternative to try).
    let mut stack: Vec<(usize, u8)> = vec![(1, 0)];
    while let Some(frame) = stack.last_mut() {
        let (i, alt) = *frame;
        frame.1 += 1;
        match alt {
            0 if at(i) == Some(qb) && at(i + 1) == Some(qb) => stack.push((i + 2, 0)),
            1 if backslash && at(i) == Some(b'\\') && at(i + 1) == Some(qb) => {
                stack.push((i + 2, 0))
            }
            2 => {
                if let Some(ch) = rest.get(i..).and_then(|s| s.chars().next())
                    && ch != q
                {
                    stack.push((i + ch.len_utf8(), 0));
                }
            }
            3 if at(i) == Some(qb) => return (kind, i + 1),
            0..=3 => {}
            _ => {
                stack.pop();
            }
        }
    }
    (Kind::Unterminated, rest.len())
}

/// Matches one of `sqlparse`'s number rules at the start of `s`, in its order: hexadecimal,
/// float with exponent, float, integer.
fn number(s: &str) -> Option<(Kind, usize)> {
    let b = s.as_bytes();
    let digits = |from: usize| {
        b[from.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let sign = usize::from(b.first() == Some(&b'-'));
    // -?0x[0-9a-f]+
    if b.get(sign) == Some(&b'0') && matches!(b.get(sign + 1), Some(b'x' | b'X')) {
        let hex = b[(sign + 2).min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        if hex > 0 {
            return Some((Kind::Hex, sign + 2 + hex));
        }
    }
    let int_len = digits(sign);
    // -?\d+(\.\d+)?E-?\d+  (no look-ahead after the exponent)
    if int_len > 0 {
        let mut i = sign + int_len;
        if b.get(i) == Some(&b'.') && digits(i + 1) > 0 {
            i += 1 + digits(i + 1);
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            let exp_sign = usize::from(b.get(i + 1) == Some(&b'-'));
            let exp = digits(i + 1 + exp_sign);
            if exp > 0 {
                return Some((Kind::Float, i + 1 + exp_sign + exp));
            }
        }
    }
    // -?(\d+\.\d*|\.\d+) not followed by a letter or `_`
    let float_len = if int_len > 0 && b.get(sign + int_len) == Some(&b'.') {
        Some(sign + int_len + 1 + digits(sign + int_len + 1))
    } else if int_len == 0 && b.get(sign) == Some(&b'.') && digits(sign + 1) > 0 {
        Some(sign + 1 + digits(sign + 1))
    } else {
        None
    };
    if let Some(len) = float_len
        && !runs_into_word(s, len)
    {
        return Some((Kind::Float, len));
    }
    // -?\d+ not followed by a letter or `_`
    if int_len > 0 && !runs_into_word(s, sign + int_len) {
        return Some((Kind::Int, sign + int_len));
    }
    None
}

/// Whether the text at byte `at` of `s` starts with a word character (the `(?![_A-ZÀ-Ü])`
/// look-ahead of `sqlparse`'s number rules, widened to every letter).
fn runs_into_word(s: &str, at: usize) -> bool {
    s.get(at..)
        .and_then(|tail| tail.chars().next())
        .is_some_and(is_word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, &str)> {
        lex(src)
            .into_iter()
            .filter(|t| t.kind != Kind::Space)
            .map(|t| (t.kind, t.text))
            .collect()
    }

    #[test]
    fn numbers_follow_sqlparse() {
        assert_eq!(
            kinds("5 -0.5 .5 5. 1e-3 2.5E-1"),
            vec![
                (Kind::Int, "5"),
                (Kind::Float, "-0.5"),
                (Kind::Float, ".5"),
                (Kind::Float, "5."),
                (Kind::Float, "1e-3"),
                (Kind::Float, "2.5E-1"),
            ]
        );
        assert_eq!(kinds("0x10"), vec![(Kind::Hex, "0x10")]);
        assert_eq!(kinds("1_000"), vec![(Kind::Word, "1_000")]);
        assert_eq!(kinds("1e"), vec![(Kind::Word, "1e")]);
        assert_eq!(kinds("0AND"), vec![(Kind::Word, "0AND")]);
        assert_eq!(kinds("+1"), vec![(Kind::Other, "+"), (Kind::Int, "1")]);
        assert_eq!(
            kinds("1.e1"),
            vec![(Kind::Int, "1"), (Kind::Dot, "."), (Kind::Word, "e1")]
        );
    }

    #[test]
    fn quoted_literals_backtrack_like_the_regex() {
        assert_eq!(
            kinds("'it''s doubled'"),
            vec![(Kind::SingleQuoted, "'it''s doubled'")]
        );
        assert_eq!(kinds(r"'it\'s'"), vec![(Kind::SingleQuoted, r"'it\'s'")]);
        // A trailing backslash-quote closes the literal after backtracking.
        assert_eq!(kinds(r"'abc\'"), vec![(Kind::SingleQuoted, r"'abc\'")]);
        // `''` at the end: the pair is given back and the literal closes early.
        assert_eq!(
            kinds("'a.b''"),
            vec![(Kind::SingleQuoted, "'a.b'"), (Kind::Unterminated, "'")]
        );
        assert_eq!(kinds("'a.b'''"), vec![(Kind::SingleQuoted, "'a.b'''")]);
        assert_eq!(kinds("\"it's\""), vec![(Kind::DoubleQuoted, "\"it's\"")]);
        assert_eq!(kinds("`val acc`"), vec![(Kind::Backticked, "`val acc`")]);
        assert_eq!(kinds("'abc"), vec![(Kind::Unterminated, "'abc")]);
    }

    #[test]
    fn words_and_punctuation() {
        assert_eq!(
            kinds("tags.mlflow.parentRunId"),
            vec![
                (Kind::Word, "tags"),
                (Kind::Dot, "."),
                (Kind::Word, "mlflow"),
                (Kind::Dot, "."),
                (Kind::Word, "parentRunId"),
            ]
        );
        assert_eq!(
            kinds("a<=b!=c<>d"),
            vec![
                (Kind::Word, "a"),
                (Kind::Op, "<="),
                (Kind::Word, "b"),
                (Kind::Op, "!="),
                (Kind::Word, "c"),
                (Kind::Op, "<>"),
                (Kind::Word, "d"),
            ]
        );
        assert_eq!(
            kinds("训练-1"),
            vec![(Kind::Word, "训练"), (Kind::Int, "-1")]
        );
    }

    #[test]
    fn lexing_round_trips() {
        for src in ["", "a = 'b", "🚀 'x''", "`a``b` \"c\\\"d\"", "é.1 -.5e3"] {
            let joined: String = lex(src).iter().map(|t| t.text).collect();
            assert_eq!(joined, src);
        }
    }
}
