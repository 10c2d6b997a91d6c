//! Import an MLflow file store (`mlruns/`) into a runlog store, losslessly.
//!
//! Every record is reproduced as MLflow 3.17.2 reads it (`shared/spec/mlflow-file-store.md`
//! §14, §18): ids, names, every time, status, lifecycle, user, artifact URIs, params and tags
//! verbatim, every metric point in file order, the registry with stages, deleted versions and
//! aliases. What MLflow tolerates is accepted (integer `experiment_id`, no `status` → RUNNING,
//! no `lifecycle_stage` → active, `run_name` from the `mlflow.runName` tag, 2- and 5-field
//! metric lines, CRLF, no final newline, `NaN`/`Infinity`/`1E5`, no `tags/`); what MLflow
//! would refuse to read skips that experiment, run or model, reported with its path and why,
//! and the rest goes on ([`OnError::Skip`]), or stops the import ([`OnError::Stop`]).
//!
//! Nothing outside the source tree is read: no symbolic link inside it is followed (each one
//! met where the import would read is reported; the source folder itself is taken as given),
//! names with `..` or anything MLflow's key rules refuse are refused, every id and key is
//! checked with the catalog's validators. Metric files are
//! streamed line by line through a bounded buffer and appended in chunks, twice (checked
//! whole first, so a malformed file never leaves half a run), so memory does not grow with
//! their size. An id the store holds already is reported and skipped, never overwritten.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use runlog_catalog::validation;
use runlog_catalog::{
    Catalog, CatalogError, Experiment, ImportedModel, ImportedVersion, ImportedVersionFields,
    LatestMetric, LifecycleStage, Run, RunStatus, Stage, TAG_RUN_NAME,
};
use runlog_metrics::{MetricStore, Point, Summary, WriterOptions};
use yaml_serde::Value;

/// What to do when part of the source cannot be imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnError {
    /// Skip that experiment, run or model, record it in [`ImportReport::problems`], go on.
    #[default]
    Skip,
    /// Stop at the first problem with [`ImportError::Stopped`]; what was imported before
    /// stays.
    Stop,
}

/// What happens to the runs' artifacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ImportArtifacts {
    /// Keep each run's recorded `artifact_uri` as it is (lossless); nothing is copied.
    #[default]
    Keep,
    /// Copy `RUN/artifacts/` of the source tree into this store's own artifact folder for the
    /// run (`<store>/artifacts/<experiment_id>/<run_id>/artifacts`) and record that URI.
    Copy,
}

/// Where an import is, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ImportProgress {
    /// Experiments done (imported, skipped or found present).
    pub experiments_done: u64,
    /// Experiments in the source.
    pub experiments_total: u64,
    /// Runs done (imported, skipped or found present).
    pub runs_done: u64,
    /// Runs in the source.
    pub runs_total: u64,
    /// Metric points imported so far.
    pub metric_points: u64,
}

/// A progress callback; see [`ImportOptions::progress`].
#[derive(Clone)]
pub struct ImportProgressFn(pub Arc<dyn Fn(&ImportProgress) + Send + Sync>);

impl std::fmt::Debug for ImportProgressFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ImportProgressFn(..)")
    }
}

/// How to import; see [`import`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ImportOptions {
    /// Skip what cannot be imported (default) or stop.
    pub on_error: OnError,
    /// Called after every experiment and run.
    pub progress: Option<ImportProgressFn>,
    /// Keep artifact URIs (default) or copy the artifacts.
    pub artifacts: ImportArtifacts,
}

impl ImportOptions {
    /// Sets [`ImportOptions::on_error`].
    pub fn on_error(mut self, on_error: OnError) -> Self {
        self.on_error = on_error;
        self
    }

