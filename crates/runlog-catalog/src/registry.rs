//! The model registry on [`Catalog`]: registered models, versions, stages, aliases, searches
//! and `models:/` URIs, with MLflow 3.17.2's names and rules.
//!
//! Changes go through `<store>/models.log` exactly like experiment changes go through
//! `experiments.log`: begin a write transaction, catch up with the journal, check, journal the
//! operations (fdatasync), apply them, commit. The tables are in `catalog.redb`
//! (`registered_models`, `model_versions`, `model_aliases`); a catalog written before the
//! registry existed gets them at its first registry change.
//!
//! Where MLflow's file store and its SQL store differ, runlog follows the SQL store when the
//! file store is plainly broken: renaming a model keeps its tags and aliases (the 3.17.2
//! file store loses them, and fails halfway when a version has tags), and the `latest` alias
//! is the highest live version (the file store picks the latest version of whichever stage a
//! Python set yields first).

use std::collections::BTreeMap;

use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use runlog_search::{
    ModelVersionFilter, ModelVersionView, RegisteredModelFilter, RegisteredModelView,
    RegistryOrderBy, RegistryPage,
};

use crate::catalog::{Catalog, decode, now_ms};
use crate::db::{K_MODELS_JOURNAL, META, MODEL_ALIASES, MODEL_VERSIONS, REGISTERED_MODELS, db_err};
use crate::error::{CatalogError, Result};
use crate::journal;
use crate::registry_model::{
    ModelLineage, ModelUri, ModelVersion, RegisteredModel, RegistryEntry, Stage, StoredVersion,
};
use crate::registry_ops::{ModelOp, ModelRecord, Registry, VersionRecord};
use crate::validation;

/// File name of the model registry's journal inside a store.
pub const MODELS_JOURNAL: &str = "models.log";

/// One model as read: its record, every version (deleted ones included) and its aliases.
type Loaded = (ModelRecord, Vec<VersionRecord>, BTreeMap<String, u64>);

fn version_out(v: &VersionRecord, aliases: &BTreeMap<String, u64>) -> ModelVersion {
    ModelVersion {
        name: v.name.clone(),
        version: v.version,
        creation_timestamp: v.creation_timestamp,
        last_updated_timestamp: v.last_updated_timestamp,
        description: v.description.clone(),
        source: v.source.clone(),
        run_id: v.run_id.clone(),
        status: v.status,
        current_stage: v.stage,
        tags: v.tags.clone(),
        aliases: aliases
            .iter()
            .filter(|(_, n)| **n == v.version)
            .map(|(a, _)| a.clone())
            .collect(),
    }
}

/// The highest live version in each of `stages`, in that order.
fn latest_in(
    versions: &[VersionRecord],
    aliases: &BTreeMap<String, u64>,
    stages: &[Stage],
) -> Vec<ModelVersion> {
    stages
        .iter()
        .filter_map(|s| {
            versions
                .iter()
                .filter(|v| !v.deleted && v.stage == *s)
                .max_by_key(|v| v.version)
                .map(|v| version_out(v, aliases))
        })
        .collect()
}

fn model_out((m, versions, aliases): &Loaded) -> RegisteredModel {
    RegisteredModel {
        name: m.name.clone(),
        creation_timestamp: m.creation_timestamp,
        last_updated_timestamp: m.last_updated_timestamp,
        description: m.description.clone(),
        tags: m.tags.clone(),
        aliases: aliases.clone(),
        latest_versions: latest_in(versions, aliases, &Stage::ALL),
    }
}

/// "; its versions are 1, 2 (3 deleted)" for a version-not-found error.
fn versions_hint(versions: &[VersionRecord]) -> String {
    let live: Vec<String> = versions
        .iter()
        .filter(|v| !v.deleted)
        .map(|v| v.version.to_string())
        .collect();
    let deleted: Vec<String> = versions
        .iter()
        .filter(|v| v.deleted)
        .map(|v| v.version.to_string())
        .collect();
    let mut hint = if live.is_empty() {
        "; it has no versions".to_string()
    } else {
        format!("; its versions are {}", live.join(", "))
    };
    if !deleted.is_empty() {
        hint.push_str(&format!(" (deleted: {})", deleted.join(", ")));
    }
    hint
}

