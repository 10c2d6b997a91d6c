//! An MLflow export written by this version (its state file `.runlog-export.json`, format 1)
//! is committed under `tests/fixtures/mlflow-export-v1/`: the export of the committed store
//! `tests/fixtures/catalog-v1/` with the recorded artifact URIs kept. Exporting that store
//! again into it must be recognised as an update of an earlier export, find every metric
//! point already there and write nothing, so a later change of the state file cannot make
//! old exports unusable. `RUNLOG_WRITE_FIXTURE=1 cargo test --test integration
//! mlflow_export_fixture` rewrites it (only when a format version is added; keep the old one).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use runlog::Store;
use runlog_mlflow::{ArtifactUris, ExportOptions, export};

use crate::common::copy_dir;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn options() -> ExportOptions {
    ExportOptions::default()
        .artifact_uris(ArtifactUris::Keep)
        .no_sync(true)
}

fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(
                    path.strip_prefix(root).unwrap().to_path_buf(),
                    fs::read(&path).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn an_export_of_format_1_is_updated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    copy_dir(&fixtures().join("catalog-v1"), &store_dir);
    let store = Store::open(&store_dir).unwrap();
    if std::env::var_os("RUNLOG_WRITE_FIXTURE").is_some() {
        let target = fixtures().join("mlflow-export-v1");
        let _ = fs::remove_dir_all(&target);
        export(store.catalog(), store.metric_store(), &target, &options()).unwrap();
    }
    let fixture = fixtures().join("mlflow-export-v1");
    let state = fs::read_to_string(fixture.join(".runlog-export.json")).unwrap();
    assert!(state.starts_with("{\"format\":1,"), "{state}");

    let mlruns = dir.path().join("mlruns");
    copy_dir(&fixture, &mlruns);
    let before = files(&mlruns);
    let report = export(store.catalog(), store.metric_store(), &mlruns, &options()).unwrap();
    assert_eq!(report.metric_points, 0, "{report:?}");
    assert!(report.metric_points_kept >= 300, "{report:?}");
    assert_eq!(report.files, 0, "nothing changed: {report:?}");
    assert_eq!(files(&mlruns), before);

    // And it is what a fresh export of the store writes.
    let fresh = dir.path().join("fresh");
    export(store.catalog(), store.metric_store(), &fresh, &options()).unwrap();
    assert_eq!(files(&fresh), before);
}
