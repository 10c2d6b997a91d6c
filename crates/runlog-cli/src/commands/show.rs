//! `runlog show`, `runlog metrics` and `runlog compare`: one run, one metric, runs side by
//! side.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::ExitCode;

use runlog::{Axis, RunInfo, RunReader, Store, Summary};
use serde_json::{Map, Value, json};

use super::list::{days_from_civil, format_duration, format_time, format_time_ms, write};
use crate::cli::*;
use crate::error::{CliError, Result};
use crate::output::{Format, Table, float, text};
use crate::resolve;

/// Characters of a sparkline.
const SPARKLINE_WIDTH: usize = 24;
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One metric of a run, summarised.
struct MetricRow {
    key: String,
    summary: Option<Summary>,
    /// The catalog's latest value, when there is no metric data to summarise.
    latest: Option<f64>,
    sparkline: String,
    /// Why the metric data could not be read (damaged on disk); the row keeps what could be
    /// read (the summary, when only blocks are damaged; else the catalog's latest value).
    damaged: Option<String>,
}

/// `runlog show`.
pub fn show(ctx: &Context<'_>, a: &ShowArgs) -> Result<ExitCode> {
    let store = resolve::open_store(ctx.store)?;
    let run = resolve::resolve_run(&store, &a.run)?;
    let metrics = metric_rows(&store, &run)?;
    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => {
            let mut obj: Map<String, Value> = info_fields(&store, &run).into_iter().collect();
            obj.insert("params".into(), json!(run.params));
            obj.insert("tags".into(), json!(run.tags));
            let list: Vec<Value> = metrics
                .iter()
                .map(|m| {
                    let mut o = Map::new();
                    for (k, v) in metric_table(std::slice::from_ref(m), Format::Json)
                        .columns
                        .into_iter()
                        .zip(metric_cells(m))
                    {
                        o.insert(k, v);
                    }
                    if let Some(why) = &m.damaged {
                        o.insert("damaged".into(), json!(why));
                    }
                    Value::Object(o)
                })
                .collect();
            obj.insert("metrics".into(), Value::Array(list));
            serde_json::to_writer_pretty(&mut out, &Value::Object(obj)).map_err(io)?;
            writeln!(out)?;
        }
        Format::Csv => metric_table(&metrics, Format::Csv).write(Format::Csv, &mut out)?,
        Format::Table => {
            let obj = info_fields(&store, &run);
            let mut info = Table::new(["field", "value"]);
            for (k, v) in &obj {
                let v = match (k.as_str(), v) {
                    ("start_time" | "end_time" | "deleted_time", Value::Number(n)) => {
                        json!(format_time(n.as_i64().unwrap_or_default()))
                    }
                    ("duration_ms", Value::Number(n)) => {
                        json!(format_duration(n.as_i64().unwrap_or_default()))
                    }
                    _ => v.clone(),
                };
                let k = if k == "duration_ms" { "duration" } else { k };
                info.push(vec![json!(k), json!(text(&v))]);
            }
            write_rows(&mut out, &info)?;
            section(&mut out, "params", &key_values(&run.params, "param"))?;
            section(&mut out, "tags", &key_values(&run.tags, "tag"))?;
            section(&mut out, "metrics", &metric_table(&metrics, Format::Table))?;
        }
    }
    out.flush()?;
    let damaged: Vec<&MetricRow> = metrics.iter().filter(|m| m.damaged.is_some()).collect();
    if let Some(first) = damaged.first() {
        // What could be read is shown; the exit code says it is not all.
        let keys: Vec<&str> = damaged.iter().map(|m| m.key.as_str()).collect();
        eprintln!(
            "warning: the metric data of {} could not be read: {}\nhint: {}",
            keys.join(", "),
            first.damaged.as_deref().unwrap_or_default(),
            crate::error::CORRUPT_HINT
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn io(e: serde_json::Error) -> CliError {
    CliError::new(e.to_string())
}

/// A table without its header line.
fn write_rows(out: &mut dyn Write, t: &Table) -> Result<()> {
    let mut buf = Vec::new();
    t.write(Format::Table, &mut buf)?;
    let s = String::from_utf8_lossy(&buf);
    for line in s.lines().skip(1) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// A blank line, the section's title and its table (or `(none)`).
fn section(out: &mut dyn Write, title: &str, t: &Table) -> Result<()> {
    writeln!(out, "\n{title}")?;
    if t.rows.is_empty() {
        writeln!(out, "(none)")?;
    } else {
        t.write(Format::Table, out)?;
    }
    Ok(())
}

fn key_values(map: &BTreeMap<String, String>, what: &str) -> Table {
    let mut t = Table::new([what, "value"]);
    for (k, v) in map {
        t.push(vec![json!(k), json!(v)]);
    }
    t
}

/// The run's info as JSON fields, in a fixed order.
fn info_fields(store: &Store, run: &RunInfo) -> Vec<(String, Value)> {
    let exp_name = store
        .catalog()
        .get_experiment(&run.experiment_id)
        .map(|e| e.name)
        .ok();
    vec![
        ("run_id".into(), json!(run.run_id)),
        ("run_name".into(), json!(run.run_name)),
        ("experiment_id".into(), json!(run.experiment_id)),
        ("experiment_name".into(), json!(exp_name)),
        ("status".into(), json!(run.status.as_str())),
        (
            "lifecycle_stage".into(),
            json!(run.lifecycle_stage.as_str()),
        ),
        ("start_time".into(), json!(run.start_time)),
        ("end_time".into(), json!(run.end_time)),
        (
            "duration_ms".into(),
            json!(run.end_time.map(|e| e - run.start_time)),
        ),
        ("user_id".into(), json!(run.user_id)),
        ("artifact_uri".into(), json!(run.artifact_uri)),
    ]
}

/// Every metric of the run: from its metric data when it has some, else the catalog's
/// latest values.
///
/// Damaged metric data does not hide the rest: a series that cannot be read (or every series,
/// when the run's folder cannot be opened) gets a row saying so.
fn metric_rows(store: &Store, run: &RunInfo) -> Result<Vec<MetricRow>> {
    use runlog::metrics::Error as MetricsError;
    let corrupt = |e: &MetricsError| e.is_corruption().then(|| e.to_string());
    let (reader, all_damaged) = match store.reader(&run.run_id) {
        Ok(r) => (Some(r), None),
        // A run that never logged a metric point has no metric folder.
        Err(runlog::Error::Metrics(MetricsError::Io { source, .. }))
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            (None, None)
        }
        Err(runlog::Error::Metrics(e)) => (None, Some(corrupt(&e).ok_or(e)?)),
        Err(e) => return Err(e.into()),
    };
    let mut keys: BTreeSet<String> = run.metrics.keys().cloned().collect();
    if let Some(r) = &reader {
        keys.extend(r.series().into_iter().map(|(_, k)| k));
    }
    let mut rows = Vec::new();
    for key in keys {
        let mut damaged = all_damaged.clone();
        let (summary, sparkline) = match &reader {
            Some(r) if r.series_id(&key).is_some() => {
                // The summary comes from the segment's index, the sparkline from its blocks:
                // either can be damaged without the other.
                let summary = match r.summary(&key) {
                    Ok(s) => s,
                    Err(e) => {
                        damaged = Some(corrupt(&e).ok_or(e)?);
                        None
                    }
                };
                let line = match damaged {
                    Some(_) => String::new(),
                    None => sparkline(r, &key).or_else(|e| {
                        damaged = Some(corrupt(&e).ok_or(e)?);
                        Ok::<_, CliError>(String::new())
                    })?,
                };
                (summary, line)
            }
            _ => (None, String::new()),
        };
        rows.push(MetricRow {
            latest: run.metrics.get(&key).map(|m| m.value),
            key,
            summary,
            sparkline,
            damaged,
        });
    }
    Ok(rows)
}

/// A unicode sparkline of `key` over steps, from a downsample (bucket means).
fn sparkline(r: &RunReader, key: &str) -> runlog::metrics::Result<String> {
    let buckets = super::plot::finite_buckets(r, key, Axis::Step, SPARKLINE_WIDTH)?;
    Ok(spark(&buckets.iter().map(|b| b.mean).collect::<Vec<_>>()))
}

/// Bars for `values` scaled between their min and max; NaN and infinities are blanks.
pub fn spark(values: &[f64]) -> String {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    values
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                ' '
            } else if hi > lo {
                let i = ((v - lo) / (hi - lo) * 7.0).round() as usize;
                BARS[i.min(7)]
            } else {
                BARS[3]
            }
        })
        .collect()
}

