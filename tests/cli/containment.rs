//! Issue 11: escaping daemons die in every containment mode, whatever ends procman. Each test
//! is one ending in one mode, ten runs in a row, zero survivors allowed: the cgroup mode as
//! root, and as an unprivileged user (`nobody`) the PID namespace `auto` falls back to and
//! the subreaper mode asked for by name.
//!
//! The app holds the two daemons that escape a walk of `/proc`: one whose main thread has
//! exited while another thread runs on (its `/proc/PID/stat` reads `Z`), and one that
//! re-forks into a new session, its parent exiting, generation after generation (capped).
//! Survivors are found by the marker in their environment, read for a leaderless process
//! through a thread that still runs (it shows no environment under its own pid).

use std::os::unix::process::{CommandExt, ExitStatusExt};

use crate::harness::{
    Dir, Running, Signal, WAIT, children_of, describe, kill, make_world_readable, root_or_skip,
    skip, wait_children, wait_gone, wait_removed, wait_unmarked, write_script,
};

/// The leaderless daemon: once its main thread is gone, the other thread says so.
const LEADERLESS_PY: &str = include_str!("../../crates/supervise/tests/driver/leaderless.py");

/// The re-forking daemon: each generation starts the next in a session of its own and exits,
/// 1000 generations (several seconds), then sleeps.
const REFORK_SH: &str = r#"#!/bin/sh
n=$1
if [ "$n" -le 0 ]; then exec sleep 300; fi
if [ "$n" -eq 990 ]; then echo REFORKING; fi
setsid ./refork.sh $((n - 1)) &
"#;

/// How an ending is delivered.
#[derive(Clone, Copy, Debug)]
enum Ending {
    Sigint,
    Sigterm,
    /// SIGKILL of the pid the shell knows (the guard).
    KillGuard,
    /// SIGKILL of the supervisor, the guard's child.
    KillSupervisor,
}

/// Who runs procman, with which `--containment`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Mode {
    /// Root, `--containment=cgroup`.
    Cgroup,
    /// `nobody`, `auto` (no cgroup for it: the PID namespace).
    UnprivilegedAuto,
    /// `nobody`, `--containment=subreaper`.
    UnprivilegedSubreaper,
}

impl Mode {
    fn args(self) -> &'static [&'static str] {
        match self {
            Mode::Cgroup => &["start", "--no-socket", "--containment=cgroup"],
            Mode::UnprivilegedAuto => &["start", "--no-socket"],
            Mode::UnprivilegedSubreaper => &["start", "--no-socket", "--containment=subreaper"],
        }
    }

    fn unprivileged(self) -> bool {
        !matches!(self, Mode::Cgroup)
    }
}

const NOBODY: u32 = 65534;

fn ten_runs(mode: Mode, ending: Ending) {
    if !can_run(mode) {
        return;
    }
    let dir = daemon_app();
    for round in 1..=10 {
        let mut run = start(&dir, mode);
        run.wait_until(|l| l.contains("LEADERLESS "), "the leaderless daemon");
        run.wait_for("REFORKING");
        if let Mode::UnprivilegedAuto = mode {
            assert!(
                run.transcript().contains("containment: namespace"),
                "auto says what it fell back to: {}",
                run.transcript()
            );
        }
        end(&run, ending);
        let status = run.wait_exit();
        check_status(status, ending, &run);
        let left = wait_unmarked(run.marker(), WAIT);
        assert!(
            left.is_empty(),
            "{mode:?}, {ending:?}, run {round}: survivors {}\n{}",
            describe(&left),
            run.transcript()
        );
    }
}

fn end(run: &Running, ending: Ending) {
    match ending {
        Ending::Sigint => run.signal(Signal::SIGINT),
        Ending::Sigterm => run.signal(Signal::SIGTERM),
        Ending::KillGuard => run.signal(Signal::SIGKILL),
        Ending::KillSupervisor => {
            let supervisor = wait_children(run.pid());
            assert_eq!(supervisor.len(), 1, "the guard has one child, the supervisor");
            kill(supervisor[0], Signal::SIGKILL);
        }
    }
}

