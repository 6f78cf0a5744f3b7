//! Issue 14, point 2, through the real binary: a type waits for its dependencies (`WAITING`,
//! shown by `ps`), a log-line, port or command check decides when an instance is ready, a
//! one-shot job with `"exited"` gates its dependants without ending the run (its failure does
//! end it), a cycle is an error before anything starts, and the stop runs in reverse
//! dependency order. Every wait is on a line, a pid or procman's own state, never a sleep.

use crate::harness::{
    Dir, Signal, alive, assert_exit, ctl, ctl_ok, fifo, instance, position, ps_json, ps_until,
    release, skip,
};

#[test]
fn a_worker_that_depends_on_a_ready_web_starts_only_after_its_log_line() {
    let dir = Dir::new();
    fifo(&dir, "gate");
    dir.write(
        "Procfile",
        "web: echo booting; read _ < gate; echo \"listening on $PORT\"; exec sleep 300\n\
         worker: echo worker up; exec sleep 300\n",
    );
    dir.write(
        "procman.json",
        r#"{"processes": {"web": {"ready": {"log": "^listening on \\d+$"}},
            "worker": {"depends_on": {"web": "ready"}}}}"#,
    );
    let mut run = dir.spawn(&["start"]);
    run.wait_for("worker.1 waits for web (ready)");
    run.wait_nth(&["web.1", "| booting"], 1);

    // web runs but is not ready; worker has no process and says what it waits for.
    let ps = ps_json(&dir);
    let web = instance(&ps, "web.1");
    assert_eq!((&web["state"], &web["ready"]), (&"starting".into(), &false.into()), "{ps:#}");
    assert!(web["waiting_for"]["ready_check"]["seconds_left"].as_f64().is_some(), "{ps:#}");
    let worker = instance(&ps, "worker.1");
    assert_eq!(worker["state"], "waiting");
    assert_eq!(worker["pid"], serde_json::Value::Null);
    assert_eq!(
        worker["waiting_for"],
        serde_json::json!({"dependencies": [{"type": "web", "condition": "ready"}]})
    );
    let table = ctl_ok(&dir, &["ps"]);
    let header: Vec<&str> = table.lines().next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(&header[..4], ["NAME", "PID", "STATE", "READY"], "{table}");
    assert_eq!(&header[header.len() - 2..], ["WAITING", "FOR"], "{table}");
    let worker_row = table.lines().find(|l| l.starts_with("worker.1")).unwrap_or_default();
    assert!(worker_row.contains("WAITING") && worker_row.ends_with("web (ready)"), "{table}");
    let web_row = table.lines().find(|l| l.starts_with("web.1")).unwrap_or_default();
    assert!(web_row.contains("STARTING  no") && web_row.contains("ready check ("), "{table}");
    assert!(run.lines_with(&["worker.1", "| started with pid"]).is_empty());

    release(&dir.path().join("gate"));
    run.wait_for("web.1 is ready");
    let worker_pid = run.started("worker.1");
    run.wait_nth(&["worker.1", "| worker up"], 1);
    let lines = run.stdout_lines();
    let listening = position(&lines, &["| listening on 5000"]);
    let ready = position(&lines, &["web.1 is ready"]);
    assert!(listening < ready, "{}", run.transcript());
    assert!(ready < position(&lines, &["worker.1", "| started with pid"]), "{}", run.transcript());
    let ps = ps_until(&dir, "worker running", |ps| instance(ps, "worker.1")["state"] == "running");
    assert_eq!(instance(&ps, "web.1")["ready"], true);
    assert_eq!(instance(&ps, "worker.1")["pid"], worker_pid);
    assert_eq!(instance(&ps, "worker.1")["ready"], serde_json::Value::Null, "no check");
    run.stop(Signal::SIGINT);
}

