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
