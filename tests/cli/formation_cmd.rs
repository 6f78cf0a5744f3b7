//! Which processes `start` runs: all of them, `start web`, `start web=3`, `-m`/`--concurrency`,
//! and the errors for unknown names and malformed counts.

use crate::harness::{Dir, Running, Signal, assert_code, write_script};

/// Prints its PS, then waits to be stopped.
const ANNOUNCE: &str = "#!/bin/sh\necho \"up $PS\"\nexec sleep 300\n";

/// An app of three processes that announce themselves and stay.
fn app() -> Dir {
    let dir = Dir::with_procfile("web: ./up.sh\nworker: ./up.sh\nclock: ./up.sh\n");
    write_script(&dir, "up.sh", ANNOUNCE);
    dir
}

/// Waits for `up NAME` from each instance, stops the run with SIGTERM, and returns the
/// instances that printed anything at all.
fn instances_seen(mut run: Running, expected: &[&str]) -> Vec<String> {
    for name in expected {
        run.wait_for(&format!("| up {name}"));
    }
    run.stop(Signal::SIGTERM);
    let mut seen: Vec<String> = run
        .stdout_lines()
        .iter()
        .filter_map(|l| l.split_once(" | up ").map(|(_, name)| name.to_owned()))
        .collect();
    seen.sort();
    seen
}

#[test]
fn start_runs_every_process_once() {
    let dir = app();
    let seen = instances_seen(dir.spawn(&["start"]), &["web.1", "worker.1", "clock.1"]);
    assert_eq!(seen, ["clock.1", "web.1", "worker.1"]);
}

#[test]
fn start_name_runs_only_that_process() {
    let dir = app();
    let run = dir.spawn(&["start", "worker"]);
    let transcript_check = instances_seen(run, &["worker.1"]);
    assert_eq!(transcript_check, ["worker.1"]);
}

#[test]
fn start_name_equals_count_runs_that_many() {
    let dir = app();
    let seen = instances_seen(dir.spawn(&["start", "web=3"]), &["web.1", "web.2", "web.3"]);
    assert_eq!(seen, ["web.1", "web.2", "web.3"]);
}

#[test]
fn formation_with_all_and_zero() {
    let dir = app();
    let seen = instances_seen(
        dir.spawn(&["start", "-m", "web=2,worker=0,all=1"]),
        &["web.1", "web.2", "clock.1"],
    );
    assert_eq!(seen, ["clock.1", "web.1", "web.2"]);
}

#[test]
fn concurrency_is_honchos_name_for_formation() {
    let dir = app();
    let seen = instances_seen(
        dir.spawn(&["start", "--concurrency", "worker=2,clock=1"]),
        &["worker.1", "worker.2", "clock.1"],
    );
    assert_eq!(seen, ["clock.1", "worker.1", "worker.2"]);
    let seen = instances_seen(dir.spawn(&["start", "--formation=web=1"]), &["web.1"]);
    assert_eq!(seen, ["web.1"]);
}

#[test]
fn an_unknown_name_lists_the_known_ones() {
    let dir = Dir::with_procfile("web: touch ran\nworker: touch ran\n");
    let finished = dir.run(&["start", "wrker"]);
    assert_code(&finished, 1);
    assert_eq!(
        finished.stderr(),
        "error: there is no process `wrker` in the Procfile\n  --> the PROCESS argument\n   |\n   \
         | wrker\n   | ^^^^^\n   = note: defined in Procfile\n   = help: the Procfile defines: \
         web, worker; did you mean `worker`?\n"
    );
    let finished = dir.run(&["start", "-m", "web=1,db=1"]);
    assert_code(&finished, 1);
    assert_eq!(
        finished.stderr(),
        "error: unknown process `db` in the formation\n  --> -m/--formation\n   |\n   | \
         web=1,db=1\n   |       ^^^^\n   = note: defined in Procfile\n   = help: the Procfile \
         defines: web, worker\n"
    );
    assert!(!dir.path().join("ran").exists());
}

#[test]
fn a_malformed_count_is_an_error() {
    let dir = Dir::with_procfile("web: touch ran\nworker: touch ran\n");
    let finished = dir.run(&["start", "-m", "web=x"]);
    assert_code(&finished, 1);
    assert_eq!(
        finished.stderr(),
        "error: the count of `web` is not a whole number: `x`\n  --> -m/--formation\n   |\n   | \
         web=x\n   | ^^^^^\n   = help: a count is a whole number from 0 to 1000, e.g. `web=2`\n"
    );
    for bad in ["web=-1", "web", "=2", "web=1=2", "web=1.5"] {
        let finished = dir.run(&["start", "-m", bad]);
        assert_code(&finished, 1);
        assert!(finished.stderr().starts_with("error: "), "{bad}: {}", finished.stderr());
        assert!(finished.stderr().contains("-m/--formation"), "{bad}: {}", finished.stderr());
    }
    let finished = dir.run(&["start", "web=two"]);
    assert_code(&finished, 1);
    assert!(
        finished.stderr().starts_with("error: the count of `web` is not a whole number: `two`\n"),
        "{}",
        finished.stderr()
    );
    assert!(!dir.path().join("ran").exists());
}

#[test]
fn a_formation_that_starts_nothing_is_an_error() {
    let dir = Dir::with_procfile("web: touch ran\n");
    let finished = dir.run(&["start", "-m", "web=0"]);
    assert_code(&finished, 1);
    assert!(
        finished.stderr().starts_with("error: the formation starts no process\n"),
        "{}",
        finished.stderr()
    );
}
