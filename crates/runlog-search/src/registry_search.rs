//! `search_registered_models` and `search_model_versions` end to end: filter, order, page.
//!
//! This is MLflow 3.17.2's registry `FileStore` without the storage:
//!
//! * Registered models sort by the `order_by` keys (`name`, `creation_timestamp`,
//!   `last_updated_timestamp`), then by `name ASC` unless a key names it.
//! * Model versions sort by the keys (`name`, `version_number`, `creation_timestamp`,
//!   `last_updated_timestamp`), then `name ASC` unless a key names it, then always
//!   `version_number DESC`. Without `order_by`: `last_updated_timestamp DESC, name ASC,
//!   version_number DESC`.
//! * An `order_by` key is parsed like an experiment's: `attribute.` or no prefix; a `tags.`
//!   key is "Invalid order_by entity: tag".
//! * `max_results` must be 1 … 1000 for models and 1 … 200 000 for versions.
//! * Prompts (the `mlflow.prompt.is_prompt` tag set to `true`) are never returned, unless the
//!   filter names that tag.

use std::borrow::Borrow;
use std::cmp::Ordering;

use crate::error::{ErrorKind, SearchError};
use crate::ident::py_set;
use crate::order::split_order_by;
use crate::paging::select_page;
use crate::registry::{
    ModelVersionFilter, ModelVersionView, RegisteredModelFilter, RegisteredModelView,
};

/// `SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD`.
pub const MAX_REGISTERED_MODELS_THRESHOLD: usize = 1000;
/// `SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD`.
pub const MAX_MODEL_VERSIONS_THRESHOLD: usize = 200_000;

/// A registry attribute one can sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistryAttribute {
    /// `name`.
    Name,
    /// `version_number` (versions only).
    VersionNumber,
    /// `creation_timestamp`.
    CreationTimestamp,
    /// `last_updated_timestamp`.
    LastUpdatedTimestamp,
}

/// One `order_by` element of a registry search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RegistryOrderBy {
    /// What to sort by.
    pub attribute: RegistryAttribute,
    /// `true` for ASC (the default).
    pub ascending: bool,
}

const MODEL_ORDER_KEYS: [&str; 3] = ["creation_timestamp", "last_updated_timestamp", "name"];
const VERSION_ORDER_KEYS: [&str; 4] = [
    "creation_timestamp",
    "last_updated_timestamp",
    "name",
    "version_number",
];

impl RegistryOrderBy {
    /// Parses one `order_by` element of `search_registered_models` (`name`,
    /// `creation_timestamp`, `last_updated_timestamp`, optionally `ASC`/`DESC`).
    ///
    /// # Errors
    ///
    /// A [`SearchError`] with MLflow's wording.
    pub fn parse_for_models(text: &str) -> Result<Self, SearchError> {
        parse_order(text, &MODEL_ORDER_KEYS)
    }

    /// Parses one `order_by` element of `search_model_versions` (`name`, `version_number`,
    /// `creation_timestamp`, `last_updated_timestamp`, optionally `ASC`/`DESC`).
    ///
    /// # Errors
    ///
    /// A [`SearchError`] with MLflow's wording.
    pub fn parse_for_versions(text: &str) -> Result<Self, SearchError> {
        parse_order(text, &VERSION_ORDER_KEYS)
    }
}

/// `SearchExperimentsUtils._get_identifier` over the registry's order keys.
fn parse_order(text: &str, valid: &[&str]) -> Result<RegistryOrderBy, SearchError> {
    let key = split_order_by(text)?;
    let (tag, raw) = match key.text.split_once('.') {
        None => (false, key.text.as_str()),
        Some(("attribute", k)) => (false, k),
        Some(("tag" | "tags", k)) => (true, k),
        Some((other, _)) => {
            return Err(SearchError::at(
                ErrorKind::InvalidEntity,
                key.start,
                format!(
                    "Invalid entity type '{other}'. Valid entity types are ('attribute', 'tag', \
                     'tags')"
                ),
                "",
            ));
        }
    };
    let unquoted = {
        let q = |s: &str, c: char| s.len() >= 2 && s.starts_with(c) && s.ends_with(c);
        let s = if q(raw, '\'') || q(raw, '"') {
            &raw[1..raw.len() - 1]
        } else {
            raw
        };
        if q(s, '`') { &s[1..s.len() - 1] } else { s }
    };
    if tag {
        return Err(SearchError::at(
            ErrorKind::InvalidOrderBy,
            key.start,
            "Invalid order_by entity: tag",
            &format!("registry searches are ordered by {}", valid.join(", ")),
        ));
    }
    let attribute = match unquoted {
        "name" => RegistryAttribute::Name,
        "creation_timestamp" => RegistryAttribute::CreationTimestamp,
        "last_updated_timestamp" => RegistryAttribute::LastUpdatedTimestamp,
        "version_number" if valid.contains(&"version_number") => RegistryAttribute::VersionNumber,
        _ => {
            return Err(SearchError::at(
                ErrorKind::InvalidAttribute,
                key.start,
                format!(
                    "Invalid attribute key '{unquoted}' specified. Valid keys are '{}'",
                    py_set(valid)
                ),
                "",
            ));
        }
    };
    Ok(RegistryOrderBy {
        attribute,
        ascending: key.ascending,
    })
}

