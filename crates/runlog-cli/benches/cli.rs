//! Criterion benches of whole `runlog` commands on the reference sweep W2 (10 experiments ×
//! 1 000 runs, each with 20 params, 5 tags and 5 metrics × 1 000 steps): each sample starts
//! the binary as a user would, which opens the store read-only, answers and exits, so the
//! figures are what a user waits for (process start included).
//!
//! `cargo bench -p runlog-cli --bench cli` builds W2 into a temporary folder first (a minute
//! or two). `RUNLOG_BENCH_W2_RUNS` (runs per experiment, default 1 000) shrinks it;
//! `RUNLOG_BENCH_CLI_STORE=DIR` keeps the store in DIR (built there if DIR has no catalog
//! yet) so that later runs skip building it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use runlog::{Store, ViewType};

#[path = "../../../examples/support/w2.rs"]
mod w2_support;

/// The W2 store: its folder, and the temporary folder that holds it (if any).
fn w2_store() -> (PathBuf, Option<tempfile::TempDir>) {
    let per_exp: usize = std::env::var("RUNLOG_BENCH_W2_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000);
    let (dir, tmp) = match std::env::var_os("RUNLOG_BENCH_CLI_STORE") {
        Some(d) => (PathBuf::from(d), None),
        None => {
            let t = tempfile::tempdir().unwrap();
            (t.path().join("w2"), Some(t))
        }
    };
    if !dir.join("catalog.redb").exists() {
        eprintln!(
            "building W2 ({per_exp} runs per experiment) in {}",
            dir.display()
        );
        let store = Store::open(&dir).unwrap();
        w2_support::build_w2(&store, runlog_workloads::W2_EXPERIMENTS, per_exp);
    }
    (dir, tmp)
}

/// Runs `runlog --store dir args...` and checks that it succeeded.
fn runlog(dir: &Path, args: &[&str]) {
    let status = Command::new(env!("CARGO_BIN_EXE_runlog"))
        .arg("--store")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "runlog {args:?} failed");
}

fn cli(c: &mut Criterion) {
    let (dir, _tmp) = w2_store();
    let (ids, names) = {
        let store = Store::open_read_only(&dir).unwrap();
        let exps = store.catalog().list_experiments(ViewType::All).unwrap();
        let exp_ids: Vec<&str> = exps.iter().map(|e| e.experiment_id.as_str()).collect();
        let page = store
            .catalog()
            .search_runs(&exp_ids, None, ViewType::ActiveOnly, &[], 3, None)
            .unwrap();
        let ids: Vec<String> = page.runs.iter().map(|r| r.run_id.clone()).collect();
        // A name held by one run only, so that `show NAME` resolves.
        let briefs = store.catalog().run_briefs().unwrap();
        let unique = page
            .runs
            .iter()
            .find(|r| briefs.iter().filter(|b| b.run_name == r.run_name).count() == 1)
            .map(|r| r.run_name.clone())
            .expect("a uniquely named run");
        (ids, unique)
    };
    let out = tempfile::tempdir().unwrap();
    let png = out.path().join("plot.png");
    let png = png.to_str().unwrap();
    let (a, b, d) = (ids[0].as_str(), ids[1].as_str(), ids[2].as_str());
    let acc_a = format!("{a}:val/acc");
    let acc_b = format!("{b}:val/acc");
    let q6 = [
        "runs",
        "--filter",
        "metrics.`val/acc` > 0.9 and params.optimizer = 'adam'",
        "--order-by",
        "metrics.`val/acc` DESC",
        "--limit",
        "100",
    ];
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("experiments", vec!["experiments"]),
        ("runs (first 100)", vec!["runs"]),
        ("runs Q6", q6.to_vec()),
        (
            "runs json",
            vec!["--format", "json", "runs", "--limit", "100"],
        ),
        ("show id", vec!["show", a]),
        ("show id prefix", vec!["show", &a[..8]]),
        ("show name", vec!["show", &names]),
        ("metrics", vec!["metrics", a, "val/acc"]),
        (
            "metrics downsample",
            vec!["metrics", a, "val/acc", "--downsample", "100"],
        ),
        ("compare 3 runs", vec!["compare", a, b, d]),
        (
            "plot 2 runs png",
            vec!["plot", &acc_a, &acc_b, "--out", png],
        ),
        ("models", vec!["models"]),
        ("stats", vec!["stats"]),
    ];
    let mut g = c.benchmark_group("cli_w2");
    g.sample_size(15);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(4));
    for (name, args) in &cases {
        g.bench_function(*name, |bench| bench.iter(|| runlog(&dir, args)));
    }
    g.finish();
}

criterion_group!(benches, cli);
criterion_main!(benches);
