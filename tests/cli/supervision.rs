//! Issue 6, point 1, through the real binary: restart policies, retries and backoff timelines,
//! the start grace, per-process stop signals and mixed `VALUE,NAME=VALUE` lists, `--can-die`.
//!
//! Timelines are measured with the test programs' own clocks (`date +%s%N`) or the event
//! stream's timestamps, and checked with lower bounds only.

use std::process::Command;

use crate::live::{
    Events, instance, lines_with, number_after, ps_json, ps_until, transition, wait_nth,
};
use crate::util::{Dir, alive, wait_gone, write_script};

/// The first `needle`-holding line's index in the transcript, for order checks.
fn position(lines: &[String], needle: &str) -> usize {
    lines
        .iter()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{}", lines.join("\n")))
}

#[test]
fn a_crashing_process_is_retried_with_growing_backoff_then_fatal_ends_the_run() {
    let dir = Dir::new();
    dir.write("Procfile", "crash: echo start $(date +%s%N); exit 1\n");
    let mut run = dir.spawn(&[
        "start",
        "--no-socket",
        "--restart",
        "always",
        "--backoff",
        "100ms",
        "--max-restarts",
        "3",
    ]);
    let status = run.wait_exit();
    let transcript = run.transcript();
    // The run ends with the status of the process that ended it.
    assert_eq!(status.code(), Some(1), "{transcript}");

    let starts = lines_with(&run, &["crash.1", "| started with pid"]);
    assert_eq!(starts.len(), 4, "max-restarts 3: one start and 3 retries\n{transcript}");
    let times: Vec<u128> = lines_with(&run, &["crash.1", "| start "])
        .iter()
        .map(|l| number_after(l, "| start "))
        .collect();
    assert_eq!(times.len(), 4, "{transcript}");
    let gaps: Vec<u128> = times.windows(2).map(|pair| pair[1] - pair[0]).collect();
    for (k, gap) in gaps.iter().enumerate() {
        // Retry k+1 waits initial × 2^k: 100, 200, 400 ms.
        let backoff = 100_000_000u128 << k;
        assert!(
            *gap >= backoff,
            "gap {k} is {gap} ns, under the backoff {backoff} ns\n{transcript}"
        );
    }
    assert!(
        gaps.windows(2).all(|pair| pair[1] >= pair[0]),
        "gaps between starts must not shrink: {gaps:?}\n{transcript}"
    );

    let lines = run.stdout_lines();
    let backoff1 = position(&lines, "crash.1 exited too quickly: entered BACKOFF state (retry 1)");
    let backoff2 = position(&lines, "entered BACKOFF state (retry 2)");
    let backoff3 = position(&lines, "entered BACKOFF state (retry 3)");
    let fatal = position(&lines, "crash.1 gave up: entered FATAL state");
    let stop = position(&lines, "sending SIGTERM to all processes");
    assert!(backoff1 < backoff2 && backoff2 < backoff3 && backoff3 < fatal && fatal < stop);
    assert_eq!(lines_with(&run, &["BACKOFF"]).len(), 3, "{transcript}");
    assert!(lines_with(&run, &["retry 4"]).is_empty(), "{transcript}");
}

#[test]
fn with_can_die_a_fatal_process_leaves_the_rest_running() {
    let dir = Dir::new();
    dir.write("Procfile", "crash: exit 1\nweb: sleep 30\n");
    let mut run = dir.spawn(&[
        "start",
        "--restart",
        "crash=always",
        "--backoff",
        "20ms",
        "--max-restarts",
        "2",
        "--can-die",
        "crash",
    ]);
    let web = crate::live::started_pid(&wait_nth(&mut run, &["web.1", "| started with pid"], 1));
    run.wait_for("crash.1 gave up: entered FATAL state");
    // Asked after the FATAL line was printed, so after the run policy saw it: had it ended the
    // run, web.1 would be stopping and the request refused.
    let ps = ps_json(&dir);
    assert_eq!(instance(&ps, "crash.1")["state"], "fatal", "{ps:#}");
    assert_eq!(instance(&ps, "crash.1")["restarts"], 2, "{ps:#}");
    assert_eq!(instance(&ps, "web.1")["state"], "running", "{ps:#}");
    assert!(alive(web));
    assert_eq!(lines_with(&run, &["crash.1", "| started with pid"]).len(), 3);
    assert!(
        lines_with(&run, &["sending SIGTERM to all processes"]).is_empty(),
        "{}",
        run.transcript()
    );

    run.signal(libc::SIGTERM);
    let status = run.wait_exit();
    assert_eq!(status.code(), Some(143), "{}", run.transcript());
    assert!(wait_gone(&[web], crate::util::WAIT).is_empty());
}

