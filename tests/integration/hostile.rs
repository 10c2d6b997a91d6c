//! Hostile input through the public API (`Store`, `Run`, `store.catalog()`): invalid names,
//! keys and ids, changed params, unknown ids, deleted experiments and runs, logging to a
//! finished run, huge batches. Nothing panics; every refusal says what was wrong (a validation
//! error names the offending value); a refused call changes nothing, neither in the catalog nor
//! in the journals; the store reopens, and rebuilds from its journals and run folders, to the
//! same experiments and runs; nothing is ever written outside the store folder.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use runlog::catalog::validation::{self, ValidationError};
use runlog::catalog::{CatalogError, EXPERIMENTS_JOURNAL, RUN_JOURNAL};
use runlog::{Error, LifecycleStage, NewRun, Run, RunInfo, RunStatus, Store, ViewType};

use crate::common::cases;

// ---------------------------------------------------------------------------------------
// Helpers

fn catalog_err(e: Error) -> CatalogError {
    match e {
        Error::Catalog(c) => c,
        other => panic!("expected a catalog error, got {other}"),
    }
}

/// A store three folders below a fresh temporary folder, so that a path escaping the store
/// (`../x`, `../../etc`, ...) still lands inside the temporary folder, where it is seen.
struct Nest {
    tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Nest {
    fn new() -> Nest {
        let tmp = tempfile::tempdir().unwrap();
        let parent = tmp.path().join("a").join("b").join("c");
        fs::create_dir_all(&parent).unwrap();
        let root = parent.join("store");
        Nest { tmp, root }
    }

    /// Every path under the temporary folder outside the store folder.
    fn outside(&self) -> BTreeSet<PathBuf> {
        let mut out = BTreeSet::new();
        walk(self.tmp.path(), self.tmp.path(), &self.root, &mut out);
        out
    }
}

fn walk(base: &Path, dir: &Path, skip: &Path, out: &mut BTreeSet<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path == skip {
            continue;
        }
        out.insert(path.strip_prefix(base).unwrap().to_path_buf());
        if path.is_dir() {
            walk(base, &path, skip, out);
        }
    }
}

/// Copies a store folder, leaving out the catalog database and the writers' presence files:
/// what `Store::open` then rebuilds from the journals and run folders.
fn copy_without_catalog(from: &Path, to: &Path) {
    copy_tree(from, to, true);
}

fn copy_tree(from: &Path, to: &Path, top: bool) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if top
            && (name_str.starts_with(runlog::catalog::CATALOG_FILE)
                || name_str == runlog::catalog::WRITERS_DIR)
        {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target, false);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every experiment (three views) and every run (all views) the store holds, plus each of
/// `run_ids` read alone, as comparable text. Without `metrics`, latest metric values are left
/// out (a run's writer records them in the background).
fn snapshot(store: &Store, run_ids: &[String], metrics: bool) -> Vec<String> {
    let c = store.catalog();
    let mut out = Vec::new();
    let all = c.list_experiments(ViewType::All).unwrap();
    for view in [ViewType::ActiveOnly, ViewType::DeletedOnly] {
        let ids: Vec<String> = c
            .list_experiments(view)
            .unwrap()
            .into_iter()
            .map(|e| e.experiment_id)
            .collect();
        out.push(format!("{view:?} experiments: {ids:?}"));
    }
    let mut searched: Vec<String> = c
        .search_experiments(None, ViewType::All, &[], 50_000, None)
        .unwrap()
        .experiments
        .into_iter()
        .map(|e| format!("{e:?}"))
        .collect();
    searched.sort();
    let mut listed: Vec<String> = all.iter().map(|e| format!("{e:?}")).collect();
    listed.sort();
    assert_eq!(
        searched, listed,
        "search_experiments(All) and list_experiments(All) differ"
    );
    out.extend(all.iter().map(|e| format!("experiment {e:?}")));
    let exp_ids: Vec<&str> = all.iter().map(|e| e.experiment_id.as_str()).collect();
    let show = |r: &RunInfo| {
        let mut r = r.clone();
        if !metrics {
            r.metrics.clear();
        }
        format!("{r:?}")
    };
    for view in [ViewType::ActiveOnly, ViewType::DeletedOnly, ViewType::All] {
        for r in c.list_runs(&exp_ids, view).unwrap() {
            out.push(format!("{view:?} run {}", show(&r)));
        }
    }
    for id in run_ids {
        match c.get_run(id) {
            Ok(r) => out.push(format!("get_run {}", show(&r))),
            Err(e) => panic!("get_run of run {id}, created earlier, failed: {e}"),
        }
    }
    out
}

fn short(s: &str) -> String {
    if s.chars().count() > 600 {
        format!("{}…", s.chars().take(600).collect::<String>())
    } else {
        s.to_string()
    }
}

fn assert_same(got: &[String], want: &[String], what: &str) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g != w {
            // Show where they part.
            let at = g.chars().zip(w.chars()).take_while(|(a, b)| a == b).count();
            let around = |s: &str| -> String {
                let from = at.saturating_sub(150);
                let part: String = s.chars().skip(from).take(450).collect();
                format!("{}{part}", if from > 0 { "…" } else { "" })
            };
            panic!(
                "{what}: entry {i} differs at character {at}:\n  got:  {}\n  want: {}",
                around(g),
                around(w)
            );
        }
    }
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: {} entries instead of {}",
        got.len(),
        want.len()
    );
}

/// The files a catalog change writes (the journals) and the run folders, by path.
fn journals(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let exp = root.join(EXPERIMENTS_JOURNAL);
    out.insert(exp.clone(), fs::read(&exp).unwrap_or_default());
    if let Ok(entries) = fs::read_dir(root.join("runs")) {
        for entry in entries {
            let dir = entry.unwrap().path();
            let path = dir.join(RUN_JOURNAL);
            out.insert(dir, Vec::new());
            if let Ok(bytes) = fs::read(&path) {
                out.insert(path, bytes);
            }
        }
    }
    out
}

/// Whether `msg` shows `input` (or its first characters), as validation messages show values:
/// escaped like a Rust string literal.
fn names(msg: &str, input: &str) -> bool {
    let prefix: String = input.chars().take(40).collect();
    let escaped: String = prefix.chars().flat_map(char::escape_debug).collect();
    let debug = format!("{prefix:?}");
    msg.contains(&escaped) || msg.contains(&debug[1..debug.len() - 1]) || msg.contains(&prefix)
}

/// The value a validation error refuses, as it carries it (`None`: not a validation error, or
/// one about no single value). Metric keys come back cut to 250 characters.
fn offending(e: &Error) -> Option<&str> {
    use ValidationError as V;
    match e {
        Error::Catalog(CatalogError::Invalid(v)) => match v {
            V::Empty { .. } => Some(""),
            V::Blank { value, .. }
            | V::BadCharacter { value, .. }
            | V::UnsafePath { value, .. }
            | V::TooLong { value, .. }
            | V::FileNameTooLong { value, .. }
            | V::Reserved { value, .. }
            | V::RunIdLength { value, .. }
            | V::ExperimentIdLeadingZero { value }
            | V::ExperimentIdOutOfRange { value } => Some(value),
            V::ValueTooLong { key, .. }
            | V::NegativeTimestamp { key, .. }
            | V::DuplicateParamKey { key } => Some(key),
            _ => None,
        },
        Error::Metrics(runlog::metrics::Error::InvalidKey { key, .. }) => Some(key),
        _ => None,
    }
}

/// A refusal must say something, and a validation error must name what it refused: one of
/// the call's inputs (or its first characters).
fn check_error(what: &str, inputs: &[String], e: &Error) {
    let msg = e.to_string();
    assert!(
        !msg.trim().is_empty(),
        "{what}: an error without a message: {e:?}"
    );
    if let Some(value) = offending(e) {
        assert!(
            inputs.iter().any(|i| i.starts_with(value)),
            "{what}: the validation error {:?} refuses {:?}, which is none of the inputs {:?}",
            short(&msg),
            short(value),
            inputs.iter().map(|i| short(i)).collect::<Vec<_>>()
        );
        assert!(
            names(&msg, value),
            "{what}: the validation error {:?} does not show the value it refuses, {:?}",
            short(&msg),
            short(value)
        );
    }
}

