//! A store written as an MLflow `mlruns/` folder: whole or chosen experiments and runs, into
//! a new folder or over an earlier export (incremental: unchanged files are left alone, new
//! metric points appended).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use runlog_artifacts::ArtifactRepo;
use runlog_catalog::validation;
use runlog_catalog::{
    Catalog, Experiment, LifecycleStage, RegistryEntry, Run, RunStatus, StoredVersion, ViewType,
};
use runlog_metrics::MetricStore;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::float::write_python_float_bytes;
use crate::tree::{Found, STATE_FILE, Tree, id_component, key_components, name_component};
use crate::yaml::{Value, mapping};

/// Where the exported runs' artifact URIs point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ArtifactUris {
    /// Artifacts are copied into the export, where MLflow's own file store keeps them
    /// (`<export>/<experiment id>/<run id>/artifacts`), and the URIs point there: the export
    /// stands alone.
    #[default]
    Export,
    /// The URIs the store recorded: MLflow lists and downloads the artifacts where runlog
    /// keeps them; nothing is copied.
    Keep,
}

/// How far an export is: what [`ExportOptions::progress`] is called with, after every
/// metric file, artifact and run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportProgress {
    /// Runs done.
    pub runs_done: u64,
    /// Runs to export.
    pub runs_total: u64,
    /// Metric points written so far.
    pub metric_points: u64,
    /// Artifact files copied so far.
    pub artifact_files: u64,
}

/// A progress callback ([`ExportOptions::progress`]).
#[derive(Clone)]
pub struct ProgressFn(Arc<dyn Fn(&ExportProgress) + Send + Sync>);

impl fmt::Debug for ProgressFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressFn")
    }
}

/// How to export.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExportOptions {
    /// Where artifact URIs point, and whether artifacts are copied.
    pub artifact_uris: ArtifactUris,
    /// Only these experiments (ids), with all their runs. `None` with `runs` also `None`:
    /// everything.
    pub experiments: Option<Vec<String>>,
    /// Only these runs (ids), with their experiments' metadata.
    pub runs: Option<Vec<String>>,
    /// Also the model registry (`models/`): every registered model and version.
    pub registry: bool,
    /// Skip the final `syncfs` (the export is then not durable at return).
    pub no_sync: bool,
    /// Export the rest when a series' metric data is damaged on disk, and list it in
    /// [`ExportReport::damaged`], instead of stopping with [`Error::Metrics`].
    pub skip_damaged: bool,
    /// Called as the export goes.
    pub progress: Option<ProgressFn>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            artifact_uris: ArtifactUris::default(),
            experiments: None,
            runs: None,
            registry: true,
            no_sync: false,
            skip_damaged: false,
            progress: None,
        }
    }
}

