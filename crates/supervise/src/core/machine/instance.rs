//! One instance as the supervisor keeps it: where it is in its life ([`Phase`], one variant a
//! state, each carrying only what that state needs) and what it remembers across lives.

use std::time::Instant;

use crate::core::types::{ExitStatus, SpawnError, State};

/// A live process of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Process {
    pub(super) pid: u32,
    pub(super) started_at: Instant,
}

/// What happens once a stopping instance's process is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AfterStop {
    /// Stay stopped.
    Stay,
    /// Start again (a restart request).
    Restart,
    /// Disappear (a scale-down).
    Remove,
    /// Count a failed start (the instance was not ready in time): backoff or fatal.
    FailStart,
}

impl AfterStop {
    /// A later request replaces an earlier one, except a scale-down's removal, which stands:
    /// the instance is on its way out.
    pub(super) fn superseded_by(self, later: AfterStop) -> AfterStop {
        if self == AfterStop::Remove { self } else { later }
    }
}

/// What happens once the outcome of a pending spawn is reported. A stop request cannot be
/// carried out before (there is no pid to signal yet); a restart request is refused while
/// the spawn is pending, so there is no "restart" here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AfterSpawn {
    /// Nothing asked: the process runs.
    Run,
    /// A stop arrived: the process is stopped at once and stays stopped.
    Stop,
    /// A scale-down arrived: the process is stopped at once and the instance removed.
    Remove,
}

impl AfterSpawn {
    /// The stop to carry out once the spawn is reported, if any.
    pub(super) fn stop(self) -> Option<AfterStop> {
        match self {
            AfterSpawn::Run => None,
            AfterSpawn::Stop => Some(AfterStop::Stay),
            AfterSpawn::Remove => Some(AfterStop::Remove),
        }
    }

    /// The instance is asked to run: a stop waiting for the spawn's outcome is dropped, a
    /// scale-down's removal stands.
    pub(super) fn run_anyway(self) -> AfterSpawn {
        if self == AfterSpawn::Stop { AfterSpawn::Run } else { self }
    }

    /// A stop request arriving while the spawn is pending (a scale-down's if `remove`), with
    /// the precedence of [`AfterStop::superseded_by`]: a removal stands.
    pub(super) fn with_stop(self, remove: bool) -> AfterSpawn {
        if remove || self == AfterSpawn::Remove { AfterSpawn::Remove } else { AfterSpawn::Stop }
    }
}

/// How a start ends well.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StartEnd {
    /// At the end of the start grace period.
    Grace(Instant),
    /// When the instance is reported ready; it fails at `timeout_at` if it is not.
    Ready { timeout_at: Option<Instant> },
}

/// Where an instance is. Every variant but `Spawning` is the [`State`] of the same name;
/// `Spawning` is reported as `Starting`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    Stopped,
    /// Asked to run; its group's dependencies do not meet their conditions yet.
    Waiting,
    /// A spawn was asked for ([`crate::Effect::Spawn`]) and its outcome is not reported yet.
    Spawning {
        /// The state the instance left, for the transition reported with the outcome:
        /// Stopped, Exited or Backoff.
        from: State,
        then: AfterSpawn,
    },
    Starting {
        process: Process,
        ends: StartEnd,
    },
    Running {
        process: Process,
    },
    Stopping {
        process: Process,
        /// When SIGKILL is due; `None` once it was sent.
        kill_at: Option<Instant>,
        then: AfterStop,
    },
    Backoff {
        /// The next attempt.
        retry_at: Instant,
    },
    Exited {
        /// A pending automatic restart.
        restart_at: Option<Instant>,
    },
    Fatal,
}

impl Phase {
    /// The state reported for this phase.
    pub(super) fn state(&self) -> State {
        match self {
            Phase::Stopped => State::Stopped,
            Phase::Waiting => State::Waiting,
            Phase::Spawning { .. } | Phase::Starting { .. } => State::Starting,
            Phase::Running { .. } => State::Running,
            Phase::Stopping { .. } => State::Stopping,
            Phase::Backoff { .. } => State::Backoff,
            Phase::Exited { .. } => State::Exited,
            Phase::Fatal => State::Fatal,
        }
    }

    /// The live process, in the phases that have one.
    pub(super) fn process(&self) -> Option<Process> {
        match self {
            Phase::Starting { process, .. }
            | Phase::Running { process }
            | Phase::Stopping { process, .. } => Some(*process),
            Phase::Stopped
            | Phase::Waiting
            | Phase::Spawning { .. }
            | Phase::Backoff { .. }
            | Phase::Exited { .. }
            | Phase::Fatal => None,
        }
    }

    /// When [`crate::Supervisor::tick`] has something to do for this phase.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match *self {
            Phase::Starting { ends: StartEnd::Grace(running_at), .. } => Some(running_at),
            Phase::Starting { ends: StartEnd::Ready { timeout_at }, .. } => timeout_at,
            Phase::Stopping { kill_at, .. } => kill_at,
            Phase::Backoff { retry_at } => Some(retry_at),
            Phase::Exited { restart_at } => restart_at,
            Phase::Stopped
            | Phase::Waiting
            | Phase::Spawning { .. }
            | Phase::Running { .. }
            | Phase::Fatal => None,
        }
    }

    /// Neither a process nor a pending spawn.
    pub(super) fn is_down(&self) -> bool {
        !self.state().has_process()
    }
}

#[derive(Debug)]
pub(super) struct Instance {
    pub(super) phase: Phase,
    /// Failed starts in a row.
    pub(super) retries: u32,
    /// Processes started so far.
    pub(super) starts: u32,
    /// When the last process that ended had started.
    pub(super) last_started_at: Option<Instant>,
    pub(super) last_exit: Option<ExitStatus>,
    /// The error of the last start, if it failed to spawn.
    pub(super) spawn_error: Option<SpawnError>,
}

impl Instance {
    pub(super) fn new() -> Instance {
        Instance {
            phase: Phase::Stopped,
            retries: 0,
            starts: 0,
            last_started_at: None,
            last_exit: None,
            spawn_error: None,
        }
    }

    pub(super) fn state(&self) -> State {
        self.phase.state()
    }

    /// When the current process started, or else the last one.
    pub(super) fn started_at(&self) -> Option<Instant> {
        self.phase.process().map(|p| p.started_at).or(self.last_started_at)
    }
}
