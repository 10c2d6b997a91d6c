//! The catalog's entities: experiments and runs, as MLflow defines them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::CatalogError;

/// MLflow's system tag holding a run's name.
pub const TAG_RUN_NAME: &str = "mlflow.runName";
/// MLflow's system tag holding a nested run's parent run id.
pub const TAG_PARENT_RUN_ID: &str = "mlflow.parentRunId";
/// MLflow's system tag holding the user who created a run.
pub const TAG_USER: &str = "mlflow.user";
/// MLflow's system tag holding the program that created a run.
pub const TAG_SOURCE_NAME: &str = "mlflow.source.name";
/// MLflow's system tag holding the kind of program (`LOCAL`, `NOTEBOOK`, `JOB`, …).
pub const TAG_SOURCE_TYPE: &str = "mlflow.source.type";
/// MLflow's system tag holding a run's description.
pub const TAG_NOTE: &str = "mlflow.note.content";

/// The id of the experiment every store starts with.
pub const DEFAULT_EXPERIMENT_ID: &str = "0";
/// The name of the experiment every store starts with.
pub const DEFAULT_EXPERIMENT_NAME: &str = "Default";

/// Whether an experiment or run is in use or deleted (and restorable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum LifecycleStage {
    /// In use.
    #[default]
    Active,
    /// Deleted; `restore` brings it back.
    Deleted,
}

impl LifecycleStage {
    /// MLflow's spelling: `active` or `deleted`.
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStage::Active => "active",
            LifecycleStage::Deleted => "deleted",
        }
    }
}

impl fmt::Display for LifecycleStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run's status, MLflow's `RunStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum RunStatus {
    /// Running (the status of a new run).
    #[default]
    Running,
    /// Scheduled but not started.
    Scheduled,
    /// Ended normally.
    Finished,
    /// Ended by an error.
    Failed,
    /// Stopped from outside.
    Killed,
}

impl RunStatus {
    /// Every status, in MLflow's numbering order (RUNNING = 1 … KILLED = 5).
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Running,
        RunStatus::Scheduled,
        RunStatus::Finished,
        RunStatus::Failed,
        RunStatus::Killed,
    ];

    /// MLflow's spelling (`RUNNING`, `SCHEDULED`, `FINISHED`, `FAILED`, `KILLED`).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }

    /// Whether the run has ended (FINISHED, FAILED or KILLED).
    pub fn is_terminated(self) -> bool {
        matches!(
            self,
            RunStatus::Finished | RunStatus::Failed | RunStatus::Killed
        )
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RunStatus {
    type Err = CatalogError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RunStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                CatalogError::InvalidArgument(format!(
                    "unknown run status {s:?}; use one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED"
                ))
            })
    }
}

/// An experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Experiment {
    /// Decimal id (`"0"` is the default experiment).
    pub experiment_id: String,
    /// Unique name (also among deleted experiments).
    pub name: String,
    /// Where the runs' artifacts go, a URI; runs get `<artifact_location>/<run_id>/artifacts`.
    pub artifact_location: String,
    /// Active or deleted.
    pub lifecycle_stage: LifecycleStage,
    /// Creation time, ms since the epoch.
    pub creation_time: i64,
    /// Time of the last change to the experiment itself, ms since the epoch.
    pub last_update_time: i64,
    /// Tags by key.
    pub tags: BTreeMap<String, String>,
}

/// The latest point of one metric of a run, by MLflow's rule (highest step, then timestamp,
/// then value).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatestMetric {
    /// Its step.
    pub step: i64,
    /// Its timestamp, ms since the epoch.
    pub timestamp_ms: i64,
    /// Its value.
    pub value: f64,
}

/// A run as the catalog stores it: MLflow's `RunInfo` and the params and tags of `RunData`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RunRecord {
    pub run_id: String,
    pub experiment_id: String,
    pub run_name: String,
    pub status: RunStatus,
    pub start_time: i64,
    pub end_time: Option<i64>,
    pub user_id: String,
    pub lifecycle_stage: LifecycleStage,
    pub deleted_time: Option<i64>,
    pub artifact_uri: String,
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// Bytes of the run's journal already applied to this record.
    pub journal_len: u64,
}

/// A [`RunRecord`] read in place: the same bytes (postcard encodes a map as a sequence of
/// pairs), with every string borrowed from the database page instead of copied.
#[derive(Debug, Deserialize)]
pub(crate) struct RunRecordRef<'a> {
    #[serde(borrow)]
    pub run_id: &'a str,
    #[serde(borrow)]
    pub experiment_id: &'a str,
    #[serde(borrow)]
    pub run_name: &'a str,
    pub status: RunStatus,
    pub start_time: i64,
    pub end_time: Option<i64>,
    #[serde(borrow)]
    pub user_id: &'a str,
    pub lifecycle_stage: LifecycleStage,
    pub _deleted_time: Option<i64>,
    #[serde(borrow)]
    pub artifact_uri: &'a str,
    #[serde(borrow)]
    pub params: Vec<(&'a str, &'a str)>,
    #[serde(borrow)]
    pub tags: Vec<(&'a str, &'a str)>,
    pub _journal_len: u64,
}

/// A run: its info, params, tags and the latest value of every metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The run id: 32 lowercase hex digits.
    pub run_id: String,
    /// The experiment it belongs to.
    pub experiment_id: String,
    /// Its name (mirrored by the `mlflow.runName` tag).
    pub run_name: String,
    /// Its status.
    pub status: RunStatus,
    /// Start time, ms since the epoch.
    pub start_time: i64,
    /// End time, ms since the epoch, once the run has ended.
    pub end_time: Option<i64>,
    /// The user who started it (the `mlflow.user` tag at creation, or `unknown`).
    pub user_id: String,
    /// Active or deleted.
    pub lifecycle_stage: LifecycleStage,
    /// When it was deleted, while it is.
    pub deleted_time: Option<i64>,
    /// Where its artifacts go.
    pub artifact_uri: String,
    /// Params by key.
    pub params: BTreeMap<String, String>,
    /// Tags by key, system tags included.
    pub tags: BTreeMap<String, String>,
    /// The latest point of every metric, by key.
    pub metrics: BTreeMap<String, LatestMetric>,
}

impl Run {
    pub(crate) fn from_record(r: RunRecord, metrics: BTreeMap<String, LatestMetric>) -> Run {
        Run {
            run_id: r.run_id,
            experiment_id: r.experiment_id,
            run_name: r.run_name,
            status: r.status,
            start_time: r.start_time,
            end_time: r.end_time,
            user_id: r.user_id,
            lifecycle_stage: r.lifecycle_stage,
            deleted_time: r.deleted_time,
            artifact_uri: r.artifact_uri,
            params: r.params,
            tags: r.tags,
            metrics,
        }
    }

    /// The parent run of a nested run (the `mlflow.parentRunId` tag).
    pub fn parent_run_id(&self) -> Option<&str> {
        self.tags.get(TAG_PARENT_RUN_ID).map(String::as_str)
    }
}
