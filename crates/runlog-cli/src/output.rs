//! Data out: one [`Table`] written as an aligned table for people, CSV, or JSON (a list of
//! objects whose keys are the column names, stable for scripts).

use std::io::{self, Write};

use serde_json::{Map, Value};
use unicode_width::UnicodeWidthStr;

/// How data is written (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// Aligned columns.
    #[default]
    Table,
    /// RFC 4180 CSV with a header line.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// Rows of cells under named columns.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column names: the table's header, the CSV header, the JSON keys.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = S>) -> Table {
        Table {
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    /// Writes the table in `format`.
    pub fn write(&self, format: Format, out: &mut dyn Write) -> io::Result<()> {
        match format {
            Format::Table => self.write_table(out),
            Format::Csv => self.write_csv(out),
            Format::Json => self.write_json(out),
        }
    }

    fn write_table(&self, out: &mut dyn Write) -> io::Result<()> {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(|v| one_line(&table_text(v))).collect())
            .collect();
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.width()).collect();
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.width());
            }
        }
        // Numbers right-aligned, everything else left; no trailing spaces.
        let numeric: Vec<bool> = (0..self.columns.len())
            .map(|i| {
                self.rows.iter().any(|r| r[i].is_number())
                    && self.rows.iter().all(|r| r[i].is_number() || r[i].is_null())
            })
            .collect();
        let line = |out: &mut dyn Write, row: &[String]| -> io::Result<()> {
            let mut s = String::new();
            for (i, c) in row.iter().enumerate() {
                if i > 0 {
                    s.push_str("  ");
                }
                let pad = widths[i] - c.width();
                if numeric[i] {
                    s.extend(std::iter::repeat_n(' ', pad));
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    s.extend(std::iter::repeat_n(' ', pad));
                }
            }
            writeln!(out, "{}", s.trim_end())
        };
        line(out, &self.columns)?;
        for row in &cells {
            line(out, row)?;
        }
        Ok(())
    }

    fn write_csv(&self, out: &mut dyn Write) -> io::Result<()> {
        let line = |out: &mut dyn Write, row: &mut dyn Iterator<Item = String>| {
            let fields: Vec<String> = row.map(|c| csv_field(&c)).collect();
            writeln!(out, "{}", fields.join(","))
        };
        line(out, &mut self.columns.iter().cloned())?;
        for row in &self.rows {
            line(
                out,
                &mut row.iter().map(|v| match v {
                    Value::Null => String::new(),
                    other => text(other),
                }),
            )?;
        }
        Ok(())
    }

    fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        let list: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let obj: Map<String, Value> = self
                    .columns
                    .iter()
                    .cloned()
                    .zip(r.iter().cloned())
                    .collect();
                Value::Object(obj)
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &list)?;
        writeln!(out)
    }
}

/// A table cell on one line: newlines, tabs and other control characters written as Rust
/// escapes (`\n`, `\t`, `\u{1b}`), so that a value cannot break the alignment or send
/// terminal codes. CSV and JSON carry the text as it is.
fn one_line(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_owned();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A cell as text: strings bare, `-` for nothing, numbers as JSON writes them.
pub fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A cell for people: like [`text`], but fractional numbers rounded to
/// [`TABLE_DIGITS`] significant digits (CSV and JSON carry them exactly).
fn table_text(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_f64() => n.as_f64().map_or_else(|| n.to_string(), short_float),
        other => text(other),
    }
}

/// Significant digits of a fractional number in a table.
pub const TABLE_DIGITS: usize = 6;

/// `v` rounded to [`TABLE_DIGITS`] significant digits, as C's `%g` writes it: fixed notation
/// for exponents from -5 to 5, else `1.5e-7`; trailing zeros dropped.
pub fn short_float(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // `{:.5e}` rounds to 6 significant digits and gives the exponent after rounding.
    let sci = format!("{:.*e}", TABLE_DIGITS - 1, v);
    let (mantissa, exp) = sci.split_once('e').expect("{:e} writes an exponent");
    let exp: i32 = exp.parse().expect("{:e} writes a whole exponent");
    if (-5..TABLE_DIGITS as i32).contains(&exp) {
        let decimals = (TABLE_DIGITS as i32 - 1 - exp).max(0) as usize;
        trim_zeros(format!("{v:.decimals$}"))
    } else {
        format!("{}e{exp}", trim_zeros(mantissa.to_string()))
    }
}

