//! Property tests: no input makes the parsers or the evaluator panic.
//!
//! The case count comes from `RUNLOG_PROPTEST_CASES` (default 256).

use proptest::prelude::*;
use runlog_search::{
    DatasetInput, ExperimentFilter, ExperimentOrderBy, ExperimentView, Filter, ModelVersionFilter,
    ModelVersionView, OrderBy, RegisteredModelFilter, RegisteredModelView, RegistryOrderBy,
    RunView, ViewType, decode_page_token, search, search_experiments, search_model_versions,
    search_registered_models,
};

fn cases() -> u32 {
    std::env::var("RUNLOG_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Pieces of the filter language, glued together at random, so that a good share of the
/// generated filters parse and reach the evaluator.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("metrics.acc".to_owned()),
        Just("metrics.`val acc`".to_owned()),
        Just("params.lr".to_owned()),
        Just("tags.t".to_owned()),
        Just("tags.mlflow.runName".to_owned()),
        Just("run_id".to_owned()),
        Just("status".to_owned()),
        Just("start_time".to_owned()),
        Just("end_time".to_owned()),
        Just("dataset.name".to_owned()),
        Just("created".to_owned()),
        Just("name".to_owned()),
        Just("attribute.name".to_owned()),
        Just("creation_time".to_owned()),
        Just("last_update_time".to_owned()),
        Just("experiment_id".to_owned()),
        Just("tag.`k e y`".to_owned()),
        Just("version_number".to_owned()),
        Just("source_path".to_owned()),
        Just("last_updated_timestamp".to_owned()),
        Just("tags.`mlflow.prompt.is_prompt`".to_owned()),
        Just("'2'".to_owned()),
        Just("=".to_owned()),
        Just("!=".to_owned()),
        Just("<=".to_owned()),
        Just(">".to_owned()),
        Just("LIKE".to_owned()),
        Just("ILIKE".to_owned()),
        Just("IN".to_owned()),
        Just("NOT".to_owned()),
        Just("IS".to_owned()),
        Just("NULL".to_owned()),
        Just("AND".to_owned()),
        Just("OR".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just(",".to_owned()),
        Just("'x%'".to_owned()),
        Just("'_'".to_owned()),
        Just("\"a'b\"".to_owned()),
        Just("('r1', 'r2')".to_owned()),
        Just("-1.5e3".to_owned()),
        Just("1e309".to_owned()),
        Just(".5".to_owned()),
        Just("99999999999999999999999999999999999999999".to_owned()),
        "[ -~]{0,6}",
        "\\PC{0,4}",
    ]
}

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (fragment(), prop_oneof![Just(""), Just(" "), Just("  ")]),
        0..12,
    )
    .prop_map(|parts| parts.into_iter().map(|(f, sep)| f + sep).collect())
}

fn sample_runs() -> Vec<RunView> {
    let mut a = RunView {
        run_id: "r1".into(),
        run_name: "Über run".into(),
        status: "FINISHED".into(),
        start_time: Some(10),
        end_time: Some(20),
        user_id: "alice".into(),
        lifecycle_stage: "active".into(),
        artifact_uri: Some("file:///a".into()),
        ..RunView::default()
    };
    a.metrics.insert("acc".into(), f64::NAN);
    a.metrics.insert("val acc".into(), 0.5);
    a.params.insert("lr".into(), "0.01\nx".into());
    a.tags.insert("t".into(), "x_y%".into());
    a.datasets.push(DatasetInput {
        name: "iris".into(),
        digest: "d".into(),
        context: None,
    });
    let mut b = RunView {
        run_id: "r2".into(),
        lifecycle_stage: "active".into(),
        ..RunView::default()
    };
    b.metrics.insert("acc".into(), f64::NEG_INFINITY);
    vec![a, b]
}

fn sample_experiments() -> Vec<ExperimentView> {
    let mut a = ExperimentView {
        experiment_id: "10".into(),
        name: "Über sweep\n".into(),
        lifecycle_stage: "active".into(),
        creation_time: Some(i64::MAX),
        last_update_time: Some(i64::MIN),
        ..ExperimentView::default()
    };
    a.tags.insert("t".into(), "x_y%".into());
    a.tags.insert("k e y".into(), String::new());
    let b = ExperimentView {
        experiment_id: "9".into(),
        lifecycle_stage: "deleted".into(),
        ..ExperimentView::default()
    };
    vec![a, b]
}

