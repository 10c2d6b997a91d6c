//! Times one export of W1 (10 M points) or a W2 sweep into a fresh folder, as a user runs it
//! once, an export that finds nothing changed, and the import of the export into a new store.
//!
//! `cargo run --release -p runlog-mlflow --example export_probe -- w1|w2 [runs per
//! experiment] [dir]`. The criterion bench (`benches/export.rs`) repeats exports; this one
//! shows single ones, on a file system that has not just deleted the previous export.

use std::time::Instant;

use runlog::{NewRun, RunStatus, Store};
use runlog_mlflow::{ExportOptions, export};
use runlog_workloads::{W1, W1_KEYS, W1_STEPS};

#[path = "../../../examples/support/w2.rs"]
mod w2_support;

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "w1".into());
    let per_exp: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let base = args.next().map(std::path::PathBuf::from);
    let dir = match &base {
        Some(b) => tempfile::tempdir_in(b).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let store = Store::open(dir.path().join("store")).unwrap();
    let t = Instant::now();
    let (points, runs) = if which == "w1" {
        let exp = store.set_experiment("w1").unwrap();
        let run = store
            .start_run(NewRun::in_experiment(&exp.experiment_id).name("w1"))
            .unwrap();
        let metrics: Vec<_> = W1_KEYS.iter().map(|k| run.metric(k).unwrap()).collect();
        for p in W1::new(W1_STEPS) {
            metrics[p.key]
                .log_at(p.step, p.timestamp_ms, p.value)
                .unwrap();
        }
        run.finish(RunStatus::Finished).unwrap();
        (W1_STEPS * W1_KEYS.len() as u64, 1)
    } else {
        w2_support::build_w2(&store, runlog_workloads::W2_EXPERIMENTS, per_exp);
        let runs = runlog_workloads::W2_EXPERIMENTS * per_exp;
        (runs as u64 * 5 * 1000, runs)
    };
    eprintln!("built {which} in {:.1} s", t.elapsed().as_secs_f64());
    for (i, options) in [ExportOptions::default(), ExportOptions::default()]
        .into_iter()
        .enumerate()
    {
        let target = dir.path().join("mlruns");
        let t = Instant::now();
        let report = export(store.catalog(), store.metric_store(), &target, &options).unwrap();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{which} export {}: {secs:.2} s, {} runs ({:.0} runs/s), {} points written ({:.2} M points/s of the {points}), {} files",
            if i == 0 {
                "fresh"
            } else {
                "again, nothing changed"
            },
            report.runs,
            runs as f64 / secs,
            report.metric_points,
            points as f64 / secs / 1e6,
            report.files,
        );
    }
    // And back: the export imported into a new store.
    let back = Store::open(dir.path().join("back")).unwrap();
    let t = Instant::now();
    let report = runlog_mlflow::import(
        &dir.path().join("mlruns"),
        back.catalog(),
        back.metric_store(),
        &runlog_mlflow::ImportOptions::default(),
    )
    .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    println!(
        "{which} import: {secs:.2} s, {} runs ({:.0} runs/s), {} points ({:.2} M points/s)",
        report.runs,
        report.runs as f64 / secs,
        report.metric_points,
        report.metric_points as f64 / secs / 1e6,
    );
}
