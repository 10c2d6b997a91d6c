//! Round trip: a store with generated, MLflow-valid content (names with slashes, spaces and
//! unicode, NaN/±inf/-0.0, repeated and negative steps, long params, deleted and nested runs,
//! a registry) is exported, the export imported into a new store, and the new store must
//! equal the first one.
//!
//! One MLflow rule changes what "equal" means: deleting an experiment deletes its runs
//! (MLflow marks every run of a deleted experiment deleted; runlog leaves their own stage
//! alone), so runs of deleted experiments are compared as deleted, at the experiment's
//! deletion time unless they were deleted before. And a deleted model version's stage is
//! not compared: MLflow writes `Deleted_Internal` in its place.
//!
//! The case count comes from `RUNLOG_PROPTEST_CASES` (default 16; each case is a whole
//! export and import).

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use runlog::{NewRun, RunStatus, Store};
use runlog_catalog::{Catalog, LifecycleStage, ViewType};
use runlog_metrics::MetricStore;
use runlog_mlflow::{ArtifactUris, ExportOptions, ImportOptions, export, import};

fn cases() -> u32 {
    std::env::var("RUNLOG_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(16, |n: u32| n.max(1))
}

// ---------------------------------------------------------------------------------------
// Generated content

/// One part of a key: MLflow's `[\w.\- :]`, unicode letters included, never `.`/`..`.
fn segment() -> impl Strategy<Value = String> {
    "[a-zA-Zé日ß_][a-zA-Z0-9é日ß_ .:\\-]{0,6}"
}

/// Keys with `/` as folders: `train/loss`, `größe`, `a b/c:d`.
fn key() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..=3).prop_map(|parts| parts.join("/"))
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}",
        "[a-zA-Z0-9 /:_é日🚀-]{1,20}",
        Just("with/slash and space".to_string()),
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 .]{0,12}",
        "[^\u{0}]{0,40}",
        Just("line1\nline2\n".to_string()),
        (1usize..=6000).prop_map(|n| "é".repeat(n)),
    ]
}

fn metric_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(5e-324),
        -1e3f64..1e3,
    ]
}

#[derive(Debug, Clone)]
struct GenRun {
    name: String,
    params: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    /// (key, step, timestamp, value) in logging order.
    points: Vec<(String, i64, i64, f64)>,
    status: RunStatus,
    deleted: bool,
    /// Index of an earlier run of the same experiment to nest under.
    parent: Option<usize>,
}

#[derive(Debug, Clone)]
struct GenExperiment {
    name: String,
    tags: BTreeMap<String, String>,
    runs: Vec<GenRun>,
    deleted: bool,
}

#[derive(Debug, Clone)]
struct GenModel {
    name: String,
    description: Option<String>,
    tags: BTreeMap<String, String>,
    /// Per version: (stage, deleted, tags).
    versions: Vec<(&'static str, bool, BTreeMap<String, String>)>,
    alias: Option<usize>,
}

/// MLflow keeps keys as files: `a` and `a/b` cannot both be keys of one run (or model, or
/// experiment). Content MLflow cannot hold is left out.
fn foldable<'k>(keys: impl IntoIterator<Item = &'k String>) -> bool {
    let keys: Vec<&String> = keys.into_iter().collect();
    !keys
        .iter()
        .any(|a| keys.iter().any(|b| b.starts_with(&format!("{a}/"))))
}

fn run() -> impl Strategy<Value = GenRun> {
    let keys = prop::collection::vec(key(), 1..=3);
    (
        name(),
        prop::collection::btree_map(key(), value(), 0..4),
        prop::collection::btree_map(key(), value(), 0..3),
        keys.prop_flat_map(|keys| {
            prop::collection::vec(
                (
                    prop::sample::select(keys),
                    prop_oneof![-5i64..5, any::<i64>()],
                    0i64..2_000_000_000_000,
                    metric_value(),
                ),
                0..40,
            )
        }),
        prop::sample::select(vec![
            RunStatus::Running,
            RunStatus::Scheduled,
            RunStatus::Finished,
            RunStatus::Failed,
            RunStatus::Killed,
        ]),
        prop::bool::weighted(0.2),
        prop::option::weighted(0.3, 0usize..3),
    )
        .prop_filter("keys MLflow can hold", |(_, params, tags, points, ..)| {
            foldable(params.keys())
                && foldable(tags.keys())
                && foldable(points.iter().map(|p| &p.0))
        })
        .prop_map(
            |(name, params, tags, points, status, deleted, parent)| GenRun {
                name,
                params,
                tags,
                points,
                status,
                deleted,
                parent,
            },
        )
}

