//! Issue 11, sections 2, 3 and 5, through the real binary: inputs that are not regular files,
//! the instance-count bound against the descriptor limit, the control socket's creation and its
//! leftovers, and a shutdown that a stalled reader cannot hold up.

use std::fs::File;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{assert_code, fifo};
use crate::util::{Dir, Finished, MARKER_VAR, WAIT, kill_marked};

/// Runs `procman args` to completion with its output in files, not pipes, so that a procman that
/// hangs is found out (and killed) after [`WAIT`] instead of holding the test's readers forever.
fn run_bounded(dir: &Dir, args: &[&str]) -> Finished {
    let out = tempfile::tempfile().expect("a temporary file");
    let err = tempfile::tempfile().expect("a temporary file");
    let marker = format!("hostile-{}-{}", std::process::id(), args.join("_"));
    let mut command = dir.command(args);
    command.env(MARKER_VAR, &marker);
    command.stdout(Stdio::from(out.try_clone().expect("dup")));
    command.stderr(Stdio::from(err.try_clone().expect("dup")));
    let mut child = command.spawn().expect("spawn procman");
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        thread::sleep(Duration::from_millis(5));
    };
    let _ = child.kill();
    let _ = child.wait();
    kill_marked(&marker);
    let read = |mut file: File| {
        use std::io::{Read, Seek};
        let mut bytes = Vec::new();
        let _ = file.rewind().and_then(|()| file.read_to_end(&mut bytes));
        bytes
    };
    let (stdout, stderr) = (read(out), read(err));
    let Some(status) = status else {
        panic!(
            "procman {args:?} did not finish within {WAIT:?}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        );
    };
    Finished { status, stdout, stderr }
}

/// Runs `procman args` in `dir`; asserts that it failed with code 1, started nothing, and said
/// that `named` is not a regular file. Returns how long it took.
#[track_caller]
fn refused_input(dir: &Dir, args: &[&str], named: &str) -> Duration {
    let started = Instant::now();
    let finished = run_bounded(dir, args);
    let took = started.elapsed();
    assert_code(&finished, 1);
    let stderr = finished.stderr();
    assert!(
        stderr.contains(&format!(
            "cannot read {named}: it is a named pipe (FIFO), not a regular file"
        )),
        "{args:?}: {stderr}"
    );
    assert!(!finished.stdout().contains("started with pid"), "{args:?}: {}", finished.stdout());
    took
}

#[test]
fn a_fifo_given_as_any_input_file_is_an_error_not_a_hang() {
    let dir = Dir::new();
    dir.write("Procfile", "web: sleep 30\n");
    fifo(&dir, "pipe");
    for args in [
        &["check", "-f", "pipe"][..],
        &["start", "-f", "pipe"],
        &["check", "-e", "pipe"],
        &["start", "-e", "pipe"],
        &["run", "-e", "pipe", "true"],
        &["start", "--config", "pipe"],
        &["check", "--config", "pipe"],
    ] {
        let took = refused_input(&dir, args, "pipe");
        println!("{args:?}: refused in {took:?}");
    }
}

#[test]
fn a_fifo_planted_as_env_dotforeman_or_procman_json_is_an_error_not_a_hang() {
    for planted in [".env", ".foreman", "procman.json"] {
        let dir = Dir::new();
        dir.write("Procfile", "web: sleep 30\n");
        let path = fifo(&dir, planted);
        let shown = path.display().to_string();
        // `.env` and `.foreman` are found through the app root, procman.json beside the Procfile.
        let named = if planted == "procman.json" { planted } else { shown.as_str() };
        for command in ["check", "start"] {
            let took = refused_input(&dir, &[command], named);
            println!("{planted} with {command}: refused in {took:?}");
        }
    }
}

#[test]
fn dev_null_still_reads_as_an_empty_env_file() {
    let dir = Dir::new();
    dir.write("Procfile", "web: echo hello\n");
    let finished = dir.run(&["check", "-e", "/dev/null"]);
    assert_code(&finished, 0);
    let finished = run_bounded(&dir, &["check", "-e", "/dev/zero"]);
    assert_code(&finished, 1);
    assert!(
        finished.stderr().contains("cannot read /dev/zero: it is a character device"),
        "{}",
        finished.stderr()
    );
}
