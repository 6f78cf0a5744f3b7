//! Reload and dependent groups at the driver: the core's requests, with their effects carried
//! out at once.

use std::time::Instant;

use super::Driver;
use crate::core::ReloadPlan;
use crate::error::RequestError;
use crate::spec::ProgramSpec;

impl Driver {
    /// Adds groups that may depend on each other, in any order; see
    /// [`crate::Supervisor::add_groups`].
    ///
    /// # Errors
    /// See there.
    pub fn add_groups(&mut self, specs: Vec<ProgramSpec>) -> Result<(), RequestError> {
        self.core.add_groups(specs)
    }

    /// Takes the groups to `specs`, keeping what did not change, and returns what was done;
    /// see [`crate::Supervisor::reload`]. [`crate::Supervisor::plan_reload`] (through
    /// [`Driver::supervisor`]) tells the same without doing it.
    ///
    /// # Errors
    /// See there: nothing changes then.
    pub fn reload(&mut self, specs: Vec<ProgramSpec>) -> Result<ReloadPlan, RequestError> {
        let now = Instant::now();
        let result = self.core.reload(now, specs);
        self.settle(now);
        result
    }
}