fn aliases_hint(aliases: &BTreeMap<String, u64>) -> String {
    if aliases.is_empty() {
        "; it has no aliases".into()
    } else {
        let all: Vec<String> = aliases.iter().map(|(a, v)| format!("{a} (v{v})")).collect();
        format!("; its aliases are {}", all.join(", "))
    }
}

fn tag_map(tags: &[(&str, &str)]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Catalog {
    // ----------------------------------------------------------------------------------
    // Journal and transactions

    /// Applies what `models.log` holds beyond what the catalog has applied.
    pub(crate) fn catch_up_models(&self, txn: &WriteTransaction) -> Result<()> {
        let path = self.root().join(MODELS_JOURNAL);
        let applied = self.meta_get(txn, K_MODELS_JOURNAL)?;
        let len = journal::len(&path).map_err(|e| CatalogError::io(&path, e))?;
        if len <= applied {
            return Ok(());
        }
        let read = journal::read_from::<ModelOp>(&path, applied)
            .map_err(|e| CatalogError::io(&path, e))?;
        let registry = Registry {
            txn,
            path: &self.db_path,
        };
        for ops in &read.txns {
            for op in ops {
                registry.apply(op)?;
            }
        }
        self.meta_set(txn, K_MODELS_JOURNAL, read.end)
    }

    /// Whether `models.log` is longer than what the catalog applied.
    pub(crate) fn models_journal_behind(&self, rtx: &ReadTransaction) -> Result<bool> {
        let applied = rtx
            .open_table(META)
            .map_err(|e| db_err(&self.db_path, "open meta", e))?
            .get(K_MODELS_JOURNAL)
            .map_err(|e| db_err(&self.db_path, "read meta", e))?
            .map_or(0, |v| v.value());
        let path = self.root().join(MODELS_JOURNAL);
        Ok(journal::len(&path).map_err(|e| CatalogError::io(&path, e))? > applied)
    }

    /// One registry transaction: catch up, let `build` check and choose the operations
    /// against the current state, journal them, apply them.
    pub(crate) fn registry_txn<T>(
        &self,
        build: impl FnOnce(&Registry<'_>) -> Result<(Vec<ModelOp>, T)>,
    ) -> Result<T> {
        self.write(|txn| {
            self.catch_up_models(txn)?;
            let registry = Registry {
                txn,
                path: &self.db_path,
            };
            let (ops, out) = build(&registry)?;
            if ops.is_empty() {
                return Ok(out);
            }
            let path = self.root().join(MODELS_JOURNAL);
            let before = journal::len(&path).map_err(|e| CatalogError::io(&path, e))?;
            let len = journal::append(&path, &ops).map_err(|e| CatalogError::io(&path, e))?;
            let applied = (|| {
                for op in &ops {
                    registry.apply(op)?;
                }
                self.meta_set(txn, K_MODELS_JOURNAL, len)
            })();
            if let Err(e) = applied {
                // Still under the write lock: nobody appended since.
                let _ = journal::truncate(&path, before);
                return Err(e);
            }
            Ok(out)
        })
    }

    fn existing_model(registry: &Registry<'_>, name: &str) -> Result<ModelRecord> {
        registry
            .model(name)?
            .ok_or_else(|| CatalogError::model_not_found(name))
    }

    fn live_version(registry: &Registry<'_>, name: &str, version: u64) -> Result<VersionRecord> {
        Self::existing_model(registry, name)?;
        match registry.version(name, version)? {
            Some(v) if !v.deleted => Ok(v),
            _ => Err(CatalogError::ModelVersionNotFound {
                name: name.to_string(),
                version,
                hint: versions_hint(&registry.versions(name)?),
            }),
        }
    }

    // ----------------------------------------------------------------------------------
    // Reading

    /// Every model (or only `only`), with versions and aliases, read in one transaction.
    fn load_models(&self, only: Option<&str>) -> Result<Vec<Loaded>> {
        let rtx = self.read()?;
        let map = |e: redb::StorageError| db_err(&self.db_path, "read the registry", e);
        let open_err = |e| db_err(&self.db_path, "open the registry tables", e);
        let models = match rtx.open_table(REGISTERED_MODELS) {
            Ok(t) => t,
            // A catalog that never held a registered model.
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(open_err(e)),
        };
        // Created with the first model: present whenever models are.
        let versions = rtx.open_table(MODEL_VERSIONS).map_err(open_err)?;
        let aliases = rtx.open_table(MODEL_ALIASES).map_err(open_err)?;
        let mut records: Vec<ModelRecord> = Vec::new();
        match only {
            Some(name) => {
                if let Some(v) = models.get(name).map_err(map)? {
                    records.push(decode(&self.db_path, "registered model", v.value())?);
                }
            }
            None => {
                for item in models.iter().map_err(map)? {
                    let (_, v) = item.map_err(map)?;
                    records.push(decode(&self.db_path, "registered model", v.value())?);
                }
            }
        }
        let mut out = Vec::with_capacity(records.len());
        for m in records {
            let name = m.name.as_str();
            let mut vs = Vec::new();
            for item in versions
                .range((name, 0u64)..=(name, u64::MAX))
                .map_err(map)?
            {
                let (_, v) = item.map_err(map)?;
                vs.push(decode(&self.db_path, "model version", v.value())?);
            }
            let mut al = BTreeMap::new();
            for item in aliases.range((name, "")..).map_err(map)? {
                let (k, v) = item.map_err(map)?;
                let (model, alias) = k.value();
                if model != name {
                    break;
                }
                al.insert(alias.to_string(), v.value());
            }
            out.push((m, vs, al));
        }
        Ok(out)
    }

    /// Every registered model with all its versions, deleted ones included (MLflow keeps
    /// them as `Deleted_Internal` so that their numbers are never given again), sorted by
    /// name and version, read in one transaction: what an exporter writes.
    pub fn registry_snapshot(&self) -> Result<Vec<RegistryEntry>> {
        let mut out: Vec<RegistryEntry> = self
            .load_models(None)?
            .iter()
            .map(|loaded| RegistryEntry {
                model: model_out(loaded),
                versions: loaded
                    .1
                    .iter()
                    .map(|v| StoredVersion {
                        version: version_out(v, &loaded.2),
                        deleted: v.deleted,
                    })
                    .collect(),
            })
            .collect();
        out.sort_by(|a, b| a.model.name.cmp(&b.model.name));
        for entry in &mut out {
            entry.versions.sort_by_key(|v| v.version.version);
        }
        Ok(out)
    }

    fn load_model(&self, name: &str) -> Result<Loaded> {
        validation::validate_model_name(name)?;
        self.load_models(Some(name))?
            .pop()
            .ok_or_else(|| CatalogError::model_not_found(name))
    }

    // ----------------------------------------------------------------------------------
    // Registered models

    /// Creates a registered model (MLflow's `create_registered_model`); names are unique.
    pub fn create_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
        tags: &[(&str, &str)],
    ) -> Result<RegisteredModel> {
        validation::validate_model_name(name)?;
        for (k, v) in tags {
            validation::validate_model_tag(k, v)?;
        }
        self.registry_txn(|r| {
            if r.model(name)?.is_some() {
                return Err(CatalogError::ModelExists {
                    name: name.to_string(),
                });
            }
            let op = ModelOp::CreateModel {
                name: name.to_string(),
                time: now_ms(),
                description: description.map(str::to_string),
                tags: tag_map(tags),
            };
            Ok((vec![op], ()))
        })?;
        self.get_registered_model(name)
    }

    /// The registered model `name`, with its tags, aliases and latest version per stage.
    pub fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        Ok(model_out(&self.load_model(name)?))
    }

    /// Renames a registered model; its versions, tags and aliases follow (every version's
    /// `last_updated_timestamp` moves, as in MLflow).
    pub fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel> {
        validation::validate_model_name(name)?;
        validation::validate_model_name(new_name)?;
        self.registry_txn(|r| {
            Self::existing_model(r, name)?;
            if r.model(new_name)?.is_some() {
                return Err(CatalogError::ModelExists {
                    name: new_name.to_string(),
                });
            }
            let op = ModelOp::RenameModel {
                name: name.to_string(),
                new_name: new_name.to_string(),
                time: now_ms(),
            };
            Ok((vec![op], ()))
        })?;
        self.get_registered_model(new_name)
    }

    /// Sets (or with `None` clears) a registered model's description.
    pub fn update_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        validation::validate_model_name(name)?;
        self.registry_txn(|r| {
            Self::existing_model(r, name)?;
            let op = ModelOp::UpdateModel {
                name: name.to_string(),
                description: description.map(str::to_string),
                time: now_ms(),
            };
            Ok((vec![op], ()))
        })?;
        self.get_registered_model(name)
    }

    /// Sets a tag of a registered model.
    pub fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> Result<()> {
        validation::validate_model_name(name)?;
        validation::validate_model_tag(key, value)?;
        self.registry_txn(|r| {
            Self::existing_model(r, name)?;
            let op = ModelOp::SetModelTag {
                name: name.to_string(),
                key: key.to_string(),
                value: value.to_string(),
                time: now_ms(),
            };
            Ok((vec![op], ()))
        })
    }

    /// Deletes a tag of a registered model; a key it does not have is no error (MLflow).
    pub fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        validation::validate_model_name(name)?;
        validation::validate_tag_key(key)?;
        self.registry_txn(|r| {
            let m = Self::existing_model(r, name)?;
            if !m.tags.contains_key(key) {
                return Ok((vec![], ()));
            }
            let op = ModelOp::DeleteModelTag {
                name: name.to_string(),
                key: key.to_string(),
                time: now_ms(),
            };
            Ok((vec![op], ()))
        })
    }

    /// Deletes a registered model with all its versions and aliases. The name is free again,
    /// and a model created with it starts at version 1 (MLflow removes the folder).
    pub fn delete_registered_model(&self, name: &str) -> Result<()> {
        validation::validate_model_name(name)?;
        self.registry_txn(|r| {
            Self::existing_model(r, name)?;
            Ok((
                vec![ModelOp::DeleteModel {
                    name: name.to_string(),
                }],
                (),
            ))
        })
    }

    /// MLflow's `search_registered_models`: models matching `filter` (`name`, `tags.<key>`;
    /// see `runlog_search::RegisteredModelFilter`), sorted by `order_by` (`name`,
    /// `creation_timestamp`, `last_updated_timestamp`; then name), one page of at most
    /// `max_results` (1 … 1000; MLflow's default is 100). Prompts are left out.
    pub fn search_registered_models(
        &self,
        filter: Option<&str>,
        order_by: &[&str],
        max_results: usize,
        page_token: Option<&str>,
    ) -> Result<RegistryPage<RegisteredModel>> {
        let text = filter.unwrap_or("");
        let filter = RegisteredModelFilter::parse(text)?.hiding_prompts(text);
        let order: Vec<RegistryOrderBy> = order_by
            .iter()
            .map(|o| RegistryOrderBy::parse_for_models(o))
            .collect::<Result<_, _>>()?;
        let loaded = self.load_models(None)?;
        let hits: Vec<(RegisteredModelView, &Loaded)> = loaded
            .iter()
            .map(|l| {
                let view = RegisteredModelView {
                    name: l.0.name.clone(),
                    creation_timestamp: l.0.creation_timestamp,
                    last_updated_timestamp: l.0.last_updated_timestamp,
                    tags: l.0.tags.clone(),
                };
                (view, l)
            })
            .collect();
        let page = runlog_search::search_registered_models(
            hits.iter().map(Hit),
            &filter,
            &order,
            max_results,
            page_token,
        )?;
        Ok(RegistryPage {
            items: page.items.into_iter().map(|h| model_out(h.0.1)).collect(),
            next_page_token: page.next_page_token,
        })
    }

    // ----------------------------------------------------------------------------------
    // Versions

    /// Creates the next version of registered model `name` (1, 2, 3 … never reusing a
    /// deleted version's number), in stage None, status READY. `source` is where its files
    /// are; a `models:/name/…` source must resolve to an existing version.
    pub fn create_model_version(
        &self,
        name: &str,
        source: &str,
        run_id: Option<&str>,
        description: Option<&str>,
        tags: &[(&str, &str)],
    ) -> Result<ModelVersion> {
        validation::validate_model_name(name)?;
        for (k, v) in tags {
            validation::validate_model_tag(k, v)?;
        }
        if let Some(id) = run_id {
            validation::validate_run_id(id)?;
        }
        if source
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("models:"))
            && let Ok(uri) = ModelUri::parse(source)
        {
            self.resolve_parsed(&uri).map_err(|e| {
                CatalogError::InvalidArgument(format!(
                    "unable to fetch the model of source {source:?}: {e}"
                ))
            })?;
        }
        let version = self.registry_txn(|r| {
            Self::existing_model(r, name)?;
            let version = r.versions(name)?.last().map_or(1, |v| v.version + 1);
            let op = ModelOp::CreateVersion {
                name: name.to_string(),
                version,
                time: now_ms(),
                source: source.to_string(),
                run_id: run_id.map(str::to_string),
                description: description.map(str::to_string),
                tags: tag_map(tags),
            };
            Ok((vec![op], version))
        })?;
        self.get_model_version(name, version)
    }

    /// Version `version` of registered model `name` (not a deleted one).
    pub fn get_model_version(&self, name: &str, version: u64) -> Result<ModelVersion> {
        let (_, versions, aliases) = self.load_model(name)?;
        match versions.iter().find(|v| v.version == version) {
            Some(v) if !v.deleted => Ok(version_out(v, &aliases)),
            _ => Err(CatalogError::ModelVersionNotFound {
                name: name.to_string(),
                version,
                hint: versions_hint(&versions),
            }),
        }
    }

    /// Sets (or with `None` clears) a version's description.
    pub fn update_model_version(
        &self,
        name: &str,
        version: u64,
        description: Option<&str>,
    ) -> Result<ModelVersion> {
        validation::validate_model_name(name)?;
        self.registry_txn(|r| {
            Self::live_version(r, name, version)?;
            let op = ModelOp::UpdateVersion {
                name: name.to_string(),
                version,
                description: description.map(str::to_string),
                time: now_ms(),
            };
            Ok((vec![op], ()))
        })?;
        self.get_model_version(name, version)
    }

    /// Sets a tag of a model version.
    pub fn set_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<()> {
        validation::validate_model_name(name)?;
        validation::validate_model_tag(key, value)?;
        self.registry_txn(|r| {
            Self::live_version(r, name, version)?;
            let op = ModelOp::SetVersionTag {
                name: name.to_string(),
                version,
                key: key.to_string(),
                value: value.to_string(),
                time: now_ms(),
            };
            Ok((vec![op], ()))
        })
    }

    /// Deletes a tag of a model version; a key it does not have is no error (MLflow).
    pub fn delete_model_version_tag(&self, name: &str, version: u64, key: &str) -> Result<()> {
        validation::validate_model_name(name)?;
        validation::validate_tag_key(key)?;
        self.registry_txn(|r| {
            let v = Self::live_version(r, name, version)?;
            if !v.tags.contains_key(key) {
                return Ok((vec![], ()));
            }
            let op = ModelOp::DeleteVersionTag {
                name: name.to_string(),
                version,
                key: key.to_string(),
                time: now_ms(),
            };
            Ok((vec![op], ()))
        })
    }

    /// Deletes a model version and the aliases naming it. Its number is never given again.
    pub fn delete_model_version(&self, name: &str, version: u64) -> Result<()> {
        validation::validate_model_name(name)?;
        self.registry_txn(|r| {
            Self::live_version(r, name, version)?;
            let op = ModelOp::DeleteVersion {
                name: name.to_string(),
                version,
                time: now_ms(),
            };
            Ok((vec![op], ()))
        })
    }

    /// MLflow's `search_model_versions`: live versions matching `filter` (`name`, `run_id`,
    /// `source_path`, `version_number`, `tags.<key>`), sorted by `order_by` (default: last
    /// update newest first, then name, then version descending), one page of at most
    /// `max_results` (1 … 200 000; MLflow's default is 10 000).
    pub fn search_model_versions(
        &self,
        filter: Option<&str>,
        order_by: &[&str],
        max_results: usize,
        page_token: Option<&str>,
    ) -> Result<RegistryPage<ModelVersion>> {
        let text = filter.unwrap_or("");
        let filter = ModelVersionFilter::parse(text)?.hiding_prompts(text);
        let order: Vec<RegistryOrderBy> = order_by
            .iter()
            .map(|o| RegistryOrderBy::parse_for_versions(o))
            .collect::<Result<_, _>>()?;
        let loaded = self.load_models(None)?;
        let mut hits: Vec<(ModelVersionView, ModelVersion)> = Vec::new();
        for (_, versions, aliases) in &loaded {
            for v in versions.iter().filter(|v| !v.deleted) {
                let view = ModelVersionView {
                    name: v.name.clone(),
                    version: v.version,
                    creation_timestamp: v.creation_timestamp,
                    last_updated_timestamp: v.last_updated_timestamp,
                    run_id: v.run_id.clone(),
                    source: v.source.clone(),
                    tags: v.tags.clone(),
                };
                hits.push((view, version_out(v, aliases)));
            }
        }
        let page = runlog_search::search_model_versions(
            hits.into_iter().map(VersionHit),
            &filter,
            &order,
            max_results,
            page_token,
        )?;
        Ok(RegistryPage {
            items: page.items.into_iter().map(|h| h.0.1).collect(),
            next_page_token: page.next_page_token,
        })
    }

    /// MLflow's `get_latest_versions`: the highest live version in each of `stages` (every
    /// stage when empty; names in any letter case), in that order.
    pub fn get_latest_versions(&self, name: &str, stages: &[&str]) -> Result<Vec<ModelVersion>> {
        let mut wanted: Vec<Stage> = Vec::new();
        for s in stages {
            let stage = Stage::parse(s)?;
            if !wanted.contains(&stage) {
                wanted.push(stage);
            }
        }
        if wanted.is_empty() {
            wanted = Stage::ALL.to_vec();
        }
        let (_, versions, aliases) = self.load_model(name)?;
        Ok(latest_in(&versions, &aliases, &wanted))
    }

    /// Moves a version to `stage` (`None`, `Staging`, `Production`, `Archived`, any letter
    /// case). With `archive_existing_versions` (only for Staging and Production) the other
    /// versions in that stage move to Archived.
    pub fn transition_model_version_stage(
        &self,
        name: &str,
        version: u64,
        stage: &str,
        archive_existing_versions: bool,
    ) -> Result<ModelVersion> {
        let target = Stage::parse(stage)?;
        if archive_existing_versions && !target.is_active() {
            return Err(CatalogError::InvalidArgument(format!(
                "cannot archive existing model versions when moving to stage {:?}: \
                 archive_existing_versions works only with Staging and Production",
                target.as_str()
            )));
        }
        validation::validate_model_name(name)?;
        self.registry_txn(|r| {
            Self::live_version(r, name, version)?;
            let op = ModelOp::Transition {
                name: name.to_string(),
                version,
                stage: target,
                archive_existing: archive_existing_versions,
                time: now_ms(),
            };
            Ok((vec![op], ()))
        })?;
        self.get_model_version(name, version)
    }

    // ----------------------------------------------------------------------------------
    // Aliases

    /// Points `alias` at a version (moving it from another version if it named one). `latest`
    /// and `v<digits>` are reserved.
    pub fn set_registered_model_alias(&self, name: &str, alias: &str, version: u64) -> Result<()> {
        validation::validate_model_name(name)?;
        validation::validate_alias_for_lookup(alias)?;
        self.registry_txn(|r| {
            Self::existing_model(r, name)?;
            validation::validate_alias(alias)?;
            Self::live_version(r, name, version)?;
            let op = ModelOp::SetAlias {
                name: name.to_string(),
                alias: alias.to_string(),
                version,
                time: now_ms(),
            };
            Ok((vec![op], ()))
        })
    }

    /// Deletes an alias; one the model does not have is no error (MLflow).
    pub fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        validation::validate_model_name(name)?;
        validation::validate_alias_for_lookup(alias)?;
        self.registry_txn(|r| {
            Self::existing_model(r, name)?;
            if !r.aliases(name)?.contains_key(alias) {
                return Ok((vec![], ()));
            }
            let op = ModelOp::DeleteAlias {
                name: name.to_string(),
                alias: alias.to_string(),
                time: now_ms(),
            };
            Ok((vec![op], ()))
        })
    }

    /// The version `alias` names; `latest` (any case) is the highest live version.
    pub fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        validation::validate_alias_for_lookup(alias)?;
        let (_, versions, aliases) = self.load_model(name)?;
        let number = if alias.eq_ignore_ascii_case("latest") {
            versions
                .iter()
                .filter(|v| !v.deleted)
                .map(|v| v.version)
                .max()
                .ok_or_else(|| CatalogError::NoModelVersion {
                    name: name.to_string(),
                    in_stage: String::new(),
                })?
        } else {
            *aliases
                .get(alias)
                .ok_or_else(|| CatalogError::AliasNotFound {
                    name: name.to_string(),
                    alias: alias.to_string(),
                    hint: aliases_hint(&aliases),
                })?
        };
        match versions.iter().find(|v| v.version == number) {
            Some(v) if !v.deleted => Ok(version_out(v, &aliases)),
            _ => Err(CatalogError::ModelVersionNotFound {
                name: name.to_string(),
                version: number,
                hint: versions_hint(&versions),
            }),
        }
    }

    // ----------------------------------------------------------------------------------
    // URIs and lineage

    /// The version a `models:/` URI designates: `models:/name/3`, `models:/name/Production`
    /// (the highest version in that stage), `models:/name/latest` (the highest version),
    /// `models:/name@alias`.
    pub fn resolve_model_uri(&self, uri: &str) -> Result<ModelVersion> {
        self.resolve_parsed(&ModelUri::parse(uri)?)
    }

    fn resolve_parsed(&self, uri: &ModelUri) -> Result<ModelVersion> {
        match uri {
            ModelUri::Version { name, version } => self.get_model_version(name, *version),
            ModelUri::Alias { name, alias } => self.get_model_version_by_alias(name, alias),
            ModelUri::Latest { name } => self.get_model_version_by_alias(name, "latest"),
            ModelUri::Stage { name, stage } => {
                let canonical = Stage::parse(stage)?;
                self.get_latest_versions(name, &[canonical.as_str()])?
                    .pop()
                    .ok_or_else(|| CatalogError::NoModelVersion {
                        name: name.clone(),
                        in_stage: format!(" in stage {:?}", canonical.as_str()),
                    })
            }
        }
    }

    /// A model version and the run that produced it (params, tags, latest metrics), in one
    /// call: what a deployment needs to know where a model came from.
    pub fn model_version_lineage(&self, uri: &str) -> Result<ModelLineage> {
        let version = self.resolve_model_uri(uri)?;
        let run = match &version.run_id {
            Some(id) => Some(self.get_run(id).map_err(|e| match e {
                CatalogError::NotFound { .. } => CatalogError::NotFound {
                    what: "run",
                    id: id.clone(),
                    hint: format!(
                        "; version {} of registered model {:?} names it, but this store does \
                         not hold it",
                        version.version, version.name
                    ),
                },
                other => other,
            })?),
            None => None,
        };
        Ok(ModelLineage { version, run })
    }
}

/// A registered model as its search sees it, with the loaded model.
struct Hit<'a>(&'a (RegisteredModelView, &'a Loaded));

impl std::borrow::Borrow<RegisteredModelView> for Hit<'_> {
    fn borrow(&self) -> &RegisteredModelView {
        &self.0.0
    }
}

struct VersionHit((ModelVersionView, ModelVersion));

impl std::borrow::Borrow<ModelVersionView> for VersionHit {
    fn borrow(&self) -> &ModelVersionView {
        &self.0.0
    }
}
