//! What a command reports when it fails: what was wrong, and what to try.

use std::fmt;

/// A failed command.
#[derive(Debug)]
pub struct CliError {
    message: String,
    hint: Option<String>,
    code: u8,
}

impl CliError {
    /// A failure with `message` (exit code 1).
    pub fn new(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            hint: None,
            code: 1,
        }
    }

    /// Adds what to try.
    pub fn hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }

    /// Sets the exit code.
    pub fn code(mut self, code: u8) -> CliError {
        self.code = code;
        self
    }

    /// The hint, if any.
    pub fn hint_text(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl From<runlog::Error> for CliError {
    fn from(e: runlog::Error) -> CliError {
        CliError::new(e.to_string())
    }
}

impl From<runlog::catalog::CatalogError> for CliError {
    fn from(e: runlog::catalog::CatalogError) -> CliError {
        CliError::new(e.to_string())
    }
}

impl From<runlog::metrics::Error> for CliError {
    fn from(e: runlog::metrics::Error) -> CliError {
        CliError::new(e.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError::new(e.to_string())
    }
}

/// A `Result` with [`CliError`].
pub type Result<T, E = CliError> = std::result::Result<T, E>;
