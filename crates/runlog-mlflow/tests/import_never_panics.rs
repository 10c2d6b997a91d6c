//! Property test: no `meta.yaml` and no metric file makes the importer panic; each run is
//! either imported whole (every line of its metric file a point) or reported.
//!
//! The case count comes from `RUNLOG_PROPTEST_CASES` (default 48).

use std::fs;
use std::path::Path;

use proptest::prelude::*;
use runlog_catalog::Catalog;
use runlog_metrics::MetricStore;
use runlog_mlflow::{ImportOptions, import};

const EXP: &str = "42";
const RUN: &str = "0123456789abcdef0123456789abcdef";

fn cases() -> u32 {
    std::env::var("RUNLOG_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

fn exp_meta() -> String {
    format!(
        "artifact_location: file:///x/{EXP}\ncreation_time: 1\nexperiment_id: '{EXP}'\n\
         last_update_time: 2\nlifecycle_stage: active\nname: e\n"
    )
}

fn run_meta() -> String {
    format!(
        "artifact_uri: file:///x\nend_time: null\nexperiment_id: '{EXP}'\nrun_id: {RUN}\n\
         start_time: 5\nstatus: 3\nuser_id: me\n"
    )
}

/// Garbage: raw bytes, YAML-looking text, and well-formed meta.yaml with random values.
fn yaml() -> impl Strategy<Value = Vec<u8>> {
    let keys = prop::sample::select(vec![
        "experiment_id",
        "run_id",
        "name",
        "artifact_location",
        "artifact_uri",
        "lifecycle_stage",
        "creation_time",
        "last_update_time",
        "start_time",
        "end_time",
        "deleted_time",
        "status",
        "user_id",
        "run_name",
        "tags",
    ]);
    let values = prop_oneof![
        Just("null".to_string()),
        Just("~".to_string()),
        "-?[0-9]{1,25}",
        "[0-9]\\.[0-9]{0,3}e[0-9]{1,3}",
        Just(format!("'{EXP}'")),
        Just(RUN.to_string()),
        Just("[]".to_string()),
        Just("{a: 1}".to_string()),
        "'[a-z ]{0,8}'",
        Just("yes".to_string()),
        Just("!!binary aGk=".to_string()),
        Just("*x".to_string()),
        Just("&x [1, *x]".to_string()),
        "[a-zA-Z\\[\\]{}:,'\"&*!|>%@` -]{0,12}",
    ];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        "[a-z_:'\"\\[\\]{}0-9.\\- \n\t&*!|>#%@`]{0,200}".prop_map(String::into_bytes),
        prop::collection::vec((keys, values), 0..16).prop_map(|kv| {
            let mut text = String::new();
            for (k, v) in kv {
                text.push_str(&format!("{k}: {v}\n"));
            }
            text.into_bytes()
        }),
    ]
}

/// Metric lines: valid ones, near misses and garbage.
fn metric_file() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        (any::<i64>(), any::<f64>(), any::<i64>()).prop_map(|(t, v, s)| format!("{t} {v:?} {s}")),
        (0i64..2_000_000_000_000, any::<f64>()).prop_map(|(t, v)| format!("{t} {v}")),
        "[0-9]{1,14} (nan|NaN|-?inf|Infinity|-?[0-9]\\.[0-9]{1,5}(e-?[0-9]{1,3})?) -?[0-9]{1,5}( [a-z]{1,4} [0-9a-f]{1,6})?",
        "[0-9 .eE+\\-naifNIF_x\t\r]{0,30}",
        any::<String>(),
    ];
    prop_oneof![
        prop::collection::vec(line, 0..20).prop_map(|l| l.join("\n").into_bytes()),
        prop::collection::vec(any::<u8>(), 0..300),
    ]
}

#[derive(Debug, Clone)]
enum Garbage {
    ExperimentMeta(Vec<u8>),
    RunMeta(Vec<u8>),
    Metric(Vec<u8>),
}

fn garbage() -> impl Strategy<Value = Garbage> {
    prop_oneof![
        yaml().prop_map(Garbage::ExperimentMeta),
        yaml().prop_map(Garbage::RunMeta),
        metric_file().prop_map(Garbage::Metric),
    ]
}

fn build(src: &Path, g: &Garbage) {
    let run = src.join(EXP).join(RUN);
    fs::create_dir_all(run.join("metrics")).unwrap();
    fs::create_dir_all(run.join("params")).unwrap();
    fs::write(run.join("params/p"), "1").unwrap();
    let (exp, meta, metric) = match g {
        Garbage::ExperimentMeta(b) => (b.clone(), run_meta().into_bytes(), b"1 2 3\n".to_vec()),
        Garbage::RunMeta(b) => (exp_meta().into_bytes(), b.clone(), b"1 2 3\n".to_vec()),
        Garbage::Metric(b) => (exp_meta().into_bytes(), run_meta().into_bytes(), b.clone()),
    };
    fs::write(src.join(EXP).join("meta.yaml"), exp).unwrap();
    fs::write(run.join("meta.yaml"), meta).unwrap();
    fs::write(run.join("metrics/m"), metric).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn garbage_never_panics_and_every_run_is_imported_or_reported(g in garbage()) {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("mlruns");
        build(&src, &g);
        let store = dir.path().join("store");
        let metrics = MetricStore::open(&store).unwrap();
        let catalog = Catalog::open(&store).unwrap();
        let report = import(&src, &catalog, &metrics, &ImportOptions::default()).unwrap();
        let imported = catalog.get_run(RUN).is_ok();
        prop_assert_eq!(report.runs, u64::from(imported));
        prop_assert_eq!(imported, report.problems.is_empty(), "{:?}", report.problems);
        for p in &report.problems {
            prop_assert!(p.path.starts_with(&src), "{:?}", p);
        }
        if imported {
            let n = metrics.reader(RUN).unwrap().history("m").unwrap().len() as u64;
            prop_assert_eq!(n, report.metric_points);
            prop_assert!(n >= 1);
        }
        if let Garbage::Metric(bytes) = &g && imported {
            // Every line became a point: as many as the lines MLflow would read.
            let text = std::str::from_utf8(bytes).unwrap();
            let lines = text.split('\n').count() - usize::from(text.ends_with('\n'));
            prop_assert_eq!(report.metric_points, lines as u64);
        }
    }
}
