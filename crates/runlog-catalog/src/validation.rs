//! MLflow 3.17's validation rules for everything a user can name, one function per thing.
//!
//! Every rule comes from MLflow 3.17.2's `mlflow/utils/validation.py` (line numbers below are
//! that file's unless another file is named) or from its stores, and is documented on its
//! function. Lengths count Unicode code points, as Python's `len` does, unless they say bytes.
//!
//! | what | rule | MLflow source |
//! |---|---|---|
//! | metric, param and tag keys | characters `[/\w.\- :]` (Python's Unicode `\w`), path-normalised, ≤ 250 | `validate_param_and_metric_name` L321, `path_not_unique` L342, `MAX_ENTITY_KEY_LENGTH` L78 |
//! | param value | ≤ 6000 | `MAX_PARAM_VAL_LENGTH` L72, `_validate_param` L426 |
//! | run tag value | ≤ 8000 | `MAX_TAG_VAL_LENGTH` L73, `_validate_tag` L438 |
//! | experiment tag | key ≤ 250, value ≤ 20000 | L75–76, `_validate_experiment_tag` L451 |
//! | model registry tag | key ≤ 250, value ≤ 100000 | L79–80, `_validate_registered_model_tag` L461 |
//! | metric | timestamp ≥ 0; any value (NaN, ±inf); any step | `_validate_metric` L375 |
//! | experiment name | not empty, ≤ 500 | `_validate_experiment_name` L637 |
//! | registered model name | not blank, no `/` `:`; file store: no path separator, no `%` | L692; `store/model_registry/file_store.py` L81 |
//! | alias | `^[\w\-]*$`, not empty, ≤ 255; `latest` and `v<digits>` reserved | L723, L740 |
//! | run id, experiment id | `^[a-zA-Z0-9][\w\-]{0,255}$`, `^[a-zA-Z0-9][\w\-]{0,63}$` | L45, L49 |
//! | `log_batch` | ≤ 1000 metrics, ≤ 100 params, ≤ 100 tags, ≤ 1000 in all; no duplicate param key | L67–70, L604, L487 |
//!
//! # Where runlog is deliberately stricter
//!
//! runlog exports to MLflow's file store, where keys, registered model names and aliases
//! become file names, and the export must be readable by every MLflow it claims to support.
//! So it refuses a few things some MLflow accepts:
//!
//! * **Full match.** MLflow 3.17 matches its patterns with `re.match(…$)`, and `$` also
//!   matches before one final `\n`, so `"loss\n"` is a valid key (the file store then creates
//!   a file named `loss\n`). MLflow 3.18 uses full matches; so does runlog.
//! * **Unicode 13.** Python's `\w` depends on the running Python's Unicode database; runlog uses the
//!   one of Python 3.10 (Unicode 13.0), the oldest Python MLflow 3.17 supports, so a name it
//!   accepts is accepted everywhere (see `unicode_tables.rs`).
//! * **File-name length.** Each `/`-separated part of a key, and a whole registered model
//!   name or alias, becomes one file name, which Linux file systems limit to 255 bytes: the
//!   file store fails with `OSError: [Errno 36] File name too long` on a 250-character key
//!   of `é` (500 bytes). runlog refuses such parts ([`MAX_FILE_NAME_BYTES`]).
//! * **Lengths always checked.** The file store's single `set_tag` checks no length at all,
//!   and MLflow *truncates* param values and run tag values to their limits by default
//!   (`MLFLOW_TRUNCATE_LONG_VALUES`, L551). runlog checks every length on every path and
//!   refuses what is too long; a caller that wants MLflow's default truncates first with
//!   [`truncate_chars`].
//! * **Backslashes and NUL in registered model names.** The file store refuses the OS path
//!   separator, which is only `/` on Linux; runlog also refuses `\` (the Windows separator)
//!   and NUL (which no file name can hold).
//! * **Blank experiment names** (MLflow 3.18 refuses them too), **empty and over-long run
//!   names**, and **ids**: run ids must be 32 lowercase hex digits and experiment ids decimal
//!   numbers, the only forms MLflow itself creates and its SQL stores can hold (`runs.run_uuid`
//!   is `VARCHAR(32)`, experiment ids are integers).
//!
//! # Where runlog is as lax as MLflow on Linux
//!
//! Keys may contain `:`. MLflow on Windows refuses it (L324), and a Windows MLflow reading an
//! exported store with such a key finds the whole run unreadable. Keys may also end in a space
//! or a period, which Windows file names cannot. The file-store export has to deal with that,
//! and with keys that only clash as files: `a` and `a/b` (a file and a directory of the same
//! name), or `Loss` and `loss` on a case-insensitive file system.