#[test]
fn on_failure_restarts_after_a_failure_but_not_after_success() {
    let dir = Dir::new();
    // Fails the first time, succeeds the second; both well within the start grace.
    write_script(
        &dir,
        "flaky.sh",
        "#!/bin/sh\nn=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count\n\
         echo \"attempt $n\"\n[ $n -ge 2 ] && exit 0\nexit 1\n",
    );
    dir.write("Procfile", "flaky: ./flaky.sh\n");
    let mut run =
        dir.spawn(&["start", "--no-socket", "--restart", "on-failure", "--backoff", "50ms"]);
    let status = run.wait_exit();
    let transcript = run.transcript();
    assert_eq!(status.code(), Some(0), "{transcript}");
    assert_eq!(lines_with(&run, &["flaky.1", "| started with pid"]).len(), 2, "{transcript}");
    assert_eq!(lines_with(&run, &["entered BACKOFF state (retry 1)"]).len(), 1, "{transcript}");
    assert!(lines_with(&run, &["attempt 3"]).is_empty(), "{transcript}");
    assert!(lines_with(&run, &["FATAL"]).is_empty(), "a success is not a give-up\n{transcript}");
    let lines = run.stdout_lines();
    assert!(
        position(&lines, "exited with code 0")
            < position(&lines, "sending SIGTERM to all processes"),
        "{transcript}"
    );

    // Once running (no grace), a clean exit is not restarted either, and a failure is.
    let dir = Dir::new();
    dir.write("Procfile", "ok: echo ran; exit 0\nbad: echo ran; exit 3\n");
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
    wait_nth(&mut run, &["bad.1", "| ran"], 3);
    run.signal(libc::SIGINT);
    let status = run.wait_exit();
    assert_eq!(status.code(), Some(130), "{}", run.transcript());
    assert_eq!(lines_with(&run, &["ok.1", "| started with pid"]).len(), 1, "{}", run.transcript());
}

