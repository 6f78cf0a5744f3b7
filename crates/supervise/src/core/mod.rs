//! The pure core: no I/O, no clock. See the crate documentation for the transition table.

mod machine;
mod order;
mod reload;
mod transitions;
mod types;

#[cfg(test)]
mod tests;

pub use machine::{ExitOwner, Supervisor};
pub use order::validate_specs;
pub use reload::{Change, GroupPlan, ReloadAction, ReloadPlan, plan_reload};
pub use types::{
    Condition, Dependency, DependencyFailure, Effect, Event, ExitStatus, InstanceId, InstanceInfo,
    Notice, Resources, SignalReason, SignalScope, SpawnError, SpawnErrorKind, State, Transition,
    Wait,
};
