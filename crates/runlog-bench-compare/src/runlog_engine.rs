//! runlog itself: one run, one series per key, `append_columns` per chunk, `close()` to finish.

use std::path::Path;

use runlog_metrics::{MetricStore, Points, RunReader, WriterOptions};
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
        // The columnar batch API: W1 is held as columns, as an importer would have it.
        for (key, range) in chunks(points_per_key(data)) {
            writer.append_columns(
                ids[key],
                &data.steps[key][range.clone()],
                &data.timestamps_ms[key][range.clone()],
                &data.values[key][range],
            )?;
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