fn metric_table(rows: &[MetricRow], format: Format) -> Table {
    let mut cols = vec![
        "key",
        "count",
        "first_step",
        "last_step",
        "latest",
        "min",
        "max",
    ];
    if format == Format::Table {
        cols.push("history");
    }
    let mut t = Table::new(cols);
    for m in rows {
        let mut cells = metric_cells(m);
        if format == Format::Table {
            cells.push(json!(if m.damaged.is_some() {
                "(damaged)"
            } else {
                m.sparkline.as_str()
            }));
        }
        t.push(cells);
    }
    t
}

fn metric_cells(m: &MetricRow) -> Vec<Value> {
    match &m.summary {
        Some(s) => vec![
            json!(m.key),
            json!(s.count),
            json!(s.min_step),
            json!(s.max_step),
            float(s.latest.value),
            float(s.min),
            float(s.max),
        ],
        None => vec![
            json!(m.key),
            Value::Null,
            Value::Null,
            Value::Null,
            m.latest.map_or(Value::Null, float),
            Value::Null,
            Value::Null,
        ],
    }
}

/// `runlog metrics`.
pub fn metrics(ctx: &Context<'_>, a: &MetricsArgs) -> Result<ExitCode> {
    let store = resolve::open_store(ctx.store)?;
    let run = resolve::resolve_run(&store, &a.run)?;
    let reader = store
        .reader(&run.run_id)
        .map_err(|e| CliError::new(format!("run {} has no metric data: {e}", run.run_id)))?;
    if reader.series_id(&a.key).is_none() {
        let mut keys: Vec<String> = reader.series().into_iter().map(|(_, k)| k).collect();
        keys.sort();
        let err = CliError::new(format!(
            "run {} ({}) has no metric {:?}",
            run.run_id, run.run_name, a.key
        ));
        return Err(if keys.is_empty() {
            err.hint("this run has no metrics")
        } else {
            err.hint(format!("its metrics: {}", keys.join(", ")))
        });
    }
    let steps = a.steps.as_deref().map(parse_steps).transpose()?;
    let since = a
        .since
        .as_deref()
        .map(|t| parse_time(t, "--since"))
        .transpose()?;
    let until = a
        .until
        .as_deref()
        .map(|t| parse_time(t, "--until"))
        .transpose()?;
    if let (Some(lo), Some(hi)) = (since, until)
        && lo >= hi
    {
        return Err(CliError::new(format!(
            "--since {:?} is not before --until {:?}: no point can be in that window",
            a.since.as_deref().unwrap_or_default(),
            a.until.as_deref().unwrap_or_default()
        ))
        .hint(
            "--since is included and --until excluded; swap them if they are the wrong way round",
        ));
    }
    let times = (since.is_some() || until.is_some())
        .then(|| (since.unwrap_or(i64::MIN), until.unwrap_or(i64::MAX)));

    if let Some(n) = a.downsample {
        if n == 0 {
            return Err(CliError::new("--downsample needs at least 1 bucket"));
        }
        let (axis, range) = match (steps, times) {
            (Some(_), Some(_)) => {
                return Err(CliError::new(
                    "--downsample buckets over steps or over time, not both",
                )
                .hint("give either --steps or --since/--until with --downsample"));
            }
            (Some(s), None) => (Axis::Step, Some(s)),
            (None, Some(t)) => (Axis::Time, Some(t)),
            (None, None) => (Axis::Step, None),
        };
        // An open side of a range: the series' extent.
        let range = match (range, reader.summary(&a.key)?) {
            (Some((lo, hi)), Some(s)) => {
                let (min, max) = match axis {
                    Axis::Step => (s.min_step, s.max_step),
                    Axis::Time => (s.min_timestamp_ms, s.max_timestamp_ms),
                };
                Some((lo.max(min), hi.min(max.saturating_add(1))))
            }
            (r, _) => r,
        };
        let buckets = reader.downsample(&a.key, axis, n, range)?;
        let mut t = Table::new([
            if axis == Axis::Step {
                "start_step"
            } else {
                "start_time"
            },
            if axis == Axis::Step {
                "end_step"
            } else {
                "end_time"
            },
            "count",
            "min",
            "max",
            "mean",
            "last_step",
            "last_value",
        ]);
        for b in buckets {
            let (start, end) = match axis {
                Axis::Step => (json!(b.start), json!(b.end)),
                Axis::Time => (
                    time_ms_cell(ctx.format, b.start),
                    time_ms_cell(ctx.format, b.end),
                ),
            };
            t.push(vec![
                start,
                end,
                json!(b.count),
                float(b.min),
                float(b.max),
                float(b.mean),
                json!(b.last.step),
                float(b.last.value),
            ]);
        }
        return write(ctx, &t);
    }

    let points = match (steps, times) {
        (Some((lo, hi)), _) => reader.step_window(&a.key, lo, hi)?,
        (None, Some((lo, hi))) => reader.time_window(&a.key, lo, hi)?,
        (None, None) => reader.history(&a.key)?,
    };
    let mut t = Table::new(["step", "timestamp", "value"]);
    for i in 0..points.len() {
        let ts = points.timestamps_ms[i];
        if times.is_some_and(|(lo, hi)| ts < lo || ts >= hi) {
            continue;
        }
        t.push(vec![
            json!(points.steps[i]),
            time_ms_cell(ctx.format, ts),
            float(points.values[i]),
        ]);
    }
    write(ctx, &t)
}

