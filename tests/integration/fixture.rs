//! A store written by format version 1 is committed under `tests/fixtures/store-v1/` and must
//! read back exactly, so a later format change cannot silently break old stores.
//! `RUNLOG_WRITE_FIXTURE=1 cargo test --test integration fixture` rewrites it (only do that
//! when a format version is added, and keep the old fixture).

use std::fs;
use std::path::{Path, PathBuf};

use runlog::metrics::verify_run;
use runlog::{Axis, MetricStore, Point, WriterOptions};

use crate::common::{assert_points, python_latest};

const KEYS: [&str; 3] = ["train/loss", "eval/ünïcode key", "specials"];

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1")
}

/// The content of the fixture: per key, the points in arrival order, split into the part
/// written in session 1 (closed, so sealed) and session 2 (left active).
fn content() -> Vec<(Vec<Point>, Vec<Point>)> {
    let specials = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        0.1,
        1e300,
        f64::MIN_POSITIVE,
    ];
    (0..KEYS.len())
        .map(|k| {
            let pts: Vec<Point> = (0..400i64)
                .map(|i| {
                    let step = if i >= 300 { i - 150 } else { i }; // a resumed run repeats steps
                    let v = match k {
                        0 => (2.0 / (1.0 + i as f64 / 30.0)) as f32 as f64,
                        1 => i as f64 / 3.0,
                        _ => specials[i as usize % specials.len()],
                    };
                    Point::new(step, 1_700_000_000_000 + i * 37 - (i % 3), v)
                })
                .collect();
            (pts[..150].to_vec(), pts[150..].to_vec())
        })
        .collect()
}

fn options() -> WriterOptions {
    WriterOptions {
        block_points: 16,
        segment_bytes: 4096,
        flush_interval: None,
        ..WriterOptions::default()
    }
}

fn write_fixture(target: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let store = MetricStore::open(tmp.path()).unwrap();
    let data = content();
    let w = store.writer("fixture", options()).unwrap();
    let ids: Vec<_> = KEYS.iter().map(|k| w.series(k).unwrap()).collect();
    for (k, (first, _)) in data.iter().enumerate() {
        w.append_batch(ids[k], first).unwrap();
    }
    w.close().unwrap();
    let w = store.writer("fixture", options()).unwrap();
    for (k, (_, second)) in data.iter().enumerate() {
        for p in second {
            w.append(ids[k], *p).unwrap();
        }
    }
    w.flush().unwrap();
    let _ = fs::remove_dir_all(target);
    fs::create_dir_all(target.join("runs/fixture")).unwrap();
    fs::copy(tmp.path().join("FORMAT"), target.join("FORMAT")).unwrap();
    for e in fs::read_dir(tmp.path().join("runs/fixture")).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        let name = name.to_str().unwrap();
        if name.ends_with(".seg") || name == "MANIFEST" {
            fs::copy(e.path(), target.join("runs/fixture").join(e.file_name())).unwrap();
        }
    }
    drop(w);
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn store_written_by_format_v1_reads_back_exactly() {
    if std::env::var_os("RUNLOG_WRITE_FIXTURE").is_some() {
        write_fixture(&fixture_dir());
    }
    assert!(
        fixture_dir().join("runs/fixture/MANIFEST").exists(),
        "the fixture has a manifest"
    );
    // As written, and without its manifest (a cache that readers and writers can do without).
    for drop_manifest in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        copy_dir(&fixture_dir(), tmp.path());
        if drop_manifest {
            fs::remove_file(tmp.path().join("runs/fixture/MANIFEST")).unwrap();
        }
        check_fixture_copy(tmp.path());
    }
}

fn check_fixture_copy(root: &Path) {
    let segs = fs::read_dir(root.join("runs/fixture"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_str()
                .unwrap()
                .ends_with(".seg")
        })
        .count();
    assert!(
        segs >= 3,
        "the fixture should hold sealed segments and an active one, has {segs}"
    );

    let store = MetricStore::open(root).unwrap();
    let r = store.reader("fixture").unwrap();
    for (k, (first, second)) in content().into_iter().enumerate() {
        let all: Vec<Point> = first.into_iter().chain(second).collect();
        assert_points(&r.history(KEYS[k]).unwrap(), &all, KEYS[k]);
        assert_eq!(r.latest(KEYS[k]).unwrap(), python_latest(&all));
        let want: Vec<Point> = all
            .iter()
            .copied()
            .filter(|p| (100..200).contains(&p.step))
            .collect();
        assert_points(
            &r.step_window(KEYS[k], 100, 200).unwrap(),
            &want,
            "step window",
        );
        let buckets = r.downsample(KEYS[k], Axis::Step, 10, None).unwrap();
        assert_eq!(
            buckets.iter().map(|b| b.count).sum::<u64>(),
            all.len() as u64
        );
    }
    assert!(
        verify_run(&root.join("runs/fixture"))
            .unwrap()
            .problems
            .is_empty()
    );

    // A writer of this version resumes the old store and keeps everything.
    let w = store.writer("fixture", options()).unwrap();
    let id = w.series(KEYS[0]).unwrap();
    w.append(id, Point::new(1_000, 1, 0.25)).unwrap();
    w.close().unwrap();
    assert_eq!(
        store
            .reader("fixture")
            .unwrap()
            .history(KEYS[0])
            .unwrap()
            .len(),
        401
    );
    assert!(
        verify_run(&root.join("runs/fixture"))
            .unwrap()
            .problems
            .is_empty()
    );
}
