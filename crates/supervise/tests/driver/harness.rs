//! The harness of the real-process tests: a [`Run`] owns a `Driver`, records every event with
//! the time it was drained, waits on conditions with a bounded deadline (never a fixed sleep),
//! and cleans up on every path, failures included. Processes are read from `/proc` through the
//! procfs crate (the library's own parser) and signalled with nix.
//!
//! # Why the tests run one at a time
//!
//! The `Driver` reaps with `waitpid(-1)`: it collects the exit status of *any* child of the
//! process. Two drivers in one process (the test harness runs tests on parallel threads of one
//! process) would steal each other's children, and a test's own `std::process::Command` would
//! lose its status to a driver. So every test takes [`LOCK`] for its whole duration, through
//! [`Run::new`]; a test that does not use a driver but spawns processes must take it too.

use std::fs;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use supervise::{
    CommandSpec, Driver, DriverOptions, Event, InstanceId, Output, ProgramSpec, State, Stream,
    Transition,
};

/// Serialises the tests of this binary (see the module documentation).
pub static LOCK: Mutex<()> = Mutex::new(());

/// How long any wait may last before the test fails: long enough for a loaded machine (other
/// test runs and builds share its two cores), so that only a hang fails a test. Programs the
/// tests expect to be stopped run far longer (`sleep 300`), so outliving this bound cannot
/// pass for being stopped.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The longest single wait inside `turn`.
const TURN: Duration = Duration::from_millis(100);

/// One test's driver and everything it reported.
pub struct Run {
    pub driver: Driver,
    /// Every event, with the time it was drained.
    pub log: Vec<(Instant, Event)>,
    /// What the test changed in the process (its standard input, say), put back after the
    /// driver is dropped and before the next test may start (fields drop in this order).
    held: Vec<Box<dyn std::any::Any>>,
    _serial: MutexGuard<'static, ()>,
}

impl Run {
    /// A driver with the default options (subreaper, parent-death signal).
    pub fn new() -> Run {
        Run::with_options(DriverOptions::default())
    }

    pub fn with_options(options: DriverOptions) -> Run {
        let serial = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        // A previous test that failed may have left zombies; this one starts clean.
        assert_no_zombies("before the test");
        let driver = Driver::new(options).expect("driver");
        Run { driver, log: Vec::new(), held: Vec::new(), _serial: serial }
    }

    /// Keeps `guard` until the driver is gone, still under [`LOCK`]: a change to the process
    /// (descriptor 0 closed, say) is undone before another test's driver can exist.
    pub fn hold(&mut self, guard: impl std::any::Any) {
        self.held.push(Box::new(guard));
    }

    pub fn add(&mut self, spec: ProgramSpec) {
        self.driver.add_group(spec).expect("add group");
    }

    /// Adds `spec`'s group and starts it; returns the id of its first instance.
    pub fn start(&mut self, spec: ProgramSpec) -> InstanceId {
        let name = spec.name.clone();
        self.add(spec);
        self.driver.start_group(&name).expect("start");
        id(&name, 1)
    }

    /// One turn of at most 100 ms, recording what it produced.
    pub fn turn(&mut self) {
        self.driver.turn(Some(TURN)).expect("turn");
        self.collect();
    }

    /// Records the events queued by a request.
    pub fn collect(&mut self) {
        let now = Instant::now();
        let events: Vec<Event> = self.driver.drain_events().collect();
        self.log.extend(events.into_iter().map(|e| (now, e)));
    }

    /// Turns until `done` holds, failing after [`DEADLINE`] with the log.
    pub fn wait_until(&mut self, what: &str, mut done: impl FnMut(&Run) -> bool) {
        self.collect();
        let limit = Instant::now() + DEADLINE;
        while !done(self) {
            assert!(
                Instant::now() < limit,
                "timed out waiting for {what}; events:\n{:#?}",
                self.log
            );
            self.turn();
        }
    }

    /// Waits for `id` to reach `state`; returns that transition.
    pub fn wait_state(&mut self, id: &InstanceId, state: State) -> Transition {
        self.wait_until(&format!("{id} to be {state}"), |run| {
            run.transitions(id).iter().any(|t| t.to == state)
        });
        self.transitions(id).into_iter().find(|t| t.to == state).expect("just seen")
    }

    /// Waits for `id` to reach `state` for the `nth` time (1-based).
    pub fn wait_state_nth(&mut self, id: &InstanceId, state: State, nth: usize) -> Transition {
        self.wait_until(&format!("{id} to be {state} {nth} times"), |run| {
            run.transitions(id).iter().filter(|t| t.to == state).count() >= nth
        });
        self.transitions(id).into_iter().filter(|t| t.to == state).nth(nth - 1).expect("seen")
    }

