//! The library's error types. Messages are lowercase fragments that read well after
//! "failed to ...", with names in backticks; the caller renders them for people.

use crate::core::{InstanceId, State};

/// A [`crate::ProgramSpec`] that cannot be supervised.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The name is empty.
    #[error("a program needs a name")]
    EmptyName,
    /// The name has characters that would make `name.N` ambiguous.
    #[error("program name `{0}` may only hold letters, digits, `_`, `-` and `:`")]
    BadName(String),
    /// Two groups with one name.
    #[error("a program named `{0}` already exists")]
    DuplicateName(String),
    /// The program path is empty.
    #[error("program `{0}` has an empty command")]
    EmptyProgram(String),
    /// A NUL byte cannot pass through `execve`.
    #[error("the command of program `{0}` holds a NUL byte")]
    NulByte(String),
    /// A backoff factor below 1 or not a number.
    #[error("the backoff factor of program `{0}` must be at least 1")]
    BadBackoff(String),
    /// A readiness check that would poll without pause.
    #[error("the readiness check of program `{0}` needs an interval above zero")]
    BadReadinessInterval(String),
    /// A dependency on a group that does not exist.
    #[error("program `{program}` depends on `{dependency}`, which does not exist")]
    UnknownDependency {
        /// The dependant.
        program: String,
        /// The missing name.
        dependency: String,
    },
    /// Groups that depend on each other in a circle, so none could start.
    #[error("programs depend on each other in a cycle: {}", .0.join(" -> "))]
    DependencyCycle(Vec<String>),
}

/// Text that does not name an instance (`web.2`); see [`InstanceId`]'s `FromStr`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InstanceIdError {
    /// No `.NUMBER` at the end.
    #[error("`{0}` names no instance: it needs a number after a `.` (as in `web.1`)")]
    NoNumber(String),
    /// Nothing before the `.`.
    #[error("`{0}` names no instance: it needs a name before the `.` (as in `web.1`)")]
    NoGroup(String),
    /// The part after the last `.` is not a number from 1.
    #[error("`{0}` names no instance: the part after the last `.` must be a number from 1")]
    BadNumber(String),
}

/// A request the supervisor refused; nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// No group by that name.
    #[error("no program named `{0}`")]
    UnknownGroup(String),
    /// No instance by that number.
    #[error("no instance `{0}`")]
    UnknownInstance(InstanceId),
    /// The request does not fit the instance's state.
    #[error("cannot {request} `{id}`: it is {state}")]
    NotAllowed {
        /// The instance.
        id: InstanceId,
        /// Its state.
        state: State,
        /// What was asked (`start`, `stop`...).
        request: &'static str,
    },
    /// A spawn was requested for the instance and its outcome not yet reported.
    #[error("cannot change `{0}` while its spawn is pending")]
    SpawnPending(InstanceId),
    /// `spawned` or `spawn_failed` without a pending spawn.
    #[error("no spawn is pending for `{0}`")]
    NoSpawnPending(InstanceId),
    /// Nothing starts after a shutdown.
    #[error("the supervisor is shutting down")]
    ShuttingDown,
    /// An invalid spec.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A broken internal invariant (a bug): reported instead of a panic.
    #[error("internal error in the supervisor state machine")]
    Internal,
}

/// Why [`crate::guard::protect`] could not set up the guard.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// Not on Linux: no subreaper, no parent-death signal, no guard.
    #[error("a guard process needs Linux")]
    Unsupported,
    /// A fork copies only the calling thread; the guard must come first.
    #[error("the guard must be set up before any thread starts ({threads} threads run)")]
    ThreadsRunning {
        /// How many threads run.
        threads: usize,
    },
    /// The fork (or the signal mask before it) failed.
    #[error("cannot fork the guard process: {0}")]
    Fork(#[source] std::io::Error),
    /// The PID namespace (and user namespace) could not be created.
    #[error("cannot create a PID namespace: {0}")]
    Namespace(#[source] std::io::Error),
    /// The supervisor, PID 1 of its new namespace, could not mount a `/proc` of its own.
    #[error("cannot mount /proc in the new PID namespace: {0}")]
    ProcMount(#[source] std::io::Error),
}

impl GuardError {
    /// Whether the guard was forked anyway: this process is then the supervisor of a run
    /// that cannot go on, and must end (its guard follows it).
    pub fn guard_started(&self) -> bool {
        matches!(self, GuardError::ProcMount(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_id_reads_back_what_it_writes() {
        for id in [InstanceId::new("web", 1), InstanceId::new("a:b-c_d", 4_000_000_000)] {
            assert_eq!(id.to_string().parse::<InstanceId>(), Ok(id));
        }
    }

    #[test]
    fn text_that_names_no_instance_says_why() {
        let parse = |text: &str| text.parse::<InstanceId>();
        assert_eq!(parse("web"), Err(InstanceIdError::NoNumber("web".to_owned())));
        assert_eq!(parse(".1"), Err(InstanceIdError::NoGroup(".1".to_owned())));
        for bad in ["web.0", "web.", "web.x", "web.+1", "web.-1", "web.99999999999"] {
            assert_eq!(parse(bad), Err(InstanceIdError::BadNumber(bad.to_owned())), "{bad}");
        }
        assert!(parse("web.1").is_ok_and(|id| id == InstanceId::new("web", 1)));
    }
}
