//! Unit tests of the pure supervisor, one or more per row of the transition table, with a fake
//! clock: time is `t0 + n`, nothing sleeps and no process is spawned. The property tests over
//! random input sequences live in `tests/props.rs` (with hand-picked ones in
//! `tests/props/sequences.rs`); readiness, start order and reload have `tests/readiness.rs`,
//! `tests/order.rs` and `tests/reload.rs`; `tests/table.rs` checks that the docs show
//! the transition table of the code.
#![allow(clippy::unwrap_used)]

mod order;
mod props;
mod readiness;
mod reload;
mod table;

use std::time::{Duration, Instant};

use super::*;
use crate::error::RequestError;
use crate::signal::Signal;
use crate::spec::{Backoff, CommandSpec, ProgramSpec, RestartPolicy};

// ----- fixture -----

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A spec with round numbers: 1 s grace, 10 s stop timeout, 3 retries, backoff 1 s x2 up to 5 s.
fn spec(name: &str) -> ProgramSpec {
    let mut spec = ProgramSpec::new(name, CommandSpec::new("prog"));
    spec.start_grace = secs(1);
    spec.stop_timeout = secs(10);
    spec.max_retries = 3;
    spec.backoff = Backoff { initial: secs(1), factor: 2.0, max: secs(5) };
    spec
}

fn id(group: &str, n: u32) -> InstanceId {
    InstanceId::new(group, n)
}

/// The supervisor with a fake clock and a fake pid allocator.
struct Fx {
    sup: Supervisor,
    t0: Instant,
    next_pid: u32,
}

impl Fx {
    fn new(specs: impl IntoIterator<Item = ProgramSpec>) -> Fx {
        let mut sup = Supervisor::new();
        for spec in specs {
            sup.add_group(spec).unwrap();
        }
        Fx { sup, t0: Instant::now(), next_pid: 100 }
    }

    fn one(spec: ProgramSpec) -> Fx {
        Fx::new([spec])
    }

    fn at(&self, d: Duration) -> Instant {
        self.t0 + d
    }

    fn effects(&mut self) -> Vec<Effect> {
        self.sup.drain_effects().collect()
    }

    fn events(&mut self) -> Vec<Event> {
        self.sup.drain_events().collect()
    }

    fn transitions(&mut self) -> Vec<Transition> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::State(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    fn state(&self, id: &InstanceId) -> State {
        self.sup.state(id).unwrap()
    }

    fn info(&self, id: &InstanceId, now: Instant) -> InstanceInfo {
        self.sup.snapshot(now).into_iter().find(|i| &i.id == id).unwrap()
    }

    /// Plays the I/O layer for one pending spawn: checks the effect, reports a fresh pid.
    fn spawn_ok(&mut self, now: Instant, id: &InstanceId) -> u32 {
        assert_eq!(self.effects(), vec![Effect::Spawn(id.clone())], "a spawn of {id} is due");
        let pid = self.next_pid;
        self.next_pid += 1;
        self.sup.spawned(now, id, pid).unwrap();
        pid
    }

    /// Starts one instance at `now` and reports its spawn; returns the pid.
    fn start_ok(&mut self, now: Instant, id: &InstanceId) -> u32 {
        self.sup.start(now, id).unwrap();
        self.spawn_ok(now, id)
    }

    /// Starts and lets the start grace pass; events are drained.
    fn running(&mut self, now: Instant, id: &InstanceId) -> u32 {
        let pid = self.start_ok(now, id);
        let grace = self.sup.spec(&id.group).unwrap().start_grace;
        self.sup.tick(now + grace);
        assert_eq!(self.state(id), State::Running);
        self.events();
        pid
    }

    /// Everything observable, to prove that a refused request changed nothing.
    fn observe(&self, now: Instant) -> (Vec<InstanceInfo>, Option<Instant>, bool) {
        (self.sup.snapshot(now), self.sup.next_deadline(), self.sup.is_shutting_down())
    }

    /// Asserts that `request` is refused with `expected` and that nothing changed.
    fn refused(
        &mut self,
        now: Instant,
        expected: RequestError,
        request: impl FnOnce(&mut Supervisor) -> Result<(), RequestError>,
    ) {
        assert_eq!(self.effects(), Vec::new(), "drain the effects before checking a refusal");
        assert_eq!(self.events(), Vec::new(), "drain the events before checking a refusal");
        let before = self.observe(now);
        assert_eq!(request(&mut self.sup), Err(expected));
        assert_eq!(self.observe(now), before, "a refused request changed the state");
        assert_eq!(self.effects(), Vec::new(), "a refused request asked for an effect");
        assert_eq!(self.events(), Vec::new(), "a refused request reported an event");
    }
}

fn stop_signal(id: &InstanceId, pid: u32, signal: Signal) -> Effect {
    Effect::Signal { id: id.clone(), pid, signal, scope: SignalScope::Tree }
}

fn edges(transitions: &[Transition]) -> Vec<(State, State)> {
    transitions.iter().map(|t| (t.from, t.to)).collect()
}

fn not_allowed(id: &InstanceId, state: State, request: &'static str) -> RequestError {
    RequestError::NotAllowed { id: id.clone(), state, request }
}

// ----- Stopped -> Starting -> Running -----

#[test]
fn start_requests_a_spawn_and_reports_starting_with_the_pid() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    let now = fx.at(secs(0));
    fx.sup.start(now, &web1).unwrap();
    assert_eq!(fx.effects(), vec![Effect::Spawn(web1.clone())]);
    // The transition is reported with the outcome of the spawn, carrying the pid.
    assert_eq!(fx.events(), Vec::new());
    fx.sup.spawned(now, &web1, 42).unwrap();
    let t = fx.transitions();
    assert_eq!(
        t,
        vec![Transition {
            id: web1.clone(),
            pid: Some(42),
            from: State::Stopped,
            to: State::Starting,
            at: now,
            exit: None,
            expected: None,
            spawn_error: None,
            retries: 0,
        }]
    );
    assert_eq!(fx.state(&web1), State::Starting);
    assert_eq!(fx.sup.owner(42), Some(&web1));
    let info = fx.info(&web1, fx.at(ms(300)));
    assert_eq!(info.pid, Some(42));
    assert_eq!(info.started_at, Some(now));
    assert_eq!(info.uptime, ms(300));
    assert_eq!(info.restarts, 0);
}

#[test]
fn starting_becomes_running_when_the_grace_period_elapses() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    fx.start_ok(fx.at(secs(0)), &web1);
    fx.events();
    assert_eq!(fx.sup.next_deadline(), Some(fx.at(secs(1))));
    fx.sup.tick(fx.at(ms(999)));
    assert_eq!(fx.state(&web1), State::Starting);
    assert_eq!(fx.events(), Vec::new());
    fx.sup.tick(fx.at(secs(1)));
    let t = fx.transitions();
    assert_eq!(edges(&t), vec![(State::Starting, State::Running)]);
    assert_eq!(t[0].pid, Some(100));
    assert_eq!(t[0].at, fx.at(secs(1)));
    assert_eq!(fx.sup.next_deadline(), None);
    assert_eq!(fx.effects(), Vec::new());
}

#[test]
fn zero_grace_goes_to_running_at_once() {
    let mut s = spec("web");
    s.start_grace = Duration::ZERO;
    let mut fx = Fx::one(s);
    let web1 = id("web", 1);
    fx.start_ok(fx.at(secs(0)), &web1);
    let t = fx.transitions();
    assert_eq!(
        edges(&t),
        vec![(State::Stopped, State::Starting), (State::Starting, State::Running)]
    );
    assert!(t.iter().all(|t| t.pid == Some(100) && t.at == fx.at(secs(0))));
    assert_eq!(fx.sup.next_deadline(), None);
}

// ----- Starting -> Backoff -> Starting ... -> Fatal -----

