//! (being written)

use std::process::ExitCode;

use crate::cli::*;
use crate::error::{CliError, Result};

pub fn check(_ctx: &Context<'_>, _a: &CheckArgs) -> Result<ExitCode> {
    Err(CliError::new("not built yet"))
}

pub fn stats(_ctx: &Context<'_>) -> Result<ExitCode> {
    Err(CliError::new("not built yet"))
}