fn sample_models() -> Vec<RegisteredModelView> {
    let mut a = RegisteredModelView {
        name: "Über model\n".into(),
        creation_timestamp: i64::MIN,
        last_updated_timestamp: i64::MAX,
        ..RegisteredModelView::default()
    };
    a.tags.insert("t".into(), "x_y%".into());
    vec![a, RegisteredModelView::default()]
}

fn sample_versions() -> Vec<ModelVersionView> {
    let mut a = ModelVersionView {
        name: "m".into(),
        version: u64::MAX,
        run_id: Some("r1".into()),
        source: "runs:/r1/model".into(),
        ..ModelVersionView::default()
    };
    a.tags.insert("t".into(), String::new());
    vec![a, ModelVersionView::default()]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn registry_filters_parse_and_search_without_panicking(
        text in prop_oneof!["\\PC{0,64}".boxed(), soup().boxed()],
        order in prop_oneof!["\\PC{0,24}".boxed(), soup().boxed()],
        max_results in 0usize..1_200,
    ) {
        let models = sample_models();
        let versions = sample_versions();
        if let Ok(filter) = RegisteredModelFilter::parse(&text) {
            let order: Vec<RegistryOrderBy> = RegistryOrderBy::parse_for_models(&order).into_iter().collect();
            let page = search_registered_models(&models, &filter, &order, max_results, None);
            prop_assert_eq!(page.is_ok(), (1..=1000).contains(&max_results));
        }
        if let Ok(filter) = ModelVersionFilter::parse(&text) {
            let order: Vec<RegistryOrderBy> = RegistryOrderBy::parse_for_versions(&order).into_iter().collect();
            let page = search_model_versions(&versions, &filter, &order, max_results.max(1), None);
            prop_assert!(page.is_ok());
        }
    }

    #[test]
    fn filter_parse_never_panics(text in "\\PC{0,64}") {
        let _ = Filter::parse(&text);
    }

    #[test]
    fn filter_parse_never_panics_on_any_chars(text in ".{0,64}") {
        if let Ok(filter) = Filter::parse(&text) {
            for run in &sample_runs() {
                let _ = filter.matches(run);
            }
        }
    }

    #[test]
    fn near_valid_filters_parse_and_evaluate_without_panicking(text in soup()) {
        if let Ok(filter) = Filter::parse(&text) {
            let runs = sample_runs();
            let page = search(&runs, Some(&filter), &[], ViewType::All, 10, None);
            prop_assert!(page.is_ok());
        }
    }

    #[test]
    fn order_by_parse_never_panics(text in prop_oneof!["\\PC{0,40}".boxed(), soup().boxed()]) {
        if let Ok(order) = OrderBy::parse(&text) {
            let runs = sample_runs();
            prop_assert!(search(&runs, None, &[order], ViewType::All, 10, None).is_ok());
        }
    }

    #[test]
    fn page_tokens_never_panic(text in "\\PC{0,48}") {
        let _ = decode_page_token(&text);
    }

    #[test]
    fn experiment_filter_parse_never_panics(
        text in prop_oneof!["\\PC{0,64}".boxed(), ".{0,64}".boxed()],
    ) {
        if let Ok(filter) = ExperimentFilter::parse(&text) {
            for experiment in &sample_experiments() {
                let _ = filter.matches(experiment);
            }
        }
    }

    #[test]
    fn near_valid_experiment_filters_search_without_panicking(text in soup()) {
        if let Ok(filter) = ExperimentFilter::parse(&text) {
            let all = sample_experiments();
            let page = search_experiments(&all, Some(&filter), &[], ViewType::All, 10, None);
            prop_assert!(page.is_ok());
        }
    }

    #[test]
    fn experiment_order_by_parse_never_panics(
        text in prop_oneof!["\\PC{0,40}".boxed(), soup().boxed()],
        max_results in 0usize..60_000,
    ) {
        if let Ok(order) = ExperimentOrderBy::parse(&text) {
            let all = sample_experiments();
            let page = search_experiments(&all, None, &[order], ViewType::All, max_results, None);
            prop_assert_eq!(page.is_ok(), (1..=50_000).contains(&max_results));
        }
    }
}
