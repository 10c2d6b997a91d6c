//! `search_experiments` end to end: view type, filter, order, then one page.
//!
//! This is `FileStore.search_experiments` of MLflow 3.17.2 without the storage. Its order is
//! not the run order:
//!
//! * Without `order_by`, experiments come newest first: `creation_time DESC`, then
//!   `experiment_id ASC`.
//! * With `order_by`, MLflow appends `experiment_id DESC` as a tie-breaker unless a clause
//!   already names `experiment_id`: ties on `name ASC` come out in *descending* id order.
//! * An experiment without a value (a missing time) sorts last in both directions.
//! * `experiment_id` is a string and sorts as one: `"10"` comes before `"9"`.
//! * `max_results` must be between 1 and 50 000 (runs accept 0).

use std::borrow::Borrow;
use std::cmp::Ordering;

use crate::error::{ErrorKind, SearchError};
use crate::experiment::{ExperimentAttribute, ExperimentFilter, ExperimentView};
use crate::ident::{Entity, resolve_experiment_identifier};
use crate::order::{Value, split_order_by};
use crate::paging::select_page;
use crate::search::{MAX_RESULTS_THRESHOLD, ViewType};

/// One `order_by` element of `search_experiments`: an attribute and a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExperimentOrderBy {
    /// What to sort by.
    pub attribute: ExperimentAttribute,
    /// `true` for ASC (the default), `false` for DESC.
    pub ascending: bool,
}

/// The order MLflow's file store uses when no `order_by` is given.
const DEFAULT_ORDER: [ExperimentOrderBy; 2] = [
    ExperimentOrderBy {
        attribute: ExperimentAttribute::CreationTime,
        ascending: false,
    },
    ExperimentOrderBy {
        attribute: ExperimentAttribute::ExperimentId,
        ascending: true,
    },
];

/// The tie-breaker MLflow appends to an `order_by` that does not name `experiment_id`.
const TIE_BREAKER: ExperimentOrderBy = ExperimentOrderBy {
    attribute: ExperimentAttribute::ExperimentId,
    ascending: false,
};

impl ExperimentOrderBy {
    /// Parses one `order_by` element such as `name`, `creation_time DESC` or
    /// `attribute.last_update_time asc`.
    ///
    /// The syntax is the run `order_by` syntax (one key, then optionally `ASC` or `DESC` in any
    /// case, no surrounding whitespace); the key is `name`, `experiment_id`, `creation_time` or
    /// `last_update_time`, bare or after `attribute.`.
    ///
    /// # Errors
    ///
    /// Returns a [`SearchError`] with MLflow's wording ("Invalid order_by clause …. Could not
    /// be parsed.", "Invalid attribute key …", "Invalid order_by entity: tag" for a tag key).
    pub fn parse(text: &str) -> Result<ExperimentOrderBy, SearchError> {
        let key = split_order_by(text)?;
        let ident = resolve_experiment_identifier(&key.text, key.start, true)?;
        if ident.entity != Entity::Attribute {
            return Err(SearchError::at(
                ErrorKind::InvalidOrderBy,
                key.start,
                format!("Invalid order_by entity: {}", ident.entity.name()),
                "experiments are ordered by name, experiment_id, creation_time or \
                 last_update_time",
            ));
        }
        Ok(ExperimentOrderBy {
            attribute: ExperimentAttribute::resolve(&ident, key.start)?,
            ascending: key.ascending,
        })
    }

