//! The registry of the `mlruns-sample` fixture (written and read back by MLflow 3.17.2), built
//! again through runlog's API: what runlog reads back must be what MLflow read back. Also
//! after a reopen and after a rebuild from the journals.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use runlog_catalog::{Catalog, ModelVersion, NewRun, RegisteredModel};
use serde_json::Value;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mlruns-registry")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixture_dir().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn str_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

/// `key: value` of a flat `meta.yaml` (the fixture's are plain scalars).
fn yaml_field(path: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .map(str::to_string)
        .filter(|v| v != "null")
}

/// Builds every registered model of the fixture the way its generator did: versions in
/// order, the soft-deleted ones deleted, stages reached through Production with
/// `archive_existing_versions`, then the aliases.
fn build(catalog: &Catalog) {
    let exp = catalog.create_experiment("exp-a", None, &[]).unwrap();
    let mut runs = Vec::new();
    for m in expected()["registered_models"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        let tags = str_map(&m["tags"]);
        let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        catalog
            .create_registered_model(name, m["description"].as_str(), &tags)
            .unwrap();
        let dir = fixture_dir().join("models").join(name);
        let mut numbers: Vec<u64> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let n = e.unwrap().file_name().to_string_lossy().to_string();
                n.strip_prefix("version-").map(|v| v.parse().unwrap())
            })
            .collect();
        numbers.sort_unstable();
        let versions = m["versions"].as_array().unwrap();
        for n in numbers {
            let meta = dir.join(format!("version-{n}/meta.yaml"));
            let run_id = yaml_field(&meta, "run_id");
            if let Some(id) = &run_id
                && !runs.contains(id)
            {
                catalog
                    .create_run(NewRun {
                        run_id: Some(id.clone()),
                        experiment_id: Some(exp.clone()),
                        run_name: Some("parent-run".into()),
                        params: vec![("lr".into(), "0.01".into())],
                        ..NewRun::default()
                    })
                    .unwrap();
                runs.push(id.clone());
            }
            let source = yaml_field(&meta, "source").unwrap();
            let want = versions.iter().find(|v| v["version"].as_u64() == Some(n));
            let (description, tags) = match want {
                Some(v) => (v["description"].as_str(), str_map(&v["tags"])),
                None => (None, BTreeMap::new()),
            };
            let tags: Vec<(&str, &str)> =
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let mv = catalog
                .create_model_version(name, &source, run_id.as_deref(), description, &tags)
                .unwrap();
            assert_eq!(mv.version, n, "versions are numbered 1, 2, 3 per model");
            if want.is_none() {
                assert_eq!(
                    yaml_field(&meta, "current_stage").unwrap(),
                    "Deleted_Internal"
                );
                catalog.delete_model_version(name, n).unwrap();
            }
        }
        for v in versions {
            if v["current_stage"] == "Archived" {
                let n = v["version"].as_u64().unwrap();
                catalog
                    .transition_model_version_stage(name, n, "production", false)
                    .unwrap();
            }
        }
        for v in versions {
            let n = v["version"].as_u64().unwrap();
            match v["current_stage"].as_str().unwrap() {
                "Production" => {
                    catalog
                        .transition_model_version_stage(name, n, "Production", true)
                        .unwrap();
                }
                "Archived" | "None" => {}
                other => {
                    catalog
                        .transition_model_version_stage(name, n, other, false)
                        .unwrap();
                }
            }
        }
        for (alias, version) in str_map(&m["aliases"]) {
            catalog
                .set_registered_model_alias(name, &alias, version.parse().unwrap())
                .unwrap();
        }
    }
}

