//! `procman run`: one command with the app's environment, exec'd in place: standard input,
//! signals and the exit status pass straight through.

use std::fs::File;
use std::process::Stdio;

use crate::harness::{Dir, assert_code, write_script};
#[cfg(target_os = "linux")]
use crate::harness::{Signal, assert_exit, wait_comm};

#[test]
fn standard_input_passes_through() {
    let dir = Dir::new();
    let input = dir.write("input.txt", "hello\nworld\n");
    let mut command = dir.command(&["run", "cat"]);
    command.stdin(Stdio::from(File::open(input).expect("input")));
    let finished = dir.run_with(command);
    assert_code(&finished, 0);
    assert_eq!(finished.stdout(), "hello\nworld\n");
    assert_eq!(finished.stderr(), "");
}

#[test]
fn the_exit_code_passes_back() {
    let dir = Dir::new();
    let finished = dir.run(&["run", "sh", "-c", "echo out; echo err >&2; exit 7"]);
    assert_code(&finished, 7);
    assert_eq!(finished.stdout(), "out\n");
    assert_eq!(finished.stderr(), "err\n");
}

#[test]
fn a_missing_command_is_127() {
    let dir = Dir::new();
    let finished = dir.run(&["run", "no-such-command-anywhere", "arg"]);
    assert_code(&finished, 127);
    assert_eq!(finished.stderr(), "error: command not found: no-such-command-anywhere\n");
    assert_eq!(finished.stdout(), "");
}

#[test]
fn a_non_executable_file_is_126() {
    let dir = Dir::new();
    dir.write("notes.txt", "not a program\n");
    let finished = dir.run(&["run", "./notes.txt"]);
    assert_code(&finished, 126);
    assert_eq!(finished.stderr(), "error: not executable: ./notes.txt (permission denied)\n");
}

#[test]
fn a_script_with_a_missing_interpreter_says_so() {
    let dir = Dir::new();
    write_script(&dir, "script", "#!/nonexistent/interpreter\n");
    let finished = dir.run(&["run", "./script"]);
    assert_code(&finished, 127);
    assert_eq!(
        finished.stderr(),
        "error: cannot run ./script: the interpreter on its `#!` line was not found\n"
    );
}

#[test]
fn a_procfile_entry_runs_with_the_env_in_the_root() {
    let dir = Dir::new();
    dir.write("app/Procfile", "web: echo $GREETING from $PS\nwhere: pwd\n");
    dir.write("app/.env", "GREETING=hi\n");
    let finished = dir.run(&["run", "-f", "app/Procfile", "web"]);
    assert_code(&finished, 0);
    // As `start` runs its first instance (Foreman's `run` sets no PS).
    assert_eq!(finished.stdout(), "hi from web.1\n");
    let finished = dir.run(&["run", "-f", "app/Procfile", "where"]);
    assert_code(&finished, 0);
    let app = std::fs::canonicalize(dir.path().join("app")).expect("canonical");
    assert_eq!(finished.stdout(), format!("{}\n", app.display()));
    // A name that is not an entry is a command, run in the working directory.
    let finished = dir.run(&["run", "-f", "app/Procfile", "pwd"]);
    let here = std::fs::canonicalize(dir.path()).expect("canonical");
    assert_eq!(finished.stdout(), format!("{}\n", here.display()));
}

#[test]
fn env_files_and_port_are_applied() {
    let dir = Dir::new();
    dir.write(".env", "GREETING=from-dot-env\n");
    dir.write("other.env", "GREETING=from-other\n");
    let finished = dir.run(&["run", "printenv", "GREETING"]);
    assert_code(&finished, 0);
    assert_eq!(finished.stdout(), "from-dot-env\n");
    let finished = dir.run(&["run", "-e", "other.env", "printenv", "GREETING"]);
    assert_eq!(finished.stdout(), "from-other\n");
    let finished = dir.run(&["run", "-p", "4000", "printenv", "PORT"]);
    assert_eq!(finished.stdout(), "4000\n");
    let finished = dir.run(&["run", "-e", "missing.env", "true"]);
    assert_code(&finished, 1);
    assert!(finished.stderr().starts_with("error: env file missing.env does not exist\n"));
}

#[test]
fn options_after_the_command_belong_to_the_command() {
    let dir = Dir::new();
    let finished = dir.run(&["run", "sh", "-c", "echo \"$@\"", "sh", "-e", "x", "-p", "1"]);
    assert_code(&finished, 0);
    assert_eq!(finished.stdout(), "-e x -p 1\n");
}

// The program's name is read from /proc (Linux).
#[cfg(target_os = "linux")]
#[test]
fn a_signal_to_procman_reaches_the_command_in_place() {
    let dir = Dir::new();
    write_script(
        &dir,
        "trap.sh",
        "#!/bin/sh\ntrap 'echo got TERM; exit 5' TERM\necho ready\nwhile :; do sleep 0.1; done\n",
    );
    let mut run = dir.spawn(&["run", "./trap.sh"]);
    run.wait_for("ready");
    // procman exec'd the command: the pid the caller knows is the command's.
    assert_eq!(wait_comm(run.pid(), "trap.sh"), "trap.sh");
    run.signal(Signal::SIGTERM);
    run.wait_for("got TERM");
    assert_exit(&mut run, 5);
}
