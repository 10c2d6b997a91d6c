//! Importing MLflow file stores: the MLflow 3.17.2 sample tree read back field by field
//! against what MLflow itself read from it (`mlruns-sample.expected.json`), also after a
//! reopen and a rebuild from the journals; the search oracle's tree; malformed trees, links,
//! a 3-million-line metric file in bounded memory; a second import of the same tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use runlog_catalog::{Catalog, ViewType};
use runlog_metrics::MetricStore;
use runlog_mlflow::{ImportArtifacts, ImportError, ImportOptions, ImportReport, OnError, import};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn sample_tree() -> PathBuf {
    fixtures().join("mlruns-sample-tree")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("mlruns-sample.expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn open(store: &Path) -> (Catalog, MetricStore) {
    let metrics = MetricStore::open(store).unwrap();
    let catalog = Catalog::open(store).unwrap();
    (catalog, metrics)
}

fn run_import(src: &Path, store: &Path, options: &ImportOptions) -> ImportReport {
    let (catalog, metrics) = open(store);
    import(src, &catalog, &metrics, options).unwrap()
}

/// A metric value as MLflow's read-back JSON writes it: a number, or `nan`, `inf`, `-inf`.
fn float_json(v: f64) -> Value {
    if v.is_nan() {
        json!("nan")
    } else if v == f64::INFINITY {
        json!("inf")
    } else if v == f64::NEG_INFINITY {
        json!("-inf")
    } else {
        json!(v)
    }
}

/// Every difference between `want` and `got` under `path`; numbers that are floats on either
/// side are compared by their bits, strings `nan`/`inf` as such.
fn diff(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                match b.get(k) {
                    Some(vb) => diff(&format!("{path}.{k}"), va, vb, out),
                    None => out.push(format!("{path}.{k}: missing, want {va}")),
                }
            }
            for k in b.keys() {
                if !a.contains_key(k) {
                    out.push(format!("{path}.{k}: unexpected {}", b[k]));
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                out.push(format!("{path}: {} items, want {}", b.len(), a.len()));
            }
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}[{i}]"), va, vb, out);
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            let same = match (a.as_i64(), b.as_i64()) {
                (Some(x), Some(y)) => x == y,
                _ => a.as_f64().map(f64::to_bits) == b.as_f64().map(f64::to_bits),
            };
            if !same {
                out.push(format!("{path}: {b}, want {a}"));
            }
        }
        _ => {
            if want != got {
                out.push(format!("{path}: {got}, want {want}"));
            }
        }
    }
}

fn experiments_json(catalog: &Catalog) -> Value {
    let mut exps = catalog.list_experiments(ViewType::All).unwrap();
    exps.sort_by(|a, b| a.experiment_id.cmp(&b.experiment_id));
    Value::Array(
        exps.into_iter()
            .map(|e| {
                json!({
                    "artifact_location": e.artifact_location,
                    "creation_time": e.creation_time,
                    "experiment_id": e.experiment_id,
                    "last_update_time": e.last_update_time,
                    "lifecycle_stage": e.lifecycle_stage.as_str(),
                    "name": e.name,
                    "tags": e.tags,
                })
            })
            .collect(),
    )
}

/// The runs as MLflow's read-back lists them, with what runlog cannot compare left out
/// (`artifacts_root`: the recorded URIs point at `/data/mlruns-sample`, compared with
/// `ImportArtifacts::Copy` separately; `dataset_inputs`: run inputs are not imported).
fn runs_json(store: &Path, catalog: &Catalog, ids: &[String]) -> Value {
    let metrics = MetricStore::open(store).unwrap();
    let mut out = Vec::new();
    for id in ids {
        let r = catalog.get_run(id).unwrap();
        let reader = metrics.reader(id).ok();
        let mut history = serde_json::Map::new();
        for key in r.metrics.keys() {
            let h = reader.as_ref().unwrap().history(key).unwrap();
            let points: Vec<Value> = (0..h.len())
                .map(|i| {
                    json!({
                        "key": key,
                        "step": h.steps[i],
                        "timestamp": h.timestamps_ms[i],
                        "value": float_json(h.values[i]),
                    })
                })
                .collect();
            history.insert(key.clone(), Value::Array(points));
        }
        let latest: serde_json::Map<String, Value> = r
            .metrics
            .iter()
            .map(|(k, m)| (k.clone(), float_json(m.value)))
            .collect();
        out.push(json!({
            "artifact_uri": r.artifact_uri,
            "end_time": r.end_time,
            "experiment_id": r.experiment_id,
            "latest_metrics": latest,
            "lifecycle_stage": r.lifecycle_stage.as_str(),
            "metric_history": history,
            "params": r.params,
            "run_id": r.run_id,
            "run_name": r.run_name,
            "start_time": r.start_time,
            "status": r.status.as_str(),
            "tags": r.tags,
            "user_id": r.user_id,
        }));
    }
    Value::Array(out)
}

