//! Keys: splitting `entity.key` and validating both, as `SearchUtils._get_identifier` does.
//!
//! Only the first `.` separates the entity from the key, so `tags.mlflow.runName` is the tag
//! `mlflow.runName`. The entity (with optional backticks) must be one of MLflow's names, which
//! are case-sensitive; the key loses one layer of single or double quotes and then of
//! backticks. A key without an entity is an attribute.

use crate::ast::{Attribute, DatasetField, Subject};
use crate::error::{ErrorKind, SearchError};

/// MLflow's list of entity names, as it prints it in errors.
const ENTITIES: &str = "['metric', 'parameter', 'tag', 'attribute', 'dataset']";
/// The canonical entity a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entity {
    Metric,
    Param,
    Tag,
    Attribute,
    Dataset,
}

impl Entity {
    /// MLflow's canonical name, as used in its messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Entity::Metric => "metric",
            Entity::Param => "parameter",
            Entity::Tag => "tag",
            Entity::Attribute => "attribute",
            Entity::Dataset => "dataset",
        }
    }
}

/// An identifier split into entity and key, as `SearchUtils._get_identifier` does it.
pub(crate) struct Identifier {
    pub(crate) entity: Entity,
    /// The key as written (quotes removed, aliases not yet translated).
    pub(crate) key: String,
}

impl Identifier {
    /// The subject this identifier names, with MLflow's alias translation applied.
    pub(crate) fn subject(&self) -> Option<Subject> {
        let key = translate_key_alias(&self.key).to_owned();
        Some(match self.entity {
            Entity::Metric => Subject::Metric(key),
            Entity::Param => Subject::Param(key),
            Entity::Tag => Subject::Tag(key),
            Entity::Attribute => Subject::Attribute(attribute(&key)?),
            Entity::Dataset => Subject::Dataset(match key.as_str() {
                "name" => DatasetField::Name,
                "digest" => DatasetField::Digest,
                "context" => DatasetField::Context,
                _ => return None,
            }),
        })
    }
}

/// `SearchUtils.translate_key_alias`, which MLflow applies to the key of every entity.
pub(crate) fn translate_key_alias(key: &str) -> &str {
    match key {
        "created" | "Created" => "start_time",
        "run name" | "Run name" | "Run Name" => "run_name",
        other => other,
    }
}

/// The attribute with MLflow name `key` (aliases already translated).
fn attribute(key: &str) -> Option<Attribute> {
    Some(match key {
        "run_id" => Attribute::RunId,
        "run_name" => Attribute::RunName,
        "status" => Attribute::Status,
        "user_id" => Attribute::UserId,
        "artifact_uri" => Attribute::ArtifactUri,
        "start_time" => Attribute::StartTime,
        "end_time" => Attribute::EndTime,
        _ => return None,
    })
}

/// Attribute keys a filter may use (`VALID_SEARCH_ATTRIBUTE_KEYS`), sorted.
const SEARCH_ATTRIBUTE_KEYS: [&str; 12] = [
    "Created",
    "Run Name",
    "Run name",
    "artifact_uri",
    "created",
    "end_time",
    "run name",
    "run_id",
    "run_name",
    "start_time",
    "status",
    "user_id",
];

/// Attribute keys an `order_by` may use (`VALID_ORDER_BY_ATTRIBUTE_KEYS`), sorted: the run-name
/// aliases are missing from MLflow's set.
const ORDER_BY_ATTRIBUTE_KEYS: [&str; 9] = [
    "Created",
    "artifact_uri",
    "created",
    "end_time",
    "run_id",
    "run_name",
    "start_time",
    "status",
    "user_id",
];