fn time_ms_cell(format: Format, ms: i64) -> Value {
    if format == Format::Table {
        json!(format_time_ms(ms))
    } else {
        json!(ms)
    }
}

/// `A..B`, `A..`, `..B`: steps from A (included) to B (excluded).
fn parse_steps(s: &str) -> Result<(i64, i64)> {
    let bad = || {
        CliError::new(format!("--steps {s:?} is not a step range"))
            .hint("write A..B (B excluded), A.. or ..B, e.g. --steps 100..200")
    };
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    let side = |x: &str, open: i64| -> Result<i64> {
        let x = x.trim();
        if x.is_empty() {
            Ok(open)
        } else {
            x.parse().map_err(|_| bad())
        }
    };
    let (lo, hi) = (side(a, i64::MIN)?, side(b, i64::MAX)?);
    if lo >= hi {
        return Err(CliError::new(format!(
            "--steps {s:?} holds no step: B is excluded, so A must be below B"
        ))
        .hint(if lo == hi {
            format!(
                "for step {lo} alone, write --steps {lo}..{}",
                lo.saturating_add(1)
            )
        } else {
            format!("did you mean --steps {hi}..{lo}?")
        }));
    }
    Ok((lo, hi))
}

/// Milliseconds since the epoch, or an RFC 3339 time (`2026-01-31T12:00:00Z`, offsets,
/// fractions; a date alone is its midnight UTC; no zone means UTC).
pub fn parse_time(s: &str, flag: &str) -> Result<i64> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    rfc3339(s).ok_or_else(|| {
        CliError::new(format!("{flag} {s:?} is not a time"))
            .hint("give ms since the epoch or an RFC 3339 time such as 2026-01-31T12:00:00Z")
    })
}