fn registry_json(catalog: &Catalog) -> Value {
    let mut models = Vec::new();
    for entry in catalog.registry_snapshot().unwrap() {
        let m = &entry.model;
        let versions: Vec<Value> = entry
            .versions
            .iter()
            .filter(|v| !v.deleted)
            .map(|sv| {
                let v = &sv.version;
                let fields = catalog
                    .imported_version_fields(&v.name, v.version)
                    .unwrap()
                    .unwrap();
                json!({
                    "aliases": v.aliases,
                    "current_stage": v.current_stage.as_str(),
                    "description": v.description,
                    "model_id": fields.model_id,
                    "run_id": v.run_id,
                    "source": v.source,
                    "status": v.status.as_str(),
                    "tags": v.tags,
                    "version": v.version,
                })
            })
            .collect();
        // MLflow lists latest versions in an order of its own (v1 Archived before v2
        // Production here); runlog by stage. Compared by version number.
        let mut latest: Vec<_> = m.latest_versions.iter().collect();
        latest.sort_by_key(|v| v.version);
        let aliases: BTreeMap<&String, String> =
            m.aliases.iter().map(|(a, v)| (a, v.to_string())).collect();
        models.push(json!({
            "aliases": aliases,
            "creation_timestamp": m.creation_timestamp,
            "description": m.description,
            "last_updated_timestamp": m.last_updated_timestamp,
            "latest_versions": latest.iter()
                .map(|v| json!([v.current_stage.as_str(), v.version])).collect::<Vec<_>>(),
            "name": m.name,
            "tags": m.tags,
            "versions": versions,
        }));
    }
    Value::Array(models)
}

