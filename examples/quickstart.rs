//! The README's demo: a simulated training run (the reference workload W1: 10 metrics logged
//! at every step) with its params and tags is logged into an embedded store, in experiment
//! `quickstart`; then the latest values, a step window, a downsampled loss curve and a run
//! search are printed, the store is exported as an MLflow file store next to it
//! (`<STORE_DIR>-mlruns`, which `mlflow ui` opens), and the `runlog` command-line tool lists
//! the runs, shows this one and plots its loss and accuracy (`<STORE_DIR>-loss.png`).
//!
//! `cargo run --release --example quickstart -- [STORE_DIR] [STEPS]`
//! (defaults: `./runlog-demo`, 1 000 000 steps = 10 M points). Run it twice: the search then
//! finds both runs, and the export only writes what is new.

use std::time::Instant;

use runlog::{Axis, NewRun, RunStatus, Store};
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
    let store = Store::open(&dir)?;
    let exp = store.experiment("quickstart")?;

    // 1. Train: a run with its hyperparameters, every metric logged at every step.
    let started = Instant::now();
    let run = exp.start_run_with(
        NewRun::default()
            .name(format!("w1-{steps}-steps"))
            .param("lr", 0.001)
            .param("batch_size", 64)
            .param("optimizer", "adam")
            .param("steps", steps)
            .tag("model", "resnet18")
            .tag("dataset", "cifar10"),
    )?;
    let metrics: Vec<_> = W1_KEYS
        .iter()
        .map(|k| run.metric(k))
        .collect::<Result<_, _>>()?;
    let mut points = 0u64;
    for p in W1::new(steps) {
        metrics[p.key].log_at(p.step, p.timestamp_ms, p.value)?;
        points += 1;
    }
    let run_id = run.id().to_string();
    run.finish(RunStatus::Finished)?; // flush (one fdatasync), seal, record in the catalog
    let secs = started.elapsed().as_secs_f64();
    let bytes: u64 = std::fs::read_dir(store.path().join("runs").join(&run_id))?
        .map(|e| e.and_then(|e| e.metadata()).map(|m| m.len()).unwrap_or(0))
        .sum();
    println!(
        "logged {points} points of run {run_id} (experiment {:?}) into {dir}/ in {secs:.2} s",
        exp.info().name
    );
    println!(
        "  ({:.1} M points/s, including generating them; {:.2} bytes/point on disk)\n",
        points as f64 / secs / 1e6,
        bytes as f64 / points as f64
    );

    // 2. Analyse: what the catalog knows about the run (no metric data read) ...
    let info = store.get_run(&run_id)?;
    println!(
        "run {:?}: {}, params {:?}",
        info.run_name, info.status, info.params
    );
    println!("latest values (MLflow's rule: highest step, then time, then value):");
    for (key, m) in &info.metrics {
        println!("  {key:<20} {:>12.6} at step {}", m.value, m.step);
    }

    // ... and its metric data: a step window and a downsampled curve.
    let reader = store.reader(&run_id)?;
    let mid = (steps / 2) as i64;
    let window = reader.step_window("train/loss", mid, mid + 3)?;
    println!("\ntrain/loss, steps {mid}..{}:", mid + 3);
    for p in window.iter() {
        println!("  step {:>8}  t={}  {:.6}", p.step, p.timestamp_ms, p.value);
    }
    let curve = reader.downsample("train/loss", Axis::Step, 20, None)?;
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

    // 3. Search, with MLflow's filter language.
    let filter = "metrics.`train/acc` > 0.3 AND params.optimizer = 'adam'";
    let found = exp.search_runs(filter, &["metrics.`train/loss` ASC"], 10)?;
    println!("\nsearch_runs({filter:?}, order by train/loss):");
    println!(
        "  {:<32}  {:<22}  {:<9}  {:>10}  {:>10}",
        "run_id", "name", "status", "train/acc", "train/loss"
    );
    for r in &found {
        println!(
            "  {:<32}  {:<22}  {:<9}  {:>10.4}  {:>10.4}",
            r.run_id,
            r.run_name,
            r.status.as_str(),
            r.metrics.get("train/acc").map_or(f64::NAN, |m| m.value),
            r.metrics.get("train/loss").map_or(f64::NAN, |m| m.value),
        );
    }

    // 4. Export everything as an MLflow file store; run the demo again and only the new run
    //    and what changed are written.
    let mlruns = format!("{dir}-mlruns");
    let started = Instant::now();
    let report = runlog_mlflow::export(
        store.catalog(),
        store.metric_store(),
        std::path::Path::new(&mlruns),
        &runlog_mlflow::ExportOptions::default(),
    )?;
    println!(
        "
exported to {mlruns}/ for MLflow in {:.2} s: {} runs, {} metric points written ({} already there), {} files written, {} unchanged",
        started.elapsed().as_secs_f64(),
        report.runs,
        report.metric_points,
        report.metric_points_kept,
        report.files,
        report.files_unchanged,
    );
    let abs = std::path::absolute(&mlruns)?;
    println!(
        "  open it with: MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri file://{}",
        abs.display()
    );

    // 5. The same store from the command line, while it could still be training: the
    //    `runlog` tool (`cargo install --path crates/runlog-cli`), run here in process.
    let plot = format!("{dir}-loss.png");
    let loss = format!("{run_id}:train/loss");
    let acc = format!("{run_id}:train/acc");
    let commands: [&[&str]; 3] = [
        &[
            "runs",
            "--experiment",
            "quickstart",
            "--metric",
            "train/loss",
            "--metric",
            "train/acc",
        ],
        &["show", &run_id[..8]],
        &["plot", &loss, &acc, "--out", &plot],
    ];
    for args in commands {
        println!("\n$ runlog --store {dir} {}", args.join(" "));
        let argv = ["runlog", "--store", &dir]
            .into_iter()
            .chain(args.iter().copied());
        if runlog_cli::run(argv) != std::process::ExitCode::SUCCESS {
            return Err(format!("runlog {} failed", args.join(" ")).into());
        }
    }
    Ok(())
}
