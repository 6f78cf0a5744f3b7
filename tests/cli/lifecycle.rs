//! Foreman's lifecycle: any exit ends the run, signals to procman stop everything, the exit code
//! rule, the stop timeout and SIGKILL, a second Ctrl-C, USR1/USR2 forwarding, a command that
//! cannot start, and the pid procman reports being the program's own.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{
    Dir, Running, Signal, WAIT, alive, assert_code, assert_exit, assert_in_order, fifo, kill,
    read_until, release, wait_unmarked, write_script,
};
#[cfg(target_os = "linux")]
use crate::harness::{parent_of, wait_comm};

/// A script that ignores SIGTERM (as does everything it starts), says so, and waits.
const STUBBORN: &str = "#!/bin/sh\ntrap '' TERM\necho ignoring TERM\nwhile :; do sleep 1; done\n";

/// Waits for every `started with pid` line of `names` and returns the pids.
fn started(run: &mut Running, names: &[&str]) -> Vec<u32> {
    names.iter().map(|name| run.started(name)).collect()
}

/// Asserts that nothing procman started is left.
#[track_caller]
fn assert_nothing_left(run: &Running) {
    let left = wait_unmarked(run.marker(), WAIT);
    assert!(left.is_empty(), "left running: {left:?}\n{}", run.transcript());
}

#[test]
fn a_child_exiting_with_3_ends_the_run_with_3() {
    let dir = Dir::new();
    let go = fifo(&dir, "go");
    dir.write("Procfile", "web: read _ < go; exit 3\nworker: sleep 300\nclock: sleep 300\n");
    let mut run = dir.spawn(&["start", "--no-timestamp"]);
    let pids = started(&mut run, &["web.1", "worker.1", "clock.1"]);
    release(&go);
    assert_exit(&mut run, 3);
    let lines = run.stdout_lines();
    assert_in_order(
        &lines,
        &["web.1    | exited with code 3", "system   | sending SIGTERM to all processes"],
    );
    let at = lines.iter().position(|l| l.starts_with("system")).unwrap_or_default();
    let after: Vec<&String> = lines[at..].iter().collect();
    assert!(after.contains(&&"worker.1 | terminated by SIGTERM".to_owned()), "{lines:?}");
    assert!(after.contains(&&"clock.1  | terminated by SIGTERM".to_owned()), "{lines:?}");
    assert!(pids.iter().all(|p| !alive(*p)));
    assert_nothing_left(&run);
}

#[test]
fn a_child_exiting_with_0_ends_the_run_with_0() {
    let dir = Dir::new();
    let go = fifo(&dir, "go");
    dir.write("Procfile", "web: read _ < go\nworker: sleep 300\n");
    let mut run = dir.spawn(&["start"]);
    started(&mut run, &["web.1", "worker.1"]);
    release(&go);
    assert_exit(&mut run, 0);
    assert_nothing_left(&run);
}

#[test]
fn a_child_killed_by_a_signal_gives_128_plus_n() {
    let dir = Dir::with_procfile("web: sleep 300\nworker: sleep 300\n");
    let mut run = dir.spawn(&["start", "--no-timestamp"]);
    let pids = started(&mut run, &["web.1", "worker.1"]);
    kill(pids[0], Signal::SIGKILL);
    assert_exit(&mut run, 137);
    assert_in_order(
        &run.stdout_lines(),
        &["web.1    | terminated by SIGKILL", "system   | sending SIGTERM to all processes"],
    );
}

/// Starts a two-process app, sends `signal` to procman, checks the shutdown and the exit code.
fn signal_ends_the_run(signal: Signal, name: &str, code: i32) {
    let dir = Dir::with_procfile("web: sleep 300\nworker: sleep 300\n");
    let mut run = dir.spawn(&["start", "--no-timestamp"]);
    let pids = started(&mut run, &["web.1", "worker.1"]);
    run.signal(signal);
    assert_exit(&mut run, code);
    assert_in_order(
        &run.stdout_lines(),
        &[
            &format!("system   | {name} received, starting shutdown"),
            "system   | sending SIGTERM to all processes",
        ],
    );
    let lines = run.stdout_lines();
    assert!(lines.contains(&"web.1    | terminated by SIGTERM".to_owned()), "{lines:?}");
    assert!(lines.contains(&"worker.1 | terminated by SIGTERM".to_owned()), "{lines:?}");
    assert!(pids.iter().all(|p| !alive(*p)));
    assert_nothing_left(&run);
}

#[test]
fn sigint_stops_everything_and_exits_130() {
    signal_ends_the_run(Signal::SIGINT, "SIGINT", 130);
}

#[test]
fn sigterm_stops_everything_and_exits_143() {
    signal_ends_the_run(Signal::SIGTERM, "SIGTERM", 143);
}

