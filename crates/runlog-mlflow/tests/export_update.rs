//! Exporting again into an earlier export (only what changed is written, new metric points
//! appended), chosen experiments and runs, progress, and names that must never become paths
//! even when they reach the catalog through its journals, below every validation.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use runlog::{NewRun, RunStatus, Store};
use runlog_mlflow::{Error, ExportOptions, ExportProgress, export};

/// Every file under `root` (relative path → bytes), links included as their target text.
fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
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

fn inodes(root: &Path) -> BTreeMap<PathBuf, u64> {
    tree(root)
        .keys()
        .map(|p| (p.clone(), fs::metadata(root.join(p)).unwrap().ino()))
        .collect()
}

/// The tree of an export with its own folder's path replaced, and without the state file:
/// two exports of the same store into different folders must then be equal.
fn normalised(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let abs = std::path::absolute(root).unwrap();
    let prefix = abs.to_string_lossy().into_owned();
    tree(root)
        .into_iter()
        .filter(|(p, _)| p != Path::new(".runlog-export.json"))
        .map(|(p, bytes)| {
            let text = String::from_utf8_lossy(&bytes).replace(&prefix, "<ROOT>");
            (p, text.into_bytes())
        })
        .collect()
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    store: Store,
    exp: String,
    gone: String,
    runs: Vec<String>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let exp = store.set_experiment("train").unwrap().experiment_id;
    let gone = store.set_experiment("gone").unwrap().experiment_id;
    let mut runs = Vec::new();
    for (i, e) in [&exp, &exp, &gone].into_iter().enumerate() {
        let run = store
            .start_run(
                NewRun::in_experiment(e)
                    .name(format!("run-{i}"))
                    .param("i", i)
                    .tag("doomed", "yes"),
            )
            .unwrap();
        for step in 0..1000 {
            run.log_metric_at(
                "train/loss",
                step,
                1_700_000_000_000 + step,
                1.0 / (step + 1) as f64,
            )
            .unwrap();
            run.log_metric_at("acc", step, 1_700_000_000_000 + step, step as f64 * 0.001)
                .unwrap();
        }
        fs::write(dir.path().join("notes.txt"), format!("run {i}")).unwrap();
        run.log_artifact(dir.path().join("notes.txt"), Some("docs"))
            .unwrap();
        runs.push(run.id().to_string());
        run.finish(RunStatus::Finished).unwrap();
    }
    store.catalog().delete_experiment(&gone).unwrap();
    let root = dir.path().join("mlruns");
    Fixture {
        _dir: dir,
        root,
        store,
        exp,
        gone,
        runs,
    }
}

fn run_export(f: &Fixture, root: &Path) -> runlog_mlflow::ExportReport {
    export(
        f.store.catalog(),
        f.store.metric_store(),
        root,
        &ExportOptions::default(),
    )
    .unwrap()
}

