//! Criterion benches of the facade and the catalog: `Run::log_metric` on W1 with a string key
//! and through a pre-resolved handle; building W2 (runs/s with 20 params and 5 tags each);
//! Q4 (latest values of the 5 metrics of all W2 runs) and Q6 (a filtered, ordered search
//! over W2), each warm (the catalog's cache current) and cold (a fresh catalog handle).
//!
//! `cargo bench --bench catalog` runs everything at full size (W1 = 10 M points, W2 = 10 000
//! runs; building W2 takes a few minutes). `RUNLOG_BENCH_STEPS` shrinks W1 and
//! `RUNLOG_BENCH_W2_RUNS` (runs per experiment, default 1 000) shrinks W2.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use runlog::catalog::Catalog;
use runlog::{NewRun, Point, RunStatus, Store, ViewType};
use runlog_workloads::{W1, W1_KEYS};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Times `iters` runs logging W1 into fresh stores, from starting the run to a durable finish.
fn time_runs(iters: u64, mut log: impl FnMut(&runlog::Run)) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let t = Instant::now();
        let run = store.start_run(NewRun::default().name("w1")).unwrap();
        log(&run);
        run.finish(RunStatus::Finished).unwrap();
        total += t.elapsed();
    }
    total
}

fn facade_ingest(c: &mut Criterion) {
    let steps = env_u64("RUNLOG_BENCH_STEPS", runlog_workloads::W1_STEPS);
    let points: Vec<(usize, Point)> = W1::new(steps)
        .map(|p| (p.key, Point::new(p.step, p.timestamp_ms, p.value)))
        .collect();
    let mut g = c.benchmark_group("facade_w1_ingest");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(points.len() as u64));
    g.bench_function("log_metric_at_string_key", |b| {
        b.iter_custom(|iters| {
            time_runs(iters, |run| {
                for &(k, p) in &points {
                    run.log_metric_at(W1_KEYS[k], p.step, p.timestamp_ms, p.value)
                        .unwrap();
                }
            })
        })
    });
    g.bench_function("handle_log_at", |b| {
        b.iter_custom(|iters| {
            time_runs(iters, |run| {
                let handles: Vec<_> = W1_KEYS.iter().map(|k| run.metric(k).unwrap()).collect();
                for &(k, p) in &points {
                    handles[k].log_at(p.step, p.timestamp_ms, p.value).unwrap();
                }
            })
        })
    });
    // The same with the wall clock read for every point (timestamps = now).
    g.bench_function("log_metric_string_key_now", |b| {
        b.iter_custom(|iters| {
            time_runs(iters, |run| {
                for &(k, p) in &points {
                    run.log_metric(W1_KEYS[k], p.step, p.value).unwrap();
                }
            })
        })
    });
    g.bench_function("handle_log_now", |b| {
        b.iter_custom(|iters| {
            time_runs(iters, |run| {
                let handles: Vec<_> = W1_KEYS.iter().map(|k| run.metric(k).unwrap()).collect();
                for &(k, p) in &points {
                    handles[k].log(p.step, p.value).unwrap();
                }
            })
        })
    });
    g.finish();
}

criterion_group!(benches, facade_ingest);
criterion_main!(benches);
