//! Damaged files: single-bit flips across a sealed segment are reported, never returned as
//! values; truncating the active segment keeps exactly the records before the cut.

use std::fs;
use std::path::{Path, PathBuf};

use runlog::metrics::Error;
use runlog::metrics::verify_run;
use runlog::{MetricStore, Point, Points, RunReader, WriterOptions};
use runlog_workloads::SplitMix64;

use crate::common::assert_points;

const KEYS: [&str; 3] = ["train/loss", "train/acc", "lr"];

fn points(k: usize, n: usize) -> Vec<Point> {
    let mut rng = SplitMix64::new(k as u64);
    (0..n)
        .map(|i| {
            let v = match k {
                0 => (2.0 / (1.0 + i as f64 / 50.0) + 0.05 * rng.normal()) as f32 as f64,
                1 => rng.next_f64(),
                _ => 0.001,
            };
            Point::new(
                i as i64,
                1_700_000_000_000 + 4 * i as i64 + rng.below(3) as i64,
                v,
            )
        })
        .collect()
}

/// A run with one sealed segment holding `KEYS`, 700 points each.
fn sealed_run(root: &Path) -> PathBuf {
    let store = MetricStore::open(root).unwrap();
    let opts = WriterOptions {
        block_points: 128,
        flush_interval: None,
        ..WriterOptions::default()
    };
    let w = store.writer("r", opts).unwrap();
    for (k, key) in KEYS.iter().enumerate() {
        let id = w.series(key).unwrap();
        w.append_batch(id, &points(k, 700)).unwrap();
    }
    w.close().unwrap();
    let seg = root.join("runs/r/00000001.seg");
    assert!(seg.exists());
    seg
}

/// Every query over every series, as one result (or the first error).
fn read_everything(dir: &Path) -> Result<Vec<Points>, Error> {
    let r = RunReader::open(dir)?;
    let mut out = Vec::new();
    for key in KEYS {
        if r.series_id(key).is_none() {
            continue;
        }
        out.push(r.history(key)?);
        out.push(r.step_window(key, 100, 300)?);
        let latest = r.latest(key)?.expect("non-empty");
        let mut p = Points::default();
        p.push(latest);
        out.push(p);
        let buckets = r.downsample(key, runlog::Axis::Step, 7, None)?;
        let mut b = Points::default();
        for bucket in buckets {
            b.push(Point::new(
                bucket.count as i64,
                bucket.last.step,
                bucket.mean,
            ));
            b.push(bucket.last);
        }
        out.push(b);
    }
    Ok(out)
}

fn names_file_and_offset(e: &Error, file: &Path) -> bool {
    match e {
        Error::Corrupt { path, .. } => path == file,
        Error::UnsupportedVersion { path, .. } => path == file,
        _ => false,
    }
}

#[test]
fn every_bit_flip_in_a_sealed_segment_is_reported_never_returned() {
    let tmp = tempfile::tempdir().unwrap();
    let seg = sealed_run(tmp.path());
    let dir = seg.parent().unwrap().to_path_buf();
    let good = fs::read(&seg).unwrap();
    let want = read_everything(&dir).unwrap();
    let positions = 1_200.min(good.len() * 8);
    let mut rng = SplitMix64::new(99);
    let mut reported_on_read = 0;
    for i in 0..positions {
        // Spread evenly over the file, a random bit of each chosen byte.
        let byte = i * good.len() / positions;
        let bit = rng.below(8);
        let mut bad = good.clone();
        bad[byte] ^= 1 << bit;
        fs::write(&seg, &bad).unwrap();

        match read_everything(&dir) {
            Ok(got) => assert!(
                got == want,
                "flip at byte {byte} bit {bit} changed query results"
            ),
            Err(e) => {
                assert!(
                    names_file_and_offset(&e, &seg),
                    "flip at byte {byte}: unhelpful error {e}"
                );
                reported_on_read += 1;
            }
        }
        let report = verify_run(&dir).unwrap();
        assert!(
            !report.problems.is_empty(),
            "flip at byte {byte} bit {bit} went unnoticed by verify_run"
        );
        assert!(
            report
                .problems
                .iter()
                .all(|e| names_file_and_offset(e, &seg)),
            "flip at byte {byte}: {:?}",
            report.problems
        );
    }
    fs::write(&seg, &good).unwrap();
    assert!(verify_run(&dir).unwrap().problems.is_empty());
    assert!(
        reported_on_read > positions / 2,
        "most flips hit data the queries read"
    );
}

