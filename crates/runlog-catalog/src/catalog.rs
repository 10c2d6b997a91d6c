//! [`Catalog`]: experiments, runs, params, tags and latest metrics, with MLflow's rules.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, WriteTransaction};
use runlog_search::{
    ExperimentFilter, ExperimentOrderBy, ExperimentPage, ExperimentView, Filter, OrderBy, RunPage,
    RunView, Subject, ViewType,
};

use crate::db::{
    self, Db, EXPERIMENT_NAMES, EXPERIMENT_RUNS, EXPERIMENTS, K_EXPERIMENTS_JOURNAL, K_GENERATION,
    K_INSTANCE, K_NEXT_EXPERIMENT, K_SCHEMA, META, RUN_GEN, RUN_METRICS, RUNS, SCHEMA_VERSION,
    db_err,
};
use crate::error::{CatalogError, Result};
use crate::journal;
use crate::model::{
    DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, Experiment, LatestMetric, LifecycleStage, Run,
    RunRecord, RunRecordRef, RunStatus, TAG_PARENT_RUN_ID, TAG_RUN_NAME, TAG_USER,
};
use crate::ops::{ExperimentOp, RunOp};
use crate::presence::{self, Presence, WRITERS_DIR};
use crate::validation;

/// File name of the catalog database inside a store.
pub const CATALOG_FILE: &str = "catalog.redb";
/// File name of the experiments journal inside a store.
pub const EXPERIMENTS_JOURNAL: &str = "experiments.log";
/// File name of a run's journal inside its run folder.
pub const RUN_JOURNAL: &str = "RUN.log";

/// What a new run starts with; see [`Catalog::create_run`].
#[derive(Debug, Clone, Default)]
pub struct NewRun {
    /// Its id; a fresh random one (32 hex digits) when `None`.
    pub run_id: Option<String>,
    /// The experiment (default: `"0"`).
    pub experiment_id: Option<String>,
    /// Its name; from the `mlflow.runName` tag, or a generated `adjective-noun-NNN` name,
    /// when `None`.
    pub run_name: Option<String>,
    /// Start time in ms (default: now).
    pub start_time: Option<i64>,
    /// The user (also the `mlflow.user` tag); from that tag, else `unknown`, when `None`.
    pub user: Option<String>,
    /// The parent run of a nested run (also the `mlflow.parentRunId` tag).
    pub parent_run_id: Option<String>,
    /// The initial status (default RUNNING).
    pub status: Option<RunStatus>,
    /// Where its artifacts go (default: `<experiment artifact location>/<run_id>/artifacts`).
    pub artifact_uri: Option<String>,
    /// Tags to set.
    pub tags: Vec<(String, String)>,
    /// Params to log.
    pub params: Vec<(String, String)>,
}

/// The experiments, runs, params, tags and latest metrics of one store; see the crate docs.
///
/// `Send + Sync`; one per process is enough (it caches what searches read).
#[derive(Debug)]
pub struct Catalog {
    root: PathBuf,
    pub(crate) db_path: PathBuf,
    db: Db,
    cache: Mutex<Cache>,
    /// This process's mark as a writer (`None` when read-only).
    _presence: Option<Presence>,
}

#[derive(Debug, Default)]
struct Cache {
    instance: u64,
    generation: u64,
    runs: HashMap<String, Cached>,
    /// Searches answered without loading the cache (the first one of a handle).
    slim_searches: u32,
}

/// A run as searches use it: its search view, plus what the view does not hold. A [`Run`] is
/// made from it only for the runs a search returns.
#[derive(Debug, Clone)]
struct Cached {
    view: Arc<RunView>,
    /// `None` for the partial views of a first search (`slim_candidates`).
    extra: Option<Arc<Extra>>,
}

#[derive(Debug)]
struct Extra {
    status: RunStatus,
    lifecycle_stage: LifecycleStage,
    deleted_time: Option<i64>,
    start_time: i64,
    /// (step, timestamp) of each metric, in the order of `view.metrics`.
    metric_points: Vec<(i64, i64)>,
}

impl Cached {
    fn new(r: RunRecord, metrics: BTreeMap<String, LatestMetric>) -> Cached {
        let extra = Extra {
            status: r.status,
            lifecycle_stage: r.lifecycle_stage,
            deleted_time: r.deleted_time,
            start_time: r.start_time,
            metric_points: metrics.values().map(|m| (m.step, m.timestamp_ms)).collect(),
        };
        let view = RunView {
            run_id: r.run_id,
            experiment_id: r.experiment_id,
            run_name: r.run_name,
            status: r.status.as_str().to_string(),
            start_time: Some(r.start_time),
            end_time: r.end_time,
            user_id: r.user_id,
            lifecycle_stage: r.lifecycle_stage.as_str().to_string(),
            artifact_uri: Some(r.artifact_uri),
            params: r.params,
            tags: r.tags,
            metrics: metrics.into_iter().map(|(k, m)| (k, m.value)).collect(),
            datasets: Vec::new(),
        };
        Cached {
            view: Arc::new(view),
            extra: Some(Arc::new(extra)),
        }
    }

    /// The whole run (only for views loaded whole, never for partial ones).
    fn run(&self) -> Run {
        let v = &self.view;
        let e = self
            .extra
            .as_ref()
            .expect("whole runs are made from whole views");
        Run {
            run_id: v.run_id.clone(),
            experiment_id: v.experiment_id.clone(),
            run_name: v.run_name.clone(),
            status: e.status,
            start_time: e.start_time,
            end_time: v.end_time,
            user_id: v.user_id.clone(),
            lifecycle_stage: e.lifecycle_stage,
            deleted_time: e.deleted_time,
            artifact_uri: v.artifact_uri.clone().unwrap_or_default(),
            params: v.params.clone(),
            tags: v.tags.clone(),
            metrics: v
                .metrics
                .iter()
                .zip(&e.metric_points)
                .map(|((k, value), &(step, timestamp_ms))| {
                    (
                        k.clone(),
                        LatestMetric {
                            step,
                            timestamp_ms,
                            value: *value,
                        },
                    )
                })
                .collect(),
        }
    }
}

impl Borrow<RunView> for Cached {
    fn borrow(&self) -> &RunView {
        &self.view
    }
}

/// A journal the database has not applied to its end.
enum Behind {
    Experiments,
    Models,
    Run(String),
}

/// An experiment as `search_experiments` sees it, with the experiment itself.
struct ExpHit {
    view: ExperimentView,
    exp: Experiment,
}

impl Borrow<ExperimentView> for ExpHit {
    fn borrow(&self) -> &ExperimentView {
        &self.view
    }
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
    bytes: &[u8],
) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| CatalogError::Database {
        path: path.to_path_buf(),
        message: format!(
            "a {what} record is unreadable ({e}); rebuild the catalog from the journals \
             (Catalog::rebuild)"
        ),
    })
}

fn decode_ref<'a>(path: &Path, bytes: &'a [u8]) -> Result<RunRecordRef<'a>> {
    postcard::from_bytes(bytes).map_err(|e| CatalogError::Database {
        path: path.to_path_buf(),
        message: format!(
            "a run record is unreadable ({e}); rebuild the catalog from the journals \
             (Catalog::rebuild)"
        ),
    })
}

pub(crate) fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("catalog records serialise")
}

fn parse_experiment_id(id: &str) -> Result<u64> {
    validation::validate_experiment_id(id)?;
    id.parse::<u64>()
        .map_err(|_| CatalogError::experiment_not_found(id))
}

impl NewRun {
    /// A run in experiment `experiment_id`.
    pub fn in_experiment(experiment_id: impl Into<String>) -> NewRun {
        NewRun {
            experiment_id: Some(experiment_id.into()),
            ..NewRun::default()
        }
    }

    /// Names the run.
    pub fn name(mut self, name: impl Into<String>) -> NewRun {
        self.run_name = Some(name.into());
        self
    }

    /// Adds a param.
    pub fn param(mut self, key: impl Into<String>, value: impl ToString) -> NewRun {
        self.params.push((key.into(), value.to_string()));
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> NewRun {
        self.tags.push((key.into(), value.into()));
        self
    }

    /// Makes it a nested run of `parent_run_id`.
    pub fn parent(mut self, parent_run_id: impl Into<String>) -> NewRun {
        self.parent_run_id = Some(parent_run_id.into());
        self
    }

    /// Sets the start time (ms since the epoch).
    pub fn start_time(mut self, start_time_ms: i64) -> NewRun {
        self.start_time = Some(start_time_ms);
        self
    }
}

impl Catalog {
    /// Opens the catalog of the store at `root` for reading and writing, creating it when it
    /// does not exist; a missing catalog is rebuilt from the journals and run folders. A new
    /// or empty folder becomes a store (as `MetricStore::open` makes it); a non-empty folder
    /// that is not one is refused.
    pub fn open(root: impl AsRef<Path>) -> Result<Catalog> {
        let root = root.as_ref().to_path_buf();
        // The store folder as the metric store makes it (`FORMAT`, `runs/`), so that either
        // layer may open a new folder first.
        runlog_metrics::MetricStore::open(&root)?;
        let db_path = root.join(CATALOG_FILE);
        let presence =
            Presence::register(&root).map_err(|e| CatalogError::io(root.join(WRITERS_DIR), e))?;
        let database = db::open_rw(&db_path)?;
        let catalog = Catalog {
            root,
            db_path,
            db: Db::Rw(database),
            cache: Mutex::new(Cache::default()),
            _presence: Some(presence),
        };
        catalog.initialise()?;
        catalog.recover()?;
        Ok(catalog)
    }

