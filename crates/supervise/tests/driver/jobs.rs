//! Job control: `suspend` stops every process of the app (on pipes, on a pty, ignoring
//! SIGTSTP, catching it, and their children), `resume` continues them all, and a shutdown of
//! a suspended app resumes it so that the stop signal is acted on.

use std::time::Duration;

use supervise::{DriverOptions, ExitStatus, InstanceId, Signal, State};

use crate::cgroup::tree;
use crate::harness::{Run, id, python3, stat};
use crate::terminal::{on_pipes, on_pty};

fn stopped(pid: u32) -> bool {
    stat(pid).is_some_and(|(state, ..)| state == 'T')
}

/// A Python program that catches SIGTSTP, says so, and stops itself, as programs that must
/// restore something first do.
const CATCHER: &str = "import os, signal, time
def on_tstp(*_):
    print('caught', flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)
signal.signal(signal.SIGTSTP, on_tstp)
print('up', flush=True)
while True:
    time.sleep(0.05)
";

#[test]
fn suspend_stops_every_process_of_the_app_and_resume_continues_them() {
    let python = python3();
    let mut run = Run::new();
    // A child of the instance, reached through the tree.
    run.add(on_pipes("parent", "sleep 30 & echo child=$!; wait"));
    // SIGTSTP is ignored (and the ignoring is inherited by the exec'd sleep): SIGSTOP.
    run.add(on_pipes("deaf", "trap '' TSTP; echo up; exec sleep 30"));
    // A session of its own, where the kernel would discard a default SIGTSTP: SIGSTOP.
    run.add(on_pty("tty", "echo up; exec sleep 30"));
    let mut groups = vec!["parent", "deaf", "tty"];
    if let Some(python) = &python {
        let mut catcher = on_pipes("catcher", "");
        catcher.command = supervise::CommandSpec::new(python).args(["-c", CATCHER]);
        run.add(catcher);
        groups.push("catcher");
    }
    for group in &groups {
        run.driver.start_group(group).expect("start");
    }
    let child = run.wait_line(&id("parent", 1), |l| l.starts_with("child="));
    let child: u32 = child["child=".len()..].parse().expect("a pid");
    for group in &groups[1..] {
        run.wait_line(&id(group, 1), |l| l == "up");
    }
    let mut pids: Vec<u32> = groups.iter().map(|g| run.pid(&id(g, 1))).collect();
    pids.push(child);

    let signalled = run.driver.suspend();
    assert!(signalled >= pids.len(), "{signalled} processes signalled");
    assert!(run.driver.is_suspended());
    run.wait_until("every process stopped", |_| pids.iter().all(|p| stopped(*p)));
    if python.is_some() {
        // On pipes, a program that catches SIGTSTP gets it, and stops itself.
        run.wait_line(&id("catcher", 1), |l| l == "caught");
    }

    run.driver.resume();
    assert!(!run.driver.is_suspended());
    run.wait_until("every process running", |_| pids.iter().all(|p| !stopped(*p)));
    for group in &groups {
        assert_eq!(run.transitions(&id(group, 1)).last().map(|t| t.to), Some(State::Running));
    }
    run.finish();
}

#[test]
fn a_shutdown_resumes_a_suspended_app_so_the_stop_signal_works() {
    let mut run = Run::new();
    let (web, pid) = start_web(&mut run, "echo up; exec sleep 30", Signal::TERM);
    run.driver.suspend();
    run.wait_until("web stopped", |_| stopped(pid));
    run.driver.shutdown();
    let exit = run.wait_state(&web, State::Stopped);
    assert_eq!(exit.exit, Some(ExitStatus::Signaled(Signal::TERM)));
    run.finish();
}

#[test]
fn in_a_cgroup_tree_suspend_reaches_a_daemon_that_left_its_group() {
    let Some(tree) = tree("jobs") else { return };
    let mut run =
        Run::with_options(DriverOptions { cgroup: Some(tree), ..DriverOptions::default() });
    run.add(on_pipes(
        "web",
        r#"(setsid sh -c 'echo daemon=$$; exec sleep 30' &); echo up; exec sleep 30"#,
    ));
    run.driver.start_group("web").expect("start");
    let web = id("web", 1);
    let daemon = run.wait_line(&web, |l| l.starts_with("daemon="));
    let daemon: u32 = daemon["daemon=".len()..].parse().expect("a pid");
    run.wait_line(&web, |l| l == "up");
    let pids = [run.pid(&web), daemon];
    run.driver.suspend();
    run.wait_until("both stopped", |_| pids.iter().all(|p| stopped(*p)));
    run.driver.resume();
    run.wait_until("both running", |_| pids.iter().all(|p| !stopped(*p)));
    run.finish();
}

