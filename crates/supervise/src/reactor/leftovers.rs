//! What an instance's process leaves behind without a cgroup: the members of its process group
//! that outlived it (a background job that ignored the stop signal, say). They are killed when
//! the instance starts again or is stopped for good, as a cgroup's leftovers are.
//!
//! After the instance's process has died, only the process group ties them to it: the
//! survivors were re-parented to the supervisor (a subreaper), and one that left the group
//! (`setsid`) is tied to nothing any more; the shutdown's sweep finds it.

use std::collections::HashMap;

use crate::core::InstanceId;
use crate::signal::Signal;
use crate::sys::reap::{group_exists, signal_process};
use crate::sys::tree::ProcessTable;

/// The process group of each instance's last process, from its exit until it is dealt with.
#[derive(Debug, Default)]
pub(super) struct GroupLeftovers {
    groups: HashMap<InstanceId, u32>,
}

impl GroupLeftovers {
    /// `id`'s process `pid` ended; it led process group `pid`.
    pub(super) fn exited(&mut self, id: &InstanceId, pid: u32) {
        self.groups.insert(id.clone(), pid);
    }

    /// The instance is gone for good (scaled down).
    pub(super) fn forget(&mut self, id: &InstanceId) {
        self.groups.remove(id);
    }

    /// SIGKILL to what is left of `id`'s last process group: the live members of it among the
    /// descendants of `supervisor` (a process outside the tree is never touched, so a group
    /// id reused by a stranger is safe), unless one of `live` leads the group now (the id
    /// reused by an instance of ours). Returns the pids killed.
    pub(super) fn kill(
        &mut self,
        id: &InstanceId,
        supervisor: u32,
        live: impl IntoIterator<Item = u32>,
    ) -> Vec<u32> {
        let Some(group) = self.groups.remove(id) else { return Vec::new() };
        // Most often nothing is left: then no walk of `/proc` is needed.
        if !group_exists(group) || live.into_iter().any(|pid| pid == group) {
            return Vec::new();
        }
        let table = ProcessTable::read();
        let members: Vec<u32> = table.group_members(group).collect();
        let killed: Vec<u32> =
            table.descendants(supervisor).into_iter().filter(|pid| members.contains(pid)).collect();
        for pid in &killed {
            signal_process(*pid, Signal::KILL);
        }
        killed
    }
}
