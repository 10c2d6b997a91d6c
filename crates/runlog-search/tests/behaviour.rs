//! Documented MLflow behaviours, one small run set at a time.

use runlog_search::{
    DatasetInput, ErrorKind, Filter, OrderBy, RunView, SearchError, ViewType, decode_page_token,
    encode_page_token, search, sort_runs,
};

fn run(id: &str, start: i64) -> RunView {
    RunView {
        run_id: id.to_owned(),
        experiment_id: "1".to_owned(),
        run_name: id.to_owned(),
        status: "FINISHED".to_owned(),
        start_time: Some(start),
        end_time: Some(start + 10),
        user_id: "alice".to_owned(),
        lifecycle_stage: "active".to_owned(),
        artifact_uri: Some(format!("file:///mlruns/1/{id}/artifacts")),
        ..RunView::default()
    }
}

fn with_metric(mut r: RunView, key: &str, value: f64) -> RunView {
    r.metrics.insert(key.to_owned(), value);
    r
}

fn with_param(mut r: RunView, key: &str, value: &str) -> RunView {
    r.params.insert(key.to_owned(), value.to_owned());
    r
}

fn with_tag(mut r: RunView, key: &str, value: &str) -> RunView {
    r.tags.insert(key.to_owned(), value.to_owned());
    r
}

fn filter(text: &str) -> Filter {
    Filter::parse(text).unwrap_or_else(|e| panic!("{text:?} was rejected: {e}"))
}

fn error(text: &str) -> SearchError {
    match Filter::parse(text) {
        Ok(f) => panic!("{text:?} was accepted as {f:?}"),
        Err(e) => e,
    }
}

/// The ids of `runs` that `text` selects, in natural order.
fn select(runs: &[RunView], text: &str) -> Vec<String> {
    let f = filter(text);
    let page =
        search(runs, Some(&f), &[], ViewType::All, 1000, None).unwrap_or_else(|e| panic!("{e}"));
    page.run_ids
}

