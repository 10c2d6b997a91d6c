//! Evaluates a [`Filter`] against one run, as `SearchUtils._does_run_match_clause` does.
//!
//! The rules that are easy to get wrong:
//!
//! * A run without the key (metric, param, tag, or an absent `end_time`/`artifact_uri`)
//!   matches no comparator, not even `!=`; only `IS NULL` matches it.
//! * A NaN metric satisfies only `!=` (Python's `nan != x` is true, every other comparison
//!   false). Infinities are ordinary values.
//! * Numbers compare exactly even across types: `start_time = 10.0` matches 10 ms, and an
//!   integer literal beyond `i64` compares correctly with every time.
//! * String `=` and `!=` are case-sensitive and compare the literal verbatim.
//! * Dataset clauses hold when any of the run's dataset inputs passes.

use std::cmp::Ordering;

use crate::ast::{Attribute, Clause, DatasetField, Filter, Number, Predicate, Subject};
use crate::run::RunView;

impl Filter {
    /// Whether `run` satisfies every clause of the filter.
    ///
    /// This is all a catalog needs to pre-filter runs; lifecycle stage (the view type) is
    /// checked separately by [`crate::search`].
    pub fn matches(&self, run: &RunView) -> bool {
        self.clauses.iter().all(|clause| clause.matches(run))
    }
}

/// The left-hand side of a comparison, read from a run or an experiment.
#[derive(Clone, Copy)]
pub(crate) enum Lhs<'a> {
    Missing,
    Float(f64),
    Int(i64),
    Text(&'a str),
}

impl Clause {
    /// Whether `run` satisfies this clause.
    pub fn matches(&self, run: &RunView) -> bool {
        let lhs = match &self.subject {
            Subject::Metric(key) => run
                .metrics
                .get(key)
                .map_or(Lhs::Missing, |v| Lhs::Float(*v)),
            Subject::Param(key) => text(run.params.get(key)),
            Subject::Tag(key) => text(run.tags.get(key)),
            Subject::Attribute(attr) => match attr {
                Attribute::RunId => Lhs::Text(&run.run_id),
                Attribute::RunName => Lhs::Text(&run.run_name),
                Attribute::Status => Lhs::Text(&run.status),
                Attribute::UserId => Lhs::Text(&run.user_id),
                Attribute::ArtifactUri => text(run.artifact_uri.as_ref()),
                Attribute::StartTime => run.start_time.map_or(Lhs::Missing, Lhs::Int),
                Attribute::EndTime => run.end_time.map_or(Lhs::Missing, Lhs::Int),
            },
            Subject::Dataset(field) => {
                return run.datasets.iter().any(|input| {
                    let value = match field {
                        DatasetField::Name => Some(input.name.as_str()),
                        DatasetField::Digest => Some(input.digest.as_str()),
                        DatasetField::Context => input.context.as_deref(),
                    };
                    value.is_some_and(|v| passes(&self.predicate, Lhs::Text(v)))
                });
            }
        };
        passes(&self.predicate, lhs)
    }
}

/// A string field that may be absent.
pub(crate) fn text(value: Option<&String>) -> Lhs<'_> {
    value.map_or(Lhs::Missing, |s| Lhs::Text(s))
}

/// Applies `predicate` to a value read from a run or an experiment.
pub(crate) fn passes(predicate: &Predicate, lhs: Lhs<'_>) -> bool {
    if let Predicate::IsNull { negated } = predicate {
        return matches!(lhs, Lhs::Missing) == !negated;
    }
    match (predicate, lhs) {
        (_, Lhs::Missing) => false,
        (Predicate::Compare { op, value }, Lhs::Float(x)) => op.holds(cmp_float(x, *value)),
        (Predicate::Compare { op, value }, Lhs::Int(x)) => op.holds(cmp_int(i128::from(x), *value)),
        (Predicate::Text { equal, value }, Lhs::Text(s)) => (s == value) == *equal,
        (Predicate::Like(pattern), Lhs::Text(s)) => pattern.matches(s),
        (Predicate::In { negated, values }, Lhs::Text(s)) => {
            values.iter().any(|v| v == s) != *negated
        }
        // Mixed types, only reachable with a hand-built clause: Python's `==` and `in` are
        // false across types (so `!=` and `NOT IN` are true) and ordering raises.
        (Predicate::Text { equal, .. }, _) => !equal,
        (Predicate::In { negated, .. }, _) => *negated,
        _ => false,
    }
}

/// Compares a float with a literal; `None` when NaN is involved.
fn cmp_float(x: f64, value: Number) -> Option<Ordering> {
    match value {
        Number::Float(y) => x.partial_cmp(&y),
        Number::Int(i) => cmp_int(i, Number::Float(x)).map(Ordering::reverse),
    }
}

/// Compares an integer with a literal exactly, as Python compares `int` with `int` or
/// `float`; `None` when the float is NaN.
fn cmp_int(x: i128, value: Number) -> Option<Ordering> {
    let f = match value {
        Number::Int(y) => return Some(x.cmp(&y)),
        Number::Float(f) => f,
    };
    // 2^127: every i128 is below it, and every float at or above it is an integer.
    const LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if f.is_nan() {
        None
    } else if f >= LIMIT {
        Some(Ordering::Less)
    } else if f < -LIMIT {
        Some(Ordering::Greater)
    } else {
        let whole = f.trunc();
        // `whole` is an integer in [-2^127, 2^127), so the conversion is exact.
        let whole_int = whole as i128;
        Some(x.cmp(&whole_int).then(if f > whole {
            Ordering::Less
        } else if f < whole {
            Ordering::Greater
        } else {
            Ordering::Equal
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_int_float_comparison() {
        assert_eq!(cmp_int(10, Number::Float(10.0)), Some(Ordering::Equal));
        assert_eq!(cmp_int(10, Number::Float(10.5)), Some(Ordering::Less));
        assert_eq!(cmp_int(-2, Number::Float(-1.5)), Some(Ordering::Less));
        assert_eq!(cmp_int(-1, Number::Float(-1.5)), Some(Ordering::Greater));
        assert_eq!(
            cmp_int(i128::from(i64::MAX), Number::Float(i64::MAX as f64)),
            Some(Ordering::Less)
        );
        assert_eq!(
            cmp_int(0, Number::Float(f64::INFINITY)),
            Some(Ordering::Less)
        );
        assert_eq!(
            cmp_int(0, Number::Float(f64::NEG_INFINITY)),
            Some(Ordering::Greater)
        );
        assert_eq!(cmp_int(0, Number::Float(f64::NAN)), None);
        assert_eq!(cmp_int(5, Number::Int(i128::MAX)), Some(Ordering::Less));
        assert_eq!(cmp_float(0.5, Number::Int(1)), Some(Ordering::Less));
        assert_eq!(cmp_float(-0.0, Number::Float(0.0)), Some(Ordering::Equal));
    }
}