/// What every stored experiment and run must satisfy, whatever was thrown at the store.
fn check_stored_values_are_valid(store: &Store) {
    let c = store.catalog();
    let exps = c.list_experiments(ViewType::All).unwrap();
    let mut names = BTreeSet::new();
    for e in &exps {
        validation::validate_experiment_id(&e.experiment_id)
            .unwrap_or_else(|err| panic!("a stored experiment id: {err}"));
        assert_eq!(&c.get_experiment(&e.experiment_id).unwrap(), e);
        validation::validate_experiment_name(&e.name)
            .unwrap_or_else(|err| panic!("experiment {}: stored name: {err}", e.experiment_id));
        assert!(
            names.insert(e.name.clone()),
            "two experiments named {:?}",
            e.name
        );
        for (k, v) in &e.tags {
            validation::validate_experiment_tag(k, v)
                .unwrap_or_else(|err| panic!("experiment {}: stored tag: {err}", e.experiment_id));
        }
    }
    let ids: Vec<&str> = exps.iter().map(|e| e.experiment_id.as_str()).collect();
    let runs = c.list_runs(&ids, ViewType::All).unwrap();
    for r in &runs {
        let id = &r.run_id;
        validation::validate_run_id(id).unwrap();
        validation::validate_run_name(&r.run_name)
            .unwrap_or_else(|err| panic!("run {id}: stored name: {err}"));
        for (k, v) in &r.params {
            validation::validate_param(k, v)
                .unwrap_or_else(|err| panic!("run {id}: stored param: {err}"));
        }
        for (k, v) in &r.tags {
            validation::validate_tag(k, v)
                .unwrap_or_else(|err| panic!("run {id}: stored tag: {err}"));
        }
        if let Some(name) = r.tags.get(runlog::catalog::TAG_RUN_NAME) {
            assert_eq!(
                name, &r.run_name,
                "run {id}: mlflow.runName tag and run name"
            );
        }
        for k in r.metrics.keys() {
            validation::validate_metric_key(k)
                .unwrap_or_else(|err| panic!("run {id}: stored metric: {err}"));
        }
    }
    // Every run folder is a run of the catalog, named by a valid id.
    let folders: BTreeSet<String> = fs::read_dir(store.path().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let known: BTreeSet<String> = runs.iter().map(|r| r.run_id.clone()).collect();
    assert_eq!(folders, known, "run folders and the catalog's runs");
}

// ---------------------------------------------------------------------------------------
// Hostile input, generated

/// Strings every entry point must survive: paths, separators, quotes, control characters,
/// unicode, ids of every near-valid form, filter fragments.
const FIXED: &[&str] = &[
    "",
    " ",
    "   ",
    ".",
    "..",
    "../x",
    "../../etc",
    "../../../x",
    "a/../b",
    "a/./b",
    "a//b",
    "a/",
    "/abs",
    "/runlog-hostile-abs",
    "\\",
    "..\\x",
    "C:\\x",
    "\0",
    "a\0b",
    "\n",
    "loss\n",
    "a\r\nb",
    "\t",
    "`",
    "'",
    "\"",
    "a`b",
    "it's",
    "say \"hi\"",
    "ünï/cödé",
    "😀",
    "e\u{301}",
    "\u{301}e",
    "\u{200b}",
    "\u{feff}x",
    "\u{7f}",
    "İ",
    "train/loss",
    "a b",
    "a:b",
    "x.y-z_1",
    "mlflow.runName",
    "mlflow.user",
    "mlflow.parentRunId",
    "Default",
    "0",
    "1",
    "2",
    "01",
    "-1",
    "+1",
    " 1",
    "1e3",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "0123456789abcdef0123456789abcdef",
    "0123456789ABCDEF0123456789ABCDEF",
    "0123456789abcdef0123456789abcde",
    "0123456789abcdef0123456789abcdef0",
    "params.lr = '1'",
    "metrics.m > 0 AND tags.`a/b` LIKE '%'",
    "attributes.run_name = 'x'",
    "attributes.status != 'RUNNING'",
    "name = 'Default'",
    "name LIKE '%'",
    "tags.`x y:z` ILIKE '%A%'",
    "start_time DESC",
    "metrics.`a/b` ASC",
    "params.lr",
    "name DESC",
    "((((",
    "= = =",
    "a = ",
    "metrics.m > 1e400",
    "params.p IN ('a', 'b')",
    "attributes.run_id IN ('0123456789abcdef0123456789abcdef')",
];

/// Keys and values that exist (so that params collide and tags overwrite).
const KEYS: &[&str] = &["lr", "a/b", "x y:z", "ünï", "mlflow.runName", "m"];
const VALUES: &[&str] = &["1", "2", "", "adam"];
const LONG_UNITS: &[&str] = &["a", "é", "😀", "/", "a/", ".", " ", "\0", "`"];
const LENGTHS: &[usize] = &[
    128, 249, 250, 251, 256, 500, 501, 6_000, 6_001, 8_000, 8_001, 20_000,
];

fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        5 => prop::sample::select(FIXED).prop_map(String::from),
        3 => "(?s:.){0,16}",
        3 => "[a-zA-Z0-9 /`'\".:_\\-]{1,24}",
        1 => (prop::sample::select(LONG_UNITS), prop::sample::select(LENGTHS))
            .prop_map(|(u, n)| u.repeat(n.div_ceil(u.chars().count()))),
        1 => "[0-9a-f]{32}",
        1 => "[0-9]{1,20}",
    ]
}

/// An argument: a hostile string, something that exists (an experiment or run id, a name, a
/// key, a value, depending on the parameter), or an absolute path outside the store.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Known(usize),
    Outside(u8),
}

/// Ids at the edges of what is valid.
const EDGE_IDS: &[&str] = &[
    "9223372036854775807",
    "9223372036854775806",
    "18446744073709551615",
    "00",
    "0",
    "ffffffffffffffffffffffffffffffff",
];

fn arg() -> impl Strategy<Value = Arg> {
    prop_oneof![
        6 => hostile().prop_map(Arg::Text),
        1 => prop::sample::select(EDGE_IDS).prop_map(|s| Arg::Text(s.into())),
        5 => any::<usize>().prop_map(Arg::Known),
        1 => (0u8..4).prop_map(Arg::Outside),
    ]
}

/// Mostly something that exists: for the arguments that must be right for a call to get far.
fn known_arg() -> impl Strategy<Value = Arg> {
    prop_oneof![
        4 => any::<usize>().prop_map(Arg::Known),
        1 => arg(),
    ]
}

fn pairs() -> impl Strategy<Value = Vec<(Arg, Arg)>> {
    prop::collection::vec((arg(), arg()), 0..4)
}

/// Mostly keys and values that exist: a batch where one bad entry is the exception.
fn mostly_known_pairs() -> impl Strategy<Value = Vec<(Arg, Arg)>> {
    prop::collection::vec((known_arg(), known_arg()), 0..3)
}

/// Filters and orders that parse, among hostile strings.
const RUN_FILTERS: &[&str] = &[
    "",
    "params.lr = '1'",
    "metrics.m > 0",
    "metrics.m > 0 AND params.lr != '2'",
    "tags.`a/b` LIKE '%'",
    "attributes.run_name = 'live'",
    "attributes.status != 'RUNNING'",
    "run_name ILIKE '%L%'",
    "tags.`mlflow.runName` != 'x'",
];
const EXPERIMENT_FILTERS: &[&str] = &[
    "",
    "name = 'base'",
    "name LIKE '%a%'",
    "tags.team = 'vision'",
    "creation_time > 0",
    "attribute.name != 'gone'",
];
const RUN_ORDERS: &[&str] = &[
    "start_time DESC",
    "metrics.m",
    "params.lr ASC",
    "attributes.run_name",
    "tags.`a/b` DESC",
];
const EXPERIMENT_ORDERS: &[&str] = &[
    "name",
    "creation_time DESC",
    "last_update_time",
    "experiment_id ASC",
];

