//! Protection against the supervisor's own sudden death (Linux).
//!
//! Call [`protect`] first thing in `main`, before any thread starts. The process forks: the
//! original process becomes a small guard that stays the parent of everything, and the call
//! returns in the child, which goes on to supervise. If the supervisor is SIGKILLed, the guard
//! (a child subreaper) inherits the orphaned tree, kills it and exits with the supervisor's
//! status (128 + 9). If the guard is SIGKILLed, the supervisor receives
//! [`Protection::lost_signal`] and should kill its tree at once. Signals sent to the guard's pid
//! (the one the shell or a service manager knows) are forwarded to the supervisor.

use crate::signal::Signal;

/// What [`protect`] set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protection {
    /// The guard's pid (the original process).
    pub guard_pid: u32,
    /// The signal the supervisor receives if the guard dies; handle it (add it to
    /// [`crate::DriverOptions::signals`]) by killing everything at once.
    pub lost_signal: Signal,
}

/// Forks the guard and returns in the supervisor.
///
/// # Errors
/// `Unsupported` off Linux; an error when threads already run or the fork fails.
pub fn protect() -> std::io::Result<Protection> {
    #[cfg(target_os = "linux")]
    {
        let guard_pid = crate::sys::guard::protect()?;
        Ok(Protection { guard_pid, lost_signal: crate::sys::guard::guard_lost_signal() })
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }
}
