//! `search_experiments` behaviour, case by case.
//!
//! The cases come from MLflow's own file-store tests (`tests/store/tracking/test_file_store.py`:
//! `test_search_experiments_*`), replayed on the same experiments, and from reading
//! `SearchExperimentsUtils` and `FileStore.search_experiments`: the default order, the
//! `experiment_id DESC` tie-breaker, string ids, `float()` of time literals, `None` times and
//! the entity prefixes MLflow accepts.

use runlog_search::{
    ErrorKind, ExperimentFilter, ExperimentOrderBy, ExperimentView, SearchError, ViewType,
    decode_page_token, search_experiments,
};

/// An active experiment created (and last updated) at `created`.
fn experiment(id: &str, name: &str, created: Option<i64>) -> ExperimentView {
    ExperimentView {
        experiment_id: id.to_owned(),
        name: name.to_owned(),
        artifact_location: format!("file:///mlruns/{id}"),
        lifecycle_stage: "active".to_owned(),
        creation_time: created,
        last_update_time: created,
        ..ExperimentView::default()
    }
}

fn with_tag(mut e: ExperimentView, key: &str, value: &str) -> ExperimentView {
    e.tags.insert(key.to_owned(), value.to_owned());
    e
}

/// MLflow's `Default` experiment, older than every other one here.
fn default_experiment() -> ExperimentView {
    experiment("0", "Default", Some(1_000))
}

/// `Default` plus one experiment per name, created one millisecond apart in that order,
/// with ids `"1"`, `"2"`, ….
fn created_in_order(names: &[&str]) -> Vec<ExperimentView> {
    let mut all = vec![default_experiment()];
    for (i, name) in names.iter().enumerate() {
        all.push(experiment(
            &(i + 1).to_string(),
            name,
            Some(2_000 + i as i64),
        ));
    }
    all
}

fn parse(text: &str) -> ExperimentFilter {
    ExperimentFilter::parse(text).unwrap_or_else(|e| panic!("{text:?} was rejected: {e}"))
}

fn error(text: &str) -> SearchError {
    match ExperimentFilter::parse(text) {
        Ok(f) => panic!("{text:?} was accepted as {f:?}"),
        Err(e) => e,
    }
}

fn order_error(text: &str) -> SearchError {
    match ExperimentOrderBy::parse(text) {
        Ok(o) => panic!("{text:?} was accepted as {o:?}"),
        Err(e) => e,
    }
}

