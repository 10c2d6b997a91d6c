//! The export read back by real MLflow (`mlflow-skinny` 3.17.2 and 2.22.5, each in its own
//! venv): a store with every kind of content is exported, `expected.json` is written from what
//! runlog's own read API answers for that store (catalog, metric histories, searches, registry,
//! artifacts), the store is moved away (MLflow must need nothing but the export), and
//! `tests/mlflow/verify.py` reads the export with `MlflowClient` and compares.
//!
//! The venvs: `$RUNLOG_MLFLOW_VENVS/<version>/`, by default `<workspace>/target/mlflow-venvs`;
//! missing ones are made by `scripts/mlflow-venvs.sh` (needs python3 and a package index). When
//! that fails the test fails. `RUNLOG_MLFLOW=skip` (offline developers only; `.ci/run` refuses
//! it) makes the test pass after a loud notice.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use runlog::{NewRun, RunStatus, Store, ViewType};
use runlog_mlflow::{ExportOptions, export};

const MLFLOW_VERSIONS: [&str; 2] = ["3.17.2", "2.22.5"];
const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

// ------------------------------------------------------------------------------------------
// A minimal JSON writer (no serde in this crate's dependencies).

enum J {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn s(v: impl Into<String>) -> J {
        J::Str(v.into())
    }

    fn opt_s(v: Option<&str>) -> J {
        v.map_or(J::Null, J::s)
    }

    /// A float as the 16 hex digits of its bits (verify.py compares bit for bit).
    fn f(v: f64) -> J {
        J::Str(format!("{:016x}", v.to_bits()))
    }