    /// Applies the journal lines that processes killed between journaling and committing
    /// left behind (see `presence.rs`); cheap when no writer died. Runs at every writable
    /// open; returns how many journals were behind.
    pub fn recover(&self) -> Result<usize> {
        let writers = self.root.join(WRITERS_DIR);
        let dead = presence::dead_writers(&self.root).map_err(|e| CatalogError::io(&writers, e))?;
        if dead.is_empty() {
            return Ok(0);
        }
        let behind = self.journals_behind()?;
        let count = behind.len();
        if count > 0 {
            self.write(|txn| {
                for journal in &behind {
                    match journal {
                        Behind::Experiments => self.catch_up_experiments(txn)?,
                        Behind::Models => self.catch_up_models(txn)?,
                        Behind::Run(run_id) => {
                            self.catch_up_run(txn, run_id, None)?;
                        }
                    }
                }
                Ok(())
            })?;
        }
        for (path, _lock) in dead {
            let _ = std::fs::remove_file(path);
        }
        Ok(count)
    }

    /// The journals longer than what the database applied.
    fn journals_behind(&self) -> Result<Vec<Behind>> {
        let rtx = self.read()?;
        let mut out = Vec::new();
        let applied = rtx
            .open_table(META)
            .map_err(|e| db_err(&self.db_path, "open meta", e))?
            .get(K_EXPERIMENTS_JOURNAL)
            .map_err(|e| db_err(&self.db_path, "read meta", e))?
            .map_or(0, |v| v.value());
        let path = self.root.join(EXPERIMENTS_JOURNAL);
        if journal::len(&path).map_err(|e| CatalogError::io(&path, e))? > applied {
            out.push(Behind::Experiments);
        }
        if self.models_journal_behind(&rtx)? {
            out.push(Behind::Models);
        }
        let runs = rtx
            .open_table(RUNS)
            .map_err(|e| db_err(&self.db_path, "open runs", e))?;
        let runs_dir = self.root.join("runs");
        let entries = match std::fs::read_dir(&runs_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(CatalogError::io(&runs_dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| CatalogError::io(&runs_dir, e))?;
            let Some(run_id) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let path = entry.path().join(RUN_JOURNAL);
            let len = journal::len(&path).map_err(|e| CatalogError::io(&path, e))?;
            if len == 0 {
                continue;
            }
            let applied = match runs
                .get(run_id.as_str())
                .map_err(|e| db_err(&self.db_path, "read a run", e))?
            {
                Some(v) => decode::<RunRecord>(&self.db_path, "run", v.value())?.journal_len,
                None => 0,
            };
            if len > applied {
                out.push(Behind::Run(run_id));
            }
        }
        Ok(out)
    }

    /// Opens the catalog read-only. It must exist. Searches and reads see every commit of the
    /// writing processes; every method that changes something fails.
    pub fn open_read_only(root: impl AsRef<Path>) -> Result<Catalog> {
        let root = root.as_ref().to_path_buf();
        let db_path = root.join(CATALOG_FILE);
        if !db_path.exists() {
            return Err(CatalogError::NotFound {
                what: "catalog",
                id: db_path.display().to_string(),
                hint: "; open the store for writing once to create it".into(),
            });
        }
        let database = db::open_ro(&db_path)?;
        let catalog = Catalog {
            root,
            db_path,
            db: Db::Ro(database),
            cache: Mutex::new(Cache::default()),
            _presence: None,
        };
        let rtx = catalog.read()?;
        catalog.check_schema(&rtx)?;
        Ok(catalog)
    }

    /// The store folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of run `run_id`.
    pub fn run_dir(&self, run_id: &str) -> PathBuf {
        self.root.join("runs").join(run_id)
    }

    pub(crate) fn read(&self) -> Result<ReadTransaction> {
        self.db.begin_read(&self.db_path)
    }

    pub(crate) fn write<T>(&self, f: impl FnOnce(&WriteTransaction) -> Result<T>) -> Result<T> {
        let database = self.db.writable().ok_or_else(|| {
            CatalogError::InvalidState(
                "this catalog was opened read-only; open the store for writing to change it".into(),
            )
        })?;
        let mut txn = database
            .begin_write()
            .map_err(|e| db_err(&self.db_path, "begin a write transaction", e))?;
        txn.set_quick_repair(true);
        match f(&txn) {
            Ok(v) => {
                txn.commit()
                    .map_err(|e| db_err(&self.db_path, "commit", e))?;
                Ok(v)
            }
            Err(e) => {
                let _ = txn.abort();
                Err(e)
            }
        }
    }

    fn check_schema(&self, rtx: &ReadTransaction) -> Result<()> {
        let meta = match rtx.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => {
                return Err(CatalogError::Database {
                    path: self.db_path.clone(),
                    message: "the catalog is not initialised yet; open the store for writing"
                        .into(),
                });
            }
            Err(e) => return Err(db_err(&self.db_path, "open the meta table", e)),
        };
        let found = meta
            .get(K_SCHEMA)
            .map_err(|e| db_err(&self.db_path, "read the schema version", e))?
            .map(|v| v.value());
        match found {
            Some(SCHEMA_VERSION) => Ok(()),
            Some(found) => Err(CatalogError::UnsupportedVersion {
                path: self.db_path.clone(),
                found,
                supported: SCHEMA_VERSION,
            }),
            None => Err(CatalogError::Database {
                path: self.db_path.clone(),
                message: "the catalog has no schema version".into(),
            }),
        }
    }

    /// Creates the tables on first open; a fresh catalog replays every journal (so a deleted
    /// catalog comes back from the run folders).
    fn initialise(&self) -> Result<()> {
        {
            let rtx = self.read()?;
            if rtx.open_table(META).is_ok() {
                return self.check_schema(&rtx);
            }
        }
        self.write(|txn| {
            let schema = {
                let meta = txn
                    .open_table(META)
                    .map_err(|e| db_err(&self.db_path, "create the meta table", e))?;
                meta.get(K_SCHEMA)
                    .map_err(|e| db_err(&self.db_path, "read the schema", e))?
                    .map(|v| v.value())
            };
            if schema.is_some() {
                // Another process initialised it while we waited for the write lock.
                return Ok(());
            }
            let instance = {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                t ^ ((std::process::id() as u64) << 32)
            };
            {
                let mut meta = txn
                    .open_table(META)
                    .map_err(|e| db_err(&self.db_path, "open meta", e))?;
                for (k, v) in [
                    (K_SCHEMA, SCHEMA_VERSION),
                    (K_INSTANCE, instance),
                    (K_GENERATION, 1),
                    (K_NEXT_EXPERIMENT, 1),
                    (K_EXPERIMENTS_JOURNAL, 0),
                ] {
                    meta.insert(k, v)
                        .map_err(|e| db_err(&self.db_path, "write meta", e))?;
                }
                txn.open_table(EXPERIMENTS)
                    .map_err(|e| db_err(&self.db_path, "create tables", e))?;
                txn.open_table(EXPERIMENT_NAMES)
                    .map_err(|e| db_err(&self.db_path, "create tables", e))?;
                txn.open_table(RUNS)
                    .map_err(|e| db_err(&self.db_path, "create tables", e))?;
                txn.open_table(RUN_METRICS)
                    .map_err(|e| db_err(&self.db_path, "create tables", e))?;
                txn.open_table(EXPERIMENT_RUNS)
                    .map_err(|e| db_err(&self.db_path, "create tables", e))?;
                txn.open_table(RUN_GEN)
                    .map_err(|e| db_err(&self.db_path, "create tables", e))?;
            }
            self.catch_up_experiments(txn)?;
            if self.load_experiment(txn, 0)?.is_none() {
                let ops = [ExperimentOp::Create {
                    id: 0,
                    name: DEFAULT_EXPERIMENT_NAME.into(),
                    artifact_location: self.default_artifact_location(0),
                    time: now_ms(),
                    tags: BTreeMap::new(),
                }];
                self.journal_experiment_ops(txn, &ops)?;
            }
            self.replay_run_folders(txn)?;
            self.catch_up_models(txn)?;
            Ok(())
        })
    }

