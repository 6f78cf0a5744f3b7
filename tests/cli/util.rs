//! The harness: run the built `procman` in a temporary directory, read its output line by line
//! with bounded waits, find every process it started (even re-parented ones) by a marker in
//! their environment, and kill them by pid when a test ends, pass or fail.

use std::collections::HashSet;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;
use std::time::{Duration, Instant};

/// The longest any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// The environment variable that marks every process a test started.
pub const MARKER_VAR: &str = "PROCMAN_TEST_MARKER";

pub fn procman() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_procman"))
}

/// A temporary directory holding the app under test.
pub struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir { tmp: tempfile::tempdir().expect("a temporary directory") }
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes a file (creating parent directories).
    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.tmp.path().join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("parent directory");
        }
        fs::write(&path, content).expect("write a test file");
        path
    }

    /// A `procman` command running in this directory, marked, with no color settings leaking
    /// in from the developer's environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(procman());
        command
            .args(args)
            .current_dir(self.path())
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("FORCE_COLOR")
            .env_remove("PORT")
            .stdin(Stdio::null());
        command
    }

    /// Runs `procman args` to completion (bounded) and returns its output.
    pub fn run(&self, args: &[&str]) -> Finished {
        self.run_with(self.command(args))
    }

    pub fn run_with(&self, mut command: Command) -> Finished {
        let marker = new_marker();
        command.env(MARKER_VAR, &marker).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn procman");
        let mut stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let out = thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stdout.read_to_end(&mut buf);
            buf
        });
        let err = thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        });
        let status = wait_child(&mut child, WAIT);
        let stdout = out.join().unwrap_or_default();
        let stderr = err.join().unwrap_or_default();
        kill_marked(&marker);
        let Some(status) = status else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "procman did not finish within {WAIT:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(&stderr)
            );
        };
        Finished { status, stdout, stderr }
    }

    /// Starts `procman args` in the background, reading its output as it comes.
    pub fn spawn(&self, args: &[&str]) -> Running {
        self.spawn_with(self.command(args))
    }

    pub fn spawn_with(&self, mut command: Command) -> Running {
        let marker = new_marker();
        command.env(MARKER_VAR, &marker).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn procman");
        let (sender, lines) = channel();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let err_sender = sender.clone();
        thread::spawn(move || forward_lines(stdout, &sender, false));
        thread::spawn(move || forward_lines(stderr, &err_sender, true));
        Running { child, lines, seen: Vec::new(), marker, finished: None }
    }
}

fn forward_lines(stream: impl Read, sender: &std::sync::mpsc::Sender<Line>, stderr: bool) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(buf.strip_suffix(b"\n").unwrap_or(&buf));
                if sender.send(Line { text: text.into_owned(), stderr }).is_err() {
                    break;
                }
            }
        }
    }
}

/// One line of output.
#[derive(Clone, Debug)]
pub struct Line {
    pub text: String,
    pub stderr: bool,
}

/// A finished run.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Finished {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Standard output with the `HH:MM:SS ` timestamps removed.
    pub fn stdout_without_times(&self) -> String {
        self.stdout().lines().map(strip_time).collect::<Vec<_>>().join("\n")
    }
}

/// Removes a leading `HH:MM:SS ` from a line.
pub fn strip_time(line: &str) -> &str {
    let bytes = line.as_bytes();
    if bytes.len() >= 9
        && bytes[2] == b':'
        && bytes[5] == b':'
        && bytes[8] == b' '
        && [0, 1, 3, 4, 6, 7].iter().all(|i| bytes[*i].is_ascii_digit())
    {
        &line[9..]
    } else {
        line
    }
}

/// A procman running in the background.
pub struct Running {
    pub child: Child,
    lines: Receiver<Line>,
    pub seen: Vec<Line>,
    pub marker: String,
    finished: Option<ExitStatus>,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a line (stdout or stderr) containing `needle`; fails the test with everything
    /// seen so far if it does not come within [`WAIT`].
    pub fn wait_for(&mut self, needle: &str) -> String {
        self.wait_until(|line| line.contains(needle), needle)
    }