#[test]
fn exit_before_the_grace_period_is_a_failed_start_and_backs_off() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    let pid = fx.start_ok(fx.at(secs(0)), &web1);
    fx.events();
    assert_eq!(
        fx.sup.exited(fx.at(ms(500)), pid, ExitStatus::Code(0)),
        ExitOwner::Instance(web1.clone())
    );
    let t = fx.transitions();
    assert_eq!(
        t,
        vec![Transition {
            id: web1.clone(),
            pid: Some(pid),
            from: State::Starting,
            to: State::Backoff,
            at: fx.at(ms(500)),
            exit: Some(ExitStatus::Code(0)),
            expected: Some(true),
            spawn_error: None,
            retries: 1,
        }]
    );
    assert_eq!(fx.sup.owner(pid), None);
    assert_eq!(fx.sup.next_deadline(), Some(fx.at(ms(1500))));
    let info = fx.info(&web1, fx.at(ms(600)));
    assert_eq!((info.pid, info.retries, info.last_exit), (None, 1, Some(ExitStatus::Code(0))));
    assert_eq!(info.uptime, Duration::ZERO);
}

#[test]
fn a_transient_spawn_failure_backs_off() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    fx.sup.start(fx.at(secs(0)), &web1).unwrap();
    assert_eq!(fx.effects(), vec![Effect::Spawn(web1.clone())]);
    let error = SpawnError {
        kind: SpawnErrorKind::Resources,
        errno: Some(11),
        message: "fork: resource temporarily unavailable".into(),
    };
    fx.sup.spawn_failed(fx.at(secs(0)), &web1, error.clone()).unwrap();
    let t = fx.transitions();
    assert_eq!(
        edges(&t),
        vec![(State::Stopped, State::Starting), (State::Starting, State::Backoff)]
    );
    assert_eq!(t[1].spawn_error, Some(error.clone()));
    assert_eq!((t[1].pid, t[1].exit, t[1].retries), (None, None, 1));
    assert_eq!(fx.info(&web1, fx.at(secs(0))).spawn_error, Some(error));
    assert_eq!(fx.sup.next_deadline(), Some(fx.at(secs(1))));
}

#[test]
fn a_permanent_spawn_failure_is_fatal_at_once() {
    for kind in
        [SpawnErrorKind::NotFound, SpawnErrorKind::NotExecutable, SpawnErrorKind::BadWorkingDir]
    {
        let mut fx = Fx::one(spec("web"));
        let web1 = id("web", 1);
        fx.sup.start(fx.at(secs(0)), &web1).unwrap();
        fx.effects();
        let error = SpawnError { kind, errno: Some(2), message: "nope".into() };
        fx.sup.spawn_failed(fx.at(secs(0)), &web1, error).unwrap();
        let t = fx.transitions();
        assert_eq!(
            edges(&t),
            vec![(State::Stopped, State::Starting), (State::Starting, State::Fatal)],
            "{kind:?}"
        );
        assert_eq!(fx.sup.next_deadline(), None);
        fx.sup.tick(fx.at(secs(100)));
        assert_eq!(fx.effects(), Vec::new());
        assert_eq!(fx.state(&web1), State::Fatal);
    }
}

#[test]
fn backoff_retries_at_the_deadline_with_growing_capped_delays_then_fatal() {
    let mut s = spec("web");
    s.backoff = Backoff { initial: secs(1), factor: 3.0, max: secs(5) };
    s.max_retries = 4;
    let mut fx = Fx::one(s);
    let web1 = id("web", 1);
    let mut now = fx.at(secs(0));
    fx.sup.start(now, &web1).unwrap();
    let mut starts = Vec::new();
    let mut delays = Vec::new();
    loop {
        let pid = fx.spawn_ok(now, &web1);
        starts.push(now);
        // Crash 100 ms in, well inside the grace period.
        now += ms(100);
        fx.sup.exited(now, pid, ExitStatus::Code(1));
        if fx.state(&web1) == State::Fatal {
            break;
        }
        assert_eq!(fx.state(&web1), State::Backoff);
        let deadline = fx.sup.next_deadline().unwrap();
        delays.push(deadline - now);
        // Nothing happens a moment before the deadline.
        fx.sup.tick(deadline - ms(1));
        assert_eq!(fx.effects(), Vec::new());
        assert_eq!(fx.state(&web1), State::Backoff);
        now = deadline;
        fx.sup.tick(now);
    }
    // initial, x3, x3 again but capped at 5 s, capped.
    assert_eq!(delays, vec![secs(1), secs(3), secs(5), secs(5)]);
    // max_retries = 4: the first start plus four retries.
    assert_eq!(starts.len(), 5);
    let t = fx.transitions();
    let last = t.last().unwrap();
    assert_eq!((last.from, last.to, last.retries), (State::Starting, State::Fatal, 5));
    assert_eq!(last.exit, Some(ExitStatus::Code(1)));
    let retries: Vec<u32> =
        t.iter().filter(|t| t.to == State::Backoff).map(|t| t.retries).collect();
    assert_eq!(retries, vec![1, 2, 3, 4]);
    assert_eq!(
        edges(&t[..3]),
        vec![
            (State::Stopped, State::Starting),
            (State::Starting, State::Backoff),
            (State::Backoff, State::Starting)
        ]
    );
    assert_eq!(fx.sup.next_deadline(), None);
}

#[test]
fn max_retries_three_means_exactly_four_starts() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    let mut now = fx.at(secs(0));
    fx.sup.start(now, &web1).unwrap();
    let mut starts = 0;
    while fx.state(&web1) != State::Fatal {
        let pid = fx.spawn_ok(now, &web1);
        starts += 1;
        fx.sup.exited(now, pid, ExitStatus::Signaled(Signal::from_raw(libc::SIGSEGV)));
        if let Some(deadline) = fx.sup.next_deadline() {
            now = deadline;
            fx.sup.tick(now);
        }
        assert!(starts <= 10, "runaway");
    }
    assert_eq!(starts, 4);
    fx.sup.tick(now + secs(3600));
    assert_eq!(fx.effects(), Vec::new());
}

#[test]
fn running_resets_the_retry_count() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    let pid = fx.start_ok(fx.at(secs(0)), &web1);
    fx.sup.exited(fx.at(ms(10)), pid, ExitStatus::Code(1));
    fx.sup.tick(fx.at(ms(1010)));
    fx.spawn_ok(fx.at(ms(1010)), &web1);
    assert_eq!(fx.info(&web1, fx.at(ms(1010))).retries, 1);
    fx.sup.tick(fx.at(ms(2010)));
    assert_eq!(fx.state(&web1), State::Running);
    let info = fx.info(&web1, fx.at(ms(2010)));
    assert_eq!((info.retries, info.restarts), (0, 1));
}

// ----- Running -> Exited, and the restart policies -----

/// Runs `web.1` under `policy`, makes it exit with `status` after 5 s of running, and
/// returns whether a restart followed (at once or at a deadline).
fn restarts_after(policy: RestartPolicy, status: ExitStatus) -> bool {
    let mut s = spec("web");
    s.restart = policy;
    s.expected_exit_codes = vec![0, 2];
    let mut fx = Fx::one(s);
    let web1 = id("web", 1);
    fx.sup.start_group(fx.at(secs(0)), "web").unwrap();
    let pid = fx.spawn_ok(fx.at(secs(0)), &web1);
    fx.sup.tick(fx.at(secs(1)));
    fx.events();
    fx.sup.exited(fx.at(secs(5)), pid, status);
    let t = fx.transitions();
    assert_eq!(edges(&t), vec![(State::Running, State::Exited)]);
    assert_eq!(t[0].exit, Some(status));
    assert_eq!(t[0].expected, Some(matches!(status, ExitStatus::Code(0 | 2))));
    let spawned_now = fx.effects() == vec![Effect::Spawn(web1.clone())];
    // Started 5 s ago, longer than backoff.initial: a restart is not delayed.
    assert_eq!(fx.sup.next_deadline(), None);
    spawned_now
}

#[test]
fn restart_policy_always_restarts_whatever_the_exit() {
    for status in [ExitStatus::Code(0), ExitStatus::Code(1), ExitStatus::Signaled(Signal::TERM)] {
        assert!(restarts_after(RestartPolicy::Always, status), "{status}");
    }
}