    /// Sets [`ImportOptions::progress`].
    pub fn progress(mut self, f: impl Fn(&ImportProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(ImportProgressFn(Arc::new(f)));
        self
    }

    /// Sets [`ImportOptions::artifacts`].
    pub fn artifacts(mut self, artifacts: ImportArtifacts) -> Self {
        self.artifacts = artifacts;
        self
    }
}

/// Something of the source that was not imported, or imported with a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    /// The file or folder.
    pub path: PathBuf,
    /// Why.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportReport {
    /// Experiments imported.
    pub experiments: u64,
    /// Runs imported.
    pub runs: u64,
    /// Params of the imported runs.
    pub params: u64,
    /// Tags of the imported runs and experiments.
    pub tags: u64,
    /// Metric keys (series) of the imported runs.
    pub metric_keys: u64,
    /// Metric points of the imported runs.
    pub metric_points: u64,
    /// Registered models imported.
    pub registered_models: u64,
    /// Model versions imported (deleted ones included).
    pub model_versions: u64,
    /// Artifact files copied ([`ImportArtifacts::Copy`]).
    pub artifact_files: u64,
    /// Everything skipped, with its path and why.
    pub problems: Vec<ImportProblem>,
    /// What was imported with a change (a missing time recorded as 0, an alias of a deleted
    /// version dropped, …).
    pub notes: Vec<ImportProblem>,
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// With [`OnError::Stop`]: the first problem met.
    #[error("import stopped at {path}: {reason}")]
    Stopped {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The source folder cannot be read at all.
    #[error("cannot import {path}: {reason}")]
    Source {
        /// The source folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Most bytes of a `meta.yaml`, a param, tag or alias file read (MLflow's own values are far
/// smaller).
const MAX_FILE_BYTES: u64 = 16 << 20;
/// Most bytes of one metric line.
const MAX_LINE_BYTES: usize = 64 << 10;
/// Points appended to the metric writer at once.
const CHUNK_POINTS: usize = 64 << 10;
/// Deepest key folder nesting walked (keys are at most 250 characters).
const MAX_DEPTH: usize = 256;

/// Imports the MLflow file store at `source` (the `mlruns` folder) into the store of
/// `catalog` and `metrics` (the same store folder). See the module docs.
///
/// Returns what was imported and every problem met; with [`OnError::Stop`] the first problem
/// is the error instead. [`ImportError::Source`] when `source` is not a readable folder.
/// A run whose import fails after its record was written (an I/O error while its metrics
/// are appended) stays in the store with the points written so far and is reported; a
/// second import reports it as present.
pub fn import(
    source: &Path,
    catalog: &Catalog,
    metrics: &MetricStore,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let meta = fs::metadata(source).map_err(|e| ImportError::Source {
        path: source.to_path_buf(),
        reason: e.to_string(),
    })?;
    if !meta.is_dir() {
        return Err(ImportError::Source {
            path: source.to_path_buf(),
            reason: "not a folder; give the mlruns folder of an MLflow file store".into(),
        });
    }
    let mut imp = Importer {
        catalog,
        metrics,
        options,
        report: ImportReport::default(),
        progress: ImportProgress::default(),
    };
    let plan = imp.plan(source)?;
    imp.progress.experiments_total = plan.experiments.len() as u64;
    imp.progress.runs_total = plan.experiments.iter().map(|e| e.runs.len() as u64).sum();
    for exp in &plan.experiments {
        imp.experiment(exp)?;
    }
    if let Some(models) = &plan.models {
        imp.registry(models)?;
    }
    Ok(imp.report)
}

struct Plan {
    experiments: Vec<ExpPlan>,
    models: Option<PathBuf>,
}

struct ExpPlan {
    dir: PathBuf,
    name: String,
    runs: Vec<(PathBuf, String)>,
}

/// A problem that skips the entity at hand.
struct Skip {
    path: PathBuf,
    reason: String,
}

fn skip(path: impl Into<PathBuf>, reason: impl Into<String>) -> Skip {
    Skip {
        path: path.into(),
        reason: reason.into(),
    }
}

struct Importer<'a> {
    catalog: &'a Catalog,
    metrics: &'a MetricStore,
    options: &'a ImportOptions,
    report: ImportReport,
    progress: ImportProgress,
}

/// What a folder entry is, links never followed.
enum Kind {
    Dir,
    File,
    Link,
    Other,
}

fn kind(path: &Path) -> io::Result<Kind> {
    let m = fs::symlink_metadata(path)?;
    let t = m.file_type();
    Ok(if t.is_symlink() {
        Kind::Link
    } else if t.is_dir() {
        Kind::Dir
    } else if t.is_file() {
        Kind::File
    } else {
        Kind::Other
    })
}

/// The entries of a folder as (path, UTF-8 name), sorted by name; a name that is not UTF-8
/// is an error.
fn entries(dir: &Path) -> Result<Vec<(PathBuf, String)>, Skip> {
    let rd = fs::read_dir(dir).map_err(|e| skip(dir, format!("cannot list it: {e}")))?;
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(|e| skip(dir, format!("cannot list it: {e}")))?;
        let path = e.path();
        let name = e
            .file_name()
            .into_string()
            .map_err(|_| skip(&path, "its name is not UTF-8"))?;
        out.push((path, name));
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// Reads a whole regular file (not a link) of at most `MAX_FILE_BYTES`.
fn read_file(path: &Path) -> Result<Vec<u8>, Skip> {
    match kind(path) {
        Ok(Kind::File) => {}
        Ok(Kind::Link) => {
            return Err(skip(path, "a symbolic link; links are never followed"));
        }
        Ok(_) => return Err(skip(path, "not a regular file")),
        Err(e) => return Err(skip(path, format!("cannot read it: {e}"))),
    }
    let f = File::open(path).map_err(|e| skip(path, format!("cannot read it: {e}")))?;
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| skip(path, format!("cannot read it: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(skip(
            path,
            format!("larger than {MAX_FILE_BYTES} bytes; not imported"),
        ));
    }
    Ok(bytes)
}

fn read_text(path: &Path) -> Result<String, Skip> {
    String::from_utf8(read_file(path)?)
        .map_err(|_| skip(path, "not valid UTF-8 (MLflow cannot read it either)"))
}

/// A `meta.yaml` as a mapping from key to value.
struct Meta {
    path: PathBuf,
    map: BTreeMap<String, Value>,
}

fn read_meta(dir: &Path) -> Result<Meta, Skip> {
    let path = dir.join("meta.yaml");
    match kind(&path) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(skip(dir, "no meta.yaml"));
        }
        Err(e) => return Err(skip(&path, format!("cannot read it: {e}"))),
    }
    let bytes = read_file(&path)?;
    let map = parse_meta(&bytes).map_err(|why| skip(&path, why))?;
    Ok(Meta { path, map })
}