/// Compares everything `expected.json` holds (bar artifacts and dataset inputs) with what the
/// catalog and metric store read back.
fn compare_with_expected(store: &Path, catalog: &Catalog) {
    let want = expected();
    let mut problems = Vec::new();

    let mut want_exps = want["experiments"].as_array().unwrap().clone();
    want_exps.sort_by(|a, b| {
        a["experiment_id"]
            .as_str()
            .unwrap()
            .cmp(b["experiment_id"].as_str().unwrap())
    });
    diff(
        "experiments",
        &Value::Array(want_exps),
        &experiments_json(catalog),
        &mut problems,
    );

    let mut want_runs: Vec<Value> = want["runs"].as_array().unwrap().clone();
    want_runs.sort_by(|a, b| {
        a["run_id"]
            .as_str()
            .unwrap()
            .cmp(b["run_id"].as_str().unwrap())
    });
    for r in &mut want_runs {
        let o = r.as_object_mut().unwrap();
        o.remove("artifacts_root");
        o.remove("dataset_inputs");
    }
    let ids: Vec<String> = want_runs
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(catalog.run_count().unwrap(), ids.len() as u64);
    diff(
        "runs",
        &Value::Array(want_runs),
        &runs_json(store, catalog, &ids),
        &mut problems,
    );

    let mut want_models = want["registered_models"].as_array().unwrap().clone();
    want_models.sort_by(|a, b| a["name"].as_str().unwrap().cmp(b["name"].as_str().unwrap()));
    for m in &mut want_models {
        m["latest_versions"]
            .as_array_mut()
            .unwrap()
            .sort_by_key(|v| v[1].as_u64());
    }
    diff(
        "registered_models",
        &Value::Array(want_models),
        &registry_json(catalog),
        &mut problems,
    );

    // What the read-back does not hold, from the tree's meta.yaml files.
    let deleted = catalog.get_run("5bc9046ee87743f491f984b405d21df2").unwrap();
    if deleted.deleted_time != Some(1795437518269) {
        problems.push(format!(
            "deleted run's deleted_time {:?}",
            deleted.deleted_time
        ));
    }
    let in_deleted_exp = catalog.get_run("d6fa78c448794af6ad8507fa161ee868").unwrap();
    if in_deleted_exp.deleted_time != Some(1795437518309) {
        problems.push(format!(
            "deleted_time of the run in the deleted experiment {:?}",
            in_deleted_exp.deleted_time
        ));
    }
    let snapshot = catalog.registry_snapshot().unwrap();
    let tiny = snapshot
        .iter()
        .find(|e| e.model.name == "tiny-model")
        .unwrap();
    let times: Vec<(u64, i64, i64, bool)> = tiny
        .versions
        .iter()
        .map(|v| {
            (
                v.version.version,
                v.version.creation_timestamp,
                v.version.last_updated_timestamp,
                v.deleted,
            )
        })
        .collect();
    let want_times = vec![
        (1, 1795437519394, 1795437519426, false),
        (2, 1795437519404, 1795437519426, false),
        (3, 1795437519445, 1795437519450, true),
    ];
    if times != want_times {
        problems.push(format!(
            "tiny-model versions {times:?}, want {want_times:?}"
        ));
    }
    let v2 = catalog
        .imported_version_fields("tiny-model", 2)
        .unwrap()
        .unwrap();
    if v2.storage_location.as_deref()
        != Some(
            "file:///data/mlruns-sample/318869208966481661/models/m-e870c220f0e24e7b9574af2ebe7b38a5/artifacts",
        )
        || v2.status != "READY"
    {
        problems.push(format!("tiny-model v2 imported fields {v2:?}"));
    }
    // A new version continues after the deleted one.
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_sample_tree_reads_back_as_mlflow_read_it_also_after_reopen_and_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let report = run_import(&sample_tree(), &store, &ImportOptions::default());
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    assert_eq!(report.experiments, 4);
    assert_eq!(report.runs, 9);
    assert_eq!(report.registered_models, 2);
    assert_eq!(report.model_versions, 3);
    assert_eq!(report.artifact_files, 0);
    let want = expected();
    let runs = want["runs"].as_array().unwrap();
    let count = |field: &str| -> u64 {
        runs.iter()
            .map(|r| r[field].as_object().unwrap().len() as u64)
            .sum()
    };
    assert_eq!(report.metric_keys, count("latest_metrics"));
    assert_eq!(report.params, count("params"));
    let points: u64 = runs
        .iter()
        .flat_map(|r| r["metric_history"].as_object().unwrap().values())
        .map(|h| h.as_array().unwrap().len() as u64)
        .sum();
    assert_eq!(report.metric_points, points);

    {
        let (catalog, _) = open(&store);
        compare_with_expected(&store, &catalog);
    }
    // Reopened: the same.
    {
        let (catalog, _) = open(&store);
        compare_with_expected(&store, &catalog);
    }
    // Rebuilt from the journals and the metric segments: the same.
    {
        let catalog = Catalog::rebuild(&store).unwrap();
        compare_with_expected(&store, &catalog);
    }
    // The imported registry goes on as MLflow's would: the next version is 4.
    let (catalog, _) = open(&store);
    let v = catalog
        .create_model_version(
            "tiny-model",
            "runs:/0cdda0c0b2cf49fd806477d796fe9291/m",
            None,
            None,
            &[],
        )
        .unwrap();
    assert_eq!(v.version, 4);
}

