//! (being written)

use std::process::ExitCode;

use crate::cli::*;
use crate::error::{CliError, Result};

pub fn models(_ctx: &Context<'_>) -> Result<ExitCode> {
    Err(CliError::new("not built yet"))
}

pub fn model(_ctx: &Context<'_>, _a: &ModelArgs) -> Result<ExitCode> {
    Err(CliError::new("not built yet"))
}
