//! `runlog experiments` and `runlog runs`, and the time and duration formats every listing
//! shares.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use runlog::search::{Filter, OrderBy, Subject};
use runlog::{LifecycleStage, RunInfo, ViewType};
use serde_json::{Value, json};

use crate::cli::*;
use crate::error::{CliError, Result};
use crate::output::{Format, Table, float};
use crate::resolve;

/// How many params and metrics `runs` shows as columns by default (table format).
const DEFAULT_COLUMNS: usize = 4;

/// `--all` / `--deleted` as a view.
pub fn view(all: bool, deleted: bool) -> ViewType {
    if all {
        ViewType::All
    } else if deleted {
        ViewType::DeletedOnly
    } else {
        ViewType::ActiveOnly
    }
}

/// `runlog experiments`.
pub fn experiments(ctx: &Context<'_>, a: &ExperimentsArgs) -> Result<ExitCode> {
    let store = resolve::open_store(ctx.store)?;
    let exps = store.catalog().list_experiments(view(a.all, a.deleted))?;
    let mut t = Table::new([
        "experiment_id",
        "name",
        "lifecycle_stage",
        "runs",
        "creation_time",
        "last_update_time",
    ]);
    // Active runs per experiment, from one pass over the runs' briefs.
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for r in store.catalog().run_briefs()? {
        if r.lifecycle_stage == LifecycleStage::Active {
            *counts.entry(r.experiment_id).or_default() += 1;
        }
    }
    for e in &exps {
        let runs = counts.get(&e.experiment_id).copied().unwrap_or(0);
        t.push(vec![
            json!(e.experiment_id),
            json!(e.name),
            json!(e.lifecycle_stage.as_str()),
            json!(runs),
            time_cell(ctx.format, Some(e.creation_time)),
            time_cell(ctx.format, Some(e.last_update_time)),
        ]);
    }
    write(ctx, &t)
}

/// `runlog runs`.
pub fn runs(ctx: &Context<'_>, a: &RunsArgs) -> Result<ExitCode> {
    let store = resolve::open_store(ctx.store)?;
    let view = view(a.all, a.deleted);
    let exp_ids: Vec<String> = if a.experiments.is_empty() {
        let exp_view = if view == ViewType::ActiveOnly {
            ViewType::ActiveOnly
        } else {
            ViewType::All
        };
        store
            .catalog()
            .list_experiments(exp_view)?
            .into_iter()
            .map(|e| e.experiment_id)
            .collect()
    } else {
        a.experiments
            .iter()
            .map(|e| resolve::resolve_experiment(&store, e).map(|e| e.experiment_id))
            .collect::<Result<_>>()?
    };
    let ids: Vec<&str> = exp_ids.iter().map(String::as_str).collect();
    // Checked one by one first, so that a mistake is shown under the text it is in. The
    // params and metrics they name are the first columns a table shows.
    let mut subjects: Vec<Subject> = Vec::new();
    if let Some(f) = a.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        let parsed = Filter::parse(f).map_err(|e| CliError::search(&e, "--filter", f))?;
        subjects.extend(parsed.clauses().iter().map(|c| c.subject.clone()));
    }
    for o in &a.order_by {
        let parsed = OrderBy::parse(o).map_err(|e| CliError::search(&e, "--order-by", o))?;
        subjects.push(parsed.subject);
    }
    let order: Vec<&str> = a.order_by.iter().map(String::as_str).collect();
    let runs = store
        .catalog()
        .search_runs(&ids, a.filter.as_deref(), view, &order, a.limit, None)?
        .runs;

    let everything = ctx.format != Format::Table;
    let named = |param: bool| -> Vec<String> {
        subjects
            .iter()
            .filter_map(|s| match s {
                Subject::Param(k) if param => Some(k.clone()),
                Subject::Metric(k) if !param => Some(k.clone()),
                _ => None,
            })
            .collect()
    };
    let params = if !a.params.is_empty() {
        a.params.clone()
    } else if everything {
        all_keys(&runs, |r| r.params.keys())
    } else {
        first_columns(named(true), differing_params(&runs))
    };
    let metrics = if !a.metrics.is_empty() {
        a.metrics.clone()
    } else if everything {
        all_keys(&runs, |r| r.metrics.keys())
    } else {
        first_columns(named(false), all_keys(&runs, |r| r.metrics.keys()))
    };

    let mut columns: Vec<String> = if everything {
        [
            "run_id",
            "run_name",
            "experiment_id",
            "status",
            "start_time",
            "end_time",
            "duration_ms",
        ]
        .map(String::from)
        .to_vec()
    } else {
        [
            "run_id",
            "run_name",
            "experiment_id",
            "status",
            "start_time",
            "duration",
        ]
        .map(String::from)
        .to_vec()
    };
    if view != ViewType::ActiveOnly {
        columns.push("lifecycle_stage".into());
    }
    columns.extend(params.iter().map(|k| format!("params.{k}")));
    columns.extend(metrics.iter().map(|k| format!("metrics.{k}")));
    let mut t = Table::new(columns);
    for r in &runs {
        let duration = r.end_time.map(|e| e - r.start_time);
        let mut row = vec![json!(r.run_id), json!(r.run_name), json!(r.experiment_id)];
        row.push(json!(r.status.as_str()));
        row.push(time_cell(ctx.format, Some(r.start_time)));
        if everything {
            row.push(json!(r.end_time));
            row.push(json!(duration));
        } else {
            row.push(duration.map_or(Value::Null, |d| json!(format_duration(d))));
        }
        if view != ViewType::ActiveOnly {
            row.push(json!(r.lifecycle_stage.as_str()));
        }
        for k in &params {
            row.push(r.params.get(k).map_or(Value::Null, |v| json!(v)));
        }
        for k in &metrics {
            row.push(r.metrics.get(k).map_or(Value::Null, |m| float(m.value)));
        }
        t.push(row);
    }
    write(ctx, &t)
}

