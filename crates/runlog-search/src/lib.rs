//! MLflow's `search_runs` semantics, independent of storage: the filter language, the result
//! order and paging, as MLflow 3.17.2's file store implements them.
//!
//! The crate never touches disk. A caller (the catalog) fills one [`RunView`] per run and
//! either asks [`Filter::matches`] about single runs or lets [`search`] filter, sort and page
//! a whole experiment's runs:
//!
//! ```
//! use runlog_search::{Filter, OrderBy, RunView, ViewType, search};
//!
//! let mut run = RunView {
//!     run_id: "a1".into(),
//!     status: "FINISHED".into(),
//!     lifecycle_stage: "active".into(),
//!     start_time: Some(1_700_000_000_000),
//!     ..RunView::default()
//! };
//! run.metrics.insert("acc".into(), 0.93);
//! run.params.insert("optimizer".into(), "adam".into());
//!
//! let filter = Filter::parse("metrics.acc > 0.9 AND params.optimizer ILIKE 'ADAM%'")?;
//! assert!(filter.matches(&run));
//!
//! let order = [OrderBy::parse("metrics.acc DESC")?];
//! let page = search([&run], Some(&filter), &order, ViewType::ActiveOnly, 100, None)?;
//! assert_eq!(page.run_ids, ["a1"]);
//! assert_eq!(page.next_page_token, None);
//! # Ok::<(), runlog_search::SearchError>(())
//! ```
//!
//! The behaviour follows MLflow, quirks included, and was checked against the ground truth
//! in `tests/fixtures/mlflow-search/` (recorded from real MLflow 3.17.2). Where MLflow checks
//! something only when it evaluates a run (an unsupported comparator such as `params.lr >
//! '0.1'`), this crate rejects it when parsing, so that a bad filter fails even on an empty
//! experiment.
//!
//! Experiments are searched the same way, with MLflow's `search_experiments` rules: fill one
//! [`ExperimentView`] per experiment and use [`ExperimentFilter`], [`ExperimentOrderBy`] and
//! [`search_experiments`]. The filter language is the run one with other keys (`name`,
//! `creation_time`, `last_update_time`, `tags.<key>`); the default order is newest first.
//!
//! Inside, one module per concept: a lexer that cuts text where MLflow's `sqlparse` cuts it,
//! the parser that builds a [`Filter`] out of [`Clause`]s (a [`Subject`] and a
//! [`Predicate`]), the evaluator behind [`Filter::matches`], `LIKE` matching
//! ([`LikePattern`]), ordering ([`OrderBy`], [`sort_runs`]) and paging
//! ([`encode_page_token`], [`search`]); experiments add their keys, evaluation and order on
//! top of the same pieces.
//!
//! The model registry's two searches (`search_registered_models`, `search_model_versions`)
//! reuse the lexer and the first pass too: [`RegisteredModelFilter`], [`ModelVersionFilter`],
//! [`RegistryOrderBy`] and [`search_registered_models`] / [`search_model_versions`].

mod ast;
mod error;
mod eval;
mod experiment;
mod experiment_search;
mod ident;
mod lexer;
mod order;
mod paging;
mod parser;
mod pattern;
mod pylist;
mod registry;
mod registry_search;
mod resolve;
mod run;
mod search;

pub use ast::{Attribute, Clause, DatasetField, Filter, NumOp, Number, Predicate, Subject};
pub use error::{ErrorKind, SearchError};
pub use experiment::{
    ExperimentAttribute, ExperimentClause, ExperimentFilter, ExperimentSubject, ExperimentView,
};
pub use experiment_search::{
    ExperimentOrderBy, ExperimentPage, search_experiments, sort_experiments,
};
pub use order::{OrderBy, natural_order, sort_runs};
pub use paging::{decode_page_token, encode_page_token};
pub use pattern::LikePattern;
pub use registry::{
    IS_PROMPT_TAG_KEY, ModelVersionFilter, ModelVersionView, RegisteredModelFilter,
    RegisteredModelView, RegistryClause, RegistrySubject,
};
pub use registry_search::{
    MAX_MODEL_VERSIONS_THRESHOLD, MAX_REGISTERED_MODELS_THRESHOLD, RegistryAttribute,
    RegistryOrderBy, RegistryPage, search_model_versions, search_registered_models,
    sort_model_versions, sort_registered_models,
};
pub use run::{DatasetInput, MetricPoint, RunView, latest_metric_value};
pub use search::{
    DEFAULT_MAX_RESULTS, MAX_RESULTS_THRESHOLD, Page, RunPage, ViewType, search, search_runs,
};
