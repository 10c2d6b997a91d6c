//! The model registry through the facade: registering runs' models, resolving `models:/`
//! URIs, lineage with latest metrics, concurrent registrations, other handles.

use runlog::{RunStatus, Store};

fn trained_run(store: &Store, name: &str, acc: f64) -> String {
    let run = store.experiment("fraud").unwrap().start_run(name).unwrap();
    run.log_param("depth", 6).unwrap();
    run.log_metric("acc", 0, acc / 2.0).unwrap();
    run.log_metric("acc", 1, acc).unwrap();
    let id = run.id().to_string();
    run.finish(RunStatus::Finished).unwrap();
    id
}

#[test]
fn registered_models_resolve_to_their_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = trained_run(&store, "a", 0.8);
    let b = trained_run(&store, "b", 0.9);
    let v1 = store.register_model("fraud-detector", &a, "model").unwrap();
    let v2 = store
        .register_model("fraud-detector", &b, "/model")
        .unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_eq!(v2.source, format!("runs:/{b}/model"));
    assert_eq!(v2.run_id.as_deref(), Some(b.as_str()));

    let catalog = store.catalog();
    catalog
        .transition_model_version_stage("fraud-detector", 1, "production", false)
        .unwrap();
    catalog
        .transition_model_version_stage("fraud-detector", 2, "Production", true)
        .unwrap();
    catalog
        .set_registered_model_alias("fraud-detector", "champion", 2)
        .unwrap();
    let resolve = |uri: &str| store.resolve_model(uri).unwrap().version;
    assert_eq!(resolve("models:/fraud-detector/Production"), 2);
    assert_eq!(resolve("models:/fraud-detector/Archived"), 1);
    assert_eq!(resolve("models:/fraud-detector/latest"), 2);
    assert_eq!(resolve("models:/fraud-detector@champion"), 2);
    assert_eq!(resolve("models:/fraud-detector/1"), 1);

    let lineage = store
        .model_lineage("models:/fraud-detector@champion")
        .unwrap();
    let run = lineage.run.unwrap();
    assert_eq!(run.run_id, b);
    assert_eq!(run.params["depth"], "6");
    assert_eq!(
        run.metrics["acc"].value, 0.9,
        "the run's latest metrics come along"
    );

    // Another handle, read-only, sees the same registry.
    let reader = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(
        reader
            .resolve_model("models:/fraud-detector@champion")
            .unwrap(),
        store
            .resolve_model("models:/fraud-detector@champion")
            .unwrap()
    );
    let e = reader
        .register_model("x", &a, "model")
        .unwrap_err()
        .to_string();
    assert!(e.contains("read-only"), "{e}");
}

#[test]
fn registering_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = trained_run(&store, "a", 0.8);
    let e = store
        .register_model("m", "ffffffffffffffffffffffffffffffff", "model")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("run \"ffffffffffffffffffffffffffffffff\" does not exist"),
        "{e}"
    );
    let e = store.register_model("m", &a, "").unwrap_err().to_string();
    assert!(e.contains("artifact path"), "{e}");
    let e = store
        .register_model("a:b", &a, "model")
        .unwrap_err()
        .to_string();
    assert!(e.contains("registered model name"), "{e}");
    let e = store
        .resolve_model("models:/nope/1")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("registered model \"nope\" does not exist"),
        "{e}"
    );
}

#[test]
fn concurrent_registrations_of_a_new_model_get_distinct_versions() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let run = trained_run(&store, "a", 0.8);
    let versions: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let store = Store::open(dir.path()).unwrap();
                let run = run.clone();
                s.spawn(move || {
                    store
                        .register_model("shared", &run, "model")
                        .unwrap()
                        .version
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = versions.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [1, 2, 3, 4], "{versions:?}");
}