#[test]
fn sighup_stops_everything_and_exits_129() {
    signal_ends_the_run(Signal::SIGHUP, "SIGHUP", 129);
}

#[test]
fn a_second_sigint_kills_at_once() {
    let dir = Dir::new();
    write_script(&dir, "stubborn.sh", STUBBORN);
    dir.write("Procfile", "web: sleep 300\nstubborn: ./stubborn.sh\n");
    // A stop timeout far past any wait of the test: only the second SIGINT can end the run.
    let mut run = dir.spawn(&["start", "-t", "600", "--no-timestamp"]);
    run.wait_for("stubborn.1 | ignoring TERM");
    run.signal(Signal::SIGINT);
    run.wait_for("sending SIGTERM to all processes");
    run.wait_for("web.1      | terminated by SIGTERM");
    run.stop(Signal::SIGINT);
    assert_in_order(
        &run.stdout_lines(),
        &[
            "system     | SIGINT received, starting shutdown",
            "system     | sending SIGTERM to all processes",
            "system     | SIGINT received again: sending SIGKILL to all processes",
            "stubborn.1 | terminated by SIGKILL",
        ],
    );
    assert_nothing_left(&run);
}

#[test]
fn a_child_ignoring_sigterm_is_killed_after_the_timeout() {
    let dir = Dir::new();
    write_script(&dir, "stubborn.sh", STUBBORN);
    dir.write("Procfile", "web: sleep 300\nstubborn: ./stubborn.sh\n");
    let mut run = dir.spawn(&["start", "-t", "1", "--no-timestamp"]);
    run.wait_for("stubborn.1 | ignoring TERM");
    let begin = Instant::now();
    run.signal(Signal::SIGTERM);
    // The SIGKILL comes (within the test's bound, far below stubborn's 300 s), and not before
    // the timeout: a lower bound only, which no load can break.
    run.wait_for("sending SIGKILL to all processes");
    let killed_after = begin.elapsed();
    assert_exit(&mut run, 143);
    assert!(killed_after >= Duration::from_secs(1), "SIGKILL after only {killed_after:?}");
    assert_in_order(
        &run.stdout_lines(),
        &[
            "system     | SIGTERM received, starting shutdown",
            "system     | sending SIGTERM to all processes",
            "system     | sending SIGKILL to all processes",
            "stubborn.1 | terminated by SIGKILL",
        ],
    );
    assert_nothing_left(&run);
}

#[test]
fn usr1_and_usr2_are_forwarded_and_the_run_goes_on() {
    let dir = Dir::new();
    write_script(
        &dir,
        "traps.sh",
        "#!/bin/sh\ntrap 'echo got USR1' USR1\ntrap 'echo got USR2' USR2\necho ready\n\
         while :; do sleep 0.1; done\n",
    );
    dir.write("Procfile", "web: ./traps.sh\nworker: ./traps.sh\n");
    let mut run = dir.spawn(&["start", "--no-timestamp"]);
    run.wait_for("web.1    | ready");
    run.wait_for("worker.1 | ready");
    run.signal(Signal::SIGUSR1);
    run.wait_for("system   | USR1 received, forwarding it to children");
    run.wait_for("web.1    | got USR1");
    run.wait_for("worker.1 | got USR1");
    run.signal(Signal::SIGUSR2);
    run.wait_for("system   | USR2 received, forwarding it to children");
    run.wait_for("web.1    | got USR2");
    run.wait_for("worker.1 | got USR2");
    // Still running: the USR signals did not end the run.
    assert!(run.is_running(), "{}", run.transcript());
    assert!(!run.transcript().contains("sending SIGTERM"), "{}", run.transcript());
    // Foreman's one line per signal, not one per process.
    assert!(!run.transcript().contains("sending SIGUSR"), "{}", run.transcript());
    run.stop(Signal::SIGTERM);
}

#[test]
fn a_command_that_cannot_start_is_reported_and_nothing_is_left() {
    let dir = Dir::with_procfile("worker: sleep 300\nweb: /nonexistent/bin\n");
    let mut run = dir.spawn(&["start", "--no-timestamp"]);
    assert_exit(&mut run, 127);
    let lines = run.stdout_lines();
    assert_in_order(
        &lines,
        &[
            "web.1    | cannot run `/nonexistent/bin`: no such file",
            "system   | sending SIGTERM to all processes",
        ],
    );
    assert_nothing_left(&run);

    // Not executable: 126.
    let dir = Dir::new();
    dir.write("not-a-program", "just text\n");
    dir.write("Procfile", "web: ./not-a-program\n");
    let mut run = dir.spawn(&["start", "--no-timestamp"]);
    assert_exit(&mut run, 126);
    assert!(
        run.stdout_lines().contains(
            &"web.1  | cannot run `./not-a-program`: not executable (Permission denied)".to_owned()
        ),
        "{}",
        run.transcript()
    );
    assert_nothing_left(&run);
}

