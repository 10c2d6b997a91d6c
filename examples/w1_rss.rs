//! Peak memory of a writer through the whole of W1: points are generated on the fly, so the
//! process's peak RSS is the writer's. Linux only (reads /proc/self/status).
//! `cargo run --release --example w1_rss -- [STEPS]`

use runlog::{MetricStore, Point, WriterOptions};
use runlog_workloads::{W1, W1_KEYS};

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> runlog::metrics::Result<()> {
    let steps: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("STEPS must be a number"))
        .unwrap_or(runlog_workloads::W1_STEPS);
    let dir = tempfile::tempdir().expect("temporary folder");
    let before = vm_hwm_kib();
    let store = MetricStore::open(dir.path())?;
    let w = store.writer("w1", WriterOptions::default())?;
    let ids: Vec<_> = W1_KEYS
        .iter()
        .map(|k| w.series(k))
        .collect::<Result<_, _>>()?;
    for p in W1::new(steps) {
        w.append(ids[p.key], Point::new(p.step, p.timestamp_ms, p.value))?;
    }
    w.close()?;
    let after = vm_hwm_kib();
    println!(
        "peak RSS: {:.1} MiB before opening the writer, {:.1} MiB after {} points",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        steps * W1_KEYS.len() as u64
    );
    Ok(())
}