#[test]
fn restart_policy_on_unexpected_exit_uses_the_expected_codes() {
    assert!(!restarts_after(RestartPolicy::OnUnexpectedExit, ExitStatus::Code(0)));
    assert!(!restarts_after(RestartPolicy::OnUnexpectedExit, ExitStatus::Code(2)));
    assert!(restarts_after(RestartPolicy::OnUnexpectedExit, ExitStatus::Code(1)));
    assert!(restarts_after(RestartPolicy::OnUnexpectedExit, ExitStatus::Signaled(Signal::KILL)));
}

#[test]
fn restart_policy_never_leaves_it_exited() {
    for status in [ExitStatus::Code(0), ExitStatus::Code(1), ExitStatus::Signaled(Signal::TERM)] {
        assert!(!restarts_after(RestartPolicy::Never, status), "{status}");
    }
}

#[test]
fn exited_state_is_reported_with_the_pid_and_kept_in_the_snapshot() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    let pid = fx.running(fx.at(secs(0)), &web1);
    fx.sup.exited(fx.at(secs(7)), pid, ExitStatus::Code(3));
    let t = fx.transitions();
    assert_eq!(t[0].pid, Some(pid));
    assert_eq!(t[0].at, fx.at(secs(7)));
    let info = fx.info(&web1, fx.at(secs(8)));
    assert_eq!(info.state, State::Exited);
    assert_eq!(info.pid, None);
    assert_eq!(info.last_exit, Some(ExitStatus::Code(3)));
    assert_eq!(info.started_at, Some(fx.at(secs(0))));
    assert_eq!(info.uptime, Duration::ZERO);
}

#[test]
fn automatic_restarts_come_at_most_once_per_initial_backoff() {
    let mut s = spec("web");
    s.start_grace = Duration::ZERO;
    s.restart = RestartPolicy::Always;
    s.backoff = Backoff { initial: secs(2), factor: 2.0, max: secs(10) };
    let mut fx = Fx::one(s);
    let web1 = id("web", 1);
    fx.sup.start_group(fx.at(secs(0)), "web").unwrap();
    let mut now = fx.at(secs(0));
    let mut starts = vec![];
    for _ in 0..5 {
        let pid = fx.spawn_ok(now, &web1);
        starts.push(now);
        // Exits at once: with a zero grace it was Running, so no retry is counted.
        now += ms(10);
        fx.sup.exited(now, pid, ExitStatus::Code(1));
        assert_eq!(fx.state(&web1), State::Exited);
        assert_eq!(fx.effects(), Vec::new(), "no restart before backoff.initial");
        let deadline = fx.sup.next_deadline().unwrap();
        assert_eq!(deadline, starts.last().copied().unwrap() + secs(2));
        fx.sup.tick(deadline - ms(1));
        assert_eq!(fx.effects(), Vec::new());
        now = deadline;
        fx.sup.tick(now);
        let t = fx.transitions();
        assert_eq!(edges(&t).last(), Some(&(State::Running, State::Exited)));
    }
    assert!(starts.windows(2).all(|w| w[1] - w[0] >= secs(2)));
    assert_eq!(fx.info(&web1, now).retries, 0);
    let pid = fx.spawn_ok(now, &web1);
    // After a long run, the restart is immediate.
    fx.sup.exited(now + secs(60), pid, ExitStatus::Code(1));
    assert_eq!(fx.effects(), vec![Effect::Spawn(web1.clone())]);
}

#[test]
fn a_pending_automatic_restart_is_reported_as_exited_then_starting() {
    let mut s = spec("web");
    s.restart = RestartPolicy::Always;
    let mut fx = Fx::one(s);
    let web1 = id("web", 1);
    fx.sup.start_group(fx.at(secs(0)), "web").unwrap();
    let pid = fx.spawn_ok(fx.at(secs(0)), &web1);
    fx.sup.tick(fx.at(secs(1)));
    fx.events();
    // Runs 1.5 s, more than the grace but less than... initial is 1 s: restart at once.
    fx.sup.exited(fx.at(ms(1500)), pid, ExitStatus::Code(1));
    let pid2 = fx.spawn_ok(fx.at(ms(1500)), &web1);
    let t = fx.transitions();
    assert_eq!(edges(&t), vec![(State::Running, State::Exited), (State::Exited, State::Starting)]);
    assert_eq!((t[0].pid, t[1].pid), (Some(pid), Some(pid2)));
    assert_eq!(fx.info(&web1, fx.at(secs(2))).restarts, 1);
}

// ----- Stopping -----

#[test]
fn stop_sends_the_stop_signal_to_the_tree_and_kills_once_at_the_timeout() {
    let mut s = spec("web");
    s.stop_signal = Signal::INT;
    s.stop_timeout = secs(3);
    let mut fx = Fx::one(s);
    let web1 = id("web", 1);
    let pid = fx.running(fx.at(secs(0)), &web1);
    let now = fx.at(secs(10));
    fx.sup.stop(now, &web1).unwrap();
    assert_eq!(fx.effects(), vec![stop_signal(&web1, pid, Signal::INT)]);
    let events = fx.events();
    assert_eq!(
        events,
        vec![
            Event::State(Transition {
                id: web1.clone(),
                pid: Some(pid),
                from: State::Running,
                to: State::Stopping,
                at: now,
                exit: None,
                expected: None,
                spawn_error: None,
                retries: 0,
            }),
            Event::Signal {
                id: web1.clone(),
                pid,
                signal: Signal::INT,
                reason: SignalReason::Stop
            },
        ]
    );
    assert_eq!(fx.sup.next_deadline(), Some(fx.at(secs(13))));
    fx.sup.tick(fx.at(ms(12_999)));
    assert_eq!(fx.effects(), Vec::new());
    fx.sup.tick(fx.at(secs(13)));
    assert_eq!(fx.effects(), vec![stop_signal(&web1, pid, Signal::KILL)]);
    assert_eq!(
        fx.events(),
        vec![Event::Signal {
            id: web1.clone(),
            pid,
            signal: Signal::KILL,
            reason: SignalReason::Kill
        }]
    );
    // Exactly once: no deadline remains, later ticks and kill_stopping send nothing.
    assert_eq!(fx.sup.next_deadline(), None);
    fx.sup.tick(fx.at(secs(100)));
    fx.sup.kill_stopping(fx.at(secs(100)));
    assert_eq!(fx.effects(), Vec::new());
    assert_eq!(fx.state(&web1), State::Stopping);
    fx.sup.exited(fx.at(secs(101)), pid, ExitStatus::Signaled(Signal::KILL));
    let t = fx.transitions();
    assert_eq!(edges(&t), vec![(State::Stopping, State::Stopped)]);
    assert_eq!(t[0].exit, Some(ExitStatus::Signaled(Signal::KILL)));
    assert_eq!(t[0].expected, Some(false));
    assert_eq!(fx.effects(), Vec::new());
}

#[test]
fn stop_while_starting_stops_and_cancels_the_grace_period() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    let pid = fx.start_ok(fx.at(secs(0)), &web1);
    fx.events();
    fx.sup.stop(fx.at(ms(200)), &web1).unwrap();
    assert_eq!(fx.effects(), vec![stop_signal(&web1, pid, Signal::TERM)]);
    assert_eq!(edges(&fx.transitions()), vec![(State::Starting, State::Stopping)]);
    // The grace deadline is replaced by the stop timeout.
    assert_eq!(fx.sup.next_deadline(), Some(fx.at(ms(10_200))));
    fx.sup.tick(fx.at(secs(1)));
    assert_eq!(fx.state(&web1), State::Stopping);
    fx.sup.exited(fx.at(secs(2)), pid, ExitStatus::Signaled(Signal::TERM));
    let t = fx.transitions();
    assert_eq!(edges(&t), vec![(State::Stopping, State::Stopped)]);
    // A stop is not a failed start.
    assert_eq!(fx.info(&web1, fx.at(secs(2))).retries, 0);
}