#[test]
fn copied_artifacts_are_listed_as_mlflow_listed_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let report = run_import(
        &sample_tree(),
        &store,
        &ImportOptions::default().artifacts(ImportArtifacts::Copy),
    );
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    // Every file under a run's artifacts/ in the source.
    let files = std::process::Command::new("find")
        .arg(sample_tree())
        .args([
            "-path",
            "*/artifacts/*",
            "-type",
            "f",
            "-not",
            "-path",
            "*/traces/*",
            "-not",
            "-path",
            "*/models/*",
        ])
        .output()
        .unwrap();
    let n = String::from_utf8(files.stdout).unwrap().lines().count() as u64;
    assert!(n >= 20, "{n}");
    assert_eq!(report.artifact_files, n);
    let (catalog, _) = open(&store);
    for r in expected()["runs"].as_array().unwrap() {
        let id = r["run_id"].as_str().unwrap();
        let run = catalog.get_run(id).unwrap();
        let want_uri = catalog
            .default_artifact_uri(&run.experiment_id, id)
            .unwrap();
        assert_eq!(run.artifact_uri, want_uri);
        let repo = runlog_artifacts::ArtifactRepo::from_uri(&run.artifact_uri).unwrap();
        let listed: Vec<String> = repo
            .list_artifacts(None)
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        let mut want: Vec<String> = r["artifacts_root"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let src = sample_tree();
        let exp_dir = if run.experiment_id == "470290106202991852" {
            // MLflow listed nothing for the run of the deleted experiment: its recorded URI
            // points where the experiment was before it moved to .trash. The copy takes the
            // files the tree holds.
            assert!(want.is_empty());
            want = vec!["notes.txt".into(), "reports".into()];
            src.join(".trash").join(&run.experiment_id)
        } else {
            src.join(&run.experiment_id)
        };
        assert_eq!(listed, want, "run {id}");
        let want_notes = std::fs::read(exp_dir.join(id).join("artifacts/notes.txt")).unwrap();
        assert_eq!(repo.read("notes.txt").unwrap(), want_notes);
    }
}

#[test]
fn a_second_import_reports_what_is_there_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    run_import(&sample_tree(), &store, &ImportOptions::default());
    let again = run_import(&sample_tree(), &store, &ImportOptions::default());
    assert_eq!(
        (
            again.experiments,
            again.runs,
            again.registered_models,
            again.metric_points
        ),
        (0, 0, 0, 0)
    );
    // 4 experiments, 9 runs, 2 models reported.
    assert_eq!(again.problems.len(), 4 + 9 + 2, "{:#?}", again.problems);
    for p in &again.problems {
        assert!(p.reason.contains("exists"), "{p:?}");
    }
    let (catalog, metrics) = open(&store);
    assert_eq!(catalog.run_count().unwrap(), 9);
    compare_with_expected(&store, &catalog);
    // Not a point more.
    let h = metrics
        .reader("0cdda0c0b2cf49fd806477d796fe9291")
        .unwrap()
        .history("loss")
        .unwrap();
    assert_eq!(h.len(), 5);

    // With Stop, the first one stops it.
    let err = import(
        &sample_tree(),
        &catalog,
        &metrics,
        &ImportOptions::default().on_error(OnError::Stop),
    )
    .unwrap_err();
    assert!(matches!(err, ImportError::Stopped { .. }), "{err}");
}

