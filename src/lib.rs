//! # runlog
//!
//! An embedded experiment-tracking database: the SQLite of ML metrics. This facade re-exports
//! the metric store; experiments, runs and the catalog arrive with `runlog-catalog`.

pub use runlog_metrics as metrics;
pub use runlog_metrics::{
    Axis, Bucket, Error, MetricStore, Point, Points, Result, RunReader, RunWriter, SeriesId,
    Summary, WriterOptions,
};
