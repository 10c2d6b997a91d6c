//! Crash test with real processes: a child appends and prints each acknowledged flush; the
//! parent SIGKILLs it at a random moment, and after every cycle checks that every acknowledged
//! point is there and nothing was invented. `RUNLOG_CRASH_CYCLES` sets the cycle count.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use runlog::{MetricStore, Point, WriterOptions};
use runlog_workloads::SplitMix64;

const KEYS: [&str; 3] = ["loss", "acc", "lr"];
const CHILD_ENV: &str = "RUNLOG_CRASH_CHILD_DIR";

fn options() -> WriterOptions {
    WriterOptions {
        block_points: 64,
        segment_bytes: 48 << 10,
        flush_interval: Some(Duration::from_millis(3)),
        ..WriterOptions::default()
    }
}

/// The point number `i` that cycle `cycle` appends to series `k`: its content says who wrote it.
fn point(cycle: u64, k: usize, i: u64) -> Point {
    let value = if i % 97 == 13 {
        f64::NAN
    } else {
        (cycle * 1_000_000 + i) as f64 + k as f64 / 10.0
    };
    Point::new(i as i64, cycle as i64, value)
}

/// Appends batches and prints `ACK <n>` once the first `n` points of every series are durable.
/// Runs forever when `forever`, else for `rounds` rounds.
fn child_loop(dir: &Path, cycle: u64, rounds: Option<u64>) -> u64 {
    let store = MetricStore::open(dir).unwrap();
    let writer = store.writer("crash", options()).unwrap();
    let ids: Vec<_> = KEYS.iter().map(|k| writer.series(k).unwrap()).collect();
    let mut rng = SplitMix64::new(cycle);
    let mut n = 0u64;
    let mut round = 0;
    while rounds.is_none_or(|r| round < r) {
        let batch = 1 + rng.below(300);
        for _ in 0..batch {
            for (k, &id) in ids.iter().enumerate() {
                writer.append(id, point(cycle, k, n)).unwrap();
            }
            n += 1;
        }
        writer.flush().unwrap();
        println!("ACK {n}");
        round += 1;
    }
    writer.close().unwrap();
    n
}

/// Checks the store after cycles `0..acks.len()`: cycle c left at least `acks[c]` points per
/// series, exactly the ones it wrote, in order, and nothing else exists.
fn verify(dir: &Path, acks: &[u64]) {
    if !dir.join("runs/crash").exists() {
        // Killed before its writer made the run folder (a busy machine starts children
        // slowly): then nothing can have been acknowledged.
        assert!(acks.iter().all(|&a| a == 0), "the run folder is lost");
        return;
    }
    let reader = MetricStore::open(dir).unwrap().reader("crash").unwrap();
    for (k, key) in KEYS.iter().enumerate() {
        let Some(_) = reader.series_id(key) else {
            assert!(acks.iter().all(|&a| a == 0), "series {key} lost");
            continue;
        };
        let pts: Vec<Point> = reader.history(key).unwrap().iter().collect();
        let mut at = 0;
        for (cycle, &ack) in acks.iter().enumerate() {
            let cycle = cycle as u64;
            let mut i = 0u64;
            while at < pts.len() && pts[at].timestamp_ms == cycle as i64 {
                assert_eq!(
                    pts[at],
                    point(cycle, k, i),
                    "{key}: cycle {cycle} point {i} is wrong"
                );
                at += 1;
                i += 1;
            }
            assert!(
                i >= ack,
                "{key}: cycle {cycle} acknowledged {ack} points, only {i} survived"
            );
        }
        assert_eq!(at, pts.len(), "{key}: points that no cycle wrote");
    }
}

#[test]
fn killed_writer_keeps_every_acknowledged_point() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        // Child mode: run until killed.
        let cycle = std::env::var("RUNLOG_CRASH_CYCLE")
            .unwrap()
            .parse()
            .unwrap();
        child_loop(Path::new(&dir), cycle, None);
        unreachable!("the parent kills the child");
    }
    let cycles: u64 = std::env::var("RUNLOG_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let exe = std::env::current_exe().unwrap();
    let mut rng = SplitMix64::new(7);
    let mut acks = Vec::new();
    for cycle in 0..cycles {
        let mut child = Command::new(&exe)
            .args([
                "crash::killed_writer_keeps_every_acknowledged_point",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir)
            .env("RUNLOG_CRASH_CYCLE", cycle.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(2_000 + rng.below(40_000)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let ack = out
            .lines()
            .filter_map(|l| l.strip_prefix("ACK "))
            .filter_map(|n| n.trim().parse::<u64>().ok())
            .next_back()
            .unwrap_or(0);
        acks.push(ack);
        verify(dir, &acks);
    }
    let acked = acks.iter().filter(|&&a| a > 0).count();
    eprintln!("crash test: {cycles} cycles, {acked} killed after at least one acknowledged flush");
    assert!(
        acked * 4 >= acks.len(),
        "only {acked} of {cycles} children acknowledged a flush before being killed: the test proves little"
    );
    // A last clean writer session repairs the torn tail; then every byte must check out.
    let store = MetricStore::open(dir).unwrap();
    store.writer("crash", options()).unwrap().close().unwrap();
    verify(dir, &acks);
    let report = runlog::metrics::verify_run(&dir.join("runs/crash")).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(
        report.segments > 1,
        "the test should cross segment boundaries"
    );
}

#[test]
fn clean_sessions_resume_where_they_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    let mut acks = Vec::new();
    for cycle in 0..5 {
        acks.push(child_loop(tmp.path(), cycle, Some(20)));
        verify(tmp.path(), &acks);
    }
}
