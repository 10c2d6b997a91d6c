//! Model registry filters: `search_registered_models` and `search_model_versions`.
//!
//! MLflow 3.17.2's `SearchModelUtils` and `SearchModelVersionUtils` cut filters like run
//! filters (the same `sqlparse` pass, `AND` only), so this module reuses the lexer and the
//! first pass, and supplies the registry's keys, values and comparators:
//!
//! * Registered models: `name` (bare or after `attribute.`) with `=`, `!=`, `LIKE`, `ILIKE`,
//!   `IN`, `NOT IN`; `tags.<key>` (or `tag.<key>`) with `=`, `!=`, `LIKE`, `ILIKE`.
//! * Model versions: `name`, `run_id` and `source_path` (the version's source) as strings, with
//!   lists for `name` and `run_id`; `version_number` as a number with `= != < <= > >=`; tags
//!   as above.
//! * The attribute key is checked *before* its quotes are removed, so `` `name` = 'x' `` is
//!   an unknown key (as in MLflow); tag keys lose one layer of quotes, then of backticks.
//! * MLflow turns the `version_number` literal into an integer with Python's `int()`: `2.5`
//!   means 2 and `'2'` means 2. A string that is no integer (`'x'`) makes MLflow raise a
//!   `ValueError` while it evaluates; here it is refused when parsing.
//! * `IS NULL` crashes MLflow's registry searches (a `ValueError`); here it is refused with
//!   a message saying so.
//! * A model or version without the tag matches no comparator, not even `!=`, except for
//!   MLflow's `mlflow.prompt.is_prompt` tag, which a missing tag satisfies for `= 'false'`
//!   and `!= 'true'`.
//! * A list after `=`, `!=`, `LIKE` or `ILIKE` is refused (MLflow compares the string with a
//!   tuple and matches nothing, or fails).

use std::collections::BTreeMap;

use crate::ast::{NumOp, Number, Predicate};
use crate::error::{ErrorKind, SearchError};
use crate::eval::{Lhs, passes, text};
use crate::ident::{is_quoted, py_set, trim_ends};
use crate::parser::{Comparator, KeyHints, RawClause, Span, ValueClass, split_clauses};
use crate::pattern::LikePattern;
use crate::pylist::{ListError, parse_list};

/// MLflow's tag marking a registered model (or version) as a prompt; prompts are hidden from
/// the registry searches.
pub const IS_PROMPT_TAG_KEY: &str = "mlflow.prompt.is_prompt";

/// Everything `search_registered_models` can filter or sort on, for one registered model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisteredModelView {
    /// The model's unique name.
    pub name: String,
    /// Creation time, ms since the epoch.
    pub creation_timestamp: i64,
    /// Time of the last change, ms since the epoch.
    pub last_updated_timestamp: i64,
    /// Tags by key.
    pub tags: BTreeMap<String, String>,
}

/// Everything `search_model_versions` can filter or sort on, for one model version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelVersionView {
    /// The registered model's name.
    pub name: String,
    /// The version number (1, 2, …).
    pub version: u64,
    /// Creation time, ms since the epoch.
    pub creation_timestamp: i64,
    /// Time of the last change, ms since the epoch.
    pub last_updated_timestamp: i64,
    /// The run that produced it, if any.
    pub run_id: Option<String>,
    /// Where its files are (`source_path` in filters).
    pub source: String,
    /// Tags by key.
    pub tags: BTreeMap<String, String>,
}

/// The field of a registered model or model version a clause looks at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RegistrySubject {
    /// `name`.
    Name,
    /// `run_id` (versions only).
    RunId,
    /// `source_path`: the version's source (versions only).
    SourcePath,
    /// `version_number` (versions only).
    VersionNumber,
    /// The tag with this key.
    Tag(String),
}

/// One comparison of a registry filter.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryClause {
    /// What the clause looks at.
    pub subject: RegistrySubject,
    /// The test applied to it.
    pub predicate: Predicate,
}

/// Which registry search a filter is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Models,
    Versions,
}

