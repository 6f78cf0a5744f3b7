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

/// Like [`protect`], but the guard re-executes the program (through `/proc/self/exe`) so that
/// it holds none of the memory the program had touched before the fork: only the pages of its
/// own small loop. The program must call [`run_if_guard`] first thing in `main`, before
/// anything else, or the re-executed copy would run the program again.
///
/// # Errors
/// As [`protect`]. If the re-execution fails, the guard runs in the forked copy instead.
pub fn protect_reexec() -> std::io::Result<Protection> {
    #[cfg(target_os = "linux")]
    {
        let guard_pid = crate::sys::guard::protect(true)?;
        Ok(Protection { guard_pid, lost_signal: crate::sys::guard::guard_lost_signal() })
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }
}

/// For programs that use [`protect_reexec`] (or [`protect_isolated`] with `reexec`): call
/// this first thing in `main`. In the re-executed guard it never returns; everywhere else it
/// returns at once.
pub fn run_if_guard() {
    #[cfg(target_os = "linux")]
    crate::sys::guard::run_if_guard();
}

/// Like [`protect`], with the supervisor as PID 1 of a new PID namespace (Linux): when it dies,
/// even by SIGKILL, the kernel itself kills every process left in the namespace. Without root
/// this needs unprivileged user namespaces. Children see namespace pids and a `/proc` of their
/// own; their user is unchanged.
///
/// With `reexec`, the guard is re-executed as in [`protect_reexec`].
///
/// # Errors
/// When the namespaces cannot be created (the caller may fall back to [`protect`]), or as
/// [`protect`].
pub fn protect_isolated(reexec: bool) -> std::io::Result<Protection> {
    #[cfg(target_os = "linux")]
    {
        crate::sys::guard::isolate()?;
        let protection = if reexec { protect_reexec()? } else { protect()? };
        // Now in the supervisor, PID 1 of the new namespace. Without a /proc of its own, the
        // process table would show the host's processes under pids that mean something else
        // here; nothing must run in that state, so this is the end of the supervisor.
        if let Err(error) = crate::sys::guard::mount_own_proc() {
            eprintln!("procman: error: cannot mount /proc in the new PID namespace: {error}");
            std::process::exit(1);
        }
        Ok(protection)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = reexec;
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }
}

/// Forks the guard and returns in the supervisor.
///
/// # Errors
/// `Unsupported` off Linux; an error when threads already run or the fork fails.
pub fn protect() -> std::io::Result<Protection> {
    #[cfg(target_os = "linux")]
    {
        let guard_pid = crate::sys::guard::protect(false)?;
        Ok(Protection { guard_pid, lost_signal: crate::sys::guard::guard_lost_signal() })
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }
}
