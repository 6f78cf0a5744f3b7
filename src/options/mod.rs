//! The options stage: from what the user typed to what each command does, with the precedence
//! in one place (docs/config.md#precedence): the command line, then `.foreman`, then
//! `procman.json`, then the default.
//!
//! - [`arguments`]: `.foreman` as arguments that clap parses with the command line, so
//!   `.foreman` and the command line meet in one parse ([`parse`]).
//! - [`plan`]: where the app is, and the [`Plan`]: Procfile, env files, formation, port,
//!   `procman.json`, then the supervision options over it.
//! - [`supervision`]: the supervision options (`--restart web=always`...), and `start`'s
//!   defaults for what nothing sets.
//! - here: each command's options, resolved ([`Start`], [`Export`], [`Run`], [`Check`],
//!   [`control_socket`]), and [`Origin`], which lets a bad value from `.foreman` be reported at
//!   its line rather than as if it had been typed.

pub(crate) mod arguments;
pub(crate) mod logs;
pub(crate) mod plan;
pub(crate) mod supervision;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{
    AppArgs, CheckArgs, Cli, ColorWhen, ContainmentChoice, ControlArgs, ExportArgs, PlanArgs,
    RunArgs, StartArgs, SupervisionArgs, TtyWhen,
};
use crate::error::CliError;
use crate::export::{ExportOptions, Format as ExportFormat};
use crate::output::logfile::LogConfig;
use crate::output::{Format, use_color};
use crate::plan::Plan;
pub(crate) use arguments::Flag;
use plan::{AppPaths, PlanOptions};
use procman::diagnostic::{Diagnostic, Diagnostics};
use procman::dotforeman::{DotForeman, Setting};

/// Where an option's value came from, for messages about it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Typed on the command line (or nowhere: the default).
    #[default]
    CommandLine,
    /// A line of `.foreman`.
    DotForeman(Box<Line>),
}

/// The `.foreman` line a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    path: PathBuf,
    number: usize,
    /// The line's text.
    text: String,
    /// The key as written.
    key: String,
    /// Where the value starts in the line, from 1, and how many characters it takes there.
    column: usize,
    span: usize,
    /// The value stands in the line as it is (not quoted), so a column within it is one of
    /// the line.
    verbatim: bool,
}

impl Origin {
    fn dotforeman(dot: &DotForeman, setting: &Setting) -> Origin {
        let quotes = if setting.quoted { 2 } else { 0 };
        Origin::DotForeman(Box::new(Line {
            path: dot.path.clone(),
            number: setting.line,
            text: setting.text.clone(),
            key: setting.key.clone(),
            column: setting.column,
            span: setting.value.chars().count() + quotes,
            verbatim: !setting.quoted,
        }))
    }

    /// A message about this value of option `flag` (`-p/--port`): `-p/--port: MESSAGE` when it
    /// was typed; `.foreman line 2: port: MESSAGE`, pointing at the value, when it came from
    /// `.foreman`.
    pub(crate) fn diagnostic(&self, flag: &str, message: &str) -> Diagnostic {
        match self {
            Origin::CommandLine => Diagnostic::new(format!("{flag}: {message}")),
            Origin::DotForeman(line) => {
                let label = procman::diagnostic::file_label(&line.path);
                Diagnostic::new(format!("{label} line {}: {}: {message}", line.number, line.key))
                    .at_line(&line.path, line.number, &line.text)
                    .with_column(line.column, line.span)
            }
        }
    }

    /// Moves the diagnostics that point into the value's text as given with `flag` (the
    /// formation's `-m/--formation`) to the `.foreman` line the value came from.
    pub(crate) fn relocate(&self, diagnostics: Diagnostics, flag: &str) -> Diagnostics {
        let Origin::DotForeman(line) = self else { return diagnostics };
        let omitted = diagnostics.omitted;
        let mut moved: Diagnostics = diagnostics
            .list
            .into_iter()
            .map(|diagnostic| {
                if diagnostic.origin.as_deref() != Some(flag) {
                    return diagnostic;
                }
                let (column, span) = match diagnostic.column {
                    Some(within) if line.verbatim => (line.column + within - 1, diagnostic.span),
                    _ => (line.column, line.span),
                };
                Diagnostic { origin: None, ..diagnostic }
                    .at_line(&line.path, line.number, &line.text)
                    .with_column(column, span)
            })
            .collect();
        moved.omitted += omitted;
        moved
    }
}

/// Where each option set from `.foreman` came from; every other option came from the command
/// line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Origins(HashMap<String, Origin>);

impl Origins {
    /// Records where the value of the option named `long` came from.
    pub(crate) fn insert(&mut self, long: &str, origin: Origin) {
        self.0.insert(long.to_owned(), origin);
    }

