//! The operations journals hold, and how each changes an experiment or a run. Applying is
//! deterministic and never fails: checks happen before an operation is journaled, so replaying
//! a journal (catching up, or rebuilding the catalog) reproduces what was committed, plus the
//! changes of processes that died between journaling and committing (never acknowledged).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Experiment, LifecycleStage, RunRecord, RunStatus, TAG_RUN_NAME};

/// A change to an experiment (`experiments.log`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum ExperimentOp {
    Create {
        id: u64,
        name: String,
        artifact_location: String,
        time: i64,
        tags: BTreeMap<String, String>,
    },
    Rename {
        id: u64,
        name: String,
        time: i64,
    },
    SetTag {
        id: u64,
        key: String,
        value: String,
    },
    DeleteTag {
        id: u64,
        key: String,
    },
    Lifecycle {
        id: u64,
        stage: LifecycleStage,
        time: i64,
    },
    /// An experiment imported from another store (MLflow's `mlruns/`), recorded exactly as
    /// it was there: every field given, nothing stamped. Replaces the record of its id (the
    /// importer only replaces the untouched default experiment `0`).
    Import {
        id: u64,
        name: String,
        artifact_location: String,
        lifecycle_stage: LifecycleStage,
        creation_time: i64,
        last_update_time: i64,
        tags: BTreeMap<String, String>,
    },
}

impl ExperimentOp {
    pub fn id(&self) -> u64 {
        match self {
            ExperimentOp::Create { id, .. }
            | ExperimentOp::Rename { id, .. }
            | ExperimentOp::SetTag { id, .. }
            | ExperimentOp::DeleteTag { id, .. }
            | ExperimentOp::Lifecycle { id, .. }
            | ExperimentOp::Import { id, .. } => *id,
        }
    }

    /// Applies the operation to the experiment it names (`None` before its creation).
    pub fn apply(&self, exp: &mut Option<Experiment>) {
        if let ExperimentOp::Create {
            id,
            name,
            artifact_location,
            time,
            tags,
        } = self
        {
            *exp = Some(Experiment {
                experiment_id: id.to_string(),
                name: name.clone(),
                artifact_location: artifact_location.clone(),
                lifecycle_stage: LifecycleStage::Active,
                creation_time: *time,
                last_update_time: *time,
                tags: tags.clone(),
            });
            return;
        }
        if let ExperimentOp::Import {
            id,
            name,
            artifact_location,
            lifecycle_stage,
            creation_time,
            last_update_time,
            tags,
        } = self
        {
            *exp = Some(Experiment {
                experiment_id: id.to_string(),
                name: name.clone(),
                artifact_location: artifact_location.clone(),
                lifecycle_stage: *lifecycle_stage,
                creation_time: *creation_time,
                last_update_time: *last_update_time,
                tags: tags.clone(),
            });
            return;
        }
        let Some(e) = exp.as_mut() else { return };
        match self {
            ExperimentOp::Create { .. } | ExperimentOp::Import { .. } => {
                unreachable!("handled above")
            }
            ExperimentOp::Rename { name, time, .. } => {
                e.name = name.clone();
                e.last_update_time = *time;
            }
            ExperimentOp::SetTag { key, value, .. } => {
                e.tags.insert(key.clone(), value.clone());
            }
            ExperimentOp::DeleteTag { key, .. } => {
                e.tags.remove(key);
            }
            ExperimentOp::Lifecycle { stage, time, .. } => {
                e.lifecycle_stage = *stage;
                e.last_update_time = *time;
            }
        }
    }
}

/// A change to a run (`runs/<run_id>/RUN.log`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum RunOp {
    Create {
        run_id: String,
        experiment_id: String,
        run_name: String,
        status: RunStatus,
        start_time: i64,
        user_id: String,
        artifact_uri: String,
        tags: BTreeMap<String, String>,
        params: BTreeMap<String, String>,
    },
    LogParams {
        params: Vec<(String, String)>,
    },
    SetTags {
        tags: Vec<(String, String)>,
    },
    DeleteTag {
        key: String,
    },
    Status {
        status: RunStatus,
        end_time: Option<i64>,
    },
    Rename {
        name: String,
    },
    Lifecycle {
        stage: LifecycleStage,
        time: i64,
    },
    /// A run imported from another store (MLflow's `mlruns/`), recorded exactly as it was
    /// there: every field given, params and tags verbatim, no system tag added.
    Import {
        run_id: String,
        experiment_id: String,
        run_name: String,
        status: RunStatus,
        start_time: i64,
        end_time: Option<i64>,
        user_id: String,
        lifecycle_stage: LifecycleStage,
        deleted_time: Option<i64>,
        artifact_uri: String,
        params: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    },
}

impl RunOp {
    /// Applies the operation to the run (`None` before its creation).
    pub fn apply(&self, run: &mut Option<RunRecord>) {
        if let RunOp::Create {
            run_id,
            experiment_id,
            run_name,
            status,
            start_time,
            user_id,
            artifact_uri,
            tags,
            params,
        } = self
        {
            *run = Some(RunRecord {
                run_id: run_id.clone(),
                experiment_id: experiment_id.clone(),
                run_name: run_name.clone(),
                status: *status,
                start_time: *start_time,
                end_time: None,
                user_id: user_id.clone(),
                lifecycle_stage: LifecycleStage::Active,
                deleted_time: None,
                artifact_uri: artifact_uri.clone(),
                params: params.clone(),
                tags: tags.clone(),
                journal_len: run.as_ref().map_or(0, |r| r.journal_len),
            });
            return;
        }
        if let RunOp::Import {
            run_id,
            experiment_id,
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
        } = self
        {
            *run = Some(RunRecord {
                run_id: run_id.clone(),
                experiment_id: experiment_id.clone(),
                run_name: run_name.clone(),
                status: *status,
                start_time: *start_time,
                end_time: *end_time,
                user_id: user_id.clone(),
                lifecycle_stage: *lifecycle_stage,
                deleted_time: *deleted_time,
                artifact_uri: artifact_uri.clone(),
                params: params.clone(),
                tags: tags.clone(),
                journal_len: run.as_ref().map_or(0, |r| r.journal_len),
            });
            return;
        }
        let Some(r) = run.as_mut() else { return };
        match self {
            RunOp::Create { .. } | RunOp::Import { .. } => unreachable!("handled above"),
            RunOp::LogParams { params } => {
                for (k, v) in params {
                    // Params are immutable: the first value stays (a changed value is refused
                    // before it is journaled).
                    r.params.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            RunOp::SetTags { tags } => {
                for (k, v) in tags {
                    if k == TAG_RUN_NAME {
                        r.run_name = v.clone();
                    }
                    r.tags.insert(k.clone(), v.clone());
                }
            }
            RunOp::DeleteTag { key } => {
                r.tags.remove(key);
            }
            RunOp::Status { status, end_time } => {
                // As MLflow's `update_run_info`: a resumed run (RUNNING again) keeps its
                // previous end time.
                r.status = *status;
                if end_time.is_some() {
                    r.end_time = *end_time;
                }
            }
            RunOp::Rename { name } => {
                r.run_name = name.clone();
                r.tags.insert(TAG_RUN_NAME.to_string(), name.clone());
            }
            RunOp::Lifecycle { stage, time } => {
                r.lifecycle_stage = *stage;
                r.deleted_time = match stage {
                    LifecycleStage::Deleted => Some(*time),
                    LifecycleStage::Active => None,
                };
            }
        }
    }
}
