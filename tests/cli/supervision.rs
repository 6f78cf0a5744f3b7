//! Issue 6, point 1, through the real binary: restart policies, retries and backoff timelines,
//! the start grace, per-process stop signals and mixed `VALUE,NAME=VALUE` lists, `--can-die`.
//!
//! Timelines are measured with the test programs' own clocks (`date +%s%N`) or the event
//! stream's timestamps, and checked with lower bounds only. A process meant to fail its start
//! gets a start grace far longer than it can take to exit, however loaded the machine; one
//! meant to pass it is held up by the test until procman says it is RUNNING.

use std::process::Command;

use crate::harness::{
    Dir, Events, Signal, WAIT, alive, fifo, instance, ps_json, ps_until, release, transition,
    wait_gone, write_script,
};

/// A start grace no failing start can outlast, even on a loaded machine.
const LONG_GRACE: &str = "60s";

/// The number after `marker` in a line (`start 1700000000123456789` → the nanoseconds).
fn number_after(line: &str, marker: &str) -> u128 {
    let at = line.find(marker).unwrap_or_else(|| panic!("{marker:?} not in {line:?}"));
    line[at + marker.len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {marker:?} in {line:?}"))
}

/// The first `needle`-holding line's index in the transcript, for order checks.
fn position(lines: &[String], needle: &str) -> usize {
    lines
        .iter()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{}", lines.join("\n")))
}

#[test]
fn a_crashing_process_is_retried_with_growing_backoff_then_fatal_ends_the_run() {
    let dir = Dir::with_procfile("crash: echo start $(date +%s%N); exit 1\n");
    let mut run = dir.spawn(&[
        "start",
        "--no-socket",
        "--restart",
        "always",
        "--backoff",
        "100ms",
        "--max-restarts",
        "3",
        "--start-grace",
        LONG_GRACE,
    ]);
    let status = run.wait_exit();
    let transcript = run.transcript();
    // The run ends with the status of the process that ended it.
    assert_eq!(status.code(), Some(1), "{transcript}");

    let starts = run.lines_with(&["crash.1", "| started with pid"]);
    assert_eq!(starts.len(), 4, "max-restarts 3: one start and 3 retries\n{transcript}");
    let times: Vec<u128> = run
        .lines_with(&["crash.1", "| start "])
        .iter()
        .map(|l| number_after(l, "| start "))
        .collect();
    assert_eq!(times.len(), 4, "{transcript}");
    let gaps: Vec<u128> = times.windows(2).map(|pair| pair[1] - pair[0]).collect();
    for (k, gap) in gaps.iter().enumerate() {
        // Retry k+1 waits initial × 2^k: 100, 200, 400 ms. Lower bounds only: a loaded machine
        // may start a retry late (so a gap may even exceed the next one), never early.
        let backoff = 100_000_000u128 << k;
        assert!(
            *gap >= backoff,
            "gap {k} is {gap} ns, under the backoff {backoff} ns\n{transcript}"
        );
    }

    let lines = run.stdout_lines();
    let backoff1 = position(&lines, "crash.1 exited too quickly: entered BACKOFF state (retry 1)");
    let backoff2 = position(&lines, "entered BACKOFF state (retry 2)");
    let backoff3 = position(&lines, "entered BACKOFF state (retry 3)");
    let fatal = position(&lines, "crash.1 gave up: entered FATAL state");
    let stop = position(&lines, "sending SIGTERM to all processes");
    assert!(backoff1 < backoff2 && backoff2 < backoff3 && backoff3 < fatal && fatal < stop);
    assert_eq!(run.lines_with(&["BACKOFF"]).len(), 3, "{transcript}");
    assert!(run.lines_with(&["retry 4"]).is_empty(), "{transcript}");
}

#[test]
fn with_can_die_a_fatal_process_leaves_the_rest_running() {
    let dir = Dir::with_procfile("crash: exit 1\nweb: sleep 300\n");
    let mut run = dir.spawn(&[
        "start",
        "--restart",
        "crash=always",
        "--start-grace",
        &format!("crash={LONG_GRACE}"),
        "--backoff",
        "20ms",
        "--max-restarts",
        "2",
        "--can-die",
        "crash",
    ]);
    let web = run.started("web.1");
    run.wait_for("crash.1 gave up: entered FATAL state");
    // Asked after the FATAL line was printed, so after the run policy saw it: had it ended the
    // run, web.1 would be stopping and the request refused.
    let ps = ps_json(&dir);
    assert_eq!(instance(&ps, "crash.1")["state"], "fatal", "{ps:#}");
    assert_eq!(instance(&ps, "crash.1")["restarts"], 2, "{ps:#}");
    assert_eq!(instance(&ps, "web.1")["state"], "running", "{ps:#}");
    assert!(alive(web));
    assert_eq!(run.lines_with(&["crash.1", "| started with pid"]).len(), 3);
    assert!(
        run.lines_with(&["sending SIGTERM to all processes"]).is_empty(),
        "{}",
        run.transcript()
    );

    run.signal(Signal::SIGTERM);
    let status = run.wait_exit();
    assert_eq!(status.code(), Some(143), "{}", run.transcript());
    assert!(wait_gone(&[web], WAIT).is_empty());
}

#[test]
fn on_failure_restarts_after_a_failure_but_not_after_success() {
    let dir = Dir::new();
    // Fails the first time, succeeds the second; both within the start grace.
    write_script(
        &dir,
        "flaky.sh",
        "#!/bin/sh\nn=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count\n\
         echo \"attempt $n\"\n[ $n -ge 2 ] && exit 0\nexit 1\n",
    );
    dir.write("Procfile", "flaky: ./flaky.sh\n");
    let mut run = dir.spawn(&[
        "start",
        "--no-socket",
        "--restart",
        "on-failure",
        "--backoff",
        "50ms",
        "--start-grace",
        LONG_GRACE,
    ]);
    let status = run.wait_exit();
    let transcript = run.transcript();
    assert_eq!(status.code(), Some(0), "{transcript}");
    assert_eq!(run.lines_with(&["flaky.1", "| started with pid"]).len(), 2, "{transcript}");
    assert_eq!(run.lines_with(&["entered BACKOFF state (retry 1)"]).len(), 1, "{transcript}");
    assert!(run.lines_with(&["attempt 3"]).is_empty(), "{transcript}");
    assert!(run.lines_with(&["FATAL"]).is_empty(), "a success is not a give-up\n{transcript}");
    let lines = run.stdout_lines();
    assert!(
        position(&lines, "exited with code 0")
            < position(&lines, "sending SIGTERM to all processes"),
        "{transcript}"
    );

    // Once running (no grace), a clean exit is not restarted either, and a failure is.
    let dir = Dir::with_procfile("ok: echo ran; exit 0\nbad: echo ran; exit 3\n");
    let mut run = dir.spawn(&[
        "start",
        "--no-socket",
        "--restart",
        "on-failure",
        "--start-grace",
        "0",
        "--backoff",
        "20ms",
        "--can-die",
        "ok",
    ]);
    run.wait_nth(&["bad.1", "| ran"], 3);
    run.signal(Signal::SIGINT);
    let status = run.wait_exit();
    assert_eq!(status.code(), Some(130), "{}", run.transcript());
    assert_eq!(run.lines_with(&["ok.1", "| started with pid"]).len(), 1, "{}", run.transcript());
}

#[test]
fn the_start_grace_decides_running_and_running_resets_the_retries() {
    let dir = Dir::new();
    // Attempt 1 fails at once, 2 lives past the grace (until the test lets it go) and then
    // fails, 3 fails at once, 4 stays up. With --max-restarts 1, attempt 3 is only retried if
    // RUNNING reset the count.
    let go = fifo(&dir, "go");
    write_script(
        &dir,
        "grace.sh",
        "#!/bin/sh\nn=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count\n\
         echo \"attempt $n\"\n\
         case $n in\n\
           2) read _ < go; exit 1 ;;\n\
           4) exec sleep 300 ;;\n\
           *) exit 1 ;;\n\
         esac\n",
    );
    dir.write("Procfile", "web: ./grace.sh\n");
    // Long enough that a failing attempt always fails within it; attempts 2 and 4 wait it out.
    let grace_ms = 3000;
    let mut run = dir.spawn(&[
        "start",
        "--restart",
        "always",
        "--start-grace",
        &format!("{grace_ms}ms"),
        "--backoff",
        "100ms",
        "--max-restarts",
        "1",
    ]);
    run.wait_for("web.1 exited too quickly: entered BACKOFF state (retry 1)");
    run.wait_nth(&["web.1", "| attempt 2"], 1);
    run.wait_for("web.1 entered RUNNING state");
    let ps = ps_json(&dir);
    assert_eq!(instance(&ps, "web.1")["state"], "running");
    assert_eq!(instance(&ps, "web.1")["retries"], 0, "RUNNING resets the retries: {ps:#}");

    // Attempt 3 fails at once: the first failed start since RUNNING, so retry 1, not FATAL.
    let mut events = Events::subscribe(&dir.path().join(".procman.sock"));
    release(&go);
    let seen = events
        .until("attempt 3 in BACKOFF", |e| transition(e) == Some(("web.1", "starting", "backoff")));
    assert_eq!(seen.last().map(|e| e["retries"].clone()), Some(1.into()), "{seen:#?}");
    // Attempt 4 is RUNNING once up for the grace, measured on procman's own clock.
    let seen = events
        .until("attempt 4 running", |e| transition(e) == Some(("web.1", "starting", "running")));
    let started = seen
        .iter()
        .rev()
        .find(|e| transition(e) == Some(("web.1", "backoff", "starting")))
        .unwrap_or_else(|| panic!("no start of attempt 4 in {seen:#?}"));
    let running = seen.last().expect("the running event");
    let grace = millis(running) - millis(started);
    assert!(grace >= grace_ms, "RUNNING after {grace} ms, under the grace: {seen:#?}");
    assert_eq!(running["retries"], 0, "RUNNING resets the retries: {running}");
    let ps = ps_until(&dir, "web.1 running after 3 restarts", |ps| {
        instance(ps, "web.1")["state"] == "running" && instance(ps, "web.1")["restarts"] == 3
    });
    assert_eq!(instance(&ps, "web.1")["retries"], 0);
    run.wait_nth(&["web.1 entered RUNNING state"], 2);
    assert_eq!(
        run.lines_with(&["entered BACKOFF state (retry 1)"]).len(),
        2,
        "{}",
        run.transcript()
    );
    assert!(run.lines_with(&["FATAL"]).is_empty(), "{}", run.transcript());
    run.stop(Signal::SIGINT);
}

/// An event's `time` in milliseconds since the epoch.
fn millis(event: &serde_json::Value) -> i64 {
    let text = event["time"].as_str().unwrap_or_else(|| panic!("no time in {event}"));
    let time: jiff::Timestamp = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
    time.as_millisecond()
}

/// A program that reports which of INT, TERM and QUIT it received, then exits 0.
const TRAPS: &str = "#!/bin/sh\n\
    trap 'echo \"got INT\"; exit 0' INT\n\
    trap 'echo \"got TERM\"; exit 0' TERM\n\
    trap 'echo \"got QUIT\"; exit 0' QUIT\n\
    echo ready\n\
    while :; do sleep 1; done\n";

#[test]
fn stop_signals_are_set_per_process() {
    let dir = Dir::new();
    write_script(&dir, "traps.sh", TRAPS);
    dir.write("Procfile", "web: ./traps.sh\nworker: ./traps.sh\n");
    let mut run = dir.spawn(&["start", "--no-socket", "--stop-signal", "web=INT"]);
    run.wait_nth(&["web.1", "| ready"], 1);
    run.wait_nth(&["worker.1", "| ready"], 1);
    run.signal(Signal::SIGTERM);
    let status = run.wait_exit();
    let transcript = run.transcript();
    assert_eq!(status.code(), Some(143), "{transcript}");
    assert_eq!(run.lines_with(&["web.1", "| got INT"]).len(), 1, "{transcript}");
    assert_eq!(run.lines_with(&["worker.1", "| got TERM"]).len(), 1, "{transcript}");
    assert_eq!(
        run.lines_with(&["system", "sending stop signals: SIGINT to web, SIGTERM to worker"]).len(),
        1,
        "{transcript}"
    );
}

#[test]
fn a_general_value_and_named_ones_mix_in_one_list() {
    let dir = Dir::new();
    write_script(&dir, "traps.sh", TRAPS);
    dir.write("Procfile", "web: ./traps.sh\nworker: ./traps.sh\nclock: ./traps.sh\n");
    // The named value wins over the general one, whatever the order.
    let mut run = dir.spawn(&["start", "--no-socket", "--stop-signal", "web=INT,QUIT"]);
    for name in ["web.1", "worker.1", "clock.1"] {
        run.wait_nth(&[name, "| ready"], 1);
    }
    run.signal(Signal::SIGINT);
    run.wait_exit();
    assert_eq!(run.lines_with(&["web.1", "| got INT"]).len(), 1, "{}", run.transcript());
    assert_eq!(run.lines_with(&["worker.1", "| got QUIT"]).len(), 1, "{}", run.transcript());
    assert_eq!(run.lines_with(&["clock.1", "| got QUIT"]).len(), 1, "{}", run.transcript());

    // Counts: `1,web=3` gives web 3 retries and the others 1.
    let dir = Dir::with_procfile("crash: exit 1\nweb: exit 1\n");
    let mut run = dir.spawn(&[
        "start",
        "--no-socket",
        "--restart",
        "always",
        "--backoff",
        "10ms",
        "--max-restarts",
        "1,web=3",
        "--start-grace",
        LONG_GRACE,
        "--can-die",
        "crash,web",
    ]);
    let status = run.wait_exit();
    let transcript = run.transcript();
    // Every process may die and all did: the run ends by itself, with 0.
    assert_eq!(status.code(), Some(0), "{transcript}");
    assert_eq!(run.lines_with(&["crash.1", "| started with pid"]).len(), 2, "{transcript}");
    assert_eq!(run.lines_with(&["web.1", "| started with pid"]).len(), 4, "{transcript}");
    assert_eq!(run.lines_with(&["gave up: entered FATAL state"]).len(), 2, "{transcript}");
}

#[test]
fn supervision_flags_are_checked_before_anything_starts() {
    let dir = Dir::with_procfile("web: sleep 300\n");
    for (args, message) in [
        (&["--restart", "sometimes"][..], "--restart: `sometimes` is not a restart policy"),
        (&["--backoff", "web=fast"], "--backoff: `fast` is not a duration"),
        (&["--stop-signal", "wbe=INT"], "--stop-signal: unknown process type `wbe`"),
        (&["--max-restarts", "many"], "--max-restarts: `many` is not a count"),
        (&["--can-die", "db"], "--can-die: unknown process type `db`"),
    ] {
        let mut command: Command = dir.command(&["start", "--no-socket"]);
        command.args(args);
        let done = dir.run_with(command);
        assert_eq!(done.code(), Some(1), "{args:?}: {}", done.stderr());
        assert!(done.stderr().contains(message), "{args:?}: {}", done.stderr());
        assert!(done.stdout().is_empty(), "nothing started: {}", done.stdout());
    }
}

#[test]
fn with_a_restart_policy_every_state_change_is_a_system_line_in_supervisords_words() {
    let dir = Dir::new();
    // web stays up until the test, having seen it RUNNING, lets it fail.
    let go = fifo(&dir, "go");
    dir.write("Procfile", "web: echo up; read _ < go; exit 1\nidle: exec sleep 300\n");
    let mut run = dir.spawn(&[
        "start",
        "--no-socket",
        "--restart",
        "web=on-failure",
        "--start-grace",
        "100ms",
        "--backoff",
        "100ms",
    ]);
    run.wait_for("web.1 entered STARTING state (pid ");
    run.wait_for("web.1 entered RUNNING state");
    release(&go);
    run.wait_for("web.1 entered EXITED state (not expected)");
    run.wait_nth(&["web.1 entered STARTING state (pid "], 2);
    run.signal(Signal::SIGINT);
    run.wait_exit();
    let transcript = run.transcript();
    for state in ["idle.1 entered STOPPING state", "idle.1 entered STOPPED state"] {
        assert!(transcript.contains(state), "{state} missing:\n{transcript}");
    }
    // Foreman's own lines are still there.
    assert!(transcript.contains("web.1  | started with pid"), "{transcript}");
    assert!(transcript.contains("web.1  | exited with code 1"), "{transcript}");
}
