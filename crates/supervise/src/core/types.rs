//! The vocabulary of the core: instance names, states, exit statuses, events and effects.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use crate::signal::Signal;

/// One instance of a group: `web.1` is instance 1 of group `web`. Indexes start at 1.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId {
    /// The group's name.
    pub group: Arc<str>,
    /// The instance number, from 1.
    pub index: u32,
}

impl InstanceId {
    /// Names instance `index` of `group`.
    pub fn new(group: impl Into<Arc<str>>, index: u32) -> InstanceId {
        InstanceId { group: group.into(), index }
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.group, self.index)
    }
}

/// `web.2`, as [`InstanceId`]'s `Display` writes it: the group, a `.`, the number (from 1).
/// Group names hold no `.`, so the last one splits.
impl std::str::FromStr for InstanceId {
    type Err = crate::error::InstanceIdError;

    fn from_str(text: &str) -> Result<InstanceId, Self::Err> {
        use crate::error::InstanceIdError;
        let (group, number) =
            text.rsplit_once('.').ok_or_else(|| InstanceIdError::NoNumber(text.to_owned()))?;
        if group.is_empty() {
            return Err(InstanceIdError::NoGroup(text.to_owned()));
        }
        match number.parse::<u32>() {
            Ok(index) if index > 0 && number.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(InstanceId::new(group, index))
            }
            _ => Err(InstanceIdError::BadNumber(text.to_owned())),
        }
    }
}

/// The state of an instance, with supervisord's names and meaning.
///
/// See the transition table in the [crate documentation](crate#the-transition-table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Not running, and not asked to run.
    Stopped,
    /// Spawned, and not yet up for the start grace period.
    Starting,
    /// Up for longer than the start grace period.
    Running,
    /// A start failed; waiting for the backoff delay before the next attempt.
    Backoff,
    /// The stop signal was sent; waiting for the exit (SIGKILL at the stop timeout).
    Stopping,
    /// Exited on its own after it was running. May be restarted by the restart policy.
    Exited,
    /// Gave up: too many failed starts in a row, or a start that can never succeed (program not
    /// found). Only [`crate::Supervisor::reset`] (or [`crate::Supervisor::restart_group`])
    /// leaves this state.
    Fatal,
}

impl State {
    /// The upper-case name supervisord uses (`RUNNING`).
    pub fn name(self) -> &'static str {
        match self {
            State::Stopped => "STOPPED",
            State::Starting => "STARTING",
            State::Running => "RUNNING",
            State::Backoff => "BACKOFF",
            State::Stopping => "STOPPING",
            State::Exited => "EXITED",
            State::Fatal => "FATAL",
        }
    }

    /// Whether a process of this instance may be alive.
    pub fn has_process(self) -> bool {
        matches!(self, State::Starting | State::Running | State::Stopping)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name().to_ascii_lowercase())
    }
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// It called `exit(code)`.
    Code(i32),
    /// A signal killed it.
    Signaled(Signal),
}

impl ExitStatus {
    /// Shell convention: the code, or 128 + the signal number.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Code(code) => code,
            ExitStatus::Signaled(signal) => 128 + signal.as_raw(),
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(code) => write!(f, "exit code {code}"),
            ExitStatus::Signaled(signal) => write!(f, "killed by {signal}"),
        }
    }
}

/// Why a spawn failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SpawnErrorKind {
    /// The program does not exist (ENOENT) or is not in `PATH`.
    NotFound,
    /// The program exists but cannot be executed (EACCES, ENOEXEC, a directory).
    NotExecutable,
    /// The working directory does not exist or cannot be entered.
    BadWorkingDir,
    /// A redirection file could not be opened.
    BadRedirect,
    /// The system refused for lack of resources (EAGAIN from fork, ENOMEM, EMFILE, ENFILE):
    /// worth retrying later.
    Resources,
    /// Anything else.
    Other,
}

