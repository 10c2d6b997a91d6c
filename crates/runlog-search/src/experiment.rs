//! `search_experiments` filters: the run filter language with an experiment's keys.
//!
//! MLflow 3.17.2's `SearchExperimentsUtils` inherits the grammar of run filters (the same
//! `sqlparse` cutting, `AND` as the only connective, the same value and comparator checks)
//! and changes only the keys, so this module reuses the lexer, the first pass and the value
//! checks, and supplies its own key resolution (`ident.rs`) and evaluation:
//!
//! * Keys are `name`, `creation_time`, `last_update_time` (bare or after `attribute.`) and
//!   `tags.<key>` (or `tag.<key>`). MLflow compares the prefix as written, so `attributes.name`
//!   and `` `tags`.x `` are errors, although its documentation shows `attributes.name`.
//! * `name` and tags take `=`, `!=`, `LIKE` and `ILIKE` with a quoted string; tags also take
//!   `IS NULL` and `IS NOT NULL`. The times take `=`, `!=`, `<`, `<=`, `>`, `>=` with a number.
//! * A time literal becomes a float first (`float(value)`, where runs use `int(value)`), so an
//!   integer literal beyond 2^53 is rounded before it is compared; the comparison itself is
//!   exact.
//! * An experiment without the tag matches no comparator, not even `!=`; only `IS NULL`
//!   matches it.
//! * An experiment without a time (one MLflow wrote before it kept times) is Python's `None`:
//!   `!=` holds, `=` does not, and the ordering comparators do not hold (MLflow raises a
//!   `TypeError` there; this crate never fails while matching).

use std::collections::BTreeMap;

use crate::ast::{NumOp, Predicate};
use crate::error::{ErrorKind, SearchError};
use crate::eval::{Lhs, passes, text};
use crate::ident::{Entity, Identifier, resolve_experiment_identifier};
use crate::parser::{KeyHints, RawClause, split_clauses};
use crate::resolve::{ValueRules, resolve_predicate};

/// Everything `search_experiments` can filter or sort on, for one experiment.
///
/// This mirrors MLflow's `Experiment` entity as its file store loads it; a catalog fills one
/// per experiment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExperimentView {
    /// The experiment id (decimal digits for experiments MLflow created; `"0"` is `Default`).
    pub experiment_id: String,
    /// The experiment name, unique among experiments.
    pub name: String,
    /// Where the experiment's artifacts live.
    pub artifact_location: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
    /// Creation time in milliseconds since the epoch; `None` for experiments without one.
    pub creation_time: Option<i64>,
    /// Time of the last change (rename, delete, restore, tag) in milliseconds since the epoch.
    pub last_update_time: Option<i64>,
    /// Tags by key.
    pub tags: BTreeMap<String, String>,
}

/// The experiment attributes a filter or an `order_by` element can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExperimentAttribute {
    /// `experiment_id`, a string (order only: MLflow cannot filter on it).
    ExperimentId,
    /// `name`, a string.
    Name,
    /// `creation_time`, milliseconds.
    CreationTime,
    /// `last_update_time`, milliseconds.
    LastUpdateTime,
}

impl ExperimentAttribute {
    /// Whether the attribute holds a number (and so takes numeric comparators).
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            ExperimentAttribute::CreationTime | ExperimentAttribute::LastUpdateTime
        )
    }

    /// MLflow's name for the attribute.
    pub fn name(self) -> &'static str {
        match self {
            ExperimentAttribute::ExperimentId => "experiment_id",
            ExperimentAttribute::Name => "name",
            ExperimentAttribute::CreationTime => "creation_time",
            ExperimentAttribute::LastUpdateTime => "last_update_time",
        }
    }

    /// The attribute MLflow calls `key`.
    pub(crate) fn from_key(key: &str) -> Option<Self> {
        Some(match key {
            "experiment_id" => ExperimentAttribute::ExperimentId,
            "name" => ExperimentAttribute::Name,
            "creation_time" => ExperimentAttribute::CreationTime,
            "last_update_time" => ExperimentAttribute::LastUpdateTime,
            _ => return None,
        })
    }

    /// The attribute `ident` names, or an error at `position` for a key that names none.
    pub(crate) fn resolve(ident: &Identifier, position: usize) -> Result<Self, SearchError> {
        ExperimentAttribute::from_key(&ident.key).ok_or_else(|| {
            SearchError::at(
                ErrorKind::InvalidAttribute,
                position,
                format!("Unknown key '{}'", ident.key),
                "",
            )
        })
    }
}

/// The experiment field a clause looks at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExperimentSubject {
    /// An experiment attribute.
    Attribute(ExperimentAttribute),
    /// The tag with this key.
    Tag(String),
}

/// One comparison of an experiment filter.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentClause {
    /// What the clause looks at.
    pub subject: ExperimentSubject,
    /// The test applied to it ([`Predicate::In`] never comes out of parsing).
    pub predicate: Predicate,
}