fn experiment() -> impl Strategy<Value = GenExperiment> {
    (
        name(),
        prop::collection::btree_map(key(), value(), 0..3),
        prop::collection::vec(run(), 0..4),
        prop::bool::weighted(0.25),
    )
        .prop_filter("keys MLflow can hold", |(_, tags, ..)| {
            foldable(tags.keys())
        })
        .prop_map(|(name, tags, runs, deleted)| GenExperiment {
            name,
            tags,
            runs,
            deleted,
        })
}

fn model() -> impl Strategy<Value = GenModel> {
    (
        "[a-zA-Z][a-zA-Z0-9 _.-]{0,12}",
        prop::option::of("[^\u{0}]{0,30}"),
        prop::collection::btree_map(key(), value(), 0..3),
        prop::collection::vec(
            (
                prop::sample::select(vec!["None", "Staging", "Production", "Archived"]),
                prop::bool::weighted(0.2),
                prop::collection::btree_map(key(), "[a-z ]{0,10}", 0..2),
            ),
            0..4,
        ),
        prop::option::of(0usize..4),
    )
        .prop_filter("keys MLflow can hold", |(_, _, tags, versions, _)| {
            foldable(tags.keys()) && versions.iter().all(|v| foldable(v.2.keys()))
        })
        .prop_map(|(name, description, tags, versions, alias)| GenModel {
            name,
            description,
            tags,
            versions,
            alias,
        })
}

// ---------------------------------------------------------------------------------------
// Building a store

