//! Model test of the model registry: random sequences of registry operations, reopens,
//! rebuilds (catalog.redb deleted, replayed from `models.log`) and lost commits (an old
//! catalog.redb put back after a dead writer, caught up from the journal), checked against a
//! plain in-memory model of MLflow's registry semantics.
//!
//! After every operation the outcome (success, or the kind of error) must be the model's;
//! every few operations and after every reopen, rebuild and recovery the whole registry is
//! compared: every model (description, tags, aliases, latest version per stage), every
//! version (live or deleted), aliases and `models:/` URIs, and searches page by page.
//!
//! The case count comes from `RUNLOG_PROPTEST_CASES` (default 32).

use std::collections::BTreeMap;

use proptest::prelude::*;
use runlog_catalog::{
    CATALOG_FILE, Catalog, CatalogError, ModelVersion, NewRun, Stage, WRITERS_DIR,
};

fn cases() -> u32 {
    std::env::var("RUNLOG_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

/// Model names: the last is invalid (`/`).
const NAMES: [&str; 4] = ["m1", "m2", "M1", "bad/name"];
/// Tag keys: the last is invalid (not a normalised path).
const KEYS: [&str; 3] = ["k1", "k2", "../k"];
const VALUES: [&str; 2] = ["x", "y"];
/// Aliases: `latest` and `v2` are reserved, `a b` is invalid.
const ALIASES: [&str; 5] = ["champ", "base", "latest", "v2", "a b"];
/// Stages as a user writes them: the last is no stage.
const STAGES: [&str; 5] = ["None", "staging", "Production", "ARCHIVED", "bogus"];
const DESCRIPTIONS: [Option<&str>; 3] = [None, Some("first"), Some("second")];
const SNAPSHOT: &str = "catalog.redb.snapshot";

#[derive(Debug, Clone)]
enum Op {
    CreateModel(usize, Option<(usize, usize)>),
    Rename(usize, usize),
    Update(usize, usize),
    SetTag(usize, usize, usize),
    DeleteTag(usize, usize),
    DeleteModel(usize),
    CreateVersion(usize, Option<(usize, usize)>, usize),
    UpdateVersion(usize, u64, usize),
    SetVersionTag(usize, u64, usize, usize),
    DeleteVersionTag(usize, u64, usize),
    DeleteVersion(usize, u64),
    Transition(usize, u64, usize, bool),
    SetAlias(usize, usize, u64),
    DeleteAlias(usize, usize),
    Reopen,
    Rebuild,
    Snapshot,
    LoseCommits,
}

fn op() -> impl Strategy<Value = Op> {
    let name = 0..NAMES.len();
    let key = 0..KEYS.len();
    let value = 0..VALUES.len();
    let version = 0u64..6;
    let tag = proptest::option::of((key.clone(), value.clone()));
    prop_oneof![
        4 => (name.clone(), tag.clone()).prop_map(|(n, t)| Op::CreateModel(n, t)),
        1 => (name.clone(), name.clone()).prop_map(|(a, b)| Op::Rename(a, b)),
        1 => (name.clone(), 0..DESCRIPTIONS.len()).prop_map(|(n, d)| Op::Update(n, d)),
        2 => (name.clone(), key.clone(), value.clone()).prop_map(|(n, k, v)| Op::SetTag(n, k, v)),
        1 => (name.clone(), key.clone()).prop_map(|(n, k)| Op::DeleteTag(n, k)),
        1 => name.clone().prop_map(Op::DeleteModel),
        6 => (name.clone(), tag, 0..3usize).prop_map(|(n, t, r)| Op::CreateVersion(n, t, r)),
        1 => (name.clone(), version.clone(), 0..DESCRIPTIONS.len())
            .prop_map(|(n, v, d)| Op::UpdateVersion(n, v, d)),
        2 => (name.clone(), version.clone(), key.clone(), value)
            .prop_map(|(n, v, k, x)| Op::SetVersionTag(n, v, k, x)),
        1 => (name.clone(), version.clone(), key).prop_map(|(n, v, k)| Op::DeleteVersionTag(n, v, k)),
        2 => (name.clone(), version.clone()).prop_map(|(n, v)| Op::DeleteVersion(n, v)),
        4 => (name.clone(), version.clone(), 0..STAGES.len(), any::<bool>())
            .prop_map(|(n, v, s, a)| Op::Transition(n, v, s, a)),
        3 => (name.clone(), 0..ALIASES.len(), version)
            .prop_map(|(n, a, v)| Op::SetAlias(n, a, v)),
        1 => (name, 0..ALIASES.len()).prop_map(|(n, a)| Op::DeleteAlias(n, a)),
        1 => Just(Op::Reopen),
        1 => Just(Op::Rebuild),
        1 => Just(Op::Snapshot),
        1 => Just(Op::LoseCommits),
    ]
}

// ---------------------------------------------------------------------------------------
// The model

#[derive(Debug, Clone, Default)]
struct MVersion {
    deleted: bool,
    stage: Option<Stage>,
    description: Option<String>,
    source: String,
    run_id: Option<String>,
    tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
struct MModel {
    description: Option<String>,
    tags: BTreeMap<String, String>,
    versions: BTreeMap<u64, MVersion>,
    aliases: BTreeMap<String, u64>,
}

/// The outcome of a call, coarsely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Invalid,
    NoModel,
    NoVersion,
    Exists,
    BadStage,
    BadArgument,
}

fn outcome<T>(r: Result<T, CatalogError>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok,
        Err(CatalogError::Invalid(_)) => Outcome::Invalid,
        Err(CatalogError::NotFound { .. }) => Outcome::NoModel,
        Err(CatalogError::ModelVersionNotFound { .. }) => Outcome::NoVersion,
        Err(CatalogError::ModelExists { .. }) => Outcome::Exists,
        Err(CatalogError::InvalidStage { .. }) => Outcome::BadStage,
        Err(CatalogError::InvalidArgument(_)) => Outcome::BadArgument,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn valid_name(i: usize) -> bool {
    i < NAMES.len() - 1
}
fn valid_key(i: usize) -> bool {
    i < KEYS.len() - 1
}

#[derive(Default)]
struct Model {
    models: BTreeMap<String, MModel>,
    runs: Vec<String>,
}

impl Model {
    /// The live version `v` of model `n`, or the outcome explaining why not.
    fn live(&mut self, n: usize, v: u64) -> Result<&mut MVersion, Outcome> {
        if !valid_name(n) {
            return Err(Outcome::Invalid);
        }
        let m = self.models.get_mut(NAMES[n]).ok_or(Outcome::NoModel)?;
        match m.versions.get_mut(&v) {
            Some(x) if !x.deleted => Ok(x),
            _ => Err(Outcome::NoVersion),
        }
    }

    fn apply(&mut self, op: &Op) -> Outcome {
        let res = self.apply_inner(op);
        match res {
            Ok(()) => Outcome::Ok,
            Err(o) => o,
        }
    }

    fn apply_inner(&mut self, op: &Op) -> Result<(), Outcome> {
        match *op {
            Op::CreateModel(n, tag) => {
                if !valid_name(n) || tag.is_some_and(|(k, _)| !valid_key(k)) {
                    return Err(Outcome::Invalid);
                }
                if self.models.contains_key(NAMES[n]) {
                    return Err(Outcome::Exists);
                }
                let mut m = MModel::default();
                if let Some((k, v)) = tag {
                    m.tags.insert(KEYS[k].into(), VALUES[v].into());
                }
                self.models.insert(NAMES[n].into(), m);
            }
            Op::Rename(a, b) => {
                if !valid_name(a) || !valid_name(b) {
                    return Err(Outcome::Invalid);
                }
                if !self.models.contains_key(NAMES[a]) {
                    return Err(Outcome::NoModel);
                }
                if self.models.contains_key(NAMES[b]) {
                    return Err(Outcome::Exists);
                }
                let m = self.models.remove(NAMES[a]).unwrap();
                self.models.insert(NAMES[b].into(), m);
            }
            Op::Update(n, d) => {
                if !valid_name(n) {
                    return Err(Outcome::Invalid);
                }
                let m = self.models.get_mut(NAMES[n]).ok_or(Outcome::NoModel)?;
                m.description = DESCRIPTIONS[d].map(str::to_string);
            }
            Op::SetTag(n, k, v) => {
                if !valid_name(n) || !valid_key(k) {
                    return Err(Outcome::Invalid);
                }
                let m = self.models.get_mut(NAMES[n]).ok_or(Outcome::NoModel)?;
                m.tags.insert(KEYS[k].into(), VALUES[v].into());
            }
            Op::DeleteTag(n, k) => {
                if !valid_name(n) || !valid_key(k) {
                    return Err(Outcome::Invalid);
                }
                let m = self.models.get_mut(NAMES[n]).ok_or(Outcome::NoModel)?;
                m.tags.remove(KEYS[k]);
            }
            Op::DeleteModel(n) => {
                if !valid_name(n) {
                    return Err(Outcome::Invalid);
                }
                self.models.remove(NAMES[n]).ok_or(Outcome::NoModel)?;
            }
            Op::CreateVersion(n, tag, r) => {
                if !valid_name(n) || tag.is_some_and(|(k, _)| !valid_key(k)) {
                    return Err(Outcome::Invalid);
                }
                let run_id = self.runs.get(r).cloned();
                let m = self.models.get_mut(NAMES[n]).ok_or(Outcome::NoModel)?;
                let next = m.versions.keys().last().map_or(1, |v| v + 1);
                let mut v = MVersion {
                    stage: Some(Stage::None),
                    source: format!("s3://bucket/{}", NAMES[n]),
                    run_id,
                    ..MVersion::default()
                };
                if let Some((k, x)) = tag {
                    v.tags.insert(KEYS[k].into(), VALUES[x].into());
                }
                m.versions.insert(next, v);
            }
            Op::UpdateVersion(n, v, d) => {
                self.live(n, v)?.description = DESCRIPTIONS[d].map(str::to_string);
            }
            Op::SetVersionTag(n, v, k, x) => {
                if !valid_name(n) || !valid_key(k) {
                    return Err(Outcome::Invalid);
                }
                self.live(n, v)?
                    .tags
                    .insert(KEYS[k].into(), VALUES[x].into());
            }
            Op::DeleteVersionTag(n, v, k) => {
                if !valid_name(n) || !valid_key(k) {
                    return Err(Outcome::Invalid);
                }
                self.live(n, v)?.tags.remove(KEYS[k]);
            }
            Op::DeleteVersion(n, v) => {
                let x = self.live(n, v)?;
                x.deleted = true;
                let m = self.models.get_mut(NAMES[n]).unwrap();
                m.aliases.retain(|_, target| *target != v);
            }
            Op::Transition(n, v, s, archive) => {
                let stage = Stage::parse(STAGES[s]).map_err(|_| Outcome::BadStage)?;
                if archive && !matches!(stage, Stage::Staging | Stage::Production) {
                    return Err(Outcome::BadArgument);
                }
                self.live(n, v)?.stage = Some(stage);
                if archive {
                    let m = self.models.get_mut(NAMES[n]).unwrap();
                    for (number, other) in m.versions.iter_mut() {
                        if *number != v && !other.deleted && other.stage == Some(stage) {
                            other.stage = Some(Stage::Archived);
                        }
                    }
                }
            }
            Op::SetAlias(n, a, v) => {
                if !valid_name(n) || a == 4 {
                    return Err(Outcome::Invalid);
                }
                if !self.models.contains_key(NAMES[n]) {
                    return Err(Outcome::NoModel);
                }
                if a == 2 || a == 3 {
                    return Err(Outcome::Invalid);
                }
                self.live(n, v)?;
                let m = self.models.get_mut(NAMES[n]).unwrap();
                m.aliases.insert(ALIASES[a].into(), v);
            }
            Op::DeleteAlias(n, a) => {
                if !valid_name(n) || a == 4 {
                    return Err(Outcome::Invalid);
                }
                let m = self.models.get_mut(NAMES[n]).ok_or(Outcome::NoModel)?;
                m.aliases.remove(ALIASES[a]);
            }
            Op::Reopen | Op::Rebuild | Op::Snapshot | Op::LoseCommits => {}
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Running and comparing

fn run(catalog: &Catalog, op: &Op, runs: &[String]) -> Outcome {
    let d = |i: usize| DESCRIPTIONS[i];
    match *op {
        Op::CreateModel(n, tag) => {
            let tags: Vec<(&str, &str)> =
                tag.map(|(k, v)| (KEYS[k], VALUES[v])).into_iter().collect();
            outcome(catalog.create_registered_model(NAMES[n], None, &tags))
        }
        Op::Rename(a, b) => outcome(catalog.rename_registered_model(NAMES[a], NAMES[b])),
        Op::Update(n, i) => outcome(catalog.update_registered_model(NAMES[n], d(i))),
        Op::SetTag(n, k, v) => {
            outcome(catalog.set_registered_model_tag(NAMES[n], KEYS[k], VALUES[v]))
        }
        Op::DeleteTag(n, k) => outcome(catalog.delete_registered_model_tag(NAMES[n], KEYS[k])),
        Op::DeleteModel(n) => outcome(catalog.delete_registered_model(NAMES[n])),
        Op::CreateVersion(n, tag, r) => {
            let tags: Vec<(&str, &str)> =
                tag.map(|(k, v)| (KEYS[k], VALUES[v])).into_iter().collect();
            let run_id = runs.get(r).map(String::as_str);
            let source = format!("s3://bucket/{}", NAMES[n]);
            outcome(catalog.create_model_version(NAMES[n], &source, run_id, None, &tags))
        }
        Op::UpdateVersion(n, v, i) => outcome(catalog.update_model_version(NAMES[n], v, d(i))),
        Op::SetVersionTag(n, v, k, x) => {
            outcome(catalog.set_model_version_tag(NAMES[n], v, KEYS[k], VALUES[x]))
        }
        Op::DeleteVersionTag(n, v, k) => {
            outcome(catalog.delete_model_version_tag(NAMES[n], v, KEYS[k]))
        }
        Op::DeleteVersion(n, v) => outcome(catalog.delete_model_version(NAMES[n], v)),
        Op::Transition(n, v, s, a) => {
            outcome(catalog.transition_model_version_stage(NAMES[n], v, STAGES[s], a))
        }
        Op::SetAlias(n, a, v) => {
            outcome(catalog.set_registered_model_alias(NAMES[n], ALIASES[a], v))
        }
        Op::DeleteAlias(n, a) => {
            outcome(catalog.delete_registered_model_alias(NAMES[n], ALIASES[a]))
        }
        Op::Reopen | Op::Rebuild | Op::Snapshot | Op::LoseCommits => Outcome::Ok,
    }
}

fn check_version(got: &ModelVersion, want: &MVersion, aliases: &BTreeMap<String, u64>) {
    let what = format!("{} v{}", got.name, got.version);
    assert_eq!(Some(got.current_stage), want.stage, "{what}: stage");
    assert_eq!(got.description, want.description, "{what}: description");
    assert_eq!(got.run_id, want.run_id, "{what}: run");
    assert_eq!(got.source, want.source, "{what}: source");
    assert_eq!(got.tags, want.tags, "{what}: tags");
    let named: Vec<String> = aliases
        .iter()
        .filter(|(_, v)| **v == got.version)
        .map(|(a, _)| a.clone())
        .collect();
    assert_eq!(got.aliases, named, "{what}: aliases");
}

fn check(catalog: &Catalog, model: &Model) {
    for name in &NAMES[..NAMES.len() - 1] {
        let Some(want) = model.models.get(*name) else {
            assert_eq!(
                outcome(catalog.get_registered_model(name)),
                Outcome::NoModel,
                "{name}"
            );
            continue;
        };
        let got = catalog.get_registered_model(name).unwrap();
        assert_eq!(got.description, want.description, "{name}: description");
        assert_eq!(got.tags, want.tags, "{name}: tags");
        assert_eq!(got.aliases, want.aliases, "{name}: aliases");
        let mut latest: Vec<(Stage, u64)> = Vec::new();
        for stage in Stage::ALL {
            if let Some((n, _)) = want
                .versions
                .iter()
                .filter(|(_, v)| !v.deleted && v.stage == Some(stage))
                .max_by_key(|(n, _)| **n)
            {
                latest.push((stage, *n));
            }
        }
        let got_latest: Vec<(Stage, u64)> = got
            .latest_versions
            .iter()
            .map(|v| (v.current_stage, v.version))
            .collect();
        assert_eq!(got_latest, latest, "{name}: latest versions");
        for n in 1..=want.versions.len() as u64 + 1 {
            match want.versions.get(&n) {
                Some(v) if !v.deleted => {
                    let got = catalog.get_model_version(name, n).unwrap();
                    check_version(&got, v, &want.aliases);
                    let uri = catalog
                        .resolve_model_uri(&format!("models:/{name}/{n}"))
                        .unwrap();
                    assert_eq!(uri, got);
                    if let Some(run_id) = &v.run_id {
                        let lineage = catalog
                            .model_version_lineage(&format!("models:/{name}/{n}"))
                            .unwrap();
                        assert_eq!(&lineage.run.unwrap().run_id, run_id);
                    }
                }
                _ => assert_eq!(
                    outcome(catalog.get_model_version(name, n)),
                    Outcome::NoVersion,
                    "{name} v{n}"
                ),
            }
        }
        for (alias, v) in &want.aliases {
            let got = catalog.get_model_version_by_alias(name, alias).unwrap();
            assert_eq!(got.version, *v, "{name}@{alias}");
        }
        let highest = want
            .versions
            .iter()
            .filter(|(_, v)| !v.deleted)
            .map(|(n, _)| *n)
            .max();
        let got = catalog
            .resolve_model_uri(&format!("models:/{name}/latest"))
            .ok()
            .map(|v| v.version);
        assert_eq!(got, highest, "{name}: latest");
        // Versions of this model, through search, in number order.
        let found: Vec<u64> = catalog
            .search_model_versions(
                Some(&format!("name = '{name}'")),
                &["version_number"],
                1000,
                None,
            )
            .unwrap()
            .items
            .iter()
            .map(|v| v.version)
            .collect();
        let live: Vec<u64> = want
            .versions
            .iter()
            .filter(|(_, v)| !v.deleted)
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(found, live, "{name}: searched versions");
    }
    // Every model, page by page (2 a page), by name.
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = catalog
            .search_registered_models(None, &["name"], 2, token.as_deref())
            .unwrap();
        names.extend(page.items.into_iter().map(|m| m.name));
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let want: Vec<String> = model.models.keys().cloned().collect();
    assert_eq!(names, want, "search_registered_models, paged");
    // A tag filter.
    let tagged: Vec<String> = catalog
        .search_registered_models(Some("tags.k1 = 'x'"), &["name DESC"], 100, None)
        .unwrap()
        .items
        .into_iter()
        .map(|m| m.name)
        .collect();
    let mut want: Vec<String> = model
        .models
        .iter()
        .filter(|(_, m)| m.tags.get("k1").is_some_and(|v| v == "x"))
        .map(|(n, _)| n.clone())
        .collect();
    want.reverse();
    assert_eq!(tagged, want, "tags.k1 = 'x'");
    // Every live version, by version tag, paged by 3.
    let mut got = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = catalog
            .search_model_versions(
                Some("tags.k2 != 'x'"),
                &["name", "version_number DESC"],
                3,
                token.as_deref(),
            )
            .unwrap();
        got.extend(page.items.into_iter().map(|v| (v.name, v.version)));
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let mut want = Vec::new();
    for (name, m) in &model.models {
        for (n, v) in m.versions.iter().rev() {
            if !v.deleted && v.tags.get("k2").is_some_and(|x| x != "x") {
                want.push((name.clone(), *n));
            }
        }
    }
    assert_eq!(got, want, "search_model_versions tags.k2 != 'x', paged");
}

fn execute(ops: &[Op]) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut catalog = Catalog::open(root).unwrap();
    let mut model = Model::default();
    for name in ["run-a", "run-b"] {
        let run = catalog.create_run(NewRun::default().name(name)).unwrap();
        model.runs.push(run.run_id);
    }
    let mut snapshot = false;
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::Reopen => {
                drop(catalog);
                catalog = Catalog::open(root).unwrap();
            }
            Op::Rebuild => {
                drop(catalog);
                catalog = Catalog::rebuild(root).unwrap();
            }
            Op::Snapshot => {
                std::fs::copy(root.join(CATALOG_FILE), root.join(SNAPSHOT)).unwrap();
                snapshot = true;
            }
            Op::LoseCommits if snapshot => {
                // The commits since the snapshot are lost (a writer died between journaling
                // and committing, over and over): recovery replays them from models.log.
                drop(catalog);
                std::fs::copy(root.join(SNAPSHOT), root.join(CATALOG_FILE)).unwrap();
                std::fs::write(root.join(WRITERS_DIR).join("1-dead"), b"").unwrap();
                catalog = Catalog::open(root).unwrap();
            }
            _ => {
                let want = model.apply(op);
                let got = run(&catalog, op, &model.runs);
                assert_eq!(got, want, "op {i}: {op:?}");
            }
        }
        if matches!(op, Op::Reopen | Op::Rebuild | Op::LoseCommits) || i % 8 == 7 {
            check(&catalog, &model);
        }
    }
    check(&catalog, &model);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn the_registry_behaves_like_its_model(ops in proptest::collection::vec(op(), 1..60)) {
        execute(&ops);
    }
}

#[test]
fn archive_existing_versions_moves_the_others_to_archived() {
    execute(&[
        Op::CreateModel(0, None),
        Op::CreateVersion(0, None, 0),
        Op::CreateVersion(0, None, 1),
        Op::CreateVersion(0, None, 2),
        Op::Transition(0, 1, 2, false),
        Op::Transition(0, 2, 2, false),
        Op::Transition(0, 3, 2, true),
        Op::SetAlias(0, 0, 3),
        Op::SetAlias(0, 0, 1),
        Op::DeleteVersion(0, 1),
        Op::Snapshot,
        Op::Rename(0, 1),
        Op::CreateVersion(1, Some((0, 0)), 0),
        Op::LoseCommits,
        Op::Rebuild,
    ]);
}

#[test]
fn timestamps_move_as_in_mlflows_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let c = Catalog::open(dir.path()).unwrap();
    let tick = || std::thread::sleep(std::time::Duration::from_millis(3));
    let m = c.create_registered_model("m", None, &[]).unwrap();
    assert_eq!(m.creation_timestamp, m.last_updated_timestamp);
    tick();
    let v1 = c
        .create_model_version("m", "s3://b", None, None, &[])
        .unwrap();
    let model_at = |c: &Catalog| c.get_registered_model("m").unwrap().last_updated_timestamp;
    assert_eq!(
        model_at(&c),
        v1.creation_timestamp,
        "a new version moves its model"
    );
    tick();
    // A version tag moves the model, not the version.
    c.set_model_version_tag("m", 1, "k", "v").unwrap();
    let v = c.get_model_version("m", 1).unwrap();
    assert_eq!(v.last_updated_timestamp, v1.last_updated_timestamp);
    assert!(model_at(&c) > v1.creation_timestamp);
    tick();
    // A description moves the version, not the model.
    let before = model_at(&c);
    let v = c.update_model_version("m", 1, Some("d")).unwrap();
    assert!(v.last_updated_timestamp > v1.last_updated_timestamp);
    assert_eq!(model_at(&c), before);
    tick();
    // A stage moves both, to the same time; so does an alias (the model only).
    let v = c
        .transition_model_version_stage("m", 1, "Staging", false)
        .unwrap();
    assert_eq!(model_at(&c), v.last_updated_timestamp);
    tick();
    c.set_registered_model_alias("m", "a", 1).unwrap();
    assert!(model_at(&c) > v.last_updated_timestamp);
    tick();
    // A rename moves the model and every version to the same time.
    let r = c.rename_registered_model("m", "n").unwrap();
    let v = c.get_model_version("n", 1).unwrap();
    assert_eq!(r.last_updated_timestamp, v.last_updated_timestamp);
    assert_eq!(r.creation_timestamp, m.creation_timestamp);
    assert_eq!(r.aliases["a"], 1, "aliases follow a rename");
    assert_eq!(v.tags["k"], "v", "version tags follow a rename");
}