fn one_of(pool: &'static [&'static str]) -> impl Strategy<Value = Arg> {
    prop_oneof![
        2 => prop::sample::select(pool).prop_map(|s| Arg::Text(s.into())),
        1 => arg(),
    ]
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    RunId,
    ExpId,
    ExpName,
    Key,
    Value,
}

#[derive(Debug, Clone)]
struct CreateRun {
    via_store: bool,
    experiment: Option<Arg>,
    run_id: Option<Arg>,
    name: Option<Arg>,
    parent: Option<Arg>,
    user: Option<Arg>,
    status: Option<usize>,
    tags: Vec<(Arg, Arg)>,
    params: Vec<(Arg, Arg)>,
}

#[derive(Debug, Clone)]
enum Op {
    CreateExperiment {
        via_store: bool,
        name: Arg,
        tags: Vec<(Arg, Arg)>,
    },
    CreateExperimentWithId(Arg, Arg),
    RenameExperiment(Arg, Arg),
    SetExperimentTag(Arg, Arg, Arg),
    DeleteExperimentTag(Arg, Arg),
    DeleteExperiment(Arg),
    RestoreExperiment(Arg),
    GetExperiment(Arg),
    GetExperimentByName(Arg),
    CreateRun(Box<CreateRun>),
    LogParams(Arg, Vec<(Arg, Arg)>),
    SetTags(Arg, Vec<(Arg, Arg)>),
    DeleteTag(Arg, Arg),
    RenameRun(Arg, Arg),
    SetStatus(Arg, usize),
    DeleteRun(Arg),
    RestoreRun(Arg),
    GetRun(Arg),
    ResumeRun(Arg),
    LogMetric {
        handle: usize,
        key: Arg,
        step: i64,
        timestamp_ms: Option<i64>,
        value: f64,
        resolved: bool,
    },
    HandleParam(usize, Arg, Arg),
    HandleTag(usize, Arg, Arg),
    Finish(usize, usize),
    SearchRuns {
        experiments: Vec<Arg>,
        filter: Arg,
        order_by: Vec<Arg>,
        max_results: usize,
        page_token: Option<Arg>,
        view: usize,
    },
    SearchExperiments {
        filter: Option<Arg>,
        order_by: Vec<Arg>,
        max_results: usize,
        page_token: Option<Arg>,
        view: usize,
    },
    LatestMetrics(Vec<Arg>, Vec<Arg>),
}

const VIEWS: [ViewType; 3] = [ViewType::ActiveOnly, ViewType::DeletedOnly, ViewType::All];
const MAX_RESULTS: &[usize] = &[0, 1, 3, 1_000, 50_000, 50_001, usize::MAX];

fn op() -> impl Strategy<Value = Op> {
    let create_run = (
        any::<bool>(),
        prop::option::weighted(0.9, known_arg()),
        prop::option::weighted(0.3, arg()),
        prop::option::of(arg()),
        prop::option::weighted(0.3, known_arg()),
        prop::option::weighted(0.3, arg()),
        prop::option::weighted(0.2, 0..RunStatus::ALL.len()),
        prop_oneof![pairs(), mostly_known_pairs()],
        prop_oneof![pairs(), mostly_known_pairs()],
    )
        .prop_map(
            |(via_store, experiment, run_id, name, parent, user, status, tags, params)| {
                Op::CreateRun(Box::new(CreateRun {
                    via_store,
                    experiment,
                    run_id,
                    name,
                    parent,
                    user,
                    status,
                    tags,
                    params,
                }))
            },
        );
    let search_runs = (
        prop::collection::vec(known_arg(), 0..3),
        one_of(RUN_FILTERS),
        prop::collection::vec(one_of(RUN_ORDERS), 0..3),
        prop::sample::select(MAX_RESULTS),
        prop::option::weighted(0.2, arg()),
        0..VIEWS.len(),
    )
        .prop_map(
            |(experiments, filter, order_by, max_results, page_token, view)| Op::SearchRuns {
                experiments,
                filter,
                order_by,
                max_results,
                page_token,
                view,
            },
        );
    let search_experiments = (
        prop::option::of(one_of(EXPERIMENT_FILTERS)),
        prop::collection::vec(one_of(EXPERIMENT_ORDERS), 0..3),
        prop::sample::select(MAX_RESULTS),
        prop::option::weighted(0.2, arg()),
        0..VIEWS.len(),
    )
        .prop_map(
            |(filter, order_by, max_results, page_token, view)| Op::SearchExperiments {
                filter,
                order_by,
                max_results,
                page_token,
                view,
            },
        );
    prop_oneof![
        3 => (any::<bool>(), arg(), pairs())
            .prop_map(|(via_store, name, tags)| Op::CreateExperiment { via_store, name, tags }),
        1 => (one_of(EDGE_IDS), arg()).prop_map(|(a, b)| Op::CreateExperimentWithId(a, b)),
        2 => (arg(), arg()).prop_map(|(a, b)| Op::RenameExperiment(a, b)),
        2 => (arg(), arg(), arg()).prop_map(|(a, b, c)| Op::SetExperimentTag(a, b, c)),
        1 => (arg(), arg()).prop_map(|(a, b)| Op::DeleteExperimentTag(a, b)),
        1 => arg().prop_map(Op::DeleteExperiment),
        1 => arg().prop_map(Op::RestoreExperiment),
        1 => arg().prop_map(Op::GetExperiment),
        1 => arg().prop_map(Op::GetExperimentByName),
        4 => create_run,
        3 => (known_arg(), prop_oneof![pairs(), mostly_known_pairs()])
            .prop_map(|(a, p)| Op::LogParams(a, p)),
        3 => (known_arg(), prop_oneof![pairs(), mostly_known_pairs()])
            .prop_map(|(a, p)| Op::SetTags(a, p)),
        1 => (arg(), arg()).prop_map(|(a, b)| Op::DeleteTag(a, b)),
        2 => (arg(), arg()).prop_map(|(a, b)| Op::RenameRun(a, b)),
        1 => (arg(), 0..RunStatus::ALL.len()).prop_map(|(a, s)| Op::SetStatus(a, s)),
        1 => arg().prop_map(Op::DeleteRun),
        1 => arg().prop_map(Op::RestoreRun),
        1 => arg().prop_map(Op::GetRun),
        1 => arg().prop_map(Op::ResumeRun),
        4 => (
            any::<usize>(),
            arg(),
            any::<i64>(),
            prop::option::of(any::<i64>()),
            any::<f64>(),
            any::<bool>(),
        )
            .prop_map(|(handle, key, step, timestamp_ms, value, resolved)| Op::LogMetric {
                handle,
                key,
                step,
                timestamp_ms,
                value,
                resolved,
            }),
        1 => (any::<usize>(), arg(), arg()).prop_map(|(h, k, v)| Op::HandleParam(h, k, v)),
        1 => (any::<usize>(), arg(), arg()).prop_map(|(h, k, v)| Op::HandleTag(h, k, v)),
        1 => (any::<usize>(), 0..RunStatus::ALL.len()).prop_map(|(h, s)| Op::Finish(h, s)),
        2 => search_runs,
        2 => search_experiments,
        1 => (prop::collection::vec(arg(), 0..3), prop::collection::vec(arg(), 0..3))
            .prop_map(|(e, k)| Op::LatestMetrics(e, k)),
    ]
}

/// A store under attack, with what was created in it.
struct World {
    // Fields drop in order: the runs end before the store closes and the folder goes.
    handles: Vec<Run>,
    store: Store,
    runs: Vec<String>,
    exps: Vec<String>,
    nest: Nest,
}

impl World {
    fn new() -> World {
        let nest = Nest::new();
        let store = Store::open(&nest.root).unwrap();
        let c = store.catalog();
        let base = c
            .create_experiment("base", None, &[("team", "vision")])
            .unwrap();
        let gone = c.create_experiment("gone", None, &[]).unwrap();
        let run = store
            .start_run(NewRun::in_experiment(&base).name("live").param("lr", "1"))
            .unwrap();
        run.log_metric("m", 0, 0.5).unwrap();
        let finished = c
            .create_run(NewRun::in_experiment(&base).param("lr", "2"))
            .unwrap();
        c.set_status(&finished.run_id, RunStatus::Finished, None)
            .unwrap();
        let deleted = c.create_run(NewRun::in_experiment(&gone)).unwrap();
        c.delete_run(&deleted.run_id).unwrap();
        c.delete_experiment(&gone).unwrap();
        World {
            runs: vec![run.id().to_string(), finished.run_id, deleted.run_id],
            handles: vec![run],
            exps: vec!["0".into(), base, gone],
            store,
            nest,
        }
    }

