//! Issue 14, point 1, through the real binary: `procman reload` reads the Procfile, the env
//! files and procman.json again and applies the difference (unchanged types keep their pids,
//! a changed one restarts, an added one starts, a removed one stops), refuses a broken
//! configuration with `check`'s messages leaving every pid as it was, restarts a type with a
//! readiness check one instance at a time, and `--reload-signal HUP` does the same on SIGHUP
//! where Foreman's SIGHUP stops the run.

use crate::live::{ctl, ctl_ok, instance, lines_with, ps_json, ps_until, started_pid, wait_nth};
use crate::support::assert_exit;
use crate::util::{Dir, WAIT, alive, wait_gone};

/// The pid of each listed instance in `ps --json`.
fn pids(dir: &Dir, names: &[&str]) -> Vec<u64> {
    let ps = ps_json(dir);
    names
        .iter()
        .map(|name| instance(&ps, name)["pid"].as_u64().unwrap_or_else(|| panic!("{name}: {ps:#}")))
        .collect()
}

#[test]
fn reload_keeps_unchanged_pids_restarts_a_changed_type_starts_an_added_and_stops_a_removed_one() {
    let dir = Dir::new();
    dir.write(
        "Procfile",
        "db: echo \"db on $PORT\"; exec sleep 30\nweb: echo web v1; exec sleep 30\n\
         worker: exec sleep 30\n",
    );
    let mut run = dir.spawn(&["start"]);
    wait_nth(&mut run, &["web.1", "| web v1"], 1);
    wait_nth(&mut run, &["worker.1", "| started with pid"], 1);
    let before = pids(&dir, &["db.1", "web.1", "worker.1"]);

    // web's command changes, worker goes, clock comes; db's line (and PORT) stay.
    dir.write(
        "Procfile",
        "db: echo \"db on $PORT\"; exec sleep 30\nweb: echo web v2; exec sleep 30\n\
         clock: echo tick; exec sleep 30\n",
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
    wait_nth(&mut run, &["web.1", "| web v2"], 1);
    wait_nth(&mut run, &["clock.1", "| tick"], 1);
    run.wait_for("worker removed: it is no longer in the configuration");
    let old = [u32::try_from(before[1]).unwrap_or(0), u32::try_from(before[2]).unwrap_or(0)];
    assert!(wait_gone(&old, WAIT).is_empty(), "the old web and worker are gone");
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
    assert!(lines_with(&run, &["sending SIGTERM to all processes"]).is_empty());
    assert!(lines_with(&run, &["db.1", "| started with pid"]).len() == 1);

    // The env files and procman.json are read again too: a changed variable restarts its
    // type, and an unchanged reload keeps everything.
    dir.write("procman.json", r#"{"processes": {"db": {"env": {"DB_POOL": "5"}}}}"#);
    assert_eq!(ctl_ok(&dir, &["reload"]), "restarted db (env)\nkept web, clock\n");
    wait_nth(&mut run, &["db.1", "| started with pid"], 2);
    dir.write(".env", "GREETING=hi\n");
    assert_eq!(ctl_ok(&dir, &["reload"]), "restarted db (env), web (env), clock (env)\n");
    let again = ctl_ok(&dir, &["reload"]);
    assert_eq!(again, "nothing changed (kept db, web, clock)\n");
    assert!(alive(run.pid()));
    run.signal(libc::SIGINT);
    assert_exit(&mut run, 130);
}

#[test]
fn reload_refuses_a_broken_config_with_checks_messages_and_leaves_every_pid_as_it_was() {
    let dir = Dir::new();
    dir.write("Procfile", "web: exec sleep 30\nworker: exec sleep 30\n");
    dir.write("procman.json", r#"{"processes": {"web": {"instances": 2}}}"#);
    let mut run = dir.spawn(&["start"]);
    for name in ["web.1", "web.2", "worker.1"] {
        wait_nth(&mut run, &[name, "| started with pid"], 1);
    }
    let before = pids(&dir, &["web.1", "web.2", "worker.1"]);
    let broken = [
        // A cycle, alongside a change that would otherwise apply.
        (
            "procman.json",
            "{\"processes\": {\"web\": {\"instances\": 3, \"depends_on\": [\"worker\"]},\n  \
             \"worker\": {\"depends_on\": [\"web\"]}}}\n",
        ),
        ("procman.json", r#"{"processes": {"web": {"ready": {"log": "(unclosed"}}}}"#),
        ("procman.json", r#"{"processes": {"web": {"cwd": "no/such/dir"}}}"#),
        ("Procfile", "web: exec sleep 30\nworker exec sleep 30\n"),
    ];
    for (file, text) in broken {
        let good = std::fs::read_to_string(dir.path().join(file)).unwrap_or_default();
        dir.write(file, text);
        let check = dir.run(&["check"]);
        assert_eq!(check.code(), Some(1), "{text}");
        let refused = ctl(&dir, &["reload"]);
        assert_eq!(refused.code(), Some(1), "{text}: {}", refused.stdout());
        assert_eq!(refused.stderr(), check.stderr(), "reload says what check says: {text}");
        assert!(refused.stdout().is_empty());
        run.wait_for("reload refused (as requested over the control socket): ");
        assert_eq!(pids(&dir, &["web.1", "web.2", "worker.1"]), before, "{text}");
        dir.write(file, good);
    }
    let refusals = lines_with(&run, &["reload refused", "nothing changed"]);
    assert_eq!(refusals.len(), 4, "{}", run.transcript());
    assert_eq!(ctl_ok(&dir, &["reload"]), "nothing changed (kept web, worker)\n");
    assert_eq!(ps_json(&dir)["total"]["instances"], 3);
    run.signal(libc::SIGINT);
    assert_exit(&mut run, 130);
}

#[test]
fn a_type_with_a_readiness_check_restarts_one_instance_at_a_time() {
    let dir = Dir::new();
    dir.write("Procfile", "web: echo \"v1 ready $PS\"; exec sleep 30\n");
    dir.write(
        "procman.json",
        r#"{"processes": {"web": {"instances": 2, "ready": {"log": "ready"}}}}"#,
    );
    let mut run = dir.spawn(&["start"]);
    run.wait_for("web.1 is ready");
    run.wait_for("web.2 is ready");
    let before = pids(&dir, &["web.1", "web.2"]);
    dir.write("Procfile", "web: echo \"v2 ready $PS\"; exec sleep 30\n");
    assert_eq!(ctl_ok(&dir, &["reload"]), "restarted web (command)\n");
    run.wait_for("web restarted: every instance is ready again");
    let lines = run.stdout_lines();
    let at = |needle: &str| {
        lines.iter().position(|l| l.contains(needle)).unwrap_or_else(|| {
            panic!("no {needle:?} in:\n{}", lines.join("\n"));
        })
    };
    // web.2 keeps serving until the new web.1 is ready.
    let new_ready = at("web.1 | v2 ready web.1");
    assert!(at(&format!("sending SIGTERM to web.1 (pid {})", before[0])) < new_ready);
    let second_stop = at(&format!("sending SIGTERM to web.2 (pid {})", before[1]));
    assert!(new_ready < second_stop, "{}", run.transcript());
    assert!(second_stop < at("web.2 | v2 ready web.2"));
    run.signal(libc::SIGTERM);
    assert_exit(&mut run, 143);
}

#[test]
fn sighup_stops_as_in_foreman_unless_reload_signal_makes_it_reload() {
    let dir = Dir::new();
    dir.write("Procfile", "web: exec sleep 30\n");
    let mut run = dir.spawn(&["start", "--no-socket"]);
    wait_nth(&mut run, &["web.1", "| started with pid"], 1);
    run.signal(libc::SIGHUP);
    assert_exit(&mut run, 129);

    let mut run = dir.spawn(&["start", "--reload-signal", "HUP"]);
    let web = started_pid(&wait_nth(&mut run, &["web.1", "| started with pid"], 1));
    dir.write("Procfile", "web: exec sleep 30\nclock: echo tick; exec sleep 30\n");
    run.signal(libc::SIGHUP);
    run.wait_for("reloaded (SIGHUP received): started clock; kept web");
    wait_nth(&mut run, &["clock.1", "| tick"], 1);
    assert_eq!(instance(&ps_json(&dir), "web.1")["pid"], web);
    run.signal(libc::SIGINT);
    assert_exit(&mut run, 130);

    let bad = dir.run(&["start", "--reload-signal", "TERM"]);
    assert_eq!(bad.code(), Some(2));
    assert!(
        bad.stderr().starts_with("error: --reload-signal: `TERM` cannot reload"),
        "{}",
        bad.stderr()
    );
}
