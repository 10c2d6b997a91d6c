//! The command line: global options, every command and its arguments, and the dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use std::io::Write;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::commands;
use crate::error::Result;
use crate::output::Format;

/// Inspect, search, compare, plot, export, import and check a runlog store.
#[derive(Debug, Parser)]
#[command(
    name = "runlog",
    version,
    about,
    max_term_width = 100,
    after_help = "Examples:\n  \
        runlog runs -e mnist -f \"metrics.acc > 0.9 and params.lr = '0.001'\" -o \"metrics.acc DESC\"\n  \
        runlog show 3f2a                    a run by id prefix (4+ characters) or by name\n  \
        runlog metrics 3f2a train/loss --steps 1000..2000\n  \
        runlog plot 3f2a:train/loss 9bc1:train/loss --out loss.png\n  \
        runlog --format json runs -n 10     data as JSON (or csv) for scripts\n  \
        runlog export mlflow mlruns --watch\n\n\
        The store is --store PATH, else $RUNLOG_STORE, else ./runlog; only import and \
        check --repair write to it."
)]
pub struct Cli {
    /// The store folder.
    #[arg(long, global = true, env = "RUNLOG_STORE", default_value = "runlog")]
    pub store: PathBuf,
    /// How data is written.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lists experiments.
    ///
    /// Columns (also the CSV header and the JSON keys, kept stable): experiment_id, name,
    /// lifecycle_stage, runs (active runs), creation_time, last_update_time (UTC dates in
    /// tables, ms since the epoch in CSV and JSON).
    Experiments(ExperimentsArgs),
    /// Lists and searches runs with MLflow's filter language.
    ///
    /// Columns (also the CSV header and the JSON keys, kept stable): run_id, run_name,
    /// experiment_id, status, start_time, end_time (ms since the epoch), duration_ms (null
    /// while running), lifecycle_stage (with --all or --deleted), then params.<key> and
    /// metrics.<key> (latest values). CSV and JSON hold every param and metric unless --param
    /// or --metric choose; tables show the params and metrics the filter and order name, then
    /// the params that differ between the runs listed and the first metric keys (at least 4
    /// of each when there are), the start as a UTC date and a duration instead of end_time
    /// and duration_ms, and fractional numbers to 6 significant digits.
    Runs(RunsArgs),
    /// One run: params, tags, and every metric with a sparkline.
    ///
    /// With --format json, one object: run_id, run_name, experiment_id, experiment_name,
    /// status, lifecycle_stage, start_time, end_time, duration_ms, user_id, artifact_uri,
    /// params {key: value}, tags {key: value}, metrics [{key, count, first_step, last_step,
    /// latest, min, max}]. With --format csv, the metrics table.
    ///
    /// A series whose data is damaged on disk is marked "(damaged)" (JSON: a "damaged" field
    /// with the reason), the rest is shown, and the exit code is 1.
    Show(ShowArgs),
    /// The points of one metric of a run, or buckets of them.
    ///
    /// Columns: step, timestamp (ms since the epoch in CSV and JSON), value. With
    /// --downsample: start_step and end_step (start_time and end_time when bucketing by
    /// --since/--until), count, min, max, mean, last_step, last_value.
    Metrics(MetricsArgs),
    /// Runs side by side: params (differences marked) and latest metrics.
    ///
    /// JSON: a list of {section ("param" or "metric"), key, differs, values [{run_id,
    /// run_name, value}] in the order the runs were given}. CSV: section, key, differs, then
    /// one column per run id.
    Compare(CompareArgs),
    /// Draws metrics of runs into a PNG or SVG file.
    Plot(PlotArgs),
    /// Lists registered models.
    ///
    /// Columns: name, versions (live ones), latest_version, stages (highest version per
    /// stage other than None), aliases, creation_timestamp, last_updated_timestamp,
    /// description.
    Models,
    /// One registered model: versions, stages, aliases, tags.
    ///
    /// Versions, newest first: version, stage, aliases, run_id, run_name, source,
    /// creation_timestamp, last_updated_timestamp, description. JSON: one object {name,
    /// description, creation_timestamp, last_updated_timestamp, tags, aliases, versions}.
    /// CSV: the versions.
    Model(ModelArgs),
    /// Writes the store in another tool's format.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Reads another tool's data into the store.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Verifies every checksum of the store; exits 0 only when it is clean.
    #[command(
        after_help = "Checks every segment of every run (records, blocks, sealed structure), \
                      every journal line's CRC and that the catalog opens; artifacts have no \
                      checksums. Damage is listed with its file and byte offset.\n\
                      --repair never deletes data: a torn tail of a run's active segment is cut \
                      aside into NNNNNNNN.seg.tail-OFFSET by the run's writer recovery (which \
                      also rebuilds a damaged MANIFEST), a damaged or missing catalog is rebuilt \
                      from the journals (the old one kept as catalog.redb.old); damage inside \
                      sealed segments or journal lines is reported and left. Then it checks \
                      again.\n\
                      With --format json: one object {clean, found, repairs, after_repair}, \
                      each pass with its counts and problems [{path, offset, run, what}]; with \
                      csv: the problems, one row each (pass, path, offset, run, what).\n\
                      Exit code: 0 when the store is clean (after --repair: when nothing is \
                      left), 1 when damage was found."
    )]
    Check(CheckArgs),
    /// Runs, series, points, bytes on disk, bytes per point.
    Stats,
    /// Prints a shell completion script.
    #[command(
        after_help = "bash: runlog completions bash > ~/.local/share/bash-completion/completions/runlog\n\
                      zsh:  runlog completions zsh > ~/.zfunc/_runlog (with fpath+=~/.zfunc)\n\
                      fish: runlog completions fish > ~/.config/fish/completions/runlog.fish"
    )]
    Completions(CompletionsArgs),
}

