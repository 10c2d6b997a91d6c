//! `runlog`: the command-line tool over a runlog store; see [`runlog_cli::run`].

fn main() -> std::process::ExitCode {
    runlog_cli::run(std::env::args_os())
}
