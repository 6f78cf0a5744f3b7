//! Reload: the pure plan from two sets of specs, then the supervisor carrying it out, with a
//! fake clock: unchanged groups keep their pids, changed ones restart (rolling with a
//! readiness check), added ones start, removed ones stop and go, counts scale.

use std::sync::Arc;

use super::*;
use crate::core::reload::{Change, ReloadAction, plan_reload};
use crate::core::types::{Condition, Dependency};
use crate::error::SpecError;
use crate::spec::{Launch, Readiness};

fn restart(changes: Vec<Change>, rolling: bool) -> ReloadAction {
    ReloadAction::Restart { changes, rolling }
}

/// A spec whose hook gives each instance `PORT=base+n`, made fresh (a new closure) each call.
fn with_port(name: &str, base: u32) -> ProgramSpec {
    let mut spec = spec(name);
    spec.instances = 2;
    spec.instance_hook = Some(Arc::new(move |n, launch: &mut Launch| {
        launch.env.push(("PORT".into(), (base + n).to_string().into()));
    }));
    spec
}

fn signals(effects: &[Effect]) -> Vec<(InstanceId, Signal)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Signal { id, signal, .. } => Some((id.clone(), *signal)),
            Effect::Spawn(_) => None,
        })
        .collect()
}

// ----- the plan -----

#[test]
fn the_same_specs_keep_every_group_even_with_new_hook_closures() {
    let current = [with_port("web", 5000), spec("worker")];
    let plan = plan_reload(&current, &[with_port("web", 5000), spec("worker")]).unwrap();
    assert!(plan.keeps_everything(), "{plan:?}");
    assert_eq!(plan.groups.len(), 2);
    let web = plan.group("web").unwrap();
    assert_eq!((web.from, web.to), (2, 2));
}

#[test]
fn a_changed_command_env_cwd_or_setting_restarts_with_the_reasons() {
    let current = [spec("web")];
    let case = |change: &dyn Fn(&mut ProgramSpec)| {
        let mut new = spec("web");
        change(&mut new);
        plan_reload(&current, &[new]).unwrap().groups[0].action.clone()
    };
    assert_eq!(case(&|s| s.command.args.push("-v".into())), restart(vec![Change::Command], false));
    assert_eq!(
        case(&|s| {
            s.env.set("A", "1");
        }),
        restart(vec![Change::Env], false)
    );
    assert_eq!(case(&|s| s.cwd = Some("/tmp".into())), restart(vec![Change::Cwd], false));
    assert_eq!(
        case(&|s| {
            s.stop_timeout = secs(3);
            s.max_retries = 9;
        }),
        restart(vec![Change::Setting("stop_timeout"), Change::Setting("max_retries")], false)
    );
    let mut web = spec("web");
    web.depends_on = vec![Dependency::new("db", Condition::Ready)];
    let plan = plan_reload(&[spec("db"), spec("web")], &[spec("db"), web]).unwrap();
    let web = plan.group("web").unwrap();
    assert_eq!(web.action, restart(vec![Change::Setting("depends_on")], false));
    assert_eq!(Change::Setting("depends_on").to_string(), "depends_on");
}

#[test]
fn what_the_hook_makes_of_each_kept_instance_is_compared() {
    let current = [with_port("web", 5000)];
    let plan = plan_reload(&current, &[with_port("web", 6000)]).unwrap();
    assert_eq!(plan.groups[0].action, restart(vec![Change::Env], false));
    // Scaled down to the one instance whose launch is unchanged... which still differs.
    let mut one = with_port("web", 5000);
    one.instances = 1;
    assert_eq!(plan_reload(&current, &[one]).unwrap().groups[0].action, ReloadAction::Scale);
    // A changed command with no instance kept restarts nothing: only a scale.
    let mut none = spec("web");
    none.instances = 0;
    let mut changed = spec("web");
    changed.command.args.push("new".into());
    let plan = plan_reload(&[none], &[changed]).unwrap();
    assert_eq!((plan.groups[0].action.clone(), plan.groups[0].from), (ReloadAction::Scale, 0));
}

