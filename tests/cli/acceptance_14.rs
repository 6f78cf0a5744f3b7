//! Issue 14's bullets that the feature tests (reload.rs, readiness.rs, watch.rs, logs.rs) left
//! to the units or to a single case: a dependant waits for every instance of its dependency, a
//! port check with a literal port, `ps --watch` showing READY and WAITING FOR, and a reload that
//! restarts a type whose directory or a setting changed, keeping the others' pids.

use crate::harness::*;

#[test]
fn a_dependant_waits_for_every_instance_of_its_dependency() {
    let dir = Dir::new();
    fifo(&dir, "gate-db.1");
    fifo(&dir, "gate-db.2");
    dir.write(
        "Procfile",
        "db: echo booting; read _ < gate-$PS; echo accepting; exec sleep 300\n\
         worker: echo worker up; exec sleep 300\n",
    );
    dir.write(
        "procman.json",
        r#"{"processes": {"db": {"instances": 2, "ready": {"log": "^accepting$"}},
            "worker": {"depends_on": {"db": "ready"}}}}"#,
    );
    let mut run = dir.spawn(&["start"]);
    run.wait_for("worker.1 waits for db (ready)");
    run.started("db.1");
    run.started("db.2");

    release(&dir.path().join("gate-db.1"));
    run.wait_for("db.1 is ready");
    // One instance of two is ready: the worker still waits (the core decides in the turn that
    // made db.1 ready, before this answer).
    let ps = ps_json(&dir);
    assert_eq!(instance(&ps, "db.1")["ready"], true, "{ps:#}");
    assert_eq!(instance(&ps, "db.2")["ready"], false, "{ps:#}");
    assert_eq!(instance(&ps, "worker.1")["state"], "waiting", "{ps:#}");
    assert!(run.lines_with(&["worker.1", "| started with pid"]).is_empty());

    release(&dir.path().join("gate-db.2"));
    run.wait_for("db.2 is ready");
    run.started("worker.1");
    let lines = run.stdout_lines();
    let second_ready = position(&lines, &["db.2 is ready"]);
    assert!(
        second_ready < position(&lines, &["worker.1", "| started with pid"]),
        "{}",
        run.transcript()
    );
    run.stop(Signal::SIGINT);
}

#[test]
fn a_port_check_with_a_literal_port_holds_dependants_until_something_listens() {
    // A port free now; the test itself listens on it when the check is to pass.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let dir = Dir::with_procfile("db: exec sleep 300\napp: echo app up; exec sleep 300\n");
    dir.write(
        "procman.json",
        format!(
            r#"{{"processes": {{"db": {{"ready": {{"port": {port}, "interval": "50ms"}}}},
                "app": {{"depends_on": {{"db": "ready"}}}}}}}}"#
        ),
    );
    let mut run = dir.spawn(&["start"]);
    run.wait_for("app.1 waits for db (ready)");
    let db = run.started("db.1");
    let ps = ps_json(&dir);
    assert_eq!(instance(&ps, "db.1")["ready"], false, "nothing listens on {port}: {ps:#}");
    assert_eq!(instance(&ps, "app.1")["state"], "waiting", "{ps:#}");

    let listener = std::net::TcpListener::bind(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("another program took port {port} meanwhile: {e}"));
    run.wait_for(&format!("db.1 is ready (pid {db})"));
    run.started("app.1");
    run.wait_line_of("app.1", "app up");
    run.stop(Signal::SIGINT);
    drop(listener);
}

/// The rows of the last whole frame `ps --watch` drew: each row is drawn at its own cursor
/// position (`ESC[row;1H`), cleared to its end (`ESC[K`), and the frame ends by clearing the
/// rest of the screen (`ESC[J`).
#[cfg(target_os = "linux")]
fn last_frame(transcript: &str) -> Vec<String> {
    let whole = transcript.rfind("\u{1b}[J").map_or("", |end| &transcript[..end]);
    let frame = whole.rfind("\u{1b}[1;1H").map_or("", |start| &whole[start..]);
    frame
        .split("\u{1b}[")
        .filter_map(|piece| piece.split_once('H').map(|(_, row)| row.trim_end().to_owned()))
        .filter(|row| !row.is_empty())
        .collect()
}

