//! The vocabulary of the core: instance names, states, exit statuses, events and effects.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Asked to run, and waiting for its group's dependencies ([`crate::ProgramSpec::depends_on`])
    /// to meet their conditions before it is spawned.
    Waiting,
    /// Spawned, and not yet up for the start grace period, or not yet ready when the group
    /// has a readiness check.
    Starting,
    /// Up for longer than the start grace period, or ready when the group has a readiness
    /// check (so with a check, `Running` means ready).
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
            State::Waiting => "WAITING",
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
    /// Something the core decided about order, readiness or a reload.
    Notice(Notice),
}

/// What the core decided about start order, readiness or a reload, besides state changes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// An instance entered `Waiting`: these dependencies do not meet their condition yet.
    Waiting {
        /// The instance.
        id: InstanceId,
        /// The dependencies it waits for.
        dependencies: Vec<Dependency>,
    },
    /// A dependency failed its condition for good, so the waiting instances of a group are
    /// not started: they go back to `Stopped` (the transitions follow this event).
    DependencyFailed(DependencyFailure),
    /// An instance was not ready within its readiness timeout: it is stopped, and the start
    /// counts as failed once it is down (the `Stopping` transition follows this event).
    NotReady {
        /// The instance.
        id: InstanceId,
        /// Its process.
        pid: u32,
        /// How long it was given.
        waited: Duration,
    },
    /// A reload's restart of a group is done: every instance that ran was restarted (with a
    /// readiness check, the last one is ready).
    RolloutFinished {
        /// The group.
        group: Arc<str>,
    },
    /// A rolling restart stopped because a restarted instance became fatal: the instances not
    /// restarted yet keep their old process.
    RolloutHalted {
        /// The group.
        group: Arc<str>,
        /// The instance that failed.
        id: InstanceId,
    },
    /// A group a reload removed is gone: each of its instances was stopped and removed.
    GroupRemoved(Arc<str>),
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
    /// Whether it is ready: `None` when its group has no readiness check, else whether its
    /// current process passed it (it is `Running`).
    pub ready: Option<bool>,
    /// What it waits for: its dependencies while `Waiting`, its readiness check while
    /// `Starting` with one.
    pub waiting_for: Option<Wait>,
}

/// What an instance waits for, for status displays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wait {
    /// These dependencies, whose condition is not met yet.
    Dependencies(Vec<Dependency>),
    /// Its readiness check, until `deadline` (`None`: no timeout).
    Ready {
        /// When the start fails if it is not ready by then.
        deadline: Option<Instant>,
    },
}

/// What an instance of a dependency must have done before a dependant is spawned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Condition {
    /// It was spawned: it is `Starting` with a process, `Running`, or `Exited`.
    Started,
    /// It is ready: `Running` (with a readiness check, it passed it; without one, it was up
    /// for its start grace).
    Ready,
    /// It has exited with an expected code (in its `expected_exit_codes`): a one-shot job,
    /// such as a migration, that is done.
    Exited,
}

impl Condition {
    /// The lower-case name (`ready`).
    pub fn name(self) -> &'static str {
        match self {
            Condition::Started => "started",
            Condition::Ready => "ready",
            Condition::Exited => "exited",
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the waiting instances of a group were not started: a dependency failed its condition
/// for good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DependencyFailure {
    /// The group whose start was given up.
    pub group: Arc<str>,
    /// The instance of the dependency that failed.
    pub dependency: InstanceId,
    /// The condition it can no longer meet without someone's request.
    pub condition: Condition,
    /// Its state: `Fatal`, or `Exited` for good.
    pub state: State,
    /// How its last process ended, if it did.
    pub exit: Option<ExitStatus>,
}

/// A group this one depends on, and the condition each of its instances must meet.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Dependency {
    /// The group depended on.
    pub group: Arc<str>,
    /// What each of its instances must have done.
    pub condition: Condition,
}

impl Dependency {
    /// `group` must meet `condition`.
    pub fn new(group: impl Into<Arc<str>>, condition: Condition) -> Dependency {
        Dependency { group: group.into(), condition }
    }
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
