//! Issue 6, points 3 to 5, through the real binary: a running `procman start` driven from a
//! second process with every control command, the socket's life (mode, removal on every exit
//! path, stale and live sockets, `--no-socket`), and state changes as `system` lines and as
//! JSON events.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{
    Dir, Events, Signal, WAIT, alive, ctl, ctl_ok, instance, ps_json, ps_until, supervisor_pid,
    transition, wait_gone, write_script,
};
#[cfg(target_os = "linux")]
use crate::harness::{kill, own_rss, parent_of, read_pid_file, wait_removed};

fn socket(dir: &Dir) -> PathBuf {
    dir.path().join(".procman.sock")
}

// Resources are measured on Linux only; the guard's layout is read from /proc.
#[cfg(target_os = "linux")]
#[test]
fn ps_shows_pid_state_uptime_restarts_and_the_cpu_and_memory_of_the_whole_tree() {
    let dir = Dir::new();
    // web's own program is a shell; its child burns CPU until the kernel has counted two
    // clock ticks of it (however slowly a loaded machine runs it), says so, then stays as
    // `sleep` (exec keeps the CPU time on the same process).
    write_script(
        &dir,
        "burn.sh",
        "#!/bin/sh\n\
         while :; do\n\
           read -r stat < /proc/$$/stat; set -- $stat\n\
           [ $((${14} + ${15})) -ge 2 ] && break\n\
           i=0; while [ $i -lt 1000 ]; do i=$((i+1)); done\n\
         done\n\
         echo burned\nexec sleep 300\n",
    );
    dir.write("Procfile", "web: ./burn.sh & echo $$ > web.pid; wait\nworker: sleep 300\n");
    let mut run = dir.spawn(&["start"]);
    let web = run.started("web.1");
    let worker = run.started("worker.1");
    run.wait_nth(&["web.1", "| burned"], 1);
    assert_eq!(read_pid_file(&dir.path().join("web.pid")), web, "the pid is the program's own");

    let ps = ps_json(&dir);
    assert_eq!(ps["v"], 1);
    assert_eq!(ps["ok"], true);
    // The supervisor is the child of the guard process the shell started.
    let supervisor = ps["procman"]["pid"].as_u64().expect("procman's pid");
    assert_eq!(parent_of(u32::try_from(supervisor).expect("pid")), Some(run.pid()));
    let w = instance(&ps, "web.1");
    assert_eq!(w["type"], "web");
    assert_eq!(w["index"], 1);
    assert_eq!(w["pid"], web);
    assert_eq!(w["state"], "running");
    assert_eq!(w["restarts"], 0);
    assert!(w["uptime_seconds"].as_f64().is_some_and(|s| s > 0.0), "{w}");
    assert_eq!(w["tree_processes"], 2, "the shell and its child: {w}");
    let cpu = w["cpu_seconds"].as_f64().expect("cpu");
    assert!(cpu > 0.0, "the child's busy loop counts for web: {w}");
    let rss = w["rss_bytes"].as_u64().expect("rss");
    assert!(rss > own_rss(web), "the tree's memory is more than the program's own: {w}");
    assert_eq!(instance(&ps, "worker.1")["pid"], worker);
    assert_eq!(instance(&ps, "worker.1")["tree_processes"], 1);
    assert_eq!(ps["total"]["instances"], 2);
    assert_eq!(ps["total"]["running"], 2);
    assert_eq!(ps["total"]["processes"], 3);
    let total_rss = ps["total"]["rss_bytes"].as_u64().expect("total rss");
    assert_eq!(total_rss, rss + instance(&ps, "worker.1")["rss_bytes"].as_u64().expect("rss"));

    let table = ctl_ok(&dir, &["ps"]);
    let lines: Vec<&str> = table.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "PID", "STATE", "UPTIME", "RESTARTS", "LAST", "EXIT", "CPU", "MEM"]
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(&row[..3], ["web.1", web.to_string().as_str(), "RUNNING"], "{table}");
    assert_eq!(row[4], "0", "{table}");
    assert!(row[6].ends_with('s') && row[7].ends_with(['K', 'M', 'G']), "{table}");
    assert!(lines[2].starts_with("worker.1"), "{table}");
    assert!(lines[3].starts_with("TOTAL") && lines[3].contains("2/2 up"), "{table}");
    assert!(lines[3].contains("3 processes"), "{table}");
    run.stop(Signal::SIGINT);
}