mod error;
mod python;
mod unicode_tables;

#[cfg(test)]
mod tests;

use std::collections::HashSet;

pub use error::{BatchPart, PathProblem, ReservedAlias, Subject, ValidationError};
use python::{is_python_blank, is_python_decimal, is_python_word, python_posix_normpath};

/// Longest metric, param or run tag key, in characters (`MAX_ENTITY_KEY_LENGTH`, L78).
pub const MAX_KEY_LENGTH: usize = 250;
/// Longest experiment tag key, in characters (`MAX_EXPERIMENT_TAG_KEY_LENGTH`, L75).
pub const MAX_EXPERIMENT_TAG_KEY_LENGTH: usize = 250;
/// Longest registered model or model version tag key (`MAX_MODEL_REGISTRY_TAG_KEY_LENGTH`, L79).
pub const MAX_MODEL_TAG_KEY_LENGTH: usize = 250;
/// Longest param value, in characters (`MAX_PARAM_VAL_LENGTH`, L72).
pub const MAX_PARAM_VALUE_LENGTH: usize = 6000;
/// Longest run tag value, in characters (`MAX_TAG_VAL_LENGTH`, L73).
pub const MAX_TAG_VALUE_LENGTH: usize = 8000;
/// Longest experiment tag value, in characters (`MAX_EXPERIMENT_TAG_VAL_LENGTH`, L76).
pub const MAX_EXPERIMENT_TAG_VALUE_LENGTH: usize = 20_000;
/// Longest registered model or model version tag value (`MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH`,
/// L80).
pub const MAX_MODEL_TAG_VALUE_LENGTH: usize = 100_000;
/// Longest experiment name, in characters (`MAX_EXPERIMENT_NAME_LENGTH`, L74).
pub const MAX_EXPERIMENT_NAME_LENGTH: usize = 500;
/// Longest run name, in characters: the SQL stores' `runs.name` column is `VARCHAR(250)`
/// (`store/tracking/dbmodels/models.py` L261). MLflow's validation has no run-name limit.
pub const MAX_RUN_NAME_LENGTH: usize = 250;
/// Longest alias, in characters (`MAX_REGISTERED_MODEL_ALIAS_LENGTH`, L92).
pub const MAX_ALIAS_LENGTH: usize = 255;
/// Longest file name MLflow's file store can create on Linux, in bytes of UTF-8 (`NAME_MAX`).
/// Applies to each `/`-separated part of a key and to whole registered model names and aliases.
pub const MAX_FILE_NAME_BYTES: usize = 255;
/// Length of a run id: `uuid4().hex`, 32 lowercase hex digits.
pub const RUN_ID_LENGTH: usize = 32;
/// Most metrics in one `log_batch` (`MAX_METRICS_PER_BATCH`, L68).
pub const MAX_METRICS_PER_BATCH: usize = 1000;
/// Most params in one `log_batch` (`MAX_PARAMS_TAGS_PER_BATCH`, L67).
pub const MAX_PARAMS_PER_BATCH: usize = 100;
/// Most tags in one `log_batch` (`MAX_PARAMS_TAGS_PER_BATCH`, L67).
pub const MAX_TAGS_PER_BATCH: usize = 100;
/// Most metrics, params and tags together in one `log_batch` (`MAX_ENTITIES_PER_BATCH`, L70).
pub const MAX_ENTITIES_PER_BATCH: usize = 1000;

// ---------------------------------------------------------------------------------------
// Keys

/// Checks a metric key: the rules of every key (see [`validate_param_key`]).
///
/// MLflow: `_validate_metric_name` (L347) and the length check of `_validate_metric` (L423).
pub fn validate_metric_key(key: &str) -> Result<(), ValidationError> {
    validate_key(Subject::MetricKey, key, MAX_KEY_LENGTH)
}