    fn obj<const N: usize>(fields: [(&str, J); N]) -> J {
        J::Obj(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    fn strings<'a>(map: impl IntoIterator<Item = (&'a String, &'a String)>) -> J {
        J::Obj(map.into_iter().map(|(k, v)| (k.clone(), J::s(v))).collect())
    }

    fn write(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Int(i) => {
                let _ = write!(out, "{i}");
            }
            J::Str(s) => write_str(out, s),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            J::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

// ------------------------------------------------------------------------------------------
// The store: every kind of content the export carries.

/// What the build remembers beyond what the store answers: which versions it deleted (the
/// registry hides them, by design), and ids to build filters from.
struct Built {
    store: Store,
    /// Experiment and run ids by role.
    ids: BTreeMap<&'static str, String>,
    deleted_versions: BTreeMap<String, Vec<u64>>,
    /// A RUNNING run with metrics: its handle must stay open until the export is done.
    _running: Option<runlog::Run>,
}

fn build(dir: &Path) -> Built {
    let store = Store::open(dir.join("store")).unwrap();
    let cat = store.catalog();
    let t0 = 1_700_000_000_000_i64;

    // Experiments: names with slashes, colons, spaces and unicode; tags incl. multi-line.
    let vision = store
        .set_experiment("vision/résumé: ☃ «test» 实验")
        .unwrap()
        .experiment_id;
    cat.set_experiment_tag(&vision, "team", "ml-core").unwrap();
    cat.set_experiment_tag(
        &vision,
        "mlflow.note.content",
        "# Vision\n\nmulti-line\n\tnote ✓",
    )
    .unwrap();
    cat.set_experiment_tag(&vision, "nested/key: ünï", "yes")
        .unwrap();
    let other = store
        .set_experiment("other experiment")
        .unwrap()
        .experiment_id;
    cat.set_experiment_tag(&other, "team", "risk").unwrap();
    store.set_experiment("empty experiment").unwrap();
    store
        .set_experiment("quotes \"q\" 'a' \\ back: #x - y\u{2028}\u{85}")
        .unwrap();
    let gone = store
        .set_experiment("gone/experiment")
        .unwrap()
        .experiment_id;
    cat.set_experiment_tag(&gone, "doomed", "yes").unwrap();

    // The parent run: params (long, unicode, odd keys), tags, metrics of every kind.
    let long: String = "é0123456789".chars().cycle().take(6000).collect();
    let parent = store
        .start_run(
            NewRun::in_experiment(&vision)
                .name("parent/run: αβ γ")
                .start_time(t0)
                .param("lr", 0.001)
                .param("long", &long)
                .param("model/depth", 3)
                .param("größe", "naïve ☃ 🚀")
                .param("with space", "a b")
                .param("opt:beta1", 0.9)
                .param("empty", "")
                .tag("multiline", "line1\nline2\n\ttabbed\n")
                .tag("unicode tag/ключ", "значение ✓")
                .tag("team", "ml-core")
                .tag("crlf", "a\r\nb\rc\u{2028}d\u{85}e\u{feff}")
                .tag(
                    "yaml-ish",
                    "key: value\n- item\n# not a comment\nnull\n'q' \"qq\" \\",
                ),
        )
        .unwrap();
    for (step, ts, v) in [
        (0, t0, f64::NAN),
        (1, t0 + 1, f64::INFINITY),
        (2, t0 + 2, f64::NEG_INFINITY),
        (3, t0 + 3, 0.5),
    ] {
        parent.log_metric_at("special", step, ts, v).unwrap();
    }
    let odd = [
        (-3, -0.0),
        (-3, -0.0),
        (-1, 1e20),
        (5, 1e-7),
        (5, 0.1 + 0.2),
        (2, 5e-324),
        (2, f64::MIN_POSITIVE / 3.0),
        (7, f64::MIN_POSITIVE),
        (-7, f64::MAX),
        (-8, -f64::MAX),
        (9, 123_456_789.123_456_78),
        (8, -1e-300),
    ];
    for (i, (step, v)) in odd.into_iter().enumerate() {
        parent
            .log_metric_at("train/odd values", step, t0 + i as i64 % 3, v)
            .unwrap();
    }
    // Keys with thousands of points: out-of-order, repeated and negative steps, equal times.
    let n = 5000;
    let steps: Vec<i64> = (0..n)
        .map(|i| if i % 7 == 3 { i - 50 } else { i })
        .collect();
    let times: Vec<i64> = (0..n).map(|i| t0 + i / 3).collect();
    let loss: Vec<f64> = (0..n).map(|i| 1.0 / (1.0 + i as f64 * 0.01)).collect();
    parent
        .metric("train/loss")
        .unwrap()
        .log_columns(&steps, &times, &loss)
        .unwrap();
    let acc: Vec<f64> = (0..3000).map(|i| (i as f64).sin() * 1e-3 + 0.9).collect();
    let acc_steps: Vec<i64> = (0..3000).map(|i| (i % 1000) - 100).collect();
    let acc_times: Vec<i64> = (0..3000).map(|i| t0 + 10_000 - i).collect();
    parent
        .metric("val: acc/ünïcode")
        .unwrap()
        .log_columns(&acc_steps, &acc_times, &acc)
        .unwrap();
    for i in 0..2000_i64 {
        let v = match i % 11 {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => -0.0,
            3 => f64::from_bits(i as u64), // subnormals
            _ => (i as f64) * 0.1,
        };
        parent
            .log_metric_at("acc", i % 500, t0 + (i % 13), v)
            .unwrap();
    }
    // The extremes MLflow's int64 steps and millisecond timestamps allow.
    for (step, ts, v) in [
        (i64::MAX, 0, 1.0),
        (i64::MIN, 253_402_300_799_999, -1.0),
        (0, i64::MAX / 1000, 0.0),
    ] {
        parent.log_metric_at("extremes", step, ts, v).unwrap();
    }
    // The longest values MLflow takes: run tag 8000, experiment tag 20 000 characters.
    parent.set_tag("long tag", &"ß".repeat(8000)).unwrap();
    cat.set_experiment_tag(&vision, "long", &"ü\n".repeat(10_000))
        .unwrap();
    fs::create_dir_all(dir.join("files/sub/deeper")).unwrap();
    fs::create_dir_all(dir.join("files/empty folder")).unwrap();
    fs::write(dir.join("files/sub/a.json"), b"{\"a\": 1}\n").unwrap();
    fs::write(dir.join("files/sub/deeper/résumé 1.txt"), "ünïcode ✓\n").unwrap();
    let blob: Vec<u8> = (0..100_000_u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(dir.join("blob.bin"), &blob).unwrap();
    parent
        .log_text("hello\nworld\n", "notes/hello.txt")
        .unwrap();
    parent
        .log_artifact(dir.join("blob.bin"), Some("model"))
        .unwrap();
    parent
        .log_artifacts(dir.join("files"), Some("reports"))
        .unwrap();
    let parent_id = parent.id().to_string();
    parent.finish(RunStatus::Finished).unwrap();

    // Nested runs of every terminal status.
    let mut ids = BTreeMap::new();
    for (name, status, lr) in [
        ("child one", RunStatus::Failed, "0.01"),
        ("child/two: ☃", RunStatus::Killed, "0.001"),
        ("child three", RunStatus::Finished, "0.1"),
    ] {
        let child = store
            .start_run(
                NewRun::in_experiment(&vision)
                    .name(name)
                    .parent(&parent_id)
                    .param("lr", lr),
            )
            .unwrap();
        for step in 0..50 {
            child
                .log_metric_at("train/loss", step, t0 + step, 1.0 / (step as f64 + 1.0))
                .unwrap();
        }
        child.log_text(name, "name.txt").unwrap();
        ids.insert(name, child.id().to_string());
        child.finish(status).unwrap();
    }

    // RUNNING (with flushed metrics), SCHEDULED, a deleted run.
    let running = store
        .start_run(
            NewRun::in_experiment(&other)
                .name("still running")
                .param("lr", 0.001),
        )
        .unwrap();
    running.log_metric_at("train/loss", 0, t0, 0.25).unwrap();
    running
        .log_metric_at("train/loss", 1, t0 + 5, 0.125)
        .unwrap();
    running.flush().unwrap();
    ids.insert("running", running.id().to_string());
    let scheduled = cat
        .create_run(NewRun::in_experiment(&other).name("scheduled run"))
        .unwrap();
    cat.set_status(&scheduled.run_id, RunStatus::Scheduled, None)
        .unwrap();
    let deleted = store
        .start_run(
            NewRun::in_experiment(&other)
                .name("deleted run")
                .param("lr", 0.5),
        )
        .unwrap();
    deleted.log_metric_at("train/loss", 0, t0, 4.0).unwrap();
    let deleted_id = deleted.id().to_string();
    deleted.finish(RunStatus::Finished).unwrap();
    cat.delete_run(&deleted_id).unwrap();
    ids.insert("deleted", deleted_id);
    cat.create_run(NewRun::in_experiment("0").name("in default"))
        .unwrap();

    // A deleted experiment with runs (one with an artifact).
    let in_gone = store
        .start_run(
            NewRun::in_experiment(&gone)
                .name("run in deleted experiment")
                .param("lr", 0.001),
        )
        .unwrap();
    in_gone.log_metric_at("m", 0, t0, 5.0).unwrap();
    in_gone.log_text("gone", "gone.txt").unwrap();
    ids.insert("in gone", in_gone.id().to_string());
    in_gone.finish(RunStatus::Finished).unwrap();
    store
        .start_run(NewRun::in_experiment(&gone).name("second in deleted"))
        .unwrap()
        .finish(RunStatus::Killed)
        .unwrap();
    cat.delete_experiment(&gone).unwrap();
    for (role, id) in [
        ("parent", &parent_id),
        ("vision", &vision),
        ("other", &other),
        ("gone", &gone),
    ] {
        ids.insert(role, id.clone());
    }

    // The registry: stages with archive_existing, aliases, tags, descriptions, a deleted
    // version, a model without versions.
    let mut deleted_versions = BTreeMap::new();
    let name = "fraud-detector";
    cat.create_registered_model(
        name,
        Some("Detects fraud.\nSecond line ✓"),
        &[("team", "risk"), ("ünï code", "välue\nmulti")],
    )
    .unwrap();
    let v1 = store.register_model(name, &parent_id, "model").unwrap();
    let v2 = cat
        .create_model_version(
            name,
            &format!("runs:/{parent_id}/model"),
            Some(&parent_id),
            Some("second version"),
            &[("validated", "yes")],
        )
        .unwrap();
    let v3 = store.register_model(name, &parent_id, "reports").unwrap();
    let v4 = store.register_model(name, &parent_id, "model").unwrap();
    let v5 = cat
        .create_model_version(name, "file:///somewhere/else/model", None, None, &[])
        .unwrap();
    cat.transition_model_version_stage(name, v1.version, "Production", false)
        .unwrap();
    cat.transition_model_version_stage(name, v2.version, "staging", false)
        .unwrap();
    cat.transition_model_version_stage(name, v3.version, "Production", true)
        .unwrap();
    cat.set_model_version_tag(name, v3.version, "validated", "yes")
        .unwrap();
    cat.set_model_version_tag(name, v3.version, "note/ключ", "multi\nline")
        .unwrap();
    cat.update_model_version(
        name,
        v3.version,
        Some("the champion ☃\nkey: value\n- item\n# x\nnull\r\n\"q\" 'a' \\ \u{2028}"),
    )
    .unwrap();
    cat.set_registered_model_alias(name, "champion", v3.version)
        .unwrap();
    cat.set_registered_model_alias(name, "baseline", v1.version)
        .unwrap();
    cat.set_registered_model_alias(name, "doomed", v4.version)
        .unwrap();
    cat.delete_model_version(name, v4.version).unwrap();
    deleted_versions.insert(name.to_string(), vec![v4.version]);
    let _ = v5;
    cat.create_registered_model(
        "model without versions",
        Some("nothing yet"),
        &[("team", "risk")],
    )
    .unwrap();
    cat.create_registered_model("ünïcode modèle ☃", None, &[])
        .unwrap();
    store
        .register_model("ünïcode modèle ☃", &parent_id, "model")
        .unwrap();

    Built {
        store,
        ids,
        deleted_versions,
        _running: Some(running),
    }
}

// ------------------------------------------------------------------------------------------
// What runlog answers, as expected.json.

fn artifacts_of(
    store: &Store,
    run_id: &str,
    path: Option<&str>,
    out: &mut Vec<(String, bool, Option<u64>)>,
) {
    for f in store.list_artifacts(run_id, path).unwrap() {
        out.push((f.path.clone(), f.is_dir, f.file_size));
        if f.is_dir {
            artifacts_of(store, run_id, Some(&f.path), out);
        }
    }
}

/// What an export chose to write (`ExportOptions::experiments` and `runs`).
struct Selection {
    experiments: Vec<String>,
    runs: Vec<String>,
}

/// expected.json for the store as it is, or for the part `only` chose (with the default
/// experiment, always there in an MLflow store, and the whole registry).
fn expected(b: &Built, only: Option<&Selection>) -> J {
    let parent = &b.ids["parent"];
    let store = &b.store;
    let cat = store.catalog();
    let chosen_run = |r: &runlog::RunInfo| {
        only.is_none_or(|sel| {
            sel.experiments.contains(&r.experiment_id) || sel.runs.contains(&r.run_id)
        })
    };
    let mut experiments = cat.list_experiments(ViewType::All).unwrap();
    if let Some(sel) = only {
        let mut keep: Vec<String> = sel.experiments.clone();
        keep.push("0".into());
        for id in &sel.runs {
            keep.push(cat.get_run(id).unwrap().experiment_id);
        }
        experiments.retain(|e| keep.contains(&e.experiment_id));
    }
    let mut exps = Vec::new();
    let mut runs = Vec::new();
    let mut all_ids = Vec::new();
    for e in &experiments {
        all_ids.push(e.experiment_id.clone());
        exps.push(J::obj([
            ("experiment_id", J::s(&e.experiment_id)),
            ("name", J::s(&e.name)),
            ("lifecycle_stage", J::s(e.lifecycle_stage.as_str())),
            ("creation_time", J::Int(e.creation_time)),
            ("last_update_time", J::Int(e.last_update_time)),
            ("tags", J::strings(&e.tags)),
        ]));
        let exp_deleted = e.lifecycle_stage == runlog::LifecycleStage::Deleted;
        for run in cat.list_runs(&[&e.experiment_id], ViewType::All).unwrap() {
            if !chosen_run(&run) {
                continue;
            }
            // MLflow marks the runs of a deleted experiment deleted (the export does too).
            let stage = if exp_deleted {
                runlog::LifecycleStage::Deleted
            } else {
                run.lifecycle_stage
            };
            let latest = run
                .metrics
                .iter()
                .map(|(k, m)| {
                    (
                        k.clone(),
                        J::Arr(vec![J::Int(m.step), J::Int(m.timestamp_ms), J::f(m.value)]),
                    )
                })
                .collect();
            let mut histories = Vec::new();
            if let Ok(reader) = store.reader(&run.run_id) {
                for (_, key) in reader.series() {
                    let p = reader.history(&key).unwrap();
                    if p.is_empty() {
                        continue;
                    }
                    let points = (0..p.len())
                        .map(|i| {
                            J::Arr(vec![
                                J::Int(p.steps[i]),
                                J::Int(p.timestamps_ms[i]),
                                J::f(p.values[i]),
                            ])
                        })
                        .collect();
                    histories.push((key, J::Arr(points)));
                }
            } else {
                assert!(
                    run.metrics.is_empty(),
                    "run {} has no metric reader",
                    run.run_id
                );
            }
            let mut files = Vec::new();
            artifacts_of(store, &run.run_id, None, &mut files);
            let mut bytes = Vec::new();
            for (path, is_dir, _) in &files {
                if !is_dir {
                    let data = store.read_artifact(&run.run_id, path).unwrap();
                    let mut hex = String::with_capacity(data.len() * 2);
                    for byte in data {
                        let _ = write!(hex, "{byte:02x}");
                    }
                    bytes.push((path.clone(), J::Str(hex)));
                }
            }
            runs.push(J::obj([
                ("run_id", J::s(&run.run_id)),
                ("experiment_id", J::s(&run.experiment_id)),
                ("run_name", J::s(&run.run_name)),
                ("status", J::s(run.status.as_str())),
                ("start_time", J::Int(run.start_time)),
                ("end_time", run.end_time.map_or(J::Null, J::Int)),
                ("lifecycle_stage", J::s(stage.as_str())),
                ("user_id", J::s(&run.user_id)),
                ("params", J::strings(&run.params)),
                ("tags", J::strings(&run.tags)),
                ("metrics", J::Obj(latest)),
                ("histories", J::Obj(histories)),
                (
                    "artifacts",
                    J::Arr(
                        files
                            .iter()
                            .map(|(p, d, size)| {
                                J::obj([
                                    ("path", J::s(p)),
                                    ("is_dir", J::Bool(*d)),
                                    ("file_size", size.map_or(J::Null, |s| J::Int(s as i64))),
                                ])
                            })
                            .collect(),
                    ),
                ),
                ("artifact_bytes", J::Obj(bytes)),
            ]));
        }
    }

    // Run searches: runlog's own answers (runlog-search implements MLflow's language). Only
    // views over ALL look into deleted experiments: runlog keeps the runs of a deleted
    // experiment active (documented on `Catalog::delete_experiment`), MLflow and the export
    // mark them deleted.
    let all: Vec<&str> = all_ids.iter().map(String::as_str).collect();
    let active: Vec<&str> = experiments
        .iter()
        .filter(|e| e.lifecycle_stage == runlog::LifecycleStage::Active)
        .map(|e| e.experiment_id.as_str())
        .collect();
    let parent_filter = format!("tags.`mlflow.parentRunId` = '{parent}'");
    let searches: Vec<(&str, &[&str], ViewType, usize)> = vec![
        (
            "metrics.`train/loss` < 0.5",
            &["metrics.`train/loss` ASC"],
            ViewType::ActiveOnly,
            1000,
        ),
        ("params.lr = '0.001'", &[], ViewType::All, 1000),
        (
            "params.lr = '0.001'",
            &["attributes.start_time ASC"],
            ViewType::ActiveOnly,
            1000,
        ),
        ("attributes.status = 'FAILED'", &[], ViewType::All, 1000),
        (
            "attributes.status != 'FINISHED'",
            &["run_name DESC"],
            ViewType::All,
            1000,
        ),
        (
            &parent_filter,
            &["attributes.run_name ASC"],
            ViewType::ActiveOnly,
            1000,
        ),
        (
            "run_name LIKE '%child%'",
            &["attributes.start_time DESC"],
            ViewType::All,
            1000,
        ),
        (
            "attributes.run_name ILIKE '%RUN%'",
            &[],
            ViewType::All,
            1000,
        ),
        (
            "",
            &["metrics.acc DESC", "run_name ASC"],
            ViewType::All,
            1000,
        ),
        ("", &["params.lr ASC"], ViewType::ActiveOnly, 3),
        ("metrics.special > 0", &[], ViewType::All, 1000),
        (
            "params.`opt:beta1` = '0.9' and tags.team = 'ml-core'",
            &[],
            ViewType::All,
            1000,
        ),
        (
            "tags.`unicode tag/ключ` LIKE '%✓'",
            &[],
            ViewType::All,
            1000,
        ),
        (
            "metrics.`train/loss` >= 0.1 and params.lr != '0.5'",
            &["metrics.`train/loss` DESC"],
            ViewType::All,
            1000,
        ),
        (
            "",
            &["attributes.run_name ASC"],
            ViewType::DeletedOnly,
            1000,
        ),
        // Page by page (max_results 2, page tokens): see below.
        (
            "",
            &["metrics.`train/loss` ASC", "run_name DESC"],
            ViewType::All,
            2,
        ),
        ("params.lr != 'x'", &[], ViewType::ActiveOnly, 3),
    ];
    let searches_len = searches.len();
    let mut search_json = Vec::new();
    for (i, (filter, order, view, max)) in searches.into_iter().enumerate() {
        // The last two are read page by page, here with runlog's page tokens, in verify.py
        // with MLflow's.
        let paged = i + 2 >= searches_len;
        let ids = if view == ViewType::All { &all } else { &active };
        // Over the whole store, then narrowed to what was exported: the order is total (ties
        // go by start time, then run id), so this is the search over the exported runs.
        let mut found: Vec<_> = cat
            .search_runs(ids, Some(filter), view, order, 1000, None)
            .unwrap()
            .runs
            .into_iter()
            .filter(|r| chosen_run(r))
            .collect();
        if paged {
            if only.is_none() {
                let mut pages = Vec::new();
                let mut token = None;
                loop {
                    let page = cat
                        .search_runs(ids, Some(filter), view, order, max, token.as_deref())
                        .unwrap();
                    pages.extend(page.runs);
                    token = page.next_page_token;
                    if token.is_none() {
                        break;
                    }
                }
                assert_eq!(
                    pages.iter().map(|r| &r.run_id).collect::<Vec<_>>(),
                    found.iter().map(|r| &r.run_id).collect::<Vec<_>>(),
                    "runlog's pages of {filter:?} differ from its whole answer"
                );
            }
        } else {
            found.truncate(max);
        }
        search_json.push(J::obj([
            (
                "experiment_ids",
                J::Arr(ids.iter().map(|i| J::s(*i)).collect()),
            ),
            ("filter", J::s(filter)),
            ("order_by", J::Arr(order.iter().map(|o| J::s(*o)).collect())),
            (
                "view",
                J::s(match view {
                    ViewType::All => "ALL",
                    ViewType::DeletedOnly => "DELETED_ONLY",
                    _ => "ACTIVE_ONLY",
                }),
            ),
            ("max_results", J::Int(max as i64)),
            ("paged", J::Bool(paged)),
            (
                "run_ids",
                J::Arr(found.iter().map(|r| J::s(&r.run_id)).collect()),
            ),
        ]));
    }

    // The registry.
    let models = cat
        .search_registered_models(None, &[], 1000, None)
        .unwrap()
        .items;
    let mut model_json = Vec::new();
    for m in &models {
        let m = cat.get_registered_model(&m.name).unwrap();
        let versions = cat
            .search_model_versions(Some(&format!("name = '{}'", m.name)), &[], 10_000, None)
            .unwrap()
            .items;
        let deleted = b.deleted_versions.get(&m.name).cloned().unwrap_or_default();
        for &d in &deleted {
            assert!(
                cat.get_model_version(&m.name, d).is_err(),
                "runlog still shows a deleted version"
            );
        }
        let latest = cat
            .get_model_version_by_alias(&m.name, "latest")
            .ok()
            .map(|v| v.version.to_string());
        model_json.push(J::obj([
            ("name", J::s(&m.name)),
            ("description", J::opt_s(m.description.as_deref())),
            ("tags", J::strings(&m.tags)),
            (
                "aliases",
                J::Obj(
                    m.aliases
                        .iter()
                        .map(|(a, v)| (a.clone(), J::s(v.to_string())))
                        .collect(),
                ),
            ),
            ("creation_timestamp", J::Int(m.creation_timestamp)),
            ("last_updated_timestamp", J::Int(m.last_updated_timestamp)),
            (
                "latest_versions",
                J::Arr(
                    m.latest_versions
                        .iter()
                        .map(|v| {
                            J::Arr(vec![
                                J::s(v.version.to_string()),
                                J::s(v.current_stage.as_str()),
                            ])
                        })
                        .collect(),
                ),
            ),
            ("latest_version", latest.map_or(J::Null, J::Str)),
            (
                "versions",
                J::Arr(
                    versions
                        .iter()
                        .map(|v| {
                            let v = cat.get_model_version(&v.name, v.version).unwrap();
                            J::obj([
                                ("version", J::s(v.version.to_string())),
                                ("current_stage", J::s(v.current_stage.as_str())),
                                ("source", J::s(&v.source)),
                                ("run_id", J::opt_s(v.run_id.as_deref())),
                                ("description", J::opt_s(v.description.as_deref())),
                                ("status", J::s(v.status.as_str())),
                                ("tags", J::strings(&v.tags)),
                                ("aliases", J::Arr(v.aliases.iter().map(J::s).collect())),
                                ("creation_timestamp", J::Int(v.creation_timestamp)),
                                ("last_updated_timestamp", J::Int(v.last_updated_timestamp)),
                            ])
                        })
                        .collect(),
                ),
            ),
            (
                "deleted_versions",
                J::Arr(deleted.iter().map(|&d| J::Int(d as i64)).collect()),
            ),
        ]));
    }
    let model_searches: Vec<(&str, &[&str])> = vec![
        ("name LIKE 'fraud%'", &[]),
        ("tags.team = 'risk'", &["name DESC"]),
        ("", &["last_updated_timestamp DESC"]),
        ("name ILIKE '%MODEL%'", &["name ASC"]),
    ];
    let mut model_search_json = Vec::new();
    for (filter, order) in model_searches {
        let names = cat
            .search_registered_models(Some(filter), order, 1000, None)
            .unwrap()
            .items
            .into_iter()
            .map(|m| J::s(m.name))
            .collect();
        model_search_json.push(J::obj([
            ("filter", J::s(filter)),
            ("order_by", J::Arr(order.iter().map(|o| J::s(*o)).collect())),
            ("names", J::Arr(names)),
        ]));
    }
    let run_filter = format!("run_id = '{parent}'");
    let version_searches: Vec<(&str, &[&str])> = vec![
        (&run_filter, &["version_number DESC"]),
        (
            "name = 'fraud-detector' and tags.validated = 'yes'",
            &["version_number ASC"],
        ),
        ("source_path = 'file:///somewhere/else/model'", &[]),
        ("name = 'fraud-detector'", &["creation_timestamp ASC"]),
    ];
    let mut version_search_json = Vec::new();
    for (filter, order) in version_searches {
        let found = cat
            .search_model_versions(Some(filter), order, 10_000, None)
            .unwrap()
            .items
            .into_iter()
            .map(|v| J::Arr(vec![J::s(v.name), J::s(v.version.to_string())]))
            .collect();
        version_search_json.push(J::obj([
            ("filter", J::s(filter)),
            ("order_by", J::Arr(order.iter().map(|o| J::s(*o)).collect())),
            ("versions", J::Arr(found)),
        ]));
    }

    J::obj([
        ("experiments", J::Arr(exps)),
        ("runs", J::Arr(runs)),
        ("searches", J::Arr(search_json)),
        (
            "registry",
            J::obj([
                ("models", J::Arr(model_json)),
                ("model_searches", J::Arr(model_search_json)),
                ("version_searches", J::Arr(version_search_json)),
            ]),
        ),
    ])
}

// ------------------------------------------------------------------------------------------
// Python.

fn workspace() -> PathBuf {
    Path::new(MANIFEST).join("../..").canonicalize().unwrap()
}

fn venvs_dir() -> PathBuf {
    match std::env::var_os("RUNLOG_MLFLOW_VENVS") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => workspace().join("target/mlflow-venvs"),
    }
}

fn has_mlflow(python: &Path, version: &str) -> bool {
    Command::new(python)
        .arg("-c")
        .arg(format!(
            "import mlflow; assert mlflow.__version__ == '{version}', mlflow.__version__"
        ))
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The Python of each MLflow version's venv, made by `scripts/mlflow-venvs.sh` when missing.
fn pythons() -> Vec<(&'static str, PathBuf)> {
    let dir = venvs_dir();
    let python = |v: &str| dir.join(v).join("bin/python");
    if MLFLOW_VERSIONS.iter().any(|v| !has_mlflow(&python(v), v)) {
        let script = workspace().join("scripts/mlflow-venvs.sh");
        eprintln!(
            "installing MLflow venvs: bash {} {}",
            script.display(),
            dir.display()
        );
        let out = Command::new("bash").arg(&script).arg(&dir).output();
        let ok = matches!(&out, Ok(o) if o.status.success());
        if !ok {
            let detail = match &out {
                Ok(o) => format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                ),
                Err(e) => format!("could not run bash: {e}"),
            };
            panic!(
                "\nThe MLflow read-back test needs Python venvs with mlflow-skinny {versions} in \
                 {dir} and could not make them:\n{detail}\n\
                 Install them with `bash scripts/mlflow-venvs.sh {dir}` (python3 with venv and \
                 pip, and a reachable package index), or point RUNLOG_MLFLOW_VENVS at a folder \
                 holding <version>/bin/python for each version. Offline, RUNLOG_MLFLOW=skip \
                 skips this test on a developer machine (never in CI).\n",
                versions = MLFLOW_VERSIONS.join(" and "),
                dir = dir.display(),
            );
        }
    }
    MLFLOW_VERSIONS
        .iter()
        .map(|v| {
            let p = python(v);
            assert!(
                has_mlflow(&p, v),
                "{} does not import mlflow {v} even after scripts/mlflow-venvs.sh ran",
                p.display()
            );
            (*v, p)
        })
        .collect()
}

/// The venvs' Pythons, or `None` when `RUNLOG_MLFLOW=skip` (after a loud notice).
fn mlflow_or_skip() -> Option<Vec<(&'static str, PathBuf)>> {
    if std::env::var("RUNLOG_MLFLOW").is_ok_and(|v| v == "skip") {
        assert!(
            std::env::var_os("CI").is_none(),
            "RUNLOG_MLFLOW=skip is for offline developer machines only, never in CI"
        );
        // Straight to the stream: the harness's capture of eprintln! would hide it.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr().lock(),
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! RUNLOG_MLFLOW=skip: the export was NOT checked against real MLflow.      !!!\n\
             !!! Unset it and run `bash scripts/mlflow-venvs.sh` to run the check.        !!!\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        return None;
    }
    // The tests of this file run in parallel: one installs, the others wait.
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    Some(pythons())
}

/// Writes `expected.json` for the store as it is now into `dir/<label>/`, takes the store
/// away (MLflow must need nothing but the export), runs verify.py with every MLflow version,
/// and puts the store back. `built` is consumed: every handle on the store is closed first.
/// Returns the failures, each with verify.py's report.
fn check_export(
    pythons: &[(&'static str, PathBuf)],
    dir: &Path,
    root: &Path,
    built: Built,
    label: &str,
    only: Option<&Selection>,
) -> Vec<String> {
    let work = dir.join(label);
    fs::create_dir(&work).unwrap();
    let mut json = String::new();
    expected(&built, only).write(&mut json);
    let expected_path = work.join("expected.json");
    fs::write(&expected_path, json).unwrap();
    drop(built);
    let store = dir.join("store");
    let away = dir.join("store-moved-away");
    fs::rename(&store, &away).unwrap();

    let script = Path::new(MANIFEST).join("tests/mlflow/verify.py");
    let mut failures = Vec::new();
    for (version, python) in pythons {
        let cwd = work.join(format!("cwd-{version}"));
        fs::create_dir(&cwd).unwrap();
        let out = Command::new(python)
            .arg(&script)
            .arg(root)
            .arg(&expected_path)
            .current_dir(&cwd)
            .env_remove("MLFLOW_TRACKING_URI")
            .env_remove("MLFLOW_REGISTRY_URI")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!(
            "--- {label}, MLflow {version}: exit {:?}\n{stdout}",
            out.status.code()
        );
        if !out.status.success() {
            failures.push(format!(
                "{label}, MLflow {version} (exit {:?}):\n{stdout}\n--- stderr ---\n{stderr}",
                out.status.code()
            ));
        }
    }
    fs::rename(&away, &store).unwrap();
    if std::env::var_os("RUNLOG_MLFLOW_KEEP").is_some() {
        eprintln!("RUNLOG_MLFLOW_KEEP: {label} kept in {}", dir.display());
    }
    failures
}

/// Ends a test: fails with every failure, keeping `dir`; passes otherwise (keeping `dir` when
/// `RUNLOG_MLFLOW_KEEP` is set, to try verify.py by hand).
fn finish(dir: tempfile::TempDir, failures: &[String]) {
    if !failures.is_empty() {
        fail_with(dir, failures);
    }
    if std::env::var_os("RUNLOG_MLFLOW_KEEP").is_some() {
        let _ = dir.keep();
    }
}

fn fail_with(dir: tempfile::TempDir, failures: &[String]) -> ! {
    // Kept for a look: the export, expected.json and the store.
    let kept = dir.keep();
    panic!(
        "MLflow did not read back what runlog holds (export, expected.json and store kept in \
         {}):\n\n{}",
        kept.display(),
        failures.join("\n\n")
    );
}

#[test]
fn mlflow_reads_back_everything_the_store_holds() {
    let Some(pythons) = mlflow_or_skip() else {
        return;
    };
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
    eprintln!("exported: {report:?}");
    let failures = check_export(&pythons, dir.path(), &root, b, "export", None);
    finish(dir, &failures);
}

/// Changes of every kind after a first export, then an export over it (incremental): MLflow
/// must read the store as it is now — appended points, new and deleted tags, renames,
/// deletions and restorations, stage and alias moves, deleted and renamed models, replaced
/// artifacts.
#[test]
fn mlflow_reads_back_an_incremental_export_after_changes() {
    let Some(pythons) = mlflow_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let b = build(dir.path());
    let root = dir.path().join("mlruns");
    export(
        b.store.catalog(),
        b.store.metric_store(),
        &root,
        &ExportOptions::default(),
    )
    .unwrap();
    let (ids, mut deleted_versions) = (b.ids.clone(), b.deleted_versions.clone());
    let mut failures = check_export(&pythons, dir.path(), &root, b, "first export", None);

    // The RUNNING run's handle was closed (it is FINISHED now): resume it, log more.
    let store = Store::open(dir.path().join("store")).unwrap();
    let cat = store.catalog();
    let t1 = 1_800_000_000_000_i64;
    let running = store.resume_run(&ids["running"]).unwrap();
    for step in 2..1200 {
        running
            .log_metric_at("train/loss", step, t1 + step, 1.0 / step as f64)
            .unwrap();
    }
    running
        .log_metric_at("new key/ü", -5, t1, f64::NAN)
        .unwrap();
    running.set_tag("phase", "two").unwrap();
    running
        .log_text("logged in phase two", "phase/two.txt")
        .unwrap();
    running.flush().unwrap();
    // A finished run resumed: points appended to an existing key, a replaced artifact.
    let child = store.resume_run(&ids["child three"]).unwrap();
    for step in 50..80 {
        child
            .log_metric_at("train/loss", step, t1 + step, -(step as f64))
            .unwrap();
    }
    child.log_text("replaced ✓", "name.txt").unwrap();
    child.log_text("new", "more/new.txt").unwrap();
    child.finish(RunStatus::Failed).unwrap();
    // Tags deleted and added, a rename, a new param.
    let parent = &ids["parent"];
    cat.delete_tag(parent, "multiline").unwrap();
    cat.set_tags(parent, &[("added/later", "yes"), ("team", "ml-core-2")])
        .unwrap();
    cat.rename_run(parent, "renamed parent ✓").unwrap();
    cat.log_params(parent, &[("added later", "1")]).unwrap();
    // Runs deleted and restored; experiments deleted, restored, renamed, retagged.
    cat.delete_run(&ids["child one"]).unwrap();
    cat.restore_run(&ids["deleted"]).unwrap();
    cat.restore_experiment(&ids["gone"]).unwrap();
    let empty = cat
        .get_experiment_by_name("empty experiment")
        .unwrap()
        .unwrap()
        .experiment_id;
    cat.delete_experiment(&empty).unwrap();
    cat.rename_experiment(&ids["other"], "other experiment, renamed")
        .unwrap();
    cat.delete_experiment_tag(&ids["vision"], "nested/key: ünï")
        .unwrap();
    cat.set_experiment_tag(&ids["vision"], "added", "later")
        .unwrap();
    // The registry: a deleted model, a renamed one, a new version taking Production from the
    // champion, alias moves, a deleted version, a deleted tag, a cleared description.
    let name = "fraud-detector";
    cat.delete_registered_model("model without versions")
        .unwrap();
    cat.rename_registered_model("ünïcode modèle ☃", "renamed model")
        .unwrap();
    let v = store.register_model(name, parent, "model").unwrap();
    cat.transition_model_version_stage(name, v.version, "Production", true)
        .unwrap();
    cat.set_registered_model_alias(name, "champion", v.version)
        .unwrap();
    cat.delete_registered_model_alias(name, "baseline").unwrap();
    cat.delete_model_version(name, 2).unwrap();
    deleted_versions.get_mut(name).unwrap().push(2);
    cat.delete_model_version_tag(name, 3, "validated").unwrap();
    cat.update_registered_model(name, None).unwrap();
    cat.set_registered_model_tag(name, "added", "later")
        .unwrap();
    // Last, an experiment with runs, metrics and artifacts goes to the trash.
    cat.delete_experiment(&ids["other"]).unwrap();

    let report = export(
        store.catalog(),
        store.metric_store(),
        &root,
        &ExportOptions::default(),
    )
    .unwrap();
    eprintln!("incremental export: {report:?}");
    let b = Built {
        store,
        ids,
        deleted_versions,
        _running: Some(running),
    };
    failures.extend(check_export(
        &pythons,
        dir.path(),
        &root,
        b,
        "incremental export",
        None,
    ));
    finish(dir, &failures);
}

/// An export of chosen experiments and runs: MLflow sees those (and the default experiment),
/// nothing else of the store, and the whole registry.
#[test]
fn mlflow_reads_back_an_export_of_chosen_experiments_and_runs() {
    let Some(pythons) = mlflow_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let b = build(dir.path());
    let root = dir.path().join("mlruns");
    let sel = Selection {
        experiments: vec![b.ids["other"].clone()],
        runs: vec![b.ids["parent"].clone(), b.ids["in gone"].clone()],
    };
    let options = ExportOptions::default()
        .experiments(sel.experiments.clone())
        .runs(sel.runs.clone());
    let report = export(b.store.catalog(), b.store.metric_store(), &root, &options).unwrap();
    eprintln!("chosen export: {report:?}");
    let failures = check_export(&pythons, dir.path(), &root, b, "chosen export", Some(&sel));
    finish(dir, &failures);
}