impl ExportOptions {
    /// Only these experiments (ids), with all their runs.
    pub fn experiments<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.experiments = Some(ids.into_iter().map(Into::into).collect());
        self
    }

    /// Only these runs (ids).
    pub fn runs<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.runs = Some(ids.into_iter().map(Into::into).collect());
        self
    }

    /// Whether to export the model registry.
    pub fn registry(mut self, registry: bool) -> Self {
        self.registry = registry;
        self
    }

    /// Where artifact URIs point.
    pub fn artifact_uris(mut self, uris: ArtifactUris) -> Self {
        self.artifact_uris = uris;
        self
    }

    /// Skip the final `syncfs`.
    pub fn no_sync(mut self, no_sync: bool) -> Self {
        self.no_sync = no_sync;
        self
    }

    /// Whether a damaged series is skipped and listed (`true`) or stops the export (`false`,
    /// the default). A skipped series' file keeps what an earlier export wrote; a fresh
    /// export has no file for it.
    pub fn skip_damaged(mut self, skip: bool) -> Self {
        self.skip_damaged = skip;
        self
    }

    /// Calls `f` as the export goes.
    pub fn progress(mut self, f: impl Fn(&ExportProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(ProgressFn(Arc::new(f)));
        self
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportReport {
    /// Experiments exported, deleted ones included.
    pub experiments: u64,
    /// Runs exported, deleted ones included.
    pub runs: u64,
    /// Params exported.
    pub params: u64,
    /// Tags exported (run and experiment tags).
    pub tags: u64,
    /// Metric files exported (one per key of a run with at least one point).
    pub metric_keys: u64,
    /// Metric points written by this export (appended or rewritten).
    pub metric_points: u64,
    /// Metric points already in the export and left alone.
    pub metric_points_kept: u64,
    /// Artifact files copied.
    pub artifact_files: u64,
    /// Bytes of artifacts copied.
    pub artifact_bytes: u64,
    /// Registered models exported.
    pub registered_models: u64,
    /// Model versions exported, deleted ones included.
    pub model_versions: u64,
    /// Files written (created, replaced or appended to).
    pub files: u64,
    /// Files already holding what they should.
    pub files_unchanged: u64,
    /// Files and folders removed (tags deleted since an earlier export, …).
    pub removed: u64,
    /// Series left out because their data is damaged on disk (only with
    /// [`ExportOptions::skip_damaged`]).
    pub damaged: Vec<DamagedSeries>,
}

/// A series an export left out because its metric data is damaged on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedSeries {
    /// The run.
    pub run_id: String,
    /// The metric key; `None` when the run's metric folder as a whole cannot be read.
    pub key: Option<String>,
    /// What is damaged: the file, the byte offset and what was found.
    pub reason: String,
}

/// MLflow's integer run status (`RunStatus` in its protobufs).
pub fn status_code(status: RunStatus) -> i64 {
    match status {
        RunStatus::Running => 1,
        RunStatus::Scheduled => 2,
        RunStatus::Finished => 3,
        RunStatus::Failed => 4,
        RunStatus::Killed => 5,
    }
}

/// What earlier exports wrote, kept at the export's root ([`STATE_FILE`]).
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    format: u32,
    /// `<run id>/<metric key>` → (points, bytes) of the metric file as last written.
    metrics: BTreeMap<String, (u64, u64)>,
}

const STATE_FORMAT: u32 = 1;

/// Writes the experiments, runs, params, tags, metric histories, artifacts and registry of
/// `catalog` and `metrics` (all of it, or what `options` chooses) as an MLflow file store at
/// `target`, which MLflow 2.22 and 3.x read.
///
/// `target` may be missing, empty, or the folder of an earlier export: then only what
/// changed is written, new metric points are appended to their files, and tags deleted
/// since are removed, so `mlflow ui` can stay open on the export while training goes on.
/// Every file is replaced whole (written aside, then renamed), never seen half written.
pub fn export(
    catalog: &Catalog,
    metrics: &MetricStore,
    target: &Path,
    options: &ExportOptions,
) -> Result<ExportReport> {
    let (tree, found) = Tree::open(target)?;
    let root = std::path::absolute(target).map_err(crate::error::io("resolve", target))?;
    let state = match found {
        Found::Fresh => State::default(),
        Found::Earlier => tree
            .read_root_file(STATE_FILE)
            .and_then(|bytes| serde_json::from_slice::<State>(&bytes).ok())
            .filter(|s| s.format == STATE_FORMAT)
            // Unreadable: every metric file is written again in full.
            .unwrap_or_default(),
    };
    let mut ex = Exporter {
        tree,
        root,
        metrics,
        catalog,
        options,
        state,
        report: ExportReport::default(),
        progress: ExportProgress::default(),
        line_buf: Vec::with_capacity(CHUNK + 64),
    };
    // An export interrupted before its end is still recognised as one.
    if found == Found::Fresh {
        ex.save_state()?;
    }
    ex.tree.dir(&[".trash"])?;

    let (experiments, runs) = ex.selection()?;
    ex.progress.runs_total = runs.values().map(|r| r.len() as u64).sum();
    if !experiments.iter().any(|e| e.experiment_id == "0")
        && !ex.tree.is_dir(&["0"])
        && !ex.tree.is_dir(&[".trash", "0"])
    {
        // MLflow's own stores always have the default experiment.
        let default = match catalog.get_experiment("0") {
            Ok(e) => e,
            Err(_) => Experiment {
                experiment_id: "0".into(),
                name: runlog_catalog::DEFAULT_EXPERIMENT_NAME.into(),
                artifact_location: String::new(),
                lifecycle_stage: LifecycleStage::Active,
                creation_time: runlog_catalog::now_ms(),
                last_update_time: runlog_catalog::now_ms(),
                tags: Default::default(),
            },
        };
        ex.experiment(&default)?;
    }
    for exp in &experiments {
        let dir = ex.experiment(exp)?;
        for run in runs.get(&exp.experiment_id).into_iter().flatten() {
            ex.run(exp, &dir, run)?;
            ex.progress.runs_done += 1;
            ex.tick();
        }
    }
    if options.registry {
        ex.registry()?;
    }
    ex.save_state()?;
    if !options.no_sync {
        ex.tree.sync()?;
    }
    let mut report = ex.report;
    report.files = ex.tree.written;
    report.files_unchanged = ex.tree.unchanged;
    report.removed = ex.tree.removed;
    Ok(report)
}