fn directed(o: Ordering, ascending: bool) -> Ordering {
    if ascending { o } else { o.reverse() }
}

/// Sorts registered models into MLflow's order for `order_by` (then `name ASC`).
pub fn sort_registered_models<R: Borrow<RegisteredModelView>>(
    models: &mut [R],
    order_by: &[RegistryOrderBy],
) {
    let mut keys = order_by.to_vec();
    if !keys.iter().any(|k| k.attribute == RegistryAttribute::Name) {
        keys.push(RegistryOrderBy {
            attribute: RegistryAttribute::Name,
            ascending: true,
        });
    }
    models.sort_by(|a, b| {
        let (a, b) = (a.borrow(), b.borrow());
        keys.iter()
            .map(|k| {
                let o = match k.attribute {
                    RegistryAttribute::Name => a.name.cmp(&b.name),
                    RegistryAttribute::CreationTimestamp => {
                        a.creation_timestamp.cmp(&b.creation_timestamp)
                    }
                    RegistryAttribute::LastUpdatedTimestamp => {
                        a.last_updated_timestamp.cmp(&b.last_updated_timestamp)
                    }
                    RegistryAttribute::VersionNumber => Ordering::Equal,
                };
                directed(o, k.ascending)
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
}

/// Sorts model versions into MLflow's order for `order_by` (see the module docs).
pub fn sort_model_versions<R: Borrow<ModelVersionView>>(
    versions: &mut [R],
    order_by: &[RegistryOrderBy],
) {
    let mut keys = if order_by.is_empty() {
        vec![
            RegistryOrderBy {
                attribute: RegistryAttribute::LastUpdatedTimestamp,
                ascending: false,
            },
            RegistryOrderBy {
                attribute: RegistryAttribute::Name,
                ascending: true,
            },
            RegistryOrderBy {
                attribute: RegistryAttribute::VersionNumber,
                ascending: false,
            },
        ]
    } else {
        order_by.to_vec()
    };
    if !keys.iter().any(|k| k.attribute == RegistryAttribute::Name) {
        keys.push(RegistryOrderBy {
            attribute: RegistryAttribute::Name,
            ascending: true,
        });
    }
    // MLflow checks for "version_number" after renaming it "version", so this tie-breaker is
    // always appended (it never changes a result: an earlier version key already decided).
    keys.push(RegistryOrderBy {
        attribute: RegistryAttribute::VersionNumber,
        ascending: false,
    });
    versions.sort_by(|a, b| {
        let (a, b) = (a.borrow(), b.borrow());
        keys.iter()
            .map(|k| {
                let o = match k.attribute {
                    RegistryAttribute::Name => a.name.cmp(&b.name),
                    RegistryAttribute::VersionNumber => a.version.cmp(&b.version),
                    RegistryAttribute::CreationTimestamp => {
                        a.creation_timestamp.cmp(&b.creation_timestamp)
                    }
                    RegistryAttribute::LastUpdatedTimestamp => {
                        a.last_updated_timestamp.cmp(&b.last_updated_timestamp)
                    }
                };
                directed(o, k.ascending)
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
}

/// One page of a registry search.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RegistryPage<R> {
    /// The items of this page, in result order.
    pub items: Vec<R>,
    /// The token of the next page, when more results remain.
    pub next_page_token: Option<String>,
}

fn check_max(max_results: usize, threshold: usize) -> Result<(), SearchError> {
    let message = if max_results == 0 {
        format!(
            "Invalid value for max_results. It must be a positive integer, but got {max_results}"
        )
    } else if max_results > threshold {
        format!(
            "Invalid value for request parameter max_results. It must be at most {threshold}, \
             but got value {max_results}"
        )
    } else {
        return Ok(());
    };
    Err(SearchError::new(
        ErrorKind::InvalidMaxResults,
        None,
        message,
    ))
}

/// MLflow's `search_registered_models` over `models`: one page.
///
/// # Errors
///
/// A bad `max_results` (0 or above 1000) or page token.
pub fn search_registered_models<R, I>(
    models: I,
    filter: &RegisteredModelFilter,
    order_by: &[RegistryOrderBy],
    max_results: usize,
    page_token: Option<&str>,
) -> Result<RegistryPage<R>, SearchError>
where
    I: IntoIterator<Item = R>,
    R: Borrow<RegisteredModelView>,
{
    check_max(max_results, MAX_REGISTERED_MODELS_THRESHOLD)?;
    let (items, next_page_token) = select_page(
        models,
        |m| filter.matches(m.borrow()),
        |s| sort_registered_models(s, order_by),
        max_results,
        page_token,
    )?;
    Ok(RegistryPage {
        items,
        next_page_token,
    })
}

/// MLflow's `search_model_versions` over `versions` (deleted ones already left out): one
/// page.
///
/// # Errors
///
/// A bad `max_results` (0 or above 200 000) or page token.
pub fn search_model_versions<R, I>(
    versions: I,
    filter: &ModelVersionFilter,
    order_by: &[RegistryOrderBy],
    max_results: usize,
    page_token: Option<&str>,
) -> Result<RegistryPage<R>, SearchError>
where
    I: IntoIterator<Item = R>,
    R: Borrow<ModelVersionView>,
{
    check_max(max_results, MAX_MODEL_VERSIONS_THRESHOLD)?;
    let (items, next_page_token) = select_page(
        versions,
        |v| filter.matches(v.borrow()),
        |s| sort_model_versions(s, order_by),
        max_results,
        page_token,
    )?;
    Ok(RegistryPage {
        items,
        next_page_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_by_errors_follow_mlflow() {
        for (o, want) in [
            ("tags.team", "Invalid order_by entity: tag"),
            ("version", "Invalid attribute key 'version'"),
            ("timestamp", "Invalid attribute key 'timestamp'"),
            ("name sideways", "Invalid ordering key"),
        ] {
            let e = RegistryOrderBy::parse_for_models(o).unwrap_err();
            assert!(e.message().contains(want), "{o}: {e}");
        }
        assert!(RegistryOrderBy::parse_for_models("version_number").is_err());
        assert!(RegistryOrderBy::parse_for_versions("version_number DESC").is_ok());
        assert!(RegistryOrderBy::parse_for_models("`name` DESC").is_ok());
    }

    #[test]
    fn versions_default_to_newest_change_first() {
        let v = |name: &str, version: u64, t: i64| ModelVersionView {
            name: name.into(),
            version,
            last_updated_timestamp: t,
            ..Default::default()
        };
        let mut all = [v("b", 1, 5), v("a", 1, 5), v("a", 2, 5), v("c", 1, 9)];
        sort_model_versions(&mut all, &[]);
        let got: Vec<(&str, u64)> = all.iter().map(|v| (v.name.as_str(), v.version)).collect();
        assert_eq!(got, [("c", 1), ("a", 2), ("a", 1), ("b", 1)]);
        let by = [RegistryOrderBy::parse_for_versions("version_number").unwrap()];
        sort_model_versions(&mut all, &by);
        let got: Vec<(&str, u64)> = all.iter().map(|v| (v.name.as_str(), v.version)).collect();
        assert_eq!(got, [("a", 1), ("b", 1), ("c", 1), ("a", 2)]);
    }

    #[test]
    fn max_results_bounds() {
        let f = RegisteredModelFilter::default();
        let none: [RegisteredModelView; 0] = [];
        assert!(search_registered_models(none.iter(), &f, &[], 0, None).is_err());
        assert!(search_registered_models(none.iter(), &f, &[], 1001, None).is_err());
        assert!(search_registered_models(none.iter(), &f, &[], 1000, None).is_ok());
    }
}
