//! The requests a caller makes of the [`Supervisor`]: start, stop, restart, reset, scale,
//! signal and shutdown. Each one either fits the instance's state and changes it, or returns a
//! [`RequestError`] and changes nothing.

use std::time::Instant;

use super::{AfterSpawn, AfterStop, Instance, Phase, Process, Supervisor};
use crate::core::types::{Effect, Event, InstanceId, SignalReason, SignalScope, State};
use crate::error::RequestError;
use crate::signal::Signal;

impl Supervisor {
    /// Marks a group active and starts every instance that is stopped, exited or in backoff;
    /// one that is still stopping is started again once it is down.
    ///
    /// # Errors
    /// An unknown group or a shutdown in progress.
    pub fn start_group(&mut self, now: Instant, group: &str) -> Result<(), RequestError> {
        self.refuse_during_shutdown()?;
        let g = self.group_to_change(group)?;
        self.groups[g].active = true;
        let startable: Vec<u32> = self.groups[g]
            .instances
            .iter()
            .filter(|(_, i)| {
                matches!(i.phase, Phase::Stopped | Phase::Exited { .. } | Phase::Backoff { .. })
            })
            .map(|(n, _)| *n)
            .collect();
        for n in startable {
            self.begin_spawn(g, n, now);
        }
        // Instances still on their way down from a stop come back once they are down; a stop
        // waiting for a spawn's outcome is moot.
        for instance in self.groups[g].instances.values_mut() {
            match &mut instance.phase {
                Phase::Stopping { then, .. } => *then = then.superseded_by(AfterStop::Restart),
                Phase::Spawning { then, .. } => *then = then.run_anyway(),
                _ => {}
            }
        }
        self.reconcile(now);
        Ok(())
    }

    /// Marks a group inactive and stops every instance that runs or waits to run; a reload's
    /// rollout of the group ends there.
    ///
    /// # Errors
    /// An unknown group.
    pub fn stop_group(&mut self, now: Instant, group: &str) -> Result<(), RequestError> {
        let g = self.group_index(group)?;
        self.groups[g].active = false;
        self.groups[g].rollout = None;
        let numbers: Vec<u32> = self.groups[g].instances.keys().copied().collect();
        for n in numbers {
            self.stop_quietly(g, n, now, AfterStop::Stay);
        }
        self.check_shutdown_complete();
        self.reconcile(now);
        Ok(())
    }

    /// Restarts every instance of a group: running ones are stopped and started again, others
    /// are started. Fatal instances are reset first, since the caller asked for them by name.
    /// A reload's rollout of the group ends there (everything is restarted anyway).
    ///
    /// # Errors
    /// An unknown group or a shutdown in progress.
    pub fn restart_group(&mut self, now: Instant, group: &str) -> Result<(), RequestError> {
        self.refuse_during_shutdown()?;
        let g = self.group_to_change(group)?;
        self.groups[g].active = true;
        self.groups[g].rollout = None;
        let numbers: Vec<u32> = self.groups[g].instances.keys().copied().collect();
        for n in numbers {
            let Some(instance) = self.groups[g].instances.get_mut(&n) else { continue };
            match &mut instance.phase {
                // Starting anyway: a stop waiting for the spawn's outcome is moot.
                Phase::Spawning { then, .. } => *then = then.run_anyway(),
                Phase::Fatal => {
                    instance.phase = Phase::Stopped;
                    instance.retries = 0;
                    self.emit_transition(g, n, State::Fatal, now, None, None);
                    self.restart_instance(now, g, n)?;
                }
                // `restart` would refuse an instance whose spawn is pending, handled above.
                _ => self.restart_instance(now, g, n)?,
            }
        }
        self.reconcile(now);
        Ok(())
    }

    /// Starts one instance that is stopped, exited or in backoff (skipping the rest of the delay).
    ///
    /// # Errors
    /// An unknown instance, a state that does not allow it (fatal needs [`Supervisor::reset`]
    /// first), or a shutdown in progress.
    pub fn start(&mut self, now: Instant, id: &InstanceId) -> Result<(), RequestError> {
        self.refuse_during_shutdown()?;
        let (g, n) = self.locate(id)?;
        let instance = &self.groups[g].instances[&n];
        match instance.phase {
            Phase::Stopped | Phase::Exited { .. } | Phase::Backoff { .. } => {
                self.reset_retries(g, n);
                self.begin_spawn(g, n, now);
                self.reconcile(now);
                Ok(())
            }
            _ => {
                let state = instance.state();
                Err(RequestError::NotAllowed { id: id.clone(), state, request: "start" })
            }
        }
    }