#[test]
fn restart_takes_a_type_or_one_instance() {
    let dir = Dir::with_procfile("web: sleep 300\nworker: sleep 300\n");
    let mut run = dir.spawn(&["start", "-m", "web=2,worker=1"]);
    let web1 = run.started("web.1");
    let web2 = run.started("web.2");
    let worker = run.started("worker.1");

    assert_eq!(ctl_ok(&dir, &["restart", "web.1"]), "restarting web.1\n");
    let new1 = run.started_nth("web.1", 2);
    assert_ne!(new1, web1);
    assert!(wait_gone(&[web1], WAIT).is_empty());
    let ps = ps_json(&dir);
    assert_eq!(instance(&ps, "web.1")["restarts"], 1);
    assert_eq!(instance(&ps, "web.1")["last_exit_signal"], "SIGTERM");
    assert_eq!(instance(&ps, "web.2")["pid"], web2, "web.2 untouched");
    assert_eq!(instance(&ps, "web.2")["restarts"], 0);

    assert_eq!(ctl_ok(&dir, &["restart", "web"]), "restarting web (2 instances)\n");
    let newer1 = run.started_nth("web.1", 3);
    let new2 = run.started_nth("web.2", 2);
    assert!(newer1 != new1 && new2 != web2);
    let ps = ps_until(&dir, "both web instances running again", |ps| {
        instance(ps, "web.1")["state"] == "running" && instance(ps, "web.2")["state"] == "running"
    });
    assert_eq!(instance(&ps, "web.1")["restarts"], 2);
    assert_eq!(instance(&ps, "web.2")["restarts"], 1);
    assert_eq!(instance(&ps, "worker.1")["pid"], worker, "worker untouched");
    assert!(
        run.lines_with(&["restarting web (2 instances), as requested over the control socket"])
            .len()
            == 1
    );

    let unknown = ctl(&dir, &["restart", "db"]);
    assert_eq!(unknown.code(), Some(1));
    assert!(unknown.stderr().contains("no process named `db`"), "{}", unknown.stderr());
    for command in [&["restart", "wrker"][..], &["stop", "wrker.1"], &["signal", "wrker", "USR2"]] {
        let typo = ctl(&dir, command);
        assert_eq!(typo.code(), Some(1), "{command:?}");
        assert_eq!(
            typo.stderr(),
            "error: no process named `wrker` (known: `web`, `worker`); did you mean `worker`?\n",
            "{command:?}"
        );
    }
    // The run went on through all of it.
    assert!(alive(run.pid()) && alive(worker));
    run.stop(Signal::SIGINT);
}

#[test]
fn stop_of_one_instance_leaves_the_run_going_and_restart_brings_it_back() {
    let dir = Dir::with_procfile("web: sleep 300\nworker: sleep 300\n");
    let mut run = dir.spawn(&["start", "-m", "web=1,worker=2"]);
    let web = run.started("web.1");
    let worker1 = run.started("worker.1");
    let worker2 = run.started("worker.2");

    assert_eq!(ctl_ok(&dir, &["stop", "worker.1"]), "stopping worker.1\n");
    assert!(wait_gone(&[worker1], WAIT).is_empty());
    let ps =
        ps_until(&dir, "worker.1 stopped", |ps| instance(ps, "worker.1")["state"] == "stopped");
    assert_eq!(instance(&ps, "worker.1")["pid"], serde_json::Value::Null);
    assert_eq!(instance(&ps, "worker.2")["pid"], worker2);
    assert_eq!(instance(&ps, "web.1")["state"], "running");
    assert!(alive(web) && alive(worker2) && alive(run.pid()));
    assert!(
        run.lines_with(&["sending SIGTERM to all processes"]).is_empty(),
        "{}",
        run.transcript()
    );

    // Stopping it again is refused, with the reason.
    let again = ctl(&dir, &["stop", "worker.1"]);
    assert_eq!(again.code(), Some(1));
    assert!(again.stderr().contains("cannot stop `worker.1`: it is stopped"), "{}", again.stderr());

    ctl_ok(&dir, &["restart", "worker.1"]);
    let back = run.started_nth("worker.1", 2);
    assert!(alive(back));
    run.stop(Signal::SIGTERM);
}