// ---------------------------------------------------------------------------------------
// The search oracle's tree

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_search_oracle_tree_imports_and_answers_mlflows_searches() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let src = fixtures().join("mlflow-search-mlruns/mlruns");
    let report = run_import(&src, &store, &ImportOptions::default());
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    let dataset: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("mlflow-search-mlruns/dataset.json")).unwrap(),
    )
    .unwrap();
    let runs = dataset["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 60);
    assert_eq!(report.runs, 60);
    let (catalog, metrics) = open(&store);
    assert_eq!(catalog.run_count().unwrap(), 60);
    for e in dataset["experiments"].as_array().unwrap() {
        let got = catalog
            .get_experiment(e["experiment_id"].as_str().unwrap())
            .unwrap();
        assert_eq!(got.name, e["name"].as_str().unwrap());
        assert_eq!(
            got.artifact_location,
            e["artifact_location"].as_str().unwrap()
        );
        assert_eq!(
            got.lifecycle_stage.as_str(),
            e["lifecycle_stage"].as_str().unwrap()
        );
    }
    let mut failures = Vec::new();
    for r in runs {
        let id = r["run_id"].as_str().unwrap();
        let got = catalog.get_run(id).unwrap();
        let label = r["label"].as_str().unwrap();
        let mut check = |what: &str, want: Value, have: Value| {
            if want != have {
                failures.push(format!("{label} {what}: {have}, want {want}"));
            }
        };
        check("run_name", r["run_name"].clone(), json!(got.run_name));
        check("status", r["status"].clone(), json!(got.status.as_str()));
        check("user_id", r["user_id"].clone(), json!(got.user_id));
        check("start_time", r["start_time"].clone(), json!(got.start_time));
        check("end_time", r["end_time"].clone(), json!(got.end_time));
        check(
            "lifecycle_stage",
            r["lifecycle_stage"].clone(),
            json!(got.lifecycle_stage.as_str()),
        );
        check(
            "artifact_uri",
            r["artifact_uri"].clone(),
            json!(got.artifact_uri),
        );
        check("params", r["params"].clone(), json!(got.params));
        check("tags", r["tags"].clone(), json!(got.tags));
        let want_metrics = r["metrics"].as_object().unwrap();
        assert_eq!(want_metrics.len(), got.metrics.len(), "{label}");
        let reader = metrics.reader(id).unwrap();
        for (key, points) in want_metrics {
            // [step, timestamp, value] in logging order; latest = max (step, timestamp, value).
            let points: Vec<(i64, i64, f64)> = points
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p[0].as_i64().unwrap(),
                        p[1].as_i64().unwrap(),
                        match &p[2] {
                            Value::String(s) => s.parse::<f64>().unwrap(),
                            v => v.as_f64().unwrap(),
                        },
                    )
                })
                .collect();
            // Python's max over tuples: a later point wins only when strictly greater (NaN
            // never is), as Rust's tuple `>` does.
            let latest = points
                .iter()
                .copied()
                .reduce(|a, b| if b > a { b } else { a })
                .unwrap();
            let m = got.metrics[key];
            assert_eq!(
                (m.step, m.timestamp_ms, m.value.to_bits()),
                (latest.0, latest.1, latest.2.to_bits()),
                "{label} {key}"
            );
            let h = reader.history(key).unwrap();
            let have: Vec<(i64, i64, u64)> = (0..h.len())
                .map(|i| (h.steps[i], h.timestamps_ms[i], h.values[i].to_bits()))
                .collect();
            let want: Vec<(i64, i64, u64)> =
                points.iter().map(|p| (p.0, p.1, p.2.to_bits())).collect();
            assert_eq!(have, want, "{label} {key}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Every recorded case, page by page.
    let cases: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../runlog-search/tests/fixtures/mlflow-search/cases.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let cases = cases["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 46);
    let mut failures = Vec::new();
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let exps = strings(&case["experiment_ids"]);
        let exps: Vec<&str> = exps.iter().map(String::as_str).collect();
        let order = strings(&case["order_by"]);
        let order: Vec<&str> = order.iter().map(String::as_str).collect();
        let view = match case["run_view_type"].as_str().unwrap() {
            "ACTIVE_ONLY" => ViewType::ActiveOnly,
            "DELETED_ONLY" => ViewType::DeletedOnly,
            _ => ViewType::All,
        };
        let want: Vec<Vec<String>> = case["expected"]["pages"]
            .as_array()
            .unwrap()
            .iter()
            .map(strings)
            .collect();
        let mut pages = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = catalog
                .search_runs(
                    &exps,
                    case["filter_string"].as_str(),
                    view,
                    &order,
                    case["max_results"].as_u64().unwrap() as usize,
                    token.as_deref(),
                )
                .unwrap();
            pages.push(
                page.runs
                    .iter()
                    .map(|r| r.run_id.clone())
                    .collect::<Vec<_>>(),
            );
            match page.next_page_token {
                Some(t) => token = Some(t),
                None => break,
            }
            assert!(pages.len() < 1000);
        }
        if pages != want {
            failures.push(format!("{id}: {pages:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn progress_is_reported_after_every_experiment_and_run() {
    use std::sync::{Arc, Mutex};
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let dir = tempfile::tempdir().unwrap();
    let options = ImportOptions::default().progress(move |p| sink.lock().unwrap().push(*p));
    let report = run_import(&sample_tree(), &dir.path().join("store"), &options);
    let seen = seen.lock().unwrap();
    // One call per experiment and one per run.
    assert_eq!(seen.len(), 4 + 9);
    for pair in seen.windows(2) {
        assert!(pair[1].experiments_done >= pair[0].experiments_done);
        assert!(pair[1].runs_done >= pair[0].runs_done);
        assert!(pair[1].metric_points >= pair[0].metric_points);
    }
    let last = seen.last().unwrap();
    assert_eq!((last.experiments_done, last.experiments_total), (4, 4));
    assert_eq!((last.runs_done, last.runs_total), (9, 9));
    assert_eq!(last.metric_points, report.metric_points);
}