    /// Where the value of `flag`'s option came from.
    pub(crate) fn of(&self, flag: Flag) -> &Origin {
        self.named(flag.name())
    }

    /// Where the value of the option named `long` came from.
    pub(crate) fn named(&self, long: &str) -> &Origin {
        static COMMAND_LINE: Origin = Origin::CommandLine;
        self.0.get(long).unwrap_or(&COMMAND_LINE)
    }
}

/// The command line, with `.foreman` in it.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) cli: Cli,
    pub(crate) origins: Origins,
}

/// Parses `argv` with `.foreman` (read from the working directory, as Foreman does) put in as
/// arguments of the subcommand. A command-line mistake ends procman here with clap's message
/// (exit 2), as do `--help` and `--version`; a bad `.foreman` is an error naming its line.
pub(crate) fn parse(argv: Vec<OsString>) -> Result<Parsed, CliError> {
    let (matches, origins) = matches_with(argv, || DotForeman::load(&plan::current_dir()))
        .map_err(|error| match error {
            Unparsed::Clap(error) => error.exit(),
            Unparsed::Input(error) => error,
        })?;
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    Ok(Parsed { cli, origins })
}

/// Why a command line did not parse.
#[derive(Debug)]
enum Unparsed {
    /// clap's own: usage errors, and `--help` and `--version`, which clap prints.
    Clap(clap::Error),
    /// `.foreman`.
    Input(CliError),
}

/// [`parse`]'s work, with `.foreman` from `dotforeman` (called only once there is a
/// subcommand, so `procman --help` works whatever `.foreman` holds).
fn matches_with(
    mut argv: Vec<OsString>,
    dotforeman: impl FnOnce() -> Result<Option<DotForeman>, Diagnostics>,
) -> Result<(clap::ArgMatches, Origins), Unparsed> {
    let command = definition();
    if let Some(color) = command.find_subcommand("start").and_then(|s| Flag::Color.option(s)) {
        let choices = color.get_possible_values();
        let names: Vec<&str> = choices.iter().map(|choice| choice.get_name()).collect();
        arguments::join_color_value(&mut argv, &names);
    }
    let matches = command.clone().try_get_matches_from(&argv).map_err(Unparsed::Clap)?;
    let Some((name, sub_matches)) = matches.subcommand() else {
        return Ok((matches, Origins::default()));
    };
    let Some(subcommand) = command.find_subcommand(name) else {
        return Ok((matches, Origins::default()));
    };
    let Some(dot) = dotforeman().map_err(|error| Unparsed::Input(error.into()))? else {
        return Ok((matches, Origins::default()));
    };
    let spliced = arguments::splice(&argv, &command, subcommand, sub_matches, &dot)
        .map_err(|error| Unparsed::Input(error.into()))?;
    let matches = command
        .try_get_matches_from(&spliced.argv)
        .map_err(|error| Unparsed::Input(does_not_fit(&error, &dot)))?;
    Ok((matches, spliced.origins))
}

/// The command line's definition, built: every subcommand holds every option clap parses
/// (`--help` and `--version` included), so the `.foreman` keys are the options clap knows.
fn definition() -> clap::Command {
    let mut command = Cli::command();
    command.build();
    command
}

/// What clap says when `.foreman`'s options do not go with the command line: checked line by
/// line in [`arguments::splice`], so this is the last resort, about the file as a whole.
fn does_not_fit(error: &clap::Error, dot: &DotForeman) -> CliError {
    let text = error.render().to_string();
    let first = text.lines().next().unwrap_or_default();
    let label = procman::diagnostic::file_label(&dot.path);
    Diagnostic::new(format!(
        "the options {label} sets do not go with this command line: {}",
        first.strip_prefix("error: ").unwrap_or(first)
    ))
    .in_file(&dot.path)
    .with_help(format!(
        "change or delete the line of {label}, or give the option on the command line"
    ))
    .into()
}

/// `start`'s options, resolved.
#[derive(Debug)]
pub(crate) struct Start {
    /// What to run, each process type's settings resolved (the command line and `.foreman` over
    /// `procman.json`); `settings.for_start()` adds the defaults.
    pub(crate) plan: Plan,
    /// How the output looks.
    pub(crate) format: Format,
    /// Where to listen for control commands; `None` with `--no-socket`.
    pub(crate) socket: Option<ControlSocket>,
    pub(crate) containment: ContainmentChoice,
    /// Process types whose end does not end the run.
    pub(crate) can_die: HashSet<String>,
    /// When processes run on a pty (`--tty`).
    pub(crate) tty: TtyWhen,
    /// The log files besides the terminal (`--log-dir`...), if any.
    pub(crate) logs: Option<LogConfig>,
    /// `--color=always` (or `-c`): the processes get `FORCE_COLOR`/`CLICOLOR_FORCE` too.
    pub(crate) force_color: bool,
    /// The process type whose first instance gets procman's terminal input (`--attach`).
    pub(crate) attach: Option<String>,
    /// What the plan was made from, for `procman reload`.
    pub(crate) source: PlanSource,
    /// The signal that reloads instead of stopping (`--reload-signal`).
    pub(crate) reload_signal: Option<supervise::Signal>,
}

