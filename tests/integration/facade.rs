//! The `runlog` facade end to end: runs, params, tags, metrics, search, finishing, resuming,
//! and the catalog rebuilt from the run folders.

use runlog::catalog::CatalogError;
use runlog::{Error, NewRun, RunStatus, Store, ViewType};

fn catalog_err(e: Error) -> CatalogError {
    match e {
        Error::Catalog(c) => c,
        other => panic!("expected a catalog error, got {other}"),
    }
}

#[test]
fn a_run_logs_params_tags_and_metrics_and_search_sees_its_latest_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let exp = store.set_experiment("sweep").unwrap();
    assert_eq!(
        store.set_experiment("sweep").unwrap(),
        exp,
        "set_experiment is get-or-create"
    );
    let run = store
        .start_run(
            NewRun::in_experiment(&exp.experiment_id)
                .name("a")
                .param("lr", 0.001),
        )
        .unwrap();
    run.log_param("optimizer", "adam").unwrap();
    run.log_param("optimizer", "adam").unwrap();
    let e = catalog_err(run.log_param("optimizer", "sgd").unwrap_err());
    assert!(
        matches!(&e, CatalogError::ParamChanged { key, old, new, .. } if key == "optimizer" && old == "adam" && new == "sgd"),
        "{e}"
    );
    run.set_tag("team", "vision").unwrap();
    let acc = run.metric("val/acc").unwrap();
    for step in 0..2_000 {
        acc.log_at(step, 1_700_000_000_000 + step, step as f64 / 2_000.0)
            .unwrap();
        run.log_metric_at(
            "loss",
            step,
            1_700_000_000_000 + step,
            1.0 / (step + 1) as f64,
        )
        .unwrap();
    }
    // A late point at an earlier step does not become the latest (MLflow's rule).
    acc.log_at(5, 1_800_000_000_000, 99.0).unwrap();
    run.flush().unwrap();
    let info = store.get_run(run.id()).unwrap();
    assert_eq!(info.status, RunStatus::Running);
    assert_eq!(info.metrics["val/acc"].step, 1_999);
    assert_eq!(info.metrics["val/acc"].value, 1_999.0 / 2_000.0);
    assert_eq!(info.params["lr"], "0.001");
    assert_eq!(info.tags["mlflow.runName"], "a");
    assert_eq!(info.tags["mlflow.source.type"], "LOCAL");
    assert!(info.tags.contains_key("mlflow.user"));

    let found = store
        .search_runs(
            &[&exp.experiment_id],
            "metrics.`val/acc` > 0.99 and params.optimizer = 'adam' and tags.team LIKE 'vis%'",
            &[],
            10,
        )
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].run_id, run.id());
    let none = store
        .search_runs(&[&exp.experiment_id], "metrics.loss > 0.5", &[], 10)
        .unwrap();
    assert!(none.is_empty(), "latest loss is 1/2000");

    let run_id = run.id().to_string();
    run.finish(RunStatus::Killed).unwrap();
    let info = store.get_run(&run_id).unwrap();
    assert_eq!(info.status, RunStatus::Killed);
    assert!(info.end_time.is_some());
    let reader = store.reader(&run_id).unwrap();
    assert_eq!(reader.history("val/acc").unwrap().len(), 2_001);
}

#[test]
fn dropping_a_run_finishes_it_and_a_panic_fails_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ok_id = {
        let run = store.start_run(NewRun::default()).unwrap();
        run.log_metric("x", 0, 1.0).unwrap();
        run.id().to_string()
    };
    let info = store.get_run(&ok_id).unwrap();
    assert_eq!(info.status, RunStatus::Finished);
    assert_eq!(info.metrics["x"].value, 1.0, "the drop flushed and synced");

    let s2 = store.clone();
    let failed_id = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let f2 = failed_id.clone();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let run = s2.start_run(NewRun::default()).unwrap();
        *f2.lock().unwrap() = run.id().to_string();
        run.log_metric("x", 0, 2.0).unwrap();
        panic!("training diverged");
    }));
    assert!(result.is_err());
    let id = failed_id.lock().unwrap().clone();
    let info = store.get_run(&id).unwrap();
    assert_eq!(info.status, RunStatus::Failed);
    assert_eq!(info.metrics["x"].value, 2.0);
}

#[test]
fn a_finished_run_resumes_and_keeps_mlflow_latest_across_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let run_id = {
        let store = Store::open(dir.path()).unwrap();
        let run = store.start_run(NewRun::default().param("a", 1)).unwrap();
        run.log_metric_at("m", 10, 5, 1.0).unwrap();
        let id = run.id().to_string();
        run.finish(RunStatus::Finished).unwrap();
        id
    };
    let store = Store::open(dir.path()).unwrap();
    let run = store.resume_run(&run_id).unwrap();
    assert_eq!(store.get_run(&run_id).unwrap().status, RunStatus::Running);
    // An earlier step logged after resuming does not replace the latest.
    run.log_metric_at("m", 3, 100, 7.0).unwrap();
    run.log_metric_at("n", 0, 1, 3.0).unwrap();
    run.flush().unwrap();
    let info = store.get_run(&run_id).unwrap();
    assert_eq!(info.metrics["m"].value, 1.0);
    assert_eq!(info.metrics["n"].value, 3.0);
    // Another writer of the same run is refused, naming this process.
    let e = store.resume_run(&run_id).unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("process {}", std::process::id())),
        "{e}"
    );
    run.log_metric_at("m", 11, 200, 2.0).unwrap();
    run.finish(RunStatus::Finished).unwrap();
    let info = store.get_run(&run_id).unwrap();
    assert_eq!(info.metrics["m"].value, 2.0);
    assert_eq!(
        store.reader(&run_id).unwrap().history("m").unwrap().len(),
        3
    );
}