    /// Orders two experiments by this clause alone (`Equal` when they tie). An experiment
    /// without a value sorts after every experiment with one, in both directions.
    pub fn compare(&self, a: &ExperimentView, b: &ExperimentView) -> Ordering {
        match (sort_value(a, self.attribute), sort_value(b, self.attribute)) {
            (Some(x), Some(y)) if self.ascending => x.cmp_to(&y),
            (Some(x), Some(y)) => y.cmp_to(&x),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
}

/// An experiment's value for one sort key.
fn sort_value(experiment: &ExperimentView, attribute: ExperimentAttribute) -> Option<Value<'_>> {
    match attribute {
        ExperimentAttribute::ExperimentId => Some(Value::Text(&experiment.experiment_id)),
        ExperimentAttribute::Name => Some(Value::Text(&experiment.name)),
        ExperimentAttribute::CreationTime => experiment.creation_time.map(Value::Int),
        ExperimentAttribute::LastUpdateTime => experiment.last_update_time.map(Value::Int),
    }
}

/// Sorts `experiments` into MLflow's result order for `order_by` (see the module docs for
/// the default order and the tie-breaker).
pub fn sort_experiments<R: Borrow<ExperimentView>>(
    experiments: &mut [R],
    order_by: &[ExperimentOrderBy],
) {
    let mut keys = if order_by.is_empty() {
        DEFAULT_ORDER.to_vec()
    } else {
        order_by.to_vec()
    };
    if !keys
        .iter()
        .any(|k| k.attribute == ExperimentAttribute::ExperimentId)
    {
        keys.push(TIE_BREAKER);
    }
    experiments.sort_by(|a, b| {
        let (a, b) = (a.borrow(), b.borrow());
        keys.iter()
            .map(|key| key.compare(a, b))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
}

/// One page of experiments.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExperimentPage<R> {
    /// The experiments on this page, in result order.
    pub experiments: Vec<R>,
    /// The token for the next page, present only when more results remain.
    pub next_page_token: Option<String>,
}

/// Runs MLflow's `search_experiments` over `experiments` and returns one page.
///
/// Experiments outside `view` or not matching `filter` are dropped as they are read; the rest
/// are sorted by `order_by` (or newest first) and cut at the offset in `page_token`. Page
/// tokens are the same as those of run searches.
///
/// ```
/// use runlog_search::{ExperimentOrderBy, ExperimentView, ViewType, search_experiments};
///
/// let experiment = |id: &str, name: &str, created: i64| ExperimentView {
///     experiment_id: id.into(),
///     name: name.into(),
///     lifecycle_stage: "active".into(),
///     creation_time: Some(created),
///     last_update_time: Some(created),
///     ..ExperimentView::default()
/// };
/// let all = [experiment("0", "Default", 1), experiment("5", "b", 3), experiment("4", "a", 2)];
///
/// let newest_first = search_experiments(&all, None, &[], ViewType::ActiveOnly, 2, None)?;
/// let names: Vec<&str> = newest_first.experiments.iter().map(|e| e.name.as_str()).collect();
/// assert_eq!(names, ["b", "a"]);
/// assert!(newest_first.next_page_token.is_some());
///
/// let by_name = [ExperimentOrderBy::parse("name")?];
/// let page = search_experiments(&all, None, &by_name, ViewType::ActiveOnly, 10, None)?;
/// assert_eq!(page.experiments[0].name, "Default");
/// # Ok::<(), runlog_search::SearchError>(())
/// ```
///
/// # Errors
///
/// Fails when `max_results` is 0 or exceeds [`MAX_RESULTS_THRESHOLD`], or `page_token` is
/// invalid.
pub fn search_experiments<R, I>(
    experiments: I,
    filter: Option<&ExperimentFilter>,
    order_by: &[ExperimentOrderBy],
    view: ViewType,
    max_results: usize,
    page_token: Option<&str>,
) -> Result<ExperimentPage<R>, SearchError>
where
    I: IntoIterator<Item = R>,
    R: Borrow<ExperimentView>,
{
    let requirement = match max_results {
        0 => Some("be a positive integer".to_owned()),
        n if n > MAX_RESULTS_THRESHOLD => Some(format!("be at most {MAX_RESULTS_THRESHOLD}")),
        _ => None,
    };
    if let Some(requirement) = requirement {
        return Err(SearchError::new(
            ErrorKind::InvalidMaxResults,
            None,
            format!("Invalid value for max_results. It must {requirement}, but got {max_results}"),
        ));
    }
    let (experiments, next_page_token) = select_page(
        experiments,
        |e| {
            let experiment = e.borrow();
            view.includes(&experiment.lifecycle_stage)
                && filter.is_none_or(|f| f.matches(experiment))
        },
        |selected| sort_experiments(selected, order_by),
        max_results,
        page_token,
    )?;
    Ok(ExperimentPage {
        experiments,
        next_page_token,
    })
}
