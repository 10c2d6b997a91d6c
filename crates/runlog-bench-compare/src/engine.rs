//! What every engine implements, and the ingest order they all share.

use std::ops::Range;
use std::path::Path;

use runlog_metrics::Points;
use runlog_workloads::{W1_KEYS, W1Columns};

/// Any error; the benchmark reports it and stops.
pub type Error = Box<dyn std::error::Error>;
/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Points per key per ingest call: keys are interleaved chunk by chunk.
pub const CHUNK_POINTS: usize = 10_000;

/// Rows per transaction for the engines that batch writes in transactions (SQLite, redb).
pub const ROWS_PER_TRANSACTION: usize = 100_000;

/// One storage engine under comparison.
pub trait Engine {
    /// Short name, used in the table and as the JSON key.
    fn name(&self) -> &'static str;

    /// Creates a store in the empty folder `dir`, writes all of `data` and returns once every
    /// point is durable (synced) and the store is closed.
    fn ingest(&self, dir: &Path, data: &W1Columns) -> Result<()>;

    /// Opens the store that [`Engine::ingest`] left in `dir`, for queries.
    fn open(&self, dir: &Path) -> Result<Box<dyn Queries>>;
}

/// The two queries of the comparison, on an opened store.
pub trait Queries {
    /// Q1: every point of `key`, in arrival order.
    fn history(&mut self, key: &str) -> Result<Points>;

    /// Q2: the points of `key` with `lo <= step < hi`, in step order.
    fn step_window(&mut self, key: &str, lo: i64, hi: i64) -> Result<Points>;
}

/// The ingest order every engine follows: for each run of [`CHUNK_POINTS`] steps, each key in
/// turn, as `(key index, index range into that key's columns)`.
pub fn chunks(points_per_key: usize) -> impl Iterator<Item = (usize, Range<usize>)> {
    (0..points_per_key)
        .step_by(CHUNK_POINTS)
        .flat_map(move |start| {
            let end = (start + CHUNK_POINTS).min(points_per_key);
            (0..W1_KEYS.len()).map(move |key| (key, start..end))
        })
}

/// The same order one point at a time, as `(key index, index into that key's columns)`.
pub fn rows(points_per_key: usize) -> impl Iterator<Item = (usize, usize)> {
    chunks(points_per_key).flat_map(|(key, range)| range.map(move |i| (key, i)))
}

/// The index of `key` in [`W1_KEYS`], which every engine uses as the series id.
pub fn key_index(key: &str) -> Result<usize> {
    W1_KEYS
        .iter()
        .position(|k| *k == key)
        .ok_or_else(|| format!("{key:?} is not a W1 key").into())
}

/// Points per key in `data` (all keys have the same count in W1).
pub fn points_per_key(data: &W1Columns) -> usize {
    data.steps.first().map_or(0, Vec::len)
}
