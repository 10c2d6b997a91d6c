//! Importing records from another store (MLflow's `mlruns/`) exactly as they were there.
//!
//! The ordinary API stamps times and mirrors system tags (a new run gets `mlflow.runName`,
//! a version is created now, in stage None). An importer must instead reproduce every field
//! as the source recorded it: ids, names, all times, status, lifecycle, tags and params
//! verbatim, registry stages and deleted versions with their numbers. Each method here is one
//! transaction on the usual protocol (begin_write, catch up, check, journal + fdatasync,
//! apply, commit) with one new journal operation each (`import` in `experiments.log` and
//! `RUN.log`, `import_model` in `models.log`), so a rebuilt catalog reads back the same.
//!
//! Nothing is ever overwritten: an id or name the catalog holds already is refused with
//! [`CatalogError::Exists`] (or [`CatalogError::ExperimentExists`] for a name). The one
//! exception is the default experiment `0` while it is untouched (named `Default`, no tags,
//! no runs, never changed since the store made it), which an imported experiment `0` replaces.

use std::collections::BTreeMap;

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, decode};
use crate::db::{EXPERIMENT_NAMES, EXPERIMENT_RUNS, MODEL_VERSION_IMPORTED, db_err};
use crate::error::{CatalogError, Result};
use crate::model::{DEFAULT_EXPERIMENT_NAME, Experiment, LifecycleStage, Run};
use crate::ops::{ExperimentOp, RunOp};
use crate::registry_model::Stage;
use crate::registry_ops::ModelOp;
use crate::validation;

/// A registered model to import with [`Catalog::import_registered_model`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportedModel {
    /// Its name.
    pub name: String,
    /// Creation time, ms.
    pub creation_timestamp: i64,
    /// Last update time, ms.
    pub last_updated_timestamp: i64,
    /// Its description.
    pub description: Option<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Its aliases: alias → version number (of a live version).
    pub aliases: BTreeMap<String, u64>,
    /// Every version, deleted ones included (their numbers are never given again).
    pub versions: Vec<ImportedVersion>,
}

/// One version of an [`ImportedModel`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedVersion {
    /// Its number (1, 2, …).
    pub version: u64,
    /// Creation time, ms.
    pub creation_timestamp: i64,
    /// Last update time, ms.
    pub last_updated_timestamp: i64,
    /// Its description.
    pub description: Option<String>,
    /// Where its files are, as given when it was registered.
    pub source: String,
    /// The run it came from.
    pub run_id: Option<String>,
    /// Its stage (for a deleted version: the stage it had, `None` if unknown).
    pub stage: Stage,
    /// Whether it is deleted (MLflow's `Deleted_Internal`).
    pub deleted: bool,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// What MLflow records beyond runlog's own fields.
    pub fields: ImportedVersionFields,
}

impl Default for ImportedVersion {
    fn default() -> Self {
        ImportedVersion {
            version: 1,
            creation_timestamp: 0,
            last_updated_timestamp: 0,
            description: None,
            source: String::new(),
            run_id: None,
            stage: Stage::None,
            deleted: false,
            tags: BTreeMap::new(),
            fields: ImportedVersionFields::default(),
        }
    }
}

/// The fields of an MLflow model version that runlog's [`crate::ModelVersion`] does not
/// have, kept for imported versions ([`Catalog::imported_version_fields`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImportedVersionFields {
    /// `status` as recorded (`READY`, `PENDING_REGISTRATION`, `FAILED_REGISTRATION`).
    pub status: String,
    /// `status_message`.
    pub status_message: Option<String>,
    /// `storage_location`: where the files resolve to.
    pub storage_location: Option<String>,
    /// `run_link`.
    pub run_link: Option<String>,
    /// `user_id`.
    pub user_id: Option<String>,
    /// `model_id`: the MLflow 3 logged model.
    pub model_id: Option<String>,
}

