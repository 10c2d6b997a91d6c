//! What can go wrong in an export.

use std::io;
use std::path::PathBuf;

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The export folder already holds something; exports go into a new or empty folder.
    #[error(
        "the export folder {0} is not empty; export into a new or empty folder (incremental export is not supported yet)"
    )]
    TargetNotEmpty(PathBuf),
    /// A name (key, id) cannot become a file name MLflow accepts, or would leave the export
    /// folder.
    #[error("cannot export {what} {name:?}: {reason}")]
    InvalidName {
        /// What the name is (`param key of run 1f…`, `experiment id`, …).
        what: String,
        /// The name.
        name: String,
        /// Why it is refused.
        reason: String,
    },
    /// A path resolved outside the export folder at write time (a symbolic link in the way).
    #[error("refusing to write {0}: it is not a plain folder inside the export folder")]
    Escape(PathBuf),
    /// The catalog refused a read.
    #[error("reading the catalog: {0}")]
    Catalog(#[from] runlog_catalog::CatalogError),
    /// The metric store refused a read.
    #[error("reading metrics of run {run_id}: {source}")]
    Metrics {
        /// The run.
        run_id: String,
        /// The cause.
        source: runlog_metrics::Error,
    },
}

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { op, path, source }
}
