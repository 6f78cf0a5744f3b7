//! Job control: which signal stops a process the way Ctrl-Z at a terminal would.
//!
//! SIGTSTP is the polite stop: a program that catches it restores what it changed (terminal
//! modes) and then stops itself. But the kernel discards a SIGTSTP whose action is the default
//! when the process's group is *orphaned* (no member has a parent in another group of the
//! same session), and a program may ignore it. An instance on a pty leads a session of its
//! own, so its group is orphaned: a default SIGTSTP would do nothing there. So SIGTSTP goes
//! only where it is known to work, a process in the supervisor's own session that does not
//! ignore it (every group there has the supervisor or a process of the app as a parent
//! outside it, so none is orphaned); every other process gets SIGSTOP, which cannot be
//! caught or ignored. A process on a pty has nothing to restore: the pty is its own terminal
//! and keeps its modes while it is stopped.

use crate::signal::Signal;

/// The session of `pid`, or `None` when it is gone.
pub(crate) fn session_of(pid: u32) -> Option<u32> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    // SAFETY: getsid only reads the process table; a stale pid gives -1 (ESRCH).
    let session = unsafe { libc::getsid(pid) };
    u32::try_from(session).ok()
}

/// The signal that stops `pid` (see the module documentation); `session` is the supervisor's.
pub(crate) fn stop_signal_for(pid: u32, session: Option<u32>) -> Signal {
    if session.is_some() && session_of(pid) == session && !ignores_tstp(pid) {
        Signal::TSTP
    } else {
        Signal::STOP
    }
}

/// Whether `pid` ignores SIGTSTP (its `SigIgn` mask in `/proc/PID/status`).
#[cfg(target_os = "linux")]
fn ignores_tstp(pid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (libc::SIGTSTP - 1)) != 0)
}

/// Elsewhere there is no portable way to read another process's dispositions: SIGTSTP, and a
/// program that ignores it keeps running, as at a terminal.
#[cfg(not(target_os = "linux"))]
fn ignores_tstp(_pid: u32) -> bool {
    false
}
