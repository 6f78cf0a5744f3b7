//! The one helper module of the CLI tests: run the built `procman` in a temporary directory,
//! read its output line by line, drive a running one over its control socket, and find every
//! process it started (even re-parented ones) by a marker in their environment, to kill them
//! by pid when a test ends, pass or fail.
//!
//! Every wait here is bounded by [`WAIT`] and waits for an event (a line, an exit, a pid gone,
//! a file written), never for a fixed time: the tests share two cores with other test runs and
//! builds, so a bound is generous and a test never relies on how fast the machine is.
//!
//! - [`app`]: the app's directory, and `procman` run to completion ([`Finished`]) or in the
//!   background ([`Running`]);
//! - [`procs`]: processes, read from `/proc` (through the procfs crate) and signalled by pid;
//! - [`control`]: the control socket (`ps --json`, the event stream);
//! - [`fixtures`]: scripts, FIFOs and files the test programs use to say where they are;
//! - [`checks`]: assertions on output, and tests that need a tool this machine lacks;
//! - [`pty`]: `procman` with its output on a pseudo-terminal;
//! - [`sys`]: the few things only `unsafe` code can do (what a child does between fork and
//!   exec, the bytes waiting in a pipe), in one place;
//! - `tests`: the harness's own promises (a procman that hangs fails the test, and is killed).

mod app;
mod checks;
mod control;
mod fixtures;
mod procs;
mod pty;
mod sys;
#[cfg(target_os = "linux")]
mod tests;

use std::time::Duration;

pub(crate) use app::*;
pub(crate) use checks::*;
pub(crate) use control::*;
pub(crate) use fixtures::*;
pub(crate) use nix::sys::signal::Signal;
pub(crate) use procs::*;
pub(crate) use pty::*;
pub(crate) use sys::*;

/// The longest any single wait in a test may take before the test fails: long enough for a
/// loaded machine (two test runs and a build on two cores), short enough that a hang is
/// reported while someone still waits for it. Programs the tests expect procman to stop run
/// for much longer (`sleep 300`), so that outliving this bound cannot pass for being stopped.
pub(crate) const WAIT: Duration = Duration::from_secs(30);

/// The environment variable that marks every process a test started.
pub(crate) const MARKER_VAR: &str = "PROCMAN_TEST_MARKER";
