//! What holds an app's processes together, and so what stopping and cleanup can promise.

use std::path::PathBuf;

pub use crate::sys::cgroup::{CgroupError, CgroupTree};

/// The mechanism a [`crate::Driver`] relies on to find and kill everything the app started
/// ([`crate::Driver::containment`]). From the strongest to the weakest:
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Containment {
    /// A cgroup v2 tree ([`crate::DriverOptions::cgroup`]): the kernel tracks every process,
    /// `cgroup.kill` reaches them all at once, and a SIGKILLed supervisor's guard kills the
    /// tree. Nothing escapes, whatever it does.
    Cgroup(PathBuf),
    /// The supervisor is PID 1 of a PID namespace of its own
    /// ([`crate::guard::GuardOptions::isolate`]): when it dies, the kernel kills the namespace.
    PidNamespace,
    /// The supervisor is a child subreaper: what detaches is re-parented to it and found by
    /// walking `/proc`. A process that forks between the walk and the kill is found by the
    /// next walk, which a SIGKILL always wins, but the stop signal before it can be raced.
    Subreaper,
    /// Process groups only (no subreaper, or not Linux): a process that leaves its group
    /// escapes.
    ProcessGroups,
}

impl Containment {
    /// A short name: `cgroup`, `namespace`, `subreaper`, `process-groups`.
    pub fn name(&self) -> &'static str {
        match self {
            Containment::Cgroup(_) => "cgroup",
            Containment::PidNamespace => "namespace",
            Containment::Subreaper => "subreaper",
            Containment::ProcessGroups => "process-groups",
        }
    }
}

impl std::fmt::Display for Containment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Containment::Cgroup(path) => write!(f, "cgroup ({})", path.display()),
            other => f.write_str(other.name()),
        }
    }
}
