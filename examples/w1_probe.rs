//! Quick W1 probe for development: per-point ingest, bytes per point, Q1 (median of 15).
//! `cargo run --release --example w1_probe -- [steps]`. The criterion benches and
//! `runlog-bench-compare` are the figures of record.
use runlog::{MetricStore, Point, WriterOptions};
use runlog_workloads::{W1, W1_KEYS};
use std::time::Instant;

fn main() -> runlog::metrics::Result<()> {
    let steps: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("steps must be a number"))
        .unwrap_or(1_000_000);
    let pts: Vec<_> = W1::new(steps).collect();
    let dir = tempfile::tempdir().expect("temporary folder");
    let store = MetricStore::open(dir.path())?;
    let t = Instant::now();
    let w = store.writer("w1", WriterOptions::default())?;
    let ids: Vec<_> = W1_KEYS
        .iter()
        .map(|k| w.series(k))
        .collect::<Result<_, _>>()?;
    for p in &pts {
        w.append(ids[p.key], Point::new(p.step, p.timestamp_ms, p.value))?;
    }
    w.close()?;
    let el = t.elapsed().as_secs_f64();
    println!(
        "ingest per-point: {:.1} M points/s",
        pts.len() as f64 / el / 1e6
    );
    let bytes: u64 = std::fs::read_dir(dir.path().join("runs/w1"))
        .expect("run folder")
        .map(|e| e.expect("entry").metadata().expect("metadata").len())
        .sum();
    println!("bytes/point: {:.3}", bytes as f64 / pts.len() as f64);
    let r = store.reader("w1")?;
    let mut times = Vec::new();
    let mut n = 0;
    let mut buf = runlog::Points::default();
    for _ in 0..15 {
        let t = Instant::now();
        r.history_into("train/loss", &mut buf)?;
        n = buf.len();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "Q1: {n} points, median {:.1} M points/s, best {:.1}",
        n as f64 / times[7] / 1e6,
        n as f64 / times[0] / 1e6
    );
    Ok(())
}
