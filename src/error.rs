//! The errors the command line reports, rendered once in `main`, and their exit codes.
//!
//! Exit codes (also in docs/cli.md): 0 success; 1 bad input or a failed operation; 2 a usage
//! error (clap); 126 or 127 when `run` cannot execute its command; otherwise the status of the
//! process that ended a `start` (see `commands::start::Ending`).

use std::io;

use crate::diagnostic::Diagnostics;
use crate::export::ExportError;

/// Everything that can stop a command before it does its job.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Bad input: Procfile, env files, formation, options, `.foreman`, config file.
    #[error("{}", .0.render(false))]
    Input(Diagnostics),
    /// An export that failed.
    #[error("{0}")]
    Export(#[from] ExportError),
    /// An operation of the system failed.
    #[error("{context}: {error}")]
    Io {
        context: String,
        #[source]
        error: io::Error,
    },
    /// `run` could not execute its command.
    #[error("{message}")]
    Exec { message: String, code: i32 },
    /// A control command failed (no procman running, a refused request).
    #[error("{0}")]
    Control(String),
}

impl From<Diagnostics> for CliError {
    fn from(diagnostics: Diagnostics) -> CliError {
        CliError::Input(diagnostics)
    }
}

impl CliError {
    pub(crate) fn io(context: impl Into<String>, error: io::Error) -> CliError {
        CliError::Io { context: context.into(), error }
    }

    /// The exit code this error ends procman with.
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            CliError::Exec { code, .. } => *code,
            CliError::Input(_)
            | CliError::Export(_)
            | CliError::Io { .. }
            | CliError::Control(_) => 1,
        }
    }

    /// The message for people, colored when `color`.
    pub(crate) fn render(&self, color: bool) -> String {
        use owo_colors::OwoColorize;
        match self {
            CliError::Input(diagnostics) => diagnostics.render(color),
            other => {
                let label =
                    if color { "error".red().bold().to_string() } else { "error".to_owned() };
                format!("{label}: {other}\n")
            }
        }
    }
}
