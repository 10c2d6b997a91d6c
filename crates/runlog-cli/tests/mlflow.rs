//! `runlog export mlflow` and `runlog import mlflow`, end to end: a round trip into a second
//! store keeps the counts, `--watch` prints one line per pass.

use std::path::Path;
use std::process::{Command, Output};

use runlog::{RunStatus, Store, ViewType};

fn runlog(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runlog"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Two experiments, three runs with params, tags and metrics.
fn build(dir: &Path) {
    let store = Store::open(dir).unwrap();
    for (exp, runs) in [("vision", 2), ("text", 1)] {
        let e = store.experiment(exp).unwrap();
        for r in 0..runs {
            let run = e.start_run(&format!("{exp}-{r}")).unwrap();
            run.log_param("lr", 0.001 * (r + 1) as f64).unwrap();
            run.set_tag("team", "a").unwrap();
            for step in 0..500 {
                run.log_metrics(step, &[("loss", 1.0 / (step + 1) as f64), ("acc", 0.5)])
                    .unwrap();
            }
            run.finish(RunStatus::Finished).unwrap();
        }
    }
}

fn counts(dir: &Path) -> (usize, usize, u64) {
    let store = Store::open_read_only(dir).unwrap();
    let exps = store.catalog().list_experiments(ViewType::All).unwrap();
    let ids: Vec<&str> = exps.iter().map(|e| e.experiment_id.as_str()).collect();
    let runs = store.catalog().list_runs(&ids, ViewType::All).unwrap();
    let mut points = 0;
    for r in &runs {
        let reader = store.reader(&r.run_id).unwrap();
        for (_, k) in reader.series() {
            points += reader.history(&k).unwrap().len() as u64;
        }
    }
    (exps.len(), runs.len(), points)
}

/// A store `a` built and exported to `mlruns` (whose output is returned), and the path of a
/// second store `b`, all in a new temporary folder.
fn exported() -> (tempfile::TempDir, [std::path::PathBuf; 3], Output) {
    let tmp = tempfile::tempdir().unwrap();
    let [a, b, mlruns] = ["a", "b", "mlruns"].map(|n| tmp.path().join(n));
    build(&a);
    let out = runlog(&a, &["export", "mlflow", mlruns.to_str().unwrap()]);
    (tmp, [a, b, mlruns], out)
}

#[test]
fn export_then_import_round_trips() {
    let (_tmp, [a, b, mlruns], out) = exported();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("runs                   3"), "{stdout}");
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));

    let out = runlog(&b, &["import", "mlflow", mlruns.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("runs               3"), "{stdout}");
    assert!(stdout.contains("problems: 0"), "{stdout}");
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    // The default experiment is in both stores.
    assert_eq!(counts(&a), counts(&b));
    assert_eq!(counts(&b).1, 3);
    assert_eq!(counts(&b).2, 3000);
}

#[test]
fn export_of_one_experiment_and_unknown_experiment() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, mlruns) = (tmp.path().join("a"), tmp.path().join("mlruns"));
    build(&a);
    let out = runlog(
        &a,
        &["export", "mlflow", mlruns.to_str().unwrap(), "-e", "text"],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("runs                   1"), "{stdout}");
    let out = runlog(
        &a,
        &["export", "mlflow", mlruns.to_str().unwrap(), "-e", "visoin"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("no experiment \"visoin\"") && err.contains("vision"),
        "{err}"
    );
}

