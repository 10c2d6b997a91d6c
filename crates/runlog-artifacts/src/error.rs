//! The artifact repository's errors: each names the path it is about and what to do.

use std::io;
use std::path::PathBuf;

/// The result type of every fallible operation in this crate.
pub type Result<T, E = ArtifactError> = std::result::Result<T, E>;

/// What went wrong with an artifact.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// An artifact path given by the caller is refused (absolute, `..`, NUL, not normalised).
    #[error("artifact path {path:?} is refused: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why, and what is allowed.
        reason: String,
    },

    /// A symbolic link in a folder being logged points outside that folder.
    #[error(
        "{link} is a symbolic link to {target}, outside the folder being logged ({root}); \
         nothing was logged: copy the target into the folder or remove the link"
    )]
    SymlinkOutside {
        /// The link.
        link: PathBuf,
        /// Where it resolves to.
        target: PathBuf,
        /// The folder being logged.
        root: PathBuf,
    },

    /// A symbolic link leads back into a folder it is inside of.
    #[error(
        "{link} is a symbolic link to {target}, a folder containing it: a loop; remove the link"
    )]
    SymlinkLoop {
        /// The link.
        link: PathBuf,
        /// The folder it points back to.
        target: PathBuf,
    },

    /// An artifact resolves, through a symbolic link, outside the artifact root: it is neither
    /// read nor written.
    #[error(
        "artifact {path:?} resolves to {resolved}, outside the artifact root {root}; \
         runlog never follows links out of the artifact root"
    )]
    OutsideRoot {
        /// The artifact path.
        path: String,
        /// Where it resolves to.
        resolved: PathBuf,
        /// The artifact root.
        root: PathBuf,
    },

    /// No artifact at this path.
    #[error("no artifact {path:?} under {root}; list_artifacts shows what there is")]
    NotFound {
        /// The artifact path.
        path: String,
        /// The artifact root.
        root: PathBuf,
    },

    /// A file was asked for and the path is a folder.
    #[error("artifact {path:?} is a folder; list it or download it instead of opening it")]
    IsAFolder {
        /// The artifact path.
        path: String,
    },

    /// A folder is needed where a file is (or the other way round).
    #[error("{path} is in the way: {what}")]
    InTheWay {
        /// The file or folder in the way.
        path: PathBuf,
        /// What was expected there.
        what: &'static str,
    },

    /// A local file or folder to log, or a download destination, is not what the call needs.
    #[error("{path}: {what}")]
    BadLocalPath {
        /// The local path.
        path: PathBuf,
        /// What is wrong with it and what to do.
        what: String,
    },

    /// A file name that is not UTF-8: artifact paths are strings.
    #[error("{path}: the name is not valid UTF-8; artifact names must be, rename it")]
    NotUnicode {
        /// The file.
        path: PathBuf,
    },

    /// An artifact location this repository cannot serve.
    #[error(
        "artifact location {uri:?} is not supported: {why}; runlog stores artifacts in local \
         folders (file:// URIs or paths)"
    )]
    UnsupportedUri {
        /// The URI.
        uri: String,
        /// Why.
        why: &'static str,
    },

    /// A copy did not produce what was read: the source changed while it was copied, or the
    /// written bytes read back differ. Nothing was published.
    #[error(
        "copy to {path} failed verification: read {read_bytes} bytes (CRC-32 {read_crc:08x}), \
         {what} {got_bytes} bytes (CRC-32 {got_crc:08x}); nothing was written, try again"
    )]
    Mismatch {
        /// The destination.
        path: PathBuf,
        /// Bytes read from the source.
        read_bytes: u64,
        /// CRC-32 of the bytes read from the source.
        read_crc: u32,
        /// What the other figure is: the source's size when the copy began, or the copy read
        /// back.
        what: &'static str,
        /// The other size.
        got_bytes: u64,
        /// The other CRC-32 (0 when only sizes are compared).
        got_crc: u32,
    },

    /// An operating-system call failed.
    #[error("could not {op} {path}: {source}")]
    Io {
        /// What runlog was doing (`read`, `write`, `create folder`, …).
        op: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

impl ArtifactError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| ArtifactError::Io { op, path, source }
    }

    pub(crate) fn invalid(path: &str, reason: impl Into<String>) -> Self {
        ArtifactError::InvalidPath {
            path: path.to_string(),
            reason: reason.into(),
        }
    }
}
