//! JSON lines: one object per point, appended to one file through a `BufWriter`, the way many
//! training scripts log metrics. Queries scan and parse the whole file.
//!
//! Lines look like `{"key":"train/loss","step":1,"ts":1700000000000,"value":0.123}`. Values
//! are written with Rust's `{}` for `f64` (the shortest decimal that parses back to the same
//! bits) and parsed with `str::parse::<f64>`, so they round-trip exactly.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use runlog_metrics::{Point, Points};
use runlog_workloads::{W1_KEYS, W1Columns};

use crate::engine::{Engine, Queries, Result, points_per_key, rows};

const FILE: &str = "w1.jsonl";
/// Read buffer of a scan; a line must fit in it.
const READ_BUF: usize = 4 << 20;

/// One JSONL file.
#[derive(Debug)]
pub struct Jsonl;

impl Engine for Jsonl {
    fn name(&self) -> &'static str {
        "jsonl"
    }

    fn ingest(&self, dir: &Path, data: &W1Columns) -> Result<()> {
        let mut keys = Vec::with_capacity(W1_KEYS.len());
        for k in W1_KEYS {
            let mut quoted = String::new();
            push_json_string(&mut quoted, k);
            keys.push(quoted);
        }
        let mut out = BufWriter::with_capacity(1 << 20, File::create(dir.join(FILE))?);
        for (key, i) in rows(points_per_key(data)) {
            writeln!(
                out,
                r#"{{"key":{},"step":{},"ts":{},"value":{}}}"#,
                keys[key], data.steps[key][i], data.timestamps_ms[key][i], data.values[key][i]
            )?;
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_data()?;
        // The new file's directory entry, as runlog syncs its folder for a new segment.
        File::open(dir)?.sync_all()?;
        Ok(())
    }

    fn open(&self, dir: &Path) -> Result<Box<dyn Queries>> {
        let path = dir.join(FILE);
        File::open(&path)?; // fail now if it is missing
        Ok(Box::new(JsonlQueries { path }))
    }
}

/// Appends `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[derive(Debug)]
struct JsonlQueries {
    path: PathBuf,
}

impl Queries for JsonlQueries {
    fn history(&mut self, key: &str) -> Result<Points> {
        scan(&self.path, key, |_| true)
    }

    fn step_window(&mut self, key: &str, lo: i64, hi: i64) -> Result<Points> {
        scan(&self.path, key, |step| step >= lo && step < hi)
    }
}

/// Reads the whole file in large chunks and keeps the points of `key` whose step passes `keep`.
fn scan(path: &Path, key: &str, keep: impl Fn(i64) -> bool) -> Result<Points> {
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; READ_BUF];
    let mut filled = 0;
    let mut out = Points::default();
    let mut line_no = 0u64;
    loop {
        let n = file.read(&mut buf[filled..])?;
        filled += n;
        let complete = if n == 0 {
            filled // end of file: whatever is left is the last line
        } else {
            match buf[..filled].iter().rposition(|&b| b == b'\n') {
                Some(last) => last + 1,
                None if filled == buf.len() => {
                    return Err(format!(
                        "{}: a line is longer than {READ_BUF} bytes",
                        path.display()
                    )
                    .into());
                }
                None => continue,
            }
        };
        for line in buf[..complete].split_inclusive(|&b| b == b'\n') {
            line_no += 1;
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let fields = parse_line(line)
                .map_err(|why| format!("{}: line {line_no}: {why}", path.display()))?;
            if fields.key != key.as_bytes() {
                continue;
            }
            let step: i64 = number(fields.step, "step")?;
            if keep(step) {
                out.push(Point::new(
                    step,
                    number(fields.ts, "ts")?,
                    number(fields.value, "value")?,
                ));
            }
        }
        if n == 0 {
            break;
        }
        buf.copy_within(complete..filled, 0);
        filled -= complete;
    }
    Ok(out)
}

/// The raw text of the fields of one line; numbers are parsed only for lines of the wanted key.
#[derive(Debug, Default)]
struct Fields<'a> {
    key: &'a [u8],
    step: &'a [u8],
    ts: &'a [u8],
    value: &'a [u8],
}

/// Parses one flat JSON object of string and number fields, in any order. Enough JSON for this
/// file: no nesting and no escapes inside strings (a backslash is refused, not misread).
fn parse_line(line: &[u8]) -> std::result::Result<Fields<'_>, String> {
    let mut p = Cursor { s: line, i: 0 };
    let mut f = Fields::default();
    p.expect(b'{')?;
    p.ws();
    if p.peek() == Some(b'}') {
        return Err("empty object".into());
    }
    loop {
        p.ws();
        let name = p.string()?;
        p.ws();
        p.expect(b':')?;
        p.ws();
        let value = if p.peek() == Some(b'"') {
            p.string()?
        } else {
            p.bare()
        };
        match name {
            b"key" => f.key = value,
            b"step" => f.step = value,
            b"ts" => f.ts = value,
            b"value" => f.value = value,
            _ => {}
        }
        p.ws();
        match p.next() {
            Some(b',') => continue,
            Some(b'}') => break,
            _ => return Err(format!("expected ',' or '}}' at byte {}", p.i)),
        }
    }
    Ok(f)
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek();
        self.i += 1;
        b
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, b: u8) -> std::result::Result<(), String> {
        match self.next() {
            Some(got) if got == b => Ok(()),
            _ => Err(format!("expected '{}' at byte {}", b as char, self.i - 1)),
        }
    }

    /// A string without escapes; returns its contents.
    fn string(&mut self) -> std::result::Result<&'a [u8], String> {
        self.expect(b'"')?;
        let start = self.i;
        loop {
            match self.next() {
                Some(b'"') => return Ok(&self.s[start..self.i - 1]),
                Some(b'\\') => return Err("escapes in strings are not supported".into()),
                Some(_) => {}
                None => return Err("unterminated string".into()),
            }
        }
    }

    /// A number (or other bare token): everything up to the next ',', '}' or blank.
    fn bare(&mut self) -> &'a [u8] {
        let start = self.i;
        while !matches!(self.peek(), None | Some(b',' | b'}' | b' ' | b'\t' | b'\r')) {
            self.i += 1;
        }
        &self.s[start..self.i]
    }
}

fn number<T: std::str::FromStr>(raw: &[u8], field: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    let text = std::str::from_utf8(raw).map_err(|_| format!("field {field} is not UTF-8"))?;
    text.parse()
        .map_err(|e| format!("field {field} = {text:?}: {e}").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_in_any_order() {
        let f = parse_line(br#"{ "value": 0.5, "key":"a/b", "ts":3,"step":-2 }"#).unwrap();
        assert_eq!(f.key, b"a/b");
        assert_eq!(f.step, b"-2");
        assert_eq!(f.ts, b"3");
        assert_eq!(f.value, b"0.5");
        assert!(parse_line(br#"{"key":"a\"b"}"#).is_err());
    }

    #[test]
    fn display_round_trips() {
        for v in [0.1f64, 1.0 / 3.0, 1e-300, 123456789.0, (0.7f32) as f64] {
            assert_eq!(
                format!("{v}").parse::<f64>().unwrap().to_bits(),
                v.to_bits()
            );
        }
    }
}
