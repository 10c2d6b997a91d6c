//! The catalog database: redb tables, and opening it safely beside other processes.
//!
//! Every process opens `catalog.redb` in redb's `MultiWriter` mode (see `ARCHITECTURE.md`,
//! "Catalog protocol"): any number of processes read and write it, one write transaction at a
//! time across all of them. A read-only open that finds the file unclean (its last writer was
//! killed and no writer is left) gets `RepairAborted`; a writable open repairs it in about a
//! millisecond, so read-only opens fall back to that and retry.

use std::path::Path;
use std::time::Duration;

use redb::{
    Builder, ConcurrencyMode, Database, DatabaseError, ReadOnlyDatabase, ReadTransaction,
    ReadableDatabase, TableDefinition,
};

use crate::error::{CatalogError, Result};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u64 = 1;

/// Counters and versions by name (see the `K_*` names).
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Experiment id → postcard-encoded `Experiment`.
pub(crate) const EXPERIMENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("experiments");
/// Experiment name → id (deleted experiments keep their names).
pub(crate) const EXPERIMENT_NAMES: TableDefinition<&str, u64> =
    TableDefinition::new("experiment_names");
/// Run id → postcard-encoded `RunRecord`.
pub(crate) const RUNS: TableDefinition<&str, &[u8]> = TableDefinition::new("runs");
/// (run id, metric key) → latest (step, timestamp ms, value).
pub(crate) const RUN_METRICS: TableDefinition<(&str, &str), (i64, i64, f64)> =
    TableDefinition::new("run_metrics");
/// (experiment id, run id) → (): the runs of each experiment.
pub(crate) const EXPERIMENT_RUNS: TableDefinition<(u64, &str), ()> =
    TableDefinition::new("experiment_runs");
/// Run id → generation of its last change (for readers' caches).
pub(crate) const RUN_GEN: TableDefinition<&str, u64> = TableDefinition::new("run_generation");

/// Registered model name → postcard-encoded `ModelRecord`.
pub(crate) const REGISTERED_MODELS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("registered_models");
/// (model name, version) → postcard-encoded `VersionRecord`; deleted versions stay (their
/// numbers are never reused).
pub(crate) const MODEL_VERSIONS: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("model_versions");
/// (model name, alias) → version.
pub(crate) const MODEL_ALIASES: TableDefinition<(&str, &str), u64> =
    TableDefinition::new("model_aliases");

/// (model name, version) → postcard-encoded `ImportedVersionFields`: what a version imported
/// from MLflow carried beyond runlog's own fields (`model_id`, `storage_location`, …). Only
/// imported versions have an entry; created when the first one is imported.
pub(crate) const MODEL_VERSION_IMPORTED: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("model_version_imported");

pub(crate) const K_SCHEMA: &str = "schema";
pub(crate) const K_INSTANCE: &str = "instance";
pub(crate) const K_GENERATION: &str = "generation";
pub(crate) const K_NEXT_EXPERIMENT: &str = "next_experiment_id";
pub(crate) const K_EXPERIMENTS_JOURNAL: &str = "experiments_journal_len";
pub(crate) const K_MODELS_JOURNAL: &str = "models_journal_len";

/// The open database, writable or not.
pub(crate) enum Db {
    Rw(Database),
    Ro(ReadOnlyDatabase),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Db::Rw(_) => "Db::Rw",
            Db::Ro(_) => "Db::Ro",
        })
    }
}

impl Db {
    pub fn begin_read(&self, path: &Path) -> Result<ReadTransaction> {
        match self {
            Db::Rw(d) => d.begin_read(),
            Db::Ro(d) => d.begin_read(),
        }
        .map_err(|e| db_err(path, "begin a read transaction", e))
    }

    pub fn writable(&self) -> Option<&Database> {
        match self {
            Db::Rw(d) => Some(d),
            Db::Ro(_) => None,
        }
    }
}

fn builder() -> Builder {
    let mut b = Builder::new();
    b.set_concurrency_mode(ConcurrencyMode::MultiWriter);
    b
}

/// Opens (creating if missing) the catalog for reading and writing.
pub(crate) fn open_rw(path: &Path) -> Result<Database> {
    builder().create(path).map_err(|e| {
        db_err(
            path,
            "open",
            format!(
                "{e}; if the file is damaged, rebuild it from the journals and run folders \
                 with `Catalog::rebuild` while no other process uses the store"
            ),
        )
    })
}

/// Opens the catalog read-only; repairs it first (a writable open and close) when its last
/// writer died and left it unclean.
pub(crate) fn open_ro(path: &Path) -> Result<ReadOnlyDatabase> {
    let mut attempts = 0;
    loop {
        match builder().open_read_only(path) {
            Ok(db) => return Ok(db),
            Err(DatabaseError::RepairAborted) if attempts < 20 => {
                attempts += 1;
                // A writer may have died between our repair and our retry: loop.
                match builder().open(path) {
                    Ok(db) => drop(db),
                    Err(e) => return Err(db_err(path, "repair (open for writing)", e)),
                }
                std::thread::sleep(Duration::from_millis(attempts));
            }
            Err(e) => return Err(db_err(path, "open read-only", e)),
        }
    }
}

pub(crate) fn db_err(path: &Path, doing: &str, e: impl std::fmt::Display) -> CatalogError {
    CatalogError::Database {
        path: path.to_path_buf(),
        message: format!("could not {doing}: {e}"),
    }
}
