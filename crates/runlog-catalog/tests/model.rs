//! Model test of the catalog: random sequences of experiment and run operations, reopens and
//! rebuilds (catalog.redb deleted, replayed from the journals and run folders), checked
//! against a plain in-memory model of MLflow's semantics.
//!
//! After every operation the outcome (success, or the kind of error) must be the model's;
//! every few operations, after every reopen and rebuild and at the end, the whole state is
//! compared: every experiment (by id, by name, listed per view), every run (info, params,
//! tags, latest metrics), `run_count` and `search_runs` in every view. Searches with a few
//! filters, orders and page sizes are compared page by page, also through a second,
//! read-only handle on the same catalog (its cache must follow every commit).
//!
//! Latest metrics arrive as the facade sends them: the points are written to the run folder
//! by a `RunWriter` (so a rebuild finds them in the segments), and the latest point by
//! MLflow's rule is passed to `update_metrics`.
//!
//! The case count comes from `RUNLOG_PROPTEST_CASES` (default 32).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use runlog_catalog::{
    CATALOG_FILE, Catalog, CatalogError, Experiment, LatestMetric, LifecycleStage, NewRun, Run,
    RunStatus, ViewType, now_ms,
};
use runlog_metrics::{Point, RunWriter, WriterOptions};

fn cases() -> u32 {
    std::env::var("RUNLOG_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

// ---------------------------------------------------------------------------------------
// Pools: small, so that names collide and keys repeat. Some entries break MLflow's naming
// rules on purpose.

/// Experiment names; `""` and `"  "` are invalid (empty, blank), `Default` is taken at first.
const EXP_NAMES: [&str; 7] = ["alpha", "beta", "gamma", "Alpha", "Default", "", "  "];
const EXP_TAG_KEYS: [&str; 3] = ["e1", "e2", "../e"];
const EXP_TAG_VALUES: [&str; 2] = ["v", "w"];
/// Experiment ids an importer may choose; `007` is invalid (leading zero).
const CHOSEN_IDS: [&str; 4] = ["0", "5", "9", "007"];
/// Run names; `""` is invalid.
const RUN_NAMES: [&str; 5] = ["r1", "r2", "Run-3", "x y", ""];
const USERS: [&str; 2] = ["alice", "bob"];
const PARAM_KEYS: [&str; 4] = ["p1", "p2", "p3", "../p"];
const PARAM_VALUES: [&str; 3] = ["a", "b", "1"];
const TAG_KEYS: [&str; 6] = [
    "t1",
    "t2",
    "mlflow.runName",
    "mlflow.user",
    "mlflow.note.content",
    "t/",
];
const TAG_VALUES: [&str; 4] = ["x", "y", "r2", ""];
const METRIC_KEYS: [&str; 3] = ["loss", "acc", "val acc"];
const STATUSES: [RunStatus; 5] = RunStatus::ALL;
/// How many entries of each pool are valid, and how many invalid (the last ones).
const EXP_NAMES_VALID: (usize, usize) = (5, 2);
const EXP_TAG_KEYS_VALID: (usize, usize) = (2, 1);
const CHOSEN_IDS_VALID: (usize, usize) = (3, 1);
const RUN_NAMES_VALID: (usize, usize) = (4, 1);
const PARAM_KEYS_VALID: (usize, usize) = (3, 1);
const TAG_KEYS_VALID: (usize, usize) = (5, 1);
/// The index [`which`] uses for an experiment or run that does not exist.
const MISSING: usize = usize::MAX;
/// An experiment id and a run id that never exist.
const NO_EXPERIMENT: &str = "424242";
const NO_RUN: &str = "ffffffffffffffffffffffffffffffff";
/// Where `catalog.redb` is copied aside.
const SNAPSHOT: &str = "catalog.redb.snapshot";
/// The id `create_run` is given to be refused.
const BAD_RUN_ID: &str = "not-a-run-id";

/// The keys of the pools that MLflow refuses (not a normalised relative path).
fn invalid_key(k: &str) -> bool {
    k.starts_with("..") || k.ends_with('/')
}

fn invalid_exp_name(n: &str) -> bool {
    n.trim().is_empty()
}

/// Filters the model evaluates, by index (see `model_matches`).
const FILTERS: [&str; 13] = [
    "",
    "attributes.status = 'FINISHED'",
    "params.p1 = 'a'",
    "tags.t1 != 'x'",
    "attributes.run_name LIKE 'r%'",
    "metrics.loss > 0",
    "tags.mlflow.runName = 'r1'",
    "params.p2 IS NULL",
    "attributes.start_time >= 5",
    "attributes.end_time < 30",
    "params.p1 = 'a' AND tags.t2 = 'y'",
    "attributes.user_id = 'alice'",
    "metrics.`val acc` <= 0.5",
];

/// Orders the model sorts by, by index (see `sort_value`).
const ORDERS: [&[&str]; 7] = [
    &[],
    &["attributes.start_time ASC"],
    &["metrics.loss DESC"],
    &["params.p1"],
    &["attributes.run_name DESC"],
    &["tags.t1 DESC", "metrics.acc ASC"],
    &["attributes.end_time"],
];

const PAGE_SIZES: [usize; 5] = [1, 2, 3, 1000, usize::MAX];

// ---------------------------------------------------------------------------------------
// Operations. Experiments and runs are picked by index among those that exist, one past the
// end meaning an id that does not exist.

#[derive(Debug, Clone)]
struct CreateRunOp {
    exp: usize,
    /// 0: a random id, 1: a fresh id, 2: the id of a run that exists, 3: an invalid id.
    id: u8,
    name: Option<usize>,
    name_tag: Option<usize>,
    user: Option<usize>,
    user_tag: Option<usize>,
    parent: Option<usize>,
    params: Vec<(usize, usize)>,
    tags: Vec<(usize, usize)>,
    start_time: i64,
    status: Option<usize>,
    artifact_uri: bool,
}

#[derive(Debug, Clone)]
enum Op {
    CreateExperiment {
        name: usize,
        tags: Vec<(usize, usize)>,
        id: Option<usize>,
        artifact_location: bool,
    },
    RenameExperiment {
        exp: usize,
        name: usize,
    },
    SetExperimentTag {
        exp: usize,
        key: usize,
        value: usize,
    },
    DeleteExperimentTag {
        exp: usize,
        key: usize,
    },
    DeleteExperiment {
        exp: usize,
    },
    RestoreExperiment {
        exp: usize,
    },
    CreateRun(Box<CreateRunOp>),
    LogParams {
        run: usize,
        params: Vec<(usize, usize)>,
    },
    SetTags {
        run: usize,
        tags: Vec<(usize, usize)>,
    },
    DeleteTag {
        run: usize,
        key: usize,
    },
    SetStatus {
        run: usize,
        status: usize,
        end_time: Option<i64>,
    },
    RenameRun {
        run: usize,
        name: usize,
    },
    DeleteRun {
        run: usize,
    },
    RestoreRun {
        run: usize,
    },
    LogMetrics {
        run: usize,
        key: usize,
        points: Vec<(i64, i64, f64)>,
    },
    Search {
        experiments: u8,
        unknown: bool,
        filter: usize,
        order: usize,
        view: usize,
        page: usize,
        reader: bool,
    },
    Check,
    Reopen,
    /// Drop the catalog, then delete `catalog.redb` (or, `api`, `Catalog::rebuild`) and open.
    Rebuild {
        api: bool,
    },
    /// Copy `catalog.redb` aside (handles closed).
    Snapshot,
    /// Put the copy back: the catalog misses every commit since, as after commits lost
    /// between the journal append and the redb commit. The next write to each experiment
    /// and run must catch up from the journals.
    RestoreSnapshot,
}

/// An index into a pool of `valid` entries followed by `invalid` ones, rarely an invalid one.
fn pick((valid, invalid): (usize, usize)) -> BoxedStrategy<usize> {
    if invalid == 0 {
        (0..valid).boxed()
    } else {
        prop_oneof![12 => 0..valid, 1 => valid..valid + invalid].boxed()
    }
}

/// Picks an experiment or a run among those that exist (by index, modulo their number), or
/// rarely ([`MISSING`]) one that does not.
fn which() -> impl Strategy<Value = usize> + Clone {
    prop_oneof![12 => 0..64usize, 1 => Just(MISSING)]
}

/// Key-value pairs; keys may repeat.
fn pairs(
    keys: (usize, usize),
    values: usize,
    max: usize,
) -> impl Strategy<Value = Vec<(usize, usize)>> {
    prop::collection::vec((pick(keys), 0..values), 0..max)
}

/// Key-value pairs with distinct keys, rarely with one key twice.
fn unique_pairs(
    keys: (usize, usize),
    values: usize,
    max: usize,
) -> impl Strategy<Value = Vec<(usize, usize)>> {
    (
        prop::collection::btree_map(pick(keys), 0..values, 0..max),
        prop::bool::weighted(0.05),
    )
        .prop_map(move |(map, twice)| {
            let mut v: Vec<(usize, usize)> = map.into_iter().collect();
            if twice && let Some(&(k, x)) = v.first() {
                v.push((k, (x + 1) % values));
            }
            v
        })
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => (-20i32..20).prop_map(|x| x as f64 / 10.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(-0.0),
    ]
}

fn create_run() -> impl Strategy<Value = CreateRunOp> {
    (
        (
            which(),
            prop_oneof![2 => Just(0u8), 14 => Just(1u8), 3 => Just(2u8), 1 => Just(3u8)],
            prop::option::weighted(0.7, pick(RUN_NAMES_VALID)),
            prop::option::weighted(0.1, pick(RUN_NAMES_VALID)),
            prop::option::of(0..USERS.len()),
            prop::option::weighted(0.2, 0..USERS.len()),
        ),
        (
            prop::option::weighted(0.2, which()),
            unique_pairs(PARAM_KEYS_VALID, PARAM_VALUES.len(), 3),
            pairs(TAG_KEYS_VALID, TAG_VALUES.len(), 3),
            prop_oneof![30 => 0i64..12, 1 => Just(-1i64)],
            prop::option::weighted(0.2, 0..STATUSES.len()),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (exp, id, name, name_tag, user, user_tag),
                (parent, params, tags, start_time, status, artifact_uri),
            )| CreateRunOp {
                exp,
                id,
                name,
                name_tag,
                user,
                user_tag,
                parent,
                params,
                tags,
                start_time,
                status,
                artifact_uri,
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    let exp = which();
    let run = which();
    prop_oneof![
        4 => (
            pick(EXP_NAMES_VALID),
            pairs(EXP_TAG_KEYS_VALID, EXP_TAG_VALUES.len(), 3),
            prop::option::weighted(0.2, pick(CHOSEN_IDS_VALID)),
            any::<bool>(),
        )
            .prop_map(|(name, tags, id, artifact_location)| Op::CreateExperiment {
                name,
                tags,
                id,
                artifact_location,
            }),
        2 => (exp.clone(), pick(EXP_NAMES_VALID))
            .prop_map(|(exp, name)| Op::RenameExperiment { exp, name }),
        2 => (exp.clone(), pick(EXP_TAG_KEYS_VALID), 0..EXP_TAG_VALUES.len())
            .prop_map(|(exp, key, value)| Op::SetExperimentTag { exp, key, value }),
        1 => (exp.clone(), 0..EXP_TAG_KEYS_VALID.0)
            .prop_map(|(exp, key)| Op::DeleteExperimentTag { exp, key }),
        2 => exp.clone().prop_map(|exp| Op::DeleteExperiment { exp }),
        1 => exp.clone().prop_map(|exp| Op::RestoreExperiment { exp }),
        10 => create_run().prop_map(|c| Op::CreateRun(Box::new(c))),
        4 => (run.clone(), unique_pairs(PARAM_KEYS_VALID, PARAM_VALUES.len(), 3))
            .prop_map(|(run, params)| Op::LogParams { run, params }),
        4 => (run.clone(), pairs(TAG_KEYS_VALID, TAG_VALUES.len(), 3))
            .prop_map(|(run, tags)| Op::SetTags { run, tags }),
        2 => (run.clone(), 0..TAG_KEYS_VALID.0).prop_map(|(run, key)| Op::DeleteTag { run, key }),
        3 => (run.clone(), 0..STATUSES.len(), prop::option::of(10i64..40))
            .prop_map(|(run, status, end_time)| Op::SetStatus { run, status, end_time }),
        2 => (run.clone(), pick(RUN_NAMES_VALID)).prop_map(|(run, name)| Op::RenameRun { run, name }),
        2 => run.clone().prop_map(|run| Op::DeleteRun { run }),
        1 => run.clone().prop_map(|run| Op::RestoreRun { run }),
        4 => (
            run.clone(),
            0..METRIC_KEYS.len(),
            prop::collection::vec((0i64..4, 0i64..4, value()), 1..6),
        )
            .prop_map(|(run, key, points)| Op::LogMetrics { run, key, points }),
        4 => (
            any::<u8>(),
            prop::bool::weighted(0.2),
            0..FILTERS.len(),
            0..ORDERS.len(),
            0..3usize,
            0..PAGE_SIZES.len(),
            any::<bool>(),
        )
            .prop_map(|(experiments, unknown, filter, order, view, page, reader)| {
                Op::Search {
                    experiments,
                    unknown,
                    filter,
                    order,
                    view,
                    page,
                    reader,
                }
            }),
        1 => Just(Op::Check),
        1 => Just(Op::Reopen),
        1 => any::<bool>().prop_map(|api| Op::Rebuild { api }),
        1 => Just(Op::Snapshot),
        1 => Just(Op::RestoreSnapshot),
    ]
}

// ---------------------------------------------------------------------------------------
// The model

/// An operation's outcome: success or one kind of error.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Ok,
    Invalid,
    NotFound,
    Exists,
    ParamChanged {
        key: String,
        old: String,
        new: String,
    },
    InvalidState,
    InvalidArgument,
}

fn outcome<T>(r: &Result<T, CatalogError>, run_id: Option<&str>) -> Outcome {
    let Err(e) = r else { return Outcome::Ok };
    let message = e.to_string();
    assert!(!message.is_empty());
    match e {
        CatalogError::Invalid(_) => Outcome::Invalid,
        CatalogError::NotFound { .. } => Outcome::NotFound,
        CatalogError::ExperimentExists { .. } => Outcome::Exists,
        CatalogError::ParamChanged {
            run_id: r,
            key,
            old,
            new,
        } => {
            assert_eq!(Some(r.as_str()), run_id, "ParamChanged names the run");
            assert!(
                message.contains(key.as_str())
                    && message.contains(old.as_str())
                    && message.contains(new.as_str()),
                "{message}"
            );
            Outcome::ParamChanged {
                key: key.clone(),
                old: old.clone(),
                new: new.clone(),
            }
        }
        CatalogError::InvalidState(_) => Outcome::InvalidState,
        CatalogError::InvalidArgument(_) => Outcome::InvalidArgument,
        other => panic!("unexpected error: {other}"),
    }
}

#[derive(Debug, Clone)]
struct MExperiment {
    id: u64,
    name: String,
    artifact_location: String,
    stage: LifecycleStage,
    creation_time: i64,
    last_update_time: i64,
    tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct MRun {
    run_id: String,
    experiment_id: String,
    run_name: String,
    status: RunStatus,
    start_time: i64,
    end_time: Option<i64>,
    user_id: String,
    stage: LifecycleStage,
    deleted_time: Option<i64>,
    artifact_uri: String,
    params: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    metrics: BTreeMap<String, LatestMetric>,
    /// Every point logged, per key, in order.
    history: BTreeMap<String, Vec<Point>>,
}

#[derive(Debug)]
struct Model {
    experiments: BTreeMap<u64, MExperiment>,
    /// Runs in creation order (operations pick them by index).
    runs: Vec<MRun>,
    fresh_ids: u64,
    /// The latest metrics of every run when `catalog.redb` was copied aside (they live in
    /// the catalog only; the journals do not hold them).
    snapshot: Option<BTreeMap<String, BTreeMap<String, LatestMetric>>>,
}

/// MLflow's latest point: `max` by (step, timestamp, value), scanning in order (within one
/// step and timestamp a NaN never replaces and is never replaced).
fn python_latest(points: &[Point]) -> Point {
    let mut best = points[0];
    for p in &points[1..] {
        let greater = if p.step != best.step {
            p.step > best.step
        } else if p.timestamp_ms != best.timestamp_ms {
            p.timestamp_ms > best.timestamp_ms
        } else {
            p.value > best.value
        };
        if greater {
            best = *p;
        }
    }
    best
}

fn default_artifact_location(root: &Path, id: u64) -> String {
    let abs = std::path::absolute(root).unwrap();
    format!("file://{}/artifacts/{id}", abs.display())
}

impl Model {
    fn new(default: &Experiment) -> Model {
        let mut experiments = BTreeMap::new();
        experiments.insert(
            0,
            MExperiment {
                id: 0,
                name: "Default".into(),
                artifact_location: default.artifact_location.clone(),
                stage: LifecycleStage::Active,
                creation_time: default.creation_time,
                last_update_time: default.last_update_time,
                tags: BTreeMap::new(),
            },
        );
        Model {
            experiments,
            runs: Vec::new(),
            fresh_ids: 0,
            snapshot: None,
        }
    }

    /// The experiment picked by `i` (see [`which`]).
    fn exp_id(&self, i: usize) -> String {
        let ids: Vec<u64> = self.experiments.keys().copied().collect();
        if i == MISSING {
            return NO_EXPERIMENT.to_string();
        }
        ids[i % ids.len()].to_string()
    }

    /// The run picked by `i` (see [`which`]).
    fn run_id(&self, i: usize) -> String {
        if i == MISSING || self.runs.is_empty() {
            return NO_RUN.to_string();
        }
        self.runs[i % self.runs.len()].run_id.clone()
    }

    fn run(&self, id: &str) -> Option<&MRun> {
        self.runs.iter().find(|r| r.run_id == id)
    }

    fn run_mut(&mut self, id: &str) -> Option<&mut MRun> {
        self.runs.iter_mut().find(|r| r.run_id == id)
    }

    fn exp_by_name(&self, name: &str) -> Option<&MExperiment> {
        self.experiments.values().find(|e| e.name == name)
    }

    fn exp(&self, id: &str) -> Option<&MExperiment> {
        id.parse::<u64>()
            .ok()
            .and_then(|n| self.experiments.get(&n))
    }

    /// The checks of an operation that needs an active experiment.
    fn active_exp(&self, id: &str) -> Result<u64, Outcome> {
        match self.exp(id) {
            None => Err(Outcome::NotFound),
            Some(e) if e.stage == LifecycleStage::Deleted => Err(Outcome::InvalidState),
            Some(e) => Ok(e.id),
        }
    }

    /// The checks of an operation that needs an active run.
    fn active_run(&self, id: &str) -> Result<(), Outcome> {
        match self.run(id) {
            None => Err(Outcome::NotFound),
            Some(r) if r.stage == LifecycleStage::Deleted => Err(Outcome::InvalidState),
            Some(_) => Ok(()),
        }
    }

    fn fresh_run_id(&mut self) -> String {
        self.fresh_ids += 1;
        // Not in creation order, so that the run id tie-break matters.
        format!(
            "{:032x}",
            (self.fresh_ids as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
        )
    }
}

// ---------------------------------------------------------------------------------------
// The model's search

#[derive(Debug, Clone, PartialEq)]
enum SortValue {
    Num(f64),
    Str(String),
    NaN,
    Missing,
}

fn sort_value(r: &MRun, key: &str) -> SortValue {
    let num = |v: Option<f64>| match v {
        None => SortValue::Missing,
        Some(v) if v.is_nan() => SortValue::NaN,
        Some(v) => SortValue::Num(v),
    };
    let text = |v: Option<&String>| v.map_or(SortValue::Missing, |s| SortValue::Str(s.clone()));
    match key {
        "attributes.start_time" => SortValue::Num(r.start_time as f64),
        "attributes.end_time" => num(r.end_time.map(|t| t as f64)),
        "attributes.run_name" => SortValue::Str(r.run_name.clone()),
        "metrics.loss" => num(r.metrics.get("loss").map(|m| m.value)),
        "metrics.acc" => num(r.metrics.get("acc").map(|m| m.value)),
        "params.p1" => text(r.params.get("p1")),
        "tags.t1" => text(r.tags.get("t1")),
        other => panic!("the model cannot order by {other}"),
    }
}

/// MLflow's comparison for one order key: values in the direction asked, then NaN, then
/// runs without a value, in either direction.
fn compare(a: &SortValue, b: &SortValue, descending: bool) -> Ordering {
    use SortValue::*;
    let group = |v: &SortValue| match v {
        Num(_) | Str(_) => 0,
        NaN => 1,
        Missing => 2,
    };
    let by_group = group(a).cmp(&group(b));
    if by_group != Ordering::Equal {
        return by_group;
    }
    let o = match (a, b) {
        (Num(x), Num(y)) => x.partial_cmp(y).unwrap(),
        (Str(x), Str(y)) => x.cmp(y),
        _ => Ordering::Equal,
    };
    if descending { o.reverse() } else { o }
}

fn model_matches(filter: usize, r: &MRun) -> bool {
    let metric = |k: &str| r.metrics.get(k).map(|m| m.value);
    match filter {
        0 => true,
        1 => r.status == RunStatus::Finished,
        2 => r.params.get("p1").is_some_and(|v| v == "a"),
        3 => r.tags.get("t1").is_some_and(|v| v != "x"),
        4 => r.run_name.starts_with('r'),
        5 => metric("loss").is_some_and(|v| v > 0.0),
        6 => r.tags.get("mlflow.runName").is_some_and(|v| v == "r1"),
        7 => !r.params.contains_key("p2"),
        8 => r.start_time >= 5,
        9 => r.end_time.is_some_and(|t| t < 30),
        10 => {
            r.params.get("p1").is_some_and(|v| v == "a")
                && r.tags.get("t2").is_some_and(|v| v == "y")
        }
        11 => r.user_id == "alice",
        12 => metric("val acc").is_some_and(|v| v <= 0.5),
        _ => unreachable!(),
    }
}

fn view_of(i: usize) -> ViewType {
    [ViewType::ActiveOnly, ViewType::DeletedOnly, ViewType::All][i]
}

impl Model {
    /// MLflow's `search_runs`, every page at once.
    fn search(
        &self,
        experiment_ids: &[String],
        filter: usize,
        order: usize,
        view: ViewType,
    ) -> Vec<String> {
        let mut runs: Vec<&MRun> = self
            .runs
            .iter()
            .filter(|r| experiment_ids.contains(&r.experiment_id))
            .filter(|r| view.includes(r.stage.as_str()))
            .filter(|r| model_matches(filter, r))
            .collect();
        // The natural order: start time descending, then run id.
        runs.sort_by(|a, b| {
            b.start_time
                .cmp(&a.start_time)
                .then_with(|| a.run_id.cmp(&b.run_id))
        });
        let keys: Vec<(&str, bool)> = ORDERS[order]
            .iter()
            .map(|o| match o.rsplit_once(' ') {
                Some((k, "DESC")) => (k, true),
                Some((k, "ASC")) => (k, false),
                _ => (*o, false),
            })
            .collect();
        // A stable sort: ties keep the natural order, in both directions.
        runs.sort_by(|a, b| {
            for (key, desc) in &keys {
                let o = compare(&sort_value(a, key), &sort_value(b, key), *desc);
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
        runs.iter().map(|r| r.run_id.clone()).collect()
    }
}

// ---------------------------------------------------------------------------------------
// Comparing the catalog with the model

fn same_metric(a: &LatestMetric, b: &LatestMetric) -> bool {
    a.step == b.step
        && a.timestamp_ms == b.timestamp_ms
        && (a.value.to_bits() == b.value.to_bits() || (a.value.is_nan() && b.value.is_nan()))
}

fn assert_run(got: &Run, want: &MRun) {
    let id = &want.run_id;
    assert_eq!(got.run_id, want.run_id);
    assert_eq!(got.experiment_id, want.experiment_id, "{id}");
    assert_eq!(got.run_name, want.run_name, "{id}");
    assert_eq!(got.status, want.status, "{id}");
    assert_eq!(got.start_time, want.start_time, "{id}");
    assert_eq!(got.end_time, want.end_time, "{id}");
    assert_eq!(got.user_id, want.user_id, "{id}");
    assert_eq!(got.lifecycle_stage, want.stage, "{id}");
    assert_eq!(got.deleted_time, want.deleted_time, "{id}");
    assert_eq!(got.artifact_uri, want.artifact_uri, "{id}");
    assert_eq!(got.params, want.params, "{id}: params");
    assert_eq!(got.tags, want.tags, "{id}: tags");
    assert_eq!(
        got.metrics.keys().collect::<Vec<_>>(),
        want.metrics.keys().collect::<Vec<_>>(),
        "{id}: metric keys"
    );
    for (k, m) in &want.metrics {
        assert!(
            same_metric(&got.metrics[k], m),
            "{id} {k}: {:?} != model {m:?}",
            got.metrics[k]
        );
    }
}

fn assert_experiment(got: &Experiment, want: &MExperiment) {
    let id = want.id;
    assert_eq!(got.experiment_id, id.to_string());
    assert_eq!(got.name, want.name, "experiment {id}");
    assert_eq!(
        got.artifact_location, want.artifact_location,
        "experiment {id}"
    );
    assert_eq!(got.lifecycle_stage, want.stage, "experiment {id}");
    assert_eq!(got.tags, want.tags, "experiment {id}");
    assert_eq!(got.creation_time, want.creation_time, "experiment {id}");
    assert_eq!(
        got.last_update_time, want.last_update_time,
        "experiment {id}"
    );
}

/// Compares everything the catalog holds with the model.
fn check_all(c: &Catalog, m: &Model) {
    for view in [ViewType::ActiveOnly, ViewType::DeletedOnly, ViewType::All] {
        let got = c.list_experiments(view).unwrap();
        let want: Vec<&MExperiment> = m
            .experiments
            .values()
            .filter(|e| view.includes(e.stage.as_str()))
            .collect();
        assert_eq!(got.len(), want.len(), "list_experiments({view:?})");
        for (g, w) in got.iter().zip(want) {
            assert_experiment(g, w);
        }
    }
    for e in m.experiments.values() {
        assert_experiment(&c.get_experiment(&e.id.to_string()).unwrap(), e);
    }
    assert!(matches!(
        c.get_experiment(NO_EXPERIMENT),
        Err(CatalogError::NotFound { .. })
    ));
    for name in EXP_NAMES {
        let got = c
            .get_experiment_by_name(name)
            .unwrap()
            .map(|e| e.experiment_id);
        let want = m.exp_by_name(name).map(|e| e.id.to_string());
        assert_eq!(got, want, "get_experiment_by_name({name:?})");
    }
    assert_eq!(c.run_count().unwrap(), m.runs.len() as u64, "run_count");
    for r in &m.runs {
        assert_run(&c.get_run(&r.run_id).unwrap(), r);
    }
    // Briefs: every run in id order, read from the head of its record alone.
    let briefs = c.run_briefs().unwrap();
    let mut ids: Vec<&str> = m.runs.iter().map(|r| r.run_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        briefs.iter().map(|b| b.run_id.as_str()).collect::<Vec<_>>(),
        ids,
        "run_briefs ids"
    );
    for b in &briefs {
        let full = c.get_run(&b.run_id).unwrap();
        assert_eq!(
            (&b.experiment_id, &b.run_name, b.status, b.lifecycle_stage),
            (
                &full.experiment_id,
                &full.run_name,
                full.status,
                full.lifecycle_stage
            ),
            "run_briefs of {}",
            b.run_id
        );
        let prefix = &b.run_id[..3];
        let hits = c.run_briefs_with_prefix(prefix).unwrap();
        let want: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|i| i.starts_with(prefix))
            .collect();
        assert_eq!(
            hits.iter().map(|h| h.run_id.as_str()).collect::<Vec<_>>(),
            want,
            "run_briefs_with_prefix({prefix:?})"
        );
    }
    assert!(c.run_briefs_with_prefix("g").unwrap().is_empty());
    assert!(matches!(
        c.get_run(NO_RUN),
        Err(CatalogError::NotFound { .. })
    ));
    let all: Vec<String> = m.experiments.keys().map(u64::to_string).collect();
    let ids: Vec<&str> = all.iter().map(String::as_str).collect();
    for view in [ViewType::ActiveOnly, ViewType::DeletedOnly, ViewType::All] {
        let got: Vec<String> = c
            .search_runs(&ids, None, view, &[], usize::MAX, None)
            .unwrap()
            .runs
            .iter()
            .map(|r| r.run_id.clone())
            .collect();
        assert_eq!(got, m.search(&all, 0, 0, view), "search_runs({view:?})");
    }
    for e in &all {
        let got: Vec<String> = c
            .list_runs(&[e.as_str()], ViewType::All)
            .unwrap()
            .iter()
            .map(|r| r.run_id.clone())
            .collect();
        let want = m.search(std::slice::from_ref(e), 0, 0, ViewType::All);
        assert_eq!(got, want, "list_runs({e})");
    }
    // latest_metrics: every run (active or deleted) of the experiments, by run id; all of
    // them, each alone (so that both its ways of reading occur), and one listed twice
    // beside an unknown id.
    let keys = ["loss", "acc", "val acc", "nope"];
    let mut sets: Vec<Vec<String>> = vec![all.clone()];
    sets.extend(all.iter().map(|e| vec![e.clone()]));
    sets.push(vec![all[0].clone(), NO_EXPERIMENT.into(), all[0].clone()]);
    for set in sets {
        let refs: Vec<&str> = set.iter().map(String::as_str).collect();
        let got = c.latest_metrics(&refs, &keys).unwrap();
        let mut want: Vec<&MRun> = m
            .runs
            .iter()
            .filter(|r| set.contains(&r.experiment_id))
            .collect();
        want.sort_by(|a, b| a.run_id.cmp(&b.run_id));
        let ids = |v: &[(String, Vec<Option<LatestMetric>>)]| -> Vec<String> {
            v.iter().map(|(id, _)| id.clone()).collect()
        };
        assert_eq!(
            ids(&got),
            want.iter().map(|r| r.run_id.clone()).collect::<Vec<_>>(),
            "latest_metrics({set:?}): runs"
        );
        for ((id, values), r) in got.iter().zip(want) {
            assert_eq!(values.len(), keys.len());
            for (k, v) in keys.iter().zip(values) {
                match (v, r.metrics.get(*k)) {
                    (None, None) => {}
                    (Some(g), Some(w)) if same_metric(g, w) => {}
                    (g, w) => panic!("latest_metrics({set:?}) {id} {k}: {g:?}, model {w:?}"),
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Running a sequence

struct Harness {
    root: PathBuf,
    catalog: Option<Catalog>,
    /// A read-only handle on the same catalog, for searches and full checks.
    reader: Option<Catalog>,
    model: Model,
}

/// Asserts that `t` lies in `[lo, hi]` and returns it.
fn within(t: i64, lo: i64, hi: i64, what: &str) -> i64 {
    assert!(
        lo <= t && t <= hi,
        "{what}: time {t} not within [{lo}, {hi}]"
    );
    t
}

fn expect(op: &Op, got: Outcome, want: Outcome) {
    assert_eq!(got, want, "{op:?}");
}

impl Harness {
    fn open(root: &Path) -> Harness {
        let catalog = Catalog::open(root).unwrap();
        let reader = Catalog::open_read_only(root).unwrap();
        let default = catalog.get_experiment("0").unwrap();
        assert_eq!(default.name, "Default");
        assert_eq!(
            default.artifact_location,
            default_artifact_location(root, 0)
        );
        Harness {
            root: root.to_path_buf(),
            catalog: Some(catalog),
            reader: Some(reader),
            model: Model::new(&default),
        }
    }

    fn c(&self) -> &Catalog {
        self.catalog.as_ref().unwrap()
    }

    fn reader(&self) -> &Catalog {
        self.reader.as_ref().unwrap()
    }

    /// Drops both handles and opens again: as it is (`None`), after deleting `catalog.redb`
    /// (`Some(false)`), or through `Catalog::rebuild` (`Some(true)`).
    fn reopen(&mut self, rebuild: Option<bool>) {
        if rebuild.is_some() {
            // A rebuild reads every run's latest metrics from its segments.
            for r in &mut self.model.runs {
                r.metrics = r
                    .history
                    .iter()
                    .map(|(k, h)| {
                        let p = python_latest(h);
                        let m = LatestMetric {
                            step: p.step,
                            timestamp_ms: p.timestamp_ms,
                            value: p.value,
                        };
                        (k.clone(), m)
                    })
                    .collect();
            }
        }
        self.reader = None;
        self.catalog = None;
        self.catalog = Some(match rebuild {
            None => Catalog::open(&self.root).unwrap(),
            Some(false) => {
                std::fs::remove_file(self.root.join(CATALOG_FILE)).unwrap();
                Catalog::open(&self.root).unwrap()
            }
            Some(true) => Catalog::rebuild(&self.root).unwrap(),
        });
        self.reader = Some(Catalog::open_read_only(&self.root).unwrap());
    }

    fn apply(&mut self, op: &Op) {
        let t0 = now_ms();
        match op {
            Op::CreateExperiment {
                name,
                tags,
                id,
                artifact_location,
            } => {
                let name = EXP_NAMES[*name];
                let tags: Vec<(&str, &str)> = tags
                    .iter()
                    .map(|(k, v)| (EXP_TAG_KEYS[*k], EXP_TAG_VALUES[*v]))
                    .collect();
                let location = artifact_location.then_some("s3://bucket/exp");
                let chosen = id.map(|i| CHOSEN_IDS[i]);
                let got = match chosen {
                    None => self.c().create_experiment(name, location, &tags),
                    Some(id) => self
                        .c()
                        .create_experiment_with_id(id, name, location, &tags),
                };
                let t1 = now_ms();
                let m = &self.model;
                let want = if chosen == Some("007")
                    || invalid_exp_name(name)
                    || tags.iter().any(|(k, _)| invalid_key(k))
                {
                    Err(Outcome::Invalid)
                } else if m.exp_by_name(name).is_some() {
                    // Names are unique among all experiments, deleted ones included.
                    Err(Outcome::Exists)
                } else if let Some(id) = chosen
                    && m.exp(id).is_some()
                {
                    Err(Outcome::InvalidState)
                } else {
                    Ok(chosen.map_or_else(
                        || m.experiments.keys().max().map_or(1, |k| k + 1),
                        |id| id.parse().unwrap(),
                    ))
                };
                match want {
                    Err(w) => expect(op, outcome(&got, None), w),
                    Ok(id) => {
                        let got = got.unwrap_or_else(|e| panic!("{op:?}: {e}"));
                        assert_eq!(got, id.to_string(), "{op:?}: the new id");
                        let time = self.c().get_experiment(&got).unwrap().creation_time;
                        let time = within(time, t0, t1, "creation_time");
                        self.model.experiments.insert(
                            id,
                            MExperiment {
                                id,
                                name: name.to_string(),
                                artifact_location: location.map_or_else(
                                    || default_artifact_location(&self.root, id),
                                    str::to_string,
                                ),
                                stage: LifecycleStage::Active,
                                creation_time: time,
                                last_update_time: time,
                                tags: tags
                                    .iter()
                                    .map(|(k, v)| (k.to_string(), v.to_string()))
                                    .collect(),
                            },
                        );
                    }
                }
            }
            Op::RenameExperiment { exp, name } => {
                let id = self.model.exp_id(*exp);
                let name = EXP_NAMES[*name];
                let got = self.c().rename_experiment(&id, name);
                let t1 = now_ms();
                let m = &self.model;
                let want = if invalid_exp_name(name) {
                    Err(Outcome::Invalid)
                } else {
                    m.active_exp(&id).and_then(|n| match m.exp_by_name(name) {
                        Some(o) if o.id == n => Ok(false),
                        Some(_) => Err(Outcome::Exists),
                        None => Ok(true),
                    })
                };
                match want {
                    Err(w) => expect(op, outcome(&got, None), w),
                    Ok(changed) => {
                        got.unwrap_or_else(|e| panic!("{op:?}: {e}"));
                        if changed {
                            let t = self.c().get_experiment(&id).unwrap().last_update_time;
                            let t = within(t, t0, t1, "last_update_time");
                            let e = self.model.experiments.get_mut(&id.parse().unwrap());
                            let e = e.unwrap();
                            e.name = name.to_string();
                            e.last_update_time = t;
                        }
                    }
                }
            }
            Op::SetExperimentTag { exp, key, value } => {
                let id = self.model.exp_id(*exp);
                let (k, v) = (EXP_TAG_KEYS[*key], EXP_TAG_VALUES[*value]);
                let got = self.c().set_experiment_tag(&id, k, v);
                let want = if invalid_key(k) {
                    Err(Outcome::Invalid)
                } else {
                    self.model.active_exp(&id)
                };
                match want {
                    Err(w) => expect(op, outcome(&got, None), w),
                    Ok(n) => {
                        got.unwrap_or_else(|e| panic!("{op:?}: {e}"));
                        let e = self.model.experiments.get_mut(&n).unwrap();
                        e.tags.insert(k.into(), v.into());
                    }
                }
            }
            Op::DeleteExperimentTag { exp, key } => {
                let id = self.model.exp_id(*exp);
                let k = EXP_TAG_KEYS[*key];
                let got = self.c().delete_experiment_tag(&id, k);
                let want = self.model.active_exp(&id).and_then(|n| {
                    if self.model.experiments[&n].tags.contains_key(k) {
                        Ok(n)
                    } else {
                        Err(Outcome::NotFound)
                    }
                });
                match want {
                    Err(w) => expect(op, outcome(&got, None), w),
                    Ok(n) => {
                        got.unwrap_or_else(|e| panic!("{op:?}: {e}"));
                        self.model.experiments.get_mut(&n).unwrap().tags.remove(k);
                    }
                }
            }
            Op::DeleteExperiment { exp } | Op::RestoreExperiment { exp } => {
                let id = self.model.exp_id(*exp);
                let delete = matches!(op, Op::DeleteExperiment { .. });
                let got = if delete {
                    self.c().delete_experiment(&id)
                } else {
                    self.c().restore_experiment(&id)
                };
                let t1 = now_ms();
                let target = if delete {
                    LifecycleStage::Deleted
                } else {
                    LifecycleStage::Active
                };
                let want = if delete && id == "0" {
                    Err(Outcome::InvalidState)
                } else {
                    match self.model.exp(&id) {
                        None => Err(Outcome::NotFound),
                        // Deleting a deleted experiment (restoring an active one) is refused.
                        Some(e) if e.stage == target => Err(Outcome::InvalidState),
                        Some(e) => Ok(e.id),
                    }
                };
                match want {
                    Err(w) => expect(op, outcome(&got, None), w),
                    Ok(n) => {
                        got.unwrap_or_else(|e| panic!("{op:?}: {e}"));
                        let t = self.c().get_experiment(&id).unwrap().last_update_time;
                        let t = within(t, t0, t1, "last_update_time");
                        // Its runs stay as they are (MLflow's file store).
                        let e = self.model.experiments.get_mut(&n).unwrap();
                        e.stage = target;
                        e.last_update_time = t;
                    }
                }
            }
            Op::CreateRun(c) => self.create_run(op, c),
            Op::LogParams { run, params } => {
                let id = self.model.run_id(*run);
                let params: Vec<(&str, &str)> = params
                    .iter()
                    .map(|(k, v)| (PARAM_KEYS[*k], PARAM_VALUES[*v]))
                    .collect();
                let got = self.c().log_params(&id, &params);
                let mut keys: Vec<&str> = params.iter().map(|(k, _)| *k).collect();
                keys.sort_unstable();
                keys.dedup();
                let want =
                    if keys.len() < params.len() || params.iter().any(|(k, _)| invalid_key(k)) {
                        Err(Outcome::Invalid)
                    } else {
                        self.model.active_run(&id).and_then(|()| {
                            let r = self.model.run(&id).unwrap();
                            // The first changed value in the batch is named; nothing is logged.
                            for (k, v) in &params {
                                if let Some(old) = r.params.get(*k)
                                    && old != v
                                {
                                    return Err(Outcome::ParamChanged {
                                        key: k.to_string(),
                                        old: old.clone(),
                                        new: v.to_string(),
                                    });
                                }
                            }
                            Ok(())
                        })
                    };
                match want {
                    Err(w) => expect(op, outcome(&got, Some(&id)), w),
                    Ok(()) => {
                        got.unwrap_or_else(|e| panic!("{op:?}: {e}"));
                        let r = self.model.run_mut(&id).unwrap();
                        for (k, v) in params {
                            r.params.insert(k.into(), v.into());
                        }
                    }
                }
            }
            Op::SetTags { run, tags } => {
                let id = self.model.run_id(*run);
                let tags: Vec<(&str, &str)> = tags
                    .iter()
                    .map(|(k, v)| (TAG_KEYS[*k], TAG_VALUES[*v]))
                    .collect();
                let got = self.c().set_tags(&id, &tags);
                let want = if tags
                    .iter()
                    .any(|(k, v)| invalid_key(k) || (*k == "mlflow.runName" && v.is_empty()))
                {
                    Err(Outcome::Invalid)
                } else {
                    self.model.active_run(&id)
                };
                match want {
                    Err(w) => expect(op, outcome(&got, None), w),
                    Ok(()) => {
                        got.unwrap_or_else(|e| panic!("{op:?}: {e}"));
                        let r = self.model.run_mut(&id).unwrap();
                        for (k, v) in tags {
                            // The mlflow.runName tag renames the run; mlflow.user leaves the
                            // user alone.
                            if k == "mlflow.runName" {
                                r.run_name = v.into();
                            }
                            r.tags.insert(k.into(), v.into());
                        }
                    }
                }
            }
            Op::DeleteTag { run, key } => {
                let id = self.model.run_id(*run);
                let k = TAG_KEYS[*key];
                let got = self.c().delete_tag(&id, k);
                let want = self.model.active_run(&id).and_then(|()| {
                    if self.model.run(&id).unwrap().tags.contains_key(k) {
                        Ok(())
                    } else {
                        Err(Outcome::NotFound)
                    }
                });
                match want {
                    Err(w) => expect(op, outcome(&got, None), w),
                    Ok(()) => {
                        got.unwrap_or_else(|e| panic!("{op:?}: {e}"));
                        // The run keeps its name when the mlflow.runName tag goes.
                        self.model.run_mut(&id).unwrap().tags.remove(k);
                    }
                }
            }
            Op::SetStatus {
                run,
                status,
                end_time,
            } => {
                let id = self.model.run_id(*run);
                let status = STATUSES[*status];
                let got = self.c().set_status(&id, status, *end_time);
                let t1 = now_ms();
                match self.model.active_run(&id) {
                    Err(w) => expect(op, outcome(&got, None), w),
                    Ok(()) => {
                        got.unwrap_or_else(|e| panic!("{op:?}: {e}"));
                        let end = match end_time {
                            Some(t) => Some(*t),
                            None if status.is_terminated() => {
                                let t = self.c().get_run(&id).unwrap().end_time.unwrap();
                                Some(within(t, t0, t1, "end_time"))
                            }
                            // Resuming keeps the previous end time, as MLflow does.
                            None => self.model.run(&id).unwrap().end_time,
                        };
                        let r = self.model.run_mut(&id).unwrap();
                        r.status = status;
                        r.end_time = end;
                    }
                }
            }
            Op::RenameRun { run, name } => {
                let id = self.model.run_id(*run);
                let name = RUN_NAMES[*name];
                let got = self.c().rename_run(&id, name);
                let want = if name.is_empty() {
                    Err(Outcome::Invalid)
                } else {
                    self.model.active_run(&id)
                };
                match want {
                    Err(w) => expect(op, outcome(&got, None), w),
                    Ok(()) => {
                        got.unwrap_or_else(|e| panic!("{op:?}: {e}"));
                        let r = self.model.run_mut(&id).unwrap();
                        r.run_name = name.into();
                        r.tags.insert("mlflow.runName".into(), name.into());
                    }
                }
            }
            Op::DeleteRun { run } | Op::RestoreRun { run } => {
                let id = self.model.run_id(*run);
                let delete = matches!(op, Op::DeleteRun { .. });
                let got = if delete {
                    self.c().delete_run(&id)
                } else {
                    self.c().restore_run(&id)
                };
                let t1 = now_ms();
                let target = if delete {
                    LifecycleStage::Deleted
                } else {
                    LifecycleStage::Active
                };
                match self.model.run(&id).map(|r| r.stage) {
                    None => expect(op, outcome(&got, None), Outcome::NotFound),
                    // Deleting a deleted run (restoring an active one) changes nothing.
                    Some(stage) => {
                        got.unwrap_or_else(|e| panic!("{op:?}: {e}"));
                        if stage != target {
                            let deleted_time = if delete {
                                let t = self.c().get_run(&id).unwrap().deleted_time.unwrap();
                                Some(within(t, t0, t1, "deleted_time"))
                            } else {
                                None
                            };
                            let r = self.model.run_mut(&id).unwrap();
                            r.stage = target;
                            r.deleted_time = deleted_time;
                        }
                    }
                }
            }
            Op::LogMetrics { run, key, points } => {
                self.log_metrics(*run, METRIC_KEYS[*key], points)
            }
            Op::Search {
                experiments,
                unknown,
                filter,
                order,
                view,
                page,
                reader,
            } => {
                let mut ids: Vec<String> = self
                    .model
                    .experiments
                    .keys()
                    .enumerate()
                    .filter(|(i, _)| experiments & (1 << (i % 8)) != 0)
                    .map(|(_, id)| id.to_string())
                    .collect();
                if *unknown {
                    // An unknown experiment id returns nothing, without an error.
                    ids.push(NO_EXPERIMENT.into());
                }
                let view = view_of(*view);
                let want = self.model.search(&ids, *filter, *order, view);
                let size = PAGE_SIZES[*page];
                let handle = if *reader { self.reader() } else { self.c() };
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                let mut pages: Vec<Vec<String>> = Vec::new();
                let mut token: Option<String> = None;
                loop {
                    let page = handle
                        .search_runs(
                            &refs,
                            Some(FILTERS[*filter]),
                            view,
                            ORDERS[*order],
                            size,
                            token.as_deref(),
                        )
                        .unwrap_or_else(|e| panic!("{op:?}: {e}"));
                    for r in &page.runs {
                        assert_run(r, self.model.run(&r.run_id).expect("a known run"));
                    }
                    pages.push(page.runs.iter().map(|r| r.run_id.clone()).collect());
                    match page.next_page_token {
                        Some(t) => token = Some(t),
                        None => break,
                    }
                    assert!(pages.len() <= want.len() + 1, "{op:?}: tokens never end");
                }
                // Offset paging; a token only while more results remain.
                let expected: Vec<Vec<String>> = if want.is_empty() {
                    vec![vec![]]
                } else {
                    want.chunks(size.min(want.len()))
                        .map(<[String]>::to_vec)
                        .collect()
                };
                assert_eq!(pages, expected, "{op:?}: filter {:?}", FILTERS[*filter]);
            }
            Op::Check => {
                check_all(self.c(), &self.model);
                check_all(self.reader(), &self.model);
            }
            Op::Reopen => {
                self.reopen(None);
                check_all(self.c(), &self.model);
            }
            Op::Rebuild { api } => {
                self.reopen(Some(*api));
                check_all(self.c(), &self.model);
                check_all(self.reader(), &self.model);
            }
            Op::Snapshot => {
                self.reader = None;
                self.catalog = None;
                std::fs::copy(self.root.join(CATALOG_FILE), self.root.join(SNAPSHOT)).unwrap();
                self.reopen(None);
                self.model.snapshot = Some(
                    self.model
                        .runs
                        .iter()
                        .map(|r| (r.run_id.clone(), r.metrics.clone()))
                        .collect(),
                );
            }
            Op::RestoreSnapshot => self.restore_snapshot(),
        }
    }

    fn restore_snapshot(&mut self) {
        let Some(metrics) = self.model.snapshot.clone() else {
            return;
        };
        self.reader = None;
        self.catalog = None;
        std::fs::copy(self.root.join(SNAPSHOT), self.root.join(CATALOG_FILE)).unwrap();
        self.reopen(None);
        // Writes that change nothing, each in a transaction that first catches up.
        let default_name = self.model.experiments[&0].name.clone();
        self.c().rename_experiment("0", &default_name).unwrap();
        for r in &self.model.runs {
            let caught_up = match r.stage {
                LifecycleStage::Active => self.c().restore_run(&r.run_id),
                LifecycleStage::Deleted => self.c().delete_run(&r.run_id),
            };
            caught_up.unwrap_or_else(|e| panic!("catching up run {}: {e}", r.run_id));
        }
        // Latest metrics logged since the copy are lost until a rebuild (or, in the facade,
        // the writer's next flush).
        for r in &mut self.model.runs {
            r.metrics = metrics.get(&r.run_id).cloned().unwrap_or_default();
        }
        check_all(self.c(), &self.model);
        check_all(self.reader(), &self.model);
    }

    /// Logs points as the facade does: to the run's segments through a `RunWriter`, then the
    /// latest point by MLflow's rule to the catalog.
    fn log_metrics(&mut self, run: usize, key: &str, points: &[(i64, i64, f64)]) {
        let id = self.model.run_id(run);
        let points: Vec<Point> = points
            .iter()
            .map(|&(s, t, v)| Point::new(s, t, v))
            .collect();
        if self.model.run(&id).is_none() {
            // A run the catalog does not know is skipped.
            let latest = LatestMetric {
                step: 0,
                timestamp_ms: 0,
                value: 1.0,
            };
            self.c()
                .update_metrics(&[(id.as_str(), &[(key.to_string(), latest)])])
                .unwrap();
            return;
        }
        let writer = RunWriter::open(
            self.root.join("runs").join(&id),
            WriterOptions {
                flush_interval: None,
                ..WriterOptions::default()
            },
        )
        .unwrap();
        for p in &points {
            writer.append_key(key, *p).unwrap();
        }
        writer.close().unwrap();
        let r = self.model.run_mut(&id).unwrap();
        let history = r.history.entry(key.to_string()).or_default();
        history.extend(points);
        let p = python_latest(history);
        let latest = LatestMetric {
            step: p.step,
            timestamp_ms: p.timestamp_ms,
            value: p.value,
        };
        r.metrics.insert(key.to_string(), latest);
        let updates = [(key.to_string(), latest)];
        self.c()
            .update_metrics(&[(id.as_str(), &updates), (NO_RUN, &updates)])
            .unwrap();
    }

    fn create_run(&mut self, op: &Op, c: &CreateRunOp) {
        let exp = self.model.exp_id(c.exp);
        let run_id = match c.id {
            0 => None,
            2 if !self.model.runs.is_empty() && c.exp != MISSING => Some(self.model.run_id(c.exp)),
            3 => Some(BAD_RUN_ID.to_string()),
            _ => Some(self.model.fresh_run_id()),
        };
        let name = c.name.map(|i| RUN_NAMES[i]);
        let mut tags: Vec<(String, String)> = c
            .tags
            .iter()
            .map(|(k, v)| (TAG_KEYS[*k].to_string(), TAG_VALUES[*v].to_string()))
            .collect();
        if let Some(n) = c.name_tag {
            tags.push(("mlflow.runName".into(), RUN_NAMES[n].into()));
        }
        if let Some(u) = c.user_tag {
            tags.push(("mlflow.user".into(), USERS[u].into()));
        }
        let user = c.user.map(|u| USERS[u]);
        // A parent: an existing run, or (one past the end) a run that does not exist.
        let parent = c.parent.map(|p| self.model.run_id(p));
        let params: Vec<(String, String)> = c
            .params
            .iter()
            .map(|(k, v)| (PARAM_KEYS[*k].to_string(), PARAM_VALUES[*v].to_string()))
            .collect();
        let status = c.status.map(|s| STATUSES[s]);
        let artifact_uri = c.artifact_uri.then(|| "s3://bucket/run".to_string());
        let got = self.c().create_run(NewRun {
            run_id: run_id.clone(),
            experiment_id: Some(exp.clone()),
            run_name: name.map(str::to_string),
            start_time: Some(c.start_time),
            user: user.map(str::to_string),
            parent_run_id: parent.clone(),
            status,
            artifact_uri: artifact_uri.clone(),
            tags: tags.clone(),
            params: params.clone(),
        });

        // The model, with the checks in the order the catalog makes them.
        let tag_map: BTreeMap<String, String> = tags.iter().cloned().collect();
        let tag_name = tag_map.get("mlflow.runName").cloned();
        let mut keys: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let m = &self.model;
        let want: Result<(), Outcome> = if run_id.as_deref() == Some(BAD_RUN_ID)
            || tags.iter().any(|(k, _)| invalid_key(k))
            || keys.len() < params.len()
            || params.iter().any(|(k, _)| invalid_key(k))
        {
            Err(Outcome::Invalid)
        } else if let (Some(a), Some(b)) = (name, &tag_name)
            && a != b
        {
            Err(Outcome::InvalidArgument)
        } else if name.or(tag_name.as_deref()) == Some("") {
            Err(Outcome::Invalid)
        } else if c.start_time < 0 {
            Err(Outcome::InvalidArgument)
        } else if run_id.as_deref().is_some_and(|id| m.run(id).is_some()) {
            Err(Outcome::InvalidState)
        } else if let Err(o) = m.active_exp(&exp) {
            // Not in a deleted experiment, nor in one that does not exist.
            Err(o)
        } else if parent.as_deref().is_some_and(|p| m.run(p).is_none()) {
            Err(Outcome::NotFound)
        } else {
            Ok(())
        };
        if let Err(w) = want {
            expect(op, outcome(&got, None), w);
            return;
        }
        let got = got.unwrap_or_else(|e| panic!("{op:?}: {e}"));
        let run_id = run_id.unwrap_or_else(|| {
            assert_eq!(got.run_id.len(), 32, "a random run id: 32 hex digits");
            got.run_id.clone()
        });
        let run_name = match name.map(str::to_string).or(tag_name) {
            Some(n) => n,
            None => {
                // Generated, MLflow style: adjective-noun-NNN.
                let parts: Vec<&str> = got.run_name.split('-').collect();
                assert_eq!(parts.len(), 3, "generated name {:?}", got.run_name);
                assert!(parts[2].parse::<u32>().unwrap() < 1000);
                got.run_name.clone()
            }
        };
        // The user: the one given, else the mlflow.user tag, else "unknown"; a given user
        // also fills in the tag when absent.
        let user_id = user
            .map(str::to_string)
            .or_else(|| tag_map.get("mlflow.user").cloned())
            .unwrap_or_else(|| "unknown".into());
        let mut run_tags = tag_map;
        run_tags.insert("mlflow.runName".into(), run_name.clone());
        if let Some(u) = user {
            run_tags
                .entry("mlflow.user".into())
                .or_insert_with(|| u.to_string());
        }
        if let Some(p) = &parent {
            run_tags.insert("mlflow.parentRunId".into(), p.clone());
        }
        let e = self.model.exp(&exp).unwrap();
        let run = MRun {
            run_id: run_id.clone(),
            experiment_id: exp.clone(),
            run_name,
            status: status.unwrap_or(RunStatus::Running),
            start_time: c.start_time,
            end_time: None,
            user_id,
            stage: LifecycleStage::Active,
            deleted_time: None,
            artifact_uri: artifact_uri
                .unwrap_or_else(|| format!("{}/{run_id}/artifacts", e.artifact_location)),
            params: params.into_iter().collect(),
            tags: run_tags,
            metrics: BTreeMap::new(),
            history: BTreeMap::new(),
        };
        assert_run(&got, &run);
        self.model.runs.push(run);
    }
}

fn run_sequence(ops: &[Op]) {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::open(dir.path());
    check_all(h.c(), &h.model);
    for (i, op) in ops.iter().enumerate() {
        h.apply(op);
        if i % 8 == 7 {
            check_all(h.c(), &h.model);
            check_all(h.reader(), &h.model);
        }
    }
    check_all(h.c(), &h.model);
    check_all(h.reader(), &h.model);
    // The journals and run folders alone give back the same catalog.
    h.reopen(Some(false));
    check_all(h.c(), &h.model);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn catalog_follows_the_model(ops in prop::collection::vec(op(), 1..60)) {
        run_sequence(&ops);
    }
}

#[test]
fn pools_hold_valid_and_invalid_entries_as_the_model_assumes() {
    use runlog_catalog::validation::*;
    for k in EXP_TAG_KEYS.iter().chain(&PARAM_KEYS).chain(&TAG_KEYS) {
        assert_eq!(validate_tag_key(k).is_err(), invalid_key(k), "{k}");
        assert_eq!(validate_param_key(k).is_err(), invalid_key(k), "{k}");
    }
    for n in EXP_NAMES {
        assert_eq!(
            validate_experiment_name(n).is_err(),
            invalid_exp_name(n),
            "{n:?}"
        );
    }
    for n in RUN_NAMES {
        assert_eq!(validate_run_name(n).is_err(), n.is_empty(), "{n:?}");
    }
    for v in TAG_VALUES
        .iter()
        .chain(&PARAM_VALUES)
        .chain(&EXP_TAG_VALUES)
    {
        assert!(validate_tag("t", v).is_ok());
    }
    let split = |n: usize, (valid, invalid): (usize, usize), bad: &dyn Fn(usize) -> bool| {
        assert_eq!(n, valid + invalid);
        for i in 0..n {
            assert_eq!(bad(i), i >= valid, "entry {i}");
        }
    };
    split(EXP_NAMES.len(), EXP_NAMES_VALID, &|i| {
        invalid_exp_name(EXP_NAMES[i])
    });
    split(EXP_TAG_KEYS.len(), EXP_TAG_KEYS_VALID, &|i| {
        invalid_key(EXP_TAG_KEYS[i])
    });
    split(CHOSEN_IDS.len(), CHOSEN_IDS_VALID, &|i| {
        validate_experiment_id(CHOSEN_IDS[i]).is_err()
    });
    split(RUN_NAMES.len(), RUN_NAMES_VALID, &|i| {
        RUN_NAMES[i].is_empty()
    });
    split(PARAM_KEYS.len(), PARAM_KEYS_VALID, &|i| {
        invalid_key(PARAM_KEYS[i])
    });
    split(TAG_KEYS.len(), TAG_KEYS_VALID, &|i| {
        invalid_key(TAG_KEYS[i])
    });
    assert!(validate_run_id(BAD_RUN_ID).is_err());
    assert!(validate_run_id(NO_RUN).is_ok());
}

/// A fixed sequence through every operation, so that a regression shows without luck.
#[test]
fn a_fixed_sequence_of_every_operation() {
    let run = |exp, name: Option<usize>, params: Vec<(usize, usize)>| {
        Op::CreateRun(Box::new(CreateRunOp {
            exp,
            id: 1,
            name,
            name_tag: None,
            user: Some(0),
            user_tag: None,
            parent: None,
            params,
            tags: vec![(0, 1)],
            start_time: 3,
            status: None,
            artifact_uri: false,
        }))
    };
    let ops = vec![
        Op::CreateExperiment {
            name: 0,
            tags: vec![(0, 0)],
            id: None,
            artifact_location: false,
        },
        // The same name again.
        Op::CreateExperiment {
            name: 0,
            tags: vec![],
            id: None,
            artifact_location: true,
        },
        run(1, Some(0), vec![(0, 0)]),
        run(1, None, vec![]),
        run(0, Some(1), vec![(1, 1)]),
        Op::LogParams {
            run: 0,
            params: vec![(0, 0), (1, 2)],
        },
        // p1 changes: refused.
        Op::LogParams {
            run: 0,
            params: vec![(0, 1)],
        },
        Op::SetTags {
            run: 0,
            tags: vec![(2, 2)],
        },
        Op::DeleteTag { run: 0, key: 2 },
        Op::DeleteTag { run: 0, key: 2 },
        Op::LogMetrics {
            run: 0,
            key: 0,
            points: vec![(1, 1, 0.5), (1, 1, f64::NAN), (0, 3, 2.0)],
        },
        Op::LogMetrics {
            run: 1,
            key: 0,
            points: vec![(2, 0, -0.0)],
        },
        Op::SetStatus {
            run: 0,
            status: 2,
            end_time: None,
        },
        Op::SetStatus {
            run: 0,
            status: 0,
            end_time: None,
        },
        Op::RenameRun { run: 1, name: 2 },
        Op::DeleteRun { run: 1 },
        Op::LogParams {
            run: 1,
            params: vec![(2, 0)],
        },
        Op::DeleteExperiment { exp: 1 },
        run(1, Some(0), vec![]),
        Op::RenameExperiment { exp: 1, name: 1 },
        Op::Rebuild { api: false },
        Op::RestoreExperiment { exp: 1 },
        Op::RenameExperiment { exp: 1, name: 1 },
        Op::SetExperimentTag {
            exp: 1,
            key: 1,
            value: 1,
        },
        Op::DeleteExperimentTag { exp: 1, key: 0 },
        Op::RestoreRun { run: 1 },
        Op::Search {
            experiments: 0xff,
            unknown: true,
            filter: 5,
            order: 2,
            view: 2,
            page: 0,
            reader: true,
        },
        Op::Reopen,
        Op::Rebuild { api: true },
        Op::CreateExperiment {
            name: 2,
            tags: vec![],
            id: Some(2),
            artifact_location: false,
        },
        Op::CreateExperiment {
            name: 3,
            tags: vec![],
            id: None,
            artifact_location: false,
        },
        Op::Check,
    ];
    run_sequence(&ops);
}

/// Many runs in one experiment and few in another, so that `latest_metrics` on the small one
/// looks runs up one by one instead of scanning (checked by `check_all`).
#[test]
fn latest_metrics_of_a_small_experiment_beside_a_large_one() {
    let mut ops = vec![Op::CreateExperiment {
        name: 0,
        tags: vec![],
        id: None,
        artifact_location: false,
    }];
    for i in 0..14 {
        ops.push(Op::CreateRun(Box::new(CreateRunOp {
            // Experiment 1 gets run 0 only: 1 × 8 < 14 runs in all.
            exp: usize::from(i == 0),
            id: 1,
            name: Some(i % 4),
            name_tag: None,
            user: None,
            user_tag: None,
            parent: None,
            params: vec![(0, i % 3)],
            tags: vec![],
            start_time: (i % 5) as i64,
            status: None,
            artifact_uri: false,
        })));
        ops.push(Op::LogMetrics {
            run: i,
            key: i % 3,
            points: vec![(i as i64 % 2, 1, i as f64), (0, 2, -1.0)],
        });
    }
    ops.push(Op::Check);
    ops.push(Op::Reopen);
    ops.push(Op::Search {
        experiments: 0b10,
        unknown: false,
        filter: 0,
        order: 2,
        view: 2,
        page: 0,
        reader: true,
    });
    run_sequence(&ops);
}

/// Opening the layers of a new folder in either order works: `Catalog::open` once made
/// `runs/` and `catalog.redb` but no `FORMAT`, and the metric store (so `runlog::Store::open`)
/// then refused the folder as "not a runlog store".
#[test]
fn a_store_opens_after_its_catalog_was_opened_first() {
    let dir = tempfile::tempdir().unwrap();
    drop(Catalog::open(dir.path()).unwrap());
    runlog_metrics::MetricStore::open(dir.path()).unwrap();
}
