//! From a Procfile, env files and a formation to the list of instances to run, with Foreman's
//! PORT and PS rules. Shared by `start`, `run`, `check` and `export`.
//!
//! The types below are the contract that `start` and `export` are built against; [`Plan::build`]
//! fills them in from the parsed inputs (all pure: no file is read and no process started here).
//!
//! PORT (Foreman's rule): base = `-p` ‖ `.env` PORT ‖ `$PORT` ‖ 5000, and instance `n` of the
//! entry at position `i` of the Procfile (counting entries with count 0) gets
//! `base + 100 × i + (n − 1)`. `PS` is `name.n`. A PORT past 65535, or a PORT in `.env` or `$PORT`
//! that is not a number, is an error before anything starts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use supervise::{Backoff, RestartPolicy, Signal};

use procman::diagnostic::{Diagnostic, Diagnostics, fragment, sanitize};
use procman::envfile::EnvFiles;
use procman::formation::Formation;
use procman::procfile::Procfile;
use procman::shell;

/// The base port when nothing sets one, as in Foreman.
pub(crate) const DEFAULT_PORT: u16 = 5000;
/// The PORT distance between consecutive Procfile entries, as in Foreman.
pub(crate) const PORT_STRIDE: u64 = 100;

/// Supervision settings of one process type. `None` means "the user did not set it": `start`
/// then uses Foreman's behaviour and `export` the target format's own default.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Settings {
    /// Signal sent to stop it (`--stop-signal`, config file).
    pub(crate) stop_signal: Option<Signal>,
    /// Seconds between the stop signal and SIGKILL (`-t/--timeout`, config file).
    pub(crate) stop_timeout: Option<Duration>,
    /// Restart policy (`--restart`, config file).
    pub(crate) restart: Option<RestartPolicy>,
    /// Retry limit (`--max-restarts`, config file).
    pub(crate) max_retries: Option<u32>,
    /// Backoff between retries (`--backoff`, config file).
    pub(crate) backoff: Option<Backoff>,
    /// Start grace (`--start-grace`, config file).
    pub(crate) start_grace: Option<Duration>,
    /// Exit codes that count as expected (config file).
    pub(crate) expected_exit_codes: Option<Vec<i32>>,
    /// umask (config file).
    pub(crate) umask: Option<u32>,
    /// Run on a pseudo-terminal (config file; `--tty=always|never` overrides it).
    pub(crate) tty: Option<bool>,
    /// When an instance counts as ready (config file).
    pub(crate) ready: Option<startup::Ready>,
    /// The types that must be started, ready or done before this one starts (config file).
    pub(crate) depends_on: Vec<startup::DependsOn>,
}

/// One Procfile entry, resolved.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ProcessPlan {
    /// The entry's name (`web`).
    pub(crate) name: String,
    /// The command text as written in the Procfile (no substitution).
    pub(crate) command: String,
    /// The entry's position among all Procfile entries, from 0; PORT = base + 100 * index.
    pub(crate) index: usize,
    /// How many instances the formation asks for (0: none, but it keeps its PORT slot).
    pub(crate) count: u32,
    /// Extra environment for this type only (config file), applied after the env files.
    pub(crate) env: Vec<(String, String)>,
    /// Working directory of this type (config file); `None` is the app root.
    pub(crate) cwd: Option<PathBuf>,
    /// Supervision settings.
    pub(crate) settings: Settings,
    /// Restart on change (config file's `"watch"`).
    pub(crate) watch: Option<devloop::WatchSettings>,
}

/// One instance to run: `web.2`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct InstancePlan {
    /// The process type's name (`web`).
    pub(crate) process: String,
    /// The instance number, from 1.
    pub(crate) number: u32,
    /// Its PORT.
    pub(crate) port: u16,
    /// `PS` / the display name: `web.2`.
    pub(crate) ps: String,
}

/// Everything needed to start or export an application.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Plan {
    /// The Procfile's path.
    pub(crate) procfile: PathBuf,
    /// The app root: processes run here.
    pub(crate) root: PathBuf,
    /// Variables from the env files, in file order, later files and later lines winning, with
    /// duplicates removed (the last value kept at the position of the first occurrence).
    pub(crate) env: Vec<(String, String)>,
    /// The base port (`-p`, then `.env` PORT, then `$PORT`, then 5000).
    pub(crate) base_port: u16,
    /// Every Procfile entry, in Procfile order, including those with count 0.
    pub(crate) processes: Vec<ProcessPlan>,
    /// The log files the config file asks for (the options override them).
    pub(crate) logs: devloop::LogSettings,
}