/// Checks a metric point: its key, and a timestamp that is not negative.
///
/// Every `f64` value is accepted, NaN and ±infinity included (MLflow's `_is_numeric`, L366,
/// takes any Python number; the file store writes `nan`, `inf`, `-inf`), and every `i64`
/// step, negative ones included. MLflow: `_validate_metric` (L375–423).
pub fn validate_metric(
    key: &str,
    value: f64,
    timestamp: i64,
    step: i64,
) -> Result<(), ValidationError> {
    // Every value and every step is valid; they are parameters to mirror MLflow's signature.
    let _ = (value, step);
    validate_metric_key(key)?;
    if timestamp < 0 {
        return Err(ValidationError::NegativeTimestamp {
            key: key.to_owned(),
            timestamp,
        });
    }
    Ok(())
}

/// Checks a param key.
///
/// Like every key (metric, param, run tag, experiment tag, model registry tag), it must:
/// * not be empty;
/// * contain only alphanumerics (Python's Unicode `\w`: letters and digits of any script,
///   including `²`, but not combining marks or emoji), `_`, `-`, `.`, space, `:` and `/`
///   (`validate_param_and_metric_name`, L321–329);
/// * already be a normalised relative POSIX path: not `.`, not starting with `/` or `..`, and
///   unchanged by `posixpath.normpath`, so no empty, `.` or `..` part and no trailing `/`
///   (`path_not_unique`, L342–344);
/// * be at most 250 characters long (L78), and each `/`-separated part at most 255 bytes of
///   UTF-8 (runlog only, see the module docs).
pub fn validate_param_key(key: &str) -> Result<(), ValidationError> {
    validate_key(Subject::ParamKey, key, MAX_KEY_LENGTH)
}

/// Checks a param: its key ([`validate_param_key`]) and a value of at most 6000 characters.
///
/// MLflow (`_validate_param`, L426) truncates longer values to 6000 characters with a
/// warning unless `MLFLOW_TRUNCATE_LONG_VALUES=false`; runlog refuses them (pass the value
/// through [`truncate_chars`] first for MLflow's default).
pub fn validate_param(key: &str, value: &str) -> Result<(), ValidationError> {
    validate_param_key(key)?;
    validate_value(Subject::ParamValue, key, value, MAX_PARAM_VALUE_LENGTH)
}

/// Checks a run tag key: the rules of every key (see [`validate_param_key`]).
///
/// MLflow: `_validate_tag_name` (L524). The file store's single `set_tag` checks no length;
/// its `log_batch` and the SQL stores check 250 (`_validate_tag`, L444); runlog always does.
pub fn validate_tag_key(key: &str) -> Result<(), ValidationError> {
    validate_key(Subject::TagKey, key, MAX_KEY_LENGTH)
}

/// Checks a run tag: its key ([`validate_tag_key`]) and a value of at most 8000 characters.
///
/// MLflow (`_validate_tag`, L438) truncates longer values to 8000 characters where it checks
/// them at all (`log_batch`, the SQL stores; not the file store's `set_tag`); runlog refuses
/// them. The `mlflow.runName` tag is the run name: check its value with
/// [`validate_run_name`] as well.
pub fn validate_tag(key: &str, value: &str) -> Result<(), ValidationError> {
    validate_tag_key(key)?;
    validate_value(Subject::TagValue, key, value, MAX_TAG_VALUE_LENGTH)
}

/// Checks an experiment tag: a key like every key (see [`validate_param_key`]) and a value of
/// at most 20000 characters. MLflow: `_validate_experiment_tag` (L451), which never truncates.
pub fn validate_experiment_tag(key: &str, value: &str) -> Result<(), ValidationError> {
    validate_key(
        Subject::ExperimentTagKey,
        key,
        MAX_EXPERIMENT_TAG_KEY_LENGTH,
    )?;
    validate_value(
        Subject::ExperimentTagValue,
        key,
        value,
        MAX_EXPERIMENT_TAG_VALUE_LENGTH,
    )
}

