//! What a command reports when it fails: what was wrong, and what to try.

use std::fmt;

use unicode_width::UnicodeWidthStr;

/// A failed command.
#[derive(Debug)]
pub struct CliError {
    message: String,
    hint: Option<String>,
    code: u8,
    /// Output went to a pipe whose reader left (`runlog runs | head`): not a failure.
    broken_pipe: bool,
}

impl CliError {
    /// A failure with `message` (exit code 1).
    pub fn new(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            hint: None,
            code: 1,
            broken_pipe: false,
        }
    }

    /// Adds what to try.
    pub fn hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }

    /// The hint, if any.
    pub fn hint_text(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// Whether the command stopped because its output's reader went away (`| head`), which
    /// ends it quietly and successfully, as `ripgrep` and `cat` do.
    pub fn is_broken_pipe(&self) -> bool {
        self.broken_pipe
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        self.code
    }
}

impl CliError {
    /// A rejected `--filter` or `--order-by` text: the search error's message, then the text
    /// with a caret under the position where the mistake was found.
    pub fn search(e: &runlog::search::SearchError, flag: &str, text: &str) -> CliError {
        let mut message = e.message().to_string();
        let shown = format!("  {flag} {text:?}");
        if let Some(pos) = e
            .position()
            .filter(|&p| p <= text.len() && text.is_char_boundary(p))
        {
            // Debug-quoting escapes only unusual characters; measure what precedes the position
            // as it is shown.
            let before = format!("{:?}", &text[..pos]);
            // Columns as the terminal draws them: wide characters (CJK, most emoji) take two.
            let column = flag.width() + 3 + before.width() - 1;
            message.push_str(&format!("\n{shown}\n{}^", " ".repeat(column)));
        } else {
            message.push_str(&format!("\n{shown}"));
        }
        CliError::new(message).hint(
            "the language is MLflow's: `metrics.acc > 0.9 and params.lr = '0.001'`, \
             `tags.\"mlflow.runName\" LIKE 'bert%'`, keys with `/` in backticks \
             (metrics.`val/acc`); orders are `metrics.acc DESC`, `attributes.start_time`",
        )
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// What to do about damaged metric data, wherever a command meets it.
pub const CORRUPT_HINT: &str = "`runlog check` lists every damaged file with its byte offset; the rest of the store reads normally";

impl From<runlog::Error> for CliError {
    fn from(e: runlog::Error) -> CliError {
        match e {
            runlog::Error::Metrics(e) => e.into(),
            e => CliError::new(e.to_string()),
        }
    }
}

impl From<runlog::catalog::CatalogError> for CliError {
    fn from(e: runlog::catalog::CatalogError) -> CliError {
        CliError::new(e.to_string())
    }
}

impl From<runlog::metrics::Error> for CliError {
    fn from(e: runlog::metrics::Error) -> CliError {
        let corrupt = e.is_corruption();
        let err = CliError::new(e.to_string());
        if corrupt { err.hint(CORRUPT_HINT) } else { err }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        let mut err = CliError::new(e.to_string());
        err.broken_pipe = e.kind() == std::io::ErrorKind::BrokenPipe;
        err
    }
}

/// A `Result` with [`CliError`].
pub type Result<T, E = CliError> = std::result::Result<T, E>;