/// Metric lines are formatted into a buffer of this size, then written.
const CHUNK: usize = 1 << 20;

struct Exporter<'a> {
    tree: Tree,
    root: std::path::PathBuf,
    metrics: &'a MetricStore,
    catalog: &'a Catalog,
    options: &'a ExportOptions,
    state: State,
    report: ExportReport,
    progress: ExportProgress,
    line_buf: Vec<u8>,
}

impl Exporter<'_> {
    fn tick(&self) {
        if let Some(f) = &self.options.progress {
            (f.0)(&self.progress);
        }
    }

    fn save_state(&mut self) -> Result<()> {
        self.state.format = STATE_FORMAT;
        let json = serde_json::to_vec(&self.state).expect("the state serialises");
        self.tree.put(&[], &[STATE_FILE], &json)?;
        Ok(())
    }

    /// The experiments to write (sorted by id) and, per experiment, its runs to write.
    #[allow(clippy::type_complexity)]
    fn selection(&self) -> Result<(Vec<Experiment>, BTreeMap<String, Vec<Arc<Run>>>)> {
        let all = self.catalog.list_experiments(ViewType::All)?;
        let by_id: BTreeMap<&str, &Experiment> =
            all.iter().map(|e| (e.experiment_id.as_str(), e)).collect();
        let mut chosen: BTreeSet<String> = BTreeSet::new();
        let mut runs: BTreeMap<String, Vec<Arc<Run>>> = BTreeMap::new();
        let everything = self.options.experiments.is_none() && self.options.runs.is_none();
        let whole: Vec<String> = if everything {
            all.iter().map(|e| e.experiment_id.clone()).collect()
        } else {
            self.options.experiments.clone().unwrap_or_default()
        };
        for id in &whole {
            if !by_id.contains_key(id.as_str()) {
                return Err(Error::NotInStore {
                    what: "experiment",
                    id: id.clone(),
                });
            }
            chosen.insert(id.clone());
            runs.insert(
                id.clone(),
                self.catalog.list_runs(&[id.as_str()], ViewType::All)?,
            );
        }
        for id in self.options.runs.iter().flatten() {
            let run = self.catalog.get_run(id).map_err(|_| Error::NotInStore {
                what: "run",
                id: id.clone(),
            })?;
            chosen.insert(run.experiment_id.clone());
            let list = runs.entry(run.experiment_id.clone()).or_default();
            if !list.iter().any(|r| r.run_id == run.run_id) {
                list.push(Arc::new(run));
            }
        }
        let mut experiments = Vec::new();
        for id in &chosen {
            let Some(exp) = by_id.get(id.as_str()) else {
                return Err(Error::NotInStore {
                    what: "experiment",
                    id: id.clone(),
                });
            };
            if exp.experiment_id.is_empty()
                || !exp.experiment_id.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(Error::InvalidName {
                    what: "experiment id".into(),
                    name: exp.experiment_id.clone(),
                    reason: "MLflow's readers need all-digit experiment ids".into(),
                });
            }
            experiments.push((*exp).clone());
        }
        experiments.sort_by(|a, b| {
            (a.experiment_id.len(), &a.experiment_id)
                .cmp(&(b.experiment_id.len(), &b.experiment_id))
        });
        Ok((experiments, runs))
    }

    /// Where `exp`'s artifacts go in the export (its folder), as a `file:` URI.
    fn location(&self, exp: &Experiment, dir: &[String]) -> String {
        match self.options.artifact_uris {
            ArtifactUris::Keep if !exp.artifact_location.is_empty() => {
                exp.artifact_location.clone()
            }
            _ => file_uri(&dir.iter().fold(self.root.clone(), |p, c| p.join(c))),
        }
    }

    /// Writes `EXP/meta.yaml` (under `.trash/` when deleted, moving an earlier export of it
    /// there or back) and `EXP/tags/`; returns the experiment's folder as components.
    fn experiment(&mut self, exp: &Experiment) -> Result<Vec<String>> {
        id_component("experiment id", &exp.experiment_id)?;
        let id = exp.experiment_id.as_str();
        let deleted = exp.lifecycle_stage == LifecycleStage::Deleted;
        let (dir, other): (Vec<&str>, Vec<&str>) = if deleted {
            (vec![".trash", id], vec![id])
        } else {
            (vec![id], vec![".trash", id])
        };
        if self.tree.is_dir(&other) {
            self.tree.move_dir(&other, &dir)?;
        }
        let owned: Vec<String> = dir.iter().map(|s| s.to_string()).collect();
        let location = self.location(exp, &owned);
        let meta = mapping(&mut [
            ("artifact_location", Value::Str(&location)),
            ("creation_time", Value::Int(exp.creation_time)),
            ("experiment_id", Value::Str(id)),
            ("last_update_time", Value::Int(exp.last_update_time)),
            ("lifecycle_stage", Value::Str(exp.lifecycle_stage.as_str())),
            ("name", Value::Str(&exp.name)),
        ]);
        self.tree.put(&dir, &["meta.yaml"], meta.as_bytes())?;
        let mut tag_dir = dir.clone();
        tag_dir.push("tags");
        let what = || format!("tag key of experiment {id}");
        self.key_values(&tag_dir, &exp.tags, &what, |k| {
            validation::validate_experiment_tag(k, "")
        })?;
        self.report.tags += exp.tags.len() as u64;
        self.report.experiments += 1;
        Ok(owned)
    }

    /// Writes one file per key under `dir` (keys with `/` as sub-folders) and removes the
    /// files of keys no longer there.
    fn key_values(
        &mut self,
        dir: &[&str],
        values: &BTreeMap<String, String>,
        what: &dyn Fn() -> String,
        rule: fn(&str) -> Result<(), validation::ValidationError>,
    ) -> Result<()> {
        if values.is_empty() && !self.tree.is_dir(dir) {
            return Ok(());
        }
        folder_conflicts(what, values.keys())?;
        let mut names = Vec::with_capacity(values.len());
        for key in values.keys() {
            names.push(key_components(what, key, rule)?);
        }
        // Stale files go first: a deleted `a` makes room for a new `a/b`, and the reverse.
        self.tree
            .prune(dir, &values.keys().cloned().collect(), &BTreeSet::new())?;
        for (name, value) in names.iter().zip(values.values()) {
            self.tree.put(dir, name, value.as_bytes())?;
        }
        Ok(())
    }

    fn run(&mut self, exp: &Experiment, exp_dir: &[String], run: &Run) -> Result<()> {
        id_component("run id", &run.run_id)?;
        let mut dir: Vec<&str> = exp_dir.iter().map(String::as_str).collect();
        dir.push(&run.run_id);
        // Until its `meta.yaml` is there, MLflow does not see the run: its files can be
        // written in place.
        let mut meta_path = dir.clone();
        meta_path.push("meta.yaml");
        let fresh = self.tree.file_len(&meta_path).is_none();
        self.tree.set_fresh(fresh.then_some(dir.as_slice()));
        let written = self.run_files(&dir, run);
        self.tree.set_fresh(None);
        written?;
        // Last: a reader that finds the run's `meta.yaml` finds everything else too.
        self.run_meta(&dir, exp, exp_dir, run)
    }

    /// A run's folders, params, tags, metrics and artifacts.
    fn run_files(&mut self, dir: &[&str], run: &Run) -> Result<()> {
        let dir = dir.to_vec();
        // MLflow finds a run by id only if all three exist, empty or not.
        for sub in ["metrics", "params", "artifacts", "tags"] {
            let mut d = dir.clone();
            d.push(sub);
            self.tree.dir(&d)?;
        }
        let run_id = run.run_id.as_str();
        for (sub, map, rule) in [
            (
                "params",
                &run.params,
                validation::validate_param_key as fn(&str) -> _,
            ),
            (
                "tags",
                &run.tags,
                validation::validate_tag_key as fn(&str) -> _,
            ),
        ] {
            let mut d = dir.clone();
            d.push(sub);
            let what = || format!("{} key of run {run_id}", &sub[..sub.len() - 1]);
            self.key_values(&d, map, &what, rule)?;
        }
        self.report.params += run.params.len() as u64;
        self.report.tags += run.tags.len() as u64;
        self.run_metrics(&dir, run)?;
        if self.options.artifact_uris == ArtifactUris::Export {
            self.run_artifacts(&dir, run)?;
        }
        Ok(())
    }

    fn run_meta(
        &mut self,
        dir: &[&str],
        exp: &Experiment,
        exp_dir: &[String],
        run: &Run,
    ) -> Result<()> {
        let run_id = run.run_id.as_str();
        // A deleted experiment's runs are deleted too (MLflow marks them when it deletes one).
        let (stage, deleted_time) = if exp.lifecycle_stage == LifecycleStage::Deleted {
            (
                LifecycleStage::Deleted,
                run.deleted_time.or(Some(exp.last_update_time)),
            )
        } else {
            (run.lifecycle_stage, run.deleted_time)
        };
        let artifact_uri = match self.options.artifact_uris {
            ArtifactUris::Keep => run.artifact_uri.clone(),
            ArtifactUris::Export => {
                format!("{}/{}/artifacts", self.location(exp, exp_dir), run.run_id)
            }
        };
        let mut entries = vec![
            ("artifact_uri", Value::Str(&artifact_uri)),
            ("end_time", run.end_time.map_or(Value::Null, Value::Int)),
            ("entry_point_name", Value::Str("")),
            ("experiment_id", Value::Str(&run.experiment_id)),
            ("lifecycle_stage", Value::Str(stage.as_str())),
            ("run_id", Value::Str(run_id)),
            ("run_name", Value::Str(&run.run_name)),
            ("run_uuid", Value::Str(run_id)),
            ("source_name", Value::Str("")),
            ("source_type", Value::Int(4)),
            ("source_version", Value::Str("")),
            ("start_time", Value::Int(run.start_time)),
            ("status", Value::Int(status_code(run.status))),
            ("tags", Value::EmptyList),
            ("user_id", Value::Str(&run.user_id)),
        ];
        if stage == LifecycleStage::Deleted {
            entries.push(("deleted_time", deleted_time.map_or(Value::Null, Value::Int)));
        }
        let meta = mapping(&mut entries);
        self.tree.put(dir, &["meta.yaml"], meta.as_bytes())?;
        self.report.runs += 1;
        Ok(())
    }

    fn run_metrics(&mut self, dir: &[&str], run: &Run) -> Result<()> {
        let mut mdir = dir.to_vec();
        mdir.push("metrics");
        let metrics_err = |source| Error::Metrics {
            run_id: run.run_id.clone(),
            source,
        };
        let reader = match self.metrics.reader(&run.run_id) {
            Ok(r) => r,
            // A run without a metric folder has no points to export.
            Err(_)
                if run.metrics.is_empty()
                    && !self.metrics.run_dir(&run.run_id).is_ok_and(|d| d.exists()) =>
            {
                return self.tree.prune(&mdir, &BTreeSet::new(), &BTreeSet::new());
            }
            Err(source) if self.options.skip_damaged && source.is_corruption() => {
                // Whatever an earlier export wrote for this run stays as it was.
                self.report.damaged.push(DamagedSeries {
                    run_id: run.run_id.clone(),
                    key: None,
                    reason: source.to_string(),
                });
                return Ok(());
            }
            Err(source) => return Err(metrics_err(source)),
        };
        let mut keep = BTreeSet::new();
        let mut points = runlog_metrics::Points::default();
        let series = reader.series();
        folder_conflicts(
            &|| format!("metric key of run {}", run.run_id),
            series.iter().map(|(_, k)| k),
        )?;
        for (_, key) in series {
            let what = || format!("metric key of run {}", run.run_id);
            let name = key_components(&what, &key, validation::validate_metric_key)?;
            match reader.history_into(&key, &mut points) {
                Ok(()) => {}
                Err(source) if self.options.skip_damaged && source.is_corruption() => {
                    // Kept from pruning: an earlier export's file for it stays as it was.
                    keep.insert(key.clone());
                    self.report.damaged.push(DamagedSeries {
                        run_id: run.run_id.clone(),
                        key: Some(key),
                        reason: source.to_string(),
                    });
                    continue;
                }
                Err(source) => return Err(metrics_err(source)),
            }
            if points.is_empty() {
                continue; // MLflow cannot read an empty metric file
            }
            let state_key = format!("{}/{key}", run.run_id);
            let mut path = mdir.clone();
            path.extend_from_slice(&name);
            let earlier = self.state.metrics.get(&state_key).copied();
            let len = points.len() as u64;
            let bytes = match earlier {
                Some((n, b)) if n <= len && self.tree.file_len(&path) == Some(b) => {
                    if n == len {
                        self.report.metric_points_kept += n;
                        b
                    } else {
                        let added = self.append_lines(&mdir, &name, &points, n as usize)?;
                        self.report.metric_points_kept += n;
                        b + added
                    }
                }
                _ => self.write_lines(&mdir, &name, &points)?,
            };
            self.state.metrics.insert(state_key, (len, bytes));
            keep.insert(key.clone());
            self.report.metric_keys += 1;
            self.tick();
        }
        self.tree.prune(&mdir, &keep, &BTreeSet::new())
    }

    /// Writes the whole metric file; returns its length.
    fn write_lines(
        &mut self,
        dir: &[&str],
        name: &[&str],
        points: &runlog_metrics::Points,
    ) -> Result<u64> {
        let mut total = 0u64;
        let mut buf = std::mem::take(&mut self.line_buf);
        let mut done = 0u64;
        let result = self.tree.write(
            dir,
            name,
            |w| {
                let mut from = 0;
                while from < points.len() {
                    buf.clear();
                    from = format_lines(&mut buf, points, from);
                    w.write_all(&buf)?;
                    total += buf.len() as u64;
                }
                done = points.len() as u64;
                Ok(())
            },
            None,
        );
        self.line_buf = buf;
        result?;
        self.report.metric_points += done;
        self.progress.metric_points += done;
        Ok(total)
    }

    /// Appends the points from `from` on to the metric file; returns the bytes added.
    fn append_lines(
        &mut self,
        dir: &[&str],
        name: &[&str],
        points: &runlog_metrics::Points,
        from: usize,
    ) -> Result<u64> {
        let mut total = 0u64;
        let mut buf = std::mem::take(&mut self.line_buf);
        let mut at = from;
        let mut result = Ok(());
        while at < points.len() && result.is_ok() {
            buf.clear();
            // Whole lines per write: a reader sees the file grow line by line.
            at = format_lines(&mut buf, points, at);
            result = self.tree.append(dir, name, &buf);
            total += buf.len() as u64;
        }
        self.line_buf = buf;
        result?;
        let added = (points.len() - from) as u64;
        self.report.metric_points += added;
        self.progress.metric_points += added;
        Ok(total)
    }

    /// Copies the run's artifacts into `RUN/artifacts/`, skipping files already there with
    /// the same size and modification time, removing files no longer in the run.
    fn run_artifacts(&mut self, dir: &[&str], run: &Run) -> Result<()> {
        let err = |source| Error::Artifacts {
            run_id: run.run_id.clone(),
            source,
        };
        let repo = ArtifactRepo::for_run(
            self.catalog.root(),
            &run.artifact_uri,
            &run.experiment_id,
            &run.run_id,
        );
        let mut adir = dir.to_vec();
        adir.push("artifacts");
        let repo = match repo {
            Ok(repo) => repo,
            // Artifacts elsewhere than on a local disk (`s3://…`) stay where they are.
            Err(runlog_artifacts::ArtifactError::UnsupportedUri { .. }) => return Ok(()),
            Err(e) => return Err(err(e)),
        };
        // Everything the run has, folders included (MLflow lists empty ones).
        let mut listed = Vec::new();
        let mut folders = vec![String::new()];
        while let Some(folder) = folders.pop() {
            for info in repo
                .list_artifacts((!folder.is_empty()).then_some(folder.as_str()))
                .map_err(err)?
            {
                for part in info.path.split('/') {
                    let what = || format!("artifact of run {}", run.run_id);
                    name_component(&what, part)?;
                }
                if info.is_dir {
                    folders.push(info.path.clone());
                }
                listed.push(info);
            }
        }
        // Stale files go first: a file `a` replaced by a folder `a/` and the reverse.
        let (folders, files): (Vec<_>, Vec<_>) = listed.iter().partition(|i| i.is_dir);
        let files: BTreeSet<String> = files.iter().map(|i| i.path.clone()).collect();
        let folders: BTreeSet<String> = folders.iter().map(|i| i.path.clone()).collect();
        self.tree.prune(&adir, &files, &folders)?;
        for info in &listed {
            let parts: Vec<&str> = info.path.split('/').collect();
            let mut dest = adir.clone();
            dest.extend_from_slice(&parts);
            if info.is_dir {
                self.tree.dir(&dest)?;
                continue;
            }
            let mut source = repo.open(&info.path).map_err(err)?;
            let meta = source
                .metadata()
                .map_err(crate::error::io("inspect", repo.root().join(&info.path)))?;
            let modified = meta.modified().ok();
            let same = self.tree.file_len(&dest) == Some(meta.len())
                && modified.is_some()
                && std::fs::symlink_metadata(self.tree.path(&dest))
                    .and_then(|m| m.modified())
                    .ok()
                    == modified;
            if !same {
                self.tree.write(
                    &adir,
                    &parts,
                    |w| std::io::copy(&mut source, w).map(|_| ()),
                    modified,
                )?;
                self.report.artifact_files += 1;
                self.report.artifact_bytes += meta.len();
                self.progress.artifact_files += 1;
                self.tick();
            }
        }
        Ok(())
    }

    /// Writes `models/`: every registered model, its tags, aliases and versions (deleted
    /// ones as MLflow's `Deleted_Internal`), and removes models no longer in the store.
    fn registry(&mut self) -> Result<()> {
        let snapshot = self.catalog.registry_snapshot()?;
        if snapshot.is_empty() && !self.tree.is_dir(&["models"]) {
            return Ok(());
        }
        self.tree.dir(&["models"])?;
        let mut names = BTreeSet::new();
        for entry in &snapshot {
            self.model(entry)?;
            names.insert(entry.model.name.clone());
        }
        for name in self.tree.subdirs(&["models"])? {
            if !names.contains(&name) {
                self.tree.remove_dir(&["models", &name])?;
            }
        }
        Ok(())
    }

    fn model(&mut self, entry: &RegistryEntry) -> Result<()> {
        let m = &entry.model;
        let what = || "registered model name".to_string();
        if let Err(e) = validation::validate_model_name(&m.name) {
            return Err(Error::InvalidName {
                what: what(),
                name: m.name.clone(),
                reason: e.to_string(),
            });
        }
        name_component(&what, &m.name)?;
        let dir = ["models", m.name.as_str()];
        let meta = mapping(&mut [
            ("creation_timestamp", Value::Int(m.creation_timestamp)),
            (
                "description",
                m.description.as_deref().map_or(Value::Null, Value::Str),
            ),
            (
                "last_updated_timestamp",
                Value::Int(m.last_updated_timestamp),
            ),
            ("name", Value::Str(&m.name)),
        ]);
        self.tree.put(&dir, &["meta.yaml"], meta.as_bytes())?;
        let what_tag = || format!("tag key of registered model {}", m.name);
        self.key_values(&[dir[0], dir[1], "tags"], &m.tags, &what_tag, |k| {
            validation::validate_model_tag(k, "")
        })?;
        let aliases: BTreeMap<String, String> = m
            .aliases
            .iter()
            .map(|(a, v)| (a.clone(), v.to_string()))
            .collect();
        for alias in aliases.keys() {
            name_component(&|| format!("alias of registered model {}", m.name), alias)?;
        }
        self.key_values(
            &[dir[0], dir[1], "aliases"],
            &aliases,
            &|| format!("alias of registered model {}", m.name),
            validation::validate_alias,
        )?;
        for v in &entry.versions {
            self.version(entry, v)?;
        }
        self.report.registered_models += 1;
        Ok(())
    }

    fn version(&mut self, entry: &RegistryEntry, stored: &StoredVersion) -> Result<()> {
        let v = &stored.version;
        let folder = format!("version-{}", v.version);
        let dir = ["models", entry.model.name.as_str(), folder.as_str()];
        let stage = if stored.deleted {
            "Deleted_Internal"
        } else {
            v.current_stage.as_str()
        };
        let storage = storage_location(entry, &v.source);
        let meta = mapping(&mut [
            ("creation_timestamp", Value::Int(v.creation_timestamp)),
            ("current_stage", Value::Str(stage)),
            (
                "description",
                v.description.as_deref().map_or(Value::Null, Value::Str),
            ),
            (
                "last_updated_timestamp",
                Value::Int(v.last_updated_timestamp),
            ),
            ("name", Value::Str(&v.name)),
            (
                "run_id",
                v.run_id.as_deref().map_or(Value::Null, Value::Str),
            ),
            ("run_link", Value::Null),
            ("source", Value::Str(&v.source)),
            ("status", Value::Str(v.status.as_str())),
            ("status_message", Value::Null),
            ("storage_location", Value::Str(&storage)),
            ("user_id", Value::Null),
            ("version", Value::Int(v.version as i64)),
        ]);
        self.tree.put(&dir, &["meta.yaml"], meta.as_bytes())?;
        let what = || format!("tag key of version {} of {}", v.version, v.name);
        self.key_values(&[dir[0], dir[1], dir[2], "tags"], &v.tags, &what, |k| {
            validation::validate_model_tag(k, "")
        })?;
        self.report.model_versions += 1;
        Ok(())
    }
}