/// Parses a `meta.yaml` into its top-level mapping (keys must be strings).
pub(crate) fn parse_meta(bytes: &[u8]) -> Result<BTreeMap<String, Value>, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("empty meta.yaml".into());
    }
    let value: Value =
        yaml_serde::from_slice(bytes).map_err(|e| format!("not readable YAML: {e}"))?;
    let Value::Mapping(m) = value else {
        return Err("meta.yaml does not hold a mapping".into());
    };
    let mut out = BTreeMap::new();
    for (k, v) in m {
        if let Value::String(k) = k {
            out.insert(k, v);
        }
    }
    Ok(out)
}

impl Meta {
    fn skip(&self, reason: impl Into<String>) -> Skip {
        skip(&self.path, reason)
    }

    fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// A string; `None` when absent or null.
    fn string(&self, key: &str) -> Result<Option<String>, Skip> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.skip(format!("{key} is {}, not a string", describe(other)))),
        }
    }

    /// An id: a string, or an integer as MLflow tolerates (read with `str()`).
    fn id(&self, key: &str) -> Result<Option<String>, Skip> {
        match self.map.get(key) {
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
            _ => self.string(key),
        }
    }

    /// An integer (an integral float is taken too); `None` when absent or null.
    fn int(&self, key: &str) -> Result<Option<i64>, Skip> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => {
                if let Some(i) = n.as_i64() {
                    return Ok(Some(i));
                }
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Ok(Some(f as i64)),
                    _ => Err(self.skip(format!("{key} is {n}, not a 64-bit integer"))),
                }
            }
            Some(other) => Err(self.skip(format!("{key} is {}, not an integer", describe(other)))),
        }
    }

    fn required(&self, key: &str) -> Result<(), Skip> {
        if self.has(key) {
            Ok(())
        } else {
            Err(self.skip(format!("it has no {key}, which MLflow requires")))
        }
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(_) => "a tagged value".into(),
    }
}

/// MLflow's experiment id rule on read: `^[a-zA-Z0-9][\w\-]{0,63}$` (ASCII here).
fn mlflow_id_like(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
}

/// Reads the value files under `dir` (`params/`, `tags/`) recursively: key = path relative to
/// `dir` with `/`. A missing folder is empty.
fn read_values(
    dir: &Path,
    check: fn(&str) -> Result<(), validation::ValidationError>,
) -> Result<BTreeMap<String, String>, Skip> {
    let mut out = BTreeMap::new();
    match kind(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(skip(dir, format!("cannot read it: {e}"))),
        Ok(Kind::Link) => return Err(skip(dir, "a symbolic link; links are never followed")),
        Ok(Kind::Dir) => {}
        Ok(_) => return Err(skip(dir, "not a folder")),
    }
    let mut files = Vec::new();
    walk_keys(dir, "", 0, &mut files)?;
    for (path, key) in files {
        check(&key).map_err(|e| skip(&path, format!("an invalid key: {e}")))?;
        out.insert(key, read_text(&path)?);
    }
    Ok(out)
}