#[test]
fn scale_up_gives_new_instances_foremans_ports_and_scale_down_removes_them() {
    let dir = Dir::with_procfile(
        "web: echo \"port $PORT ps $PS\"; exec sleep 300\nworker: echo \"port $PORT\"; exec sleep 300\n",
    );
    let mut run = dir.spawn(&["start", "-p", "7000"]);
    run.wait_nth(&["web.1", "| port 7000 ps web.1"], 1);
    run.wait_nth(&["worker.1", "| port 7100"], 1);

    assert_eq!(ctl_ok(&dir, &["scale", "web=3"]), "scaling web to 3\n");
    run.wait_nth(&["web.2", "| port 7001 ps web.2"], 1);
    run.wait_nth(&["web.3", "| port 7002 ps web.3"], 1);
    let ps = ps_until(&dir, "three web instances running", |ps| {
        ["web.1", "web.2", "web.3"].iter().all(|name| instance(ps, name)["state"] == "running")
    });
    assert_eq!(ps["total"]["instances"], 4);

    ctl_ok(&dir, &["scale", "web=1", "worker=0"]);
    run.wait_for("web.3 removed (scaled down)");
    run.wait_for("web.2 removed (scaled down)");
    run.wait_for("worker.1 removed (scaled down)");
    let ps = ps_json(&dir);
    assert_eq!(ps["processes"].as_array().map(Vec::len), Some(1), "{ps:#}");
    assert_eq!(instance(&ps, "web.1")["state"], "running");

    let bad = ctl(&dir, &["scale", "web=x"]);
    assert_eq!(bad.code(), Some(2), "{}", bad.stderr());
    run.stop(Signal::SIGINT);
}

/// Reports USR1 and keeps going; sleeps in short steps so the trap runs soon.
const USR1: &str = "trap 'echo got USR1' USR1; echo ready; while :; do sleep 0.05; done";

#[test]
fn signal_reaches_the_program_even_through_a_shell_line_and_the_run_goes_on() {
    let dir = Dir::new();
    write_script(&dir, "usr1.sh", &format!("#!/bin/sh\n{USR1}\n"));
    // `web` is a shell command line procman runs with `sh -c 'exec ...'`; `inline` is a shell
    // script written in the Procfile itself.
    dir.write("Procfile", format!("web: ./usr1.sh 2>&1\ninline: {USR1}\n"));
    let mut run = dir.spawn(&["start"]);
    let web = run.started("web.1");
    let inline = run.started("inline.1");
    run.wait_nth(&["web.1", "| ready"], 1);
    run.wait_nth(&["inline.1", "| ready"], 1);

    assert_eq!(ctl_ok(&dir, &["signal", "web", "USR1"]), "sending SIGUSR1 to web.1\n");
    run.wait_nth(&["web.1", "| got USR1"], 1);
    ctl_ok(&dir, &["signal", "inline.1", "SIGUSR1"]);
    run.wait_nth(&["inline.1", "| got USR1"], 1);
    ctl_ok(&dir, &["signal", "web.1", "10"]);
    run.wait_nth(&["web.1", "| got USR1"], 2);

    let ps = ps_json(&dir);
    assert_eq!(instance(&ps, "web.1")["pid"], web);
    assert_eq!(instance(&ps, "inline.1")["pid"], inline);
    assert_eq!(instance(&ps, "web.1")["state"], "running");
    assert!(run.lines_with(&["sending SIGTERM to all processes"]).is_empty());
    let bad = ctl(&dir, &["signal", "web", "SIGFOO"]);
    assert_eq!(bad.code(), Some(2), "{}", bad.stderr());
    run.stop(Signal::SIGINT);
}