#[test]
fn a_shell_command_not_found_exits_127() {
    let dir =
        Dir::with_procfile("web: no-such-program-here --flag > /dev/null\nworker: sleep 300\n");
    let mut run = dir.spawn(&["start", "--no-timestamp"]);
    assert_exit(&mut run, 127);
    assert!(run.stdout_lines().contains(&"web.1    | exited with code 127".to_owned()));
    assert_nothing_left(&run);
}

/// The supervisor: the guard's only child (the pid the shell sees is the guard).
#[cfg(target_os = "linux")]
fn supervisor_of(run: &Running, child: u32) -> u32 {
    let parent = parent_of(child).expect("the child's parent");
    assert_eq!(parent_of(parent), Some(run.pid()), "the child's parent is not the supervisor");
    parent
}

// The guard's layout and the program's name, read from /proc (Linux).
#[cfg(target_os = "linux")]
#[test]
fn a_direct_command_reports_the_programs_own_pid() {
    let dir = Dir::with_procfile("web: sleep 300\n");
    let mut run = dir.spawn(&["start"]);
    let pid = started(&mut run, &["web.1"])[0];
    assert_eq!(wait_comm(pid, "sleep"), "sleep");
    supervisor_of(&run, pid);
    run.stop(Signal::SIGTERM);
}

// The guard's layout and the program's name, read from /proc (Linux).
#[cfg(target_os = "linux")]
#[test]
fn a_shell_command_gets_exec_so_the_pid_is_the_programs() {
    let dir = Dir::with_procfile("web: sleep 300 > /dev/null\nworker: A=1 sleep 301 2>&1\n");
    let mut run = dir.spawn(&["start"]);
    let pids = started(&mut run, &["web.1", "worker.1"]);
    for pid in &pids {
        assert_eq!(wait_comm(*pid, "sleep"), "sleep", "pid {pid}");
        supervisor_of(&run, *pid);
    }
    // SIGTERM to the reported pid ends sleep itself, with Foreman's words.
    kill(pids[0], Signal::SIGTERM);
    run.wait_for("web.1    | terminated by SIGTERM");
    assert_exit(&mut run, 143);
}

#[test]
fn a_closed_output_ends_the_run_with_0() {
    // `procman start | head -n 1`: once nobody reads, procman stops everything and exits 0.
    let dir =
        Dir::with_procfile("web: while :; do echo tick; sleep 0.05; done\nworker: sleep 300\n");
    let mut command = dir.command(&["start"]);
    command.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut procman = dir.start(command);
    let mut stdout = procman.child.stdout.take().expect("stdout");
    read_until(&mut stdout, "a first line", |text| text.contains('\n'));
    drop(stdout);
    let status = procman.wait();
    let left = wait_unmarked(&procman.marker, WAIT);
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(left.is_empty(), "left running: {left:?}");
}

#[test]
fn a_bad_timeout_is_an_error() {
    let dir = Dir::with_procfile("web: touch ran\n");
    let finished = dir.run(&["start", "-t", "soon"]);
    assert_code(&finished, 1);
    assert_eq!(
        finished.stderr(),
        "error: --timeout: `soon` is not a duration\n   = help: give a number of seconds, e.g. \
         `--timeout 10`\n"
    );
    assert!(!dir.path().join("ran").exists());
}

#[test]
fn an_unusable_default_socket_path_only_costs_the_socket() {
    // A Procfile deep enough that `.procman.sock` beside it is past the Unix socket path limit:
    // Foreman runs this app, so procman does too, without its control socket.
    let dir = Dir::new();
    let deep = format!("{}/{}/{}", "d".repeat(60), "e".repeat(60), "Procfile");
    let procfile = dir.write(&deep, "web: echo hello\n");
    let procfile = procfile.to_str().expect("a UTF-8 temp path").to_owned();
    let finished = dir.run(&["start", "--no-timestamp", "-f", &procfile]);
    assert_code(&finished, 0);
    assert!(finished.stdout().contains("web.1  | hello\n"), "{}", finished.stdout());
    assert!(
        finished.stderr().starts_with("warning: the control socket path "),
        "{}",
        finished.stderr()
    );
    assert!(finished.stderr().contains("running without a control socket"));
    // Asked for explicitly, the same path is an error.
    let socket = format!("{}/{}/.procman.sock", dir.path().display(), "d".repeat(120));
    let finished = dir.run(&["start", "-f", &procfile, "--socket", &socket]);
    assert_code(&finished, 1);
    assert!(
        finished.stderr().contains("choose a shorter one with --socket"),
        "{}",
        finished.stderr()
    );
    assert_eq!(finished.stdout(), "");
}
