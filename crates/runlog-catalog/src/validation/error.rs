//! The error of every validator, and how its messages are worded.

use std::fmt;

use super::RUN_ID_LENGTH;

/// What was being validated; names the thing in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Subject {
    /// A metric key.
    MetricKey,
    /// A param key.
    ParamKey,
    /// A run tag key.
    TagKey,
    /// An experiment tag key.
    ExperimentTagKey,
    /// A registered model or model version tag key.
    ModelTagKey,
    /// A param value.
    ParamValue,
    /// A run tag value.
    TagValue,
    /// An experiment tag value.
    ExperimentTagValue,
    /// A registered model or model version tag value.
    ModelTagValue,
    /// An experiment name.
    ExperimentName,
    /// A run name.
    RunName,
    /// A registered model name.
    ModelName,
    /// A registered model alias.
    Alias,
    /// A run id.
    RunId,
    /// An experiment id.
    ExperimentId,
}

impl Subject {
    /// The singular noun: `metric key`.
    pub fn noun(self) -> &'static str {
        match self {
            Subject::MetricKey => "metric key",
            Subject::ParamKey => "param key",
            Subject::TagKey => "tag key",
            Subject::ExperimentTagKey => "experiment tag key",
            Subject::ModelTagKey => "model registry tag key",
            Subject::ParamValue => "param value",
            Subject::TagValue => "tag value",
            Subject::ExperimentTagValue => "experiment tag value",
            Subject::ModelTagValue => "model registry tag value",
            Subject::ExperimentName => "experiment name",
            Subject::RunName => "run name",
            Subject::ModelName => "registered model name",
            Subject::Alias => "alias",
            Subject::RunId => "run id",
            Subject::ExperimentId => "experiment id",
        }
    }

    /// The plural noun: `metric keys`.
    pub fn plural(self) -> &'static str {
        match self {
            Subject::MetricKey => "metric keys",
            Subject::ParamKey => "param keys",
            Subject::TagKey => "tag keys",
            Subject::ExperimentTagKey => "experiment tag keys",
            Subject::ModelTagKey => "model registry tag keys",
            Subject::ParamValue => "param values",
            Subject::TagValue => "tag values",
            Subject::ExperimentTagValue => "experiment tag values",
            Subject::ModelTagValue => "model registry tag values",
            Subject::ExperimentName => "experiment names",
            Subject::RunName => "run names",
            Subject::ModelName => "registered model names",
            Subject::Alias => "aliases",
            Subject::RunId => "run ids",
            Subject::ExperimentId => "experiment ids",
        }
    }

    /// The thing a value belongs to: `param` for a param value.
    fn owner(self) -> &'static str {
        match self {
            Subject::ParamValue => "param",
            Subject::TagValue => "tag",
            Subject::ExperimentTagValue => "experiment tag",
            Subject::ModelTagValue => "model registry tag",
            other => other.noun(),
        }
    }

    fn is_key(self) -> bool {
        matches!(
            self,
            Subject::MetricKey
                | Subject::ParamKey
                | Subject::TagKey
                | Subject::ExperimentTagKey
                | Subject::ModelTagKey
        )
    }

    /// The sentence saying which characters are allowed.
    fn character_rule(self) -> String {
        let plural = self.plural();
        match self {
            Subject::ModelName => format!(
                "{plural} must not contain slashes (/), backslashes (\\), colons (:), \
                 percent signs (%) or NUL"
            ),
            Subject::Alias => {
                format!("{plural} may contain only alphanumerics, underscores (_) and dashes (-)")
            }
            Subject::RunId => {
                format!("{plural} are {RUN_ID_LENGTH} lowercase hex digits (0-9, a-f)")
            }
            Subject::ExperimentId => format!("{plural} are decimal numbers (digits 0-9)"),
            _ => format!(
                "{plural} may contain only alphanumerics, underscores (_), dashes (-), \
                 periods (.), spaces ( ), colons (:) and slashes (/)"
            ),
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// Why a key or name is not a safe file path (MLflow's `path_not_unique`, L342).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathProblem {
    /// The name is `.`.
    CurrentDirectory,
    /// The name starts with `/`.
    Absolute,
    /// The name starts with `..` (MLflow refuses `..foo` too).
    ParentDirectory,
    /// Normalising the name as a POSIX path changes it (an empty, `.` or `..` part, or a
    /// trailing `/`): it would name the same file as `resolves_to`.
    NotNormalized {
        /// What Python's `posixpath.normpath` makes of the name.
        resolves_to: String,
    },
}

/// Why an alias is reserved (MLflow's `_validate_model_alias_name_reserved`, L740).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReservedAlias {
    /// `latest` in any letter case: always the newest version.
    Latest,
    /// `v` or `V` followed by decimal digits: a version number.
    VersionNumber,
}

