//! The readiness checks of the driver: mechanisms that tell the core an instance is ready.
//!
//! A check starts when an instance of a group with one becomes `Starting` (with a pid), and
//! ends when it leaves that state, whatever the reason (ready, exited, stopped, not ready in
//! time: the core owns the timeout). Each kind works inside the poll loop, without waiting
//! and without polling on a timer of its own: attempts are deadlines of the loop.
//!
//! - **Port**: a non-blocking connect to `127.0.0.1:PORT` and `[::1]:PORT`, registered for
//!   writability; the first to connect makes the instance ready. An attempt begins every
//!   `interval`; one still pending then is dropped.
//! - **Command**: spawned like an instance (its own process group, the instance's
//!   environment and working directory, output discarded); exit code 0 makes the instance
//!   ready, another code tries again `interval` after the attempt began. Killed when the
//!   instance leaves `Starting`.
//! - **Output line**: each line the instance writes is given to the matcher until one passes.
//! - **Manual**: nothing here; the host calls [`Driver::mark_ready`].

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Token};

use super::{Driver, Event, Output};
use crate::core::{self, InstanceId, State};
use crate::error::RequestError;
use crate::signal::Signal;
use crate::spec::{CommandSpec, Launch, LineTest, ProgramSpec, ReadyCheck, ReadyPort};
use crate::sys::reap::{signal_group, signal_process};
use crate::sys::spawn::{FailureContext, SpawnOptions, spawn};

/// Tokens of probe sockets: this base plus the socket's slot (the layout of every token is in
/// `reactor/mod.rs`).
const PROBE_BASE: usize = 1 << 38;
/// Tokens up to here are probe sockets.
const PROBE_END: usize = PROBE_BASE + (1 << 32);

/// The slot of a probe socket's token, if `token` is one.
pub(super) fn probe_slot(token: Token) -> Option<usize> {
    (PROBE_BASE..PROBE_END).contains(&token.0).then(|| token.0 - PROBE_BASE)
}

/// The readiness checks under way, one per starting instance with a port, command or line
/// check.
#[derive(Default)]
pub(super) struct Probes {
    by_instance: HashMap<InstanceId, Probe>,
    /// Probe commands running, by pid.
    commands: HashMap<u32, InstanceId>,
    /// Probe commands killed and not reaped yet: their exit is no news.
    retired: HashSet<u32>,
    /// Connect attempts, by slot.
    sockets: Vec<Option<(InstanceId, TcpStream)>>,
}

struct Probe {
    /// The instance's process the check is for.
    pid: u32,
    interval: std::time::Duration,
    kind: ProbeKind,
    /// When the next attempt begins (`None`: an attempt runs until it ends, or no more
    /// attempts).
    next_at: Option<Instant>,
}

enum ProbeKind {
    Port(u16),
    Command {
        command: CommandSpec,
        /// The attempt running: its pid, when it began, and its exec-status pipe.
        running: Option<(u32, Instant, OwnedFd, FailureContext)>,
    },
    Line(LineTest),
}

impl Probes {
    /// The earliest attempt due.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.by_instance.values().filter_map(|p| p.next_at).min()
    }

    /// Whether `pid` is a probe command's (running or killed), whose exit is the driver's.
    pub(super) fn owns(&self, pid: u32) -> bool {
        self.commands.contains_key(&pid) || self.retired.contains(&pid)
    }

    fn close_sockets_of(&mut self, id: &InstanceId) {
        for slot in &mut self.sockets {
            if slot.as_ref().is_some_and(|(owner, _)| owner == id) {
                // Dropping the stream closes it, which also takes it out of the poll set.
                *slot = None;
            }
        }
    }

    /// Ends the check of `id`: sockets closed, a running command killed.
    fn cancel(&mut self, id: &InstanceId) {
        self.close_sockets_of(id);
        let Some(probe) = self.by_instance.remove(id) else { return };
        if let ProbeKind::Command { running: Some((pid, ..)), .. } = probe.kind {
            kill_probe(pid);
            self.commands.remove(&pid);
            self.retired.insert(pid);
        }
    }
}

impl Drop for Probes {
    /// Probe commands do not outlive the driver (they are reaped by no one then, like an
    /// instance of a driver dropped before its shutdown finished).
    fn drop(&mut self) {
        for pid in self.commands.keys() {
            kill_probe(*pid);
        }
    }
}

/// SIGKILL to a probe command's process group and to itself.
fn kill_probe(pid: u32) {
    signal_group(pid, Signal::KILL);
    signal_process(pid, Signal::KILL);
}

impl Driver {
    /// Reports that instance `id` is ready, for a [`ReadyCheck::Manual`] check (or to end the
    /// start grace of an instance without a check early). See [`crate::Supervisor::ready`].
    ///
    /// # Errors
    /// See there.
    pub fn mark_ready(&mut self, id: &InstanceId) -> Result<(), RequestError> {
        self.request(|core, now| core.ready(now, id))
    }

