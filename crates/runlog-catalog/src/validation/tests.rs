//! Every rule, with accepted and refused examples; exact messages for a sample of errors.

use super::*;

type Validator = fn(&str) -> Result<(), ValidationError>;

/// Every key validator, each with the subject its errors name and its length limit.
fn key_validators() -> [(Subject, Validator, usize); 5] {
    [
        (Subject::MetricKey, validate_metric_key, MAX_KEY_LENGTH),
        (Subject::ParamKey, validate_param_key, MAX_KEY_LENGTH),
        (Subject::TagKey, validate_tag_key, MAX_KEY_LENGTH),
        (
            Subject::ExperimentTagKey,
            |k| validate_experiment_tag(k, "v"),
            MAX_EXPERIMENT_TAG_KEY_LENGTH,
        ),
        (
            Subject::ModelTagKey,
            |k| validate_model_tag(k, "v"),
            MAX_MODEL_TAG_KEY_LENGTH,
        ),
    ]
}

fn bad_char(result: Result<(), ValidationError>) -> char {
    match result {
        Err(ValidationError::BadCharacter { character, .. }) => character,
        other => panic!("expected BadCharacter, got {other:?}"),
    }
}

fn path_problem(result: Result<(), ValidationError>) -> PathProblem {
    match result {
        Err(ValidationError::UnsafePath { problem, .. }) => problem,
        other => panic!("expected UnsafePath, got {other:?}"),
    }
}