    fn text(&self, a: &Arg, kind: Kind) -> String {
        match a {
            Arg::Text(s) => s.clone(),
            Arg::Outside(n) => self
                .nest
                .tmp
                .path()
                .join(format!("outside-{n}"))
                .display()
                .to_string(),
            Arg::Known(i) => match kind {
                Kind::RunId => self.runs[i % self.runs.len()].clone(),
                Kind::ExpId => self.exps[i % self.exps.len()].clone(),
                Kind::ExpName => self
                    .store
                    .catalog()
                    .get_experiment(&self.exps[i % self.exps.len()])
                    .map_or_else(|_| "Default".into(), |e| e.name),
                Kind::Key => KEYS[i % KEYS.len()].into(),
                Kind::Value => VALUES[i % VALUES.len()].into(),
            },
        }
    }

    fn texts(&self, args: &[Arg], kind: Kind) -> Vec<String> {
        args.iter().map(|a| self.text(a, kind)).collect()
    }

    fn kv(&self, pairs: &[(Arg, Arg)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (self.text(k, Kind::Key), self.text(v, Kind::Value)))
            .collect()
    }

    /// What a refused call must leave as it was.
    fn fingerprint(&self) -> (Vec<String>, BTreeMap<PathBuf, Vec<u8>>) {
        (
            snapshot(&self.store, &self.runs, false),
            journals(&self.nest.root),
        )
    }

    /// Done before the fingerprint of `op` is taken: a run to resume must not be held (a
    /// second writer of a run is refused, which is tested elsewhere).
    fn prepare(&mut self, op: &Op) {
        if let Op::ResumeRun(a) = op {
            let id = self.text(a, Kind::RunId);
            if let Some(i) = self.handles.iter().position(|h| h.id() == id) {
                let run = self.handles.remove(i);
                if let Err(e) = run.finish(RunStatus::Finished) {
                    check_error("finish before resume", &[], &e);
                }
            }
        }
    }