#[test]
fn a_migration_with_exited_gates_the_web_and_its_success_does_not_end_the_run() {
    let dir = Dir::new();
    fifo(&dir, "gate");
    dir.write(
        "Procfile",
        "migrate: read _ < gate; echo migrated; exit 0\nweb: echo web up; exec sleep 300\n",
    );
    dir.write("procman.json", r#"{"processes": {"web": {"depends_on": {"migrate": "exited"}}}}"#);
    let mut run = dir.spawn(&["start"]);
    run.wait_for("web.1 waits for migrate (exited)");
    run.started("migrate.1");
    assert_eq!(instance(&ps_json(&dir), "web.1")["state"], "waiting");

    release(&dir.path().join("gate"));
    run.wait_nth(&["migrate.1", "| exited with code 0"], 1);
    let web = run.started("web.1");
    run.wait_nth(&["web.1", "| web up"], 1);
    let lines = run.stdout_lines();
    assert!(position(&lines, &["| migrated"]) < position(&lines, &["web.1", "| started with pid"]));
    // Foreman's rule would have ended the run at the migration's exit.
    let ps = ps_json(&dir);
    assert_eq!(instance(&ps, "migrate.1")["state"], "exited");
    assert_eq!(instance(&ps, "web.1")["state"], "running");
    assert!(alive(web) && alive(run.pid()));
    assert!(run.lines_with(&["sending SIGTERM to all processes"]).is_empty());
    run.stop(Signal::SIGTERM);
}

#[test]
fn a_failed_migration_ends_the_run_and_its_dependants_never_start() {
    let dir = Dir::new();
    dir.write("Procfile", "migrate: echo failing; exit 3\nweb: exec sleep 300\n");
    dir.write("procman.json", r#"{"processes": {"web": {"depends_on": {"migrate": "exited"}}}}"#);
    let mut run = dir.spawn(&["start", "--no-socket"]);
    assert_exit(&mut run, 3);
    let transcript = run.transcript();
    assert!(!run.lines_with(&["migrate.1", "| exited with code 3"]).is_empty(), "{transcript}");
    let message =
        "web not started: migrate.1 is EXITED (exit code 3) and will not exit with success";
    assert_eq!(run.lines_with(&[message]).len(), 1, "{transcript}");
    assert!(run.lines_with(&["web.1", "| started with pid"]).is_empty(), "{transcript}");
}

#[test]
fn a_dependency_never_ready_is_retried_then_given_up_and_its_dependants_never_start() {
    let dir = Dir::new();
    dir.write("Procfile", "web: echo booting; exec sleep 300\nworker: exec sleep 300\n");
    dir.write(
        "procman.json",
        r#"{"processes": {
            "web": {"restart": "on-failure", "max_restarts": 1,
                    "ready": {"log": "never said", "timeout": "1s"}},
            "worker": {"depends_on": {"web": "ready"}}}}"#,
    );
    let mut run = dir.spawn(&["start", "--no-socket"]);
    // web is stopped (SIGTERM) at each timeout; the last stop ends the run with its code.
    assert_exit(&mut run, 143);
    let transcript = run.transcript();
    let timeouts = run.lines_with(&["web.1 was not ready within 1s: stopping it (pid "]);
    assert_eq!(timeouts.len(), 2, "a failed start, retried once: {transcript}");
    assert_eq!(run.lines_with(&["web.1", "| started with pid"]).len(), 2, "{transcript}");
    assert_eq!(run.lines_with(&["web.1 gave up: entered FATAL state"]).len(), 1, "{transcript}");
    let message = "worker not started: web.1 is FATAL (killed by SIGTERM) and will not be ready";
    assert_eq!(run.lines_with(&[message]).len(), 1, "{transcript}");
    assert!(run.lines_with(&["worker.1", "| started with pid"]).is_empty(), "{transcript}");
}

