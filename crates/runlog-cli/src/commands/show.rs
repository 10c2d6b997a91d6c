//! (being written)

use std::process::ExitCode;

use crate::cli::*;
use crate::error::{CliError, Result};

pub fn show(_ctx: &Context<'_>, _a: &ShowArgs) -> Result<ExitCode> {
    Err(CliError::new("not built yet"))
}

pub fn metrics(_ctx: &Context<'_>, _a: &MetricsArgs) -> Result<ExitCode> {
    Err(CliError::new("not built yet"))
}

pub fn compare(_ctx: &Context<'_>, _a: &CompareArgs) -> Result<ExitCode> {
    Err(CliError::new("not built yet"))
}