/// A parsed `search_experiments` filter: every clause must hold for an experiment to match.
///
/// ```
/// use runlog_search::{ExperimentFilter, ExperimentView};
///
/// let mut sweep = ExperimentView {
///     experiment_id: "7".into(),
///     name: "lr-sweep".into(),
///     lifecycle_stage: "active".into(),
///     creation_time: Some(1_700_000_000_000),
///     ..ExperimentView::default()
/// };
/// sweep.tags.insert("team".into(), "vision".into());
///
/// let filter = ExperimentFilter::parse("name LIKE '%sweep' AND tags.team = 'vision'")?;
/// assert!(filter.matches(&sweep));
/// let newer = ExperimentFilter::parse("creation_time > 1700000000000")?;
/// assert!(!newer.matches(&sweep));
/// # Ok::<(), runlog_search::SearchError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentFilter {
    clauses: Vec<ExperimentClause>,
}

/// How first-pass errors describe experiment keys.
const EXPERIMENT_KEYS: KeyHints = KeyHints {
    key: "tags.team",
    comparison: "name LIKE 'sweep%'",
    left_sides: "name, creation_time, last_update_time or tags.<key>",
};

/// What experiment values are (`SearchExperimentsUtils.NUMERIC_ATTRIBUTES`, `float(value)`).
const EXPERIMENT_VALUES: ValueRules = ValueRules {
    numeric_attributes: &["creation_time", "last_update_time"],
    exact_integers: false,
    null_check_entities: "tags",
};

impl ExperimentFilter {
    /// Parses a `search_experiments` filter string.
    ///
    /// The empty string is the empty filter, which matches every experiment; a string of only
    /// whitespace is rejected, as MLflow rejects it.
    ///
    /// # Errors
    ///
    /// Returns a [`SearchError`] whose message starts with MLflow's wording for the mistake
    /// (for instance "Invalid entity type 'attributes'. Valid entity types are ('attribute',
    /// 'tag', 'tags')") and whose [`SearchError::position`] is the byte offset where it was
    /// found. Comparators that MLflow rejects only when it evaluates an experiment are
    /// rejected here at once.
    pub fn parse(text: &str) -> Result<ExperimentFilter, SearchError> {
        let clauses = split_clauses(text, &EXPERIMENT_KEYS)?
            .iter()
            .map(resolve_clause)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ExperimentFilter { clauses })
    }

    /// A filter with no clauses, which matches every experiment.
    pub fn match_all() -> Self {
        ExperimentFilter {
            clauses: Vec::new(),
        }
    }

    /// The clauses, in the order they were written.
    pub fn clauses(&self) -> &[ExperimentClause] {
        &self.clauses
    }

    /// Whether the filter has no clauses and so matches every experiment.
    pub fn is_match_all(&self) -> bool {
        self.clauses.is_empty()
    }

    /// Whether `experiment` satisfies every clause. The lifecycle stage (the view type) is
    /// checked separately by [`crate::search_experiments`].
    pub fn matches(&self, experiment: &ExperimentView) -> bool {
        self.clauses.iter().all(|clause| clause.matches(experiment))
    }
}

impl ExperimentClause {
    /// Whether `experiment` satisfies this clause.
    pub fn matches(&self, experiment: &ExperimentView) -> bool {
        let time = |t: Option<i64>| t.map_or(Lhs::Missing, Lhs::Int);
        let lhs = match &self.subject {
            ExperimentSubject::Attribute(attribute) => match attribute {
                ExperimentAttribute::ExperimentId => Lhs::Text(&experiment.experiment_id),
                ExperimentAttribute::Name => Lhs::Text(&experiment.name),
                ExperimentAttribute::CreationTime => time(experiment.creation_time),
                ExperimentAttribute::LastUpdateTime => time(experiment.last_update_time),
            },
            ExperimentSubject::Tag(key) => text(experiment.tags.get(key)),
        };
        // A missing time is `None` to MLflow, and `None != x` holds in Python.
        let none_differs = matches!(lhs, Lhs::Missing)
            && matches!(self.predicate, Predicate::Compare { op: NumOp::Ne, .. });
        none_differs || passes(&self.predicate, lhs)
    }
}

/// Second pass for experiments: MLflow's experiment keys, then the checks shared with runs.
fn resolve_clause(raw: &RawClause<'_>) -> Result<ExperimentClause, SearchError> {
    let ident = resolve_experiment_identifier(raw.ident.text, raw.ident.start, false)?;
    let subject = match ident.entity {
        Entity::Tag => ExperimentSubject::Tag(ident.key.clone()),
        _ => ExperimentSubject::Attribute(ExperimentAttribute::resolve(&ident, raw.ident.start)?),
    };
    let predicate = resolve_predicate(raw, &ident, &EXPERIMENT_VALUES)?;
    Ok(ExperimentClause { subject, predicate })
}