    /// Starts or ends checks as instances enter or leave `Starting`.
    pub(super) fn track_readiness(&mut self, event: &core::Event, now: Instant) {
        let core::Event::State(t) = event else { return };
        if t.from == State::Starting && t.to != State::Starting {
            self.probes.cancel(&t.id);
        }
        if t.to != State::Starting {
            return;
        }
        let Some(pid) = t.pid else { return };
        let Some(spec) = self.core.spec(&t.id.group) else { return };
        let Some(readiness) = &spec.readiness else { return };
        let kind = match &readiness.check {
            ReadyCheck::Manual => return,
            ReadyCheck::OutputLine(matcher) => ProbeKind::Line(matcher.matches.clone()),
            ReadyCheck::Command(command) => {
                ProbeKind::Command { command: command.clone(), running: None }
            }
            ReadyCheck::Port(port) => match port_of(spec, &spec.launch(t.id.index), port) {
                Ok(port) => ProbeKind::Port(port),
                Err(message) => {
                    let message = format!("cannot check that {} is ready: {message}", t.id);
                    self.events.push(Event::ReadinessCheckFailed { id: t.id.clone(), message });
                    return;
                }
            },
        };
        let next_at = (!matches!(kind, ProbeKind::Line(_))).then_some(now);
        let probe = Probe { pid, interval: readiness.interval, kind, next_at };
        self.probes.cancel(&t.id);
        self.probes.by_instance.insert(t.id.clone(), probe);
    }

    /// Queues an instance's output for the host, after showing it to the instance's line
    /// check, if it has one that has not passed yet.
    /// Queues an event read from the pipes, first testing an `Output`'s lines against its
    /// instance's log-line check.
    pub(super) fn push_event(&mut self, event: Event) {
        match event {
            Event::Output(output) => self.push_output(output),
            other => self.events.push(other),
        }
    }

    pub(super) fn push_output(&mut self, output: Output) {
        let matched = match self.probes.by_instance.get(&output.id) {
            Some(Probe { pid, kind: ProbeKind::Line(test), .. }) if *pid == output.pid => {
                output.lines().any(|line| test(line))
            }
            _ => false,
        };
        if matched {
            // Cancelled by the transition to Running.
            let _ = self.core.ready(Instant::now(), &output.id);
        }
        self.events.push(Event::Output(output));
    }

    /// Takes the exit of a probe command; `false` if `pid` is not one.
    pub(super) fn probe_exited(
        &mut self,
        now: Instant,
        pid: u32,
        status: core::ExitStatus,
    ) -> bool {
        if self.probes.retired.remove(&pid) {
            return true;
        }
        let Some(id) = self.probes.commands.remove(&pid) else { return false };
        let Some(probe) = self.probes.by_instance.get_mut(&id) else { return true };
        let ProbeKind::Command { running, .. } = &mut probe.kind else { return true };
        let Some((_, began, status_pipe, context)) = running.take() else { return true };
        if status == core::ExitStatus::Code(0) {
            let _ = self.core.ready(now, &id);
            return true;
        }
        // The child wrote a failure record before exiting if the command could not be run:
        // retrying cannot help.
        let mut record = Vec::new();
        let _ = std::fs::File::from(status_pipe).read_to_end(&mut record);
        if record.is_empty() {
            probe.next_at = Some((began + probe.interval).max(now));
        } else {
            let error = context.error(&record);
            let message = format!("cannot run the readiness check of {id}: {error}");
            self.events.push(Event::ReadinessCheckFailed { id, message });
        }
        true
    }

