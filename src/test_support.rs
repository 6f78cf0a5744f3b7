//! What the unit tests of this crate share.

use std::io;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A `supervise::Driver` reaps with `waitpid(-1)`: it collects the exit status of *any* child
/// of this process. The unit tests run on parallel threads of one process, so a test that
/// creates a driver and a test that waits for a child of its own (running `systemd-analyze`,
/// say) would steal each other's children. Every such test holds this lock.
static CHILDREN: Mutex<()> = Mutex::new(());

/// Takes the lock on child processes (see [`CHILDREN`]).
pub(crate) fn serial_children() -> MutexGuard<'static, ()> {
    // A test that failed while holding the lock poisons it; the next test is still valid.
    CHILDREN.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `Command::output` under the lock on child processes.
pub(crate) trait SerialOutput {
    fn serial_output(&mut self) -> io::Result<Output>;
}

impl SerialOutput for Command {
    fn serial_output(&mut self) -> io::Result<Output> {
        let _serial = serial_children();
        self.output()
    }
}
