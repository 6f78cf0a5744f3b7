//! Protection against the supervisor's own sudden death (Linux).
//!
//! Call [`protect`] first thing in `main`, before any thread starts. The process forks: the
//! original process becomes a small guard that stays the parent of everything, and the call
//! returns in the child, which goes on to supervise. If the supervisor is SIGKILLed, the guard
//! (a child subreaper) inherits the orphaned tree, kills it and exits with the supervisor's
//! status (128 + 9). If the guard is SIGKILLed, the supervisor receives
//! [`Protection::lost_signal`] and should kill its tree at once. Signals sent to the guard's pid
//! (the one the shell or a service manager knows) are forwarded to the supervisor.
//!
//! With a cgroup tree ([`GuardOptions::cgroup`]) the guard's cleanup is `cgroup.kill` of the
//! whole tree, which no process of the app can escape, then the tree's removal; without one,
//! it SIGKILLs every descendant it finds in `/proc`, all at once, until none is left.

use crate::containment::CgroupTree;
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

/// What the guard is to do; see [`protect_with`].
#[derive(Clone, Debug, Default)]
pub struct GuardOptions {
    /// The guard re-executes the program (through `/proc/self/exe`) so that it holds none of
    /// the memory the program had touched before the fork, only the pages of its own small
    /// loop. The program must call [`run_if_guard`] first thing in `main`, or the
    /// re-executed copy would run the program again. If the re-execution fails, the guard
    /// runs in the forked copy instead.
    pub reexec: bool,
    /// The supervisor becomes PID 1 of a new PID namespace (Linux): when it dies, even by
    /// SIGKILL, the kernel itself kills every process left in the namespace. Without root
    /// this needs unprivileged user namespaces. Children see namespace pids and a `/proc` of
    /// their own; their user is unchanged.
    pub isolate: bool,
    /// The app's cgroup tree (the one given to [`crate::DriverOptions::cgroup`]): the
    /// guard kills it with `cgroup.kill` when the supervisor ends, and removes it.
    pub cgroup: Option<CgroupTree>,
}

/// Forks the guard as `options` say and returns in the supervisor.
///
/// # Errors
/// `Unsupported` off Linux; an error when threads already run, the fork fails, or (with
/// `isolate`) the namespaces cannot be created, in which case nothing was forked and the
/// caller may try again without it.
pub fn protect_with(options: &GuardOptions) -> std::io::Result<Protection> {
    #[cfg(target_os = "linux")]
    {
        if options.isolate {
            crate::sys::guard::isolate()?;
        }
        let guard_pid = crate::sys::guard::protect(options.reexec, options.cgroup.as_ref())?;
        if options.isolate {
            // Now in the supervisor, PID 1 of the new namespace. Without a /proc of its own,
            // the process table would show the host's processes under pids that mean
            // something else here; nothing must run in that state, so this is the end of
            // the supervisor.
            if let Err(error) = crate::sys::guard::mount_own_proc() {
                eprintln!("procman: error: cannot mount /proc in the new PID namespace: {error}");
                std::process::exit(1);
            }
            crate::sys::guard::mark_isolated();
        }
        Ok(Protection { guard_pid, lost_signal: crate::sys::guard::guard_lost_signal() })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = options;
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }
}

/// [`protect_with`] with [`GuardOptions::reexec`].
///
/// # Errors
/// As [`protect_with`].
pub fn protect_reexec() -> std::io::Result<Protection> {
    protect_with(&GuardOptions { reexec: true, ..GuardOptions::default() })
}

/// For programs whose guard re-executes them ([`GuardOptions::reexec`]): call this first
/// thing in `main`. In the re-executed guard it never returns; everywhere else it returns at
/// once.
pub fn run_if_guard() {
    #[cfg(target_os = "linux")]
    crate::sys::guard::run_if_guard();
}

/// [`protect_with`] with [`GuardOptions::isolate`] (and `reexec` as given).
///
/// # Errors
/// As [`protect_with`].
pub fn protect_isolated(reexec: bool) -> std::io::Result<Protection> {
    protect_with(&GuardOptions { reexec, isolate: true, cgroup: None })
}

/// [`protect_with`] with the default options: a forked guard that walks `/proc`.
///
/// # Errors
/// As [`protect_with`].
pub fn protect() -> std::io::Result<Protection> {
    protect_with(&GuardOptions::default())
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
