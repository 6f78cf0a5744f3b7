//! Readiness checks and start order with real processes: a port that starts listening late, a
//! command that succeeds late, a line of output, the host's word; a dependant that starts
//! only once its dependency is ready or done; a shutdown that stops dependants first.

use std::time::{Duration, Instant};

use supervise::{
    CommandSpec, Condition, Dependency, Event, InstanceId, Notice, ProgramSpec, Readiness, State,
    Wait,
};

use crate::harness::{Run, TempDir, exists, id, python3, sh};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Where in the log `test` first holds.
fn position(run: &Run, what: &str, test: impl Fn(&Event) -> bool) -> usize {
    run.log.iter().position(|(_, e)| test(e)).unwrap_or_else(|| panic!("no {what} in the log"))
}

fn entered(run: &Run, who: &InstanceId, state: State) -> usize {
    position(
        run,
        &format!("{who} {state}"),
        |e| matches!(e, Event::State(t) if t.id == *who && t.to == state),
    )
}

/// A free TCP port on localhost, found by binding port 0 (released at once, so another
/// process could take it in between: unlikely enough for a test).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// A python3 program that listens on `$PORT` after `delay` seconds, says so, and accepts
/// connections until it is stopped.
fn late_listener(python: &str, name: &str, delay: f64) -> ProgramSpec {
    let script = format!(
        "import os, socket, time\n\
         time.sleep({delay})\n\
         s = socket.socket()\n\
         s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('127.0.0.1', int(os.environ['PORT'])))\n\
         s.listen()\n\
         print('listening', flush=True)\n\
         while True:\n    s.accept()[0].close()\n"
    );
    let mut spec = ProgramSpec::new(name, CommandSpec::new(python).args(["-c", &script]));
    spec.start_grace = Duration::ZERO;
    spec.stop_timeout = Duration::from_secs(5);
    spec
}

#[test]
fn a_port_check_makes_the_instance_ready_once_it_listens_and_only_then_starts_its_dependant() {
    let Some(python) = python3() else { return };
    let mut run = Run::new();
    let port = free_port();
    let mut db = late_listener(&python, "db", 0.4);
    db.env.set("PORT", port.to_string());
    db.readiness = Some(Readiness::port_from_env("PORT").interval(ms(50)));
    let mut web = sh("web", "echo web up; exec sleep 30");
    web.depends_on = vec![Dependency::new("db", Condition::Ready)];
    run.driver.add_groups(vec![web, db]).expect("add");
    run.driver.start_group("web").expect("start");
    run.driver.start_group("db").expect("start");
    let (db1, web1) = (id("db", 1), id("web", 1));

    let starting = run.wait_state(&db1, State::Starting);
    let waiting = run.driver.snapshot().into_iter().find(|i| i.id == web1).expect("web.1");
    assert_eq!(waiting.state, State::Waiting);
    assert_eq!(
        waiting.waiting_for,
        Some(Wait::Dependencies(vec![Dependency::new("db", Condition::Ready)]))
    );
    let running = run.wait_state(&db1, State::Running);
    assert!(running.at - starting.at >= ms(400), "ready after {:?}", running.at - starting.at);
    assert_eq!(running.pid, starting.pid);
    run.wait_line(&web1, |l| l == "web up");
    // In order: db listens, db is ready, then web is started.
    let listening = position(
        &run,
        "db's line",
        |e| matches!(e, Event::Output(o) if o.id == db1 && o.lines().any(|l| l == b"listening")),
    );
    assert!(entered(&run, &db1, State::Running) < entered(&run, &web1, State::Starting));
    assert!(entered(&run, &web1, State::Waiting) < listening);
    let info = run.driver.snapshot().into_iter().find(|i| i.id == db1).expect("db.1");
    assert_eq!((info.ready, info.waiting_for), (Some(true), None));
    run.finish();
}

#[test]
fn a_command_check_runs_with_the_instance_environment_until_it_exits_zero() {
    let mut run = Run::new();
    let dir = TempDir::new("ready-cmd");
    let flag = dir.0.join("flag");
    let mut spec = sh("job", "sleep 0.3; touch \"$FLAG\"; echo made; exec sleep 30");
    spec.env.set("FLAG", &flag);
    spec.readiness = Some(
        Readiness::command(CommandSpec::new("sh").args(["-c", "test -e \"$FLAG\""]))
            .interval(ms(40)),
    );
    run.add(spec);
    run.driver.start_group("job").expect("start");
    let job1 = id("job", 1);
    let running = run.wait_state(&job1, State::Running);
    // Ready once the file exists, which the job makes after 0.3 s; never before.
    assert!(flag.exists());
    assert!(running.at - run.transitions(&job1)[0].at >= ms(300));
    // No probe outlived its attempt: nothing reaped as a stranger, nothing left over.
    assert!(!run.log.iter().any(|(_, e)| matches!(e, Event::Reaped { .. })), "{:#?}", run.log);
    run.finish();
}