/// A spawn that failed before the program ran. Distinct from the program running and exiting.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SpawnError {
    /// The classification.
    pub kind: SpawnErrorKind,
    /// The OS error number, when there was one.
    pub errno: Option<i32>,
    /// A human-readable description naming what failed.
    pub message: String,
}

impl SpawnError {
    /// Whether retrying can help: only resource exhaustion is transient. A missing program or
    /// directory will still be missing a second later, so those go straight to `Fatal`.
    pub fn is_transient(&self) -> bool {
        self.kind == SpawnErrorKind::Resources
    }
}

/// One state change of one instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// Which instance.
    pub id: InstanceId,
    /// The process id concerned (the one that started, exited or is being stopped), if any.
    pub pid: Option<u32>,
    /// The state before.
    pub from: State,
    /// The state after.
    pub to: State,
    /// When (the `now` passed in).
    pub at: Instant,
    /// The exit status when the change was caused by an exit.
    pub exit: Option<ExitStatus>,
    /// Whether that exit counts as expected for the program (`None` without an exit).
    pub expected: Option<bool>,
    /// The spawn error when the change was caused by a failed spawn.
    pub spawn_error: Option<SpawnError>,
    /// The retry count after the change.
    pub retries: u32,
}

/// Why a signal was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalReason {
    /// The stop signal of a stop, restart, scale-down or shutdown.
    Stop,
    /// SIGKILL at the stop timeout, or an escalated shutdown.
    Kill,
    /// A caller asked for it with [`crate::Supervisor::signal`].
    Request,
}

/// Something the caller may want to know about; drained with
/// [`crate::Supervisor::drain_events`]. The driver passes these on in its own
/// [`crate::Event`], with those only it produces.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// An instance changed state.
    State(Transition),
    /// A signal was sent to an instance.
    Signal {
        /// The instance.
        id: InstanceId,
        /// Its process id.
        pid: u32,
        /// The signal.
        signal: Signal,
        /// Why.
        reason: SignalReason,
    },
    /// An instance was removed by a scale-down.
    Removed(InstanceId),
    /// Every instance is down after [`crate::Supervisor::shutdown`]. Reported once.
    ShutdownComplete,
}

/// Whom a signal effect reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalScope {
    /// Only the instance's own process.
    Process,
    /// The instance's process group and every descendant that left it.
    Tree,
}

/// An action the core asks its I/O layer to carry out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Effect {
    /// Spawn a process for this instance now, then report [`crate::Supervisor::spawned`] or
    /// [`crate::Supervisor::spawn_failed`].
    Spawn(InstanceId),
    /// Send `signal` to `pid` (and, for [`SignalScope::Tree`], its group and descendants).
    Signal {
        /// The instance.
        id: InstanceId,
        /// Its process id, which is also its process group id.
        pid: u32,
        /// The signal.
        signal: Signal,
        /// Whom it reaches.
        scope: SignalScope,
    },
}

/// A plain-data view of one instance, for status displays.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceInfo {
    /// Which instance.
    pub id: InstanceId,
    /// Its state.
    pub state: State,
    /// Its process id while it has one.
    pub pid: Option<u32>,
    /// Failed starts in a row.
    pub retries: u32,
    /// How many times it was started after its first start.
    pub restarts: u32,
    /// When its current (or last) process started.
    pub started_at: Option<Instant>,
    /// How long the current process has been up (zero without one).
    pub uptime: std::time::Duration,
    /// How the last process ended.
    pub last_exit: Option<ExitStatus>,
    /// The last spawn error, if the last start failed that way.
    pub spawn_error: Option<SpawnError>,
    /// Resource use of the instance's process tree, when the I/O layer measured it.
    pub resources: Option<crate::Resources>,
}

/// Memory and CPU of a process tree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    /// Resident memory, in bytes, summed over the tree.
    pub rss_bytes: u64,
    /// User plus system CPU time of the live processes of the tree.
    pub cpu: std::time::Duration,
    /// How many processes the tree holds.
    pub processes: u32,
}
