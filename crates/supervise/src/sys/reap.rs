//! Reaping: collect the exit status of every child that has ended, ours or adopted.

use std::time::{Duration, Instant};

use crate::core::ExitStatus;
use crate::signal::Signal;

/// Collects one ended child without blocking: `None` when no child has ended (or there are no
/// children at all).
///
/// This waits for *any* child (`waitpid(-1)`), because a subreaper must also reap the orphans
/// it adopts. A host that spawns children of its own must let the driver report them (they come
/// back as [`crate::Event::Reaped`]).
pub(crate) fn reap_one() -> Option<(u32, ExitStatus)> {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: waitpid writes the status into our local; WNOHANG never blocks.
        let pid = unsafe { libc::waitpid(-1, &raw mut status, libc::WNOHANG) };
        if pid > 0 {
            let exit = if libc::WIFEXITED(status) {
                ExitStatus::Code(libc::WEXITSTATUS(status))
            } else if libc::WIFSIGNALED(status) {
                ExitStatus::Signaled(Signal::from_raw(libc::WTERMSIG(status)))
            } else {
                // Stopped or continued: only reported with WUNTRACED/WCONTINUED, not asked for.
                continue;
            };
            return u32::try_from(pid).ok().map(|pid| (pid, exit));
        }
        if pid == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        // 0: children exist but none has ended; -1 with ECHILD: no children at all.
        return None;
    }
}

/// Whether this process has any child left, ended or not (`waitid` without waiting): a
/// subreaper with none has no descendant either, which no scan of `/proc` can promise (a
/// process forked between the listing and the read is not in it).
pub(crate) fn has_children() -> bool {
    loop {
        // SAFETY: siginfo_t is plain data that waitid fills in; WNOHANG never blocks and
        // WNOWAIT leaves an ended child to be reaped by `reap_one`.
        let result = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_ALL,
                0,
                &raw mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        if result == 0 {
            return true;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => {}
            // ECHILD: none.
            _ => return false,
        }
    }
}

/// Sends `signal` to each of `pids`, then SIGCONT to each if the signal calls for it (a
/// stopped process could not act on a stop signal otherwise; see
/// [`Signal::is_followed_by_cont`]).
pub(crate) fn stop_each(pids: &[u32], signal: Signal) {
    for pid in pids {
        signal_process(*pid, signal);
    }
    if signal.is_followed_by_cont() {
        for pid in pids {
            signal_process(*pid, Signal::CONT);
        }
    }
}

/// Sends `signal` to one process. A process that is already gone is not an error.
pub(crate) fn signal_process(pid: u32, signal: Signal) {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return };
    if pid <= 1 {
        return;
    }
    // SAFETY: kill has no memory effects; a stale pid yields ESRCH, which we ignore.
    unsafe {
        libc::kill(pid, signal.as_raw());
    }
}

/// Sends `signal` to a process group. A group that is already empty is not an error.
pub(crate) fn signal_group(pgid: u32, signal: Signal) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else { return };
    if pgid <= 1 {
        return;
    }
    // SAFETY: killpg has no memory effects; an empty group yields ESRCH, which we ignore.
    unsafe {
        libc::killpg(pgid, signal.as_raw());
    }
}

/// Whether any process is in process group `pgid` (a zombie counts).
pub(crate) fn group_exists(pgid: u32) -> bool {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else { return false };
    if pgid <= 1 {
        return false;
    }
    // SAFETY: killpg with signal 0 only checks that the group has a member.
    let rc = unsafe { libc::killpg(pgid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Kills until nothing is left, for an ending that must leave nothing alive. Each round reaps
/// every ended child, asks `alive` (given the pids just reaped) what is left (`None`:
/// nothing), SIGKILLs all of it at once and calls `pause`, which returns when a child may have
/// ended (a process forked meanwhile is found by the next round). Gives up after `limit` (a
/// process stuck in an uninterruptible sleep cannot die sooner); returns whether nothing was
/// left.
pub(crate) fn kill_until_gone(
    limit: Duration,
    mut alive: impl FnMut(&[u32]) -> Option<Vec<u32>>,
    mut pause: impl FnMut(),
) -> bool {
    let deadline = Instant::now() + limit;
    let mut reaped = Vec::new();
    loop {
        reaped.clear();
        while let Some((pid, _)) = reap_one() {
            reaped.push(pid);
        }
        let Some(pids) = alive(&reaped) else { return true };
        if Instant::now() >= deadline {
            return false;
        }
        for pid in pids {
            signal_process(pid, Signal::KILL);
        }
        pause();
    }
}
