//! Exports a store with every kind of experiment, run and metric point and checks the tree
//! against the layout and formats MLflow writes (files from `fixtures/mlruns-sample/`, written
//! by MLflow 3.17.2).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use runlog::metrics::Point;
use runlog::{NewRun, RunStatus, Store, WriterOptions};
use runlog_mlflow::{ArtifactUris, Error, ExportOptions, export};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mlruns-sample");

/// A scalar of a flat `meta.yaml`, as PyYAML's safe loader would read it.
#[derive(Debug, Clone, PartialEq)]
enum Y {
    Str(String),
    Int(i64),
    Null,
    EmptyList,
}

/// The top-level keys of a `meta.yaml` (nested mappings skipped), for the few forms MLflow
/// and the exporter write: `'…'`, `"…"`, plain strings, ints, `null`, `[]`.
fn read_meta(path: &Path) -> BTreeMap<String, Y> {
    let text = fs::read_to_string(path).unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with(' ') {
            continue;
        }
        let (key, raw) = line.split_once(':').unwrap();
        let raw = raw.trim();
        let value = if let Some(s) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
            Y::Str(s.replace("''", "'"))
        } else if let Some(s) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            let mut v = String::new();
            let mut chars = s.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    match chars.next().unwrap() {
                        'n' => v.push('\n'),
                        't' => v.push('\t'),
                        c => v.push(c),
                    }
                } else {
                    v.push(c);
                }
            }
            Y::Str(v)
        } else if raw == "null" {
            Y::Null
        } else if raw == "[]" {
            Y::EmptyList
        } else if raw.is_empty() {
            continue; // a nested mapping follows (`tags:` of a deleted experiment)
        } else if let Ok(i) = raw.parse() {
            Y::Int(i)
        } else {
            Y::Str(raw.to_string())
        };
        out.insert(key.to_string(), value);
    }
    out
}

fn kind(y: &Y) -> &'static str {
    match y {
        Y::Str(_) => "str",
        Y::Int(_) => "int",
        Y::Null => "null",
        Y::EmptyList => "list",
    }
}

/// The same keys with the same YAML types as MLflow's file (`run_uuid` added for MLflow 2).
fn assert_same_shape(ours: &BTreeMap<String, Y>, fixture: &str, extra: &[&str]) {
    let theirs = read_meta(&Path::new(FIXTURES).join(fixture));
    let mut expected: BTreeMap<&str, &str> =
        theirs.iter().map(|(k, v)| (k.as_str(), kind(v))).collect();
    for key in extra {
        expected.insert(key, "str");
    }
    // 3.x-only experiment keys MLflow 2 never wrote; optional on read.
    for key in [
        "workspace",
        "trace_location",
        "effective_trace_archival_retention",
    ] {
        expected.remove(key);
    }
    let got: BTreeMap<&str, &str> = ours.iter().map(|(k, v)| (k.as_str(), kind(v))).collect();
    assert_eq!(got, expected, "{fixture}");
}

fn s(v: &str) -> Y {
    Y::Str(v.to_string())
}

struct Built {
    store: Store,
    exp_a: String,
    exp_deleted: String,
    runs: BTreeMap<&'static str, String>,
}

