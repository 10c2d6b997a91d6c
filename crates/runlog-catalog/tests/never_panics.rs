//! Property tests: no string makes a validator panic, every error formats, and the five key
//! validators agree with each other.
//!
//! The case count comes from `RUNLOG_PROPTEST_CASES` (default 256).

use proptest::prelude::*;
use runlog_catalog::validation::*;

fn cases() -> u32 {
    std::env::var("RUNLOG_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Arbitrary strings, and strings made of the characters the rules care about, so that a good
/// share of them pass some checks and reach the later ones.
fn input() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9_/. :\\-]{0,20}",
        "[a/.\\\\:%\\-_ é²Ⓐ\u{301}\u{1c}\n0vV]{0,12}",
        "[0-9a-f]{30,34}",
        "[0-9]{0,22}",
        "(é|a|/){100,300}",
    ]
}

fn check(result: Result<(), ValidationError>) {
    if let Err(e) = result {
        let message = e.to_string();
        assert!(!message.is_empty());
        // Messages show at most 80 characters of a value: they stay short.
        assert!(message.chars().count() < 800, "{message}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn validators_never_panic(s in input(), t in input(), n in any::<i64>()) {
        check(validate_metric_key(&s));
        check(validate_metric(&s, f64::NAN, n, n));
        check(validate_param_key(&s));
        check(validate_param(&s, &t));
        check(validate_tag_key(&s));
        check(validate_tag(&s, &t));
        check(validate_experiment_tag(&s, &t));
        check(validate_model_tag(&s, &t));
        check(validate_experiment_name(&s));
        check(validate_run_name(&s));
        check(validate_model_name(&s));
        check(validate_alias(&s));
        check(validate_alias_for_lookup(&s));
        check(validate_run_id(&s));
        check(validate_experiment_id(&s));
        check(validate_unique_param_keys([s.as_str(), t.as_str()]));
    }

    #[test]
    fn batch_sizes_never_panic(m in any::<usize>(), p in any::<usize>(), t in any::<usize>()) {
        check(validate_batch_sizes(m, p, t));
    }

    #[test]
    fn key_validators_agree(s in input()) {
        let verdict = validate_param_key(&s).is_ok();
        prop_assert_eq!(validate_metric_key(&s).is_ok(), verdict);
        prop_assert_eq!(validate_tag_key(&s).is_ok(), verdict);
        prop_assert_eq!(validate_experiment_tag(&s, "").is_ok(), verdict);
        prop_assert_eq!(validate_model_tag(&s, "").is_ok(), verdict);
    }

    #[test]
    fn accepted_aliases_are_looked_up_too(s in input()) {
        if validate_alias(&s).is_ok() {
            prop_assert!(validate_alias_for_lookup(&s).is_ok());
        }
    }

    #[test]
    fn truncate_chars_keeps_a_prefix_of_at_most_n_characters(s in any::<String>(), n in 0usize..64) {
        let cut = truncate_chars(&s, n);
        prop_assert!(s.starts_with(cut));
        prop_assert_eq!(cut.chars().count(), s.chars().count().min(n));
    }
}