impl Catalog {
    /// Imports an experiment exactly as given (id, name, artifact location, lifecycle, both
    /// times, tags). Refuses an id or a name the catalog holds already, except that an
    /// untouched default experiment `0` is replaced by an imported `0`.
    pub fn import_experiment(&self, exp: &Experiment) -> Result<()> {
        validation::validate_experiment_id(&exp.experiment_id)?;
        let id: u64 = exp
            .experiment_id
            .parse()
            .map_err(|_| CatalogError::experiment_not_found(&exp.experiment_id))?;
        validation::validate_experiment_name(&exp.name)?;
        for (k, v) in &exp.tags {
            validation::validate_experiment_tag(k, v)?;
        }
        self.experiment_txn(|txn| {
            if let Some(existing) = self.load_experiment(txn, id)? {
                let pristine = id == 0
                    && existing.name == DEFAULT_EXPERIMENT_NAME
                    && existing.tags.is_empty()
                    && existing.lifecycle_stage == LifecycleStage::Active
                    && existing.creation_time == existing.last_update_time
                    && existing.artifact_location == self.default_artifact_location(0)
                    && !self.experiment_has_runs(txn, 0)?;
                if !pristine {
                    return Err(CatalogError::Exists {
                        what: "experiment",
                        id: exp.experiment_id.clone(),
                    });
                }
            }
            let holder = txn
                .open_table(EXPERIMENT_NAMES)
                .map_err(|e| db_err(&self.db_path, "open experiment names", e))?
                .get(exp.name.as_str())
                .map_err(|e| db_err(&self.db_path, "read experiment names", e))?
                .map(|v| v.value());
            if let Some(other) = holder
                && other != id
            {
                let stage = self
                    .load_experiment(txn, other)?
                    .map_or(LifecycleStage::Active, |e| e.lifecycle_stage);
                return Err(CatalogError::ExperimentExists {
                    name: exp.name.clone(),
                    id: other.to_string(),
                    stage: stage.as_str(),
                    restore: "",
                });
            }
            let op = ExperimentOp::Import {
                id,
                name: exp.name.clone(),
                artifact_location: exp.artifact_location.clone(),
                lifecycle_stage: exp.lifecycle_stage,
                creation_time: exp.creation_time,
                last_update_time: exp.last_update_time,
                tags: exp.tags.clone(),
            };
            Ok((vec![op], ()))
        })
    }

    fn experiment_has_runs(&self, txn: &redb::WriteTransaction, id: u64) -> Result<bool> {
        let t = txn
            .open_table(EXPERIMENT_RUNS)
            .map_err(|e| db_err(&self.db_path, "open experiment runs", e))?;
        let mut range = t
            .range((id, "")..)
            .map_err(|e| db_err(&self.db_path, "list experiment runs", e))?;
        Ok(match range.next() {
            Some(item) => {
                let (k, _) = item.map_err(|e| db_err(&self.db_path, "list experiment runs", e))?;
                k.value().0 == id
            }
            None => false,
        })
    }

    /// Imports a run exactly as given: every field of `run` but `metrics` (the latest values
    /// come from its metric points: append them to its metric writer, then record them with
    /// [`Catalog::update_metrics`]). Params and tags are kept verbatim (keys are checked, values
    /// of any length are kept), no system tag is added. The experiment must exist (deleted
    /// or not); a run id the catalog holds already is refused.
    pub fn import_run(&self, run: &Run) -> Result<()> {
        validation::validate_run_id(&run.run_id)?;
        validation::validate_experiment_id(&run.experiment_id)?;
        let exp_id: u64 = run
            .experiment_id
            .parse()
            .map_err(|_| CatalogError::experiment_not_found(&run.experiment_id))?;
        for k in run.params.keys() {
            validation::validate_param_key(k)?;
        }
        for k in run.tags.keys() {
            validation::validate_tag_key(k)?;
        }
        self.run_txn(&run.run_id, |txn, existing| {
            if existing.is_some() {
                return Err(CatalogError::Exists {
                    what: "run",
                    id: run.run_id.clone(),
                });
            }
            if self.load_experiment(txn, exp_id)?.is_none() {
                return Err(CatalogError::experiment_not_found(&run.experiment_id));
            }
            let op = RunOp::Import {
                run_id: run.run_id.clone(),
                experiment_id: run.experiment_id.clone(),
                run_name: run.run_name.clone(),
                status: run.status,
                start_time: run.start_time,
                end_time: run.end_time,
                user_id: run.user_id.clone(),
                lifecycle_stage: run.lifecycle_stage,
                deleted_time: run.deleted_time,
                artifact_uri: run.artifact_uri.clone(),
                params: run.params.clone(),
                tags: run.tags.clone(),
            };
            Ok((vec![op], ()))
        })
    }