/// `1.500` → `1.5`, `2.000` → `2`; text without a point is left alone.
fn trim_zeros(s: String) -> String {
    if !s.contains('.') {
        return s;
    }
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A CSV field, quoted when it holds a comma, quote, CR or LF.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A metric value for JSON: a number, or the strings `NaN`, `Infinity`, `-Infinity` (JSON has
/// no numbers for them).
pub fn float(v: f64) -> Value {
    if v.is_nan() {
        Value::String("NaN".into())
    } else if v.is_infinite() {
        Value::String(if v > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Format, Table};

    fn sample() -> Table {
        let mut t = Table::new(["run_id", "name", "loss"]);
        t.push(vec![json!("ab"), json!("first, \"quoted\""), json!(0.5)]);
        t.push(vec![json!("cdef"), json!("x"), json!(null)]);
        t
    }

    fn render(t: &Table, f: Format) -> String {
        let mut out = Vec::new();
        t.write(f, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn table_numbers_have_six_significant_digits() {
        use super::short_float;
        let cases = [
            (1.3007926940917969, "1.30079"),
            (0.48924392461776733, "0.489244"),
            (0.0010000000474974513, "0.001"),
            (2.4673991738666246e-9, "2.4674e-9"),
            (0.00013487186515703797, "0.000134872"),
            (15.109872817993164, "15.1099"),
            (123456.7, "123457"),
            (999999.5, "1e6"),
            (1234567.0, "1.23457e6"),
            (-0.5, "-0.5"),
            (-0.0, "-0"),
            (0.0, "0"),
            (64.0, "64"),
            (1e-5, "0.00001"),
            (9.999996e-6, "0.00001"),
            (1.5e-6, "1.5e-6"),
            (f64::MAX, "1.79769e308"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (v, want) in cases {
            assert_eq!(short_float(v), want, "{v:e}");
        }
        let mut t = Table::new(["x"]);
        t.push(vec![json!(0.48924392461776733)]);
        t.push(vec![json!(7)]);
        assert_eq!(render(&t, Format::Table), "       x\n0.489244\n       7\n");
        assert_eq!(render(&t, Format::Csv), "x\n0.48924392461776733\n7\n");
    }

    #[test]
    fn table_cells_stay_on_one_line_and_wide_characters_count_twice() {
        let mut t = Table::new(["name", "n"]);
        t.push(vec![json!("训练"), json!(1)]);
        t.push(vec![json!("a\nb\tc\u{1b}[31m"), json!(2)]);
        t.push(vec![json!("é"), json!(3)]);
        assert_eq!(
            render(&t, Format::Table),
            "name               n\n训练               1\na\\nb\\tc\\u{1b}[31m  2\né                  3\n"
        );
        // CSV and JSON keep the text as it is.
        assert!(render(&t, Format::Csv).contains("\"a\nb\tc\u{1b}[31m\""));
        let v: serde_json::Value = serde_json::from_str(&render(&t, Format::Json)).unwrap();
        assert_eq!(v[1]["name"], "a\nb\tc\u{1b}[31m");
    }

    #[test]
    fn tables_align_and_csv_quotes() {
        let t = sample();
        assert_eq!(
            render(&t, Format::Table),
            "run_id  name             loss\nab      first, \"quoted\"   0.5\ncdef    x                   -\n"
        );
        assert_eq!(
            render(&t, Format::Csv),
            "run_id,name,loss\nab,\"first, \"\"quoted\"\"\",0.5\ncdef,x,\n"
        );
        let v: serde_json::Value = serde_json::from_str(&render(&t, Format::Json)).unwrap();
        assert_eq!(v[0]["run_id"], "ab");
        assert_eq!(v[1]["loss"], serde_json::Value::Null);
    }
}