    /// `file://<store>/artifacts/<id>`, the path percent-encoded as Python's
    /// `pathlib.Path.as_uri()` does (MLflow's `path_to_local_file_uri`).
    pub(crate) fn default_artifact_location(&self, id: u64) -> String {
        use std::os::unix::ffi::OsStrExt;
        // `urllib.parse.quote(safe='/')`: letters, digits, `_.-~` and `/` stay as they are.
        const PYTHON_QUOTE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'_')
            .remove(b'.')
            .remove(b'-')
            .remove(b'~')
            .remove(b'/');
        let abs = std::path::absolute(&self.root).unwrap_or_else(|_| self.root.clone());
        let path = percent_encoding::percent_encode(abs.as_os_str().as_bytes(), PYTHON_QUOTE);
        format!("file://{path}/artifacts/{id}")
    }

    /// Replays the journal of every run folder into an empty catalog, with latest metrics
    /// read from the metric segments.
    fn replay_run_folders(&self, txn: &WriteTransaction) -> Result<()> {
        let runs_dir = self.root.join("runs");
        let entries = match std::fs::read_dir(&runs_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(CatalogError::io(&runs_dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| CatalogError::io(&runs_dir, e))?;
            let Some(run_id) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if !entry.path().join(RUN_JOURNAL).exists() {
                continue;
            }
            self.catch_up_run(txn, &run_id, None)?;
            let metrics = latest_from_segments(&entry.path());
            if !metrics.is_empty() {
                self.put_metrics(txn, &run_id, &metrics)?;
            }
        }
        Ok(())
    }

    // ----------------------------------------------------------------------------------
    // Experiments

    pub(crate) fn load_experiment(
        &self,
        txn: &WriteTransaction,
        id: u64,
    ) -> Result<Option<Experiment>> {
        let t = txn
            .open_table(EXPERIMENTS)
            .map_err(|e| db_err(&self.db_path, "open experiments", e))?;
        let v = t
            .get(id)
            .map_err(|e| db_err(&self.db_path, "read an experiment", e))?;
        v.map(|v| decode(&self.db_path, "experiment", v.value()))
            .transpose()
    }

    fn apply_experiment_op(&self, txn: &WriteTransaction, op: &ExperimentOp) -> Result<()> {
        let id = op.id();
        let mut exp = self.load_experiment(txn, id)?;
        let old_name = exp.as_ref().map(|e| e.name.clone());
        op.apply(&mut exp);
        let Some(exp) = exp else { return Ok(()) };
        let map = |e: redb::StorageError| db_err(&self.db_path, "write an experiment", e);
        txn.open_table(EXPERIMENTS)
            .map_err(|e| db_err(&self.db_path, "open experiments", e))?
            .insert(id, encode(&exp).as_slice())
            .map_err(map)?;
        let mut names = txn
            .open_table(EXPERIMENT_NAMES)
            .map_err(|e| db_err(&self.db_path, "open experiment names", e))?;
        if old_name.as_deref() != Some(exp.name.as_str()) {
            if let Some(old) = old_name {
                let mine = names.get(old.as_str()).map_err(map)?.map(|v| v.value()) == Some(id);
                if mine {
                    names.remove(old.as_str()).map_err(map)?;
                }
            }
            names.insert(exp.name.as_str(), id).map_err(map)?;
        }
        let mut meta = txn
            .open_table(META)
            .map_err(|e| db_err(&self.db_path, "open meta", e))?;
        let next = meta
            .get(K_NEXT_EXPERIMENT)
            .map_err(map)?
            .map_or(1, |v| v.value());
        if id >= next {
            meta.insert(K_NEXT_EXPERIMENT, id + 1).map_err(map)?;
        }
        Ok(())
    }

    pub(crate) fn meta_get(&self, txn: &WriteTransaction, key: &str) -> Result<u64> {
        let meta = txn
            .open_table(META)
            .map_err(|e| db_err(&self.db_path, "open meta", e))?;
        Ok(meta
            .get(key)
            .map_err(|e| db_err(&self.db_path, "read meta", e))?
            .map_or(0, |v| v.value()))
    }

    pub(crate) fn meta_set(&self, txn: &WriteTransaction, key: &str, value: u64) -> Result<()> {
        txn.open_table(META)
            .map_err(|e| db_err(&self.db_path, "open meta", e))?
            .insert(key, value)
            .map_err(|e| db_err(&self.db_path, "write meta", e))?;
        Ok(())
    }

    /// Applies what the experiments journal holds beyond what the catalog has applied.
    fn catch_up_experiments(&self, txn: &WriteTransaction) -> Result<()> {
        let path = self.root.join(EXPERIMENTS_JOURNAL);
        let applied = self.meta_get(txn, K_EXPERIMENTS_JOURNAL)?;
        let len = journal::len(&path).map_err(|e| CatalogError::io(&path, e))?;
        if len <= applied {
            return Ok(());
        }
        let read = journal::read_from::<ExperimentOp>(&path, applied)
            .map_err(|e| CatalogError::io(&path, e))?;
        for ops in &read.txns {
            for op in ops {
                self.apply_experiment_op(txn, op)?;
            }
        }
        self.meta_set(txn, K_EXPERIMENTS_JOURNAL, read.end)
    }

    fn journal_experiment_ops(&self, txn: &WriteTransaction, ops: &[ExperimentOp]) -> Result<()> {
        let path = self.root.join(EXPERIMENTS_JOURNAL);
        let before = journal::len(&path).map_err(|e| CatalogError::io(&path, e))?;
        let len = journal::append(&path, ops).map_err(|e| CatalogError::io(&path, e))?;
        let applied = (|| {
            for op in ops {
                self.apply_experiment_op(txn, op)?;
            }
            self.meta_set(txn, K_EXPERIMENTS_JOURNAL, len)
        })();
        if applied.is_err() {
            // Still under the write lock: nobody appended since. A refused change must not
            // come back at the next catch-up.
            let _ = journal::truncate(&path, before);
        }
        applied
    }

    /// One experiment transaction: catch up, let `build` check and choose the operations
    /// against the current state, journal them, apply them.
    pub(crate) fn experiment_txn<T>(
        &self,
        build: impl FnOnce(&WriteTransaction) -> Result<(Vec<ExperimentOp>, T)>,
    ) -> Result<T> {
        self.write(|txn| {
            self.catch_up_experiments(txn)?;
            let (ops, out) = build(txn)?;
            if !ops.is_empty() {
                self.journal_experiment_ops(txn, &ops)?;
            }
            Ok(out)
        })
    }

    fn active_experiment(&self, txn: &WriteTransaction, id: &str, doing: &str) -> Result<u64> {
        let n = parse_experiment_id(id)?;
        let exp = self
            .load_experiment(txn, n)?
            .ok_or_else(|| CatalogError::experiment_not_found(id))?;
        if exp.lifecycle_stage != LifecycleStage::Active {
            return Err(CatalogError::InvalidState(format!(
                "cannot {doing} experiment {id} ({:?}): it is deleted; restore it first",
                exp.name
            )));
        }
        Ok(n)
    }

    /// Creates an experiment; returns its id. Names are unique among all experiments,
    /// deleted ones included. `artifact_location` defaults to `<store>/artifacts/<id>`.
    pub fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[(&str, &str)],
    ) -> Result<String> {
        self.create_experiment_inner(None, name, artifact_location, tags)
    }

    /// Creates an experiment with a chosen id (decimal), as an importer of existing MLflow
    /// data needs; later ids continue above the largest one. Fails if the id or the name is
    /// taken.
    pub fn create_experiment_with_id(
        &self,
        experiment_id: &str,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[(&str, &str)],
    ) -> Result<String> {
        let id = parse_experiment_id(experiment_id)?;
        self.create_experiment_inner(Some(id), name, artifact_location, tags)
    }