fn check_status(status: std::process::ExitStatus, ending: Ending, run: &Running) {
    let expected = match ending {
        Ending::Sigint => status.code() == Some(130),
        Ending::Sigterm => status.code() == Some(143),
        Ending::KillGuard => status.signal() == Some(Signal::SIGKILL as i32),
        Ending::KillSupervisor => status.code() == Some(137),
    };
    assert!(expected, "{ending:?}: exit {status:?}\n{}", run.transcript());
}

/// The app: both daemons, each started from an instance that then sleeps.
fn daemon_app() -> Dir {
    let dir = Dir::new();
    dir.write("leaderless.py", LEADERLESS_PY);
    write_script(&dir, "refork.sh", REFORK_SH);
    dir.write(
        "Procfile",
        "leaderless: (setsid python3 leaderless.py &); exec sleep 300\n\
         reforker: ./refork.sh 1000 & exec sleep 300\n",
    );
    make_world_readable(dir.path());
    dir
}

fn start(dir: &Dir, mode: Mode) -> Running {
    let mut command = dir.command(mode.args());
    // python3 from the system, where `nobody` can reach it.
    command.env("PATH", "/usr/local/bin:/usr/bin:/bin");
    if mode.unprivileged() {
        // std drops the supplementary groups too when it changes the user.
        command.uid(NOBODY).gid(NOBODY);
    }
    dir.spawn_with(command)
}

/// Whether this machine can run `mode`; says why not when it cannot (a failure under
/// `PROCMAN_REQUIRE_VALIDATORS`, which CI sets).
pub(crate) fn can_run(mode: Mode) -> bool {
    let python = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import ctypes, threading"])
        .status()
        .is_ok_and(|s| s.success());
    if !python {
        skip("the daemons need /usr/bin/python3");
        return false;
    }
    if !root_or_skip(&format!("{mode:?} (to have a cgroup, or to become nobody)")) {
        return false;
    }
    if let Mode::Cgroup = mode {
        let dir = Dir::with_procfile("web: true\n");
        let probe = dir.run(&["start", "--no-socket", "--containment=cgroup"]);
        if probe.code() != Some(0) {
            skip(&format!("no cgroup here: {}", probe.stderr()));
            return false;
        }
    }
    true
}

#[test]
fn cgroup_escaping_daemons_die_on_sigint() {
    ten_runs(Mode::Cgroup, Ending::Sigint);
}

#[test]
fn cgroup_escaping_daemons_die_on_sigterm() {
    ten_runs(Mode::Cgroup, Ending::Sigterm);
}

#[test]
fn cgroup_escaping_daemons_die_when_the_guard_is_sigkilled() {
    ten_runs(Mode::Cgroup, Ending::KillGuard);
}

#[test]
fn cgroup_escaping_daemons_die_when_the_supervisor_is_sigkilled() {
    ten_runs(Mode::Cgroup, Ending::KillSupervisor);
}

#[test]
fn unprivileged_auto_escaping_daemons_die_on_sigint() {
    ten_runs(Mode::UnprivilegedAuto, Ending::Sigint);
}

#[test]
fn unprivileged_auto_escaping_daemons_die_on_sigterm() {
    ten_runs(Mode::UnprivilegedAuto, Ending::Sigterm);
}

#[test]
fn unprivileged_auto_escaping_daemons_die_when_the_guard_is_sigkilled() {
    ten_runs(Mode::UnprivilegedAuto, Ending::KillGuard);
}

#[test]
fn unprivileged_auto_escaping_daemons_die_when_the_supervisor_is_sigkilled() {
    ten_runs(Mode::UnprivilegedAuto, Ending::KillSupervisor);
}

#[test]
fn subreaper_escaping_daemons_die_on_sigint() {
    ten_runs(Mode::UnprivilegedSubreaper, Ending::Sigint);
}

#[test]
fn subreaper_escaping_daemons_die_on_sigterm() {
    ten_runs(Mode::UnprivilegedSubreaper, Ending::Sigterm);
}

#[test]
fn subreaper_escaping_daemons_die_when_the_guard_is_sigkilled() {
    ten_runs(Mode::UnprivilegedSubreaper, Ending::KillGuard);
}

#[test]
fn subreaper_escaping_daemons_die_when_the_supervisor_is_sigkilled() {
    ten_runs(Mode::UnprivilegedSubreaper, Ending::KillSupervisor);
}

