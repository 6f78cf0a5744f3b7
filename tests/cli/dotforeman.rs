//! `.foreman` in the working directory supplies defaults for long options; the command line
//! wins over it; a bad line is an error naming the file and line.

use crate::harness::{Dir, Signal, assert_code, assert_exit, strip_time, write_script};

/// Prints `PS PORT`, then waits to be stopped.
const SHOW_AND_WAIT: &str = "#!/bin/sh\necho \"$PS $PORT\"\nexec sleep 300\n";

fn app() -> Dir {
    let dir = Dir::new();
    write_script(&dir, "show.sh", SHOW_AND_WAIT);
    dir.write("Procfile", "web: ./show.sh\nworker: ./show.sh\n");
    dir
}

#[test]
fn dotforeman_supplies_formation_port_and_timestamp() {
    let dir = app();
    dir.write(".foreman", "# defaults\nformation: web=2,worker=0\nport: 6000\ntimestamp: false\n");
    let mut run = dir.spawn(&["start"]);
    run.wait_for("web.1    | web.1 6000");
    run.wait_for("web.2    | web.2 6001");
    run.stop(Signal::SIGTERM);
    let raw: Vec<String> = run.seen.iter().filter(|l| !l.stderr).map(|l| l.text.clone()).collect();
    // No timestamps, and no worker.
    assert!(raw.iter().all(|l| strip_time(l) == l), "{raw:?}");
    assert!(!raw.iter().any(|l| l.starts_with("worker")), "{raw:?}");
}

#[test]
fn the_command_line_wins_over_dotforeman() {
    let dir = app();
    dir.write(".foreman", "formation: web=2,worker=0\nport: 6000\ntimestamp: false\n");
    let mut run = dir.spawn(&["start", "-m", "worker=1,web=0", "-p", "7000", "--timestamp"]);
    let line = run.wait_for("worker.1 | worker.1 7100");
    assert_ne!(strip_time(&line), line, "no timestamp on {line:?}");
    run.stop(Signal::SIGTERM);
    assert!(!run.transcript().contains("web.1 "), "{}", run.transcript());
}

#[test]
fn dotforeman_is_read_from_the_working_directory_only() {
    let dir = app();
    // An app elsewhere: its own `.foreman` is not read, the working directory's is.
    write_script(&dir, "app/show.sh", SHOW_AND_WAIT);
    dir.write("app/Procfile", "web: ./show.sh\n");
    dir.write("app/.foreman", "port: 9000\n");
    dir.write(".foreman", "port: 8000\n");
    let mut run = dir.spawn(&["start", "-f", "app/Procfile", "--no-timestamp"]);
    run.wait_for("web.1  | web.1 8000");
    run.stop(Signal::SIGTERM);
}

#[test]
fn dotforeman_applies_to_run_and_check() {
    let dir = Dir::new();
    dir.write("Procfile.dev", "web: ./web\n");
    dir.write("dev.env", "GREETING=from-dev\n");
    dir.write(".foreman", "procfile: Procfile.dev\nenv: dev.env\n");
    let finished = dir.run(&["check"]);
    assert_code(&finished, 0);
    assert_eq!(finished.stdout(), "valid procfile detected (web)\n");
    let finished = dir.run(&["run", "printenv", "GREETING"]);
    assert_code(&finished, 0);
    assert_eq!(finished.stdout(), "from-dev\n");
}

#[test]
fn an_unknown_key_is_an_error_naming_file_and_line() {
    let dir = app();
    dir.write(".foreman", "port: 6000\nconcurrence: web=2\n");
    let finished = dir.run(&["start"]);
    assert_code(&finished, 1);
    let path = std::fs::canonicalize(dir.path()).expect("canonical").join(".foreman");
    assert_eq!(
        finished.stderr(),
        format!(
            "error: .foreman line 2: unknown option `concurrence`\n  --> {}:2:1\n   |\n 2 | \
             concurrence: web=2\n   | ^^^^^^^^^^^\n   = help: the options .foreman may set are: procfile, root, env, formation, \
             concurrency, port, timeout, color, no-color, no-timestamp, timestamp, no-prefix, \
             prefix, tty, attach, quiet, log-dir, log-max-size, log-keep, restart, … (18 \
             more); did you mean `concurrency`?\n",
            path.display()
        )
    );
    assert_eq!(finished.stdout(), "");
}

