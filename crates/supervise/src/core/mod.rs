//! The pure core: no I/O, no clock. See the crate documentation for the transition table.

mod machine;
mod transitions;
mod types;

#[cfg(test)]
mod tests;

pub use machine::{ExitOwner, Supervisor};
pub use types::{
    Effect, Event, ExitStatus, InstanceId, InstanceInfo, Resources, SignalReason, SignalScope,
    SpawnError, SpawnErrorKind, State, Transition,
};
