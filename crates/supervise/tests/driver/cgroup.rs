//! Containment in a cgroup v2 tree: each instance in a cgroup of its own, stops that reach
//! what left the process tree, `kill_all` at once, and the tree removed at the end. Needs a
//! writable cgroup2 hierarchy (root, or a delegated subtree); skips without one, and fails
//! instead when `PROCMAN_REQUIRE_VALIDATORS` is set (CI runs as root).

use supervise::{CgroupTree, Containment, DriverOptions, State};

use crate::harness::{Run, exists, id, sh, start_stubborn_formation};

pub fn tree(tag: &str) -> Option<CgroupTree> {
    let name = format!("supervise-test-{}-{tag}", std::process::id());
    match CgroupTree::create(&name) {
        Ok(tree) => Some(tree),
        Err(error) => {
            assert!(
                std::env::var_os("PROCMAN_REQUIRE_VALIDATORS").is_none(),
                "required by PROCMAN_REQUIRE_VALIDATORS, but no cgroup: {error}"
            );
            println!("SKIPPED: no cgroup tree can be created here: {error}");
            None
        }
    }
}

fn cgroup_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("0::").map(str::to_owned))
        .unwrap_or_default()
}

/// Starts `web`, whose program stays while the daemon it starts double-forks into a session of
/// its own and ignores SIGTERM (the program itself exits on SIGTERM at once); returns the
/// daemon's pid.
fn start_web_with_a_stubborn_daemon(run: &mut Run) -> u32 {
    run.start(sh(
        "web",
        r#"(setsid sh -c 'trap "" TERM; echo pid=$$; exec sleep 300' &); exec sleep 300"#,
    ));
    run.announced_pid("web")
}

#[test]
fn a_daemon_that_left_the_tree_and_ignores_sigterm_dies_with_its_instance() {
    let Some(tree) = tree("stop") else { return };
    let path = tree.path().to_path_buf();
    let mut run =
        Run::with_options(DriverOptions { cgroup: Some(tree), ..DriverOptions::default() });
    assert_eq!(run.driver.containment(), Containment::Cgroup(path.clone()));
    let daemon = start_web_with_a_stubborn_daemon(&mut run);
    let main = run.pid(&id("web", 1));
    assert!(cgroup_of(daemon).ends_with("/web.1"), "{}", cgroup_of(daemon));
    assert_eq!(cgroup_of(main), cgroup_of(daemon));

    let info = run.driver.snapshot().into_iter().find(|i| i.id == id("web", 1)).expect("web.1");
    let resources = info.resources.expect("measured");
    assert_eq!(resources.processes, 2, "the instance and its daemon: {resources:?}");
    assert!(resources.rss_bytes > 0, "{resources:?}");

    run.driver.stop(&id("web", 1)).expect("stop");
    run.wait_state(&id("web", 1), State::Stopped);
    run.wait_gone(daemon);
    run.finish();
    assert!(!path.exists(), "the cgroup tree is removed at the end");
}

#[test]
fn kill_all_ends_a_formation_that_ignores_sigterm_at_once() {
    let Some(tree) = tree("killall") else { return };
    let path = tree.path().to_path_buf();
    let mut run =
        Run::with_options(DriverOptions { cgroup: Some(tree), ..DriverOptions::default() });
    let pids =
        start_stubborn_formation(&mut run, "trap '' TERM; echo up; while :; do sleep 1; done", 20);
    run.driver.kill_all();
    // Well before the 60 s stop timeout: SIGKILL went to everything at once.
    run.wait_until("the shutdown", |run| run.driver.is_finished());
    for pid in pids {
        assert!(!exists(pid), "{pid} survived kill_all");
    }
    run.finish();
    assert!(!path.exists(), "the cgroup tree is removed at the end");
}

#[test]
fn a_restart_runs_the_new_process_and_kills_what_the_old_one_left() {
    let Some(tree) = tree("restart") else { return };
    let mut run =
        Run::with_options(DriverOptions { cgroup: Some(tree), ..DriverOptions::default() });
    let daemon = start_web_with_a_stubborn_daemon(&mut run);
    let first = run.pid(&id("web", 1));
    run.driver.restart(&id("web", 1)).expect("restart");
    run.wait_state_nth(&id("web", 1), State::Starting, 2);
    run.wait_gone(daemon);
    let second = run.transitions(&id("web", 1)).iter().rev().find_map(|t| t.pid).expect("pid");
    assert_ne!(first, second);
    assert!(exists(second), "the new process runs");
    assert_eq!(run.driver.supervisor().state(&id("web", 1)), Some(State::Running));
    run.finish();
}

/// Two trees asked for under one name (every procman that is PID 1 of a namespace asks for
/// `procman-1`) are two cgroups: sharing one, each run's stops and kills would reach the other's
/// processes.
#[test]
fn a_name_already_taken_gets_a_tree_of_its_own() {
    let Some(first) = tree("taken") else { return };
    let name = first.path().file_name().and_then(|n| n.to_str()).expect("a name").to_owned();
    let second = CgroupTree::create(&name).expect("a second tree");
    assert_ne!(first.path(), second.path());
    assert!(first.path().is_dir() && second.path().is_dir());
    for tree in [first, second] {
        tree.remove().expect("an empty tree is removed");
        assert!(!tree.path().exists());
    }
}

#[test]
fn a_readiness_check_runs_in_its_instances_cgroup() {
    use supervise::{CommandSpec, Readiness};
    let Some(tree) = tree("probe") else { return };
    let mut run =
        Run::with_options(DriverOptions { cgroup: Some(tree), ..DriverOptions::default() });
    let dir = crate::harness::TempDir::new("probe-cgroup");
    let pidfile = dir.0.join("probe.pid");
    let mut spec = sh("db", "echo up; exec sleep 300");
    spec.env.set("PIDFILE", &pidfile);
    // The check forks a child that would outlive it anywhere but in a cgroup, then hangs.
    spec.readiness = Some(Readiness::command(
        CommandSpec::new("sh").args(["-c", "sleep 300 & echo $$ > \"$PIDFILE\"; wait"]),
    ));
    run.start(spec);
    run.wait_until("the check to run", |_| {
        std::fs::read_to_string(&pidfile).is_ok_and(|text| text.ends_with('\n'))
    });
    let probe: u32 = std::fs::read_to_string(&pidfile).expect("pid").trim().parse().expect("a pid");
    let main = run.pid(&id("db", 1));
    assert!(cgroup_of(probe).ends_with("/db.1"), "{}", cgroup_of(probe));
    assert_eq!(cgroup_of(probe), cgroup_of(main));
    run.driver.stop(&id("db", 1)).expect("stop");
    run.wait_state(&id("db", 1), State::Stopped);
    run.wait_gone(probe);
    run.finish();
}
