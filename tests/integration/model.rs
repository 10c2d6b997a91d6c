//! Model test: random sequences of append / batch append / flush / reopen, with every query
//! checked against a plain in-memory model after each flush.

use proptest::prelude::*;
use runlog::{Axis, MetricStore, Point, RunReader, RunWriter, WriterOptions};

use crate::common::{assert_points, cases, python_latest};

const KEYS: [&str; 3] = ["train/loss", "val acc", "ünï/cödé"];

#[derive(Debug, Clone)]
enum Op {
    Append(usize, Point),
    Batch(usize, Vec<Point>),
    Flush,
    Reopen,
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => (-1000i32..1000).prop_map(|x| (x as f32 / 7.0) as f64),
        2 => any::<f64>(),
        1 => Just(f64::NAN),
        1 => Just(f64::from_bits(0x7ff8_dead_beef_0001)),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(-0.0),
        1 => Just(0.0),
    ]
}

fn point() -> impl Strategy<Value = Point> {
    (
        prop_oneof![3 => 0i64..60, 1 => any::<i64>()],
        prop_oneof![3 => 1_000i64..1_080, 1 => any::<i64>()],
        value(),
    )
        .prop_map(|(s, t, v)| Point::new(s, t, v))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (0..KEYS.len(), point()).prop_map(|(k, p)| Op::Append(k, p)),
        3 => (0..KEYS.len(), prop::collection::vec(point(), 0..40)).prop_map(|(k, v)| Op::Batch(k, v)),
        3 => Just(Op::Flush),
        1 => Just(Op::Reopen),
    ]
}

fn options() -> WriterOptions {
    WriterOptions {
        block_points: 5,
        segment_bytes: 4096,
        flush_interval: None,
        ..WriterOptions::default()
    }
}

fn check(reader: &RunReader, model: &[Vec<Point>], probe: (i64, i64, usize)) {
    for (k, key) in KEYS.iter().enumerate() {
        let pts = &model[k];
        if reader.series_id(key).is_none() {
            assert!(pts.is_empty(), "{key}: series missing but model has points");
            continue;
        }
        assert_points(
            &reader.history(key).unwrap(),
            pts,
            &format!("{key} history"),
        );
        let (a, b, n) = probe;
        let (lo, hi) = (a.min(b), a.max(b));
        let in_steps: Vec<Point> = pts
            .iter()
            .copied()
            .filter(|p| p.step >= lo && p.step < hi)
            .collect();
        assert_points(
            &reader.step_window(key, lo, hi).unwrap(),
            &in_steps,
            "step window",
        );
        let (tlo, thi) = (lo + 1_000, hi + 1_000);
        let in_time: Vec<Point> = pts
            .iter()
            .copied()
            .filter(|p| p.timestamp_ms >= tlo && p.timestamp_ms < thi)
            .collect();
        assert_points(
            &reader.time_window(key, tlo, thi).unwrap(),
            &in_time,
            "time window",
        );

        let summary = reader.summary(key).unwrap();
        assert_eq!(summary.map(|s| s.count as usize).unwrap_or(0), pts.len());
        assert_eq!(
            reader.latest(key).unwrap(),
            python_latest(pts),
            "{key} latest"
        );
        if let Some(s) = summary {
            let finite: Vec<f64> = pts
                .iter()
                .map(|p| p.value)
                .filter(|v| !v.is_nan())
                .collect();
            assert_eq!(s.nan_count as usize, pts.len() - finite.len());
            let min = finite
                .iter()
                .copied()
                .fold(f64::NAN, |a, b| if a.is_nan() || b < a { b } else { a });
            let max = finite
                .iter()
                .copied()
                .fold(f64::NAN, |a, b| if a.is_nan() || b > a { b } else { a });
            assert_eq!(s.min.to_bits(), min.to_bits(), "{key} min");
            assert_eq!(s.max.to_bits(), max.to_bits(), "{key} max");
        }
        for axis in [Axis::Step, Axis::Time] {
            check_downsample(reader, key, pts, axis, n, None);
            check_downsample(reader, key, pts, axis, n, Some((lo, hi.max(lo + 1))));
        }
    }
}