    /// Runs `op`; returns what was called, its string inputs and its result.
    fn apply(&mut self, op: &Op) -> (String, Vec<String>, Result<(), Error>) {
        let c = self.store.catalog();
        let ok = |r: Result<(), CatalogError>| r.map_err(Error::from);
        match op {
            Op::CreateExperiment {
                via_store,
                name,
                tags,
            } => {
                let name = self.text(name, Kind::ExpName);
                let tags = self.kv(tags);
                let mut inputs = vec![name.clone()];
                inputs.extend(tags.iter().flat_map(|(k, v)| [k.clone(), v.clone()]));
                let r = if *via_store {
                    self.store.set_experiment(&name).map(|e| {
                        assert_eq!(e.name, name);
                        e.experiment_id
                    })
                } else {
                    let t: Vec<(&str, &str)> =
                        tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    c.create_experiment(&name, None, &t).map_err(Error::from)
                };
                let r = r.map(|id| {
                    if !self.exps.contains(&id) {
                        self.exps.push(id);
                    }
                });
                ("create_experiment".into(), inputs, r)
            }
            Op::CreateExperimentWithId(id, name) => {
                let (id, name) = (self.text(id, Kind::ExpId), self.text(name, Kind::ExpName));
                let r = c
                    .create_experiment_with_id(&id, &name, None, &[])
                    .map(|got| {
                        assert_eq!(got, id);
                        self.exps.push(got);
                    });
                ("create_experiment_with_id".into(), vec![id, name], ok(r))
            }
            Op::RenameExperiment(id, name) => {
                let (id, name) = (self.text(id, Kind::ExpId), self.text(name, Kind::ExpName));
                let r = ok(c.rename_experiment(&id, &name));
                if r.is_ok() {
                    assert_eq!(c.get_experiment(&id).unwrap().name, name);
                }
                ("rename_experiment".into(), vec![id, name], r)
            }
            Op::SetExperimentTag(id, k, v) => {
                let id = self.text(id, Kind::ExpId);
                let (k, v) = (self.text(k, Kind::Key), self.text(v, Kind::Value));
                let r = ok(c.set_experiment_tag(&id, &k, &v));
                if r.is_ok() {
                    assert_eq!(c.get_experiment(&id).unwrap().tags[&k], v);
                }
                ("set_experiment_tag".into(), vec![id, k, v], r)
            }
            Op::DeleteExperimentTag(id, k) => {
                let (id, k) = (self.text(id, Kind::ExpId), self.text(k, Kind::Key));
                let r = ok(c.delete_experiment_tag(&id, &k));
                ("delete_experiment_tag".into(), vec![id, k], r)
            }
            Op::DeleteExperiment(id) => {
                let id = self.text(id, Kind::ExpId);
                let r = ok(c.delete_experiment(&id));
                ("delete_experiment".into(), vec![id], r)
            }
            Op::RestoreExperiment(id) => {
                let id = self.text(id, Kind::ExpId);
                let r = ok(c.restore_experiment(&id));
                ("restore_experiment".into(), vec![id], r)
            }
            Op::GetExperiment(id) => {
                let id = self.text(id, Kind::ExpId);
                let r = c
                    .get_experiment(&id)
                    .map(|e| assert_eq!(e.experiment_id, id));
                ("get_experiment".into(), vec![id], ok(r))
            }
            Op::GetExperimentByName(name) => {
                let name = self.text(name, Kind::ExpName);
                let r = c.get_experiment_by_name(&name).map(|e| {
                    if let Some(e) = e {
                        assert_eq!(e.name, name);
                    }
                });
                ("get_experiment_by_name".into(), vec![name], ok(r))
            }
            Op::CreateRun(cr) => {
                let text = |a: &Option<Arg>, kind| a.as_ref().map(|a| self.text(a, kind));
                let new = NewRun {
                    run_id: text(&cr.run_id, Kind::RunId),
                    experiment_id: text(&cr.experiment, Kind::ExpId),
                    run_name: text(&cr.name, Kind::Value),
                    user: text(&cr.user, Kind::Value),
                    parent_run_id: text(&cr.parent, Kind::RunId),
                    status: cr.status.map(|s| RunStatus::ALL[s]),
                    tags: self.kv(&cr.tags),
                    params: self.kv(&cr.params),
                    ..NewRun::default()
                };
                let mut inputs: Vec<String> = [
                    &new.run_id,
                    &new.experiment_id,
                    &new.run_name,
                    &new.user,
                    &new.parent_run_id,
                ]
                .into_iter()
                .flatten()
                .cloned()
                .collect();
                for (k, v) in new.tags.iter().chain(&new.params) {
                    inputs.extend([k.clone(), v.clone()]);
                }
                let (name, params) = (new.run_name.clone(), new.params.clone());
                let r = if cr.via_store {
                    self.store.start_run(new).map(|run| {
                        self.runs.push(run.id().to_string());
                        self.handles.push(run);
                    })
                } else {
                    c.create_run(new)
                        .map(|info| self.runs.push(info.run_id))
                        .map_err(Error::from)
                };
                if r.is_ok() {
                    let info = c.get_run(self.runs.last().unwrap()).unwrap();
                    if let Some(name) = name {
                        assert_eq!(info.run_name, name);
                    }
                    for (k, v) in params {
                        assert_eq!(info.params[&k], v);
                    }
                }
                (
                    format!("create_run (via store: {})", cr.via_store),
                    inputs,
                    r,
                )
            }
            Op::LogParams(id, params) => {
                let id = self.text(id, Kind::RunId);
                let params = self.kv(params);
                let p: Vec<(&str, &str)> = params
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let r = ok(c.log_params(&id, &p));
                if r.is_ok() {
                    let info = c.get_run(&id).unwrap();
                    for (k, v) in &params {
                        assert_eq!(&info.params[k], v);
                    }
                }
                let mut inputs = vec![id];
                inputs.extend(params.into_iter().flat_map(|(k, v)| [k, v]));
                ("log_params".into(), inputs, r)
            }
            Op::SetTags(id, tags) => {
                let id = self.text(id, Kind::RunId);
                let tags = self.kv(tags);
                let t: Vec<(&str, &str)> =
                    tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let r = ok(c.set_tags(&id, &t));
                if r.is_ok() {
                    let info = c.get_run(&id).unwrap();
                    // The last value of a key given twice wins.
                    let want: BTreeMap<&str, &str> = t.iter().copied().collect();
                    for (k, v) in want {
                        assert_eq!(info.tags[k], v);
                    }
                }
                let mut inputs = vec![id];
                inputs.extend(tags.into_iter().flat_map(|(k, v)| [k, v]));
                ("set_tags".into(), inputs, r)
            }
            Op::DeleteTag(id, k) => {
                let (id, k) = (self.text(id, Kind::RunId), self.text(k, Kind::Key));
                let r = ok(c.delete_tag(&id, &k));
                ("delete_tag".into(), vec![id, k], r)
            }
            Op::RenameRun(id, name) => {
                let (id, name) = (self.text(id, Kind::RunId), self.text(name, Kind::Value));
                let r = ok(c.rename_run(&id, &name));
                if r.is_ok() {
                    assert_eq!(c.get_run(&id).unwrap().run_name, name);
                }
                ("rename_run".into(), vec![id, name], r)
            }
            Op::SetStatus(id, s) => {
                let id = self.text(id, Kind::RunId);
                let r = ok(c.set_status(&id, RunStatus::ALL[*s], None));
                if r.is_ok() {
                    assert_eq!(c.get_run(&id).unwrap().status, RunStatus::ALL[*s]);
                }
                ("set_status".into(), vec![id], r)
            }
            Op::DeleteRun(id) => {
                let id = self.text(id, Kind::RunId);
                let r = ok(c.delete_run(&id));
                ("delete_run".into(), vec![id], r)
            }
            Op::RestoreRun(id) => {
                let id = self.text(id, Kind::RunId);
                let r = ok(c.restore_run(&id));
                ("restore_run".into(), vec![id], r)
            }
            Op::GetRun(id) => {
                let id = self.text(id, Kind::RunId);
                let r = self
                    .store
                    .get_run(&id)
                    .map(|info| assert_eq!(info.run_id, id))
                    .and_then(|()| self.store.reader(&id).map(drop));
                if r.is_err()
                    && let Err(e) = self.store.reader(&id)
                {
                    check_error("reader", std::slice::from_ref(&id), &e);
                }
                ("get_run".into(), vec![id], r)
            }
            Op::ResumeRun(id) => {
                let id = self.text(id, Kind::RunId);
                let r = self.store.resume_run(&id).map(|run| {
                    // MLflow's start_run(run_id=...): RUNNING again.
                    assert_eq!(c.get_run(&id).unwrap().status, RunStatus::Running);
                    self.handles.push(run);
                });
                ("resume_run".into(), vec![id], r)
            }
            Op::LogMetric {
                handle,
                key,
                step,
                timestamp_ms,
                value,
                resolved,
            } => {
                let key = self.text(key, Kind::Key);
                let (step, value) = (*step, *value);
                let r = match (
                    self.handles.get(handle % self.handles.len().max(1)),
                    timestamp_ms,
                ) {
                    (None, _) => Ok(()),
                    (Some(run), None) if *resolved => {
                        run.metric(&key).and_then(|m| m.log(step, value))
                    }
                    (Some(run), Some(t)) if *resolved => {
                        run.metric(&key).and_then(|m| m.log_at(step, *t, value))
                    }
                    (Some(run), None) => run.log_metric(&key, step, value),
                    (Some(run), Some(t)) => run.log_metric_at(&key, step, *t, value),
                };
                (
                    format!("log_metric (pre-resolved: {resolved})"),
                    vec![key],
                    r,
                )
            }
            Op::HandleParam(handle, k, v) => {
                let (k, v) = (self.text(k, Kind::Key), self.text(v, Kind::Value));
                let r = match self.handles.get(handle % self.handles.len().max(1)) {
                    None => Ok(()),
                    Some(run) => run.log_param(&k, &v),
                };
                ("Run::log_param".into(), vec![k, v], r)
            }
            Op::HandleTag(handle, k, v) => {
                let (k, v) = (self.text(k, Kind::Key), self.text(v, Kind::Value));
                let r = match self.handles.get(handle % self.handles.len().max(1)) {
                    None => Ok(()),
                    Some(run) => run.set_tag(&k, &v),
                };
                ("Run::set_tag".into(), vec![k, v], r)
            }
            Op::Finish(handle, s) => {
                let r = if self.handles.is_empty() {
                    Ok(())
                } else {
                    let run = self.handles.remove(handle % self.handles.len());
                    run.finish(RunStatus::ALL[*s])
                };
                ("Run::finish".into(), vec![], r)
            }
            Op::SearchRuns {
                experiments,
                filter,
                order_by,
                max_results,
                page_token,
                view,
            } => {
                let exps = self.texts(experiments, Kind::ExpId);
                let filter = self.text(filter, Kind::Key);
                let order = self.texts(order_by, Kind::Key);
                let token = page_token.as_ref().map(|t| self.text(t, Kind::Value));
                let e: Vec<&str> = exps.iter().map(String::as_str).collect();
                let o: Vec<&str> = order.iter().map(String::as_str).collect();
                let r = c
                    .search_runs(
                        &e,
                        Some(&filter),
                        VIEWS[*view],
                        &o,
                        *max_results,
                        token.as_deref(),
                    )
                    .map(|page| {
                        for run in &page.runs {
                            assert!(e.contains(&run.experiment_id.as_str()));
                        }
                        if *max_results != usize::MAX {
                            assert!(page.runs.len() <= *max_results);
                        }
                    });
                let mut inputs = exps;
                inputs.push(filter);
                inputs.extend(order);
                inputs.extend(token);
                ("search_runs".into(), inputs, ok(r))
            }
            Op::SearchExperiments {
                filter,
                order_by,
                max_results,
                page_token,
                view,
            } => {
                let filter = filter.as_ref().map(|f| self.text(f, Kind::ExpName));
                let order = self.texts(order_by, Kind::Key);
                let token = page_token.as_ref().map(|t| self.text(t, Kind::Value));
                let o: Vec<&str> = order.iter().map(String::as_str).collect();
                let r = c
                    .search_experiments(
                        filter.as_deref(),
                        VIEWS[*view],
                        &o,
                        *max_results,
                        token.as_deref(),
                    )
                    .map(|page| assert!(page.experiments.len() <= *max_results));
                let mut inputs: Vec<String> = filter.into_iter().collect();
                inputs.extend(order);
                inputs.extend(token);
                ("search_experiments".into(), inputs, ok(r))
            }
            Op::LatestMetrics(experiments, keys) => {
                let exps = self.texts(experiments, Kind::ExpId);
                let keys = self.texts(keys, Kind::Key);
                let e: Vec<&str> = exps.iter().map(String::as_str).collect();
                let k: Vec<&str> = keys.iter().map(String::as_str).collect();
                let r = c.latest_metrics(&e, &k).map(|rows| {
                    for (_, row) in rows {
                        assert_eq!(row.len(), k.len());
                    }
                });
                let mut inputs = exps;
                inputs.extend(keys);
                ("latest_metrics".into(), inputs, ok(r))
            }
        }
    }
}

fn absolute_hostile_paths() -> Vec<PathBuf> {
    FIXED
        .iter()
        .filter(|s| s.starts_with('/'))
        .map(PathBuf::from)
        .collect()
}