/// The cells of `name`'s row in `frame`, without the selection marker (none if it has no row).
#[cfg(target_os = "linux")]
fn row<'a>(frame: &'a [String], name: &str) -> Vec<&'a str> {
    frame
        .iter()
        .map(|row| row.trim_start_matches(['>', ' ']))
        .find(|row| row.split_whitespace().next() == Some(name))
        .map(|row| row.split_whitespace().collect())
        .unwrap_or_default()
}

#[cfg(target_os = "linux")]
#[test]
fn ps_watch_shows_ready_and_what_each_instance_waits_for() {
    let dir = Dir::new();
    fifo(&dir, "gate");
    dir.write(
        "Procfile",
        "db: read _ < gate; echo accepting; exec sleep 300\nworker: exec sleep 300\n",
    );
    dir.write(
        "procman.json",
        r#"{"processes": {"db": {"ready": {"log": "accepting"}},
            "worker": {"depends_on": {"db": "ready"}}}}"#,
    );
    let mut run = dir.spawn(&["start", "--no-timestamp"]);
    run.wait_for("worker.1 waits for db (ready)");
    run.started("db.1");
    let mut term = PtySession::start(&dir, dir.command(&["ps", "--watch"]), Some((120, 30)), false);
    term.wait_for("WAITING FOR");
    term.wait_for("\u{1b}[J");
    let frame = last_frame(&term.transcript());
    let header = frame.iter().find(|r| r.trim_start().starts_with("NAME"));
    let header: Vec<&str> = header.map(|r| r.split_whitespace().collect()).unwrap_or_default();
    assert_eq!(
        header.get(..5),
        Some(&["NAME", "PID", "STATE", "READY", "UPTIME"][..]),
        "{frame:#?}"
    );
    let db = row(&frame, "db.1");
    assert_eq!(db.get(2..4), Some(&["STARTING", "no"][..]), "{frame:#?}");
    assert!(db.ends_with(&["left)"]) && db.contains(&"check"), "{frame:#?}");
    let worker = row(&frame, "worker.1");
    assert_eq!(worker.get(2), Some(&"WAITING"), "{frame:#?}");
    assert!(worker.ends_with(&["db", "(ready)"]), "{frame:#?}");

    // Ready: the view shows it on its next frames, and the worker runs.
    release(&dir.path().join("gate"));
    run.wait_for("db.1 is ready");
    run.started("worker.1");
    let mut shown = None;
    for _ in 0..60 {
        term.wait_for("\u{1b}[J");
        let frame = last_frame(&term.transcript());
        let db = row(&frame, "db.1");
        let worker = row(&frame, "worker.1");
        if db.get(2..4) == Some(&["RUNNING", "yes"]) && worker.get(2) == Some(&"RUNNING") {
            shown = Some(frame);
            break;
        }
    }
    assert!(shown.is_some(), "ready never showed: {}", term.transcript());
    term.send(b"q");
    assert_eq!(term.wait_exit().code(), Some(0), "{}", term.transcript());
    run.stop(Signal::SIGTERM);
}

#[test]
fn reload_restarts_a_type_whose_directory_or_a_setting_changed_and_keeps_the_others() {
    let dir = Dir::with_procfile("web: pwd; exec sleep 300\nworker: exec sleep 300\n");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    let mut run = dir.spawn(&["start", "--no-timestamp"]);
    let web = run.started("web.1");
    let worker = run.started("worker.1");

    dir.write("procman.json", r#"{"processes": {"web": {"cwd": "sub"}}}"#);
    assert_eq!(ctl_ok(&dir, &["reload"]), "restarted web (cwd)\nkept worker\n");
    let new_web = run.started_nth("web.1", 2);
    run.wait_line_of("web.1", "/sub");
    assert_ne!(new_web, web);

    dir.write(
        "procman.json",
        r#"{"processes": {"web": {"cwd": "sub"}, "worker": {"stop_timeout": "7s"}}}"#,
    );
    assert_eq!(ctl_ok(&dir, &["reload"]), "restarted worker (stop_timeout)\nkept web\n");
    assert_ne!(run.started_nth("worker.1", 2), worker);
    let ps = ps_until(&dir, "worker running", |ps| instance(ps, "worker.1")["state"] == "running");
    assert_eq!(instance(&ps, "web.1")["pid"], new_web, "web kept its process");
    run.stop(Signal::SIGINT);
}
