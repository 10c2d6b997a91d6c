//! `search_runs` end to end: view type, filter, order, then one page.
//!
//! This is `FileStore._search_runs` of MLflow 3.17.2 without the storage: the caller hands in
//! the runs of the experiments being searched (in any order, possibly as an iterator that
//! loads them lazily), and gets back the ids of one page plus the token for the next.

use std::borrow::Borrow;

use crate::ast::Filter;
use crate::error::{ErrorKind, SearchError};
use crate::order::{OrderBy, sort_runs};
use crate::paging::select_page;
use crate::run::RunView;

/// The largest `max_results` MLflow accepts (`SEARCH_MAX_RESULTS_THRESHOLD`).
pub const MAX_RESULTS_THRESHOLD: usize = 50_000;

/// The page size `MlflowClient.search_runs` uses when none is given.
pub const DEFAULT_MAX_RESULTS: usize = 1_000;

/// Which lifecycle stages a search returns (MLflow's `ViewType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ViewType {
    /// Only runs whose lifecycle stage is `active` (the default).
    #[default]
    ActiveOnly,
    /// Only runs whose lifecycle stage is `deleted`.
    DeletedOnly,
    /// Active and deleted runs.
    All,
}

impl ViewType {
    /// Whether a run in `lifecycle_stage` is part of this view. Stages other than `active` and
    /// `deleted` belong to no view.
    pub fn includes(self, lifecycle_stage: &str) -> bool {
        match self {
            ViewType::ActiveOnly => lifecycle_stage == "active",
            ViewType::DeletedOnly => lifecycle_stage == "deleted",
            ViewType::All => matches!(lifecycle_stage, "active" | "deleted"),
        }
    }
}

/// One page of run ids.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    /// The ids of the runs on this page, in result order.
    pub run_ids: Vec<String>,
    /// The token for the next page, present only when more results remain.
    pub next_page_token: Option<String>,
}

/// One page of runs, for callers that want the runs themselves rather than their ids.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunPage<R> {
    /// The runs on this page, in result order.
    pub runs: Vec<R>,
    /// The token for the next page, present only when more results remain.
    pub next_page_token: Option<String>,
}

/// Runs MLflow's `search_runs` over `runs` and returns one page of run ids.
///
/// `runs` are the runs of the searched experiments (if an experiment id is listed twice,
/// MLflow returns its runs twice, so pass them twice). Runs outside `view` or not matching
/// `filter` are dropped as they are read; the rest are sorted by `order_by` on top of the
/// natural order (`start_time` DESC, `run_id` ASC) and cut at the offset in `page_token`.
///
/// # Errors
///
/// Fails when `max_results` exceeds [`MAX_RESULTS_THRESHOLD`] or `page_token` is invalid.
/// With `max_results == 0` MLflow returns an empty page with a token for offset 0, a token it
/// then rejects; this function does the same.
pub fn search<R, I>(
    runs: I,
    filter: Option<&Filter>,
    order_by: &[OrderBy],
    view: ViewType,
    max_results: usize,
    page_token: Option<&str>,
) -> Result<Page, SearchError>
where
    I: IntoIterator<Item = R>,
    R: Borrow<RunView>,
{
    let page = search_runs(runs, filter, order_by, view, max_results, page_token)?;
    Ok(Page {
        run_ids: page
            .runs
            .iter()
            .map(|r| r.borrow().run_id.clone())
            .collect(),
        next_page_token: page.next_page_token,
    })
}

/// Like [`search`], but returns the runs of the page themselves.
///
/// # Errors
///
/// As for [`search`].
pub fn search_runs<R, I>(
    runs: I,
    filter: Option<&Filter>,
    order_by: &[OrderBy],
    view: ViewType,
    max_results: usize,
    page_token: Option<&str>,
) -> Result<RunPage<R>, SearchError>
where
    I: IntoIterator<Item = R>,
    R: Borrow<RunView>,
{
    if max_results > MAX_RESULTS_THRESHOLD {
        return Err(SearchError::new(
            ErrorKind::InvalidMaxResults,
            None,
            format!(
                "Invalid value for request parameter max_results. It must be at most \
                 {MAX_RESULTS_THRESHOLD}, but got value {max_results}"
            ),
        ));
    }
    let (runs, next_page_token) = select_page(
        runs,
        |r| {
            let run = r.borrow();
            view.includes(&run.lifecycle_stage) && filter.is_none_or(|f| f.matches(run))
        },
        |selected| sort_runs(selected, order_by),
        max_results,
        page_token,
    )?;
    Ok(RunPage {
        runs,
        next_page_token,
    })
}
