//! `procman export FORMAT LOCATION`: hands the app to a service manager (systemd, supervisord,
//! launchd, runit, upstart, inittab, upstart with start-stop-daemon, bluepill) or to a cluster
//! engine (docker compose, Kubernetes), with Foreman's file names and layout.
//!
//! The entry point is [`run`]; the CLI fills an [`ExportOptions`]. See `docs/export.md`.

mod bluepill;
mod command;
mod compose;
mod dirfd;
mod error;
mod escape;
mod files;
mod foreman;
mod inittab;
mod kubernetes;
mod launchd;
mod model;
mod order;
mod owners;
mod render;
mod runit;
mod supervisord;
mod systemd;
mod templates;
mod upstart;

#[cfg(test)]
mod tests;

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

pub(crate) use error::ExportError;
pub(crate) use render::is_generated;

use crate::plan::Plan;

/// An export format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Format {
    /// One systemd service unit per instance and a target for the app.
    Systemd,
    /// One supervisord config file with a program per instance and a group.
    Supervisord,
    /// One launchd property list per instance.
    Launchd,
    /// One runit service directory per instance.
    Runit,
    /// upstart jobs: the app, each process type, each instance.
    Upstart,
    /// upstart jobs that run each instance through start-stop-daemon.
    Daemon,
    /// A block of `/etc/inittab` lines, to a file or to standard output.
    Inittab,
    /// One bluepill application file (Ruby) with a process per instance.
    Bluepill,
    /// A docker compose file: a service per process type.
    Compose,
    /// Kubernetes manifests: a ConfigMap, a Deployment per type, a Service per listening type.
    Kubernetes,
}

impl Format {
    /// Every format, in the order they are listed to users.
    pub(crate) const ALL: [Format; 10] = [
        Format::Systemd,
        Format::Supervisord,
        Format::Launchd,
        Format::Runit,
        Format::Upstart,
        Format::Daemon,
        Format::Inittab,
        Format::Bluepill,
        Format::Compose,
        Format::Kubernetes,
    ];

    /// The name used on the command line and in template directories.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Systemd => "systemd",
            Format::Supervisord => "supervisord",
            Format::Launchd => "launchd",
            Format::Runit => "runit",
            Format::Upstart => "upstart",
            Format::Daemon => "daemon",
            Format::Inittab => "inittab",
            Format::Bluepill => "bluepill",
            Format::Compose => "compose",
            Format::Kubernetes => "kubernetes",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = ExportError;

    /// A format by name (case-insensitive); an unknown name is an error listing the known.
    fn from_str(name: &str) -> Result<Format, ExportError> {
        Format::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(name.trim())).ok_or_else(
            || ExportError::UnknownFormat {
                name: name.to_owned(),
                known: Format::ALL.map(Format::name).join(", "),
            },
        )
    }
}