#[test]
fn a_clean_exit_while_stopping_is_stopped_without_kill() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    let pid = fx.running(fx.at(secs(0)), &web1);
    fx.sup.stop(fx.at(secs(5)), &web1).unwrap();
    fx.effects();
    fx.events();
    fx.sup.exited(fx.at(secs(6)), pid, ExitStatus::Code(0));
    assert_eq!(edges(&fx.transitions()), vec![(State::Stopping, State::Stopped)]);
    assert_eq!(fx.sup.next_deadline(), None);
    fx.sup.tick(fx.at(secs(20)));
    assert_eq!(fx.effects(), Vec::new());
    assert_eq!(fx.events(), Vec::new());
}

#[test]
fn stopping_with_restart_policy_always_does_not_restart() {
    let mut s = spec("web");
    s.restart = RestartPolicy::Always;
    let mut fx = Fx::one(s);
    let web1 = id("web", 1);
    fx.sup.start_group(fx.at(secs(0)), "web").unwrap();
    let pid = fx.spawn_ok(fx.at(secs(0)), &web1);
    fx.sup.stop(fx.at(secs(5)), &web1).unwrap();
    fx.effects();
    fx.sup.exited(fx.at(secs(6)), pid, ExitStatus::Code(1));
    assert_eq!(fx.state(&web1), State::Stopped);
    fx.sup.tick(fx.at(secs(60)));
    assert_eq!(fx.effects(), Vec::new());
}

#[test]
fn kill_stopping_kills_at_once_and_only_once() {
    let mut fx = Fx::new([spec("web"), spec("worker")]);
    let web1 = id("web", 1);
    let worker1 = id("worker", 1);
    let p1 = fx.running(fx.at(secs(0)), &web1);
    let p2 = fx.running(fx.at(secs(0)), &worker1);
    fx.sup.stop(fx.at(secs(2)), &web1).unwrap();
    fx.effects();
    fx.events();
    fx.sup.kill_stopping(fx.at(secs(3)));
    // Only the stopping instance, before its timeout.
    assert_eq!(fx.effects(), vec![stop_signal(&web1, p1, Signal::KILL)]);
    assert_eq!(fx.state(&worker1), State::Running);
    fx.sup.kill_stopping(fx.at(secs(4)));
    fx.sup.tick(fx.at(secs(12)));
    assert_eq!(fx.effects(), Vec::new());
    fx.sup.exited(fx.at(secs(13)), p1, ExitStatus::Signaled(Signal::KILL));
    assert_eq!(fx.state(&web1), State::Stopped);
    assert_eq!(fx.sup.owner(p2), Some(&worker1));
}

#[test]
fn restart_stops_then_starts_again() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    let pid = fx.running(fx.at(secs(0)), &web1);
    fx.sup.restart(fx.at(secs(5)), &web1).unwrap();
    assert_eq!(fx.effects(), vec![stop_signal(&web1, pid, Signal::TERM)]);
    assert_eq!(edges(&fx.transitions()), vec![(State::Running, State::Stopping)]);
    fx.sup.exited(fx.at(secs(6)), pid, ExitStatus::Signaled(Signal::TERM));
    let pid2 = fx.spawn_ok(fx.at(secs(6)), &web1);
    assert_ne!(pid, pid2);
    let t = fx.transitions();
    assert_eq!(
        edges(&t),
        vec![(State::Stopping, State::Stopped), (State::Stopped, State::Starting)]
    );
    assert_eq!(t[1].pid, Some(pid2));
    assert_eq!(fx.info(&web1, fx.at(secs(6))).restarts, 1);
}

#[test]
fn restart_of_a_stopping_instance_starts_it_once_down() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    let pid = fx.running(fx.at(secs(0)), &web1);
    fx.sup.stop(fx.at(secs(5)), &web1).unwrap();
    fx.effects();
    fx.sup.restart(fx.at(secs(6)), &web1).unwrap();
    assert_eq!(fx.effects(), Vec::new());
    fx.sup.exited(fx.at(secs(7)), pid, ExitStatus::Code(0));
    fx.spawn_ok(fx.at(secs(7)), &web1);
}

#[test]
fn restart_of_a_stopped_exited_or_backoff_instance_starts_it_at_once() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    fx.sup.restart(fx.at(secs(0)), &web1).unwrap();
    let pid = fx.spawn_ok(fx.at(secs(0)), &web1);
    fx.sup.exited(fx.at(ms(100)), pid, ExitStatus::Code(1));
    assert_eq!(fx.state(&web1), State::Backoff);
    fx.sup.restart(fx.at(ms(200)), &web1).unwrap();
    let pid = fx.spawn_ok(fx.at(ms(200)), &web1);
    fx.sup.tick(fx.at(ms(1200)));
    fx.sup.exited(fx.at(secs(5)), pid, ExitStatus::Code(0));
    assert_eq!(fx.state(&web1), State::Exited);
    fx.sup.restart(fx.at(secs(6)), &web1).unwrap();
    fx.spawn_ok(fx.at(secs(6)), &web1);
}

#[test]
fn start_skips_the_rest_of_a_backoff_delay() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    let pid = fx.start_ok(fx.at(secs(0)), &web1);
    fx.sup.exited(fx.at(ms(100)), pid, ExitStatus::Code(1));
    fx.events();
    fx.sup.start(fx.at(ms(200)), &web1).unwrap();
    fx.spawn_ok(fx.at(ms(200)), &web1);
    assert_eq!(edges(&fx.transitions()), vec![(State::Backoff, State::Starting)]);
    // The start grace deadline replaces the backoff one.
    assert_eq!(fx.sup.next_deadline(), Some(fx.at(ms(1200))));
}

#[test]
fn stop_in_backoff_cancels_the_retry() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    let pid = fx.start_ok(fx.at(secs(0)), &web1);
    fx.sup.exited(fx.at(ms(100)), pid, ExitStatus::Code(1));
    fx.events();
    fx.sup.stop(fx.at(ms(200)), &web1).unwrap();
    let t = fx.transitions();
    assert_eq!(edges(&t), vec![(State::Backoff, State::Stopped)]);
    assert_eq!((t[0].pid, t[0].at), (None, fx.at(ms(200))));
    assert_eq!(fx.effects(), Vec::new());
    assert_eq!(fx.sup.next_deadline(), None);
    fx.sup.tick(fx.at(secs(60)));
    assert_eq!(fx.effects(), Vec::new());
}

#[test]
fn stop_of_an_exited_instance_cancels_its_pending_restart() {
    let mut s = spec("web");
    s.restart = RestartPolicy::Always;
    s.start_grace = Duration::ZERO;
    let mut fx = Fx::one(s);
    let web1 = id("web", 1);
    fx.sup.start_group(fx.at(secs(0)), "web").unwrap();
    let pid = fx.spawn_ok(fx.at(secs(0)), &web1);
    fx.sup.exited(fx.at(ms(100)), pid, ExitStatus::Code(1));
    assert!(fx.sup.next_deadline().is_some(), "the restart waits for backoff.initial");
    fx.events();
    fx.sup.stop(fx.at(ms(200)), &web1).unwrap();
    assert_eq!(edges(&fx.transitions()), vec![(State::Exited, State::Stopped)]);
    assert_eq!(fx.sup.next_deadline(), None);
    fx.sup.tick(fx.at(secs(60)));
    assert_eq!(fx.effects(), Vec::new());
}

#[test]
fn reset_takes_fatal_back_to_stopped_with_retries_cleared() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    fx.sup.start(fx.at(secs(0)), &web1).unwrap();
    fx.effects();
    let error = SpawnError { kind: SpawnErrorKind::NotFound, errno: Some(2), message: "x".into() };
    fx.sup.spawn_failed(fx.at(secs(0)), &web1, error).unwrap();
    fx.events();
    fx.refused(fx.at(secs(1)), not_allowed(&web1, State::Fatal, "start"), |s| {
        s.start(Instant::now(), &id("web", 1))
    });
    fx.sup.reset(fx.at(secs(1)), &web1).unwrap();
    let t = fx.transitions();
    assert_eq!(edges(&t), vec![(State::Fatal, State::Stopped)]);
    assert_eq!(t[0].retries, 0);
    assert_eq!(fx.info(&web1, fx.at(secs(1))).retries, 0);
    fx.start_ok(fx.at(secs(2)), &web1);
}

