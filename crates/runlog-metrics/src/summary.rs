//! Points and the mergeable summary every block, segment and series carries.

/// One metric point. Values keep their exact bits (NaN payloads, ±inf, -0.0).
#[derive(Debug, Clone, Copy)]
pub struct Point {
    /// Training step; any order, repeats allowed.
    pub step: i64,
    /// Wall-clock time in milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// The value.
    pub value: f64,
}

impl Point {
    /// A point.
    pub fn new(step: i64, timestamp_ms: i64, value: f64) -> Self {
        Point {
            step,
            timestamp_ms,
            value,
        }
    }
}

impl PartialEq for Point {
    /// Bit-exact equality: NaN equals the same NaN, `0.0` differs from `-0.0`.
    fn eq(&self, other: &Self) -> bool {
        self.step == other.step
            && self.timestamp_ms == other.timestamp_ms
            && self.value.to_bits() == other.value.to_bits()
    }
}

/// Python's `(step, ts, value) > (step, ts, value)` on MLflow metric tuples: the rule by which
/// MLflow picks a key's latest value. NaN never compares greater.
#[cfg(test)]
pub(crate) fn mlflow_greater(a: &Point, b: &Point) -> bool {
    if a.step != b.step {
        return a.step > b.step;
    }
    if a.timestamp_ms != b.timestamp_ms {
        return a.timestamp_ms > b.timestamp_ms;
    }
    a.value > b.value
}

/// Aggregates of a run of points, mergeable in arrival order without revisiting the points.
///
/// `latest` is exactly what MLflow's `max(points, key=(step, timestamp, value))` returns over
/// the points in arrival order, NaN included. Among the points with the highest
/// `(step, timestamp)`, Python keeps the first one unless a later one has a strictly greater
/// value, and a NaN never compares greater; so the result is the first such point when its
/// value is NaN, else the first point of the maximal value. `latest_max_non_nan` (the first of
/// the greatest non-NaN values among those points; NaN when there is none) is what a merge needs
/// to reproduce that.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of points.
    pub count: u64,
    /// Number of NaN values.
    pub nan_count: u64,
    /// Smallest step.
    pub min_step: i64,
    /// Largest step.
    pub max_step: i64,
    /// Earliest timestamp.
    pub min_timestamp_ms: i64,
    /// Latest timestamp.
    pub max_timestamp_ms: i64,
    /// Smallest non-NaN value, the first in arrival order on ties (`f64::NAN` when every
    /// value is NaN).
    pub min: f64,
    /// Largest non-NaN value, the first in arrival order on ties (`f64::NAN` when every value
    /// is NaN).
    pub max: f64,
    /// Sum of the non-NaN values.
    pub sum: f64,
    /// MLflow's latest point.
    pub latest: Point,
    /// See the type's documentation.
    pub latest_max_non_nan: f64,
}

impl Summary {
    /// The summary of a single point.
    #[inline]
    pub fn of(p: Point) -> Self {
        let nan = p.value.is_nan();
        Summary {
            count: 1,
            nan_count: nan as u64,
            min_step: p.step,
            max_step: p.step,
            min_timestamp_ms: p.timestamp_ms,
            max_timestamp_ms: p.timestamp_ms,
            min: if nan { f64::NAN } else { p.value },
            max: if nan { f64::NAN } else { p.value },
            sum: if nan { 0.0 } else { p.value },
            latest: p,
            latest_max_non_nan: p.value,
        }
    }

    /// The summary of `points` (at least one), in arrival order.
    pub fn of_points(points: impl IntoIterator<Item = Point>) -> Option<Self> {
        let mut it = points.into_iter();
        let mut s = Summary::of(it.next()?);
        for p in it {
            s.push(p);
        }
        Some(s)
    }

