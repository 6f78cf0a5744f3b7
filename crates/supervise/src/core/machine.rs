//! The pure supervisor: every instance's state machine, groups and shutdown, with time passed in.
//!
//! Nothing here performs I/O or reads a clock. Requests and observations come in as method calls
//! with a monotonic `now`; what must happen in the world comes out as [`Effect`]s, and what
//! happened comes out as [`Event`]s. The I/O layer ([`crate::Driver`]) executes the effects and
//! feeds back spawns, exits and the passing of time, so every rule below is tested with a fake
//! clock and no processes.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;

use super::transitions;
use super::types::{
    Effect, Event, ExitStatus, InstanceId, SignalReason, SignalScope, SpawnError, State, Transition,
};
use crate::error::RequestError;
use crate::signal::Signal;
use crate::spec::{ProgramSpec, RestartPolicy};

mod groups;
mod instance;
mod order;
mod readiness;
mod reload;
mod requests;

use instance::{AfterSpawn, AfterStop, Instance, Phase, Process, StartEnd};
use reload::Rollout;

#[derive(Debug)]
struct Group {
    spec: ProgramSpec,
    target: u32,
    /// Whether the group is meant to run: set by start, cleared by stop and shutdown. Automatic
    /// restarts and scale-ups only start instances of an active group.
    active: bool,
    instances: BTreeMap<u32, Instance>,
    /// A reload's restart of this group, in progress.
    rollout: Option<Rollout>,
    /// A reload removed the group: its instances are on their way out, and the group goes
    /// once they are gone.
    removing: bool,
    /// The shutdown has stopped this group (after every group that depends on it was down).
    stop_begun: bool,
}

impl Group {
    fn new(spec: ProgramSpec) -> Group {
        let instances = (1..=spec.instances).map(|n| (n, Instance::new())).collect();
        Group {
            target: spec.instances,
            spec,
            active: false,
            instances,
            rollout: None,
            removing: false,
            stop_begun: false,
        }
    }

    /// Whether no instance has a process or a pending spawn.
    fn is_down(&self) -> bool {
        self.instances.values().all(|i| i.phase.is_down())
    }
}

/// The pure, single-threaded supervisor of any number of independent groups.
///
/// Drive it with requests (`start_group`, `stop`, `scale`, `shutdown`...) and observations
/// (`spawned`, `spawn_failed`, `exited`, `tick`), all given the current monotonic time. After each
/// call, carry out [`Supervisor::drain_effects`] in order and read [`Supervisor::drain_events`].
/// Call `tick` no later than [`Supervisor::next_deadline`].
#[derive(Debug, Default)]
pub struct Supervisor {
    groups: Vec<Group>,
    by_pid: HashMap<u32, InstanceId>,
    effects: VecDeque<Effect>,
    events: VecDeque<Event>,
    shutting_down: bool,
    shutdown_reported: bool,
}

/// The outcome of [`Supervisor::exited`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitOwner {
    /// The pid belonged to this instance.
    Instance(InstanceId),
    /// The pid is not one of ours (an adopted orphan, or a process the host spawned itself).
    Unknown,
}

impl Supervisor {
    /// An empty supervisor.
    pub fn new() -> Supervisor {
        Supervisor::default()
    }

    /// Whether [`Supervisor::shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    /// Whether a shutdown was requested and every instance is down.
    pub fn is_shutdown_complete(&self) -> bool {
        self.shutting_down && self.all_down()
    }