#[test]
fn exporting_again_writes_only_what_changed() {
    let f = fixture();
    let first = run_export(&f, &f.root);
    assert_eq!(first.metric_points, 6000);
    assert_eq!(first.artifact_files, 3);
    let before = tree(&f.root);
    let ino_before = inodes(&f.root);

    // Nothing changed: nothing is written, every file is the same file.
    let again = run_export(&f, &f.root);
    assert_eq!(again.files, 0, "{again:?}");
    assert_eq!(again.metric_points, 0);
    assert_eq!(again.metric_points_kept, 6000);
    assert_eq!(again.artifact_files, 0);
    assert_eq!(again.removed, 0);
    assert_eq!(tree(&f.root), before);
    assert_eq!(inodes(&f.root), ino_before);

    // Training goes on in one run; a tag goes, another comes; the deleted experiment is
    // restored; the other experiment is renamed.
    let cat = f.store.catalog();
    let run = f.store.resume_run(&f.runs[0]).unwrap();
    for step in 1000..1500 {
        run.log_metric_at("train/loss", step, 1_700_000_000_000 + step, 0.5)
            .unwrap();
    }
    run.finish(RunStatus::Finished).unwrap();
    cat.delete_tag(&f.runs[1], "doomed").unwrap();
    cat.set_tags(&f.runs[1], &[("new", "tag")]).unwrap();
    cat.restore_experiment(&f.gone).unwrap();
    cat.rename_experiment(&f.exp, "train-renamed").unwrap();

    let third = run_export(&f, &f.root);
    assert_eq!(third.metric_points, 500, "{third:?}");
    assert_eq!(third.metric_points_kept, 6000);
    assert_eq!(third.artifact_files, 0);
    let loss = Path::new(&f.exp)
        .join(&f.runs[0])
        .join("metrics/train/loss");
    let now = tree(&f.root);
    // Appended in place: the old lines are a prefix, and the file is the same file.
    assert!(now[&loss].starts_with(&before[&loss]));
    assert_eq!(
        now[&loss].len() - before[&loss].len(),
        500 * "1700000001000 0.5 1000\n".len()
    );
    assert_eq!(
        fs::metadata(f.root.join(&loss)).unwrap().ino(),
        ino_before[&loss]
    );
    // Untouched metric files are the same files.
    let acc = Path::new(&f.exp).join(&f.runs[1]).join("metrics/acc");
    assert_eq!(
        fs::metadata(f.root.join(&acc)).unwrap().ino(),
        ino_before[&acc]
    );
    // The deleted tag is gone, the restored experiment is back at the root.
    assert!(
        !f.root
            .join(&f.exp)
            .join(&f.runs[1])
            .join("tags/doomed")
            .exists()
    );
    assert!(
        f.root
            .join(&f.exp)
            .join(&f.runs[1])
            .join("tags/new")
            .exists()
    );
    assert!(f.root.join(&f.gone).join("meta.yaml").exists());
    assert!(!f.root.join(".trash").join(&f.gone).exists());
    assert!(third.removed >= 1);

    // The updated export is exactly what a fresh export of the store gives.
    let fresh = f.root.with_file_name("fresh");
    run_export(&f, &fresh);
    assert_eq!(normalised(&f.root), normalised(&fresh));

    // Deleting it again moves it back to `.trash/`, still equal to a fresh export.
    cat.delete_experiment(&f.gone).unwrap();
    run_export(&f, &f.root);
    assert!(
        f.root
            .join(".trash")
            .join(&f.gone)
            .join("meta.yaml")
            .exists()
    );
    assert!(!f.root.join(&f.gone).exists());
    let fresh2 = f.root.with_file_name("fresh2");
    run_export(&f, &fresh2);
    assert_eq!(normalised(&f.root), normalised(&fresh2));
}

#[test]
fn files_changed_behind_the_exports_back_are_written_again() {
    let f = fixture();
    run_export(&f, &f.root);
    let want = normalised(&f.root);
    let loss = f
        .root
        .join(&f.exp)
        .join(&f.runs[0])
        .join("metrics/train/loss");
    let param = f.root.join(&f.exp).join(&f.runs[0]).join("params/i");
    let mut text = fs::read(&loss).unwrap();
    text.extend_from_slice(b"garbage\n");
    fs::write(&loss, &text).unwrap();
    fs::write(&param, b"edited").unwrap();
    fs::remove_file(
        f.root
            .join(&f.exp)
            .join(&f.runs[1])
            .join("artifacts/docs/notes.txt"),
    )
    .unwrap();
    fs::write(
        f.root.join(&f.exp).join(&f.runs[1]).join("tags/stray"),
        b"x",
    )
    .unwrap();
    let report = run_export(&f, &f.root);
    assert_eq!(report.metric_points, 1000, "{report:?}");
    assert_eq!(report.artifact_files, 1);
    assert_eq!(normalised(&f.root), want);

    // An export killed before a run's `meta.yaml` was written leaves the run's other files:
    // the run is written again over them.
    let run_dir = f.root.join(&f.exp).join(&f.runs[1]);
    fs::remove_file(run_dir.join("meta.yaml")).unwrap();
    fs::write(run_dir.join("params/i"), b"half").unwrap();
    fs::write(run_dir.join("metrics/acc"), b"1700000000000 0.5").unwrap();
    run_export(&f, &f.root);
    assert_eq!(normalised(&f.root), want);

    // A damaged state file: every metric file is written again, the result the same.
    fs::write(f.root.join(".runlog-export.json"), b"{not json").unwrap();
    let report = run_export(&f, &f.root);
    assert_eq!(report.metric_points, 6000);
    assert_eq!(normalised(&f.root), want);
}