    /// The summary of the points `(steps[i], timestamps[i], values[i])` (at least one, all three
    /// of the same length), in arrival order. Same result as [`Summary::of_points`], in a few
    /// tight passes.
    pub fn of_columns(steps: &[i64], timestamps: &[i64], values: &[f64]) -> Self {
        let n = steps.len();
        assert!(n > 0 && timestamps.len() == n && values.len() == n);
        let (mut min_step, mut max_step) = (steps[0], steps[0]);
        for &s in steps {
            min_step = min_step.min(s);
            max_step = max_step.max(s);
        }
        let (mut min_ts, mut max_ts) = (timestamps[0], timestamps[0]);
        for &t in timestamps {
            min_ts = min_ts.min(t);
            max_ts = max_ts.max(t);
        }
        let (mut min, mut max, mut sum, mut nan_count) = (f64::NAN, f64::NAN, 0.0, 0u64);
        for &v in values {
            if v.is_nan() {
                nan_count += 1;
            } else {
                sum += v;
                min = min_ignoring_nan(min, v);
                max = max_ignoring_nan(max, v);
            }
        }
        let mut s = Summary {
            count: n as u64,
            nan_count,
            min_step,
            max_step,
            min_timestamp_ms: min_ts,
            max_timestamp_ms: max_ts,
            min,
            max,
            sum,
            latest: Point::new(steps[0], timestamps[0], values[0]),
            latest_max_non_nan: values[0],
        };

        // The first point with the greatest (step, timestamp), then MLflow's tie rule over the
        // later points with the same key (usually none).
        let mut best = 0;
        for i in 1..n {
            if (steps[i], timestamps[i]) > (steps[best], timestamps[best]) {
                best = i;
            }
        }
        s.latest = Point::new(steps[best], timestamps[best], values[best]);
        s.latest_max_non_nan = values[best];
        for i in best + 1..n {
            if (steps[i], timestamps[i]) == (steps[best], timestamps[best]) {
                s.push_latest(Point::new(steps[i], timestamps[i], values[i]), values[i]);
            }
        }
        s
    }

    /// Adds a point that arrived after everything summarised so far.
    #[inline]
    pub fn push(&mut self, p: Point) {
        self.count += 1;
        self.min_step = self.min_step.min(p.step);
        self.max_step = self.max_step.max(p.step);
        self.min_timestamp_ms = self.min_timestamp_ms.min(p.timestamp_ms);
        self.max_timestamp_ms = self.max_timestamp_ms.max(p.timestamp_ms);
        if p.value.is_nan() {
            self.nan_count += 1;
        } else {
            self.sum += p.value;
            self.min = min_ignoring_nan(self.min, p.value);
            self.max = max_ignoring_nan(self.max, p.value);
        }
        self.push_latest(p, p.value);
    }

    #[inline]
    fn push_latest(&mut self, top: Point, top_max_non_nan: f64) {
        let (a, b) = (&self.latest, &top);
        if (b.step, b.timestamp_ms) > (a.step, a.timestamp_ms) {
            self.latest = top;
            self.latest_max_non_nan = top_max_non_nan;
        } else if (b.step, b.timestamp_ms) == (a.step, a.timestamp_ms) {
            if !self.latest.value.is_nan() && top_max_non_nan > self.latest.value {
                self.latest.value = top_max_non_nan;
            }
            if top_max_non_nan > self.latest_max_non_nan || self.latest_max_non_nan.is_nan() {
                self.latest_max_non_nan = top_max_non_nan;
            }
        }
    }

    /// Merges the summary of points that arrived after those of `self`.
    pub fn merge(&mut self, later: &Summary) {
        self.count += later.count;
        self.nan_count += later.nan_count;
        self.min_step = self.min_step.min(later.min_step);
        self.max_step = self.max_step.max(later.max_step);
        self.min_timestamp_ms = self.min_timestamp_ms.min(later.min_timestamp_ms);
        self.max_timestamp_ms = self.max_timestamp_ms.max(later.max_timestamp_ms);
        self.sum += later.sum;
        self.min = min_ignoring_nan(self.min, later.min);
        self.max = max_ignoring_nan(self.max, later.max);
        self.push_latest(later.latest, later.latest_max_non_nan);
    }

