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
