//! Ending: the shutdown, the abrupt end ([`Driver::kill_all`]), and the sweep that kills
//! whatever of the app is left once every instance is down.

use std::time::{Duration, Instant};

use super::Event;
use super::{Cgroups, Driver, Phase, SWEEP_CAP, SWEEP_LIMIT};
use crate::signal::Signal;
use crate::sys::reap::{has_children, kill_until_gone, signal_group, signal_process, stop_each};
use crate::sys::tree::ProcessTable;

impl Driver {
    /// Stops everything: the stop signal to every instance's tree and to every orphan this
    /// process adopted, SIGKILL at each stop timeout, then a sweep that kills whatever is left
    /// of the tree. [`Event::ShutdownComplete`] comes last.
    pub fn shutdown(&mut self) {
        if self.core.is_shutting_down() {
            return;
        }
        if self.suspended {
            // Stopped processes would not act on the stop signal until resumed.
            self.resume();
        }
        let now = Instant::now();
        self.signal_adopted_orphans(Signal::TERM);
        self.core.shutdown(now);
        self.settle(now);
    }

    /// Ends everything at once, for an abrupt end (the guard is gone, or the host must quit
    /// now): SIGKILL to every process of the app in one go (`cgroup.kill` of the whole tree,
    /// or else to every descendant found in `/proc`, the spawns still before their `exec`
    /// included), then a shutdown in which every stop signal is SIGKILL. Nothing waits for a
    /// stop timeout.
    pub fn kill_all(&mut self) {
        let now = Instant::now();
        self.kill_all_now(now);
        self.settle(now);
    }

    /// [`Driver::kill_all`] without carrying out the core's effects (the caller settles).
    pub(super) fn kill_all_now(&mut self, now: Instant) {
        if self.killing_all {
            return;
        }
        self.killing_all = true;
        if let Some(cgroups) = &self.cgroups {
            cgroups.kill_all();
        }
        let table = ProcessTable::read();
        for pid in table.descendants(self.self_pid) {
            signal_process(pid, Signal::KILL);
        }
        self.core.shutdown(now);
        self.core.kill_stopping(now);
    }

    /// SIGKILL now to every instance that is stopping (for a second Ctrl-C).
    pub fn kill_stopping(&mut self) {
        let now = Instant::now();
        self.core.kill_stopping(now);
        self.settle(now);
    }

    /// Sends `signal` to every direct child that is not an instance (an adopted orphan), and to
    /// its descendants; SIGCONT after it, as after an instance's stop signal.
    fn signal_adopted_orphans(&self, signal: Signal) {
        let table = ProcessTable::read();
        stop_each(&self.strays(&table), signal);
    }

    /// Descendants of this process that belong to no live instance's tree.
    fn strays(&self, table: &ProcessTable) -> Vec<u32> {
        let mut owned: Vec<u32> = Vec::new();
        for pid in self.core.live_pids().map(|(pid, _)| pid).chain(self.execs.pids()) {
            owned.extend(table.instance_tree(pid));
        }
        table
            .descendants(self.self_pid)
            .into_iter()
            .filter(|pid| !owned.contains(pid) && table.is_alive(*pid))
            .collect()
    }

    pub(super) fn begin_sweep(&mut self, now: Instant) {
        if self.phase == Phase::Running {
            // With a cgroup everything left was killed with the tree and can start nothing: wait
            // for it to die (seconds, on a loaded machine) so the tree can be removed.
            let until = if self.cgroups.is_some() { now + SWEEP_CAP } else { now + SWEEP_LIMIT };
            self.phase = Phase::Sweeping { until, cap: now + SWEEP_CAP };
            // Every instance is down: whatever is still in the cgroup tree is a stray.
            if let Some(cgroups) = &self.cgroups {
                let left = cgroups.pids();
                cgroups.kill_all();
                self.swept.extend(&left);
            }
            self.advance_sweep(now);
        }
    }

