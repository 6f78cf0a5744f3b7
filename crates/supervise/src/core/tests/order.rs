//! Start and stop order between groups, with a fake clock: `Waiting` until every instance of
//! each dependency meets its condition, a failed dependency gives the start up, cycles and
//! unknown names are refused before anything starts, and a shutdown stops dependants first.

use super::*;
use crate::core::order::validate_specs;
use crate::core::types::{Condition, Dependency, DependencyFailure, Wait};
use crate::error::SpecError;
use crate::spec::Readiness;

fn depending(name: &str, on: &str, condition: Condition) -> ProgramSpec {
    let mut spec = spec(name);
    spec.depends_on = vec![Dependency::new(on, condition)];
    spec
}

/// `db` with a readiness check reported by hand; `web` depends on it with `condition`.
fn db_and_web(condition: Condition) -> Fx {
    let mut db = spec("db");
    db.readiness = Some(Readiness::manual().timeout(None));
    let mut fx = Fx::new([db]);
    fx.sup.add_group(depending("web", "db", condition)).unwrap();
    fx
}

fn spawns(effects: &[Effect]) -> Vec<InstanceId> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Spawn(id) => Some(id.clone()),
            Effect::Signal { .. } => None,
        })
        .collect()
}

#[test]
fn a_dependant_waits_until_its_dependency_is_ready() {
    let mut fx = db_and_web(Condition::Ready);
    let (db1, web1) = (id("db", 1), id("web", 1));
    let t = fx.at(secs(0));
    // Started in any order: the dependant first.
    fx.sup.start_group(t, "web").unwrap();
    assert_eq!(fx.effects(), Vec::new());
    let wait = vec![Dependency::new("db", Condition::Ready)];
    let events = fx.events();
    assert_eq!(events.len(), 2, "{events:?}");
    let Event::State(waiting) = &events[0] else { panic!("{events:?}") };
    assert_eq!((waiting.from, waiting.to, waiting.pid), (State::Stopped, State::Waiting, None));
    assert_eq!(
        events[1],
        Event::Notice(Notice::Waiting { id: web1.clone(), dependencies: wait.clone() })
    );
    assert_eq!(fx.sup.waiting_for(&web1), Some(Wait::Dependencies(wait.clone())));
    let info = fx.info(&web1, t);
    assert_eq!((info.state, info.waiting_for), (State::Waiting, Some(Wait::Dependencies(wait))));
    assert!(!fx.sup.is_settled(&web1));

    fx.sup.start_group(t, "db").unwrap();
    fx.spawn_ok(t, &db1);
    assert_eq!(fx.effects(), Vec::new(), "started is not ready");
    fx.sup.tick(fx.at(secs(30)));
    assert_eq!((fx.effects(), fx.state(&web1)), (Vec::new(), State::Waiting));

    // Ready: the dependant is spawned in the same call.
    fx.events();
    fx.sup.ready(fx.at(secs(31)), &db1).unwrap();
    assert_eq!(fx.effects(), vec![Effect::Spawn(web1.clone())]);
    fx.sup.spawned(fx.at(secs(31)), &web1, 200).unwrap();
    let t = fx.transitions();
    assert_eq!(
        edges(&t),
        vec![(State::Starting, State::Running), (State::Waiting, State::Starting)]
    );
    assert_eq!(fx.sup.waiting_for(&web1), None);
}

#[test]
fn started_opens_at_the_spawn_and_needs_every_instance() {
    let mut fx = Fx::new([{
        let mut db = spec("db");
        db.instances = 2;
        db
    }]);
    fx.sup.add_group(depending("web", "db", Condition::Started)).unwrap();
    let t = fx.at(secs(0));
    fx.sup.start_group(t, "web").unwrap();
    fx.sup.start(t, &id("db", 1)).unwrap();
    fx.spawn_ok(t, &id("db", 1));
    assert_eq!(fx.state(&id("web", 1)), State::Waiting, "db.2 is not started");
    fx.sup.start(t, &id("db", 2)).unwrap();
    assert_eq!(fx.effects(), vec![Effect::Spawn(id("db", 2))]);
    assert_eq!(fx.state(&id("web", 1)), State::Waiting, "a pending spawn is not started");
    fx.sup.spawned(t, &id("db", 2), 300).unwrap();
    assert_eq!(fx.effects(), vec![Effect::Spawn(id("web", 1))]);
}

#[test]
fn exited_gates_on_a_one_shot_job_that_succeeded() {
    let mut migrate = spec("migrate");
    migrate.start_grace = Duration::ZERO;
    let mut fx = Fx::new([migrate]);
    fx.sup.add_group(depending("web", "migrate", Condition::Exited)).unwrap();
    let t = fx.at(secs(0));
    fx.sup.start_group(t, "web").unwrap();
    let pid = fx.start_ok(t, &id("migrate", 1));
    assert_eq!(fx.effects(), Vec::new(), "running is not done");
    fx.sup.exited(fx.at(secs(4)), pid, ExitStatus::Code(0));
    assert_eq!(fx.effects(), vec![Effect::Spawn(id("web", 1))]);
}

