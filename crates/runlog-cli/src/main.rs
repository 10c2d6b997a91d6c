//! `runlog`: the command-line tool over a runlog store. Every command opens the store
//! read-only unless it must write (`import`, `check --repair`), so it never waits for the
//! trainers writing into it.

// While the commands are being written (removed when every one is).
#![allow(dead_code)]

mod cli;
mod commands;
mod error;
mod output;
mod resolve;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli::run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(hint) = e.hint_text() {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}
