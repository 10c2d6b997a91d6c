//! The catalog of experiments, runs, params and tags: which experiments and runs exist, what
//! they are called, and the params and tags logged to them, following MLflow's tracking
//! semantics exactly.
//!
//! For now it holds only [`validation`]: MLflow 3.17's rules for every name a user can choose
//! (metric, param and tag keys, experiment, run and registered model names, aliases) and for
//! the ids and batch sizes the catalog accepts, with errors that say what is allowed.
//!
//! ```
//! use runlog_catalog::validation::{ValidationError, validate_metric_key, validate_param};
//!
//! validate_metric_key("train/loss")?;
//! validate_param("größe", "0.001")?;
//!
//! let err = validate_metric_key("a\nb").unwrap_err();
//! assert!(matches!(err, ValidationError::BadCharacter { character: '\n', .. }));
//! assert!(err.to_string().starts_with(r#"invalid metric key "a\nb": metric keys may contain only"#));
//! # Ok::<(), ValidationError>(())
//! ```

pub mod validation;
