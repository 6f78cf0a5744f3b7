//! Process supervision as a library: spawn programs, watch them, restart them by policy, and
//! stop them (with everything they started) reliably.
//!
//! It is policy-agnostic: it knows nothing of Procfiles, configuration files, colors or
//! logging. A host (procman, or the `json_supervisor` example of this crate, about 150 lines
//! of public API) turns its own configuration into [`ProgramSpec`]s, makes requests, and
//! renders the [`Event`]s that come back.
//!
//! ```
//! use std::time::Duration;
//! use supervise::{CommandSpec, Driver, DriverOptions, Event, ProgramSpec, State};
//!
//! let mut driver = Driver::new(DriverOptions::default())?;
//! let mut spec = ProgramSpec::new("hello", CommandSpec::new("echo").args(["hello, world"]));
//! spec.start_grace = Duration::ZERO;
//! driver.add_group(spec)?;
//! driver.start_group("hello")?;
//! let mut lines = Vec::new();
//! driver.run(|driver, event| match event {
//!     Event::Output(output) => {
//!         lines.extend(output.lines().map(|l| String::from_utf8_lossy(l).into_owned()));
//!     }
//!     // The program is done: stop everything, which ends `run`.
//!     Event::State(t) if t.to == State::Exited => driver.shutdown(),
//!     _ => {}
//! })?;
//! assert_eq!(lines, ["hello, world"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How it works
//!
//! Three layers, each usable on its own terms:
//!
//! - **The pure core**, [`Supervisor`]: every instance's state machine, the groups, restart
//!   policies, backoff and shutdown, readiness timeouts, start order between groups and the
//!   plan of a reload. It performs no I/O and never reads a clock: each request
//!   (`start`, `stop`, `scale`...) and each observation (`spawned`, `spawn_failed`, `exited`,
//!   `tick`) is a method call given the current monotonic time, `now`. What must happen in the
//!   world comes out as [`Effect`]s (spawn this instance, send that signal), what happened as
//!   [`core::Event`]s (state transitions with group, instance, pid, from, to, time, exit
//!   status). Every rule is therefore tested with a fake clock, without processes or sleeping.
//! - **The system layer** (private): spawning with fork/exec semantics (each instance leads
//!   its own process group; in the child, before `exec`: every signal disposition back to its
//!   default, the mask emptied, the umask set, every descriptor above 2 marked close-on-exec,
//!   and on Linux a parent-death SIGKILL); exec failures mapped to a typed [`SpawnError`];
//!   reaping with `waitpid`; the process tree read from `/proc`. It is the only place with
//!   `unsafe` code.
//! - **The driver**, [`Driver`]: one mio poll loop around the core. It watches a signal
//!   self-pipe (SIGCHLD, plus the signals the host asks for) and every output pipe, assembles
//!   output into whole lines, reaps every ended child, lets the core's time pass, carries out
//!   the core's effects and queues [`Event`]s for the host: the core's, and those only it
//!   produces (output, signals received, reaped strangers). It carries out the readiness
//!   checks. It wakes only when a descriptor is ready or a deadline is due: no busy polling,
//!   no periodic wake-up.
//!
//! ## Driving it
//!
//! The simplest host calls [`Driver::run`] with a callback, as above. A host with a loop of
//! its own calls [`Driver::turn`] and then drains [`Driver::drain_events`], as often as it
//! likes; requests ([`Driver::start_group`], [`Driver::stop`], [`Driver::scale`]...) take
//! effect at once. [`Driver::shutdown`] stops everything; the host keeps turning until
//! [`Driver::is_finished`] (or [`Event::ShutdownComplete`], always the last event).
//!
//! ## Embedding in a host's poll loop
//!
//! The driver is itself pollable, like libcurl's multi handle: poll its descriptor
//! ([`as_fd`](std::os::fd::AsFd::as_fd) or `as_raw_fd`, an epoll or kqueue instance) for
//! readability with [`Driver::timeout`] as the timeout (`None`: no deadline is due, wait for
//! readiness only), then call `driver.turn(Some(Duration::ZERO))`, which processes what is
//! ready without blocking, and drain the events. Alternatively, register the host's own
//! descriptors in the driver's poll set with [`Driver::watch`] and get [`Event::Ready`] back.
//!
//! ## Using the core alone
//!
//! A host with its own I/O (an async runtime, say) can drive [`Supervisor`] directly: after
//! every call, carry out [`Supervisor::drain_effects`] in order (report each spawn's outcome
//! with [`Supervisor::spawned`] or [`Supervisor::spawn_failed`], asynchronously if it likes),
//! report every exit with [`Supervisor::exited`], and call [`Supervisor::tick`] no later than
//! [`Supervisor::next_deadline`].
//!
//! ## Reaping belongs to the driver
//!
//! The driver reaps with `waitpid(-1)`: it collects the exit status of *every* child of the
//! process, because as a subreaper it must also reap the orphans it adopts. So:
//!
//! - run **one** `Driver` per process; two would steal each other's children;
//! - a child the host spawns itself (with [`std::process::Command`], say) is reaped by the
//!   driver and reported as [`Event::Reaped`]; `Child::wait` would then fail;
//! - at shutdown, the driver kills *every* descendant of the process that is not an instance
//!   (see below), the host's own children included.
//!
//! ## Readiness, start order and reload
//!
//! - **Readiness** ([`ProgramSpec::readiness`], a [`Readiness`]): an instance of a group with
//!   a check stays `Starting` until it is ready, then becomes `Running` (so `Running` means
//!   ready); one not ready within the check's timeout is stopped ([`Notice::NotReady`]), and
//!   that is a failed start (backoff or fatal). The core is told with [`Supervisor::ready`];
//!   the driver's checks tell it for a port that accepts a connection, a command that exits
//!   with 0 or a line of output that matches ([`ReadyCheck`]), and the host with
//!   [`Driver::mark_ready`].
//! - **Start order** ([`ProgramSpec::depends_on`], [`Dependency`], [`Condition`]): an
//!   instance is spawned only when every instance of each dependency is started, ready, or
//!   exited with success; until then it is [`State::Waiting`] and
//!   [`InstanceInfo::waiting_for`] says for what. A dependency that fails for good gives the
//!   start up ([`Notice::DependencyFailed`]). Cycles and unknown names are [`SpecError`]s
//!   before anything starts ([`validate_specs`], [`Supervisor::add_groups`]). A shutdown
//!   stops dependants first.
//! - **Reload**: [`plan_reload`] is a pure function from two sets of specs to a
//!   [`ReloadPlan`]; [`Supervisor::reload`] ([`Driver::reload`]) carries it out: changed
//!   groups restart (one instance at a time, each ready before the next stops, when they have
//!   a readiness check), added ones start, removed ones stop, counts scale, and every other
//!   instance keeps its process. Instance hooks are compared by the launches they make.
//!
//! `docs/supervision.md` has the details and how procman's configuration maps onto them.
//!
//! ## Stopping and shutting down
//!
//! Stopping an instance sends its stop signal (default SIGTERM) to its process group and to
//! each of its descendants that left the group, then SIGKILL the same way at the stop timeout
//! (once). [`Driver::shutdown`]:
//!
//! 1. sends SIGTERM to every descendant that belongs to no instance (an orphan the
//!    subreaper adopted), and makes the core refuse any start from then on;
//! 2. stops every instance as above, groups in reverse dependency order (a group once every
//!    group that depends on it is down); pending retries, restarts and rollouts are
//!    cancelled, and no spawn is ever requested again;
//! 3. once every instance is down, sweeps the process tree: every descendant still alive is
//!    sent SIGKILL and reaped, for up to 2 seconds after the last new one appeared (up to 10
//!    seconds while new ones keep appearing, as a re-forking daemon's do);
//! 4. drains and closes every output pipe, then reports [`Event::ShutdownComplete`].
//!
//! [`Driver::kill_stopping`] (a second Ctrl-C) sends SIGKILL at once instead of waiting for
//! the stop timeouts.
//!
//! ## Terminals, input and job control
//!
//! - [`StdinSpec::Host`] gives an instance a standard input that stays open and empty while it
//!   runs, whatever the host's own is; [`Driver::write_stdin`] feeds it without ever blocking
//!   the loop (a bounded queue, [`Event::StdinReady`]), [`Driver::close_stdin`] ends it.
//! - [`OutputSpec::Pty`] runs an instance on a pseudo-terminal of its own (a new session, the
//!   pty its controlling terminal); its output still comes as lines, `\r\n` as `\n` and a
//!   carriage-return redraw as what was drawn last. [`Driver::set_window_size`] sizes every
//!   pty; when none can be had, the instance runs on pipes ([`Event::PtyUnavailable`]).
//! - [`Driver::set_raw_tap`] delivers an instance's bytes as read ([`Event::RawOutput`]), for
//!   a terminal attached to it.
//! - [`Driver::suspend`] and [`Driver::resume`] stop and continue every process of the app
//!   (Ctrl-Z and `fg`); what the host does around them is in their documentation.
//!
//! ## Platform notes
//!
//! - **Linux** gets everything: the driver makes the process a child subreaper
//!   ([`DriverOptions::subreaper`]), so descendants that detach (`setsid`, double fork) are
//!   re-parented to it and found by the tree walk in `/proc`; children get a parent-death
//!   SIGKILL ([`DriverOptions::die_with_parent`], which is tied to the *thread* that spawned
//!   them: keep the driver on a thread that lives as long as the process); the snapshot
//!   reports each instance tree's memory and CPU ([`InstanceInfo::resources`]); and
//!   [`guard::protect`] can add a guard process that cleans up even after a SIGKILL of the
//!   supervisor.
//! - **Containment**: with a cgroup v2 tree ([`DriverOptions::cgroup`], made by
//!   [`CgroupTree::create`]), each instance runs in a cgroup of its own, entered before the
//!   program runs; a stop freezes the cgroup, signals every process in it and thaws it,
//!   SIGKILL is `cgroup.kill`, the shutdown kills and removes the whole tree, and the guard
//!   ([`guard::GuardOptions::cgroup`]) kills it after an abrupt end. [`Driver::containment`]
//!   says which mechanism holds the app; [`Driver::kill_all`] (or a signal in
//!   [`DriverOptions::kill_all_on`]) kills everything at once.
//! - **macOS and other Unix systems** fall back to process groups: a descendant that left its
//!   instance's group escapes stops and the shutdown sweep, an orphan goes to init instead of
//!   the supervisor, children do not die with the supervisor, and no resources are measured.
//!
//! # The transition table
//!
//! Every state change of an instance, and nothing else, is one of these rows; each is
//! reported as an [`Event::State`]. "Stop requests" are [`Supervisor::stop`],
//! [`Supervisor::restart`], [`Supervisor::stop_group`], [`Supervisor::restart_group`], a
//! scale-down and [`Supervisor::shutdown`]. Time-driven rows happen in [`Supervisor::tick`].
//!
//! The table is data in the core (`core/transitions.rs`, rendered here and in
//! `docs/supervision.md`, which tests keep equal to it): debug builds check every transition
//! reported against it, and a property test shows that each of its rows happens.
//!
//! | From | Input | To | Effects and notes |
//! |---|---|---|---|
//! | Stopped | `start`, `restart`, `start_group`, `restart_group`; `scale` up of an active group; a reload's start of a group | Starting | `Spawn`. The transition is reported with the spawn's outcome (`spawned` gives the pid). Every input that leads to `Starting` leads to `Waiting` instead while a dependency of the group does not meet its condition (below) |
//! | Exited | `start`, `restart`, `start_group`, `restart_group`; `tick` at the automatic restart time | Starting | `Spawn`. An explicit `start` or `restart` clears the retry count (a fresh budget); an automatic one keeps it |
//! | Backoff | `tick` at the retry time; `start`, `restart`, `start_group`, `restart_group` (skip the delay) | Starting | `Spawn`. An explicit `start` or `restart` clears the retry count |
//! | Starting | `spawned` when `start_grace` is zero and the group has no readiness check | Running | Reported right after the `Starting` one; retries reset to 0 |
//! | Starting | `tick` at `start_grace` after the spawn, without a readiness check | Running | Retries reset to 0 |
//! | Starting | `ready` | Running | Retries reset to 0. With a readiness check, the only way to `Running`, so `Running` means ready; without one, it ends the start grace early |
//! | Starting | `tick` at `readiness.timeout` after the spawn | Stopping | [`Notice::NotReady`] first; the stop signal as for a stop request. Once it exited, the start counts as failed (below) |
//! | Starting | `exited` with an expected code (in `expected_exit_codes`) under `OnUnexpectedExit` | Exited | Not a failed start: the program did its job, and this policy never restarts an expected exit. Retries unchanged |
//! | Starting | `exited` before the grace ends (or before `ready`, with a readiness check), or `spawn_failed` with a transient error (`Resources`), and retries ≤ `max_retries` after counting this one | Backoff | Retries + 1; next attempt at `now + backoff.delay(retries)` (`initial`, × `factor` each time, capped at `max`) |
//! | Starting | the same once retries > `max_retries`; or `spawn_failed` with a permanent error (`NotFound`, `NotExecutable`, `BadWorkingDir`, `BadRedirect`, `Other`) | Fatal | Retries + 1. With `max_retries = 3`, a program that never starts is started 4 times |
//! | Stopping, after a readiness timeout | `exited`, and retries ≤ `max_retries` after counting this one | Backoff | A failed start: retries + 1, as above |
//! | Stopping, after a readiness timeout | `exited`, once retries > `max_retries` | Fatal | Retries + 1 |
//! | Starting | `spawn_failed` after a stop request arrived while the spawn was pending, or during shutdown | Stopped | Removed if a scale-down asked for it |
//! | Running | `exited` | Exited | Restarted when the policy says so (`Always`; `OnUnexpectedExit` for a code outside `expected_exit_codes` or a death by signal; never for `Never`), the group is active, the instance is within the target and no shutdown is under way: at once, or at `started + backoff.initial` if that is later (at most one automatic start per `backoff.initial`) |
//! | Starting, Running | a stop request | Stopping | `Signal` of `stop_signal` with [`SignalScope::Tree`]; SIGKILL due at `now + stop_timeout`. A stop that arrives while the spawn is pending is carried out once `spawned` is reported |
//! | Stopping | `tick` at the stop timeout, or `kill_stopping` | Stopping | `Signal` of SIGKILL with [`SignalScope::Tree`], at most once (no transition) |
//! | Stopping | `exited` | Stopped | Then `Spawn` if a restart is pending (`restart`, `start_group`, scale back up, a reload's restart), or [`Event::Removed`] if a scale-down is |
//! | Backoff | a stop request other than `restart` | Stopped | The retry is cancelled; retries are kept; removed by a scale-down |
//! | Exited, with a restart pending | a stop request other than `restart` | Stopped | The restart is cancelled; removed by a scale-down |
//! | Fatal | `reset`, `restart_group`; a reload's restart of an active group | Stopped | Retries cleared (`restart_group` and the reload then start it) |
//! | Stopped, Exited, Backoff | an input that leads to `Starting` (above), while a dependency of the group does not meet its condition | Waiting | No spawn; [`Notice::Waiting`] names the dependencies. The retry count is kept (cleared by an explicit `start` or `restart`) |
//! | Waiting | every dependency meets its condition (looked at after every call) | Starting | `Spawn`, reported with its outcome as above |
//! | Waiting | a stop request other than `restart`; a dependency fails its condition for good | Stopped | For a failed dependency (fatal, or exited for good when the condition cannot accept it), [`Notice::DependencyFailed`] first. Removed by a scale-down |
//!
//! A scale-down removes an instance without a process (stopped, fatal, exited for good) at
//! once, highest numbers first, without a transition, with [`Event::Removed`]. An exit counts
//! as *expected* when its code is in `expected_exit_codes`; a death by signal never does.
//!
//! ## Refused requests
//!
//! A request that does not fit returns a [`RequestError`] and changes nothing: no effect, no
//! event, the same snapshot. It never panics.
//!
//! | Request | Allowed from | Otherwise |
//! |---|---|---|
//! | `start` | Stopped, Exited, Backoff | `NotAllowed` (Waiting, Starting, Running, Stopping, Fatal: `reset` first) |
//! | `stop` | Waiting, Starting, Running, Backoff, Exited with a restart pending | `NotAllowed` (Stopped, Stopping, Exited for good, Fatal) |
//! | `restart` | every state but Fatal (a waiting instance goes on waiting) | `NotAllowed` |
//! | `reset` | Fatal | `NotAllowed` |
//! | `signal` | Starting, Running, Stopping | `NotAllowed` |
//! | `ready` | Starting (Running: accepted, nothing changes) | `NotAllowed` |
//! | any of the above while the instance's spawn is pending | | `SpawnPending` |
//! | `start`, `restart`, `start_group`, `restart_group`, `scale` up, `add_group`, `add_groups`, `reload` after `shutdown` | | `ShuttingDown` |
//! | `add_group`, `add_groups`, `reload` with a spec or set that does not hold (bad name, duplicate, unknown dependency, cycle, a readiness interval of zero) | | `Spec(SpecError)`; nothing is added or changed |
//! | `start_group`, `restart_group`, `scale` up of a group a reload is removing | | `UnknownGroup` |
//! | `spawned`, `spawn_failed` without a pending spawn | | `NoSpawnPending` |
//! | an unknown group or instance number | | `UnknownGroup`, `UnknownInstance` |
#![warn(missing_docs)]

