//! Tests of the control socket against a real [`Driver`] running real processes: the test
//! thread drives the poll loop (as `procman start` does) while a client on a second thread
//! talks to the server through a real socket. Every wait is bounded; every process a test
//! starts is a child of its driver and is stopped (SIGKILL at the stop timeout, then the
//! sweep) when the rig drops, pass or fail.

mod attach;
mod budget;
mod commands;
mod reload;
mod security;
mod session;

use std::path::PathBuf;
use std::sync::MutexGuard;
use std::thread;
use std::time::{Duration, Instant};

use supervise::{CommandSpec, Driver, DriverOptions, Event, InstanceId, ProgramSpec, State};

use super::RunCommand;
use super::reload::Reload;
use super::server::ControlServer;

/// The longest any single wait may take before the test fails.
pub(super) const WAIT: Duration = Duration::from_secs(15);

/// A driver reaps every child of the test process: see `crate::test_support::serial_children`.
pub(super) fn lock_drivers() -> MutexGuard<'static, ()> {
    crate::test_support::serial_children()
}

/// `sleep 30` in `instances` copies, quick to count as started and to stop.
pub(super) fn sleeper(name: &str, instances: u32) -> ProgramSpec {
    shell(name, instances, "exec sleep 30")
}

/// A `sh -c SCRIPT` program.
pub(super) fn shell(name: &str, instances: u32, script: &str) -> ProgramSpec {
    let mut spec = ProgramSpec::new(name, CommandSpec::new("sh").args(["-c", script]));
    spec.instances = instances;
    spec.start_grace = Duration::from_millis(50);
    spec.stop_timeout = Duration::from_secs(2);
    spec
}

/// A driver with some groups started and a control server on a socket in a temporary
/// directory.
pub(super) struct Rig {
    pub(super) driver: Driver,
    pub(super) server: ControlServer,
    pub(super) path: PathBuf,
    pub(super) dir: tempfile::TempDir,
    /// What the server asked of the run.
    pub(super) commands: Vec<RunCommand>,
    /// Every event other than readiness, in order.
    pub(super) events: Vec<Event>,
    /// What carries out `reload` requests (`None`: they are refused).
    pub(super) reload: Option<Box<dyn Reload>>,
    // Last, so it is released after the driver has cleaned up.
    _lock: MutexGuard<'static, ()>,
}

impl Rig {
    pub(super) fn new(specs: Vec<ProgramSpec>) -> Rig {
        let lock = lock_drivers();
        let mut driver = Driver::new(DriverOptions::default()).expect("a driver");
        let names: Vec<String> = specs.iter().map(|s| s.name.to_string()).collect();
        for spec in specs {
            driver.add_group(spec).expect("a valid spec");
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join(".procman.sock");
        let mut server = ControlServer::bind(&path).expect("the control socket");
        server.register(&mut driver).expect("watch the listener");
        for name in &names {
            driver.start_group(name).expect("start");
        }
        Rig {
            driver,
            server,
            path,
            dir,
            commands: Vec::new(),
            events: Vec::new(),
            reload: None,
            _lock: lock,
        }
    }

    /// One turn of the loop, as the session runs it.
    pub(super) fn turn(&mut self) {
        let wait =
            if self.server.has_backlog() { Duration::ZERO } else { Duration::from_millis(20) };
        self.driver.turn(Some(wait)).expect("a turn");
        let events: Vec<Event> = self.driver.drain_events().collect();
        for event in events {
            self.server.publish(&event, &mut self.driver);
            match event {
                Event::Ready(watch) => {
                    let reload = self.reload.as_deref_mut();
                    let commands = self.server.on_ready(watch, &mut self.driver, reload);
                    self.commands.extend(commands);
                }
                other => self.events.push(other),
            }
        }
        let reload = self.reload.as_deref_mut();
        let commands = self.server.service_backlog(&mut self.driver, reload);
        self.commands.extend(commands);
    }

    /// Turns until `done` holds (bounded).
    pub(super) fn wait_until(&mut self, what: &str, mut done: impl FnMut(&Rig) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            self.turn();
        }
    }

    pub(super) fn state(&self, id: &str) -> Option<State> {
        self.driver.supervisor().state(&parse_id(id))
    }

    pub(super) fn pid(&self, id: &str) -> Option<u32> {
        let id = parse_id(id);
        self.driver.snapshot().into_iter().find(|i| i.id == id).and_then(|i| i.pid)
    }

    /// Waits until every listed instance is running.
    pub(super) fn wait_running(&mut self, ids: &[&str]) {
        let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
        self.wait_until("the instances to run", |rig| {
            ids.iter().all(|id| rig.state(id) == Some(State::Running))
        });
    }

    /// Runs `client` on another thread, with the socket's path, while this thread drives the
    /// loop; returns what it returns (or re-raises its panic).
    pub(super) fn with_client<T: Send + 'static>(
        &mut self,
        client: impl FnOnce(PathBuf) -> T + Send + 'static,
    ) -> T {
        let path = self.path.clone();
        let handle = thread::spawn(move || client(path));
        let deadline = Instant::now() + WAIT;
        while !handle.is_finished() {
            assert!(Instant::now() < deadline, "timed out waiting for the client");
            self.turn();
        }
        match handle.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// The notices the server produced so far.
    pub(super) fn notices(&self) -> Vec<String> {
        self.commands
            .iter()
            .filter_map(|c| match c {
                RunCommand::Notice(text) => Some(text.clone()),
                RunCommand::StopAll | RunCommand::Reloaded(_) => None,
            })
            .collect()
    }

    /// Shuts the driver down and waits (bounded) until every process is gone.
    pub(super) fn finish(&mut self) {
        self.driver.shutdown();
        let deadline = Instant::now() + WAIT;
        while !self.driver.is_finished() && Instant::now() < deadline {
            let _ = self.driver.turn(Some(Duration::from_millis(50)));
            let _ = self.driver.drain_events().count();
        }
        self.server.close();
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if !self.driver.is_finished() {
            self.finish();
        }
    }
}

pub(super) fn parse_id(text: &str) -> InstanceId {
    text.parse().expect("NAME.N")
}
