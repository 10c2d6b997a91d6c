//! [`Run`]: the handle a trainer logs through.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use runlog_catalog::{LatestMetric, Run as RunInfo, RunStatus};
use runlog_metrics::{
    FlushHook, Point, RunReader, RunWriter, SeriesId, SeriesUpdate, Summary, WriterOptions,
};

use crate::error::Result;
use crate::store::Store;

/// A run being logged. Metric logging never waits for the disk: points are buffered and
/// written by a background thread (flushed every second by default; [`Run::flush`] makes
/// everything durable now). Params and tags are recorded in the catalog at once, durably.
///
/// `Send + Sync`: log from several threads through `&Run`. Only one `Run` per run exists
/// across all processes. Dropping an unfinished run ends it: FINISHED normally, FAILED when
/// the thread is panicking (as MLflow's `with start_run()` does); a process killed outright
/// leaves it RUNNING with every flushed point readable.
#[derive(Debug)]
pub struct Run {
    store: Store,
    run_id: String,
    experiment_id: String,
    writer: Option<RunWriter>,
    /// Every key's summary so far (MLflow's latest), merged at each flush.
    summaries: Arc<Mutex<HashMap<String, Summary>>>,
    /// Set while finishing: the last flush's values go to the catalog with the status, in
    /// one transaction, instead of through the sync thread.
    finishing: Arc<AtomicBool>,
}

/// A pre-resolved metric key of a [`Run`], from [`Run::metric`]: the cheapest way to log.
#[derive(Debug, Clone)]
pub struct Metric<'r> {
    writer: &'r RunWriter,
    id: SeriesId,
    key: Arc<str>,
}

/// MLflow refuses metric timestamps before the epoch (`_validate_metric`).
#[inline(always)]
fn check_timestamp(key: &str, timestamp_ms: i64) -> Result<()> {
    if timestamp_ms < 0 {
        return Err(negative_timestamp(key, timestamp_ms));
    }
    Ok(())
}

// The error paths of the per-point calls, kept out of line so the hot path stays small.
#[cold]
#[inline(never)]
fn negative_timestamp(key: &str, timestamp_ms: i64) -> crate::Error {
    runlog_catalog::CatalogError::from(
        runlog_catalog::validation::ValidationError::NegativeTimestamp {
            key: key.to_string(),
            timestamp: timestamp_ms,
        },
    )
    .into()
}

#[cold]
#[inline(never)]
fn metrics_error(e: runlog_metrics::Error) -> crate::Error {
    e.into()
}

impl Metric<'_> {
    /// Logs `value` at `step`, timestamped now.
    #[inline]
    pub fn log(&self, step: i64, value: f64) -> Result<()> {
        self.log_at(step, runlog_catalog::now_ms(), value)
    }

    /// Logs `value` at `step` with an explicit timestamp (ms since the epoch, not negative).
    #[inline]
    pub fn log_at(&self, step: i64, timestamp_ms: i64, value: f64) -> Result<()> {
        check_timestamp(&self.key, timestamp_ms)?;
        self.writer
            .append(self.id, Point::new(step, timestamp_ms, value))
            .map_err(metrics_error)
    }

    /// Logs many points at once (all or none: a negative timestamp refuses the batch).
    pub fn log_batch(&self, points: &[Point]) -> Result<()> {
        if let Some(p) = points.iter().find(|p| p.timestamp_ms < 0) {
            check_timestamp(&self.key, p.timestamp_ms)?;
        }
        Ok(self.writer.append_batch(self.id, points)?)
    }

    /// Logs columns of points (`steps[i]`, `timestamps_ms[i]`, `values[i]`; all or none).
    pub fn log_columns(&self, steps: &[i64], timestamps_ms: &[i64], values: &[f64]) -> Result<()> {
        if let Some(&t) = timestamps_ms.iter().find(|&&t| t < 0) {
            check_timestamp(&self.key, t)?;
        }
        Ok(self
            .writer
            .append_columns(self.id, steps, timestamps_ms, values)?)
    }
}

fn check_metric_key(key: &str) -> std::result::Result<(), String> {
    runlog_catalog::validation::validate_metric_key(key).map_err(|e| e.to_string())
}

fn latest_of(s: &Summary) -> LatestMetric {
    LatestMetric {
        step: s.latest.step,
        timestamp_ms: s.latest.timestamp_ms,
        value: s.latest.value,
    }
}