#[test]
fn deleted_runs_and_experiments_refuse_changes_until_restored() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let c = store.catalog();
    let exp = c.create_experiment("e", None, &[]).unwrap();
    let run = store.start_run(NewRun::in_experiment(&exp)).unwrap();
    let id = run.id().to_string();
    c.delete_run(&id).unwrap();
    let e = catalog_err(run.set_tag("k", "v").unwrap_err());
    assert!(
        e.to_string().contains("must be in the 'active' state"),
        "{e}"
    );
    let active = c
        .search_runs(&[&exp], None, ViewType::ActiveOnly, &[], 10, None)
        .unwrap();
    assert!(active.runs.is_empty());
    let deleted = c
        .search_runs(&[&exp], None, ViewType::DeletedOnly, &[], 10, None)
        .unwrap();
    assert_eq!(deleted.runs.len(), 1);
    c.restore_run(&id).unwrap();
    run.set_tag("k", "v").unwrap();

    c.delete_experiment(&exp).unwrap();
    let e = store
        .start_run(NewRun::in_experiment(&exp))
        .map(|r| r.id().to_string())
        .unwrap_err();
    assert!(e.to_string().contains("deleted"), "{e}");
    let e = c.create_experiment("e", None, &[]).unwrap_err();
    assert!(e.to_string().contains("restore the deleted one"), "{e}");
    c.restore_experiment(&exp).unwrap();
    drop(store.start_run(NewRun::in_experiment(&exp)).unwrap());
    let e = c.delete_experiment("0").unwrap_err();
    assert!(e.to_string().contains("default experiment"), "{e}");
    let e = c.get_run("0123456789abcdef0123456789abcdef").unwrap_err();
    assert!(matches!(e, CatalogError::NotFound { .. }), "{e}");
}

#[test]
fn a_lost_catalog_is_rebuilt_from_the_run_folders() {
    let dir = tempfile::tempdir().unwrap();
    let (exp, run_id, before) = {
        let store = Store::open(dir.path()).unwrap();
        let c = store.catalog();
        let exp = c
            .create_experiment("keep", None, &[("owner", "me")])
            .unwrap();
        c.rename_experiment(&exp, "kept").unwrap();
        let run = store
            .start_run(NewRun::in_experiment(&exp).name("r").param("p", "1"))
            .unwrap();
        run.set_tag("t", "1").unwrap();
        run.set_tag("mlflow.runName", "renamed").unwrap();
        for s in 0..100 {
            run.log_metric_at("m", s, s, s as f64).unwrap();
        }
        let id = run.id().to_string();
        run.finish(RunStatus::Finished).unwrap();
        (exp, id.clone(), store.get_run(&id).unwrap())
    };
    std::fs::remove_file(dir.path().join("catalog.redb")).unwrap();
    let store = Store::open(dir.path()).unwrap();
    let after = store.get_run(&run_id).unwrap();
    assert_eq!(after, before);
    assert_eq!(after.run_name, "renamed");
    let e = store.catalog().get_experiment(&exp).unwrap();
    assert_eq!(e.name, "kept");
    assert_eq!(e.tags["owner"], "me");
    // New experiments do not reuse ids.
    let next = store.catalog().create_experiment("new", None, &[]).unwrap();
    assert!(next.parse::<u64>().unwrap() > exp.parse::<u64>().unwrap());
}

#[test]
fn an_experiment_handle_starts_and_searches_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let exp = store.experiment("handles").unwrap();
    assert_eq!(store.experiment("handles").unwrap().id(), exp.id());
    let a = exp.start_run("a").unwrap();
    a.log_metric_at("acc", 1, 10, 0.9).unwrap();
    let a_id = a.id().to_string();
    a.finish(RunStatus::Finished).unwrap();
    let b = exp
        .start_run_with(NewRun::in_experiment("0").name("b").param("k", "v"))
        .unwrap();
    assert_eq!(b.experiment_id(), exp.id(), "the handle's experiment wins");
    drop(b);
    let found = exp.search_runs("metrics.acc > 0.5", &[], 10).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].run_id, a_id);
    assert_eq!(exp.runs().unwrap().len(), 2);
    assert!(
        store
            .catalog()
            .list_runs(&["0"], ViewType::All)
            .unwrap()
            .is_empty()
    );
}