/// What `start` planned from: its options (the command line with `.foreman` in it, as parsed
/// when the run began), kept so that `procman reload` reads the same files the same way.
#[derive(Clone, Debug)]
pub(crate) struct PlanSource {
    app: AppArgs,
    plan: PlanArgs,
    supervision: SupervisionArgs,
    processes: Vec<String>,
    timeout: Option<String>,
    origins: Origins,
}

impl PlanSource {
    fn of(args: &StartArgs, origins: &Origins) -> PlanSource {
        PlanSource {
            app: args.app.clone(),
            plan: args.plan.clone(),
            supervision: args.supervision.clone(),
            processes: args.processes.clone(),
            timeout: args.timeout.clone(),
            origins: origins.clone(),
        }
    }

    fn planned(&self) -> Planned<'_> {
        Planned {
            app: &self.app,
            plan: &self.plan,
            supervision: &self.supervision,
            processes: &self.processes,
            timeout: self.timeout.as_deref(),
            origins: &self.origins,
        }
    }

    /// The plan `start` runs, and each reload: the Procfile, env files and config file read
    /// now, every `cwd` checked (a reload is refused rather than half applied).
    pub(crate) fn plan(&self) -> Result<Plan, Diagnostics> {
        planned(self.planned(), plan::load).map(|(plan, _)| plan)
    }
}

/// `--reload-signal`: the signals procman listens to that do not stop it.
fn reload_signal(text: Option<&str>) -> Result<Option<supervise::Signal>, CliError> {
    use supervise::Signal;
    let Some(text) = text else { return Ok(None) };
    let allowed = [Signal::HUP, Signal::USR1, Signal::USR2];
    match text.parse::<Signal>() {
        Ok(signal) if allowed.contains(&signal) => Ok(Some(signal)),
        _ => Err(CliError::Usage(format!(
            "--reload-signal: `{}` cannot reload; use HUP (or USR1 or USR2, which are then no \
             longer forwarded to the processes)",
            procman::diagnostic::fragment(text)
        ))),
    }
}

/// `start`'s control socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ControlSocket {
    pub(crate) path: PathBuf,
    /// Named with `--socket` (or `socket` in `.foreman`), so it must work; the default one is a
    /// convenience the run goes without when it cannot be made.
    pub(crate) named: bool,
}

impl Start {
    pub(crate) fn resolve(args: &StartArgs, origins: &Origins) -> Result<Start, CliError> {
        let source = PlanSource::of(args, origins);
        let plan = source.plan()?;
        let reload_signal = reload_signal(args.reload_signal.as_deref())?;
        let color = if args.no_color { Some(ColorWhen::Never) } else { args.color };
        let format = Format {
            color: use_color(color),
            timestamps: !args.no_timestamp,
            prefix: !args.no_prefix,
            quiet: args.quiet,
            width: plan.name_width(),
        };
        let socket = (!args.no_socket).then(|| ControlSocket {
            path: crate::control::socket_path(
                args.socket.as_deref(),
                args.app.procfile.as_deref(),
                args.app.root.as_deref(),
            ),
            named: args.socket.is_some(),
        });
        let containment = if args.isolate {
            ContainmentChoice::Namespace
        } else {
            args.containment.unwrap_or(ContainmentChoice::Auto)
        };
        let can_die = args.supervision.can_die.iter().cloned().collect();
        let tty = args.tty.unwrap_or(TtyWhen::Auto);
        let force_color = color == Some(ColorWhen::Always);
        let attach = args.attach.clone();
        let logs = logs::resolve(&args.logs, &plan.logs, origins)?;
        Ok(Start {
            plan,
            format,
            socket,
            containment,
            can_die,
            tty,
            logs,
            force_color,
            attach,
            source,
            reload_signal,
        })
    }
}

/// `export`'s options, resolved.
#[derive(Debug)]
pub(crate) enum Export {
    /// `--print-template FORMAT [NAME]`.
    PrintTemplate(Vec<String>),
    /// Export `plan` as `options` say.
    Files { plan: Box<Plan>, options: Box<ExportOptions> },
}

