//! The `runlog` command-line tool as a library, so that other programs (the README's demo,
//! a trainer's own binary) can run its commands in process: [`run`] takes the arguments a
//! shell would pass, prints what the command prints, and returns the exit code.
//!
//! ```no_run
//! let code = runlog_cli::run(["runlog", "--store", "runlog-demo", "runs", "--limit", "5"]);
//! assert_eq!(code, std::process::ExitCode::SUCCESS);
//! ```
//!
//! Every command opens the store read-only unless it must write (`import`, `check
//! --repair`), so it never waits for the trainers writing into it.

mod cli;
mod commands;
mod error;
mod output;
mod resolve;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

/// Parses `args` (the first is the program's name, as in `std::env::args_os`) and runs the
/// command: its data goes to stdout, errors with a hint to stderr. The exit code is 0 on
/// success, 1 when the command failed (or `check` found damage), 2 for arguments clap
/// refused; `--help` and `--version` print and return 0. A closed stdout (`runlog runs |
/// head`) ends the command quietly with 0.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout, mistakes to stderr.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match cli::run(&cli) {
        Ok(code) => code,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(hint) = e.hint_text() {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}
