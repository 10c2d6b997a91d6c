//! runlog itself: one run, one series per key, `append_batch` per chunk, `close()` to finish.

use std::path::Path;

use runlog_metrics::{MetricStore, Point, Points, RunReader, WriterOptions};
use runlog_workloads::{W1_KEYS, W1Columns};

use crate::engine::{Engine, Queries, Result, chunks, points_per_key};

const RUN: &str = "w1";

/// runlog with default writer options.
#[derive(Debug)]
pub struct Runlog;

impl Engine for Runlog {
    fn name(&self) -> &'static str {
        "runlog"
    }

    fn ingest(&self, dir: &Path, data: &W1Columns) -> Result<()> {
        let store = MetricStore::open(dir)?;
        let writer = store.writer(RUN, WriterOptions::default())?;
        let ids = W1_KEYS
            .iter()
            .map(|k| writer.series(k))
            .collect::<runlog_metrics::Result<Vec<_>>>()?;
        let mut batch: Vec<Point> = Vec::with_capacity(crate::engine::CHUNK_POINTS);
        for (key, range) in chunks(points_per_key(data)) {
            batch.clear();
            batch.extend(range.map(|i| {
                Point::new(
                    data.steps[key][i],
                    data.timestamps_ms[key][i],
                    data.values[key][i],
                )
            }));
            writer.append_batch(ids[key], &batch)?;
        }
        // Flushes (one fdatasync) and seals the active segment.
        writer.close()?;
        Ok(())
    }

    fn open(&self, dir: &Path) -> Result<Box<dyn Queries>> {
        let reader = MetricStore::open(dir)?.reader(RUN)?;
        Ok(Box::new(RunlogQueries { reader }))
    }
}

#[derive(Debug)]
struct RunlogQueries {
    reader: RunReader,
}

impl Queries for RunlogQueries {
    fn history(&mut self, key: &str) -> Result<Points> {
        Ok(self.reader.history(key)?)
    }

    fn step_window(&mut self, key: &str, lo: i64, hi: i64) -> Result<Points> {
        Ok(self.reader.step_window(key, lo, hi)?)
    }
}
