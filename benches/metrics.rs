//! Criterion benches of the metric store on the reference workload W1
//! (`shared/bench/WORKLOADS.md`): ingest per point and in batches, Q1, Q2, Q3, Q5 and Q7.
//!
//! `cargo bench --bench metrics` runs them all on the full W1 (10 M points);
//! `RUNLOG_BENCH_STEPS=100000` shrinks W1 for a quick look, `RUNLOG_BENCH_Q7_X10=0` skips
//! building the 10 × W1 store for Q7.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use runlog::{Axis, MetricStore, Point, Points, RunWriter, SeriesId, WriterOptions};
use runlog_workloads::{T0_MS, W1, W1_KEYS, W1Columns};

fn steps() -> u64 {
    std::env::var("RUNLOG_BENCH_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(runlog_workloads::W1_STEPS)
}

/// W1 as a flat, pre-generated list, so that generation is not timed.
fn w1_points(steps: u64) -> Vec<(usize, Point)> {
    W1::new(steps)
        .map(|p| (p.key, Point::new(p.step, p.timestamp_ms, p.value)))
        .collect()
}

/// Writes W1 (or `copies` × W1, steps continuing) into a store at `root` through the batch API.
fn build_store(root: &Path, steps: u64, copies: u64) {
    let store = MetricStore::open(root).unwrap();
    let w = store.writer("w1", WriterOptions::default()).unwrap();
    let ids: Vec<_> = W1_KEYS.iter().map(|k| w.series(k).unwrap()).collect();
    let mut batch: Vec<Vec<Point>> = vec![Vec::with_capacity(4096); W1_KEYS.len()];
    for copy in 0..copies {
        let offset = (copy * steps) as i64;
        for p in W1::new(steps) {
            let step = p.step + offset;
            let ts = p.timestamp_ms + (offset as f64 * 3.7) as i64;
            batch[p.key].push(Point::new(step, ts, p.value));
            if batch[p.key].len() == 4096 {
                w.append_batch(ids[p.key], &batch[p.key]).unwrap();
                batch[p.key].clear();
            }
        }
    }
    for (k, b) in batch.iter().enumerate() {
        w.append_batch(ids[k], b).unwrap();
    }
    w.close().unwrap();
}

/// Times `iters` ingests into fresh stores, from opening the writer to a durable close
/// (flush + fdatasync + seal).
fn time_ingest(iters: u64, mut log: impl FnMut(&RunWriter, &[SeriesId])) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let dir = tempfile::tempdir().unwrap();
        let store = MetricStore::open(dir.path()).unwrap();
        let t = Instant::now();
        let w = store.writer("w1", WriterOptions::default()).unwrap();
        let ids: Vec<_> = W1_KEYS.iter().map(|k| w.series(k).unwrap()).collect();
        log(&w, &ids);
        w.close().unwrap();
        total += t.elapsed();
    }
    total
}

fn ingest(c: &mut Criterion) {
    let steps = steps();
    let points = w1_points(steps);
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
    let mut g = c.benchmark_group("w1_ingest");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(points.len() as u64));
    g.bench_function("per_point", |b| {
        b.iter_custom(|iters| {
            time_ingest(iters, |w, ids| {
                for &(k, p) in &points {
                    w.append(ids[k], p).unwrap();
                }
            })
        })
    });
    g.bench_function("batch", |b| {
        b.iter_custom(|iters| {
            // Points arrive step by step; a trainer hands them over 4096 steps at a time.
            time_ingest(iters, |w, ids| {
                for start in (0..steps as usize).step_by(4096) {
                    for (k, pts) in per_key.iter().enumerate() {
                        let end = (start + 4096).min(pts.len());
                        w.append_batch(ids[k], &pts[start..end]).unwrap();
                    }
                }
            })
        })
    });
    g.finish();
}

fn queries(c: &mut Criterion) {
    let steps = steps();
    let dir = tempfile::tempdir().unwrap();
    build_store(dir.path(), steps, 1);
    let store = MetricStore::open(dir.path()).unwrap();
    let reader = store.reader("w1").unwrap();
    let mid = (steps / 2) as i64;

    let mut g = c.benchmark_group("w1_queries");
    g.throughput(Throughput::Elements(steps));
    g.bench_function("q1_history", |b| {
        b.iter(|| black_box(reader.history("train/loss").unwrap()))
    });
    let mut buf = Points::default();
    g.bench_function("q1_history_into", |b| {
        b.iter(|| {
            reader.history_into("train/loss", &mut buf).unwrap();
            black_box(buf.len())
        })
    });
    g.throughput(Throughput::Elements(1000));
    g.bench_function("q2_step_window", |b| {
        b.iter(|| {
            let w = reader.step_window("train/loss", mid, mid + 1000).unwrap();
            assert_eq!(w.len(), 1000);
            black_box(w)
        })
    });
    // The clock model of W1: step s is logged at T0 + floor(3.7 s) + (0..=2).
    let t_lo = T0_MS + (mid as f64 * 3.7).floor() as i64 + 3;
    let t_hi = t_lo + 3_700;
    g.bench_function("q3_time_window", |b| {
        b.iter(|| black_box(reader.time_window("train/loss", t_lo, t_hi).unwrap()))
    });
    g.throughput(Throughput::Elements(steps));
    g.bench_function("q5_downsample_1000", |b| {
        b.iter(|| {
            let d = reader
                .downsample("train/loss", Axis::Step, 1000, None)
                .unwrap();
            assert_eq!(d.len(), 1000.min(steps as usize));
            black_box(d)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("q7_open_then_q2");
    g.bench_function("w1", |b| {
        b.iter(|| {
            let r = MetricStore::open(dir.path()).unwrap().reader("w1").unwrap();
            black_box(r.step_window("train/loss", mid, mid + 1000).unwrap())
        })
    });
    if std::env::var("RUNLOG_BENCH_Q7_X10").as_deref() != Ok("0") {
        let big = tempfile::tempdir().unwrap();
        build_store(big.path(), steps, 10);
        g.bench_function("w1_x10", |b| {
            b.iter_batched(
                || (),
                |()| {
                    let r = MetricStore::open(big.path()).unwrap().reader("w1").unwrap();
                    black_box(r.step_window("train/loss", mid, mid + 1000).unwrap())
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, queries, ingest);
criterion_main!(benches);
