//! PORT and PS, Foreman's rules: base from `-p`, `.env` PORT, `$PORT`, 5000; +100 per Procfile
//! entry (count-0 entries keep their slot), +1 per instance.

#[cfg(target_os = "linux")]
use crate::harness::wait_comm;
use crate::harness::{Dir, Signal, assert_code, write_script};

/// Prints `PS PORT` from its environment, then waits to be stopped.
const SHOW_AND_WAIT: &str = "#!/bin/sh\necho \"$PS $PORT\"\nexec sleep 300\n";
/// Prints `PS PORT` from its environment and exits.
const SHOW: &str = "#!/bin/sh\necho \"$PS $PORT\"\n";

#[test]
fn port_table_for_a_formation() {
    let dir = Dir::new();
    write_script(&dir, "show.sh", SHOW_AND_WAIT);
    dir.write("Procfile", "a: ./show.sh\nb: ./show.sh\n");
    let mut run = dir.spawn(&["start", "-m", "a=2,b=1", "--no-timestamp"]);
    run.wait_for("a.1    | a.1 5000");
    run.wait_for("a.2    | a.2 5001");
    run.wait_for("b.1    | b.1 5100");
    run.stop(Signal::SIGTERM);
}

#[test]
fn a_count_zero_entry_keeps_its_slot() {
    let dir = Dir::new();
    write_script(&dir, "show.sh", SHOW_AND_WAIT);
    dir.write("Procfile", "a: ./show.sh\nb: ./show.sh\nc: ./show.sh\n");
    let mut run = dir.spawn(&["start", "-m", "a=1,b=0,c=2", "--no-timestamp"]);
    run.wait_for("a.1    | a.1 5000");
    run.wait_for("c.1    | c.1 5200");
    run.wait_for("c.2    | c.2 5201");
    run.stop(Signal::SIGTERM);
    assert!(!run.transcript().contains("b.1"), "{}", run.transcript());

    // `start c` runs c alone, still at its own slot.
    let finished = {
        write_script(&dir, "once.sh", SHOW);
        dir.write("Procfile", "a: ./once.sh\nb: ./once.sh\nc: ./once.sh\n");
        dir.run(&["start", "c"])
    };
    assert_code(&finished, 0);
    assert!(finished.lines().contains(&"c.1    | c.1 5200".to_owned()), "{}", finished.stdout());
}

/// The port the one process of a one-entry app sees, for these arguments, `.env` and `$PORT`.
fn port_seen(args: &[&str], dot_env: Option<&str>, inherited: Option<&str>) -> String {
    let dir = Dir::new();
    write_script(&dir, "show.sh", SHOW);
    dir.write("Procfile", "web: ./show.sh\n");
    if let Some(text) = dot_env {
        dir.write(".env", text);
    }
    let mut all = vec!["start", "--no-timestamp"];
    all.extend_from_slice(args);
    let mut command = dir.command(&all);
    if let Some(port) = inherited {
        command.env("PORT", port);
    }
    let finished = dir.run_with(command);
    assert_code(&finished, 0);
    let line = finished
        .lines()
        .into_iter()
        .find(|l| l.starts_with("web.1  | web.1 "))
        .unwrap_or_else(|| panic!("no PS/PORT line in:\n{}", finished.stdout()));
    line.rsplit(' ').next().unwrap_or_default().to_owned()
}

#[test]
fn base_port_precedence() {
    assert_eq!(port_seen(&["-p", "3000"], Some("PORT=4000\n"), Some("6000")), "3000");
    assert_eq!(port_seen(&[], Some("PORT=4000\n"), Some("6000")), "4000");
    assert_eq!(port_seen(&[], None, Some("6000")), "6000");
    assert_eq!(port_seen(&[], None, None), "5000");
    assert_eq!(port_seen(&["--port", "3000"], None, None), "3000");
}

#[test]
fn a_port_past_65535_is_an_error_before_anything_starts() {
    let dir = Dir::with_procfile("web: touch web-ran\nworker: touch worker-ran\n");
    let finished = dir.run(&["start", "-p", "65500"]);
    assert_code(&finished, 1);
    assert_eq!(finished.stdout(), "");
    assert_eq!(
        finished.stderr(),
        "error: PORT of `worker.1` would be 65600, past 65535\n  --> -p/--port\n   = note: the base \
         port 65500 comes from -p/--port; PORT = base + 100 × position in the Procfile + \
         instance number − 1\n   = help: use a base port of at most 65435\n"
    );
    assert!(!dir.path().join("web-ran").exists());
    assert!(!dir.path().join("worker-ran").exists());

    // From .env, the file and line are named.
    dir.write(".env", "PORT=65535\n");
    let finished = dir.run(&["start", "web=2"]);
    assert_code(&finished, 1);
    assert!(
        finished.stderr().starts_with("error: PORT of `web.2` would be 65536, past 65535\n"),
        "{}",
        finished.stderr()
    );
    assert!(finished.stderr().contains("/.env:1\n"), "{}", finished.stderr());
    assert!(!dir.path().join("web-ran").exists());

    // Not a number at all.
    let finished = dir.run(&["start", "-p", "http"]);
    assert_code(&finished, 1);
    assert!(
        finished.stderr().starts_with("error: -p/--port: `http` is not a port number\n"),
        "{}",
        finished.stderr()
    );
}

// The program's name and arguments are read from /proc (Linux).
#[cfg(target_os = "linux")]
#[test]
fn port_is_substituted_into_a_command_run_without_a_shell() {
    let dir = Dir::new();
    // `sleep $PORT` has no shell syntax once substituted: procman runs `sleep 300` itself, so
    // the pid it reports is sleep's and its argument is the port.
    dir.write("Procfile", "web: sleep $PORT\n");
    let mut run = dir.spawn(&["start", "-p", "300"]);
    let pid = run.started("web.1");
    assert_eq!(wait_comm(pid, "sleep"), "sleep");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("cmdline");
    assert_eq!(cmdline, b"sleep\x00300\x00");
    run.stop(Signal::SIGTERM);
}
