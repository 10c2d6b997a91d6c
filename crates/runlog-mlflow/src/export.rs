//! A whole store written as an MLflow `mlruns/` folder.

use std::path::Path;

use runlog_catalog::validation;
use runlog_catalog::{Catalog, Experiment, LifecycleStage, Run, RunStatus, ViewType};
use runlog_metrics::MetricStore;

use crate::error::{Error, Result};
use crate::float::write_python_float;
use crate::tree::{Tree, id_component, key_components};
use crate::yaml::{Value, mapping};

/// Where the exported runs' artifact URIs point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ArtifactUris {
    /// The URIs the store recorded: MLflow lists and downloads the artifacts where runlog
    /// keeps them (nothing is copied).
    #[default]
    Keep,
    /// `<export>/<experiment id>` and `<export>/<experiment id>/<run id>/artifacts`, where
    /// MLflow's own file store would put them (artifacts are not copied yet).
    Export,
}

/// How to export.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ExportOptions {
    /// Where artifact URIs point.
    pub artifact_uris: ArtifactUris,
    /// Skip `fdatasync` of every file (faster; the export is then not durable at return).
    pub no_sync: bool,
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportReport {
    /// Experiments, deleted ones included.
    pub experiments: u64,
    /// Runs, deleted ones included.
    pub runs: u64,
    /// Param files.
    pub params: u64,
    /// Tag files (run and experiment tags).
    pub tags: u64,
    /// Metric files (one per key of a run with at least one point).
    pub metric_keys: u64,
    /// Metric points (lines).
    pub metric_points: u64,
    /// Files written in all.
    pub files: u64,
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

/// Writes every experiment (deleted ones under `.trash/`), run (every status and lifecycle),
/// param, tag and metric point of `catalog` and `metrics` as an MLflow file store at
/// `target`, which must not exist or be empty. MLflow 2.22 and 3.x read the result.
pub fn export(
    catalog: &Catalog,
    metrics: &MetricStore,
    target: &Path,
    options: &ExportOptions,
) -> Result<ExportReport> {
    let mut tree = Tree::create(target, !options.no_sync)?;
    let root = std::path::absolute(target).map_err(crate::error::io("resolve", target))?;
    let mut report = ExportReport::default();
    tree.dir(&[".trash"])?;
    let experiments = catalog.list_experiments(ViewType::All)?;
    if !experiments.iter().any(|e| e.experiment_id == "0") {
        let default = Experiment {
            experiment_id: "0".into(),
            name: runlog_catalog::DEFAULT_EXPERIMENT_NAME.into(),
            artifact_location: file_uri(&root.join("0")),
            lifecycle_stage: LifecycleStage::Active,
            creation_time: runlog_catalog::now_ms(),
            last_update_time: runlog_catalog::now_ms(),
            tags: Default::default(),
        };
        write_experiment(&mut tree, &default, &default.artifact_location, &mut report)?;
    }
    for exp in &experiments {
        if !exp.experiment_id.bytes().all(|b| b.is_ascii_digit()) || exp.experiment_id.is_empty() {
            return Err(Error::InvalidName {
                what: "experiment id".into(),
                name: exp.experiment_id.clone(),
                reason: "MLflow's readers need all-digit experiment ids".into(),
            });
        }
        let location = match options.artifact_uris {
            ArtifactUris::Keep => exp.artifact_location.clone(),
            ArtifactUris::Export => file_uri(&root.join(&exp.experiment_id)),
        };
        let exp_dir = write_experiment(&mut tree, exp, &location, &mut report)?;
        let dir: Vec<&str> = exp_dir.iter().map(String::as_str).collect();
        for run in catalog.list_runs(&[&exp.experiment_id], ViewType::All)? {
            write_run(
                &mut tree,
                metrics,
                exp,
                &dir,
                &run,
                &location,
                options,
                &mut report,
            )?;
        }
    }
    report.files = tree.files();
    Ok(report)
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

/// Writes `EXP/meta.yaml` (under `.trash/` when deleted) and `EXP/tags/`; returns the
/// experiment's folder as components.
fn write_experiment(
    tree: &mut Tree,
    exp: &Experiment,
    location: &str,
    report: &mut ExportReport,
) -> Result<Vec<String>> {
    id_component("experiment id", &exp.experiment_id)?;
    let mut dir = Vec::new();
    if exp.lifecycle_stage == LifecycleStage::Deleted {
        dir.push(".trash".to_string());
    }
    dir.push(exp.experiment_id.clone());
    let parts: Vec<&str> = dir.iter().map(String::as_str).collect();
    let meta = mapping(&mut [
        ("artifact_location", Value::Str(location)),
        ("creation_time", Value::Int(exp.creation_time)),
        ("experiment_id", Value::Str(&exp.experiment_id)),
        ("last_update_time", Value::Int(exp.last_update_time)),
        ("lifecycle_stage", Value::Str(exp.lifecycle_stage.as_str())),
        ("name", Value::Str(&exp.name)),
    ]);
    tree.file(&parts, &["meta.yaml"], |w| w.write_all(meta.as_bytes()))?;
    let mut tag_dir = parts.clone();
    tag_dir.push("tags");
    for (key, value) in &exp.tags {
        let what = || format!("tag key of experiment {}", exp.experiment_id);
        let name = key_components(&what, key, |k| validation::validate_experiment_tag(k, ""))?;
        tree.file(&tag_dir, &name, |w| w.write_all(value.as_bytes()))?;
        report.tags += 1;
    }
    report.experiments += 1;
    Ok(dir)
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the pieces are the export's state"
)]
fn write_run(
    tree: &mut Tree,
    metrics: &MetricStore,
    exp: &Experiment,
    exp_dir: &[&str],
    run: &Run,
    location: &str,
    options: &ExportOptions,
    report: &mut ExportReport,
) -> Result<()> {
    id_component("run id", &run.run_id)?;
    let mut dir = exp_dir.to_vec();
    dir.push(&run.run_id);
    // A deleted experiment's runs are deleted too (MLflow marks them when it deletes one).
    let (stage, deleted_time) = if exp.lifecycle_stage == LifecycleStage::Deleted {
        (
            LifecycleStage::Deleted,
            run.deleted_time.or(Some(exp.last_update_time)),
        )
    } else {
        (run.lifecycle_stage, run.deleted_time)
    };
    let artifact_uri = match options.artifact_uris {
        ArtifactUris::Keep => run.artifact_uri.clone(),
        ArtifactUris::Export => format!("{location}/{}/artifacts", run.run_id),
    };
    let mut entries = vec![
        ("artifact_uri", Value::Str(&artifact_uri)),
        ("end_time", run.end_time.map_or(Value::Null, Value::Int)),
        ("entry_point_name", Value::Str("")),
        ("experiment_id", Value::Str(&run.experiment_id)),
        ("lifecycle_stage", Value::Str(stage.as_str())),
        ("run_id", Value::Str(&run.run_id)),
        ("run_name", Value::Str(&run.run_name)),
        ("run_uuid", Value::Str(&run.run_id)),
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
    tree.file(&dir, &["meta.yaml"], |w| w.write_all(meta.as_bytes()))?;
    // MLflow finds a run by id only if all three exist, empty or not.
    for sub in ["metrics", "params", "artifacts", "tags"] {
        let mut d = dir.clone();
        d.push(sub);
        tree.dir(&d)?;
    }
    type Rule = fn(&str) -> Result<(), validation::ValidationError>;
    for (sub, map, count, rule) in [
        (
            "params",
            &run.params,
            &mut report.params,
            validation::validate_param_key as Rule,
        ),
        (
            "tags",
            &run.tags,
            &mut report.tags,
            validation::validate_tag_key as Rule,
        ),
    ] {
        let mut d = dir.clone();
        d.push(sub);
        for (key, value) in map {
            let what = || format!("{} key of run {}", &sub[..sub.len() - 1], run.run_id);
            let name = key_components(&what, key, rule)?;
            tree.file(&d, &name, |w| w.write_all(value.as_bytes()))?;
            *count += 1;
        }
    }
    let reader = match metrics.reader(&run.run_id) {
        Ok(r) => r,
        // A run without a metric folder has no points to export.
        Err(_)
            if run.metrics.is_empty()
                && !metrics.run_dir(&run.run_id).is_ok_and(|d| d.exists()) =>
        {
            report.runs += 1;
            return Ok(());
        }
        Err(source) => {
            return Err(Error::Metrics {
                run_id: run.run_id.clone(),
                source,
            });
        }
    };
    let mut d = dir.clone();
    d.push("metrics");
    let metrics_err = |source| Error::Metrics {
        run_id: run.run_id.clone(),
        source,
    };
    for (_, key) in reader.series() {
        let what = || format!("metric key of run {}", run.run_id);
        let name = key_components(&what, &key, validation::validate_metric_key)?;
        let points = reader.history(&key).map_err(metrics_err)?;
        if points.is_empty() {
            continue; // MLflow cannot read an empty metric file
        }
        tree.file(&d, &name, |w| {
            let mut line = String::with_capacity(64);
            for i in 0..points.len() {
                line.clear();
                use std::fmt::Write as _;
                let _ = write!(line, "{} ", points.timestamps_ms[i]);
                write_python_float(&mut line, points.values[i]);
                let _ = writeln!(line, " {}", points.steps[i]);
                w.write_all(line.as_bytes())?;
            }
            Ok(())
        })?;
        report.metric_keys += 1;
        report.metric_points += points.len() as u64;
    }
    report.runs += 1;
    Ok(())
}
