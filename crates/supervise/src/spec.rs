//! What to run and how to supervise it: plain data, validated once when a group is added.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::core::Dependency;
use crate::signal::Signal;

mod ready;
pub use ready::{LineMatcher, LineTest, Readiness, ReadyCheck, ReadyPort};

/// The program to execute and its arguments (`argv[1..]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandSpec {
    /// Looked up in `PATH` when it contains no slash, as `execvp` does.
    pub program: OsString,
    /// Arguments after the program name.
    pub args: Vec<OsString>,
}

impl CommandSpec {
    /// A program with no arguments.
    pub fn new(program: impl Into<OsString>) -> CommandSpec {
        CommandSpec { program: program.into(), args: Vec::new() }
    }

    /// Adds arguments.
    #[must_use]
    pub fn args<I, S>(mut self, args: I) -> CommandSpec
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// This same executable (`/proc/self/exe` or `argv[0]`) with its own arguments: the usual way
    /// for a program to supervise copies of itself in another role.
    ///
    /// # Errors
    /// When the path of the running executable cannot be determined.
    pub fn current_exe<I, S>(args: I) -> std::io::Result<CommandSpec>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Ok(CommandSpec::new(std::env::current_exe()?).args(args))
    }

    /// This same executable with the arguments it was started with.
    ///
    /// # Errors
    /// When the path of the running executable cannot be determined.
    pub fn current_exe_with_current_args() -> std::io::Result<CommandSpec> {
        CommandSpec::current_exe(std::env::args_os().skip(1))
    }
}

/// The environment of the child: inherited from the supervisor by default, then edited.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvSpec {
    /// Start from an empty environment instead of the supervisor's.
    pub clear: bool,
    /// Variables removed from the inherited environment (before `set` applies).
    pub remove: Vec<OsString>,
    /// Variables set, in order; a later entry wins over an earlier one.
    pub set: Vec<(OsString, OsString)>,
}

impl EnvSpec {
    /// Sets a variable.
    pub fn set(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> &mut EnvSpec {
        self.set.push((key.into(), value.into()));
        self
    }

    /// Removes an inherited variable.
    pub fn remove(&mut self, key: impl Into<OsString>) -> &mut EnvSpec {
        self.remove.push(key.into());
        self
    }
}

/// Where the child's standard input comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StdinSpec {
    /// `/dev/null` (the default: a supervised program must not steal the terminal).
    #[default]
    Null,
    /// The supervisor's own standard input.
    Inherit,
    /// A file opened for reading.
    File(PathBuf),
    /// Input from the host: open and empty for as long as the program runs (a program that
    /// quits at end of input, such as a `--watch` tool, keeps running), fed only by
    /// [`crate::Driver::write_stdin`], whatever the supervisor's own standard input is (a
    /// terminal, `/dev/null`, or closed). A pipe whose write end the driver holds, or the pty
    /// itself when the instance runs on one ([`OutputSpec::Pty`]).
    Host,
}

/// Where the child's standard output or standard error goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum OutputSpec {
    /// A pipe read by the supervisor, delivered as [`crate::Event::Output`] lines (the default).
    #[default]
    Pipe,
    /// For standard error only: the same pipe as standard output, so the relative order of the
    /// two streams is kept exactly (what Foreman does). For standard output it means `Pipe`.
    MergeWithStdout,
    /// The supervisor's own stream.
    Inherit,
    /// `/dev/null`.
    Null,
    /// A file, created if missing; appended to when `append` is true, else truncated.
    File {
        /// The file's path.
        path: PathBuf,
        /// Append instead of truncating.
        append: bool,
    },
    /// For standard output: the instance runs on a pseudo-terminal of its own, read by the
    /// supervisor like a pipe. The program leads a new session whose controlling terminal is
    /// the pty, so `isatty()` is true: C stdio, Python and Ruby flush every line, and programs
    /// print colors and progress bars. Standard error shares the pty when it is
    /// `MergeWithStdout` (or `Pty`), and so does standard input when it is
    /// [`StdinSpec::Host`]. The output is delivered as lines, `\r\n` as `\n`, a
    /// carriage-return redraw keeping only its last state (see [`crate::Output`]); the window
    /// size is [`crate::Driver::set_window_size`]'s. When no pty can be had (the system's are
    /// used up, or [`crate::DriverOptions::max_ptys`] is reached), the instance runs on pipes
    /// instead, and [`crate::Event::PtyUnavailable`] says so.
    ///
    /// For standard error alone it means `MergeWithStdout`.
    Pty,
}

