//! runlog's integration tests: one binary, one module per concern.

mod artifacts;
mod catalog_fixture;
mod common;
mod compaction;
mod corruption;
mod crash;
mod facade;
mod fixture;
mod hostile;
mod io_failure;
mod mlflow_export_fixture;
mod model;
mod multiprocess;
mod processes;
mod registry;
mod regressions;
mod search_oracle;
