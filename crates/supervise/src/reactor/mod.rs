//! The I/O driver: one poll loop around the pure [`Supervisor`].
//!
//! It owns an epoll/kqueue instance (through mio) watching a signal self-pipe and every output
//! pipe. Each [`Driver::turn`] waits for readiness or the next deadline, reads output into whole
//! lines, reaps every ended child, lets the core's time pass, carries out the core's effects
//! (spawns and signals) and queues [`Event`]s for the host. Nothing wakes it while nothing is
//! ready and no deadline is due.

mod cgroups;
mod ending;
mod event;
mod execs;
mod input;
mod jobs;
mod leftovers;
mod lines;
mod pipes;
mod readiness;
mod reload;
mod signal_pipe;
mod terminal;

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use crate::containment::Containment;
use crate::core::{
    self, Effect, ExitOwner, InstanceId, InstanceInfo, SignalScope, SpawnError, Supervisor,
};
use crate::error::RequestError;
use crate::signal::Signal;
use crate::spec::ProgramSpec;
use crate::sys::cgroup::CgroupTree;
use crate::sys::reap::{reap_one, signal_group, signal_process};
use crate::sys::spawn::{SpawnOptions, spawn};
use crate::sys::tree::{ProcessTable, become_subreaper};
use cgroups::Cgroups;
use ending::signal_tree;
pub use event::{Event, Output, RawOutput, Stream, WatchId};
use execs::PendingExecs;
use input::InputSet;
pub use input::StdinError;
use leftovers::GroupLeftovers;
use pipes::PipeSet;
use signal_pipe::SignalPipe;

// The poll tokens, by range: the signal pipe (0); output pipes (1 up, by slot); exec-status
// pipes (`execs.rs`, from 1 << 32, by pid); instance inputs (`input.rs`, from 1 << 36, by
// slot); readiness probes (`readiness.rs`, from 1 << 38, by slot); the cgroup's events (just
// below 1 << 40); the host's watched descriptors (from 1 << 40). Each range holds 2^32 values.
const SIGNAL_TOKEN: Token = Token(0);
/// Tokens of watched descriptors start here; pipe tokens stay below.
const WATCH_BASE: usize = 1 << 40;
/// The app cgroup's `cgroup.events`.
const CGROUP_TOKEN: Token = Token(WATCH_BASE - 1);
/// How long the final sweep keeps trying to kill stray descendants once no new one appears
/// (one that cannot die, in uninterruptible sleep, must not hold the shutdown for long).
const SWEEP_LIMIT: Duration = Duration::from_secs(2);
/// How long the sweep may go on while new strays keep appearing: a daemon that re-forks into a
/// new session, generation after generation, is caught only when a kill lands between a
/// generation's birth and its fork, which a loaded machine can delay (without a cgroup or a
/// PID namespace; docs/guarantees.md).
const SWEEP_CAP: Duration = Duration::from_secs(10);
/// How often the sweep looks in `/proc` again without a cgroup to tell it.
const SWEEP_ROUND: Duration = Duration::from_millis(5);

/// How the driver is set up. `Default` gives the settings a stand-alone supervisor wants.
#[derive(Clone, Debug)]
pub struct DriverOptions {
    /// Signals delivered to the host as [`Event::SignalReceived`] instead of their default
    /// action. SIGCHLD is always handled by the driver itself.
    pub signals: Vec<Signal>,
    /// Become a child subreaper (Linux), so descendants that detach from their parents stay in
    /// this process's tree and are found by the shutdown sweep. Default: true.
    pub subreaper: bool,
    /// Give every child a parent-death signal of SIGKILL (Linux), so it dies with the thread
    /// that spawned it. Keep the driver on a thread that lives as long as the process. Default:
    /// true.
    pub die_with_parent: bool,
    /// Longest line passed whole; longer lines are cut into pieces of this size. Default 1 MiB.
    pub max_line: usize,
    /// Hold the app in this cgroup v2 tree (Linux): each instance runs in a cgroup of its own
    /// below it, entered before the program runs; stops freeze the instance's cgroup, signal
    /// every process in it and thaw it; SIGKILL is `cgroup.kill`; the shutdown kills the whole
    /// tree and removes it; [`InstanceInfo::resources`] come from `cpu.stat` and
    /// `memory.current`. Default: none (the process tree is walked in `/proc`).
    pub cgroup: Option<CgroupTree>,
    /// Signals on which the driver calls [`Driver::kill_all`] itself, at once, even in the
    /// middle of a long run of spawns (a large formation's start), before the host hears of
    /// them: for the signal that says the guard is gone ([`crate::guard::Protection`]),
    /// after which nobody may wait. Add them to `signals` too for the host to be told.
    pub kill_all_on: Vec<Signal>,
    /// Starts come before output: while a spawn waits for its `exec`, no output is read, so
    /// a formation's starts are all reported before its first line (Foreman's order). Off,
    /// each pipe is read as soon as it is ready. Default: true.
    pub starts_before_output: bool,
    /// When an exit must be reported while spawns still wait for their `exec`, how long to
    /// wait for them (each is microseconds from it), so that every start asked for before
    /// the exit is reported before it. Zero reports the exit at once. Default: 200 ms.
    pub exec_wait: Duration,
    /// The most instances on a pty at once ([`crate::OutputSpec::Pty`]); past it, they run
    /// on pipes, as when the system has no pty left. Default: none but the system's.
    pub max_ptys: Option<usize>,
}

