//! # runlog-mlflow
//!
//! Exports a runlog store as an MLflow file store (an `mlruns/` folder) that MLflow 3.x
//! (`MLFLOW_ALLOW_FILE_STORE=true` from 3.13 on) and 2.22 read with `MlflowClient`:
//! experiments (deleted ones under `.trash/`), runs of every status and lifecycle, params,
//! tags, and every point of every metric in arrival order.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use runlog::{NewRun, RunStatus, Store};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path().join("store"))?;
//! let exp = store.set_experiment("mnist")?;
//! let run = store.start_run(NewRun::in_experiment(&exp.experiment_id).param("lr", 0.001))?;
//! run.log_metric("train/loss", 0, 0.5)?;
//! run.finish(RunStatus::Finished)?;
//!
//! let target = dir.path().join("mlruns");
//! let report = runlog_mlflow::export(
//!     store.catalog(),
//!     store.metric_store(),
//!     &target,
//!     &runlog_mlflow::ExportOptions::default(),
//! )?;
//! assert_eq!(report.metric_points, 1);
//! # Ok(()) }
//! ```
//!
//! The layout and formats follow the verified description of MLflow's file store: every
//! `meta.yaml` string double-quoted, integer run status codes, `run_uuid` beside `run_id`
//! for MLflow ≤ 2.22.0, the `metrics/`, `params/`, `artifacts/` folders MLflow requires even
//! when empty, metric values as Python's `repr(float)` (`0.1`, `1e-05`, `1e+16`, `-0.0`,
//! `nan`, `inf`), 3-field metric lines, keys with `/` as sub-folders.
//!
//! Every file is written to a temporary name in its folder and renamed into place. Nothing is
//! written outside the target: every key is checked against MLflow's key rules (no `..`, no
//! leading `/`, no empty part) before it becomes a path, and every folder on the way is
//! checked to be a real folder, not a symbolic link, when it is written.

mod error;
mod export;
mod float;
mod import;
mod tree;
mod yaml;

pub use error::{Error, Result};
pub use export::{
    ArtifactUris, DamagedSeries, ExportOptions, ExportProgress, ExportReport, ProgressFn, export,
    status_code,
};
pub use float::{python_float, write_python_float, write_python_float_bytes};
pub use import::{
    ImportArtifacts, ImportError, ImportOptions, ImportProblem, ImportProgress, ImportProgressFn,
    ImportReport, OnError, import,
};