    /// A start someone asked for gets a fresh retry budget: the failures counted so far were
    /// of automatic attempts.
    fn reset_retries(&mut self, g: usize, n: u32) {
        if let Some(instance) = self.groups[g].instances.get_mut(&n) {
            instance.retries = 0;
        }
    }

    /// Stops one instance: a live process gets the stop signal (SIGKILL follows at the stop
    /// timeout); a pending retry or restart is cancelled.
    ///
    /// # Errors
    /// An unknown instance, or one that is already stopped, stopping, exited or fatal.
    pub fn stop(&mut self, now: Instant, id: &InstanceId) -> Result<(), RequestError> {
        let (g, n) = self.locate(id)?;
        let instance = &self.groups[g].instances[&n];
        match instance.phase {
            Phase::Waiting
            | Phase::Starting { .. }
            | Phase::Running { .. }
            | Phase::Backoff { .. }
            | Phase::Exited { restart_at: Some(_) } => {}
            _ => {
                let state = instance.state();
                return Err(RequestError::NotAllowed { id: id.clone(), state, request: "stop" });
            }
        }
        self.stop_quietly(g, n, now, AfterStop::Stay);
        self.check_shutdown_complete();
        self.reconcile(now);
        Ok(())
    }

    /// Restarts one instance: a live one is stopped then started; a stopped, exited or backoff
    /// one is started at once; a stopping one is started again once it is down, unless a
    /// scale-down is removing it; a waiting one goes on waiting.
    ///
    /// # Errors
    /// An unknown instance, a fatal one (reset it first), or a shutdown in progress.
    pub fn restart(&mut self, now: Instant, id: &InstanceId) -> Result<(), RequestError> {
        self.refuse_during_shutdown()?;
        let (g, n) = self.locate(id)?;
        self.restart_instance(now, g, n)?;
        self.reconcile(now);
        Ok(())
    }

    /// [`Supervisor::restart`] of instance `n` of group `g`, without the pass of
    /// [`Supervisor::reconcile`] (the caller makes it).
    fn restart_instance(&mut self, now: Instant, g: usize, n: u32) -> Result<(), RequestError> {
        let id = self.id(g, n);
        let instance = self.groups[g].instances.get_mut(&n).ok_or(RequestError::Internal)?;
        match &mut instance.phase {
            Phase::Starting { .. } | Phase::Running { .. } => {
                self.begin_stop(g, n, now, AfterStop::Restart);
            }
            // An instance stopping for a scale-down stays on its way out.
            Phase::Stopping { then, .. } => *then = then.superseded_by(AfterStop::Restart),
            Phase::Stopped | Phase::Exited { .. } | Phase::Backoff { .. } => {
                self.reset_retries(g, n);
                self.begin_spawn(g, n, now);
            }
            Phase::Waiting => {}
            // `locate` refuses an instance whose spawn is pending.
            Phase::Spawning { .. } | Phase::Fatal => {
                let state = instance.state();
                return Err(RequestError::NotAllowed { id, state, request: "restart" });
            }
        }
        Ok(())
    }

    /// Takes a fatal instance back to stopped, with its retry count cleared.
    ///
    /// # Errors
    /// An unknown instance or one that is not fatal.
    pub fn reset(&mut self, now: Instant, id: &InstanceId) -> Result<(), RequestError> {
        let (g, n) = self.locate(id)?;
        let instance = self.groups[g].instances.get_mut(&n).ok_or(RequestError::Internal)?;
        if instance.phase != Phase::Fatal {
            let state = instance.state();
            return Err(RequestError::NotAllowed { id: id.clone(), state, request: "reset" });
        }
        instance.phase = Phase::Stopped;
        instance.retries = 0;
        self.emit_transition(g, n, State::Fatal, now, None, None);
        self.reconcile(now);
        Ok(())
    }

