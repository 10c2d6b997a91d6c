//! A slow trainer that flushes every few points writes short blocks; sealing merges them, so a
//! finished run is as compact as one logged in full blocks.

use runlog::{MetricStore, Point, WriterOptions};
use runlog_workloads::W1;

use crate::common::assert_points;

fn run_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_str().unwrap().ends_with(".seg"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

#[test]
fn sealing_merges_the_short_blocks_of_frequent_flushes() {
    let tmp = tempfile::tempdir().unwrap();
    let store = MetricStore::open(tmp.path()).unwrap();
    let opts = WriterOptions {
        flush_interval: None,
        ..WriterOptions::default()
    };
    let points: Vec<_> = W1::new(20_000).collect();
    let keys = runlog_workloads::W1_KEYS;

    // The same points twice: flushed every 10 steps (a slow trainer), and in one go.
    for (run, every) in [("slow", 10 * keys.len()), ("fast", usize::MAX)] {
        let w = store.writer(run, opts.clone()).unwrap();
        let ids: Vec<_> = keys.iter().map(|k| w.series(k).unwrap()).collect();
        for (i, p) in points.iter().enumerate() {
            w.append(ids[p.key], Point::new(p.step, p.timestamp_ms, p.value))
                .unwrap();
            if (i + 1) % every == 0 {
                w.flush().unwrap();
            }
        }
        if run == "slow" {
            let live = run_bytes(&store.run_dir(run).unwrap()) as f64 / points.len() as f64;
            assert!(
                live > 10.0,
                "short blocks should cost much more before sealing: {live}"
            );
        }
        w.close().unwrap();
    }
    let slow = run_bytes(&store.run_dir("slow").unwrap()) as f64 / points.len() as f64;
    let fast = run_bytes(&store.run_dir("fast").unwrap()) as f64 / points.len() as f64;
    assert!(
        slow < fast * 1.05,
        "sealed slow run {slow:.2} B/point vs {fast:.2}"
    );

    let reader = store.reader("slow").unwrap();
    for (k, key) in keys.iter().enumerate() {
        let want: Vec<Point> = points
            .iter()
            .filter(|p| p.key == k)
            .map(|p| Point::new(p.step, p.timestamp_ms, p.value))
            .collect();
        assert_points(&reader.history(key).unwrap(), &want, key);
    }
    let report = runlog::metrics::verify_run(&store.run_dir("slow").unwrap()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
