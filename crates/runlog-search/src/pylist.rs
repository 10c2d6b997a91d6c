//! The list of an `IN (…)` clause, read like MLflow reads it: with Python's
//! `ast.literal_eval`.
//!
//! Unlike a single quoted value (which MLflow compares verbatim), list items are Python string
//! literals: backslash escapes are processed, adjacent literals are concatenated
//! (`('a' 'b')` is `('ab',)`), `u`/`r` prefixes and triple quotes work, redundant parentheses
//! are allowed and a trailing comma is fine. The result must be a non-empty tuple of strings
//! (a single string counts as a one-element tuple). This module implements that subset of
//! Python; anything else is rejected as an ill-formed list.

/// A Python value that can appear in the list.
enum PyValue {
    Str(String),
    Tuple(Vec<PyValue>),
    /// A number, bytes or another literal that is not a string.
    Other,
}

/// Why a list was rejected.
pub(crate) enum ListError {
    /// Not a Python literal this module understands (MLflow: "got ill-formed list").
    IllFormed,
    /// An empty tuple.
    Empty,
    /// An element that is not a string.
    NotString,
}

/// Evaluates the parenthesised text `raw` (parentheses included) into its strings.
pub(crate) fn parse_list(raw: &str) -> Result<Vec<String>, ListError> {
    let chars: Vec<char> = raw.chars().collect();
    let mut parser = PyParser {
        chars: &chars,
        pos: 0,
    };
    let value = parser.expr()?;
    parser.skip_space();
    if parser.pos != chars.len() {
        return Err(ListError::IllFormed);
    }
    let items = match value {
        PyValue::Tuple(items) => items,
        single => vec![single],
    };
    if items.is_empty() {
        return Err(ListError::Empty);
    }
    items
        .into_iter()
        .map(|item| match item {
            PyValue::Str(s) => Ok(s),
            _ => Err(ListError::NotString),
        })
        .collect()
}

/// A recursive-descent reader over the characters of the list.
struct PyParser<'a> {
    chars: &'a [char],
    pos: usize,
}