#[test]
fn added_removed_and_scaled_groups_and_the_order_of_the_plan() {
    let current = [spec("web"), spec("old"), spec("worker")];
    let mut worker = spec("worker");
    worker.instances = 3;
    let plan = plan_reload(&current, &[spec("new"), worker, spec("web")]).unwrap();
    let rows: Vec<(&str, ReloadAction, u32, u32)> =
        plan.groups.iter().map(|g| (&*g.name, g.action.clone(), g.from, g.to)).collect();
    assert_eq!(
        rows,
        vec![
            ("new", ReloadAction::Start, 0, 1),
            ("worker", ReloadAction::Scale, 1, 3),
            ("web", ReloadAction::Keep, 1, 1),
            ("old", ReloadAction::Stop, 1, 0),
        ]
    );
    let started: Vec<&str> = plan.names(&ReloadAction::Start).map(|n| &**n).collect();
    assert_eq!(started, ["new"]);
}

#[test]
fn a_group_with_a_readiness_check_is_restarted_rolling() {
    let mut new = spec("web");
    new.readiness = Some(Readiness::port(5000));
    let plan = plan_reload(&[spec("web")], &[new]).unwrap();
    assert_eq!(plan.groups[0].action, restart(vec![Change::Setting("readiness")], true));
}

#[test]
fn a_new_set_with_an_error_gets_no_plan() {
    let current = [spec("web")];
    let cycle = [
        {
            let mut a = spec("a");
            a.depends_on = vec![Dependency::new("b", Condition::Started)];
            a
        },
        {
            let mut b = spec("b");
            b.depends_on = vec![Dependency::new("a", Condition::Started)];
            b
        },
    ];
    assert_eq!(
        plan_reload(&current, &cycle),
        Err(SpecError::DependencyCycle(vec!["a".into(), "b".into(), "a".into()]))
    );
    assert_eq!(
        plan_reload(&current, &[spec("web"), spec("web")]),
        Err(SpecError::DuplicateName("web".into()))
    );
}

// ----- carrying it out -----

#[test]
fn reload_keeps_unchanged_pids_restarts_changed_starts_added_and_stops_removed() {
    let mut scaled = spec("scaled");
    scaled.instances = 2;
    let mut fx = Fx::new([spec("kept"), spec("changed"), spec("gone"), scaled]);
    let t = fx.at(secs(0));
    for name in ["kept", "changed", "gone", "scaled"] {
        fx.sup.start_group(t, name).unwrap();
    }
    let pids: Vec<u32> = fx
        .effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Spawn(id) => Some(id),
            Effect::Signal { .. } => None,
        })
        .enumerate()
        .map(|(k, id)| {
            let pid = 100 + u32::try_from(k).unwrap();
            fx.sup.spawned(t, &id, pid).unwrap();
            pid
        })
        .collect();
    fx.sup.tick(fx.at(secs(1)));
    fx.events();
    let kept_pid = pids[0];

    let mut changed = spec("changed");
    changed.command.args.push("--new".into());
    let mut scaled = spec("scaled");
    scaled.instances = 3;
    let t = fx.at(secs(5));
    let plan = fx.sup.reload(t, vec![spec("added"), spec("kept"), changed, scaled]).unwrap();
    let actions: Vec<(&str, ReloadAction)> =
        plan.groups.iter().map(|g| (&*g.name, g.action.clone())).collect();
    assert_eq!(
        actions,
        vec![
            ("added", ReloadAction::Start),
            ("kept", ReloadAction::Keep),
            ("changed", restart(vec![Change::Command], false)),
            ("scaled", ReloadAction::Scale),
            ("gone", ReloadAction::Stop),
        ]
    );
    let effects = fx.effects();
    assert_eq!(
        effects,
        vec![
            stop_signal(&id("changed", 1), pids[1], Signal::TERM),
            Effect::Spawn(id("added", 1)),
            Effect::Spawn(id("scaled", 3)),
            stop_signal(&id("gone", 1), pids[2], Signal::TERM),
        ]
    );
    assert_eq!(fx.info(&id("kept", 1), t).pid, Some(kept_pid));
    assert_eq!(fx.info(&id("scaled", 1), t).pid, Some(pids[3]));
    let names: Vec<&str> = fx.sup.group_names().map(|n| &**n).collect();
    assert_eq!(names, ["added", "kept", "changed", "scaled", "gone"]);
    // A group on its way out takes no request.
    assert_eq!(fx.sup.start_group(t, "gone"), Err(RequestError::UnknownGroup("gone".into())));
    assert!(fx.sup.specs().iter().all(|s| &*s.name != "gone"));

    // The changed one comes back with its new spec; the removed one goes.
    fx.sup.exited(fx.at(secs(6)), pids[1], ExitStatus::Code(0));
    assert_eq!(fx.effects(), vec![Effect::Spawn(id("changed", 1))]);
    assert_eq!(fx.sup.spec("changed").unwrap().command.args, vec!["--new"]);
    fx.events();
    fx.sup.exited(fx.at(secs(6)), pids[2], ExitStatus::Code(0));
    let events = fx.events();
    assert!(events.contains(&Event::Removed(id("gone", 1))));
    assert_eq!(events.last(), Some(&Event::Notice(Notice::GroupRemoved("gone".into()))));
    assert!(fx.sup.spec("gone").is_none());
}

