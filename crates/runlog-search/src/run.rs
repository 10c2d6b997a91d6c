//! The run as search sees it, filled in by the caller from whatever storage it has.

use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Everything `search_runs` can filter or sort on, for one run.
///
/// This mirrors what MLflow's file store loads for each run (`RunInfo`, `RunData` and the
/// dataset inputs). The crate never reads storage; a catalog fills one of these per run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunView {
    /// The run id (32 lowercase hex characters for runs MLflow created).
    pub run_id: String,
    /// The id of the experiment the run belongs to.
    pub experiment_id: String,
    /// The run name (MLflow falls back to the `mlflow.runName` tag when meta has none).
    pub run_name: String,
    /// `RUNNING`, `SCHEDULED`, `FINISHED`, `FAILED` or `KILLED`.
    pub status: String,
    /// Start time in milliseconds since the epoch.
    pub start_time: Option<i64>,
    /// End time in milliseconds since the epoch; `None` while the run is running.
    pub end_time: Option<i64>,
    /// The `mlflow.user` tag given at creation, or `unknown`.
    pub user_id: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
    /// Where the run's artifacts live; `None` when the run has none recorded.
    pub artifact_uri: Option<String>,
    /// Params by key.
    pub params: BTreeMap<String, String>,
    /// Tags by key, system tags (`mlflow.*`) included.
    pub tags: BTreeMap<String, String>,
    /// The latest value of every metric by key (see [`latest_metric_value`]).
    pub metrics: BTreeMap<String, f64>,
    /// The run's dataset inputs, for `dataset.name`, `dataset.digest` and `dataset.context`.
    pub datasets: Vec<DatasetInput>,
}

/// One dataset input of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatasetInput {
    /// The dataset's name.
    pub name: String,
    /// The dataset's digest.
    pub digest: String,
    /// The input's `mlflow.data.context` tag (`training`, `eval`, …), if it has one.
    pub context: Option<String>,
}

/// One logged metric point: step, timestamp in milliseconds and value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricPoint {
    /// The step.
    pub step: i64,
    /// The timestamp in milliseconds.
    pub timestamp: i64,
    /// The value (NaN and infinities allowed).
    pub value: f64,
}

/// The value MLflow reports for a metric with this history: the point with the largest
/// `(step, timestamp, value)`, as Python's `max` picks it.
///
/// Points are given in logged order. A later point replaces the current one only if it is
/// strictly greater; because a comparison involving NaN is never true, a NaN value neither
/// replaces nor is replaced by a number at the same step and timestamp, so whichever was
/// logged first stays. Returns `None` for an empty history.
pub fn latest_metric_value<I>(points: I) -> Option<f64>
where
    I: IntoIterator<Item = MetricPoint>,
{
    let mut best: Option<MetricPoint> = None;
    for point in points {
        let replace = match best {
            None => true,
            Some(b) => match (point.step, point.timestamp).cmp(&(b.step, b.timestamp)) {
                Ordering::Greater => true,
                Ordering::Less => false,
                Ordering::Equal => point.value > b.value,
            },
        };
        if replace {
            best = Some(point);
        }
    }
    best.map(|p| p.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(step: i64, timestamp: i64, value: f64) -> MetricPoint {
        MetricPoint {
            step,
            timestamp,
            value,
        }
    }

    #[test]
    fn latest_is_the_largest_step_then_timestamp_then_value() {
        let acc = [p(1, 10, 0.5), p(1, 20, 0.6), p(1, 20, 0.55), p(0, 30, 0.4)];
        assert_eq!(latest_metric_value(acc), Some(0.6));
        assert_eq!(
            latest_metric_value([p(10, 1, 0.92), p(3, 9, 0.1)]),
            Some(0.92)
        );
        assert_eq!(latest_metric_value([]), None);
    }

    #[test]
    fn nan_ties_keep_the_first_logged() {
        let first_number = latest_metric_value([p(1, 5, 0.5), p(1, 5, f64::NAN)]);
        assert_eq!(first_number, Some(0.5));
        let first_nan = latest_metric_value([p(1, 5, f64::NAN), p(1, 5, 0.5)]);
        assert!(first_nan.is_some_and(f64::is_nan));
    }
}
