//! The facade's error: whatever the metric store or the catalog reported.

/// An error of the metric store or of the catalog; both say what was wrong and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// From the metric store (segments, writers, readers).
    #[error(transparent)]
    Metrics(#[from] runlog_metrics::Error),
    /// From the catalog (experiments, runs, params, tags, search).
    #[error(transparent)]
    Catalog(#[from] runlog_catalog::CatalogError),
}

impl From<runlog_search::SearchError> for Error {
    fn from(e: runlog_search::SearchError) -> Self {
        Error::Catalog(e.into())
    }
}

/// The facade's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
