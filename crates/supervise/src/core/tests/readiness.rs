//! Readiness in the core, with a fake clock: `Starting` until `ready`, and a start that is not
//! ready by its timeout fails like an early exit.

use super::*;
use crate::core::types::Wait;
use crate::spec::Readiness;

/// `spec(name)` with a readiness check reported by hand, with a 5 s timeout.
fn checked(name: &str) -> ProgramSpec {
    let mut spec = spec(name);
    spec.readiness = Some(Readiness::manual().timeout(Some(secs(5))));
    spec
}

#[test]
fn an_instance_with_a_readiness_check_stays_starting_until_it_is_ready() {
    let mut fx = Fx::one(checked("db"));
    let db1 = id("db", 1);
    let t0 = fx.at(secs(0));
    let pid = fx.start_ok(t0, &db1);
    fx.events();
    // The start grace (1 s) plays no part: the deadline is the readiness timeout.
    assert_eq!(fx.sup.next_deadline(), Some(fx.at(secs(5))));
    fx.sup.tick(fx.at(secs(2)));
    assert_eq!(fx.state(&db1), State::Starting);
    let info = fx.info(&db1, fx.at(secs(2)));
    assert_eq!(info.ready, Some(false));
    assert_eq!(info.waiting_for, Some(Wait::Ready { deadline: Some(fx.at(secs(5))) }));
    assert_eq!(fx.sup.waiting_for(&db1), info.waiting_for);

    fx.sup.ready(fx.at(secs(3)), &db1).unwrap();
    let t = fx.transitions();
    assert_eq!(edges(&t), vec![(State::Starting, State::Running)]);
    assert_eq!((t[0].pid, t[0].at, t[0].retries), (Some(pid), fx.at(secs(3)), 0));
    let info = fx.info(&db1, fx.at(secs(3)));
    assert_eq!((info.ready, info.waiting_for), (Some(true), None));
    assert_eq!(fx.sup.next_deadline(), None);
    // A second report changes nothing.
    fx.sup.ready(fx.at(secs(4)), &db1).unwrap();
    assert_eq!((fx.effects(), fx.events()), (Vec::new(), Vec::new()));
}

#[test]
fn without_a_readiness_check_ready_ends_the_start_grace_early() {
    let mut fx = Fx::one(spec("web"));
    let web1 = id("web", 1);
    fx.start_ok(fx.at(secs(0)), &web1);
    fx.events();
    assert_eq!(fx.info(&web1, fx.at(ms(1))).ready, None);
    fx.sup.ready(fx.at(ms(200)), &web1).unwrap();
    assert_eq!(edges(&fx.transitions()), vec![(State::Starting, State::Running)]);
    assert_eq!(fx.info(&web1, fx.at(ms(200))).ready, None);
}

#[test]
fn ready_is_refused_for_an_instance_that_is_not_starting_or_running() {
    let mut fx = Fx::one(checked("db"));
    let db1 = id("db", 1);
    let t = fx.at(secs(0));
    fx.refused(t, not_allowed(&db1, State::Stopped, "ready"), |s| s.ready(t, &db1));
    fx.sup.start(t, &db1).unwrap();
    fx.effects();
    fx.refused(t, RequestError::SpawnPending(db1.clone()), |s| s.ready(t, &db1));
    let missing = id("db", 7);
    fx.refused(t, RequestError::UnknownInstance(missing.clone()), |s| s.ready(t, &missing));
}

#[test]
fn an_exit_before_it_is_ready_is_a_failed_start() {
    let mut fx = Fx::one(checked("db"));
    let db1 = id("db", 1);
    // Up for longer than the start grace, but never ready.
    let pid = fx.start_ok(fx.at(secs(0)), &db1);
    fx.events();
    fx.sup.exited(fx.at(secs(3)), pid, ExitStatus::Code(0));
    let t = fx.transitions();
    assert_eq!(edges(&t), vec![(State::Starting, State::Backoff)]);
    assert_eq!(t[0].retries, 1);
}

#[test]
fn a_readiness_timeout_stops_the_instance_and_counts_a_failed_start() {
    let mut db = checked("db");
    db.max_retries = 1;
    let mut fx = Fx::one(db);
    let db1 = id("db", 1);
    let pid = fx.start_ok(fx.at(secs(0)), &db1);
    fx.events();

    fx.sup.tick(fx.at(secs(5)));
    assert_eq!(fx.effects(), vec![stop_signal(&db1, pid, Signal::TERM)]);
    let events = fx.events();
    assert_eq!(
        events[0],
        Event::Notice(Notice::NotReady { id: db1.clone(), pid, waited: secs(5) })
    );
    let Event::State(stopping) = &events[1] else { panic!("{events:?}") };
    assert_eq!(
        (stopping.from, stopping.to, stopping.retries),
        (State::Starting, State::Stopping, 0)
    );
    // SIGKILL at the stop timeout, as for any stop.
    assert_eq!(fx.sup.next_deadline(), Some(fx.at(secs(15))));

    // Once down: backoff, with the failure counted.
    fx.sup.exited(fx.at(secs(6)), pid, ExitStatus::Signaled(Signal::TERM));
    let t = fx.transitions();
    assert_eq!(edges(&t), vec![(State::Stopping, State::Backoff)]);
    assert_eq!((t[0].retries, t[0].exit), (1, Some(ExitStatus::Signaled(Signal::TERM))));

    // The retry is not ready either: fatal, the retries exhausted.
    fx.sup.tick(fx.at(secs(7)));
    let pid = fx.spawn_ok(fx.at(secs(7)), &db1);
    fx.sup.tick(fx.at(secs(12)));
    assert_eq!(fx.effects(), vec![stop_signal(&db1, pid, Signal::TERM)]);
    fx.sup.exited(fx.at(secs(12)), pid, ExitStatus::Code(0));
    let t = fx.transitions();
    assert_eq!(edges(&t).last(), Some(&(State::Stopping, State::Fatal)));
    assert_eq!(t.last().map(|t| t.retries), Some(2));
}

#[test]
fn a_stop_after_a_readiness_timeout_is_a_plain_stop() {
    let mut fx = Fx::one(checked("db"));
    let db1 = id("db", 1);
    let pid = fx.start_ok(fx.at(secs(0)), &db1);
    fx.sup.tick(fx.at(secs(5)));
    fx.effects();
    fx.events();
    fx.sup.shutdown(fx.at(secs(6)));
    fx.sup.exited(fx.at(secs(7)), pid, ExitStatus::Code(0));
    let t = fx.transitions();
    assert_eq!(edges(&t), vec![(State::Stopping, State::Stopped)]);
    assert_eq!(t[0].retries, 0, "not counted as a failed start");
    assert!(fx.sup.is_shutdown_complete());
}

#[test]
fn a_zero_stop_timeout_after_a_readiness_timeout_kills_in_the_same_tick() {
    let mut db = checked("db");
    db.stop_timeout = Duration::ZERO;
    let mut fx = Fx::one(db);
    let db1 = id("db", 1);
    let pid = fx.start_ok(fx.at(secs(0)), &db1);
    fx.sup.tick(fx.at(secs(5)));
    assert_eq!(
        fx.effects(),
        vec![stop_signal(&db1, pid, Signal::TERM), stop_signal(&db1, pid, Signal::KILL)]
    );
}