/// The keys a filter or order named, in their order, then `rest`, without repeats, at most
/// [`DEFAULT_COLUMNS`] (or as many as were named, if more).
fn first_columns(named: Vec<String>, rest: Vec<String>) -> Vec<String> {
    let limit = DEFAULT_COLUMNS.max(named.len());
    let mut out: Vec<String> = Vec::new();
    for k in named.into_iter().chain(rest) {
        if out.len() < limit && !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

/// Every key `keys` gives over `runs`, sorted.
fn all_keys<'a, I>(runs: &'a [Arc<RunInfo>], keys: impl Fn(&'a RunInfo) -> I) -> Vec<String>
where
    I: Iterator<Item = &'a String>,
{
    let set: BTreeSet<&String> = runs.iter().flat_map(|r| keys(r)).collect();
    set.into_iter().cloned().collect()
}

/// The params whose value is not the same in every run (missing counts as a value), at most
/// [`DEFAULT_COLUMNS`], sorted by key.
fn differing_params(runs: &[Arc<RunInfo>]) -> Vec<String> {
    let mut values: BTreeMap<&String, BTreeSet<Option<&String>>> = BTreeMap::new();
    for key in runs.iter().flat_map(|r| r.params.keys()) {
        values.entry(key).or_default();
    }
    for (key, set) in &mut values {
        for r in runs {
            set.insert(r.params.get(*key));
        }
    }
    values
        .into_iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(k, _)| k.clone())
        .take(DEFAULT_COLUMNS)
        .collect()
}

/// Writes `t` to stdout in the context's format.
pub fn write(ctx: &Context<'_>, t: &Table) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    t.write(ctx.format, &mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// A time cell: `YYYY-MM-DD HH:MM:SS` (UTC) in tables, ms since the epoch in CSV and JSON.
pub fn time_cell(format: Format, ms: Option<i64>) -> Value {
    match (format, ms) {
        (_, None) => Value::Null,
        (Format::Table, Some(ms)) => json!(format_time(ms)),
        (_, Some(ms)) => json!(ms),
    }
}

/// `YYYY-MM-DD HH:MM:SS`, UTC.
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// `YYYY-MM-DD HH:MM:SS.mmm`, UTC.
pub fn format_time_ms(ms: i64) -> String {
    format!("{}.{:03}", format_time(ms), ms.rem_euclid(1000))
}

/// Year, month, day of a day number (days since 1970-01-01); Howard Hinnant's algorithm.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a date; the inverse of [`civil_from_days`].
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A duration for people: `850ms`, `3.2s`, `4m05s`, `1h02m`, `2d03h`.
pub fn format_duration(ms: i64) -> String {
    if ms < 0 {
        return format!("-{}", format_duration(-ms));
    }
    let s = ms / 1000;
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{}m{:02}s", s / 60, s % 60),
        3_600_000..86_400_000 => format!("{}h{:02}m", s / 3600, s / 60 % 60),
        _ => format!("{}d{:02}h", s / 86_400, s / 3600 % 24),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00");
        assert_eq!(format_time(1_700_000_000_000), "2023-11-14 22:13:20");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(days_from_civil(2000, 2, 29), 951_782_400 / 86_400);
        for z in [-800_000, -1, 0, 59, 60, 11_016, 800_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(format_duration(850), "850ms");
        assert_eq!(format_duration(3_240), "3.2s");
        assert_eq!(format_duration(245_000), "4m05s");
        assert_eq!(format_duration(3_720_000), "1h02m");
        assert_eq!(format_duration(183_600_000), "2d03h");
    }
}