#[test]
fn a_one_shot_job_that_failed_gives_up_the_start_of_its_dependants() {
    let mut migrate = spec("migrate");
    migrate.start_grace = Duration::ZERO;
    let mut fx = Fx::new([migrate]);
    let mut web = depending("web", "migrate", Condition::Exited);
    web.instances = 2;
    fx.sup.add_group(web).unwrap();
    let t = fx.at(secs(0));
    fx.sup.start_group(t, "web").unwrap();
    let pid = fx.start_ok(t, &id("migrate", 1));
    fx.events();
    fx.sup.exited(fx.at(secs(4)), pid, ExitStatus::Code(3));
    assert_eq!(fx.effects(), Vec::new());
    let events = fx.events();
    let failed = Event::Notice(Notice::DependencyFailed(DependencyFailure {
        group: "web".into(),
        dependency: id("migrate", 1),
        condition: Condition::Exited,
        state: State::Exited,
        exit: Some(ExitStatus::Code(3)),
    }));
    let at = events.iter().position(|e| *e == failed).expect("the failure is reported");
    let stopped: Vec<(InstanceId, State, State)> = events[at..]
        .iter()
        .filter_map(|e| match e {
            Event::State(t) => Some((t.id.clone(), t.from, t.to)),
            _ => None,
        })
        .collect();
    assert_eq!(
        stopped,
        vec![
            (id("web", 1), State::Waiting, State::Stopped),
            (id("web", 2), State::Waiting, State::Stopped)
        ]
    );
    // Started again by hand while the job is still failed: given up again at once.
    fx.sup.start_group(fx.at(secs(5)), "web").unwrap();
    assert_eq!(fx.effects(), Vec::new());
    assert_eq!(fx.state(&id("web", 1)), State::Stopped);
}

#[test]
fn a_fatal_dependency_gives_up_the_start_of_its_dependants() {
    let mut fx = db_and_web(Condition::Started);
    let t = fx.at(secs(0));
    fx.sup.start_group(t, "web").unwrap();
    fx.sup.start_group(t, "db").unwrap();
    fx.effects();
    fx.events();
    let error =
        SpawnError { kind: SpawnErrorKind::NotFound, errno: None, message: "db: not found".into() };
    fx.sup.spawn_failed(t, &id("db", 1), error).unwrap();
    let events = fx.events();
    assert!(events.contains(&Event::Notice(Notice::DependencyFailed(DependencyFailure {
        group: "web".into(),
        dependency: id("db", 1),
        condition: Condition::Started,
        state: State::Fatal,
        exit: None,
    }))));
    assert_eq!(fx.state(&id("web", 1)), State::Stopped);
    assert_eq!(fx.effects(), Vec::new());
}

#[test]
fn an_automatic_restart_waits_for_its_dependency_too() {
    let mut db = spec("db");
    db.start_grace = Duration::ZERO;
    db.restart = RestartPolicy::Always;
    let mut fx = Fx::new([db]);
    let mut web = depending("web", "db", Condition::Ready);
    web.start_grace = Duration::ZERO;
    web.restart = RestartPolicy::Always;
    fx.sup.add_group(web).unwrap();
    let t = fx.at(secs(0));
    fx.sup.start_group(t, "db").unwrap();
    let db_pid = fx.spawn_ok(t, &id("db", 1));
    fx.sup.start_group(t, "web").unwrap();
    let web_pid = fx.spawn_ok(t, &id("web", 1));
    fx.events();
    // db is down (restarting after its backoff), and web crashes meanwhile.
    fx.sup.exited(fx.at(ms(100)), db_pid, ExitStatus::Code(1));
    fx.sup.exited(fx.at(ms(200)), web_pid, ExitStatus::Code(1));
    assert_eq!(fx.state(&id("web", 1)), State::Exited);
    assert_eq!(fx.effects(), Vec::new());
    fx.sup.tick(fx.at(secs(1)));
    // Both restarts are due: db is spawned, web waits for it to be running again.
    assert_eq!(spawns(&fx.effects()), vec![id("db", 1)]);
    assert_eq!(fx.state(&id("web", 1)), State::Waiting);
    let t = fx.transitions();
    assert!(t.iter().any(|t| (t.from, t.to) == (State::Exited, State::Waiting)));
    fx.sup.spawned(fx.at(secs(1)), &id("db", 1), 400).unwrap();
    assert_eq!(fx.effects(), vec![Effect::Spawn(id("web", 1))]);
}

#[test]
fn stopping_a_waiting_instance_stops_it() {
    let mut fx = db_and_web(Condition::Ready);
    let web1 = id("web", 1);
    let t = fx.at(secs(0));
    fx.sup.start_group(t, "web").unwrap();
    fx.events();
    fx.refused(t, not_allowed(&web1, State::Waiting, "start"), |s| s.start(t, &web1));
    fx.sup.restart(t, &web1).unwrap();
    assert_eq!((fx.effects(), fx.events()), (Vec::new(), Vec::new()), "restart: still waiting");
    fx.sup.stop(t, &web1).unwrap();
    assert_eq!(edges(&fx.transitions()), vec![(State::Waiting, State::Stopped)]);
    // Nothing starts it when db is ready.
    fx.sup.start(t, &id("db", 1)).unwrap();
    fx.spawn_ok(t, &id("db", 1));
    fx.sup.ready(t, &id("db", 1)).unwrap();
    assert_eq!(fx.effects(), Vec::new());
}