    fn create_experiment_inner(
        &self,
        chosen: Option<u64>,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[(&str, &str)],
    ) -> Result<String> {
        validation::validate_experiment_name(name)?;
        for (k, v) in tags {
            validation::validate_experiment_tag(k, v)?;
        }
        self.experiment_txn(|txn| {
            let existing = txn
                .open_table(EXPERIMENT_NAMES)
                .map_err(|e| db_err(&self.db_path, "open experiment names", e))?
                .get(name)
                .map_err(|e| db_err(&self.db_path, "read experiment names", e))?
                .map(|v| v.value());
            if let Some(id) = existing {
                let stage = self
                    .load_experiment(txn, id)?
                    .map_or(LifecycleStage::Active, |e| e.lifecycle_stage);
                return Err(CatalogError::ExperimentExists {
                    name: name.to_string(),
                    id: id.to_string(),
                    stage: stage.as_str(),
                    restore: if stage == LifecycleStage::Deleted {
                        ", or restore the deleted one"
                    } else {
                        ""
                    },
                });
            }
            let id = match chosen {
                Some(id) => {
                    if self.load_experiment(txn, id)?.is_some() {
                        return Err(CatalogError::InvalidState(format!(
                            "experiment id {id} is taken; choose another id"
                        )));
                    }
                    id
                }
                None => {
                    let next = self.meta_get(txn, K_NEXT_EXPERIMENT)?.max(1);
                    if next <= i64::MAX as u64 {
                        next
                    } else {
                        // An imported id took the last one: the smallest free id instead.
                        self.smallest_free_experiment_id(txn)?
                    }
                }
            };
            let op = ExperimentOp::Create {
                id,
                name: name.to_string(),
                artifact_location: artifact_location
                    .map_or_else(|| self.default_artifact_location(id), str::to_string),
                time: now_ms(),
                tags: tags
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            };
            Ok((vec![op], id.to_string()))
        })
    }

    fn smallest_free_experiment_id(&self, txn: &WriteTransaction) -> Result<u64> {
        let t = txn
            .open_table(EXPERIMENTS)
            .map_err(|e| db_err(&self.db_path, "open experiments", e))?;
        let mut want = 1u64;
        for item in t
            .range(1u64..)
            .map_err(|e| db_err(&self.db_path, "list experiments", e))?
        {
            let (k, _) = item.map_err(|e| db_err(&self.db_path, "list experiments", e))?;
            if k.value() != want {
                break;
            }
            want += 1;
        }
        Ok(want)
    }