/// Runs `ops` against a fresh store, checking every call, then the store as a whole.
fn attack(ops: &[Op]) {
    let mut w = World::new();
    let outside = w.nest.outside();
    let absolute: Vec<(PathBuf, bool)> = absolute_hostile_paths()
        .into_iter()
        .map(|p| {
            let e = p.exists();
            (p, e)
        })
        .collect();
    for op in ops {
        w.prepare(op);
        let before = w.fingerprint();
        let (what, inputs, r) = w.apply(op);
        if let Err(e) = &r {
            check_error(&what, &inputs, e);
            let after = w.fingerprint();
            assert_same(
                &after.0,
                &before.0,
                &format!(
                    "the catalog after a refused {what} ({})",
                    short(&e.to_string())
                ),
            );
            assert!(
                after.1 == before.1,
                "a refused {what} ({}) changed the journals or run folders",
                short(&e.to_string())
            );
        }
    }
    for run in std::mem::take(&mut w.handles) {
        let id = run.id().to_string();
        if let Err(e) = run.finish(RunStatus::Finished) {
            check_error(&format!("finish of run {id}"), &[], &e);
        }
    }
    check_stored_values_are_valid(&w.store);
    let want = snapshot(&w.store, &w.runs, true);
    let World {
        store,
        runs,
        nest,
        exps,
        ..
    } = w;
    drop(store);
    assert_eq!(nest.outside(), outside, "files appeared outside the store");
    for (p, existed) in absolute {
        assert!(existed || !p.exists(), "{} appeared", p.display());
    }

    let reopened = Store::open(&nest.root).unwrap();
    assert_same(
        &snapshot(&reopened, &runs, true),
        &want,
        "the store reopened",
    );
    for id in &exps {
        reopened.catalog().get_experiment(id).unwrap();
    }
    drop(reopened);

    let copy = tempfile::tempdir().unwrap();
    copy_without_catalog(&nest.root, copy.path());
    let rebuilt = Store::open(copy.path()).unwrap();
    assert_same(
        &snapshot(&rebuilt, &runs, true),
        &want,
        "the catalog rebuilt from the journals and run folders",
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(64),
        // No seed file (this module is its only file): each failure found so far has a
        // concrete test below, and a new one prints its minimal input.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn hostile_input_never_panics_never_half_applies_and_never_leaves_the_store(
        ops in prop::collection::vec(op(), 1..14)
    ) {
        attack(&ops);
    }
}

// ---------------------------------------------------------------------------------------
// MLflow's semantics, case by case

#[test]
fn a_changed_param_value_is_refused_naming_key_old_and_new_values() {
    let nest = Nest::new();
    let store = Store::open(&nest.root).unwrap();
    let run = store
        .start_run(NewRun::default().param("lr", "0.1"))
        .unwrap();
    run.log_param("lr", "0.1").unwrap();
    store
        .catalog()
        .log_params(run.id(), &[("lr", "0.1")])
        .unwrap();
    for e in [
        catalog_err(run.log_param("lr", "0.2").unwrap_err()),
        store
            .catalog()
            .log_params(run.id(), &[("lr", "0.2")])
            .unwrap_err(),
    ] {
        assert!(
            matches!(&e, CatalogError::ParamChanged { run_id, key, old, new }
                if run_id == run.id() && key == "lr" && old == "0.1" && new == "0.2"),
            "{e}"
        );
        let msg = e.to_string();
        for part in ["\"lr\"", "\"0.1\"", "\"0.2\"", run.id()] {
            assert!(msg.contains(part), "{msg:?} lacks {part}");
        }
    }
    // A batch with one changed param is refused whole: the new key of the batch is not kept.
    let e = store
        .catalog()
        .log_params(run.id(), &[("batch", "32"), ("lr", "0.3")])
        .unwrap_err();
    assert!(matches!(e, CatalogError::ParamChanged { .. }), "{e}");
    let info = store.get_run(run.id()).unwrap();
    assert_eq!(info.params.len(), 1, "{:?}", info.params);
    assert_eq!(info.params["lr"], "0.1");
    // A key twice in one batch: refused, naming it (MLflow's log_batch rule).
    let e = store
        .catalog()
        .log_params(run.id(), &[("dup", "1"), ("dup", "1")])
        .unwrap_err();
    assert!(
        matches!(&e, CatalogError::Invalid(ValidationError::DuplicateParamKey { key }) if key == "dup"),
        "{e}"
    );
    assert!(!store.get_run(run.id()).unwrap().params.contains_key("dup"));
}

#[test]
fn a_finished_run_resumed_through_the_store_is_running_again_and_logs() {
    let nest = Nest::new();
    let store = Store::open(&nest.root).unwrap();
    let run = store.start_run(NewRun::default().name("r")).unwrap();
    let id = run.id().to_string();
    for step in 0..10 {
        run.log_metric_at("loss", step, 1_000 + step, step as f64)
            .unwrap();
    }
    run.finish(RunStatus::Finished).unwrap();
    let done = store.get_run(&id).unwrap();
    assert_eq!(done.status, RunStatus::Finished);
    assert!(done.end_time.is_some());

    // MLflow's start_run(run_id=...) on a FINISHED run: RUNNING again, everything kept.
    let run = store.resume_run(&id).unwrap();
    let again = store.get_run(&id).unwrap();
    assert_eq!(again.status, RunStatus::Running);
    assert_eq!(again.run_name, "r");
    assert_eq!(again.metrics["loss"].step, 9);
    for step in 10..20 {
        run.log_metric_at("loss", step, 1_000 + step, step as f64)
            .unwrap();
    }
    run.log_param("late", "yes").unwrap();
    run.set_tag("phase", "2").unwrap();
    run.finish(RunStatus::Finished).unwrap();
    let info = store.get_run(&id).unwrap();
    assert_eq!(info.status, RunStatus::Finished);
    assert_eq!(info.metrics["loss"].step, 19);
    assert_eq!(info.params["late"], "yes");
    assert_eq!(info.tags["phase"], "2");
    assert_eq!(
        store.reader(&id).unwrap().history("loss").unwrap().len(),
        20
    );
}

#[test]
fn params_and_tags_of_a_finished_run_may_still_be_logged_through_the_catalog() {
    let nest = Nest::new();
    let store = Store::open(&nest.root).unwrap();
    let run = store.start_run(NewRun::default()).unwrap();
    let id = run.id().to_string();
    run.finish(RunStatus::Finished).unwrap();
    let c = store.catalog();
    // MLflow allows changes to terminated runs; only deleted ones are refused.
    c.log_params(&id, &[("after", "1")]).unwrap();
    c.set_tags(&id, &[("note", "x"), ("mlflow.runName", "renamed")])
        .unwrap();
    c.delete_tag(&id, "note").unwrap();
    let info = store.get_run(&id).unwrap();
    assert_eq!(
        info.status,
        RunStatus::Finished,
        "logging does not resume a run"
    );
    assert_eq!(info.params["after"], "1");
    assert_eq!(info.run_name, "renamed");
    assert!(!info.tags.contains_key("note"));
}

#[test]
fn a_deleted_run_refuses_changes_saying_it_must_be_active() {
    let nest = Nest::new();
    let store = Store::open(&nest.root).unwrap();
    let c = store.catalog();
    let id = c
        .create_run(NewRun::default().param("p", "1").tag("t", "1"))
        .unwrap()
        .run_id;
    c.delete_run(&id).unwrap();
    let before = store.get_run(&id).unwrap();
    assert_eq!(before.lifecycle_stage, LifecycleStage::Deleted);
    let refusals = [
        ("log_params", c.log_params(&id, &[("q", "2")])),
        ("set_tags", c.set_tags(&id, &[("u", "2")])),
        ("delete_tag", c.delete_tag(&id, "t")),
        ("rename_run", c.rename_run(&id, "new name")),
        ("set_status", c.set_status(&id, RunStatus::Killed, None)),
    ];
    for (what, r) in refusals {
        let e = r.expect_err(what);
        assert!(e.to_string().contains("'active'"), "{what}: {e}");
    }
    let e = store.resume_run(&id).unwrap_err();
    assert!(e.to_string().contains("deleted"), "{e}");
    assert_eq!(store.get_run(&id).unwrap(), before, "nothing changed");
    // Restored, it takes changes again.
    c.restore_run(&id).unwrap();
    c.log_params(&id, &[("q", "2")]).unwrap();
    assert_eq!(store.get_run(&id).unwrap().params["q"], "2");
}