#[test]
fn chosen_experiments_and_runs() {
    let f = fixture();
    let cat = f.store.catalog();
    let only_exp = ExportOptions::default()
        .experiments([f.exp.clone()])
        .registry(false);
    let report = export(cat, f.store.metric_store(), &f.root, &only_exp).unwrap();
    assert_eq!(report.runs, 2);
    assert_eq!(
        report.experiments, 2,
        "the chosen one and the Default experiment"
    );
    assert!(
        f.root
            .join(&f.exp)
            .join(&f.runs[0])
            .join("meta.yaml")
            .exists()
    );
    assert!(
        f.root
            .join(&f.exp)
            .join(&f.runs[1])
            .join("meta.yaml")
            .exists()
    );
    assert!(!f.root.join(".trash").join(&f.gone).exists());
    assert!(f.root.join("0/meta.yaml").exists());

    let other = f.root.with_file_name("one-run");
    let only_run = ExportOptions::default().runs([f.runs[2].clone()]);
    let report = export(cat, f.store.metric_store(), &other, &only_run).unwrap();
    assert_eq!(report.runs, 1);
    assert_eq!(report.metric_points, 2000);
    let run_dir = other.join(".trash").join(&f.gone).join(&f.runs[2]);
    assert!(run_dir.join("meta.yaml").exists());
    let runs_in_exp = fs::read_dir(other.join(".trash").join(&f.gone))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_dir())
        .count();
    assert_eq!(runs_in_exp, 1);
    assert!(!other.join(&f.exp).exists());

    for (options, what) in [
        (
            ExportOptions::default().experiments(["424242"]),
            "experiment",
        ),
        (
            ExportOptions::default().runs(["0123456789abcdef0123456789abcdef"]),
            "run",
        ),
    ] {
        let target = f.root.with_file_name(format!("missing-{what}"));
        let err = export(cat, f.store.metric_store(), &target, &options).unwrap_err();
        assert!(
            matches!(&err, Error::NotInStore { what: w, .. } if *w == what),
            "{err:?}"
        );
        assert!(err.to_string().contains("in the store"), "{err}");
    }
}

#[test]
fn progress_is_reported_as_the_export_goes() {
    let f = fixture();
    let seen: Arc<Mutex<Vec<ExportProgress>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let options = ExportOptions::default().progress(move |p| sink.lock().unwrap().push(*p));
    let report = export(f.store.catalog(), f.store.metric_store(), &f.root, &options).unwrap();
    let seen = seen.lock().unwrap();
    assert!(
        seen.len() >= 3 + 6,
        "a call per run and per metric file: {}",
        seen.len()
    );
    for pair in seen.windows(2) {
        assert!(pair[0].runs_done <= pair[1].runs_done);
        assert!(pair[0].metric_points <= pair[1].metric_points);
    }
    let last = seen.last().unwrap();
    assert_eq!(last.runs_total, 3);
    assert_eq!(last.runs_done, 3);
    assert_eq!(last.metric_points, report.metric_points);
    assert_eq!(last.artifact_files, report.artifact_files);
}

#[test]
fn a_folder_of_something_else_is_refused_untouched() {
    let f = fixture();
    fs::create_dir(&f.root).unwrap();
    fs::write(f.root.join("mine.txt"), b"keep").unwrap();
    let err = export(
        f.store.catalog(),
        f.store.metric_store(),
        &f.root,
        &ExportOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::TargetNotEmpty(_)), "{err:?}");
    assert!(err.to_string().contains("earlier runlog export"), "{err}");
    assert_eq!(tree(&f.root).len(), 1);
}

/// Appends one operation line to a catalog journal as the catalog writes them (CRC-32 of the
/// JSON, a space, the JSON array), below every validation of the API.
fn append_journal(path: &Path, ops: &str) {
    use std::io::Write;
    let line = format!("{:08x} {ops}\n", crc32fast::hash(ops.as_bytes()));
    fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap()
        .write_all(line.as_bytes())
        .unwrap();
}

