//! When an instance counts as ready: the readiness check of a [`crate::ProgramSpec`].
//!
//! The core only knows that a group has a check and how long an instance may take to pass it
//! (see [`crate::Supervisor::ready`]); the checks themselves are mechanisms of the driver.

use std::ffi::OsString;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::CommandSpec;

/// The test of a [`LineMatcher`]: whether a line (without its newline) says ready.
pub type LineTest = Arc<dyn Fn(&[u8]) -> bool + Send + Sync>;

/// A test of one line of an instance's output (without its newline). `pattern` names the test
/// (the host's regular expression, say): two matchers with the same pattern are the same
/// check, which is how a reload compares them, since functions cannot be compared.
#[derive(Clone)]
pub struct LineMatcher {
    /// What the test looks for, in the host's words; shown in status displays.
    pub pattern: String,
    /// The test itself. It runs on the driver's thread for every line of a starting instance,
    /// so it must be quick.
    pub matches: LineTest,
}

impl LineMatcher {
    /// A matcher named `pattern`.
    pub fn new(
        pattern: impl Into<String>,
        matches: impl Fn(&[u8]) -> bool + Send + Sync + 'static,
    ) -> LineMatcher {
        LineMatcher { pattern: pattern.into(), matches: Arc::new(matches) }
    }
}

impl fmt::Debug for LineMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LineMatcher").field(&self.pattern).finish()
    }
}

impl PartialEq for LineMatcher {
    fn eq(&self, other: &LineMatcher) -> bool {
        self.pattern == other.pattern
    }
}

/// The TCP port a [`ReadyCheck::Port`] connects to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadyPort {
    /// This port.
    Number(u16),
    /// The value of this variable in the instance's environment (its launch's variables,
    /// then the group's, then the inherited ones): `PORT` gives each instance its own.
    Env(OsString),
}

/// How the driver finds out that an instance is ready.
#[derive(Clone, Debug, PartialEq)]
pub enum ReadyCheck {
    /// The host says so, with [`crate::Driver::mark_ready`] (or [`crate::Supervisor::ready`]).
    Manual,
    /// A line of the instance's output, on either stream, passes the test.
    OutputLine(LineMatcher),
    /// A TCP connection to this port of `localhost` (127.0.0.1 or ::1) is accepted. Tried
    /// every `interval`, each attempt a non-blocking connect in the driver's poll loop.
    Port(ReadyPort),
    /// This command exits with code 0. It runs with the instance's environment and working
    /// directory, its output discarded, every `interval` (after the previous one ended); one
    /// still running at the timeout is killed.
    Command(CommandSpec),
}

/// A readiness check: with one, an instance stays `Starting` until it is ready instead of for
/// its `start_grace`, and becomes `Running` then; one that is not ready within `timeout` is
/// stopped, and that counts as a failed start (retried with backoff, or fatal).
#[derive(Clone, Debug, PartialEq)]
pub struct Readiness {
    /// The check.
    pub check: ReadyCheck,
    /// The time between the starts of two attempts of a port or command check. Not zero.
    pub interval: Duration,
    /// How long an instance may take to become ready; `None` waits for ever.
    pub timeout: Option<Duration>,
}

impl Readiness {
    /// The default time between two attempts.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(500);
    /// The default time an instance may take to become ready.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

    /// `check` with the default interval and timeout.
    pub fn new(check: ReadyCheck) -> Readiness {
        Readiness {
            check,
            interval: Readiness::DEFAULT_INTERVAL,
            timeout: Some(Readiness::DEFAULT_TIMEOUT),
        }
    }

    /// Ready when the host says so.
    pub fn manual() -> Readiness {
        Readiness::new(ReadyCheck::Manual)
    }

    /// Ready when `localhost:port` accepts a connection.
    pub fn port(port: u16) -> Readiness {
        Readiness::new(ReadyCheck::Port(ReadyPort::Number(port)))
    }

    /// Ready when `localhost:$variable` accepts a connection.
    pub fn port_from_env(variable: impl Into<OsString>) -> Readiness {
        Readiness::new(ReadyCheck::Port(ReadyPort::Env(variable.into())))
    }

    /// Ready when `command` exits with code 0.
    pub fn command(command: CommandSpec) -> Readiness {
        Readiness::new(ReadyCheck::Command(command))
    }

    /// Ready when a line of output passes `matches` (named `pattern`).
    pub fn output_line(
        pattern: impl Into<String>,
        matches: impl Fn(&[u8]) -> bool + Send + Sync + 'static,
    ) -> Readiness {
        Readiness::new(ReadyCheck::OutputLine(LineMatcher::new(pattern, matches)))
    }

    /// With this interval between attempts.
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Readiness {
        self.interval = interval;
        self
    }

    /// With this timeout (`None`: none).
    #[must_use]
    pub fn timeout(mut self, timeout: Option<Duration>) -> Readiness {
        self.timeout = timeout;
        self
    }
}
