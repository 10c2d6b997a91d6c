//! The facade's error: whatever the metric store, the catalog or the artifacts reported.

/// An error of the metric store, the catalog or the artifacts; each says what was wrong and
/// what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// From the metric store (segments, writers, readers).
    #[error(transparent)]
    Metrics(#[from] runlog_metrics::Error),
    /// From the catalog (experiments, runs, params, tags, search).
    #[error(transparent)]
    Catalog(#[from] runlog_catalog::CatalogError),
    /// From the artifact repository (logging, listing, reading, downloading run artifacts).
    #[error(transparent)]
    Artifacts(#[from] runlog_artifacts::ArtifactError),
}

impl From<runlog_search::SearchError> for Error {
    fn from(e: runlog_search::SearchError) -> Self {
        Error::Catalog(e.into())
    }
}

/// The facade's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
