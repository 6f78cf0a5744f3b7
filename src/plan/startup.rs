//! When an instance counts as ready, and what a process type waits for before it starts
//! (`"ready"` and `"depends_on"` in procman.json): the plan's words for them, which `start`
//! turns into the library's readiness checks and dependencies, and `export` into each
//! target's own.

use std::fmt;
use std::time::Duration;

use supervise::Condition;

/// A type's readiness check, with its timing (`None`: the library's default).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Ready {
    pub(crate) check: ReadyCheck,
    /// Between two attempts of a port or command check.
    pub(crate) interval: Option<Duration>,
    /// How long an instance may take to become ready; past it, the start failed.
    pub(crate) timeout: Option<Duration>,
}

/// What says an instance is ready.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ReadyCheck {
    /// A line of its output matches.
    Log(LogPattern),
    /// `localhost:PORT` accepts a TCP connection.
    Port(ReadyPort),
    /// This command (run by `sh -c` with the instance's environment) exits with 0.
    Command(String),
}

impl ReadyCheck {
    /// The key of `"ready"` that gives this check: `log`, `port`, `command`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            ReadyCheck::Log(_) => "log",
            ReadyCheck::Port(_) => "port",
            ReadyCheck::Command(_) => "command",
        }
    }
}

/// The port of a port check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ReadyPort {
    Number(u16),
    /// `"$PORT"`: the value of this variable in each instance's environment.
    Variable(String),
}

impl fmt::Display for ReadyPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadyPort::Number(port) => write!(f, "{port}"),
            ReadyPort::Variable(name) => write!(f, "${name}"),
        }
    }
}

/// A regular expression (the regex crate's syntax) tested against each line of output, as
/// bytes: output need not be UTF-8. Two are equal when their patterns are.
#[derive(Clone, Debug)]
pub(crate) struct LogPattern(regex::bytes::Regex);

impl LogPattern {
    /// The pattern compiled, or the regex crate's message about it.
    pub(crate) fn new(pattern: &str) -> Result<LogPattern, String> {
        regex::bytes::Regex::new(pattern).map(LogPattern).map_err(|error| error.to_string())
    }

    pub(crate) fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub(crate) fn is_match(&self, line: &[u8]) -> bool {
        self.0.is_match(line)
    }
}

impl PartialEq for LogPattern {
    fn eq(&self, other: &LogPattern) -> bool {
        self.as_str() == other.as_str()
    }
}

/// One entry of `"depends_on"`: the type waited for and what each of its instances must have
/// done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DependsOn {
    pub(crate) name: String,
    pub(crate) condition: Condition,
}
