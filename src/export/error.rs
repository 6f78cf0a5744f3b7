//! The errors of `procman export`: each one names what failed, where, and what to do about it.

use std::io;
use std::path::PathBuf;

/// Everything that can stop an export. Nothing is written when the plan or the options are at
/// fault: values are checked and every file is rendered before the first write.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExportError {
    /// The format name is not one of ours.
    #[error("unknown export format `{name}` (known formats: {known})")]
    UnknownFormat {
        /// What was asked for.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },

    /// No location was given.
    #[error("must specify a location: the directory to export {format} files into")]
    NoLocation {
        /// The format's name.
        format: &'static str,
    },

    /// `-` (standard output) was given for a format that writes several files.
    #[error(
        "{format} export writes several files and cannot write to standard output (`-`); \
         give a directory, or use --dry-run to see what would be written"
    )]
    StdoutUnsupported {
        /// The format's name.
        format: &'static str,
    },

    /// A name (app, user, process, Kubernetes object) that cannot be used where it must go.
    #[error("{what} `{value}` cannot be used: {reason}")]
    InvalidName {
        /// What the name is (`app name (the root directory's name)`, `user`, ...).
        what: String,
        /// The offending name.
        value: String,
        /// Why, and what to do.
        reason: String,
    },

    /// An environment variable whose name no service manager accepts.
    #[error(
        "environment variable `{name}` from {origin} has an invalid name: \
         use letters, digits and `_`, not starting with a digit"
    )]
    InvalidEnvName {
        /// The variable's name.
        name: String,
        /// Where it comes from (`the env files`, `the config of process web`).
        origin: String,
    },

    /// A control character (a newline, a tab, an escape...) in a value written into a file:
    /// it would break the file's syntax or inject directives, so it is refused.
    #[error(
        "{what} contains the control character {character:?}, which cannot be written safely \
         into {format} files; remove it (for a multi-line value, keep it in a file the \
         process reads)"
    )]
    UnsafeValue {
        /// The value's description (`the command of process \`web\``, ...).
        what: String,
        /// The first offending character.
        character: char,
        /// The format's name.
        format: &'static str,
    },

    /// A value without control characters that this format still cannot express.
    #[error("{what} cannot be expressed in {format} files: {reason}")]
    Unrepresentable {
        /// The value's description.
        what: String,
        /// The format's name.
        format: &'static str,
        /// Why, and what to do.
        reason: String,
    },

    /// `PORT` would go past 65535.
    #[error(
        "instance {ps} would get a port above 65535 (base port {base_port}); \
         lower the base port with --port"
    )]
    PortOverflow {
        /// The instance (`web.3`).
        ps: String,
        /// The base port used.
        base_port: u16,
    },

    /// A format that runs containers got no image.
    #[error(
        "{format} export needs --image IMAGE: the container image that holds the app \
         (for example one built from the app root with `docker build -t IMAGE .`)"
    )]
    MissingImage {
        /// The format's name.
        format: &'static str,
    },

    /// inittab ids are two letters and two digits.
    #[error(
        "inittab export supports at most 99 instances ({count} asked for): its ids are the \
         app's first two letters and two digits; lower the formation with -m"
    )]
    TooManyInittabEntries {
        /// The number of instances.
        count: usize,
    },

    /// A template failed to load or render.
    #[error("template {template} failed: {message}")]
    Template {
        /// The template's path, or `<format>/<file> (built in)`.
        template: String,
        /// The engine's message, with the line.
        message: String,
    },

    /// A file at the location was not written by procman, and the export would overwrite it.
    #[error(
        "refusing to overwrite {}: procman did not write it (it is not in the export \
         manifest and has no procman header); move it away (an old Foreman export can simply \
         be deleted) or set `force` to overwrite it",
        path.display()
    )]
    ForeignFile {
        /// The file.
        path: PathBuf,
    },

    /// The manifest of an earlier export cannot be read.
    #[error(
        "the export manifest {} is damaged ({reason}); check it, or delete it to start over \
         (stale files of the earlier export are then left in place)",
        path.display()
    )]
    BadManifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// An inittab file with the start line of the app's block but not its end.
    #[error(
        "{} has the line `{start}` but no matching end line; fix the block by hand, then \
         export again",
        path.display()
    )]
    BrokenBlock {
        /// The file.
        path: PathBuf,
        /// The start line.
        start: String,
    },

    /// A path that is not UTF-8 cannot be written into a text file.
    #[error("{what} {} is not valid UTF-8 and cannot be written into {format} files", path.display())]
    NonUtf8Path {
        /// The path's role (`app root`, `log directory`...).
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The format's name.
        format: &'static str,
    },

    /// The log or run directory exists but cannot be given to the user.
    #[error(
        "could not chown {} to {user}: {reason}; create it with the right owner, or run the \
         export as root",
        dir.display()
    )]
    Chown {
        /// The directory.
        dir: PathBuf,
        /// The user.
        user: String,
        /// What failed.
        reason: String,
    },

    /// A file-system operation failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`write`, `read`, `remove`, `create directory`).
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
}

impl ExportError {
    /// An [`ExportError::Io`] for `path`.
    pub(super) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        ExportError::Io { action, path: path.into(), source }
    }
}
