//! # runlog
//!
//! An embedded experiment-tracking database: the SQLite of ML metrics. A trainer logs metric
//! points into a local folder at memory speed; analysis tools read the same folder, also while
//! training runs. This facade re-exports the metric store; experiments, runs and the catalog
//! arrive with `runlog-catalog`.
//!
//! ```
//! # fn main() -> runlog::Result<()> {
//! use runlog::{Axis, MetricStore, Point, WriterOptions};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = MetricStore::open(dir.path())?;
//! let writer = store.writer("run-1", WriterOptions::default())?;
//! let loss = writer.series("train/loss")?;
//! let acc = writer.series("train/acc")?;
//! for step in 0..1_000 {
//!     let t = 1_700_000_000_000 + step * 50;
//!     writer.append_step(step, t, &[(loss, 1.0 / (1 + step) as f64), (acc, 0.5)])?;
//! }
//! writer.flush()?;
//!
//! let reader = store.reader("run-1")?;
//! assert_eq!(reader.history("train/acc")?.len(), 1_000);
//! let curve = reader.downsample("train/loss", Axis::Step, 10, None)?;
//! assert_eq!(curve[0].count, 100);
//! assert_eq!(reader.latest("train/loss")?, Some(Point::new(999, 1_700_000_049_950, 0.001)));
//! # Ok(()) }
//! ```

pub use runlog_metrics as metrics;
pub use runlog_metrics::{
    Axis, Bucket, Error, MetricStore, Point, Points, Result, RunReader, RunWriter, SeriesId,
    Summary, WriterOptions,
};
