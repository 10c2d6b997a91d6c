//! The importer API: records reproduced exactly (no time stamped, no system tag added), kept
//! through a reopen and a rebuild from the journals; nothing ever overwritten (except the
//! untouched default experiment `0`); a refused import journals nothing.

use std::collections::BTreeMap;

use runlog_catalog::{
    Catalog, CatalogError, Experiment, ImportedModel, ImportedVersion, ImportedVersionFields,
    LatestMetric, LifecycleStage, NewRun, Run, RunStatus, Stage,
};

fn exp(id: &str, name: &str) -> Experiment {
    Experiment {
        experiment_id: id.into(),
        name: name.into(),
        artifact_location: format!("s3://bucket/{id}"),
        lifecycle_stage: LifecycleStage::Deleted,
        creation_time: 11,
        last_update_time: 22,
        tags: BTreeMap::from([("k".into(), "v".into())]),
    }
}

fn run(id: &str, exp: &str) -> Run {
    Run {
        run_id: id.into(),
        experiment_id: exp.into(),
        run_name: String::new(),
        status: RunStatus::Killed,
        start_time: 5,
        end_time: None,
        user_id: String::new(),
        lifecycle_stage: LifecycleStage::Deleted,
        deleted_time: Some(7),
        artifact_uri: String::new(),
        params: BTreeMap::from([("p".into(), "x".repeat(7000))]),
        tags: BTreeMap::from([("mlflow.runName".into(), "other".into())]),
        metrics: BTreeMap::new(),
    }
}

fn model() -> ImportedModel {
    ImportedModel {
        name: "m".into(),
        creation_timestamp: 1,
        last_updated_timestamp: 9,
        description: Some("d".into()),
        tags: BTreeMap::from([("t".into(), "u".into())]),
        aliases: BTreeMap::from([("champion".into(), 2)]),
        versions: vec![
            ImportedVersion {
                version: 2,
                creation_timestamp: 3,
                last_updated_timestamp: 4,
                source: "models:/m-1".into(),
                stage: Stage::Production,
                fields: ImportedVersionFields {
                    status: "READY".into(),
                    model_id: Some("m-1".into()),
                    ..ImportedVersionFields::default()
                },
                ..ImportedVersion::default()
            },
            ImportedVersion {
                version: 5,
                creation_timestamp: 6,
                last_updated_timestamp: 8,
                deleted: true,
                ..ImportedVersion::default()
            },
        ],
    }
}

const RUN: &str = "0123456789abcdef0123456789abcdef";

fn check(c: &Catalog) {
    assert_eq!(c.get_experiment("77").unwrap(), exp("77", "imported"));
    let got = c.get_run(RUN).unwrap();
    let mut want = run(RUN, "77");
    want.metrics.insert(
        "loss".into(),
        LatestMetric {
            step: 3,
            timestamp_ms: 4,
            value: f64::NEG_INFINITY,
        },
    );
    assert_eq!(got, want);
    let m = c.get_registered_model("m").unwrap();
    assert_eq!(
        (
            m.creation_timestamp,
            m.last_updated_timestamp,
            m.description.as_deref()
        ),
        (1, 9, Some("d"))
    );
    assert_eq!(m.aliases, BTreeMap::from([("champion".to_string(), 2)]));
    let v = c.get_model_version("m", 2).unwrap();
    assert_eq!((v.creation_timestamp, v.last_updated_timestamp), (3, 4));
    assert_eq!(v.current_stage, Stage::Production);
    assert!(c.get_model_version("m", 5).is_err(), "deleted");
    assert_eq!(
        c.imported_version_fields("m", 2)
            .unwrap()
            .unwrap()
            .model_id
            .as_deref(),
        Some("m-1")
    );
}

