//! Times W1 through the facade in one mode, for profiling (`perf`, `callgrind`):
//! `cargo run --release --example facade_probe -- MODE [STEPS]` with MODE one of `raw`
//! (`RunWriter::append`), `handle` (`Metric::log_at`), `key` (`Run::log_metric_at`),
//! `handle-now` (`Metric::log`), `key-now` (`Run::log_metric`).

use std::time::Instant;

use runlog::{NewRun, Point, RunStatus, Store, WriterOptions};
use runlog_workloads::{W1, W1_KEYS};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().ok_or("usage: facade_probe MODE [STEPS]")?;
    let steps: u64 = args.next().map_or(Ok(1_000_000), |s| s.parse())?;
    let points: Vec<(usize, Point)> = W1::new(steps)
        .map(|p| (p.key, Point::new(p.step, p.timestamp_ms, p.value)))
        .collect();
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let t = Instant::now();
    if mode == "raw" {
        let w = store
            .metric_store()
            .writer("raw", WriterOptions::default())?;
        let ids: Vec<_> = W1_KEYS
            .iter()
            .map(|k| w.series(k))
            .collect::<Result<_, _>>()?;
        for &(k, p) in &points {
            w.append(ids[k], p)?;
        }
        w.close()?;
    } else {
        let run = store.start_run(NewRun::default())?;
        let handles: Vec<_> = W1_KEYS
            .iter()
            .map(|k| run.metric(k))
            .collect::<Result<_, _>>()?;
        match mode.as_str() {
            "handle" => {
                for &(k, p) in &points {
                    handles[k].log_at(p.step, p.timestamp_ms, p.value)?;
                }
            }
            "key" => {
                for &(k, p) in &points {
                    run.log_metric_at(W1_KEYS[k], p.step, p.timestamp_ms, p.value)?;
                }
            }
            "handle-now" => {
                for &(k, p) in &points {
                    handles[k].log(p.step, p.value)?;
                }
            }
            "key-now" => {
                for &(k, p) in &points {
                    run.log_metric(W1_KEYS[k], p.step, p.value)?;
                }
            }
            other => return Err(format!("unknown mode {other}").into()),
        }
        drop(handles);
        run.finish(RunStatus::Finished)?;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{mode}: {} points in {secs:.3} s = {:.1} M points/s",
        points.len(),
        points.len() as f64 / secs / 1e6
    );
    Ok(())
}