fn rfc3339(s: &str) -> Option<i64> {
    let num = |t: &str| -> Option<i64> {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let (date, rest) = if s.len() > 10 {
        (s.get(..10)?, s.get(10..)?)
    } else {
        (s, "")
    };
    let mut d = date.split('-');
    let (y, m, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(y, m as u32, day as u32);
    if rest.is_empty() {
        return Some(days * 86_400_000);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    // Zone: Z, +HH:MM, -HH:MM, or none.
    let (clock, offset_min) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (c, z) = rest.split_at(i);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let (h, mi) = z[1..].split_once(':')?;
        (c, sign * (num(h)? * 60 + num(mi)?))
    } else {
        (rest, 0)
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut p = hms.split(':');
    let (h, mi) = (num(p.next()?)?, num(p.next()?)?);
    let sec = p.next().map_or(Some(0), num)?;
    if p.next().is_some() || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let ms_frac = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().chain("000".chars()).take(3).collect();
        num(&digits)?
    };
    Some(((days * 86_400 + h * 3600 + mi * 60 + sec) - offset_min * 60) * 1000 + ms_frac)
}

/// `runlog compare`.
pub fn compare(ctx: &Context<'_>, a: &CompareArgs) -> Result<ExitCode> {
    let store = resolve::open_store(ctx.store)?;
    let runs: Vec<RunInfo> = a
        .runs
        .iter()
        .map(|r| resolve::resolve_run(&store, r))
        .collect::<Result<_>>()?;
    let param_keys: BTreeSet<&String> = runs.iter().flat_map(|r| r.params.keys()).collect();
    let metric_keys: BTreeSet<&String> = runs.iter().flat_map(|r| r.metrics.keys()).collect();
    let params: Vec<(&String, Vec<Value>)> = param_keys
        .into_iter()
        .map(|k| {
            let vals = runs
                .iter()
                .map(|r| r.params.get(k).map_or(Value::Null, |v| json!(v)))
                .collect();
            (k, vals)
        })
        .collect();
    let metrics: Vec<(&String, Vec<Value>)> = metric_keys
        .into_iter()
        .map(|k| {
            let vals = runs
                .iter()
                .map(|r| r.metrics.get(k).map_or(Value::Null, |m| float(m.value)))
                .collect();
            (k, vals)
        })
        .collect();
    let differs = |vals: &[Value]| vals.iter().any(|v| *v != vals[0]);

    if ctx.format == Format::Table {
        let header: Vec<String> = runs
            .iter()
            .map(|r| format!("{} ({})", r.run_name, &r.run_id[..8.min(r.run_id.len())]))
            .collect();
        let mut out = std::io::stdout().lock();
        for (i, (title, rows)) in [("params", &params), ("metrics", &metrics)]
            .into_iter()
            .enumerate()
        {
            let mut cols = vec![String::new(), title.trim_end_matches('s').to_string()];
            cols.extend(header.iter().cloned());
            let mut t = Table::new(cols);
            for (k, vals) in rows {
                let mut row = vec![json!(if differs(vals) { "*" } else { "" }), json!(k)];
                row.extend(vals.iter().cloned());
                t.push(row);
            }
            if i > 0 {
                writeln!(out)?;
            }
            if t.rows.is_empty() {
                writeln!(out, "{title}: (none)")?;
            } else {
                t.write(Format::Table, &mut out)?;
            }
        }
        writeln!(out, "\n* differs between the runs")?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    if ctx.format == Format::Json {
        let mut list = Vec::new();
        for (section, rows) in [("param", &params), ("metric", &metrics)] {
            for (k, vals) in rows {
                // In the order the runs were given.
                let values: Vec<Value> = runs
                    .iter()
                    .zip(vals.iter())
                    .map(|(r, v)| json!({"run_id": r.run_id, "run_name": r.run_name, "value": v}))
                    .collect();
                list.push(json!({
                    "section": section,
                    "key": k,
                    "differs": differs(vals),
                    "values": values,
                }));
            }
        }
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &list).map_err(io)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut cols = vec!["section".to_string(), "key".into(), "differs".into()];
    cols.extend(runs.iter().map(|r| r.run_id.clone()));
    let mut t = Table::new(cols);
    for (section, rows) in [("param", &params), ("metric", &metrics)] {
        for (k, vals) in rows {
            let mut row = vec![json!(section), json!(k), json!(differs(vals))];
            row.extend(vals.iter().cloned());
            t.push(row);
        }
    }
    write(ctx, &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        assert_eq!(parse_time("1234", "--since").unwrap(), 1234);
        assert_eq!(rfc3339("1970-01-02"), Some(86_400_000));
        assert_eq!(rfc3339("2023-11-14T22:13:20Z"), Some(1_700_000_000_000));
        assert_eq!(
            rfc3339("2023-11-14T23:13:20.5+01:00"),
            Some(1_700_000_000_500)
        );
        assert_eq!(rfc3339("2023-11-14 22:13"), Some(1_699_999_980_000));
        assert_eq!(rfc3339("2023-13-14"), None);
        assert_eq!(rfc3339("yesterday"), None);
        assert_eq!(parse_steps("10..20").unwrap(), (10, 20));
        assert_eq!(parse_steps("..20").unwrap(), (i64::MIN, 20));
        assert!(parse_steps("10-20").is_err());
    }

    #[test]
    fn sparklines() {
        assert_eq!(spark(&[0.0, 1.0, 2.0, 7.0]), "▁▂▃█");
        assert_eq!(spark(&[1.0, 1.0]), "▄▄");
        assert_eq!(spark(&[f64::NAN, 1.0, 2.0]), " ▁█");
    }
}
