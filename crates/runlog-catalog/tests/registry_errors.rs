//! Every refused registry call says what was wrong, and changes nothing.

use runlog_catalog::{Catalog, CatalogError, MODELS_JOURNAL};

fn setup() -> (tempfile::TempDir, Catalog) {
    let dir = tempfile::tempdir().unwrap();
    let c = Catalog::open(dir.path()).unwrap();
    c.create_registered_model("m", None, &[]).unwrap();
    c.create_model_version("m", "s3://b/1", None, None, &[])
        .unwrap();
    c.create_model_version("m", "s3://b/2", None, None, &[])
        .unwrap();
    c.delete_model_version("m", 2).unwrap();
    (dir, c)
}

fn message(r: Result<impl std::fmt::Debug, CatalogError>) -> String {
    r.expect_err("the call must be refused").to_string()
}

#[test]
fn unknown_models_versions_and_aliases_are_named() {
    let (_dir, c) = setup();
    let e = message(c.get_registered_model("nope"));
    assert!(
        e.contains("registered model \"nope\" does not exist"),
        "{e}"
    );
    let e = message(c.get_model_version("m", 7));
    assert!(
        e.contains("\"m\" has no version 7; its versions are 1 (deleted: 2)"),
        "{e}"
    );
    let e = message(c.get_model_version("m", 2));
    assert!(e.contains("has no version 2"), "{e}");
    let e = message(c.get_model_version_by_alias("m", "champ"));
    assert!(
        e.contains("has no alias \"champ\"; it has no aliases"),
        "{e}"
    );
    c.set_registered_model_alias("m", "base", 1).unwrap();
    let e = message(c.get_model_version_by_alias("m", "champ"));
    assert!(e.contains("its aliases are base (v1)"), "{e}");
    let e = message(c.set_registered_model_alias("m", "champ", 2));
    assert!(
        e.contains("has no version 2"),
        "alias on a deleted version: {e}"
    );
    let e = message(c.set_registered_model_alias("m", "champ", 9));
    assert!(
        e.contains("has no version 9"),
        "alias on a missing version: {e}"
    );
    let e = message(c.create_model_version("nope", "s3://x", None, None, &[]));
    assert!(
        e.contains("registered model \"nope\" does not exist"),
        "{e}"
    );
}

#[test]
fn names_stages_and_uris_are_checked() {
    let (_dir, c) = setup();
    let e = message(c.create_registered_model("m", None, &[]));
    assert!(
        e.contains("a registered model named \"m\" already exists"),
        "{e}"
    );
    c.create_registered_model("other", None, &[]).unwrap();
    let e = message(c.rename_registered_model("other", "m"));
    assert!(e.contains("\"m\" already exists"), "{e}");
    let e = message(c.create_registered_model("a/b", None, &[]));
    assert!(e.contains("registered model name"), "{e}");
    let e = message(c.transition_model_version_stage("m", 1, "bogus", false));
    assert!(
        e.contains("\"bogus\"") && e.contains("None, Staging, Production, Archived"),
        "{e}"
    );
    let e = message(c.transition_model_version_stage("m", 1, "archived", true));
    assert!(e.contains("only with Staging and Production"), "{e}");
    let e = message(c.get_latest_versions("m", &["prod"]));
    assert!(e.contains("\"prod\""), "{e}");
    let e = message(c.set_registered_model_alias("m", "latest", 1));
    assert!(e.contains("latest"), "{e}");
    let e = message(c.set_registered_model_alias("m", "v1", 1));
    assert!(e.contains("v1"), "{e}");
    let e = message(c.set_registered_model_alias("m", "a b", 1));
    assert!(e.contains("alias"), "{e}");
    for bad in [
        "models:/m/1/x",
        "runs:/abc/model",
        "models:/m@",
        "models:/m-123",
    ] {
        let e = message(c.resolve_model_uri(bad));
        assert!(e.contains("not a proper models:/ URI"), "{bad}: {e}");
    }
    let e = message(c.resolve_model_uri("models:/m/bogus"));
    assert!(e.contains("invalid model version stage \"bogus\""), "{e}");
    let e = message(c.search_registered_models(Some("name > 'a'"), &[], 10, None));
    assert!(e.contains("Invalid comparator '>'"), "{e}");
    let e = message(c.search_model_versions(None, &["tags.x"], 10, None));
    assert!(e.contains("Invalid order_by entity: tag"), "{e}");
    let e = message(c.search_registered_models(None, &[], 0, None));
    assert!(e.contains("max_results"), "{e}");
    let e = message(c.create_model_version("m", "models:/m/9", None, None, &[]));
    assert!(e.contains("unable to fetch the model of source"), "{e}");
}

