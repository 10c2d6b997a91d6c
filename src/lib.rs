//! # runlog
//!
//! An embedded experiment-tracking database: the SQLite of ML metrics. A trainer logs
//! experiments, runs, params, tags and metrics into a local folder at memory speed; analysis
//! tools open the same folder, also while training runs, to search runs with MLflow's filter
//! language and read metric histories. The semantics are MLflow's.
//!
//! ```
//! # fn main() -> runlog::Result<()> {
//! use runlog::{NewRun, RunStatus, Store, ViewType};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path())?;
//! let exp = store.set_experiment("mnist")?;
//! let run = store.start_run(
//!     NewRun::in_experiment(&exp.experiment_id)
//!         .name("baseline")
//!         .param("lr", 0.001)
//!         .param("optimizer", "adam"),
//! )?;
//! let loss = run.metric("train/loss")?; // a pre-resolved key: the cheapest way to log
//! for step in 0..1_000 {
//!     loss.log(step, 1.0 / (1 + step) as f64)?;
//!     run.log_metric("train/acc", step, step as f64 / 1_000.0)?;
//! }
//! let run_id = run.id().to_string();
//! run.finish(RunStatus::Finished)?;
//!
//! let found = store.search_runs(&[&exp.experiment_id], "metrics.`train/acc` > 0.9 AND params.optimizer = 'adam'",
//!                               &["metrics.`train/acc` DESC"], 10)?;
//! assert_eq!(found[0].run_id, run_id);
//! assert_eq!(found[0].status, RunStatus::Finished);
//!
//! let reader = store.reader(&run_id)?;
//! assert_eq!(reader.history("train/loss")?.len(), 1_000);
//! let curve = reader.downsample("train/loss", runlog::Axis::Step, 10, None)?;
//! assert_eq!(curve.len(), 10);
//! # let _ = ViewType::All;
//! # Ok(()) }
//! ```
//!
//! The layers are also usable alone: [`metrics`] (the metric store: per-run segment files),
//! [`catalog`] (experiments, runs, params, tags and latest metrics on redb) and [`artifacts`]
//! (run artifacts in local folders).
//!
//! The model registry (MLflow's registered models, versions, stages and aliases) is on
//! [`Store::catalog`]; [`Store::register_model`] registers a run's model and
//! [`Store::resolve_model`] / [`Store::model_lineage`] resolve `models:/` URIs.

mod error;
mod registry;
mod run;
mod run_artifacts;
mod store;
mod sync;

pub use error::{Error, Result};
pub use run::{Metric, Run};
pub use store::{ExperimentHandle, Store};

pub use runlog_artifacts as artifacts;
pub use runlog_artifacts::{ArtifactRepo, FileInfo};
pub use runlog_catalog as catalog;
pub use runlog_catalog::{
    Experiment, LatestMetric, LifecycleStage, NewRun, Run as RunInfo, RunStatus, ViewType,
};
pub use runlog_catalog::{
    ModelLineage, ModelUri, ModelVersion, RegisteredModel, RegistryPage, Stage,
};
pub use runlog_metrics as metrics;
pub use runlog_metrics::{
    Axis, Bucket, MetricStore, Point, Points, RunReader, RunWriter, SeriesId, Summary,
    WriterOptions,
};
pub use runlog_search as search;
