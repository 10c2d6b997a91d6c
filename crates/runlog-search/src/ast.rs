//! The parsed form of a filter: a conjunction of [`Clause`]s.
//!
//! The types are public so that a catalog can look inside a filter (for instance to use an
//! index for `attributes.run_id IN (…)` or to skip runs that lack a metric) before it calls
//! [`Filter::matches`] on the runs that remain.

use crate::pattern::LikePattern;

/// A parsed `search_runs` filter: every clause must hold for a run to match.
///
/// Build one with [`Filter::parse`]. An empty filter (from the empty string, or from a string
/// that holds nothing but `AND`s) matches every run.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub(crate) clauses: Vec<Clause>,
}

impl Filter {
    /// A filter with no clauses, which matches every run.
    pub fn match_all() -> Self {
        Filter {
            clauses: Vec::new(),
        }
    }

    /// The clauses, in the order they were written.
    pub fn clauses(&self) -> &[Clause] {
        &self.clauses
    }

    /// Whether the filter has no clauses and so matches every run.
    pub fn is_match_all(&self) -> bool {
        self.clauses.is_empty()
    }
}

/// One comparison of a filter: what is compared, and the test it must pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// What the clause looks at.
    pub subject: Subject,
    /// The test applied to it.
    pub predicate: Predicate,
}

/// The run field a clause or an `order_by` element looks at.
///
/// Keys are the ones MLflow looks up, after its alias translation: MLflow rewrites the keys
/// `created`/`Created` to `start_time` and `run name`/`Run name`/`Run Name` to `run_name` for
/// every entity, so `metrics.created` reads the metric named `start_time`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// The latest value of the metric with this key.
    Metric(String),
    /// The param with this key.
    Param(String),
    /// The tag with this key.
    Tag(String),
    /// A run attribute.
    Attribute(Attribute),
    /// A field of the run's dataset inputs (true when any input passes).
    Dataset(DatasetField),
}

/// The searchable run attributes (`RunInfo.get_searchable_attributes()` in MLflow 3.17.2).
///
/// `experiment_id` and `lifecycle_stage` are not searchable in MLflow; the lifecycle stage is
/// chosen with [`crate::ViewType`] instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attribute {
    /// `run_id`, a string.
    RunId,
    /// `run_name` (aliases `run name`, `Run name`, `Run Name`), a string.
    RunName,
    /// `status` (`RUNNING`, `SCHEDULED`, `FINISHED`, `FAILED`, `KILLED`), a string.
    Status,
    /// `user_id`, a string.
    UserId,
    /// `artifact_uri`, a string that may be absent.
    ArtifactUri,
    /// `start_time` (aliases `created`, `Created`), milliseconds.
    StartTime,
    /// `end_time`, milliseconds, absent while the run is running.
    EndTime,
}

impl Attribute {
    /// Whether the attribute holds a number (and so takes numeric comparators).
    pub fn is_numeric(self) -> bool {
        matches!(self, Attribute::StartTime | Attribute::EndTime)
    }

    /// MLflow's name for the attribute.
    pub fn name(self) -> &'static str {
        match self {
            Attribute::RunId => "run_id",
            Attribute::RunName => "run_name",
            Attribute::Status => "status",
            Attribute::UserId => "user_id",
            Attribute::ArtifactUri => "artifact_uri",
            Attribute::StartTime => "start_time",
            Attribute::EndTime => "end_time",
        }
    }
}

/// The fields of a run's dataset inputs that a filter can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatasetField {
    /// `dataset.name`
    Name,
    /// `dataset.digest`
    Digest,
    /// `dataset.context`, the input's `mlflow.data.context` tag.
    Context,
}

/// A numeric comparator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl NumOp {
    /// The comparator as written in a filter.
    pub fn symbol(self) -> &'static str {
        match self {
            NumOp::Eq => "=",
            NumOp::Ne => "!=",
            NumOp::Lt => "<",
            NumOp::Le => "<=",
            NumOp::Gt => ">",
            NumOp::Ge => ">=",
        }
    }

    /// Applies the comparator to the ordering of the two sides; `None` (a NaN was involved)
    /// satisfies only `!=`, as in Python.
    pub fn holds(self, ordering: Option<std::cmp::Ordering>) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match (self, ordering) {
            (NumOp::Ne, None) => true,
            (_, None) => false,
            (NumOp::Eq, Some(o)) => o == Equal,
            (NumOp::Ne, Some(o)) => o != Equal,
            (NumOp::Lt, Some(o)) => o == Less,
            (NumOp::Le, Some(o)) => o != Greater,
            (NumOp::Gt, Some(o)) => o == Greater,
            (NumOp::Ge, Some(o)) => o != Less,
        }
    }
}

/// A numeric literal as MLflow keeps it.
///
/// Metrics always compare against `float(literal)`. Numeric attributes keep integer literals
/// as (unbounded) Python ints and float literals as floats; the comparison with the run's
/// integer milliseconds is exact either way. Integers beyond `i128` saturate, which keeps every
/// comparison with an `i64` exact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// An integer literal.
    Int(i128),
    /// A float literal (may be infinite: `1e309` overflows to `inf`, as in Python).
    Float(f64),
}

/// The test a clause applies to its subject.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// A numeric comparison (metrics, `start_time`, `end_time`).
    Compare {
        /// The comparator.
        op: NumOp,
        /// The right-hand side.
        value: Number,
    },
    /// `=` or `!=` against a string.
    Text {
        /// `true` for `=`, `false` for `!=`.
        equal: bool,
        /// The string between the quotes, verbatim (MLflow does not unescape it).
        value: String,
    },
    /// `LIKE` or `ILIKE`.
    Like(LikePattern),
    /// `IN (…)` or `NOT IN (…)` (`run_id` and dataset fields only).
    In {
        /// `true` for `NOT IN`.
        negated: bool,
        /// The listed strings.
        values: Vec<String>,
    },
    /// `IS NULL` or `IS NOT NULL` (params and tags only).
    IsNull {
        /// `true` for `IS NOT NULL`.
        negated: bool,
    },
}