/// Every file under `dir` with its key (relative path joined with `/`), links refused.
fn walk_keys(
    dir: &Path,
    prefix: &str,
    depth: usize,
    out: &mut Vec<(PathBuf, String)>,
) -> Result<(), Skip> {
    if depth > MAX_DEPTH {
        return Err(skip(dir, "folders nested too deep for a key"));
    }
    for (path, name) in entries(dir)? {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        match kind(&path) {
            Ok(Kind::Dir) => walk_keys(&path, &key, depth + 1, out)?,
            Ok(Kind::File) => out.push((path, key)),
            Ok(Kind::Link) => {
                return Err(skip(&path, "a symbolic link; links are never followed"));
            }
            Ok(Kind::Other) => return Err(skip(&path, "not a regular file or folder")),
            Err(e) => return Err(skip(&path, format!("cannot read it: {e}"))),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Metric lines

/// Python's `str.strip()` on ASCII: spaces, `\t\n\r\x0b\x0c` and `\x1c`–`\x1f`.
fn py_strip(mut b: &[u8]) -> &[u8] {
    let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1f);
    while let Some((c, rest)) = b.split_first() {
        if !ws(c) {
            break;
        }
        b = rest;
    }
    while let Some((c, rest)) = b.split_last() {
        if !ws(c) {
            break;
        }
        b = rest;
    }
    b
}

/// Python's literal underscores: only single ones between digits; returns the text without
/// them, or `None` when they are misplaced.
fn without_underscores(s: &str) -> Option<std::borrow::Cow<'_, str>> {
    if !s.contains('_') {
        return Some(std::borrow::Cow::Borrowed(s));
    }
    let b = s.as_bytes();
    for (i, c) in b.iter().enumerate() {
        if *c == b'_' {
            let before = i > 0 && b[i - 1].is_ascii_digit();
            let after = i + 1 < b.len() && b[i + 1].is_ascii_digit();
            if !(before && after) {
                return None;
            }
        }
    }
    Some(std::borrow::Cow::Owned(s.replace('_', "")))
}

/// Python's `int()` of a decimal literal, within `i64`.
fn py_int(s: &str) -> Option<i64> {
    let t = without_underscores(s)?;
    let digits = t.strip_prefix(['+', '-']).unwrap_or(&t);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// Python's `float()`: decimal or exponent forms, `nan`, `inf`, `infinity` in any case.
fn py_float(s: &str) -> Option<f64> {
    let t = without_underscores(s)?;
    let body = t.strip_prefix(['+', '-']).unwrap_or(&t);
    let lower = body.to_ascii_lowercase();
    if !matches!(lower.as_str(), "nan" | "inf" | "infinity") {
        // Rust also takes forms Python refuses? Only these words; digits must be there.
        if !body.bytes().any(|c| c.is_ascii_digit())
            || !body
                .bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
    }
    if lower == "nan" {
        // Python's float('nan') and float('-nan') are both the canonical quiet NaN with the
        // sign given.
        return Some(if t.starts_with('-') {
            -f64::NAN
        } else {
            f64::NAN
        });
    }
    t.parse().ok()
}

/// One metric line as MLflow reads it: stripped, split on single spaces into 2, 3 or 5
/// fields (timestamp, value, step, dataset name, dataset digest; the dataset is dropped).
pub(crate) fn parse_metric_line(line: &[u8]) -> Result<Point, String> {
    let text = std::str::from_utf8(py_strip(line)).map_err(|_| "not valid UTF-8".to_string())?;
    let fields: Vec<&str> = text.split(' ').collect();
    if !matches!(fields.len(), 2 | 3 | 5) {
        return Err(format!(
            "{} fields where MLflow reads 2, 3 or 5 (timestamp value step [dataset digest])",
            fields.len()
        ));
    }
    let timestamp_ms = py_int(fields[0])
        .ok_or_else(|| format!("timestamp {:?} is not a 64-bit integer", fields[0]))?;
    let value =
        py_float(fields[1]).ok_or_else(|| format!("value {:?} is not a number", fields[1]))?;
    let step = match fields.get(2) {
        Some(s) => py_int(s).ok_or_else(|| format!("step {s:?} is not a 64-bit integer"))?,
        None => 0,
    };
    Ok(Point::new(step, timestamp_ms, value))
}

/// Reads the lines of a metric file through a bounded buffer, calling `each` per point.
fn for_each_point(
    path: &Path,
    mut each: impl FnMut(Point) -> Result<(), Skip>,
) -> Result<u64, Skip> {
    match kind(path) {
        Ok(Kind::File) => {}
        Ok(Kind::Link) => return Err(skip(path, "a symbolic link; links are never followed")),
        Ok(_) => return Err(skip(path, "not a regular file")),
        Err(e) => return Err(skip(path, format!("cannot read it: {e}"))),
    }
    let f = File::open(path).map_err(|e| skip(path, format!("cannot read it: {e}")))?;
    let mut reader = BufReader::with_capacity(64 << 10, f);
    let mut line = Vec::with_capacity(256);
    let mut n = 0u64;
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| skip(path, format!("cannot read it: {e}")))?;
        if read == 0 {
            break;
        }
        if line.len() > MAX_LINE_BYTES {
            return Err(skip(
                path,
                format!("line {} is longer than {MAX_LINE_BYTES} bytes", n + 1),
            ));
        }
        let p = parse_metric_line(&line).map_err(|why| {
            skip(
                path,
                format!("line {}: {why}; MLflow cannot read this run", n + 1),
            )
        })?;
        each(p)?;
        n += 1;
    }
    if n == 0 {
        return Err(skip(
            path,
            "an empty metric file; MLflow cannot read this run",
        ));
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------
// The walk

impl Importer<'_> {
    /// Records a problem; with [`OnError::Stop`] returns it as the error.
    fn problem(&mut self, s: Skip) -> Result<(), ImportError> {
        if self.options.on_error == OnError::Stop {
            return Err(ImportError::Stopped {
                path: s.path,
                reason: s.reason,
            });
        }
        self.report.problems.push(ImportProblem {
            path: s.path,
            reason: s.reason,
        });
        Ok(())
    }

    fn note(&mut self, path: &Path, reason: impl Into<String>) {
        self.report.notes.push(ImportProblem {
            path: path.to_path_buf(),
            reason: reason.into(),
        });
    }

    fn tick(&self) {
        if let Some(f) = &self.options.progress {
            (f.0)(&self.progress);
        }
    }

    fn plan(&mut self, root: &Path) -> Result<Plan, ImportError> {
        let mut plan = Plan {
            experiments: Vec::new(),
            models: None,
        };
        let top = match entries(root) {
            Ok(e) => e,
            Err(s) => {
                return Err(ImportError::Source {
                    path: s.path,
                    reason: s.reason,
                });
            }
        };
        let mut exp_dirs = Vec::new();
        for (path, name) in top {
            let k = match kind(&path) {
                Ok(k) => k,
                Err(e) => {
                    self.problem(skip(&path, format!("cannot read it: {e}")))?;
                    continue;
                }
            };
            match k {
                Kind::Link => {
                    self.problem(skip(&path, "a symbolic link; links are never followed"))?;
                }
                Kind::Dir if name == "models" => plan.models = Some(path),
                Kind::Dir if name == ".trash" => match entries(&path) {
                    Ok(trash) => {
                        for (p, n) in trash {
                            match kind(&p) {
                                Ok(Kind::Dir) => exp_dirs.push((p, n)),
                                Ok(Kind::Link) => self.problem(skip(
                                    &p,
                                    "a symbolic link; links are never followed",
                                ))?,
                                _ => {}
                            }
                        }
                    }
                    Err(s) => self.problem(s)?,
                },
                Kind::Dir => exp_dirs.push((path, name)),
                // MLflow ignores plain files in the root.
                _ => {}
            }
        }
        for (dir, name) in exp_dirs {
            let runs = self.run_dirs(&dir)?;
            plan.experiments.push(ExpPlan { dir, name, runs });
        }
        Ok(plan)
    }

    fn run_dirs(&mut self, exp_dir: &Path) -> Result<Vec<(PathBuf, String)>, ImportError> {
        let mut runs = Vec::new();
        let list = match entries(exp_dir) {
            Ok(l) => l,
            Err(s) => {
                self.problem(s)?;
                return Ok(runs);
            }
        };
        for (path, name) in list {
            if matches!(name.as_str(), "tags" | "datasets" | "traces" | "models") {
                continue;
            }
            match kind(&path) {
                Ok(Kind::Dir) => runs.push((path, name)),
                Ok(Kind::Link) => {
                    self.problem(skip(&path, "a symbolic link; links are never followed"))?
                }
                _ => {}
            }
        }
        Ok(runs)
    }

    fn experiment(&mut self, plan: &ExpPlan) -> Result<(), ImportError> {
        let outcome = self.import_experiment(plan);
        self.progress.experiments_done += 1;
        let go_on = match outcome {
            Ok(go_on) => go_on,
            Err(s) => {
                self.problem(s)?;
                false
            }
        };
        if !go_on {
            self.progress.runs_done += plan.runs.len() as u64;
            self.tick();
            return Ok(());
        }
        self.tick();
        for (dir, name) in &plan.runs {
            let outcome = self.import_run(&plan.name, dir, name);
            self.progress.runs_done += 1;
            if let Err(s) = outcome {
                self.problem(s)?;
            }
            self.tick();
        }
        Ok(())
    }

    /// Imports one experiment; `Ok(true)` when its runs should be imported (it is imported
    /// now, or was already there with the same name).
    fn import_experiment(&mut self, plan: &ExpPlan) -> Result<bool, Skip> {
        let dir = &plan.dir;
        if !mlflow_id_like(&plan.name) {
            return Err(skip(
                dir,
                "not an experiment id MLflow accepts ([A-Za-z0-9][A-Za-z0-9_-]{0,63}); \
                 MLflow cannot list experiments with it",
            ));
        }
        let meta = read_meta(dir)?;
        for key in [
            "experiment_id",
            "name",
            "artifact_location",
            "lifecycle_stage",
        ] {
            meta.required(key)?;
        }
        let id = meta
            .id("experiment_id")?
            .ok_or_else(|| meta.skip("experiment_id is null"))?;
        if id != plan.name {
            return Err(meta.skip(format!(
                "experiment_id {id:?} differs from its folder name {:?}",
                plan.name
            )));
        }
        validation::validate_experiment_id(&id)
            .map_err(|e| meta.skip(format!("runlog cannot hold this experiment id: {e}")))?;
        let name = meta
            .string("name")?
            .ok_or_else(|| meta.skip("name is null"))?;
        let artifact_location = meta
            .string("artifact_location")?
            .ok_or_else(|| meta.skip("artifact_location is null"))?;
        let lifecycle_stage = match meta.string("lifecycle_stage")?.as_deref() {
            Some("active") => LifecycleStage::Active,
            Some("deleted") => LifecycleStage::Deleted,
            other => {
                return Err(meta.skip(format!(
                    "lifecycle_stage {other:?} is neither active nor deleted"
                )));
            }
        };
        let creation_time = meta.int("creation_time")?;
        let last_update_time = meta.int("last_update_time")?;
        if creation_time.is_none() || last_update_time.is_none() {
            self.note(
                &meta.path,
                "no creation_time or last_update_time; recorded as 0",
            );
        }
        let tags = read_values(&dir.join("tags"), |k| {
            validation::validate_experiment_tag(k, "")
        })?;
        let exp = Experiment {
            experiment_id: id.clone(),
            name: name.clone(),
            artifact_location,
            lifecycle_stage,
            creation_time: creation_time.unwrap_or(0),
            last_update_time: last_update_time.unwrap_or(0),
            tags,
        };
        match self.catalog.import_experiment(&exp) {
            Ok(()) => {
                self.report.experiments += 1;
                self.report.tags += exp.tags.len() as u64;
                Ok(true)
            }
            Err(CatalogError::Exists { .. }) => {
                let same = self
                    .catalog
                    .get_experiment(&id)
                    .is_ok_and(|e| e.name == name);
                let why = if same {
                    "experiment exists already in the store (same id and name); its runs are \
                     imported if missing"
                } else {
                    "an experiment with this id and another name exists in the store; \
                     skipped with its runs"
                };
                // Reported, and the runs are still looked at when it is the same experiment.
                let s = skip(dir, why);
                if self.options.on_error == OnError::Stop {
                    return Err(s);
                }
                self.report.problems.push(ImportProblem {
                    path: s.path,
                    reason: s.reason,
                });
                Ok(same)
            }
            Err(e) => Err(skip(dir, e.to_string())),
        }
    }

    fn import_run(&mut self, exp_id: &str, dir: &Path, dir_name: &str) -> Result<(), Skip> {
        let meta = read_meta(dir)?;
        for key in [
            "run_id",
            "experiment_id",
            "user_id",
            "start_time",
            "end_time",
        ] {
            meta.required(key)?;
        }
        let run_id = meta
            .id("run_id")?
            .ok_or_else(|| meta.skip("run_id is null"))?;
        if run_id != dir_name {
            return Err(meta.skip(format!(
                "run_id {run_id:?} differs from its folder name {dir_name:?}"
            )));
        }
        validation::validate_run_id(&run_id)
            .map_err(|e| meta.skip(format!("runlog cannot hold this run id: {e}")))?;
        let run_exp = meta
            .id("experiment_id")?
            .ok_or_else(|| meta.skip("experiment_id is null"))?;
        if run_exp != exp_id {
            return Err(meta.skip(format!(
                "experiment_id {run_exp:?} differs from its experiment folder {exp_id:?}"
            )));
        }
        if self.catalog.get_run(&run_id).is_ok() {
            return Err(skip(
                dir,
                "run exists already in the store; not imported again",
            ));
        }
        if let Ok(d) = self.metrics.run_dir(&run_id)
            && d.exists()
        {
            return Err(skip(
                dir,
                format!(
                    "the store has a folder for this run id already ({}); not imported",
                    d.display()
                ),
            ));
        }
        let user_id = meta.string("user_id")?.unwrap_or_default();
        let status = match meta.map.get("status") {
            None | Some(Value::Null) => RunStatus::Running,
            Some(Value::Number(n)) => match n.as_i64() {
                Some(1) => RunStatus::Running,
                Some(2) => RunStatus::Scheduled,
                Some(3) => RunStatus::Finished,
                Some(4) => RunStatus::Failed,
                Some(5) => RunStatus::Killed,
                _ => return Err(meta.skip(format!("status {n} is not a run status (1-5)"))),
            },
            Some(other) => {
                return Err(meta.skip(format!(
                    "status is {}, not an integer; MLflow cannot read this run",
                    describe(other)
                )));
            }
        };
        let start_time = match meta.int("start_time")? {
            Some(t) => t,
            None => {
                self.note(&meta.path, "start_time is null; recorded as 0");
                0
            }
        };
        let end_time = meta.int("end_time")?;
        let lifecycle_stage = match meta.string("lifecycle_stage")?.as_deref() {
            None | Some("active") => LifecycleStage::Active,
            Some("deleted") => LifecycleStage::Deleted,
            Some(other) => {
                return Err(meta.skip(format!(
                    "lifecycle_stage {other:?} is neither active nor deleted; MLflow cannot \
                     read this run"
                )));
            }
        };
        let deleted_time = meta.int("deleted_time")?;
        let params = read_values(&dir.join("params"), validation::validate_param_key)?;
        let tags = read_values(&dir.join("tags"), validation::validate_tag_key)?;
        let run_name = match meta.string("run_name")? {
            Some(n) if !n.is_empty() => n,
            _ => tags.get(TAG_RUN_NAME).cloned().unwrap_or_default(),
        };

        // Every metric file, checked whole before anything is written.
        let mut metric_files = Vec::new();
        let mdir = dir.join("metrics");
        match kind(&mdir) {
            Ok(Kind::Dir) => walk_keys(&mdir, "", 0, &mut metric_files)?,
            Ok(Kind::Link) => {
                return Err(skip(&mdir, "a symbolic link; links are never followed"));
            }
            Ok(_) => return Err(skip(&mdir, "not a folder")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(skip(&mdir, format!("cannot read it: {e}"))),
        }
        for (path, key) in &metric_files {
            validation::validate_metric_key(key)
                .map_err(|e| skip(path, format!("an invalid key: {e}")))?;
            for_each_point(path, |_| Ok(()))?;
        }

        let mut artifact_uri = meta.string("artifact_uri")?.unwrap_or_default();
        if self.options.artifacts == ImportArtifacts::Copy {
            artifact_uri = self.copy_artifacts(dir, exp_id, &run_id)?;
        }

        let run = Run {
            run_id: run_id.clone(),
            experiment_id: exp_id.to_string(),
            run_name,
            status,
            start_time,
            end_time,
            user_id,
            lifecycle_stage,
            deleted_time,
            artifact_uri,
            params,
            tags,
            metrics: BTreeMap::new(),
        };
        self.catalog
            .import_run(&run)
            .map_err(|e| skip(dir, e.to_string()))?;
        self.report.runs += 1;
        self.report.params += run.params.len() as u64;
        self.report.tags += run.tags.len() as u64;
        if !metric_files.is_empty() {
            let latest = self.write_metrics(&run_id, &metric_files)?;
            let updates = [(run_id.as_str(), latest.as_slice())];
            self.catalog.update_metrics(&updates).map_err(|e| {
                skip(
                    dir,
                    format!("recording the latest metric values failed: {e}"),
                )
            })?;
        }
        Ok(())
    }

    /// Appends every metric file's points to the run's writer in chunks; returns the latest
    /// point of each key by MLflow's rule.
    fn write_metrics(
        &mut self,
        run_id: &str,
        files: &[(PathBuf, String)],
    ) -> Result<Vec<(String, LatestMetric)>, Skip> {
        let writer_path = self
            .metrics
            .run_dir(run_id)
            .unwrap_or_else(|_| PathBuf::from(run_id));
        let options = WriterOptions {
            flush_interval: None,
            ..WriterOptions::default()
        };
        let writer = self.metrics.writer(run_id, options).map_err(|e| {
            skip(
                &writer_path,
                format!("cannot open the run's metric writer: {e}"),
            )
        })?;
        let mut latest = Vec::with_capacity(files.len());
        let mut steps = Vec::with_capacity(CHUNK_POINTS);
        let mut times = Vec::with_capacity(CHUNK_POINTS);
        let mut values = Vec::with_capacity(CHUNK_POINTS);
        for (path, key) in files {
            let series = writer.series(key).map_err(|e| skip(path, e.to_string()))?;
            let mut summary: Option<Summary> = None;
            let append = |steps: &mut Vec<i64>, times: &mut Vec<i64>, values: &mut Vec<f64>| {
                let r = writer.append_columns(series, steps, times, values);
                steps.clear();
                times.clear();
                values.clear();
                r.map_err(|e| skip(path, format!("appending its points failed: {e}")))
            };
            let n = for_each_point(path, |p| {
                match &mut summary {
                    Some(s) => s.push(p),
                    None => summary = Some(Summary::of(p)),
                }
                steps.push(p.step);
                times.push(p.timestamp_ms);
                values.push(p.value);
                if steps.len() >= CHUNK_POINTS {
                    append(&mut steps, &mut times, &mut values)?;
                }
                Ok(())
            })?;
            if !steps.is_empty() {
                append(&mut steps, &mut times, &mut values)?;
            }
            self.report.metric_keys += 1;
            self.report.metric_points += n;
            self.progress.metric_points += n;
            if let Some(s) = summary {
                latest.push((
                    key.clone(),
                    LatestMetric {
                        step: s.latest.step,
                        timestamp_ms: s.latest.timestamp_ms,
                        value: s.latest.value,
                    },
                ));
            }
        }
        writer.close().map_err(|e| {
            skip(
                &writer_path,
                format!("closing the run's metric writer failed: {e}"),
            )
        })?;
        Ok(latest)
    }

    /// Copies `RUN/artifacts/` into the store's artifact folder of the run; returns its URI.
    fn copy_artifacts(&mut self, dir: &Path, exp_id: &str, run_id: &str) -> Result<String, Skip> {
        let uri = self
            .catalog
            .default_artifact_uri(exp_id, run_id)
            .map_err(|e| skip(dir, e.to_string()))?;
        let dest = self
            .catalog
            .root()
            .join("artifacts")
            .join(exp_id)
            .join(run_id)
            .join("artifacts");
        let src = dir.join("artifacts");
        let mut files = Vec::new();
        match kind(&src) {
            Ok(Kind::Dir) => walk_keys(&src, "", 0, &mut files)?,
            Ok(Kind::Link) => {
                return Err(skip(&src, "a symbolic link; links are never followed"));
            }
            Ok(_) => return Err(skip(&src, "not a folder")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(uri),
            Err(e) => return Err(skip(&src, format!("cannot read it: {e}"))),
        }
        fs::create_dir_all(&dest).map_err(|e| skip(&dest, format!("cannot create it: {e}")))?;
        let repo = runlog_artifacts::ArtifactRepo::new(&dest);
        for (path, rel) in files {
            let f = File::open(&path).map_err(|e| skip(&path, format!("cannot read it: {e}")))?;
            repo.copy_from_reader(f, &rel)
                .map_err(|e| skip(&path, format!("copying it failed: {e}")))?;
            self.report.artifact_files += 1;
        }
        Ok(uri)
    }

    // ------------------------------------------------------------------------------------
    // Registry

    fn registry(&mut self, models: &Path) -> Result<(), ImportError> {
        let list = match entries(models) {
            Ok(l) => l,
            Err(s) => return self.problem(s),
        };
        for (path, name) in list {
            match kind(&path) {
                Ok(Kind::Dir) => {
                    if let Err(s) = self.import_model(&path, &name) {
                        self.problem(s)?;
                    }
                }
                Ok(Kind::Link) => {
                    self.problem(skip(&path, "a symbolic link; links are never followed"))?
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn import_model(&mut self, dir: &Path, dir_name: &str) -> Result<(), Skip> {
        validation::validate_model_name(dir_name)
            .map_err(|e| skip(dir, format!("not a registered model name: {e}")))?;
        let meta = read_meta(dir)?;
        meta.required("name")?;
        let name = meta
            .string("name")?
            .ok_or_else(|| meta.skip("name is null"))?;
        if name != dir_name {
            return Err(meta.skip(format!(
                "name {name:?} differs from its folder name {dir_name:?}"
            )));
        }
        let tags = read_values(&dir.join("tags"), validation::validate_tag_key)?;
        let mut versions = Vec::new();
        let mut alias_files = BTreeMap::new();
        for (path, entry) in entries(dir)? {
            if entry == "aliases" {
                match kind(&path) {
                    Ok(Kind::Dir) => {
                        alias_files = read_values(&path, validation::validate_alias_for_lookup)?
                    }
                    Ok(Kind::Link) => {
                        return Err(skip(&path, "a symbolic link; links are never followed"));
                    }
                    _ => {}
                }
                continue;
            }
            let Some(n) = entry.strip_prefix("version-") else {
                continue;
            };
            match kind(&path) {
                Ok(Kind::Dir) => {}
                Ok(Kind::Link) => {
                    return Err(skip(&path, "a symbolic link; links are never followed"));
                }
                _ => continue,
            }
            let number: u64 = n
                .parse()
                .ok()
                .filter(|v| *v > 0 && n.bytes().all(|c| c.is_ascii_digit()))
                .ok_or_else(|| skip(&path, "not a version folder (version-<N>, N ≥ 1)"))?;
            versions.push(self.read_version(&path, &name, number)?);
        }
        let mut aliases = BTreeMap::new();
        for (alias, text) in alias_files {
            let target = text.trim().parse::<u64>().ok();
            match target {
                Some(v) if versions.iter().any(|x| x.version == v && !x.deleted) => {
                    aliases.insert(alias, v);
                }
                _ => self.note(
                    &dir.join("aliases").join(&alias),
                    format!("alias {alias:?} names {text:?}, not a live version; dropped"),
                ),
            }
        }
        let model = ImportedModel {
            name: name.clone(),
            creation_timestamp: meta.int("creation_timestamp")?.unwrap_or(0),
            last_updated_timestamp: meta.int("last_updated_timestamp")?.unwrap_or(0),
            description: meta.string("description")?,
            tags,
            aliases,
            versions,
        };
        let n_versions = model.versions.len() as u64;
        self.catalog
            .import_registered_model(&model)
            .map_err(|e| skip(dir, e.to_string()))?;
        self.report.registered_models += 1;
        self.report.model_versions += n_versions;
        Ok(())
    }

    fn read_version(
        &mut self,
        dir: &Path,
        name: &str,
        number: u64,
    ) -> Result<ImportedVersion, Skip> {
        let meta = read_meta(dir)?;
        meta.required("version")?;
        let version = meta.int("version")?;
        if version != Some(number as i64) {
            return Err(meta.skip(format!(
                "version {version:?} differs from its folder (version-{number})"
            )));
        }
        if let Some(n) = meta.string("name")?
            && n != name
        {
            return Err(meta.skip(format!("name {n:?} differs from its model {name:?}")));
        }
        let (stage, deleted) = match meta.string("current_stage")?.as_deref() {
            None => (Stage::None, false),
            Some("Deleted_Internal") => (Stage::None, true),
            Some(s) => (
                Stage::parse(s).map_err(|e| meta.skip(e.to_string()))?,
                false,
            ),
        };
        let run_id = meta.string("run_id")?;
        if let Some(r) = &run_id {
            validation::validate_run_id(r)
                .map_err(|e| meta.skip(format!("runlog cannot hold this run id: {e}")))?;
        }
        Ok(ImportedVersion {
            version: number,
            creation_timestamp: meta.int("creation_timestamp")?.unwrap_or(0),
            last_updated_timestamp: meta.int("last_updated_timestamp")?.unwrap_or(0),
            description: meta.string("description")?,
            source: meta.string("source")?.unwrap_or_default(),
            run_id,
            stage,
            deleted,
            tags: read_values(&dir.join("tags"), validation::validate_tag_key)?,
            fields: ImportedVersionFields {
                status: meta.string("status")?.unwrap_or_else(|| "READY".into()),
                status_message: meta.string("status_message")?,
                storage_location: meta.string("storage_location")?,
                run_link: meta.string("run_link")?,
                user_id: meta.string("user_id")?,
                model_id: meta.string("model_id")?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_lines_as_mlflow_reads_them() {
        let p = parse_metric_line(b"1700000000000 0.5 3\n").unwrap();
        assert_eq!((p.timestamp_ms, p.value, p.step), (1700000000000, 0.5, 3));
        let p = parse_metric_line(b"17 1E5\r\n").unwrap();
        assert_eq!((p.timestamp_ms, p.value, p.step), (17, 1e5, 0));
        let p = parse_metric_line(b"1 0.91 0 iris_eval d1g3st").unwrap();
        assert_eq!(p.value, 0.91);
        assert!(parse_metric_line(b"1 NaN -3").unwrap().value.is_nan());
        assert_eq!(
            parse_metric_line(b"1 -Infinity 1").unwrap().value,
            f64::NEG_INFINITY
        );
        assert_eq!(parse_metric_line(b"1_000 1_0.5 2").unwrap().value, 10.5);
        for bad in [
            &b""[..],
            b"\n",
            b"1",
            b"1 2 3 4",
            b"1  2 3",
            b"1.0 2 3",
            b"1 x 3",
            b"1 2 1180591620717411303424",
            b"1 2 1.5",
            b"1 2_ 3",
            b"1 _2 3",
            b"1 e5 3",
            b"1 . 3",
        ] {
            assert!(parse_metric_line(bad).is_err(), "{bad:?}");
        }
    }
}
