//! Helpers shared by the `start`/`run`/`check` tests: FIFOs that let a test decide when a child
//! goes on, a pseudo-terminal for color detection, and small assertions on procman's output.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::pty::{OpenptyResult, openpty};
use nix::sys::stat::Mode;

use crate::util::{Dir, Finished, MARKER_VAR, Running, WAIT, kill_marked, marked_pids, strip_time};

/// Creates a FIFO at `dir/name`. A child that runs `read _ < name` blocks until the test calls
/// [`release`].
pub(crate) fn fifo(dir: &Dir, name: &str) -> PathBuf {
    let path = dir.path().join(name);
    nix::unistd::mkfifo(&path, Mode::S_IRUSR | Mode::S_IWUSR)
        .unwrap_or_else(|errno| panic!("mkfifo {}: {errno}", path.display()));
    path
}

/// Lets a child blocked on `read _ < fifo` go on. Opening for writing waits for the reader,
/// bounded by [`WAIT`] (a non-blocking open is retried until a reader is there).
pub(crate) fn release(fifo: &Path) {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(fd) = nix::fcntl::open(fifo, OFlag::O_WRONLY | OFlag::O_NONBLOCK, Mode::empty()) {
            let _ = std::io::Write::write_all(&mut File::from(fd), b"go\n");
            return;
        }
        assert!(Instant::now() < deadline, "nobody read {} within {WAIT:?}", fifo.display());
        thread::sleep(Duration::from_millis(5));
    }
}

/// The pid in a `started with pid N` line.
pub(crate) fn started_pid(line: &str) -> u32 {
    line.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| {
        panic!("no pid at the end of {line:?}");
    })
}

/// Waits (bounded) until `/proc/PID/comm` is `name`: a shell that `exec`s its command changes
/// from `sh` to the program a moment after it starts.
pub(crate) fn wait_comm(pid: u32, name: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let comm =
            fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_owned();
        if comm == name || Instant::now() >= deadline {
            return comm;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// The parent pid of `pid`, from `/proc/PID/stat`.
pub(crate) fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The stdout lines of a finished run, timestamps removed.
pub(crate) fn lines(finished: &Finished) -> Vec<String> {
    finished.stdout().lines().map(|l| strip_time(l).to_owned()).collect()
}

/// Asserts the process exited with `code`, showing the output otherwise.
#[track_caller]
pub(crate) fn assert_code(finished: &Finished, code: i32) {
    assert_eq!(
        finished.code(),
        Some(code),
        "exit status {:?}\nstdout:\n{}\nstderr:\n{}",
        finished.status,
        finished.stdout(),
        finished.stderr()
    );
}

/// Asserts a running procman ended with `code`.
#[track_caller]
pub(crate) fn assert_exit(run: &mut Running, code: i32) {
    let status: ExitStatus = run.wait_exit();
    assert_eq!(status.code(), Some(code), "status {status:?}; seen:\n{}", run.transcript());
}

/// Asserts that `lines` holds each of `expected` in this order (other lines may come between).
#[track_caller]
pub(crate) fn assert_in_order(lines: &[String], expected: &[&str]) {
    let mut at = 0;
    for want in expected {
        match lines[at..].iter().position(|l| l == want) {
            Some(found) => at += found + 1,
            None => panic!("{want:?} missing (or out of order) in:\n{}", lines.join("\n")),
        }
    }
}

/// Runs `procman args` with standard output on a pseudo-terminal (and standard error piped);
/// returns everything written to the terminal and the exit status. `env` is added to the
/// environment; `TERM` is set to `xterm` unless `env` sets it.
pub(crate) fn run_on_pty(dir: &Dir, args: &[&str], env: &[(&str, &str)]) -> (Vec<u8>, ExitStatus) {
    let OpenptyResult { master, slave } = openpty(None, None).expect("openpty");
    let marker = format!("pty-{}-{}", std::process::id(), next());
    let mut command: Command = dir.command(args);
    command.env(MARKER_VAR, &marker).env("TERM", "xterm");
    for (key, value) in env {
        command.env(key, value);
    }
    command.stdout(Stdio::from(slave)).stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn procman");
    // The child holds the only copy of the slave now: reading the master ends (EIO) when
    // procman and its children are gone.
    drop(command);
    let reader = thread::spawn(move || {
        let mut file = File::from(master);
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match file.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    });
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            kill_marked(&marker);
            panic!("procman on a terminal did not finish within {WAIT:?}");
        }
        thread::sleep(Duration::from_millis(5));
    };
    kill_marked(&marker);
    assert!(marked_pids(&marker).is_empty());
    let out = reader.join().unwrap_or_default();
    (out, status)
}

fn next() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// Whether `haystack` contains `needle`.
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Reports a test that cannot run on this machine (a tool is missing). CI sets
/// `PROCMAN_REQUIRE_VALIDATORS=1` (`.ci/run`), and there it fails instead of skipping.
pub(crate) fn skip(why: &str) {
    assert!(
        std::env::var_os("PROCMAN_REQUIRE_VALIDATORS").is_none(),
        "required by PROCMAN_REQUIRE_VALIDATORS, but {why}"
    );
    println!("SKIPPED: {why}");
}
