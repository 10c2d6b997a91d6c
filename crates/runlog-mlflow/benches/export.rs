//! Export speed on W1 (one run, 10 keys × 1 000 000 steps = 10 M points): a fresh export
//! into an empty folder, and an incremental export that finds everything already there; and
//! on a W2 sweep (10 experiments × 100 runs here, each 20 params, 5 tags, 5 metrics × 1 000
//! steps): many small files.
//!
//! `cargo bench -p runlog-mlflow --bench export`; `RUNLOG_BENCH_W1_STEPS` shrinks W1,
//! `RUNLOG_BENCH_W2_RUNS` sets the runs per W2 experiment.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use runlog::{NewRun, RunStatus, Store};
use runlog_mlflow::{ExportOptions, export};
use runlog_workloads::{W1, W1_KEYS, W1_STEPS};

#[path = "../../../examples/support/w2.rs"]
mod w2_support;

fn w1_store(dir: &std::path::Path, steps: u64) -> Store {
    let store = Store::open(dir.join("store")).unwrap();
    let exp = store.set_experiment("w1").unwrap();
    let run = store
        .start_run(NewRun::in_experiment(&exp.experiment_id).name("w1"))
        .unwrap();
    let metrics: Vec<_> = W1_KEYS.iter().map(|k| run.metric(k).unwrap()).collect();
    for p in W1::new(steps) {
        metrics[p.key]
            .log_at(p.step, p.timestamp_ms, p.value)
            .unwrap();
    }
    run.finish(RunStatus::Finished).unwrap();
    store
}

fn bench(c: &mut Criterion) {
    let steps = std::env::var("RUNLOG_BENCH_W1_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(W1_STEPS);
    let dir = tempfile::tempdir().unwrap();
    let store = w1_store(dir.path(), steps);
    let points = steps * W1_KEYS.len() as u64;
    let mut g = c.benchmark_group("mlflow_export");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(points));
    let mut n = 0;
    g.bench_function("w1_fresh", |b| {
        b.iter(|| {
            n += 1;
            let target = dir.path().join(format!("mlruns-{n}"));
            let report = export(
                store.catalog(),
                store.metric_store(),
                &target,
                &ExportOptions::default(),
            )
            .unwrap();
            assert_eq!(report.metric_points, points);
            std::fs::remove_dir_all(&target).unwrap();
        })
    });
    let target = dir.path().join("mlruns-again");
    export(
        store.catalog(),
        store.metric_store(),
        &target,
        &ExportOptions::default(),
    )
    .unwrap();
    g.bench_function("w1_unchanged", |b| {
        b.iter(|| {
            let report = export(
                store.catalog(),
                store.metric_store(),
                &target,
                &ExportOptions::default(),
            )
            .unwrap();
            assert_eq!(report.metric_points, 0);
        })
    });
    g.finish();
}

fn w2(c: &mut Criterion) {
    let per_exp: usize = std::env::var("RUNLOG_BENCH_W2_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    w2_support::build_w2(&store, runlog_workloads::W2_EXPERIMENTS, per_exp);
    let runs = (runlog_workloads::W2_EXPERIMENTS * per_exp) as u64;
    let mut g = c.benchmark_group("mlflow_export");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(runs));
    let mut n = 0;
    g.bench_function("w2_fresh_runs", |b| {
        b.iter(|| {
            n += 1;
            let target = dir.path().join(format!("mlruns-{n}"));
            let report = export(
                store.catalog(),
                store.metric_store(),
                &target,
                &ExportOptions::default(),
            )
            .unwrap();
            assert_eq!(report.runs, runs);
            // Kept until the end: removing 32 000 files right before creating as many
            // again sends ext4's inode allocator scanning recently freed inodes, an 8-fold
            // slowdown no real export meets.
        })
    });
    g.finish();
}

criterion_group!(benches, bench, w2);
criterion_main!(benches);
