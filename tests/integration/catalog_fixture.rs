//! A store with a catalog, written by this version (store format 1, catalog schema 1, journal
//! lines of JSON operations), is committed under `tests/fixtures/catalog-v1/` and must read
//! back exactly, through its catalog and rebuilt from its journals alone, so a later change
//! of the catalog or journal format cannot silently break old stores.
//! `RUNLOG_WRITE_FIXTURE=1 cargo test --test integration catalog_fixture` rewrites it (only
//! when a format version is added; keep the old fixture).

use std::fs;

use crate::common::copy_dir;
use std::path::{Path, PathBuf};

use runlog::catalog::{CATALOG_FILE, WRITERS_DIR};
use runlog::{
    LatestMetric, LifecycleStage, NewRun, Point, RunStatus, Store, ViewType, WriterOptions,
};

const PARENT: &str = "0123456789abcdef0123456789abcdef";
const CHILD: &str = "fedcba9876543210fedcba9876543210";
const DELETED: &str = "00000000000000000000000000000001";
const LIVE: &str = "00000000000000000000000000000002";
const T0: i64 = 1_700_000_000_000;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/catalog-v1")
}

fn write_fixture(target: &Path) {
    let _ = fs::remove_dir_all(target);
    let store = Store::open(target).unwrap();
    let c = store.catalog();
    let exp = c
        .create_experiment("fixture-draft", None, &[("team", "vision")])
        .unwrap();
    c.rename_experiment(&exp, "fixture").unwrap();
    c.set_experiment_tag(&exp, "note", "ünïcode ✓").unwrap();
    let gone = c.create_experiment("gone", None, &[]).unwrap();
    c.delete_experiment(&gone).unwrap();

    let new = |id: &str, name: &str, start: i64| {
        let mut n = NewRun::in_experiment(&exp).name(name).start_time(start);
        n.run_id = Some(id.into());
        n.user = Some("fixture-user".into());
        n.tags
            .push(("mlflow.source.name".into(), "fixture.rs".into()));
        n.tags.push(("mlflow.source.type".into(), "LOCAL".into()));
        n
    };
    let parent = store
        .start_run(
            new(PARENT, "parent", T0)
                .param("lr", 0.001)
                .param("optimizer", "adam"),
        )
        .unwrap();
    parent
        .set_tag("mlflow.note.content", "the parent run")
        .unwrap();
    for s in 0..300 {
        parent
            .log_metric_at("train/loss", s, T0 + s * 10, 1.0 / (1 + s) as f64)
            .unwrap();
    }
    parent.log_metric_at("specials", 0, T0, f64::NAN).unwrap();
    parent.log_metric_at("specials", 0, T0, 1.5).unwrap();
    parent.finish(RunStatus::Finished).unwrap();
    c.set_status(PARENT, RunStatus::Finished, Some(T0 + 5_000))
        .unwrap();

    let child = store
        .start_run(new(CHILD, "child", T0 + 100).parent(PARENT))
        .unwrap();
    child.log_metric_at("acc", 3, T0 + 200, 0.5).unwrap();
    child.log_metric_at("acc", 1, T0 + 300, 0.9).unwrap();
    child.finish(RunStatus::Failed).unwrap();
    c.set_status(CHILD, RunStatus::Failed, Some(T0 + 6_000))
        .unwrap();

    let deleted = store.start_run(new(DELETED, "deleted", T0 + 200)).unwrap();
    deleted.log_param("p", "1").unwrap();
    deleted.finish(RunStatus::Killed).unwrap();
    c.set_status(DELETED, RunStatus::Killed, Some(T0 + 7_000))
        .unwrap();
    c.delete_run(DELETED).unwrap();

    // Left RUNNING with flushed points, as a killed trainer leaves it.
    c.create_run(new(LIVE, "live", T0 + 300)).unwrap();
    let w = store
        .metric_store()
        .writer(LIVE, WriterOptions::default())
        .unwrap();
    w.append_key("m", Point::new(0, T0 + 400, -0.0)).unwrap();
    w.close().unwrap();
    let latest = LatestMetric {
        step: 0,
        timestamp_ms: T0 + 400,
        value: -0.0,
    };
    c.update_metrics(&[(LIVE, &[("m".to_string(), latest)][..])])
        .unwrap();
    drop(store);
    assert!(
        fs::read_dir(target.join(WRITERS_DIR))
            .unwrap()
            .next()
            .is_none(),
        "every writer of the fixture closed"
    );
}

