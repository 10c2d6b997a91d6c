//! Loads the MLflow 3.17.2 ground truth in `tests/fixtures/mlflow-search/`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use runlog_search::{MetricPoint, RunView};
use serde_json::Value;

/// The folder holding `dataset.json` and `cases.json`.
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mlflow-search")
}

/// Reads and parses one fixture file.
pub fn load_json(name: &str) -> Value {
    let path = fixture_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// A metric value: a JSON number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
pub fn metric_value(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().expect("metric value is a float"),
        Value::String(s) => match s.as_str() {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            other => panic!("unexpected metric value {other}"),
        },
        other => panic!("unexpected metric value {other}"),
    }
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .expect("an object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("a string value").to_owned()))
        .collect()
}

fn text(run: &Value, field: &str) -> String {
    run[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is a string"))
        .to_owned()
}

/// One run of `dataset.json`, with its label and full metric histories.
pub struct FixtureRun {
    pub label: String,
    pub view: RunView,
    pub histories: BTreeMap<String, Vec<MetricPoint>>,
}

/// All runs of `dataset.json`, in file order.
pub fn load_runs() -> Vec<FixtureRun> {
    let dataset = load_json("dataset.json");
    dataset["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|run| {
            let metrics = run["latest_metrics"]
                .as_object()
                .expect("latest_metrics")
                .iter()
                .map(|(k, v)| (k.clone(), metric_value(v)))
                .collect();
            let histories = run["metrics"]
                .as_object()
                .expect("metrics")
                .iter()
                .map(|(k, points)| {
                    let points = points
                        .as_array()
                        .expect("history")
                        .iter()
                        .map(|p| MetricPoint {
                            step: p[0].as_i64().expect("step"),
                            timestamp: p[1].as_i64().expect("timestamp"),
                            value: metric_value(&p[2]),
                        })
                        .collect();
                    (k.clone(), points)
                })
                .collect();
            FixtureRun {
                label: text(run, "label"),
                view: RunView {
                    run_id: text(run, "run_id"),
                    experiment_id: text(run, "experiment_id"),
                    run_name: text(run, "run_name"),
                    status: text(run, "status"),
                    start_time: run["start_time"].as_i64(),
                    end_time: run["end_time"].as_i64(),
                    user_id: text(run, "user_id"),
                    lifecycle_stage: text(run, "lifecycle_stage"),
                    artifact_uri: run["artifact_uri"].as_str().map(str::to_owned),
                    params: string_map(&run["params"]),
                    tags: string_map(&run["tags"]),
                    metrics,
                    datasets: Vec::new(),
                },
                histories,
            }
        })
        .collect()
}