impl Target {
    fn search_keys(self) -> &'static [&'static str] {
        match self {
            Target::Models => &["name"],
            Target::Versions => &["name", "run_id", "source_path", "version_number"],
        }
    }

    fn list_keys(self) -> &'static [&'static str] {
        match self {
            Target::Models => &["name"],
            Target::Versions => &["name", "run_id"],
        }
    }

    fn hints(self) -> &'static KeyHints {
        match self {
            Target::Models => &MODEL_KEYS,
            Target::Versions => &VERSION_KEYS,
        }
    }
}

const MODEL_KEYS: KeyHints = KeyHints {
    key: "tags.task",
    comparison: "name LIKE 'fraud%'",
    left_sides: "name or tags.<key>",
};

const VERSION_KEYS: KeyHints = KeyHints {
    key: "run_id",
    comparison: "name = 'fraud'",
    left_sides: "name, run_id, source_path, version_number or tags.<key>",
};

/// `SearchModelVersionUtils.NUMERIC_ATTRIBUTES`, as MLflow names them in its messages.
const NUMERIC_ATTRIBUTES: [&str; 3] = [
    "creation_timestamp",
    "last_updated_timestamp",
    "version_number",
];
const STRING_COMPARATORS: [&str; 6] = ["!=", "=", "ILIKE", "IN", "LIKE", "NOT IN"];
const NUMERIC_COMPARATORS: [&str; 6] = ["!=", "<", "<=", "=", ">", ">="];
const TAG_COMPARATORS: [&str; 4] = ["!=", "=", "ILIKE", "LIKE"];

/// A parsed `search_registered_models` filter: every clause must hold.
///
/// ```
/// use runlog_search::{RegisteredModelFilter, RegisteredModelView};
///
/// let mut model = RegisteredModelView { name: "fraud-detector".into(), ..Default::default() };
/// model.tags.insert("team".into(), "risk".into());
/// let filter = RegisteredModelFilter::parse("name LIKE 'fraud%' AND tags.team = 'risk'")?;
/// assert!(filter.matches(&model));
/// # Ok::<(), runlog_search::SearchError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RegisteredModelFilter {
    clauses: Vec<RegistryClause>,
}

/// A parsed `search_model_versions` filter: every clause must hold.
///
/// ```
/// use runlog_search::{ModelVersionFilter, ModelVersionView};
///
/// let v = ModelVersionView { name: "m".into(), version: 3, source: "runs:/abc/model".into(),
///                            ..Default::default() };
/// assert!(ModelVersionFilter::parse("name = 'm' AND version_number >= 2")?.matches(&v));
/// assert!(ModelVersionFilter::parse("source_path LIKE 'runs:/%'")?.matches(&v));
/// # Ok::<(), runlog_search::SearchError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelVersionFilter {
    clauses: Vec<RegistryClause>,
}

impl RegisteredModelFilter {
    /// Parses a `search_registered_models` filter. The empty string matches every model.
    ///
    /// # Errors
    ///
    /// A [`SearchError`] with MLflow's wording and the byte offset of the mistake.
    pub fn parse(text: &str) -> Result<Self, SearchError> {
        Ok(RegisteredModelFilter {
            clauses: parse(text, Target::Models)?,
        })
    }

    /// The clauses, in the order they were written.
    pub fn clauses(&self) -> &[RegistryClause] {
        &self.clauses
    }

    /// Whether `model` satisfies every clause.
    pub fn matches(&self, model: &RegisteredModelView) -> bool {
        self.clauses
            .iter()
            .all(|c| c.holds(|s| model_value(model, s), &model.tags))
    }
}

impl ModelVersionFilter {
    /// Parses a `search_model_versions` filter. The empty string matches every version.
    ///
    /// # Errors
    ///
    /// A [`SearchError`] with MLflow's wording and the byte offset of the mistake.
    pub fn parse(text: &str) -> Result<Self, SearchError> {
        Ok(ModelVersionFilter {
            clauses: parse(text, Target::Versions)?,
        })
    }

    /// The clauses, in the order they were written.
    pub fn clauses(&self) -> &[RegistryClause] {
        &self.clauses
    }