fn check_downsample(
    reader: &RunReader,
    key: &str,
    pts: &[Point],
    axis: Axis,
    n: usize,
    range: Option<(i64, i64)>,
) {
    let x = |p: &Point| match axis {
        Axis::Step => p.step,
        Axis::Time => p.timestamp_ms,
    };
    let got = reader.downsample(key, axis, n, range).unwrap();
    let (lo, hi) = match range {
        Some(r) => r,
        None => match (pts.iter().map(x).min(), pts.iter().map(x).max()) {
            (Some(a), Some(b)) => (a, b.saturating_add(1)),
            _ => {
                assert!(got.is_empty());
                return;
            }
        },
    };
    let width = ((hi as i128 - lo as i128 + n as i128 - 1) / n as i128).max(1);
    let mut want: std::collections::BTreeMap<i128, Vec<Point>> = Default::default();
    for p in pts.iter().filter(|p| x(p) >= lo && x(p) < hi) {
        want.entry((x(p) as i128 - lo as i128) / width)
            .or_default()
            .push(*p);
    }
    assert_eq!(got.len(), want.len(), "{key} {axis:?} bucket count");
    for (g, (b, bp)) in got.iter().zip(&want) {
        assert_eq!(g.start as i128, lo as i128 + b * width, "bucket start");
        assert_eq!(g.count as usize, bp.len(), "bucket count");
        assert_eq!(Some(g.last), python_latest(bp), "bucket last");
        let finite: Vec<f64> = bp.iter().map(|p| p.value).filter(|v| !v.is_nan()).collect();
        if finite.is_empty() {
            assert!(g.min.is_nan() && g.max.is_nan() && g.mean.is_nan());
        } else {
            let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
            let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            assert_eq!(g.min, min, "bucket min");
            assert_eq!(g.max, max, "bucket max");
            let mean = finite.iter().sum::<f64>() / finite.len() as f64;
            let close = (g.mean.is_nan() && mean.is_nan())
                || g.mean == mean
                || (g.mean - mean).abs() <= 1e-9 * mean.abs().max(1.0);
            // Sums of huge values of opposite signs depend on the order of additions.
            let huge = finite.iter().any(|v| v.abs() > 1e200 || v.is_infinite());
            assert!(close || huge, "bucket mean {} vs {}", g.mean, mean);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(48), ..ProptestConfig::default() })]

    #[test]
    fn store_matches_in_memory_model(ops in prop::collection::vec(op(), 1..120), probe in (0i64..70, 0i64..70, 1usize..12)) {
        let dir = tempfile::tempdir().unwrap();
        let store = MetricStore::open(dir.path()).unwrap();
        let mut writer: Option<RunWriter> = Some(store.writer("m", options()).unwrap());
        let ids: Vec<_> = KEYS.iter().map(|k| writer.as_ref().unwrap().series(k).unwrap()).collect();
        let mut model: Vec<Vec<Point>> = vec![Vec::new(); KEYS.len()];
        let mut appended: Vec<Vec<Point>> = vec![Vec::new(); KEYS.len()];
        let mut live = store.reader("m").unwrap();
        for op in ops {
            let w = writer.as_ref().unwrap();
            match op {
                Op::Append(k, p) => {
                    w.append(ids[k], p).unwrap();
                    appended[k].push(p);
                }
                Op::Batch(k, v) => {
                    if v.len() % 2 == 0 {
                        w.append_batch(ids[k], &v).unwrap();
                    } else {
                        let steps: Vec<i64> = v.iter().map(|p| p.step).collect();
                        let ts: Vec<i64> = v.iter().map(|p| p.timestamp_ms).collect();
                        let vals: Vec<f64> = v.iter().map(|p| p.value).collect();
                        w.append_columns(ids[k], &steps, &ts, &vals).unwrap();
                    }
                    appended[k].extend(v);
                }
                Op::Flush => {
                    w.flush().unwrap();
                    model.clone_from(&appended);
                    live.refresh().unwrap();
                    check(&live, &model, probe);
                }
                Op::Reopen => {
                    writer.take().unwrap().close().unwrap();
                    model.clone_from(&appended);
                    writer = Some(store.writer("m", options()).unwrap());
                    let again: Vec<_> = KEYS.iter().map(|k| writer.as_ref().unwrap().series(k).unwrap()).collect();
                    prop_assert_eq!(&again, &ids);
                    check(&store.reader("m").unwrap(), &model, probe);
                }
            }
        }
        writer.take().unwrap().close().unwrap();
        live.refresh().unwrap();
        check(&live, &appended, probe);
        check(&store.reader("m").unwrap(), &appended, probe);
        let report = runlog::metrics::verify_run(&dir.path().join("runs/m")).unwrap();
        prop_assert!(report.problems.is_empty(), "{:?}", report.problems);
        prop_assert_eq!(report.points as usize, appended.iter().map(Vec::len).sum::<usize>());
    }
}