/// `runlog completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `runlog experiments`.
#[derive(Debug, Args)]
pub struct ExperimentsArgs {
    /// Deleted experiments too.
    #[arg(long, conflicts_with = "deleted")]
    pub all: bool,
    /// Only deleted experiments.
    #[arg(long)]
    pub deleted: bool,
}

/// `runlog runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Only runs of this experiment (name or id); repeat for several. Default: all.
    #[arg(long = "experiment", short = 'e', value_name = "NAME")]
    pub experiments: Vec<String>,
    /// An MLflow filter: `metrics.acc > 0.9 and params.lr = '0.001'`.
    #[arg(long, short = 'f')]
    pub filter: Option<String>,
    /// An MLflow order: `metrics.acc DESC`; repeat for several.
    #[arg(long = "order-by", short = 'o', value_name = "ORDER")]
    pub order_by: Vec<String>,
    /// At most this many runs.
    #[arg(long, short = 'n', default_value_t = 100)]
    pub limit: usize,
    /// Params to show as columns (default: those the filter and order name, then those that
    /// differ between the runs listed).
    #[arg(long = "param", value_name = "KEY")]
    pub params: Vec<String>,
    /// Latest metrics to show as columns (default: those the filter and order name, then the
    /// first keys the runs have).
    #[arg(long = "metric", value_name = "KEY")]
    pub metrics: Vec<String>,
    /// Deleted runs too.
    #[arg(long, conflicts_with = "deleted")]
    pub all: bool,
    /// Only deleted runs.
    #[arg(long)]
    pub deleted: bool,
}

/// `runlog show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The run id (a unique prefix is enough).
    pub run: String,
}

/// `runlog metrics`.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// The run id (a unique prefix is enough).
    pub run: String,
    /// The metric key.
    pub key: String,
    /// Only steps in `A..B` (B excluded; either side may be left out).
    #[arg(long, value_name = "A..B")]
    pub steps: Option<String>,
    /// Only points at or after this time (ms since the epoch, or RFC 3339).
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only points before this time (ms since the epoch, or RFC 3339).
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// N buckets (min, max, mean, last) instead of the points.
    #[arg(long, value_name = "N")]
    pub downsample: Option<usize>,
}

/// `runlog compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Two or more run ids (unique prefixes are enough).
    #[arg(required = true, num_args = 2..)]
    pub runs: Vec<String>,
}

