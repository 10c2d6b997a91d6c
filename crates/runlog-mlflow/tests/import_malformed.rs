//! Malformed MLflow trees (one mutation of the sample tree each, as in §14 of the file-store
//! spec): what MLflow would refuse is skipped and reported with its path while the rest
//! imports, and with `OnError::Stop` the import stops with that path; what MLflow tolerates
//! imports as MLflow reads it. Symbolic links anywhere are never followed.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use runlog_catalog::{Catalog, LifecycleStage, RunStatus};
use runlog_metrics::MetricStore;
use runlog_mlflow::{ImportError, ImportOptions, ImportReport, OnError, import};

const EXP_A: &str = "318869208966481661";
const EXP_B: &str = "983512931081031985";
const B_RUN: &str = "fd048149e688489282d06e89ad64e9c2";
const ALL_RUNS: u64 = 9;

fn sample_tree() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mlruns-sample-tree")
}

/// Copies a tree, files written anew (the fixture's files may be read-only).
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            fs::write(&dest, fs::read(e.path()).unwrap()).unwrap();
        }
    }
}

struct Case {
    _dir: tempfile::TempDir,
    src: PathBuf,
    outside: PathBuf,
    store: PathBuf,
}

fn case() -> Case {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("mlruns");
    copy_tree(&sample_tree(), &src);
    let outside = dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    let store = dir.path().join("store");
    Case {
        src,
        outside,
        store,
        _dir: dir,
    }
}

impl Case {
    fn path(&self, rel: &str) -> PathBuf {
        self.src.join(rel)
    }

    fn write(&self, rel: &str, bytes: &[u8]) {
        fs::write(self.path(rel), bytes).unwrap();
    }