    /// Mean of the non-NaN values (NaN when there are none).
    pub fn mean(&self) -> f64 {
        let n = self.count - self.nan_count;
        if n == 0 {
            f64::NAN
        } else {
            self.sum / n as f64
        }
    }
}

/// The smaller of two values, NaN only when both are NaN; on a tie the first is kept.
#[inline]
fn min_ignoring_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || b < a { b } else { a }
}

#[inline]
fn max_ignoring_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || b > a { b } else { a }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    /// Python's `max(points, key=lambda m: (m.step, m.timestamp, m.value))`.
    fn python_max(points: &[Point]) -> Point {
        let mut best = points[0];
        for p in &points[1..] {
            if mlflow_greater(p, &best) {
                best = *p;
            }
        }
        best
    }

    fn p(step: i64, ts: i64, v: f64) -> Point {
        Point::new(step, ts, v)
    }

    proptest::proptest! {
        #[test]
        fn of_columns_equals_of_points(
            pts in proptest::collection::vec(
                (0i64..4, 0i64..3, proptest::prop_oneof![
                    proptest::strategy::Just(f64::NAN),
                    proptest::strategy::Just(-0.0),
                    proptest::strategy::Just(0.0),
                    (-3i32..3).prop_map(f64::from),
                ]),
                1..40,
            )
        ) {
            let points: Vec<Point> = pts.iter().map(|&(s, t, v)| p(s, t, v)).collect();
            let steps: Vec<i64> = points.iter().map(|q| q.step).collect();
            let ts: Vec<i64> = points.iter().map(|q| q.timestamp_ms).collect();
            let vals: Vec<f64> = points.iter().map(|q| q.value).collect();
            let a = Summary::of_columns(&steps, &ts, &vals);
            let b = Summary::of_points(points.iter().copied()).unwrap();
            proptest::prop_assert_eq!(a.latest, b.latest);
            proptest::prop_assert_eq!(a.latest, python_max(&points));
            proptest::prop_assert_eq!(a.min.to_bits(), b.min.to_bits());
            proptest::prop_assert_eq!(a.max.to_bits(), b.max.to_bits());
            proptest::prop_assert_eq!((a.count, a.nan_count), (b.count, b.nan_count));
            proptest::prop_assert_eq!(a.latest_max_non_nan.to_bits(), b.latest_max_non_nan.to_bits());
        }
    }

    #[test]
    fn latest_follows_mlflow_fixture() {
        // shared fixture `acc`: (1,10,0.5) (1,20,0.6) (1,20,0.55) (0,30,0.4) -> 0.6
        let pts = [p(1, 10, 0.5), p(1, 20, 0.6), p(1, 20, 0.55), p(0, 30, 0.4)];
        assert_eq!(Summary::of_points(pts).unwrap().latest.value, 0.6);
    }

    #[test]
    fn merged_latest_equals_sequential_scan_with_nan_ties() {
        let nan = f64::NAN;
        let cases: Vec<Vec<Point>> = vec![
            vec![p(5, 10, 0.5), p(5, 10, nan), p(5, 10, 0.7)],
            vec![p(5, 10, nan), p(5, 10, 0.7), p(5, 10, 0.9)],
            vec![p(5, 10, 0.1), p(5, 10, nan), p(5, 10, nan), p(5, 10, 0.05)],
            vec![p(5, 10, -0.0), p(5, 10, 0.0)],
            vec![p(5, 10, nan), p(6, 1, nan), p(6, 1, 3.0)],
        ];
        for pts in cases {
            let want = python_max(&pts);
            for split in 0..=pts.len() {
                for split2 in split..=pts.len() {
                    let parts = [&pts[..split], &pts[split..split2], &pts[split2..]];
                    let mut acc: Option<Summary> = None;
                    for part in parts {
                        if let Some(s) = Summary::of_points(part.iter().copied()) {
                            match &mut acc {
                                None => acc = Some(s),
                                Some(a) => a.merge(&s),
                            }
                        }
                    }
                    assert_eq!(acc.unwrap().latest, want, "{pts:?} split {split},{split2}");
                }
            }
        }
    }
}
