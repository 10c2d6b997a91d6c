//! redb: one B-tree row per point, keyed `(series u32, step i64, dup u32)` so that a step window
//! is a range scan and repeated steps are kept (`dup` numbers the repeats of one step). The
//! value is `(timestamp_ms i64, value f64)`. Commits every 100 000 rows with redb's default,
//! durable, commits.
//!
//! Q1 ranges over the whole series, which returns step order; that equals arrival order for W1
//! (steps only grow), not for every workload.

use std::collections::HashMap;
use std::path::Path;

use redb::{Database, ReadOnlyDatabase, ReadableDatabase, ReadableTable, Table, TableDefinition};
use runlog_metrics::{Point, Points};
use runlog_workloads::{W1_KEYS, W1Columns};

use crate::engine::{Engine, Queries, ROWS_PER_TRANSACTION, Result, points_per_key, rows};

const FILE: &str = "w1.redb";

type PointKey = (u32, i64, u32);
type PointValue = (i64, f64);

const POINTS: TableDefinition<PointKey, PointValue> = TableDefinition::new("points");
const SERIES: TableDefinition<&str, u32> = TableDefinition::new("series");

/// redb with default settings.
#[derive(Debug)]
pub struct Redb;

impl Engine for Redb {
    fn name(&self) -> &'static str {
        "redb"
    }

    fn ingest(&self, dir: &Path, data: &W1Columns) -> Result<()> {
        let db = Database::create(dir.join(FILE))?;
        {
            let txn = db.begin_write()?;
            {
                let mut series = txn.open_table(SERIES)?;
                for (id, key) in W1_KEYS.iter().enumerate() {
                    series.insert(*key, id as u32)?;
                }
            }
            txn.commit()?;
        }
        // Per series: the last step written and how many times it was repeated.
        let mut last: Vec<Option<(i64, u32)>> = vec![None; W1_KEYS.len()];
        let mut pending = rows(points_per_key(data)).peekable();
        while pending.peek().is_some() {
            let txn = db.begin_write()?;
            {
                let mut points = txn.open_table(POINTS)?;
                for (key, i) in pending.by_ref().take(ROWS_PER_TRANSACTION) {
                    let step = data.steps[key][i];
                    let dup = next_dup(&points, key as u32, step, &mut last[key])?;
                    points.insert(
                        (key as u32, step, dup),
                        (data.timestamps_ms[key][i], data.values[key][i]),
                    )?;
                }
            }
            txn.commit()?;
        }
        db.close()?;
        Ok(())
    }

    fn open(&self, dir: &Path) -> Result<Box<dyn Queries>> {
        let db = ReadOnlyDatabase::open(dir.join(FILE))?;
        let mut ids = HashMap::new();
        {
            let txn = db.begin_read()?;
            let series = txn.open_table(SERIES)?;
            for entry in series.iter()? {
                let (k, v) = entry?;
                ids.insert(k.value().to_string(), v.value());
            }
        }
        Ok(Box::new(RedbQueries { db, ids }))
    }
}

/// The `dup` of a new point at `step`: 0 for a step not seen before in the series, else one
/// more than the highest `dup` of that step. Steps that only grow never touch the table.
fn next_dup(
    points: &Table<'_, PointKey, PointValue>,
    series: u32,
    step: i64,
    last: &mut Option<(i64, u32)>,
) -> Result<u32> {
    let dup = match *last {
        None => 0,
        Some((s, _)) if step > s => 0,
        Some((s, d)) if step == s => d + 1,
        Some(_) => match points
            .range((series, step, 0)..=(series, step, u32::MAX))?
            .next_back()
        {
            Some(entry) => entry?.0.value().2 + 1,
            None => 0,
        },
    };
    if last.is_none_or(|(s, _)| step >= s) {
        *last = Some((step, dup));
    }
    Ok(dup)
}

struct RedbQueries {
    db: ReadOnlyDatabase,
    ids: HashMap<String, u32>,
}

impl std::fmt::Debug for RedbQueries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbQueries")
            .field("ids", &self.ids)
            .finish()
    }
}

impl RedbQueries {
    fn range(&self, key: &str, lo: i64, hi_inclusive: i64) -> Result<Points> {
        let id = *self
            .ids
            .get(key)
            .ok_or_else(|| format!("no series {key:?} in the redb database"))?;
        let txn = self.db.begin_read()?;
        let points = txn.open_table(POINTS)?;
        let mut out = Points::default();
        for entry in points.range((id, lo, 0)..=(id, hi_inclusive, u32::MAX))? {
            let (k, v) = entry?;
            let (_, step, _) = k.value();
            let (ts, value) = v.value();
            out.push(Point::new(step, ts, value));
        }
        Ok(out)
    }
}

impl Queries for RedbQueries {
    fn history(&mut self, key: &str) -> Result<Points> {
        self.range(key, i64::MIN, i64::MAX)
    }

    fn step_window(&mut self, key: &str, lo: i64, hi: i64) -> Result<Points> {
        if hi <= lo {
            return Ok(Points::default());
        }
        self.range(key, lo, hi - 1)
    }
}