/// One record per flush: a single series, fewer points per flush than a block holds.
#[test]
fn truncating_the_active_segment_keeps_exactly_the_records_before_the_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let store = MetricStore::open(tmp.path()).unwrap();
    let opts = WriterOptions {
        block_points: 1_000,
        flush_interval: None,
        ..WriterOptions::default()
    };
    let all = points(0, 240);
    let w = store.writer("live", opts.clone()).unwrap();
    let id = w.series("train/loss").unwrap();
    let seg = tmp.path().join("runs/live/00000001.seg");
    // (file length after flush, points durable after it)
    let mut flushes = Vec::new();
    for chunk in 0..8 {
        let batch = &all[chunk * 30..(chunk + 1) * 30];
        w.append_batch(id, batch).unwrap();
        w.flush().unwrap();
        flushes.push((fs::metadata(&seg).unwrap().len(), (chunk + 1) * 30));
    }
    let image = fs::read(&seg).unwrap(); // the active segment, before close seals it
    drop(w);

    let first_cut = flushes[4].0 as usize; // the last three records and a half
    let mut checked = 0;
    for cut in first_cut - 17..=image.len() {
        let root = tempfile::tempdir().unwrap();
        let s = MetricStore::open(root.path()).unwrap();
        let dir = s.run_dir("live").unwrap();
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("00000001.seg"), &image[..cut]).unwrap();
        let expect = flushes
            .iter()
            .filter(|(len, _)| *len as usize <= cut)
            .map(|&(_, n)| n)
            .max()
            .unwrap_or(0);
        let reader = s.reader("live").unwrap();
        assert_points(
            &reader.history("train/loss").unwrap(),
            &all[..expect],
            &format!("cut at {cut}"),
        );
        checked += 1;

        // A writer reopening the cut file moves the torn tail aside and carries on.
        if cut % 7 == 0 {
            let w = s.writer("live", opts.clone()).unwrap();
            let id = w.series("train/loss").unwrap();
            w.append_batch(id, &all[expect..]).unwrap();
            w.close().unwrap();
            assert_points(
                &s.reader("live").unwrap().history("train/loss").unwrap(),
                &all,
                "after repair",
            );
            assert!(verify_run(&dir).unwrap().problems.is_empty());
        }
    }
    assert!(checked > 100);
}

#[test]
fn unknown_versions_and_foreign_folders_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let seg = sealed_run(tmp.path());

    // A newer segment version.
    let good = fs::read(&seg).unwrap();
    let mut newer = good.clone();
    newer[8] = 2;
    fs::write(&seg, &newer).unwrap();
    // Sealed segments are mapped lazily: the refusal comes at the first query that needs one.
    let e = MetricStore::open(tmp.path())
        .unwrap()
        .reader("r")
        .and_then(|r| r.history("train/loss"))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::UnsupportedVersion {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("format version 2"), "{e}");
    fs::write(&seg, &good).unwrap();

    // A newer store version.
    fs::write(tmp.path().join("FORMAT"), "runlog store format 9\n").unwrap();
    let e = MetricStore::open(tmp.path()).unwrap_err();
    assert!(
        matches!(e, Error::UnsupportedVersion { found: 9, .. }),
        "{e}"
    );

    // A folder that is not a store.
    let other = tempfile::tempdir().unwrap();
    fs::write(other.path().join("notes.txt"), "hello").unwrap();
    let e = MetricStore::open(other.path()).unwrap_err();
    assert!(matches!(e, Error::NotAStore { .. }), "{e}");
    assert!(e.to_string().contains("no FORMAT file"), "{e}");
    fs::write(other.path().join("FORMAT"), "sqlite").unwrap();
    assert!(matches!(
        MetricStore::open(other.path()).unwrap_err(),
        Error::NotAStore { .. }
    ));
}
