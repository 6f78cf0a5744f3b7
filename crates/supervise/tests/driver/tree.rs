//! Stopping a whole process tree: the instance's process group, descendants that left it with
//! `setsid`, and orphans adopted by the subreaper.

#[cfg(target_os = "linux")]
use supervise::Event;
use supervise::State;

use crate::harness::{Run, exists, id, sh, stat};

#[test]
fn a_grandchild_in_the_same_process_group_is_killed_with_its_parent() {
    let mut run = Run::new();
    run.add(sh("web", "sleep 300 & echo pid=$!; wait"));
    run.driver.start_group("web").expect("start");
    let grandchild = run.announced_pid("web");
    let parent = run.pid(&id("web", 1));
    let (_, ppid, pgrp, _) = stat(grandchild).expect("the grandchild runs");
    assert_eq!((ppid, pgrp), (parent, parent), "a child of the instance, in its group");

    run.driver.stop(&id("web", 1)).expect("stop");
    run.wait_state(&id("web", 1), State::Stopped);
    run.wait_gone(grandchild);
    assert!(!exists(parent));
    run.finish();
}

// Descendants that left the group are found through /proc and the subreaper (Linux).
#[cfg(target_os = "linux")]
#[test]
fn a_grandchild_that_left_the_group_with_setsid_is_killed_on_stop() {
    let mut run = Run::new();
    run.add(sh("web", r#"setsid sh -c 'echo pid=$$; exec sleep 300' & wait"#));
    run.driver.start_group("web").expect("start");
    let escaped = run.announced_pid("web");
    let parent = run.pid(&id("web", 1));
    let (_, ppid, pgrp, session) = stat(escaped).expect("the grandchild runs");
    assert_eq!(ppid, parent);
    assert_ne!(pgrp, parent, "it left the instance's process group");
    assert_eq!(session, escaped, "it leads its own session");

    run.driver.stop(&id("web", 1)).expect("stop");
    run.wait_state(&id("web", 1), State::Stopped);
    run.wait_gone(escaped);
    run.finish();
}

// Descendants that left the group are found through /proc and the subreaper (Linux).
#[cfg(target_os = "linux")]
#[test]
fn an_orphaned_setsid_grandchild_is_killed_on_shutdown() {
    let mut run = Run::new();
    // The instance exits at once, leaving a grandchild in its own session: the subreaper
    // adopts it, and only the shutdown's tree walk can find it.
    run.add(sh("web", r#"setsid sh -c 'echo pid=$$; exec sleep 300' & exit 0"#));
    run.driver.start_group("web").expect("start");
    let orphan = run.announced_pid("web");
    run.wait_state(&id("web", 1), State::Exited);
    run.wait_until("the orphan to be adopted", |_| {
        stat(orphan).is_some_and(|(_, ppid, _, _)| ppid == std::process::id())
    });
    assert!(run.driver.supervisor().owner(orphan).is_none(), "not an instance");

    run.driver.shutdown();
    run.wait_until("the shutdown", |run| run.driver.is_finished());
    assert!(!exists(orphan), "the orphan survived the shutdown");
    let reaped =
        run.log.iter().any(|(_, e)| matches!(e, Event::Reaped { pid, .. } if *pid == orphan));
    assert!(reaped, "the orphan's exit is reported: {:#?}", run.log);
    run.finish();
}

// Descendants that left the group are found through /proc and the subreaper (Linux).
#[cfg(target_os = "linux")]
#[test]
fn shutdown_kills_descendants_of_every_kind() {
    let mut run = Run::new();
    let mut spec = sh(
        "web",
        r#"trap '' TERM
           sleep 300 & echo pid=$!
           setsid sh -c 'trap "" TERM; echo pid=$$; exec sleep 300' &
           wait"#,
    );
    spec.stop_timeout = std::time::Duration::from_millis(200);
    run.start(spec);
    run.wait_until("two grandchildren", |run| {
        run.lines(&id("web", 1), None).iter().filter(|l| l.starts_with("pid=")).count() == 2
    });
    let pids: Vec<u32> = run
        .lines(&id("web", 1), None)
        .iter()
        .filter_map(|l| l.strip_prefix("pid=")?.parse().ok())
        .collect();
    let parent = run.pid(&id("web", 1));
    run.driver.shutdown();
    run.wait_until("the shutdown", |run| run.driver.is_finished());
    for pid in pids.iter().chain([&parent]) {
        assert!(!exists(*pid), "{pid} survived the shutdown");
    }
    run.finish();
}

// Adopted orphans are found through /proc and the subreaper (Linux).
#[cfg(target_os = "linux")]
#[test]
fn the_sweep_reports_every_stray_it_killed_once_just_before_the_end() {
    let mut run = Run::new();
    // Two orphans that ignore SIGTERM: only the sweep's SIGKILL ends them.
    let orphan = r#"setsid sh -c 'trap "" TERM; echo pid=$$; exec sleep 300' &"#;
    run.add(sh("web", &format!("{orphan} {orphan} exit 0")));
    run.driver.start_group("web").expect("start");
    run.wait_until("two orphans", |run| {
        run.lines(&id("web", 1), None).iter().filter(|l| l.starts_with("pid=")).count() == 2
    });
    let mut orphans: Vec<u32> = run
        .lines(&id("web", 1), None)
        .iter()
        .filter_map(|l| l.strip_prefix("pid=")?.parse().ok())
        .collect();
    orphans.sort_unstable();
    run.wait_state(&id("web", 1), State::Exited);

    run.driver.shutdown();
    run.wait_until("the shutdown", |run| run.driver.is_finished());
    for pid in &orphans {
        assert!(!exists(*pid), "{pid} survived the shutdown");
    }
    let reports: Vec<usize> = (0..run.log.len())
        .filter(|&i| matches!(run.log[i].1, Event::StraysKilled { .. }))
        .collect();
    assert_eq!(reports.len(), 1, "one report of the sweep: {:#?}", run.log);
    let Event::StraysKilled { pids } = &run.log[reports[0]].1 else { unreachable!() };
    assert!(orphans.iter().all(|p| pids.contains(p)), "{orphans:?} in {pids:?}");
    assert!(pids.windows(2).all(|w| w[0] < w[1]), "sorted, once each: {pids:?}");
    assert!(
        matches!(run.log.get(reports[0] + 1), Some((_, Event::ShutdownComplete))),
        "the report comes just before the end: {:#?}",
        run.log
    );
    run.finish();
}

#[test]
fn dropping_the_driver_kills_every_instance_tree() {
    let mut run = Run::new();
    run.add(sh("web", "sleep 300 & echo pid=$!; exec sleep 300"));
    run.driver.start_group("web").expect("start");
    let grandchild = run.announced_pid("web");
    let parent = run.pid(&id("web", 1));
    // Dropped without a shutdown: the old driver must not leave anything running.
    let fresh = supervise::Driver::new(supervise::DriverOptions::default()).expect("driver");
    drop(std::mem::replace(&mut run.driver, fresh));
    assert!(!exists(parent), "the instance survived the drop");
    run.wait_gone(grandchild);
    run.finish();
}

#[test]
fn kill_all_ends_a_formation_that_ignores_sigterm_at_once_without_cgroups() {
    let mut run = Run::new();
    let script = "trap '' TERM; (setsid sh -c 'trap \"\" TERM; exec sleep 300' &); echo up; \
                  while :; do sleep 1; done";
    let pids = crate::harness::start_stubborn_formation(&mut run, script, 20);
    run.driver.kill_all();
    run.wait_until("the shutdown", |run| run.driver.is_finished());
    for pid in pids {
        assert!(!exists(pid), "{pid} survived kill_all");
    }
    // The daemons too: nothing of the formation is left below this process.
    let left = descendants_of(std::process::id());
    assert!(left.is_empty(), "left after kill_all: {left:?}");
    run.finish();
}

#[test]
fn a_daemon_whose_main_thread_exited_is_killed_on_shutdown() {
    let Some(python) = crate::harness::python3() else { return };
    let dir = crate::harness::TempDir::new("leaderless");
    let script = dir.0.join("leaderless.py");
    std::fs::write(&script, crate::harness::LEADERLESS_PY).expect("write the script");
    let mut run = Run::new();
    run.add(sh("web", &format!("(setsid {python} {} &); exec sleep 300", script.display())));
    run.driver.start_group("web").expect("start");
    let line = run.wait_line(&id("web", 1), |l| l.starts_with("LEADERLESS "));
    let daemon: u32 = line["LEADERLESS ".len()..].parse().expect("a pid");
    run.driver.shutdown();
    run.wait_until("the shutdown", |run| run.driver.is_finished());
    run.wait_until("the daemon's last thread to be gone", |_| {
        !crate::harness::any_thread_alive(daemon)
    });
    run.finish();
}

/// Every process below `root` (children, their children...), zombies left out.
fn descendants_of(root: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        for kid in crate::harness::children_of(pid) {
            if stat(kid).is_some_and(|(state, ..)| state != 'Z') {
                out.push(kid);
            }
            stack.push(kid);
        }
    }
    out
}

/// The instance's process exits on SIGTERM at once; a member of its process group that
/// ignores SIGTERM outlives it (so the stop's SIGKILL, due only while the instance runs, never
/// reaches it) and is re-parented to the supervisor.
const LEAVES_A_TERM_IGNORING_JOB: &str =
    r#"sh -c 'trap "" TERM; echo pid=$$; exec sleep 30' & exec sleep 30"#;

/// Starts that instance (with a stop timeout far away); returns the job's pid.
fn start_leaving_a_job(run: &mut Run) -> u32 {
    let mut spec = sh("web", LEAVES_A_TERM_IGNORING_JOB);
    spec.stop_timeout = std::time::Duration::from_secs(60);
    run.add(spec);
    run.driver.start_group("web").expect("start");
    run.announced_pid("web")
}

#[test]
fn without_a_cgroup_a_restart_kills_what_the_old_process_left_in_its_group() {
    let mut run = Run::new();
    let job = start_leaving_a_job(&mut run);
    let first = run.pid(&id("web", 1));
    assert_eq!(stat(job).map(|(_, _, pgrp, _)| pgrp), Some(first), "in the instance's group");
    run.driver.restart(&id("web", 1)).expect("restart");
    run.wait_state_nth(&id("web", 1), State::Starting, 2);
    // Killed at the respawn, not at the shutdown (the stop timeout is 60 s).
    run.wait_gone(job);
    let second = run.transitions(&id("web", 1)).iter().rev().find_map(|t| t.pid).expect("pid");
    assert_ne!(first, second);
    assert!(exists(second), "the new process runs");
    run.finish();
}

#[test]
fn without_a_cgroup_a_stop_kills_what_the_process_left_in_its_group() {
    let mut run = Run::new();
    let job = start_leaving_a_job(&mut run);
    run.driver.stop(&id("web", 1)).expect("stop");
    run.wait_state(&id("web", 1), State::Stopped);
    run.wait_gone(job);
    assert!(!run.driver.is_finished(), "before any shutdown");
    run.finish();
}
