//! Arbitrary bytes, read as UTF-8 (lossily), into every text parser of `runlog-search`:
//! `Filter::parse`, `OrderBy::parse`, `ExperimentFilter::parse`, `ExperimentOrderBy::parse` and
//! the registry's `RegisteredModelFilter`, `ModelVersionFilter` and `RegistryOrderBy`.
//! None may panic, and:
//! - an error's position, when it has one, is a char boundary of the text (at most its length);
//! - a filter that parses is evaluated against a few fixed runs (or experiments) holding the
//!   awkward values (NaN, ±inf, -0.0, missing keys and times, newlines, non-ASCII text) and
//!   searched over them, which must succeed;
//! - an `order_by` element that parses sorts those runs (or experiments) through a search.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use runlog_search::{
    DatasetInput, ExperimentFilter, ExperimentOrderBy, ExperimentView, Filter, ModelVersionFilter,
    ModelVersionView, OrderBy, RegisteredModelFilter, RegisteredModelView, RegistryOrderBy,
    RunView, SearchError, ViewType, search, search_experiments, search_model_versions,
    search_registered_models,
};

// Links the capped allocator (see `runlog_fuzz::MAX_ALLOC`).
use runlog_fuzz as _;

static RUNS: LazyLock<Vec<RunView>> = LazyLock::new(|| {
    let mut a = RunView {
        run_id: "0a1b".into(),
        experiment_id: "1".into(),
        run_name: "Über run\n".into(),
        status: "FINISHED".into(),
        start_time: Some(10),
        end_time: Some(i64::MAX),
        user_id: "alice".into(),
        lifecycle_stage: "active".into(),
        artifact_uri: Some("file:///a".into()),
        ..RunView::default()
    };
    for (key, value) in [("acc", f64::NAN), ("val acc", 0.5), ("loss", -0.0)] {
        a.metrics.insert(key.into(), value);
    }
    a.params.insert("lr".into(), "0.01".into());
    a.params.insert("optimizer".into(), "adam".into());
    a.tags.insert("t".into(), "x_y%".into());
    a.tags.insert("mlflow.runName".into(), "训练-1".into());
    a.datasets.push(DatasetInput {
        name: "iris".into(),
        digest: "d".into(),
        context: Some("training".into()),
    });
    let mut b = RunView {
        run_id: "ff".into(),
        experiment_id: "1".into(),
        status: "RUNNING".into(),
        start_time: Some(i64::MIN),
        lifecycle_stage: "deleted".into(),
        ..RunView::default()
    };
    b.metrics.insert("acc".into(), f64::NEG_INFINITY);
    b.metrics.insert("loss".into(), f64::INFINITY);
    b.params.insert("lr".into(), "1e-3".into());
    vec![a, b, RunView::default()]
});

static EXPERIMENTS: LazyLock<Vec<ExperimentView>> = LazyLock::new(|| {
    let mut a = ExperimentView {
        experiment_id: "10".into(),
        name: "sweep 🚀\n".into(),
        lifecycle_stage: "active".into(),
        creation_time: Some(i64::MAX),
        last_update_time: Some(0),
        ..ExperimentView::default()
    };
    a.tags.insert("team".into(), "vision".into());
    a.tags.insert("k e y".into(), String::new());
    let b = ExperimentView {
        experiment_id: "9".into(),
        name: "Default".into(),
        lifecycle_stage: "deleted".into(),
        creation_time: Some(i64::MIN),
        ..ExperimentView::default()
    };
    vec![a, b, ExperimentView::default()]
});

static MODELS: LazyLock<Vec<RegisteredModelView>> = LazyLock::new(|| {
    let mut a = RegisteredModelView {
        name: "Über model\n".into(),
        creation_timestamp: i64::MIN,
        last_updated_timestamp: i64::MAX,
        ..RegisteredModelView::default()
    };
    a.tags.insert("t".into(), "x_y%".into());
    a.tags
        .insert("mlflow.prompt.is_prompt".into(), "true".into());
    vec![a, RegisteredModelView::default()]
});

static VERSIONS: LazyLock<Vec<ModelVersionView>> = LazyLock::new(|| {
    let mut a = ModelVersionView {
        name: "m".into(),
        version: u64::MAX,
        run_id: Some("0a1b".into()),
        source: "runs:/0a1b/model".into(),
        ..ModelVersionView::default()
    };
    a.tags.insert("t".into(), String::new());
    vec![a, ModelVersionView::default()]
});

/// Checks that an error's position lies on a char boundary of `text`.
fn check_position<T>(text: &str, parsed: &Result<T, SearchError>) {
    if let Err(e) = parsed
        && let Some(position) = e.position()
    {
        assert!(
            text.is_char_boundary(position),
            "error position {position} is not a char boundary of {text:?}: {e}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();

    let filter = Filter::parse(text);
    check_position(text, &filter);
    if let Ok(filter) = filter {
        for run in RUNS.iter() {
            let _ = filter.matches(run);
        }
        let page = search(RUNS.iter(), Some(&filter), &[], ViewType::All, 2, None);
        assert!(page.is_ok(), "search failed for {text:?}: {page:?}");
    }

    let order = OrderBy::parse(text);
    check_position(text, &order);
    if let Ok(order) = order {
        let page = search(RUNS.iter(), None, &[order], ViewType::All, 10, None);
        assert!(page.is_ok(), "ordering by {text:?} failed: {page:?}");
    }

    let filter = ExperimentFilter::parse(text);
    check_position(text, &filter);
    if let Ok(filter) = filter {
        for experiment in EXPERIMENTS.iter() {
            let _ = filter.matches(experiment);
        }
        let page = search_experiments(
            EXPERIMENTS.iter(),
            Some(&filter),
            &[],
            ViewType::All,
            2,
            None,
        );
        assert!(
            page.is_ok(),
            "experiment search failed for {text:?}: {page:?}"
        );
    }

    let filter = RegisteredModelFilter::parse(text);
    check_position(text, &filter);
    if let Ok(filter) = filter {
        let filter = filter.hiding_prompts(text);
        let page = search_registered_models(MODELS.iter(), &filter, &[], 2, None);
        assert!(page.is_ok(), "model search failed for {text:?}: {page:?}");
    }
    let filter = ModelVersionFilter::parse(text);
    check_position(text, &filter);
    if let Ok(filter) = filter {
        let page = search_model_versions(VERSIONS.iter(), &filter, &[], 2, None);
        assert!(page.is_ok(), "version search failed for {text:?}: {page:?}");
    }
    for order in [
        RegistryOrderBy::parse_for_models(text),
        RegistryOrderBy::parse_for_versions(text),
    ] {
        check_position(text, &order);
        if let Ok(order) = order {
            let all = ModelVersionFilter::default();
            let page = search_model_versions(VERSIONS.iter(), &all, &[order], 10, None);
            assert!(
                page.is_ok(),
                "ordering versions by {text:?} failed: {page:?}"
            );
        }
    }

    let order = ExperimentOrderBy::parse(text);
    check_position(text, &order);
    if let Ok(order) = order {
        let page = search_experiments(EXPERIMENTS.iter(), None, &[order], ViewType::All, 10, None);
        assert!(
            page.is_ok(),
            "ordering experiments by {text:?} failed: {page:?}"
        );
    }
});