    /// Whether `version` satisfies every clause.
    pub fn matches(&self, version: &ModelVersionView) -> bool {
        self.clauses
            .iter()
            .all(|c| c.holds(|s| version_value(version, s), &version.tags))
    }
}

fn model_value<'a>(model: &'a RegisteredModelView, subject: &RegistrySubject) -> Lhs<'a> {
    match subject {
        RegistrySubject::Name => Lhs::Text(&model.name),
        RegistrySubject::Tag(key) => text(model.tags.get(key)),
        // Refused when parsing a model filter.
        _ => Lhs::Missing,
    }
}

fn version_value<'a>(version: &'a ModelVersionView, subject: &RegistrySubject) -> Lhs<'a> {
    match subject {
        RegistrySubject::Name => Lhs::Text(&version.name),
        RegistrySubject::RunId => text(version.run_id.as_ref()),
        RegistrySubject::SourcePath => Lhs::Text(&version.source),
        RegistrySubject::VersionNumber => {
            Lhs::Int(i64::try_from(version.version).unwrap_or(i64::MAX))
        }
        RegistrySubject::Tag(key) => text(version.tags.get(key)),
    }
}

impl RegistryClause {
    fn holds<'a>(
        &self,
        value: impl Fn(&RegistrySubject) -> Lhs<'a>,
        tags: &BTreeMap<String, String>,
    ) -> bool {
        if let RegistrySubject::Tag(key) = &self.subject
            && key == IS_PROMPT_TAG_KEY
            && !tags.contains_key(key)
        {
            // MLflow's special case: a model without the prompt tag is not a prompt.
            return match &self.predicate {
                Predicate::Text { equal: true, value } => value == "false",
                Predicate::Text {
                    equal: false,
                    value,
                } => value == "true",
                _ => false,
            };
        }
        passes(&self.predicate, value(&self.subject))
    }
}

/// The clause MLflow's file store appends to every registry search that does not mention the
/// prompt tag (`add_prompt_filter_string`): prompts are not models.
pub(crate) fn not_a_prompt() -> RegistryClause {
    RegistryClause {
        subject: RegistrySubject::Tag(IS_PROMPT_TAG_KEY.to_owned()),
        predicate: Predicate::Text {
            equal: false,
            value: "true".to_owned(),
        },
    }
}

impl RegisteredModelFilter {
    /// The filter MLflow's file store really applies: this one, plus "not a prompt" unless
    /// the filter text mentions the prompt tag.
    pub fn hiding_prompts(mut self, text: &str) -> Self {
        if !text.contains(IS_PROMPT_TAG_KEY) {
            self.clauses.push(not_a_prompt());
        }
        self
    }
}

impl ModelVersionFilter {
    /// The filter MLflow's file store really applies: this one, plus "not a prompt" unless
    /// the filter text mentions the prompt tag.
    pub fn hiding_prompts(mut self, text: &str) -> Self {
        if !text.contains(IS_PROMPT_TAG_KEY) {
            self.clauses.push(not_a_prompt());
        }
        self
    }
}

fn parse(text: &str, target: Target) -> Result<Vec<RegistryClause>, SearchError> {
    if text.trim().is_empty() {
        // `if not filter_string` is false for whitespace, but sqlparse then yields no
        // comparison: every model matches.
        return Ok(Vec::new());
    }
    split_clauses(text, target.hints())?
        .iter()
        .map(|raw| resolve(raw, target))
        .collect()
}