#[test]
fn a_bad_value_is_an_error_naming_file_and_line() {
    let dir = app();
    dir.write(".foreman", "timestamp: maybe\n");
    let finished = dir.run(&["start"]);
    assert_code(&finished, 1);
    assert!(
        finished.stderr().starts_with("error: .foreman line 1: `timestamp` must be true or false"),
        "{}",
        finished.stderr()
    );
    assert!(finished.stderr().contains("/.foreman:1"), "{}", finished.stderr());
}

#[test]
fn control_commands_find_the_run_through_dotforeman() {
    // `.foreman` moves the Procfile, and with it the control socket: `procman ps` must look
    // where `procman start` listens.
    let dir = Dir::new();
    write_script(&dir, "app/show.sh", SHOW_AND_WAIT);
    dir.write("app/Procfile", "web: ./show.sh\n");
    dir.write(".foreman", "procfile: app/Procfile\n");
    let mut run = dir.spawn(&["start", "--no-timestamp"]);
    run.wait_for("web.1  | web.1 5000");
    let ps = dir.run(&["ps"]);
    assert_code(&ps, 0);
    assert!(ps.stdout().contains("web.1"), "{}\n{}", ps.stdout(), ps.stderr());
    let stop = dir.run(&["stop"]);
    assert_code(&stop, 0);
    assert_exit(&mut run, 0);
}

#[test]
fn a_bad_value_from_dotforeman_is_reported_at_its_line_not_as_a_flag() {
    let dir = app();
    let path = std::fs::canonicalize(dir.path()).expect("canonical").join(".foreman");
    dir.write(".foreman", "# ports\nport: http\n");
    let finished = dir.run(&["start"]);
    assert_code(&finished, 1);
    assert_eq!(
        finished.stderr(),
        format!(
            "error: .foreman line 2: port: `http` is not a port number\n  --> {}:2:7\n   |\n 2 | \
             port: http\n   |       ^^^^\n   = help: give a port number from 1 to 65535, e.g. \
             `-p 3000`\n",
            path.display()
        )
    );
    // A formation's error points into the line.
    dir.write(".foreman", "formation: web=1,wrker=2\n");
    let finished = dir.run(&["start"]);
    assert_code(&finished, 1);
    assert!(
        finished.stderr().starts_with(&format!(
            "error: unknown process `wrker` in the formation\n  --> {}:1:18\n",
            path.display()
        )),
        "{}",
        finished.stderr()
    );
    // The same value typed names the option.
    dir.write(".foreman", "");
    let finished = dir.run(&["start", "--restart", "web=sometimes"]);
    assert!(
        finished.stderr().starts_with("error: --restart: `sometimes` is not a restart policy\n"),
        "{}",
        finished.stderr()
    );
    dir.write(".foreman", "restart: web=sometimes\n");
    let finished = dir.run(&["start"]);
    assert!(
        finished
            .stderr()
            .starts_with("error: .foreman line 1: restart: `sometimes` is not a restart policy\n"),
        "{}",
        finished.stderr()
    );
}

#[test]
fn a_list_on_the_command_line_replaces_the_dotforeman_one() {
    let dir = Dir::new();
    write_script(&dir, "show.sh", "#!/bin/sh\necho \"$PS $GREETING\"\nexec sleep 30\n");
    dir.write("Procfile", "web: ./show.sh\n");
    dir.write("a.env", "GREETING=from-a\n");
    dir.write("b.env", "GREETING=from-b\nOTHER=1\n");
    dir.write(".foreman", "env: a.env,b.env\n");
    let finished = dir.run(&["run", "printenv", "GREETING"]);
    assert_eq!(finished.stdout(), "from-b\n");
    let finished = dir.run(&["run", "-e", "a.env", "sh", "-c", "echo $GREETING ${OTHER:-none}"]);
    assert_code(&finished, 0);
    assert_eq!(finished.stdout(), "from-a none\n");
}