impl Export {
    pub(crate) fn resolve(args: &ExportArgs, origins: &Origins) -> Result<Export, CliError> {
        if let Some(words) = &args.print_template {
            return Ok(Export::PrintTemplate(words.clone()));
        }
        let format: ExportFormat = args.format.as_deref().unwrap_or_default().parse()?;
        let (plan, timeout) = planned(
            Planned {
                app: &args.app_args,
                plan: &args.plan,
                supervision: &args.supervision,
                processes: &[],
                timeout: args.timeout.as_deref(),
                origins,
            },
            plan::load_for_export,
        )?;
        let location = match (&args.location, format) {
            (Some(location), _) => location.clone(),
            (None, ExportFormat::Inittab) => "-".into(),
            (None, _) => {
                return Err(CliError::Input(
                    Diagnostic::new("export needs a LOCATION to write to")
                        .with_help(format!("e.g. `procman export {} ./deploy`", format.name()))
                        .into(),
                ));
            }
        };
        let mut options = ExportOptions::new(format, location);
        options.app = args.app.clone();
        options.user = args.user.clone();
        options.log_dir = args.log.clone();
        options.run_dir = args.run_dir.clone();
        options.template_dir = args.template.clone();
        options.dry_run = args.dry_run;
        options.force = args.force;
        options.image = args.image.clone();
        options.systemd_version = args.systemd_version;
        if let Some(timeout) = timeout {
            options.timeout = timeout;
        }
        Ok(Export::Files { plan: Box::new(plan), options: Box::new(options) })
    }
}

/// `run`'s options, resolved.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) paths: AppPaths,
    /// The plan's options, for a process type run by name.
    pub(crate) plan: PlanOptions,
    pub(crate) command: Vec<OsString>,
}

impl Run {
    pub(crate) fn resolve(args: &RunArgs, origins: &Origins) -> Result<Run, CliError> {
        Ok(Run {
            paths: plan::app_paths(&args.app)?,
            plan: PlanOptions {
                app: args.app.clone(),
                env_files: args.env_files.clone(),
                port: args.port.clone(),
                origins: origins.clone(),
                ..PlanOptions::default()
            },
            command: args.command.clone(),
        })
    }

    /// `-p` for a command that is not a process type: its PORT.
    pub(crate) fn port(&self) -> Result<Option<u16>, Diagnostics> {
        plan::port(self.plan.port.as_deref(), self.plan.origins.of(Flag::Port))
    }
}

/// `check`'s options, resolved.
#[derive(Debug)]
pub(crate) struct Check {
    pub(crate) paths: AppPaths,
    pub(crate) env_files: Vec<PathBuf>,
    pub(crate) config: Option<PathBuf>,
    pub(crate) print_env: bool,
}

impl Check {
    pub(crate) fn resolve(args: &CheckArgs) -> Result<Check, CliError> {
        Ok(Check {
            paths: plan::app_paths(&args.app)?,
            env_files: args.env_files.clone(),
            config: args.config.clone(),
            print_env: args.print_env,
        })
    }
}

/// The socket a control command talks to: `--socket`, or the default beside the Procfile that
/// `-f`/`-d` name (from the command line or `.foreman`, as `start`'s).
pub(crate) fn control_socket(args: &ControlArgs) -> PathBuf {
    crate::control::socket_path(
        args.socket.as_deref(),
        args.app.procfile.as_deref(),
        args.app.root.as_deref(),
    )
}

/// The options `start` and `export` plan from.
struct Planned<'a> {
    app: &'a AppArgs,
    plan: &'a PlanArgs,
    supervision: &'a SupervisionArgs,
    processes: &'a [String],
    timeout: Option<&'a str>,
    origins: &'a Origins,
}

/// The plan and the `-t` timeout over it, with every error of both.
fn planned(
    given: Planned<'_>,
    load: fn(&PlanOptions) -> Result<Plan, Diagnostics>,
) -> Result<(Plan, Option<Duration>), Diagnostics> {
    let timeout = supervision::timeout(given.timeout, given.origins.of(Flag::Timeout));
    let plan = load(&PlanOptions {
        app: given.app.clone(),
        env_files: given.plan.env_files.clone(),
        formation: given.plan.formation.clone(),
        port: given.plan.port.clone(),
        processes: given.processes.to_vec(),
        supervision: Some(given.supervision.clone()),
        timeout: timeout.as_ref().ok().copied().flatten(),
        origins: given.origins.clone(),
    });
    match (plan, timeout) {
        (Ok(plan), Ok(timeout)) => Ok((plan, timeout)),
        (plan, timeout) => {
            let mut diagnostics = plan.err().unwrap_or_default();
            diagnostics.extend(timeout.err().unwrap_or_default());
            Err(diagnostics)
        }
    }
}
