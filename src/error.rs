//! The one error type of the command line, rendered once in `main`, and the one table of exit
//! codes (also in docs/cli.md, whose table `tests/cli/exit_codes.rs` checks row by row):
//!
//! | code | class |
//! |---|---|
//! | 0 | success |
//! | 1 | bad input, a failed export, a failed system operation, a control command that failed |
//! | 2 | a usage error: clap's, or an argument clap cannot check ([`CliError::Usage`]) |
//! | 126, 127 | `run` cannot execute its command ([`CliError::Exec`]) |
//!
//! `start` ends with the status of the process that ended the run (see
//! `commands::start::Ending`); that is an outcome, not an error.

use std::io;

use crate::control::client::CtlError;
use crate::control::socket::BindError;
use crate::export::ExportError;
use procman::diagnostic::{Diagnostic, Diagnostics};

/// The exit code of bad input and failed operations.
pub(crate) const EXIT_FAILURE: i32 = 1;
/// The exit code of a usage error, clap's own included.
pub(crate) const EXIT_USAGE: i32 = 2;

/// Everything that can stop a command before it does its job.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Bad input: Procfile, env files, formation, options, `.foreman`, config file.
    #[error("{}", .0.render(false))]
    Input(Diagnostics),
    /// A command-line mistake that clap cannot see (`procman scale web=x`, an unknown signal).
    #[error("{0}")]
    Usage(String),
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
    /// A control command failed: no procman running, a refused request, a broken connection.
    #[error("{0}")]
    Control(#[from] CtlError),
    /// `start` cannot listen on its control socket.
    #[error("{0}")]
    Socket(#[from] BindError),
}

impl From<Diagnostics> for CliError {
    fn from(diagnostics: Diagnostics) -> CliError {
        CliError::Input(diagnostics)
    }
}

impl From<Diagnostic> for CliError {
    fn from(diagnostic: Diagnostic) -> CliError {
        CliError::Input(diagnostic.into())
    }
}

impl CliError {
    pub(crate) fn io(context: impl Into<String>, error: io::Error) -> CliError {
        CliError::Io { context: context.into(), error }
    }

    /// The exit code this error ends procman with: the table above.
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            CliError::Exec { code, .. } => *code,
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Input(_)
            | CliError::Export(_)
            | CliError::Io { .. }
            | CliError::Control(_)
            | CliError::Socket(_) => EXIT_FAILURE,
        }
    }

    /// The message for people, colored when `color`: `error: ...`, the style of clap's errors
    /// and of every diagnostic (which adds where and what to do).
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

/// Whether procman's own messages on standard error are colored: a terminal that shows color.
pub(crate) fn stderr_color() -> bool {
    supports_color::on(supports_color::Stream::Stderr).is_some()
}

/// Prints a warning about the run on standard error in the style of every other message:
/// `warning: ...`, as errors are `error: ...`.
pub(crate) fn warn(text: &str) {
    eprint!("{}", Diagnostic::new(text).render_warning(stderr_color()));
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// One error of each class, its exit code, and the one style they all render in.
    #[test]
    fn each_class_has_its_exit_code_and_every_error_renders_as_error_colon() {
        let cases = [
            (CliError::Input(Diagnostic::new("bad Procfile").into()), 1),
            (CliError::Usage("expected NAME=COUNT".into()), 2),
            (CliError::io("cannot write x", io::Error::other("disk full")), 1),
            (CliError::Exec { message: "command not found: x".into(), code: 127 }, 127),
            (CliError::Exec { message: "not executable: x".into(), code: 126 }, 126),
            (CliError::Control(CtlError::NotRunning { path: PathBuf::from("s") }), 1),
            (CliError::Control(CtlError::Refused("no".into())), 1),
            (CliError::Socket(BindError::NotASocket { path: PathBuf::from("s") }), 1),
        ];
        for (error, code) in cases {
            assert_eq!(error.exit_code(), code, "{error:?}");
            let text = error.render(false);
            assert!(text.starts_with("error: ") && text.ends_with('\n'), "{text:?}");
            assert!(!text.contains("procman: error"), "{text:?}");
        }
    }
}