#[test]
fn a_command_check_that_never_passes_is_a_failed_start_and_its_attempt_is_killed() {
    let mut run = Run::new();
    let mut spec = sh("never", "echo up; exec sleep 30");
    spec.max_retries = 0;
    // Each attempt hangs: the one running at the timeout is killed.
    spec.readiness = Some(
        Readiness::command(
            CommandSpec::new("sh").args(["-c", "echo $$ > \"$PIDFILE\"; exec sleep 30"]),
        )
        .interval(ms(40))
        .timeout(Some(ms(1500))),
    );
    let dir = TempDir::new("ready-hang");
    let pidfile = dir.0.join("probe.pid");
    spec.env.set("PIDFILE", &pidfile);
    run.add(spec);
    let began = Instant::now();
    run.driver.start_group("never").expect("start");
    let never1 = id("never", 1);
    run.wait_until("the check to run", |_| pidfile.exists());
    let fatal = run.wait_state(&never1, State::Fatal);
    assert_eq!(fatal.from, State::Stopping);
    assert!(began.elapsed() >= ms(1500));
    let not_ready = position(
        &run,
        "NotReady",
        |e| matches!(e, Event::Notice(Notice::NotReady { id, .. }) if *id == never1),
    );
    assert!(not_ready < entered(&run, &never1, State::Stopping));
    let probe: u32 =
        std::fs::read_to_string(&pidfile).expect("the probe ran").trim().parse().expect("a pid");
    run.wait_gone(probe);
    assert!(!run.log.iter().any(|(_, e)| matches!(e, Event::Reaped { .. })));
    run.finish();
}

#[test]
fn a_line_of_output_makes_the_instance_ready_right_after_it() {
    let mut run = Run::new();
    let mut spec = sh("svc", "echo booting; sleep 0.2; echo ready to serve; exec sleep 30");
    spec.readiness = Some(Readiness::output_line("^ready", |line| line.starts_with(b"ready")));
    run.add(spec);
    run.driver.start_group("svc").expect("start");
    let svc1 = id("svc", 1);
    run.wait_state(&svc1, State::Running);
    let line = position(
        &run,
        "the ready line",
        |e| matches!(e, Event::Output(o) if o.id == svc1 && o.lines().any(|l| l.starts_with(b"ready"))),
    );
    let booting = position(
        &run,
        "booting",
        |e| matches!(e, Event::Output(o) if o.id == svc1 && o.lines().any(|l| l == b"booting")),
    );
    let running = entered(&run, &svc1, State::Running);
    assert!(booting < running && line < running, "ready only after the matching line");
    run.finish();
}

#[test]
fn mark_ready_is_the_hosts_word() {
    let mut run = Run::new();
    let mut spec = sh("manual", "echo up; exec sleep 30");
    spec.readiness = Some(Readiness::manual());
    run.add(spec);
    run.driver.start_group("manual").expect("start");
    let manual1 = id("manual", 1);
    run.wait_line(&manual1, |l| l == "up");
    assert_eq!(run.driver.supervisor().state(&manual1), Some(State::Starting));
    run.driver.mark_ready(&manual1).expect("ready");
    run.collect();
    let running = run.transitions(&manual1).last().cloned().expect("a transition");
    assert_eq!((running.from, running.to), (State::Starting, State::Running));
    run.finish();
}

#[test]
fn a_port_variable_that_is_missing_is_reported_and_the_start_times_out() {
    let mut run = Run::new();
    let mut spec = sh("noport", "exec sleep 30");
    spec.env.remove("NO_SUCH_PORT_VARIABLE");
    spec.max_retries = 0;
    spec.readiness = Some(Readiness::port_from_env("NO_SUCH_PORT_VARIABLE").timeout(Some(ms(300))));
    run.add(spec);
    run.driver.start_group("noport").expect("start");
    let noport1 = id("noport", 1);
    run.wait_state(&noport1, State::Fatal);
    let message = run.log.iter().find_map(|(_, e)| match e {
        Event::ReadinessCheckFailed { id, message } if *id == noport1 => Some(message.clone()),
        _ => None,
    });
    let message = message.expect("the failed check is reported");
    assert!(message.contains("NO_SUCH_PORT_VARIABLE"), "{message}");
    run.finish();
}

#[test]
fn a_one_shot_job_that_exits_zero_gates_its_dependant() {
    let mut run = Run::new();
    let mut migrate = sh("migrate", "sleep 0.2; echo migrated");
    migrate.start_grace = Duration::ZERO;
    let mut web = sh("web", "echo web up; exec sleep 30");
    web.depends_on = vec![Dependency::new("migrate", Condition::Exited)];
    run.driver.add_groups(vec![migrate, web]).expect("add");
    run.driver.start_group("migrate").expect("start");
    run.driver.start_group("web").expect("start");
    let (migrate1, web1) = (id("migrate", 1), id("web", 1));
    run.wait_line(&web1, |l| l == "web up");
    assert!(entered(&run, &migrate1, State::Exited) < entered(&run, &web1, State::Starting));
    run.finish();
}

#[test]
fn a_shutdown_stops_the_dependant_before_what_it_depends_on() {
    let mut run = Run::new();
    // web takes a while to stop; db must not get its signal before web is gone.
    let db =
        sh("db", "trap 'echo db stopping; exit 0' TERM; echo db up; while :; do sleep 0.05; done");
    let mut web = sh(
        "web",
        "trap 'sleep 0.3; echo web gone; exit 0' TERM; echo web up; while :; do sleep 0.05; done",
    );
    web.depends_on = vec![Dependency::new("db", Condition::Started)];
    run.driver.add_groups(vec![db, web]).expect("add");
    run.driver.start_group("db").expect("start");
    run.driver.start_group("web").expect("start");
    let (db1, web1) = (id("db", 1), id("web", 1));
    run.wait_line(&web1, |l| l == "web up");
    run.wait_line(&db1, |l| l == "db up");
    let (db_pid, web_pid) = (run.pid(&db1), run.pid(&web1));
    run.driver.shutdown();
    run.wait_until("the shutdown", |run| run.driver.is_finished());
    assert!(entered(&run, &web1, State::Stopped) < entered(&run, &db1, State::Stopping));
    assert!(!exists(db_pid) && !exists(web_pid));
    run.finish();
}
