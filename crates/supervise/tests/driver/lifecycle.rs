//! The state machine against real processes: crash loops, the start grace, stop timeouts,
//! restarts, scaling and shutdown.

use std::time::{Duration, Instant};

use supervise::{Backoff, Event, ExitStatus, RestartPolicy, Signal, SignalReason, State};

use crate::harness::{Run, exists, id, sh};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn a_crash_loop_reaches_fatal_after_the_retry_limit_with_the_backoff_delays_in_order() {
    let mut run = Run::new();
    let mut spec = sh("crash", "exit 3");
    spec.start_grace = Duration::from_secs(2);
    spec.max_retries = 3;
    spec.backoff = Backoff { initial: ms(50), factor: 2.0, max: ms(150) };
    run.add(spec);
    let crash1 = id("crash", 1);
    let began = Instant::now();
    run.driver.start_group("crash").expect("start");
    // The delay the core chose for each backoff: its next deadline (the retry, the only one
    // due) minus the time of the transition, read after every turn while it waits. Exact
    // whatever the load: no clock of the test's is involved.
    let mut delays: Vec<(u32, Duration)> = Vec::new();
    run.wait_until("crash.1 to be FATAL", |run| {
        let core = run.driver.supervisor();
        if core.state(&crash1) == Some(State::Backoff) {
            let entered = run.transitions(&crash1).into_iter().rfind(|t| t.to == State::Backoff);
            if let (Some(t), Some(deadline)) = (entered, core.next_deadline()) {
                if delays.last().is_none_or(|(retry, _)| *retry != t.retries) {
                    delays.push((t.retries, deadline - t.at));
                }
            }
        }
        core.state(&crash1) == Some(State::Fatal)
    });
    let fatal = run.transitions(&crash1).into_iter().find(|t| t.to == State::Fatal).expect("seen");
    assert_eq!(fatal.from, State::Starting);
    assert_eq!(fatal.exit, Some(ExitStatus::Code(3)));
    assert_eq!(fatal.retries, 4);

    let transitions = run.transitions(&crash1);
    let starts: Vec<Instant> =
        transitions.iter().filter(|t| t.to == State::Starting).map(|t| t.at).collect();
    // max_retries = 3: the first start and three retries, then no more.
    assert_eq!(starts.len(), 4, "{transitions:#?}");
    let backoffs: Vec<_> = transitions.iter().filter(|t| t.to == State::Backoff).collect();
    assert_eq!(backoffs.iter().map(|t| t.retries).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(
        backoffs.iter().all(|t| t.exit == Some(ExitStatus::Code(3)) && t.spawn_error.is_none())
    );
    // The delays, in order: 50 ms, x2, capped at 150 ms.
    assert_eq!(delays, [(1, ms(50)), (2, ms(100)), (3, ms(150))]);
    // And the retries waited for them: a loaded machine may be late, never early.
    let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    for (gap, (_, delay)) in gaps.iter().zip(&delays) {
        assert!(gap >= delay, "gap {gap:?} shorter than the backoff {delay:?}: {gaps:?}");
    }
    // Nothing else is started once fatal.
    let settled = Instant::now();
    run.wait_until("a while after fatal", |_| settled.elapsed() >= ms(300));
    assert_eq!(run.transitions(&crash1).len(), transitions.len());
    assert!(began.elapsed() < Duration::from_secs(9));
    run.finish();
}

#[test]
fn the_start_grace_decides_between_running_and_backoff() {
    let mut run = Run::new();
    let mut steady = sh("steady", "exec sleep 300");
    steady.start_grace = ms(300);
    run.add(steady);
    // An exit long before the grace is over, however loaded the machine.
    let mut quick = sh("quick", "sleep 0.1");
    quick.start_grace = Duration::from_secs(60);
    quick.max_retries = 1;
    quick.backoff =
        Backoff { initial: Duration::from_secs(5), factor: 1.0, max: Duration::from_secs(5) };
    run.add(quick);
    run.driver.start_group("steady").expect("start");
    run.driver.start_group("quick").expect("start");

    let steady1 = id("steady", 1);
    let running = run.wait_state(&steady1, State::Running);
    let starting = run.transitions(&steady1)[0].clone();
    assert_eq!(starting.to, State::Starting);
    assert_eq!(running.pid, starting.pid);
    assert!(running.at - starting.at >= ms(300), "running after {:?}", running.at - starting.at);

    let quick1 = id("quick", 1);
    let backoff = run.wait_state(&quick1, State::Backoff);
    assert_eq!(backoff.from, State::Starting);
    assert_eq!(backoff.exit, Some(ExitStatus::Code(0)));
    assert_eq!(backoff.expected, Some(true), "even an expected exit is a failed start");
    assert!(!run.transitions(&quick1).iter().any(|t| t.to == State::Running));
    run.finish();
}

#[test]
fn a_child_that_ignores_sigterm_is_killed_at_the_stop_timeout() {
    let mut run = Run::new();
    // `trap "" TERM` makes the signal ignored, which `exec` keeps for sleep.
    let mut spec = sh("stubborn", "trap '' TERM; echo ready; exec sleep 300");
    spec.stop_timeout = ms(300);
    run.add(spec);
    let stubborn1 = id("stubborn", 1);
    run.driver.start_group("stubborn").expect("start");
    run.wait_line(&stubborn1, |l| l == "ready");
    let pid = run.pid(&stubborn1);

    run.driver.stop(&stubborn1).expect("stop");
    let stopped = run.wait_state(&stubborn1, State::Stopped);
    assert_eq!(stopped.exit, Some(ExitStatus::Signaled(Signal::KILL)));
    assert_eq!(stopped.expected, Some(false));
    let stopping = run.transitions(&stubborn1).into_iter().find(|t| t.to == State::Stopping);
    let stopping = stopping.expect("stopping");
    let signals: Vec<(Instant, Signal, SignalReason)> = run
        .log
        .iter()
        .filter_map(|(at, e)| match e {
            Event::Signal { pid: p, signal, reason, .. } if *p == pid => {
                Some((*at, *signal, *reason))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        signals.iter().map(|(_, s, r)| (*s, *r)).collect::<Vec<_>>(),
        vec![(Signal::TERM, SignalReason::Stop), (Signal::KILL, SignalReason::Kill)]
    );
    let kill_at = signals[1].0;
    assert!(kill_at - stopping.at >= ms(300), "SIGKILL after {:?}", kill_at - stopping.at);
    assert!(!exists(pid));
    run.finish();
}

#[test]
fn a_child_that_obeys_sigterm_stops_without_sigkill() {
    let mut run = Run::new();
    let mut spec = sh("polite", "echo ready; exec sleep 300");
    spec.stop_signal = Signal::INT;
    run.add(spec);
    let polite1 = id("polite", 1);
    run.driver.start_group("polite").expect("start");
    run.wait_line(&polite1, |l| l == "ready");
    run.driver.stop(&polite1).expect("stop");
    let stopped = run.wait_state(&polite1, State::Stopped);
    assert_eq!(stopped.exit, Some(ExitStatus::Signaled(Signal::INT)));
    assert!(!run.log.iter().any(|(_, e)| matches!(e, Event::Signal { signal: Signal::KILL, .. })));
    // A refused request changes nothing.
    assert!(run.driver.stop(&polite1).is_err());
    run.finish();
}

#[test]
fn restart_replaces_the_process() {
    let mut run = Run::new();
    run.add(sh("web", "exec sleep 300"));
    let web1 = id("web", 1);
    run.driver.start_group("web").expect("start");
    run.wait_state(&web1, State::Running);
    let first = run.pid(&web1);
    run.driver.restart(&web1).expect("restart");
    let second = run.wait_state_nth(&web1, State::Running, 2);
    assert_ne!(second.pid, Some(first));
    run.wait_gone(first);
    let info = run.driver.snapshot().into_iter().find(|i| i.id == web1).expect("web.1");
    assert_eq!((info.state, info.pid, info.restarts), (State::Running, second.pid, 1));
    run.finish();
}

#[test]
fn restart_policy_always_restarts_a_crashing_program_no_faster_than_the_initial_backoff() {
    let mut run = Run::new();
    let mut spec = sh("flaky", "echo up; exit 1");
    spec.restart = RestartPolicy::Always;
    spec.backoff = Backoff { initial: ms(100), factor: 2.0, max: ms(400) };
    run.add(spec);
    let flaky1 = id("flaky", 1);
    run.driver.start_group("flaky").expect("start");
    run.wait_state_nth(&flaky1, State::Exited, 4);
    let t = run.transitions(&flaky1);
    let starts: Vec<Instant> = t.iter().filter(|t| t.to == State::Starting).map(|t| t.at).collect();
    assert!(starts.windows(2).all(|w| w[1] - w[0] >= ms(100)), "{starts:?}");
    // A zero start grace: every run counts as started, so it never becomes fatal.
    assert!(t.iter().all(|t| t.to != State::Fatal && t.to != State::Backoff));
    assert!(
        t.iter().filter(|t| t.to == State::Exited).all(|t| t.exit == Some(ExitStatus::Code(1)))
    );
    run.finish();
}

#[test]
fn scale_up_then_down_stops_the_highest_numbers_and_removes_them() {
    let mut run = Run::new();
    run.start(sh("web", "exec sleep 300"));
    run.wait_state(&id("web", 1), State::Running);
    run.driver.scale("web", 3).expect("scale up");
    run.wait_state(&id("web", 2), State::Running);
    run.wait_state(&id("web", 3), State::Running);
    let pids: Vec<u32> = (1..=3).map(|n| run.pid(&id("web", n))).collect();
    assert!(pids.iter().all(|p| exists(*p)));

    run.driver.scale("web", 1).expect("scale down");
    run.wait_until("web.2 and web.3 to be removed", |run| {
        let removed = |n| run.log.iter().any(|(_, e)| *e == Event::Removed(id("web", n)));
        removed(2) && removed(3)
    });
    // Highest number first.
    let stopping: Vec<u32> = run
        .log
        .iter()
        .filter_map(|(_, e)| match e {
            Event::State(t) if t.to == State::Stopping => Some(t.id.index),
            _ => None,
        })
        .collect();
    assert_eq!(stopping, vec![3, 2]);
    let left: Vec<_> = run.driver.snapshot().into_iter().map(|i| (i.id.index, i.state)).collect();
    assert_eq!(left, vec![(1, State::Running)]);
    assert!(exists(pids[0]));
    assert!(!exists(pids[1]) && !exists(pids[2]));
    assert_eq!(run.driver.supervisor().target("web"), Some(1));
    run.finish();
}

#[test]
fn shutdown_stops_every_group_and_reports_completion_last() {
    let mut run = Run::new();
    let mut web = sh("web", "exec sleep 300");
    web.instances = 2;
    web.restart = RestartPolicy::Always;
    run.add(web);
    run.add(sh("worker", "trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done"));
    run.driver.start_group("web").expect("start");
    run.driver.start_group("worker").expect("start");
    run.wait_line(&id("worker", 1), |l| l == "ready");
    run.wait_state(&id("web", 2), State::Running);
    let pids: Vec<u32> =
        [id("web", 1), id("web", 2), id("worker", 1)].iter().map(|i| run.pid(i)).collect();
    run.driver.shutdown();
    assert!(run.driver.start_group("web").is_err(), "nothing starts after a shutdown");
    run.wait_until("the shutdown", |run| run.driver.is_finished());
    for pid in pids {
        assert!(!exists(pid), "{pid} survived the shutdown");
    }
    // Nothing was started after the shutdown, although web restarts always.
    let shutdown_at = run
        .log
        .iter()
        .position(|(_, e)| matches!(e, Event::State(t) if t.to == State::Stopping))
        .expect("a stop");
    assert!(
        !run.log[shutdown_at..]
            .iter()
            .any(|(_, e)| matches!(e, Event::State(t) if t.to == State::Starting))
    );
    let stopped: Vec<_> = run.driver.snapshot().into_iter().map(|i| i.state).collect();
    assert_eq!(stopped, vec![State::Stopped; 3]);
    run.finish();
}

#[test]
fn run_hands_every_event_to_the_callback_until_the_shutdown_completes() {
    let mut run = Run::new();
    run.start(sh("once", "echo hello"));
    let mut seen = Vec::new();
    run.driver
        .run(|driver, event| {
            if let Event::State(t) = &event {
                if t.to == State::Exited {
                    driver.shutdown();
                }
            }
            seen.push(event);
        })
        .expect("run");
    assert!(run.driver.is_finished());
    assert!(seen.iter().any(|e| matches!(e, Event::Output(o) if o.data == b"hello\n")));
    assert_eq!(seen.last(), Some(&Event::ShutdownComplete));
    run.finish();
}

#[test]
fn the_snapshot_measures_the_process_tree() {
    let mut run = Run::new();
    run.add(sh("tree", "sleep 300 & sleep 300 & echo ready; wait"));
    run.driver.start_group("tree").expect("start");
    run.wait_line(&id("tree", 1), |l| l == "ready");
    let info = run.driver.snapshot().into_iter().next().expect("one instance");
    let resources = info.resources.expect("measured on Linux");
    assert_eq!(resources.processes, 3, "{resources:?}");
    assert!(resources.rss_bytes > 0);
    assert!(info.uptime > Duration::ZERO);
    run.finish();
}