fn not_normalized(resolves_to: &str) -> PathProblem {
    PathProblem::NotNormalized {
        resolves_to: resolves_to.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------
// Keys

#[test]
fn keys_accept_what_mlflow_accepts() {
    let accepted = [
        "loss",
        "train/loss",
        "größe",
        "with space",
        "colon:key",
        "model/depth",
        "mlflow.runName",
        "a-b_c.d",
        "x²",
        "½",
        "Ⅳ",
        "ǅ",
        "日本語",
        "١٢٣",
        "a..b",
        " a",
        "a ",
        "a/.b",
        "a/..b",
        "a/...",
        "_",
        "-",
    ];
    for (what, validate, _) in key_validators() {
        for key in accepted {
            assert_eq!(validate(key), Ok(()), "{what} {key:?}");
        }
    }
}

#[test]
fn keys_refuse_characters_outside_the_mlflow_set() {
    let refused = [
        ("a\nb", '\n'),
        ("a\tb", '\t'),
        ("a\0b", '\0'),
        ("a\\b", '\\'),
        ("C:\\runs\\x", '\\'),
        ("a*b", '*'),
        ("a,b", ','),
        ("a=b", '='),
        ("a\u{a0}b", '\u{a0}'),
        ("e\u{301}", '\u{301}'),
        ("emoji😀", '😀'),
        // `Other_Alphabetic`: Rust calls these alphabetic, Python does not.
        ("Ⓐ", 'Ⓐ'),
        ("क\u{93e}", '\u{93e}'),
        // A letter first assigned in Unicode 14 (Vithkuqi): MLflow on Python 3.10 refuses it.
        ("\u{10570}", '\u{10570}'),
    ];
    for (what, validate, _) in key_validators() {
        for (key, character) in refused {
            assert_eq!(bad_char(validate(key)), character, "{what} {key:?}");
        }
    }
}

#[test]
fn keys_refuse_a_trailing_newline_that_mlflow_3_17_lets_through() {
    for (_, validate, _) in key_validators() {
        assert_eq!(bad_char(validate("loss\n")), '\n');
    }
}

#[test]
fn keys_must_not_be_empty() {
    for (what, validate, _) in key_validators() {
        assert_eq!(validate(""), Err(ValidationError::Empty { what }));
    }
}

#[test]
fn keys_must_be_normalised_relative_paths() {
    let cases = [
        (".", PathProblem::CurrentDirectory),
        ("..", PathProblem::ParentDirectory),
        ("..a", PathProblem::ParentDirectory),
        ("../a", PathProblem::ParentDirectory),
        (".../a", PathProblem::ParentDirectory),
        ("/a", PathProblem::Absolute),
        ("//a", PathProblem::Absolute),
        ("/", PathProblem::Absolute),
        ("a/", not_normalized("a")),
        ("a//b", not_normalized("a/b")),
        ("./a", not_normalized("a")),
        ("a/./b", not_normalized("a/b")),
        ("a/.", not_normalized("a")),
        ("a/../b", not_normalized("b")),
        ("a/..", not_normalized(".")),
        ("a/b/../../..", not_normalized("..")),
    ];
    for (what, validate, _) in key_validators() {
        for (key, problem) in &cases {
            assert_eq!(&path_problem(validate(key)), problem, "{what} {key:?}");
        }
    }
}

#[test]
fn keys_may_be_250_characters_long_and_not_251() {
    for (what, validate, limit) in key_validators() {
        assert_eq!(limit, 250);
        assert_eq!(validate(&"a".repeat(250)), Ok(()));
        assert_eq!(validate(&"a/".repeat(125)[..249]), Ok(()));
        let long = "a".repeat(251);
        assert_eq!(
            validate(&long),
            Err(ValidationError::TooLong {
                what,
                value: long.clone(),
                length: 251,
                limit: 250
            })
        );
    }
}

#[test]
fn key_lengths_count_characters_not_bytes() {
    // 250 characters, 375 bytes, no part longer than 255 bytes.
    let key = ["日".repeat(83), "日".repeat(83), "日".repeat(82)].join("/");
    assert_eq!(key.chars().count(), 250);
    for (_, validate, _) in key_validators() {
        assert_eq!(validate(&key), Ok(()));
        let one_more = format!("{key}日");
        assert!(matches!(
            validate(&one_more),
            Err(ValidationError::TooLong { length: 251, .. })
        ));
    }
}

#[test]
fn each_key_part_must_fit_in_a_file_name() {
    let at_limit = format!("{}a", "é".repeat(127));
    assert_eq!(at_limit.len(), 255);
    let over = "é".repeat(128);
    for (what, validate, _) in key_validators() {
        assert_eq!(validate(&at_limit), Ok(()));
        assert_eq!(validate(&format!("x/{at_limit}/y")), Ok(()));
        assert_eq!(
            validate(&over),
            Err(ValidationError::FileNameTooLong {
                what,
                value: over.clone(),
                bytes: 256,
                limit: 255
            })
        );
        assert!(matches!(
            validate(&format!("x/{over}")),
            Err(ValidationError::FileNameTooLong { bytes: 256, .. })
        ));
    }
}

#[test]
fn key_checks_run_in_mlflow_order_characters_then_path_then_length() {
    let bad_and_long = format!("{}*", "a".repeat(300));
    assert_eq!(bad_char(validate_param_key(&bad_and_long)), '*');
    let unsafe_and_long = format!("/{}", "a".repeat(300));
    assert_eq!(
        path_problem(validate_param_key(&unsafe_and_long)),
        PathProblem::Absolute
    );
}

// ---------------------------------------------------------------------------------------
// Values

#[test]
fn param_values_may_be_6000_characters_and_not_6001() {
    assert_eq!(validate_param("lr", ""), Ok(()));
    assert_eq!(validate_param("lr", &"x".repeat(6000)), Ok(()));
    assert_eq!(validate_param("lr", &"é".repeat(6000)), Ok(()));
    assert_eq!(
        validate_param("lr", &"é".repeat(6001)),
        Err(ValidationError::ValueTooLong {
            what: Subject::ParamValue,
            key: "lr".into(),
            length: 6001,
            limit: 6000
        })
    );
}

#[test]
fn a_bad_param_key_is_reported_before_a_long_value() {
    assert_eq!(
        validate_param("", &"x".repeat(7000)),
        Err(ValidationError::Empty {
            what: Subject::ParamKey
        })
    );
}

#[test]
fn tag_values_may_be_8000_characters_and_not_8001() {
    assert_eq!(validate_tag("t", ""), Ok(()));
    assert_eq!(validate_tag("t", &"x".repeat(8000)), Ok(()));
    assert!(matches!(
        validate_tag("t", &"x".repeat(8001)),
        Err(ValidationError::ValueTooLong {
            what: Subject::TagValue,
            length: 8001,
            limit: 8000,
            ..
        })
    ));
    assert!(matches!(
        validate_tag("a\nb", "v"),
        Err(ValidationError::BadCharacter {
            what: Subject::TagKey,
            ..
        })
    ));
}

#[test]
fn experiment_tag_values_may_be_20000_characters_and_not_20001() {
    assert_eq!(
        validate_experiment_tag("mlflow.note.content", &"x".repeat(20_000)),
        Ok(())
    );
    assert!(matches!(
        validate_experiment_tag("mlflow.note.content", &"x".repeat(20_001)),
        Err(ValidationError::ValueTooLong {
            what: Subject::ExperimentTagValue,
            length: 20_001,
            ..
        })
    ));
}

#[test]
fn model_tag_values_may_be_100000_characters_and_not_100001() {
    assert_eq!(validate_model_tag("k", &"x".repeat(100_000)), Ok(()));
    assert!(matches!(
        validate_model_tag("k", &"x".repeat(100_001)),
        Err(ValidationError::ValueTooLong {
            what: Subject::ModelTagValue,
            length: 100_001,
            ..
        })
    ));
}

#[test]
fn truncate_chars_cuts_at_a_character_count() {
    assert_eq!(truncate_chars("abcdef", 3), "abc");
    assert_eq!(truncate_chars("héllo", 2), "hé");
    assert_eq!(truncate_chars("abc", 3), "abc");
    assert_eq!(truncate_chars("abc", 10), "abc");
    assert_eq!(truncate_chars("abc", 0), "");
    let long = "é".repeat(7000);
    let cut = truncate_chars(&long, MAX_PARAM_VALUE_LENGTH);
    assert_eq!(cut.chars().count(), 6000);
    assert_eq!(validate_param("p", cut), Ok(()));
}

// ---------------------------------------------------------------------------------------
// Metrics

#[test]
fn metrics_take_every_value_and_step_and_non_negative_timestamps() {
    for value in [
        0.0,
        -0.0,
        1e308,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
    ] {
        assert_eq!(validate_metric("m", value, 0, 0), Ok(()));
    }
    for step in [i64::MIN, -3, 0, i64::MAX] {
        assert_eq!(validate_metric("m", 1.0, 1_700_000_000_000, step), Ok(()));
    }
    assert_eq!(validate_metric("m", 1.0, i64::MAX, 0), Ok(()));
    assert_eq!(
        validate_metric("m", 1.0, -1, 0),
        Err(ValidationError::NegativeTimestamp {
            key: "m".into(),
            timestamp: -1
        })
    );
    assert_eq!(
        validate_metric("", 1.0, -1, 0),
        Err(ValidationError::Empty {
            what: Subject::MetricKey
        })
    );
}

// ---------------------------------------------------------------------------------------
// Experiment names

#[test]
fn experiment_names_take_any_character() {
    for name in [
        "Default",
        "实验",
        "a/b:c%d\\e",
        "a\nb",
        " padded ",
        "..",
        ".",
    ] {
        assert_eq!(validate_experiment_name(name), Ok(()), "{name:?}");
    }
}

#[test]
fn experiment_names_must_not_be_empty_or_blank() {
    assert_eq!(
        validate_experiment_name(""),
        Err(ValidationError::Empty {
            what: Subject::ExperimentName
        })
    );
    for blank in [" ", "   ", "\t\n", "\u{3000}", "\u{a0}", "\u{1c}\u{1f}"] {
        assert_eq!(
            validate_experiment_name(blank),
            Err(ValidationError::Blank {
                what: Subject::ExperimentName,
                value: blank.into()
            }),
            "{blank:?}"
        );
    }
}

#[test]
fn experiment_names_may_be_500_characters_and_not_501() {
    assert_eq!(validate_experiment_name(&"n".repeat(500)), Ok(()));
    assert_eq!(validate_experiment_name(&"é".repeat(500)), Ok(()));
    assert!(matches!(
        validate_experiment_name(&"é".repeat(501)),
        Err(ValidationError::TooLong {
            what: Subject::ExperimentName,
            length: 501,
            limit: 500,
            ..
        })
    ));
}

// ---------------------------------------------------------------------------------------
// Run names

#[test]
fn run_names_take_any_character() {
    for name in ["mysterious-horse-266", "a/b:c", "größe", " ", "a\nb", ".."] {
        assert_eq!(validate_run_name(name), Ok(()), "{name:?}");
    }
}

#[test]
fn run_names_must_not_be_empty() {
    assert_eq!(
        validate_run_name(""),
        Err(ValidationError::Empty {
            what: Subject::RunName
        })
    );
}

#[test]
fn run_names_may_be_250_characters_and_not_251() {
    assert_eq!(validate_run_name(&"é".repeat(250)), Ok(()));
    assert!(matches!(
        validate_run_name(&"é".repeat(251)),
        Err(ValidationError::TooLong {
            what: Subject::RunName,
            length: 251,
            limit: 250,
            ..
        })
    ));
}

// ---------------------------------------------------------------------------------------
// Registered model names

#[test]
fn model_names_accept_what_the_mlflow_file_store_accepts() {
    for name in [
        "my-model",
        "My Model v2",
        "größe",
        "x..",
        "a.b",
        " m",
        "m\n",
        "a*b",
        "日本語",
    ] {
        assert_eq!(validate_model_name(name), Ok(()), "{name:?}");
    }
}

#[test]
fn model_names_must_not_be_empty_or_blank() {
    assert_eq!(
        validate_model_name(""),
        Err(ValidationError::Empty {
            what: Subject::ModelName
        })
    );
    for blank in ["  ", "\t", "\u{1c}", "\u{2028}"] {
        assert!(
            matches!(
                validate_model_name(blank),
                Err(ValidationError::Blank { .. })
            ),
            "{blank:?}"
        );
    }
}

#[test]
fn model_names_refuse_separators_colons_percent_and_nul() {
    for (name, character) in [
        ("a/b", '/'),
        ("a:b", ':'),
        ("a\\b", '\\'),
        ("C:\\models", ':'),
        ("50%", '%'),
        ("a\0b", '\0'),
    ] {
        assert_eq!(bad_char(validate_model_name(name)), character, "{name:?}");
    }
}

#[test]
fn model_names_must_not_be_dot_or_start_with_two_dots() {
    assert_eq!(
        path_problem(validate_model_name(".")),
        PathProblem::CurrentDirectory
    );
    assert_eq!(
        path_problem(validate_model_name("..")),
        PathProblem::ParentDirectory
    );
    assert_eq!(
        path_problem(validate_model_name("..x")),
        PathProblem::ParentDirectory
    );
}

#[test]
fn model_names_must_fit_in_a_file_name() {
    assert_eq!(validate_model_name(&"a".repeat(255)), Ok(()));
    assert_eq!(
        validate_model_name(&format!("{}a", "é".repeat(127))),
        Ok(())
    );
    assert!(matches!(
        validate_model_name(&"a".repeat(256)),
        Err(ValidationError::FileNameTooLong {
            bytes: 256,
            limit: 255,
            ..
        })
    ));
    assert!(matches!(
        validate_model_name(&"é".repeat(128)),
        Err(ValidationError::FileNameTooLong { bytes: 256, .. })
    ));
}

// ---------------------------------------------------------------------------------------
// Aliases

#[test]
fn aliases_take_alphanumerics_underscores_and_dashes() {
    for alias in [
        "champion",
        "prod-2024_a",
        "größe",
        "v",
        "v1a",
        "version1",
        "latest1",
        "x²",
        "vⅣ",
        "V",
    ] {
        assert_eq!(validate_alias(alias), Ok(()), "{alias:?}");
    }
}

#[test]
fn aliases_refuse_other_characters() {
    for (alias, character) in [
        ("a.b", '.'),
        ("a b", ' '),
        ("a/b", '/'),
        ("a:b", ':'),
        ("ab\n", '\n'),
        ("é\u{301}", '\u{301}'),
    ] {
        assert_eq!(bad_char(validate_alias(alias)), character, "{alias:?}");
        assert_eq!(
            bad_char(validate_alias_for_lookup(alias)),
            character,
            "{alias:?}"
        );
    }
}

#[test]
fn aliases_must_not_be_empty() {
    assert_eq!(
        validate_alias(""),
        Err(ValidationError::Empty {
            what: Subject::Alias
        })
    );
    assert_eq!(
        validate_alias_for_lookup(""),
        Err(ValidationError::Empty {
            what: Subject::Alias
        })
    );
}

#[test]
fn aliases_may_be_255_characters_and_not_256() {
    assert_eq!(validate_alias(&"a".repeat(255)), Ok(()));
    assert!(matches!(
        validate_alias(&"a".repeat(256)),
        Err(ValidationError::TooLong {
            what: Subject::Alias,
            length: 256,
            limit: 255,
            ..
        })
    ));
}

#[test]
fn aliases_must_fit_in_a_file_name() {
    assert_eq!(validate_alias(&format!("{}a", "é".repeat(127))), Ok(()));
    assert!(matches!(
        validate_alias(&"é".repeat(128)),
        Err(ValidationError::FileNameTooLong {
            what: Subject::Alias,
            bytes: 256,
            ..
        })
    ));
}

#[test]
fn latest_in_any_case_and_version_numbers_are_reserved() {
    for alias in ["latest", "LATEST", "LaTeSt"] {
        assert_eq!(
            validate_alias(alias),
            Err(ValidationError::Reserved {
                value: alias.into(),
                reason: ReservedAlias::Latest
            })
        );
    }
    // `\d` is Unicode: Arabic-Indic digits name versions too; `²` is not a decimal digit.
    for alias in ["v1", "V42", "v007", "v١٢"] {
        assert_eq!(
            validate_alias(alias),
            Err(ValidationError::Reserved {
                value: alias.into(),
                reason: ReservedAlias::VersionNumber
            })
        );
    }
    assert_eq!(validate_alias("v²"), Ok(()));
}

#[test]
fn reserved_aliases_can_still_be_looked_up() {
    for alias in ["latest", "LATEST", "v3"] {
        assert_eq!(validate_alias_for_lookup(alias), Ok(()));
    }
}

// ---------------------------------------------------------------------------------------
// Ids

#[test]
fn run_ids_are_32_lowercase_hex_digits() {
    assert_eq!(validate_run_id("0cdda0c0b2cf49fd806477d796fe9291"), Ok(()));
    assert_eq!(validate_run_id(&"f".repeat(32)), Ok(()));
    assert_eq!(
        validate_run_id(""),
        Err(ValidationError::Empty {
            what: Subject::RunId
        })
    );
    assert_eq!(
        bad_char(validate_run_id("0CDDA0C0B2CF49FD806477D796FE9291")),
        'C'
    );
    assert_eq!(
        bad_char(validate_run_id("0cdda0c0-b2cf-49fd-8064-77d796fe9291")),
        '-'
    );
    assert_eq!(bad_char(validate_run_id("g")), 'g');
    assert_eq!(
        bad_char(validate_run_id("../0cdda0c0b2cf49fd806477d796fe92")),
        '.'
    );
    assert_eq!(bad_char(validate_run_id("é")), 'é');
    for length in [1, 31, 33, 64] {
        assert_eq!(
            validate_run_id(&"a".repeat(length)),
            Err(ValidationError::RunIdLength {
                value: "a".repeat(length),
                length
            })
        );
    }
}

#[test]
fn experiment_ids_are_canonical_decimal_i64s() {
    for id in ["0", "1", "42", "318869208966481661", "9223372036854775807"] {
        assert_eq!(validate_experiment_id(id), Ok(()), "{id}");
    }
    assert_eq!(
        validate_experiment_id(""),
        Err(ValidationError::Empty {
            what: Subject::ExperimentId
        })
    );
    for (id, character) in [
        ("-1", '-'),
        ("+1", '+'),
        ("1a", 'a'),
        ("١", '١'),
        ("12\n", '\n'),
        (" 1", ' '),
    ] {
        assert_eq!(bad_char(validate_experiment_id(id)), character, "{id:?}");
    }
    for id in ["00", "007"] {
        assert_eq!(
            validate_experiment_id(id),
            Err(ValidationError::ExperimentIdLeadingZero { value: id.into() })
        );
    }
    for id in ["9223372036854775808", "99999999999999999999999"] {
        assert_eq!(
            validate_experiment_id(id),
            Err(ValidationError::ExperimentIdOutOfRange { value: id.into() })
        );
    }
}

// ---------------------------------------------------------------------------------------
// Batches

#[test]
fn batch_limits_are_checked_per_part_then_in_total() {
    for ok in [(0, 0, 0), (1000, 0, 0), (0, 100, 100), (800, 100, 100)] {
        assert_eq!(validate_batch_sizes(ok.0, ok.1, ok.2), Ok(()), "{ok:?}");
    }
    let too_large = |part, count, limit| Err(ValidationError::BatchTooLarge { part, count, limit });
    assert_eq!(
        validate_batch_sizes(1001, 0, 0),
        too_large(BatchPart::Metrics, 1001, 1000)
    );
    assert_eq!(
        validate_batch_sizes(0, 101, 0),
        too_large(BatchPart::Params, 101, 100)
    );
    assert_eq!(
        validate_batch_sizes(0, 0, 101),
        too_large(BatchPart::Tags, 101, 100)
    );
    assert_eq!(
        validate_batch_sizes(801, 100, 100),
        too_large(BatchPart::Total, 1001, 1000)
    );
    assert_eq!(
        validate_batch_sizes(1001, 101, 101),
        too_large(BatchPart::Metrics, 1001, 1000)
    );
    assert_eq!(
        validate_batch_sizes(0, usize::MAX, usize::MAX),
        too_large(BatchPart::Params, usize::MAX, 100)
    );
    assert_eq!(
        validate_batch_sizes(999, 1, usize::MAX),
        too_large(BatchPart::Tags, usize::MAX, 100)
    );
}

#[test]
fn batch_param_keys_must_be_unique() {
    assert_eq!(validate_unique_param_keys([]), Ok(()));
    assert_eq!(validate_unique_param_keys(["a", "b", "A"]), Ok(()));
    assert_eq!(
        validate_unique_param_keys(["a", "b", "b", "a"]),
        Err(ValidationError::DuplicateParamKey { key: "b".into() })
    );
}

// ---------------------------------------------------------------------------------------
// Messages

#[test]
fn messages_name_the_value_and_say_what_is_allowed() {
    let message = |r: Result<(), ValidationError>| r.unwrap_err().to_string();
    assert_eq!(
        message(validate_metric_key("a\nb")),
        "invalid metric key \"a\\nb\": metric keys may contain only alphanumerics, underscores (_), \
         dashes (-), periods (.), spaces ( ), colons (:) and slashes (/); found '\\n' (U+000A)"
    );
    assert_eq!(
        message(validate_tag_key("a//b")),
        "invalid tag key \"a//b\": tag keys are used as file paths and must not resolve to another \
         name (no empty, \".\" or \"..\" parts and no trailing '/'); this one resolves to \"a/b\""
    );
    assert_eq!(
        message(validate_param_key("../x")),
        "invalid param key \"../x\": param keys are used as file paths and must not start with \"..\""
    );
    assert_eq!(
        message(validate_param("lr", &"1".repeat(6001))),
        "param \"lr\" has a value of 6001 characters; param values may be at most 6000 characters long"
    );
    assert_eq!(
        message(validate_param_key(&"k".repeat(251))),
        format!(
            "invalid param key \"{}\"… (251 characters): param keys may be at most 250 characters long",
            "k".repeat(80)
        )
    );
    assert_eq!(
        message(validate_metric_key(&"é".repeat(128))),
        format!(
            "invalid metric key \"{}\"… (128 characters): each '/'-separated part of a metric key \
             becomes a file name in an MLflow file store and may be at most 255 bytes of UTF-8; \
             one part has 256",
            "é".repeat(80)
        )
    );
    assert_eq!(
        message(validate_model_name("a/b")),
        "invalid registered model name \"a/b\": registered model names must not contain slashes (/), \
         backslashes (\\), colons (:), percent signs (%) or NUL; found '/' (U+002F)"
    );
    assert_eq!(
        message(validate_alias("Latest")),
        "invalid alias \"Latest\": \"latest\" (in any letter case) is reserved for the newest version"
    );
    assert_eq!(
        message(validate_alias("v3")),
        "invalid alias \"v3\": 'v' or 'V' followed by digits is reserved for version numbers"
    );
    assert_eq!(
        message(validate_run_name("")),
        "invalid run name \"\": run names must not be empty (MLflow takes an empty name as no name \
         and generates one)"
    );
    assert_eq!(
        message(validate_experiment_name("  ")),
        "invalid experiment name \"  \": experiment names must contain a character other than whitespace"
    );
    assert_eq!(
        message(validate_run_id("abc")),
        "invalid run id \"abc\": run ids are exactly 32 lowercase hex digits, this one has 3"
    );
    assert_eq!(
        message(validate_experiment_id("x")),
        "invalid experiment id \"x\": experiment ids are decimal numbers (digits 0-9); found 'x' (U+0078)"
    );
    assert_eq!(
        message(validate_metric("m", 0.0, -5, 0)),
        "metric \"m\" has timestamp -5; timestamps must be non-negative (milliseconds since the Unix epoch)"
    );
    assert_eq!(
        message(validate_batch_sizes(0, 101, 0)),
        "a log_batch request can contain at most 100 params, got 101; split them across several requests"
    );
    assert_eq!(
        message(validate_unique_param_keys(["lr", "lr"])),
        "a log_batch request has param \"lr\" more than once; each param key may appear once"
    );
}

#[test]
fn messages_escape_invisible_characters() {
    let message = validate_metric_key("e\u{301}\u{200b}")
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("invalid metric key \"e\\u{301}\\u{200b}\""),
        "{message}"
    );
    assert!(message.ends_with("found '\\u{301}' (U+0301)"), "{message}");
}

// ---------------------------------------------------------------------------------------
// Internals

#[test]
fn normpath_matches_python_posixpath() {
    // Expected values printed by Python 3.11's `posixpath.normpath`.
    let cases = [
        ("", "."),
        (".", "."),
        ("..", ".."),
        ("/", "/"),
        ("//", "//"),
        ("///", "/"),
        ("a", "a"),
        ("a/", "a"),
        ("a//b", "a/b"),
        ("//a", "//a"),
        ("///a", "/a"),
        ("./a", "a"),
        ("a/./b", "a/b"),
        ("a/../b", "b"),
        ("../a", "../a"),
        ("a/..", "."),
        ("a/../..", ".."),
        ("../../a", "../../a"),
        ("a/b/../../..", ".."),
        ("/..", "/"),
        ("/../a", "/a"),
        ("//..", "//"),
        (" a", " a"),
        ("a..b", "a..b"),
        ("..a", "..a"),
        ("a/.b", "a/.b"),
        ("a/..b", "a/..b"),
        ("a/...", "a/..."),
        (".../a", ".../a"),
        ("a/b/", "a/b"),
        ("a/./", "a"),
        ("x/../y/../z", "z"),
    ];
    for (path, expected) in cases {
        assert_eq!(python_posix_normpath(path), expected, "{path:?}");
    }
}

#[test]
fn unicode_tables_are_sorted_disjoint_ranges() {
    for table in [unicode_tables::WORD, unicode_tables::DECIMAL] {
        for &(low, high) in table {
            assert!(low <= high);
        }
        for pair in table.windows(2) {
            assert!(pair[0].1 < pair[1].0, "{pair:?}");
        }
    }
}

#[test]
fn python_word_characters_are_rust_alphanumerics_too() {
    for &(low, high) in unicode_tables::WORD {
        for c in (low..=high).filter_map(char::from_u32) {
            assert!(c.is_alphanumeric() || c == '_', "U+{:04X}", u32::from(c));
        }
    }
    for &(low, high) in unicode_tables::DECIMAL {
        for c in (low..=high).filter_map(char::from_u32) {
            assert!(
                c.is_numeric() && is_python_word(c),
                "U+{:04X}",
                u32::from(c)
            );
        }
    }
}

#[test]
fn python_word_spot_checks() {
    for c in [
        'a', 'Z', '0', '_', 'é', 'ß', '²', '½', 'Ⅳ', '〇', 'ǅ', 'ª', '日', '١',
    ] {
        assert!(is_python_word(c), "{c:?}");
    }
    for c in [
        '-',
        ' ',
        '.',
        '\u{301}',
        '\u{93e}',
        'Ⓐ',
        '😀',
        '\u{a0}',
        '\u{10570}',
        '\u{200b}',
    ] {
        assert!(!is_python_word(c), "{c:?}");
    }
    assert!(is_python_decimal('٣') && is_python_decimal('9'));
    assert!(!is_python_decimal('²') && !is_python_decimal('½') && !is_python_decimal('a'));
}

#[test]
fn python_blank_includes_the_information_separators() {
    let python_isspace = [
        0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001,
        0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029,
        0x202f, 0x205f, 0x3000,
    ];
    for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
        let expected = python_isspace.contains(&u32::from(c));
        assert_eq!(
            is_python_blank(c.encode_utf8(&mut [0; 4])),
            expected,
            "U+{:04X}",
            u32::from(c)
        );
    }
    assert!(is_python_blank(""));
}
