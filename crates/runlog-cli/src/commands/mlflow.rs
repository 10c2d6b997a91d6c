//! (being written)

use std::process::ExitCode;

use crate::cli::*;
use crate::error::{CliError, Result};

pub fn export(_ctx: &Context<'_>, _a: &ExportMlflowArgs) -> Result<ExitCode> {
    Err(CliError::new("not built yet"))
}

pub fn import(_ctx: &Context<'_>, _a: &ImportMlflowArgs) -> Result<ExitCode> {
    Err(CliError::new("not built yet"))
}
