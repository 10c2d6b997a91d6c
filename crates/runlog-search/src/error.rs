//! The one error type of the crate.
//!
//! Every message starts with the wording MLflow 3.17.2 uses for the same mistake (so that a
//! user who knows MLflow recognises it), and adds where the problem is and what was expected.

/// What kind of mistake a [`SearchError`] reports.
///
/// The kinds follow the `MlflowException`s raised by `mlflow/utils/search_utils.py` and
/// `FileStore._search_runs`; all of them map to MLflow's `INVALID_PARAMETER_VALUE` error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The filter could not be split into comparisons joined by `AND` (MLflow: "Invalid
    /// clause(s) in filter string", "Invalid filter … Could not be parsed").
    InvalidClause,
    /// A comparison is not `identifier comparator value` (MLflow: "Invalid comparison clause").
    InvalidComparison,
    /// The part before the first `.` is not a known entity (MLflow: "Invalid entity type").
    InvalidEntity,
    /// An attribute that cannot be searched or ordered by (MLflow: "Invalid attribute key").
    InvalidAttribute,
    /// A dataset field other than `name`, `digest` or `context` (MLflow: "Invalid dataset key").
    InvalidDatasetKey,
    /// A comparator that the entity does not support (MLflow: "Invalid comparator").
    InvalidComparator,
    /// The value has the wrong type for the entity, e.g. a string for a metric.
    InvalidValue,
    /// A parenthesised list that is malformed, empty or used where lists are not allowed.
    InvalidList,
    /// `IS NULL` / `IS NOT NULL` on something other than a param or a tag.
    InvalidNullCheck,
    /// An `order_by` element that cannot be parsed or names an unknown direction.
    InvalidOrderBy,
    /// `max_results` above MLflow's limit of 50 000.
    InvalidMaxResults,
    /// A page token that is not base64 of `{"offset": N}` with `N > 0`.
    InvalidPageToken,
}

/// A rejected filter, `order_by` clause, page token or paging request.
///
/// [`SearchError::position`] is the byte offset in the parsed text where the problem was
/// found, when there is one. The message always names the offending text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SearchError {
    kind: ErrorKind,
    position: Option<usize>,
    message: String,
}

impl SearchError {
    /// Creates an error of `kind` whose message is `message`, found at byte `position`.
    pub(crate) fn new(
        kind: ErrorKind,
        position: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        SearchError {
            kind,
            position,
            message: message.into(),
        }
    }

    /// Creates an error at byte `position`, appending "at position N" and `detail` to the
    /// MLflow-style `message`.
    pub(crate) fn at(
        kind: ErrorKind,
        position: usize,
        message: impl Into<String>,
        detail: &str,
    ) -> Self {
        let message = message.into();
        let message = if detail.is_empty() {
            format!("{message} (at position {position})")
        } else {
            format!("{message} (at position {position}: {detail})")
        };
        SearchError {
            kind,
            position: Some(position),
            message,
        }
    }

    /// The kind of mistake.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The byte offset in the parsed text where the mistake was found, if it has one.
    pub fn position(&self) -> Option<usize> {
        self.position
    }

    /// The full human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }
}
