//! Python's behaviour where MLflow's rules depend on it: `posixpath.normpath`, the `\w` and
//! `\d` classes of `re`, and `str.strip`.

use std::cmp::Ordering;

use super::unicode_tables;

/// Python's `posixpath.normpath` (3.11): collapses empty and `.` parts, resolves `..` against
/// the part before it, keeps one or two leading slashes (three or more become one), and gives
/// `.` for an empty result.
pub(super) fn python_posix_normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let initial_slashes = if path.starts_with("//") && !path.starts_with("///") {
        2
    } else if path.starts_with('/') {
        1
    } else {
        0
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if initial_slashes == 0 && parts.last().is_none_or(|&last| last == "..") => {
                parts.push(part)
            }
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    let normalized = "/".repeat(initial_slashes) + &parts.join("/");
    if normalized.is_empty() {
        ".".to_owned()
    } else {
        normalized
    }
}

/// Python's `\w` in a `str` pattern: `str.isalnum()` or `_`.
pub(super) fn is_python_word(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        in_table(unicode_tables::WORD, c)
    }
}

/// Python's `\d` in a `str` pattern: `str.isdecimal()`.
pub(super) fn is_python_decimal(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        in_table(unicode_tables::DECIMAL, c)
    }
}

fn in_table(table: &[(u32, u32)], c: char) -> bool {
    let c = u32::from(c);
    table
        .binary_search_by(|&(low, high)| {
            if high < c {
                Ordering::Less
            } else if low > c {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        })
        .is_ok()
}

/// `s.strip() == ""` in Python, whose `str.isspace` also counts the separators U+001C–U+001F.
pub(super) fn is_python_blank(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}
