//! One module per group of commands.

pub mod check;
pub mod list;
pub mod mlflow;
pub mod models;
pub mod plot;
pub mod show;
