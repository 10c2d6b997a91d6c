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
use runlog_workloads::{W1, W1_KEYS, W2, W2_METRICS};

#[path = "../examples/support/w2.rs"]
mod w2_support;
use w2_support::{build_w2, log_w2_runs};

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

fn w2(c: &mut Criterion) {
    let per_exp = env_u64("RUNLOG_BENCH_W2_RUNS", 1_000) as usize;

    // Building: runs/s of one trainer process logging W2 runs one after the other.
    let build_runs = 100.min(per_exp);
    let mut g = c.benchmark_group("w2_build");
    g.sample_size(10);
    g.throughput(Throughput::Elements(build_runs as u64));
    g.bench_function("runs_20_params_5_tags_5x1000_points", |b| {
        b.iter_custom(|iters| {
            let w2 = W2::new(1, build_runs);
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let store = Store::open(dir.path()).unwrap();
                let exp = store.set_experiment(&W2::experiment_name(0)).unwrap();
                let t = Instant::now();
                log_w2_runs(&store, &w2, 0, &exp.experiment_id, 0..build_runs);
                total += t.elapsed();
            }
            total
        })
    });
    g.finish();

    // The whole sweep, once, for the queries.
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let ids = {
        let store = Store::open(dir.path()).unwrap();
        build_w2(&store, runlog_workloads::W2_EXPERIMENTS, per_exp)
    };
    let n = runlog_workloads::W2_EXPERIMENTS * per_exp;
    eprintln!(
        "built W2 ({n} runs) in {:.1} s with 2 threads: {:.0} runs/s",
        t.elapsed().as_secs_f64(),
        n as f64 / t.elapsed().as_secs_f64()
    );
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();

    let q4 = |catalog: &Catalog| {
        let latest = catalog.latest_metrics(&id_refs, &W2_METRICS).unwrap();
        assert_eq!(latest.len(), n);
        let mut sum = 0.0;
        for (_, values) in &latest {
            for m in values {
                sum += m.expect("every W2 run has its 5 metrics").value;
            }
        }
        sum
    };
    let q6_filter = "metrics.`val/acc` > 0.9 and params.optimizer = 'adam'";
    let q6 = |catalog: &Catalog| {
        let page = catalog
            .search_runs(
                &id_refs,
                Some(q6_filter),
                ViewType::ActiveOnly,
                &["metrics.`val/acc` DESC"],
                100,
                None,
            )
            .unwrap();
        assert!(!page.runs.is_empty());
        page.runs.len()
    };
    let warm = Catalog::open(dir.path()).unwrap();
    let hits = warm
        .search_runs(
            &id_refs,
            Some(q6_filter),
            ViewType::ActiveOnly,
            &[],
            50_000,
            None,
        )
        .unwrap()
        .runs
        .len();
    eprintln!("Q6 matches {hits} of {n} runs");
    let mut g = c.benchmark_group("w2_queries");
    g.sample_size(20);
    g.bench_function("q4_latest_5_metrics_all_runs_warm", |b| {
        b.iter(|| black_box(q4(&warm)))
    });
    g.bench_function("q4_latest_5_metrics_all_runs_cold", |b| {
        b.iter(|| black_box(q4(&Catalog::open(dir.path()).unwrap())))
    });
    g.bench_function("q6_filter_order_first_100_warm", |b| {
        b.iter(|| black_box(q6(&warm)))
    });
    g.bench_function("q6_filter_order_first_100_cold", |b| {
        b.iter(|| black_box(q6(&Catalog::open(dir.path()).unwrap())))
    });
    g.finish();
}

criterion_group!(benches, facade_ingest, w2);
criterion_main!(benches);
