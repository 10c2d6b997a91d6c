//! Injected I/O failures: a clear error, a poisoned writer, and earlier flushed data intact.

use runlog::metrics::Error;
use runlog::metrics::{FaultPlan, verify_run};
use runlog::{MetricStore, Point, WriterOptions};

use crate::common::assert_points;

fn pts(range: std::ops::Range<i64>) -> Vec<Point> {
    range
        .map(|i| Point::new(i, 1_000 + i, i as f64 * 0.5))
        .collect()
}

fn opts(faults: Option<FaultPlan>) -> WriterOptions {
    WriterOptions {
        block_points: 64,
        flush_interval: None,
        faults,
        ..WriterOptions::default()
    }
}

fn assert_poisoned(e: &Error, cause: &str) {
    assert!(
        matches!(e, Error::Poisoned { .. }),
        "expected a poisoned writer, got {e}"
    );
    let msg = e.to_string();
    assert!(msg.contains(cause) && msg.contains("reopen"), "{msg}");
}

#[test]
fn a_full_disk_poisons_the_writer_and_keeps_flushed_points() {
    let tmp = tempfile::tempdir().unwrap();
    let store = MetricStore::open(tmp.path()).unwrap();
    let w = store
        .writer("r", opts(Some(FaultPlan::fail_after_bytes(6_000))))
        .unwrap();
    let id = w.series("loss").unwrap();
    let first = pts(0..300);
    w.append_batch(id, &first).unwrap();
    w.flush().unwrap();

    w.append_batch(id, &pts(300..5_000)).unwrap();
    let e = w.flush().unwrap_err();
    assert!(matches!(&e, Error::Io { .. }), "{e}");
    assert!(e.to_string().contains("no space left on device"), "{e}");
    assert_poisoned(
        &w.append(id, Point::new(1, 1, 1.0)).unwrap_err(),
        "no space left",
    );
    assert_poisoned(&w.flush().unwrap_err(), "no space left");
    assert_poisoned(&w.series("new").unwrap_err(), "no space left");
    drop(w);

    // The store reopens; what was flushed is there, the failed flush left at most a prefix.
    let r = store.reader("r").unwrap();
    let got = r.history("loss").unwrap();
    assert!(got.len() >= first.len());
    assert_points(&got, &pts(0..got.len() as i64), "after a full disk");
    let w = store.writer("r", opts(None)).unwrap();
    w.close().unwrap();
    assert!(
        verify_run(&store.run_dir("r").unwrap())
            .unwrap()
            .problems
            .is_empty()
    );
}

#[test]
fn a_failed_sync_poisons_the_writer() {
    let tmp = tempfile::tempdir().unwrap();
    let store = MetricStore::open(tmp.path()).unwrap();
    let w = store
        .writer("r", opts(Some(FaultPlan::fail_sync_from(2))))
        .unwrap();
    let id = w.series("loss").unwrap();
    w.append_batch(id, &pts(0..100)).unwrap();
    w.flush().unwrap();
    w.append_batch(id, &pts(100..200)).unwrap();
    let e = w.flush().unwrap_err();
    assert!(e.to_string().contains("fdatasync"), "{e}");
    assert_poisoned(
        &w.append(id, Point::new(1, 1, 1.0)).unwrap_err(),
        "fdatasync",
    );
    // Closing a poisoned writer reports the poison instead of pretending to succeed.
    assert_poisoned(&w.close().unwrap_err(), "fdatasync");
    let got = store.reader("r").unwrap().history("loss").unwrap();
    assert!(got.len() >= 100);
    assert_points(&got, &pts(0..got.len() as i64), "after a failed sync");
}

#[test]
fn a_background_flush_failure_reaches_the_next_append() {
    let tmp = tempfile::tempdir().unwrap();
    let store = MetricStore::open(tmp.path()).unwrap();
    let mut o = opts(Some(FaultPlan::fail_sync_from(1)));
    o.flush_interval = Some(std::time::Duration::from_millis(5));
    let w = store.writer("r", o).unwrap();
    let id = w.series("loss").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let e = loop {
        match w.append(id, Point::new(1, 1, 1.0)) {
            Ok(()) => std::thread::sleep(std::time::Duration::from_millis(1)),
            Err(e) => break e,
        }
        assert!(
            std::time::Instant::now() < deadline,
            "background flush never failed"
        );
    };
    assert_poisoned(&e, "fdatasync");
}
