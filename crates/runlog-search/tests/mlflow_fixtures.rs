//! Replays every case of `tests/fixtures/mlflow-search/cases.json` (recorded from MLflow
//! 3.17.2's file store) and compares page by page.

mod common;

use std::collections::HashMap;

use common::{FixtureRun, load_json, load_runs};
use runlog_search::{Filter, OrderBy, RunView, SearchError, ViewType, latest_metric_value, search};
use serde_json::Value;

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|s| s.as_str().expect("a string").to_owned())
        .collect()
}

fn view_type(name: &str) -> ViewType {
    match name {
        "ACTIVE_ONLY" => ViewType::ActiveOnly,
        "DELETED_ONLY" => ViewType::DeletedOnly,
        "ALL" => ViewType::All,
        other => panic!("unknown run_view_type {other}"),
    }
}

/// The runs of the case's experiments, experiment by experiment, as MLflow lists them.
fn experiment_runs<'a>(runs: &'a [FixtureRun], case: &Value) -> Vec<&'a RunView> {
    strings(&case["experiment_ids"])
        .iter()
        .flat_map(|id| {
            runs.iter()
                .map(|r| &r.view)
                .filter(move |v| &v.experiment_id == id)
        })
        .collect()
}

/// Runs one case through the public API, following page tokens to the end. Returns the pages.
fn run_case(runs: &[FixtureRun], case: &Value) -> Result<Vec<Vec<String>>, SearchError> {
    let filter = Filter::parse(case["filter_string"].as_str().expect("filter_string"))?;
    let order_by = strings(&case["order_by"])
        .iter()
        .map(|o| OrderBy::parse(o))
        .collect::<Result<Vec<_>, _>>()?;
    let view = view_type(case["run_view_type"].as_str().expect("run_view_type"));
    let max_results =
        usize::try_from(case["max_results"].as_u64().expect("max_results")).expect("fits");
    let candidates = experiment_runs(runs, case);
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = search(
            candidates.iter().copied(),
            Some(&filter),
            &order_by,
            view,
            max_results,
            token.as_deref(),
        )?;
        pages.push(page.run_ids);
        match page.next_page_token {
            Some(next) => token = Some(next),
            None => return Ok(pages),
        }
        assert!(pages.len() <= 1000, "{}: page tokens never end", case["id"]);
    }
}

#[test]
fn every_valid_case_matches_mlflow_page_by_page() {
    let runs = load_runs();
    let cases = load_json("cases.json");
    let labels: HashMap<&str, &str> = runs
        .iter()
        .map(|r| (r.view.run_id.as_str(), r.label.as_str()))
        .collect();
    let show = |ids: &[String]| {
        ids.iter()
            .map(|id| labels.get(id.as_str()).copied().unwrap_or("?"))
            .collect::<Vec<_>>()
    };
    let mut failures = Vec::new();
    let all = cases["cases"].as_array().expect("cases");
    for case in all {
        let id = case["id"].as_str().expect("id");
        let expected: Vec<Vec<String>> = case["expected"]["pages"]
            .as_array()
            .expect("pages")
            .iter()
            .map(strings)
            .collect();
        let flat: Vec<String> = expected.concat();
        assert_eq!(
            flat,
            strings(&case["expected"]["run_ids"]),
            "{id}: the fixture's pages and run_ids disagree"
        );
        assert_eq!(
            flat.len() as u64,
            case["expected"]["count"].as_u64().expect("count"),
            "{id}: count"
        );
        match run_case(&runs, case) {
            Ok(pages) if pages == expected => {}
            Ok(pages) => failures.push(format!(
                "{id} ({}):\n  expected {:?}\n  got      {:?}",
                case["filter_string"],
                expected.iter().map(|p| show(p)).collect::<Vec<_>>(),
                pages.iter().map(|p| show(p)).collect::<Vec<_>>(),
            )),
            Err(e) => failures.push(format!("{id}: unexpected error: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from MLflow:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
    assert_eq!(all.len(), 46, "the fixture has 46 valid cases");
}

#[test]
fn every_invalid_case_is_rejected_with_mlflows_message() {
    let runs = load_runs();
    let cases = load_json("cases.json");
    let all = cases["invalid_cases"].as_array().expect("invalid_cases");
    assert_eq!(all.len(), 13, "the fixture has 13 invalid cases");
    for case in all {
        let id = case["id"].as_str().expect("id");
        let prefix = case["expected_error"]["message_prefix"]
            .as_str()
            .expect("message_prefix");
        // The filter, each order_by element and the request are checked in that order, as
        // `search_runs` would check them.
        let parsed_filter = Filter::parse(case["filter_string"].as_str().expect("filter_string"));
        let parsed_order = strings(&case["order_by"])
            .iter()
            .map(|o| OrderBy::parse(o))
            .collect::<Result<Vec<_>, _>>();
        let error = match (&parsed_filter, &parsed_order) {
            (Err(e), _) | (Ok(_), Err(e)) => {
                assert!(
                    e.position().is_some(),
                    "{id}: a parse error carries its position: {e}"
                );
                e.clone()
            }
            (Ok(_), Ok(_)) => match run_case(&runs, case) {
                Err(e) => e,
                Ok(pages) => panic!("{id}: accepted, returned {pages:?}"),
            },
        };
        assert!(
            error.message().contains(prefix),
            "{id}: message {:?} does not contain MLflow's {prefix:?}",
            error.message()
        );
        // The lazily checked case fails even with no runs to evaluate.
        if case["expected_error"]["raised_on_empty_experiment"] == Value::Bool(false) {
            assert!(parsed_filter.is_err(), "{id}: rejected at parse time");
        }
    }
}

#[test]
fn latest_metric_rule_reproduces_mlflows_latest_values() {
    for run in load_runs() {
        for (key, history) in &run.histories {
            let latest = latest_metric_value(history.iter().copied()).expect("non-empty history");
            let recorded = run.view.metrics[key];
            assert!(
                latest.to_bits() == recorded.to_bits() || (latest.is_nan() && recorded.is_nan()),
                "{} {key}: computed {latest}, MLflow reports {recorded}",
                run.label
            );
        }
        assert_eq!(run.histories.len(), run.view.metrics.len(), "{}", run.label);
    }
}