fn build(store: &Store, experiments: &[GenExperiment], models: &[GenModel]) {
    let cat = store.catalog();
    let mut all_runs = Vec::new();
    for (i, e) in experiments.iter().enumerate() {
        // Experiment names are unique: make them so.
        let exp = store
            .set_experiment(&format!("{} {i}", e.name))
            .unwrap()
            .experiment_id;
        for (k, v) in &e.tags {
            cat.set_experiment_tag(&exp, k, v).unwrap();
        }
        let mut ids: Vec<String> = Vec::new();
        for r in &e.runs {
            let mut new = NewRun::in_experiment(&exp).name(&r.name);
            for (k, v) in &r.params {
                new = new.param(k, v);
            }
            for (k, v) in &r.tags {
                new = new.tag(k, v);
            }
            if let Some(p) = r.parent.and_then(|p| ids.get(p)) {
                new = new.parent(p);
            }
            let run = store.start_run(new).unwrap();
            for (key, step, ts, v) in &r.points {
                run.log_metric_at(key, *step, *ts, *v).unwrap();
            }
            let id = run.id().to_string();
            run.finish(RunStatus::Finished).unwrap();
            if r.status != RunStatus::Finished {
                cat.set_status(&id, r.status, None).unwrap();
            }
            if r.deleted {
                cat.delete_run(&id).unwrap();
            }
            ids.push(id);
        }
        all_runs.extend(ids);
        if e.deleted {
            cat.delete_experiment(&exp).unwrap();
        }
    }
    for (i, m) in models.iter().enumerate() {
        let name = format!("{} {i}", m.name);
        let tags: Vec<(&str, &str)> = m
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        cat.create_registered_model(&name, m.description.as_deref(), &tags)
            .unwrap();
        for (j, (stage, deleted, vtags)) in m.versions.iter().enumerate() {
            let run_id = all_runs.get(j).map(String::as_str);
            let source = match run_id {
                Some(r) => format!("runs:/{r}/model"),
                None => "file:///models/elsewhere".to_string(),
            };
            let vtags: Vec<(&str, &str)> = vtags
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let v = cat
                .create_model_version(&name, &source, run_id, Some("a version"), &vtags)
                .unwrap();
            if *stage != "None" {
                cat.transition_model_version_stage(&name, v.version, stage, false)
                    .unwrap();
            }
            if m.alias == Some(j) {
                cat.set_registered_model_alias(&name, "champion", v.version)
                    .unwrap();
            }
            if *deleted {
                cat.delete_model_version(&name, v.version).unwrap();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Comparing stores

/// A metric value with every NaN the same (MLflow's files spell them all `nan`).
fn bits(v: f64) -> u64 {
    if v.is_nan() {
        0x7ff8_0000_0000_0000
    } else {
        v.to_bits()
    }
}

/// Everything a store holds, as comparable text.
fn dump(store: &Path) -> BTreeMap<String, String> {
    let catalog = Catalog::open_read_only(store).unwrap();
    let metrics = MetricStore::open(store).unwrap();
    let mut out = BTreeMap::new();
    let experiments = catalog.list_experiments(ViewType::All).unwrap();
    for e in &experiments {
        let deleted = e.lifecycle_stage == LifecycleStage::Deleted;
        if e.experiment_id != "0" {
            // The default experiment is the new store's own: its times differ.
            out.insert(
                format!("exp {}", e.experiment_id),
                format!(
                    "{:?} {:?} {:?} {} {} {:?}",
                    e.name,
                    e.artifact_location,
                    e.lifecycle_stage,
                    e.creation_time,
                    e.last_update_time,
                    e.tags
                ),
            );
        }
        for r in catalog
            .list_runs(&[e.experiment_id.as_str()], ViewType::All)
            .unwrap()
        {
            let (stage, deleted_time) = if deleted {
                (
                    LifecycleStage::Deleted,
                    r.deleted_time.or(Some(e.last_update_time)),
                )
            } else {
                (r.lifecycle_stage, r.deleted_time)
            };
            out.insert(
                format!("run {}", r.run_id),
                format!(
                    "exp={} name={:?} status={:?} start={} end={:?} stage={:?} deleted={:?} \
                     user={:?} uri={:?} params={:?} tags={:?}",
                    r.experiment_id,
                    r.run_name,
                    r.status,
                    r.start_time,
                    r.end_time,
                    stage,
                    deleted_time,
                    r.user_id,
                    r.artifact_uri,
                    r.params,
                    r.tags
                ),
            );
            let latest: BTreeMap<&String, (i64, i64, u64)> = r
                .metrics
                .iter()
                .map(|(k, m)| (k, (m.step, m.timestamp_ms, bits(m.value))))
                .collect();
            out.insert(format!("latest {}", r.run_id), format!("{latest:?}"));
            if let Ok(reader) = metrics.reader(&r.run_id) {
                for key in r.metrics.keys() {
                    let h = reader.history(key).unwrap();
                    let points: Vec<(i64, i64, u64)> = (0..h.len())
                        .map(|i| (h.steps[i], h.timestamps_ms[i], bits(h.values[i])))
                        .collect();
                    out.insert(format!("history {} {key}", r.run_id), format!("{points:?}"));
                }
            }
        }
    }
    for entry in catalog.registry_snapshot().unwrap() {
        let m = &entry.model;
        out.insert(
            format!("model {:?}", m.name),
            format!(
                "{} {} {:?} {:?} {:?}",
                m.creation_timestamp, m.last_updated_timestamp, m.description, m.tags, m.aliases
            ),
        );
        for v in &entry.versions {
            let mv = &v.version;
            out.insert(
                format!("version {:?} {}", m.name, mv.version),
                format!(
                    "deleted={} {} {} {:?} {:?} {:?} {:?} {:?} {:?}",
                    v.deleted,
                    mv.creation_timestamp,
                    mv.last_updated_timestamp,
                    mv.description,
                    mv.source,
                    mv.run_id,
                    // MLflow's files keep no stage for a deleted version (`Deleted_Internal`
                    // replaces it), and nothing ever reads it.
                    (!v.deleted).then_some(mv.current_stage),
                    mv.tags,
                    mv.aliases
                ),
            );
        }
    }
    out
}

fn round_trip(experiments: &[GenExperiment], models: &[GenModel]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    {
        let store = Store::open(&first).unwrap();
        build(&store, experiments, models);
    }
    let mlruns = dir.path().join("mlruns");
    {
        let catalog = Catalog::open_read_only(&first).unwrap();
        let metrics = MetricStore::open(&first).unwrap();
        let options = ExportOptions::default()
            .artifact_uris(ArtifactUris::Keep)
            .no_sync(true);
        export(&catalog, &metrics, &mlruns, &options).unwrap();
    }
    let second = dir.path().join("second");
    {
        let store = Store::open(&second).unwrap();
        let report = import(
            &mlruns,
            store.catalog(),
            store.metric_store(),
            &ImportOptions::default(),
        )
        .unwrap();
        prop_assert!(report.problems.is_empty(), "{:?}", report.problems);
    }
    let (want, got) = (dump(&first), dump(&second));
    for (k, v) in &want {
        prop_assert_eq!(Some(v), got.get(k), "{}", k);
    }
    prop_assert_eq!(
        want.len(),
        got.len(),
        "{:?}",
        got.keys()
            .filter(|k| !want.contains_key(*k))
            .collect::<Vec<_>>()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn store_export_import_gives_the_same_store(
        experiments in prop::collection::vec(experiment(), 0..4),
        models in prop::collection::vec(model(), 0..3),
    ) {
        round_trip(&experiments, &models)?;
    }
}
