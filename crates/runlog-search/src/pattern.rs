//! `LIKE` and `ILIKE` as MLflow's file store evaluates them.
//!
//! MLflow 3.17.2 (`_convert_like_pattern_to_regex` in `mlflow/utils/search_utils.py`) escapes
//! the pattern with `re.escape`, turns `%` into `.*` and `_` into `.`, prefixes `^` unless the
//! pattern starts with `%`, appends `$` unless it ends with `%`, and calls `re.match` (with
//! `re.IGNORECASE` for `ILIKE`). That gives these rules, which this module reproduces without a
//! regex engine:
//!
//! * `%` matches any run of characters and `_` exactly one character, but neither matches a
//!   newline (no `DOTALL`). There is no escape character; every other character is literal.
//! * The match is anchored at the start. A pattern that ends with `%` only has to match a
//!   prefix of the value (so anything, newlines included, may follow). Any other pattern has
//!   to match the whole value, or the whole value but one trailing `\n` (Python's `$`).
//! * `ILIKE` compares characters by their simple case folding, computed as the lower case of
//!   the upper case of each character, which agrees with Python's `re.IGNORECASE` on every
//!   Unicode character (`ü` matches `Ü`, `ſ` matches `s`, but `ß` does not match `SS`).

/// A compiled `LIKE` or `ILIKE` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikePattern {
    source: String,
    elems: Vec<Elem>,
    prefix_only: bool,
    case_insensitive: bool,
}

/// One element of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem {
    /// A literal character (case-folded for `ILIKE`).
    Char(char),
    /// `_`: one character other than a newline.
    One,
    /// `%`: any run of characters without a newline.
    Any,
}

impl LikePattern {
    /// Compiles `pattern`; `case_insensitive` selects `ILIKE`.
    pub fn new(pattern: &str, case_insensitive: bool) -> Self {
        let mut elems: Vec<Elem> = pattern
            .chars()
            .map(|c| match c {
                '%' => Elem::Any,
                '_' => Elem::One,
                c if case_insensitive => Elem::Char(fold(c)),
                c => Elem::Char(c),
            })
            .collect();
        let prefix_only = pattern.ends_with('%');
        if prefix_only {
            // The trailing `.*` can always match the empty string, and nothing has to follow.
            elems.pop();
        }
        LikePattern {
            source: pattern.to_owned(),
            elems,
            prefix_only,
            case_insensitive,
        }
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether this is `ILIKE`.
    pub fn is_case_insensitive(&self) -> bool {
        self.case_insensitive
    }

    /// Whether `value` matches the pattern.
    pub fn matches(&self, value: &str) -> bool {
        let chars: Vec<char> = if self.case_insensitive {
            value.chars().map(fold).collect()
        } else {
            value.chars().collect()
        };
        let m = self.elems.len();
        // row[j]: the first j elements match the characters consumed so far.
        let mut row = vec![false; m + 1];
        row[0] = true;
        close_over_any(&self.elems, &mut row);
        let mut next = vec![false; m + 1];
        let n = chars.len();
        for (i, &c) in chars.iter().enumerate() {
            if self.prefix_only && row[m] {
                return true;
            }
            if !self.prefix_only && row[m] && i + 1 == n && c == '\n' {
                return true;
            }
            next[0] = false;
            for (j, elem) in self.elems.iter().enumerate() {
                next[j + 1] = match *elem {
                    Elem::Char(p) => row[j] && p == c,
                    Elem::One => row[j] && c != '\n',
                    Elem::Any => row[j + 1] && c != '\n',
                };
            }
            close_over_any(&self.elems, &mut next);
            if !next.iter().any(|&b| b) {
                return false;
            }
            std::mem::swap(&mut row, &mut next);
        }
        row[m]
    }
}

/// Lets every `%` match the empty string: if the elements before it match, so does it.
fn close_over_any(elems: &[Elem], row: &mut [bool]) {
    for (j, elem) in elems.iter().enumerate() {
        if *elem == Elem::Any && row[j] {
            row[j + 1] = true;
        }
    }
}

/// The simple case folding of `c`: the lower case of its upper case, keeping `c` where a
/// mapping would produce several characters (the only multi-character lower case, `İ`,
/// folds to its first character `i`, like Python's simple lower-case mapping).
pub(crate) fn fold(c: char) -> char {
    let mut upper = c.to_uppercase();
    let u = match (upper.next(), upper.next()) {
        (Some(u), None) => u,
        _ => c,
    };
    u.to_lowercase().next().unwrap_or(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(value: &str, pattern: &str) -> bool {
        LikePattern::new(pattern, false).matches(value)
    }

    fn ilike(value: &str, pattern: &str) -> bool {
        LikePattern::new(pattern, true).matches(value)
    }

    #[test]
    fn wildcards() {
        assert!(like("Adam", "Adam%"));
        assert!(like("AdamW", "Adam%"));
        assert!(!like("adam", "Adam%"));
        assert!(like("64", "_4"));
        assert!(!like("128", "_4"));
        assert!(like("lr-sweep-3", "lr_sweep%"));
        assert!(like("résumé", "r_sum_"));
        assert!(like("", ""));
        assert!(!like("x", ""));
        assert!(like("", "%"));
        assert!(like("abc", "%b%"));
        assert!(like("abc", "a%c"));
        assert!(!like("abcd", "a%c"));
        assert!(like("a%b", "a%b"));
    }

    #[test]
    fn no_escape_and_literal_regex_characters() {
        assert!(like(r"a\b", r"a\_"));
        assert!(like(r"a\b", r"a\b"));
        assert!(!like(r"a\b", r"a\\b"));
        assert!(like("a.b", "a.b"));
        assert!(!like("aXb", "a.b"));
        assert!(like("(x)+", "(x)+"));
    }

    #[test]
    fn newlines() {
        assert!(!like("first line\nsecond line", "%second line"));
        assert!(!like("x\ny", "x_y"));
        assert!(like("x\ny", "x%"));
        assert!(like("line\n", "line"));
        assert!(!like("line\n\n", "line"));
        assert!(like("line\n", "%ine"));
        assert!(like("\n", ""));
        assert!(like("\nabc", "%"));
    }

    #[test]
    fn case_folding() {
        assert!(ilike("Über-run", "über%"));
        assert!(ilike("ADAMW", "adam%"));
        assert!(ilike("ſ", "S"));
        assert!(ilike("İx", "i%"));
        assert!(!ilike("straße", "STRASSE"));
        assert!(ilike("Σίσυφος", "σίσυφοσ"));
        assert!(!like("Über-run", "über%"));
    }
}