/// `_get_model_search_identifier`, `_get_value`, then the comparator checks MLflow makes when
/// it evaluates.
fn resolve(raw: &RawClause<'_>, target: Target) -> Result<RegistryClause, SearchError> {
    let at = raw.ident.start;
    let (tag, key_raw) = match raw.ident.text.split_once('.') {
        None => (false, raw.ident.text),
        Some(("attribute", key)) => (false, key),
        Some(("tag" | "tags", key)) => (true, key),
        Some((other, _)) => {
            return Err(SearchError::at(
                ErrorKind::InvalidEntity,
                at,
                format!(
                    "Invalid entity type '{other}'. Valid entity types are ('attribute', 'tag', \
                     'tags')"
                ),
                &format!("the keys are {}", target.hints().left_sides),
            ));
        }
    };
    if !tag && !target.search_keys().contains(&key_raw) {
        return Err(SearchError::at(
            ErrorKind::InvalidAttribute,
            at,
            format!(
                "Invalid attribute key '{key_raw}' specified. Valid keys are '{}'",
                py_set(target.search_keys())
            ),
            "attribute keys are written bare, without quotes or backticks",
        ));
    }
    let key = strip_backticks(strip_quotes(key_raw));
    let subject = if tag {
        RegistrySubject::Tag(key.to_owned())
    } else {
        match key {
            "name" => RegistrySubject::Name,
            "run_id" => RegistrySubject::RunId,
            "source_path" => RegistrySubject::SourcePath,
            _ => RegistrySubject::VersionNumber,
        }
    };
    let Some((class, value)) = raw.value else {
        return Err(SearchError::at(
            ErrorKind::InvalidNullCheck,
            raw.comparator_at,
            format!(
                "{} is not supported in registry searches",
                raw.comparator.text()
            ),
            "MLflow 3.17 fails on it; compare with a value instead",
        ));
    };
    let operand = operand(&subject, class, value, target)?;
    let predicate = predicate(&subject, &raw.comparator, raw.comparator_at, operand)?;
    Ok(RegistryClause { subject, predicate })
}

enum Operand {
    Text(String),
    List(Vec<String>),
    Int(i128),
    Float(f64),
}

fn strip_quotes(value: &str) -> &str {
    if is_quoted(value, '\'') || is_quoted(value, '"') {
        trim_ends(value)
    } else {
        value
    }
}

fn strip_backticks(value: &str) -> &str {
    if is_quoted(value, '`') {
        trim_ends(value)
    } else {
        value
    }
}

fn operand(
    subject: &RegistrySubject,
    class: ValueClass,
    value: Span<'_>,
    target: Target,
) -> Result<Operand, SearchError> {
    let raw = value.text;
    let error = |kind: ErrorKind, message: String| SearchError::at(kind, value.start, message, "");
    let quoted = || {
        if is_quoted(raw, '\'') || is_quoted(raw, '"') {
            Ok(Operand::Text(trim_ends(raw).to_owned()))
        } else {
            Err(error(
                ErrorKind::InvalidValue,
                format!(
                    "Parameter value is either not quoted or unidentified quote types used for \
                     string value {raw}. Use either single or double quotes."
                ),
            ))
        }
    };
    let is_string = matches!(class, ValueClass::Str | ValueClass::Ident);
    if let RegistrySubject::Tag(_) = subject {
        return if is_string {
            quoted()
        } else {
            Err(error(
                ErrorKind::InvalidValue,
                format!(
                    "Expected a quoted string value for tag (e.g. 'my-value'). Got value {raw}"
                ),
            ))
        };
    }
    let key = attribute_name(subject);
    match class {
        _ if is_string => quoted(),
        ValueClass::List => {
            if !target.list_keys().contains(&key) {
                let mut keys = target.list_keys().to_vec();
                keys.sort_unstable();
                let listed: Vec<String> = keys.iter().map(|k| format!("'{k}'")).collect();
                return Err(error(
                    ErrorKind::InvalidList,
                    format!(
                        "Only [{}] attributes support comparison with a list of quoted string \
                         values.",
                        listed.join(", ")
                    ),
                ));
            }
            parse_list(raw).map(Operand::List).map_err(|e| {
                let message = match e {
                    ListError::IllFormed => "While parsing a list in the query, expected a \
                                             non-empty list of string values, but got ill-formed \
                                             list."
                        .to_owned(),
                    ListError::Empty => "While parsing a list in the query, expected a non-empty \
                                         list of string values, but got empty list"
                        .to_owned(),
                    ListError::NotString => format!(
                        "While parsing a list in the query, expected string value, punctuation, \
                         or whitespace, but got different type in list: {raw}"
                    ),
                };
                error(ErrorKind::InvalidList, message)
            })
        }
        ValueClass::Int | ValueClass::Float if target == Target::Versions => {
            if *subject != RegistrySubject::VersionNumber {
                return Err(error(
                    ErrorKind::InvalidValue,
                    format!(
                        "Only the '{}' attributes support comparison with numeric values.",
                        py_set(&NUMERIC_ATTRIBUTES)
                    ),
                ));
            }
            Ok(if class == ValueClass::Int {
                Operand::Int(raw.parse::<i128>().unwrap_or(if raw.starts_with('-') {
                    i128::MIN
                } else {
                    i128::MAX
                }))
            } else {
                Operand::Float(raw.parse::<f64>().unwrap_or(f64::NAN))
            })
        }
        _ => Err(error(
            ErrorKind::InvalidValue,
            format!(
                "Expected a quoted string value or a list of quoted string values for \
                 attributes. Got value {raw}"
            ),
        )),
    }
}

