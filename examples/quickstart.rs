//! The README's demo: a simulated training run (the reference workload W1: 10 metrics logged
//! at every step) is logged into an embedded store, then queried: a step window, the latest
//! values, a time window and a downsampled loss curve.
//!
//! `cargo run --release --example quickstart -- [STORE_DIR] [STEPS]`
//! (defaults: `./runlog-demo`, 1 000 000 steps = 10 M points).

use std::time::Instant;

use runlog::{Axis, MetricStore, WriterOptions};
use runlog_workloads::{W1, W1_KEYS};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "runlog-demo".into());
    let steps: u64 = match args.next() {
        Some(s) => s
            .parse()
            .map_err(|_| format!("STEPS must be a whole number, got {s:?}"))?,
        None => 1_000_000,
    };
    let store = MetricStore::open(&dir)?;
    let run_id = format!("demo-{}", std::process::id());

    // 1. Train: log every metric at every step, as a training loop does.
    let started = Instant::now();
    let writer = store.writer(&run_id, WriterOptions::default())?;
    let ids: Vec<_> = W1_KEYS
        .iter()
        .map(|k| writer.series(k))
        .collect::<Result<_, _>>()?;
    let mut step_values = Vec::with_capacity(W1_KEYS.len());
    let mut points = 0u64;
    for p in W1::new(steps) {
        step_values.push((ids[p.key], p.value));
        if p.key + 1 == W1_KEYS.len() {
            writer.append_step(p.step, p.timestamp_ms, &step_values)?;
            step_values.clear();
        }
        points += 1;
    }
    writer.close()?; // flush (one fdatasync) and seal
    let secs = started.elapsed().as_secs_f64();
    let bytes: u64 = std::fs::read_dir(store.run_dir(&run_id)?)?
        .map(|e| e.and_then(|e| e.metadata()).map(|m| m.len()).unwrap_or(0))
        .sum();
    println!("logged {points} points of run {run_id} into {dir}/ in {secs:.2} s");
    println!(
        "  ({:.1} M points/s, including generating them; {:.2} bytes/point on disk)\n",
        points as f64 / secs / 1e6,
        bytes as f64 / points as f64
    );

    // 2. Analyse: open the run as a reader (this works while a writer is still logging).
    let reader = store.reader(&run_id)?;
    let mid = (steps / 2) as i64;
    let window = reader.step_window("train/loss", mid, mid + 5)?;
    println!("train/loss, steps {mid}..{}:", mid + 5);
    for p in window.iter() {
        println!("  step {:>8}  t={}  {:.6}", p.step, p.timestamp_ms, p.value);
    }

    println!("\nlatest values (MLflow's rule: highest step, then time, then value):");
    for key in W1_KEYS {
        if let Some(s) = reader.summary(key)? {
            println!(
                "  {key:<20} {:>12.6} at step {:<8} ({} points, min {:.4}, max {:.4})",
                s.latest.value, s.latest.step, s.count, s.min, s.max
            );
        }
    }

    let first = window.iter().next().map(|p| p.timestamp_ms).unwrap_or(0);
    let minute = reader.time_window("train/loss", first, first + 60_000)?;
    println!(
        "\ntrain/loss logged in the minute after step {mid}: {} points",
        minute.len()
    );

    let curve = reader.downsample("train/loss", Axis::Step, 24, None)?;
    println!(
        "\ntrain/loss downsampled to {} step buckets (min / mean / max):",
        curve.len()
    );
    let top = curve.iter().map(|b| b.max).fold(f64::MIN, f64::max);
    for b in &curve {
        let bar = "#".repeat(((b.mean / top) * 50.0).round().max(0.0) as usize);
        println!(
            "  {:>8}..{:<8} {:.4} / {:.4} / {:.4} {bar}",
            b.start, b.end, b.min, b.mean, b.max
        );
    }
    Ok(())
}