    /// Changes a group's target count. Scaling up creates the next numbers and starts them if the
    /// group is active; scaling down stops the highest-numbered instances first and removes them
    /// once they are down.
    ///
    /// # Errors
    /// An unknown group (or one a reload removed), or a scale-up during shutdown.
    pub fn scale(&mut self, now: Instant, group: &str, target: u32) -> Result<(), RequestError> {
        let g = self.group_index(group)?;
        if self.groups[g].removing && target > 0 {
            return Err(RequestError::UnknownGroup(group.to_owned()));
        }
        if target > self.groups[g].target {
            self.refuse_during_shutdown()?;
        }
        self.groups[g].target = target;
        let active = self.groups[g].active;
        // Scale down, highest number first.
        let surplus: Vec<u32> =
            self.groups[g].instances.keys().rev().copied().filter(|n| *n > target).collect();
        for n in surplus {
            if self.groups[g].instances[&n].phase.is_down() {
                self.remove_instance(g, n);
            } else {
                self.stop_quietly(g, n, now, AfterStop::Remove);
            }
        }
        // Scale up: instances still stopping from an earlier scale-down come back.
        for n in 1..=target {
            match self.groups[g].instances.get_mut(&n) {
                Some(instance) => match &mut instance.phase {
                    // Its spawn is still pending: let it start after all, if the group runs.
                    Phase::Spawning { then: then @ AfterSpawn::Remove, .. } => {
                        *then = if active { AfterSpawn::Run } else { AfterSpawn::Stop };
                    }
                    Phase::Stopping { then: then @ AfterStop::Remove, .. } => {
                        *then = if active { AfterStop::Restart } else { AfterStop::Stay };
                    }
                    _ => {}
                },
                None => {
                    self.groups[g].instances.insert(n, Instance::new());
                    if active {
                        self.begin_spawn(g, n, now);
                    }
                }
            }
        }
        self.check_shutdown_complete();
        self.reconcile(now);
        Ok(())
    }

    /// Sends a signal to one instance's own process (not its group), e.g. to make it reload.
    ///
    /// # Errors
    /// An unknown instance or one without a live process.
    pub fn signal(&mut self, id: &InstanceId, signal: Signal) -> Result<(), RequestError> {
        let (g, n) = self.locate(id)?;
        let instance = &self.groups[g].instances[&n];
        match instance.phase.process() {
            Some(Process { pid, .. }) => {
                self.effects.push_back(Effect::Signal {
                    id: id.clone(),
                    pid,
                    signal,
                    scope: SignalScope::Process,
                });
                self.events.push_back(Event::Signal {
                    id: id.clone(),
                    pid,
                    signal,
                    reason: SignalReason::Request,
                });
                Ok(())
            }
            None => Err(RequestError::NotAllowed {
                id: id.clone(),
                state: instance.state(),
                request: "signal",
            }),
        }
    }

    /// Stops everything for good: every group becomes inactive, every live instance gets its
    /// stop signal, pending retries, restarts and rollouts are cancelled, and no spawn is ever
    /// requested again. [`Event::ShutdownComplete`] follows once every instance is down.
    ///
    /// Groups stop in reverse dependency order: a group's instances get their stop signal once
    /// every group that depends on it is down (without dependencies, all at once).
    pub fn shutdown(&mut self, now: Instant) {
        self.shutting_down = true;
        for group in &mut self.groups {
            group.active = false;
            group.rollout = None;
        }
        self.reconcile(now);
        self.check_shutdown_complete();
    }

    /// Sends SIGKILL at once to every instance that is stopping (the second Ctrl-C), instead
    /// of waiting for its stop timeout. During a shutdown, groups still waiting for their
    /// dependants to stop are stopped first, so that everything is killed.
    pub fn kill_stopping(&mut self, now: Instant) {
        if self.shutting_down {
            for g in 0..self.groups.len() {
                if !self.groups[g].stop_begun {
                    self.stop_whole_group(g, now);
                }
            }
        }
        for g in 0..self.groups.len() {
            let numbers: Vec<u32> = self.groups[g].instances.keys().copied().collect();
            for n in numbers {
                if matches!(self.groups[g].instances[&n].phase, Phase::Stopping { .. }) {
                    self.send_kill(g, n, now);
                }
            }
        }
        self.check_shutdown_complete();
    }
}