    /// Waits for a line of output of `id` that satisfies `test`; returns it.
    pub fn wait_line(&mut self, id: &InstanceId, mut test: impl FnMut(&str) -> bool) -> String {
        self.wait_until(&format!("a line from {id}"), |run| {
            run.lines(id, None).iter().any(|l| test(l))
        });
        self.lines(id, None).into_iter().find(|l| test(l)).expect("just seen")
    }

    /// Waits for a line `pid=N` from the first instance of `group` (a test program announcing
    /// a process it started) and returns N.
    pub fn announced_pid(&mut self, group: &str) -> u32 {
        let line = self.wait_line(&id(group, 1), |l| l.starts_with("pid="));
        line["pid=".len()..].parse().expect("a pid")
    }

    /// Waits until process `pid` no longer exists (it died and was reaped by someone).
    pub fn wait_gone(&mut self, pid: u32) {
        self.wait_until(&format!("process {pid} to be gone"), |_| !exists(pid));
    }

    /// Every state transition of `id`, in order.
    pub fn transitions(&self, id: &InstanceId) -> Vec<Transition> {
        self.log
            .iter()
            .filter_map(|(_, e)| match e {
                Event::State(t) if &t.id == id => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every output chunk of `id`, in order.
    pub fn outputs(&self, id: &InstanceId) -> Vec<Output> {
        self.log
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Output(o) if &o.id == id => Some(o.clone()),
                _ => None,
            })
            .collect()
    }

    /// The lines `id` wrote, on one stream or (with `None`) on both.
    pub fn lines(&self, id: &InstanceId, stream: Option<Stream>) -> Vec<String> {
        self.outputs(id)
            .iter()
            .filter(|o| stream.is_none_or(|s| s == o.stream))
            .flat_map(|o| {
                o.lines().map(|l| String::from_utf8_lossy(l).into_owned()).collect::<Vec<_>>()
            })
            .collect()
    }

    /// Every line of `id` came before the news of its (first) exit.
    pub fn assert_output_before_exit(&self, id: &InstanceId) {
        let last_output = self
            .log
            .iter()
            .rposition(|(_, e)| matches!(e, Event::Output(o) if &o.id == id))
            .expect("output");
        let exit = self
            .log
            .iter()
            .position(|(_, e)| matches!(e, Event::State(t) if &t.id == id && t.to == State::Exited))
            .expect("exit");
        assert!(last_output < exit, "the last line of {id} came after its exit");
    }

    /// The first pid `id` ran with.
    pub fn pid(&self, id: &InstanceId) -> u32 {
        self.transitions(id).iter().find_map(|t| t.pid).expect("the instance has run")
    }

    /// Shuts down, drives the driver to its end, and checks that no zombie is left.
    pub fn finish(mut self) {
        if !self.driver.is_finished() {
            self.driver.shutdown();
            self.wait_until("the shutdown to finish", |run| run.driver.is_finished());
            let last = self.log.last().map(|(_, e)| e.clone());
            assert_eq!(last, Some(Event::ShutdownComplete), "ShutdownComplete comes last");
        }
        assert_no_zombies("after the shutdown");
        assert_eq!(self.driver.supervisor().live_pids().count(), 0);
    }
}

impl Drop for Run {
    /// On a failure path, still stop everything (and never hang): shutdown, drive to the end,
    /// then SIGKILL whatever instance is somehow still alive.
    fn drop(&mut self) {
        if !self.driver.is_finished() {
            self.driver.shutdown();
            let limit = Instant::now() + DEADLINE;
            while !self.driver.is_finished() && Instant::now() < limit {
                if self.driver.turn(Some(TURN)).is_err() {
                    break;
                }
                self.driver.drain_events().for_each(drop);
            }
        }
        let left: Vec<u32> = self.driver.supervisor().live_pids().map(|(pid, _)| pid).collect();
        for pid in left {
            kill(pid, libc::SIGKILL);
        }
    }
}

/// A group running `sh -c script`, with test-friendly settings: no restart, no start grace,
/// a 5 s stop timeout.
pub fn sh(name: &str, script: &str) -> ProgramSpec {
    let mut spec = ProgramSpec::new(name, CommandSpec::new("sh").args(["-c", script]));
    spec.start_grace = Duration::ZERO;
    spec.stop_timeout = Duration::from_secs(5);
    spec
}

pub fn id(group: &str, n: u32) -> InstanceId {
    InstanceId::new(group, n)
}

/// Whether `/proc/PID` exists (a zombie still does).
pub fn exists(pid: u32) -> bool {
    fs::metadata(format!("/proc/{pid}")).is_ok()
}

/// From `/proc/PID/stat`: state, ppid, pgrp, session. `None` off Linux.
pub fn stat(pid: u32) -> Option<(char, u32, u32, u32)> {
    #[cfg(target_os = "linux")]
    {
        let stat = procfs::process::Process::new(i32::try_from(pid).ok()?).ok()?.stat().ok()?;
        let number = |n: i32| u32::try_from(n).ok();
        Some((stat.state, number(stat.ppid)?, number(stat.pgrp)?, number(stat.session)?))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        None
    }
}

/// The children of `pid`, as they are now (none off Linux).
pub fn children_of(pid: u32) -> Vec<u32> {
    #[cfg(target_os = "linux")]
    {
        let process = i32::try_from(pid).ok().and_then(|p| procfs::process::Process::new(p).ok());
        process
            .and_then(|p| p.task_main_thread().ok())
            .and_then(|task| task.children().ok())
            .unwrap_or_default()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        Vec::new()
    }
}

/// Zombie children of this process.
pub fn zombies() -> Vec<u32> {
    children_of(std::process::id())
        .into_iter()
        .filter(|pid| stat(*pid).is_some_and(|(state, ..)| state == 'Z'))
        .collect()
}

pub fn assert_no_zombies(when: &str) {
    let zombies = zombies();
    assert!(zombies.is_empty(), "zombie children {when}: {zombies:?}");
}

/// Sends `signal` to `pid`; a process already gone is not an error.
pub fn kill(pid: u32, signal: libc::c_int) {
    let signal = nix::sys::signal::Signal::try_from(signal).expect("a signal");
    if let Ok(pid) = i32::try_from(pid) {
        if pid > 1 {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
        }
    }
}

/// A fresh empty directory under the system's temporary directory, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("supervise-test-{}-{tag}-{n}", std::process::id()));
        fs::create_dir_all(&path).expect("temp dir");
        TempDir(path.canonicalize().expect("canonical temp dir"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A daemon whose main thread exits while another thread runs on: its `/proc/PID/stat` then
/// reads `Z` like a zombie's. The thread prints `LEADERLESS PID` once the main thread is gone.
/// (procman's CLI tests use it too.)
pub const LEADERLESS_PY: &str = include_str!("leaderless.py");

/// A python3 to run [`LEADERLESS_PY`] with, or `None` after reporting the skip (a failure
/// under `PROCMAN_REQUIRE_VALIDATORS`). Takes [`LOCK`] while it probes (call it before
/// [`Run::new`]): a driver of another test would otherwise reap the probe, and its lost status
/// read as "python3 is missing".
pub fn python3() -> Option<String> {
    let _serial = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    for candidate in ["/usr/bin/python3", "python3"] {
        let ok = std::process::Command::new(candidate)
            .args(["-c", "import ctypes, threading"])
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(candidate.to_owned());
        }
    }
    assert!(
        std::env::var_os("PROCMAN_REQUIRE_VALIDATORS").is_none(),
        "required by PROCMAN_REQUIRE_VALIDATORS, but python3 is missing"
    );
    println!("SKIPPED: python3 is missing");
    None
}

/// Whether any thread of process `pid` is alive (its leader may be a zombie). Off Linux:
/// whether the process exists.
pub fn any_thread_alive(pid: u32) -> bool {
    #[cfg(target_os = "linux")]
    {
        let process = i32::try_from(pid).ok().and_then(|p| procfs::process::Process::new(p).ok());
        let Some(Ok(tasks)) = process.map(|p| p.tasks()) else { return false };
        tasks.flatten().any(|task| task.stat().is_ok_and(|stat| stat.state != 'Z'))
    }
    #[cfg(not(target_os = "linux"))]
    {
        exists(pid)
    }
}

/// Starts `count` instances of group `w` running `script` (which must print `up` once
/// running) with a 60 s stop timeout, waits until all are up, and returns their pids.
pub fn start_stubborn_formation(run: &mut Run, script: &str, count: u32) -> Vec<u32> {
    let mut spec = sh("w", script);
    spec.instances = count;
    spec.stop_timeout = Duration::from_secs(60);
    run.add(spec);
    run.driver.start_group("w").expect("start");
    run.wait_until("every instance up", |run| {
        (1..=count).all(|n| run.lines(&id("w", n), None).iter().any(|l| l == "up"))
    });
    (1..=count).map(|n| run.pid(&id("w", n))).collect()
}
