//! Readiness in the core: an instance of a group with a readiness check stays `Starting` until
//! the I/O layer (or the host) reports it ready, and a start that is not ready by its timeout
//! fails. The checks themselves belong to the driver.

use std::time::Instant;

use super::{AfterStop, Phase, Supervisor};
use crate::core::types::{Event, InstanceId, Notice};
use crate::error::RequestError;

impl Supervisor {
    /// Reports that instance `id` is ready: a `Starting` instance becomes `Running` (retries
    /// reset), whether its group has a readiness check or not (without one, this ends the
    /// start grace early). A `Running` one stays as it is.
    ///
    /// # Errors
    /// An unknown instance, one whose spawn is pending, or one in another state (its process
    /// is gone or stopping: the news came too late).
    pub fn ready(&mut self, now: Instant, id: &InstanceId) -> Result<(), RequestError> {
        let (g, n) = self.locate(id)?;
        let instance = &self.groups[g].instances[&n];
        match instance.phase {
            Phase::Starting { .. } => {
                self.enter_running(g, n, now);
                self.reconcile(now);
                Ok(())
            }
            Phase::Running { .. } => Ok(()),
            _ => {
                let state = instance.state();
                Err(RequestError::NotAllowed { id: id.clone(), state, request: "ready" })
            }
        }
    }

    /// The readiness timeout of a starting instance passed: it is stopped, and its start
    /// counts as failed once it is down.
    pub(super) fn readiness_timeout(&mut self, g: usize, n: u32, now: Instant) {
        let Some(instance) = self.groups[g].instances.get(&n) else { return };
        let Phase::Starting { process, .. } = instance.phase else { return };
        let id = self.id(g, n);
        let waited = now.saturating_duration_since(process.started_at);
        self.events.push_back(Event::Notice(Notice::NotReady { id, pid: process.pid, waited }));
        self.begin_stop(g, n, now, AfterStop::FailStart);
    }
}