/// What a plan is built from.
#[derive(Clone, Debug)]
pub(crate) struct PlanInput<'a> {
    /// The parsed Procfile.
    pub(crate) procfile: &'a Procfile,
    /// The app root (`-d/--root`, else the Procfile's directory).
    pub(crate) root: &'a Path,
    /// The env files' variables.
    pub(crate) env: &'a EnvFiles,
    /// The formation (`Formation::default()` when none was given).
    pub(crate) formation: &'a Formation,
    /// `-p/--port`, and where it was given ([`PortSource::Option`] or
    /// [`PortSource::DotForeman`]).
    pub(crate) port: Option<(u16, PortSource)>,
    /// `PORT` in procman's own environment, if it is set.
    pub(crate) inherited_port: Option<&'a str>,
}

impl Plan {
    /// Resolves the formation against the Procfile, picks the base port and checks that every
    /// instance's PORT fits in 65535 and that no command is empty once `$KEY`s are replaced.
    pub(crate) fn build(input: PlanInput<'_>) -> Result<Plan, Diagnostics> {
        let counts = input.formation.resolve(input.procfile)?;
        let base_port = base_port(&input)?;
        let processes = input
            .procfile
            .entries
            .iter()
            .zip(counts)
            .enumerate()
            .map(|(index, (entry, count))| ProcessPlan {
                name: entry.name.clone(),
                command: entry.command.clone(),
                index,
                count,
                env: Vec::new(),
                cwd: None,
                settings: Settings::default(),
                watch: None,
            })
            .collect();
        let plan = Plan {
            procfile: input.procfile.path.clone(),
            root: input.root.to_path_buf(),
            env: input.env.pairs(),
            base_port,
            processes,
            logs: devloop::LogSettings::default(),
        };
        plan.check_ports(&port_source(&input))?;
        plan.check_commands(input.procfile)?;
        Ok(plan)
    }

    /// The PORT of instance `n` (from 1) of the process at `process_index`; `None` past 65535.
    pub(crate) fn port(&self, process_index: usize, n: u32) -> Option<u16> {
        let port = u64::from(self.base_port)
            + PORT_STRIDE.saturating_mul(process_index as u64)
            + u64::from(n.saturating_sub(1));
        u16::try_from(port).ok()
    }

    /// Every instance to run: Procfile order, then by number.
    ///
    /// [`Plan::build`] has checked every PORT; a plan whose counts were changed afterwards
    /// should be re-checked with [`Plan::check_ports`] (an out-of-range PORT shows as 65535).
    #[cfg(test)]
    pub(crate) fn instances(&self) -> Vec<InstancePlan> {
        self.processes
            .iter()
            .flat_map(|process| {
                (1..=process.count).map(move |number| self.instance(process, number))
            })
            .collect()
    }

    /// Instance `number` (from 1) of `process`: its PORT (65535 past the end, which
    /// [`Plan::check_ports`] refuses) and its PS. The one place an [`InstancePlan`] is made.
    pub(crate) fn instance(&self, process: &ProcessPlan, number: u32) -> InstancePlan {
        InstancePlan {
            process: process.name.clone(),
            number,
            port: self.port(process.index, number).unwrap_or(u16::MAX),
            ps: format!("{}.{number}", process.name),
        }
    }

    /// [`Plan::instance`], or `None` when `number` is 0 or its PORT would be past 65535.
    pub(crate) fn checked_instance(
        &self,
        process: &ProcessPlan,
        number: u32,
    ) -> Option<InstancePlan> {
        let fits = number > 0 && self.port(process.index, number).is_some();
        fits.then(|| self.instance(process, number))
    }

    /// Where the instances of `process` run: its `cwd` (config file) in the app root, else the
    /// root.
    pub(crate) fn working_dir(&self, process: &ProcessPlan) -> PathBuf {
        process.cwd.as_ref().map_or_else(|| self.root.clone(), |cwd| self.root.join(cwd))
    }

    /// The process type called `name`.
    pub(crate) fn process(&self, name: &str) -> Option<&ProcessPlan> {
        self.processes.iter().find(|process| process.name == name)
    }