/// Which part of a `log_batch` request is too large.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchPart {
    /// The metrics.
    Metrics,
    /// The params.
    Params,
    /// The tags.
    Tags,
    /// Metrics, params and tags together.
    Total,
}

impl fmt::Display for BatchPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BatchPart::Metrics => "metrics",
            BatchPart::Params => "params",
            BatchPart::Tags => "tags",
            BatchPart::Total => "metrics, params and tags",
        })
    }
}

/// A name, key, id or value that MLflow (or runlog, where the module docs say so) refuses.
///
/// Each variant carries the offending text in full; messages show at most its first 80
/// characters, escaped, then the full length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The name is empty.
    #[error("invalid {what} \"\": {} must not be empty{}", what.plural(), empty_hint(*what))]
    Empty {
        /// What was being validated.
        what: Subject,
    },
    /// The name has nothing but whitespace (as Python's `str.strip` counts it).
    #[error(
        "invalid {what} {}: {} must contain a character other than whitespace",
        Shown(value),
        what.plural()
    )]
    Blank {
        /// What was being validated.
        what: Subject,
        /// The offending name.
        value: String,
    },
    /// The name contains a character that is not allowed.
    #[error(
        "invalid {what} {}: {}; found {}",
        Shown(value),
        what.character_rule(),
        ShownChar(*character)
    )]
    BadCharacter {
        /// What was being validated.
        what: Subject,
        /// The offending name.
        value: String,
        /// The first character that is not allowed.
        character: char,
    },
    /// The name would not name exactly one file in MLflow's file store.
    #[error("invalid {what} {}: {}", Shown(value), path_rule(*what, problem))]
    UnsafePath {
        /// What was being validated.
        what: Subject,
        /// The offending name.
        value: String,
        /// What is wrong with it as a path.
        problem: PathProblem,
    },
    /// The name has more characters than allowed.
    #[error(
        "invalid {what} {}: {} may be at most {limit} characters long",
        Shown(value),
        what.plural()
    )]
    TooLong {
        /// What was being validated.
        what: Subject,
        /// The offending name.
        value: String,
        /// Its length in characters.
        length: usize,
        /// The most characters allowed.
        limit: usize,
    },
    /// The name (or one `/`-separated part of a key) is longer than a file name may be.
    #[error("invalid {what} {}: {}", Shown(value), file_name_rule(*what, *bytes, *limit))]
    FileNameTooLong {
        /// What was being validated.
        what: Subject,
        /// The offending name.
        value: String,
        /// The length in UTF-8 bytes of the longest part.
        bytes: usize,
        /// The most bytes allowed.
        limit: usize,
    },
    /// A param or tag value is longer than allowed.
    #[error(
        "{} {} has a value of {length} characters; {} may be at most {limit} characters long",
        what.owner(),
        Shown(key),
        what.plural()
    )]
    ValueTooLong {
        /// What was being validated: one of the `*Value` subjects.
        what: Subject,
        /// The key whose value is too long.
        key: String,
        /// The value's length in characters.
        length: usize,
        /// The most characters allowed.
        limit: usize,
    },
    /// The alias is one MLflow reserves.
    #[error("invalid alias {}: {}", Shown(value), reserved_rule(*reason))]
    Reserved {
        /// The offending alias.
        value: String,
        /// Why it is reserved.
        reason: ReservedAlias,
    },
    /// The run id is hex but not 32 digits long.
    #[error(
        "invalid run id {}: run ids are exactly {RUN_ID_LENGTH} lowercase hex digits, \
         this one has {length}",
        Shown(value)
    )]
    RunIdLength {
        /// The offending id.
        value: String,
        /// Its length in characters.
        length: usize,
    },
    /// The experiment id has a leading zero.
    #[error(
        "invalid experiment id {}: experiment ids are decimal numbers without leading zeros",
        Shown(value)
    )]
    ExperimentIdLeadingZero {
        /// The offending id.
        value: String,
    },
    /// The experiment id is larger than a signed 64-bit integer.
    #[error(
        "invalid experiment id {}: experiment ids must fit in a signed 64-bit integer \
         (at most {})",
        Shown(value),
        i64::MAX
    )]
    ExperimentIdOutOfRange {
        /// The offending id.
        value: String,
    },
    /// A metric timestamp is negative.
    #[error(
        "metric {} has timestamp {timestamp}; timestamps must be non-negative \
         (milliseconds since the Unix epoch)",
        Shown(key)
    )]
    NegativeTimestamp {
        /// The metric key.
        key: String,
        /// The offending timestamp.
        timestamp: i64,
    },
    /// A `log_batch` request has too many entries.
    #[error(
        "a log_batch request can contain at most {limit} {part}, got {count}; \
         split them across several requests"
    )]
    BatchTooLarge {
        /// Which part is too large.
        part: BatchPart,
        /// How many entries it has.
        count: usize,
        /// The most allowed.
        limit: usize,
    },
    /// A `log_batch` request has the same param key twice.
    #[error(
        "a log_batch request has param {} more than once; each param key may appear once",
        Shown(key)
    )]
    DuplicateParamKey {
        /// The repeated key.
        key: String,
    },
}