impl Run {
    pub(crate) fn open(store: Store, info: RunInfo, resume: bool) -> Result<Run> {
        let run_id = info.run_id.clone();
        // The summary of each key so far, merged with what each flush adds: MLflow's latest
        // value, exactly, NaN ties included.
        let summaries: Arc<Mutex<HashMap<String, Summary>>> = Arc::default();
        let finishing = Arc::new(AtomicBool::new(false));
        let syncer = store.inner.syncer.clone();
        let hook = {
            let summaries = Arc::clone(&summaries);
            let finishing = Arc::clone(&finishing);
            let run_id = run_id.clone();
            FlushHook(Arc::new(move |updates: &[SeriesUpdate]| {
                let mut all = summaries.lock().unwrap_or_else(|e| e.into_inner());
                let mut latest = Vec::with_capacity(updates.len());
                for u in updates {
                    let s = all
                        .entry(u.key.clone())
                        .and_modify(|s| s.merge(&u.summary))
                        .or_insert(u.summary);
                    latest.push((u.key.clone(), latest_of(s)));
                }
                drop(all);
                if let Some(syncer) = &syncer
                    && !finishing.load(Ordering::Acquire)
                {
                    syncer.submit(&run_id, latest);
                }
            }))
        };
        let options = WriterOptions {
            on_flush: Some(hook),
            key_check: Some(check_metric_key),
            ..WriterOptions::default()
        };
        let writer = store.inner.metrics.writer(&run_id, options)?;
        if resume {
            // Read what the run holds once we hold its lock (and recovery cut any torn tail);
            // nothing has been appended yet, so no flush can report anything before this.
            let mut seed = summaries.lock().unwrap_or_else(|e| e.into_inner());
            if let Ok(reader) = store.reader(&run_id) {
                for (_, key) in reader.series() {
                    if let Some(s) = reader.summary(&key)? {
                        seed.insert(key, s);
                    }
                }
            }
        }
        if resume {
            let catalog = store.catalog();
            if info.status != RunStatus::Running {
                catalog.set_status(&run_id, RunStatus::Running, None)?;
            }
            // Latest values the catalog may have missed (a writer killed between its last
            // flush and the catalog commit).
            let all: Vec<(String, LatestMetric)> = summaries
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|(k, s)| (k.clone(), latest_of(s)))
                .collect();
            catalog.update_metrics(&[(run_id.as_str(), all.as_slice())])?;
        }
        Ok(Run {
            store,
            experiment_id: info.experiment_id,
            run_id,
            writer: Some(writer),
            summaries,
            finishing,
        })
    }

    fn writer(&self) -> &RunWriter {
        self.writer
            .as_ref()
            .expect("the writer lives until finish or drop")
    }

    /// The run id (32 hex digits).
    pub fn id(&self) -> &str {
        &self.run_id
    }

    /// The experiment the run belongs to.
    pub fn experiment_id(&self) -> &str {
        &self.experiment_id
    }

    /// The store the run belongs to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A handle for metric `key`, validated once, for the cheapest logging.
    pub fn metric(&self, key: &str) -> Result<Metric<'_>> {
        let id = self.writer().series(key)?;
        Ok(Metric {
            writer: self.writer(),
            id,
            key: Arc::from(key),
        })
    }

    /// Logs `value` of metric `key` at `step`, timestamped now.
    #[inline]
    pub fn log_metric(&self, key: &str, step: i64, value: f64) -> Result<()> {
        self.log_metric_at(key, step, runlog_catalog::now_ms(), value)
    }

    /// Logs `value` of metric `key` at `step` with an explicit timestamp (ms since the epoch).
    #[inline]
    pub fn log_metric_at(&self, key: &str, step: i64, timestamp_ms: i64, value: f64) -> Result<()> {
        check_timestamp(key, timestamp_ms)?;
        self.writer()
            .append_key(key, Point::new(step, timestamp_ms, value))
            .map_err(metrics_error)
    }

    /// Logs several metrics of one step, with one timestamp (now).
    pub fn log_metrics(&self, step: i64, metrics: &[(&str, f64)]) -> Result<()> {
        let t = runlog_catalog::now_ms();
        for (k, v) in metrics {
            self.writer().append_key(k, Point::new(step, t, *v))?;
        }
        Ok(())
    }

    /// Logs a param (immutable: the same value again is fine, another value an error).
    pub fn log_param(&self, key: &str, value: impl ToString) -> Result<()> {
        let v = value.to_string();
        self.log_params(&[(key, v.as_str())])
    }

    /// Logs several params in one durable catalog transaction.
    pub fn log_params(&self, params: &[(&str, &str)]) -> Result<()> {
        Ok(self.store.catalog().log_params(&self.run_id, params)?)
    }

    /// Sets a tag (`mlflow.runName` renames the run).
    pub fn set_tag(&self, key: &str, value: &str) -> Result<()> {
        self.set_tags(&[(key, value)])
    }

    /// Sets several tags in one durable catalog transaction.
    pub fn set_tags(&self, tags: &[(&str, &str)]) -> Result<()> {
        Ok(self.store.catalog().set_tags(&self.run_id, tags)?)
    }

    /// Deletes a tag.
    pub fn delete_tag(&self, key: &str) -> Result<()> {
        Ok(self.store.catalog().delete_tag(&self.run_id, key)?)
    }

    /// Makes every metric point logged so far durable and records the latest values in the
    /// catalog (so searches see them).
    pub fn flush(&self) -> Result<()> {
        self.writer().flush()?;
        self.sync_catalog()
    }

    fn sync_catalog(&self) -> Result<()> {
        if let Some(s) = &self.store.inner.syncer {
            s.barrier()
                .map_err(runlog_catalog::CatalogError::InvalidState)?;
        }
        Ok(())
    }

    /// A reader of this run's metrics (what has been flushed).
    pub fn reader(&self) -> Result<RunReader> {
        self.store.reader(&self.run_id)
    }

    /// Ends the run: flushes, seals its metric data, records the latest values and sets
    /// `status` with the end time.
    pub fn finish(mut self, status: RunStatus) -> Result<()> {
        self.end(status)
    }

    fn end(&mut self, status: RunStatus) -> Result<()> {
        let Some(writer) = self.writer.take() else {
            return Ok(());
        };
        self.finishing.store(true, Ordering::Release);
        let closed = writer.close();
        // Earlier flushes' values must not land after the final ones.
        let synced = self.sync_catalog();
        let latest: Vec<(String, LatestMetric)> = self
            .summaries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, s)| (k.clone(), latest_of(s)))
            .collect();
        // The status is recorded even when the last flush failed: the run did end. (A run
        // deleted meanwhile gets its latest values but keeps its status, as in MLflow.)
        self.store
            .catalog()
            .end_run(&self.run_id, status, None, &latest)?;
        closed?;
        synced
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let status = if std::thread::panicking() {
            RunStatus::Failed
        } else {
            RunStatus::Finished
        };
        let _ = self.end(status);
    }
}