#[test]
fn stop_without_a_name_ends_the_whole_run_with_0() {
    let dir = Dir::with_procfile("web: sleep 300\nworker: sleep 300\n");
    let mut run = dir.spawn(&["start"]);
    let web = run.started("web.1");
    let worker = run.started("worker.1");
    let done = ctl(&dir, &["stop"]);
    assert_eq!(done.code(), Some(0), "{}", done.stderr());
    assert_eq!(done.stdout(), "stopping every process\n");
    // `procman stop` returns once the run has ended.
    let status = run.wait_exit();
    assert_eq!(status.code(), Some(0), "{}", run.transcript());
    assert!(wait_gone(&[web, worker], WAIT).is_empty());
    assert!(!socket(&dir).exists(), "the socket is removed");
    assert_eq!(run.lines_with(&["stop requested over the control socket"]).len(), 1);
    let after = ctl(&dir, &["ps"]);
    assert_eq!(after.code(), Some(1));
    assert!(after.stderr().contains("no procman is running here"), "{}", after.stderr());
}

#[test]
fn the_socket_is_0600_and_removed_after_sigint_sigterm_and_a_crash() {
    for (how, code) in [("SIGINT", 130), ("SIGTERM", 143), ("crash", 3)] {
        let dir = Dir::new();
        write_script(
            &dir,
            "crash.sh",
            "#!/bin/sh\nwhile [ ! -f go ]; do sleep 0.02; done\nexit 3\n",
        );
        dir.write("Procfile", "web: sleep 300\ncrash: ./crash.sh\n");
        let mut run = dir.spawn(&["start"]);
        run.wait_nth(&["crash.1", "| started with pid"], 1);
        let meta = fs::symlink_metadata(socket(&dir)).expect("the socket exists");
        assert_eq!(meta.mode() & 0o777, 0o600, "mode of the socket");
        assert_eq!(meta.uid(), euid());
        match how {
            "SIGINT" => run.signal(Signal::SIGINT),
            "SIGTERM" => run.signal(Signal::SIGTERM),
            _ => {
                dir.write("go", "");
            }
        }
        let status = run.wait_exit();
        assert_eq!(status.code(), Some(code), "{how}: {}", run.transcript());
        assert!(!socket(&dir).exists(), "the socket is left after {how}");
    }
}

fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

// The guard (Linux) is what cleans up after a SIGKILL of the supervisor.
#[cfg(target_os = "linux")]
#[test]
fn after_sigkill_the_stale_socket_is_replaced_by_the_next_start() {
    let dir = Dir::with_procfile("web: sleep 300\n");
    let mut run = dir.spawn(&["start"]);
    let web = run.started("web.1");
    let supervisor = supervisor_pid(&dir);
    kill(supervisor, Signal::SIGKILL);
    // The guard reports the supervisor's death as its own.
    assert_eq!(run.wait_exit().code(), Some(137));
    // The guard process cleans up the children; only the socket file is left.
    assert!(wait_gone(&[web], WAIT).is_empty(), "the guard stops the children");
    assert!(socket(&dir).exists(), "nothing can remove the socket on SIGKILL");
    // Every client command says the same, naming the file.
    for command in [&["ps"][..], &["restart", "web"], &["stop"], &["scale", "web=2"]] {
        let stale = ctl(&dir, command);
        assert_eq!(stale.code(), Some(1));
        assert_eq!(
            stale.stderr(),
            "error: no procman is running (stale socket .procman.sock left by a killed \
             run); the next `procman start` replaces it\n",
            "{command:?}"
        );
    }

    let mut next = dir.spawn(&["start"]);
    let web = next.started("web.1");
    let ps = ps_json(&dir);
    assert_eq!(parent_of(supervisor_pid(&dir)), Some(next.pid()));
    assert_eq!(instance(&ps, "web.1")["pid"], web);
    // SIGKILL of the guard instead: the supervisor kills everything at once and still removes
    // its socket.
    next.signal(Signal::SIGKILL);
    next.wait_exit();
    assert!(wait_gone(&[web], WAIT).is_empty());
    assert!(wait_removed(&socket(&dir)), "the supervisor removes the socket when the guard dies");
}

