//! The guard process (docs/guarantees.md): the small `procman-guard` program beside procman,
//! procman itself when it stands alone, and the cgroup tree, which is gone after every ending:
//! the app's, SIGINT, and SIGKILL of the supervisor or of the guard.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::containment::{Mode, can_run};
use crate::harness::{
    Dir, Running, Signal, WAIT, children_of, fifo, kill, procman, release, started_pid, wait_comm,
    wait_unmarked,
};

const APP: &str = "web: echo READY; exec sleep 300\n";

/// The program `pid` runs, and its `argv[0]`.
fn program_of(pid: u32) -> (PathBuf, String) {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
    (exe, String::from_utf8_lossy(argv0).into_owned())
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// SIGKILL of the supervisor: the guard kills the app and exits with 137.
fn kill_the_supervisor(run: &mut Running) {
    let supervisor = children_of(run.pid());
    assert_eq!(supervisor.len(), 1, "the guard has one child, the supervisor");
    kill(supervisor[0], Signal::SIGKILL);
    let status = run.wait_exit();
    assert_eq!(status.code(), Some(137), "{}", run.transcript());
    let left = wait_unmarked(run.marker(), Duration::from_secs(2));
    assert!(left.is_empty(), "survivors {left:?}\n{}", run.transcript());
}

#[test]
fn the_guard_is_the_procman_guard_program_beside_procman() {
    let dir = Dir::new();
    dir.write("Procfile", APP);
    let mut run = dir.spawn(&["start", "--no-socket"]);
    run.wait_for("READY");
    let guard = run.pid();
    assert_eq!(wait_comm(guard, "procman-guard"), "procman-guard");
    let (exe, argv0) = program_of(guard);
    assert_eq!(exe, canonical(&procman()).with_file_name("procman-guard"));
    assert_eq!(argv0, "procman-guard");
    kill_the_supervisor(&mut run);
}

#[test]
fn a_procman_alone_is_its_own_guard() {
    // A copy of procman with no `procman-guard` beside it (a binary copied alone).
    let bin = Dir::new();
    let lone = bin.path().join("procman");
    std::fs::copy(procman(), &lone).expect("a copy of procman");
    let dir = Dir::new();
    dir.write("Procfile", APP);
    let mut command = Command::new(&lone);
    command.args(["start", "--no-socket"]).current_dir(dir.path()).stdin(Stdio::null());
    let mut run = dir.spawn_with(command);
    run.wait_for("READY");
    let guard = run.pid();
    assert_eq!(wait_comm(guard, "procman-guard"), "procman-guard");
    let (exe, argv0) = program_of(guard);
    assert_eq!(exe, canonical(&lone), "the guard executed procman again");
    assert_eq!(argv0, "procman-guard");
    kill_the_supervisor(&mut run);
}

#[test]
fn procman_guard_run_by_hand_says_what_it_is() {
    let guard = procman().with_file_name("procman-guard");
    let out = Command::new(&guard).stdin(Stdio::null()).output().expect("run procman-guard");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("guard process of `procman start`"), "{stderr}");
}

/// How a cgroup run ends.
#[derive(Clone, Copy, Debug)]
enum Ending {
    /// A process of the app exits, and procman ends the run (Foreman's rule).
    AppExits,
    Sigint,
    KillSupervisor,
    /// SIGKILL of the pid the shell knows.
    KillGuard,
}

/// The app's cgroup directory (`procman-PID`), the parent of an instance's cgroup.
fn app_cgroup(instance: u32) -> PathBuf {
    let text = std::fs::read_to_string(format!("/proc/{instance}/cgroup")).expect("its cgroup");
    let own = text.lines().find_map(|l| l.strip_prefix("0::")).expect("a cgroup v2 line");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let (root, mount) = mountinfo
        .lines()
        .find_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            if !after.starts_with("cgroup2 ") {
                return None;
            }
            let fields: Vec<&str> = before.split_whitespace().collect();
            Some((fields.get(3)?.to_string(), PathBuf::from(fields.get(4)?)))
        })
        .expect("a cgroup2 mount");
    let relative = own.strip_prefix(root.trim_end_matches('/')).unwrap_or(own);
    let instance_dir = mount.join(relative.trim_start_matches('/'));
    let tree = instance_dir.parent().expect("the app's cgroup").to_path_buf();
    let name = tree.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    assert!(name.starts_with("procman-"), "the instance runs in the app's tree: {own}");
    tree
}

/// Waits (bounded) until `path` is gone; whether it is.
fn gone_within(path: &Path, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while path.exists() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn cgroup_is_removed(ending: Ending) {
    if !can_run(Mode::Cgroup) {
        return;
    }
    let dir = Dir::new();
    let go = fifo(&dir, "go");
    dir.write("Procfile", "web: echo READY; exec sleep 300\nend: read _ < go\n");
    let mut run = dir.spawn(&["start", "--no-socket", "--containment=cgroup"]);
    let started =
        run.wait_until(|l| l.contains("web.1") && l.contains("started with pid"), "web's start");
    run.wait_for("READY");
    let tree = app_cgroup(started_pid(&started));
    assert!(tree.is_dir(), "{} exists while the app runs", tree.display());
    match ending {
        Ending::AppExits => release(&go),
        Ending::Sigint => run.signal(Signal::SIGINT),
        Ending::KillSupervisor => kill(children_of(run.pid())[0], Signal::SIGKILL),
        Ending::KillGuard => run.signal(Signal::SIGKILL),
    }
    let status = run.wait_exit();
    let expected = match ending {
        Ending::AppExits => status.code() == Some(0),
        Ending::Sigint => status.code() == Some(130),
        Ending::KillSupervisor => status.code() == Some(137),
        Ending::KillGuard => status.signal() == Some(Signal::SIGKILL as i32),
    };
    assert!(expected, "{ending:?}: exit {status:?}\n{}", run.transcript());
    // After SIGKILL of the guard the supervisor cleans up on its own, after the guard's exit.
    assert!(
        gone_within(&tree, WAIT),
        "{ending:?}: {} is left behind\n{}",
        tree.display(),
        run.transcript()
    );
    let left = wait_unmarked(run.marker(), Duration::from_secs(2));
    assert!(left.is_empty(), "{ending:?}: survivors {left:?}");
}

#[test]
fn the_cgroup_is_removed_when_the_app_ends() {
    cgroup_is_removed(Ending::AppExits);
}

#[test]
fn the_cgroup_is_removed_after_sigint() {
    cgroup_is_removed(Ending::Sigint);
}

#[test]
fn the_cgroup_is_removed_after_sigkill_of_the_supervisor() {
    cgroup_is_removed(Ending::KillSupervisor);
}

#[test]
fn the_cgroup_is_removed_after_sigkill_of_the_guard() {
    cgroup_is_removed(Ending::KillGuard);
}