// ----- refused requests -----

#[test]
fn requests_that_do_not_fit_the_state_are_refused_and_change_nothing() {
    let mut s = spec("web");
    s.instances = 2;
    let mut fx = Fx::one(s);
    let web1 = id("web", 1);
    let web2 = id("web", 2);
    let now = fx.at(secs(0));

    // Stopped.
    fx.refused(now, not_allowed(&web1, State::Stopped, "stop"), |s| s.stop(now, &web1));
    fx.refused(now, not_allowed(&web1, State::Stopped, "reset"), |s| s.reset(now, &web1));
    fx.refused(now, not_allowed(&web1, State::Stopped, "signal"), |s| s.signal(&web1, Signal::HUP));

    // Starting, with the spawn pending: everything about it waits for the outcome.
    fx.sup.start(now, &web1).unwrap();
    assert_eq!(fx.effects(), vec![Effect::Spawn(web1.clone())]);
    let pending = RequestError::SpawnPending(web1.clone());
    fx.refused(now, pending.clone(), |s| s.start(now, &web1));
    fx.refused(now, pending.clone(), |s| s.stop(now, &web1));
    fx.refused(now, pending.clone(), |s| s.restart(now, &web1));
    fx.refused(now, pending.clone(), |s| s.reset(now, &web1));
    fx.refused(now, pending.clone(), |s| s.signal(&web1, Signal::HUP));
    // Reporting a spawn that was not asked for is refused too.
    fx.refused(now, RequestError::NoSpawnPending(web2.clone()), |s| s.spawned(now, &web2, 7));
    let error = SpawnError { kind: SpawnErrorKind::Other, errno: None, message: "x".into() };
    fx.refused(now, RequestError::NoSpawnPending(web2.clone()), |s| {
        s.spawn_failed(now, &web2, error)
    });
    let pid = 7;
    fx.sup.spawned(now, &web1, pid).unwrap();
    fx.events();
    fx.refused(now, RequestError::NoSpawnPending(web1.clone()), |s| s.spawned(now, &web1, 8));

    // Starting (spawned) and Running.
    fx.refused(now, not_allowed(&web1, State::Starting, "start"), |s| s.start(now, &web1));
    fx.refused(now, not_allowed(&web1, State::Starting, "reset"), |s| s.reset(now, &web1));
    let later = fx.at(secs(2));
    fx.sup.tick(later);
    fx.events();
    fx.refused(later, not_allowed(&web1, State::Running, "start"), |s| s.start(later, &web1));
    fx.refused(later, not_allowed(&web1, State::Running, "reset"), |s| s.reset(later, &web1));

    // Stopping.
    fx.sup.stop(later, &web1).unwrap();
    fx.effects();
    fx.events();
    fx.refused(later, not_allowed(&web1, State::Stopping, "stop"), |s| s.stop(later, &web1));
    fx.refused(later, not_allowed(&web1, State::Stopping, "start"), |s| s.start(later, &web1));
    fx.refused(later, not_allowed(&web1, State::Stopping, "reset"), |s| s.reset(later, &web1));

    // Exited without a pending restart (policy Never).
    fx.sup.exited(later, pid, ExitStatus::Code(0));
    let pid = fx.start_ok(later, &web1);
    let much_later = fx.at(secs(10));
    fx.sup.tick(much_later);
    fx.sup.exited(much_later, pid, ExitStatus::Code(0));
    fx.events();
    assert_eq!(fx.state(&web1), State::Exited);
    fx.refused(much_later, not_allowed(&web1, State::Exited, "stop"), |s| {
        s.stop(much_later, &web1)
    });
    fx.refused(much_later, not_allowed(&web1, State::Exited, "signal"), |s| {
        s.signal(&web1, Signal::HUP)
    });

    // Fatal.
    fx.sup.start(much_later, &web2).unwrap();
    fx.effects();
    let error = SpawnError { kind: SpawnErrorKind::NotFound, errno: Some(2), message: "x".into() };
    fx.sup.spawn_failed(much_later, &web2, error).unwrap();
    fx.events();
    for (request, call) in [
        ("start", Supervisor::start as fn(&mut Supervisor, Instant, &InstanceId) -> _),
        ("stop", Supervisor::stop),
        ("restart", Supervisor::restart),
    ] {
        fx.refused(much_later, not_allowed(&web2, State::Fatal, request), |s| {
            call(s, much_later, &web2)
        });
    }
    fx.refused(much_later, not_allowed(&web2, State::Fatal, "signal"), |s| {
        s.signal(&web2, Signal::HUP)
    });
}

#[test]
fn unknown_groups_and_instances_are_refused() {
    let mut fx = Fx::one(spec("web"));
    let now = fx.at(secs(0));
    let nope = id("nope", 1);
    let web9 = id("web", 9);
    let unknown_group = RequestError::UnknownGroup("nope".into());
    fx.refused(now, unknown_group.clone(), |s| s.start(now, &nope));
    fx.refused(now, unknown_group.clone(), |s| s.stop(now, &nope));
    fx.refused(now, unknown_group.clone(), |s| s.start_group(now, "nope"));
    fx.refused(now, unknown_group.clone(), |s| s.stop_group(now, "nope"));
    fx.refused(now, unknown_group.clone(), |s| s.restart_group(now, "nope"));
    fx.refused(now, unknown_group.clone(), |s| s.scale(now, "nope", 3));
    fx.refused(now, unknown_group.clone(), |s| s.spawned(now, &nope, 5));
    let unknown = RequestError::UnknownInstance(web9.clone());
    fx.refused(now, unknown.clone(), |s| s.start(now, &web9));
    fx.refused(now, unknown.clone(), |s| s.stop(now, &web9));
    fx.refused(now, unknown.clone(), |s| s.restart(now, &web9));
    fx.refused(now, unknown.clone(), |s| s.reset(now, &web9));
    fx.refused(now, unknown.clone(), |s| s.signal(&web9, Signal::TERM));
    fx.refused(now, unknown.clone(), |s| s.spawned(now, &web9, 5));
    assert_eq!(fx.sup.state(&web9), None);
    // An exit of a pid that is not ours changes nothing.
    let before = fx.observe(now);
    assert_eq!(fx.sup.exited(now, 4242, ExitStatus::Code(0)), ExitOwner::Unknown);
    assert_eq!(fx.observe(now), before);
    assert_eq!(fx.events(), Vec::new());
}

#[test]
fn invalid_and_duplicate_specs_are_refused() {
    let mut fx = Fx::one(spec("web"));
    assert_eq!(
        fx.sup.add_group(spec("web")),
        Err(RequestError::Spec(crate::SpecError::DuplicateName("web".into())))
    );
    assert!(matches!(fx.sup.add_group(spec("a b")), Err(RequestError::Spec(_))));
    let mut bad = spec("ok");
    bad.backoff.factor = 0.5;
    assert!(matches!(fx.sup.add_group(bad), Err(RequestError::Spec(_))));
    assert_eq!(fx.sup.group_names().count(), 1);
}

#[test]
fn signal_reaches_only_the_process_of_a_live_instance() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    let pid = fx.running(fx.at(secs(0)), &web1);
    fx.sup.signal(&web1, Signal::HUP).unwrap();
    assert_eq!(
        fx.effects(),
        vec![Effect::Signal {
            id: web1.clone(),
            pid,
            signal: Signal::HUP,
            scope: SignalScope::Process
        }]
    );
    assert_eq!(
        fx.events(),
        vec![Event::Signal {
            id: web1.clone(),
            pid,
            signal: Signal::HUP,
            reason: SignalReason::Request
        }]
    );
    assert_eq!(fx.state(&web1), State::Running);
    // Also allowed while stopping (a host may want to nudge it).
    fx.sup.stop(fx.at(secs(2)), &web1).unwrap();
    fx.effects();
    fx.sup.signal(&web1, Signal::USR1).unwrap();
    assert_eq!(fx.effects().len(), 1);
}

