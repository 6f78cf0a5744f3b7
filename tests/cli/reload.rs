//! Issue 14, point 1, through the real binary: `procman reload` reads the Procfile, the env
//! files and procman.json again and applies the difference (unchanged types keep their pids,
//! a changed one restarts, an added one starts, a removed one stops), refuses a broken
//! configuration with `check`'s messages leaving every pid as it was, restarts a type with a
//! readiness check one instance at a time, and `--reload-signal HUP` does the same on SIGHUP
//! where Foreman's SIGHUP stops the run.

use crate::harness::{
    Dir, Signal, WAIT, alive, ctl, ctl_ok, instance, position, ps_json, ps_until, wait_gone,
};

/// The pid of each listed instance in `ps --json`.
fn pids(dir: &Dir, names: &[&str]) -> Vec<u32> {
    let ps = ps_json(dir);
    names
        .iter()
        .map(|name| {
            let pid = instance(&ps, name)["pid"].as_u64().and_then(|pid| u32::try_from(pid).ok());
            pid.unwrap_or_else(|| panic!("{name}: {ps:#}"))
        })
        .collect()
}

#[test]
fn reload_keeps_unchanged_pids_restarts_a_changed_type_starts_an_added_and_stops_a_removed_one() {
    let dir = Dir::new();
    dir.write(
        "Procfile",
        "db: echo \"db on $PORT\"; exec sleep 300\nweb: echo web v1; exec sleep 300\n\
         worker: exec sleep 300\n",
    );
    let mut run = dir.spawn(&["start"]);
    run.wait_nth(&["web.1", "| web v1"], 1);
    run.started("worker.1");
    let before = pids(&dir, &["db.1", "web.1", "worker.1"]);

    // web's command changes, worker goes, clock comes; db's line (and PORT) stay.
    dir.write(
        "Procfile",
        "db: echo \"db on $PORT\"; exec sleep 300\nweb: echo web v2; exec sleep 300\n\
         clock: echo tick; exec sleep 300\n",
    );
    let answer = ctl_ok(&dir, &["reload"]);
    assert_eq!(
        answer,
        "restarted web (command)\nstarted clock\nstopped worker\nkept db\n",
        "{}",
        run.transcript()
    );
    run.wait_for(
        "reloaded (as requested over the control socket): restarted web (command); started \
         clock; stopped worker; kept db",
    );
    run.wait_nth(&["web.1", "| web v2"], 1);
    run.wait_nth(&["clock.1", "| tick"], 1);
    run.wait_for("worker removed: it is no longer in the configuration");
    assert!(wait_gone(&before[1..], WAIT).is_empty(), "the old web and worker are gone");
    let ps = ps_until(&dir, "web and clock running", |ps| {
        instance(ps, "web.1")["state"] == "running" && instance(ps, "clock.1")["state"] == "running"
    });
    assert_eq!(instance(&ps, "db.1")["pid"], before[0], "db kept its process");
    assert_eq!(instance(&ps, "db.1")["restarts"], 0);
    assert_ne!(instance(&ps, "web.1")["pid"], before[1]);
    let names: Vec<&str> = ps["processes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["process"].as_str())
        .collect();
    assert_eq!(names, ["db.1", "web.1", "clock.1"]);
    // web got its new command: no exit of web ended the run, and nothing else restarted.
    assert!(run.lines_with(&["sending SIGTERM to all processes"]).is_empty());
    assert!(run.lines_with(&["db.1", "| started with pid"]).len() == 1);

    // The env files and procman.json are read again too: a changed variable restarts its
    // type, and an unchanged reload keeps everything.
    dir.write("procman.json", r#"{"processes": {"db": {"env": {"DB_POOL": "5"}}}}"#);
    assert_eq!(ctl_ok(&dir, &["reload"]), "restarted db (env)\nkept web, clock\n");
    run.started_nth("db.1", 2);
    // A changed count scales the type: clock.1 keeps its process, clock.2 starts.
    let clock = pids(&dir, &["clock.1"]);
    dir.write(
        "procman.json",
        r#"{"processes": {"db": {"env": {"DB_POOL": "5"}}, "clock": {"instances": 2}}}"#,
    );
    assert_eq!(ctl_ok(&dir, &["reload"]), "scaled clock to 2\nkept db, web\n");
    run.started("clock.2");
    assert_eq!(pids(&dir, &["clock.1"]), clock, "{}", run.transcript());
    dir.write(".env", "GREETING=hi\n");
    assert_eq!(ctl_ok(&dir, &["reload"]), "restarted db (env), web (env), clock (env)\n");
    let again = ctl_ok(&dir, &["reload"]);
    assert_eq!(again, "nothing changed (kept db, web, clock)\n");
    assert!(alive(run.pid()));
    run.stop(Signal::SIGINT);
}

#[test]
fn reload_refuses_a_broken_config_with_checks_messages_and_leaves_every_pid_as_it_was() {
    let dir = Dir::new();
    dir.write("Procfile", "web: exec sleep 300\nworker: exec sleep 300\n");
    dir.write("procman.json", r#"{"processes": {"web": {"instances": 2}}}"#);
    let mut run = dir.spawn(&["start"]);
    for name in ["web.1", "web.2", "worker.1"] {
        run.wait_nth(&[name, "| started with pid"], 1);
    }
    let before = pids(&dir, &["web.1", "web.2", "worker.1"]);
    // Each broken file, and where its error points (`check`'s message, file:line:column).
    let broken = [
        // A cycle, alongside a change that would otherwise apply.
        (
            "procman.json",
            "{\"processes\": {\"web\": {\"instances\": 3, \"depends_on\": [\"worker\"]},\n  \
             \"worker\": {\"depends_on\": [\"web\"]}}}\n",
            "procman.json:1:40",
        ),
        (
            "procman.json",
            r#"{"processes": {"web": {"ready": {"log": "(unclosed"}}}}"#,
            "procman.json:1:52",
        ),
        ("procman.json", r#"{"processes": {"web": {"cwd": "no/such/dir"}}}"#, "procman.json:1:24"),
        ("Procfile", "web: exec sleep 300\nworker exec sleep 300\n", "Procfile:2"),
    ];
    for (refusal, (file, text, location)) in broken.into_iter().enumerate() {
        let good = std::fs::read_to_string(dir.path().join(file)).unwrap_or_default();
        dir.write(file, text);
        let check = dir.run(&["check"]);
        assert_eq!(check.code(), Some(1), "{text}");
        let refused = ctl(&dir, &["reload"]);
        assert_eq!(refused.code(), Some(1), "{text}: {}", refused.stdout());
        assert_eq!(refused.stderr(), check.stderr(), "reload says what check says: {text}");
        let arrow = format!("--> {location}\n");
        assert!(refused.stderr().contains(&arrow), "{location}: {}", refused.stderr());
        assert!(refused.stdout().is_empty());
        let line =
            run.wait_nth(&["reload refused (as requested over the control socket): "], refusal + 1);
        assert!(line.contains(&format!(" (at {location}); nothing changed")), "{line}");
        assert_eq!(pids(&dir, &["web.1", "web.2", "worker.1"]), before, "{text}");
        dir.write(file, good);
    }
    let refusals = run.lines_with(&["reload refused", "nothing changed"]);
    assert_eq!(refusals.len(), 4, "{}", run.transcript());
    assert_eq!(ctl_ok(&dir, &["reload"]), "nothing changed (kept web, worker)\n");
    assert_eq!(ps_json(&dir)["total"]["instances"], 3);
    run.stop(Signal::SIGINT);
}

#[test]
fn a_type_with_a_readiness_check_restarts_one_instance_at_a_time() {
    let dir = Dir::new();
    dir.write("Procfile", "web: echo \"v1 ready $PS\"; exec sleep 300\n");
    dir.write(
        "procman.json",
        r#"{"processes": {"web": {"instances": 2, "ready": {"log": "ready"}}}}"#,
    );
    let mut run = dir.spawn(&["start"]);
    run.wait_for("web.1 is ready");
    run.wait_for("web.2 is ready");
    let before = pids(&dir, &["web.1", "web.2"]);
    dir.write("Procfile", "web: echo \"v2 ready $PS\"; exec sleep 300\n");
    assert_eq!(ctl_ok(&dir, &["reload"]), "restarted web (command)\n");
    run.wait_for("web restarted: every instance is ready again");
    let after = pids(&dir, &["web.1", "web.2"]);
    assert!(after[0] != before[0] && after[1] != before[1], "{}", run.transcript());
    let lines = run.stdout_lines();
    let at = |needles: &[&str]| position(&lines, needles);
    // web.2 keeps serving until the new web.1 is ready.
    let first_stop = at(&[&format!("sending SIGTERM to web.1 (pid {})", before[0])]);
    let new_ready = at(&[&format!("web.1 is ready (pid {})", after[0])]);
    assert!(at(&["web.1", "| v2 ready web.1"]) < new_ready);
    let second_stop = at(&[&format!("sending SIGTERM to web.2 (pid {})", before[1])]);
    assert!(first_stop < new_ready && new_ready < second_stop, "{}", run.transcript());
    assert!(second_stop < at(&["web.2", "| v2 ready web.2"]), "{}", run.transcript());
    run.stop(Signal::SIGTERM);
}

#[test]
fn sighup_stops_as_in_foreman_unless_reload_signal_makes_it_reload() {
    let dir = Dir::new();
    dir.write("Procfile", "web: exec sleep 300\n");
    let mut run = dir.spawn(&["start", "--no-socket"]);
    run.started("web.1");
    run.stop(Signal::SIGHUP);

    let mut run = dir.spawn(&["start", "--reload-signal", "HUP"]);
    let web = run.started("web.1");
    dir.write("Procfile", "web: exec sleep 300\nclock: echo tick; exec sleep 300\n");
    run.signal(Signal::SIGHUP);
    run.wait_for("reloaded (SIGHUP received): started clock; kept web");
    run.wait_nth(&["clock.1", "| tick"], 1);
    assert_eq!(instance(&ps_json(&dir), "web.1")["pid"], web);
    run.stop(Signal::SIGINT);

    let bad = dir.run(&["start", "--reload-signal", "TERM"]);
    assert_eq!(bad.code(), Some(2));
    assert!(
        bad.stderr().starts_with("error: --reload-signal: `TERM` cannot reload"),
        "{}",
        bad.stderr()
    );
}

/// With `--reload-signal HUP`, a SIGHUP once the run is ending is a second signal, as without
/// it: procman ends at once instead of refusing a reload and waiting out the stop timeout.
#[test]
fn the_reload_signal_during_the_shutdown_ends_procman_at_once() {
    let dir = Dir::with_procfile(
        "web: trap 'echo ignoring TERM' TERM; echo up; while :; do sleep 0.1; done\n",
    );
    let mut run = dir.spawn(&["start", "--no-socket", "--reload-signal", "HUP", "-t", "300"]);
    run.wait_for("| up");
    run.signal(Signal::SIGTERM);
    run.wait_for("ignoring TERM");
    run.signal(Signal::SIGHUP);
    run.wait_for("SIGHUP received again: sending SIGKILL to all processes");
    assert_eq!(run.wait_exit().code(), Some(143), "{}", run.transcript());
}

#[test]
fn a_reload_says_that_changed_log_settings_wait_for_the_next_start() {
    let dir = Dir::new();
    dir.write("Procfile", "web: echo up; exec sleep 300\n");
    dir.write("procman.json", r#"{"log_dir": "logs", "log_keep": 2}"#);
    let mut run = dir.spawn(&["start"]);
    run.wait_nth(&["web.1", "| up"], 1);
    dir.write("procman.json", r#"{"log_dir": "logs", "log_keep": 3, "log_max_size": "1M"}"#);
    assert_eq!(
        ctl_ok(&dir, &["reload"]),
        "nothing changed (kept web)\nlog_max_size, log_keep changed: log settings take effect \
         at the next start\n",
        "{}",
        run.transcript()
    );
    run.wait_for("log_max_size, log_keep changed: log settings take effect at the next start");
    // Unchanged since: nothing more to say.
    assert_eq!(ctl_ok(&dir, &["reload"]), "nothing changed (kept web)\n");
    run.signal(Signal::SIGTERM);
    run.wait_exit();
}