#[test]
fn the_start_grace_decides_running_and_running_resets_the_retries() {
    let dir = Dir::new();
    // Attempt 1 fails fast (when told), 2 lives past the grace and then fails, 3 fails fast,
    // 4 stays up. With --max-restarts 1, attempt 3 is only retried if RUNNING reset the count.
    write_script(
        &dir,
        "grace.sh",
        "#!/bin/sh\nn=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count\n\
         echo \"attempt $n\"\n\
         case $n in\n\
           1) while [ ! -f go1 ]; do sleep 0.02; done; exit 1 ;;\n\
           2) while [ ! -f go2 ]; do sleep 0.02; done; exit 1 ;;\n\
           3) exit 1 ;;\n\
           *) exec sleep 30 ;;\n\
         esac\n",
    );
    dir.write("Procfile", "web: ./grace.sh\n");
    let mut run = dir.spawn(&[
        "start",
        "--restart",
        "always",
        "--start-grace",
        "300ms",
        "--backoff",
        "100ms",
        "--max-restarts",
        "1",
    ]);
    wait_nth(&mut run, &["web.1", "| attempt 1"], 1);
    let mut events = Events::subscribe(&dir.path().join(".procman.sock"));
    dir.write("go1", "");
    let seen = events
        .until("web.1 in BACKOFF", |e| transition(e) == Some(("web.1", "starting", "backoff")));
    assert_eq!(seen.last().map(|e| e["retries"].clone()), Some(1.into()));
    let seen = events
        .until("attempt 2 running", |e| transition(e) == Some(("web.1", "starting", "running")));
    let started = seen
        .iter()
        .rev()
        .find(|e| transition(e) == Some(("web.1", "backoff", "starting")))
        .unwrap_or_else(|| panic!("no start of attempt 2 in {seen:#?}"));
    let running = seen.last().expect("the running event");
    let grace = millis(running) - millis(started);
    assert!(grace >= 300, "RUNNING after {grace} ms, under the 300 ms grace: {seen:#?}");
    assert_eq!(running["retries"], 0, "RUNNING resets the retries: {running}");
    run.wait_for("web.1 entered RUNNING state");
    let ps = ps_json(&dir);
    assert_eq!(instance(&ps, "web.1")["state"], "running");
    assert_eq!(instance(&ps, "web.1")["retries"], 0);

    dir.write("go2", "");
    let seen = events
        .until("attempt 3 in BACKOFF", |e| transition(e) == Some(("web.1", "starting", "backoff")));
    assert_eq!(seen.last().map(|e| e["retries"].clone()), Some(1.into()), "{seen:#?}");
    events.until("attempt 4 running", |e| transition(e) == Some(("web.1", "starting", "running")));
    let ps = ps_until(&dir, "web.1 running after 3 restarts", |ps| {
        instance(ps, "web.1")["state"] == "running" && instance(ps, "web.1")["restarts"] == 3
    });
    assert_eq!(instance(&ps, "web.1")["retries"], 0);
    wait_nth(&mut run, &["web.1 entered RUNNING state"], 2);
    assert_eq!(
        lines_with(&run, &["entered BACKOFF state (retry 1)"]).len(),
        2,
        "{}",
        run.transcript()
    );
    assert!(lines_with(&run, &["FATAL"]).is_empty(), "{}", run.transcript());
    run.signal(libc::SIGINT);
    assert_eq!(run.wait_exit().code(), Some(130));
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
    wait_nth(&mut run, &["web.1", "| ready"], 1);
    wait_nth(&mut run, &["worker.1", "| ready"], 1);
    run.signal(libc::SIGTERM);
    let status = run.wait_exit();
    let transcript = run.transcript();
    assert_eq!(status.code(), Some(143), "{transcript}");
    assert_eq!(lines_with(&run, &["web.1", "| got INT"]).len(), 1, "{transcript}");
    assert_eq!(lines_with(&run, &["worker.1", "| got TERM"]).len(), 1, "{transcript}");
    assert_eq!(
        lines_with(&run, &["system", "sending stop signals: SIGINT to web, SIGTERM to worker"])
            .len(),
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
        wait_nth(&mut run, &[name, "| ready"], 1);
    }
    run.signal(libc::SIGINT);
    run.wait_exit();
    assert_eq!(lines_with(&run, &["web.1", "| got INT"]).len(), 1, "{}", run.transcript());
    assert_eq!(lines_with(&run, &["worker.1", "| got QUIT"]).len(), 1, "{}", run.transcript());
    assert_eq!(lines_with(&run, &["clock.1", "| got QUIT"]).len(), 1, "{}", run.transcript());

    // Counts: `1,web=3` gives web 3 retries and the others 1.
    let dir = Dir::new();
    dir.write("Procfile", "crash: exit 1\nweb: exit 1\n");
    let mut run = dir.spawn(&[
        "start",
        "--no-socket",
        "--restart",
        "always",
        "--backoff",
        "10ms",
        "--max-restarts",
        "1,web=3",
        "--can-die",
        "crash,web",
    ]);
    let status = run.wait_exit();
    let transcript = run.transcript();
    // Every process may die and all did: the run ends by itself, with 0.
    assert_eq!(status.code(), Some(0), "{transcript}");
    assert_eq!(lines_with(&run, &["crash.1", "| started with pid"]).len(), 2, "{transcript}");
    assert_eq!(lines_with(&run, &["web.1", "| started with pid"]).len(), 4, "{transcript}");
    assert_eq!(lines_with(&run, &["gave up: entered FATAL state"]).len(), 2, "{transcript}");
}

#[test]
fn supervision_flags_are_checked_before_anything_starts() {
    let dir = Dir::new();
    dir.write("Procfile", "web: sleep 30\n");
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
    dir.write("Procfile", "web: echo up; sleep 0.4; exit 1\nidle: exec sleep 300\n");
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
    for state in [
        "web.1 entered STARTING state (pid ",
        "web.1 entered RUNNING state",
        "web.1 entered EXITED state (not expected)",
    ] {
        run.wait_for(state);
    }
    wait_nth(&mut run, &["web.1 entered STARTING state (pid "], 2);
    run.signal(libc::SIGINT);
    run.wait_exit();
    let transcript = run.transcript();
    for state in ["idle.1 entered STOPPING state", "idle.1 entered STOPPED state"] {
        assert!(transcript.contains(state), "{state} missing:\n{transcript}");
    }
    // Foreman's own lines are still there.
    assert!(transcript.contains("web.1  | started with pid"), "{transcript}");
    assert!(transcript.contains("web.1  | exited with code 1"), "{transcript}");
}
