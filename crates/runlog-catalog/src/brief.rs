//! Every run in brief (id, experiment, name, status, stage), read without decoding params
//! and tags or loading latest metrics: what a one-shot tool needs to resolve a run by a
//! prefix of its id or by its name, to suggest close matches, or to count runs, on a store of
//! tens of thousands of runs in milliseconds.

use redb::StorageError;
use serde::Deserialize;

use crate::catalog::Catalog;
use crate::db::{RUNS, db_err};
use crate::error::{CatalogError, Result};
use crate::model::{LifecycleStage, RunStatus};

/// A run in brief: [`Catalog::run_briefs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunBrief {
    /// The run id: 32 lowercase hex digits.
    pub run_id: String,
    /// The experiment it belongs to.
    pub experiment_id: String,
    /// Its name.
    pub run_name: String,
    /// Its status.
    pub status: RunStatus,
    /// Active or deleted.
    pub lifecycle_stage: LifecycleStage,
}

/// The leading fields of a run record. Postcard writes a struct as its fields in order, so
/// decoding a prefix of them reads the same bytes and stops before the params and tags.
#[derive(Deserialize)]
struct RecordHead<'a> {
    #[serde(borrow)]
    run_id: &'a str,
    #[serde(borrow)]
    experiment_id: &'a str,
    #[serde(borrow)]
    run_name: &'a str,
    status: RunStatus,
    _start_time: i64,
    _end_time: Option<i64>,
    #[serde(borrow)]
    _user_id: &'a str,
    lifecycle_stage: LifecycleStage,
}

impl Catalog {
    /// Every run of every experiment (deleted ones included) in brief, in run-id order.
    pub fn run_briefs(&self) -> Result<Vec<RunBrief>> {
        self.briefs_from("", |_| true)
    }

    /// The runs whose id starts with `prefix` (lowercase hex), in brief, in run-id order.
    /// A range scan of the run table: its cost does not grow with the number of runs.
    pub fn run_briefs_with_prefix(&self, prefix: &str) -> Result<Vec<RunBrief>> {
        self.briefs_from(prefix, |id| id.starts_with(prefix))
    }

    /// Briefs of the runs from `start` on, while `more(run_id)` holds.
    fn briefs_from(&self, start: &str, more: impl Fn(&str) -> bool) -> Result<Vec<RunBrief>> {
        let map = |e: StorageError| db_err(&self.db_path, "read the runs", e);
        let rtx = self.read()?;
        let runs = rtx
            .open_table(RUNS)
            .map_err(|e| db_err(&self.db_path, "open runs", e))?;
        let mut out = Vec::new();
        for item in runs.range(start..).map_err(map)? {
            let (k, v) = item.map_err(map)?;
            if !more(k.value()) {
                break;
            }
            let head: RecordHead<'_> =
                postcard::from_bytes(v.value()).map_err(|e| CatalogError::Database {
                    path: self.db_path.clone(),
                    message: format!(
                        "the record of run {} is unreadable ({e}); rebuild the catalog from \
                         the journals (Catalog::rebuild)",
                        k.value()
                    ),
                })?;
            out.push(RunBrief {
                run_id: head.run_id.to_string(),
                experiment_id: head.experiment_id.to_string(),
                run_name: head.run_name.to_string(),
                status: head.status,
                lifecycle_stage: head.lifecycle_stage,
            });
        }
        Ok(out)
    }
}
