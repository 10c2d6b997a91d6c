//! Development probe: W1 batch ingest (append_batch, 4096 steps per call), split into append
//! time and close (flush + fdatasync + seal) time. `cargo run --release --example batch_probe -- [steps]`
use runlog::{MetricStore, Point, WriterOptions};
use runlog_workloads::{W1_KEYS, W1Columns};
use std::time::Instant;

fn main() -> runlog::Result<()> {
    let steps: u64 = std::env::args()
        .nth(1)
        .map_or(1_000_000, |s| s.parse().expect("steps"));
    let cols = W1Columns::generate(steps);
    let per_key: Vec<Vec<Point>> = (0..W1_KEYS.len())
        .map(|k| {
            (0..cols.steps[k].len())
                .map(|i| {
                    Point::new(
                        cols.steps[k][i],
                        cols.timestamps_ms[k][i],
                        cols.values[k][i],
                    )
                })
                .collect()
        })
        .collect();
    for _ in 0..5 {
        let dir = tempfile::tempdir().expect("temporary folder");
        let store = MetricStore::open(dir.path())?;
        let t = Instant::now();
        let w = store.writer("w1", WriterOptions::default())?;
        let ids: Vec<_> = W1_KEYS
            .iter()
            .map(|k| w.series(k))
            .collect::<Result<_, _>>()?;
        for start in (0..steps as usize).step_by(4096) {
            for (k, pts) in per_key.iter().enumerate() {
                let end = (start + 4096).min(pts.len());
                w.append_batch(ids[k], &pts[start..end])?;
            }
        }
        let appended = t.elapsed().as_secs_f64();
        w.close()?;
        let total = t.elapsed().as_secs_f64();
        let n = steps as f64 * W1_KEYS.len() as f64;
        println!(
            "append {:.1} ms, close {:.1} ms, total {:.1} M points/s",
            appended * 1e3,
            (total - appended) * 1e3,
            n / total / 1e6
        );
    }
    Ok(())
}
