//! Quick W1 probe: ingest speed, bytes per point, Q1 speed. `cargo run --release --example w1_probe -- [steps]`
use runlog::{MetricStore, Point, WriterOptions};
use runlog_workloads::{W1, W1_KEYS};
use std::time::Instant;

fn main() -> runlog::Result<()> {
    let steps: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(1_000_000);
    let pts: Vec<_> = W1::new(steps).collect();
    let dir = tempfile::tempdir().unwrap();
    let store = MetricStore::open(dir.path())?;
    let t = Instant::now();
    let w = store.writer("w1", WriterOptions::default())?;
    let ids: Vec<_> = W1_KEYS.iter().map(|k| w.series(k).unwrap()).collect();
    for p in &pts {
        w.append(ids[p.key], Point::new(p.step, p.timestamp_ms, p.value))?;
    }
    w.close()?;
    let el = t.elapsed();
    println!(
        "ingest per-point: {:.1} M points/s",
        pts.len() as f64 / el.as_secs_f64() / 1e6
    );
    let bytes: u64 = std::fs::read_dir(dir.path().join("runs/w1"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    println!("bytes/point: {:.3}", bytes as f64 / pts.len() as f64);
    let r = store.reader("w1")?;
    let t = Instant::now();
    let h = r.history("train/loss")?;
    let el = t.elapsed();
    println!(
        "Q1: {} points, {:.1} M points/s",
        h.len(),
        h.len() as f64 / el.as_secs_f64() / 1e6
    );
    Ok(())
}
