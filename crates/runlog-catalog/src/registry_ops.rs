//! The model registry's journal (`<store>/models.log`): its operations, the records they
//! build, and how each changes the registry tables.
//!
//! As for experiments and runs, applying is deterministic and never fails for a reason of
//! content: every check happens before an operation is journaled, so replaying the journal
//! (catching up, rebuilding) reproduces what was committed. An operation on a model or
//! version that does not exist (only possible in a journal edited by hand) changes nothing.
//!
//! Timestamps follow MLflow 3.17.2's file store: the model's `last_updated_timestamp` moves
//! with every change to it, its tags, aliases, versions (creation, stage, deletion) and
//! version tags; a version's own moves with its description, its stage, its deletion and a
//! rename of its model, but not with its tags.

use std::collections::BTreeMap;
use std::path::Path;

use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::catalog::{decode, encode};
use crate::db::{MODEL_ALIASES, MODEL_VERSION_IMPORTED, MODEL_VERSIONS, REGISTERED_MODELS, db_err};
use crate::error::Result;
use crate::import::{ImportedVersion, ImportedVersionFields};
use crate::registry_model::{ModelVersionStatus, Stage};

/// A registered model as the catalog stores it (aliases live in their own table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ModelRecord {
    pub name: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// A model version as the catalog stores it; deleted versions are kept (MLflow's
/// `Deleted_Internal`) so that their numbers are never given again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct VersionRecord {
    pub name: String,
    pub version: u64,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub description: Option<String>,
    pub source: String,
    pub run_id: Option<String>,
    pub status: ModelVersionStatus,
    pub stage: Stage,
    pub deleted: bool,
    pub tags: BTreeMap<String, String>,
}

/// A change to the registry (`models.log`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum ModelOp {
    CreateModel {
        name: String,
        time: i64,
        description: Option<String>,
        tags: BTreeMap<String, String>,
    },
    RenameModel {
        name: String,
        new_name: String,
        time: i64,
    },
    UpdateModel {
        name: String,
        description: Option<String>,
        time: i64,
    },
    SetModelTag {
        name: String,
        key: String,
        value: String,
        time: i64,
    },
    DeleteModelTag {
        name: String,
        key: String,
        time: i64,
    },
    DeleteModel {
        name: String,
    },
    CreateVersion {
        name: String,
        version: u64,
        time: i64,
        source: String,
        run_id: Option<String>,
        description: Option<String>,
        tags: BTreeMap<String, String>,
    },
    UpdateVersion {
        name: String,
        version: u64,
        description: Option<String>,
        time: i64,
    },
    SetVersionTag {
        name: String,
        version: u64,
        key: String,
        value: String,
        time: i64,
    },
    DeleteVersionTag {
        name: String,
        version: u64,
        key: String,
        time: i64,
    },
    /// Moves a version to `stage`; with `archive_existing`, the other versions in that stage
    /// move to Archived first.
    Transition {
        name: String,
        version: u64,
        stage: Stage,
        archive_existing: bool,
        time: i64,
    },
    /// Marks a version deleted and drops its aliases.
    DeleteVersion {
        name: String,
        version: u64,
        time: i64,
    },
    SetAlias {
        name: String,
        alias: String,
        version: u64,
        time: i64,
    },
    DeleteAlias {
        name: String,
        alias: String,
        time: i64,
    },
    /// A registered model imported from another store (MLflow's `mlruns/`) with all its
    /// versions (deleted ones included, numbers kept) and aliases, exactly as recorded there.
    ImportModel {
        name: String,
        creation_timestamp: i64,
        last_updated_timestamp: i64,
        description: Option<String>,
        tags: BTreeMap<String, String>,
        aliases: BTreeMap<String, u64>,
        versions: Vec<ImportedVersion>,
    },
}

/// The registry tables inside one write transaction.
pub(crate) struct Registry<'t> {
    pub txn: &'t WriteTransaction,
    pub path: &'t Path,
}