#[test]
fn a_live_socket_means_already_running_and_no_socket_opens_none() {
    let dir = Dir::with_procfile("web: sleep 300\n");
    let mut run = dir.spawn(&["start"]);
    let web = run.started("web.1");
    let first = supervisor_pid(&dir);
    let second = dir.run(&["start"]);
    assert_eq!(second.code(), Some(1), "{}", second.stdout());
    assert!(second.stderr().contains("already running"), "{}", second.stderr());
    assert!(second.stdout().is_empty(), "the second start runs nothing: {}", second.stdout());
    // The first one is untouched.
    assert_eq!(instance(&ps_json(&dir), "web.1")["pid"], web);

    // With --no-socket, a second run in the same directory starts, and opens no socket.
    let mut other = dir.spawn(&["start", "--no-socket"]);
    other.wait_nth(&["web.1", "| started with pid"], 1);
    assert_eq!(supervisor_pid(&dir), first, "the socket is still the first's");
    other.signal(Signal::SIGINT);
    other.wait_exit();
    assert!(socket(&dir).exists(), "--no-socket did not touch the other run's socket");
    ctl_ok(&dir, &["stop"]);
    run.wait_exit();

    let lone = Dir::with_procfile("web: sleep 300\n");
    let mut run = lone.spawn(&["start", "--no-socket"]);
    run.wait_nth(&["web.1", "| started with pid"], 1);
    assert!(!socket(&lone).exists());
    let ps = ctl(&lone, &["ps"]);
    assert_eq!(ps.code(), Some(1));
    assert!(ps.stderr().contains("no procman is running here"), "{}", ps.stderr());
    run.signal(Signal::SIGINT);
    run.wait_exit();
}

#[test]
fn a_socket_with_a_wider_mode_or_another_owner_is_refused() {
    let dir = Dir::with_procfile("web: sleep 300\n");
    let mut run = dir.spawn(&["start"]);
    run.wait_nth(&["web.1", "| started with pid"], 1);
    fs::set_permissions(socket(&dir), fs::Permissions::from_mode(0o666)).expect("chmod");
    let refused = ctl(&dir, &["ps"]);
    assert_eq!(refused.code(), Some(1));
    assert!(refused.stderr().contains("its mode is 0666"), "{}", refused.stderr());
    fs::set_permissions(socket(&dir), fs::Permissions::from_mode(0o600)).expect("chmod");

    if euid() == 0 {
        // Another user: the socket is not theirs (and its mode keeps them out anyway).
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod dir");
        let mut command = dir.command(&["ps"]);
        command.uid(65534).gid(65534);
        let other = dir.run_with(command);
        assert_eq!(other.code(), Some(1), "{}", other.stdout());
        assert!(
            other.stderr().contains("belongs to uid 0")
                || other.stderr().contains("ermission denied"),
            "{}",
            other.stderr()
        );
    } else {
        eprintln!("skipped the second-user case: switching users needs root");
    }
    // Nothing the refused clients did disturbed the run.
    assert_eq!(ps_json(&dir)["processes"][0]["state"], "running");
    run.signal(Signal::SIGINT);
    run.wait_exit();
}

#[test]
fn state_changes_are_system_lines_in_supervisords_words_and_json_events() {
    let dir = Dir::with_procfile("web: sleep 300\ncrash: exit 1\nflap: exit 2\n");
    let mut run = dir.spawn(&[
        "start",
        "--restart",
        "always",
        // crash and flap fail their starts however slowly a loaded machine runs them.
        "--start-grace",
        "200ms,crash=60s,flap=60s",
        "--max-restarts",
        "crash=0,flap=5",
        "--backoff",
        "flap=10s",
        "--can-die",
        "crash,flap",
    ]);
    run.wait_for("web.1 entered RUNNING state");
    run.wait_for("crash.1 gave up: entered FATAL state, too many start retries too quickly");
    run.wait_for("flap.1 exited too quickly: entered BACKOFF state (retry 1)");

    let mut events = Events::subscribe(&socket(&dir));
    // flap.1 waits 10 s in BACKOFF; stopping it cancels the retry.
    ctl_ok(&dir, &["stop", "flap.1"]);
    run.wait_for("flap.1 entered STOPPED state");
    let seen =
        events.until("flap.1 stopped", |e| transition(e) == Some(("flap.1", "backoff", "stopped")));
    assert_eq!(seen.last().map(|e| e["retries"].clone()), Some(1.into()));

    ctl_ok(&dir, &["restart", "web"]);
    let seen = events
        .until("web.1 running again", |e| transition(e) == Some(("web.1", "starting", "running")));
    let web: Vec<(&str, &str)> = seen
        .iter()
        .filter_map(transition)
        .filter(|(name, _, _)| *name == "web.1")
        .map(|(_, from, to)| (from, to))
        .collect();
    assert_eq!(
        web,
        [
            ("running", "stopping"),
            ("stopping", "stopped"),
            ("stopped", "starting"),
            ("starting", "running")
        ]
    );
    let stop = seen.iter().find(|e| e["event"] == "signal").expect("the stop signal event");
    assert_eq!(stop["signal"], "SIGTERM");
    assert_eq!(stop["reason"], "stop");
    assert_eq!(seen[0]["v"], 1);
    assert!(seen.iter().all(|e| e["time"].as_str().is_some_and(|t| t.ends_with('Z'))));
    run.wait_nth(&["web.1 entered RUNNING state"], 2);

    // The whole run ends: subscribers see end of file.
    run.stop(Signal::SIGTERM);
    while events.next().is_some() {}
}