    /// Takes the effects to carry out, oldest first.
    pub fn drain_effects(&mut self) -> std::collections::vec_deque::Drain<'_, Effect> {
        self.effects.drain(..)
    }

    /// Takes the events that happened, oldest first.
    pub fn drain_events(&mut self) -> std::collections::vec_deque::Drain<'_, Event> {
        self.events.drain(..)
    }

    /// The earliest time at which [`Supervisor::tick`] has something to do, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.groups
            .iter()
            .flat_map(|g| g.instances.values())
            .filter_map(|i| i.phase.deadline())
            .min()
    }

    // ----- observations -----

    /// Reports that the spawn requested for `id` succeeded with process `pid`.
    ///
    /// # Errors
    /// When no spawn was pending for `id` (a caller bug; nothing changes).
    pub fn spawned(&mut self, now: Instant, id: &InstanceId, pid: u32) -> Result<(), RequestError> {
        let (g, n) = self.locate_any(id)?;
        let spec = &self.groups[g].spec;
        let ends = match &spec.readiness {
            Some(readiness) => StartEnd::Ready { timeout_at: readiness.timeout.map(|t| now + t) },
            None => StartEnd::Grace(now + spec.start_grace),
        };
        let instance = self.groups[g].instances.get_mut(&n).ok_or(RequestError::Internal)?;
        let Phase::Spawning { from, then } = instance.phase else {
            return Err(RequestError::NoSpawnPending(id.clone()));
        };
        let process = Process { pid, started_at: now };
        instance.phase = Phase::Starting { process, ends };
        instance.starts += 1;
        instance.spawn_error = None;
        self.by_pid.insert(pid, id.clone());
        self.emit_transition(g, n, from, now, None, None);
        if ends == StartEnd::Grace(now) {
            self.enter_running(g, n, now);
        }
        if let Some(after) = then.stop() {
            self.begin_stop(g, n, now, after);
        }
        self.reconcile(now);
        Ok(())
    }

    /// Reports that the spawn requested for `id` failed before the program ran. A transient
    /// failure (no resources) is retried with backoff; a permanent one (no such program or
    /// directory) makes the instance fatal at once.
    ///
    /// # Errors
    /// When no spawn was pending for `id` (a caller bug; nothing changes).
    pub fn spawn_failed(
        &mut self,
        now: Instant,
        id: &InstanceId,
        error: SpawnError,
    ) -> Result<(), RequestError> {
        let (g, n) = self.locate_any(id)?;
        let instance = self.groups[g].instances.get_mut(&n).ok_or(RequestError::Internal)?;
        let Phase::Spawning { from, then } = instance.phase else {
            return Err(RequestError::NoSpawnPending(id.clone()));
        };
        instance.spawn_error = Some(error.clone());
        // Report the attempt itself, then its failure, as supervisord does.
        self.emit_transition(g, n, from, now, None, None);
        self.fail_start(g, n, now, None, Some(error), then.stop());
        self.check_shutdown_complete();
        self.reconcile(now);
        Ok(())
    }

    /// Reports that process `pid` ended with `status`. Returns which instance it was; an
    /// unknown pid (an adopted orphan) changes nothing.
    pub fn exited(&mut self, now: Instant, pid: u32, status: ExitStatus) -> ExitOwner {
        let Some(id) = self.by_pid.remove(&pid) else {
            return ExitOwner::Unknown;
        };
        let Ok((g, n)) = self.locate_any(&id) else {
            return ExitOwner::Unknown;
        };
        let Some(instance) = self.groups[g].instances.get_mut(&n) else {
            return ExitOwner::Unknown;
        };
        instance.last_exit = Some(status);
        let phase = instance.phase;
        // A pid is only mapped while the instance has a process.
        let Some(process) = phase.process() else {
            return ExitOwner::Instance(id);
        };
        instance.last_started_at = Some(process.started_at);
        let exit = Some((pid, status));
        match phase {
            // Under `OnUnexpectedExit`, an expected exit is the program's work done, however
            // quick: it is not a failed start to retry.
            Phase::Starting { .. } if self.finished_its_job(g, status) => {
                self.set_phase(g, n, Phase::Exited { restart_at: None });
                self.emit_transition(g, n, State::Starting, now, exit, None);
            }
            Phase::Starting { .. } => self.fail_start(g, n, now, exit, None, None),
            Phase::Running { .. } => self.after_running_exit(g, n, now, process, status),
            // Stopped because it was not ready in time: a failed start (a shutdown since
            // makes it a plain stop).
            Phase::Stopping { then: AfterStop::FailStart, .. } if !self.shutting_down => {
                self.fail_start(g, n, now, exit, None, None);
            }
            Phase::Stopping { then, .. } => {
                self.set_phase(g, n, Phase::Stopped);
                self.emit_transition(g, n, State::Stopping, now, exit, None);
                self.carry_out_after_stop(g, n, now, then);
            }
            Phase::Stopped
            | Phase::Waiting
            | Phase::Spawning { .. }
            | Phase::Backoff { .. }
            | Phase::Exited { .. }
            | Phase::Fatal => {}
        }
        self.check_shutdown_complete();
        self.reconcile(now);
        ExitOwner::Instance(id)
    }

    /// Lets time pass: ends start grace periods, stops instances not ready by their readiness
    /// timeout, retries after backoff, performs pending restarts and sends SIGKILL at stop
    /// timeouts that are due.
    pub fn tick(&mut self, now: Instant) {
        // What a pass does can be due at once (a stop with a zero timeout, after a readiness
        // timeout or in a shutdown's next group): passes go on until nothing is due. Each one
        // moves every due instance further along a finite chain, so few are ever needed.
        for _ in 0..8 {
            let acted = self.tick_pass(now);
            self.reconcile(now);
            if !acted || self.next_deadline().is_none_or(|d| d > now) {
                break;
            }
        }
    }

    /// One pass of [`Supervisor::tick`]; whether anything was due.
    fn tick_pass(&mut self, now: Instant) -> bool {
        let mut acted = false;
        for g in 0..self.groups.len() {
            let due: Vec<u32> = self.groups[g]
                .instances
                .iter()
                .filter(|(_, i)| i.phase.deadline().is_some_and(|d| d <= now))
                .map(|(n, _)| *n)
                .collect();
            acted |= !due.is_empty();
            for n in due {
                let Some(instance) = self.groups[g].instances.get(&n) else { continue };
                match instance.phase {
                    Phase::Starting { ends: StartEnd::Grace(_), .. } => {
                        self.enter_running(g, n, now);
                    }
                    Phase::Starting { ends: StartEnd::Ready { .. }, .. } => {
                        self.readiness_timeout(g, n, now);
                    }
                    // A shutdown cancels pending retries and restarts: none is carried out.
                    Phase::Backoff { .. } | Phase::Exited { .. } if self.shutting_down => {
                        self.stop_quietly(g, n, now, AfterStop::Stay);
                    }
                    Phase::Backoff { .. } | Phase::Exited { .. } => self.begin_spawn(g, n, now),
                    Phase::Stopping { .. } => self.send_kill(g, n, now),
                    Phase::Stopped
                    | Phase::Waiting
                    | Phase::Spawning { .. }
                    | Phase::Running { .. }
                    | Phase::Fatal => {}
                }
            }
        }
        acted
    }

    // ----- internals -----

    fn refuse_during_shutdown(&self) -> Result<(), RequestError> {
        if self.shutting_down { Err(RequestError::ShuttingDown) } else { Ok(()) }
    }

    fn group_index(&self, group: &str) -> Result<usize, RequestError> {
        self.groups
            .iter()
            .position(|g| &*g.spec.name == group)
            .ok_or_else(|| RequestError::UnknownGroup(group.to_owned()))
    }

    /// A group a request may start: not one a reload is removing (it is gone as far as
    /// requests go).
    fn group_to_change(&self, group: &str) -> Result<usize, RequestError> {
        let g = self.group_index(group)?;
        if self.groups[g].removing {
            return Err(RequestError::UnknownGroup(group.to_owned()));
        }
        Ok(g)
    }

    /// Finds an instance for a request; refused while its spawn is pending, because the
    /// outcome of that spawn must be reported first.
    fn locate(&self, id: &InstanceId) -> Result<(usize, u32), RequestError> {
        let (g, n) = self.locate_any(id)?;
        if matches!(self.groups[g].instances[&n].phase, Phase::Spawning { .. }) {
            return Err(RequestError::SpawnPending(id.clone()));
        }
        Ok((g, n))
    }

    fn locate_any(&self, id: &InstanceId) -> Result<(usize, u32), RequestError> {
        let g = self.group_index(&id.group)?;
        if !self.groups[g].instances.contains_key(&id.index) {
            return Err(RequestError::UnknownInstance(id.clone()));
        }
        Ok((g, id.index))
    }

    fn instance(&self, id: &InstanceId) -> Result<&Instance, RequestError> {
        let g = self.group_index(&id.group)?;
        self.groups[g]
            .instances
            .get(&id.index)
            .ok_or_else(|| RequestError::UnknownInstance(id.clone()))
    }

    fn id(&self, g: usize, n: u32) -> InstanceId {
        InstanceId::new(self.groups[g].spec.name.clone(), n)
    }

    fn all_down(&self) -> bool {
        self.groups.iter().all(Group::is_down)
    }

    fn check_shutdown_complete(&mut self) {
        if self.shutting_down && !self.shutdown_reported && self.all_down() {
            self.shutdown_reported = true;
            self.events.push_back(Event::ShutdownComplete);
        }
    }

    /// Records the instance's current state as a transition from `from`.
    fn emit_transition(
        &mut self,
        g: usize,
        n: u32,
        from: State,
        now: Instant,
        exit: Option<(u32, ExitStatus)>,
        spawn_error: Option<SpawnError>,
    ) {
        let spec = &self.groups[g].spec;
        let instance = &self.groups[g].instances[&n];
        let to = instance.state();
        debug_assert!(
            transitions::allows(from, to),
            "{}.{n} went from {from:?} to {to:?}: no row of the transition table says so",
            spec.name
        );
        let transition = Transition {
            id: InstanceId::new(spec.name.clone(), n),
            pid: exit.map(|(pid, _)| pid).or(instance.phase.process().map(|p| p.pid)),
            from,
            to,
            at: now,
            exit: exit.map(|(_, status)| status),
            expected: exit.map(|(_, status)| spec.is_expected(status)),
            spawn_error,
            retries: instance.retries,
        };
        self.events.push_back(Event::State(transition));
    }

    fn set_phase(&mut self, g: usize, n: u32, phase: Phase) {
        if let Some(instance) = self.groups[g].instances.get_mut(&n) {
            instance.phase = phase;
        }
    }

    /// Requests a spawn, or makes the instance wait while its group's dependencies do not meet
    /// their conditions. The `Starting` transition is reported with the spawn's outcome.
    fn begin_spawn(&mut self, g: usize, n: u32, now: Instant) {
        if self.shutting_down {
            return;
        }
        if !self.groups[g].spec.depends_on.is_empty() && !self.gate(g).is_open() {
            self.enter_waiting(g, n, now);
            return;
        }
        self.spawn_now(g, n);
    }

    /// Requests a spawn now, whatever the dependencies.
    fn spawn_now(&mut self, g: usize, n: u32) {
        if self.shutting_down {
            return;
        }
        let Some(instance) = self.groups[g].instances.get_mut(&n) else { return };
        instance.phase = Phase::Spawning { from: instance.state(), then: AfterSpawn::Run };
        let id = self.id(g, n);
        self.effects.push_back(Effect::Spawn(id));
    }

    fn enter_running(&mut self, g: usize, n: u32, now: Instant) {
        let Some(instance) = self.groups[g].instances.get_mut(&n) else { return };
        let Phase::Starting { process, .. } = instance.phase else { return };
        instance.phase = Phase::Running { process };
        instance.retries = 0;
        self.emit_transition(g, n, State::Starting, now, None, None);
    }

    /// An exit or a spawn failure while starting, or the exit of an instance stopped for not
    /// being ready in time: backoff, or fatal once retries are exhausted or when retrying
    /// cannot help. `stop` is a stop that arrived while the spawn was pending.
    fn fail_start(
        &mut self,
        g: usize,
        n: u32,
        now: Instant,
        exit: Option<(u32, ExitStatus)>,
        spawn_error: Option<SpawnError>,
        stop: Option<AfterStop>,
    ) {
        let max_retries = self.groups[g].spec.max_retries;
        let backoff = self.groups[g].spec.backoff;
        let shutting_down = self.shutting_down;
        let Some(instance) = self.groups[g].instances.get_mut(&n) else { return };
        // Starting (a pending spawn reads so), or Stopping after a readiness timeout.
        let from = instance.state();
        let permanent = spawn_error.as_ref().is_some_and(|e| !e.is_transient());
        instance.retries += 1;
        instance.phase = if shutting_down || stop.is_some() {
            Phase::Stopped
        } else if permanent || instance.retries > max_retries {
            Phase::Fatal
        } else {
            Phase::Backoff { retry_at: now + backoff.delay(instance.retries) }
        };
        self.emit_transition(g, n, from, now, exit, spawn_error);
        if let Some(after) = stop {
            self.carry_out_after_stop(g, n, now, after);
        }
    }

    /// Whether an exit with `status` ends the instance for good rather than failing its start:
    /// an expected exit under `OnUnexpectedExit`, which never restarts expected exits. (`Always`
    /// and `Never` keep supervisord's rule: any exit before the grace is a failed start.)
    fn finished_its_job(&self, g: usize, status: ExitStatus) -> bool {
        let spec = &self.groups[g].spec;
        spec.restart == RestartPolicy::OnUnexpectedExit && spec.is_expected(status)
    }

    fn after_running_exit(
        &mut self,
        g: usize,
        n: u32,
        now: Instant,
        process: Process,
        status: ExitStatus,
    ) {
        let group = &self.groups[g];
        let restart = match group.spec.restart {
            RestartPolicy::Always => true,
            RestartPolicy::OnUnexpectedExit => !group.spec.is_expected(status),
            RestartPolicy::Never => false,
        };
        let restart = restart && group.active && !self.shutting_down && n <= group.target;
        // Never more than one automatic start per `backoff.initial`, so a program that exits
        // at once under a zero start grace cannot spin the CPU.
        let earliest = process.started_at + group.spec.backoff.initial;
        let restart_at = (restart && earliest > now).then_some(earliest);
        self.set_phase(g, n, Phase::Exited { restart_at });
        self.emit_transition(g, n, State::Running, now, Some((process.pid, status)), None);
        if restart && restart_at.is_none() {
            self.begin_spawn(g, n, now);
        }
    }

    /// What follows a stop once the instance is down.
    fn carry_out_after_stop(&mut self, g: usize, n: u32, now: Instant, after: AfterStop) {
        match after {
            // A failed start is counted where the exit is reported, before this.
            AfterStop::Stay | AfterStop::FailStart => {}
            AfterStop::Restart => self.begin_spawn(g, n, now),
            AfterStop::Remove => self.remove_instance(g, n),
        }
    }

    fn remove_instance(&mut self, g: usize, n: u32) {
        if self.groups[g].instances.remove(&n).is_some() {
            let id = self.id(g, n);
            self.events.push_back(Event::Removed(id));
        }
    }

    /// Stops whatever the instance is doing, without complaining about its state. `after` is
    /// `Stay`, or `Remove` for a scale-down.
    fn stop_quietly(&mut self, g: usize, n: u32, now: Instant, after: AfterStop) {
        let remove = after == AfterStop::Remove;
        let Some(instance) = self.groups[g].instances.get_mut(&n) else { return };
        match &mut instance.phase {
            // Carried out once the spawn's outcome is reported.
            Phase::Spawning { then, .. } => *then = then.with_stop(remove),
            Phase::Starting { .. } | Phase::Running { .. } => self.begin_stop(g, n, now, after),
            Phase::Stopping { then, .. } => *then = then.superseded_by(after),
            Phase::Waiting | Phase::Backoff { .. } | Phase::Exited { restart_at: Some(_) } => {
                let from = instance.state();
                instance.phase = Phase::Stopped;
                self.emit_transition(g, n, from, now, None, None);
                if remove {
                    self.remove_instance(g, n);
                }
            }
            Phase::Stopped | Phase::Exited { restart_at: None } | Phase::Fatal => {
                if remove {
                    self.remove_instance(g, n);
                }
            }
        }
    }

    /// Sends the stop signal to a starting or running instance's process; SIGKILL is due at
    /// the stop timeout.
    fn begin_stop(&mut self, g: usize, n: u32, now: Instant, after: AfterStop) {
        let stop_signal = self.groups[g].spec.stop_signal;
        let stop_timeout = self.groups[g].spec.stop_timeout;
        let id = self.id(g, n);
        let Some(instance) = self.groups[g].instances.get_mut(&n) else { return };
        let (Phase::Starting { process, .. } | Phase::Running { process }) = instance.phase else {
            return;
        };
        let from = instance.state();
        instance.phase =
            Phase::Stopping { process, kill_at: Some(now + stop_timeout), then: after };
        self.emit_transition(g, n, from, now, None, None);
        let pid = process.pid;
        self.effects.push_back(Effect::Signal {
            id: id.clone(),
            pid,
            signal: stop_signal,
            scope: SignalScope::Tree,
        });
        self.events.push_back(Event::Signal {
            id,
            pid,
            signal: stop_signal,
            reason: SignalReason::Stop,
        });
    }

    /// Sends SIGKILL to a stopping instance, at most once.
    fn send_kill(&mut self, g: usize, n: u32, _now: Instant) {
        let id = self.id(g, n);
        let Some(instance) = self.groups[g].instances.get_mut(&n) else { return };
        let Phase::Stopping { process, kill_at, .. } = &mut instance.phase else { return };
        if kill_at.take().is_none() {
            return;
        }
        let pid = process.pid;
        self.effects.push_back(Effect::Signal {
            id: id.clone(),
            pid,
            signal: Signal::KILL,
            scope: SignalScope::Tree,
        });
        self.events.push_back(Event::Signal {
            id,
            pid,
            signal: Signal::KILL,
            reason: SignalReason::Kill,
        });
    }
}
