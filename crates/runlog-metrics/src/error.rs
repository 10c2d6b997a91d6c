//! Errors of the metric store. Every message is a sentence a user can act on; corruption names
//! the file, the byte offset and what was expected there.

use std::io;
use std::path::PathBuf;

/// The result type of every fallible operation in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in the metric store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call on a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or folder the call was about.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// Bytes on disk are not what the format says they must be. Nothing from the damaged region
    /// is returned as data.
    #[error("corrupt data in {path} at byte offset {offset}: {what}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset, from the start of the file, of the damaged record or field.
        offset: u64,
        /// What was expected and what was found.
        what: String,
    },

    /// The folder is not a runlog store, or a file in it is not a runlog file.
    #[error("{path} is not a runlog store: {why}")]
    NotAStore {
        /// The folder or file that was refused.
        path: PathBuf,
        /// What was missing or wrong.
        why: String,
    },

    /// The store or segment was written by a format version this build cannot read.
    #[error(
        "{path} uses format version {found}, but this build of runlog reads only version {supported}; \
         open it with a runlog release that supports version {found}"
    )]
    UnsupportedVersion {
        /// The file that carries the version.
        path: PathBuf,
        /// The version found on disk.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },

    /// Another writer holds the run.
    #[error(
        "run folder {path} is already being written by {holder}; only one writer per run is allowed \
         (stop that process, or open the run read-only)"
    )]
    Locked {
        /// The run folder.
        path: PathBuf,
        /// Who holds the lock, as the holder wrote it into the LOCK file.
        holder: String,
    },

    /// An earlier write or sync failed, so this writer refuses further work: data it had
    /// acknowledged is safe, but it can no longer know what reached the disk after that.
    #[error(
        "the writer of {path} is poisoned by an earlier I/O failure ({cause}); points flushed before \
         that failure are durable; reopen the run to continue"
    )]
    Poisoned {
        /// The run folder.
        path: PathBuf,
        /// The failure that poisoned the writer.
        cause: String,
    },

    /// A series key that cannot be stored.
    #[error("invalid series key {key:?}: {why}")]
    InvalidKey {
        /// The offending key.
        key: String,
        /// What is allowed.
        why: String,
    },

    /// The run has no series of that key.
    #[error("run folder {run} has no series named {key:?}")]
    NoSuchSeries {
        /// The key asked for.
        key: String,
        /// The run folder.
        run: PathBuf,
    },

    /// A series id that this run does not define.
    #[error("series id {0} is not defined in this run")]
    UnknownSeries(u32),

    /// The arguments of a call do not make sense together.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The writer was closed.
    #[error("the writer of {0} is closed")]
    Closed(PathBuf),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, offset: u64, what: impl Into<String>) -> Self {
        Error::Corrupt {
            path: path.into(),
            offset,
            what: what.into(),
        }
    }

    /// True when this error reports damaged bytes on disk.
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corrupt { .. })
    }
}

/// A decoding failure inside a byte buffer, before the file and absolute offset are known.
/// Callers turn it into [`Error::Corrupt`] with [`DecodeError::at`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Offset relative to the start of the buffer that was being decoded.
    pub offset: usize,
    /// What was expected.
    pub what: String,
}

impl DecodeError {
    pub(crate) fn new(offset: usize, what: impl Into<String>) -> Self {
        DecodeError {
            offset,
            what: what.into(),
        }
    }

    /// Places this failure in a file whose buffer started at `base`.
    pub fn at(self, path: impl Into<PathBuf>, base: u64) -> Error {
        Error::corrupt(path, base + self.offset as u64, self.what)
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.what)
    }
}

impl std::error::Error for DecodeError {}