#[test]
fn a_reload_of_the_same_specs_changes_nothing_at_all() {
    let mut fx = Fx::new([with_port("web", 5000), spec("worker")]);
    let t = fx.at(secs(0));
    fx.running(t, &id("web", 1));
    let specs = vec![with_port("web", 5000), spec("worker")];
    let before = fx.observe(t);
    let plan = fx.sup.reload(t, specs).unwrap();
    assert!(plan.keeps_everything());
    assert_eq!(fx.observe(t), before);
    assert_eq!((fx.effects(), fx.events()), (Vec::new(), Vec::new()));
}

#[test]
fn a_rolling_restart_replaces_one_instance_at_a_time_each_ready_first() {
    let mut web = spec("web");
    web.instances = 3;
    web.readiness = Some(Readiness::manual().timeout(None));
    let mut fx = Fx::one(web.clone());
    let t = fx.at(secs(0));
    fx.sup.start_group(t, "web").unwrap();
    let mut pids = Vec::new();
    for n in 1..=3 {
        let pid = 100 + n;
        assert_eq!(fx.effects().len(), usize::from(n == 1) * 3, "spawns asked at once");
        fx.sup.spawned(t, &id("web", n), pid).unwrap();
        fx.sup.ready(t, &id("web", n)).unwrap();
        pids.push(pid);
    }
    fx.events();

    web.command.args.push("v2".into());
    let plan = fx.sup.reload(fx.at(secs(1)), vec![web]).unwrap();
    assert_eq!(plan.groups[0].action, restart(vec![Change::Command], true));
    let mut order = Vec::new();
    for n in 1..=3u32 {
        let at = fx.at(secs(u64::from(n) * 10));
        let effects = fx.effects();
        assert_eq!(signals(&effects), vec![(id("web", n), Signal::TERM)], "one at a time");
        order.push(n);
        // The others keep their old process meanwhile.
        for other in (n + 1)..=3 {
            assert_eq!(fx.info(&id("web", other), at).pid, Some(pids[other as usize - 1]));
        }
        fx.sup.exited(at, pids[n as usize - 1], ExitStatus::Code(0));
        assert_eq!(fx.effects(), vec![Effect::Spawn(id("web", n))]);
        fx.sup.spawned(at, &id("web", n), 200 + n).unwrap();
        assert_eq!(fx.effects(), Vec::new(), "the next waits for this one to be ready");
        assert!(
            !fx.events().contains(&Event::Notice(Notice::RolloutFinished { group: "web".into() }))
        );
        fx.sup.ready(at + secs(1), &id("web", n)).unwrap();
    }
    assert_eq!(order, [1, 2, 3]);
    assert_eq!(fx.effects(), Vec::new());
    assert_eq!(
        fx.events().last(),
        Some(&Event::Notice(Notice::RolloutFinished { group: "web".into() }))
    );
}

#[test]
fn a_rolling_restart_halts_when_a_new_process_becomes_fatal() {
    let mut web = spec("web");
    web.instances = 2;
    web.readiness = Some(Readiness::manual().timeout(None));
    let mut fx = Fx::one(web.clone());
    let t = fx.at(secs(0));
    fx.sup.start_group(t, "web").unwrap();
    fx.effects();
    for n in 1..=2 {
        fx.sup.spawned(t, &id("web", n), 100 + n).unwrap();
        fx.sup.ready(t, &id("web", n)).unwrap();
    }
    fx.events();
    web.command.program = "missing".into();
    fx.sup.reload(fx.at(secs(1)), vec![web]).unwrap();
    fx.effects();
    fx.sup.exited(fx.at(secs(2)), 101, ExitStatus::Code(0));
    fx.effects();
    let error =
        SpawnError { kind: SpawnErrorKind::NotFound, errno: None, message: "missing".into() };
    fx.sup.spawn_failed(fx.at(secs(2)), &id("web", 1), error).unwrap();
    assert_eq!(fx.effects(), Vec::new(), "web.2 keeps its process");
    assert!(
        fx.events().contains(&Event::Notice(Notice::RolloutHalted {
            group: "web".into(),
            id: id("web", 1)
        }))
    );
    assert_eq!(fx.info(&id("web", 2), fx.at(secs(3))).pid, Some(102));
    assert_eq!(fx.state(&id("web", 2)), State::Running);
}