/// Starts `web` running `script` (which says `up`) with `stop_signal` and a stop timeout past
/// every deadline: were its processes left stopped, SIGKILL would come too late for any
/// wait. Returns its id and pid, once it said `up`.
fn start_web(run: &mut Run, script: &str, stop_signal: Signal) -> (InstanceId, u32) {
    let mut spec = on_pipes("web", script);
    spec.stop_signal = stop_signal;
    spec.stop_timeout = Duration::from_secs(60);
    run.add(spec);
    run.driver.start_group("web").expect("start");
    let web = id("web", 1);
    run.wait_line(&web, |l| l == "up");
    let pid = run.pid(&web);
    (web, pid)
}

/// A program that says `got TERM` and exits 0 on SIGTERM (the shell runs the trap once its
/// `sleep`, which gets the signal too, has ended).
const TRAPS_TERM: &str = "trap 'echo got TERM; exit 0' TERM; echo up; while :; do sleep 0.1; done";

/// Starts `web` (which traps SIGTERM), stops its process with SIGSTOP as `procman signal web
/// STOP` does, then stops the instance: it must end by its trap, which it can only run once
/// it is continued.
fn stop_an_instance_stopped_by_sigstop(run: &mut Run) {
    let (web, pid) = start_web(run, TRAPS_TERM, Signal::TERM);
    run.driver.signal(&web, Signal::STOP).expect("signal");
    run.wait_until("web stopped", |_| stopped(pid));
    run.driver.stop(&web).expect("stop");
    run.wait_line(&web, |l| l == "got TERM");
    let exit = run.wait_state(&web, State::Stopped);
    assert_eq!(exit.exit, Some(ExitStatus::Code(0)));
}

#[test]
fn a_process_stopped_by_sigstop_is_continued_after_its_stop_signal() {
    let mut run = Run::new();
    stop_an_instance_stopped_by_sigstop(&mut run);
    run.finish();
}

#[test]
fn in_a_cgroup_tree_a_process_stopped_by_sigstop_is_continued_after_its_stop_signal() {
    let Some(tree) = tree("stopped") else { return };
    let mut run =
        Run::with_options(DriverOptions { cgroup: Some(tree), ..DriverOptions::default() });
    stop_an_instance_stopped_by_sigstop(&mut run);
    run.finish();
}

#[test]
fn an_instance_stopped_while_the_app_is_suspended_ends_by_its_stop_signal() {
    let mut run = Run::new();
    run.add(on_pipes("worker", "echo up; exec sleep 30"));
    run.driver.start_group("worker").expect("start");
    let worker = id("worker", 1);
    let (web, web_pid) = start_web(&mut run, TRAPS_TERM, Signal::TERM);
    run.wait_line(&worker, |l| l == "up");
    let worker_pid = run.pid(&worker);
    run.driver.suspend();
    run.wait_until("both stopped", |_| stopped(web_pid) && stopped(worker_pid));
    run.driver.stop(&web).expect("stop");
    run.wait_line(&web, |l| l == "got TERM");
    assert_eq!(run.wait_state(&web, State::Stopped).exit, Some(ExitStatus::Code(0)));
    // The SIGCONT went to the stopped instance alone: the rest of the app stays suspended.
    assert!(stopped(worker_pid));
    assert!(run.driver.is_suspended());
    run.finish();
}

#[test]
fn a_job_control_stop_signal_is_not_followed_by_sigcont() {
    let mut run = Run::new();
    let (web, pid) = start_web(&mut run, "echo up; exec sleep 30", Signal::STOP);
    run.driver.stop(&web).expect("stop");
    // A SIGCONT sent after it would discard the pending SIGSTOP: the process never stops.
    run.wait_until("web stopped by its stop signal", |_| stopped(pid));
    run.driver.kill_stopping();
    assert_eq!(run.wait_state(&web, State::Stopped).exit, Some(ExitStatus::Signaled(Signal::KILL)));
    run.finish();
}