// ----- groups -----

#[test]
fn group_start_stop_and_restart_act_on_every_instance() {
    let mut s = spec("web");
    s.instances = 3;
    let mut fx = Fx::one(s);
    let now = fx.at(secs(0));
    fx.sup.start_group(now, "web").unwrap();
    let spawns = fx.effects();
    assert_eq!(spawns, (1..=3).map(|n| Effect::Spawn(id("web", n))).collect::<Vec<_>>());
    let mut pids = Vec::new();
    for n in 1..=3 {
        pids.push(fx.sup.spawned(now, &id("web", n), 200 + n).map(|()| 200 + n).unwrap());
    }
    fx.sup.tick(fx.at(secs(1)));
    fx.events();
    // Starting the group again leaves running instances alone.
    fx.sup.start_group(fx.at(secs(2)), "web").unwrap();
    assert_eq!(fx.effects(), Vec::new());
    assert_eq!(fx.events(), Vec::new());

    fx.sup.restart_group(fx.at(secs(3)), "web").unwrap();
    let stops = fx.effects();
    assert_eq!(stops.len(), 3);
    for (n, pid) in (1..=3).zip(&pids) {
        assert!(stops.contains(&stop_signal(&id("web", n), *pid, Signal::TERM)));
        fx.sup.exited(fx.at(secs(4)), *pid, ExitStatus::Signaled(Signal::TERM));
    }
    let spawns = fx.effects();
    assert_eq!(spawns, (1..=3).map(|n| Effect::Spawn(id("web", n))).collect::<Vec<_>>());
    for n in 1..=3 {
        fx.sup.spawned(fx.at(secs(4)), &id("web", n), 300 + n).unwrap();
    }
    fx.events();

    fx.sup.stop_group(fx.at(secs(5)), "web").unwrap();
    let stops = fx.effects();
    assert_eq!(stops.len(), 3);
    for n in 1..=3 {
        assert_eq!(fx.state(&id("web", n)), State::Stopping);
        fx.sup.exited(fx.at(secs(6)), 300 + n, ExitStatus::Code(0));
        assert_eq!(fx.state(&id("web", n)), State::Stopped);
    }
    assert_eq!(fx.effects(), Vec::new());
    fx.events();
    // Stopping a stopped group is not an error; it does nothing.
    fx.sup.stop_group(fx.at(secs(7)), "web").unwrap();
    assert_eq!(fx.effects(), Vec::new());
    assert_eq!(fx.events(), Vec::new());
}

#[test]
fn restart_group_resets_fatal_instances() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    fx.sup.start_group(fx.at(secs(0)), "web").unwrap();
    fx.effects();
    let error = SpawnError { kind: SpawnErrorKind::NotFound, errno: Some(2), message: "x".into() };
    fx.sup.spawn_failed(fx.at(secs(0)), &web1, error).unwrap();
    fx.events();
    // start_group leaves a fatal instance alone.
    fx.sup.start_group(fx.at(secs(1)), "web").unwrap();
    assert_eq!(fx.effects(), Vec::new());
    fx.sup.restart_group(fx.at(secs(1)), "web").unwrap();
    assert_eq!(edges(&fx.transitions()), vec![(State::Fatal, State::Stopped)]);
    fx.spawn_ok(fx.at(secs(1)), &web1);
}

#[test]
fn start_group_restarts_instances_still_stopping_from_a_stop_group() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    fx.sup.start_group(fx.at(secs(0)), "web").unwrap();
    let pid = fx.spawn_ok(fx.at(secs(0)), &web1);
    fx.sup.stop_group(fx.at(secs(2)), "web").unwrap();
    fx.effects();
    // Started again before the old process is down: it must come back once it is.
    fx.sup.start_group(fx.at(secs(3)), "web").unwrap();
    fx.sup.exited(fx.at(secs(4)), pid, ExitStatus::Code(0));
    fx.spawn_ok(fx.at(secs(4)), &web1);
}

#[test]
fn groups_are_independent() {
    let mut web = spec("web");
    web.restart = RestartPolicy::Always;
    let mut fx = Fx::new([web, spec("worker")]);
    let web1 = id("web", 1);
    let worker1 = id("worker", 1);
    fx.sup.start_group(fx.at(secs(0)), "web").unwrap();
    let wp = fx.spawn_ok(fx.at(secs(0)), &web1);
    fx.sup.start_group(fx.at(secs(0)), "worker").unwrap();
    let kp = fx.spawn_ok(fx.at(secs(0)), &worker1);
    fx.sup.tick(fx.at(secs(1)));
    fx.events();
    // A crash loop in worker does not touch web.
    fx.sup.exited(fx.at(secs(2)), kp, ExitStatus::Code(1));
    assert_eq!(fx.state(&worker1), State::Exited);
    assert_eq!(fx.state(&web1), State::Running);
    assert!(fx.transitions().iter().all(|t| t.id == worker1));
    // Stopping web does not touch worker; scaling worker does not touch web.
    fx.sup.stop_group(fx.at(secs(3)), "web").unwrap();
    assert_eq!(fx.effects(), vec![stop_signal(&web1, wp, Signal::TERM)]);
    fx.sup.scale(fx.at(secs(3)), "worker", 2).unwrap();
    assert_eq!(fx.sup.target("web"), Some(1));
    assert!(fx.transitions().iter().all(|t| t.id == web1));
    assert_eq!(fx.sup.state(&id("web", 2)), None);
}

// ----- scaling -----

#[test]
fn scale_up_starts_new_instances_of_an_active_group() {
    let mut fx = Fx::one(spec("web"));
    fx.sup.start_group(fx.at(secs(0)), "web").unwrap();
    fx.spawn_ok(fx.at(secs(0)), &id("web", 1));
    fx.sup.scale(fx.at(secs(1)), "web", 3).unwrap();
    assert_eq!(fx.effects(), vec![Effect::Spawn(id("web", 2)), Effect::Spawn(id("web", 3))]);
    assert_eq!(fx.sup.target("web"), Some(3));
}

#[test]
fn scale_up_of_an_inactive_group_only_creates_stopped_instances() {
    let mut fx = Fx::one(spec("web"));
    fx.sup.scale(fx.at(secs(0)), "web", 2).unwrap();
    assert_eq!(fx.effects(), Vec::new());
    assert_eq!(fx.state(&id("web", 2)), State::Stopped);
    fx.sup.start_group(fx.at(secs(1)), "web").unwrap();
    assert_eq!(fx.effects(), vec![Effect::Spawn(id("web", 1)), Effect::Spawn(id("web", 2))]);
}

#[test]
fn scale_down_stops_the_highest_numbers_first_and_removes_them_once_down() {
    let mut s = spec("web");
    s.instances = 4;
    let mut fx = Fx::one(s);
    let now = fx.at(secs(0));
    fx.sup.start_group(now, "web").unwrap();
    fx.effects();
    for n in 1..=4 {
        fx.sup.spawned(now, &id("web", n), 100 + n).unwrap();
    }
    fx.sup.tick(fx.at(secs(1)));
    fx.events();
    fx.sup.scale(fx.at(secs(2)), "web", 2).unwrap();
    assert_eq!(
        fx.effects(),
        vec![
            stop_signal(&id("web", 4), 104, Signal::TERM),
            stop_signal(&id("web", 3), 103, Signal::TERM)
        ]
    );
    let t = fx.transitions();
    assert_eq!(t.iter().map(|t| t.id.index).collect::<Vec<_>>(), vec![4, 3]);
    // Not removed while their processes live.
    assert_eq!(fx.sup.snapshot(fx.at(secs(2))).len(), 4);
    fx.sup.exited(fx.at(secs(3)), 103, ExitStatus::Signaled(Signal::TERM));
    assert_eq!(
        fx.events(),
        vec![
            Event::State(Transition {
                id: id("web", 3),
                pid: Some(103),
                from: State::Stopping,
                to: State::Stopped,
                at: fx.at(secs(3)),
                exit: Some(ExitStatus::Signaled(Signal::TERM)),
                expected: Some(false),
                spawn_error: None,
                retries: 0,
            }),
            Event::Removed(id("web", 3)),
        ]
    );
    assert_eq!(fx.sup.state(&id("web", 3)), None);
    // The SIGKILL at the timeout still reaches the one that lingers.
    fx.sup.tick(fx.at(secs(12)));
    assert_eq!(fx.effects(), vec![stop_signal(&id("web", 4), 104, Signal::KILL)]);
    fx.sup.exited(fx.at(secs(13)), 104, ExitStatus::Signaled(Signal::KILL));
    assert!(fx.events().contains(&Event::Removed(id("web", 4))));
    let left: Vec<u32> = fx.sup.snapshot(fx.at(secs(13))).iter().map(|i| i.id.index).collect();
    assert_eq!(left, vec![1, 2]);
    assert_eq!(fx.effects(), Vec::new());
}

