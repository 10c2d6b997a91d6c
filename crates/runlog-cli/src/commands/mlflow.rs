//! `runlog export mlflow` and `runlog import mlflow`.
//!
//! Export opens the store read-only; `--watch` exports again every `--interval` seconds
//! (incrementally: only what changed is written) and prints one line per pass (with
//! `--format json`, one JSON object per line; with csv, a row per pass).
//!
//! Import opens the store for writing (creating it when the folder is missing or empty) and
//! prints a report: the counts, then every problem with its path and reason. Exit codes:
//! 0 when the import ran, problems or not (they are listed, and what could be imported was);
//! with `--stop-on-error` the first problem stops the import with exit code 1 (what was
//! imported before it stays). With `--format json` the report is one object (the counts,
//! `problems` and `notes` as lists of {path, reason}); with csv, the problems and notes.

use std::io::{IsTerminal, Write};
use std::path::{Component, Path};
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use runlog::Store;
use runlog_mlflow::{ExportOptions, ExportReport, ImportArtifacts, ImportOptions, OnError};

use serde_json::json;

use crate::cli::*;
use crate::error::{CliError, Result};
use crate::output::{Format, Table};
use crate::resolve;

/// A progress bar on stderr, hidden when stderr is not a terminal (so scripts and tests see
/// clean output): `what [=====>    ] 412/1000 runs <message> (elapsed)`.
pub(crate) fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} runs {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    bar
}

/// `1 234 567 points`: the message of an export or import bar.
fn points_message(points: u64) -> String {
    let digits = points.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    format!("· {grouped} points")
}