    pub fn wait_until(&mut self, mut matches: impl FnMut(&str) -> bool, what: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| matches(&l.text)) {
            return line.text.clone();
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = matches(&line.text);
                    let text = line.text.clone();
                    self.seen.push(line);
                    if hit {
                        return text;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    panic!("no line matching {what:?} within {WAIT:?}; seen:\n{}", self.transcript());
                }
            }
        }
    }

    /// Everything seen so far.
    pub fn transcript(&self) -> String {
        self.seen
            .iter()
            .map(|l| if l.stderr { format!("[err] {}", l.text) } else { l.text.clone() })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Sends a signal to procman (the pid the shell knows).
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).expect("pid fits");
        // SAFETY: kill has no memory effects.
        unsafe { libc::kill(pid, signal) };
    }

    /// Waits for procman to exit and for its output to end; returns the status.
    pub fn wait_exit(&mut self) -> ExitStatus {
        if let Some(status) = self.finished {
            return status;
        }
        let status = wait_child(&mut self.child, WAIT);
        let Some(status) = status else {
            panic!("procman did not exit within {WAIT:?}; seen:\n{}", self.transcript());
        };
        self.finished = Some(status);
        // Collect the rest of the output (the pipes close when procman and its tree are gone).
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("output still open {WAIT:?} after exit; seen:\n{}", self.transcript())
                }
            }
        }
        status
    }

    /// Lines seen on standard output, timestamps removed.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.seen.iter().filter(|l| !l.stderr).map(|l| strip_time(&l.text).to_owned()).collect()
    }

    /// Live processes carrying this run's marker (procman's descendants, wherever they went).
    pub fn marked(&self) -> Vec<u32> {
        marked_pids(&self.marker)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.finished.is_none() {
            let _ = self.child.kill();
            let _ = wait_child(&mut self.child, WAIT);
        }
        kill_marked(&self.marker);
    }
}

fn new_marker() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Waits for a child with a bound, without sleeping blindly: polls `try_wait` with short
/// pauses (the harness is not the code under test, and std offers no timed wait).
fn wait_child(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Live (non-zombie) processes whose environment holds `PROCMAN_TEST_MARKER=marker`.
pub fn marked_pids(marker: &str) -> Vec<u32> {
    let needle = format!("{MARKER_VAR}={marker}\0");
    let me = std::process::id();
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else { return out };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me || is_zombie(pid) {
            continue;
        }
        if let Ok(environ) = fs::read(format!("/proc/{pid}/environ")) {
            let mut padded = environ;
            padded.push(0);
            if padded.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                out.push(pid);
            }
        }
    }
    out
}

/// Whether `pid` is a zombie (or gone).
pub fn is_zombie(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    !is_zombie(pid)
}

/// Waits (bounded) until none of `pids` is alive; returns those still alive at the deadline.
pub fn wait_gone(pids: &[u32], limit: Duration) -> Vec<u32> {
    let deadline = Instant::now() + limit;
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// SIGKILLs every process carrying `marker`, until none is left (bounded).
pub fn kill_marked(marker: &str) {
    let mut killed = HashSet::new();
    for _ in 0..50 {
        let pids = marked_pids(marker);
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            if let Ok(raw) = i32::try_from(pid) {
                // SAFETY: kill has no memory effects; the pid carries this test's marker.
                unsafe { libc::kill(raw, libc::SIGKILL) };
                killed.insert(pid);
            }
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Writes `text` to a file and makes it executable.
pub fn write_script(dir: &Dir, name: &str, text: &str) -> PathBuf {
    let path = dir.write(name, text);
    let mut perms = fs::metadata(&path).expect("metadata").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs::set_permissions(&path, perms).expect("chmod");
    path
}

/// Reads a pid written by a test program into a file, waiting (bounded) for it to appear.
pub fn read_pid_file(path: &Path) -> u32 {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(text) = fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse() {
                return pid;
            }
        }
        assert!(Instant::now() < deadline, "no pid in {} within {WAIT:?}", path.display());
        thread::sleep(Duration::from_millis(10));
    }
}

#[allow(dead_code)]
pub fn write_stdin(child: &mut Child, text: &str) {
    if let Some(stdin) = child.stdin.as_mut() {
        let _ = stdin.write_all(text.as_bytes());
    }
}