    /// The experiment with this id.
    pub fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        let n = parse_experiment_id(experiment_id)?;
        let rtx = self.read()?;
        let t = rtx
            .open_table(EXPERIMENTS)
            .map_err(|e| db_err(&self.db_path, "open experiments", e))?;
        let v = t
            .get(n)
            .map_err(|e| db_err(&self.db_path, "read an experiment", e))?
            .ok_or_else(|| CatalogError::experiment_not_found(experiment_id))?;
        decode(&self.db_path, "experiment", v.value())
    }

    /// The experiment with this name (active or deleted), if there is one.
    pub fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        let rtx = self.read()?;
        let names = rtx
            .open_table(EXPERIMENT_NAMES)
            .map_err(|e| db_err(&self.db_path, "open experiment names", e))?;
        let Some(id) = names
            .get(name)
            .map_err(|e| db_err(&self.db_path, "read experiment names", e))?
            .map(|v| v.value())
        else {
            return Ok(None);
        };
        self.get_experiment(&id.to_string()).map(Some)
    }

    /// Every experiment in `view`, by id.
    pub fn list_experiments(&self, view: ViewType) -> Result<Vec<Experiment>> {
        let rtx = self.read()?;
        let t = rtx
            .open_table(EXPERIMENTS)
            .map_err(|e| db_err(&self.db_path, "open experiments", e))?;
        let mut out = Vec::new();
        for item in t
            .iter()
            .map_err(|e| db_err(&self.db_path, "list experiments", e))?
        {
            let (_, v) = item.map_err(|e| db_err(&self.db_path, "list experiments", e))?;
            let exp: Experiment = decode(&self.db_path, "experiment", v.value())?;
            if view.includes(exp.lifecycle_stage.as_str()) {
                out.push(exp);
            }
        }
        Ok(out)
    }

    /// MLflow's `search_experiments`: experiments in `view` matching `filter` (`name`,
    /// `creation_time`, `last_update_time`, `tags.<key>`), sorted by `order_by` (default:
    /// last update time descending, then id), one page of at most `max_results`.
    pub fn search_experiments(
        &self,
        filter: Option<&str>,
        view: ViewType,
        order_by: &[&str],
        max_results: usize,
        page_token: Option<&str>,
    ) -> Result<ExperimentPage<Experiment>> {
        let filter = match filter {
            Some(f) if !f.trim().is_empty() => Some(ExperimentFilter::parse(f)?),
            _ => None,
        };
        let order: Vec<ExperimentOrderBy> = order_by
            .iter()
            .map(|o| ExperimentOrderBy::parse(o))
            .collect::<Result<_, _>>()?;
        let all: Vec<ExpHit> = self
            .list_experiments(ViewType::All)?
            .into_iter()
            .map(|e| ExpHit {
                view: ExperimentView {
                    experiment_id: e.experiment_id.clone(),
                    name: e.name.clone(),
                    artifact_location: e.artifact_location.clone(),
                    lifecycle_stage: e.lifecycle_stage.as_str().to_string(),
                    creation_time: Some(e.creation_time),
                    last_update_time: Some(e.last_update_time),
                    tags: e.tags.clone(),
                },
                exp: e,
            })
            .collect();
        let page = runlog_search::search_experiments(
            all,
            filter.as_ref(),
            &order,
            view,
            max_results,
            page_token,
        )?;
        Ok(ExperimentPage {
            experiments: page.experiments.into_iter().map(|h| h.exp).collect(),
            next_page_token: page.next_page_token,
        })
    }

    /// Renames an active experiment.
    pub fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        validation::validate_experiment_name(new_name)?;
        self.experiment_txn(|txn| {
            let id = self.active_experiment(txn, experiment_id, "rename")?;
            let owner = txn
                .open_table(EXPERIMENT_NAMES)
                .map_err(|e| db_err(&self.db_path, "open experiment names", e))?
                .get(new_name)
                .map_err(|e| db_err(&self.db_path, "read experiment names", e))?
                .map(|v| v.value());
            match owner {
                Some(o) if o == id => return Ok((vec![], ())),
                Some(o) => {
                    return Err(CatalogError::ExperimentExists {
                        name: new_name.to_string(),
                        id: o.to_string(),
                        stage: "taken",
                        restore: "",
                    });
                }
                None => {}
            }
            let op = ExperimentOp::Rename {
                id,
                name: new_name.to_string(),
                time: now_ms(),
            };
            Ok((vec![op], ()))
        })
    }

    /// Sets a tag on an active experiment.
    pub fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> Result<()> {
        validation::validate_experiment_tag(key, value)?;
        self.experiment_txn(|txn| {
            let id = self.active_experiment(txn, experiment_id, "set a tag on")?;
            let op = ExperimentOp::SetTag {
                id,
                key: key.to_string(),
                value: value.to_string(),
            };
            Ok((vec![op], ()))
        })
    }

    /// Deletes a tag of an active experiment; an unknown key is an error, as in MLflow.
    pub fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()> {
        self.experiment_txn(|txn| {
            let id = self.active_experiment(txn, experiment_id, "delete a tag of")?;
            let exp = self.load_experiment(txn, id)?.expect("checked above");
            if !exp.tags.contains_key(key) {
                return Err(CatalogError::NotFound {
                    what: "experiment tag",
                    id: key.to_string(),
                    hint: format!("; experiment {experiment_id} has no tag with this key"),
                });
            }
            Ok((
                vec![ExperimentOp::DeleteTag {
                    id,
                    key: key.to_string(),
                }],
                (),
            ))
        })
    }

    /// Marks an experiment deleted (its runs stay as they are; it keeps its name). The
    /// default experiment cannot be deleted.
    pub fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        if experiment_id == DEFAULT_EXPERIMENT_ID {
            return Err(CatalogError::InvalidState(
                "the default experiment (id 0) cannot be deleted".into(),
            ));
        }
        self.set_experiment_lifecycle(experiment_id, LifecycleStage::Deleted)
    }

    /// Brings a deleted experiment back.
    pub fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        self.set_experiment_lifecycle(experiment_id, LifecycleStage::Active)
    }

    fn set_experiment_lifecycle(&self, experiment_id: &str, stage: LifecycleStage) -> Result<()> {
        let id = parse_experiment_id(experiment_id)?;
        self.experiment_txn(|txn| {
            let exp = self
                .load_experiment(txn, id)?
                .ok_or_else(|| CatalogError::experiment_not_found(experiment_id))?;
            if exp.lifecycle_stage == stage {
                let doing = match stage {
                    LifecycleStage::Deleted => "deleted",
                    LifecycleStage::Active => "active",
                };
                return Err(CatalogError::InvalidState(format!(
                    "experiment {experiment_id} ({:?}) is already {doing}",
                    exp.name
                )));
            }
            Ok((
                vec![ExperimentOp::Lifecycle {
                    id,
                    stage,
                    time: now_ms(),
                }],
                (),
            ))
        })
    }

    // ----------------------------------------------------------------------------------
    // Runs

    pub(crate) fn load_run(
        &self,
        txn: &WriteTransaction,
        run_id: &str,
    ) -> Result<Option<RunRecord>> {
        let t = txn
            .open_table(RUNS)
            .map_err(|e| db_err(&self.db_path, "open runs", e))?;
        let v = t
            .get(run_id)
            .map_err(|e| db_err(&self.db_path, "read a run", e))?;
        v.map(|v| decode(&self.db_path, "run", v.value()))
            .transpose()
    }

    fn store_run(&self, txn: &WriteTransaction, rec: &RunRecord, created: bool) -> Result<()> {
        let map = |e: redb::StorageError| db_err(&self.db_path, "write a run", e);
        txn.open_table(RUNS)
            .map_err(|e| db_err(&self.db_path, "open runs", e))?
            .insert(rec.run_id.as_str(), encode(rec).as_slice())
            .map_err(map)?;
        if created && let Ok(exp) = rec.experiment_id.parse::<u64>() {
            txn.open_table(EXPERIMENT_RUNS)
                .map_err(|e| db_err(&self.db_path, "open experiment runs", e))?
                .insert((exp, rec.run_id.as_str()), ())
                .map_err(map)?;
        }
        self.bump(txn, &rec.run_id)
    }

    fn bump(&self, txn: &WriteTransaction, run_id: &str) -> Result<()> {
        let g = self.meta_get(txn, K_GENERATION)? + 1;
        self.meta_set(txn, K_GENERATION, g)?;
        txn.open_table(RUN_GEN)
            .map_err(|e| db_err(&self.db_path, "open run generations", e))?
            .insert(run_id, g)
            .map_err(|e| db_err(&self.db_path, "write a run generation", e))?;
        Ok(())
    }

    /// Applies what the run's journal holds beyond what the catalog has applied; returns the
    /// run as it now is. `rec` is the run as loaded (`None` to load it here).
    fn catch_up_run(
        &self,
        txn: &WriteTransaction,
        run_id: &str,
        rec: Option<Option<RunRecord>>,
    ) -> Result<Option<RunRecord>> {
        let mut rec = match rec {
            Some(r) => r,
            None => self.load_run(txn, run_id)?,
        };
        let path = self.run_dir(run_id).join(RUN_JOURNAL);
        let applied = rec.as_ref().map_or(0, |r| r.journal_len);
        let len = journal::len(&path).map_err(|e| CatalogError::io(&path, e))?;
        if len <= applied {
            return Ok(rec);
        }
        let existed = rec.is_some();
        let read =
            journal::read_from::<RunOp>(&path, applied).map_err(|e| CatalogError::io(&path, e))?;
        for ops in &read.txns {
            for op in ops {
                op.apply(&mut rec);
            }
        }
        if let Some(r) = rec.as_mut() {
            r.journal_len = read.end;
            self.store_run(txn, r, !existed)?;
        }
        Ok(rec)
    }

    /// One run transaction: catch up, let `build` check and choose operations against the
    /// run as it is, journal them in the run folder, apply them.
    pub(crate) fn run_txn<T>(
        &self,
        run_id: &str,
        build: impl FnOnce(&WriteTransaction, Option<&RunRecord>) -> Result<(Vec<RunOp>, T)>,
    ) -> Result<T> {
        // Run ids name folders: nothing else may reach the file system.
        validation::validate_run_id(run_id)?;
        self.write(|txn| {
            let mut rec = self.catch_up_run(txn, run_id, None)?;
            let (ops, out) = build(txn, rec.as_ref())?;
            if ops.is_empty() {
                return Ok(out);
            }
            let existed = rec.is_some();
            let dir = self.run_dir(run_id);
            if !existed && !dir.exists() {
                std::fs::create_dir_all(&dir).map_err(|e| CatalogError::io(&dir, e))?;
                // The run folder's name must be durable before anything refers to it.
                let runs = self.root.join("runs");
                std::fs::File::open(&runs)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| CatalogError::io(&runs, e))?;
            }
            let path = dir.join(RUN_JOURNAL);
            let before = journal::len(&path).map_err(|e| CatalogError::io(&path, e))?;
            let len = journal::append(&path, &ops).map_err(|e| CatalogError::io(&path, e))?;
            for op in &ops {
                op.apply(&mut rec);
            }
            let rec = rec
                .as_mut()
                .expect("the run exists once its operations applied");
            rec.journal_len = len;
            if let Err(e) = self.store_run(txn, rec, !existed) {
                // Still under the write lock: nobody appended since. A change that failed
                // must not come back at the next catch-up.
                let _ = journal::truncate(&path, before);
                return Err(e);
            }
            Ok(out)
        })
    }

    /// Creates a run; returns it.
    pub fn create_run(&self, new: NewRun) -> Result<Run> {
        let run_id = match new.run_id {
            Some(id) => {
                validation::validate_run_id(&id)?;
                id
            }
            None => random_run_id(),
        };
        let experiment_id = new
            .experiment_id
            .unwrap_or_else(|| DEFAULT_EXPERIMENT_ID.to_string());
        let mut tags: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in &new.tags {
            validation::validate_tag(k, v)?;
            tags.insert(k.clone(), v.clone());
        }
        validation::validate_unique_param_keys(new.params.iter().map(|(k, _)| k.as_str()))?;
        for (k, v) in &new.params {
            validation::validate_param(k, v)?;
        }
        let tag_name = tags.get(TAG_RUN_NAME).cloned();
        if let (Some(a), Some(b)) = (&new.run_name, &tag_name)
            && a != b
        {
            return Err(CatalogError::InvalidArgument(format!(
                "both a run name and the mlflow.runName tag are given, with different values \
                 (run name {a:?}, tag {b:?}); give one of them"
            )));
        }
        let run_name = new
            .run_name
            .or(tag_name)
            .unwrap_or_else(|| generate_run_name(&run_id));
        validation::validate_run_name(&run_name)?;
        tags.insert(TAG_RUN_NAME.into(), run_name.clone());
        // As MLflow: the user is the one given (which also sets the tag, as MLflow's fluent
        // API does), else the mlflow.user tag, else "unknown" (and then no tag is added).
        if let Some(u) = &new.user {
            validation::validate_tag(TAG_USER, u).map_err(|e| {
                CatalogError::InvalidArgument(format!(
                    "user {:?}{} cannot be recorded: {e}",
                    validation::truncate_chars(u, 80),
                    if u.chars().count() > 80 { "…" } else { "" }
                ))
            })?;
            tags.entry(TAG_USER.into()).or_insert_with(|| u.clone());
        }
        let user = new
            .user
            .or_else(|| tags.get(TAG_USER).cloned())
            .unwrap_or_else(|| "unknown".into());
        if let Some(parent) = &new.parent_run_id {
            validation::validate_run_id(parent)?;
            tags.insert(TAG_PARENT_RUN_ID.into(), parent.clone());
        }
        let start_time = new.start_time.unwrap_or_else(now_ms);
        if start_time < 0 {
            return Err(CatalogError::InvalidArgument(format!(
                "start time must be at least 0 ms, got {start_time}"
            )));
        }
        let params: BTreeMap<String, String> = new.params.into_iter().collect();
        let status = new.status.unwrap_or_default();
        self.run_txn(&run_id, |txn, existing| {
            if existing.is_some() {
                return Err(CatalogError::InvalidState(format!(
                    "run {run_id} exists already; resume it instead of creating it"
                )));
            }
            let exp_n = self.active_experiment(txn, &experiment_id, "create a run in")?;
            let exp = self.load_experiment(txn, exp_n)?.expect("checked above");
            if let Some(parent) = &new.parent_run_id
                && self.load_run(txn, parent)?.is_none()
            {
                return Err(CatalogError::run_not_found(parent));
            }
            let op = RunOp::Create {
                run_id: run_id.clone(),
                experiment_id: experiment_id.clone(),
                run_name: run_name.clone(),
                status,
                start_time,
                user_id: user.clone(),
                artifact_uri: new
                    .artifact_uri
                    .clone()
                    .unwrap_or_else(|| format!("{}/{run_id}/artifacts", exp.artifact_location)),
                tags: tags.clone(),
                params: params.clone(),
            };
            Ok((vec![op], ()))
        })?;
        self.get_run(&run_id)
    }

    /// The run with this id, read fresh from the catalog.
    pub fn get_run(&self, run_id: &str) -> Result<Run> {
        validation::validate_run_id(run_id)?;
        let rtx = self.read()?;
        self.read_run(&rtx, run_id)?
            .ok_or_else(|| CatalogError::run_not_found(run_id))
    }

    fn read_run(&self, rtx: &ReadTransaction, run_id: &str) -> Result<Option<Run>> {
        Ok(self
            .read_record(rtx, run_id)?
            .map(|(rec, metrics)| Run::from_record(rec, metrics)))
    }

    fn read_record(
        &self,
        rtx: &ReadTransaction,
        run_id: &str,
    ) -> Result<Option<(RunRecord, BTreeMap<String, LatestMetric>)>> {
        let runs = rtx
            .open_table(RUNS)
            .map_err(|e| db_err(&self.db_path, "open runs", e))?;
        let Some(v) = runs
            .get(run_id)
            .map_err(|e| db_err(&self.db_path, "read a run", e))?
        else {
            return Ok(None);
        };
        let rec: RunRecord = decode(&self.db_path, "run", v.value())?;
        let metrics = self.read_metrics(rtx, run_id)?;
        Ok(Some((rec, metrics)))
    }

    fn read_metrics(
        &self,
        rtx: &ReadTransaction,
        run_id: &str,
    ) -> Result<BTreeMap<String, LatestMetric>> {
        let t = rtx
            .open_table(RUN_METRICS)
            .map_err(|e| db_err(&self.db_path, "open run metrics", e))?;
        let mut out = BTreeMap::new();
        let map = |e: redb::StorageError| db_err(&self.db_path, "read run metrics", e);
        for item in t.range((run_id, "")..).map_err(map)? {
            let (k, v) = item.map_err(map)?;
            let (rid, key) = k.value();
            if rid != run_id {
                break;
            }
            let (step, timestamp_ms, value) = v.value();
            out.insert(
                key.to_string(),
                LatestMetric {
                    step,
                    timestamp_ms,
                    value,
                },
            );
        }
        Ok(out)
    }

    fn require_active_run<'r>(run_id: &str, rec: Option<&'r RunRecord>) -> Result<&'r RunRecord> {
        let rec = rec.ok_or_else(|| CatalogError::run_not_found(run_id))?;
        if rec.lifecycle_stage != LifecycleStage::Active {
            return Err(CatalogError::InvalidState(format!(
                "the run {run_id} must be in the 'active' state, it is deleted; restore it \
                 first"
            )));
        }
        Ok(rec)
    }

    /// Logs params. A key logged before must keep its value (the same value again is fine).
    pub fn log_params(&self, run_id: &str, params: &[(&str, &str)]) -> Result<()> {
        validation::validate_unique_param_keys(params.iter().map(|(k, _)| *k))?;
        for (k, v) in params {
            validation::validate_param(k, v)?;
        }
        self.run_txn(run_id, |_, rec| {
            let rec = Self::require_active_run(run_id, rec)?;
            let mut new = Vec::new();
            for (k, v) in params {
                match rec.params.get(*k) {
                    Some(old) if old == v => {}
                    Some(old) => {
                        return Err(CatalogError::ParamChanged {
                            run_id: run_id.to_string(),
                            key: k.to_string(),
                            old: old.clone(),
                            new: v.to_string(),
                        });
                    }
                    None => new.push((k.to_string(), v.to_string())),
                }
            }
            if new.is_empty() {
                return Ok((vec![], ()));
            }
            Ok((vec![RunOp::LogParams { params: new }], ()))
        })
    }

    /// Sets tags (overwriting). Setting `mlflow.runName` renames the run.
    pub fn set_tags(&self, run_id: &str, tags: &[(&str, &str)]) -> Result<()> {
        for (k, v) in tags {
            validation::validate_tag(k, v)?;
            if *k == TAG_RUN_NAME {
                validation::validate_run_name(v)?;
            }
        }
        self.run_txn(run_id, |_, rec| {
            Self::require_active_run(run_id, rec)?;
            let tags = tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Ok((vec![RunOp::SetTags { tags }], ()))
        })
    }

    /// Deletes a tag; a key the run does not have is an error, as in MLflow.
    pub fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        self.run_txn(run_id, |_, rec| {
            let rec = Self::require_active_run(run_id, rec)?;
            if !rec.tags.contains_key(key) {
                return Err(CatalogError::NotFound {
                    what: "tag",
                    id: key.to_string(),
                    hint: format!("; run {run_id} has no tag with this key"),
                });
            }
            Ok((
                vec![RunOp::DeleteTag {
                    key: key.to_string(),
                }],
                (),
            ))
        })
    }

    /// Sets a run's status; a terminal status records `end_time` (default: now). As in
    /// MLflow, setting RUNNING again (resuming) keeps the previous end time.
    pub fn set_status(&self, run_id: &str, status: RunStatus, end_time: Option<i64>) -> Result<()> {
        let end_time = if status.is_terminated() {
            Some(end_time.unwrap_or_else(now_ms))
        } else {
            end_time
        };
        self.run_txn(run_id, |_, rec| {
            Self::require_active_run(run_id, rec)?;
            Ok((vec![RunOp::Status { status, end_time }], ()))
        })
    }

    /// Ends a run in one transaction: records the latest point of its metrics and sets
    /// `status` (a terminal one with `end_time`, default now). What a run's writer does when
    /// it finishes.
    pub fn end_run(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time: Option<i64>,
        metrics: &[(String, LatestMetric)],
    ) -> Result<()> {
        let end_time = if status.is_terminated() {
            Some(end_time.unwrap_or_else(now_ms))
        } else {
            end_time
        };
        let deleted = self.run_txn(run_id, |txn, rec| {
            let rec = rec.ok_or_else(|| CatalogError::run_not_found(run_id))?;
            if !metrics.is_empty() {
                self.put_metrics(txn, run_id, metrics)?;
            }
            if rec.lifecycle_stage != LifecycleStage::Active {
                // The latest values still match the metric data; the status stays.
                return Ok((vec![], true));
            }
            Ok((vec![RunOp::Status { status, end_time }], false))
        })?;
        if deleted {
            return Err(CatalogError::InvalidState(format!(
                "the run {run_id} must be in the 'active' state, it is deleted; its latest \
                 metric values were recorded, its status was not changed"
            )));
        }
        Ok(())
    }

    /// Renames a run (and its `mlflow.runName` tag).
    pub fn rename_run(&self, run_id: &str, name: &str) -> Result<()> {
        validation::validate_run_name(name)?;
        self.run_txn(run_id, |_, rec| {
            Self::require_active_run(run_id, rec)?;
            Ok((
                vec![RunOp::Rename {
                    name: name.to_string(),
                }],
                (),
            ))
        })
    }

    /// Marks a run deleted (restorable).
    pub fn delete_run(&self, run_id: &str) -> Result<()> {
        self.set_run_lifecycle(run_id, LifecycleStage::Deleted)
    }

    /// Brings a deleted run back.
    pub fn restore_run(&self, run_id: &str) -> Result<()> {
        self.set_run_lifecycle(run_id, LifecycleStage::Active)
    }

    fn set_run_lifecycle(&self, run_id: &str, stage: LifecycleStage) -> Result<()> {
        self.run_txn(run_id, |_, rec| {
            let rec = rec.ok_or_else(|| CatalogError::run_not_found(run_id))?;
            if rec.lifecycle_stage == stage {
                return Ok((vec![], ()));
            }
            Ok((
                vec![RunOp::Lifecycle {
                    stage,
                    time: now_ms(),
                }],
                (),
            ))
        })
    }

    /// Records the latest point of metrics of several runs, in one transaction. Runs the
    /// catalog does not know are skipped.
    pub fn update_metrics(&self, updates: &[(&str, &[(String, LatestMetric)])]) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        self.write(|txn| {
            for (run_id, metrics) in updates {
                if metrics.is_empty() || self.load_run(txn, run_id)?.is_none() {
                    continue;
                }
                self.put_metrics(txn, run_id, metrics)?;
            }
            Ok(())
        })
    }

    fn put_metrics(
        &self,
        txn: &WriteTransaction,
        run_id: &str,
        metrics: &[(String, LatestMetric)],
    ) -> Result<()> {
        {
            let mut t = txn
                .open_table(RUN_METRICS)
                .map_err(|e| db_err(&self.db_path, "open run metrics", e))?;
            for (key, m) in metrics {
                t.insert((run_id, key.as_str()), (m.step, m.timestamp_ms, m.value))
                    .map_err(|e| db_err(&self.db_path, "write run metrics", e))?;
            }
        }
        self.bump(txn, run_id)
    }

    /// Brings the cache of runs up to date with the latest commit.
    fn refreshed(&self) -> Result<std::sync::MutexGuard<'_, Cache>> {
        let rtx = self.read()?;
        let meta = rtx
            .open_table(META)
            .map_err(|e| db_err(&self.db_path, "open meta", e))?;
        let get = |k: &str| -> Result<u64> {
            Ok(meta
                .get(k)
                .map_err(|e| db_err(&self.db_path, "read meta", e))?
                .map_or(0, |v| v.value()))
        };
        let instance = get(K_INSTANCE)?;
        let generation = get(K_GENERATION)?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.instance != instance || generation < cache.generation {
            *cache = Cache {
                instance,
                ..Cache::default()
            };
        }
        if generation == cache.generation {
            return Ok(cache);
        }
        if cache.generation == 0 {
            // First load: two sequential scans instead of a lookup per run.
            cache.runs = self.load_all_runs(&rtx)?;
            cache.generation = generation;
            return Ok(cache);
        }
        let gens = rtx
            .open_table(RUN_GEN)
            .map_err(|e| db_err(&self.db_path, "open run generations", e))?;
        let since = cache.generation;
        let mut changed = Vec::new();
        for item in gens
            .iter()
            .map_err(|e| db_err(&self.db_path, "read run generations", e))?
        {
            let (k, v) = item.map_err(|e| db_err(&self.db_path, "read run generations", e))?;
            if v.value() > since {
                changed.push(k.value().to_string());
            }
        }
        for run_id in changed {
            if let Some((rec, metrics)) = self.read_record(&rtx, &run_id)? {
                cache.runs.insert(run_id, Cached::new(rec, metrics));
            }
        }
        cache.generation = generation;
        Ok(cache)
    }

    /// Every run, read with one scan of the runs table and one of the metrics table (both
    /// ordered by run id, so they merge without a lookup).
    fn load_all_runs(&self, rtx: &ReadTransaction) -> Result<HashMap<String, Cached>> {
        let map = |e: redb::StorageError| db_err(&self.db_path, "read the runs", e);
        let runs = rtx
            .open_table(RUNS)
            .map_err(|e| db_err(&self.db_path, "open runs", e))?;
        let metrics = rtx
            .open_table(RUN_METRICS)
            .map_err(|e| db_err(&self.db_path, "open run metrics", e))?;
        let mut rows = metrics.iter().map_err(map)?;
        // The next metric row not yet given to its run: (run id, key, latest).
        let mut next_row = || -> Result<Option<(String, String, LatestMetric)>> {
            let Some(row) = rows.next() else {
                return Ok(None);
            };
            let (k, v) = row.map_err(map)?;
            let (rid, key) = k.value();
            let (step, timestamp_ms, value) = v.value();
            let m = LatestMetric {
                step,
                timestamp_ms,
                value,
            };
            Ok(Some((rid.to_string(), key.to_string(), m)))
        };
        let mut held = next_row()?;
        let mut out = HashMap::with_capacity(runs.len().map_err(map)? as usize);
        for item in runs.iter().map_err(map)? {
            let (k, v) = item.map_err(map)?;
            let run_id = k.value();
            let rec: RunRecord = decode(&self.db_path, "run", v.value())?;
            let mut latest = BTreeMap::new();
            while let Some((rid, key, m)) = held.take() {
                if rid.as_str() > run_id {
                    held = Some((rid, key, m));
                    break;
                }
                if rid == run_id {
                    latest.insert(key, m);
                }
                held = next_row()?;
            }
            out.insert(run_id.to_string(), Cached::new(rec, latest));
        }
        Ok(out)
    }

    /// The runs of the given experiments in `view`, in MLflow's default order (start time
    /// descending, then run id).
    pub fn list_runs(&self, experiment_ids: &[&str], view: ViewType) -> Result<Vec<Arc<Run>>> {
        Ok(self
            .search_runs(experiment_ids, None, view, &[], usize::MAX, None)?
            .runs)
    }

    /// MLflow's `search_runs`: the runs of `experiment_ids` in `view` that match `filter`,
    /// sorted by `order_by` (then start time descending, then run id), one page of at most
    /// `max_results` from `page_token` on. Never scans metric data: the latest metric values
    /// are kept in the catalog at every flush.
    pub fn search_runs(
        &self,
        experiment_ids: &[&str],
        filter: Option<&str>,
        view: ViewType,
        order_by: &[&str],
        max_results: usize,
        page_token: Option<&str>,
    ) -> Result<RunPage<Arc<Run>>> {
        let filter = match filter {
            Some(f) if !f.trim().is_empty() => Some(Filter::parse(f)?),
            _ => None,
        };
        let order: Vec<OrderBy> = order_by
            .iter()
            .map(|o| OrderBy::parse(o))
            .collect::<Result<_, _>>()?;
        let max = if max_results == usize::MAX {
            runlog_search::MAX_RESULTS_THRESHOLD
        } else {
            max_results
        };
        // The first search of a handle reads only what it needs (a one-shot tool, such as the
        // CLI, never pays for loading every run); later ones load and keep every run's view.
        let slim = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            let first = cache.generation == 0 && cache.slim_searches == 0;
            if first {
                cache.slim_searches += 1;
            }
            first
        };
        let selected: Vec<Cached> = if slim {
            self.slim_candidates(experiment_ids, view, filter.as_ref(), &order)?
        } else {
            let cache = self.refreshed()?;
            let mut selected = Vec::new();
            for id in experiment_ids {
                selected.extend(
                    cache
                        .runs
                        .values()
                        .filter(|c| c.view.experiment_id == *id)
                        .cloned(),
                );
            }
            selected
        };
        let page = if max_results == usize::MAX {
            // Everything: no paging limit.
            let mut all: Vec<Cached> = selected
                .into_iter()
                .filter(|c| {
                    view.includes(&c.view.lifecycle_stage)
                        && filter.as_ref().is_none_or(|f| f.matches(&c.view))
                })
                .collect();
            runlog_search::sort_runs(&mut all, &order);
            RunPage {
                runs: all,
                next_page_token: None,
            }
        } else {
            runlog_search::search_runs(selected, filter.as_ref(), &order, view, max, page_token)?
        };
        let runs = if slim {
            let rtx = self.read()?;
            let mut runs = Vec::with_capacity(page.runs.len());
            for c in &page.runs {
                let run = self
                    .read_run(&rtx, &c.view.run_id)?
                    .ok_or_else(|| CatalogError::run_not_found(&c.view.run_id))?;
                runs.push(Arc::new(run));
            }
            runs
        } else {
            page.runs.iter().map(|c| Arc::new(c.run())).collect()
        };
        Ok(RunPage {
            runs,
            next_page_token: page.next_page_token,
        })
    }

    /// The runs of `experiment_ids` (each as often as its id is listed) in `view`, as views
    /// holding every attribute but only the params, tags and metrics `filter` and `order`
    /// look at: records are read without copying their strings, and only those keys are
    /// kept.
    fn slim_candidates(
        &self,
        experiment_ids: &[&str],
        view: ViewType,
        filter: Option<&Filter>,
        order: &[OrderBy],
    ) -> Result<Vec<Cached>> {
        let mut params: Vec<&str> = Vec::new();
        let mut tags: Vec<&str> = Vec::new();
        let mut metrics: Vec<&str> = Vec::new();
        let subjects = filter
            .map(|f| f.clauses())
            .unwrap_or_default()
            .iter()
            .map(|c| &c.subject)
            .chain(order.iter().map(|o| &o.subject));
        for subject in subjects {
            match subject {
                Subject::Param(k) => params.push(k),
                Subject::Tag(k) => tags.push(k),
                Subject::Metric(k) => metrics.push(k),
                Subject::Attribute(_) | Subject::Dataset(_) => {}
            }
        }
        let mut times: HashMap<&str, usize> = HashMap::new();
        for id in experiment_ids {
            *times.entry(id).or_default() += 1;
        }
        let map = |e: redb::StorageError| db_err(&self.db_path, "read the runs", e);
        let rtx = self.read()?;
        let runs = rtx
            .open_table(RUNS)
            .map_err(|e| db_err(&self.db_path, "open runs", e))?;
        let pick = |pairs: &[(&str, &str)], keys: &[&str]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .filter(|(k, _)| keys.contains(k))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        // (view, times listed), in run-id order.
        let mut picked: Vec<(RunView, usize)> = Vec::new();
        for item in runs.iter().map_err(map)? {
            let (_, v) = item.map_err(map)?;
            let r: RunRecordRef<'_> = decode_ref(&self.db_path, v.value())?;
            let Some(&n) = times.get(r.experiment_id) else {
                continue;
            };
            if !view.includes(r.lifecycle_stage.as_str()) {
                continue;
            }
            picked.push((
                RunView {
                    run_id: r.run_id.to_string(),
                    experiment_id: r.experiment_id.to_string(),
                    run_name: r.run_name.to_string(),
                    status: r.status.as_str().to_string(),
                    start_time: Some(r.start_time),
                    end_time: r.end_time,
                    user_id: r.user_id.to_string(),
                    lifecycle_stage: r.lifecycle_stage.as_str().to_string(),
                    artifact_uri: Some(r.artifact_uri.to_string()),
                    params: pick(&r.params, &params),
                    tags: pick(&r.tags, &tags),
                    metrics: BTreeMap::new(),
                    datasets: Vec::new(),
                },
                n,
            ));
        }
        if !metrics.is_empty() {
            // The metrics table is ordered like `picked`: merge the two.
            let table = rtx
                .open_table(RUN_METRICS)
                .map_err(|e| db_err(&self.db_path, "open run metrics", e))?;
            let mut at = 0;
            for row in table.iter().map_err(map)? {
                let (k, v) = row.map_err(map)?;
                let (rid, key) = k.value();
                while at < picked.len() && picked[at].0.run_id.as_str() < rid {
                    at += 1;
                }
                if at == picked.len() {
                    break;
                }
                if picked[at].0.run_id == rid && metrics.contains(&key) {
                    picked[at].0.metrics.insert(key.to_string(), v.value().2);
                }
            }
        }
        let mut out = Vec::with_capacity(picked.len());
        for (view, n) in picked {
            let view = Arc::new(view);
            for _ in 0..n {
                out.push(Cached {
                    view: Arc::clone(&view),
                    extra: None,
                });
            }
        }
        Ok(out)
    }

    /// The latest point of each of `keys` for every run (active or deleted) of
    /// `experiment_ids`, by run id: read from the experiments' run lists and the latest-metrics
    /// table only, never from run records or metric data; the fastest way to tabulate a
    /// sweep's results from a fresh process.
    pub fn latest_metrics(
        &self,
        experiment_ids: &[&str],
        keys: &[&str],
    ) -> Result<Vec<(String, Vec<Option<LatestMetric>>)>> {
        let rtx = self.read()?;
        let map = |e: redb::StorageError| db_err(&self.db_path, "read latest metrics", e);
        let lists = rtx
            .open_table(EXPERIMENT_RUNS)
            .map_err(|e| db_err(&self.db_path, "open experiment runs", e))?;
        let metrics = rtx
            .open_table(RUN_METRICS)
            .map_err(|e| db_err(&self.db_path, "open run metrics", e))?;
        // The runs asked for, in run-id order (the order of the metrics table).
        let mut wanted: Vec<String> = Vec::new();
        for id in experiment_ids {
            // Ids other entry points refuse (`01`, `+1`) select nothing here either.
            if validation::validate_experiment_id(id).is_err() {
                continue;
            }
            let Ok(exp) = id.parse::<u64>() else { continue };
            for item in lists.range((exp, "")..).map_err(map)? {
                let (k, _) = item.map_err(map)?;
                let (e, run_id) = k.value();
                if e != exp {
                    break;
                }
                wanted.push(run_id.to_string());
            }
        }
        wanted.sort_unstable();
        wanted.dedup();
        let mut out: Vec<(String, Vec<Option<LatestMetric>>)> = Vec::with_capacity(wanted.len());
        let fill = |run_id: &str, key: &str, v: (i64, i64, f64), out: &mut Vec<_>| {
            if let Some(i) = keys.iter().position(|k| *k == key) {
                let slot: &mut (String, Vec<Option<LatestMetric>>) =
                    out.last_mut().expect("a row for the run was pushed");
                debug_assert_eq!(slot.0, run_id);
                slot.1[i] = Some(LatestMetric {
                    step: v.0,
                    timestamp_ms: v.1,
                    value: v.2,
                });
            }
        };
        let total = rtx
            .open_table(RUNS)
            .map_err(|e| db_err(&self.db_path, "open runs", e))?
            .len()
            .map_err(map)?;
        if wanted.len() as u64 * 8 >= total {
            // Most runs: one sequential scan of the whole table, merged with the sorted ids.
            let mut next = 0;
            for row in metrics.iter().map_err(map)? {
                let (mk, mv) = row.map_err(map)?;
                let (rid, key) = mk.value();
                while next < wanted.len() && wanted[next].as_str() < rid {
                    out.push((std::mem::take(&mut wanted[next]), vec![None; keys.len()]));
                    next += 1;
                }
                if next < wanted.len() && wanted[next] == rid {
                    out.push((std::mem::take(&mut wanted[next]), vec![None; keys.len()]));
                    next += 1;
                }
                if out.last().is_some_and(|(r, _)| r == rid) {
                    fill(rid, key, mv.value(), &mut out);
                }
            }
            for w in &mut wanted[next..] {
                out.push((std::mem::take(w), vec![None; keys.len()]));
            }
        } else {
            // A few runs: one range per run.
            for run_id in wanted {
                out.push((run_id.clone(), vec![None; keys.len()]));
                for row in metrics.range((run_id.as_str(), "")..).map_err(map)? {
                    let (mk, mv) = row.map_err(map)?;
                    let (rid, key) = mk.value();
                    if rid != run_id {
                        break;
                    }
                    fill(rid, key, mv.value(), &mut out);
                }
            }
        }
        Ok(out)
    }

    /// How many runs the catalog holds.
    pub fn run_count(&self) -> Result<u64> {
        let rtx = self.read()?;
        let t = rtx
            .open_table(RUNS)
            .map_err(|e| db_err(&self.db_path, "open runs", e))?;
        t.len().map_err(|e| db_err(&self.db_path, "count runs", e))
    }

    /// Rebuilds the catalog from the journals and the run folders, replacing `catalog.redb`
    /// (the old file is kept as `catalog.redb.old`). For a damaged catalog: no other process
    /// may have the store open while it runs.
    pub fn rebuild(root: impl AsRef<Path>) -> Result<Catalog> {
        let root = root.as_ref();
        let path = root.join(CATALOG_FILE);
        if path.exists() {
            let old = root.join(format!("{CATALOG_FILE}.old"));
            std::fs::rename(&path, &old).map_err(|e| CatalogError::io(&path, e))?;
        }
        Catalog::open(root)
    }
}