/// Checks a registered model or model version tag: a key like every key (see
/// [`validate_param_key`]) and a value of at most 100000 characters. MLflow:
/// `_validate_registered_model_tag` (L461), `_validate_model_version_tag` (L470).
pub fn validate_model_tag(key: &str, value: &str) -> Result<(), ValidationError> {
    validate_key(Subject::ModelTagKey, key, MAX_MODEL_TAG_KEY_LENGTH)?;
    validate_value(
        Subject::ModelTagValue,
        key,
        value,
        MAX_MODEL_TAG_VALUE_LENGTH,
    )
}

fn validate_key(what: Subject, key: &str, max_chars: usize) -> Result<(), ValidationError> {
    if key.is_empty() {
        return Err(ValidationError::Empty { what });
    }
    if let Some(character) = key.chars().find(|&c| !is_key_char(c)) {
        return Err(ValidationError::BadCharacter {
            what,
            value: key.to_owned(),
            character,
        });
    }
    check_path(what, key)?;
    check_length(what, key, max_chars)?;
    check_file_names(what, key)
}

/// `[/\w.\- :]` with Python's Unicode `\w`.
fn is_key_char(c: char) -> bool {
    is_python_word(c) || matches!(c, '/' | '.' | '-' | ' ' | ':')
}

fn validate_value(
    what: Subject,
    key: &str,
    value: &str,
    max_chars: usize,
) -> Result<(), ValidationError> {
    // Byte length bounds the character count from above: skip counting short values.
    if value.len() > max_chars {
        let length = value.chars().count();
        if length > max_chars {
            return Err(ValidationError::ValueTooLong {
                what,
                key: key.to_owned(),
                length,
                limit: max_chars,
            });
        }
    }
    Ok(())
}

/// The first `max_chars` characters of `value`: what MLflow stores for an over-long param or
/// run tag value when `MLFLOW_TRUNCATE_LONG_VALUES` is true, its default (Python's
/// `value[:limit]`, L556).
pub fn truncate_chars(value: &str, max_chars: usize) -> &str {
    match value.char_indices().nth(max_chars) {
        Some((end, _)) => &value[..end],
        None => value,
    }
}

// ---------------------------------------------------------------------------------------
// Names

/// Checks an experiment name: not empty, not only whitespace, at most 500 characters.
///
/// MLflow 3.17's `_validate_experiment_name` (L637) refuses only empty and over-long names;
/// MLflow 3.18 also refuses blank ones, and so does runlog. Any character is allowed: the
/// name lives inside `meta.yaml`, never in a path. (The SQL stores' `experiments.name` column
/// is `VARCHAR(256)`, `store/tracking/dbmodels/models.py` L184, so MySQL and PostgreSQL
/// refuse names of 257–500 characters that MLflow's validation lets through.)
pub fn validate_experiment_name(name: &str) -> Result<(), ValidationError> {
    let what = Subject::ExperimentName;
    check_not_blank(what, name)?;
    check_length(what, name, MAX_EXPERIMENT_NAME_LENGTH)
}

/// Refuses an empty name, and one of only whitespace (Python's `str.strip` set).
fn check_not_blank(what: Subject, name: &str) -> Result<(), ValidationError> {
    if name.is_empty() {
        return Err(ValidationError::Empty { what });
    }
    if is_python_blank(name) {
        return Err(ValidationError::Blank {
            what,
            value: name.to_owned(),
        });
    }
    Ok(())
}

/// Checks a run name: not empty, at most 250 characters; any character.
///
/// MLflow has no run-name rule: an empty name means "no name" (the stores generate one such as
/// `mysterious-horse-266`, and `update_run` ignores it), and the length is bounded only by the
/// SQL stores' `runs.name VARCHAR(250)` column. runlog refuses both, so that a name given is a
/// name kept and every store can hold it. The same name is the `mlflow.runName` tag.
pub fn validate_run_name(name: &str) -> Result<(), ValidationError> {
    let what = Subject::RunName;
    if name.is_empty() {
        return Err(ValidationError::Empty { what });
    }
    check_length(what, name, MAX_RUN_NAME_LENGTH)
}

