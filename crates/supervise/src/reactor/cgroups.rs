//! The driver's side of cgroup containment: one cgroup per instance under the app's tree,
//! stops as freeze, signal, thaw, and `cgroup.kill` wherever SIGKILL is due.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use mio::{Interest, Poll, Token};

use crate::core::{InstanceId, Resources};
use crate::signal::Signal;
use crate::sys::cgroup::{CgroupTree, InstanceCgroup, events_say_populated};
use crate::sys::reap::stop_each;

/// How long a stop waits for a freeze to take hold before it signals regardless (a process
/// in an uninterruptible sleep can delay it; the freeze only closes a race with `fork`).
const FREEZE_WAIT: Duration = Duration::from_millis(100);

/// The app's cgroup tree and the instances' cgroups in it.
pub(super) struct Cgroups {
    tree: CgroupTree,
    /// The tree's `cgroup.events`, registered for priority events: it changes when the tree
    /// empties, which ends the shutdown's wait without polling.
    events: File,
    /// Each instance's cgroup and the CPU time it had used when its current process started.
    instances: HashMap<InstanceId, (InstanceCgroup, Duration)>,
}

impl Cgroups {
    pub(super) fn new(tree: CgroupTree, poll: &Poll, token: Token) -> io::Result<Cgroups> {
        let events = tree.events_file()?;
        // Off Linux no tree is ever created (there are no cgroups); this only has to build.
        #[cfg(target_os = "linux")]
        let interest = Interest::PRIORITY;
        #[cfg(not(target_os = "linux"))]
        let interest = Interest::READABLE;
        poll.registry().register(&mut mio::unix::SourceFd(&events.as_raw_fd()), token, interest)?;
        Ok(Cgroups { tree, events, instances: HashMap::new() })
    }

    pub(super) fn tree(&self) -> &CgroupTree {
        &self.tree
    }

    /// The cgroup for `id`'s next process: its `cgroup.procs`, open for the child to enter.
    /// What its previous process left there (a daemon it started) is killed first: the new
    /// process starts in a cgroup of its own. (`cgroup.kill` is done when the write returns,
    /// so the new child is not caught by it.)
    pub(super) fn prepare_spawn(&mut self, id: &InstanceId) -> io::Result<OwnedFd> {
        let cgroup = self.tree.instance(&id.to_string())?;
        if cgroup.is_populated() {
            cgroup.kill()?;
        }
        let procs = cgroup.procs_for_child()?;
        let used = cgroup.cpu_usage().unwrap_or_default();
        self.instances.insert(id.clone(), (cgroup, used));
        Ok(procs)
    }

    /// Sends each signal to every process of its instance's cgroup. For anything but SIGKILL
    /// the cgroups are frozen first (all of them, then each waited for), so no process can
    /// fork a child the signal misses, and thawed after; SIGKILL is `cgroup.kill`, which has
    /// no such race. The signals are stop signals and SIGKILL: a stop signal is followed by
    /// SIGCONT to the same processes, before the thaw (see [`Signal::is_followed_by_cont`]).
    pub(super) fn signal(&self, batch: &[(InstanceId, Signal)]) {
        let mut frozen = Vec::new();
        for (id, signal) in batch {
            let Some((cgroup, _)) = self.instances.get(id) else { continue };
            if *signal == Signal::KILL {
                let _ = cgroup.kill();
            } else if cgroup.freeze(true).is_ok() {
                frozen.push((cgroup, *signal));
            } else {
                stop_each(&cgroup.pids(), *signal);
            }
        }
        for (cgroup, _) in &frozen {
            cgroup.wait_frozen(FREEZE_WAIT);
        }
        for (cgroup, signal) in &frozen {
            stop_each(&cgroup.pids(), *signal);
            let _ = cgroup.freeze(false);
        }
    }

    /// The `cgroup.procs` of `id`'s cgroup, for a process that belongs to the instance's
    /// current attempt (its readiness check): it is contained, measured and killed with it.
    /// `None` when the instance has no cgroup (yet).
    pub(super) fn procs_of(&self, id: &InstanceId) -> Option<OwnedFd> {
        self.instances.get(id).and_then(|(cgroup, _)| cgroup.procs_for_child().ok())
    }

    /// SIGKILL to what is left of a stopped instance: nothing of it may outlive its stop.
    pub(super) fn kill_leftovers(&self, id: &InstanceId) {
        if let Some((cgroup, _)) = self.instances.get(id) {
            if cgroup.is_populated() {
                let _ = cgroup.kill();
            }
        }
    }

    /// The instance's memory, CPU and processes, from its cgroup; `rss_of` gives a process's
    /// resident memory when the memory controller is off.
    pub(super) fn resources(
        &self,
        id: &InstanceId,
        rss_of: impl Fn(u32) -> u64,
    ) -> Option<Resources> {
        let (cgroup, base) = self.instances.get(id)?;
        Some(cgroup.resources(*base, rss_of))
    }

    /// An instance was removed for good: its cgroup goes when it is empty.
    pub(super) fn forget(&mut self, id: &InstanceId) {
        if let Some((cgroup, _)) = self.instances.remove(id) {
            if !cgroup.is_populated() {
                cgroup.remove();
            }
        }
    }

    /// Every process of the app at once.
    pub(super) fn kill_all(&self) {
        let _ = self.tree.kill();
    }

    /// Whether a process of the app is still alive (a vanished tree counts as empty).
    pub(super) fn is_populated(&self) -> bool {
        events_say_populated(&self.events)
    }

    /// The processes in the tree.
    pub(super) fn pids(&self) -> Vec<u32> {
        self.tree.pids()
    }

    /// Removes every cgroup of the app, the tree last (they are empty by now).
    pub(super) fn remove_all(&mut self) {
        self.instances.clear();
        let _ = self.tree.remove();
    }
}
