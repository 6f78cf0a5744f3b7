//! Reload with real processes: unchanged groups keep their pids, a changed group with a
//! readiness check is restarted one instance at a time (each new process ready before the
//! next old one is stopped), an added group starts, a removed one stops and goes.

use std::time::Duration;

use supervise::{Event, InstanceId, Notice, ProgramSpec, Readiness, ReloadAction, State};

use crate::harness::{Run, exists, id, sh};

/// `web`: two instances printing `ready VERSION` once up, ready on that line.
fn web(version: &str) -> ProgramSpec {
    let mut spec = sh("web", &format!("echo ready {version}; exec sleep 30"));
    spec.instances = 2;
    spec.readiness = Some(Readiness::output_line("^ready", |line| line.starts_with(b"ready")));
    spec
}

fn steady() -> ProgramSpec {
    sh("steady", "echo steady up; exec sleep 30")
}

fn doomed() -> ProgramSpec {
    sh("doomed", "echo doomed up; exec sleep 30")
}

/// Where in the log `who` entered `state` for the `nth` time (1-based).
fn entered(run: &Run, who: &InstanceId, state: State, nth: usize) -> usize {
    run.log
        .iter()
        .enumerate()
        .filter(|(_, (_, e))| matches!(e, Event::State(t) if t.id == *who && t.to == state))
        .nth(nth - 1)
        .map(|(at, _)| at)
        .unwrap_or_else(|| panic!("{who} never entered {state} {nth} times"))
}

#[test]
fn a_rolling_reload_keeps_unchanged_pids_and_restarts_one_instance_at_a_time() {
    let mut run = Run::new();
    run.driver.add_groups(vec![web("v1"), steady(), doomed()]).expect("add");
    for group in ["web", "steady", "doomed"] {
        run.driver.start_group(group).expect("start");
    }
    let (web1, web2, steady1, doomed1) =
        (id("web", 1), id("web", 2), id("steady", 1), id("doomed", 1));
    for who in [&web1, &web2] {
        run.wait_state(who, State::Running);
    }
    run.wait_line(&steady1, |l| l == "steady up");
    run.wait_line(&doomed1, |l| l == "doomed up");
    let steady_pid = run.pid(&steady1);
    let doomed_pid = run.pid(&doomed1);
    let old = [run.pid(&web1), run.pid(&web2)];

    let mut added = sh("added", "echo added up; exec sleep 30");
    added.start_grace = Duration::ZERO;
    let plan = run.driver.reload(vec![web("v2"), steady(), added]).expect("reload");
    let actions: Vec<(&str, &ReloadAction)> =
        plan.groups.iter().map(|g| (&*g.name, &g.action)).collect();
    assert!(matches!(actions[0], ("web", ReloadAction::Restart { rolling: true, .. })), "{plan:?}");
    assert_eq!(
        actions[1..],
        [
            ("steady", &ReloadAction::Keep),
            ("added", &ReloadAction::Start),
            ("doomed", &ReloadAction::Stop)
        ]
    );

    run.wait_until("the rollout", |run| {
        run.log.iter().any(|(_, e)| {
            matches!(e, Event::Notice(Notice::RolloutFinished { group }) if &**group == "web")
        })
    });
    run.wait_line(&id("added", 1), |l| l == "added up");
    run.wait_until("doomed to go", |run| {
        run.log.iter().any(|(_, e)| {
            matches!(e, Event::Notice(Notice::GroupRemoved(group)) if &**group == "doomed")
        })
    });
    // One at a time: web.2 gets its stop signal only once web.1's new process is ready.
    assert!(entered(&run, &web1, State::Running, 2) < entered(&run, &web2, State::Stopping, 1));
    for (who, old) in [(&web1, old[0]), (&web2, old[1])] {
        let new = run.transitions(who).iter().rev().find_map(|t| t.pid).expect("a pid");
        assert_ne!(new, old, "{who} was restarted");
        assert!(!exists(old));
        assert!(run.lines(who, None).contains(&"ready v2".to_owned()));
    }
    // The unchanged group kept its process, and never left Running.
    assert_eq!(run.driver.supervisor().state(&steady1), Some(State::Running));
    assert_eq!(run.transitions(&steady1).len(), 2, "{:?}", run.transitions(&steady1));
    assert!(exists(steady_pid));
    let info = run.driver.snapshot().into_iter().find(|i| i.id == steady1).expect("steady.1");
    assert_eq!(info.pid, Some(steady_pid));
    // The removed one is gone, with its process.
    assert!(!exists(doomed_pid));
    assert!(run.driver.supervisor().spec("doomed").is_none());
    run.finish();
}

#[test]
fn a_broken_reload_is_refused_and_every_pid_stays() {
    let mut run = Run::new();
    run.add(steady());
    run.driver.start_group("steady").expect("start");
    let steady1 = id("steady", 1);
    run.wait_line(&steady1, |l| l == "steady up");
    let pid = run.pid(&steady1);
    let mut broken = steady();
    broken.depends_on = vec![supervise::Dependency::new("nowhere", supervise::Condition::Ready)];
    let err = run.driver.reload(vec![broken]).expect_err("refused");
    assert_eq!(err.to_string(), "program `steady` depends on `nowhere`, which does not exist");
    run.collect();
    assert_eq!(run.transitions(&steady1).len(), 2);
    assert!(exists(pid));
    run.finish();
}