/// What to export, where, and how. The CLI fills it from `procman export`'s arguments;
/// [`ExportOptions::new`] gives Foreman's defaults.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ExportOptions {
    /// The format (`FORMAT`).
    pub(crate) format: Format,
    /// `LOCATION`: the directory the files go into (created if missing). For `inittab`, the
    /// file to write the block into, or `-` for standard output.
    pub(crate) location: PathBuf,
    /// `-a/--app`: the app's name, the prefix of every file, unit and job. `None`: the name of
    /// the app root directory (`Plan::root`), as Foreman's documentation says.
    pub(crate) app: Option<String>,
    /// `-u/--user`: the user the processes run as. `None`: the app name.
    pub(crate) user: Option<String>,
    /// `-l/--log`: the log directory. `None`: `/var/log/<app>`.
    pub(crate) log_dir: Option<PathBuf>,
    /// `-r/--run`: the pid-file directory (daemon format). `None`: `/var/run/<app>`.
    pub(crate) run_dir: Option<PathBuf>,
    /// `-t/--template DIR`: a directory whose files override the built-in templates one by
    /// one (`DIR/process.service` replaces systemd's). Templates are minijinja; the other
    /// files there (Foreman's `.erb` templates) are named in a warning.
    pub(crate) template_dir: Option<PathBuf>,
    /// The per-user template root, looked up after `template_dir` as `<root>/<format>/<file>`.
    /// [`ExportOptions::new`] sets `~/.procman/templates`; `None` disables it.
    pub(crate) user_template_root: Option<PathBuf>,
    /// `-t/--timeout`: seconds between the stop signal and SIGKILL, for process types that
    /// set none of their own (`Settings::stop_timeout`). Foreman's default: 5 s.
    pub(crate) timeout: Duration,
    /// `--dry-run`: print each file that would be written (path and contents) and each stale
    /// file that would be removed, and touch nothing.
    pub(crate) dry_run: bool,
    /// Overwrite files and links at the location that neither procman nor Foreman's export of
    /// the app wrote. Never makes procman delete such a file, or write through a link.
    pub(crate) force: bool,
    /// `--image`: the container image (compose: optional, else the app root is built;
    /// kubernetes: required).
    pub(crate) image: Option<String>,
    /// The systemd version of the target machines, when known. From 254 on, an exponential
    /// backoff is written as `RestartSteps=` and `RestartMaxDelaySec=`; before (or `None`),
    /// units keep the fixed `RestartSec=` older systemd understands.
    pub(crate) systemd_version: Option<u32>,
}

impl ExportOptions {
    /// Options with Foreman's defaults for `format` into `location`.
    pub(crate) fn new(format: Format, location: impl Into<PathBuf>) -> ExportOptions {
        ExportOptions {
            format,
            location: location.into(),
            app: None,
            user: None,
            log_dir: None,
            run_dir: None,
            template_dir: None,
            user_template_root: std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|home| Path::new(&home).join(".procman/templates")),
            // Foreman's `-t` default, written as `TimeoutStopSec=5`: the same as `start`'s.
            timeout: crate::options::supervision::DEFAULT_STOP_TIMEOUT,
            dry_run: false,
            force: false,
            image: None,
            systemd_version: None,
        }
    }
}

/// What an export did (or, for a dry run, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ExportReport {
    /// Files written (or that would be).
    pub(crate) written: Vec<PathBuf>,
    /// Files whose contents were already right, left untouched.
    pub(crate) unchanged: Vec<PathBuf>,
    /// Stale files and directories of an earlier export removed (or that would be).
    pub(crate) removed: Vec<PathBuf>,
    /// Stale directories that are not empty, and runit services holding files procman did not
    /// write: left in place.
    pub(crate) kept: Vec<PathBuf>,
    /// Files and directories of Foreman's export of the app that were removed or written
    /// over (also in `removed` or `written`).
    pub(crate) foreman: Vec<PathBuf>,
    /// What the user should know (a template directory with files procman does not use).
    pub(crate) warnings: Vec<String>,
    /// Directories created.
    pub(crate) created_dirs: Vec<PathBuf>,
    /// True when the output went to `out` instead of files (inittab with `-`).
    pub(crate) to_stdout: bool,
}

/// Exports `plan` as `options` say, printing what it does to `out` (`[procman export]
/// writing: <file>`, `cleaning up: <file>`, ...; for a dry run, the files themselves).
///
/// Everything is checked and rendered before the first write, so an error leaves the
/// location as it was.
///
/// # Errors
/// See [`ExportError`]: invalid names or values, an unknown template variable, a foreign file
/// or a link in the way, an I/O failure.
pub(crate) fn run(
    plan: &Plan,
    options: &ExportOptions,
    out: &mut dyn Write,
) -> Result<ExportReport, ExportError> {
    let export = model::resolve(plan, options)?;
    if let Some(dir) = options.template_dir.as_deref() {
        // A template directory that is not there would leave every template built in, silently.
        std::fs::read_dir(dir)
            .map_err(|e| ExportError::io("read the template directory", dir, e))?;
    }
    let warnings = options.template_dir.as_deref().map(|dir| unused_templates(dir, options.format));
    let mut renderer = render::Renderer::new(options)?;
    let mut report = if options.format == Format::Inittab {
        inittab::export(&export, &mut renderer, options, out)?
    } else {
        export_files(&export, &mut renderer, options, out)?
    };
    report.warnings.extend(warnings.flatten());
    report.warnings.extend(order::warnings(&export, options.format));
    Ok(report)
}

