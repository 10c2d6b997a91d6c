//! Helpers shared by the integration tests.

use runlog::{Point, Points};

/// Python's `max(points, key=lambda m: (m.step, m.timestamp, m.value))`, scanning in order.
pub fn python_latest(points: &[Point]) -> Option<Point> {
    let mut it = points.iter();
    let mut best = *it.next()?;
    for p in it {
        let greater = if p.step != best.step {
            p.step > best.step
        } else if p.timestamp_ms != best.timestamp_ms {
            p.timestamp_ms > best.timestamp_ms
        } else {
            p.value > best.value
        };
        if greater {
            best = *p;
        }
    }
    Some(best)
}

/// Bit-exact comparison of query output with expected points.
pub fn assert_points(got: &Points, want: &[Point], what: &str) {
    let got: Vec<Point> = got.iter().collect();
    assert_eq!(got.len(), want.len(), "{what}: point count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "{what}: point {i} differs");
    }
}

/// Case count for property tests: `RUNLOG_PROPTEST_CASES`, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("RUNLOG_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Copies the folder `from` into `to` (created), files and folders.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