/// MLflow keeps keys as files, `/` making folders: `a` and `a/b` cannot both be there (`a`
/// would be a file and a folder). MLflow itself refuses the second one when it is logged;
/// runlog's store can hold both, so the export refuses them by name.
fn folder_conflicts<'k>(
    what: &dyn Fn() -> String,
    keys: impl IntoIterator<Item = &'k String>,
) -> Result<()> {
    let keys: BTreeSet<&str> = keys.into_iter().map(String::as_str).collect();
    for key in &keys {
        let folder = format!("{key}/");
        if let Some(inner) = keys
            .range(folder.as_str()..)
            .next()
            .filter(|k| k.starts_with(&folder))
        {
            return Err(Error::InvalidName {
                what: what(),
                name: key.to_string(),
                reason: format!(
                    "the key {inner:?} needs {key:?} to be a folder in MLflow's layout, where \
                     keys are files; rename one of them"
                ),
            });
        }
    }
    Ok(())
}

/// Where a version's files are, as MLflow resolves it when registering: `models:/<name>/<n>`
/// sources (of the same model; others are kept) point at that version's location; every
/// other source is its own location.
fn storage_location(entry: &RegistryEntry, source: &str) -> String {
    let mut source = source.to_string();
    // A chain of `models:/` sources is at most as long as the model has versions.
    for _ in 0..=entry.versions.len() {
        let Some(rest) = source.strip_prefix("models:/") else {
            break;
        };
        let Some((name, n)) = rest.rsplit_once('/') else {
            break;
        };
        let found = (name == entry.model.name)
            .then(|| n.parse::<u64>().ok())
            .flatten()
            .and_then(|n| entry.versions.iter().find(|v| v.version.version == n));
        match found {
            Some(v) => source = v.version.source.clone(),
            None => break,
        }
    }
    source
}

/// Formats metric lines `<timestamp> <value> <step>\n` of `points` from index `from` into
/// `buf` until it holds about [`CHUNK`] bytes; returns the index after the last line.
fn format_lines(buf: &mut Vec<u8>, points: &runlog_metrics::Points, from: usize) -> usize {
    let mut ints = itoa::Buffer::new();
    let mut i = from;
    let n = points.len();
    while i < n && buf.len() < CHUNK {
        buf.extend_from_slice(ints.format(points.timestamps_ms[i]).as_bytes());
        buf.push(b' ');
        write_python_float_bytes(buf, points.values[i]);
        buf.push(b' ');
        buf.extend_from_slice(ints.format(points.steps[i]).as_bytes());
        buf.push(b'\n');
        i += 1;
    }
    i
}

/// `file://` + the absolute path percent-encoded as Python's `pathlib.Path.as_uri()`.
fn file_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    const PYTHON_QUOTE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'_')
        .remove(b'.')
        .remove(b'-')
        .remove(b'~')
        .remove(b'/');
    let encoded = percent_encoding::percent_encode(path.as_os_str().as_bytes(), PYTHON_QUOTE);
    format!("file://{encoded}")
}