#[test]
fn unknown_run_ids_are_not_found_and_malformed_ones_never_reach_the_file_system() {
    let nest = Nest::new();
    let store = Store::open(&nest.root).unwrap();
    let outside = nest.outside();
    let c = store.catalog();
    let calls = |id: &str| -> Vec<(&'static str, Result<(), Error>)> {
        let e = Error::from;
        vec![
            ("get_run", store.get_run(id).map(drop)),
            ("resume_run", store.resume_run(id).map(drop)),
            ("log_params", c.log_params(id, &[("a", "1")]).map_err(e)),
            ("set_tags", c.set_tags(id, &[("a", "1")]).map_err(e)),
            ("delete_tag", c.delete_tag(id, "a").map_err(e)),
            ("rename_run", c.rename_run(id, "x").map_err(e)),
            (
                "set_status",
                c.set_status(id, RunStatus::Finished, None).map_err(e),
            ),
            ("delete_run", c.delete_run(id).map_err(e)),
            ("restore_run", c.restore_run(id).map_err(e)),
            (
                "create_run with parent",
                c.create_run(NewRun::default().parent(id))
                    .map(drop)
                    .map_err(e),
            ),
        ]
    };
    let unknown = "0123456789abcdef0123456789abcdef";
    for (what, r) in calls(unknown) {
        let e = catalog_err(r.expect_err(what));
        assert!(
            matches!(&e, CatalogError::NotFound { what: "run", id, .. } if id == unknown),
            "{what}: {e}"
        );
    }
    for bad in [
        "../../etc",
        "../../../x",
        "/runlog-hostile-abs",
        "..",
        ".",
        "",
        "runs",
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcdef/",
        "0123456789abcdef0123456789abcde\0",
    ] {
        for (what, r) in calls(bad) {
            let e = catalog_err(r.expect_err(what));
            assert!(
                matches!(e, CatalogError::Invalid(_)),
                "{what}({bad:?}): not a validation error: {e}"
            );
            assert!(names(&e.to_string(), bad), "{what}({bad:?}): {e}");
        }
        let new = NewRun {
            run_id: Some(bad.into()),
            ..NewRun::default()
        };
        let e = catalog_err(store.start_run(new).unwrap_err());
        assert!(matches!(e, CatalogError::Invalid(_)), "{e}");
    }
    assert!(!Path::new("/runlog-hostile-abs").exists());
    assert_eq!(nest.outside(), outside, "files appeared outside the store");
    assert_eq!(c.run_count().unwrap(), 0);
    assert_eq!(fs::read_dir(nest.root.join("runs")).unwrap().count(), 0);
}

#[test]
fn a_deleted_experiment_takes_no_runs_and_keeps_its_name() {
    let nest = Nest::new();
    let store = Store::open(&nest.root).unwrap();
    let c = store.catalog();
    let id = c.create_experiment("e", None, &[]).unwrap();
    let other = c.create_experiment("other", None, &[]).unwrap();
    c.delete_experiment(&id).unwrap();

    let e = catalog_err(store.start_run(NewRun::in_experiment(&id)).unwrap_err());
    assert!(matches!(e, CatalogError::InvalidState(_)), "{e}");
    assert!(e.to_string().contains("deleted"), "{e}");
    c.create_run(NewRun::in_experiment(&id)).unwrap_err();
    assert_eq!(c.run_count().unwrap(), 0);
    assert_eq!(fs::read_dir(nest.root.join("runs")).unwrap().count(), 0);

    // Its name stays taken, as in MLflow.
    let e = c.create_experiment("e", None, &[]).unwrap_err();
    assert!(
        matches!(&e, CatalogError::ExperimentExists { name, id: taken, stage: "deleted", .. }
            if name == "e" && *taken == id),
        "{e}"
    );
    assert!(e.to_string().contains("restore"), "{e}");
    let e = c.rename_experiment(&other, "e").unwrap_err();
    assert!(matches!(e, CatalogError::ExperimentExists { .. }), "{e}");
    let e = store.set_experiment("e").unwrap_err();
    assert!(e.to_string().contains("deleted"), "{e}");
    let found = c.get_experiment_by_name("e").unwrap().unwrap();
    assert_eq!(found.lifecycle_stage, LifecycleStage::Deleted);
    // A deleted experiment takes no changes either.
    c.rename_experiment(&id, "e2").unwrap_err();
    c.set_experiment_tag(&id, "k", "v").unwrap_err();
    c.delete_experiment(&id).unwrap_err();
    assert_eq!(c.get_experiment(&id).unwrap(), found);
    // The default experiment cannot be deleted.
    c.delete_experiment("0").unwrap_err();

    c.restore_experiment(&id).unwrap();
    store.start_run(NewRun::in_experiment(&id)).unwrap();
}

#[test]
fn ten_thousand_params_in_one_call_are_all_kept_or_refused_clearly() {
    let nest = Nest::new();
    let store = Store::open(&nest.root).unwrap();
    let run = store.start_run(NewRun::default()).unwrap();
    let id = run.id().to_string();
    let owned: Vec<(String, String)> = (0..10_000)
        .map(|i| (format!("p/{i:05}"), format!("value {i}")))
        .collect();
    let params: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    match run.log_params(&params) {
        Ok(()) => {
            let info = store.get_run(&id).unwrap();
            assert_eq!(info.params.len(), 10_000);
            for (k, v) in &owned {
                assert_eq!(&info.params[k], v);
            }
            run.finish(RunStatus::Finished).unwrap();
            drop(store);
            let copy = tempfile::tempdir().unwrap();
            copy_without_catalog(&nest.root, copy.path());
            let rebuilt = Store::open(copy.path()).unwrap();
            assert_eq!(rebuilt.get_run(&id).unwrap().params, info.params);
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains("10000") && msg.contains("100"), "{msg}");
            assert!(store.get_run(&id).unwrap().params.is_empty());
        }
    }
}

#[test]
fn a_tag_value_over_8000_characters_is_refused_naming_the_limit() {
    let nest = Nest::new();
    let store = Store::open(&nest.root).unwrap();
    let run = store.start_run(NewRun::default()).unwrap();
    let long = "x".repeat(8_001);
    for e in [
        catalog_err(run.set_tag("note", &long).unwrap_err()),
        store
            .catalog()
            .set_tags(run.id(), &[("ok", "1"), ("note", &long)])
            .unwrap_err(),
    ] {
        assert!(
            matches!(
                e,
                CatalogError::Invalid(ValidationError::ValueTooLong {
                    length: 8_001,
                    limit: 8_000,
                    ..
                })
            ),
            "{e}"
        );
        let msg = e.to_string();
        assert!(msg.contains("8000") && msg.contains("\"note\""), "{msg}");
    }
    let tags = store.get_run(run.id()).unwrap().tags;
    assert!(!tags.contains_key("ok") && !tags.contains_key("note"));
    // At the limit it is kept, in characters, not bytes.
    let limit = "é".repeat(8_000);
    run.set_tag("note", &limit).unwrap();
    assert_eq!(store.get_run(run.id()).unwrap().tags["note"], limit);
    // NewRun's tags follow the same rule.
    let e = catalog_err(
        store
            .start_run(NewRun::default().tag("note", long.as_str()))
            .unwrap_err(),
    );
    assert!(e.to_string().contains("8000"), "{e}");
}

#[test]
fn a_metric_key_over_250_characters_is_refused_naming_the_limit() {
    let nest = Nest::new();
    let store = Store::open(&nest.root).unwrap();
    let run = store.start_run(NewRun::default()).unwrap();
    let long = "k".repeat(251);
    for e in [
        run.log_metric(&long, 0, 1.0).unwrap_err(),
        run.metric(&long).map(drop).unwrap_err(),
        run.log_metrics(0, &[("fine", 1.0), (&long, 2.0)])
            .unwrap_err(),
    ] {
        let msg = e.to_string();
        assert!(msg.contains("250"), "{msg}");
        assert!(names(&msg, &long), "{msg}");
    }
    let ok = "k".repeat(250);
    run.log_metric(&ok, 0, 1.0).unwrap();
    run.flush().unwrap();
    let keys: Vec<String> = run
        .reader()
        .unwrap()
        .series()
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    assert!(!keys.contains(&long), "the refused key was stored");
    let info = store.get_run(run.id()).unwrap();
    assert!(info.metrics.contains_key(&ok));
    assert!(!info.metrics.contains_key(&long));
}

