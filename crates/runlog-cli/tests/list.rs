//! `runlog experiments` and `runlog runs`, end to end on a small store.

mod fixture;

use fixture::{build, golden, runlog};

#[test]
fn experiments_in_every_format() {
    let f = build();
    // Creation times are when the test ran.
    let norm = |s: String| fixture::normalise_times(&s);
    golden("experiments.txt", &norm(f.ok(&["experiments"])));
    golden(
        "experiments_all.csv",
        &norm(f.ok(&["--format", "csv", "experiments", "--all"])),
    );
    golden(
        "experiments_deleted.json",
        &norm(f.ok(&["--format", "json", "experiments", "--deleted"])),
    );
}

#[test]
fn runs_in_every_format() {
    let f = build();
    golden("runs.txt", &f.ok(&["runs"]));
    golden("runs.csv", &f.ok(&["--format", "csv", "runs"]));
    golden("runs.json", &f.ok(&["--format", "json", "runs"]));
    // JSON field names are stable.
    let (_, out, _) = f.run(&["--format", "json", "runs", "-e", "mnist"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let first = &v[0];
    for k in [
        "run_id",
        "run_name",
        "experiment_id",
        "status",
        "start_time",
        "end_time",
        "duration_ms",
        "params.lr",
        "metrics.loss",
    ] {
        assert!(first.get(k).is_some(), "{k} missing in {first}");
    }
}

#[test]
fn runs_filtered_ordered_limited_and_chosen_columns() {
    let f = build();
    golden(
        "runs_filter.txt",
        &f.ok(&[
            "runs",
            "--experiment",
            "mnist",
            "--filter",
            "params.optimizer = 'adam' and metrics.loss < 5",
            "--order-by",
            "metrics.loss DESC",
            "--param",
            "lr",
            "--metric",
            "loss",
        ]),
    );
    // Repeated --experiment and --order-by, --limit.
    let out = f.ok(&[
        "--format",
        "csv",
        "runs",
        "-e",
        "mnist",
        "-e",
        "2",
        "-o",
        "params.lr ASC",
        "-o",
        "attributes.run_name DESC",
        "--limit",
        "3",
        "--param",
        "lr",
        "--metric",
        "acc",
    ]);
    golden("runs_order_limit.csv", &out);
    assert_eq!(out.lines().count(), 4, "{out}");
}

#[test]
fn filter_errors_name_the_position() {
    let f = build();
    let err = f.fails(&["runs", "--filter", "metrics.loss <> 1"]);
    assert!(err.contains("position"), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    let err = f.fails(&["runs", "--order-by", "metrics.loss SIDEWAYS"]);
    assert!(err.starts_with("error: "), "{err}");
}

/// The line under the quoted text has its caret under the character at `pos`.
fn caret_points_at(err: &str, flag: &str, text: &str, at: &str) {
    let lines: Vec<&str> = err.lines().collect();
    let shown = lines
        .iter()
        .position(|l| l.trim_start().starts_with(flag))
        .unwrap_or_else(|| panic!("no {flag} line in {err}"));
    assert_eq!(lines[shown], format!("  {flag} {text:?}"), "{err}");
    let column = lines[shown + 1]
        .find('^')
        .unwrap_or_else(|| panic!("no caret in {err}"));
    // Columns are as a terminal draws them: the text may hold multi-byte and wide characters.
    let mut drawn = 0;
    let under: String = lines[shown]
        .chars()
        .skip_while(|c| {
            let before = drawn < column;
            drawn += unicode_width::UnicodeWidthChar::width(*c).unwrap_or(0);
            before
        })
        .collect();
    assert!(
        under.starts_with(at),
        "the caret is under {under:?}, not {at:?}:\n{err}"
    );
    assert!(lines.last().unwrap().starts_with("hint: "), "{err}");
}

#[test]
fn filter_and_order_errors_show_a_caret_under_the_mistake() {
    let f = build();
    let text = "metrics.loss < 1 and params.é = 3";
    let err = f.fails(&["runs", "--filter", text]);
    caret_points_at(&err, "--filter", text, "3\"");
    // Wide characters take two columns.
    let text = "tags.\"训练\" = 'a' and metrics.loss <> 1";
    let err = f.fails(&["runs", "--filter", text]);
    caret_points_at(&err, "--filter", text, "<> 1");
    let text = "metrics.loss >> 1";
    caret_points_at(&f.fails(&["runs", "-f", text]), "--filter", text, ">> 1");
    // The second of two orders is the wrong one: it is the one shown.
    let err = f.fails(&["runs", "-o", "metrics.loss", "-o", "params.lr SIDEWAYS"]);
    caret_points_at(&err, "--order-by", "params.lr SIDEWAYS", "SIDEWAYS");
    assert!(!err.contains("metrics.loss"), "{err}");
}

#[test]
fn a_reader_that_leaves_early_is_not_an_error() {
    let f = build();
    // The pipe's read end is closed before the command writes: every write fails with EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_runlog"))
        .args(["--store".as_ref(), f.path().as_os_str(), "runs".as_ref()])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn deleted_and_all() {
    let f = build();
    let deleted = f.ok(&["--format", "csv", "runs", "--deleted"]);
    assert!(deleted.contains("<discarded>"), "{deleted}");
    assert_eq!(deleted.lines().count(), 2, "{deleted}");
    let all = f.ok(&["--format", "csv", "runs", "--all"]);
    assert_eq!(all.lines().count(), 6, "{all}");
    assert!(all.lines().next().unwrap().contains("lifecycle_stage"));
    let active = f.ok(&["--format", "csv", "runs"]);
    assert_eq!(active.lines().count(), 5, "{active}");
    assert!(!active.contains("<discarded>"));
    let (code, _, _) = f.run(&["runs", "--all", "--deleted"]);
    assert_ne!(code, 0);
}

#[test]
fn unknown_experiment_suggests() {
    let f = build();
    let err = f.fails(&["runs", "-e", "mnits"]);
    assert!(err.contains("no experiment \"mnits\""), "{err}");
    assert!(err.contains("hint: did you mean \"mnist\" (id 1)"), "{err}");
}

#[test]
fn a_missing_store_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    let (code, _, err) = runlog(&missing, &["runs"]);
    assert_ne!(code, 0);
    assert!(err.contains("no store at"), "{err}");
    assert!(
        err.contains("--store") && err.contains("RUNLOG_STORE"),
        "{err}"
    );
    assert!(!missing.exists());
    // An empty folder is not a store either, and stays empty.
    let (code, _, err) = runlog(dir.path(), &["experiments"]);
    assert_ne!(code, 0);
    assert!(err.contains("not a runlog store"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn runs_while_a_trainer_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = runlog::Store::open(dir.path()).unwrap();
    let exp = store.set_experiment("live").unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let made = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = {
        let (store, stop, made) = (store.clone(), stop.clone(), made.clone());
        let exp = exp.experiment_id.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let run = store
                    .start_run(runlog::NewRun::in_experiment(&exp).param("i", n))
                    .unwrap();
                for s in 0..200 {
                    run.log_metric("loss", s, 1.0 / (1 + s) as f64).unwrap();
                    if s % 50 == 0 {
                        run.flush().unwrap();
                    }
                }
                run.finish(runlog::RunStatus::Finished).unwrap();
                n += 1;
                made.store(n, std::sync::atomic::Ordering::Relaxed);
            }
            n
        })
    };
    while made.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        std::thread::yield_now();
    }
    for _ in 0..5 {
        let (code, _, err) = runlog(dir.path(), &["--format", "csv", "runs", "-e", "live"]);
        assert_eq!(code, 0, "{err}");
    }
    let during = made.load(std::sync::atomic::Ordering::Relaxed);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let made = writer.join().unwrap();
    assert!(
        made > during,
        "the trainer wrote while runlog read: {during} then {made} runs"
    );
    let (code, out, err) = runlog(dir.path(), &["--format", "csv", "runs", "-e", "live"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), made + 1, "{out}");
}

#[test]
fn the_store_comes_from_runlog_store() {
    let f = build();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_runlog"))
        .args(["--format", "csv", "experiments"])
        .env("RUNLOG_STORE", f.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1,mnist,active,3,"));
    // Without either, ./runlog: missing here, and not created.
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_runlog"))
        .arg("runs")
        .current_dir(dir.path())
        .env_remove("RUNLOG_STORE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no store at runlog") && err.contains("RUNLOG_STORE"),
        "{err}"
    );
    assert!(!dir.path().join("runlog").exists());
}

#[test]
fn tables_show_first_the_keys_a_filter_and_order_name() {
    let f = build();
    // epochs is 10 in every mnist run: shown only because the filter names it.
    let out = f.ok(&[
        "runs",
        "-e",
        "mnist",
        "-f",
        "metrics.loss < 5 and params.epochs = '10'",
        "-o",
        "metrics.acc DESC",
    ]);
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    let at = |c: &str| {
        header
            .iter()
            .position(|h| *h == c)
            .unwrap_or_else(|| panic!("no column {c} in {header:?}"))
    };
    assert!(at("params.epochs") < at("params.lr"), "{header:?}");
    assert!(at("metrics.loss") < at("metrics.acc"), "{header:?}");
    // Without them: the params that differ, metrics in key order.
    let out = f.ok(&["runs", "-e", "mnist"]);
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert!(!header.contains(&"params.epochs"), "{header:?}");
    let metrics: Vec<&&str> = header
        .iter()
        .filter(|h| h.starts_with("metrics."))
        .collect();
    assert_eq!(metrics, [&"metrics.acc", &"metrics.loss"], "{header:?}");
}

#[test]
fn completion_scripts_name_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = runlog(dir.path(), &["completions", shell]);
        assert_eq!(code, 0, "{err}");
        for word in [
            "experiments",
            "runs",
            "show",
            "plot",
            "check",
            "store",
            "format",
        ] {
            assert!(out.contains(word), "{shell} completions lack {word}");
        }
    }
    // The bash script parses.
    let (_, script, _) = runlog(dir.path(), &["completions", "bash"]);
    let check = std::process::Command::new("bash")
        .args(["-n", "-c", &script])
        .status()
        .unwrap();
    assert!(check.success());
}