#[test]
fn refused_calls_journal_nothing_and_missing_keys_are_no_error() {
    let (dir, c) = setup();
    let journal = dir.path().join(MODELS_JOURNAL);
    let before = std::fs::read(&journal).unwrap();
    let _ = c.create_registered_model("m", None, &[]);
    let _ = c.transition_model_version_stage("m", 1, "bogus", false);
    let _ = c.set_registered_model_alias("m", "x", 2);
    let _ = c.delete_model_version("m", 2);
    // As MLflow: deleting a tag or alias that is not there changes nothing, silently.
    c.delete_registered_model_tag("m", "nope").unwrap();
    c.delete_model_version_tag("m", 1, "nope").unwrap();
    c.delete_registered_model_alias("m", "nope").unwrap();
    assert_eq!(std::fs::read(&journal).unwrap(), before);
}

mod hostile {
    use super::*;
    use proptest::prelude::*;

    fn cases() -> u32 {
        std::env::var("RUNLOG_PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(32)
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,12}".boxed(),
            Just("m".to_owned()).boxed(),
            Just("../m".to_owned()).boxed(),
            Just("latest".to_owned()).boxed(),
            Just("models:/m/1".to_owned()).boxed(),
            Just("models:/m@a".to_owned()).boxed(),
            Just("name = 'm'".to_owned()).boxed(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

        /// Arbitrary names, keys, aliases, stages, URIs and filters at every registry entry
        /// point: no panic; a refused call leaves the journal as it was.
        #[test]
        fn arbitrary_input_never_panics_and_refusals_journal_nothing(
            a in text(), b in text(), version in 0u64..4, flag in any::<bool>(),
        ) {
            let (dir, c) = setup();
            let journal = dir.path().join(MODELS_JOURNAL);
            let calls: Vec<Box<dyn Fn() -> bool + '_>> = vec![
                Box::new(|| c.create_registered_model(&a, Some(&b), &[(&b, &a)]).is_ok()),
                Box::new(|| c.rename_registered_model(&a, &b).is_ok()),
                Box::new(|| c.set_registered_model_tag(&a, &b, &a).is_ok()),
                Box::new(|| c.delete_registered_model_tag(&a, &b).is_ok()),
                Box::new(|| c.create_model_version(&a, &b, None, None, &[]).is_ok()),
                Box::new(|| c.set_model_version_tag(&a, version, &b, "v").is_ok()),
                Box::new(|| c.transition_model_version_stage(&a, version, &b, flag).is_ok()),
                Box::new(|| c.set_registered_model_alias(&a, &b, version).is_ok()),
                Box::new(|| c.delete_registered_model_alias(&a, &b).is_ok()),
                Box::new(|| c.get_model_version_by_alias(&a, &b).is_ok()),
                Box::new(|| c.get_latest_versions(&a, &[&b]).is_ok()),
                Box::new(|| c.resolve_model_uri(&a).is_ok()),
                Box::new(|| c.model_version_lineage(&b).is_ok()),
                Box::new(|| c.search_registered_models(Some(&a), &[&b], 10, None).is_ok()),
                Box::new(|| c.search_model_versions(Some(&a), &[&b], 10, Some(&b)).is_ok()),
            ];
            for call in &calls {
                let before = std::fs::read(&journal).unwrap();
                if !call() {
                    prop_assert_eq!(std::fs::read(&journal).unwrap(), before);
                }
            }
            // Whatever happened, a rebuild reads back the same registry.
            let all = |c: &Catalog| {
                c.search_model_versions(None, &["name", "version_number"], 1000, None)
                    .unwrap()
                    .items
            };
            let models = |c: &Catalog| c.search_registered_models(None, &[], 1000, None).unwrap().items;
            let (want_v, want_m) = (all(&c), models(&c));
            drop(calls);
            drop(c);
            let rebuilt = Catalog::rebuild(dir.path()).unwrap();
            prop_assert_eq!(all(&rebuilt), want_v);
            prop_assert_eq!(models(&rebuilt), want_m);
        }
    }
}