/// Every format but inittab: renders the files, then writes them into the location.
fn export_files(
    export: &model::Export,
    renderer: &mut render::Renderer,
    options: &ExportOptions,
    out: &mut dyn Write,
) -> Result<ExportReport, ExportError> {
    if export.location == Path::new("-") {
        return Err(ExportError::StdoutUnsupported { format: options.format.name() });
    }
    let files = match options.format {
        Format::Systemd => systemd::render(export, renderer)?,
        Format::Supervisord => supervisord::render(export, renderer)?,
        Format::Launchd => launchd::render(export, renderer)?,
        Format::Runit => runit::render(export, renderer)?,
        Format::Upstart | Format::Daemon => upstart::render(export, renderer)?,
        Format::Bluepill => bluepill::render(export, renderer)?,
        Format::Compose => compose::render(export, renderer)?,
        Format::Kubernetes => kubernetes::render(export, renderer)?,
        Format::Inittab => Vec::new(),
    };
    if !options.dry_run && !matches!(options.format, Format::Compose | Format::Kubernetes) {
        chown_dir(Path::new(&export.log), &export.user)?;
        chown_dir(Path::new(&export.run), &export.user)?;
    }
    let layout = owners::Layout {
        format: options.format,
        app: &export.app,
        types: export.processes.iter().map(|p| p.name.as_str()).collect(),
    };
    files::apply(&export.location, &layout, &files, options, out)
}

/// The warning for the files of the template directory `dir` that `format` does not use
/// (Foreman's `.erb` templates, typically), if there are any.
fn unused_templates(dir: &Path, format: Format) -> Option<String> {
    let unused = templates::unused_files(dir, format);
    if unused.is_empty() {
        return None;
    }
    let names = templates::names(format);
    let first = names.first().copied().unwrap_or_default();
    Some(format!(
        "--template {}: procman's templates are minijinja (Jinja2 syntax), not Foreman's ERB, \
         and {format} uses only {}; not using: {}. The built-in template is used for each \
         missing one: see it with `procman export --print-template {format} {first}` (templates \
         in docs/export.md)",
        dir.display(),
        names.join(", "),
        unused.join(", ")
    ))
}

/// The source of the built-in template `name` of `format` (`process.service`, or a short
/// name such as `service`), for `procman export --print-template`; with no name, the list
/// of the format's templates, one per line.
///
/// # Errors
/// [`ExportError::UnknownTemplate`] listing the format's templates.
pub(crate) fn print_template(format: Format, name: Option<&str>) -> Result<String, ExportError> {
    match name {
        Some(name) => templates::find(format, name).map(|(_, source)| source.to_owned()),
        None => Ok(templates::names(format).iter().map(|n| format!("{n}\n")).collect()),
    }
}

/// Foreman's base step: the log and run directories, when they exist, are given to the user.
/// It fails only when the directory exists, cannot be chowned, and is not writable.
fn chown_dir(dir: &Path, user: &str) -> Result<(), ExportError> {
    if !dir.is_dir() {
        return Ok(());
    }
    let failure = match nix::unistd::User::from_name(user) {
        Ok(Some(u)) => match nix::unistd::chown(dir, Some(u.uid), None) {
            Ok(()) => return Ok(()),
            Err(e) => e.desc().to_owned(),
        },
        Ok(None) => format!("no user `{user}` on this machine"),
        Err(e) => e.desc().to_owned(),
    };
    if nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_ok() {
        return Ok(());
    }
    Err(ExportError::Chown { dir: dir.to_owned(), user: user.to_owned(), reason: failure })
}
