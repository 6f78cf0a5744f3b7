//! Processes: found by the marker in their environment, read from `/proc` through the procfs
//! crate (the one parser of `/proc/PID/stat` the tests use), and signalled by pid with nix.
//! Off Linux there is no `/proc`: no process is found by its marker there, and a pid is alive
//! while it can be signalled.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// Sends `signal` to `pid`; a process already gone is not an error.
pub(crate) fn kill(pid: u32, signal: Signal) {
    if let Ok(raw) = i32::try_from(pid) {
        if raw > 1 {
            let _ = nix::sys::signal::kill(Pid::from_raw(raw), signal);
        }
    }
}

/// Waits (bounded) until none of `pids` is alive; returns those still alive at the deadline.
pub(crate) fn wait_gone(pids: &[u32], limit: Duration) -> Vec<u32> {
    let deadline = Instant::now() + limit;
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits (bounded) until no live process carries `marker`; returns those left at the deadline.
pub(crate) fn wait_unmarked(marker: &str, limit: Duration) -> Vec<u32> {
    let deadline = Instant::now() + limit;
    loop {
        let left = marked_pids(marker);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGKILLs every process carrying `marker`, until none is left (bounded: a process forked
/// meanwhile is caught by the next round).
pub(crate) fn kill_marked(marker: &str) {
    for _ in 0..50 {
        let pids = marked_pids(marker);
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            kill(pid, Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn marked_pids(_marker: &str) -> Vec<u32> {
    Vec::new()
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn alive(pid: u32) -> bool {
    i32::try_from(pid).is_ok_and(|raw| nix::sys::signal::kill(Pid::from_raw(raw), None).is_ok())
}

#[cfg(target_os = "linux")]
pub(crate) use linux::*;

#[cfg(target_os = "linux")]
mod linux {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use procfs::process::{Process, Stat};

    use super::super::{MARKER_VAR, WAIT};

    fn process(pid: u32) -> Option<Process> {
        Process::new(i32::try_from(pid).ok()?).ok()
    }

    fn stat(pid: u32) -> Option<Stat> {
        process(pid)?.stat().ok()
    }

    /// Whether a stat is a zombie's: `Z`, with no other thread still running (a process whose
    /// main thread exited while another runs on reads `Z` too, but lives).
    fn dead(stat: &Stat) -> bool {
        stat.state == 'Z' && stat.num_threads <= 1
    }

    /// Whether `pid` exists and is not a zombie.
    pub(crate) fn alive(pid: u32) -> bool {
        stat(pid).is_some_and(|stat| !dead(&stat))
    }

    /// The parent of `pid`.
    pub(crate) fn parent_of(pid: u32) -> Option<u32> {
        u32::try_from(stat(pid)?.ppid).ok()
    }

    /// The children of `pid`, as they are now.
    pub(crate) fn children_of(pid: u32) -> Vec<u32> {
        process(pid)
            .and_then(|p| p.task_main_thread().ok())
            .and_then(|task| task.children().ok())
            .unwrap_or_default()
    }

    /// The children of `pid`, waiting (bounded) until it has one.
    pub(crate) fn wait_children(pid: u32) -> Vec<u32> {
        let deadline = Instant::now() + WAIT;
        loop {
            let kids = children_of(pid);
            if !kids.is_empty() || Instant::now() >= deadline {
                return kids;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The state letter of `pid` (`R`, `S`, `T` for stopped...), `None` once it is gone.
    fn state_of(pid: u32) -> Option<char> {
        stat(pid).map(|stat| stat.state)
    }

    /// Waits (bounded) until every one of `pids` is stopped (`stopped`), or every one is
    /// running again (none stopped, none gone).
    #[track_caller]
    pub(crate) fn wait_states(pids: &[u32], stopped: bool) {
        let deadline = Instant::now() + WAIT;
        loop {
            let states: Vec<(u32, Option<char>)> =
                pids.iter().map(|p| (*p, state_of(*p))).collect();
            if states.iter().all(|(_, s)| s.is_some_and(|s| (s == 'T') == stopped)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not all {} within {WAIT:?}: {states:?}",
                if stopped { "stopped" } else { "running" }
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits (bounded) until `pid` is stopped (`T`) or gone (a zombie, or reaped).
    #[track_caller]
    pub(crate) fn wait_stopped_or_gone(pid: u32) {
        let deadline = Instant::now() + WAIT;
        loop {
            let state = state_of(pid);
            if matches!(state, None | Some('T' | 'Z')) {
                return;
            }
            if Instant::now() >= deadline {
                // What holds the job up: a process stopped, or running with the stop signal
                // blocked and pending, or asleep in some call.
                let mut pids = vec![pid];
                pids.extend(children_of(pid));
                panic!("{pid} neither stopped nor gone: {state:?}{}", signal_states(&pids));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// For a failure message: each of `pids` on a line of its own, with its state, its pending,
    /// shared pending and blocked signals (hexadecimal masks, as in `/proc/PID/status`) and
    /// where it sleeps.
    fn signal_states(pids: &[u32]) -> String {
        let one = |pid: &u32| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let field = |name: &str| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix(name))
                    .unwrap_or("?")
                    .trim()
                    .to_owned()
            };
            let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
            format!(
                "\n  {pid} ({}): {}, pending {}, shared pending {}, blocked {}, in {wchan:?}",
                field("Name:"),
                field("State:"),
                field("SigPnd:"),
                field("ShdPnd:"),
                field("SigBlk:"),
            )
        };
        pids.iter().map(one).collect()
    }

    /// How many children of `parent` are zombies.
    pub(crate) fn zombies_under(parent: u32) -> usize {
        children_of(parent).into_iter().filter(|kid| stat(*kid).is_some_and(|s| dead(&s))).count()
    }

    /// `pid`, its program and its parent, for a failure message: `1234 (sleep, child of 1)`.
    pub(crate) fn describe(pids: &[u32]) -> String {
        let one = |pid: &u32| match stat(*pid) {
            Some(stat) => format!("{pid} ({}, {}, child of {})", stat.comm, stat.state, stat.ppid),
            None => format!("{pid} (gone)"),
        };
        pids.iter().map(one).collect::<Vec<_>>().join(", ")
    }

    /// The program name of `pid` (empty if it is gone).
    pub(crate) fn comm(pid: u32) -> String {
        stat(pid).map(|s| s.comm).unwrap_or_default()
    }

    /// Waits (bounded) until the program name of `pid` is `name` (a shell that `exec`s its
    /// command changes from `sh` to the program a moment after it starts); returns the last
    /// name read.
    pub(crate) fn wait_comm(pid: u32, name: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let comm = comm(pid);
            if comm == name || Instant::now() >= deadline {
                return comm;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Resident memory of one process, in bytes.
    pub(crate) fn own_rss(pid: u32) -> u64 {
        let statm = process(pid).and_then(|p| p.statm().ok()).expect("statm of a live process");
        statm.resident * procfs::page_size()
    }

    /// How many processes have `uid` as their real user.
    pub(crate) fn processes_of_uid(uid: u32) -> usize {
        let Ok(all) = procfs::process::all_processes() else { return 0 };
        all.flatten().filter(|p| p.status().is_ok_and(|s| s.ruid == uid)).count()
    }

    /// Live processes whose environment holds `PROCMAN_TEST_MARKER=marker`. The environment of
    /// a process whose main thread has exited is read through a thread that still runs.
    pub(crate) fn marked_pids(marker: &str) -> Vec<u32> {
        let needle = format!("{MARKER_VAR}={marker}\0");
        let me = std::process::id();
        let Ok(all) = procfs::process::all_processes() else { return Vec::new() };
        all.flatten()
            .filter_map(|process| u32::try_from(process.pid()).ok())
            .filter(|pid| *pid != me)
            .filter(|pid| carries(*pid, needle.as_bytes()))
            .collect()
    }

    fn carries(pid: u32, needle: &[u8]) -> bool {
        let Some(stat) = stat(pid) else { return false };
        if dead(&stat) {
            return false;
        }
        if stat.state != 'Z' {
            return environ_holds(Path::new(&format!("/proc/{pid}/environ")), needle);
        }
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return false };
        tasks.flatten().any(|task| environ_holds(&task.path().join("environ"), needle))
    }

    fn environ_holds(path: &Path, needle: &[u8]) -> bool {
        std::fs::read(path).is_ok_and(|mut environ| {
            environ.push(0);
            environ.windows(needle.len()).any(|w| w == needle)
        })
    }
}
