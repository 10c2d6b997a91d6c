//! MLflow's `search_runs` oracle through the public API: the whole MLflow 3.17.2 dataset of
//! `crates/runlog-search/tests/fixtures/mlflow-search/` (4 experiments, 60 runs, full metric
//! histories) is loaded through `runlog::Store` (runs started with their recorded ids, every
//! point logged through `Run::log_metric_at`, status, end time and deletion set through the
//! catalog), then every recorded case is replayed with `Catalog::search_runs`, page token by
//! page token, and must return exactly the pages MLflow returned. The 13 invalid filters must
//! fail with MLflow's message. A few more cases, from MLflow's documented behaviour, are
//! checked against a small oracle computed here from the dataset.
//!
//! The root package has no `serde_json` dev-dependency, so the fixture is read with the small
//! JSON reader at the end of this file.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::OnceLock;

use runlog::catalog::CatalogError;
use runlog::{Error, LifecycleStage, NewRun, RunStatus, Store, ViewType};

use crate::common::python_latest;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("crates/runlog-search/tests/fixtures/mlflow-search")
}

fn load(name: &str) -> Json {
    let path = fixture_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// A metric value: a JSON number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
fn metric_value(v: &Json) -> f64 {
    match v {
        Json::Number(_) => v.f64(),
        Json::String(s) => match s.as_str() {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            other => panic!("unexpected metric value {other}"),
        },
        other => panic!("unexpected metric value {other:?}"),
    }
}

fn same_f64(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// One run of `dataset.json`.
#[derive(Debug, Clone)]
struct FixtureRun {
    label: String,
    run_id: String,
    experiment_id: String,
    run_name: String,
    status: RunStatus,
    user_id: String,
    start_time: i64,
    end_time: Option<i64>,
    deleted: bool,
    parent_label: Option<String>,
    artifact_uri: String,
    params: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    /// Full histories in logged order.
    metrics: Vec<(String, Vec<runlog::Point>)>,
    /// What MLflow reports as the run's value of each metric.
    latest: BTreeMap<String, f64>,
}

#[derive(Debug)]
struct FixtureExperiment {
    experiment_id: String,
    name: String,
    artifact_location: String,
    tags: Vec<(String, String)>,
}

fn string_map(v: &Json) -> BTreeMap<String, String> {
    v.obj()
        .iter()
        .map(|(k, v)| (k.clone(), v.str().to_owned()))
        .collect()
}

fn load_dataset() -> (Vec<FixtureExperiment>, Vec<FixtureRun>) {
    let d = load("dataset.json");
    let experiments = d["experiments"]
        .arr()
        .iter()
        .map(|e| {
            assert_eq!(e["lifecycle_stage"].str(), "active");
            FixtureExperiment {
                experiment_id: e["experiment_id"].str().to_owned(),
                name: e["name"].str().to_owned(),
                artifact_location: e["artifact_location"].str().to_owned(),
                tags: string_map(&e["tags"]).into_iter().collect(),
            }
        })
        .collect();
    let runs = d["runs"]
        .arr()
        .iter()
        .map(|r| FixtureRun {
            label: r["label"].str().to_owned(),
            run_id: r["run_id"].str().to_owned(),
            experiment_id: r["experiment_id"].str().to_owned(),
            run_name: r["run_name"].str().to_owned(),
            status: r["status"].str().parse().expect("a status"),
            user_id: r["user_id"].str().to_owned(),
            start_time: r["start_time"].i64(),
            end_time: (!r["end_time"].is_null()).then(|| r["end_time"].i64()),
            deleted: match r["lifecycle_stage"].str() {
                "active" => false,
                "deleted" => true,
                other => panic!("lifecycle {other}"),
            },
            parent_label: (!r["parent_label"].is_null())
                .then(|| r["parent_label"].str().to_owned()),
            artifact_uri: r["artifact_uri"].str().to_owned(),
            params: string_map(&r["params"]),
            tags: string_map(&r["tags"]),
            metrics: r["metrics"]
                .obj()
                .iter()
                .map(|(k, pts)| {
                    let pts = pts
                        .arr()
                        .iter()
                        .map(|p| {
                            let p = p.arr();
                            runlog::Point::new(p[0].i64(), p[1].i64(), metric_value(&p[2]))
                        })
                        .collect();
                    (k.clone(), pts)
                })
                .collect(),
            latest: r["latest_metrics"]
                .obj()
                .iter()
                .map(|(k, v)| (k.clone(), metric_value(v)))
                .collect(),
        })
        .collect();
    (experiments, runs)
}

/// The dataset loaded into a store, once for all tests of this module.
struct Loaded {
    _dir: tempfile::TempDir,
    store: Store,
    runs: Vec<FixtureRun>,
    cases: Json,
}

fn loaded() -> &'static Loaded {
    static LOADED: OnceLock<Loaded> = OnceLock::new();
    LOADED.get_or_init(|| {
        let (experiments, runs) = load_dataset();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        load_into(&store, &experiments, &runs);
        Loaded {
            _dir: dir,
            store,
            runs,
            cases: load("cases.json"),
        }
    })
}

/// Rebuilds the dataset through the public API, as the fixture's README describes.
fn load_into(store: &Store, experiments: &[FixtureExperiment], runs: &[FixtureRun]) {
    let catalog = store.catalog();
    for e in experiments {
        if e.experiment_id == runlog::catalog::DEFAULT_EXPERIMENT_ID {
            let default = catalog.get_experiment("0").unwrap();
            assert_eq!(default.name, e.name);
            continue;
        }
        let tags: Vec<(&str, &str)> = e
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let id = catalog
            .create_experiment_with_id(&e.experiment_id, &e.name, Some(&e.artifact_location), &tags)
            .unwrap();
        assert_eq!(id, e.experiment_id);
    }
    let id_of: HashMap<&str, &str> = runs
        .iter()
        .map(|r| (r.label.as_str(), r.run_id.as_str()))
        .collect();
    // Parents first: a child is created once its parent exists.
    let mut created: HashMap<&str, ()> = HashMap::new();
    while created.len() < runs.len() {
        let before = created.len();
        for r in runs {
            if created.contains_key(r.label.as_str()) {
                continue;
            }
            if let Some(p) = &r.parent_label
                && !created.contains_key(p.as_str())
            {
                continue;
            }
            let parent_run_id = r
                .parent_label
                .as_ref()
                .map(|p| id_of[p.as_str()].to_string());
            if let Some(p) = &parent_run_id {
                assert_eq!(r.tags.get(runlog::catalog::TAG_PARENT_RUN_ID), Some(p));
            }
            let run = store
                .start_run(NewRun {
                    run_id: Some(r.run_id.clone()),
                    experiment_id: Some(r.experiment_id.clone()),
                    run_name: Some(r.run_name.clone()),
                    start_time: Some(r.start_time),
                    user: Some(r.user_id.clone()),
                    parent_run_id,
                    artifact_uri: Some(r.artifact_uri.clone()),
                    tags: r.tags.clone().into_iter().collect(),
                    params: r.params.clone().into_iter().collect(),
                    ..NewRun::default()
                })
                .unwrap_or_else(|e| panic!("{}: start_run: {e}", r.label));
            for (key, points) in &r.metrics {
                for p in points {
                    run.log_metric_at(key, p.step, p.timestamp_ms, p.value)
                        .unwrap_or_else(|e| panic!("{} {key}: {e}", r.label));
                }
            }
            run.finish(r.status).unwrap();
            catalog.set_status(&r.run_id, r.status, r.end_time).unwrap();
            if r.deleted {
                catalog.delete_run(&r.run_id).unwrap();
            }
            created.insert(&r.label, ());
        }
        assert!(created.len() > before, "a parent_label names no run");
    }
}

#[test]
fn the_dataset_reads_back_through_the_facade() {
    let l = loaded();
    let catalog = l.store.catalog();
    assert_eq!(catalog.run_count().unwrap(), 60);
    let mut points = 0;
    for r in &l.runs {
        let got = l.store.get_run(&r.run_id).unwrap();
        let what = &r.label;
        assert_eq!(got.experiment_id, r.experiment_id, "{what}");
        assert_eq!(got.run_name, r.run_name, "{what}");
        assert_eq!(got.status, r.status, "{what}");
        assert_eq!(got.start_time, r.start_time, "{what}");
        assert_eq!(got.end_time, r.end_time, "{what}");
        assert_eq!(got.user_id, r.user_id, "{what}");
        assert_eq!(
            got.lifecycle_stage,
            if r.deleted {
                LifecycleStage::Deleted
            } else {
                LifecycleStage::Active
            },
            "{what}"
        );
        assert_eq!(got.deleted_time.is_some(), r.deleted, "{what}");
        assert_eq!(got.artifact_uri, r.artifact_uri, "{what}");
        assert_eq!(got.params, r.params, "{what}: params");
        for (k, v) in &r.tags {
            assert_eq!(got.tags.get(k), Some(v), "{what}: tag {k}");
        }
        // Only what the facade and the catalog add on their own: the source tags, and
        // `mlflow.user` from the user given (MLflow's file store, fed through
        // `MlflowClient.create_run` without that tag, has none).
        for (k, v) in &got.tags {
            if r.tags.contains_key(k) {
                continue;
            }
            match k.as_str() {
                "mlflow.source.name" => {}
                "mlflow.source.type" => assert_eq!(v, "LOCAL", "{what}"),
                "mlflow.user" => assert_eq!(v, &r.user_id, "{what}"),
                other => panic!("{what}: unexpected tag {other}={v:?}"),
            }
        }
        assert_eq!(
            got.parent_run_id(),
            r.tags.get("mlflow.parentRunId").map(String::as_str)
        );
        // Latest metrics: exactly MLflow's values, at the point MLflow's rule picks.
        assert_eq!(
            got.metrics.keys().collect::<Vec<_>>(),
            r.latest.keys().collect::<Vec<_>>(),
            "{what}: metric keys"
        );
        let reader = l.store.reader(&r.run_id).unwrap();
        for (key, history) in &r.metrics {
            let m = got.metrics[key];
            let want = r.latest[key];
            assert!(
                same_f64(m.value, want),
                "{what} {key}: latest value {} but MLflow reports {want}",
                m.value
            );
            let p = python_latest(history).unwrap();
            assert_eq!(
                (m.step, m.timestamp_ms),
                (p.step, p.timestamp_ms),
                "{what} {key}"
            );
            assert!(same_f64(m.value, p.value), "{what} {key}");
            let stored: Vec<runlog::Point> = reader.history(key).unwrap().iter().collect();
            assert_eq!(stored.len(), history.len(), "{what} {key}: history length");
            for (s, h) in stored.iter().zip(history) {
                assert_eq!(
                    (s.step, s.timestamp_ms),
                    (h.step, h.timestamp_ms),
                    "{what} {key}"
                );
                assert!(same_f64(s.value, h.value), "{what} {key}");
            }
            points += history.len();
        }
    }
    assert_eq!(points, 472, "the README counts 472 points");
    for e in [
        "279148848973456778",
        "803963414391613234",
        "945061209483882716",
    ] {
        let exp = catalog.get_experiment(e).unwrap();
        assert_eq!(exp.lifecycle_stage, LifecycleStage::Active);
    }
}

fn view_type(name: &str) -> ViewType {
    match name {
        "ACTIVE_ONLY" => ViewType::ActiveOnly,
        "DELETED_ONLY" => ViewType::DeletedOnly,
        "ALL" => ViewType::All,
        other => panic!("unknown run_view_type {other}"),
    }
}

fn strings(v: &Json) -> Vec<String> {
    v.arr().iter().map(|s| s.str().to_owned()).collect()
}

/// One search request, as the cases describe it.
#[derive(Debug, Clone)]
struct Request {
    experiment_ids: Vec<String>,
    filter: String,
    view: ViewType,
    order_by: Vec<String>,
    max_results: usize,
}

impl Request {
    fn of_case(case: &Json) -> Request {
        Request {
            experiment_ids: strings(&case["experiment_ids"]),
            filter: case["filter_string"].str().to_owned(),
            view: view_type(case["run_view_type"].str()),
            order_by: strings(&case["order_by"]),
            max_results: usize::try_from(case["max_results"].i64()).unwrap(),
        }
    }

    fn new(experiment_ids: &[&str], filter: &str, order_by: &[&str], view: ViewType) -> Request {
        Request {
            experiment_ids: experiment_ids.iter().map(|s| s.to_string()).collect(),
            filter: filter.to_string(),
            view,
            order_by: order_by.iter().map(|s| s.to_string()).collect(),
            max_results: 1000,
        }
    }

    fn pages(mut self, n: usize) -> Request {
        self.max_results = n;
        self
    }

    /// Runs the request through `Catalog::search_runs`, following page tokens to the end.
    fn run(&self, store: &Store) -> Result<Vec<Vec<String>>, CatalogError> {
        let ids: Vec<&str> = self.experiment_ids.iter().map(String::as_str).collect();
        let order: Vec<&str> = self.order_by.iter().map(String::as_str).collect();
        let mut pages = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = store.catalog().search_runs(
                &ids,
                Some(&self.filter),
                self.view,
                &order,
                self.max_results,
                token.as_deref(),
            )?;
            pages.push(page.runs.iter().map(|r| r.run_id.clone()).collect());
            match page.next_page_token {
                Some(next) => token = Some(next),
                None => return Ok(pages),
            }
            assert!(pages.len() <= 1000, "page tokens never end");
        }
    }
}