// ---------------------------------------------------------------------------------------
// Messages

/// How many characters of an offending value a message shows.
const SHOWN_CHARS: usize = 80;

/// A value in a message: quoted and escaped like a Rust string literal, cut after
/// [`SHOWN_CHARS`] characters with its full length given.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for c in self.0.chars().take(SHOWN_CHARS) {
            fmt::Display::fmt(&c.escape_debug(), f)?;
        }
        f.write_str("\"")?;
        if self.0.len() > SHOWN_CHARS {
            let length = self.0.chars().count();
            if length > SHOWN_CHARS {
                write!(f, "… ({length} characters)")?;
            }
        }
        Ok(())
    }
}

/// A character in a message: quoted and escaped, with its code point.
struct ShownChar(char);

impl fmt::Display for ShownChar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "'{}' (U+{:04X})",
            self.0.escape_debug(),
            u32::from(self.0)
        )
    }
}

fn empty_hint(what: Subject) -> &'static str {
    match what {
        Subject::RunName => " (MLflow takes an empty name as no name and generates one)",
        _ => "",
    }
}

fn path_rule(what: Subject, problem: &PathProblem) -> String {
    let plural = what.plural();
    match problem {
        PathProblem::CurrentDirectory => {
            format!("{plural} are used as file paths and must not be \".\"")
        }
        PathProblem::Absolute => {
            format!("{plural} are used as file paths and must not start with '/'")
        }
        PathProblem::ParentDirectory => {
            format!("{plural} are used as file paths and must not start with \"..\"")
        }
        PathProblem::NotNormalized { resolves_to } => format!(
            "{plural} are used as file paths and must not resolve to another name (no empty, \
             \".\" or \"..\" parts and no trailing '/'); this one resolves to {}",
            Shown(resolves_to)
        ),
    }
}

fn file_name_rule(what: Subject, bytes: usize, limit: usize) -> String {
    if what.is_key() {
        format!(
            "each '/'-separated part of a {what} becomes a file name in an MLflow file store and \
             may be at most {limit} bytes of UTF-8; one part has {bytes}"
        )
    } else {
        format!(
            "a {what} becomes a file name in an MLflow file store and may be at most {limit} \
             bytes of UTF-8; this one has {bytes}"
        )
    }
}

fn reserved_rule(reason: ReservedAlias) -> &'static str {
    match reason {
        ReservedAlias::Latest => {
            "\"latest\" (in any letter case) is reserved for the newest version"
        }
        ReservedAlias::VersionNumber => {
            "'v' or 'V' followed by digits is reserved for version numbers"
        }
    }
}