impl Default for DriverOptions {
    fn default() -> DriverOptions {
        DriverOptions {
            signals: Vec::new(),
            subreaper: true,
            die_with_parent: true,
            max_line: 1024 * 1024,
            cgroup: None,
            kill_all_on: Vec::new(),
            starts_before_output: true,
            exec_wait: Duration::from_millis(200),
            max_ptys: None,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Phase {
    Running,
    /// The core is down; killing what is left of the tree until nothing is or `until` passes
    /// (moved on while new strays appear, up to `cap`).
    Sweeping {
        until: Instant,
        cap: Instant,
    },
    Finished,
}

/// A supervisor with its I/O: spawns, signals, reaping, output, timers.
///
/// Drive it from a loop: `driver.turn(None)?; for event in driver.drain_events() { ... }`, or
/// embed it in a host loop by polling [`Driver::as_raw_fd`] for readability with
/// [`Driver::timeout`] and calling `turn(Some(Duration::ZERO))` when it is ready. Requests
/// (start, stop, scale...) take effect at once.
pub struct Driver {
    core: Supervisor,
    poll: Poll,
    mio_events: Events,
    signals: SignalPipe,
    host_signals: Vec<Signal>,
    job_order: jobs::JobOrder,
    pipes: PipeSet,
    watches: Vec<Option<RawFd>>,
    events: Vec<Event>,
    options: DriverOptions,
    phase: Phase,
    self_pid: u32,
    /// Strays already reported by the sweep (they may take a turn to die after SIGKILL).
    swept: Vec<u32>,
    /// The host cannot take more output for now: pipes are left unread (see
    /// [`Driver::pause_output`]).
    output_paused: bool,
    /// Spawns whose exec is not confirmed yet.
    execs: PendingExecs,
    /// The app's cgroups, when it runs in a cgroup tree.
    cgroups: Option<Cgroups>,
    /// Without cgroups: the process groups of instances whose process ended, for what they
    /// left behind.
    leftovers: GroupLeftovers,
    /// [`Driver::kill_all`] was called: every signal to an instance is SIGKILL from then on.
    killing_all: bool,
    /// The instances' input sides: stdin pipes and ptys.
    inputs: InputSet,
    /// [`Driver::suspend`] stopped the app.
    suspended: bool,
    /// The readiness checks under way.
    probes: readiness::Probes,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").field("core", &self.core).field("phase", &self.phase).finish()
    }
}

impl Driver {
    /// Sets up the poll instance, the signal handlers and (if asked) the subreaper flag.
    ///
    /// # Errors
    /// When the poll instance or the signal pipe cannot be created, or the cgroup tree's
    /// `cgroup.events` cannot be opened.
    pub fn new(options: DriverOptions) -> io::Result<Driver> {
        let poll = Poll::new()?;
        // SIGPIPE is caught (and dropped unless the host asks for it) so that a write to the
        // stdin of a program that closed it fails with EPIPE instead of killing the host.
        let mut wanted: Vec<i32> = vec![libc::SIGCHLD, libc::SIGPIPE];
        wanted.extend(options.signals.iter().map(|s| s.as_raw()));
        // Before the signal pipe's handlers: a SIGTSTP or SIGCONT is recorded before its flag
        // is set, so the turn that sees the flag sees the record.
        let job_order = jobs::JobOrder::new(&options.signals)?;
        let mut signals = SignalPipe::new(&wanted)?;
        poll.registry().register(&mut signals, SIGNAL_TOKEN, Interest::READABLE)?;
        // Handled from here on: one that waited blocked (the guard's loss) arrives now.
        crate::sys::unblock_signals(&wanted)?;
        if options.subreaper {
            // Not fatal: without it, orphans go to init and the sweep cannot find them, which
            // is the best other platforms offer anyway.
            let _ = become_subreaper();
        }
        let cgroups = match &options.cgroup {
            Some(tree) => Some(Cgroups::new(tree.clone(), &poll, CGROUP_TOKEN)?),
            None => None,
        };
        let inputs = InputSet::new(poll.registry().try_clone()?, options.max_ptys);
        Ok(Driver {
            core: Supervisor::new(),
            poll,
            mio_events: Events::with_capacity(256),
            signals,
            host_signals: options.signals.clone(),
            job_order,
            pipes: PipeSet::new(options.max_line),
            watches: Vec::new(),
            events: Vec::new(),
            options,
            phase: Phase::Running,
            self_pid: std::process::id(),
            swept: Vec::new(),
            output_paused: false,
            execs: PendingExecs::default(),
            cgroups,
            leftovers: GroupLeftovers::default(),
            killing_all: false,
            inputs,
            suspended: false,
            probes: readiness::Probes::default(),
        })
    }

    /// What holds the app's processes together, and so what cleanup can promise.
    pub fn containment(&self) -> Containment {
        if let Some(cgroups) = &self.cgroups {
            return Containment::Cgroup(cgroups.tree().path().to_path_buf());
        }
        if crate::guard::is_isolated() {
            return Containment::PidNamespace;
        }
        if self.options.subreaper && cfg!(target_os = "linux") {
            Containment::Subreaper
        } else {
            Containment::ProcessGroups
        }
    }

    /// The pure supervisor inside, for queries.
    pub fn supervisor(&self) -> &Supervisor {
        &self.core
    }

    /// Adds a group, stopped.
    ///
    /// # Errors
    /// See [`Supervisor::add_group`].
    pub fn add_group(&mut self, spec: ProgramSpec) -> Result<(), RequestError> {
        self.core.add_group(spec)
    }

    /// See [`Supervisor::start_group`].
    ///
    /// # Errors
    /// See there.
    pub fn start_group(&mut self, group: &str) -> Result<(), RequestError> {
        self.request(|core, now| core.start_group(now, group))
    }

    /// See [`Supervisor::stop_group`].
    ///
    /// # Errors
    /// See there.
    pub fn stop_group(&mut self, group: &str) -> Result<(), RequestError> {
        self.request(|core, now| core.stop_group(now, group))
    }

    /// See [`Supervisor::restart_group`].
    ///
    /// # Errors
    /// See there.
    pub fn restart_group(&mut self, group: &str) -> Result<(), RequestError> {
        self.request(|core, now| core.restart_group(now, group))
    }

    /// See [`Supervisor::start`].
    ///
    /// # Errors
    /// See there.
    pub fn start(&mut self, id: &InstanceId) -> Result<(), RequestError> {
        self.request(|core, now| core.start(now, id))
    }

    /// See [`Supervisor::stop`].
    ///
    /// # Errors
    /// See there.
    pub fn stop(&mut self, id: &InstanceId) -> Result<(), RequestError> {
        self.request(|core, now| core.stop(now, id))
    }

    /// See [`Supervisor::restart`].
    ///
    /// # Errors
    /// See there.
    pub fn restart(&mut self, id: &InstanceId) -> Result<(), RequestError> {
        self.request(|core, now| core.restart(now, id))
    }

    /// See [`Supervisor::reset`].
    ///
    /// # Errors
    /// See there.
    pub fn reset(&mut self, id: &InstanceId) -> Result<(), RequestError> {
        self.request(|core, now| core.reset(now, id))
    }

    /// See [`Supervisor::scale`].
    ///
    /// # Errors
    /// See there.
    pub fn scale(&mut self, group: &str, target: u32) -> Result<(), RequestError> {
        self.request(|core, now| core.scale(now, group, target))
    }

    /// See [`Supervisor::signal`].
    ///
    /// # Errors
    /// See there.
    pub fn signal(&mut self, id: &InstanceId, signal: Signal) -> Result<(), RequestError> {
        self.request(|core, _| core.signal(id, signal))
    }

    /// Whether the shutdown has completed and nothing is left to do.
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// Registers a descriptor of the host's (a control socket, say) in the poll set; its
    /// readiness comes back as [`Event::Ready`]. Notification is edge-triggered: read until
    /// `WouldBlock` before the next turn.
    ///
    /// # Errors
    /// When the descriptor cannot be registered.
    pub fn watch(&mut self, fd: RawFd, interest: Interest) -> io::Result<WatchId> {
        let slot = self.watches.iter().position(Option::is_none).unwrap_or(self.watches.len());
        self.poll.registry().register(
            &mut mio::unix::SourceFd(&fd),
            Token(WATCH_BASE + slot),
            interest,
        )?;
        if slot == self.watches.len() {
            self.watches.push(Some(fd));
        } else {
            self.watches[slot] = Some(fd);
        }
        Ok(WatchId(slot))
    }

    /// Removes a descriptor registered with [`Driver::watch`].
    ///
    /// # Errors
    /// When the descriptor was not registered.
    pub fn unwatch(&mut self, id: WatchId) -> io::Result<()> {
        let fd = self.watches.get_mut(id.0).and_then(Option::take);
        match fd {
            Some(fd) => self.poll.registry().deregister(&mut mio::unix::SourceFd(&fd)),
            None => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }

    /// How long the host may wait before the next turn: `None` for "until a descriptor is
    /// ready", zero when work is pending.
    pub fn timeout(&self) -> Option<Duration> {
        if !self.events.is_empty() || (self.pipes.has_pending() && !self.output_paused) {
            return Some(Duration::ZERO);
        }
        let now = Instant::now();
        let core =
            [self.core.next_deadline(), self.probes.next_deadline()].into_iter().flatten().min();
        let sweep = match self.phase {
            // The cgroup tells when it is empty (a priority event); `/proc` tells nothing, so
            // without one the sweep looks again every round.
            Phase::Sweeping { until, .. } if self.cgroups.is_some() => Some(until),
            Phase::Sweeping { until, .. } => Some(until.min(now + SWEEP_ROUND)),
            _ => None,
        };
        let deadline = match (core, sweep) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        deadline.map(|d| d.saturating_duration_since(now))
    }

    /// Waits up to `max_wait` (or until the next deadline, whichever is first; `None` for no
    /// limit of the host's own) and processes everything that is ready. Events are queued for
    /// [`Driver::drain_events`]; drain them after every turn, since output is read only as
    /// fast as it is drained.
    ///
    /// # Errors
    /// When polling fails for a reason other than an interruption.
    pub fn turn(&mut self, max_wait: Option<Duration>) -> io::Result<()> {
        let wait = match (self.timeout(), max_wait) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match self.poll.poll(&mut self.mio_events, wait) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
        let tokens: Vec<Token> = self.mio_events.iter().map(mio::event::Event::token).collect();
        let mut execs = Vec::new();
        let mut probe_slots = Vec::new();
        for token in tokens {
            if token == SIGNAL_TOKEN {
                if self.take_signals() {
                    self.kill_all();
                }
            } else if token == CGROUP_TOKEN {
                // The tree emptied or filled: the sweep below looks at it.
            } else if let Some(slot) = InputSet::slot_of(token) {
                self.input_writable(slot);
            } else if token.0 >= WATCH_BASE {
                self.events.push(Event::Ready(WatchId(token.0 - WATCH_BASE)));
            } else if let Some(slot) = readiness::probe_slot(token) {
                probe_slots.push(slot);
            } else if let Some(pid) = PendingExecs::pid_of(token) {
                execs.push(pid);
            } else {
                self.pipes.mark_ready(token);
            }
        }
        let now = Instant::now();
        for pid in execs {
            self.execs.check(pid);
        }
        self.release_execs(now);
        self.read_output();
        self.reap(now);
        self.core.tick(now);
        self.settle(now);
        self.advance_probes(now, &probe_slots);
        self.advance_sweep(now);
        Ok(())
    }

    /// Takes the queued events, oldest first.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, Event> {
        self.events.drain(..)
    }

    /// A snapshot of every instance, with the memory and CPU of each instance's process tree
    /// where the platform exposes them (Linux).
    pub fn snapshot(&self) -> Vec<InstanceInfo> {
        let mut infos = self.core.snapshot(Instant::now());
        if cfg!(target_os = "linux") {
            let table = ProcessTable::read();
            for info in &mut infos {
                let Some(pid) = info.pid else { continue };
                let from_cgroup = self.cgroups.as_ref().and_then(|cgroups| {
                    cgroups.resources(&info.id, |pid| table.resources(&[pid]).rss_bytes)
                });
                info.resources =
                    from_cgroup.or_else(|| Some(table.resources(&table.instance_tree(pid))));
            }
        }
        infos
    }

    /// Runs turns until the shutdown completes, handing every event to `on_event` (which may
    /// make requests, e.g. call [`Driver::shutdown`]).
    ///
    /// # Errors
    /// When polling fails.
    pub fn run(&mut self, mut on_event: impl FnMut(&mut Driver, Event)) -> io::Result<()> {
        // Events queued by the callback's own requests (a shutdown that completes at once
        // queues `ShutdownComplete`) are delivered too, even once the driver is finished.
        while !self.is_finished() || !self.events.is_empty() {
            if !self.is_finished() {
                self.turn(None)?;
            }
            let events: Vec<Event> = self.events.drain(..).collect();
            for event in events {
                on_event(self, event);
            }
        }
        Ok(())
    }

    // ----- internals -----

    fn request(
        &mut self,
        call: impl FnOnce(&mut Supervisor, Instant) -> Result<(), RequestError>,
    ) -> Result<(), RequestError> {
        let now = Instant::now();
        let result = call(&mut self.core, now);
        self.settle(now);
        result
    }

    /// Takes the signals received; `true` if one of them asks for [`Driver::kill_all`].
    fn take_signals(&mut self) -> bool {
        let mut received: Vec<i32> = self.signals.pending().collect();
        self.job_order.keep_last(&mut received);
        let mut kill_all = false;
        for number in received {
            if number != libc::SIGCHLD {
                let signal = Signal::from_raw(number);
                kill_all |= self.options.kill_all_on.contains(&signal);
                if self.host_signals.contains(&signal) {
                    self.events.push(Event::SignalReceived(signal));
                }
            }
            // SIGCHLD needs nothing here: every turn reaps.
        }
        kill_all
    }

    /// Stops (`true`) or resumes (`false`) reading the children's output. A host whose own
    /// output is full (a slow terminal, a reader that stopped reading) pauses, so that output
    /// waits in the children's pipes, and the children wait on them, instead of piling up in
    /// memory; meanwhile signals, exits and timers are still handled. Readiness seen while
    /// paused is kept, and the pipes are read again at the next turn after resuming.
    pub fn pause_output(&mut self, paused: bool) {
        self.output_paused = paused;
    }

    fn read_output(&mut self) {
        if self.output_paused {
            return;
        }
        // While spawns wait for their exec, output waits too: a formation's starts are all
        // reported before its first line, as when each spawn waited for its exec.
        let starting = self.options.starts_before_output && !self.execs.is_empty();
        for event in self.pipes.read_round(|_| starting) {
            self.push_event(event);
        }
    }

    /// Reports the exec outcomes known so far, in spawn order, and moves the resulting events
    /// out at once so that each start precedes the program's output.
    fn release_execs(&mut self, now: Instant) {
        while let Some(ready) = self.execs.pop_ready() {
            self.report_exec(ready, now);
        }
        if self.execs.is_empty() {
            self.pipes.release_all();
        }
    }

    fn report_exec(
        &mut self,
        (pid, id, outcome): (u32, InstanceId, Result<(), SpawnError>),
        now: Instant,
    ) {
        let _ = match outcome {
            Ok(()) => self.core.spawned(now, &id, pid),
            Err(error) => self.core.spawn_failed(now, &id, error),
        };
        if self.execs.is_empty() {
            self.pipes.release_all();
        }
        self.settle(now);
    }

    /// Reaps every ended child. An instance's pipes are drained first, so its last lines come
    /// before the news of its exit.
    fn reap(&mut self, now: Instant) {
        while let Some((pid, status)) = reap_one() {
            if self.probes.owns(pid) {
                self.probe_exited(now, pid, status);
                continue;
            }
            // Starts asked for before this exit are reported before it, as when spawning
            // waited for each exec: wait (bounded) for the pending execs, report them in
            // order, and only then this process's own start if it is still pending.
            if !self.execs.is_empty() {
                self.execs.wait_all(self.options.exec_wait);
                self.release_execs(now);
                if let Some(ready) = self.execs.force(pid) {
                    self.report_exec(ready, now);
                }
            }
            self.drain_pipes_of(pid);
            self.inputs.remove_pid(pid);
            match self.core.exited(now, pid, status) {
                ExitOwner::Instance(id) => {
                    if self.cgroups.is_none() {
                        self.leftovers.exited(&id, pid);
                    }
                }
                ExitOwner::Unknown if self.execs.take_failed(pid) => {}
                ExitOwner::Unknown => self.events.push(Event::Reaped { pid, status }),
            }
        }
    }

    fn drain_pipes_of(&mut self, pid: u32) {
        for event in self.pipes.drain_pid(pid) {
            self.push_event(event);
        }
    }

    /// Carries out the core's effects (which may cause more), then moves its events over.
    fn settle(&mut self, now: Instant) {
        // One snapshot of the process table serves every tree signal of the batch: a shutdown
        // signals every instance at once, and reading /proc once per instance made stopping
        // 50 processes take 150 ms.
        let mut table = None;
        loop {
            let effects: Vec<Effect> = self.core.drain_effects().collect();
            if effects.is_empty() {
                break;
            }
            // Tree signals to cgroups go as one batch: every cgroup frozen, then signalled,
            // then thawed, rather than one freeze-and-wait after another.
            let mut cgroup_signals = Vec::new();
            for effect in effects {
                match effect {
                    Effect::Signal { id, signal, scope: SignalScope::Tree, .. }
                        if self.cgroups.is_some() =>
                    {
                        let signal = if self.killing_all { Signal::KILL } else { signal };
                        cgroup_signals.push((id, signal));
                    }
                    other => self.carry_out(other, now, &mut table),
                }
            }
            if let Some(cgroups) = &self.cgroups {
                cgroups.signal(&cgroup_signals);
            }
        }
        let events: Vec<core::Event> = self.core.drain_events().collect();
        for event in events {
            match &event {
                core::Event::ShutdownComplete => {
                    self.begin_sweep(now);
                    continue;
                }
                // A stopped instance leaves nothing behind, even what ignored the stop signal
                // and outlived the instance's own process.
                // (Unless it was started again meanwhile: the spawn killed them then.)
                core::Event::State(t)
                    if t.to == crate::core::State::Stopped
                        && self.core.state(&t.id) == Some(crate::core::State::Stopped) =>
                {
                    match &self.cgroups {
                        Some(cgroups) => cgroups.kill_leftovers(&t.id),
                        None => self.kill_group_leftovers(&t.id),
                    }
                }
                core::Event::Removed(id) => {
                    if let Some(cgroups) = &mut self.cgroups {
                        cgroups.forget(id);
                    }
                    self.leftovers.forget(id);
                }
                _ => {}
            }
            self.track_readiness(&event, now);
            self.events.push(event.into());
        }
    }

    /// `table` is the batch's process table, read at the first tree signal and dropped at a
    /// spawn (a new process is not in an older snapshot).
    fn carry_out(&mut self, effect: Effect, now: Instant, table: &mut Option<ProcessTable>) {
        match effect {
            Effect::Spawn(id) => {
                *table = None;
                // A long run of spawns looks for a signal that ends everything between two
                // of them; once it came, no spawn is made any more.
                if !self.killing_all && self.take_signals() {
                    self.kill_all_now(now);
                }
                if self.killing_all {
                    let error = SpawnError {
                        kind: crate::core::SpawnErrorKind::Other,
                        errno: None,
                        message: format!("{id} was not started: everything is being killed"),
                    };
                    let _ = self.core.spawn_failed(now, &id, error);
                } else {
                    self.spawn_instance(&id, now);
                }
            }
            Effect::Signal { pid, signal, scope, .. } => match scope {
                SignalScope::Process => signal_process(pid, signal),
                // Every descendant already had SIGKILL from `kill_all`: no walk of /proc per
                // instance (with a thousand of them, that walk made the kill take seconds).
                SignalScope::Tree if self.killing_all => {
                    signal_group(pid, Signal::KILL);
                    signal_process(pid, Signal::KILL);
                }
                SignalScope::Tree => {
                    signal_tree(table.get_or_insert_with(ProcessTable::read), pid, signal);
                }
            },
        }
    }

    fn spawn_instance(&mut self, id: &InstanceId, now: Instant) {
        // The new process starts without what the previous one left in its process group
        // (with cgroups, `prepare_spawn` empties the instance's cgroup instead).
        if self.cgroups.is_none() {
            self.kill_group_leftovers(id);
        }
        let Some(spec) = self.core.spec(&id.group) else { return };
        let launch = spec.launch(id.index);
        let procs = match self.cgroups.as_mut().map(|cgroups| cgroups.prepare_spawn(id)) {
            Some(Ok(procs)) => Some(procs),
            Some(Err(err)) => {
                let error = SpawnError {
                    kind: crate::core::SpawnErrorKind::Resources,
                    errno: err.raw_os_error(),
                    message: format!("cannot create the cgroup of {id}: {err}"),
                };
                let _ = self.core.spawn_failed(now, id, error);
                return;
            }
            None => None,
        };
        let Some(spec) = self.core.spec(&id.group) else { return };
        let wants_pty = spec.stdout == crate::spec::OutputSpec::Pty;
        let options = SpawnOptions {
            die_with_parent: self.options.die_with_parent,
            cgroup_procs: procs.as_ref().map(AsRawFd::as_raw_fd),
            pty: if wants_pty { self.inputs.pty_window() } else { None },
        };
        let result = spawn(spec, &launch, options);
        // Our copy of `cgroup.procs` is not needed once the child has forked.
        drop(procs);
        match result {
            Ok(spawned) => {
                for (fd, stream, pty) in [
                    (spawned.stdout, event::Stream::Stdout, spawned.on_pty),
                    (spawned.stderr, event::Stream::Stderr, false),
                ] {
                    if let Some(fd) = fd {
                        // A pipe that cannot be registered is dropped; the child then gets
                        // EPIPE on write, which is better than a pipe nobody reads.
                        let source = (id.clone(), spawned.pid, stream);
                        let _ = self.pipes.add(&self.poll, fd, source, pty);
                    }
                }
                let pty = (wants_pty, spawned.on_pty, spawned.pty_error);
                if let Some(event) = self.inputs.spawned(id, spawned.pid, spawned.input, pty) {
                    self.events.push(event);
                }
                let registered = self.execs.add(
                    &self.poll,
                    spawned.pid,
                    id.clone(),
                    spawned.exec_status,
                    spawned.context,
                );
                if registered.is_err() {
                    // Without its status pipe the exec cannot be confirmed later; a running
                    // child is the likely case, and a failed exec shows as its exit (127).
                    let _ = self.core.spawned(now, id, spawned.pid);
                }
            }
            Err(error) => {
                let _ = self.core.spawn_failed(now, id, error);
            }
        }
    }
}

impl Driver {
    /// SIGKILL to the members of `id`'s last process group still alive in the tree. Not
    /// during a shutdown: its sweep kills every stray at once, with one walk of `/proc`.
    fn kill_group_leftovers(&mut self, id: &InstanceId) {
        if self.core.is_shutting_down() {
            return;
        }
        let live: Vec<u32> = self.core.live_pids().map(|(pid, _)| pid).collect();
        self.leftovers.kill(id, self.self_pid, live);
    }
}

impl AsRawFd for Driver {
    /// The poll instance's descriptor: readable when the driver has something to process.
    fn as_raw_fd(&self) -> RawFd {
        self.poll.as_raw_fd()
    }
}

impl AsFd for Driver {
    /// The poll instance's descriptor, for safe polling APIs (`nix::poll`, `rustix`): readable
    /// when the driver has something to process.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.poll.registry().as_fd()
    }
}
