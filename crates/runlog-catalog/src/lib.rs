//! The catalog of experiments, runs, params, tags and latest metrics, following MLflow's
//! tracking semantics exactly, safe to share between processes.
//!
//! Two layers. **Journals** (append-only, checksummed lines) are the source of truth:
//! `<store>/experiments.log` for experiments and `<store>/runs/<run_id>/RUN.log` for each run,
//! so a run folder describes itself. **`catalog.redb`** (redb, in its multi-process mode) is
//! the queryable state: every change is checked against it, journaled, applied and committed
//! in one write transaction, and a fresh or rebuilt catalog is the replay of the journals.
//! Latest metric values are written by the run's writer at every flush, so search never reads
//! metric data.
//!
//! ```
//! use runlog_catalog::{Catalog, NewRun, RunStatus};
//! use runlog_search::ViewType;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let catalog = Catalog::open(dir.path())?;
//! let exp = catalog.create_experiment("sweep", None, &[])?;
//! let run = catalog.create_run(NewRun {
//!     experiment_id: Some(exp.clone()),
//!     run_name: Some("lr-1e-3".into()),
//!     params: vec![("lr".into(), "0.001".into())],
//!     ..NewRun::default()
//! })?;
//! catalog.set_status(&run.run_id, RunStatus::Finished, None)?;
//!
//! // Params are immutable: another value is refused, naming the key and both values.
//! let err = catalog.log_params(&run.run_id, &[("lr", "0.01")]).unwrap_err();
//! assert!(err.to_string().contains(r#"param "lr""#));
//!
//! let page = catalog.search_runs(&[&exp], Some("params.lr = '0.001'"), ViewType::ActiveOnly,
//!                                &["attributes.start_time DESC"], 10, None)?;
//! assert_eq!(page.runs[0].run_name, "lr-1e-3");
//! assert_eq!(page.runs[0].tags["mlflow.runName"], "lr-1e-3");
//! # Ok::<(), runlog_catalog::CatalogError>(())
//! ```
//!
//! The model registry (registered models, versions, stages, aliases, `models:/` URIs) lives
//! in the same database, journaled in `<store>/models.log`; see
//! [`Catalog::create_registered_model`] and the methods after it.
//!
//! [`validation`] holds MLflow 3.17's rules for every name a user can choose.

mod brief;
mod catalog;
mod db;
mod error;
mod import;
mod journal;
mod model;
mod ops;
mod presence;
mod registry;
mod registry_model;
mod registry_ops;
pub mod validation;

pub use brief::RunBrief;
pub use catalog::{
    CATALOG_FILE, Catalog, EXPERIMENTS_JOURNAL, NewRun, RUN_JOURNAL, now_ms, random_run_id,
};
pub use db::SCHEMA_VERSION;
pub use error::{CatalogError, Result};
pub use import::{ImportedModel, ImportedVersion, ImportedVersionFields};
pub use journal::Damage;
pub use model::{
    DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, Experiment, LatestMetric, LifecycleStage, Run,
    RunStatus, TAG_NOTE, TAG_PARENT_RUN_ID, TAG_RUN_NAME, TAG_SOURCE_NAME, TAG_SOURCE_TYPE,
    TAG_USER,
};
pub use presence::WRITERS_DIR;
pub use registry::MODELS_JOURNAL;
pub use registry_model::{
    ModelLineage, ModelUri, ModelVersion, ModelVersionStatus, RegisteredModel, RegistryEntry,
    Stage, StoredVersion,
};
pub use runlog_search::{ExperimentPage, RegistryPage, RunPage, ViewType};
