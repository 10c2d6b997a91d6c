//! # runlog-metrics
//!
//! The append-only, compressed, step- and time-indexed metric store under runlog. It knows
//! nothing of experiments: it stores series of `(step, timestamp_ms, value)` points, per run
//! folder, and answers history, window, latest, summary and downsampling queries.
//!
//! ```
//! # fn main() -> runlog_metrics::Result<()> {
//! use runlog_metrics::{Axis, MetricStore, Point, WriterOptions};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = MetricStore::open(dir.path())?;
//! let writer = store.writer("run1", WriterOptions::default())?;
//! let loss = writer.series("train/loss")?;
//! for step in 0..10_000 {
//!     writer.append(loss, Point::new(step, 1_700_000_000_000 + step, 1.0 / (step + 1) as f64))?;
//! }
//! writer.flush()?; // durable: one fdatasync
//!
//! let reader = store.reader("run1")?; // works while the writer goes on, in any process
//! assert_eq!(reader.step_window("train/loss", 100, 200)?.len(), 100);
//! assert_eq!(reader.latest("train/loss")?.unwrap().step, 9_999);
//! let curve = reader.downsample("train/loss", Axis::Step, 100, None)?;
//! assert_eq!(curve.len(), 100);
//! # Ok(()) }
//! ```
//!
//! The on-disk format is drawn byte by byte in `docs/format.md`; the durability contract is in
//! the README.

mod bitpack;
mod block;
mod check;
mod column;
mod error;
mod fault;
mod index;
mod manifest;
mod reader;
mod record;
mod seal;
mod segment;
mod store;
mod summary;
mod writer;

pub use block::{MAX_BLOCK_POINTS, Points};
pub use check::{CheckReport, verify_run};
pub use error::{DecodeError, Error, Result};
pub use reader::{Axis, Bucket, RunReader};
pub use segment::SEGMENT_VERSION;
pub use store::{MetricStore, STORE_VERSION, check_run_id};
pub use summary::{Point, Summary};
pub use writer::{FlushFn, FlushHook, KeyCheck, RunWriter, SeriesId, SeriesUpdate, WriterOptions};

#[doc(hidden)]
pub use fault::FaultPlan;

/// Entry points for fuzzing and tests of the decoders. Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use crate::block::{self, Points, Scratch};

    /// Decodes a block payload.
    pub fn decode_block(payload: &[u8]) -> Result<Points, crate::DecodeError> {
        let mut out = Points::default();
        block::decode(payload, &mut out, &mut Scratch::default())?;
        Ok(out)
    }

    /// Encodes points (1 or more) as a block payload of series 7.
    pub fn encode_block(points: &Points) -> Vec<u8> {
        let mut out = Vec::new();
        block::encode(7, points, &mut out);
        out
    }

    /// Scans a whole segment file image as the reader would; returns the valid length.
    pub fn scan_segment(bytes: &[u8]) -> Result<u64, String> {
        crate::segment::scan_bytes(std::path::Path::new("fuzz.seg"), bytes)
            .map(|s| s.valid_len)
            .map_err(|e| e.to_string())
    }

    /// Reads one record at offset 0 of `bytes`; returns its kind and payload length.
    pub fn read_record(bytes: &[u8]) -> Option<(u8, usize)> {
        crate::record::read(bytes, 0)
            .ok()
            .map(|r| (r.kind as u8, r.payload.len()))
    }
}
