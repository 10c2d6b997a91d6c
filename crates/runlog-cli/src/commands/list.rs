//! (being written)

use std::process::ExitCode;

use crate::cli::*;
use crate::error::{CliError, Result};

pub fn experiments(_ctx: &Context<'_>, _a: &ExperimentsArgs) -> Result<ExitCode> {
    Err(CliError::new("not built yet"))
}

pub fn runs(_ctx: &Context<'_>, _a: &RunsArgs) -> Result<ExitCode> {
    Err(CliError::new("not built yet"))
}
