//! Stub during construction.
#![warn(missing_docs)]

pub mod core;
mod error;
pub mod guard;
mod reactor;
mod signal;
mod spec;
mod sys;

pub use crate::core::*;
pub use error::{RequestError, SpecError};
pub use mio::Interest;
pub use reactor::{Driver, DriverOptions};
pub use signal::{Signal, UnknownSignal};
pub use spec::{
    Backoff, CommandSpec, EnvSpec, InstanceHook, Launch, OutputSpec, ProgramSpec, RestartPolicy,
    StdinSpec,
};

/// Raises the soft limit on open descriptors to the hard limit (at most 1 Mi): each instance
/// holds one or two pipes, and the usual soft limit of 1024 is low for large formations.
/// Children are spawned with the original limit. Returns the new limit.
///
/// # Errors
/// When the limit cannot be read or set.
pub fn raise_open_files_limit() -> std::io::Result<u64> {
    sys::limits::raise_open_files_limit()
}