impl PyParser<'_> {
    /// The current character, if any.
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// The character `offset` places ahead, if any.
    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    /// Skips whitespace, backslash line continuations and comments (all legal inside
    /// parentheses).
    fn skip_space(&mut self) {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\u{c}' | '\n' | '\r') => self.pos += 1,
                Some('\\') if self.peek_at(1) == Some('\n') => self.pos += 2,
                Some('#') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    /// expr := '(' [expr (',' expr)* [',']] ')' | string+ | other-literal
    fn expr(&mut self) -> Result<PyValue, ListError> {
        self.skip_space();
        match self.peek() {
            Some('(') => self.parenthesised(),
            Some(_) if self.string_start().is_some() => {
                let mut text = String::new();
                let mut any_bytes = false;
                while let Some((prefix_len, raw, bytes)) = self.string_start() {
                    self.pos += prefix_len;
                    text.push_str(&self.string_body(raw)?);
                    any_bytes |= bytes;
                    self.skip_space();
                }
                Ok(if any_bytes {
                    PyValue::Other
                } else {
                    PyValue::Str(text)
                })
            }
            Some(c) if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                self.number()?;
                Ok(PyValue::Other)
            }
            Some(_) => {
                let word: String = self.chars[self.pos..]
                    .iter()
                    .take_while(|c| c.is_alphanumeric())
                    .collect();
                if matches!(word.as_str(), "None" | "True" | "False") {
                    self.pos += word.chars().count();
                    Ok(PyValue::Other)
                } else {
                    Err(ListError::IllFormed)
                }
            }
            None => Err(ListError::IllFormed),
        }
    }

    /// Reads a parenthesised expression or tuple starting at `(`.
    fn parenthesised(&mut self) -> Result<PyValue, ListError> {
        self.pos += 1;
        self.skip_space();
        if self.peek() == Some(')') {
            self.pos += 1;
            return Ok(PyValue::Tuple(Vec::new()));
        }
        let first = self.expr()?;
        self.skip_space();
        if self.peek() == Some(')') {
            // `(x)` is just `x`.
            self.pos += 1;
            return Ok(first);
        }
        let mut items = vec![first];
        while self.peek() == Some(',') {
            self.pos += 1;
            self.skip_space();
            if self.peek() == Some(')') {
                break;
            }
            items.push(self.expr()?);
            self.skip_space();
        }
        if self.peek() != Some(')') {
            return Err(ListError::IllFormed);
        }
        self.pos += 1;
        Ok(PyValue::Tuple(items))
    }

    /// If a string literal starts here, returns the prefix length, whether it is raw and
    /// whether it is bytes.
    fn string_start(&self) -> Option<(usize, bool, bool)> {
        let mut prefix = String::new();
        let mut i = 0;
        while let Some(c) = self.peek_at(i) {
            if c == '\'' || c == '"' {
                let p = prefix.to_ascii_lowercase();
                return match p.as_str() {
                    "" | "u" => Some((i, false, false)),
                    "r" => Some((i, true, false)),
                    "b" => Some((i, false, true)),
                    "br" | "rb" => Some((i, true, true)),
                    _ => None,
                };
            }
            if i >= 2 || !c.is_ascii_alphabetic() {
                return None;
            }
            prefix.push(c);
            i += 1;
        }
        None
    }

    /// Reads a quoted literal starting at the quote and returns its value.
    fn string_body(&mut self, raw: bool) -> Result<String, ListError> {
        let quote = self.peek().ok_or(ListError::IllFormed)?;
        let triple = self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote);
        self.pos += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let c = self.peek().ok_or(ListError::IllFormed)?;
            if c == quote {
                if !triple {
                    self.pos += 1;
                    return Ok(out);
                }
                if self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote) {
                    self.pos += 3;
                    return Ok(out);
                }
            }
            if c == '\n' && !triple {
                return Err(ListError::IllFormed);
            }
            if c == '\\' {
                let next = self.peek_at(1).ok_or(ListError::IllFormed)?;
                if raw {
                    // A raw string keeps the backslash, but it still protects the next quote.
                    out.push('\\');
                    out.push(next);
                    self.pos += 2;
                } else {
                    self.pos += 2;
                    self.escape(next, &mut out)?;
                }
                continue;
            }
            out.push(c);
            self.pos += 1;
        }
    }

    /// Appends the value of the escape `\next` (already consumed) to `out`.
    fn escape(&mut self, next: char, out: &mut String) -> Result<(), ListError> {
        let simple = match next {
            '\n' => Some(None),
            '\\' => Some(Some('\\')),
            '\'' => Some(Some('\'')),
            '"' => Some(Some('"')),
            'a' => Some(Some('\u{7}')),
            'b' => Some(Some('\u{8}')),
            'f' => Some(Some('\u{c}')),
            'n' => Some(Some('\n')),
            'r' => Some(Some('\r')),
            't' => Some(Some('\t')),
            'v' => Some(Some('\u{b}')),
            _ => None,
        };
        if let Some(c) = simple {
            out.extend(c);
            return Ok(());
        }
        let code = match next {
            '0'..='7' => {
                let mut value = next.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match self.peek().and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            self.pos += 1;
                        }
                        None => break,
                    }
                }
                value
            }
            'x' => self.hex_digits(2)?,
            'u' => self.hex_digits(4)?,
            'U' => self.hex_digits(8)?,
            // `\N{NAME}` needs Unicode's name table; reject it rather than guess.
            'N' => return Err(ListError::IllFormed),
            other => {
                // Unknown escapes keep their backslash (Python only warns).
                out.push('\\');
                out.push(other);
                return Ok(());
            }
        };
        // Lone surrogates cannot be represented; Python would accept them.
        out.push(char::from_u32(code).ok_or(ListError::IllFormed)?);
        Ok(())
    }

    /// Reads exactly `count` hexadecimal digits.
    fn hex_digits(&mut self, count: usize) -> Result<u32, ListError> {
        let mut value: u32 = 0;
        for _ in 0..count {
            let d = self
                .peek()
                .and_then(|c| c.to_digit(16))
                .ok_or(ListError::IllFormed)?;
            value = value
                .checked_mul(16)
                .and_then(|v| v.checked_add(d))
                .ok_or(ListError::IllFormed)?;
            self.pos += 1;
        }
        Ok(value)
    }

    /// Skips a numeric literal (its value does not matter: it is never a string).
    fn number(&mut self) -> Result<(), ListError> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'))
        {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        let digits = text.trim_start_matches(['-', '+']);
        if digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
            && digits.len() > usize::from(digits == ".")
        {
            Ok(())
        } else {
            Err(ListError::IllFormed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> Vec<String> {
        match parse_list(raw) {
            Ok(v) => v,
            Err(_) => panic!("{raw} was rejected"),
        }
    }

    #[test]
    fn python_literal_rules() {
        assert_eq!(ok("('a', 'b')"), ["a", "b"]);
        assert_eq!(ok("('a')"), ["a"]);
        assert_eq!(ok("('a',)"), ["a"]);
        assert_eq!(ok("('r1' 'x', \"r2\",)"), ["r1x", "r2"]);
        assert_eq!(ok("(('r1', 'r2'))"), ["r1", "r2"]);
        assert_eq!(ok("(u'r1', r'r\\2')"), ["r1", "r\\2"]);
        assert_eq!(ok("('''r1''')"), ["r1"]);
        assert_eq!(ok(r"('\x72\u0031')"), ["r1"]);
        assert_eq!(ok(r"('it\'s', 'a\qb')"), ["it's", r"a\qb"]);
        assert_eq!(ok("('it''s')"), ["its"]);
    }

    #[test]
    fn rejected_lists() {
        assert!(matches!(parse_list("()"), Err(ListError::Empty)));
        assert!(matches!(parse_list("(1)"), Err(ListError::NotString)));
        assert!(matches!(parse_list("('a', 2)"), Err(ListError::NotString)));
        assert!(matches!(parse_list("(b'a')"), Err(ListError::NotString)));
        assert!(matches!(parse_list("(('a',),)"), Err(ListError::NotString)));
        assert!(matches!(parse_list("(r1)"), Err(ListError::IllFormed)));
        assert!(matches!(parse_list("('a'"), Err(ListError::IllFormed)));
        assert!(matches!(
            parse_list("('a' 'b' c)"),
            Err(ListError::IllFormed)
        ));
    }
}