mod containment;
pub mod core;
mod error;
pub mod guard;
mod reactor;
mod signal;
mod spec;
mod sys;

// The core's own `Event` stays at `core::Event`: the root's is the driver's.
pub use crate::core::{
    Change, Condition, Dependency, DependencyFailure, Effect, ExitOwner, ExitStatus, GroupPlan,
    InstanceId, InstanceInfo, Notice, ReloadAction, ReloadPlan, Resources, SignalReason,
    SignalScope, SpawnError, SpawnErrorKind, State, Supervisor, Transition, Wait, plan_reload,
    validate_specs,
};
pub use containment::{CgroupError, CgroupTree, Containment};
pub use error::{GuardError, InstanceIdError, RequestError, SpecError};
pub use mio::Interest;
pub use reactor::{Driver, DriverOptions, Event, Output, RawOutput, StdinError, Stream, WatchId};
pub use signal::{Signal, UnknownSignal};
pub use spec::{
    Backoff, CommandSpec, EnvSpec, InstanceHook, Launch, LineMatcher, LineTest, OutputSpec,
    ProgramSpec, Readiness, ReadyCheck, ReadyPort, RestartPolicy, StdinSpec,
};

/// Raises the soft limit on open descriptors to the hard limit (at most 1 Mi): each instance
/// holds one or two pipes, and the usual soft limit of 1024 is low for large formations.
/// Children are spawned with the original limit. Returns the new limit.
///
/// # Errors
/// When the limit cannot be read or set.
pub fn raise_open_files_limit() -> std::io::Result<u64> {
    sys::limits::raise_open_files_limit()
}

/// Gives back the pages of code and read-only data this process has touched so far (Linux):
/// they leave its resident memory, stay in the page cache, and those it runs again are faulted
/// back in from their files. For a long-lived host to call once its start-up is over (a
/// command line parsed, a configuration loaded, a formation started), so that its resident
/// memory is what it runs, not what it ran once. Pages the process wrote are never touched.
/// Elsewhere it does nothing.
pub fn release_startup_pages() {
    #[cfg(target_os = "linux")]
    sys::pages::release_clean_file_pages();
}