    pub(super) fn advance_sweep(&mut self, now: Instant) {
        let Phase::Sweeping { until, cap } = self.phase else { return };
        let table = ProcessTable::read();
        let strays = self.strays(&table);
        let populated = self.cgroups.as_ref().is_some_and(Cgroups::is_populated);
        // An empty scan of `/proc` is not the end: a process forked between the listing and
        // the reading is in no scan. Without children (the subreaper's own), none is left.
        let left = !strays.is_empty() || has_children();
        if (populated || left) && now < until {
            for pid in &strays {
                signal_process(*pid, Signal::KILL);
            }
            let new: Vec<u32> = strays.into_iter().filter(|p| !self.swept.contains(p)).collect();
            if !new.is_empty() {
                self.swept.extend(&new);
                // Still spawning (a re-forking daemon): keep at it while it does.
                self.phase = Phase::Sweeping { until: (now + SWEEP_LIMIT).min(cap), cap };
            }
            self.reap(now);
            return;
        }
        // A stray that died since the last reap is a zombie in the table, not a stray: reap
        // it now, or it would outlive the shutdown (no turn reaps after `Finished`).
        self.reap(now);
        // Nothing left (or nothing more can be done): the pipes still open belong to nobody
        // alive in our tree, so read what they hold and close them.
        self.read_output();
        self.events.extend(self.pipes.close_all());
        if let Some(cgroups) = &mut self.cgroups {
            cgroups.remove_all();
        }
        self.phase = Phase::Finished;
        // One report of the whole sweep, however many rounds it took.
        if !self.swept.is_empty() {
            let mut pids = std::mem::take(&mut self.swept);
            pids.sort_unstable();
            self.events.push(Event::StraysKilled { pids });
        }
        self.events.push(Event::ShutdownComplete);
    }
}

/// How long a dropped driver waits for its instances to die, so that they leave no zombie.
const DROP_LIMIT: Duration = Duration::from_millis(500);

impl Drop for Driver {
    /// A driver dropped before its shutdown finished kills what it started, so dropping never
    /// leaves a child running: every live instance's process group and descendants get
    /// SIGKILL, and the processes reaped within half a second leave no zombie. Orphans adopted
    /// long before are only found by the sweep of [`Driver::shutdown`].
    fn drop(&mut self) {
        if self.phase == Phase::Finished {
            return;
        }
        if let Some(cgroups) = &mut self.cgroups {
            cgroups.kill_all();
            if cgroups.tree().wait_empty(DROP_LIMIT) {
                cgroups.remove_all();
            }
        }
        let pids: Vec<u32> =
            self.core.live_pids().map(|(pid, _)| pid).chain(self.execs.pids()).collect();
        if pids.is_empty() {
            return;
        }
        let table = ProcessTable::read();
        for pid in &pids {
            signal_tree(&table, *pid, Signal::KILL);
        }
        // The instances' own processes are children of this one: until reaped, their pids
        // cannot be another's. SIGCHLD goes to the driver's handler: the rounds pause briefly.
        let mut unreaped = pids;
        let alive = |reaped: &[u32]| {
            unreaped.retain(|pid| !reaped.contains(pid));
            (!unreaped.is_empty()).then(|| unreaped.clone())
        };
        kill_until_gone(DROP_LIMIT, alive, || std::thread::sleep(Duration::from_millis(2)));
    }
}

/// Sends `signal` to the process group led by `pid` and to every descendant of `pid` that
/// left the group (a `setsid` daemon, say). The signals sent this way are stop signals and
/// SIGKILL: a stop signal is followed by SIGCONT to the same processes (see
/// [`Signal::is_followed_by_cont`]).
pub(super) fn signal_tree(table: &ProcessTable, pid: u32, signal: Signal) {
    signal_group(pid, signal);
    if signal.is_followed_by_cont() {
        signal_group(pid, Signal::CONT);
    }
    stop_each(&table.instance_tree(pid), signal);
}