/// The lines of `procman args` (as `nobody` when `unprivileged`) that name the containment,
/// after checking that the run succeeded and that any such line came first on standard error.
fn containment_lines(dir: &Dir, args: &[&str], unprivileged: bool) -> Vec<String> {
    let mut command = dir.command(args);
    if unprivileged {
        command.uid(NOBODY).gid(NOBODY);
    }
    let finished = dir.run_with(command);
    let stderr = finished.stderr();
    assert_eq!(finished.code(), Some(0), "{args:?}: {stderr}");
    let said: Vec<String> =
        stderr.lines().filter(|line| line.contains("containment")).map(str::to_owned).collect();
    if let Some(first) = said.first() {
        assert!(stderr.starts_with(first.as_str()), "{args:?}: not said first: {stderr}");
    }
    said
}

#[test]
fn start_says_once_which_containment_it_runs_with_and_quiet_keeps_only_a_fallback() {
    let dir = Dir::with_procfile("web: echo hello\n");
    make_world_readable(dir.path());
    let subreaper = ["start", "--no-socket", "--containment=subreaper"];
    assert_eq!(containment_lines(&dir, &subreaper, false), ["procman: containment: subreaper"]);
    let quiet = ["start", "--no-socket", "-q", "--containment=subreaper"];
    assert_eq!(containment_lines(&dir, &quiet, false), Vec::<String>::new(), "-q");
    if !root_or_skip("the cgroup, and a user who has none") {
        return;
    }
    let probe = dir.run(&["start", "--no-socket", "--containment=cgroup"]);
    if probe.code() != Some(0) {
        skip(&format!("no cgroup here: {}", probe.stderr()));
        return;
    }
    // The default as root: the cgroup, with its path, as `ps` shows it.
    let said = containment_lines(&dir, &["start", "--no-socket"], false);
    assert!(said.len() == 1 && said[0].starts_with("procman: containment: cgroup (/"), "{said:?}");
    assert!(said[0].contains("/procman-") && said[0].ends_with(')'), "{said:?}");
    let said = containment_lines(&dir, &["start", "--no-socket", "-q"], false);
    assert_eq!(said, Vec::<String>::new(), "-q leaves out the cgroup");
    // `auto` as a user with no cgroup falls back, and says why even under -q.
    for args in [&["start", "--no-socket"][..], &["start", "--no-socket", "-q"]] {
        let said = containment_lines(&dir, args, true);
        assert!(
            said.len() == 1
                && (said[0].starts_with("procman: containment: namespace (no cgroup: ")
                    || said[0].starts_with("procman: containment: subreaper (no cgroup: ")),
            "{args:?}: {said:?}"
        );
    }
}

/// A guard killed while the supervisor is still setting up, before its driver handles the
/// guard's loss, leaves no cgroup behind: the loss waits, blocked, for the driver, which kills
/// and removes the tree. (It used to end the supervisor by the signal's default action, with
/// `procman-PID/` left for nobody to remove.) Twenty runs, each killing the guard as soon as
/// its supervisor exists.
#[test]
fn a_guard_killed_while_the_supervisor_sets_up_leaves_no_cgroup_behind() {
    if !can_run(Mode::Cgroup) {
        return;
    }
    let dir = Dir::with_procfile("web: sleep 300\n");
    let args = ["start", "--no-socket", "--containment=cgroup"];
    let said = Dir::with_procfile("web: true\n").run(&args).stderr();
    let tree = said
        .lines()
        .find_map(|line| line.strip_prefix("procman: containment: cgroup ("))
        .and_then(|rest| rest.strip_suffix(')'))
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| panic!("no cgroup named: {said}"));
    let parent = tree.parent().expect("a cgroup below the root").to_path_buf();
    for run_number in 0..20 {
        let mut run = dir.spawn(&args);
        let guard = run.pid();
        // As soon as the supervisor exists (no sleep: the window is milliseconds long).
        let deadline = std::time::Instant::now() + WAIT;
        let supervisor = loop {
            if let Some(&pid) = children_of(guard).first() {
                break pid;
            }
            assert!(std::time::Instant::now() < deadline, "no supervisor");
        };
        kill(guard, Signal::SIGKILL);
        run.wait_exit();
        assert!(wait_gone(&[supervisor], WAIT).is_empty(), "run {run_number}: supervisor left");
        let cgroup = parent.join(format!("procman-{guard}"));
        assert!(wait_removed(&cgroup), "run {run_number}: {} left behind", cgroup.display());
    }
}
