//! `runlog show`, `runlog metrics` and `runlog compare`, end to end on a small store.

mod fixture;

use fixture::{build, golden};

#[test]
fn show_in_every_format() {
    let f = build();
    let id = f.id("baseline").to_string();
    golden("show.txt", &f.ok(&["show", &id]));
    golden("show.json", &f.ok(&["--format", "json", "show", &id]));
    golden("show.csv", &f.ok(&["--format", "csv", "show", &id]));
    // A run without metric data.
    golden("show_running.txt", &f.ok(&["show", f.id("sgd")]));
}

#[test]
fn runs_by_prefix_and_name() {
    let f = build();
    let id = f.id("resnet");
    let full = f.ok(&["--format", "json", "show", id]);
    assert_eq!(f.ok(&["--format", "json", "show", &id[..6]]), full);
    assert_eq!(
        f.ok(&["--format", "json", "show", &id.to_uppercase()[..6]]),
        full
    );
    assert_eq!(f.ok(&["--format", "json", "show", "resnet"]), full);
    // Deleted runs are shown too.
    let deleted = f.ok(&["--format", "json", "show", "discarded"]);
    assert!(
        deleted.contains("\"lifecycle_stage\": \"deleted\""),
        "{deleted}"
    );
}

#[test]
fn unknown_runs_suggest_close_matches() {
    let f = build();
    let err = f.fails(&["show", "basline"]);
    assert!(err.contains("no run \"basline\""), "{err}");
    assert!(err.contains("hint: did you mean <baseline>"), "{err}");
    // A mistyped id prefix.
    let id = f.id("high-lr");
    let typo = format!("{}{}", &id[..5], if &id[5..6] == "0" { "1" } else { "0" });
    let err = f.fails(&["show", &typo]);
    assert!(err.contains("<high-lr>"), "{err}");
    // Nothing close.
    let err = f.fails(&["show", "zzzzzzzzzzzzzzzzzzzz"]);
    assert!(
        err.contains("hint: list runs with `runlog runs --all`"),
        "{err}"
    );
}

#[test]
fn metric_points_windows_and_buckets() {
    let f = build();
    let id = f.id("baseline").to_string();
    golden(
        "metrics_steps.txt",
        &f.ok(&["metrics", &id, "loss", "--steps", "10..15"]),
    );
    let csv = f.ok(&["--format", "csv", "metrics", &id, "acc"]);
    assert_eq!(csv.lines().count(), 101);
    golden(
        "metrics_downsample.csv",
        &f.ok(&[
            "--format",
            "csv",
            "metrics",
            &id,
            "loss",
            "--downsample",
            "4",
        ]),
    );
    // Time window: 2023-11-14T22:13:30Z is step 10; until is excluded.
    let out = f.ok(&[
        "--format",
        "json",
        "metrics",
        &id,
        "loss",
        "--since",
        "2023-11-14T22:13:30Z",
        "--until",
        "1700000013000",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let steps: Vec<i64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["step"].as_i64().unwrap())
        .collect();
    assert_eq!(steps, [10, 11, 12]);
    let err = f.fails(&["metrics", &id, "los"]);
    assert!(
        err.contains("has no metric \"los\"") && err.contains("acc, loss"),
        "{err}"
    );
    let err = f.fails(&["metrics", &id, "loss", "--steps", "5-9"]);
    assert!(err.contains("--steps"), "{err}");
    let err = f.fails(&["metrics", &id, "loss", "--since", "yesterday"]);
    assert!(err.contains("RFC 3339"), "{err}");
    // Empty windows are mistakes, not empty answers.
    let err = f.fails(&["metrics", &id, "loss", "--steps", "15..10"]);
    assert!(
        err.contains("holds no step") && err.contains("did you mean --steps 10..15?"),
        "{err}"
    );
    let err = f.fails(&["metrics", &id, "loss", "--steps", "10..10"]);
    assert!(err.contains("write --steps 10..11"), "{err}");
    let err = f.fails(&["metrics", &id, "loss", "--since", "2000", "--until", "1000"]);
    assert!(err.contains("is not before --until"), "{err}");
}

#[test]
fn compare_marks_differences() {
    let f = build();
    let (a, b, c) = (f.id("baseline"), f.id("high-lr"), f.id("sgd"));
    golden("compare.txt", &f.ok(&["compare", a, b, c]));
    golden(
        "compare.json",
        &f.ok(&["--format", "json", "compare", a, b]),
    );
    golden(
        "compare.csv",
        &f.ok(&["--format", "csv", "compare", "baseline", "resnet"]),
    );
}

#[test]
fn an_ambiguous_name_lists_the_runs() {
    let f = build();
    {
        let store = runlog::Store::open(f.path()).unwrap();
        let exp = store.set_experiment("mnist").unwrap();
        let run = store
            .start_run(runlog::NewRun::in_experiment(&exp.experiment_id).name("resnet"))
            .unwrap();
        run.finish(runlog::RunStatus::Finished).unwrap();
    }
    let err = f.fails(&["show", "resnet"]);
    assert!(err.contains("2 runs are named \"resnet\""), "{err}");
    assert!(err.contains("<resnet>"), "{err}");
    assert!(err.contains("hint: give the run id"), "{err}");
}

#[test]
fn a_run_being_written_is_shown_with_what_was_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let store = runlog::Store::open(dir.path()).unwrap();
    let run = store
        .start_run(runlog::NewRun::default().name("live"))
        .unwrap();
    let id = run.id().to_string();
    for s in 0..100 {
        run.log_metric("loss", s, 1.0 / (1 + s) as f64).unwrap();
    }
    run.flush().unwrap();
    let json = |args: &[&str]| -> serde_json::Value {
        let (code, out, err) = fixture::runlog(dir.path(), args);
        assert_eq!(code, 0, "runlog {args:?}: {err}");
        serde_json::from_str(&out).unwrap()
    };
    // The trainer holds the run's writer lock throughout.
    let shown = json(&["--format", "json", "show", "live"]);
    assert_eq!(shown["status"], "RUNNING");
    assert_eq!(shown["metrics"][0]["count"], 100);
    assert_eq!(shown["metrics"][0]["last_step"], 99);
    for s in 100..250 {
        run.log_metric("loss", s, 0.5).unwrap();
    }
    run.flush().unwrap();
    let points = json(&[
        "--format", "json", "metrics", &id, "loss", "--steps", "95..",
    ]);
    assert_eq!(points.as_array().unwrap().len(), 155);
    assert_eq!(points[154]["step"], 249);
    let runs = json(&["--format", "json", "runs"]);
    assert_eq!(runs[0]["metrics.loss"], 0.5);
    run.finish(runlog::RunStatus::Finished).unwrap();
    assert_eq!(
        json(&["--format", "json", "show", &id])["status"],
        "FINISHED"
    );
}
