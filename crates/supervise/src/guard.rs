//! Protection against the supervisor's own sudden death (Linux).
//!
//! Call [`protect`] early in `main`, before any thread starts. The process forks: the original
//! process becomes a small guard that stays the parent of everything, and the call returns in
//! the child, which goes on to supervise. If the supervisor is SIGKILLed, the guard (a child
//! subreaper) inherits the orphaned tree, kills it and exits with the supervisor's status
//! (128 + 9). If the guard is SIGKILLed, the supervisor receives [`Protection::lost_signal`]
//! and should kill its tree at once. Signals sent to the guard's pid (the one the shell or a
//! service manager knows) are forwarded to the supervisor, SIGTSTP and SIGCONT included: a
//! supervisor that handles Ctrl-Z stops the app, then calls [`request_stop`], and the guard
//! stops it and then itself, so the shell sees the job stopped; `fg` continues both.
//!
//! With a cgroup tree ([`GuardOptions::cgroup`]) the guard's cleanup is `cgroup.kill` of the
//! whole tree, which no process of the app can escape, then the tree's removal; without one,
//! it SIGKILLs every descendant it finds in `/proc`, all at once, until none is left.
//!
//! # A guard that costs little
//!
//! Right after the fork the guard executes a program of the host's choosing
//! ([`GuardOptions::programs`]): a small one made for it (whose `main` calls
//! [`run_if_guard`]), or the host's own program again (`/proc/self/exe`, whose `main` then
//! calls [`run_if_guard`] first thing). Either way it holds none of the memory the host had
//! touched before the fork, and once set up it gives the pages of code it will not run again
//! back to the page cache. Only if no program can be executed does the guard run on in the
//! forked copy of the host.

use std::path::PathBuf;

use crate::containment::CgroupTree;
pub use crate::error::GuardError;
use crate::signal::Signal;

/// What [`protect`] set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protection {
    /// The guard's pid (the original process).
    pub guard_pid: u32,
    /// The signal the supervisor receives if the guard dies; handle it (add it to
    /// [`crate::DriverOptions::kill_all_on`] and [`crate::DriverOptions::signals`]) by
    /// killing everything at once. It stays blocked in the supervisor until a
    /// [`crate::Driver`] registers it (the driver unblocks what it registers), so a guard
    /// lost before then is reported by the driver's first turn rather than ending the
    /// supervisor with nothing cleaned up.
    pub lost_signal: Signal,
}

/// What the guard is to be; see [`protect`].
#[derive(Clone, Debug)]
pub struct GuardOptions {
    /// Programs the guard executes right after the fork, the first that can be executed: each
    /// must call [`run_if_guard`] first thing in `main` (and exit with the code it returns).
    /// `/proc/self/exe` is the host's own program. The signal mask, the pending signals, the
    /// supervisor (the guard's child) and the subreaper flag carry over the exec. When none
    /// can be executed (or the list is empty), the guard runs in the forked copy of the host.
    pub programs: Vec<PathBuf>,
    /// The guard's name: its `argv[0]` and the name `ps` shows (the kernel keeps 15 bytes).
    /// Default: `supervise-guard`.
    pub name: String,
    /// The supervisor becomes PID 1 of a new PID namespace (Linux): when it dies, even by
    /// SIGKILL, the kernel itself kills every process left in the namespace. Without root
    /// this needs unprivileged user namespaces. Children see namespace pids and a `/proc` of
    /// their own; their user is unchanged.
    pub isolate: bool,
    /// The app's cgroup tree (the one given to [`crate::DriverOptions::cgroup`]): the
    /// guard kills it with `cgroup.kill` when the supervisor ends, and removes it.
    pub cgroup: Option<CgroupTree>,
}

impl Default for GuardOptions {
    fn default() -> GuardOptions {
        GuardOptions {
            programs: Vec::new(),
            name: "supervise-guard".to_owned(),
            isolate: false,
            cgroup: None,
        }
    }
}

/// Forks the guard as `options` say and returns in the supervisor.
///
/// # Errors
/// A [`GuardError`]. Unless [`GuardError::guard_started`] says otherwise, nothing was forked
/// and the caller may go on without a guard, or try again with other options (without
/// `isolate`, say); when it says so, this process is the supervisor of a broken run and
/// must end.
pub fn protect(options: &GuardOptions) -> Result<Protection, GuardError> {
    #[cfg(target_os = "linux")]
    {
        if options.isolate {
            crate::sys::guard::isolate()?;
        }
        let guard_pid = crate::sys::guard::protect(options)?;
        if options.isolate {
            // Now in the supervisor, PID 1 of the new namespace. Without a /proc of its own,
            // the process table would show the host's processes under pids that mean
            // something else here; nothing may run in that state.
            crate::sys::guard::mount_own_proc().map_err(GuardError::ProcMount)?;
            crate::sys::guard::mark_isolated();
        }
        Ok(Protection { guard_pid, lost_signal: crate::sys::guard::guard_lost_signal() })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = options;
        Err(GuardError::Unsupported)
    }
}

/// For the programs the guard executes ([`GuardOptions::programs`]): call this first thing in
/// `main`. In the guard it runs the guard's whole life and returns the code to exit with at
/// once (the supervisor's status, as a shell reports it: its exit code, or 128 + the signal
/// that killed it); everywhere else it returns `None` at once.
pub fn run_if_guard() -> Option<u8> {
    #[cfg(target_os = "linux")]
    {
        crate::sys::guard::run_if_guard().map(|code| u8::try_from(code & 0xff).unwrap_or(1))
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// In the supervisor, for job control (Ctrl-Z): asks the guard to stop this process with
/// SIGSTOP and then to stop itself, so that the shell, which waits on the guard, sees the job
/// stopped. Call it once the app is stopped ([`crate::Driver::suspend`]); the supervisor stops
/// a moment later, and the SIGCONT of `fg` (sent to the guard, forwarded) continues it. The
/// guard does the stopping because the supervisor cannot always stop itself: PID 1 of a
/// namespace ([`GuardOptions::isolate`]) ignores a SIGSTOP it sends itself.
///
/// The request answers the last SIGTSTP received (the host asks for SIGTSTP and SIGCONT in
/// [`crate::DriverOptions::signals`], which records it): the guard ignores it if it forwarded a
/// SIGCONT since. Call it again at a SIGTSTP taken while the app is already suspended.
///
/// Returns `false` when there is no guard: the supervisor then stops itself (SIGSTOP), since
/// the shell waits on it.
pub fn request_stop() -> bool {
    #[cfg(target_os = "linux")]
    {
        crate::sys::guard::request_stop()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Whether this process is the supervisor of an isolated run, PID 1 of its own namespace.
pub fn is_isolated() -> bool {
    #[cfg(target_os = "linux")]
    {
        crate::sys::guard::is_isolated()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}