/// `procman ps --watch` on a terminal, killed by pid when the test ends however it ends.
struct Watch(std::process::Child);

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn ps_watch_redraws_until_ctrl_c_and_gives_the_terminal_back() {
    use std::io::Read;
    use std::sync::mpsc;
    use std::time::Instant;

    let dir = Dir::new();
    dir.write("Procfile", "web: sleep 30\n");
    let mut run = dir.spawn(&["start", "--no-timestamp"]);
    run.wait_for("web.1  | started with pid");
    let size = nix::pty::Winsize { ws_row: 24, ws_col: 100, ws_xpixel: 0, ws_ypixel: 0 };
    let pty = crate::harness::open_pty(Some(&size));
    let mut command = dir.command(&["ps", "--watch"]);
    command.env("TERM", "xterm").stdout(std::process::Stdio::from(pty.slave));
    let mut watch = Watch(command.spawn().expect("spawn procman ps --watch"));
    // The child holds the only copy of the terminal's slave side now.
    drop(command);
    let (sender, screen) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut master = fs::File::from(pty.master);
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = master.read(&mut buf) {
            if sender.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + WAIT;
    while !String::from_utf8_lossy(&seen).contains("Ctrl-C to quit") {
        let left = deadline.saturating_duration_since(Instant::now());
        match screen.recv_timeout(left) {
            Ok(bytes) => seen.extend(bytes),
            Err(_) => panic!("no table within {WAIT:?}: {:?}", String::from_utf8_lossy(&seen)),
        }
    }
    assert!(String::from_utf8_lossy(&seen).contains("web.1"), "{seen:?}");
    let pid = nix::unistd::Pid::from_raw(watch.0.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    let status = loop {
        if let Some(status) = watch.0.try_wait().expect("wait") {
            break status;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match screen.recv_timeout(left.min(std::time::Duration::from_millis(50))) {
            Ok(bytes) => seen.extend(bytes),
            Err(mpsc::RecvTimeoutError::Disconnected) => {}
            Err(mpsc::RecvTimeoutError::Timeout) if left.is_zero() => {
                panic!("ps --watch did not end on SIGINT")
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    };
    assert_eq!(status.code(), Some(0));
    // The reader ends when the terminal's last user is gone: everything written is in then.
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match screen.recv_timeout(left) {
            Ok(bytes) => seen.extend(bytes),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("the terminal stayed open"),
        }
    }
    // The alternate screen is left and the cursor shown again.
    let text = String::from_utf8_lossy(&seen);
    assert!(text.contains("\x1b[?1049l") && text.contains("\x1b[?25h"), "{text:?}");
    run.signal(Signal::SIGTERM);
    assert_eq!(run.wait_exit().code(), Some(143));
}

/// A client that sends pipelined `ps` requests, 100 to a write, as fast as procman answers
/// them (reading the answers on a second thread, and keeping [`FLOOD_WINDOW`] batches
/// unanswered, so the socket never runs dry), until told to stop or until [`FLOOD_LIMIT`].
/// Dropping it stops it.
struct Flood {
    stop: Arc<AtomicBool>,
    writer: Option<thread::JoinHandle<(u64, bool)>>,
    reader: Option<thread::JoinHandle<u64>>,
    /// A message once the first answers are back: the flood is under way.
    begun: mpsc::Receiver<()>,
}

/// How long a flood may last before it ends on its own: far longer than a fixed procman needs
/// to show a line and answer another client, far shorter than the harness's [`WAIT`], so that
/// a procman the flood holds shows the line only once the flood has hit this bound.
const FLOOD_LIMIT: Duration = Duration::from_secs(20);

/// Batches of 100 requests sent and not yet answered: enough that procman always has more to
/// read, few enough that the last ones are answered quickly once the flood stops.
const FLOOD_WINDOW: usize = 10;

impl Flood {
    fn start(socket: &Path) -> Flood {
        let stream = UnixStream::connect(socket).expect("connect to the control socket");
        stream.set_read_timeout(Some(WAIT)).expect("read timeout");
        stream.set_write_timeout(Some(WAIT)).expect("write timeout");
        let answers = stream.try_clone().expect("a second handle on the stream");
        let stop = Arc::new(AtomicBool::new(false));
        let (began, begun) = mpsc::channel();
        // One message for every 100 answers: the writer may send another batch.
        let (batch_answered, batches_answered) = mpsc::channel();
        let reader = thread::spawn(move || {
            let mut count = 0u64;
            for line in BufReader::new(answers).lines() {
                let line = line.unwrap_or_else(|e| panic!("no answer within {WAIT:?}: {e}"));
                let answer: serde_json::Value =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
                assert_eq!(answer["ok"], true, "{answer}");
                count += 1;
                if count.is_multiple_of(100) {
                    let _ = batch_answered.send(());
                }
                if count == 100 {
                    let _ = began.send(());
                }
            }
            count
        });
        let writer = {
            let stop = Arc::clone(&stop);
            let mut stream = stream;
            thread::spawn(move || {
                let batch = "{\"v\":1,\"cmd\":\"ps\"}\n".repeat(100);
                let started = Instant::now();
                let mut sent = 0u64;
                let mut window = FLOOD_WINDOW;
                while !stop.load(Ordering::Relaxed) && started.elapsed() < FLOOD_LIMIT {
                    if window == 0 {
                        batches_answered.recv_timeout(WAIT).expect("answers to the flood");
                        window += 1;
                    }
                    stream.write_all(batch.as_bytes()).expect("procman reads the requests");
                    sent += 100;
                    window -= 1;
                }
                let _ = stream.shutdown(std::net::Shutdown::Write);
                (sent, started.elapsed() >= FLOOD_LIMIT)
            })
        };
        Flood { stop, writer: Some(writer), reader: Some(reader), begun }
    }

    /// Stops sending; waits until every request sent is answered and procman closes the
    /// connection. Returns how many were sent, how many answered, and whether the flood ran to
    /// its limit.
    fn finish(mut self) -> (u64, u64, bool) {
        self.stop.store(true, Ordering::Relaxed);
        let (sent, limited) = joined(self.writer.take().expect("a writer").join());
        let answered = joined(self.reader.take().expect("a reader").join());
        (sent, answered, limited)
    }
}

/// A thread's value, or its panic raised again.
fn joined<T>(result: thread::Result<T>) -> T {
    match result {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[test]
fn a_client_flooding_pipelined_requests_cannot_hold_up_the_output_or_other_clients() {
    // web prints its line only once the flood is under way (the file appears).
    let dir = Dir::with_procfile(
        "web: while [ ! -e go ]; do sleep 0.05; done; echo after the flood began; exec sleep 300\n",
    );
    let mut run = dir.spawn(&["start"]);
    run.started("web.1");
    let flood = Flood::start(&socket(&dir));
    flood.begun.recv_timeout(WAIT).expect("the flood's first answers");
    dir.write("go", "");
    // Both come while the flood goes on: it stops only when told to, or at its limit.
    run.wait_line_of("web.1", "after the flood began");
    let ps = ps_json(&dir);
    assert_eq!(instance(&ps, "web.1")["state"], "running");
    let (sent, answered, limited) = flood.finish();
    assert!(
        !limited,
        "the line and the other client's answer came only once the flood had run for \
         {FLOOD_LIMIT:?} ({sent} requests)"
    );
    // Every request is answered, those that waited in the socket when the client closed too.
    assert_eq!(answered, sent);
    run.stop(Signal::SIGTERM);
}