/// A folder that is not an export, and a file, are refused untouched, each with advice that
/// fits it.
#[test]
fn export_refuses_a_foreign_folder_or_a_file_and_says_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    build(&a);
    let full = tmp.path().join("photos");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("cat.jpg"), b"meow").unwrap();
    let out = runlog(&a, &["export", "mlflow", full.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("is not empty") && err.contains("hint: give a new or empty folder"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&full).unwrap().count(), 1);

    let file = tmp.path().join("notes.txt");
    std::fs::write(&file, b"mine").unwrap();
    let out = runlog(&a, &["export", "mlflow", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("is a file, not a folder") && !err.contains("earlier `runlog export"),
        "{err}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"mine");
}

/// The wrong folder (one experiment's, one run's, or one with nothing of MLflow's) is refused
/// before the store is touched, naming the folder to give instead.
#[test]
fn import_of_the_wrong_folder_names_the_right_one() {
    let (tmp, [_, b, mlruns], out) = exported();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let exp_dir = std::fs::read_dir(&mlruns)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("meta.yaml").is_file() && p.file_name().unwrap() != "0")
        .unwrap();
    let run_dir = std::fs::read_dir(&exp_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("meta.yaml").is_file())
        .unwrap();
    let hint = format!(
        "hint: give the mlruns folder that holds it: runlog import mlflow {}",
        mlruns.display()
    );
    for (dir, what) in [
        (&exp_dir, "one experiment's folder"),
        (&run_dir, "one run's folder"),
    ] {
        let out = runlog(&b, &["import", "mlflow", dir.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        assert!(err.contains(what) && err.contains(&hint), "{err}");
    }
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), b"x").unwrap();
    let out = runlog(&b, &["import", "mlflow", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("holds no MLflow experiment"), "{err}");
    assert!(!b.exists(), "no store is made for nothing to import");
}

#[test]
fn import_lists_problems_and_exits_0_or_1_with_stop_on_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, mlruns) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("mlruns"),
    );
    build(&a);
    assert!(
        runlog(&a, &["export", "mlflow", mlruns.to_str().unwrap()])
            .status
            .success()
    );
    // Damage one run's meta.yaml.
    let meta = walk(&mlruns)
        .into_iter()
        .find(|p| {
            p.file_name().is_some_and(|n| n == "meta.yaml")
                && p.parent().unwrap().join("metrics").is_dir()
        })
        .unwrap();
    std::fs::write(&meta, "{{{ not yaml").unwrap();
    let out = runlog(&b, &["import", "mlflow", mlruns.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("runs               2"), "{stdout}");
    assert!(stdout.contains("problems: 1"), "{stdout}");
    assert!(
        stdout.contains(meta.parent().unwrap().to_str().unwrap()),
        "{stdout}"
    );

    let c = tmp.path().join("c");
    let out = runlog(
        &c,
        &[
            "import",
            "mlflow",
            mlruns.to_str().unwrap(),
            "--stop-on-error",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("import stopped at"),
        "{}",
        text(&out.stderr)
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn watch_prints_one_line_per_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, mlruns) = (tmp.path().join("a"), tmp.path().join("mlruns"));
    build(&a);
    let out = runlog(
        &a,
        &[
            "export",
            "mlflow",
            mlruns.to_str().unwrap(),
            "--watch",
            "--interval",
            "0.2",
            "--passes",
            "2",
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("pass 1: ") && lines[0].contains("files written"),
        "{stdout}"
    );
    assert_eq!(lines[1], "pass 2: nothing changed (3 runs)", "{stdout}");
}

#[test]
fn watch_sees_new_points_between_passes() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, mlruns) = (tmp.path().join("a"), tmp.path().join("mlruns"));
    build(&a);
    let mut child = Command::new(env!("CARGO_BIN_EXE_runlog"))
        .arg("--store")
        .arg(&a)
        .args([
            "export",
            "mlflow",
            mlruns.to_str().unwrap(),
            "--watch",
            "--interval",
            "0.3",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("pass 1: "), "{first}");
    {
        let store = Store::open(&a).unwrap();
        let run = store.experiment("text").unwrap().start_run("late").unwrap();
        run.log_metric("loss", 0, 1.0).unwrap();
        run.finish(RunStatus::Finished).unwrap();
    }
    let mut changed = None;
    for _ in 0..20 {
        let l = lines.next().unwrap().unwrap();
        if l.contains("(4 runs)") && l.contains("1 new metric points") {
            changed = Some(l);
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    changed.expect("a pass saw the new run and its point");
}

#[test]
fn export_and_import_report_as_json_and_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, mlruns) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("mlruns"),
    );
    build(&a);
    let dir = mlruns.to_str().unwrap();
    let out = runlog(&a, &["--format", "json", "export", "mlflow", dir]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["runs"], 3);
    assert_eq!(report["metric_points"], 3000);
    assert_eq!(report["dir"], dir);

    // --watch: one JSON object per line and pass; CSV: one header, a row per pass.
    let watch = [
        "export",
        "mlflow",
        dir,
        "--watch",
        "--interval",
        "0.1",
        "--passes",
        "2",
    ];
    let out = runlog(&a, &[&["--format", "json"][..], &watch[..]].concat());
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[0]["pass"].clone(), lines[1]["pass"].clone()),
        (1.into(), 2.into())
    );
    assert_eq!(lines[1]["files"], 0, "nothing changed: {:?}", lines[1]);
    assert_eq!(lines[1]["metric_points_kept"], 3000);
    let out = runlog(&a, &[&["--format", "csv"][..], &watch[..]].concat());
    let csv = text(&out.stdout);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(rows[0].starts_with("pass,experiments,runs,"), "{csv}");
    assert!(
        rows[1].starts_with("1,") && rows[2].starts_with("2,"),
        "{csv}"
    );

    let out = runlog(&b, &["--format", "json", "import", "mlflow", dir]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["runs"], 3);
    assert_eq!(report["metric_points"], 3000);
    assert_eq!(report["problems"], serde_json::json!([]));
}
