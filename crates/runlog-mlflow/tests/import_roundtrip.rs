//! What the exporter writes, the importer reads back exactly: a store with every kind of
//! content (deleted experiment and runs, nested runs, every status, params and tags with
//! odd keys, metrics with NaN, infinities, -0.0, repeated and negative steps, the registry
//! with stages, aliases, a deleted version) exported with the recorded URIs kept
//! (`run_uuid`, legacy `source_*` keys, double-quoted strings, `.runlog-export.json` at the
//! root) and imported into a fresh store reads back equal, field by field and point by point.

use runlog::{NewRun, RunStatus, Store};
use runlog_catalog::{Catalog, Run, ViewType};
use runlog_metrics::MetricStore;
use runlog_mlflow::{ArtifactUris, ExportOptions, ImportOptions, export, import};

fn runs(catalog: &Catalog) -> Vec<Run> {
    let ids: Vec<String> = catalog
        .list_experiments(ViewType::All)
        .unwrap()
        .into_iter()
        .map(|e| e.experiment_id)
        .collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut out: Vec<Run> = catalog
        .list_runs(&ids, ViewType::All)
        .unwrap()
        .into_iter()
        .map(|r| (*r).clone())
        .collect();
    out.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    out
}

/// A run with its latest metrics as bits (NaN compares equal to itself).
fn comparable(r: &Run) -> (Run, Vec<(String, i64, i64, u64)>) {
    let mut plain = r.clone();
    plain.metrics.clear();
    let metrics = r
        .metrics
        .iter()
        .map(|(k, m)| (k.clone(), m.step, m.timestamp_ms, m.value.to_bits()))
        .collect();
    (plain, metrics)
}

#[test]
fn an_exported_store_imports_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("a")).unwrap();
    let e1 = store.set_experiment("exp one").unwrap();
    let e2 = store.set_experiment("doomed").unwrap();
    store
        .catalog()
        .set_experiment_tag(&e1.experiment_id, "team", "core")
        .unwrap();
    let parent = store
        .start_run(
            NewRun::in_experiment(&e1.experiment_id)
                .name("parent")
                .param("lr", 0.001)
                .param("model/depth", 3)
                .param("größe", "x y")
                .tag("multi", "line1\nline2\n")
                .tag("quote", "it's \"q\""),
        )
        .unwrap();
    for (i, v) in [
        0.5,
        f64::NAN,
        f64::INFINITY,
        -0.0,
        f64::NEG_INFINITY,
        1e-7,
        1e300,
    ]
    .into_iter()
    .enumerate()
    {
        parent
            .log_metric_at(
                "train/loss",
                i as i64 % 3 - 1,
                1_700_000_000_000 + i as i64,
                v,
            )
            .unwrap();
    }
    parent.log_metric("acc", 5, 0.9).unwrap();
    let parent_id = parent.id().to_string();
    parent.finish(RunStatus::Finished).unwrap();
    let child = store
        .start_run(
            NewRun::in_experiment(&e1.experiment_id)
                .parent(&parent_id)
                .param("p", ""),
        )
        .unwrap();
    child.log_metric("m", 0, 1.0).unwrap();
    let child_id = child.id().to_string();
    child.finish(RunStatus::Failed).unwrap();
    let running = store
        .start_run(NewRun::in_experiment(&e1.experiment_id).name("still going"))
        .unwrap();
    running.log_metric("m", 1, 2.0).unwrap();
    running.flush().unwrap();
    let gone = store
        .start_run(NewRun::in_experiment(&e2.experiment_id).name("gone"))
        .unwrap();
    gone.log_metric("m", 0, 3.0).unwrap();
    let gone_id = gone.id().to_string();
    gone.finish(RunStatus::Killed).unwrap();
    store.catalog().delete_run(&child_id).unwrap();
    store
        .catalog()
        .delete_experiment(&e2.experiment_id)
        .unwrap();
    let c = store.catalog();
    c.create_registered_model("model", Some("a model"), &[("task", "cls")])
        .unwrap();
    for _ in 0..3 {
        c.create_model_version(
            "model",
            &format!("runs:/{parent_id}/model"),
            Some(&parent_id),
            Some("v"),
            &[("k", "v")],
        )
        .unwrap();
    }
    c.transition_model_version_stage("model", 1, "Production", false)
        .unwrap();
    c.transition_model_version_stage("model", 2, "Production", true)
        .unwrap();
    c.set_registered_model_alias("model", "champion", 2)
        .unwrap();
    c.delete_model_version("model", 3).unwrap();
    c.create_registered_model("empty", None, &[]).unwrap();
    running.flush().unwrap();

    let target = dir.path().join("mlruns");
    let options = ExportOptions::default().artifact_uris(ArtifactUris::Keep);
    export(store.catalog(), store.metric_store(), &target, &options).unwrap();
    // What MLflow ≤ 2.22 needs is there, and read past.
    let meta = std::fs::read_to_string(
        target
            .join(&e1.experiment_id)
            .join(&parent_id)
            .join("meta.yaml"),
    )
    .unwrap();
    assert!(meta.contains("run_uuid"), "{meta}");

    let b = dir.path().join("b");
    let metrics = MetricStore::open(&b).unwrap();
    let catalog = Catalog::open(&b).unwrap();
    let report = import(&target, &catalog, &metrics, &ImportOptions::default()).unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    assert_eq!(report.runs, 4);

    let a = store.catalog();
    let mut want_exps = a.list_experiments(ViewType::All).unwrap();
    let mut got_exps = catalog.list_experiments(ViewType::All).unwrap();
    want_exps.sort_by(|x, y| x.experiment_id.cmp(&y.experiment_id));
    got_exps.sort_by(|x, y| x.experiment_id.cmp(&y.experiment_id));
    assert_eq!(got_exps, want_exps);

    let want_runs = runs(a);
    let got_runs = runs(&catalog);
    assert_eq!(got_runs.len(), want_runs.len());
    for (w, g) in want_runs.iter().zip(&got_runs) {
        let mut w_expected = w.clone();
        if w.experiment_id == e2.experiment_id {
            // The exporter marks the runs of a deleted experiment deleted, as MLflow's
            // delete_experiment does (runlog keeps them as they were).
            assert_eq!(g.lifecycle_stage, runlog_catalog::LifecycleStage::Deleted);
            w_expected.lifecycle_stage = g.lifecycle_stage;
            w_expected.deleted_time = g.deleted_time;
        }
        assert_eq!(comparable(g), comparable(&w_expected));
        let wr = store.metric_store().reader(&w.run_id).unwrap();
        let gr = metrics.reader(&g.run_id).unwrap();
        for key in w.metrics.keys() {
            let (wh, gh) = (wr.history(key).unwrap(), gr.history(key).unwrap());
            assert_eq!(gh.steps, wh.steps, "{key}");
            assert_eq!(gh.timestamps_ms, wh.timestamps_ms, "{key}");
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&gh.values), bits(&wh.values), "{key}");
        }
    }
    assert!(got_runs.iter().any(|r| r.run_id == gone_id));

    assert_eq!(
        catalog.registry_snapshot().unwrap(),
        a.registry_snapshot().unwrap()
    );
    drop(running);
}
