//! Stub during construction.
#![warn(missing_docs)]

pub mod core;
mod error;
mod signal;
mod spec;

pub use crate::core::*;
pub use error::{RequestError, SpecError};
pub use signal::{Signal, UnknownSignal};
pub use spec::{
    Backoff, CommandSpec, EnvSpec, InstanceHook, Launch, OutputSpec, ProgramSpec, RestartPolicy,
    StdinSpec,
};
