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
    /// The export folder holds something that is not an earlier export.
    #[error(
        "the export folder {0} is not empty and holds no earlier runlog export (no `.runlog-export.json`); export into a new or empty folder, or into the folder of an earlier export to update it"
    )]
    TargetNotEmpty(PathBuf),
    /// The export folder named is a file or a symbolic link (links are never followed).
    #[error("the export folder {path} is {what}, not a folder; {hint}")]
    TargetNotFolder {
        /// The path given.
        path: PathBuf,
        /// `a file`, `a symbolic link`, ….
        what: &'static str,
        /// What to do instead.
        hint: &'static str,
    },
    /// Something the export would create is already there in another form (an experiment
    /// both active and in `.trash/`).
    #[error(
        "{0} is in the way: the export folder holds it in a form an export does not write; move it away and export again"
    )]
    Conflict(PathBuf),
    /// A chosen experiment or run is not in the store.
    #[error("there is no {what} {id:?} in the store")]
    NotInStore {
        /// `experiment` or `run`.
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// A run's artifacts could not be read.
    #[error("reading the artifacts of run {run_id}: {source}")]
    Artifacts {
        /// The run.
        run_id: String,
        /// The cause.
        source: runlog_artifacts::ArtifactError,
    },
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