    /// Begins the attempts that are due and looks at the sockets that became ready.
    pub(super) fn advance_probes(&mut self, now: Instant, ready_slots: &[usize]) {
        for slot in ready_slots {
            self.finish_connect(*slot, now);
        }
        let due: Vec<InstanceId> = self
            .probes
            .by_instance
            .iter()
            .filter(|(_, p)| p.next_at.is_some_and(|at| at <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            self.begin_attempt(&id, now);
        }
        self.settle(now);
    }

    fn begin_attempt(&mut self, id: &InstanceId, now: Instant) {
        let Some(probe) = self.probes.by_instance.get_mut(id) else { return };
        match &probe.kind {
            ProbeKind::Port(port) => {
                let port = *port;
                probe.next_at = Some(now + probe.interval);
                // A connect still pending from the last attempt is given up.
                self.probes.close_sockets_of(id);
                self.connect(id, port);
            }
            ProbeKind::Command { command, .. } => {
                probe.next_at = None;
                let command = command.clone();
                self.spawn_probe(id, command, now);
            }
            ProbeKind::Line(_) => probe.next_at = None,
        }
    }

    /// Opens the connections of one port attempt.
    fn connect(&mut self, id: &InstanceId, port: u16) {
        let addresses = [
            SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
        ];
        for address in addresses {
            // Refused at once (nothing listens, no IPv6): this address failed this attempt.
            let Ok(mut stream) = TcpStream::connect(address) else { continue };
            let sockets = &mut self.probes.sockets;
            let slot = sockets.iter().position(Option::is_none).unwrap_or(sockets.len());
            let token = Token(PROBE_BASE + slot);
            if self.poll.registry().register(&mut stream, token, Interest::WRITABLE).is_err() {
                continue;
            }
            if slot == sockets.len() {
                sockets.push(Some((id.clone(), stream)));
            } else {
                sockets[slot] = Some((id.clone(), stream));
            }
        }
    }

    /// A probe socket is writable: connected (ready) or refused.
    fn finish_connect(&mut self, slot: usize, now: Instant) {
        let Some(Some((id, stream))) = self.probes.sockets.get(slot) else { return };
        let connected = match stream.take_error() {
            Ok(None) => match stream.peer_addr() {
                Ok(_) => true,
                // Not connected yet: a spurious wake-up; keep waiting.
                Err(err) if err.kind() == std::io::ErrorKind::NotConnected => return,
                Err(_) => false,
            },
            Ok(Some(_)) | Err(_) => false,
        };
        let id = id.clone();
        self.probes.sockets[slot] = None;
        if connected {
            // Cancelled (sockets closed) by the transition to Running.
            let _ = self.core.ready(now, &id);
        }
    }

    /// Spawns one attempt of a command check, with the instance's environment and working
    /// directory.
    fn spawn_probe(&mut self, id: &InstanceId, command: CommandSpec, now: Instant) {
        let Some(spec) = self.core.spec(&id.group) else { return };
        let launch = spec.launch(id.index);
        // A spec of its own rather than the instance's: the probe takes the instance's
        // environment, directory and umask, and the defaults for everything else (its output
        // discarded, no terminal, no stdin).
        let mut probe_spec = ProgramSpec::new(spec.name.clone(), command.clone());
        probe_spec.cwd.clone_from(&spec.cwd);
        probe_spec.env.clone_from(&spec.env);
        probe_spec.umask = spec.umask;
        probe_spec.stdout = crate::spec::OutputSpec::Null;
        probe_spec.stderr = crate::spec::OutputSpec::Null;
        let probe_launch = Launch { command, env: launch.env };
        // In the instance's cgroup: a check that forks (`sh -c '...'`) is contained like the
        // instance, and ends with it even when procman is killed.
        let procs = self.cgroups.as_ref().and_then(|cgroups| cgroups.procs_of(id));
        let options = SpawnOptions {
            die_with_parent: self.options.die_with_parent,
            cgroup_procs: procs.as_ref().map(AsRawFd::as_raw_fd),
            pty: None,
        };
        match spawn(&probe_spec, &probe_launch, options) {
            Ok(spawned) => {
                self.probes.commands.insert(spawned.pid, id.clone());
                if let Some(ProbeKind::Command { running, .. }) =
                    self.probes.by_instance.get_mut(id).map(|p| &mut p.kind)
                {
                    *running = Some((spawned.pid, now, spawned.exec_status, spawned.context));
                }
            }
            Err(error) => {
                let message = format!("cannot run the readiness check of {id}: {error}");
                self.events.push(Event::ReadinessCheckFailed { id: id.clone(), message });
            }
        }
    }
}

/// The port of a port check for one instance.
fn port_of(spec: &ProgramSpec, launch: &Launch, port: &ReadyPort) -> Result<u16, String> {
    let name = match port {
        ReadyPort::Number(number) => return Ok(*number),
        ReadyPort::Env(name) => name,
    };
    let value = env_value(spec, launch, name)
        .ok_or_else(|| format!("`{}` is not set in its environment", name.to_string_lossy()))?;
    value.to_str().and_then(|v| v.trim().parse::<u16>().ok()).filter(|p| *p != 0).ok_or_else(|| {
        format!("`{}` is `{}`, not a port number", name.to_string_lossy(), value.display())
    })
}

/// A variable of an instance's environment, as it is built for the spawn: the launch's
/// variables, then the group's, then the inherited ones (unless cleared or removed).
fn env_value(spec: &ProgramSpec, launch: &Launch, name: &OsString) -> Option<OsString> {
    let last = |pairs: &[(OsString, OsString)]| {
        pairs.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.clone())
    };
    last(&launch.env).or_else(|| last(&spec.env.set)).or_else(|| {
        let inherited = !spec.env.clear && !spec.env.remove.contains(name);
        inherited.then(|| std::env::var_os(name)).flatten()
    })
}
