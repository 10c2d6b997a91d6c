//! (being written)

use std::process::ExitCode;

use crate::cli::*;
use crate::error::{CliError, Result};

pub fn plot(_ctx: &Context<'_>, _a: &PlotArgs) -> Result<ExitCode> {
    Err(CliError::new("not built yet"))
}