/// When an instance that exited on its own is started again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RestartPolicy {
    /// Whatever the exit status.
    Always,
    /// Only when the exit is unexpected: a code outside `expected_exit_codes`, or death by a
    /// signal the supervisor did not send (supervisord's `autorestart=unexpected`).
    OnUnexpectedExit,
    /// Never (the default): the instance stays `Exited`.
    #[default]
    Never,
}

/// Delays between failed start attempts: `initial`, then multiplied by `factor` each time, capped
/// at `max`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// The delay before the first retry.
    pub initial: Duration,
    /// The growth factor between retries (1.0 gives a fixed delay).
    pub factor: f64,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { initial: Duration::from_secs(1), factor: 2.0, max: Duration::from_secs(30) }
    }
}

impl Backoff {
    /// The delay before retry number `attempt` (1 for the first retry).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(64);
        let exponent = i32::try_from(exponent).unwrap_or(64);
        let seconds = self.initial.as_secs_f64() * self.factor.powi(exponent);
        if !seconds.is_finite() || seconds >= self.max.as_secs_f64() {
            return self.max;
        }
        Duration::from_secs_f64(seconds.max(0.0))
    }
}

/// What an instance runs: filled from the group's spec, then adjusted per instance by the
/// group's [`InstanceHook`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Launch {
    /// The command.
    pub command: CommandSpec,
    /// Extra variables for this instance, applied after the group's environment.
    pub env: Vec<(OsString, OsString)>,
}

/// A function that adjusts the launch of instance `n` (1-based): the way a caller gives each
/// instance its own port or name without the library knowing about either.
pub type InstanceHook = Arc<dyn Fn(u32, &mut Launch) + Send + Sync>;

/// The description of one group: a program run as `instances` identical instances.
#[derive(Clone)]
pub struct ProgramSpec {
    /// The group's name; an instance is named `name.N`.
    pub name: Arc<str>,
    /// The program and its arguments.
    pub command: CommandSpec,
    /// The working directory; `None` keeps the supervisor's.
    pub cwd: Option<PathBuf>,
    /// The environment.
    pub env: EnvSpec,
    /// The file mode creation mask; `None` keeps the supervisor's.
    pub umask: Option<u32>,
    /// Standard input.
    pub stdin: StdinSpec,
    /// Standard output.
    pub stdout: OutputSpec,
    /// Standard error.
    pub stderr: OutputSpec,
    /// The signal sent to the instance's process group to stop it.
    pub stop_signal: Signal,
    /// How long to wait after the stop signal before SIGKILL.
    pub stop_timeout: Duration,
    /// When an exited instance is started again.
    pub restart: RestartPolicy,
    /// Exit codes that count as expected (default `[0]`).
    pub expected_exit_codes: Vec<i32>,
    /// How long an instance must stay up to count as started; an exit before that is a failed
    /// start, retried with backoff. Unused with a readiness check, which decides instead.
    pub start_grace: Duration,
    /// How many failed starts in a row are retried before the instance becomes `Fatal`.
    pub max_retries: u32,
    /// Delays between retries.
    pub backoff: Backoff,
    /// The target number of instances.
    pub instances: u32,
    /// Per-instance adjustments. A reload compares what the hook makes of each instance
    /// ([`ProgramSpec::launch`]), not the hook: it must give the same launch for the same
    /// number every time it is called.
    pub instance_hook: Option<InstanceHook>,
    /// When an instance counts as ready; `None` (the default): once up for `start_grace`.
    pub readiness: Option<Readiness>,
    /// Groups whose instances must meet a condition before an instance of this one is
    /// spawned; stopped after this one at shutdown. Default: none.
    pub depends_on: Vec<Dependency>,
}