    /// The variables set for `instance` on top of procman's own environment: the env files, then
    /// its process type's `env`, then `PORT` and `PS`; later ones win, each key once.
    pub(crate) fn instance_env(&self, instance: &InstancePlan) -> Vec<(String, String)> {
        let own = self.process(&instance.process).map(|process| process.env.as_slice());
        // `self.env` has each key once; only the few overrides are looked up.
        let mut env = self.env.clone();
        let overrides = own.unwrap_or_default().iter().cloned().chain([
            ("PORT".to_owned(), instance.port.to_string()),
            ("PS".to_owned(), instance.ps.clone()),
        ]);
        for (key, value) in overrides {
            match env.iter_mut().find(|(old, _)| *old == key) {
                Some(slot) => slot.1 = value,
                None => env.push((key, value)),
            }
        }
        env
    }

    /// The argv that starts `instance` (see `shell.rs`); `None` if its process type is unknown.
    pub(crate) fn argv_for(&self, instance: &InstancePlan) -> Option<Vec<String>> {
        let process = self.process(&instance.process)?;
        Some(shell::argv(&process.command, &self.instance_env(instance)))
    }

    /// The width names are padded to in output, Foreman's rule (`engine/cli.rb`):
    /// `max(6, longest name + digits of the largest count + 1)`, both maxima taken over **all**
    /// Procfile entries, those with count 0 included, so `start web` pads as `start` does.
    pub(crate) fn name_width(&self) -> usize {
        let longest = self.processes.iter().map(|process| process.name.chars().count()).max();
        let largest = self.processes.iter().map(|process| process.count).max().unwrap_or(0);
        (longest.unwrap_or(0) + largest.to_string().len() + 1).max(6)
    }

    /// Fails if an instance's PORT would be past 65535; `source` says where the base came from.
    pub(crate) fn check_ports(&self, source: &PortSource) -> Result<(), Diagnostics> {
        let mut diagnostics = Diagnostics::default();
        for process in self.processes.iter().filter(|process| process.count > 0) {
            let start = u64::from(self.base_port) + PORT_STRIDE * process.index as u64;
            // The first instance number whose PORT is past 65535.
            let first_over = 65_537u64.saturating_sub(start).max(1);
            if first_over > u64::from(process.count) {
                continue;
            }
            let port = start + first_over - 1;
            let highest = self
                .processes
                .iter()
                .filter(|process| process.count > 0)
                .map(|process| PORT_STRIDE * process.index as u64 + u64::from(process.count) - 1)
                .max()
                .unwrap_or(0);
            let help = match 65_535u64.checked_sub(highest) {
                Some(max_base) => format!("use a base port of at most {max_base}"),
                None => "run fewer process types or fewer instances: they need more than 65535 \
                         PORTs"
                    .to_owned(),
            };
            let diagnostic = Diagnostic::new(format!(
                "PORT of `{}.{first_over}` would be {port}, past 65535",
                process.name
            ));
            let diagnostic = match source {
                PortSource::Option => diagnostic.with_origin("-p/--port", None),
                PortSource::DotForeman { path, line } | PortSource::EnvFile { path, line } => {
                    diagnostic.at(path, *line)
                }
                PortSource::Inherited => {
                    diagnostic.with_origin("$PORT (procman's environment)", None)
                }
                PortSource::Default => diagnostic,
            };
            diagnostics.push(
                diagnostic
                    .with_note(format!(
                        "the base port {} comes from {}; PORT = base + 100 × position in the \
                         Procfile + instance number − 1",
                        self.base_port,
                        source.describe()
                    ))
                    .with_help(help),
            );
            break;
        }
        diagnostics.into_result(())
    }

    /// Fails if a command to run is blank once `$KEY`s are replaced (`web: $CMD` with `CMD=`).
    fn check_commands(&self, procfile: &Procfile) -> Result<(), Diagnostics> {
        let mut diagnostics = Diagnostics::default();
        for process in self.processes.iter().filter(|process| process.count > 0) {
            let first = self.instance(process, 1);
            let text = shell::substitute(&process.command, &self.instance_env(&first));
            if !text.trim().is_empty() {
                continue;
            }
            let line = procfile.get(&process.name).map_or(0, |entry| entry.line);
            diagnostics.push(
                Diagnostic::new(format!(
                    "the command of `{}` is empty once env values are substituted",
                    process.name
                ))
                .at_line(&self.procfile, line, &format!("{}: {}", process.name, process.command))
                .with_help("give the variables it uses a value in the env files"),
            );
        }
        diagnostics.into_result(())
    }
}