/// The latest point of every series of a run folder, read from its segments (empty when the
/// folder holds none or they cannot be read).
fn latest_from_segments(dir: &Path) -> Vec<(String, LatestMetric)> {
    let Ok(reader) = runlog_metrics::RunReader::open(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (_, key) in reader.series() {
        if let Ok(Some(s)) = reader.summary(&key) {
            out.push((
                key,
                LatestMetric {
                    step: s.latest.step,
                    timestamp_ms: s.latest.timestamp_ms,
                    value: s.latest.value,
                },
            ));
        }
    }
    out
}

/// A fresh run id: 32 lowercase hex digits, a random UUID as MLflow makes them.
pub fn random_run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

const ADJECTIVES: [&str; 16] = [
    "bold", "brave", "calm", "clever", "eager", "fair", "gentle", "happy", "keen", "lucky",
    "merry", "nimble", "quiet", "rare", "swift", "wise",
];
const NOUNS: [&str; 16] = [
    "ant", "bat", "cat", "deer", "eel", "fox", "gnu", "hare", "ibis", "jay", "koi", "lynx", "mole",
    "newt", "owl", "yak",
];

/// MLflow-style `adjective-noun-NNN` run name, derived from the run id.
fn generate_run_name(run_id: &str) -> String {
    let h = crc32fast::hash(run_id.as_bytes());
    format!(
        "{}-{}-{}",
        ADJECTIVES[(h & 15) as usize],
        NOUNS[((h >> 4) & 15) as usize],
        (h >> 8) % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catalog_of_another_schema_version_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(dir.path()).unwrap();
        c.write(|txn| c.meta_set(txn, K_SCHEMA, SCHEMA_VERSION + 1))
            .unwrap();
        drop(c);
        for e in [
            Catalog::open(dir.path()).unwrap_err(),
            Catalog::open_read_only(dir.path()).unwrap_err(),
        ] {
            assert!(
                matches!(e, CatalogError::UnsupportedVersion { found, .. } if found == SCHEMA_VERSION + 1),
                "{e}"
            );
            assert!(e.to_string().contains("use a matching runlog"), "{e}");
        }
    }

    #[test]
    fn a_refused_change_leaves_no_journal_line() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(dir.path()).unwrap();
        let run = c.create_run(NewRun::default()).unwrap();
        let path = c.run_dir(&run.run_id).join(RUN_JOURNAL);
        let before = std::fs::read(&path).unwrap();
        // A refused change journals nothing.
        c.log_params(&run.run_id, &[("a", "1")]).unwrap();
        let after_ok = std::fs::read(&path).unwrap();
        assert!(after_ok.len() > before.len());
        let e = c.log_params(&run.run_id, &[("a", "2")]).unwrap_err();
        assert!(matches!(e, CatalogError::ParamChanged { .. }), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), after_ok);
    }
}

#[cfg(test)]
mod uri_tests {
    use super::*;

    #[test]
    fn default_artifact_locations_are_encoded_as_pathlib_as_uri() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("my store ü%41");
        let c = Catalog::open(&root).unwrap();
        let exp = c.get_experiment("0").unwrap();
        assert!(
            exp.artifact_location
                .ends_with("/my%20store%20%C3%BC%2541/artifacts/0"),
            "{}",
            exp.artifact_location
        );
        assert!(exp.artifact_location.starts_with("file:///"));
        let run = c.create_run(NewRun::default()).unwrap();
        assert_eq!(
            run.artifact_uri,
            format!("{}/{}/artifacts", exp.artifact_location, run.run_id)
        );
    }
}