#[test]
fn nan_and_infinite_metric_values_are_kept_bit_exact() {
    let nest = Nest::new();
    let store = Store::open(&nest.root).unwrap();
    let run = store.start_run(NewRun::default()).unwrap();
    let id = run.id().to_string();
    let values = [
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7ff8_dead_beef_0001),
        f64::from_bits(0x7ff0_0000_0000_0001), // a signalling NaN
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        f64::from_bits(1), // the smallest subnormal
        f64::MAX,
    ];
    let m = run.metric("all").unwrap();
    for (i, v) in values.iter().enumerate() {
        m.log_at(i as i64, 1_000, *v).unwrap();
        // One key per value: its latest value is that value.
        run.log_metric_at(&format!("v{i}"), 0, 1_000, *v).unwrap();
    }
    run.finish(RunStatus::Finished).unwrap();
    let check = |store: &Store, what: &str| {
        let got = store.reader(&id).unwrap().history("all").unwrap();
        let bits: Vec<u64> = got.values.iter().map(|v| v.to_bits()).collect();
        let want: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
        assert_eq!(bits, want, "{what}: history");
        let info = store.get_run(&id).unwrap();
        for (i, v) in values.iter().enumerate() {
            assert_eq!(
                info.metrics[&format!("v{i}")].value.to_bits(),
                v.to_bits(),
                "{what}: latest value of v{i}"
            );
        }
    };
    check(&store, "live");
    drop(store);
    check(&Store::open(&nest.root).unwrap(), "reopened");
    let copy = tempfile::tempdir().unwrap();
    copy_without_catalog(&nest.root, copy.path());
    check(&Store::open(copy.path()).unwrap(), "rebuilt");
}

#[test]
fn a_million_points_in_one_log_columns_call() {
    let nest = Nest::new();
    let store = Store::open(&nest.root).unwrap();
    let run = store.start_run(NewRun::default()).unwrap();
    const N: usize = 1_000_000;
    let steps: Vec<i64> = (0..N as i64).collect();
    let times: Vec<i64> = steps.iter().map(|s| 1_700_000_000_000 + s).collect();
    let values: Vec<f64> = steps.iter().map(|s| (*s as f64).sqrt()).collect();
    let m = run.metric("big").unwrap();
    m.log_columns(&steps, &times, &values).unwrap();
    // Columns of different lengths are refused, not read out of bounds.
    let e = m
        .log_columns(&steps[..2], &times[..1], &values[..2])
        .unwrap_err();
    assert!(!e.to_string().is_empty());
    run.flush().unwrap();
    let got = run.reader().unwrap().history("big").unwrap();
    assert_eq!(got.steps, steps);
    assert_eq!(got.timestamps_ms, times);
    assert!(
        got.values
            .iter()
            .zip(&values)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
    let info = store.get_run(run.id()).unwrap();
    assert_eq!(info.metrics["big"].step, N as i64 - 1);
    assert_eq!(info.metrics["big"].value, ((N - 1) as f64).sqrt());
}

#[test]
fn finishing_a_run_deleted_meanwhile_keeps_the_catalog_in_step_with_its_metric_data() {
    let nest = Nest::new();
    let store = Store::open(&nest.root).unwrap();
    let run = store.start_run(NewRun::default()).unwrap();
    let id = run.id().to_string();
    run.log_metric_at("loss", 7, 1_000, 0.25).unwrap();
    // Deleted by another client while the trainer still logs.
    store.catalog().delete_run(&id).unwrap();
    // As MLflow, a deleted run may refuse to be ended (set_terminated needs an active run).
    if let Err(e) = run.finish(RunStatus::Finished) {
        assert!(e.to_string().contains("'active'"), "{e}");
    }
    let live = store.get_run(&id).unwrap();
    // The points were written to the run's metric data all the same: the catalog's latest
    // values must say so, as a catalog rebuilt from that data does.
    let history = store.reader(&id).unwrap().history("loss").unwrap();
    assert_eq!(history.len(), 1);
    drop(store);
    let copy = tempfile::tempdir().unwrap();
    copy_without_catalog(&nest.root, copy.path());
    let rebuilt = Store::open(copy.path()).unwrap().get_run(&id).unwrap();
    assert_eq!(rebuilt.metrics["loss"].value, 0.25);
    assert_eq!(
        live, rebuilt,
        "the live catalog and the one rebuilt from the journals and metric data differ"
    );
}

#[test]
fn a_user_name_obeys_the_tag_value_limit_of_the_mlflow_user_tag() {
    let nest = Nest::new();
    let store = Store::open(&nest.root).unwrap();
    let user = "u".repeat(8_001);
    // The user becomes the mlflow.user tag: a value MLflow refuses as a tag must not get in
    // through the user.
    let r = store.catalog().create_run(NewRun {
        user: Some(user.clone()),
        ..NewRun::default()
    });
    match r {
        Ok(run) => panic!(
            "a user of 8001 characters was stored as the mlflow.user tag ({} characters)",
            run.tags[runlog::catalog::TAG_USER].chars().count()
        ),
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains("8000"), "{msg}");
        }
    }
    assert_eq!(store.catalog().run_count().unwrap(), 0);
}

#[test]
fn negative_metric_timestamps_are_refused_as_mlflow_does() {
    // MLflow's _validate_metric: "Timestamp must be a nonnegative long (64-bit integer)"; the
    // catalog's validation::validate_metric says so too.
    let nest = Nest::new();
    let store = Store::open(&nest.root).unwrap();
    let run = store.start_run(NewRun::default()).unwrap();
    let m = run.metric("m").unwrap();
    let refusals = [
        ("Run::log_metric_at", run.log_metric_at("m", 0, -5, 1.0)),
        ("Metric::log_at", m.log_at(0, -5, 1.0)),
        (
            "Metric::log_batch",
            m.log_batch(&[
                runlog::Point::new(0, 1, 1.0),
                runlog::Point::new(1, -5, 1.0),
            ]),
        ),
        (
            "Metric::log_columns",
            m.log_columns(&[0, 1], &[1, -5], &[1.0, 1.0]),
        ),
    ];
    for (what, r) in refusals {
        match r {
            Ok(()) => panic!("{what} accepted the timestamp -5"),
            Err(e) => assert!(e.to_string().contains("-5"), "{what}: {e}"),
        }
    }
    run.flush().unwrap();
    let info = store.get_run(run.id()).unwrap();
    assert!(
        info.metrics.values().all(|m| m.timestamp_ms >= 0),
        "{:?}",
        info.metrics
    );
}

#[test]
fn an_experiment_id_beyond_the_largest_valid_one_is_never_handed_out() {
    let nest = Nest::new();
    let store = Store::open(&nest.root).unwrap();
    let c = store.catalog();
    // An importer brings an experiment with the largest id there is.
    let max = i64::MAX.to_string();
    assert_eq!(
        c.create_experiment_with_id(&max, "imported", None, &[])
            .unwrap(),
        max
    );
    // The next experiment gets a usable id, or a clear refusal and no experiment.
    match c.create_experiment("next", None, &[]) {
        Ok(id) => {
            let e = c.get_experiment(&id);
            assert!(
                e.is_ok(),
                "create_experiment handed out id {id}: {}",
                e.unwrap_err()
            );
            store.start_run(NewRun::in_experiment(&id)).unwrap();
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            assert!(c.get_experiment_by_name("next").unwrap().is_none());
        }
    }
    // set_experiment is get-or-create: when it fails it must not have created anything.
    if store.set_experiment("third").is_err() {
        let listed: Vec<String> = c
            .list_experiments(ViewType::All)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert!(
            !listed.contains(&"third".to_string()),
            "set_experiment failed yet created the experiment: {listed:?}"
        );
    }
    for e in c.list_experiments(ViewType::All).unwrap() {
        assert!(
            c.get_experiment(&e.experiment_id).is_ok(),
            "experiment {:?} ({}) is listed but cannot be read",
            e.name,
            e.experiment_id
        );
    }
}
