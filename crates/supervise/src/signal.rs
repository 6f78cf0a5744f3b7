//! Our own signal type, so the public API never exposes `nix` or `libc` types and a bump of either
//! is not a breaking change (the rule process-wrap follows).

use std::fmt;
use std::str::FromStr;

/// A Unix signal number with its conventional name.
///
/// `Signal::TERM` and friends cover the common signals; any other number is kept as is, so a
/// real-time signal can still be carried around.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(i32);

/// Names and numbers of the signals this crate knows by name, in the order `kill -l` lists them.
const NAMED: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("SYS", libc::SIGSYS),
];

impl Signal {
    /// Hang-up: the terminal closed.
    pub const HUP: Signal = Signal(libc::SIGHUP);
    /// Interrupt: Ctrl-C.
    pub const INT: Signal = Signal(libc::SIGINT);
    /// Quit: Ctrl-\.
    pub const QUIT: Signal = Signal(libc::SIGQUIT);
    /// Kill: cannot be caught or ignored.
    pub const KILL: Signal = Signal(libc::SIGKILL);
    /// User-defined signal 1.
    pub const USR1: Signal = Signal(libc::SIGUSR1);
    /// User-defined signal 2.
    pub const USR2: Signal = Signal(libc::SIGUSR2);
    /// Broken pipe.
    pub const PIPE: Signal = Signal(libc::SIGPIPE);
    /// Alarm clock.
    pub const ALRM: Signal = Signal(libc::SIGALRM);
    /// Terminate: the polite stop request, and the default stop signal.
    pub const TERM: Signal = Signal(libc::SIGTERM);
    /// A child stopped or exited.
    pub const CHLD: Signal = Signal(libc::SIGCHLD);
    /// Continue a stopped process.
    pub const CONT: Signal = Signal(libc::SIGCONT);
    /// Stop: cannot be caught or ignored.
    pub const STOP: Signal = Signal(libc::SIGSTOP);
    /// Terminal stop: Ctrl-Z.
    pub const TSTP: Signal = Signal(libc::SIGTSTP);
    /// Terminal window size changed.
    pub const WINCH: Signal = Signal(libc::SIGWINCH);

    /// Wraps a raw signal number.
    pub const fn from_raw(number: i32) -> Signal {
        Signal(number)
    }

    /// The raw signal number.
    pub const fn as_raw(self) -> i32 {
        self.0
    }

    /// The conventional name without the `SIG` prefix (`TERM`), if the number has one.
    pub fn name(self) -> Option<&'static str> {
        NAMED.iter().find(|(_, n)| *n == self.0).map(|(name, _)| *name)
    }

    /// Whether a stop with this signal is followed by SIGCONT to the same processes, as
    /// systemd and supervisord do: a process stopped by SIGSTOP or Ctrl-Z could not act on it
    /// otherwise, and would only ever end by SIGKILL at the stop timeout. Not after SIGKILL
    /// (it ends a stopped process as it is), SIGCONT itself, or a job-control stop (SIGSTOP,
    /// SIGTSTP, SIGTTIN, SIGTTOU), which the SIGCONT would undo.
    pub(crate) fn is_followed_by_cont(self) -> bool {
        ![libc::SIGKILL, libc::SIGCONT, libc::SIGSTOP, libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU]
            .contains(&self.0)
    }

    /// Every signal known by name, in `kill -l` order.
    pub fn all_named() -> impl Iterator<Item = Signal> {
        NAMED.iter().map(|(_, n)| Signal(*n))
    }
}

impl fmt::Display for Signal {
    /// `SIGTERM`, or `signal 42` for a number without a name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "SIG{name}"),
            None => write!(f, "signal {}", self.0),
        }
    }
}

/// The error of [`Signal::from_str`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown signal `{0}` (expected a name such as TERM, SIGINT or USR1, or a number)")]
pub struct UnknownSignal(pub String);

impl FromStr for Signal {
    type Err = UnknownSignal;

    /// Accepts `TERM`, `SIGTERM`, `term` or `15`.
    fn from_str(text: &str) -> Result<Signal, UnknownSignal> {
        let trimmed = text.trim();
        if let Ok(number) = trimmed.parse::<i32>() {
            if (1..=64).contains(&number) {
                return Ok(Signal(number));
            }
            return Err(UnknownSignal(text.to_owned()));
        }
        let upper = trimmed.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        NAMED
            .iter()
            .find(|(name, _)| *name == bare)
            .map(|(_, n)| Signal(*n))
            .ok_or_else(|| UnknownSignal(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_signal_is_followed_by_sigcont_unless_it_kills_or_is_job_control() {
        for signal in [Signal::TERM, Signal::INT, Signal::QUIT, Signal::HUP, Signal::USR1] {
            assert!(signal.is_followed_by_cont(), "{signal}");
        }
        for name in ["KILL", "CONT", "STOP", "TSTP", "TTIN", "TTOU"] {
            let signal: Signal = name.parse().expect("a signal");
            assert!(!signal.is_followed_by_cont(), "{signal}");
        }
    }

    #[test]
    fn parses_names_numbers_and_prefixes() {
        assert_eq!("TERM".parse(), Ok(Signal::TERM));
        assert_eq!("sigint".parse(), Ok(Signal::INT));
        assert_eq!("9".parse(), Ok(Signal::KILL));
        assert!("NOPE".parse::<Signal>().is_err());
        assert!("0".parse::<Signal>().is_err());
        assert!("65".parse::<Signal>().is_err());
    }

    #[test]
    fn displays_conventional_names() {
        assert_eq!(Signal::TERM.to_string(), "SIGTERM");
        assert_eq!(Signal::from_raw(40).to_string(), "signal 40");
    }
}