fn build(dir: &Path) -> Built {
    let store = Store::open(dir.join("store")).unwrap();
    let cat = store.catalog();
    let exp_a = store.set_experiment("exp-a").unwrap().experiment_id;
    cat.set_experiment_tag(&exp_a, "team", "ml-core").unwrap();
    cat.set_experiment_tag(&exp_a, "mlflow.note.content", "Experiment A description")
        .unwrap();
    cat.set_experiment_tag(&exp_a, "nested/key", "yes").unwrap();
    let mut runs = BTreeMap::new();

    let parent = store
        .start_run(
            NewRun::in_experiment(&exp_a)
                .name("parent-run")
                .param("lr", 0.001)
                .param("use_gpu", "True")
                .param("model/depth", 3)
                .param("größe", "naïve ☃ 🚀")
                .param("with space", "a b")
                .param("empty", "")
                .tag("multiline", "line1\nline2\n")
                .tag("doomed", "yes"),
        )
        .unwrap();
    for (step, ts, v) in [
        (0, 1_700_000_000_000, f64::NAN),
        (1, 1_700_000_000_001, f64::INFINITY),
        (2, 1_700_000_000_002, f64::NEG_INFINITY),
    ] {
        parent.log_metric_at("special", step, ts, v).unwrap();
    }
    for (step, ts, v) in [
        (1, 1_700_000_000_010, 0.5),
        (1, 1_700_000_000_020, 0.6),
        (1, 1_700_000_000_020, 0.55),
        (0, 1_700_000_000_030, 0.4),
    ] {
        parent.log_metric_at("acc", step, ts, v).unwrap();
    }
    for (step, v) in [
        (-3, -0.0),
        (-3, -0.0),
        (-1, 1e16),
        (5, 1e-5),
        (5, 0.1),
        (2, 5e-324),
        (-7, 1e-7),
    ] {
        parent
            .log_metric_at("train/odd", step, 1_700_000_000_000, v)
            .unwrap();
    }
    runs.insert("parent", parent.id().to_string());
    parent.finish(RunStatus::Finished).unwrap();

    let child = store
        .start_run(
            NewRun::in_experiment(&exp_a)
                .name("child-run")
                .parent(&runs["parent"]),
        )
        .unwrap();
    child.log_metric_at("m", 0, 1_700_000_000_000, 1.0).unwrap();
    runs.insert("child", child.id().to_string());
    child.finish(RunStatus::Failed).unwrap();

    let killed = store
        .start_run(
            NewRun::in_experiment(&exp_a)
                .name("killed-run")
                .start_time(1_700_000_000_000),
        )
        .unwrap();
    runs.insert("killed", killed.id().to_string());
    killed.finish(RunStatus::Killed).unwrap();

    let running = cat
        .create_run(NewRun::in_experiment(&exp_a).name("running-run"))
        .unwrap();
    runs.insert("running", running.run_id.clone());
    let scheduled = cat
        .create_run(NewRun::in_experiment(&exp_a).name("scheduled-run"))
        .unwrap();
    cat.set_status(&scheduled.run_id, RunStatus::Scheduled, None)
        .unwrap();
    runs.insert("scheduled", scheduled.run_id.clone());

    let deleted = store
        .start_run(NewRun::in_experiment(&exp_a).name("deleted-run"))
        .unwrap();
    deleted
        .log_metric_at("m", 0, 1_700_000_000_000, 4.0)
        .unwrap();
    runs.insert("deleted", deleted.id().to_string());
    deleted.finish(RunStatus::Finished).unwrap();
    cat.delete_run(&runs["deleted"]).unwrap();

    let exp_deleted = store.set_experiment("exp-deleted").unwrap().experiment_id;
    cat.set_experiment_tag(&exp_deleted, "doomed", "yes")
        .unwrap();
    let in_deleted = store
        .start_run(NewRun::in_experiment(&exp_deleted).name("run-in-deleted-exp"))
        .unwrap();
    in_deleted
        .log_metric_at("m", 0, 1_700_000_000_000, 5.0)
        .unwrap();
    runs.insert("in_deleted", in_deleted.id().to_string());
    in_deleted.finish(RunStatus::Finished).unwrap();
    cat.delete_experiment(&exp_deleted).unwrap();

    Built {
        store,
        exp_a,
        exp_deleted,
        runs,
    }
}

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if fs::symlink_metadata(&path).unwrap().is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_store_exports_to_the_layout_and_formats_mlflow_writes() {
    let dir = tempfile::tempdir().unwrap();
    let b = build(dir.path());
    let root = dir.path().join("mlruns");
    let report = export(
        b.store.catalog(),
        b.store.metric_store(),
        &root,
        &ExportOptions::default(),
    )
    .unwrap();
    assert_eq!(report.experiments, 3); // Default, exp-a, exp-deleted
    assert_eq!(report.runs, 7);
    assert_eq!(report.metric_points, 3 + 4 + 7 + 1 + 1 + 1);
    assert!(root.join(".trash").is_dir());
    assert!(
        files_under(&root)
            .iter()
            .all(|p| !p.to_string_lossy().contains("runlog-tmp"))
    );

    // Experiments.
    let default = read_meta(&root.join("0/meta.yaml"));
    assert_same_shape(&default, "experiment-meta.yaml", &[]);
    assert_eq!(default["experiment_id"], s("0"));
    assert_eq!(default["name"], s("Default"));
    let a = read_meta(&root.join(&b.exp_a).join("meta.yaml"));
    assert_same_shape(&a, "experiment-meta.yaml", &[]);
    assert_eq!(a["experiment_id"], s(&b.exp_a));
    assert_eq!(a["name"], s("exp-a"));
    assert_eq!(a["lifecycle_stage"], s("active"));
    assert_eq!(
        fs::read(root.join(&b.exp_a).join("tags/team")).unwrap(),
        b"ml-core"
    );
    assert_eq!(
        fs::read(root.join(&b.exp_a).join("tags/nested/key")).unwrap(),
        b"yes"
    );
    assert!(!root.join(&b.exp_deleted).exists());
    let trash = root.join(".trash").join(&b.exp_deleted);
    let gone = read_meta(&trash.join("meta.yaml"));
    assert_same_shape(&gone, "deleted-experiment-meta.yaml", &[]);
    assert_eq!(gone["lifecycle_stage"], s("deleted"));
    assert_eq!(fs::read(trash.join("tags/doomed")).unwrap(), b"yes");

    // Runs: integer status codes, run_uuid = run_id, lifecycle, the required empty folders.
    let run_dir = |name: &str| root.join(&b.exp_a).join(&b.runs[name]);
    for (name, status) in [
        ("parent", 3),
        ("child", 4),
        ("killed", 5),
        ("running", 1),
        ("scheduled", 2),
    ] {
        let meta = read_meta(&run_dir(name).join("meta.yaml"));
        let fixture = if status <= 2 {
            "running-run-meta.yaml"
        } else {
            "killed-run-meta.yaml"
        };
        assert_same_shape(&meta, fixture, &["run_uuid"]);
        assert_eq!(meta["status"], Y::Int(status), "{name}");
        assert_eq!(meta["run_id"], s(&b.runs[name]));
        assert_eq!(meta["run_uuid"], s(&b.runs[name]));
        assert_eq!(meta["experiment_id"], s(&b.exp_a));
        assert_eq!(meta["lifecycle_stage"], s("active"));
        assert_eq!(meta["source_type"], Y::Int(4));
        assert_eq!(meta["tags"], Y::EmptyList);
        for sub in ["metrics", "params", "artifacts", "tags"] {
            assert!(run_dir(name).join(sub).is_dir(), "{name}/{sub}");
        }
    }
    let killed = read_meta(&run_dir("killed").join("meta.yaml"));
    assert_eq!(killed["start_time"], Y::Int(1_700_000_000_000));
    assert!(matches!(killed["end_time"], Y::Int(_)));
    assert_eq!(killed["run_name"], s("killed-run"));
    assert_eq!(
        read_meta(&run_dir("running").join("meta.yaml"))["end_time"],
        Y::Null
    );
    let deleted = read_meta(&run_dir("deleted").join("meta.yaml"));
    assert_same_shape(&deleted, "deleted-run-meta.yaml", &["run_uuid"]);
    assert_eq!(deleted["lifecycle_stage"], s("deleted"));
    let in_trash = read_meta(&trash.join(&b.runs["in_deleted"]).join("meta.yaml"));
    assert_same_shape(&in_trash, "deleted-run-meta.yaml", &["run_uuid"]);
    assert_eq!(in_trash["lifecycle_stage"], s("deleted"));
    assert_eq!(
        fs::read(trash.join(&b.runs["in_deleted"]).join("metrics/m")).unwrap(),
        b"1700000000000 5.0 0\n"
    );

    // Params and tags: one file per key, the value as is, `/` as folders.
    let parent = run_dir("parent");
    for (key, value) in [
        ("lr", "0.001"),
        ("use_gpu", "True"),
        ("model/depth", "3"),
        ("größe", "naïve ☃ 🚀"),
        ("with space", "a b"),
        ("empty", ""),
    ] {
        assert_eq!(
            fs::read_to_string(parent.join("params").join(key)).unwrap(),
            value,
            "{key}"
        );
    }
    assert_eq!(
        fs::read(parent.join("tags/multiline")).unwrap(),
        b"line1\nline2\n"
    );
    assert_eq!(
        fs::read(parent.join("tags/mlflow.runName")).unwrap(),
        b"parent-run"
    );
    assert_eq!(
        fs::read_to_string(run_dir("child").join("tags/mlflow.parentRunId")).unwrap(),
        b.runs["parent"]
    );

    // Metrics: every point, arrival order, Python's float spelling — as MLflow wrote them.
    assert_eq!(
        fs::read(parent.join("metrics/special")).unwrap(),
        fs::read(Path::new(FIXTURES).join("metric-special")).unwrap()
    );
    assert_eq!(
        fs::read(parent.join("metrics/acc")).unwrap(),
        fs::read(Path::new(FIXTURES).join("metric-acc")).unwrap()
    );
    assert_eq!(
        fs::read_to_string(parent.join("metrics/train/odd")).unwrap(),
        "1700000000000 -0.0 -3\n1700000000000 -0.0 -3\n1700000000000 1e+16 -1\n\
         1700000000000 1e-05 5\n1700000000000 0.1 5\n1700000000000 5e-324 2\n\
         1700000000000 1e-07 -7\n"
    );
    // A run without points has no metric files (MLflow cannot read an empty one).
    assert_eq!(
        fs::read_dir(run_dir("killed").join("metrics"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn artifact_uris_point_into_the_export_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let b = build(dir.path());
    let root = dir.path().join("mlruns");
    let mut options = ExportOptions::default();
    options.artifact_uris = ArtifactUris::Export;
    export(b.store.catalog(), b.store.metric_store(), &root, &options).unwrap();
    let abs = std::path::absolute(&root).unwrap();
    let exp = read_meta(&root.join(&b.exp_a).join("meta.yaml"));
    assert_eq!(
        exp["artifact_location"],
        s(&format!("file://{}/{}", abs.display(), b.exp_a))
    );
    let run = read_meta(
        &root
            .join(&b.exp_a)
            .join(&b.runs["parent"])
            .join("meta.yaml"),
    );
    assert_eq!(
        run["artifact_uri"],
        s(&format!(
            "file://{}/{}/{}/artifacts",
            abs.display(),
            b.exp_a,
            b.runs["parent"]
        ))
    );
}

#[test]
fn a_folder_that_is_not_empty_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let root = dir.path().join("mlruns");
    fs::create_dir(&root).unwrap();
    fs::write(root.join("keep"), b"mine").unwrap();
    let err = export(
        store.catalog(),
        store.metric_store(),
        &root,
        &ExportOptions::default(),
    );
    assert!(matches!(err, Err(Error::TargetNotEmpty(_))), "{err:?}");
    assert_eq!(fs::read(root.join("keep")).unwrap(), b"mine");
}

#[test]
fn a_file_or_a_link_as_the_export_folder_is_refused_with_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let refused = |target: &std::path::Path| {
        export(
            store.catalog(),
            store.metric_store(),
            target,
            &ExportOptions::default(),
        )
        .unwrap_err()
    };
    let file = dir.path().join("mlruns.txt");
    fs::write(&file, b"mine").unwrap();
    let err = refused(&file);
    assert!(
        matches!(err, Error::TargetNotFolder { what: "a file", .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("is a file, not a folder"), "{err}");
    assert_eq!(fs::read(&file).unwrap(), b"mine");

    let real = dir.path().join("real");
    fs::create_dir(&real).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let err = refused(&link);
    assert!(
        matches!(
            err,
            Error::TargetNotFolder {
                what: "a symbolic link",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("never follows links"), "{err}");
    assert_eq!(fs::read_dir(&real).unwrap().count(), 0);
}

/// Metric keys go through the metric store's writer, which checks nothing: the exporter is
/// the last line of defence. Each hostile key is refused with an error naming it, and nothing
/// appears outside the export folder.
#[test]
fn hostile_metric_keys_never_write_outside_the_export() {
    let hostile = [
        "../escape",
        "../../escape",
        "/etc/escape",
        "a/../../escape",
        "a//b",
        "a/./b",
        "a/",
        ".",
        "..",
        "..foo",
        "./a",
        "nul\0byte",
        "back\\slash",
        "star*",
        "emoji🚀",
        "ok/../../../../tmp/escape",
    ];
    for (i, key) in hostile.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = dir.path().join("sandbox");
        fs::create_dir(&sandbox).unwrap();
        let store = Store::open(dir.path().join("store")).unwrap();
        let run = store
            .catalog()
            .create_run(NewRun::in_experiment("0").name("r"))
            .unwrap();
        let writer = store
            .metric_store()
            .writer(&run.run_id, WriterOptions::default())
            .unwrap();
        writer
            .append_key(
                "fine",
                Point {
                    step: 0,
                    timestamp_ms: 1,
                    value: 1.0,
                },
            )
            .unwrap();
        writer
            .append_key(
                key,
                Point {
                    step: 0,
                    timestamp_ms: 1,
                    value: 1.0,
                },
            )
            .unwrap();
        writer.close().unwrap();

        let root = sandbox.join("export").join("mlruns");
        fs::create_dir(sandbox.join("export")).unwrap();
        let err = export(
            store.catalog(),
            store.metric_store(),
            &root,
            &ExportOptions::default(),
        )
        .expect_err(key);
        match &err {
            Error::InvalidName { name, .. } => assert_eq!(name, key, "case {i}"),
            other => panic!("case {i} {key:?}: {other}"),
        }
        assert!(err.to_string().contains("metric key of run"), "{err}");
        // Only the export folder exists in the sandbox, and nothing in it is a hostile name.
        let top: Vec<_> = fs::read_dir(&sandbox)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(top, vec!["export"]);
        let inside: Vec<_> = fs::read_dir(sandbox.join("export"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(inside, vec!["mlruns"]);
        for f in files_under(&root) {
            assert!(!f.to_string_lossy().contains("escape"), "{f:?}");
        }
        assert!(!Path::new("/etc/escape").exists());
        assert!(!dir.path().join("escape").exists());
    }
}