#[test]
fn scale_down_removes_instances_without_a_process_at_once() {
    let mut s = spec("web");
    s.instances = 3;
    let mut fx = Fx::one(s);
    let now = fx.at(secs(0));
    // web.3 in backoff, web.2 stopped.
    let pid = fx.start_ok(now, &id("web", 3));
    fx.sup.exited(fx.at(ms(10)), pid, ExitStatus::Code(1));
    fx.events();
    fx.sup.scale(fx.at(ms(20)), "web", 1).unwrap();
    let events = fx.events();
    assert_eq!(
        events.iter().filter(|e| matches!(e, Event::Removed(_))).cloned().collect::<Vec<_>>(),
        vec![Event::Removed(id("web", 3)), Event::Removed(id("web", 2))]
    );
    assert_eq!(fx.sup.next_deadline(), None);
    fx.sup.tick(fx.at(secs(60)));
    assert_eq!(fx.effects(), Vec::new());
    assert_eq!(fx.sup.snapshot(fx.at(secs(60))).len(), 1);
}

#[test]
fn scaling_back_up_while_one_is_still_stopping_keeps_it() {
    let mut s = spec("web");
    s.instances = 3;
    let mut fx = Fx::one(s);
    let now = fx.at(secs(0));
    fx.sup.start_group(now, "web").unwrap();
    fx.effects();
    for n in 1..=3 {
        fx.sup.spawned(now, &id("web", n), 100 + n).unwrap();
    }
    fx.sup.scale(fx.at(secs(1)), "web", 1).unwrap();
    fx.effects();
    // web.2 goes down and is removed; web.3 is still stopping when the target goes back to 3.
    fx.sup.exited(fx.at(secs(2)), 102, ExitStatus::Code(0));
    fx.events();
    fx.sup.scale(fx.at(secs(3)), "web", 3).unwrap();
    assert_eq!(fx.effects(), vec![Effect::Spawn(id("web", 2))]);
    fx.sup.spawned(fx.at(secs(3)), &id("web", 2), 202).unwrap();
    assert_eq!(fx.state(&id("web", 3)), State::Stopping);
    fx.sup.exited(fx.at(secs(4)), 103, ExitStatus::Code(0));
    let events = fx.events();
    assert!(!events.contains(&Event::Removed(id("web", 3))), "{events:?}");
    // It comes back as a fresh start.
    assert_eq!(fx.effects(), vec![Effect::Spawn(id("web", 3))]);
}

#[test]
fn scale_down_then_restart_group_does_not_bring_back_removed_instances() {
    let mut s = spec("web");
    s.instances = 2;
    let mut fx = Fx::one(s);
    let now = fx.at(secs(0));
    fx.sup.start_group(now, "web").unwrap();
    fx.effects();
    fx.sup.spawned(now, &id("web", 1), 101).unwrap();
    fx.sup.spawned(now, &id("web", 2), 102).unwrap();
    fx.sup.scale(fx.at(secs(1)), "web", 1).unwrap();
    fx.effects();
    fx.sup.restart_group(fx.at(secs(2)), "web").unwrap();
    fx.effects();
    fx.sup.exited(fx.at(secs(3)), 102, ExitStatus::Code(0));
    fx.sup.exited(fx.at(secs(3)), 101, ExitStatus::Code(0));
    // web.1 restarts; web.2 is beyond the target and goes away.
    assert_eq!(fx.effects(), vec![Effect::Spawn(id("web", 1))]);
    assert_eq!(fx.sup.state(&id("web", 2)), None);
}

#[test]
fn an_exit_beyond_the_target_is_not_restarted() {
    let mut s = spec("web");
    s.instances = 2;
    s.restart = RestartPolicy::Always;
    let mut fx = Fx::one(s);
    let now = fx.at(secs(0));
    fx.sup.start_group(now, "web").unwrap();
    fx.effects();
    fx.sup.spawned(now, &id("web", 1), 101).unwrap();
    fx.sup.spawned(now, &id("web", 2), 102).unwrap();
    fx.sup.tick(fx.at(secs(1)));
    fx.sup.scale(fx.at(secs(5)), "web", 1).unwrap();
    fx.effects();
    // web.2 dies on its own (not from the stop signal) while being scaled away.
    fx.sup.exited(fx.at(secs(6)), 102, ExitStatus::Code(1));
    assert_eq!(fx.effects(), Vec::new());
    assert_eq!(fx.sup.state(&id("web", 2)), None);
}

// ----- shutdown -----

#[test]
fn shutdown_stops_everything_and_never_spawns_again() {
    let mut web = spec("web");
    web.restart = RestartPolicy::Always;
    web.instances = 2;
    let mut fx = Fx::new([web, spec("worker"), spec("idle")]);
    let now = fx.at(secs(0));
    fx.sup.start_group(now, "web").unwrap();
    fx.effects();
    fx.sup.spawned(now, &id("web", 1), 101).unwrap();
    fx.sup.spawned(now, &id("web", 2), 102).unwrap();
    // worker.1 in backoff.
    let kp = fx.start_ok(now, &id("worker", 1));
    fx.sup.exited(fx.at(ms(10)), kp, ExitStatus::Code(1));
    fx.sup.tick(fx.at(secs(1)));
    fx.events();

    let t = fx.at(secs(2));
    fx.sup.shutdown(t);
    assert!(fx.sup.is_shutting_down());
    assert!(!fx.sup.is_shutdown_complete());
    let effects = fx.effects();
    assert_eq!(
        effects,
        vec![
            stop_signal(&id("web", 1), 101, Signal::TERM),
            stop_signal(&id("web", 2), 102, Signal::TERM)
        ]
    );
    let t1 = fx.transitions();
    assert!(t1.contains(&Transition {
        id: id("worker", 1),
        pid: None,
        from: State::Backoff,
        to: State::Stopped,
        at: t,
        exit: None,
        expected: None,
        spawn_error: None,
        retries: 1,
    }));
    // Requests that would start something are refused.
    fx.refused(t, RequestError::ShuttingDown, |s| s.start(t, &id("idle", 1)));
    fx.refused(t, RequestError::ShuttingDown, |s| s.start_group(t, "idle"));
    fx.refused(t, RequestError::ShuttingDown, |s| s.restart(t, &id("web", 1)));
    fx.refused(t, RequestError::ShuttingDown, |s| s.restart_group(t, "web"));
    fx.refused(t, RequestError::ShuttingDown, |s| s.scale(t, "web", 5));
    assert_eq!(fx.sup.add_group(spec("late")), Err(RequestError::ShuttingDown));
    // A web process dies on its own: policy Always, but no restart.
    fx.sup.exited(fx.at(secs(3)), 101, ExitStatus::Code(1));
    fx.sup.tick(fx.at(secs(4)));
    assert_eq!(fx.effects(), Vec::new());
    assert!(!fx.events().contains(&Event::ShutdownComplete));
    // The other ignores the stop signal and is killed at the timeout.
    fx.sup.tick(fx.at(secs(12)));
    assert_eq!(fx.effects(), vec![stop_signal(&id("web", 2), 102, Signal::KILL)]);
    fx.sup.exited(fx.at(secs(12)), 102, ExitStatus::Signaled(Signal::KILL));
    let events = fx.events();
    assert_eq!(events.last(), Some(&Event::ShutdownComplete));
    assert_eq!(events.iter().filter(|e| **e == Event::ShutdownComplete).count(), 1);
    assert!(fx.sup.is_shutdown_complete());
    // Nothing more, ever, and a second shutdown does not report completion twice.
    fx.sup.shutdown(fx.at(secs(13)));
    fx.sup.tick(fx.at(secs(3600)));
    assert_eq!(fx.effects(), Vec::new());
    assert_eq!(fx.events(), Vec::new());
    // Scaling down during a shutdown is allowed.
    fx.sup.scale(fx.at(secs(3600)), "web", 1).unwrap();
}

