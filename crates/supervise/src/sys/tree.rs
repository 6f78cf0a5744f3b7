//! The process tree under the supervisor: who descends from whom, read from the kernel.
//!
//! Process groups alone cannot reach a descendant that called `setsid` or `setpgid`; the
//! parent links can, because the supervisor is a child subreaper and orphans of its tree are
//! re-parented to it rather than to init. On systems without `/proc` the table is empty and
//! the callers fall back to process groups.

use std::collections::HashMap;

use crate::core::Resources;

/// One line of the process table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ProcEntry {
    pub(crate) pid: u32,
    pub(crate) ppid: u32,
    pub(crate) pgid: u32,
    pub(crate) rss_bytes: u64,
    pub(crate) cpu_ticks: u64,
    /// Nothing of the process runs any more. A process whose main thread exited while
    /// another thread runs on reads `Z` in `/proc/PID/stat` too, but is alive: its other
    /// threads count, and a signal to its pid still reaches them.
    pub(crate) zombie: bool,
}

/// A snapshot of every process on the system, indexed by parent.
#[derive(Debug, Default)]
pub(crate) struct ProcessTable {
    entries: HashMap<u32, ProcEntry>,
    children: HashMap<u32, Vec<u32>>,
    ticks_per_second: u64,
}

impl ProcessTable {
    /// Reads the table now.
    pub(crate) fn read() -> ProcessTable {
        let mut table = ProcessTable { ticks_per_second: 100, ..ProcessTable::default() };
        read_entries(&mut table);
        for entry in table.entries.values() {
            table.children.entry(entry.ppid).or_default().push(entry.pid);
        }
        table
    }

    /// Every descendant of `root` (children, their children...), not `root` itself.
    pub(crate) fn descendants(&self, root: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut stack = vec![root];
        while let Some(pid) = stack.pop() {
            if let Some(kids) = self.children.get(&pid) {
                for kid in kids {
                    // A pid cannot be its own ancestor, but a torn read of /proc could suggest
                    // a cycle; the length bound keeps the walk finite regardless.
                    if *kid != root && out.len() < self.entries.len() {
                        out.push(*kid);
                        stack.push(*kid);
                    }
                }
            }
        }
        out
    }

    /// The live members of process group `pgid`.
    pub(crate) fn group_members(&self, pgid: u32) -> impl Iterator<Item = u32> + '_ {
        self.entries.values().filter(move |e| e.pgid == pgid && !e.zombie).map(|e| e.pid)
    }

    /// The instance tree rooted at `pid`: the process, its descendants, and the members of its
    /// process group that were re-parented away from it.
    pub(crate) fn instance_tree(&self, pid: u32) -> Vec<u32> {
        let mut pids = vec![pid];
        pids.extend(self.descendants(pid));
        for member in self.group_members(pid) {
            if !pids.contains(&member) {
                pids.push(member);
            }
        }
        pids.retain(|p| self.entries.get(p).is_some_and(|e| !e.zombie));
        pids
    }

    /// Memory and CPU summed over `pids`.
    pub(crate) fn resources(&self, pids: &[u32]) -> Resources {
        let mut total = Resources::default();
        let mut ticks = 0u64;
        for pid in pids {
            if let Some(entry) = self.entries.get(pid) {
                total.rss_bytes += entry.rss_bytes;
                ticks += entry.cpu_ticks;
                total.processes += 1;
            }
        }
        let per_second = self.ticks_per_second.max(1);
        total.cpu = std::time::Duration::from_secs(ticks / per_second)
            + std::time::Duration::from_nanos((ticks % per_second) * 1_000_000_000 / per_second);
        total
    }

    /// Whether the process exists and is not a zombie.
    pub(crate) fn is_alive(&self, pid: u32) -> bool {
        self.entries.get(&pid).is_some_and(|e| !e.zombie)
    }
}

#[cfg(target_os = "linux")]
fn read_entries(table: &mut ProcessTable) {
    // A /proc mounted for another PID namespace shows other processes under the same numbers;
    // walking it could signal strangers. Trust it only if it knows us by our own pid.
    let seen_as = std::fs::read_link("/proc/self").ok();
    if seen_as.as_ref().and_then(|p| p.to_str()).and_then(|p| p.parse::<u32>().ok())
        != Some(std::process::id())
    {
        return;
    }
    table.ticks_per_second = procfs::ticks_per_second();
    let page = procfs::page_size();
    let Ok(all) = procfs::process::all_processes() else { return };
    for process in all.flatten() {
        // A process may vanish between the directory listing and the read.
        let Ok(stat) = process.stat() else { continue };
        let (Ok(pid), Ok(ppid), Ok(pgid)) =
            (u32::try_from(stat.pid), u32::try_from(stat.ppid), u32::try_from(stat.pgrp))
        else {
            continue;
        };
        table.entries.insert(
            pid,
            ProcEntry {
                pid,
                ppid,
                pgid,
                rss_bytes: stat.rss.saturating_mul(page),
                cpu_ticks: stat.utime + stat.stime,
                // `num_threads` counts the live threads (an exited leader stays listed until
                // the whole group is gone): more than one means the `Z` is the leader's alone.
                zombie: stat.state == 'Z' && stat.num_threads <= 1,
            },
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn read_entries(_table: &mut ProcessTable) {}

/// Makes this process a child subreaper: orphans of its descendants are re-parented to it, so
/// they stay findable and are reaped by it. Linux only; elsewhere it reports `Unsupported`.
pub(crate) fn become_subreaper() -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl(PR_SET_CHILD_SUBREAPER, 1) only sets a flag on this process.
        let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }
}