/// The names `search_experiments` returns for `filter` and `order_by`, all on one page.
fn names(all: &[ExperimentView], filter: &str, order_by: &[&str]) -> Vec<String> {
    let filter = parse(filter);
    let order: Vec<ExperimentOrderBy> = order_by
        .iter()
        .map(|o| ExperimentOrderBy::parse(o).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    search_experiments(all, Some(&filter), &order, ViewType::All, 1000, None)
        .unwrap_or_else(|e| panic!("{e}"))
        .experiments
        .iter()
        .map(|e| e.name.clone())
        .collect()
}

fn ids(all: &[ExperimentView], filter: &str, order_by: &[&str]) -> Vec<String> {
    let by_name = |name: String| {
        all.iter()
            .find(|e| e.name == name)
            .map(|e| e.experiment_id.clone())
            .unwrap_or_default()
    };
    names(all, filter, order_by)
        .into_iter()
        .map(by_name)
        .collect()
}

#[test]
fn name_filters_as_mlflows_file_store_test_does() {
    let all = created_in_order(&["a", "ab", "Abc"]);
    assert_eq!(names(&all, "name = 'a'", &[]), ["a"]);
    assert_eq!(names(&all, "attribute.name = 'a'", &[]), ["a"]);
    assert_eq!(names(&all, "attribute.`name` = 'a'", &[]), ["a"]);
    assert_eq!(
        names(&all, "attribute.`name` != 'a'", &[]),
        ["Abc", "ab", "Default"]
    );
    assert_eq!(names(&all, "name LIKE 'a%'", &[]), ["ab", "a"]);
    assert_eq!(
        names(&all, "name ILIKE 'a%'", &["last_update_time asc"]),
        ["a", "ab", "Abc"]
    );
    assert_eq!(names(&all, "name ILIKE 'a%'", &[]), ["Abc", "ab", "a"]);
    assert_eq!(
        names(&all, "name ILIKE 'a%' AND name ILIKE '%b'", &[]),
        ["ab"]
    );
    assert_eq!(names(&all, "name = \"a\"", &[]), ["a"]);
}

#[test]
fn time_filters_as_mlflows_file_store_test_does() {
    let mut all = created_in_order(&["1", "2"]);
    // Renaming "1" at t = 5000 moves its last_update_time.
    all[1].last_update_time = Some(5_000);
    assert_eq!(ids(&all, "creation_time = 2000", &[]), ["1"]);
    assert_eq!(ids(&all, "creation_time != 2000", &[]), ["2", "0"]);
    assert_eq!(ids(&all, "creation_time >= 2000", &[]), ["2", "1"]);
    assert_eq!(ids(&all, "creation_time < 2001", &[]), ["1", "0"]);
    assert!(ids(&all, "creation_time > 4000", &[]).is_empty());
    assert_eq!(ids(&all, "last_update_time >= 4000", &[]), ["1"]);
    assert_eq!(ids(&all, "last_update_time = 2001", &[]), ["2"]);
    assert_eq!(ids(&all, "last_update_time <= 5000", &[]), ["2", "1", "0"]);
    // Float literals compare exactly with the integer milliseconds.
    assert_eq!(ids(&all, "creation_time = 2e3", &[]), ["1"]);
    assert_eq!(ids(&all, "creation_time < 2000.5", &[]), ["1", "0"]);
}

#[test]
fn tag_filters_as_mlflows_file_store_test_does() {
    let all = vec![
        default_experiment(),
        with_tag(experiment("1", "exp1", Some(2_000)), "key", "value"),
        with_tag(experiment("2", "exp2", Some(2_001)), "key", "vaLue"),
        with_tag(experiment("3", "exp3", Some(2_002)), "k e y", "value"),
    ];
    assert_eq!(names(&all, "tag.key = 'value'", &[]), ["exp1"]);
    assert_eq!(names(&all, "tag.`k e y` = 'value'", &[]), ["exp3"]);
    assert_eq!(names(&all, "tag.\"k e y\" = 'value'", &[]), ["exp3"]);
    // exp3 and Default have no tag `key`, so even != leaves them out.
    assert_eq!(names(&all, "tag.key != 'value'", &[]), ["exp2"]);
    assert_eq!(names(&all, "tag.key LIKE 'val%'", &[]), ["exp1"]);
    assert_eq!(names(&all, "tag.key LIKE '%Lue'", &[]), ["exp2"]);
    assert_eq!(names(&all, "tag.key ILIKE '%alu%'", &[]), ["exp2", "exp1"]);
    assert_eq!(
        names(&all, "tag.key LIKE 'va%' AND tags.key LIKE '%Lue'", &[]),
        ["exp2"]
    );
    assert!(names(&all, "tag.KEY = 'value'", &[]).is_empty());
}

#[test]
fn tag_keys_split_at_the_first_dot_and_null_checks_apply_to_tags_only() {
    let all = vec![
        with_tag(
            with_tag(
                experiment("1", "both", Some(3)),
                "mlflow.note.content",
                "hi",
            ),
            "team",
            "vision",
        ),
        with_tag(experiment("2", "team only", Some(2)), "team", "nlp"),
        experiment("3", "none", Some(1)),
    ];
    assert_eq!(
        names(&all, "tags.mlflow.note.content = 'hi'", &[]),
        ["both"]
    );
    assert_eq!(
        names(&all, "tags.team IS NOT NULL", &[]),
        ["both", "team only"]
    );
    assert_eq!(names(&all, "tags.team IS NULL", &[]), ["none"]);
    assert_eq!(
        names(
            &all,
            "tags.team IS NOT NULL AND tags.`mlflow.note.content` IS NULL",
            &[]
        ),
        ["team only"]
    );
    let e = error("name IS NULL");
    assert_eq!(e.kind(), ErrorKind::InvalidNullCheck);
    assert!(
        e.message()
            .starts_with("IS NULL / IS NOT NULL is only supported for tags"),
        "{e}"
    );
}

#[test]
fn default_order_is_creation_time_desc_then_experiment_id_asc() {
    let all = vec![
        experiment("9", "nine", Some(5)),
        experiment("10", "ten", Some(5)),
        experiment("2", "two", Some(5)),
        experiment("1", "newest", Some(6)),
    ];
    // Ids are strings: "10" < "2" < "9".
    assert_eq!(names(&all, "", &[]), ["newest", "ten", "two", "nine"]);
}

#[test]
fn an_explicit_order_breaks_ties_by_experiment_id_desc() {
    let all = vec![
        experiment("1", "a", Some(5)),
        experiment("3", "b", Some(5)),
        experiment("2", "c", Some(5)),
    ];
    // With no order_by, equal creation times fall back to experiment_id ASC ...
    assert_eq!(names(&all, "", &[]), ["a", "c", "b"]);
    // ... but with one, MLflow appends experiment_id DESC.
    assert_eq!(names(&all, "", &["creation_time"]), ["b", "c", "a"]);
    assert_eq!(names(&all, "", &["creation_time DESC"]), ["b", "c", "a"]);
    // Naming experiment_id anywhere removes the tie-breaker.
    assert_eq!(
        names(&all, "", &["creation_time", "experiment_id"]),
        ["a", "c", "b"]
    );
    assert_eq!(names(&all, "", &["experiment_id DESC"]), ["b", "c", "a"]);
}

#[test]
fn experiments_without_a_time_sort_last_in_both_directions() {
    // MLflow's test_search_experiments_order_by: "n" was created with a time of None.
    let mut all = created_in_order(&["x", "y", "z"]);
    all.push(experiment("4", "n", None));
    assert_eq!(names(&all, "", &["name"]), ["Default", "n", "x", "y", "z"]);
    assert_eq!(
        names(&all, "", &["name ASC"]),
        ["Default", "n", "x", "y", "z"]
    );
    assert_eq!(
        names(&all, "", &["name DESC"]),
        ["z", "y", "x", "n", "Default"]
    );
    assert_eq!(
        names(&all, "", &["creation_time DESC"]),
        ["z", "y", "x", "Default", "n"]
    );
    assert_eq!(
        names(&all, "", &["creation_time ASC"]),
        ["Default", "x", "y", "z", "n"]
    );
    assert_eq!(
        names(&all, "", &["name", "last_update_time asc"]),
        ["Default", "n", "x", "y", "z"]
    );
    // To MLflow a missing time is None: `None != x` holds, every other comparison does not.
    assert_eq!(
        names(&all, "creation_time != 2000", &["name"]),
        ["Default", "n", "y", "z"]
    );
    assert_eq!(names(&all, "creation_time < 1500", &[]), ["Default"]);
    assert!(!names(&all, "creation_time >= 0", &[]).contains(&"n".to_owned()));
}

#[test]
fn time_literals_become_floats_before_comparing() {
    // MLflow compares float(literal): 2^53 + 1 rounds to 2^53.
    let all = [experiment("1", "big", Some(9_007_199_254_740_993))];
    assert!(names(&all, "creation_time = 9007199254740993", &[]).is_empty());
    assert_eq!(
        names(&all, "creation_time > 9007199254740993", &[]),
        ["big"]
    );
    assert_eq!(names(&all, "creation_time < 1e309", &[]), ["big"]);
}

#[test]
fn paging_and_max_results_follow_the_file_store() {
    // MLflow's test_search_experiments_max_results and _pagination: nine experiments "0".."8"
    // plus Default, newest first.
    let names9: Vec<String> = (0..9).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = names9.iter().map(String::as_str).collect();
    let all = created_in_order(&refs);
    let mut expected: Vec<String> = names9.iter().rev().cloned().collect();
    expected.push("Default".to_owned());
    assert_eq!(names(&all, "", &[]), expected);

    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = search_experiments(&all, None, &[], ViewType::ActiveOnly, 4, token.as_deref())
            .unwrap_or_else(|e| panic!("{e}"));
        pages.push(
            page.experiments
                .iter()
                .map(|e| e.name.clone())
                .collect::<Vec<_>>(),
        );
        token = page.next_page_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages.concat(), expected);
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [4, 4, 2],
        "{pages:?}"
    );

    let exact = search_experiments(&all, None, &[], ViewType::ActiveOnly, 10, None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(exact.next_page_token, None, "no empty trailing page");
    let first = search_experiments(&all, None, &[], ViewType::ActiveOnly, 3, None)
        .unwrap_or_else(|e| panic!("{e}"));
    let token = first.next_page_token.unwrap_or_default();
    assert_eq!(decode_page_token(&token), Ok(3));

    let zero = search_experiments(&all, None, &[], ViewType::ActiveOnly, 0, None).err();
    assert_eq!(
        zero.as_ref().map(SearchError::kind),
        Some(ErrorKind::InvalidMaxResults)
    );
    assert!(zero.is_some_and(|e| {
        e.message()
            .contains("It must be a positive integer, but got 0")
    }));
    let over = search_experiments(&all, None, &[], ViewType::ActiveOnly, 1_000_000, None).err();
    assert!(over.is_some_and(|e| {
        e.message()
            .contains("It must be at most 50000, but got 1000000")
    }));
    assert!(search_experiments(&all, None, &[], ViewType::ActiveOnly, 50_000, None).is_ok());
    let bad_token =
        search_experiments(&all, None, &[], ViewType::ActiveOnly, 4, Some("garbage")).err();
    assert_eq!(
        bad_token.map(|e| e.kind()),
        Some(ErrorKind::InvalidPageToken)
    );
}