    /// Replaces `key: ...` lines of a meta.yaml (or removes them when `value` is None).
    fn set_meta(&self, rel: &str, key: &str, value: Option<&str>) {
        let path = self.path(rel);
        let text = fs::read_to_string(&path).unwrap();
        let mut out = String::new();
        let mut found = false;
        for line in text.lines() {
            if line.starts_with(&format!("{key}:")) {
                found = true;
                if let Some(v) = value {
                    out.push_str(&format!("{key}: {v}\n"));
                }
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        if !found && let Some(v) = value {
            out.push_str(&format!("{key}: {v}\n"));
        }
        fs::write(&path, out).unwrap();
    }

    fn import(&self, on_error: OnError) -> Result<ImportReport, ImportError> {
        let metrics = MetricStore::open(&self.store).unwrap();
        let catalog = Catalog::open(&self.store).unwrap();
        import(
            &self.src,
            &catalog,
            &metrics,
            &ImportOptions::default().on_error(on_error),
        )
    }

    fn catalog(&self) -> Catalog {
        Catalog::open(&self.store).unwrap()
    }
}

/// Imports with Skip: exactly one problem, at `path`, whose reason contains `why`; `runs`
/// runs imported. Then, into a fresh store, with Stop: the error names `path`.
#[track_caller]
fn skipped(c: &Case, path: &Path, why: &str, runs: u64) -> ImportReport {
    let report = c.import(OnError::Skip).unwrap();
    assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
    let p = &report.problems[0];
    assert_eq!(p.path, path, "{p:?}");
    assert!(p.reason.contains(why), "{p:?} should say {why:?}");
    assert_eq!(report.runs, runs, "{report:#?}");
    assert_eq!(c.catalog().run_count().unwrap(), runs);

    let fresh = tempfile::tempdir().unwrap();
    let metrics = MetricStore::open(fresh.path()).unwrap();
    let catalog = Catalog::open(fresh.path()).unwrap();
    let err = import(
        &c.src,
        &catalog,
        &metrics,
        &ImportOptions::default().on_error(OnError::Stop),
    )
    .unwrap_err();
    match err {
        ImportError::Stopped { path: at, reason } => {
            assert_eq!(at, path);
            assert!(reason.contains(why), "{reason}");
        }
        other => panic!("{other}"),
    }
    report
}

// ---------------------------------------------------------------------------------------
// What MLflow refuses: skipped and reported

#[test]
fn experiments_mlflow_cannot_read_are_skipped_with_their_runs() {
    let c = case();
    fs::remove_file(c.path(&format!("{EXP_B}/meta.yaml"))).unwrap();
    skipped(&c, &c.path(EXP_B), "no meta.yaml", ALL_RUNS - 1);

    let c = case();
    c.write(&format!("{EXP_B}/meta.yaml"), b"");
    skipped(
        &c,
        &c.path(&format!("{EXP_B}/meta.yaml")),
        "empty",
        ALL_RUNS - 1,
    );

    let c = case();
    c.set_meta(
        &format!("{EXP_B}/meta.yaml"),
        "experiment_id",
        Some("'111'"),
    );
    skipped(
        &c,
        &c.path(&format!("{EXP_B}/meta.yaml")),
        "differs",
        ALL_RUNS - 1,
    );

    for key in [
        "name",
        "artifact_location",
        "lifecycle_stage",
        "experiment_id",
    ] {
        let c = case();
        c.set_meta(&format!("{EXP_B}/meta.yaml"), key, None);
        skipped(
            &c,
            &c.path(&format!("{EXP_B}/meta.yaml")),
            key,
            ALL_RUNS - 1,
        );
    }

    let c = case();
    c.set_meta(
        &format!("{EXP_B}/meta.yaml"),
        "lifecycle_stage",
        Some("archived"),
    );
    skipped(
        &c,
        &c.path(&format!("{EXP_B}/meta.yaml")),
        "archived",
        ALL_RUNS - 1,
    );

    // Stray folders in the root.
    let c = case();
    fs::create_dir(c.path("foo")).unwrap();
    skipped(&c, &c.path("foo"), "no meta.yaml", ALL_RUNS);
    let c = case();
    fs::create_dir(c.path(".ipynb_checkpoints")).unwrap();
    skipped(
        &c,
        &c.path(".ipynb_checkpoints"),
        "not an experiment id",
        ALL_RUNS,
    );

    // An id runlog cannot hold (MLflow's regex takes it).
    let c = case();
    fs::rename(c.path(EXP_B), c.path("exp_b")).unwrap();
    c.set_meta("exp_b/meta.yaml", "experiment_id", Some("exp_b"));
    skipped(
        &c,
        &c.path("exp_b/meta.yaml"),
        "experiment id",
        ALL_RUNS - 1,
    );

    // Not YAML at all.
    let c = case();
    c.write(&format!("{EXP_B}/meta.yaml"), b"name: [unclosed\n\t- :");
    skipped(
        &c,
        &c.path(&format!("{EXP_B}/meta.yaml")),
        "YAML",
        ALL_RUNS - 1,
    );
}

#[test]
fn runs_mlflow_cannot_read_are_skipped_alone() {
    let meta = format!("{EXP_B}/{B_RUN}/meta.yaml");
    let c = case();
    fs::remove_file(c.path(&meta)).unwrap();
    skipped(
        &c,
        &c.path(&format!("{EXP_B}/{B_RUN}")),
        "no meta.yaml",
        ALL_RUNS - 1,
    );

    let c = case();
    c.set_meta(&meta, "experiment_id", Some(&format!("'{EXP_A}'")));
    skipped(&c, &c.path(&meta), "differs", ALL_RUNS - 1);

    let c = case();
    c.set_meta(&meta, "run_id", Some("0cdda0c0b2cf49fd806477d796fe9299"));
    skipped(&c, &c.path(&meta), "differs", ALL_RUNS - 1);

    for key in [
        "user_id",
        "start_time",
        "end_time",
        "run_id",
        "experiment_id",
    ] {
        let c = case();
        c.set_meta(&meta, key, None);
        skipped(&c, &c.path(&meta), key, ALL_RUNS - 1);
    }

    let c = case();
    c.set_meta(&meta, "status", Some("FINISHED"));
    skipped(&c, &c.path(&meta), "status", ALL_RUNS - 1);

    let c = case();
    c.set_meta(&meta, "lifecycle_stage", Some("archived"));
    skipped(&c, &c.path(&meta), "archived", ALL_RUNS - 1);

    let rmse = format!("{EXP_B}/{B_RUN}/metrics/rmse");
    for (bytes, why) in [
        (&b""[..], "empty"),
        (b"1700000000000\n", "1 fields"),
        (b"1700000000000 1.0 0 x\n", "4 fields"),
        (b"1700000000000 1.0 0\n\n1700000000001 1.0 1\n", "line 2"),
        (b"1700000000000  1.0 0\n", "fields"),
        (b"1700000000000.0 1.0 0\n", "timestamp"),
        (b"1700000000000 one 0\n", "value"),
        (b"1700000000000 1.0 1180591620717411303424\n", "step"),
        (b"1700000000000 1.0 1.5\n", "step"),
    ] {
        let c = case();
        c.write(&rmse, bytes);
        skipped(&c, &c.path(&rmse), why, ALL_RUNS - 1);
    }

    // An invalid key under params, invalid UTF-8 in a value.
    let c = case();
    c.write(&format!("{EXP_B}/{B_RUN}/params/bad*name"), b"1");
    skipped(
        &c,
        &c.path(&format!("{EXP_B}/{B_RUN}/params/bad*name")),
        "invalid key",
        ALL_RUNS - 1,
    );
    let c = case();
    c.write(&format!("{EXP_B}/{B_RUN}/tags/t"), b"\xff\xfe");
    skipped(
        &c,
        &c.path(&format!("{EXP_B}/{B_RUN}/tags/t")),
        "UTF-8",
        ALL_RUNS - 1,
    );
    // A key with `..` as a folder.
    let c = case();
    fs::create_dir_all(c.path(&format!("{EXP_B}/{B_RUN}/params/a/.. b"))).unwrap();
    c.write(&format!("{EXP_B}/{B_RUN}/params/a/.. b/c"), b"1");
    let report = c.import(OnError::Skip).unwrap();
    assert_eq!(report.runs, ALL_RUNS, "a `.. b` part is a legal key");
    // A run id runlog cannot hold.
    let c = case();
    let odd = "B-run-Not-Hex";
    fs::rename(
        c.path(&format!("{EXP_B}/{B_RUN}")),
        c.path(&format!("{EXP_B}/{odd}")),
    )
    .unwrap();
    c.set_meta(&format!("{EXP_B}/{odd}/meta.yaml"), "run_id", Some(odd));
    skipped(
        &c,
        &c.path(&format!("{EXP_B}/{odd}/meta.yaml")),
        "run id",
        ALL_RUNS - 1,
    );
}

#[test]
fn registered_models_mlflow_cannot_read_are_skipped() {
    let c = case();
    fs::remove_file(c.path("models/tiny-model/meta.yaml")).unwrap();
    let r = skipped(&c, &c.path("models/tiny-model"), "no meta.yaml", ALL_RUNS);
    assert_eq!(r.registered_models, 1);
    let models = c.catalog().registry_snapshot().unwrap();
    assert_eq!(models.len(), 1);
    assert_eq!(models[0].model.name, "empty-model");

    let c = case();
    fs::remove_file(c.path("models/tiny-model/version-2/meta.yaml")).unwrap();
    skipped(
        &c,
        &c.path("models/tiny-model/version-2"),
        "no meta.yaml",
        ALL_RUNS,
    );
    assert!(c.catalog().get_registered_model("tiny-model").is_err());

    let c = case();
    c.set_meta(
        "models/tiny-model/version-2/meta.yaml",
        "current_stage",
        Some("Limbo"),
    );
    skipped(
        &c,
        &c.path("models/tiny-model/version-2/meta.yaml"),
        "Limbo",
        ALL_RUNS,
    );
}

// ---------------------------------------------------------------------------------------
// What MLflow tolerates: imported as MLflow reads it

#[test]
fn what_mlflow_tolerates_imports_as_mlflow_reads_it() {
    let c = case();
    let meta = format!("{EXP_B}/{B_RUN}/meta.yaml");
    // An integer experiment id, no status, no lifecycle, no run_name, no tags folder.
    c.set_meta(&format!("{EXP_B}/meta.yaml"), "experiment_id", Some(EXP_B));
    c.set_meta(&format!("{EXP_B}/meta.yaml"), "creation_time", None);
    c.set_meta(&meta, "experiment_id", Some(EXP_B));
    c.set_meta(&meta, "status", None);
    c.set_meta(&meta, "lifecycle_stage", None);
    c.set_meta(&meta, "run_name", None);
    // MLflow 2.x keys.
    c.set_meta(&meta, "run_uuid", Some(B_RUN));
    c.write(
        &format!("{EXP_B}/{B_RUN}/metrics/rmse"),
        b"1700000000000 NaN\r\n1700000000001 Infinity 1\r\n17 1E5 2 ds d1\n1_8 -infinity 2",
    );
    let report = c.import(OnError::Skip).unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    assert_eq!(report.runs, ALL_RUNS);
    assert_eq!(report.notes.len(), 1, "{:#?}", report.notes);
    let catalog = c.catalog();
    let exp = catalog.get_experiment(EXP_B).unwrap();
    assert_eq!(exp.creation_time, 0);
    assert_eq!(exp.last_update_time, 1795437518274);
    let run = catalog.get_run(B_RUN).unwrap();
    assert_eq!(run.status, RunStatus::Running);
    assert_eq!(run.lifecycle_stage, LifecycleStage::Active);
    assert_eq!(run.run_name, "b-run");
    let metrics = MetricStore::open(&c.store).unwrap();
    let h = metrics.reader(B_RUN).unwrap().history("rmse").unwrap();
    assert_eq!(h.steps, [0, 1, 2, 2]);
    assert_eq!(h.timestamps_ms, [1700000000000, 1700000000001, 17, 18]);
    assert!(h.values[0].is_nan());
    assert_eq!(&h.values[1..], [f64::INFINITY, 1e5, f64::NEG_INFINITY]);
    // Latest: (2, 17, 1e5) vs (2, 18, -inf): the later timestamp.
    let m = run.metrics["rmse"];
    assert_eq!(
        (m.step, m.timestamp_ms, m.value),
        (2, 18, f64::NEG_INFINITY)
    );

    let c = case();
    fs::remove_dir_all(c.path(&format!("{EXP_B}/{B_RUN}/tags"))).unwrap();
    fs::remove_dir_all(c.path(&format!("{EXP_B}/{B_RUN}/params"))).unwrap();
    fs::remove_dir_all(c.path(&format!("{EXP_B}/{B_RUN}/artifacts"))).unwrap();
    let report = c.import(OnError::Skip).unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    let run = c.catalog().get_run(B_RUN).unwrap();
    assert!(run.tags.is_empty() && run.params.is_empty());
    assert_eq!(run.run_name, "b-run", "from meta.yaml");
}

// ---------------------------------------------------------------------------------------
// Symbolic links: never followed

#[test]
fn links_are_never_followed() {
    // An experiment folder that is a link to a whole experiment outside.
    let c = case();
    copy_tree(&c.path(EXP_B), &c.outside.join(EXP_B));
    fs::remove_dir_all(c.path(EXP_B)).unwrap();
    symlink(c.outside.join(EXP_B), c.path(EXP_B)).unwrap();
    skipped(&c, &c.path(EXP_B), "symbolic link", ALL_RUNS - 1);
    assert!(c.catalog().get_experiment(EXP_B).is_err());

    // A run folder that is a link.
    let c = case();
    let run = format!("{EXP_B}/{B_RUN}");
    copy_tree(&c.path(&run), &c.outside.join(B_RUN));
    fs::remove_dir_all(c.path(&run)).unwrap();
    symlink(c.outside.join(B_RUN), c.path(&run)).unwrap();
    skipped(&c, &c.path(&run), "symbolic link", ALL_RUNS - 1);

    // Links to a file outside, inside params, tags, metrics, as meta.yaml.
    fs::write(c.outside.join("secret"), "1700000000000 42.0 0\n").unwrap();
    for rel in [
        format!("{run}/params/leak"),
        format!("{run}/tags/leak"),
        format!("{run}/metrics/leak"),
    ] {
        let c = case();
        fs::write(c.outside.join("secret"), "1700000000000 42.0 0\n").unwrap();
        symlink(c.outside.join("secret"), c.path(&rel)).unwrap();
        skipped(&c, &c.path(&rel), "symbolic link", ALL_RUNS - 1);
    }
    let c = case();
    let meta = format!("{run}/meta.yaml");
    fs::rename(c.path(&meta), c.outside.join("meta.yaml")).unwrap();
    symlink(c.outside.join("meta.yaml"), c.path(&meta)).unwrap();
    skipped(&c, &c.path(&meta), "symbolic link", ALL_RUNS - 1);

    // A link to a folder outside, as params/ and inside tags/.
    let c = case();
    fs::create_dir_all(c.outside.join("dir")).unwrap();
    fs::write(c.outside.join("dir/k"), "v").unwrap();
    fs::remove_dir_all(c.path(&format!("{run}/params"))).unwrap();
    symlink(c.outside.join("dir"), c.path(&format!("{run}/params"))).unwrap();
    skipped(
        &c,
        &c.path(&format!("{run}/params")),
        "symbolic link",
        ALL_RUNS - 1,
    );
    let c = case();
    fs::create_dir_all(c.outside.join("dir")).unwrap();
    symlink(c.outside.join("dir"), c.path(&format!("{run}/tags/sub"))).unwrap();
    skipped(
        &c,
        &c.path(&format!("{run}/tags/sub")),
        "symbolic link",
        ALL_RUNS - 1,
    );
    // A registered model folder that is a link.
    let c = case();
    copy_tree(&c.path("models/empty-model"), &c.outside.join("m"));
    fs::remove_dir_all(c.path("models/empty-model")).unwrap();
    symlink(c.outside.join("m"), c.path("models/empty-model")).unwrap();
    skipped(&c, &c.path("models/empty-model"), "symbolic link", ALL_RUNS);
    // A dangling link and a link loop in the root.
    let c = case();
    symlink(c.outside.join("nothing"), c.path("555")).unwrap();
    skipped(&c, &c.path("555"), "symbolic link", ALL_RUNS);
    let c = case();
    symlink(c.path("777"), c.path("777")).unwrap();
    skipped(&c, &c.path("777"), "symbolic link", ALL_RUNS);
}

#[test]
fn a_hostile_tree_never_writes_outside_the_store() {
    // Keys that would climb out of a folder are refused by the key rules before any path is
    // made from them; nothing appears beside the store.
    let c = case();
    let run = format!("{EXP_B}/{B_RUN}");
    fs::create_dir_all(c.path(&format!("{run}/metrics/..x"))).unwrap();
    c.write(&format!("{run}/metrics/..x/y"), b"1 1 1\n");
    skipped(
        &c,
        &c.path(&format!("{run}/metrics/..x/y")),
        "invalid key",
        ALL_RUNS - 1,
    );
    let outside: Vec<_> = fs::read_dir(c.outside.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut outside = outside;
    outside.sort();
    assert_eq!(outside, ["mlruns", "outside", "store"]);
}
