//! Hand-picked sequences for the property model: the rows a random search reaches least
//! often, and the pending-spawn cases it must never lose sight of. They run through the same
//! world and invariants as the random ones.

use super::{Case, Condition, GroupParams, Input, Outcome, Req, State, Step, World};
use crate::spec::RestartPolicy;

/// Sequences that reach the rows a random search reaches least often: an automatic restart
/// or a retry that must wait for a dependency, a readiness timeout followed by backoff then
/// fatal, a pending restart cancelled, a waiting instance stopped.
pub(super) fn rare_rows() -> Vec<(Case, Vec<(State, State)>)> {
    let quick = GroupParams {
        grace_ms: 0,
        stop_timeout_ms: 1000,
        max_retries: 2,
        backoff_ms: 0,
        factor: 1.0,
        restart: RestartPolicy::Always,
        instances: 1,
        ready_timeout_ms: None,
    };
    let step = |advance_ms, input| Step { advance_ms, input };
    let request = |req, group| step(0, Input::Request { req, group, index: 1 });
    let resolve = || step(0, Input::Resolve { pick: 0, outcome: Outcome::Ok });
    // The live process with the lowest pid: `a`'s, started first.
    let exit = || step(0, Input::Exit { pick: 0, code: Some(1) });
    let case = |groups: Vec<GroupParams>, dependency, steps| Case {
        groups,
        dependency,
        eager: false,
        eager_outcomes: vec![Outcome::Ok],
        kill_is_immediate: false,
        steps,
    };
    let both_up =
        || vec![request(Req::StartGroup, 0), resolve(), request(Req::StartGroup, 1), resolve()];
    // Exited -> Waiting -> Starting: b restarts while a restarts.
    let mut exited_waits = both_up();
    exited_waits.extend([exit(), exit(), resolve(), resolve()]);
    // Backoff -> Waiting: b fails its start while a restarts, and retries before a is up.
    let slow_b = GroupParams { grace_ms: 500, backoff_ms: 200, ..quick.clone() };
    let mut backoff_waits = both_up();
    backoff_waits.extend([exit(), exit(), step(300, Input::Tick)]);
    // Stopping -> Backoff, then Stopping -> Fatal: never ready in time.
    let never_ready = GroupParams { max_retries: 1, ready_timeout_ms: Some(300), ..quick.clone() };
    let timeouts = vec![
        request(Req::StartGroup, 0),
        resolve(),
        step(300, Input::Tick),
        exit(),
        step(0, Input::Tick),
        resolve(),
        step(300, Input::Tick),
        exit(),
    ];
    // Exited -> Stopped: a stop cancels a pending automatic restart.
    let slow_restart = GroupParams { backoff_ms: 1000, ..quick.clone() };
    let cancelled = vec![request(Req::StartGroup, 0), resolve(), exit(), request(Req::Stop, 0)];
    // Stopped -> Waiting -> Stopped.
    let stopped_waiting = vec![request(Req::StartGroup, 1), request(Req::Stop, 1)];
    use State::{Backoff, Exited, Fatal, Starting, Stopped, Stopping, Waiting};
    vec![
        (
            case(vec![quick.clone(), quick.clone()], Some(Condition::Ready), exited_waits),
            vec![(Exited, Waiting), (Waiting, Starting)],
        ),
        (
            case(vec![quick.clone(), slow_b], Some(Condition::Ready), backoff_waits),
            vec![(Backoff, Waiting)],
        ),
        (
            case(vec![never_ready, quick.clone()], None, timeouts),
            vec![(Stopping, Backoff), (Stopping, Fatal)],
        ),
        (case(vec![slow_restart, quick.clone()], None, cancelled), vec![(Exited, Stopped)]),
        (
            case(vec![quick.clone(), quick], Some(Condition::Started), stopped_waiting),
            vec![(Stopped, Waiting), (Waiting, Stopped)],
        ),
    ]
}

/// A few hand-picked sequences that the random search must never lose sight of.
#[test]
fn the_harness_catches_the_pending_spawn_cases() {
    let group = GroupParams {
        grace_ms: 500,
        stop_timeout_ms: 1000,
        max_retries: 1,
        backoff_ms: 200,
        factor: 2.0,
        restart: RestartPolicy::Always,
        instances: 2,
        ready_timeout_ms: None,
    };
    let request =
        |req, index| Step { advance_ms: 0, input: Input::Request { req, group: 0, index } };
    let resolve = |outcome| Step { advance_ms: 10, input: Input::Resolve { pick: 0, outcome } };
    for tail in [
        vec![request(Req::Shutdown, 1), resolve(Outcome::Ok), resolve(Outcome::Ok)],
        vec![request(Req::StopGroup, 1), resolve(Outcome::Transient), resolve(Outcome::Ok)],
        vec![request(Req::Scale(0), 1), resolve(Outcome::Ok), resolve(Outcome::Permanent)],
        vec![request(Req::Scale(1), 1), request(Req::Scale(2), 1), resolve(Outcome::Ok)],
    ] {
        let mut steps = vec![request(Req::StartGroup, 1)];
        steps.extend(tail);
        steps.push(Step { advance_ms: 5000, input: Input::Tick });
        let case = Case {
            groups: vec![group.clone(), group.clone()],
            dependency: None,
            eager: false,
            eager_outcomes: vec![Outcome::Ok],
            kill_is_immediate: false,
            steps,
        };
        let result = World::new(case.clone()).run();
        assert!(result.is_ok(), "{case:?}: {result:?}");
    }
}