/// Formats `items` the way Python prints a set of strings.
pub(crate) fn py_set(items: &[&str]) -> String {
    let inner: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// `SearchUtils._is_quoted`.
pub(crate) fn is_quoted(value: &str, quote: char) -> bool {
    value.chars().count() >= 2 && value.starts_with(quote) && value.ends_with(quote)
}

/// `SearchUtils._trim_ends` for a value known to start and end with an ASCII quote.
pub(crate) fn trim_ends(value: &str) -> &str {
    value.get(1..value.len() - 1).unwrap_or_default()
}

/// `SearchUtils._trim_backticks`.
fn trim_backticks(value: &str) -> &str {
    if is_quoted(value, '`') {
        trim_ends(value)
    } else {
        value
    }
}

/// `SearchUtils._strip_quotes` without `expect_quoted_value`.
fn strip_quotes(value: &str) -> &str {
    if is_quoted(value, '\'') || is_quoted(value, '"') {
        trim_ends(value)
    } else {
        value
    }
}

/// `SearchUtils._get_identifier`: splits at the first `.`, validates the entity and, for
/// attributes and datasets, the key. `position` is where `raw` starts in the parsed text.
pub(crate) fn resolve_identifier(
    raw: &str,
    position: usize,
    order_by: bool,
) -> Result<Identifier, SearchError> {
    let (entity_raw, key_raw) = match raw.split_once('.') {
        Some((entity, key)) => (Some(entity), key),
        None => (None, raw),
    };
    let entity = match entity_raw.map(trim_backticks) {
        None => Entity::Attribute,
        Some("metric" | "metrics") => Entity::Metric,
        Some("parameter" | "parameters" | "param" | "params") => Entity::Param,
        Some("tag" | "tags") => Entity::Tag,
        Some("attribute" | "attributes" | "attr" | "run") => Entity::Attribute,
        Some("dataset" | "datasets") => Entity::Dataset,
        Some(other) => {
            return Err(SearchError::at(
                ErrorKind::InvalidEntity,
                position,
                format!("Invalid entity type '{other}'. Valid values are {ENTITIES}"),
                "prefixes are case-sensitive: use metrics., params., tags., attributes. or dataset.",
            ));
        }
    };
    let key = trim_backticks(strip_quotes(key_raw)).to_owned();
    match entity {
        Entity::Attribute => {
            let valid: &[&str] = if order_by {
                &ORDER_BY_ATTRIBUTE_KEYS
            } else {
                &SEARCH_ATTRIBUTE_KEYS
            };
            check_attribute_key(
                &key,
                valid,
                position,
                "a key without an entity prefix is a run attribute",
            )?;
        }
        Entity::Dataset if !matches!(key.as_str(), "name" | "digest" | "context") => {
            return Err(SearchError::at(
                ErrorKind::InvalidDatasetKey,
                position,
                format!(
                    "Invalid dataset key '{key}' specified. Valid keys are '{}'",
                    py_set(&["context", "digest", "name"])
                ),
                "",
            ));
        }
        _ => {}
    }
    Ok(Identifier { entity, key })
}

/// Experiment attribute keys a filter may use (`SearchExperimentsUtils`'s
/// `VALID_SEARCH_ATTRIBUTE_KEYS`), sorted.
const EXPERIMENT_SEARCH_KEYS: [&str; 3] = ["creation_time", "last_update_time", "name"];

/// Experiment attribute keys an `order_by` may use (`VALID_ORDER_BY_ATTRIBUTE_KEYS`), sorted.
const EXPERIMENT_ORDER_BY_KEYS: [&str; 4] =
    ["creation_time", "experiment_id", "last_update_time", "name"];

/// `SearchExperimentsUtils._get_identifier`: splits at the first `.`; the entity, compared as
/// written (no backticks, no `attributes`), must be `attribute`, `tag` or `tags`; the key loses
/// one layer of quotes then of backticks, and an attribute key must be one of the experiment's.
/// There is no alias translation. `position` is where `raw` starts in the parsed text.
pub(crate) fn resolve_experiment_identifier(
    raw: &str,
    position: usize,
    order_by: bool,
) -> Result<Identifier, SearchError> {
    let (entity, key_raw) = match raw.split_once('.') {
        None => (Entity::Attribute, raw),
        Some(("attribute", key)) => (Entity::Attribute, key),
        Some(("tag" | "tags", key)) => (Entity::Tag, key),
        Some((other, _)) => {
            return Err(SearchError::at(
                ErrorKind::InvalidEntity,
                position,
                format!(
                    "Invalid entity type '{other}'. Valid entity types are {}",
                    "('attribute', 'tag', 'tags')"
                ),
                "experiments have tags.<key> and the attributes name, creation_time and \
                 last_update_time, with or without 'attribute.' (MLflow rejects 'attributes.')",
            ));
        }
    };
    let key = trim_backticks(strip_quotes(key_raw)).to_owned();
    if entity == Entity::Attribute {
        let valid: &[&str] = if order_by {
            &EXPERIMENT_ORDER_BY_KEYS
        } else {
            &EXPERIMENT_SEARCH_KEYS
        };
        check_attribute_key(
            &key,
            valid,
            position,
            "a key without an entity prefix is an experiment attribute",
        )?;
    }
    Ok(Identifier { entity, key })
}

/// Rejects an attribute `key` that is not in `valid`, with MLflow's message.
fn check_attribute_key(
    key: &str,
    valid: &[&str],
    position: usize,
    detail: &str,
) -> Result<(), SearchError> {
    if valid.contains(&key) {
        return Ok(());
    }
    Err(SearchError::at(
        ErrorKind::InvalidAttribute,
        position,
        format!(
            "Invalid attribute key '{key}' specified. Valid keys are '{}'",
            py_set(valid)
        ),
        detail,
    ))
}