/// Names no API accepts, written straight into the journals the catalog is rebuilt from:
/// the exporter refuses each with an error naming it and writes nothing outside its folder.
#[test]
fn hostile_names_from_the_journals_never_leave_the_export() {
    let hostile = [
        "../escape",
        "../../escape",
        "/tmp/escape",
        "a/../../escape",
        "..",
        ".",
        "a//b",
        "nul\u{0}byte",
    ];
    for (i, name) in hostile.iter().enumerate() {
        for place in [
            "param",
            "tag",
            "experiment tag",
            "model",
            "model tag",
            "alias",
        ] {
            let dir = tempfile::tempdir().unwrap();
            let sandbox = dir.path().join("sandbox");
            fs::create_dir(&sandbox).unwrap();
            let store_dir = dir.path().join("store");
            let run_id = {
                let store = Store::open(&store_dir).unwrap();
                let run = store
                    .start_run(NewRun::in_experiment("0").name("r"))
                    .unwrap();
                store
                    .catalog()
                    .create_registered_model("m", None, &[])
                    .unwrap();
                let id = run.id().to_string();
                run.finish(RunStatus::Finished).unwrap();
                id
            };
            let json = serde_json::to_string(name).unwrap();
            match place {
                "param" => append_journal(
                    &store_dir.join("runs").join(&run_id).join("RUN.log"),
                    &format!(r#"[{{"op":"log_params","params":[[{json},"v"]]}}]"#),
                ),
                "tag" => append_journal(
                    &store_dir.join("runs").join(&run_id).join("RUN.log"),
                    &format!(r#"[{{"op":"set_tags","tags":[[{json},"v"]]}}]"#),
                ),
                "experiment tag" => append_journal(
                    &store_dir.join("experiments.log"),
                    &format!(r#"[{{"op":"set_tag","id":0,"key":{json},"value":"v"}}]"#),
                ),
                "model" => append_journal(
                    &store_dir.join("models.log"),
                    &format!(
                        r#"[{{"op":"create_model","name":{json},"time":1,"description":null,"tags":{{}}}}]"#
                    ),
                ),
                "model tag" => append_journal(
                    &store_dir.join("models.log"),
                    &format!(
                        r#"[{{"op":"set_model_tag","name":"m","key":{json},"value":"v","time":1}}]"#
                    ),
                ),
                _ => append_journal(
                    &store_dir.join("models.log"),
                    &format!(
                        r#"[{{"op":"create_version","name":"m","version":1,"time":1,"source":"s","run_id":null,"description":null,"tags":{{}}}},{{"op":"set_alias","name":"m","alias":{json},"version":1,"time":1}}]"#
                    ),
                ),
            }
            drop(runlog_catalog::Catalog::rebuild(&store_dir).unwrap());
            let store = Store::open(&store_dir).unwrap();
            let root = sandbox.join("mlruns");
            let err = export(
                store.catalog(),
                store.metric_store(),
                &root,
                &ExportOptions::default(),
            );
            let case = format!("case {i} {name:?} as {place}");
            match err {
                Err(Error::InvalidName { name: got, .. }) => assert_eq!(&got, name, "{case}"),
                other => panic!("{case}: {other:?}"),
            }
            let top: Vec<_> = fs::read_dir(&sandbox)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(top, vec!["mlruns"], "{case}");
            for path in tree(&root).keys() {
                assert!(
                    !path.to_string_lossy().contains("escape"),
                    "{case}: {path:?}"
                );
            }
            assert!(!dir.path().join("escape").exists(), "{case}");
            assert!(!Path::new("/tmp/escape").exists(), "{case}");
        }
    }
}

/// MLflow keeps keys as files: a key that is another's folder (`a` and `a/b`) cannot be
/// exported, and the error names both.
#[test]
fn a_key_that_is_another_keys_folder_is_refused_by_name() {
    for place in ["metric", "param", "tag"] {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("store")).unwrap();
        let run = store
            .start_run(NewRun::in_experiment("0").name("r"))
            .unwrap();
        for key in ["a", "a/b"] {
            match place {
                "metric" => run.log_metric_at(key, 0, 1, 1.0).unwrap(),
                "param" => run.log_param(key, "v").unwrap(),
                _ => run.set_tag(key, "v").unwrap(),
            }
        }
        run.finish(RunStatus::Finished).unwrap();
        let err = export(
            store.catalog(),
            store.metric_store(),
            &dir.path().join("mlruns"),
            &ExportOptions::default(),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::InvalidName { .. }), "{place}: {err:?}");
        assert!(text.contains(&format!("{place} key of run")), "{text}");
        assert!(text.contains("\"a\"") && text.contains("\"a/b\""), "{text}");
    }
}

/// A deleted tag `a` and a new tag `a/b` (and the reverse) between two exports: the file
/// makes room for the folder, as MLflow itself does when the tags change.
#[test]
fn a_deleted_key_makes_room_for_a_folder_of_the_same_name() {
    let f = fixture();
    let cat = f.store.catalog();
    let run = &f.runs[0];
    cat.set_tags(run, &[("a", "1"), ("x/y", "2")]).unwrap();
    run_export(&f, &f.root);
    cat.delete_tag(run, "a").unwrap();
    cat.delete_tag(run, "x/y").unwrap();
    cat.set_tags(run, &[("a/b", "3"), ("x", "4")]).unwrap();
    run_export(&f, &f.root);
    let tags = f.root.join(&f.exp).join(run).join("tags");
    assert_eq!(fs::read(tags.join("a/b")).unwrap(), b"3");
    assert_eq!(fs::read(tags.join("x")).unwrap(), b"4");
    let fresh = f.root.with_file_name("fresh");
    run_export(&f, &fresh);
    assert_eq!(normalised(&f.root), normalised(&fresh));
}

/// A flipped byte in a run's sealed metric data stops a default export with an error naming
/// the run; with `skip_damaged` the export goes on, lists the damaged series, keeps the file an
/// earlier export wrote for it, and a fresh export has everything but that file.
#[test]
fn a_damaged_series_stops_the_export_or_is_skipped_and_listed() {
    let f = fixture();
    run_export(&f, &f.root);
    let before = tree(&f.root);
    let run_dir = f.store.metric_store().run_dir(&f.runs[0]).unwrap();
    let seg = fs::read_dir(&run_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "seg"))
        .unwrap();
    let mut bytes = fs::read(&seg).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x40;
    fs::write(&seg, &bytes).unwrap();

    let export_to = |root: &Path, options: &ExportOptions| {
        export(f.store.catalog(), f.store.metric_store(), root, options)
    };
    match export_to(&f.root, &ExportOptions::default()) {
        Err(Error::Metrics { run_id, source }) => {
            assert_eq!(run_id, f.runs[0]);
            assert!(source.to_string().contains("at byte offset"), "{source}");
        }
        other => panic!("expected the damaged run's error, got {other:?}"),
    }
    let skip = ExportOptions::default().skip_damaged(true);
    let report = export_to(&f.root, &skip).unwrap();
    assert_eq!(report.damaged.len(), 1, "{:?}", report.damaged);
    let damaged = &report.damaged[0];
    assert_eq!(damaged.run_id, f.runs[0]);
    assert!(damaged.reason.contains("at byte offset"), "{damaged:?}");
    let key = damaged.key.clone().expect("one series, not the whole run");
    assert_eq!(
        tree(&f.root),
        before,
        "the earlier export is left as it was"
    );

    let fresh = f.root.with_file_name("fresh");
    let report = export_to(&fresh, &skip).unwrap();
    assert_eq!(report.damaged.len(), 1);
    let (want, got) = (normalised(&f.root), normalised(&fresh));
    let missing: Vec<&PathBuf> = want.keys().filter(|p| !got.contains_key(*p)).collect();
    let expected = PathBuf::from(&f.exp)
        .join(&f.runs[0])
        .join("metrics")
        .join(&key);
    assert_eq!(missing, [&expected]);
    assert!(got.keys().all(|p| want.get(p) == got.get(p)));
}
