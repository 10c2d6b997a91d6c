//! The few `meta.yaml` files MLflow reads, written by hand: a flat mapping of fixed keys,
//! sorted, every string double-quoted with YAML escapes (so PyYAML's YAML 1.1 resolution can
//! never turn one into a boolean, date, number or null), integers plain, `null` for None.

use std::fmt::Write;

/// One value of a flat `meta.yaml` mapping.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// A string, always written quoted.
    Str(&'a str),
    /// An integer, written plain.
    Int(i64),
    /// `null`.
    Null,
    /// An empty list, `[]`.
    EmptyList,
}

/// Writes a block mapping of `entries`, keys sorted, one per line.
pub fn mapping(entries: &mut [(&str, Value<'_>)]) -> String {
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    for (key, value) in entries.iter() {
        out.push_str(key);
        out.push_str(": ");
        match value {
            Value::Str(s) => quote(&mut out, s),
            Value::Int(i) => write!(out, "{i}").expect("writing to a String cannot fail"),
            Value::Null => out.push_str("null"),
            Value::EmptyList => out.push_str("[]"),
        }
        out.push('\n');
    }
    out
}

/// A YAML double-quoted scalar. Printable characters stay as they are; everything PyYAML's
/// reader refuses raw or treats as a line break is escaped.
pub fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            ' '..='~' => out.push(c),
            '\u{A0}'..='\u{D7FF}' if c != '\u{2028}' && c != '\u{2029}' => out.push(c),
            '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}' => out.push(c),
            c if (c as u32) <= 0xFF => {
                write!(out, "\\x{:02X}", c as u32).expect("writing to a String cannot fail")
            }
            c if (c as u32) <= 0xFFFF => {
                write!(out, "\\u{:04X}", c as u32).expect("writing to a String cannot fail")
            }
            c => write!(out, "\\U{:08X}", c as u32).expect("writing to a String cannot fail"),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::{Value, mapping};

    #[test]
    fn strings_are_quoted_and_escaped_and_keys_sorted() {
        let text = mapping(&mut [
            ("name", Value::Str("yes")),
            ("experiment_id", Value::Str("0")),
            ("end_time", Value::Null),
            ("status", Value::Int(3)),
            ("tags", Value::EmptyList),
            (
                "odd",
                Value::Str("a\"b\\c\nd\te\u{7f}\u{85}\u{2028}naïve 🚀"),
            ),
        ]);
        assert_eq!(
            text,
            "end_time: null\nexperiment_id: \"0\"\nname: \"yes\"\n\
             odd: \"a\\\"b\\\\c\\nd\\te\\x7F\\x85\\u2028naïve 🚀\"\nstatus: 3\ntags: []\n"
        );
    }
}