impl fmt::Debug for ProgramSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProgramSpec")
            .field("name", &self.name)
            .field("command", &self.command)
            .field("cwd", &self.cwd)
            .field("env", &self.env)
            .field("umask", &self.umask)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .field("stop_signal", &self.stop_signal)
            .field("stop_timeout", &self.stop_timeout)
            .field("restart", &self.restart)
            .field("expected_exit_codes", &self.expected_exit_codes)
            .field("start_grace", &self.start_grace)
            .field("max_retries", &self.max_retries)
            .field("backoff", &self.backoff)
            .field("instances", &self.instances)
            .field("instance_hook", &self.instance_hook.as_ref().map(|_| ".."))
            .field("readiness", &self.readiness)
            .field("depends_on", &self.depends_on)
            .finish()
    }
}

impl ProgramSpec {
    /// A group of one instance of `command`, with the defaults: inherited environment and
    /// working directory, stdin from `/dev/null`, stdout and stderr piped, SIGTERM then SIGKILL
    /// after 10 s, no restart, a 1 s start grace and 3 retries with exponential backoff, no
    /// readiness check and no dependencies.
    pub fn new(name: impl Into<Arc<str>>, command: CommandSpec) -> ProgramSpec {
        ProgramSpec {
            name: name.into(),
            command,
            cwd: None,
            env: EnvSpec::default(),
            umask: None,
            stdin: StdinSpec::Null,
            stdout: OutputSpec::Pipe,
            stderr: OutputSpec::Pipe,
            stop_signal: Signal::TERM,
            stop_timeout: Duration::from_secs(10),
            restart: RestartPolicy::Never,
            expected_exit_codes: vec![0],
            start_grace: Duration::from_secs(1),
            max_retries: 3,
            backoff: Backoff::default(),
            instances: 1,
            instance_hook: None,
            readiness: None,
            depends_on: Vec::new(),
        }
    }

    /// The launch of instance `index` (1-based), with the instance hook applied.
    pub fn launch(&self, index: u32) -> Launch {
        let mut launch = Launch { command: self.command.clone(), env: Vec::new() };
        if let Some(hook) = &self.instance_hook {
            hook(index, &mut launch);
        }
        launch
    }

    /// Whether `status` counts as expected for this program.
    pub fn is_expected(&self, status: crate::ExitStatus) -> bool {
        match status {
            crate::ExitStatus::Code(code) => self.expected_exit_codes.contains(&code),
            crate::ExitStatus::Signaled(_) => false,
        }
    }

    /// Checks the parts of the spec that cannot be checked by the type system.
    ///
    /// # Errors
    /// An empty name or program, a name with characters other than letters, digits, `_`, `-`
    /// and `:` , or a backoff factor below 1.
    pub fn validate(&self) -> Result<(), crate::SpecError> {
        if self.name.is_empty() {
            return Err(crate::SpecError::EmptyName);
        }
        if !self.name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ':')) {
            return Err(crate::SpecError::BadName(self.name.to_string()));
        }
        if self.command.program.is_empty() {
            return Err(crate::SpecError::EmptyProgram(self.name.to_string()));
        }
        if self.command.program.as_encoded_bytes().contains(&0)
            || self.command.args.iter().any(|a| a.as_encoded_bytes().contains(&0))
        {
            return Err(crate::SpecError::NulByte(self.name.to_string()));
        }
        if self.backoff.factor.is_nan() || self.backoff.factor < 1.0 {
            return Err(crate::SpecError::BadBackoff(self.name.to_string()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            factor: 2.0,
            max: Duration::from_millis(500),
        };
        assert_eq!(b.delay(1), Duration::from_millis(100));
        assert_eq!(b.delay(2), Duration::from_millis(200));
        assert_eq!(b.delay(3), Duration::from_millis(400));
        assert_eq!(b.delay(4), Duration::from_millis(500));
        assert_eq!(b.delay(1000), Duration::from_millis(500));
    }

    #[test]
    fn instance_hook_adjusts_each_launch() {
        let mut spec = ProgramSpec::new("web", CommandSpec::new("server"));
        spec.instance_hook = Some(Arc::new(|n, launch: &mut Launch| {
            launch.env.push(("PORT".into(), (5000 + n).to_string().into()));
        }));
        assert_eq!(spec.launch(2).env, vec![("PORT".into(), "5002".into())]);
    }

    #[test]
    fn validate_rejects_bad_names() {
        let spec = ProgramSpec::new("we b", CommandSpec::new("x"));
        assert!(spec.validate().is_err());
        let spec = ProgramSpec::new("web", CommandSpec::new(""));
        assert!(spec.validate().is_err());
    }
}