fn attribute_name(subject: &RegistrySubject) -> &'static str {
    match subject {
        RegistrySubject::Name => "name",
        RegistrySubject::RunId => "run_id",
        RegistrySubject::SourcePath => "source_path",
        RegistrySubject::VersionNumber => "version_number",
        RegistrySubject::Tag(_) => "tag",
    }
}

fn predicate(
    subject: &RegistrySubject,
    comparator: &Comparator,
    at: usize,
    operand: Operand,
) -> Result<Predicate, SearchError> {
    let numeric = *subject == RegistrySubject::VersionNumber;
    let allowed: &[&str] = match subject {
        RegistrySubject::Tag(_) => &TAG_COMPARATORS,
        _ if numeric => &NUMERIC_COMPARATORS,
        _ => &STRING_COMPARATORS,
    };
    let op = comparator.text();
    if !allowed.contains(&op) {
        return Err(SearchError::at(
            ErrorKind::InvalidComparator,
            at,
            format!("Invalid comparator '{op}' not one of '{}'", py_set(allowed)),
            &format!(
                "{} compares with {}",
                attribute_name(subject),
                allowed.join(" ")
            ),
        ));
    }
    if numeric {
        // Python's `int(value)` of what `_get_value` returned.
        let value = match operand {
            Operand::Int(i) => i,
            Operand::Float(f) if f.is_finite() => f.trunc() as i128,
            Operand::Float(f) => {
                return Err(SearchError::at(
                    ErrorKind::InvalidValue,
                    at,
                    format!("cannot convert float {f} to integer"),
                    "version_number compares with whole numbers",
                ));
            }
            Operand::Text(s) => python_int(&s).ok_or_else(|| {
                SearchError::at(
                    ErrorKind::InvalidValue,
                    at,
                    format!("invalid literal for int() with base 10: '{s}'"),
                    "version_number compares with whole numbers",
                )
            })?,
            Operand::List(_) => unreachable!("lists are refused for version_number"),
        };
        return Ok(Predicate::Compare {
            op: match op {
                "=" => NumOp::Eq,
                "!=" => NumOp::Ne,
                "<" => NumOp::Lt,
                "<=" => NumOp::Le,
                ">" => NumOp::Gt,
                _ => NumOp::Ge,
            },
            value: Number::Int(value),
        });
    }
    Ok(match (comparator, operand) {
        (Comparator::In | Comparator::NotIn, Operand::List(values)) => Predicate::In {
            negated: *comparator == Comparator::NotIn,
            values,
        },
        (Comparator::Like, Operand::Text(v)) => Predicate::Like(LikePattern::new(&v, false)),
        (Comparator::ILike, Operand::Text(v)) => Predicate::Like(LikePattern::new(&v, true)),
        (Comparator::Op(o), Operand::Text(value)) => Predicate::Text {
            equal: o == "=",
            value,
        },
        _ => {
            return Err(SearchError::at(
                ErrorKind::InvalidList,
                at,
                format!("Comparator '{op}' cannot take a list of values"),
                "a parenthesised list may only follow IN or NOT IN",
            ));
        }
    })
}