#[test]
fn without_a_readiness_check_every_instance_restarts_at_once_and_fatal_ones_start() {
    let mut web = spec("web");
    web.instances = 3;
    web.max_retries = 0;
    let mut fx = Fx::one(web.clone());
    let t = fx.at(secs(0));
    fx.running(t, &id("web", 1));
    fx.running(t, &id("web", 2));
    // web.3 is fatal.
    let pid = fx.start_ok(t, &id("web", 3));
    fx.sup.exited(t, pid, ExitStatus::Code(1));
    fx.sup.start_group(t, "web").unwrap();
    fx.events();
    web.env.set("FIXED", "1");
    fx.sup.reload(fx.at(secs(2)), vec![web]).unwrap();
    let effects = fx.effects();
    assert_eq!(signals(&effects), vec![(id("web", 1), Signal::TERM), (id("web", 2), Signal::TERM)]);
    assert!(effects.contains(&Effect::Spawn(id("web", 3))));
}

#[test]
fn a_refused_reload_changes_nothing() {
    let mut fx = Fx::new([spec("web")]);
    let t = fx.at(secs(0));
    fx.running(t, &id("web", 1));
    let mut bad = spec("web");
    bad.depends_on = vec![Dependency::new("nowhere", Condition::Ready)];
    fx.refused(
        t,
        RequestError::Spec(SpecError::UnknownDependency {
            program: "web".into(),
            dependency: "nowhere".into(),
        }),
        |s| s.reload(t, vec![bad]).map(drop),
    );
    fx.sup.shutdown(t);
    fx.effects();
    fx.events();
    fx.refused(t, RequestError::ShuttingDown, |s| s.reload(t, vec![spec("web")]).map(drop));
}

#[test]
fn an_added_dependant_waits_for_the_new_process_of_a_restarted_dependency() {
    let mut fx = Fx::one(spec("db"));
    let t = fx.at(secs(0));
    let db = fx.running(t, &id("db", 1));
    let mut db2 = spec("db");
    db2.command.args.push("v2".into());
    let mut web = spec("web");
    web.depends_on = vec![Dependency::new("db", Condition::Ready)];
    fx.sup.reload(fx.at(secs(2)), vec![db2, web]).unwrap();
    // Not started against the old db, which is being stopped.
    assert_eq!(fx.effects(), vec![stop_signal(&id("db", 1), db, Signal::TERM)]);
    assert_eq!(fx.state(&id("web", 1)), State::Waiting);
    fx.sup.exited(fx.at(secs(3)), db, ExitStatus::Code(0));
    fx.spawn_ok(fx.at(secs(3)), &id("db", 1));
    assert_eq!(fx.effects(), Vec::new());
    fx.sup.tick(fx.at(secs(4)));
    assert_eq!(fx.effects(), vec![Effect::Spawn(id("web", 1))]);
}

#[test]
fn a_group_removed_then_added_back_while_stopping_comes_back() {
    let mut fx = Fx::new([spec("web"), spec("worker")]);
    let t = fx.at(secs(0));
    let pid = fx.running(t, &id("worker", 1));
    fx.sup.reload(t, vec![spec("web")]).unwrap();
    fx.effects();
    let plan = fx.sup.reload(fx.at(secs(1)), vec![spec("web"), spec("worker")]).unwrap();
    assert_eq!(plan.group("worker").map(|g| g.action.clone()), Some(ReloadAction::Start));
    fx.sup.exited(fx.at(secs(2)), pid, ExitStatus::Code(0));
    assert_eq!(fx.effects(), vec![Effect::Spawn(id("worker", 1))]);
    assert!(!fx.events().iter().any(|e| matches!(e, Event::Notice(Notice::GroupRemoved(_)))));
}
