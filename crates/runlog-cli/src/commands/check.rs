//! `runlog check [--repair]` and `runlog stats`.
//!
//! `check` verifies every checksum of the store: every record and block of every segment of
//! every run folder (`runlog_metrics::verify_run`), every line of the journals
//! (`experiments.log`, `models.log`, `runs/<id>/RUN.log`: CRC-32 of each line), and that the
//! catalog opens. Artifacts are plain files without checksums and are not checked. Exit code
//! 0 only when the store is clean, 1 when damage was found (after `--repair`: when damage is
//! left).
//!
//! `--repair` does what the design allows without losing good data, then checks again:
//! - a run whose manifest is damaged or whose newest segment has a torn or damaged tail is
//!   opened by a metric writer and closed again: the writer's recovery cuts the tail aside
//!   into `NNNNNNNN.seg.tail-OFFSET` (kept, never deleted) and rebuilds the manifest;
//! - a catalog that does not open is rebuilt from the journals (`Catalog::rebuild`; the old
//!   file is kept as `catalog.redb.old`);
//! - damage inside sealed segments or in the middle of a journal cannot be repaired without
//!   losing what the damaged bytes held; it is reported and left as it is.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use runlog::catalog::{
    CATALOG_FILE, Catalog, EXPERIMENTS_JOURNAL, MODELS_JOURNAL, RUN_JOURNAL, ViewType,
};
use runlog::metrics::{Error as MetricError, MetricStore, WriterOptions};
use serde_json::json;

use crate::cli::*;
use crate::commands::mlflow::progress_bar;
use crate::error::{CliError, Result};
use crate::output::{Format, Table};
use crate::resolve;

/// One thing found damaged.
#[derive(Debug)]
struct Problem {
    /// The file.
    path: PathBuf,
    /// Byte offset of the damage, when known.
    offset: Option<u64>,
    /// What is wrong.
    what: String,
    /// The run folder it belongs to, if any.
    run: Option<String>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.offset {
            Some(o) => write!(
                f,
                "{} at byte offset {o}: {}",
                self.path.display(),
                self.what
            ),
            None => write!(f, "{}: {}", self.path.display(), self.what),
        }
    }
}

/// What one pass of checking found.
#[derive(Debug, Default)]
struct Found {
    runs: usize,
    segments: usize,
    blocks: u64,
    points: u64,
    journals: usize,
    journal_lines: u64,
    catalog_ok: bool,
    problems: Vec<Problem>,
    /// Harmless findings (a journal's torn last line, which the next append ends).
    notes: Vec<String>,
}

fn metric_problem(e: MetricError, run: &str) -> Problem {
    match e {
        MetricError::Corrupt { path, offset, what } => Problem {
            path,
            offset: Some(offset),
            what,
            run: Some(run.to_string()),
        },
        MetricError::Io { path, source } => Problem {
            path,
            offset: None,
            what: format!("cannot be read: {source}"),
            run: Some(run.to_string()),
        },
        other => Problem {
            path: PathBuf::new(),
            offset: None,
            what: other.to_string(),
            run: Some(run.to_string()),
        },
    }
}

/// Checks the journal at `path` line by line (a missing journal is fine).
fn check_journal(path: &Path, found: &mut Found) {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            found.problems.push(Problem {
                path: path.to_path_buf(),
                offset: None,
                what: format!("cannot be read: {e}"),
                run: None,
            });
            return;
        }
    };
    found.journals += 1;
    let mut at = 0usize;
    while at < bytes.len() {
        let (line, next, complete) = match bytes[at..].iter().position(|&b| b == b'\n') {
            Some(nl) => (&bytes[at..at + nl], at + nl + 1, true),
            None => (&bytes[at..], bytes.len(), false),
        };
        if !complete {
            found.notes.push(format!(
                "{} at byte offset {at}: the last line has no newline (an append interrupted by a \
                 crash); it holds no committed change and the next append ends it",
                path.display()
            ));
            break;
        }
        if !line.is_empty() {
            found.journal_lines += 1;
            if let Err(why) = check_line(line) {
                found.problems.push(Problem {
                    path: path.to_path_buf(),
                    offset: Some(at as u64),
                    what: format!(
                        "{why}; the transaction on this line is skipped when the catalog is rebuilt"
                    ),
                    run: None,
                });
            }
        }
        at = next;
    }
}