/// `runlog plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// `RUN` (all its metrics) or `RUN:KEY`; repeat to overlay.
    #[arg(required = true, value_name = "RUN[:KEY]")]
    pub series: Vec<String>,
    /// The image to write: `.png` or `.svg`.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Buckets per curve (min/max envelope drawn).
    #[arg(long, default_value_t = 1000)]
    pub downsample: usize,
    /// The x axis.
    #[arg(long, value_enum, default_value_t = XAxis::Step)]
    pub x: XAxis,
}

/// The x axis of a plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum XAxis {
    /// Steps.
    Step,
    /// Time.
    Time,
}

/// `runlog model`.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// The registered model's name.
    pub name: String,
}

/// `runlog export ...`.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// An MLflow file store (`mlruns/`) that `mlflow ui` opens; again into the same folder
    /// writes only what changed.
    ///
    /// Prints the counts written (--format json: one object; with --watch one per pass and
    /// line; csv: a header and a row per pass).
    ///
    /// A series whose data is damaged on disk is left out and listed (json: "damaged" as
    /// {run_id, key, reason}); everything else is exported, and the exit code is 1.
    Mlflow(ExportMlflowArgs),
}

/// `runlog export mlflow`.
#[derive(Debug, Args)]
pub struct ExportMlflowArgs {
    /// The folder to write (new, empty, or an earlier export).
    pub dir: PathBuf,
    /// Only this experiment (name or id); repeat for several.
    #[arg(long = "experiment", short = 'e', value_name = "NAME")]
    pub experiments: Vec<String>,
    /// Export again every few seconds until interrupted.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between exports with `--watch`.
    #[arg(long, default_value_t = 5.0, requires = "watch")]
    pub interval: f64,
    /// Stop `--watch` after this many passes (for tests).
    #[arg(long, hide = true, requires = "watch")]
    pub passes: Option<u64>,
}

/// `runlog import ...`.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// An MLflow file store (`mlruns/`).
    #[command(
        after_help = "Prints the counts imported, then every problem with its path and reason \
                      (--format json: one object with the counts, problems and notes as lists \
                      of {path, reason}; csv: the problems and notes, a row each).\n\
                      Exit code: 0 when the import ran, even with problems (they are listed and \
                      skipped); 1 with --stop-on-error at the first problem (what was imported \
                      before it stays), or when the source cannot be read."
    )]
    Mlflow(ImportMlflowArgs),
}

/// `runlog import mlflow`.
#[derive(Debug, Args)]
pub struct ImportMlflowArgs {
    /// The `mlruns` folder.
    pub dir: PathBuf,
    /// Stop at the first thing that cannot be imported (default: report it and go on).
    #[arg(long)]
    pub stop_on_error: bool,
    /// Copy artifacts into the store (default: keep the recorded artifact URIs).
    #[arg(long)]
    pub copy_artifacts: bool,
}

/// `runlog check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Repair what can be repaired without losing good data.
    #[arg(long)]
    pub repair: bool,
}

/// What every command gets.
pub struct Context<'a> {
    /// The store folder.
    pub store: &'a std::path::Path,
    /// How data is written.
    pub format: Format,
}

/// Runs the command.
pub fn run(cli: &Cli) -> Result<ExitCode> {
    let ctx = Context {
        store: &cli.store,
        format: cli.format,
    };
    match &cli.command {
        Command::Experiments(a) => commands::list::experiments(&ctx, a),
        Command::Runs(a) => commands::list::runs(&ctx, a),
        Command::Show(a) => commands::show::show(&ctx, a),
        Command::Metrics(a) => commands::show::metrics(&ctx, a),
        Command::Compare(a) => commands::show::compare(&ctx, a),
        Command::Plot(a) => commands::plot::plot(&ctx, a),
        Command::Models => commands::models::models(&ctx),
        Command::Model(a) => commands::models::model(&ctx, a),
        Command::Export(ExportCommand::Mlflow(a)) => commands::mlflow::export(&ctx, a),
        Command::Import(ImportCommand::Mlflow(a)) => commands::mlflow::import(&ctx, a),
        Command::Check(a) => commands::check::check(&ctx, a),
        Command::Stats => commands::check::stats(&ctx),
        Command::Completions(a) => {
            let mut out = std::io::stdout().lock();
            clap_complete::generate(a.shell, &mut Cli::command(), "runlog", &mut out);
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