#[test]
fn a_command_check_holds_dependants_until_it_exits_0() {
    let dir = Dir::new();
    dir.write("Procfile", "db: echo db up; exec sleep 300\napp: echo app up; exec sleep 300\n");
    // The check runs in the instance's working directory, the app root here.
    dir.write(
        "procman.json",
        r#"{"processes": {"db": {"ready": {"command": "test -e db-ready", "interval": "50ms"}},
            "app": {"depends_on": {"db": "ready"}}}}"#,
    );
    let mut run = dir.spawn(&["start"]);
    run.wait_for("app.1 waits for db (ready)");
    let db = run.started("db.1");
    run.wait_nth(&["db.1", "| db up"], 1);
    let ps = ps_json(&dir);
    assert_eq!(
        (&instance(&ps, "db.1")["state"], &instance(&ps, "db.1")["ready"]),
        (&"starting".into(), &false.into())
    );
    assert_eq!(instance(&ps, "app.1")["state"], "waiting", "{ps:#}");
    assert!(run.lines_with(&["app.1", "| started with pid"]).is_empty());

    dir.write("db-ready", "");
    run.wait_for(&format!("db.1 is ready (pid {db})"));
    run.started("app.1");
    let lines = run.stdout_lines();
    assert!(position(&lines, &["db.1 is ready"]) < position(&lines, &["app.1", "| started"]));
    run.stop(Signal::SIGINT);
}

#[test]
fn a_cycle_or_an_unknown_name_is_an_error_before_anything_starts() {
    let dir = Dir::new();
    dir.write("Procfile", "web: touch web-ran; exec sleep 300\nworker: exec sleep 300\n");
    dir.write(
        "procman.json",
        "{\"processes\": {\n  \"web\": {\"depends_on\": [\"worker\"]},\n  \"worker\": \
         {\"depends_on\": {\"web\": \"ready\"}}\n}}\n",
    );
    let expected = "error: procman.json: processes.web.depends_on: process types depend on \
                    each other in a cycle: web -> worker -> web\n  --> procman.json:2:11\n";
    let start = dir.run(&["start", "--no-socket"]);
    assert_eq!(start.code(), Some(1), "{}", start.stderr());
    assert!(start.stderr().starts_with(expected), "{}", start.stderr());
    assert!(start.stdout().is_empty(), "nothing started: {}", start.stdout());
    assert!(!dir.path().join("web-ran").exists());
    let check = dir.run(&["check"]);
    assert_eq!(check.code(), Some(1));
    assert_eq!(check.stderr(), start.stderr(), "check and start say the same");

    dir.write("procman.json", r#"{"processes": {"web": {"depends_on": {"wroker": "started"}}}}"#);
    let check = dir.run(&["check"]);
    assert_eq!(check.code(), Some(1));
    assert!(
        check.stderr().starts_with(
            "error: procman.json: processes.web.depends_on: `web` depends on `wroker`, which \
             is not a process type\n"
        ),
        "{}",
        check.stderr()
    );
    assert!(check.stderr().contains("help: did you mean `worker`?"), "{}", check.stderr());
}

#[test]
fn the_stop_runs_in_reverse_dependency_order() {
    let dir = Dir::new();
    fifo(&dir, "worker-gate");
    // worker holds its stop until the test lets it go; the others stop at once.
    dir.write(
        "Procfile",
        "db: trap 'echo db got TERM; exit 0' TERM; echo db up; while :; do sleep 1; done\n\
         web: trap 'echo web got TERM; exit 0' TERM; echo web up; while :; do sleep 1; done\n\
         worker: trap 'echo worker got TERM; read _ < worker-gate; exit 0' TERM; echo worker \
         up; while :; do sleep 1; done\n",
    );
    dir.write(
        "procman.json",
        r#"{"processes": {"web": {"depends_on": ["db"]},
            "worker": {"depends_on": ["web"], "stop_timeout": "60s"}}}"#,
    );
    let mut run = dir.spawn(&["start"]);
    for name in ["db.1", "web.1", "worker.1"] {
        run.wait_nth(&[name, "up"], 1);
    }
    ctl_ok(&dir, &["stop"]);
    run.wait_nth(&["worker.1", "| worker got TERM"], 1);
    // worker is stopping and holds on: web and db have not been asked to stop yet.
    let ps = ps_json(&dir);
    assert_eq!(instance(&ps, "worker.1")["state"], "stopping", "{ps:#}");
    assert_eq!(instance(&ps, "web.1")["state"], "running", "{ps:#}");
    assert_eq!(instance(&ps, "db.1")["state"], "running", "{ps:#}");
    release(&dir.path().join("worker-gate"));
    assert_exit(&mut run, 0);
    let lines = run.stdout_lines();
    let worker = position(&lines, &["worker got TERM"]);
    let web = position(&lines, &["web got TERM"]);
    let db = position(&lines, &["db got TERM"]);
    assert!(worker < web && web < db, "{}", run.transcript());
    assert!(position(&lines, &["worker.1", "| exited with code 0"]) < web, "{}", run.transcript());
    assert!(run.lines_with(&["sending SIGTERM to all processes, dependants first"]).len() == 1);
    assert!(position(&lines, &["web.1", "| exited with code 0"]) < db, "{}", run.transcript());
}