/// Python's `int()` of a string: optional surrounding whitespace, an optional sign, ASCII
/// digits with single underscores between them.
fn python_int(s: &str) -> Option<i128> {
    let t = s.trim();
    let (negative, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let n: i128 = digits.replace('_', "").parse().unwrap_or(i128::MAX);
    Some(if negative { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str, tags: &[(&str, &str)]) -> RegisteredModelView {
        RegisteredModelView {
            name: name.into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn model_filters_follow_mlflow() {
        let alpha = model("alpha", &[("team", "vision")]);
        let beta = model("Beta", &[("team", "nlp")]);
        let gamma = model("gamma", &[]);
        let pick = |f: &str| -> Vec<&str> {
            let filter = RegisteredModelFilter::parse(f).unwrap();
            [&alpha, &beta, &gamma]
                .iter()
                .filter(|m| filter.matches(m))
                .map(|m| m.name.as_str())
                .collect()
        };
        assert_eq!(pick("name = 'alpha'"), ["alpha"]);
        assert_eq!(pick("name ILIKE 'B%'"), ["Beta"]);
        assert_eq!(pick("name IN ('alpha', 'gamma')"), ["alpha", "gamma"]);
        assert_eq!(pick("tags.team != 'vision'"), ["Beta"]);
        assert_eq!(pick("attribute.name != 'alpha'"), ["Beta", "gamma"]);
        assert_eq!(pick("tags.`team` = 'nlp' AND"), ["Beta"]);
        assert_eq!(pick(""), ["alpha", "Beta", "gamma"]);
    }

    #[test]
    fn model_filter_errors_name_the_problem() {
        for (f, want) in [
            ("`name` = 'a'", "Invalid attribute key '`name`'"),
            ("attributes.name = 'a'", "Invalid entity type 'attributes'"),
            ("name = 5", "Expected a quoted string value or a list"),
            ("name > 'a'", "Invalid comparator '>'"),
            ("tags.t IS NULL", "IS NULL is not supported"),
            ("tags.t = 5", "Expected a quoted string value for tag"),
            ("name = alpha", "Parameter value is either not quoted"),
            ("run_id = 'x'", "Invalid attribute key 'run_id'"),
        ] {
            let e = RegisteredModelFilter::parse(f).unwrap_err();
            assert!(e.message().contains(want), "{f}: {e}");
        }
    }

    #[test]
    fn version_numbers_are_python_ints() {
        let v = ModelVersionView {
            name: "m".into(),
            version: 2,
            ..Default::default()
        };
        for f in [
            "version_number = 2",
            "version_number = 2.5",
            "version_number = '2'",
            "version_number > 1",
            "attribute.version_number < 3",
        ] {
            assert!(ModelVersionFilter::parse(f).unwrap().matches(&v), "{f}");
        }
        for (f, want) in [
            ("version_number = 'x'", "invalid literal for int()"),
            ("version_number IN (1, 2)", "Only ['name', 'run_id']"),
            ("source_path IN ('a')", "Only ['name', 'run_id']"),
            ("name = 5", "support comparison with numeric values"),
            ("version_number LIKE '1'", "Invalid comparator 'LIKE'"),
        ] {
            let e = ModelVersionFilter::parse(f).unwrap_err();
            assert!(e.message().contains(want), "{f}: {e}");
        }
    }

    #[test]
    fn a_missing_prompt_tag_is_not_a_prompt() {
        let m = model("m", &[]);
        let p = model("p", &[(IS_PROMPT_TAG_KEY, "true")]);
        let f = RegisteredModelFilter::default().hiding_prompts("");
        assert!(f.matches(&m));
        assert!(!f.matches(&p));
        let f = RegisteredModelFilter::parse("tags.`mlflow.prompt.is_prompt` = 'true'").unwrap();
        let f = f.hiding_prompts("tags.`mlflow.prompt.is_prompt` = 'true'");
        assert!(!f.matches(&m));
        assert!(f.matches(&p));
    }
}
