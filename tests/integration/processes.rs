//! Several processes on one run: the second writer is refused with the holder's name, and a
//! reader in another process sees every flushed point while the writer goes on.

use std::process::Command;

use runlog::metrics::Error;
use runlog::{MetricStore, Point, WriterOptions};

const CHILD_ENV: &str = "RUNLOG_PROCESS_CHILD_DIR";

/// In the child: try to write (must be refused) and count what a reader sees.
fn child(dir: &str) {
    let store = MetricStore::open(dir).unwrap();
    match store.writer("shared", WriterOptions::default()) {
        Err(Error::Locked { holder, .. }) => println!("LOCKED {holder}"),
        Err(e) => println!("OTHER ERROR {e}"),
        Ok(_) => println!("GOT THE LOCK"),
    }
    let r = store.reader("shared").unwrap();
    println!("SEEN {}", r.history("loss").unwrap().len());
}

fn run_child(exe: &std::path::Path, dir: &std::path::Path) -> String {
    let out = Command::new(exe)
        .args([
            "processes::a_second_process_is_refused_the_writer_but_reads_flushed_points",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_second_process_is_refused_the_writer_but_reads_flushed_points() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let store = MetricStore::open(tmp.path()).unwrap();
    let w = store.writer("shared", WriterOptions::default()).unwrap();
    let id = w.series("loss").unwrap();
    let mut flushed = 0;
    for round in 1..=3 {
        for i in 0..1_000 {
            w.append(id, Point::new(flushed + i, i, 0.5)).unwrap();
        }
        w.flush().unwrap();
        flushed += 1_000;
        // Unflushed points are not promised to anyone.
        w.append(id, Point::new(-1, -1, 9.0)).unwrap();
        let out = run_child(&exe, tmp.path());
        let me = format!("LOCKED process {} on", std::process::id());
        assert!(out.contains(&me), "round {round}: child said {out:?}");
        let seen: i64 = out
            .lines()
            .find_map(|l| l.strip_prefix("SEEN "))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("child said {out:?}"));
        assert!(
            seen >= flushed,
            "round {round}: reader saw {seen} of {flushed} flushed points"
        );
        flushed = seen;
    }
    w.close().unwrap();
    // With the writer gone, another writer may take the run.
    let w2 = store.writer("shared", WriterOptions::default()).unwrap();
    assert!(w2.series("loss").is_ok());
}

#[test]
fn a_second_writer_in_the_same_process_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = MetricStore::open(tmp.path()).unwrap();
    let _w = store.writer("r", WriterOptions::default()).unwrap();
    let e = store.writer("r", WriterOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("already being written by process"),
        "{e}"
    );
}