#[test]
fn an_instance_with_a_stdin_pipe_and_a_port_check_becomes_ready() {
    // Each instance's standard input is a pipe procman holds open, watched in the same poll
    // set as the port checks' sockets; the two once shared tokens, and a connected probe was
    // then taken for the pipe (the instance never became ready).
    if std::process::Command::new("python3").arg("-c").arg("").status().is_err() {
        return skip("the listener needs python3");
    }
    let dir = Dir::new();
    fifo(&dir, "gate-web.1");
    fifo(&dir, "gate-web.2");
    dir.write(
        "listen.py",
        "import os, select, socket, sys\n\
         s = socket.socket()\n\
         s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('127.0.0.1', int(os.environ['PORT'])))\n\
         s.listen(8)\n\
         print('listening', flush=True)\n\
         readable, _, _ = select.select([sys.stdin], [], [], 0)\n\
         eof = readable and sys.stdin.buffer.raw.read(1) == b''\n\
         print('stdin closed' if eof else 'stdin open', flush=True)\n\
         while True:\n    s.accept()[0].close()\n",
    );
    dir.write(
        "Procfile",
        "web: read _ < gate-$PS; exec python3 listen.py\nworker: exec sleep 300\n",
    );
    dir.write(
        "procman.json",
        r#"{"processes": {"web": {"instances": 2, "ready": {"port": "$PORT", "interval": "50ms"}},
            "worker": {"depends_on": {"web": "ready"}}}}"#,
    );
    let base = two_free_ports().to_string();
    let mut run = dir.spawn(&["start", "--tty=never", "-p", &base]);
    run.started("web.2");
    // Nothing listens yet: the probes fail, and worker waits.
    let ps = ps_json(&dir);
    for name in ["web.1", "web.2"] {
        assert_eq!(instance(&ps, name)["ready"], false, "{ps:#}");
    }
    assert_eq!(instance(&ps, "worker.1")["state"], "waiting", "{ps:#}");
    release(&dir.path().join("gate-web.1"));
    release(&dir.path().join("gate-web.2"));
    run.wait_for("web.1 is ready");
    run.wait_for("web.2 is ready");
    run.started("worker.1");
    // Each listener says whether its stdin was open once it listens, which may be after the
    // probe connected.
    for name in ["web.1", "web.2"] {
        let said = run.wait_nth(&[name, "| stdin "], 1);
        assert!(said.ends_with("| stdin open"), "{}", run.transcript());
    }
    let ps = ps_json(&dir);
    assert_eq!(
        (&instance(&ps, "web.1")["ready"], &instance(&ps, "web.2")["ready"]),
        (&true.into(), &true.into())
    );
    run.stop(Signal::SIGINT);
    let refused = ctl(&dir, &["ps"]);
    assert_eq!(refused.code(), Some(1), "the run is over");
}

/// A port P such that P and P + 1 are free on 127.0.0.1 now (web.1 and web.2 get them), so
/// that no other program on this machine answers a probe meant for them.
fn two_free_ports() -> u16 {
    for _ in 0..100 {
        let first = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = first.local_addr().expect("its address").port();
        if port < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two consecutive free ports on 127.0.0.1");
}