/// Where the base port came from, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PortSource {
    /// `-p/--port`.
    Option,
    /// `port` in `.foreman`.
    DotForeman {
        /// The file.
        path: PathBuf,
        /// The line.
        line: usize,
    },
    /// `PORT` in an env file.
    EnvFile {
        /// The file.
        path: PathBuf,
        /// The line.
        line: usize,
    },
    /// `$PORT` in procman's environment.
    Inherited,
    /// Nothing set one: 5000.
    Default,
}

impl PortSource {
    fn describe(&self) -> String {
        match self {
            PortSource::Option => "-p/--port".to_owned(),
            PortSource::DotForeman { path, line } => {
                format!("port in {}:{line}", sanitize(&path.display().to_string(), 200))
            }
            PortSource::EnvFile { path, line } => {
                format!("PORT in {}:{line}", sanitize(&path.display().to_string(), 200))
            }
            PortSource::Inherited => "$PORT in procman's environment".to_owned(),
            PortSource::Default => "the default".to_owned(),
        }
    }
}

/// Where the base port comes from (an empty PORT counts as unset).
fn port_source(input: &PlanInput<'_>) -> PortSource {
    if let Some((_, source)) = &input.port {
        source.clone()
    } else if let Some(var) = input.env.get("PORT").filter(|var| !var.value.trim().is_empty()) {
        PortSource::EnvFile { path: var.path.clone(), line: var.line }
    } else if input.inherited_port.is_some_and(|text| !text.trim().is_empty()) {
        PortSource::Inherited
    } else {
        PortSource::Default
    }
}

/// The base port: `-p`, then `.env` PORT, then `$PORT`, then 5000. Unlike Foreman's `to_i`, a
/// PORT that is not a number from 0 to 65535 is an error.
fn base_port(input: &PlanInput<'_>) -> Result<u16, Diagnostics> {
    let help = "set PORT to a whole number from 0 to 65535, or pass -p/--port";
    match port_source(input) {
        PortSource::Option | PortSource::DotForeman { .. } => {
            Ok(input.port.as_ref().map_or(DEFAULT_PORT, |(port, _)| *port))
        }
        PortSource::Default => Ok(DEFAULT_PORT),
        PortSource::EnvFile { path, line } => {
            let text = input.env.get("PORT").map_or("", |var| var.value.as_str());
            parse_port(text).map_err(|why| {
                Diagnostic::new(format!(
                    "PORT in {}: {why}",
                    procman::diagnostic::file_label(&path)
                ))
                .at(&path, line)
                .with_help(help)
                .into()
            })
        }
        PortSource::Inherited => {
            parse_port(input.inherited_port.unwrap_or_default()).map_err(|why| {
                Diagnostic::new(format!("$PORT in procman's environment: {why}"))
                    .with_origin("$PORT", None)
                    .with_help(help)
                    .into()
            })
        }
    }
}

/// A port number from 0 to 65535, surrounding whitespace allowed. The error says why, quoting
/// the text (for `-p` value parsers and `.foreman` too).
pub(crate) fn parse_port(text: &str) -> Result<u16, String> {
    let trimmed = text.trim();
    let shown = fragment(trimmed);
    if trimmed.is_empty() || !trimmed.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!("`{shown}` is not a port number"));
    }
    match trimmed.parse::<u64>() {
        Ok(port) if port <= 65_535 => Ok(port as u16),
        _ => Err(format!("`{shown}` is past 65535")),
    }
}

/// Fails unless `root` is an existing directory (processes are started in it).
pub(crate) fn check_root(root: &Path) -> Result<(), Diagnostics> {
    let shown = sanitize(&root.display().to_string(), 200);
    match std::fs::metadata(root) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(Diagnostic::new(format!("the app root {shown} is not a directory"))
            .with_help("pass a directory with -d/--root")
            .into()),
        Err(error) => Err(Diagnostic::new(format!(
            "the app root {shown} cannot be used: {}",
            procman::diagnostic::describe_io(&error)
        ))
        .with_help("pass an existing directory with -d/--root")
        .into()),
    }
}

pub(crate) mod devloop;
pub(crate) mod startup;
pub(crate) mod values;

#[cfg(test)]
mod tests;