fn order(runs: &[RunView], clauses: &[&str]) -> Vec<String> {
    let order: Vec<OrderBy> = clauses
        .iter()
        .map(|c| OrderBy::parse(c).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let mut refs: Vec<&RunView> = runs.iter().collect();
    sort_runs(&mut refs, &order);
    refs.iter().map(|r| r.run_id.clone()).collect()
}

#[test]
fn like_wildcards_are_percent_and_underscore_anchored_at_both_ends() {
    let runs = [
        with_param(run("a", 3), "bs", "64"),
        with_param(run("b", 2), "bs", "128"),
        with_param(run("c", 1), "bs", "4"),
        with_param(run("d", 0), "bs", "6_4"),
    ];
    assert_eq!(select(&runs, "params.bs LIKE '_4'"), ["a"]);
    assert_eq!(select(&runs, "params.bs LIKE '%4'"), ["a", "c", "d"]);
    assert_eq!(select(&runs, "params.bs LIKE '%2%'"), ["b"]);
    assert_eq!(select(&runs, "params.bs LIKE '6'"), Vec::<String>::new());
    // `_` in the pattern is a wildcard even when the value has a literal `_`; there is no escape.
    assert_eq!(select(&runs, "params.bs LIKE '6_4'"), ["d"]);
    assert_eq!(
        select(&runs, "params.bs LIKE '6\\_4'"),
        Vec::<String>::new()
    );
    // The keyword is case-insensitive.
    assert_eq!(select(&runs, "params.bs like '1%'"), ["b"]);
}

#[test]
fn ilike_folds_unicode_case_but_like_does_not() {
    let runs = [
        with_param(run("a", 3), "opt", "Adam"),
        with_param(run("b", 2), "opt", "adamw"),
        with_param(run("c", 1), "opt", "Über"),
        with_param(run("d", 0), "opt", "STRASSE"),
    ];
    assert_eq!(select(&runs, "params.opt LIKE 'adam%'"), ["b"]);
    assert_eq!(select(&runs, "params.opt ILIKE 'ADAM%'"), ["a", "b"]);
    assert_eq!(select(&runs, "params.opt ILIKE 'über'"), ["c"]);
    assert_eq!(
        select(&runs, "params.opt ILIKE 'straße'"),
        Vec::<String>::new()
    );
}

#[test]
fn quoted_keys_may_hold_spaces_slashes_and_dots() {
    let runs = [
        with_metric(with_metric(run("a", 2), "val acc", 0.9), "train/loss", 0.2),
        with_tag(
            with_metric(run("b", 1), "val acc", 0.5),
            "data.version",
            "v2",
        ),
    ];
    assert_eq!(select(&runs, "metrics.`val acc` > 0.8"), ["a"]);
    assert_eq!(select(&runs, "metrics.\"val acc\" < 0.8"), ["b"]);
    assert_eq!(select(&runs, "metrics.`train/loss` <= 0.2"), ["a"]);
    assert_eq!(select(&runs, "tags.`data.version` = 'v2'"), ["b"]);
    // Only the first dot separates entity and key.
    assert_eq!(select(&runs, "tags.data.version = 'v2'"), ["b"]);
    // Without quotes a space or slash breaks the key.
    assert!(Filter::parse("metrics.val acc > 0").is_err());
    assert!(Filter::parse("metrics.train/loss > 0").is_err());
}

#[test]
fn nan_satisfies_only_not_equal_and_infinities_are_values() {
    let runs = [
        with_metric(run("nan", 4), "m", f64::NAN),
        with_metric(run("inf", 3), "m", f64::INFINITY),
        with_metric(run("neg", 2), "m", f64::NEG_INFINITY),
        with_metric(run("one", 1), "m", 1.0),
        run("none", 0),
    ];
    assert_eq!(select(&runs, "metrics.m != 1"), ["nan", "inf", "neg"]);
    assert_eq!(select(&runs, "metrics.m = 1"), ["one"]);
    assert_eq!(select(&runs, "metrics.m > 0"), ["inf", "one"]);
    assert_eq!(select(&runs, "metrics.m < 0"), ["neg"]);
    // There is no NaN or inf literal, but 1e309 overflows to +inf as in Python.
    assert_eq!(select(&runs, "metrics.m >= 1e309"), ["inf"]);
    assert_eq!(select(&runs, "metrics.m <= -1e309"), ["neg"]);
    assert!(Filter::parse("metrics.m = NaN").is_err());
    assert!(Filter::parse("metrics.m > inf").is_err());
}

#[test]
fn missing_keys_match_no_comparator_except_is_null() {
    let runs = [
        with_param(run("adam", 2), "opt", "adam"),
        with_param(run("sgd", 1), "opt", "sgd"),
        run("none", 0),
    ];
    assert_eq!(select(&runs, "params.opt != 'adam'"), ["sgd"]);
    assert_eq!(select(&runs, "params.opt IS NULL"), ["none"]);
    assert_eq!(select(&runs, "params.opt is not null"), ["adam", "sgd"]);
    assert_eq!(select(&runs, "metrics.absent != 0"), Vec::<String>::new());
    assert_eq!(select(&runs, "tags.absent != 'x'"), Vec::<String>::new());
}

#[test]
fn numeric_literal_forms() {
    let runs = [
        with_metric(run("a", 3), "m", -1500.0),
        with_metric(run("b", 2), "m", 0.5),
        with_metric(run("c", 1), "m", 5.0),
        with_metric(run("d", 0), "m", -0.0),
    ];
    assert_eq!(select(&runs, "metrics.m = -1.5e3"), ["a"]);
    assert_eq!(select(&runs, "metrics.m = -1500"), ["a"]);
    assert_eq!(select(&runs, "metrics.m = .5"), ["b"]);
    assert_eq!(select(&runs, "metrics.m = 5."), ["c"]);
    assert_eq!(
        select(&runs, "metrics.m = 2.5E-1 AND metrics.m = 0.25"),
        Vec::<String>::new()
    );
    assert_eq!(select(&runs, "metrics.m = 0"), ["d"]);
    assert_eq!(select(&runs, "metrics.m>-1e3"), ["b", "c", "d"]);
    for rejected in ["+1", "0x10", "1_000", "1e", "1e+5", "'1'", "\"1\"", "(1)"] {
        let e = error(&format!("metrics.m = {rejected}"));
        assert!(
            e.message()
                .contains("Expected numeric value type for metric")
                || e.kind() == ErrorKind::InvalidClause,
            "{e}"
        );
    }
}

#[test]
fn a_quoted_number_is_rejected_for_metrics() {
    let e = error("metrics.acc > '1'");
    assert_eq!(e.kind(), ErrorKind::InvalidValue);
    assert!(
        e.message()
            .starts_with("Expected numeric value type for metric. Found '1'"),
        "{e}"
    );
    assert_eq!(e.position(), Some(14));
}

#[test]
fn params_and_tags_compare_verbatim_strings() {
    let runs = [
        with_param(run("a", 3), "lr", "0.001"),
        with_param(run("b", 2), "lr", "1e-3"),
        with_tag(run("c", 1), "note", "it''s doubled"),
        with_tag(run("d", 0), "note", "it's fine"),
    ];
    assert_eq!(select(&runs, "params.lr = '0.001'"), ["a"]);
    assert_eq!(select(&runs, "params.lr = \"1e-3\""), ["b"]);
    // No SQL unescaping of '' and no backslash escapes.
    assert_eq!(select(&runs, "tags.note = 'it''s doubled'"), ["c"]);
    assert_eq!(select(&runs, "tags.note = \"it's fine\""), ["d"]);
    assert_eq!(
        select(&runs, "tags.note = 'it\\'s fine'"),
        Vec::<String>::new()
    );
    // A param is never a number.
    assert!(
        error("params.lr > 0.1")
            .message()
            .starts_with("Expected a quoted string value for parameter")
    );
    assert!(
        error("params.lr > '0.1'")
            .message()
            .starts_with("Invalid comparator '>' not one of")
    );
    assert!(
        error("params.lr = adam")
            .message()
            .starts_with("Parameter value is either not quoted")
    );
}

#[test]
fn attributes_and_their_aliases() {
    let mut running = run("r", 30);
    running.end_time = None;
    running.status = "RUNNING".to_owned();
    running.run_name = "Über-run".to_owned();
    let mut unknown = run("u", 20);
    unknown.user_id = "unknown".to_owned();
    let runs = [running, unknown, run("x", 10)];
    assert_eq!(select(&runs, "status = 'RUNNING'"), ["r"]);
    assert_eq!(
        select(&runs, "attributes.status = 'running'"),
        Vec::<String>::new()
    );
    assert_eq!(select(&runs, "attr.user_id = 'unknown'"), ["u"]);
    assert_eq!(select(&runs, "run.run_name ILIKE 'über%'"), ["r"]);
    assert_eq!(select(&runs, "`Run Name` LIKE 'Ü%'"), ["r"]);
    assert_eq!(select(&runs, "created >= 20"), ["r", "u"]);
    assert_eq!(select(&runs, "attributes.start_time = 20.0"), ["u"]);
    assert_eq!(select(&runs, "attributes.start_time < 20.5"), ["u", "x"]);
    // A running run has no end time and so never matches an end_time comparison.
    assert_eq!(select(&runs, "end_time > 0"), ["u", "x"]);
    assert_eq!(select(&runs, "run_id IN ('x', 'r', 'zzz')"), ["r", "x"]);
    assert_eq!(select(&runs, "run_id NOT IN ('x')"), ["r", "u"]);
    assert_eq!(select(&runs, "run_id IN ('x' 'yz')"), Vec::<String>::new());
    let e = error("attributes.lifecycle_stage = 'active'");
    assert!(
        e.message()
            .starts_with("Invalid attribute key 'lifecycle_stage' specified."),
        "{e}"
    );
    assert!(
        error("status IN ('RUNNING')")
            .message()
            .starts_with("Only ['run_id'] attributes support")
    );
    assert!(
        error("start_time > '5'")
            .message()
            .starts_with("Expected numeric value type for numeric attribute")
    );
    assert!(
        error("status IS NULL")
            .message()
            .starts_with("IS NULL / IS NOT NULL is only supported for tags and params")
    );
}

#[test]
fn mlflow_translates_created_and_run_name_for_every_entity() {
    // `SearchUtils.translate_key_alias` runs before the entity dispatch, so a metric called
    // `created` is looked up as `start_time`.
    let runs = [
        with_metric(with_metric(run("a", 2), "created", 1.0), "start_time", 7.0),
        run("b", 1),
    ];
    assert_eq!(select(&runs, "metrics.created = 7"), ["a"]);
    assert_eq!(select(&runs, "metrics.created = 1"), Vec::<String>::new());
    assert_eq!(order(&runs, &["metrics.Created DESC"]), ["a", "b"]);
}

#[test]
fn and_is_the_only_connective_and_may_dangle() {
    let runs = [
        with_metric(run("a", 2), "m", 1.0),
        with_metric(run("b", 1), "m", 2.0),
    ];
    assert_eq!(select(&runs, "metrics.m > 0 and metrics.m < 2"), ["a"]);
    assert_eq!(select(&runs, "AND metrics.m > 1 AND AND"), ["b"]);
    assert_eq!(select(&runs, "AND"), ["a", "b"]);
    // Two comparisons side by side are joined by AND, as MLflow's parser joins them.
    assert_eq!(select(&runs, "metrics.m > 0 metrics.m < 2"), ["a"]);
    assert!(
        error("metrics.m > 0 tags.t IS NULL")
            .message()
            .contains("write AND")
    );
    let or = error("metrics.m > 1 OR metrics.m < 0");
    assert_eq!(or.kind(), ErrorKind::InvalidClause);
    assert!(
        or.message()
            .starts_with("Invalid clause(s) in filter string: 'OR'")
    );
    assert_eq!(or.position(), Some(14));
    assert!(
        error("(metrics.m > 1)")
            .message()
            .starts_with("Invalid clause(s) in filter string: '(metrics.m > 1)'")
    );
    assert!(error("NOT metrics.m > 1").message().contains("'NOT'"));
    assert!(error("metrics.m > 1;").message().contains("';'"));
    // The empty string matches everything; whitespace alone is an error, as in MLflow.
    assert!(filter("").is_match_all());
    assert!(Filter::parse("   ").is_err());
}

#[test]
fn errors_say_what_was_expected_and_where() {
    let e = error("metrics.acc");
    assert_eq!(e.position(), Some(11));
    assert!(e.message().contains("expected a comparator"), "{e}");
    let e = error("metrics.acc >");
    assert_eq!(e.position(), Some(13));
    assert!(e.message().contains("expected a value"), "{e}");
    let e = error("Metrics.acc > 1");
    assert_eq!(e.kind(), ErrorKind::InvalidEntity);
    assert_eq!(e.position(), Some(0));
    let e = error("params.p = 'open");
    assert_eq!(e.position(), Some(11));
    assert!(e.message().contains("never closed"), "{e}");
    let e = error("metrics.acc == 1");
    assert_eq!(e.kind(), ErrorKind::InvalidComparator);
    assert_eq!(e.position(), Some(12));
    let e = error("params.x IN ('a', 'b')");
    assert!(e.message().starts_with(
        "Expected a quoted string value for parameter (e.g. 'my-value'). Got value ('a', 'b')"
    ));
    let e = error("run_id IN ()");
    assert_eq!(e.kind(), ErrorKind::InvalidList);
}

#[test]
fn dataset_clauses_hold_when_any_input_matches() {
    let mut a = run("a", 2);
    a.datasets = vec![
        DatasetInput {
            name: "iris".into(),
            digest: "d1".into(),
            context: Some("train".into()),
        },
        DatasetInput {
            name: "wine".into(),
            digest: "d2".into(),
            context: None,
        },
    ];
    let runs = [a, run("b", 1)];
    assert_eq!(select(&runs, "dataset.name = 'wine'"), ["a"]);
    assert_eq!(select(&runs, "datasets.name != 'iris'"), ["a"]);
    assert_eq!(select(&runs, "dataset.context = 'train'"), ["a"]);
    assert_eq!(
        select(&runs, "dataset.context != 'train'"),
        Vec::<String>::new()
    );
    assert_eq!(select(&runs, "dataset.digest IN ('d2', 'd9')"), ["a"]);
    assert!(
        error("dataset.size = '1'")
            .message()
            .starts_with("Invalid dataset key 'size' specified.")
    );
    assert!(OrderBy::parse("dataset.name").is_err());
}

#[test]
fn ordering_puts_nan_then_missing_last_in_both_directions() {
    let runs = [
        with_metric(run("a", 6), "m", f64::NAN),
        with_metric(run("b", 5), "m", 2.0),
        run("c", 4),
        with_metric(run("d", 3), "m", f64::NEG_INFINITY),
        with_metric(run("e", 2), "m", 2.0),
        with_metric(run("f", 1), "m", -0.0),
        with_metric(run("g", 0), "m", 0.0),
    ];
    assert_eq!(
        order(&runs, &["metrics.m"]),
        ["d", "f", "g", "b", "e", "a", "c"]
    );
    // DESC reverses the values only: ties keep the natural order (start_time DESC).
    assert_eq!(
        order(&runs, &["metrics.m DESC"]),
        ["b", "e", "f", "g", "d", "a", "c"]
    );
    assert_eq!(
        order(&runs, &["metrics.m desc", "start_time ASC"]),
        ["e", "b", "g", "f", "d", "a", "c"]
    );
}

#[test]
fn natural_order_is_start_time_desc_then_run_id_asc() {
    let runs = [run("b", 1), run("c", 2), run("a", 1), run("B", 1)];
    assert_eq!(order(&runs, &[]), ["c", "B", "a", "b"]);
    // Even under start_time ASC, equal start times keep run_id ASC.
    assert_eq!(
        order(&runs, &["attributes.start_time ASC"]),
        ["B", "a", "b", "c"]
    );
    assert_eq!(
        order(&runs, &["attributes.start_time DESC"]),
        ["c", "B", "a", "b"]
    );
}

#[test]
fn order_by_syntax() {
    for ok in [
        "metrics.acc",
        "metrics.acc DESC",
        "metrics.acc desc",
        "metrics.`val acc` ASC",
        "status",
        "created DESC",
        "tags.\"a b\"",
    ] {
        assert!(OrderBy::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        " metrics.acc DESC",
        "metrics.acc DESC ",
        "metrics.acc, params.p",
        "metrics.acc DOWN",
        "METRICS.acc",
        "`Run Name`",
    ] {
        assert!(OrderBy::parse(bad).is_err(), "{bad}");
    }
    let e = OrderBy::parse("metrics.acc DOWN")
        .err()
        .map(|e| e.message().to_owned())
        .unwrap_or_default();
    assert!(
        e.starts_with("Invalid ordering key in order_by clause 'metrics.acc DOWN'."),
        "{e}"
    );
    let runs = [
        with_param(run("a", 2), "s", "v10"),
        with_param(run("b", 1), "s", "v2"),
        with_param(run("c", 0), "s", "V3"),
    ];
    assert_eq!(order(&runs, &["params.s"]), ["c", "a", "b"]);
}

#[test]
fn paging_follows_offsets_and_stops_exactly() {
    let runs: Vec<RunView> = (0..10).map(|i| run(&format!("r{i}"), i)).collect();
    let mut token = None;
    let mut pages = Vec::new();
    loop {
        let page = search(&runs, None, &[], ViewType::ActiveOnly, 5, token.as_deref())
            .unwrap_or_else(|e| panic!("{e}"));
        pages.push(page.run_ids);
        token = page.next_page_token;
        if token.is_none() {
            break;
        }
    }
    // Ten runs in pages of five: no empty trailing page.
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0], ["r9", "r8", "r7", "r6", "r5"]);
    assert_eq!(encode_page_token(5), "eyJvZmZzZXQiOiA1fQ==");
    assert_eq!(decode_page_token("eyJvZmZzZXQiOiA1fQ=="), Ok(5));
    // max_results = 0 gives an empty page with a token for offset 0, which is then rejected.
    let empty =
        search(&runs, None, &[], ViewType::ActiveOnly, 0, None).unwrap_or_else(|e| panic!("{e}"));
    assert!(empty.run_ids.is_empty());
    let zero = empty.next_page_token.unwrap_or_default();
    assert_eq!(zero, encode_page_token(0));
    assert!(search(&runs, None, &[], ViewType::ActiveOnly, 5, Some(&zero)).is_err());
    assert!(search(&runs, None, &[], ViewType::ActiveOnly, 5, Some("garbage")).is_err());
    let over = search(&runs, None, &[], ViewType::ActiveOnly, 50_001, None).err();
    assert_eq!(over.map(|e| e.kind()), Some(ErrorKind::InvalidMaxResults));
    // Past the end: an empty page and no token.
    let past = search(
        &runs,
        None,
        &[],
        ViewType::ActiveOnly,
        5,
        Some(&encode_page_token(50)),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(past.run_ids.len(), 0);
    assert_eq!(past.next_page_token, None);
}

#[test]
fn view_types_select_lifecycle_stages() {
    let mut deleted = run("d", 2);
    deleted.lifecycle_stage = "deleted".to_owned();
    let runs = [deleted, run("a", 1)];
    let ids = |view| {
        search(&runs, None, &[], view, 10, None)
            .map(|p| p.run_ids)
            .unwrap_or_default()
    };
    assert_eq!(ids(ViewType::ActiveOnly), ["a"]);
    assert_eq!(ids(ViewType::DeletedOnly), ["d"]);
    assert_eq!(ids(ViewType::All), ["d", "a"]);
}

#[test]
fn search_takes_owned_runs_lazily() {
    let produced = (0..4).map(|i| with_metric(run(&format!("r{i}"), i), "m", i as f64));
    let f = filter("metrics.m >= 2");
    let page = search(produced, Some(&f), &[], ViewType::ActiveOnly, 10, None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.run_ids, ["r3", "r2"]);
}