    /// Imports a registered model with all its versions and aliases exactly as given:
    /// timestamps, stages, descriptions, tags, deleted versions with their numbers. Refuses a
    /// name the catalog holds already, duplicate version numbers, and aliases that name no
    /// live version.
    pub fn import_registered_model(&self, model: &ImportedModel) -> Result<()> {
        validation::validate_model_name(&model.name)?;
        for (k, v) in &model.tags {
            validation::validate_model_tag(k, v)?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for v in &model.versions {
            if v.version == 0 || !seen.insert(v.version) {
                return Err(CatalogError::InvalidArgument(format!(
                    "registered model {:?}: version number {} is zero or given twice",
                    model.name, v.version
                )));
            }
            for (k, val) in &v.tags {
                validation::validate_model_tag(k, val)?;
            }
            if let Some(id) = &v.run_id {
                validation::validate_run_id(id)?;
            }
        }
        for (alias, target) in &model.aliases {
            validation::validate_alias_for_lookup(alias)?;
            if !model
                .versions
                .iter()
                .any(|v| v.version == *target && !v.deleted)
            {
                return Err(CatalogError::InvalidArgument(format!(
                    "registered model {:?}: alias {alias:?} names version {target}, which is \
                     not a live version",
                    model.name
                )));
            }
        }
        let mut versions = model.versions.clone();
        versions.sort_by_key(|v| v.version);
        self.registry_txn(|r| {
            if r.model(&model.name)?.is_some() {
                return Err(CatalogError::Exists {
                    what: "registered model",
                    id: model.name.clone(),
                });
            }
            let op = ModelOp::ImportModel {
                name: model.name.clone(),
                creation_timestamp: model.creation_timestamp,
                last_updated_timestamp: model.last_updated_timestamp,
                description: model.description.clone(),
                tags: model.tags.clone(),
                aliases: model.aliases.clone(),
                versions,
            };
            Ok((vec![op], ()))
        })
    }

    /// Where this store keeps the artifacts of run `run_id` of experiment `experiment_id` by
    /// default: `file://<store>/artifacts/<experiment_id>/<run_id>/artifacts`, percent-encoded
    /// as MLflow records it (what an importer copying artifacts records).
    pub fn default_artifact_uri(&self, experiment_id: &str, run_id: &str) -> Result<String> {
        validation::validate_experiment_id(experiment_id)?;
        validation::validate_run_id(run_id)?;
        let id: u64 = experiment_id
            .parse()
            .map_err(|_| CatalogError::experiment_not_found(experiment_id))?;
        Ok(format!(
            "{}/{run_id}/artifacts",
            self.default_artifact_location(id)
        ))
    }

    /// What an imported model version recorded beyond runlog's own fields (`model_id`,
    /// `storage_location`, …); `None` for versions created through the API.
    pub fn imported_version_fields(
        &self,
        name: &str,
        version: u64,
    ) -> Result<Option<ImportedVersionFields>> {
        validation::validate_model_name(name)?;
        let rtx = self.read()?;
        let t = match rtx.open_table(MODEL_VERSION_IMPORTED) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(db_err(&self.db_path, "open imported model versions", e)),
        };
        let v = t
            .get((name, version))
            .map_err(|e| db_err(&self.db_path, "read an imported model version", e))?;
        v.map(|v| decode(&self.db_path, "imported model version", v.value()))
            .transpose()
    }
}