#[test]
fn view_types_select_lifecycle_stages() {
    let mut deleted = experiment("2", "b", Some(3_000));
    deleted.lifecycle_stage = "deleted".to_owned();
    let all = [
        deleted,
        experiment("1", "a", Some(2_000)),
        default_experiment(),
    ];
    let view = |view| {
        search_experiments(&all, None, &[], view, 10, None)
            .map(|p| {
                p.experiments
                    .iter()
                    .map(|e| e.name.clone())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    assert_eq!(view(ViewType::ActiveOnly), ["a", "Default"]);
    assert_eq!(view(ViewType::DeletedOnly), ["b"]);
    assert_eq!(view(ViewType::All), ["b", "a", "Default"]);
}

#[test]
fn search_takes_owned_experiments_lazily() {
    let produced = (0..5).map(|i| experiment(&i.to_string(), &format!("e{i}"), Some(i)));
    let filter = parse("creation_time >= 2 AND name != 'e3'");
    let page = search_experiments(produced, Some(&filter), &[], ViewType::ActiveOnly, 10, None)
        .unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<String> = page.experiments.into_iter().map(|e| e.name).collect();
    assert_eq!(got, ["e4", "e2"]);
}

#[test]
fn only_attribute_and_tag_prefixes_are_accepted() {
    // MLflow compares the prefix as written against ('attribute', 'tag', 'tags'): the
    // documented `attributes.name` is rejected, and so are backticked prefixes.
    for (text, kind) in [
        ("attributes.name = 'a'", ErrorKind::InvalidEntity),
        ("`tags`.t = 'a'", ErrorKind::InvalidEntity),
        ("metrics.acc > 1", ErrorKind::InvalidEntity),
        ("params.lr = '1'", ErrorKind::InvalidEntity),
        ("Tags.t = 'a'", ErrorKind::InvalidEntity),
        ("experiment_id = '1'", ErrorKind::InvalidAttribute),
        (
            "attribute.lifecycle_stage = 'active'",
            ErrorKind::InvalidAttribute,
        ),
        ("run_id = 'a'", ErrorKind::InvalidAttribute),
    ] {
        assert_eq!(error(text).kind(), kind, "{text}");
    }
    let e = error("x = 'a' AND attributes.name = 'a'");
    assert_eq!(e.position(), Some(0), "{e}");
    let e = error("name = 'a' AND attributes.name = 'a'");
    assert_eq!(e.position(), Some(15), "{e}");
    assert!(
        e.message().starts_with(
            "Invalid entity type 'attributes'. Valid entity types are ('attribute', 'tag', 'tags')"
        ),
        "{e}"
    );
    let e = error("creation_date > 0");
    assert!(
        e.message().starts_with(
            "Invalid attribute key 'creation_date' specified. Valid keys are \
             '{'creation_time', 'last_update_time', 'name'}'"
        ),
        "{e}"
    );
}

#[test]
fn values_and_comparators_are_checked_like_mlflow() {
    let cases = [
        (
            "name = 5",
            ErrorKind::InvalidValue,
            7,
            "Expected a quoted string value for attributes. Got value 5",
        ),
        (
            "name = adam",
            ErrorKind::InvalidValue,
            7,
            "Parameter value is either not quoted",
        ),
        (
            "creation_time = '5'",
            ErrorKind::InvalidValue,
            16,
            "Expected numeric value type for numeric attribute: creation_time. Found '5'",
        ),
        (
            "tags.t = 1",
            ErrorKind::InvalidValue,
            9,
            "Expected a quoted string value for tag (e.g. 'my-value'). Got value 1",
        ),
        (
            "name > 'a'",
            ErrorKind::InvalidComparator,
            5,
            "Invalid comparator '>'",
        ),
        (
            "name == 'a'",
            ErrorKind::InvalidComparator,
            5,
            "Invalid comparator '=='",
        ),
        (
            "tags.t < 'a'",
            ErrorKind::InvalidComparator,
            7,
            "Invalid comparator '<'",
        ),
        (
            "creation_time LIKE 5",
            ErrorKind::InvalidComparator,
            14,
            "Invalid comparator 'LIKE'",
        ),
        (
            "name NOT LIKE 'a'",
            ErrorKind::InvalidComparator,
            5,
            "Invalid comparator 'NOT LIKE'",
        ),
        (
            "name IN ('a', 'b')",
            ErrorKind::InvalidList,
            8,
            "Only ['run_id'] attributes support",
        ),
        (
            "name = 'a' OR name = 'b'",
            ErrorKind::InvalidClause,
            11,
            "Invalid clause(s) in filter string: 'OR'",
        ),
        (
            "(name = 'a')",
            ErrorKind::InvalidClause,
            0,
            "Invalid clause(s) in filter string",
        ),
        (
            "name = 'open",
            ErrorKind::InvalidClause,
            7,
            "Invalid clause(s) in filter string",
        ),
        (
            "name",
            ErrorKind::InvalidClause,
            4,
            "Invalid clause(s) in filter string: 'name'",
        ),
        (
            "'a' = name",
            ErrorKind::InvalidComparison,
            0,
            "Invalid comparison clause. Expected 'Identifier' found ''a''",
        ),
    ];
    for (text, kind, position, prefix) in cases {
        let e = error(text);
        assert_eq!(
            (e.kind(), e.position()),
            (kind, Some(position)),
            "{text}: {e}"
        );
        assert!(e.message().starts_with(prefix), "{text}: {e}");
    }
    assert!(error("'a' = name").message().contains("tags.<key>"));
    assert!(ExperimentFilter::parse("  ").is_err());
}

#[test]
fn comparators_and_and_are_case_insensitive_and_and_may_dangle() {
    let all = created_in_order(&["Sweep-1", "sweep-2", "other"]);
    assert_eq!(
        names(&all, "name ilike 'sweep%' and creation_time > 0", &[]),
        ["sweep-2", "Sweep-1"]
    );
    assert_eq!(
        names(&all, "AND name like 'sweep%' AND AND", &[]),
        ["sweep-2"]
    );
    let empty = parse("");
    assert!(empty.is_match_all());
    assert_eq!(parse("AND").clauses().len(), 0);
}

#[test]
fn order_by_accepts_the_four_attributes_and_rejects_the_rest() {
    for ok in [
        "name",
        "name DESC",
        "experiment_id asc",
        "creation_time",
        "last_update_time DESC",
        "attribute.name",
        "`name` DESC",
        "\"creation_time\"",
    ] {
        assert!(ExperimentOrderBy::parse(ok).is_ok(), "{ok}");
    }
    let e = order_error("tags.team");
    assert_eq!(e.kind(), ErrorKind::InvalidOrderBy);
    assert!(
        e.message().starts_with("Invalid order_by entity: tag"),
        "{e}"
    );
    let e = order_error("attributes.name");
    assert_eq!(e.kind(), ErrorKind::InvalidEntity);
    let e = order_error("lifecycle_stage");
    assert_eq!(e.kind(), ErrorKind::InvalidAttribute);
    assert!(e.message().contains("'experiment_id'"), "{e}");
    let e = order_error("name DOWN");
    assert!(
        e.message()
            .starts_with("Invalid ordering key in order_by clause 'name DOWN'."),
        "{e}"
    );
    assert_eq!(e.position(), Some(5));
    for bad in ["", " name", "name ", "name, creation_time", "name ASC DESC"] {
        assert_eq!(
            order_error(bad).kind(),
            ErrorKind::InvalidOrderBy,
            "{bad:?}"
        );
    }
}