#[test]
fn imported_records_are_kept_exactly_through_reopen_and_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    {
        let c = Catalog::open(dir.path()).unwrap();
        c.import_experiment(&exp("77", "imported")).unwrap();
        c.import_run(&run(RUN, "77")).unwrap();
        c.update_metrics(&[(
            RUN,
            &[(
                "loss".to_string(),
                LatestMetric {
                    step: 3,
                    timestamp_ms: 4,
                    value: f64::NEG_INFINITY,
                },
            )],
        )])
        .unwrap();
        c.import_registered_model(&model()).unwrap();
        check(&c);
    }
    let c = Catalog::open(dir.path()).unwrap();
    check(&c);
    drop(c);
    // The latest value comes from the metric segments in a rebuild; this run has none, so
    // only the records are compared.
    let c = Catalog::rebuild(dir.path()).unwrap();
    assert_eq!(c.get_experiment("77").unwrap(), exp("77", "imported"));
    let mut want = run(RUN, "77");
    want.metrics.clear();
    assert_eq!(c.get_run(RUN).unwrap(), want);
    assert_eq!(
        c.get_model_version("m", 2).unwrap().current_stage,
        Stage::Production
    );
    assert_eq!(
        c.imported_version_fields("m", 2)
            .unwrap()
            .unwrap()
            .model_id
            .as_deref(),
        Some("m-1")
    );
    // The next version comes after the imported deleted one; a new experiment id above the
    // imported one.
    let v = c
        .create_model_version("m", "runs:/x/y", None, None, &[])
        .unwrap();
    assert_eq!(v.version, 6);
    let id = c.create_experiment("fresh", None, &[]).unwrap();
    assert_eq!(id, "78");
    // The imported fields follow a rename and go with a deletion.
    c.rename_registered_model("m", "m2").unwrap();
    assert!(c.imported_version_fields("m", 2).unwrap().is_none());
    assert!(c.imported_version_fields("m2", 2).unwrap().is_some());
    c.delete_registered_model("m2").unwrap();
    c.create_registered_model("m2", None, &[]).unwrap();
    assert!(c.imported_version_fields("m2", 2).unwrap().is_none());
    drop(c);
    let c = Catalog::rebuild(dir.path()).unwrap();
    assert!(c.imported_version_fields("m2", 2).unwrap().is_none());
    assert!(c.imported_version_fields("m", 2).unwrap().is_none());
}

#[test]
fn nothing_is_overwritten_and_a_refused_import_journals_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let c = Catalog::open(dir.path()).unwrap();
    // The untouched default experiment is replaced by an imported 0.
    c.import_experiment(&Experiment {
        lifecycle_stage: LifecycleStage::Active,
        ..exp("0", "Default")
    })
    .unwrap();
    assert_eq!(c.get_experiment("0").unwrap().creation_time, 11);
    // Not a second time.
    let err = c.import_experiment(&exp("0", "Default")).unwrap_err();
    assert!(matches!(err, CatalogError::Exists { .. }), "{err}");
    c.import_experiment(&exp("5", "five")).unwrap();
    let err = c.import_experiment(&exp("5", "five")).unwrap_err();
    assert!(matches!(err, CatalogError::Exists { .. }), "{err}");
    let err = c.import_experiment(&exp("6", "five")).unwrap_err();
    assert!(
        matches!(err, CatalogError::ExperimentExists { .. }),
        "{err}"
    );
    c.import_run(&run(RUN, "5")).unwrap();
    let err = c.import_run(&run(RUN, "5")).unwrap_err();
    assert!(matches!(err, CatalogError::Exists { .. }), "{err}");
    c.import_registered_model(&model()).unwrap();
    let err = c.import_registered_model(&model()).unwrap_err();
    assert!(matches!(err, CatalogError::Exists { .. }), "{err}");

    let journals = || {
        (
            std::fs::read(dir.path().join("experiments.log")).unwrap(),
            std::fs::read(dir.path().join("models.log")).unwrap(),
        )
    };
    let before = journals();
    // Invalid: ids, keys, experiments that do not exist, version numbers, aliases.
    assert!(c.import_experiment(&exp("007", "x")).is_err());
    assert!(c.import_experiment(&exp("abc", "x")).is_err());
    let mut bad = exp("8", "x");
    bad.tags.insert("../k".into(), "v".into());
    assert!(c.import_experiment(&bad).is_err());
    assert!(
        c.import_run(&run("0123456789abcdef0123456789abcdeX", "5"))
            .is_err()
    );
    assert!(
        c.import_run(&run("1123456789abcdef0123456789abcdef", "9"))
            .is_err()
    );
    let mut bad = run("2123456789abcdef0123456789abcdef", "5");
    bad.params.insert("a//b".into(), "1".into());
    assert!(c.import_run(&bad).is_err());
    assert!(
        !dir.path()
            .join("runs/2123456789abcdef0123456789abcdef/RUN.log")
            .exists()
    );
    let mut bad = model();
    bad.name = "n".into();
    bad.versions[1].version = 2;
    assert!(c.import_registered_model(&bad).is_err());
    let mut bad = model();
    bad.name = "n".into();
    bad.aliases.insert("old".into(), 5);
    assert!(
        c.import_registered_model(&bad).is_err(),
        "alias of a deleted version"
    );
    let mut bad = model();
    bad.name = "a/b".into();
    assert!(c.import_registered_model(&bad).is_err());
    assert_eq!(journals(), before);

    // The ordinary API goes on over imported records.
    let r = c
        .create_run(NewRun::in_experiment("0").name("after"))
        .unwrap();
    assert_eq!(r.experiment_id, "0");
}