/// Checks a registered model name.
///
/// * Not empty or only whitespace (`_validate_model_name`, L693, uses Python's `strip`).
/// * No `/` or `:` (any store, L695), no `%` and no OS path separator (file store,
///   `store/model_registry/file_store.py` L81–92); runlog also refuses `\`, the Windows
///   separator, and NUL.
/// * Not `.` and not starting with `..` (`path_not_unique`, L701).
/// * At most 255 bytes of UTF-8: the name is a directory name in the file store, which fails
///   with "File name too long" beyond that (runlog only; MLflow has no length rule, and the
///   SQL stores' column is `VARCHAR(256)`).
pub fn validate_model_name(name: &str) -> Result<(), ValidationError> {
    let what = Subject::ModelName;
    check_not_blank(what, name)?;
    if let Some(character) = name
        .chars()
        .find(|c| matches!(c, '/' | '\\' | ':' | '%' | '\0'))
    {
        return Err(ValidationError::BadCharacter {
            what,
            value: name.to_owned(),
            character,
        });
    }
    check_path(what, name)?;
    check_file_names(what, name)
}

/// Checks an alias before it is set: the rules of [`validate_alias_for_lookup`], and not
/// reserved: `latest` in any letter case, or `v`/`V` followed by decimal digits (Python's
/// Unicode `\d`), which name versions (`_validate_model_alias_name_reserved`, L740).
pub fn validate_alias(alias: &str) -> Result<(), ValidationError> {
    validate_alias_for_lookup(alias)?;
    // `str.lower() == "latest"` in Python: no non-ASCII character lowercases to one of
    // `latest`'s letters, so an ASCII comparison is the same test.
    let reason = if alias.eq_ignore_ascii_case("latest") {
        Some(ReservedAlias::Latest)
    } else if is_version_alias(alias) {
        Some(ReservedAlias::VersionNumber)
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ValidationError::Reserved {
            value: alias.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Checks an alias used to look a version up (get or delete), where `latest` and `v3` are
/// meaningful: not empty, only alphanumerics, `_` and `-` (`^[\w\-]*$`), at most 255
/// characters (`_validate_model_alias_name`, L723) and at most 255 bytes of UTF-8 (the alias
/// is a file name in the file store; runlog only). Since MLflow 3.3 the reserved-name check is
/// separate and runs only when an alias is set.
pub fn validate_alias_for_lookup(alias: &str) -> Result<(), ValidationError> {
    let what = Subject::Alias;
    if alias.is_empty() {
        return Err(ValidationError::Empty { what });
    }
    if let Some(character) = alias.chars().find(|&c| !(is_python_word(c) || c == '-')) {
        return Err(ValidationError::BadCharacter {
            what,
            value: alias.to_owned(),
            character,
        });
    }
    check_length(what, alias, MAX_ALIAS_LENGTH)?;
    check_file_names(what, alias)
}

/// `^[vV]\d+$` with Python's Unicode `\d`.
fn is_version_alias(alias: &str) -> bool {
    let mut chars = alias.chars();
    matches!(chars.next(), Some('v' | 'V')) && {
        let mut digits = chars.peekable();
        digits.peek().is_some() && digits.all(is_python_decimal)
    }
}

// ---------------------------------------------------------------------------------------
// Ids

/// Checks a run id: exactly 32 lowercase hex digits, as `uuid4().hex` makes them.
///
/// MLflow accepts `^[a-zA-Z0-9][\w\-]{0,255}$` (L45) so that other stores' ids can be looked
/// up; runlog only ever holds ids of the form MLflow creates (the SQL stores' `runs.run_uuid`
/// column is `VARCHAR(32)`, `store/tracking/dbmodels/models.py` L257), so it accepts only that.
pub fn validate_run_id(run_id: &str) -> Result<(), ValidationError> {
    let what = Subject::RunId;
    if run_id.is_empty() {
        return Err(ValidationError::Empty { what });
    }
    if let Some(character) = run_id.chars().find(|c| !matches!(c, '0'..='9' | 'a'..='f')) {
        return Err(ValidationError::BadCharacter {
            what,
            value: run_id.to_owned(),
            character,
        });
    }
    if run_id.len() != RUN_ID_LENGTH {
        return Err(ValidationError::RunIdLength {
            value: run_id.to_owned(),
            length: run_id.len(),
        });
    }
    Ok(())
}

/// Checks an experiment id: a decimal number without leading zeros that fits in an `i64`.
///
/// MLflow accepts `^[a-zA-Z0-9][\w\-]{0,63}$` (L49), but creates only decimal ids (`0`, and
/// 18-digit random numbers in the file store; integers in the SQL stores, which
/// `_parse_experiment_id`, L578, requires). runlog requires that form, without leading zeros
/// so that each number has one spelling (`007` and `7` would collide once parsed).
pub fn validate_experiment_id(experiment_id: &str) -> Result<(), ValidationError> {
    let what = Subject::ExperimentId;
    if experiment_id.is_empty() {
        return Err(ValidationError::Empty { what });
    }
    if let Some(character) = experiment_id.chars().find(|c| !c.is_ascii_digit()) {
        return Err(ValidationError::BadCharacter {
            what,
            value: experiment_id.to_owned(),
            character,
        });
    }
    if experiment_id.len() > 1 && experiment_id.starts_with('0') {
        return Err(ValidationError::ExperimentIdLeadingZero {
            value: experiment_id.to_owned(),
        });
    }
    if experiment_id.parse::<i64>().is_err() {
        return Err(ValidationError::ExperimentIdOutOfRange {
            value: experiment_id.to_owned(),
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Batches

/// Checks the sizes of one `log_batch` request: at most 1000 metrics, 100 params, 100 tags,
/// and 1000 entries in all, tested in that order (`_validate_batch_log_limits`, L604–614).
/// `MlflowClient.log_batch` splits larger inputs itself before they reach the store.
pub fn validate_batch_sizes(
    metrics: usize,
    params: usize,
    tags: usize,
) -> Result<(), ValidationError> {
    let total = metrics.saturating_add(params).saturating_add(tags);
    for (part, count, limit) in [
        (BatchPart::Metrics, metrics, MAX_METRICS_PER_BATCH),
        (BatchPart::Params, params, MAX_PARAMS_PER_BATCH),
        (BatchPart::Tags, tags, MAX_TAGS_PER_BATCH),
        (BatchPart::Total, total, MAX_ENTITIES_PER_BATCH),
    ] {
        if count > limit {
            return Err(ValidationError::BatchTooLarge { part, count, limit });
        }
    }
    Ok(())
}

/// Checks that no param key appears twice in one `log_batch` request, naming the first
/// repeated key (`_validate_param_keys_unique`, L487, which lists them all). Logging the same
/// key in two requests is the catalog's business: allowed only with the same value.
pub fn validate_unique_param_keys<'a>(
    keys: impl IntoIterator<Item = &'a str>,
) -> Result<(), ValidationError> {
    let mut seen = HashSet::new();
    for key in keys {
        if !seen.insert(key) {
            return Err(ValidationError::DuplicateParamKey {
                key: key.to_owned(),
            });
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Shared checks

fn check_length(what: Subject, value: &str, max_chars: usize) -> Result<(), ValidationError> {
    if value.len() > max_chars {
        let length = value.chars().count();
        if length > max_chars {
            return Err(ValidationError::TooLong {
                what,
                value: value.to_owned(),
                length,
                limit: max_chars,
            });
        }
    }
    Ok(())
}

/// Each `/`-separated part must fit in one file name.
fn check_file_names(what: Subject, value: &str) -> Result<(), ValidationError> {
    let longest = value.split('/').map(str::len).max().unwrap_or(0);
    if longest > MAX_FILE_NAME_BYTES {
        return Err(ValidationError::FileNameTooLong {
            what,
            value: value.to_owned(),
            bytes: longest,
            limit: MAX_FILE_NAME_BYTES,
        });
    }
    Ok(())
}

/// MLflow's `path_not_unique` (L342): the name must be the only spelling of its path.
fn check_path(what: Subject, value: &str) -> Result<(), ValidationError> {
    let problem = if value == "." {
        PathProblem::CurrentDirectory
    } else if value.starts_with('/') {
        PathProblem::Absolute
    } else if value.starts_with("..") {
        PathProblem::ParentDirectory
    } else {
        let resolves_to = python_posix_normpath(value);
        if resolves_to == value {
            return Ok(());
        }
        PathProblem::NotNormalized { resolves_to }
    };
    Err(ValidationError::UnsafePath {
        what,
        value: value.to_owned(),
        problem,
    })
}