#[test]
fn cycles_and_unknown_names_are_refused_before_anything_starts() {
    let a = depending("a", "c", Condition::Started);
    let b = depending("b", "a", Condition::Ready);
    let c = depending("c", "b", Condition::Exited);
    let cycle = validate_specs(&[a.clone(), b.clone(), c.clone()]);
    assert_eq!(
        cycle,
        Err(SpecError::DependencyCycle(vec!["a".into(), "c".into(), "b".into(), "a".into()]))
    );
    assert_eq!(
        cycle.map_err(|e| e.to_string()),
        Err("programs depend on each other in a cycle: a -> c -> b -> a".to_owned())
    );
    let unknown = validate_specs(&[spec("a"), depending("web", "dbb", Condition::Ready)]);
    assert_eq!(
        unknown,
        Err(SpecError::UnknownDependency { program: "web".into(), dependency: "dbb".into() })
    );

    let mut sup = Supervisor::new();
    let refused = sup.add_groups(vec![a, b, c]);
    assert_eq!(
        refused,
        Err(RequestError::Spec(SpecError::DependencyCycle(vec![
            "a".into(),
            "c".into(),
            "b".into(),
            "a".into()
        ])))
    );
    assert_eq!(sup.group_names().count(), 0, "nothing was added");
    let own = depending("a", "a", Condition::Started);
    assert_eq!(
        sup.add_group(own),
        Err(RequestError::Spec(SpecError::DependencyCycle(vec!["a".into(), "a".into()])))
    );
    // One at a time, a dependency must be there first; as a set, any order does.
    let web = depending("web", "db", Condition::Ready);
    assert_eq!(
        sup.add_group(web.clone()),
        Err(RequestError::Spec(SpecError::UnknownDependency {
            program: "web".into(),
            dependency: "db".into()
        }))
    );
    sup.add_groups(vec![web, spec("db")]).unwrap();
    let names: Vec<&str> = sup.group_names().map(|n| &**n).collect();
    assert_eq!(names, ["web", "db"]);
}

#[test]
fn a_shutdown_stops_dependants_first() {
    // web -> api -> db, and a lone worker.
    let mut fx = Fx::new([spec("db"), depending("api", "db", Condition::Started)]);
    fx.sup.add_group(depending("web", "api", Condition::Started)).unwrap();
    fx.sup.add_group(spec("worker")).unwrap();
    let t = fx.at(secs(0));
    let db = fx.running(t, &id("db", 1));
    let api = fx.running(t, &id("api", 1));
    let web = fx.running(t, &id("web", 1));
    let worker = fx.running(t, &id("worker", 1));

    fx.sup.shutdown(fx.at(secs(2)));
    assert_eq!(
        fx.effects(),
        vec![
            stop_signal(&id("web", 1), web, Signal::TERM),
            stop_signal(&id("worker", 1), worker, Signal::TERM)
        ]
    );
    fx.sup.exited(fx.at(secs(3)), web, ExitStatus::Code(0));
    assert_eq!(fx.effects(), vec![stop_signal(&id("api", 1), api, Signal::TERM)]);
    fx.sup.exited(fx.at(secs(3)), worker, ExitStatus::Code(0));
    // api ignores it: SIGKILL at its stop timeout, then db's turn.
    fx.sup.tick(fx.at(secs(13)));
    assert_eq!(fx.effects(), vec![stop_signal(&id("api", 1), api, Signal::KILL)]);
    fx.sup.exited(fx.at(secs(13)), api, ExitStatus::Signaled(Signal::KILL));
    assert_eq!(fx.effects(), vec![stop_signal(&id("db", 1), db, Signal::TERM)]);
    assert!(!fx.sup.is_shutdown_complete());
    fx.sup.exited(fx.at(secs(14)), db, ExitStatus::Code(0));
    assert_eq!(fx.events().last(), Some(&Event::ShutdownComplete));
}

#[test]
fn a_second_ctrl_c_kills_everything_whatever_the_order() {
    let mut fx = Fx::new([spec("db"), depending("web", "db", Condition::Started)]);
    let t = fx.at(secs(0));
    let db = fx.running(t, &id("db", 1));
    let web = fx.running(t, &id("web", 1));
    fx.sup.shutdown(t);
    fx.effects();
    fx.sup.kill_stopping(fx.at(secs(1)));
    assert_eq!(
        fx.effects(),
        vec![
            stop_signal(&id("db", 1), db, Signal::TERM),
            stop_signal(&id("db", 1), db, Signal::KILL),
            stop_signal(&id("web", 1), web, Signal::KILL)
        ]
    );
}