/// A journal line: 8 hex digits of the CRC-32 of the JSON text, a space, the JSON text.
fn check_line(line: &[u8]) -> std::result::Result<(), String> {
    if line.len() < 10 || line[8] != b' ' {
        return Err("not a journal line".into());
    }
    let crc = std::str::from_utf8(&line[..8])
        .ok()
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .ok_or("the line does not start with a CRC")?;
    let json = &line[9..];
    let actual = crc32fast::hash(json);
    if actual != crc {
        return Err(format!(
            "checksum mismatch: the line says {crc:08x}, its text hashes to {actual:08x}"
        ));
    }
    if serde_json::from_slice::<serde_json::Value>(json).is_err() {
        return Err("the checksum matches but the text is not JSON".into());
    }
    Ok(())
}

/// Run ids with a folder under `runs/` (empty when there is none).
fn run_ids(root: &Path) -> Result<Vec<String>> {
    if !root.join("runs").is_dir() {
        return Ok(Vec::new());
    }
    Ok(MetricStore::open(root)?.runs()?)
}

/// Checks the segments and journal of each run of `runs`.
fn check_runs(root: &Path, runs: &[String], bar: &indicatif::ProgressBar) -> Found {
    let mut found = Found::default();
    for id in runs {
        let dir = root.join("runs").join(id);
        found.runs += 1;
        match runlog::metrics::verify_run(&dir) {
            Ok(r) => {
                found.segments += r.segments;
                found.blocks += r.blocks;
                found.points += r.points;
                found
                    .problems
                    .extend(r.problems.into_iter().map(|e| metric_problem(e, id)));
            }
            Err(e) => found.problems.push(metric_problem(e, id)),
        }
        check_journal(&dir.join(RUN_JOURNAL), &mut found);
        bar.inc(1);
    }
    found
}

impl Found {
    /// Adds what `o` found after what this found.
    fn merge(&mut self, o: Found) {
        self.runs += o.runs;
        self.segments += o.segments;
        self.blocks += o.blocks;
        self.points += o.points;
        self.journals += o.journals;
        self.journal_lines += o.journal_lines;
        self.problems.extend(o.problems);
        self.notes.extend(o.notes);
    }
}

fn check_store(root: &Path) -> Result<Found> {
    let runs = run_ids(root)?;
    let bar = progress_bar(runs.len() as u64, "checking runs");
    // Runs are checked on every core, in contiguous slices, so findings stay in run order.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let chunk = runs.len().div_ceil(threads).max(1);
    let mut found = std::thread::scope(|scope| {
        let workers: Vec<_> = runs
            .chunks(chunk)
            .map(|part| {
                let bar = &bar;
                scope.spawn(move || check_runs(root, part, bar))
            })
            .collect();
        let mut found = Found::default();
        for w in workers {
            found.merge(w.join().expect("a check worker panicked"));
        }
        found
    });
    bar.finish_and_clear();
    check_journal(&root.join(EXPERIMENTS_JOURNAL), &mut found);
    check_journal(&root.join(MODELS_JOURNAL), &mut found);
    let catalog = root.join(CATALOG_FILE);
    if !catalog.exists() {
        found.problems.push(Problem {
            path: catalog,
            offset: None,
            what: "the catalog is missing; `runlog check --repair` rebuilds it from the journals"
                .into(),
            run: None,
        });
    } else {
        match Catalog::open_read_only(root).and_then(|c| {
            c.list_experiments(ViewType::All)?;
            c.run_count()
        }) {
            Ok(_) => found.catalog_ok = true,
            Err(e) => found.problems.push(Problem {
                path: catalog,
                offset: None,
                what: format!(
                    "the catalog cannot be read ({e}); `runlog check --repair` rebuilds it from the journals"
                ),
                run: None,
            }),
        }
    }
    Ok(found)
}

/// One pass's findings as JSON: counts, problems (path, offset, run, what) and notes.
fn found_json(f: &Found) -> serde_json::Value {
    let problems: Vec<serde_json::Value> = f
        .problems
        .iter()
        .map(|p| {
            json!({
                "path": p.path.display().to_string(),
                "offset": p.offset,
                "run": p.run,
                "what": p.what,
            })
        })
        .collect();
    json!({
        "runs": f.runs,
        "segments": f.segments,
        "blocks": f.blocks,
        "points": f.points,
        "journals": f.journals,
        "journal_lines": f.journal_lines,
        "catalog_ok": f.catalog_ok,
        "problems": problems,
        "notes": f.notes,
    })
}