/// `runlog export mlflow DIR`.
pub fn export(ctx: &Context<'_>, a: &ExportMlflowArgs) -> Result<ExitCode> {
    if !(a.interval.is_finite() && a.interval > 0.0) {
        return Err(CliError::new(format!(
            "--interval {} is not a positive number of seconds",
            a.interval
        ))
        .hint("for example --interval 2.5"));
    }
    let mut pass = 0u64;
    loop {
        pass += 1;
        // Opened again every pass, so runs and experiments created since are seen.
        let store = resolve::open_store(ctx.store)?;
        let report = export_once(&store, a)?;
        drop(store);
        let mut out = std::io::stdout().lock();
        let fields = export_fields(&report);
        match ctx.format {
            Format::Table if a.watch => writeln!(out, "pass {pass}: {}", changes(&report))?,
            Format::Table => print_export(&mut out, &report, a)?,
            // One object; with --watch one per pass, each on its own line (JSON Lines).
            Format::Json => {
                let mut obj = serde_json::Map::new();
                if a.watch {
                    obj.insert("pass".into(), json!(pass));
                }
                obj.insert("dir".into(), json!(a.dir.display().to_string()));
                for (k, v) in fields {
                    obj.insert(k.into(), json!(v));
                }
                let damaged: Vec<serde_json::Value> = report
                    .damaged
                    .iter()
                    .map(|d| json!({"run_id": d.run_id, "key": d.key, "reason": d.reason}))
                    .collect();
                obj.insert("damaged".into(), json!(damaged));
                let obj = serde_json::Value::Object(obj);
                if a.watch {
                    writeln!(out, "{obj}")?;
                } else {
                    writeln!(out, "{obj:#}")?;
                }
            }
            // A header, then a row per pass.
            Format::Csv => {
                let mut t =
                    Table::new(std::iter::once("pass").chain(fields.iter().map(|(k, _)| *k)));
                t.push(
                    std::iter::once(json!(pass))
                        .chain(fields.iter().map(|(_, v)| json!(v)))
                        .collect(),
                );
                let mut text = Vec::new();
                t.write(Format::Csv, &mut text)?;
                let text = String::from_utf8_lossy(&text);
                let skip = usize::from(pass > 1);
                for line in text.lines().skip(skip) {
                    writeln!(out, "{line}")?;
                }
            }
        }
        out.flush()?;
        drop(out);
        warn_damaged(&report);
        if !a.watch || a.passes.is_some_and(|n| pass >= n) {
            return Ok(if report.damaged.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        std::thread::sleep(Duration::from_secs_f64(a.interval));
    }
}

/// On stderr, the series an export left out because their data is damaged.
fn warn_damaged(r: &ExportReport) {
    if r.damaged.is_empty() {
        return;
    }
    eprintln!(
        "warning: {} series not exported: their metric data is damaged",
        r.damaged.len()
    );
    for d in &r.damaged {
        match &d.key {
            Some(key) => eprintln!("  run {} metric {key}: {}", d.run_id, d.reason),
            None => eprintln!("  run {} (all metrics): {}", d.run_id, d.reason),
        }
    }
    eprintln!("hint: {}", crate::error::CORRUPT_HINT);
}

fn export_once(store: &Store, a: &ExportMlflowArgs) -> Result<ExportReport> {
    // Damaged metric data does not stop the export of the rest; it is listed instead.
    let mut options = ExportOptions::default().skip_damaged(true);
    if !a.experiments.is_empty() {
        let mut ids = Vec::new();
        for e in &a.experiments {
            ids.push(resolve::resolve_experiment(store, e)?.experiment_id);
        }
        options = options.experiments(ids);
    }
    let bar = progress_bar(0, "exporting runs");
    let b = bar.clone();
    options = options.progress(move |p| {
        b.set_length(p.runs_total);
        b.set_position(p.runs_done);
        b.set_message(points_message(p.metric_points));
    });
    let result = runlog_mlflow::export(store.catalog(), store.metric_store(), &a.dir, &options);
    bar.finish_and_clear();
    result.map_err(|e| {
        let err = CliError::new(format!("export to {} failed: {e}", a.dir.display()));
        // The other errors say what to do in their own words, or are about the store.
        if matches!(e, runlog_mlflow::Error::TargetNotEmpty(_)) {
            err.hint(
                "give a new or empty folder, or the folder of an earlier `runlog export mlflow`",
            )
        } else {
            err
        }
    })
}

/// Whether `dir` has anything MLflow's file store would read: an experiment folder (one
/// holding `meta.yaml`), `.trash/` or `models/`. Checked before the store is opened, so a
/// wrong folder leaves no new store behind. A folder that cannot be listed counts as one, for
/// the import to report why.
fn looks_like_mlruns(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return true;
    };
    entries.flatten().any(|e| {
        let path = e.path();
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        is_dir
            && (e.file_name() == ".trash"
                || e.file_name() == "models"
                || path.join("meta.yaml").is_file())
    })
}

/// The counts of an export, with the names CSV and JSON give them.
fn export_fields(r: &ExportReport) -> [(&'static str, u64); 15] {
    [
        ("experiments", r.experiments),
        ("runs", r.runs),
        ("params", r.params),
        ("tags", r.tags),
        ("metric_keys", r.metric_keys),
        ("metric_points", r.metric_points),
        ("metric_points_kept", r.metric_points_kept),
        ("artifact_files", r.artifact_files),
        ("artifact_bytes", r.artifact_bytes),
        ("registered_models", r.registered_models),
        ("model_versions", r.model_versions),
        ("files", r.files),
        ("files_unchanged", r.files_unchanged),
        ("removed", r.removed),
        ("damaged_series", r.damaged.len() as u64),
    ]
}

/// One line: what a pass of `--watch` changed.
fn changes(r: &ExportReport) -> String {
    if r.files == 0 && r.removed == 0 {
        return format!("nothing changed ({} runs)", r.runs);
    }
    format!(
        "{} files written, {} unchanged, {} removed; {} new metric points, {} artifact files copied ({} runs)",
        r.files, r.files_unchanged, r.removed, r.metric_points, r.artifact_files, r.runs
    )
}

fn print_export(out: &mut dyn Write, r: &ExportReport, a: &ExportMlflowArgs) -> Result<()> {
    writeln!(out, "exported to {}", a.dir.display())?;
    let rows: [(&str, u64); 11] = [
        ("experiments", r.experiments),
        ("runs", r.runs),
        ("params", r.params),
        ("tags", r.tags),
        ("metric keys", r.metric_keys),
        ("metric points written", r.metric_points),
        ("metric points kept", r.metric_points_kept),
        ("artifact files copied", r.artifact_files),
        ("registered models", r.registered_models),
        ("model versions", r.model_versions),
        ("files written", r.files),
    ];
    for (k, v) in rows {
        writeln!(out, "  {k:<22} {v}")?;
    }
    writeln!(out, "  {:<22} {}", "files unchanged", r.files_unchanged)?;
    writeln!(out, "  {:<22} {}", "removed", r.removed)?;
    if !r.damaged.is_empty() {
        writeln!(out, "  {:<22} {}", "damaged, not exported", r.damaged.len())?;
    }
    writeln!(
        out,
        "open it with: MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri file://{}",
        std::path::absolute(&a.dir)
            .unwrap_or_else(|_| a.dir.clone())
            .display()
    )?;
    Ok(())
}

/// `runlog import mlflow DIR`.
pub fn import(ctx: &Context<'_>, a: &ImportMlflowArgs) -> Result<ExitCode> {
    if !a.dir.is_dir() {
        return Err(CliError::new(format!(
            "cannot import {}: it is not a folder",
            a.dir.display()
        ))
        .hint("give the mlruns folder of an MLflow file store"));
    }
    if let Ok(meta) = std::fs::read_to_string(a.dir.join("meta.yaml")) {
        // An experiment's or a run's own folder: both hold a meta.yaml, mlruns does not.
        let (what, up) = if meta
            .lines()
            .any(|l| l.starts_with("run_id:") || l.starts_with("run_uuid:"))
        {
            ("one run's folder", 2)
        } else {
            ("one experiment's folder", 1)
        };
        // The folder `up` levels above, as given when that is plain, else from the absolute path
        // (`.` has no parent to write).
        let plain = |p: &Path| {
            !p.as_os_str().is_empty()
                && p.components()
                    .all(|c| matches!(c, Component::Normal(_) | Component::RootDir))
        };
        let root = a
            .dir
            .ancestors()
            .nth(up)
            .filter(|p| plain(p))
            .map(Path::to_path_buf)
            .or_else(|| {
                let dir = std::fs::canonicalize(&a.dir).ok()?;
                dir.ancestors().nth(up).map(Path::to_path_buf)
            });
        return Err(CliError::new(format!(
            "cannot import {}: it is {what} (it holds a meta.yaml), not an mlruns folder",
            a.dir.display()
        ))
        .hint(match root {
            Some(root) => format!(
                "give the mlruns folder that holds it: runlog import mlflow {}",
                root.display()
            ),
            None => "give the mlruns folder that holds it".to_owned(),
        }));
    }
    if !looks_like_mlruns(&a.dir) {
        return Err(CliError::new(format!(
            "cannot import {}: it holds no MLflow experiment (a folder with a meta.yaml), no .trash and no models folder",
            a.dir.display()
        ))
        .hint("give the mlruns folder itself: MLflow's file store keeps each experiment in a folder named by its id, such as mlruns/0"));
    }
    let store = Store::open(ctx.store).map_err(|e| {
        CliError::new(format!(
            "cannot open the store {} for writing: {e}",
            ctx.store.display()
        ))
        .hint("point at a store (or a new folder) with --store PATH or RUNLOG_STORE")
    })?;
    let bar = progress_bar(0, "importing runs");
    let b = bar.clone();
    let options = ImportOptions::default()
        .on_error(if a.stop_on_error {
            OnError::Stop
        } else {
            OnError::Skip
        })
        .artifacts(if a.copy_artifacts {
            ImportArtifacts::Copy
        } else {
            ImportArtifacts::Keep
        })
        .progress(move |p| {
            b.set_length(p.runs_total);
            b.set_position(p.runs_done);
            b.set_message(points_message(p.metric_points));
        });
    let result = runlog_mlflow::import(&a.dir, store.catalog(), store.metric_store(), &options);
    bar.finish_and_clear();
    let r = result.map_err(|e| {
        CliError::new(e.to_string()).hint(if a.stop_on_error {
            "what was imported before this stays; run without --stop-on-error to skip what cannot be imported and list it"
        } else {
            "give the mlruns folder of an MLflow file store"
        })
    })?;
    let mut out = std::io::stdout().lock();
    let counts: [(&str, u64); 9] = [
        ("experiments", r.experiments),
        ("runs", r.runs),
        ("params", r.params),
        ("tags", r.tags),
        ("metric_keys", r.metric_keys),
        ("metric_points", r.metric_points),
        ("artifact_files", r.artifact_files),
        ("registered_models", r.registered_models),
        ("model_versions", r.model_versions),
    ];
    let listed = |list: &[runlog_mlflow::ImportProblem]| -> Vec<serde_json::Value> {
        list.iter()
            .map(|p| json!({"path": p.path.display().to_string(), "reason": p.reason}))
            .collect()
    };
    match ctx.format {
        Format::Table => {}
        Format::Json => {
            let mut obj = serde_json::Map::new();
            obj.insert("source".into(), json!(a.dir.display().to_string()));
            for (k, v) in counts {
                obj.insert(k.into(), json!(v));
            }
            obj.insert("problems".into(), json!(listed(&r.problems)));
            obj.insert("notes".into(), json!(listed(&r.notes)));
            writeln!(out, "{:#}", serde_json::Value::Object(obj))?;
            return Ok(ExitCode::SUCCESS);
        }
        // What was not imported (problems) and what was imported with a remark (notes).
        Format::Csv => {
            let mut t = Table::new(["kind", "path", "reason"]);
            for (kind, list) in [("problem", &r.problems), ("note", &r.notes)] {
                for p in list {
                    t.push(vec![
                        json!(kind),
                        json!(p.path.display().to_string()),
                        json!(p.reason),
                    ]);
                }
            }
            t.write(Format::Csv, &mut out)?;
            return Ok(ExitCode::SUCCESS);
        }
    }
    writeln!(out, "imported from {}", a.dir.display())?;
    let rows: [(&str, u64); 9] = [
        ("experiments", r.experiments),
        ("runs", r.runs),
        ("params", r.params),
        ("tags", r.tags),
        ("metric keys", r.metric_keys),
        ("metric points", r.metric_points),
        ("artifact files", r.artifact_files),
        ("registered models", r.registered_models),
        ("model versions", r.model_versions),
    ];
    for (k, v) in rows {
        writeln!(out, "  {k:<18} {v}")?;
    }
    writeln!(out, "problems: {}", r.problems.len())?;
    for p in &r.problems {
        writeln!(out, "  {}: {}", p.path.display(), p.reason)?;
    }
    if !r.notes.is_empty() {
        writeln!(out, "notes: {}", r.notes.len())?;
        for p in &r.notes {
            writeln!(out, "  {}: {}", p.path.display(), p.reason)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