#[test]
fn every_mlflow_case_returns_mlflows_pages() {
    let l = loaded();
    let labels: HashMap<&str, &str> = l
        .runs
        .iter()
        .map(|r| (r.run_id.as_str(), r.label.as_str()))
        .collect();
    let show = |pages: &[Vec<String>]| -> Vec<Vec<&str>> {
        pages
            .iter()
            .map(|p| {
                p.iter()
                    .map(|id| labels.get(id.as_str()).copied().unwrap_or("?"))
                    .collect()
            })
            .collect()
    };
    let cases = l.cases["cases"].arr();
    assert_eq!(cases.len(), 46, "the fixture has 46 valid cases");
    let mut failures = Vec::new();
    let mut pages_checked = 0;
    for case in cases {
        let id = case["id"].str();
        let expected: Vec<Vec<String>> = case["expected"]["pages"]
            .arr()
            .iter()
            .map(strings)
            .collect();
        assert_eq!(
            expected.concat(),
            strings(&case["expected"]["run_ids"]),
            "{id}"
        );
        let request = Request::of_case(case);
        // A fresh handle answers its first search from partial views read in place (what a
        // one-shot tool does); the shared handle from its cache of whole runs. Both must
        // give MLflow's pages.
        let fresh = Store::open(l.store.path()).unwrap();
        match request.run(&fresh) {
            Ok(pages) if pages == expected => {}
            Ok(pages) => failures.push(format!(
                "{id} on a fresh handle: expected {:?}, got {:?}",
                show(&expected),
                show(&pages)
            )),
            Err(e) => failures.push(format!("{id} on a fresh handle: unexpected error: {e}")),
        }
        match request.run(&l.store) {
            Ok(pages) if pages == expected => pages_checked += pages.len(),
            Ok(pages) => failures.push(format!(
                "{id} ({:?}, order {:?}):\n  expected {:?}\n  got      {:?}",
                request.filter,
                request.order_by,
                show(&expected),
                show(&pages)
            )),
            Err(e) => failures.push(format!("{id}: unexpected error: {e}")),
        }
        // The facade's one-page search returns the first page.
        if request.view == ViewType::ActiveOnly {
            let ids: Vec<&str> = request.experiment_ids.iter().map(String::as_str).collect();
            let order: Vec<&str> = request.order_by.iter().map(String::as_str).collect();
            let first: Vec<String> = l
                .store
                .search_runs(&ids, &request.filter, &order, request.max_results)
                .unwrap()
                .iter()
                .map(|r| r.run_id.clone())
                .collect();
            assert_eq!(first, expected[0], "{id}: Store::search_runs");
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from MLflow:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(pages_checked >= 46);
}

fn search_message(e: &CatalogError) -> String {
    match e {
        CatalogError::Search(s) => s.message().to_owned(),
        other => other.to_string(),
    }
}

#[test]
fn every_invalid_mlflow_case_is_rejected_with_mlflows_message() {
    let l = loaded();
    let cases = l.cases["invalid_cases"].arr();
    assert_eq!(cases.len(), 13, "the fixture has 13 invalid cases");
    for case in cases {
        let id = case["id"].str();
        let prefix = case["expected_error"]["message_prefix"].str();
        let request = Request::of_case(case);
        let error = match request.run(&l.store) {
            Err(e) => e,
            Ok(pages) => panic!("{id}: accepted, returned {pages:?}"),
        };
        let message = search_message(&error);
        assert!(
            message.contains(prefix),
            "{id}: message {message:?} does not contain MLflow's {prefix:?}"
        );
        // runlog rejects eagerly, also where MLflow waits for a run to evaluate: the same
        // request on the empty Default experiment fails the same way.
        let mut empty = request.clone();
        empty.experiment_ids = vec!["0".into()];
        let e = empty
            .run(&l.store)
            .expect_err(&format!("{id}: accepted on an empty experiment"));
        assert!(search_message(&e).contains(prefix), "{id}: {e}");
        // And through the facade.
        let ids: Vec<&str> = request.experiment_ids.iter().map(String::as_str).collect();
        let order: Vec<&str> = request.order_by.iter().map(String::as_str).collect();
        match l
            .store
            .search_runs(&ids, &request.filter, &order, request.max_results)
        {
            Err(Error::Catalog(e)) => assert!(search_message(&e).contains(prefix), "{id}: {e}"),
            Err(other) => panic!("{id}: unexpected error kind {other}"),
            Ok(_) => panic!("{id}: the facade accepted it"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Cases of our own, from MLflow's documented behaviour (see the fixture's README), checked
// against an oracle computed here from the dataset.

const ALPHA: &str = "279148848973456778";
const BETA: &str = "803963414391613234";
const GAMMA: &str = "945061209483882716";

/// MLflow's natural order: start time descending, then run id ascending.
fn natural(a: &FixtureRun, b: &FixtureRun) -> Ordering {
    b.start_time
        .cmp(&a.start_time)
        .then_with(|| a.run_id.cmp(&b.run_id))
}

/// The runs of `experiments` in `view` that `keep` selects, in natural order.
fn oracle<'a>(
    runs: &'a [FixtureRun],
    experiments: &[&str],
    view: ViewType,
    keep: impl Fn(&FixtureRun) -> bool,
) -> Vec<&'a FixtureRun> {
    let mut out: Vec<&FixtureRun> = runs
        .iter()
        .filter(|r| experiments.contains(&r.experiment_id.as_str()))
        .filter(|r| view.includes(if r.deleted { "deleted" } else { "active" }))
        .filter(|r| keep(r))
        .collect();
    out.sort_by(|a, b| natural(a, b));
    out
}

/// `metrics.<key> DESC` on top of the natural order: values descending, then NaN, then runs
/// without the key, each group keeping the natural order (a stable sort).
fn by_metric_desc(runs: &mut [&FixtureRun], key: &str) {
    let rank = |r: &FixtureRun| match r.latest.get(key) {
        Some(v) if v.is_nan() => (1, 0.0),
        Some(v) => (0, -*v),
        None => (2, 0.0),
    };
    runs.sort_by(|a, b| {
        let (ga, va) = rank(a);
        let (gb, vb) = rank(b);
        ga.cmp(&gb).then(va.partial_cmp(&vb).unwrap())
    });
}

fn ids(runs: &[&FixtureRun]) -> Vec<String> {
    runs.iter().map(|r| r.run_id.clone()).collect()
}

fn labels_of(l: &Loaded, ids: &[String]) -> Vec<String> {
    ids.iter()
        .map(|id| {
            l.runs
                .iter()
                .find(|r| &r.run_id == id)
                .map_or("?".into(), |r| r.label.clone())
        })
        .collect()
}

fn check_own(l: &Loaded, what: &str, request: Request, want: Vec<String>) {
    let pages = request
        .run(&l.store)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let n = request.max_results;
    let expected: Vec<Vec<String>> = if want.is_empty() {
        vec![vec![]]
    } else {
        want.chunks(n).map(|c| c.to_vec()).collect()
    };
    assert_eq!(
        pages.iter().map(|p| labels_of(l, p)).collect::<Vec<_>>(),
        expected.iter().map(|p| labels_of(l, p)).collect::<Vec<_>>(),
        "{what}: {:?} order {:?}",
        request.filter,
        request.order_by
    );
    assert_eq!(pages, expected, "{what}");
}

#[test]
fn own_cases_from_mlflows_documented_behaviour() {
    let l = loaded();
    let runs = &l.runs;
    let all3 = [ALPHA, BETA, GAMMA];
    let tag = |r: &FixtureRun, k: &str| r.tags.get(k).cloned();

    // ILIKE folds case; the pattern is anchored, so 'VISION' is whole-value equality.
    let want = oracle(runs, &all3, ViewType::ActiveOnly, |r| {
        tag(r, "team").is_some_and(|t| t.to_lowercase() == "vision")
    });
    assert!(want.len() > 3, "the dataset has vision, Vision and VISION");
    check_own(
        l,
        "tag-ilike-upper",
        Request::new(&all3, "tags.team ILIKE 'VISION'", &[], ViewType::ActiveOnly),
        ids(&want),
    );
    // LIKE is case-sensitive.
    let want = oracle(runs, &all3, ViewType::ActiveOnly, |r| {
        tag(r, "team").as_deref() == Some("Vision")
    });
    check_own(
        l,
        "tag-like-exact-case",
        Request::new(&all3, "tags.team LIKE 'Vision'", &[], ViewType::ActiveOnly),
        ids(&want),
    );
    // A bare `run_name` is an attribute; `=` is exact and case-sensitive; paged by 3.
    let want = oracle(runs, &all3, ViewType::All, |r| r.run_name == "baseline");
    check_own(
        l,
        "run-name-bare-eq-all-paged",
        Request::new(&all3, "run_name = 'baseline'", &[], ViewType::All).pages(3),
        ids(&want),
    );
    // status is an attribute, upper case, compared exactly; across experiments, every view.
    for view in [ViewType::ActiveOnly, ViewType::DeletedOnly, ViewType::All] {
        let want = oracle(runs, &all3, view, |r| r.status == RunStatus::Failed);
        check_own(
            l,
            "status-failed",
            Request::new(&all3, "attributes.status = 'FAILED'", &[], view).pages(2),
            ids(&want),
        );
        let want = oracle(runs, &all3, view, |r| r.status != RunStatus::Finished);
        check_own(
            l,
            "status-not-finished",
            Request::new(&all3, "status != 'FINISHED'", &[], view),
            ids(&want),
        );
    }
    let want = oracle(runs, &all3, ViewType::All, |_| false);
    check_own(
        l,
        "status-lower-case",
        Request::new(&all3, "attributes.status = 'failed'", &[], ViewType::All),
        ids(&want),
    );
    // A key with a space: backticks and double quotes are the same key; NaN fails `<`.
    let want = oracle(runs, &all3, ViewType::ActiveOnly, |r| {
        r.latest.get("val acc").is_some_and(|v| *v < 0.5)
    });
    assert!(!want.is_empty());
    for filter in [
        "metrics.`val acc` < 0.5",
        "metrics.\"val acc\" < 0.5",
        "metric.`val acc` < 0.5",
    ] {
        check_own(
            l,
            "metric-space-key",
            Request::new(&all3, filter, &[], ViewType::ActiveOnly),
            ids(&want),
        );
    }
    // Ordering by a metric that some runs lack: values descending (+inf first, -inf last),
    // then NaN, then the runs without it, each group in natural order; paged by 4 over two
    // experiments.
    for key in ["best/acc", "acc", "val acc", "loss"] {
        let mut want = oracle(runs, &[ALPHA, BETA], ViewType::ActiveOnly, |_| true);
        assert!(want.iter().any(|r| !r.latest.contains_key(key)), "{key}");
        assert!(want.iter().any(|r| r.latest.contains_key(key)), "{key}");
        by_metric_desc(&mut want, key);
        check_own(
            l,
            "order-metric-desc-missing-last",
            Request::new(
                &[ALPHA, BETA],
                "",
                &[&format!("metrics.`{key}` DESC")],
                ViewType::ActiveOnly,
            )
            .pages(4),
            ids(&want),
        );
    }
    // The children of b01 by the parent tag, whose key contains dots (no quoting needed).
    let b01 = &runs.iter().find(|r| r.label == "b01").unwrap().run_id;
    let want = oracle(runs, &all3, ViewType::All, |r| {
        r.parent_label.as_deref() == Some("b01")
    });
    assert_eq!(want.len(), 4);
    check_own(
        l,
        "parent-tag",
        Request::new(
            &all3,
            &format!("tags.mlflow.parentRunId = '{b01}'"),
            &[],
            ViewType::All,
        ),
        ids(&want),
    );
    // AND of a user attribute and a metric, paged by 3; `and` in lower case.
    let want = oracle(runs, &all3, ViewType::ActiveOnly, |r| {
        r.user_id == "alice" && r.latest.get("acc").is_some_and(|v| *v > 0.5)
    });
    check_own(
        l,
        "user-and-metric",
        Request::new(
            &all3,
            "attributes.user_id = 'alice' and metrics.acc > 0.5",
            &[],
            ViewType::ActiveOnly,
        )
        .pages(3),
        ids(&want),
    );
    // `params.lr LIKE '%e-3'`: case-sensitive, so 1E-3 is not selected.
    let want = oracle(runs, &all3, ViewType::ActiveOnly, |r| {
        r.params.get("lr").is_some_and(|v| v.ends_with("e-3"))
    });
    check_own(
        l,
        "param-like-suffix",
        Request::new(&all3, "params.lr LIKE '%e-3'", &[], ViewType::ActiveOnly),
        ids(&want),
    );
    // A tag IS NULL matches runs without it; IS NOT NULL the others.
    let want = oracle(runs, &all3, ViewType::ActiveOnly, |r| {
        !r.tags.contains_key("priority")
    });
    check_own(
        l,
        "tag-is-null",
        Request::new(&all3, "tags.priority IS NULL", &[], ViewType::ActiveOnly),
        ids(&want),
    );
    // run_id IN (…) with an id of another experiment: not found, no error.
    let g01 = &runs.iter().find(|r| r.label == "g01").unwrap().run_id;
    let a03 = &runs.iter().find(|r| r.label == "a03").unwrap().run_id;
    let want = oracle(runs, &[ALPHA], ViewType::ActiveOnly, |r| r.label == "a03");
    check_own(
        l,
        "run-id-in-other-experiment",
        Request::new(
            &[ALPHA],
            &format!("attributes.run_id IN ('{g01}', '{a03}')"),
            &[],
            ViewType::ActiveOnly,
        ),
        ids(&want),
    );
    // An experiment id that does not exist returns nothing, without an error.
    check_own(
        l,
        "unknown-experiment",
        Request::new(&["123456"], "", &[], ViewType::All),
        vec![],
    );
}

#[test]
fn own_invalid_cases_from_mlflows_documented_behaviour() {
    let l = loaded();
    // IN / NOT IN work only for run_id (README note 12): tags, params and status refuse it.
    for (filter, part) in [
        ("tags.team IN ('vision', 'nlp')", "quoted string value"),
        (
            "attributes.status IN ('FAILED', 'KILLED')",
            "Only ['run_id'] attributes",
        ),
        ("status NOT IN ('RUNNING')", "Only ['run_id'] attributes"),
        ("metrics.acc IN (0.5)", ""),
        (
            "metrics.acc > 0.5 OR status = 'FAILED'",
            "Invalid clause(s)",
        ),
        ("NOT metrics.acc > 0.5", ""),
        ("METRICS.acc > 0.5", ""),
        ("metrics.acc > NaN", ""),
        ("metrics.acc > +1", ""),
        ("tags.team = vision", "not quoted"),
        ("attributes.start_time > '1700000000000'", ""),
        ("attributes.run_id IN ()", ""),
    ] {
        let e = Request::new(&[ALPHA], filter, &[], ViewType::ActiveOnly)
            .run(&l.store)
            .expect_err(filter);
        let message = search_message(&e);
        assert!(!message.is_empty(), "{filter}");
        assert!(
            message.contains(part),
            "{filter}: {message:?} lacks {part:?}"
        );
    }
    for order in [
        "metrics.acc DESC, params.lr",
        " metrics.acc DESC",
        "metrics.acc SIDEWAYS",
    ] {
        Request::new(&[ALPHA], "", &[order], ViewType::ActiveOnly)
            .run(&l.store)
            .expect_err(order);
    }
    // A page token that was never issued.
    let e = l
        .store
        .catalog()
        .search_runs(
            &[ALPHA],
            None,
            ViewType::ActiveOnly,
            &[],
            5,
            Some("not a token"),
        )
        .expect_err("a garbage page token");
    assert!(!e.to_string().is_empty());
}

// ---------------------------------------------------------------------------------------
// Reading the fixture's JSON (serde_json), panicking with what was expected.

type Json = serde_json::Value;

trait JsonExt {
    fn str(&self) -> &str;
    fn i64(&self) -> i64;
    fn f64(&self) -> f64;
    fn arr(&self) -> &[Json];
    fn obj(&self) -> &serde_json::Map<String, Json>;
}

impl JsonExt for Json {
    fn str(&self) -> &str {
        self.as_str()
            .unwrap_or_else(|| panic!("expected a string, got {self}"))
    }

    fn i64(&self) -> i64 {
        self.as_i64()
            .unwrap_or_else(|| panic!("expected an integer, got {self}"))
    }

    fn f64(&self) -> f64 {
        self.as_f64()
            .unwrap_or_else(|| panic!("expected a number, got {self}"))
    }

    fn arr(&self) -> &[Json] {
        self.as_array()
            .unwrap_or_else(|| panic!("expected an array, got {self}"))
    }

    fn obj(&self) -> &serde_json::Map<String, Json> {
        self.as_object()
            .unwrap_or_else(|| panic!("expected an object, got {self}"))
    }
}

/// MLflow's `MlflowClient.create_run` takes the user from the `mlflow.user` tag, else
/// `"unknown"`, and adds no tag: the dataset's runs of user `unknown` have no `mlflow.user`
/// tag, so `tags.mlflow.user IS NULL` finds them. The catalog's `create_run` does the same.
/// (The facade always gives a user, as MLflow's fluent API always sets the tag.)
#[test]
fn a_run_created_without_a_user_has_no_user_tag() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let catalog = store.catalog();
    let run = catalog
        .create_run(NewRun::in_experiment("0").name("no-user"))
        .unwrap();
    assert_eq!(run.user_id, "unknown");
    assert_eq!(
        run.tags.get("mlflow.user"),
        None,
        "MLflow adds no mlflow.user tag"
    );
    let found = catalog
        .search_runs(
            &["0"],
            Some("tags.mlflow.user IS NULL"),
            ViewType::ActiveOnly,
            &[],
            10,
            None,
        )
        .unwrap();
    assert_eq!(found.runs.len(), 1);
}