#[test]
fn shutdown_with_nothing_running_completes_at_once() {
    let mut fx = Fx::one(spec("web"));
    fx.sup.shutdown(fx.at(secs(0)));
    assert_eq!(fx.events(), vec![Event::ShutdownComplete]);
    assert!(fx.sup.is_shutdown_complete());
}

#[test]
fn shutdown_cancels_a_restart_waiting_for_the_old_process() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    let pid = fx.running(fx.at(secs(0)), &web1);
    fx.sup.restart(fx.at(secs(2)), &web1).unwrap();
    fx.effects();
    fx.sup.shutdown(fx.at(secs(3)));
    // Already stopping: no second stop signal.
    assert_eq!(fx.effects(), Vec::new());
    fx.sup.exited(fx.at(secs(4)), pid, ExitStatus::Code(0));
    assert_eq!(fx.effects(), Vec::new());
    assert_eq!(fx.state(&web1), State::Stopped);
    assert_eq!(fx.events().last(), Some(&Event::ShutdownComplete));
}

#[test]
fn shutdown_while_a_spawn_is_pending_stops_the_process_once_reported() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    fx.sup.start(fx.at(secs(0)), &web1).unwrap();
    assert_eq!(fx.effects(), vec![Effect::Spawn(web1.clone())]);
    fx.sup.shutdown(fx.at(secs(0)));
    assert!(!fx.sup.is_shutdown_complete());
    // The spawn asked for before the shutdown succeeds: that process must be stopped.
    fx.sup.spawned(fx.at(ms(1)), &web1, 77).unwrap();
    assert_eq!(fx.effects(), vec![stop_signal(&web1, 77, Signal::TERM)]);
    assert_eq!(fx.state(&web1), State::Stopping);
    fx.sup.exited(fx.at(ms(2)), 77, ExitStatus::Signaled(Signal::TERM));
    assert_eq!(fx.events().last(), Some(&Event::ShutdownComplete));
}

#[test]
fn shutdown_while_a_spawn_is_pending_and_then_fails_completes() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    fx.sup.start(fx.at(secs(0)), &web1).unwrap();
    fx.effects();
    fx.sup.shutdown(fx.at(secs(0)));
    let error = SpawnError { kind: SpawnErrorKind::Resources, errno: None, message: "x".into() };
    fx.sup.spawn_failed(fx.at(ms(1)), &web1, error).unwrap();
    assert_eq!(fx.state(&web1), State::Stopped);
    assert_eq!(fx.sup.next_deadline(), None);
    assert_eq!(fx.events().last(), Some(&Event::ShutdownComplete));
    assert_eq!(fx.effects(), Vec::new());
}

#[test]
fn stop_group_while_a_spawn_is_pending_stops_the_process_once_reported() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    fx.sup.start_group(fx.at(secs(0)), "web").unwrap();
    fx.effects();
    fx.sup.stop_group(fx.at(secs(0)), "web").unwrap();
    fx.sup.spawned(fx.at(ms(1)), &web1, 77).unwrap();
    assert_eq!(fx.effects(), vec![stop_signal(&web1, 77, Signal::TERM)]);
    fx.sup.exited(fx.at(ms(2)), 77, ExitStatus::Code(0));
    assert_eq!(fx.state(&web1), State::Stopped);
    assert_eq!(fx.effects(), Vec::new());
}

#[test]
fn stop_group_while_a_spawn_is_pending_and_then_fails_does_not_retry() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    fx.sup.start_group(fx.at(secs(0)), "web").unwrap();
    fx.effects();
    fx.sup.stop_group(fx.at(secs(0)), "web").unwrap();
    let error = SpawnError { kind: SpawnErrorKind::Resources, errno: None, message: "x".into() };
    fx.sup.spawn_failed(fx.at(ms(1)), &web1, error).unwrap();
    assert_eq!(fx.state(&web1), State::Stopped);
    fx.sup.tick(fx.at(secs(60)));
    assert_eq!(fx.effects(), Vec::new());
}

#[test]
fn scale_down_while_a_spawn_is_pending_removes_the_instance_once_down() {
    let mut s = spec("web");
    s.instances = 2;
    let mut fx = Fx::one(s);
    fx.sup.start_group(fx.at(secs(0)), "web").unwrap();
    fx.effects();
    fx.sup.spawned(fx.at(secs(0)), &id("web", 1), 101).unwrap();
    fx.sup.scale(fx.at(secs(0)), "web", 1).unwrap();
    fx.sup.spawned(fx.at(ms(1)), &id("web", 2), 102).unwrap();
    assert_eq!(fx.effects(), vec![stop_signal(&id("web", 2), 102, Signal::TERM)]);
    fx.sup.exited(fx.at(ms(2)), 102, ExitStatus::Code(0));
    assert!(fx.events().contains(&Event::Removed(id("web", 2))));
    assert_eq!(fx.sup.state(&id("web", 2)), None);
}

#[test]
fn start_or_restart_group_cancel_a_stop_waiting_for_a_pending_spawn() {
    for restart in [false, true] {
        let mut fx = Fx::one(spec("web"));
        let web1 = id("web", 1);
        fx.sup.start_group(fx.at(secs(0)), "web").unwrap();
        fx.effects();
        fx.sup.stop_group(fx.at(secs(0)), "web").unwrap();
        if restart {
            fx.sup.restart_group(fx.at(secs(0)), "web").unwrap();
        } else {
            fx.sup.start_group(fx.at(secs(0)), "web").unwrap();
        }
        fx.sup.spawned(fx.at(ms(1)), &web1, 77).unwrap();
        assert_eq!(fx.effects(), Vec::new(), "restart: {restart}");
        assert_eq!(fx.state(&web1), State::Starting);
    }
}

#[test]
fn an_explicit_start_from_backoff_gets_a_fresh_retry_budget() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    let pid = fx.start_ok(fx.at(secs(0)), &web1);
    fx.sup.exited(fx.at(ms(100)), pid, ExitStatus::Code(1));
    assert_eq!(fx.info(&web1, fx.at(ms(100))).retries, 1);
    fx.events();
    // Asked for by someone, not an automatic retry: the failures so far do not count.
    let pid = fx.start_ok(fx.at(ms(200)), &web1);
    let t = fx.transitions();
    assert_eq!(edges(&t), vec![(State::Backoff, State::Starting)]);
    assert_eq!((t[0].pid, t[0].retries), (Some(pid), 0));
}

#[test]
fn on_failure_an_expected_exit_within_the_grace_is_done_not_failed() {
    let mut web = spec("web");
    web.restart = RestartPolicy::OnUnexpectedExit;
    let mut fx = Fx::one(web);
    let web1 = id("web", 1);
    let pid = fx.start_ok(fx.at(secs(0)), &web1);
    fx.events();
    fx.sup.exited(fx.at(ms(100)), pid, ExitStatus::Code(0));
    let t = fx.transitions();
    assert_eq!(edges(&t), vec![(State::Starting, State::Exited)]);
    assert_eq!(t[0].retries, 0);
    assert!(fx.sup.is_settled(&web1), "no retry, no restart");
    // An unexpected exit within the grace is still a failed start.
    let pid = fx.start_ok(fx.at(secs(1)), &web1);
    fx.events();
    fx.sup.exited(fx.at(ms(1100)), pid, ExitStatus::Code(1));
    assert_eq!(edges(&fx.transitions()), vec![(State::Starting, State::Backoff)]);
}