fn check_version(got: &ModelVersion, want: &Value) {
    let what = format!("{} v{}", got.name, got.version);
    assert_eq!(got.version, want["version"].as_u64().unwrap(), "{what}");
    assert_eq!(got.current_stage.as_str(), want["current_stage"], "{what}");
    assert_eq!(
        got.description.as_deref(),
        want["description"].as_str(),
        "{what}"
    );
    assert_eq!(got.run_id.as_deref(), want["run_id"].as_str(), "{what}");
    assert_eq!(got.source, want["source"].as_str().unwrap(), "{what}");
    assert_eq!(got.status.as_str(), want["status"], "{what}");
    assert_eq!(got.tags, str_map(&want["tags"]), "{what}");
    let aliases: Vec<&str> = want["aliases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(got.aliases, aliases, "{what}");
}

fn check_model(catalog: &Catalog, got: &RegisteredModel, want: &Value) {
    let name = want["name"].as_str().unwrap();
    assert_eq!(got.name, name);
    assert_eq!(
        got.description.as_deref(),
        want["description"].as_str(),
        "{name}"
    );
    assert_eq!(got.tags, str_map(&want["tags"]), "{name}");
    let aliases: BTreeMap<String, u64> = str_map(&want["aliases"])
        .into_iter()
        .map(|(a, v)| (a, v.parse().unwrap()))
        .collect();
    assert_eq!(got.aliases, aliases, "{name}");
    let mut latest: Vec<(String, u64)> = got
        .latest_versions
        .iter()
        .map(|v| (v.current_stage.to_string(), v.version))
        .collect();
    latest.sort();
    let want_latest: Vec<(String, u64)> = want["latest_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().into(), p[1].as_u64().unwrap()))
        .collect();
    assert_eq!(latest, want_latest, "{name}");
    assert!(got.last_updated_timestamp >= got.creation_timestamp);
    let versions = catalog
        .search_model_versions(
            Some(&format!("name = '{name}'")),
            &["version_number"],
            100,
            None,
        )
        .unwrap()
        .items;
    let want_versions = want["versions"].as_array().unwrap();
    assert_eq!(versions.len(), want_versions.len(), "{name}: live versions");
    for (got, want) in versions.iter().zip(want_versions) {
        check_version(got, want);
    }
}

fn check_all(catalog: &Catalog) {
    let page = catalog
        .search_registered_models(None, &[], 100, None)
        .unwrap();
    let want = expected();
    let want_models = want["registered_models"].as_array().unwrap();
    let names: Vec<&str> = page.items.iter().map(|m| m.name.as_str()).collect();
    let want_names: Vec<&str> = want_models
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, want_names, "search_registered_models orders by name");
    for (got, want) in page.items.iter().zip(want_models) {
        check_model(catalog, got, want);
    }
    // What MLflow's own URIs resolve to on this registry.
    let resolve = |uri: &str| catalog.resolve_model_uri(uri).map(|v| v.version);
    assert_eq!(resolve("models:/tiny-model/Production").unwrap(), 2);
    assert_eq!(resolve("models:/tiny-model/archived").unwrap(), 1);
    assert_eq!(resolve("models:/tiny-model/latest").unwrap(), 2);
    assert_eq!(resolve("models:/tiny-model@baseline").unwrap(), 1);
    assert_eq!(resolve("models:/tiny-model@champion").unwrap(), 2);
    assert_eq!(resolve("models:/tiny-model/1").unwrap(), 1);
    let deleted = resolve("models:/tiny-model/3").unwrap_err().to_string();
    assert!(
        deleted.contains("has no version 3") && deleted.contains("deleted: 3"),
        "{deleted}"
    );
    let staging = resolve("models:/tiny-model/Staging")
        .unwrap_err()
        .to_string();
    assert!(
        staging.contains("no version in stage \"Staging\""),
        "{staging}"
    );
    let empty = resolve("models:/empty-model/latest")
        .unwrap_err()
        .to_string();
    assert!(empty.contains("\"empty-model\" has no version"), "{empty}");
}

#[test]
fn the_fixture_registry_reads_back_as_mlflow_read_it() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open(dir.path()).unwrap();
    build(&catalog);
    check_all(&catalog);

    // Lineage: the version, its run with params and tags, in one call.
    let lineage = catalog
        .model_version_lineage("models:/tiny-model@champion")
        .unwrap();
    assert_eq!(lineage.version.version, 2);
    let run = lineage.run.expect("version 2 names its run");
    assert_eq!(run.run_id, "0cdda0c0b2cf49fd806477d796fe9291");
    assert_eq!(run.params["lr"], "0.01");
    assert_eq!(run.run_name, "parent-run");

    // Numbering continues after the deleted version 3, as MLflow's does.
    let v4 = catalog
        .create_model_version("tiny-model", "s3://bucket/m", None, None, &[])
        .unwrap();
    assert_eq!(v4.version, 4);
    assert_eq!(v4.current_stage.as_str(), "None");
    catalog.delete_model_version("tiny-model", 4).unwrap();

    drop(catalog);
    let reopened = Catalog::open(dir.path()).unwrap();
    check_all(&reopened);
    drop(reopened);
    let rebuilt = Catalog::rebuild(dir.path()).unwrap();
    check_all(&rebuilt);
    drop(rebuilt);
    let read_only = Catalog::open_read_only(dir.path()).unwrap();
    check_all(&read_only);
}
