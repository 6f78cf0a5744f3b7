//! The control socket of a running `procman start`: `procman ps`, `restart`, `stop`, `scale`
//! and `signal` talk to it from another terminal.
//!
//! INTERFACE STUB: the server and client are written in their own change; `start` is built
//! against these signatures.

use std::io;
use std::path::PathBuf;

use supervise::{Driver, WatchId};

/// What a control request asks of the run itself (the rest is handled inside the server).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunCommand {
    /// Stop the whole run.
    StopAll,
}

/// The listening side, owned by `procman start`.
#[derive(Debug)]
pub(crate) struct ControlServer {
    path: PathBuf,
}

impl ControlServer {
    /// Registers the listener with the driver's poll loop.
    pub(crate) fn register(&mut self, _driver: &mut Driver) -> io::Result<()> {
        let _ = &self.path;
        Ok(())
    }

    /// Handles readiness of one of the server's descriptors.
    pub(crate) fn on_ready(&mut self, _watch: WatchId, _driver: &mut Driver) -> Vec<RunCommand> {
        Vec::new()
    }

    /// Removes the socket file.
    pub(crate) fn close(&mut self) {}
}
