//! The catalog's errors: each says what was wrong and, where it can, what to do.

use std::path::PathBuf;

use crate::validation::ValidationError;

/// Everything that can go wrong in the catalog.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// A name, key or value breaks MLflow's rules.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A malformed search filter or order, or a bad page token.
    #[error(transparent)]
    Search(#[from] runlog_search::SearchError),
    /// No experiment or run with this id or name.
    #[error("{what} {id:?} does not exist{hint}")]
    NotFound {
        /// `experiment`, `experiment named` or `run`.
        what: &'static str,
        /// The id or name asked for.
        id: String,
        /// A hint for what to do, starting with `; `, or empty.
        hint: String,
    },
    /// An experiment with this name exists already (possibly deleted).
    #[error(
        "an experiment named {name:?} already exists (id {id}, {stage}); choose another name{restore}"
    )]
    ExperimentExists {
        /// The name.
        name: String,
        /// The existing experiment's id.
        id: String,
        /// `active` or `deleted`.
        stage: &'static str,
        /// A hint to restore it when it is deleted.
        restore: &'static str,
    },
    /// A registered model with this name exists already.
    #[error("a registered model named {name:?} already exists; choose another name")]
    ModelExists {
        /// The name.
        name: String,
    },
    /// A registered model has no (live) version with this number.
    #[error("registered model {name:?} has no version {version}{hint}")]
    ModelVersionNotFound {
        /// The model.
        name: String,
        /// The version asked for.
        version: u64,
        /// What it has, starting with `; `.
        hint: String,
    },
    /// A registered model has no alias with this name.
    #[error("registered model {name:?} has no alias {alias:?}{hint}")]
    AliasNotFound {
        /// The model.
        name: String,
        /// The alias asked for.
        alias: String,
        /// What it has, starting with `; `.
        hint: String,
    },
    /// A registered model has no version (in a stage) for a `models:/` URI.
    #[error("registered model {name:?} has no version{in_stage}")]
    NoModelVersion {
        /// The model.
        name: String,
        /// ` in stage "Production"`, or empty.
        in_stage: String,
    },
    /// A stage name that is not one of MLflow's.
    #[error(
        "invalid model version stage {stage:?}; use one of None, Staging, Production, Archived \
         (in any letter case)"
    )]
    InvalidStage {
        /// The stage given.
        stage: String,
    },
    /// A `models:/` URI of no form MLflow accepts.
    #[error(
        "not a proper models:/ URI: {uri:?} ({why}); use 'models:/name/suffix' (a version, a \
         stage or 'latest') or 'models:/name@alias'"
    )]
    InvalidModelUri {
        /// The URI.
        uri: String,
        /// What is wrong with it.
        why: String,
    },
    /// Logging a param again with another value.
    #[error(
        "changing param values is not allowed: param {key:?} of run {run_id} was already logged \
         with value {old:?}, attempted new value {new:?}"
    )]
    ParamChanged {
        /// The run.
        run_id: String,
        /// The param key.
        key: String,
        /// The value it has.
        old: String,
        /// The value refused.
        new: String,
    },
    /// An operation that needs an active experiment or run got a deleted one, or similar.
    #[error("{0}")]
    InvalidState(String),
    /// An argument that is not a name (a status, a time, a batch) is wrong.
    #[error("{0}")]
    InvalidArgument(String),
    /// A file of the store could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The catalog database failed.
    #[error("catalog database {path}: {message}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// What redb reported, with what runlog was doing.
        message: String,
    },
    /// The catalog was written by an unknown version of runlog.
    #[error(
        "catalog {path} has schema version {found}, this runlog reads version {supported}; \
         use a matching runlog"
    )]
    UnsupportedVersion {
        /// The database file.
        path: PathBuf,
        /// Its version.
        found: u64,
        /// The version this build reads.
        supported: u64,
    },
    /// Reading metric data for a rebuild failed.
    #[error(transparent)]
    Metrics(#[from] runlog_metrics::Error),
    /// An import met an entity this catalog holds already (imports never overwrite).
    #[error("{what} {id:?} exists already in this store; an import never overwrites it")]
    Exists {
        /// `experiment`, `run` or `registered model`.
        what: &'static str,
        /// Its id or name.
        id: String,
    },
}

impl CatalogError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CatalogError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn run_not_found(run_id: &str) -> Self {
        CatalogError::NotFound {
            what: "run",
            id: run_id.to_string(),
            hint: "; list runs with search_runs, or check the id (32 hex digits)".into(),
        }
    }

    pub(crate) fn model_not_found(name: &str) -> Self {
        CatalogError::NotFound {
            what: "registered model",
            id: name.to_string(),
            hint: "; list models with search_registered_models".into(),
        }
    }

    pub(crate) fn experiment_not_found(id: &str) -> Self {
        CatalogError::NotFound {
            what: "experiment",
            id: id.to_string(),
            hint: "; list experiments with search_experiments".into(),
        }
    }
}

/// The catalog's result type.
pub type Result<T, E = CatalogError> = std::result::Result<T, E>;