/// Checks everything the fixture holds, through the facade.
fn check(store: &Store) {
    let c = store.catalog();
    let exp = c
        .get_experiment_by_name("fixture")
        .unwrap()
        .expect("fixture");
    assert_eq!(exp.tags["team"], "vision");
    assert_eq!(exp.tags["note"], "ünïcode ✓");
    assert!(c.get_experiment_by_name("fixture-draft").unwrap().is_none());
    let gone = c.get_experiment_by_name("gone").unwrap().expect("gone");
    assert_eq!(gone.lifecycle_stage, LifecycleStage::Deleted);
    assert_eq!(c.get_experiment("0").unwrap().name, "Default");

    let p = c.get_run(PARENT).unwrap();
    assert_eq!(
        (p.run_name.as_str(), p.status, p.start_time, p.end_time),
        ("parent", RunStatus::Finished, T0, Some(T0 + 5_000))
    );
    assert_eq!(p.params["lr"], "0.001");
    assert_eq!(p.params["optimizer"], "adam");
    assert_eq!(p.tags["mlflow.note.content"], "the parent run");
    assert_eq!(p.tags["mlflow.user"], "fixture-user");
    assert_eq!(p.user_id, "fixture-user");
    assert_eq!(p.metrics["train/loss"].step, 299);
    assert_eq!(p.metrics["train/loss"].value, 1.0 / 300.0);
    assert!(
        p.metrics["specials"].value.is_nan(),
        "MLflow keeps the first of a NaN tie"
    );
    let ch = c.get_run(CHILD).unwrap();
    assert_eq!(ch.parent_run_id(), Some(PARENT));
    assert_eq!(ch.status, RunStatus::Failed);
    assert_eq!(ch.metrics["acc"].value, 0.5, "highest step wins");
    let d = c.get_run(DELETED).unwrap();
    assert_eq!(d.lifecycle_stage, LifecycleStage::Deleted);
    assert_eq!(d.status, RunStatus::Killed);
    let l = c.get_run(LIVE).unwrap();
    assert_eq!(l.status, RunStatus::Running);
    assert!(l.metrics["m"].value.is_sign_negative());

    let active = c
        .search_runs(
            &[&exp.experiment_id],
            Some("metrics.`train/loss` < 0.01 or params.lr = '0.001'"),
            ViewType::ActiveOnly,
            &[],
            10,
            None,
        )
        .map(|p| p.runs.len());
    assert!(active.is_err(), "OR is not MLflow's language");
    let all = c
        .search_runs(
            &[&exp.experiment_id],
            None,
            ViewType::All,
            &["attributes.start_time ASC"],
            10,
            None,
        )
        .unwrap();
    let ids: Vec<&str> = all.runs.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, [PARENT, CHILD, DELETED, LIVE]);
    let reader = store.reader(PARENT).unwrap();
    assert_eq!(reader.history("train/loss").unwrap().len(), 300);
}

#[test]
fn the_committed_catalog_fixture_reads_back_and_rebuilds_from_its_journals() {
    if std::env::var_os("RUNLOG_WRITE_FIXTURE").is_some() {
        write_fixture(&fixture_dir());
    }
    assert!(
        fixture_dir().join(CATALOG_FILE).exists(),
        "the fixture is committed; RUNLOG_WRITE_FIXTURE=1 writes it"
    );
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("store");
    copy_dir(&fixture_dir(), &copy);
    check(&Store::open(&copy).unwrap());

    // The same content from the journals and run folders alone.
    let rebuilt = tmp.path().join("rebuilt");
    copy_dir(&fixture_dir(), &rebuilt);
    fs::remove_file(rebuilt.join(CATALOG_FILE)).unwrap();
    check(&Store::open(&rebuilt).unwrap());

    // The fixture's live run resumes, as after a crash.
    let store = Store::open(&copy).unwrap();
    let run = store.resume_run(LIVE).unwrap();
    run.log_metric_at("m", 1, T0 + 500, 2.0).unwrap();
    run.finish(RunStatus::Finished).unwrap();
    assert_eq!(store.get_run(LIVE).unwrap().metrics["m"].value, 2.0);
}
