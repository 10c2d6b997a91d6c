//! SQLite (bundled, through rusqlite) the way a careful user would set it up for metrics: WAL,
//! `synchronous=NORMAL`, one row per point, an index on `(series, step)`, a prepared insert
//! and 100 000 rows per transaction. A final `wal_checkpoint(TRUNCATE)` moves everything into
//! the main file (and syncs it), so the size figure is the database file alone.

use std::collections::HashMap;
use std::path::Path;

use runlog_metrics::{Point, Points};
use runlog_workloads::{W1_KEYS, W1Columns};
use rusqlite::{Connection, OpenFlags, params};

use crate::engine::{Engine, Queries, ROWS_PER_TRANSACTION, Result, points_per_key, rows};

const FILE: &str = "w1.sqlite";

const SCHEMA: &str = "
    CREATE TABLE series(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
    CREATE TABLE points(series INTEGER NOT NULL, step INTEGER NOT NULL, ts INTEGER NOT NULL,
                        value REAL NOT NULL);
    CREATE INDEX points_series_step ON points(series, step);
";
const INSERT: &str = "INSERT INTO points(series, step, ts, value) VALUES (?1, ?2, ?3, ?4)";
const Q1: &str = "SELECT step, ts, value FROM points WHERE series = ?1 ORDER BY rowid";
const Q2: &str = "SELECT step, ts, value FROM points WHERE series = ?1 AND step >= ?2 AND step < ?3 \
                  ORDER BY step";

/// SQLite in WAL mode.
#[derive(Debug)]
pub struct Sqlite;

impl Engine for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn ingest(&self, dir: &Path, data: &W1Columns) -> Result<()> {
        let conn = Connection::open(dir.join(FILE))?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("SQLite refused WAL mode (journal_mode is {mode})").into());
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        {
            let mut def = conn.prepare("INSERT INTO series(id, key) VALUES (?1, ?2)")?;
            for (id, key) in W1_KEYS.iter().enumerate() {
                def.execute(params![id as i64, key])?;
            }
        }
        {
            let mut insert = conn.prepare(INSERT)?;
            let mut in_txn = 0;
            conn.execute_batch("BEGIN")?;
            for (key, i) in rows(points_per_key(data)) {
                insert.execute(params![
                    key as i64,
                    data.steps[key][i],
                    data.timestamps_ms[key][i],
                    data.values[key][i]
                ])?;
                in_txn += 1;
                if in_txn == ROWS_PER_TRANSACTION {
                    conn.execute_batch("COMMIT; BEGIN")?;
                    in_txn = 0;
                }
            }
            conn.execute_batch("COMMIT")?;
        }
        let (busy, _log, _moved): (i64, i64, i64) =
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        if busy != 0 {
            return Err("SQLite's final checkpoint was blocked".into());
        }
        conn.close().map_err(|(_, e)| e)?;
        Ok(())
    }

    fn open(&self, dir: &Path) -> Result<Box<dyn Queries>> {
        let conn = Connection::open_with_flags(dir.join(FILE), OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let mut ids = HashMap::new();
        {
            let mut stmt = conn.prepare("SELECT key, id FROM series")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                ids.insert(r.get::<_, String>(0)?, r.get::<_, i64>(1)?);
            }
            for (what, sql) in [("Q1", Q1), ("Q2", Q2)] {
                let plan = query_plan(&conn, sql)?;
                eprintln!("[sqlite] {what} plan: {plan}");
            }
        }
        Ok(Box::new(SqliteQueries { conn, ids }))
    }
}

/// The `detail` column of `EXPLAIN QUERY PLAN`, joined (parameters bound to 0).
fn query_plan(conn: &Connection, sql: &str) -> Result<String> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    for n in 1..=stmt.parameter_count() {
        stmt.raw_bind_parameter(n, 0i64)?;
    }
    let mut rows = stmt.raw_query();
    let mut steps = Vec::new();
    while let Some(r) = rows.next()? {
        steps.push(r.get::<_, String>(3)?);
    }
    Ok(steps.join("; "))
}

#[derive(Debug)]
struct SqliteQueries {
    conn: Connection,
    ids: HashMap<String, i64>,
}

impl SqliteQueries {
    fn id(&self, key: &str) -> Result<i64> {
        self.ids
            .get(key)
            .copied()
            .ok_or_else(|| format!("no series {key:?} in the SQLite database").into())
    }

    fn collect(&self, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Points> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query(params)?;
        let mut out = Points::default();
        while let Some(r) = rows.next()? {
            out.push(Point::new(r.get(0)?, r.get(1)?, r.get(2)?));
        }
        Ok(out)
    }
}

impl Queries for SqliteQueries {
    fn history(&mut self, key: &str) -> Result<Points> {
        let id = self.id(key)?;
        self.collect(Q1, params![id])
    }

    fn step_window(&mut self, key: &str, lo: i64, hi: i64) -> Result<Points> {
        let id = self.id(key)?;
        self.collect(Q2, params![id, lo, hi])
    }
}