fn print_found(out: &mut dyn Write, f: &Found) -> Result<()> {
    writeln!(
        out,
        "checked {} runs ({} segments, {} blocks, {} points), {} journals ({} lines), the catalog",
        f.runs, f.segments, f.blocks, f.points, f.journals, f.journal_lines
    )?;
    for n in &f.notes {
        writeln!(out, "note: {n}")?;
    }
    if f.problems.is_empty() {
        writeln!(out, "clean")?;
    } else {
        writeln!(out, "{} problems:", f.problems.len())?;
        for p in &f.problems {
            writeln!(out, "  {p}")?;
        }
    }
    Ok(())
}

/// Whether the run's problems are ones a writer's recovery fixes: a damaged manifest or the
/// torn or damaged tail of the active (unsealed, newest) segment, which it cuts aside.
fn writer_repairs(problems: &[&Problem]) -> bool {
    problems.iter().any(|p| {
        p.path.file_name().is_some_and(|n| n == "MANIFEST")
            || p.what.contains("tail of the active segment")
    })
}

fn repair(root: &Path, found: &Found, out: &mut dyn Write) -> Result<()> {
    let mut runs: Vec<&str> = found
        .problems
        .iter()
        .filter_map(|p| p.run.as_deref())
        .collect();
    runs.sort_unstable();
    runs.dedup();
    let metrics = MetricStore::open(root)?;
    for run in runs {
        let problems: Vec<&Problem> = found
            .problems
            .iter()
            .filter(|p| p.run.as_deref() == Some(run))
            .collect();
        if !writer_repairs(&problems) {
            writeln!(
                out,
                "run {run}: not repaired: the damage is inside sealed data; repairing it would lose the points it held"
            )?;
            continue;
        }
        match metrics
            .writer(run, WriterOptions::default())
            .and_then(|w| w.close())
        {
            Ok(()) => writeln!(
                out,
                "run {run}: recovered by its writer (a torn tail is kept aside in NNNNNNNN.seg.tail-OFFSET, the manifest rebuilt)"
            )?,
            Err(e) => writeln!(out, "run {run}: not repaired: {e}")?,
        }
    }
    if !found.catalog_ok {
        match Catalog::rebuild(root) {
            Ok(_) => writeln!(
                out,
                "catalog: rebuilt from the journals (the old file, if any, is kept as {CATALOG_FILE}.old)"
            )?,
            Err(e) => writeln!(out, "catalog: not rebuilt: {e}")?,
        }
    }
    if found.problems.iter().any(|p| {
        p.run.is_none() && p.offset.is_some() && p.path.file_name() != Some(CATALOG_FILE.as_ref())
    }) {
        writeln!(
            out,
            "journals: damaged lines are left as they are (the journals are the source of truth; nothing is deleted)"
        )?;
    }
    Ok(())
}

/// `runlog check [--repair]`.
pub fn check(ctx: &Context<'_>, a: &CheckArgs) -> Result<ExitCode> {
    let root = ctx.store;
    let how = "point at a store with --store PATH or the RUNLOG_STORE environment variable";
    if !root.is_dir() {
        return Err(CliError::new(format!("no store at {}", root.display())).hint(how));
    }
    if !root.join("FORMAT").is_file() {
        return Err(CliError::new(format!(
            "{} is not a runlog store: it has no FORMAT file",
            root.display()
        ))
        .hint(how));
    }
    let mut out = std::io::stdout().lock();
    let first = check_store(root)?;
    if ctx.format == Format::Table {
        print_found(&mut out, &first)?;
    }
    let mut repairs = Vec::new();
    let mut again = None;
    if a.repair && !first.problems.is_empty() {
        if ctx.format == Format::Table {
            writeln!(out, "repairing:")?;
        }
        repair(root, &first, &mut repairs)?;
        if ctx.format == Format::Table {
            out.write_all(&repairs)?;
            writeln!(out, "checking again:")?;
        }
        let found = check_store(root)?;
        if ctx.format == Format::Table {
            print_found(&mut out, &found)?;
        }
        again = Some(found);
    }
    let repairs: Vec<String> = String::from_utf8_lossy(&repairs)
        .lines()
        .map(String::from)
        .collect();
    match ctx.format {
        Format::Table => {}
        Format::Json => {
            let report = json!({
                "clean": again.as_ref().unwrap_or(&first).problems.is_empty(),
                "found": found_json(&first),
                "repairs": repairs,
                "after_repair": again.as_ref().map(found_json),
            });
            serde_json::to_writer_pretty(&mut out, &report).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut t = Table::new(["pass", "path", "offset", "run", "what"]);
            let passes = [("check", Some(&first)), ("after_repair", again.as_ref())];
            for (pass, found) in passes {
                for p in found.map_or(&[][..], |f| &f.problems) {
                    t.push(vec![
                        json!(pass),
                        json!(p.path.display().to_string()),
                        json!(p.offset),
                        json!(p.run),
                        json!(p.what),
                    ]);
                }
            }
            t.write(Format::Csv, &mut out)?;
        }
    }
    out.flush()?;
    let found = again.as_ref().unwrap_or(&first);
    Ok(if found.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Total size of the files under `path`.
fn disk_bytes(path: &Path) -> u64 {
    disk_bytes_except(path, &std::collections::HashSet::new())
}

/// [`disk_bytes`] of `path` leaving out the folders in `skip`.
fn disk_bytes_except(path: &Path, skip: &std::collections::HashSet<PathBuf>) -> u64 {
    if skip.contains(path) {
        return 0;
    }
    let Ok(meta) = fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    fs::read_dir(path)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| disk_bytes_except(&e.path(), skip))
                .sum()
        })
        .unwrap_or(0)
}