impl Registry<'_> {
    pub fn model(&self, name: &str) -> Result<Option<ModelRecord>> {
        let t = self
            .txn
            .open_table(REGISTERED_MODELS)
            .map_err(|e| db_err(self.path, "open registered models", e))?;
        let v = t
            .get(name)
            .map_err(|e| db_err(self.path, "read a registered model", e))?;
        v.map(|v| decode(self.path, "registered model", v.value()))
            .transpose()
    }

    fn put_model(&self, m: &ModelRecord) -> Result<()> {
        // The three registry tables come into being together (readers rely on it).
        let create = |e| db_err(self.path, "create the registry tables", e);
        self.txn.open_table(MODEL_VERSIONS).map_err(create)?;
        self.txn.open_table(MODEL_ALIASES).map_err(create)?;
        self.txn
            .open_table(REGISTERED_MODELS)
            .map_err(|e| db_err(self.path, "open registered models", e))?
            .insert(m.name.as_str(), encode(m).as_slice())
            .map_err(|e| db_err(self.path, "write a registered model", e))?;
        Ok(())
    }

    /// Every version of `name`, deleted ones included, by number.
    pub fn versions(&self, name: &str) -> Result<Vec<VersionRecord>> {
        let t = self
            .txn
            .open_table(MODEL_VERSIONS)
            .map_err(|e| db_err(self.path, "open model versions", e))?;
        let map = |e: redb::StorageError| db_err(self.path, "read model versions", e);
        let mut out = Vec::new();
        for item in t.range((name, 0u64)..=(name, u64::MAX)).map_err(map)? {
            let (_, v) = item.map_err(map)?;
            out.push(decode(self.path, "model version", v.value())?);
        }
        Ok(out)
    }

    pub fn version(&self, name: &str, version: u64) -> Result<Option<VersionRecord>> {
        let t = self
            .txn
            .open_table(MODEL_VERSIONS)
            .map_err(|e| db_err(self.path, "open model versions", e))?;
        let v = t
            .get((name, version))
            .map_err(|e| db_err(self.path, "read a model version", e))?;
        v.map(|v| decode(self.path, "model version", v.value()))
            .transpose()
    }

    fn put_version(&self, v: &VersionRecord) -> Result<()> {
        self.txn
            .open_table(MODEL_VERSIONS)
            .map_err(|e| db_err(self.path, "open model versions", e))?
            .insert((v.name.as_str(), v.version), encode(v).as_slice())
            .map_err(|e| db_err(self.path, "write a model version", e))?;
        Ok(())
    }

    /// The aliases of `name`: alias → version.
    pub fn aliases(&self, name: &str) -> Result<BTreeMap<String, u64>> {
        let t = self
            .txn
            .open_table(MODEL_ALIASES)
            .map_err(|e| db_err(self.path, "open model aliases", e))?;
        let map = |e: redb::StorageError| db_err(self.path, "read model aliases", e);
        let mut out = BTreeMap::new();
        for item in t.range((name, "")..).map_err(map)? {
            let (k, v) = item.map_err(map)?;
            let (model, alias) = k.value();
            if model != name {
                break;
            }
            out.insert(alias.to_string(), v.value());
        }
        Ok(out)
    }

    fn touch(&self, name: &str, time: i64) -> Result<()> {
        if let Some(mut m) = self.model(name)? {
            m.last_updated_timestamp = time;
            self.put_model(&m)?;
        }
        Ok(())
    }

    fn remove_all(&self, name: &str) -> Result<()> {
        let map = |e: redb::StorageError| db_err(self.path, "delete a registered model", e);
        let open = |e: redb::TableError| db_err(self.path, "open the registry tables", e);
        self.txn
            .open_table(REGISTERED_MODELS)
            .map_err(open)?
            .remove(name)
            .map_err(map)?;
        let versions: Vec<u64> = self.versions(name)?.iter().map(|v| v.version).collect();
        let mut t = self.txn.open_table(MODEL_VERSIONS).map_err(open)?;
        for v in versions {
            t.remove((name, v)).map_err(map)?;
        }
        let aliases = self.aliases(name)?;
        let mut t = self.txn.open_table(MODEL_ALIASES).map_err(open)?;
        for alias in aliases.keys() {
            t.remove((name, alias.as_str())).map_err(map)?;
        }
        let imported: Vec<u64> = self.imported_fields(name)?.into_keys().collect();
        if !imported.is_empty() {
            let mut t = self.txn.open_table(MODEL_VERSION_IMPORTED).map_err(open)?;
            for v in imported {
                t.remove((name, v)).map_err(map)?;
            }
        }
        Ok(())
    }

    /// The imported fields of the versions of `name` that have them, by version.
    pub fn imported_fields(&self, name: &str) -> Result<BTreeMap<u64, ImportedVersionFields>> {
        let t = match self.txn.open_table(MODEL_VERSION_IMPORTED) {
            Ok(t) => t,
            Err(e) => return Err(db_err(self.path, "open imported model versions", e)),
        };
        let map = |e: redb::StorageError| db_err(self.path, "read imported model versions", e);
        let mut out = BTreeMap::new();
        for item in t.range((name, 0u64)..=(name, u64::MAX)).map_err(map)? {
            let (k, v) = item.map_err(map)?;
            out.insert(
                k.value().1,
                decode(self.path, "imported model version", v.value())?,
            );
        }
        Ok(out)
    }

    fn put_imported_fields(
        &self,
        name: &str,
        version: u64,
        fields: &ImportedVersionFields,
    ) -> Result<()> {
        self.txn
            .open_table(MODEL_VERSION_IMPORTED)
            .map_err(|e| db_err(self.path, "open imported model versions", e))?
            .insert((name, version), encode(fields).as_slice())
            .map_err(|e| db_err(self.path, "write an imported model version", e))?;
        Ok(())
    }

    fn set_alias(&self, name: &str, alias: &str, version: u64) -> Result<()> {
        self.txn
            .open_table(MODEL_ALIASES)
            .map_err(|e| db_err(self.path, "open model aliases", e))?
            .insert((name, alias), version)
            .map_err(|e| db_err(self.path, "write a model alias", e))?;
        Ok(())
    }

    fn remove_alias(&self, name: &str, alias: &str) -> Result<bool> {
        Ok(self
            .txn
            .open_table(MODEL_ALIASES)
            .map_err(|e| db_err(self.path, "open model aliases", e))?
            .remove((name, alias))
            .map_err(|e| db_err(self.path, "delete a model alias", e))?
            .is_some())
    }

    /// Applies one operation.
    pub fn apply(&self, op: &ModelOp) -> Result<()> {
        match op {
            ModelOp::CreateModel {
                name,
                time,
                description,
                tags,
            } => {
                // A model created again after a deletion starts afresh (MLflow removes the
                // folder): nothing of the old one may remain.
                self.remove_all(name)?;
                self.put_model(&ModelRecord {
                    name: name.clone(),
                    creation_timestamp: *time,
                    last_updated_timestamp: *time,
                    description: description.clone(),
                    tags: tags.clone(),
                })
            }
            ModelOp::RenameModel {
                name,
                new_name,
                time,
            } => {
                let Some(mut m) = self.model(name)? else {
                    return Ok(());
                };
                let versions = self.versions(name)?;
                let aliases = self.aliases(name)?;
                let imported = self.imported_fields(name)?;
                self.remove_all(name)?;
                self.remove_all(new_name)?;
                m.name = new_name.clone();
                m.last_updated_timestamp = *time;
                self.put_model(&m)?;
                for mut v in versions {
                    v.name = new_name.clone();
                    v.last_updated_timestamp = *time;
                    self.put_version(&v)?;
                }
                for (alias, version) in aliases {
                    self.set_alias(new_name, &alias, version)?;
                }
                for (version, fields) in imported {
                    self.put_imported_fields(new_name, version, &fields)?;
                }
                Ok(())
            }
            ModelOp::UpdateModel {
                name,
                description,
                time,
            } => {
                if let Some(mut m) = self.model(name)? {
                    m.description = description.clone();
                    m.last_updated_timestamp = *time;
                    self.put_model(&m)?;
                }
                Ok(())
            }
            ModelOp::SetModelTag {
                name,
                key,
                value,
                time,
            } => {
                if let Some(mut m) = self.model(name)? {
                    m.tags.insert(key.clone(), value.clone());
                    m.last_updated_timestamp = *time;
                    self.put_model(&m)?;
                }
                Ok(())
            }
            ModelOp::DeleteModelTag { name, key, time } => {
                if let Some(mut m) = self.model(name)? {
                    m.tags.remove(key);
                    m.last_updated_timestamp = *time;
                    self.put_model(&m)?;
                }
                Ok(())
            }
            ModelOp::DeleteModel { name } => self.remove_all(name),
            ModelOp::CreateVersion {
                name,
                version,
                time,
                source,
                run_id,
                description,
                tags,
            } => {
                if self.model(name)?.is_none() {
                    return Ok(());
                }
                self.touch(name, *time)?;
                self.put_version(&VersionRecord {
                    name: name.clone(),
                    version: *version,
                    creation_timestamp: *time,
                    last_updated_timestamp: *time,
                    description: description.clone(),
                    source: source.clone(),
                    run_id: run_id.clone(),
                    status: ModelVersionStatus::Ready,
                    stage: Stage::None,
                    deleted: false,
                    tags: tags.clone(),
                })
            }
            ModelOp::UpdateVersion {
                name,
                version,
                description,
                time,
            } => {
                if let Some(mut v) = self.version(name, *version)? {
                    v.description = description.clone();
                    v.last_updated_timestamp = *time;
                    self.put_version(&v)?;
                }
                Ok(())
            }
            ModelOp::SetVersionTag {
                name,
                version,
                key,
                value,
                time,
            } => {
                if let Some(mut v) = self.version(name, *version)? {
                    v.tags.insert(key.clone(), value.clone());
                    self.put_version(&v)?;
                    self.touch(name, *time)?;
                }
                Ok(())
            }
            ModelOp::DeleteVersionTag {
                name,
                version,
                key,
                time,
            } => {
                if let Some(mut v) = self.version(name, *version)? {
                    v.tags.remove(key);
                    self.put_version(&v)?;
                    self.touch(name, *time)?;
                }
                Ok(())
            }
            ModelOp::Transition {
                name,
                version,
                stage,
                archive_existing,
                time,
            } => {
                let Some(mut target) = self.version(name, *version)? else {
                    return Ok(());
                };
                if *archive_existing {
                    for mut other in self.versions(name)? {
                        if other.version != *version && !other.deleted && other.stage == *stage {
                            other.stage = Stage::Archived;
                            other.last_updated_timestamp = *time;
                            self.put_version(&other)?;
                        }
                    }
                }
                target.stage = *stage;
                target.last_updated_timestamp = *time;
                self.put_version(&target)?;
                self.touch(name, *time)
            }
            ModelOp::DeleteVersion {
                name,
                version,
                time,
            } => {
                let Some(mut v) = self.version(name, *version)? else {
                    return Ok(());
                };
                v.deleted = true;
                v.last_updated_timestamp = *time;
                self.put_version(&v)?;
                for (alias, target) in self.aliases(name)? {
                    if target == *version {
                        self.remove_alias(name, &alias)?;
                    }
                }
                self.touch(name, *time)
            }
            ModelOp::SetAlias {
                name,
                alias,
                version,
                time,
            } => {
                if self.model(name)?.is_some() {
                    self.set_alias(name, alias, *version)?;
                    self.touch(name, *time)?;
                }
                Ok(())
            }
            ModelOp::DeleteAlias { name, alias, time } => {
                if self.remove_alias(name, alias)? {
                    self.touch(name, *time)?;
                }
                Ok(())
            }
            ModelOp::ImportModel {
                name,
                creation_timestamp,
                last_updated_timestamp,
                description,
                tags,
                aliases,
                versions,
            } => {
                self.remove_all(name)?;
                self.put_model(&ModelRecord {
                    name: name.clone(),
                    creation_timestamp: *creation_timestamp,
                    last_updated_timestamp: *last_updated_timestamp,
                    description: description.clone(),
                    tags: tags.clone(),
                })?;
                for v in versions {
                    self.put_version(&VersionRecord {
                        name: name.clone(),
                        version: v.version,
                        creation_timestamp: v.creation_timestamp,
                        last_updated_timestamp: v.last_updated_timestamp,
                        description: v.description.clone(),
                        source: v.source.clone(),
                        run_id: v.run_id.clone(),
                        status: ModelVersionStatus::Ready,
                        stage: v.stage,
                        deleted: v.deleted,
                        tags: v.tags.clone(),
                    })?;
                    self.put_imported_fields(name, v.version, &v.fields)?;
                }
                for (alias, version) in aliases {
                    self.set_alias(name, alias, *version)?;
                }
                Ok(())
            }
        }
    }
}