/// What `stats` adds up for one run folder.
#[derive(Debug, Default, Clone, Copy)]
struct RunStats {
    series: u64,
    points: u64,
    /// Segments and manifest.
    metric_bytes: u64,
    /// Everything in the folder.
    bytes: u64,
}

impl RunStats {
    fn add(mut self, o: RunStats) -> RunStats {
        self.series += o.series;
        self.points += o.points;
        self.metric_bytes += o.metric_bytes;
        self.bytes += o.bytes;
        self
    }
}

/// The series, points and bytes of one run's folder.
fn run_stats(store: &runlog::Store, run_id: &str) -> Result<RunStats> {
    let mut st = RunStats::default();
    let Ok(dir) = store.metric_store().run_dir(run_id) else {
        return Ok(st);
    };
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(st);
    };
    for e in entries.filter_map(|e| e.ok()) {
        let bytes = disk_bytes(&e.path());
        st.bytes += bytes;
        let n = e.file_name();
        let n = n.to_string_lossy();
        if n.ends_with(".seg") || n == "MANIFEST" {
            st.metric_bytes += bytes;
        }
    }
    let reader = store.reader(run_id)?;
    for (_, key) in reader.series() {
        st.series += 1;
        if let Some(s) = reader.summary(&key)? {
            st.points += s.count;
        }
    }
    Ok(st)
}

/// `runlog stats`: one row for the whole store. Run folders are read on every core.
pub fn stats(ctx: &Context<'_>) -> Result<ExitCode> {
    let store = resolve::open_store(ctx.store)?;
    let ids: Vec<String> = store
        .catalog()
        .run_briefs()?
        .into_iter()
        .map(|b| b.run_id)
        .collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let chunk = ids.len().div_ceil(threads).max(1);
    let st = std::thread::scope(|scope| {
        let workers: Vec<_> = ids
            .chunks(chunk)
            .map(|part| {
                let store = &store;
                scope.spawn(move || {
                    part.iter().try_fold(RunStats::default(), |acc, id| {
                        Ok(acc.add(run_stats(store, id)?))
                    })
                })
            })
            .collect();
        workers.into_iter().try_fold(RunStats::default(), |acc, w| {
            let part: Result<RunStats> = w.join().expect("a stats worker panicked");
            Ok::<_, CliError>(acc.add(part?))
        })
    })?;
    let (series, points, metric_bytes) = (st.series, st.points, st.metric_bytes);
    // The run folders were measured above; the rest of the store is walked here.
    let counted: std::collections::HashSet<PathBuf> = ids
        .iter()
        .map(|id| ctx.store.join("runs").join(id))
        .collect();
    let total = st.bytes + disk_bytes_except(ctx.store, &counted);
    let runs = &ids;
    let mut t = Table::new([
        "runs",
        "series",
        "points",
        "bytes_on_disk",
        "metric_bytes",
        "bytes_per_point",
    ]);
    let per_point = if points == 0 {
        serde_json::Value::Null
    } else {
        json!((metric_bytes as f64 / points as f64 * 100.0).round() / 100.0)
    };
    t.push(vec![
        json!(runs.len()),
        json!(series),
        json!(points),
        json!(total),
        json!(metric_bytes),
        per_point,
    ]);
    t.write(ctx.format, &mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}
