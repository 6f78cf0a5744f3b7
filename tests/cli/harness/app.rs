//! The app under test and `procman` run in it: to completion ([`Dir::run`]), in the background
//! with its output read line by line ([`Dir::spawn`]), or with its standard streams wherever
//! the test wants them ([`Dir::start`]). Whatever way it runs, procman and every process
//! carrying its marker are killed by pid when the test is done with it.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::procs::{kill, kill_marked, marked_pids};
use super::{MARKER_VAR, WAIT};

/// The `procman` binary under test.
pub(crate) fn procman() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_procman"))
}

/// A marker no other process on the machine carries: this test binary's pid and a count, so
/// that two test runs at once never kill each other's processes.
pub(crate) fn new_marker() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A temporary directory holding the app under test.
pub(crate) struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    pub(crate) fn new() -> Dir {
        Dir { tmp: tempfile::tempdir().expect("a temporary directory") }
    }

    /// A directory holding an app: a Procfile of `procfile`.
    pub(crate) fn with_procfile(procfile: impl AsRef<[u8]>) -> Dir {
        let dir = Dir::new();
        dir.write("Procfile", procfile);
        dir
    }

    pub(crate) fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes a file (creating parent directories).
    pub(crate) fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.tmp.path().join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("parent directory");
        }
        fs::write(&path, content).expect("write a test file");
        path
    }

    /// A `procman` command running in this directory, with no color or port settings leaking
    /// in from the developer's environment.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(procman());
        command.args(args);
        self.settle(&mut command);
        command
    }

    /// `procman` started by a shell script under `wrapper` (`unshare -Ur`, say): `script`
    /// sets the scene and ends with `exec "$0" ARGS...`, `$0` being procman. Otherwise as
    /// [`Dir::command`].
    #[cfg(target_os = "linux")]
    pub(crate) fn script_command(&self, wrapper: &[&str], script: &str) -> Command {
        let (program, wrapper_args) = wrapper.split_first().expect("a wrapper program");
        let mut command = Command::new(program);
        command.args(wrapper_args).args(["sh", "-c", script]).arg(procman());
        self.settle(&mut command);
        command
    }

    /// Runs `command` in this directory, with no color or port settings from the developer's
    /// environment and no standard input.
    fn settle(&self, command: &mut Command) {
        command
            .current_dir(self.path())
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("FORCE_COLOR")
            .env_remove("PORT")
            .stdin(Stdio::null());
    }

    /// Starts `command` marked, its standard streams as the command sets them.
    pub(crate) fn start(&self, mut command: Command) -> Procman {
        let marker = new_marker();
        command.env(MARKER_VAR, &marker);
        let child = command.spawn().expect("spawn procman");
        Procman { child, marker, status: None }
    }

    /// Runs `procman args` to completion (bounded) and returns its output.
    pub(crate) fn run(&self, args: &[&str]) -> Finished {
        self.run_with(self.command(args))
    }

    /// Runs `command` to completion and returns its output. A procman still running after
    /// [`WAIT`] is killed (by pid, with everything it started) and the test fails with what
    /// it had written: a hang fails the test instead of hanging it.
    pub(crate) fn run_with(&self, command: Command) -> Finished {
        self.run_within(command, WAIT)
    }

    /// [`Dir::run_with`], with `limit` in place of [`WAIT`] for procman to finish.
    pub(crate) fn run_within(&self, mut command: Command, limit: Duration) -> Finished {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut procman = self.start(command);
        let stdout = Collector::read(procman.child.stdout.take());
        let stderr = Collector::read(procman.child.stderr.take());
        let status = procman.wait_within(limit);
        // Whatever procman started is gone before its output is read to the end: nothing of
        // the test's is left holding the pipes open.
        procman.end();
        let (stdout, stdout_closed) = stdout.finish(WAIT);
        let (stderr, stderr_closed) = stderr.finish(WAIT);
        let Some(status) = status else {
            panic!(
                "procman did not finish within {limit:?} and was killed\nstdout:\n{}\nstderr:\n{}",
                shown(&stdout),
                shown(&stderr)
            );
        };
        assert!(
            stdout_closed && stderr_closed,
            "procman's output stayed open {WAIT:?} after it ended and its processes were \
             killed\nstdout:\n{}\nstderr:\n{}",
            shown(&stdout),
            shown(&stderr)
        );
        Finished { status, stdout, stderr }
    }

    /// Starts `procman args` in the background, reading its output as it comes.
    pub(crate) fn spawn(&self, args: &[&str]) -> Running {
        self.spawn_with(self.command(args))
    }

    pub(crate) fn spawn_with(&self, mut command: Command) -> Running {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut procman = self.start(command);
        let (sender, lines) = channel();
        let stdout = procman.child.stdout.take().expect("stdout");
        let stderr = procman.child.stderr.take().expect("stderr");
        let err_sender = sender.clone();
        thread::spawn(move || forward_lines(stdout, &sender, false));
        thread::spawn(move || forward_lines(stderr, &err_sender, true));
        Running { procman, lines, seen: Vec::new() }
    }
}

/// Writes `text` to `dir/name` and makes it executable.
pub(crate) fn write_script(dir: &Dir, name: &str, text: &str) -> PathBuf {
    let path = dir.write(name, text);
    let mut perms = fs::metadata(&path).expect("metadata").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs::set_permissions(&path, perms).expect("chmod");
    path
}

/// A procman the test started, marked: dropping it kills it by pid if it still runs, and
/// every process carrying its marker.
pub(crate) struct Procman {
    pub(crate) child: Child,
    pub(crate) marker: String,
    status: Option<ExitStatus>,
}

impl Procman {
    /// The pid the shell would know (the guard's, for `start`).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` to procman.
    pub(crate) fn signal(&self, signal: Signal) {
        kill(self.pid(), signal);
    }

    /// Its exit status if it has ended, without waiting.
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits at most `limit` for procman to exit; its status, or `None` if it still runs.
    /// std offers no timed wait, so this looks every few milliseconds: the harness is not
    /// the code under test.
    pub(crate) fn wait_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits (bounded by [`WAIT`]) for procman to exit; fails the test, after killing it, if
    /// it does not.
    pub(crate) fn wait(&mut self) -> ExitStatus {
        match self.wait_within(WAIT) {
            Some(status) => status,
            None => {
                self.end();
                panic!("procman did not exit within {WAIT:?}");
            }
        }
    }

    /// Live processes carrying this procman's marker (its descendants, wherever they went).
    pub(crate) fn marked(&self) -> Vec<u32> {
        marked_pids(&self.marker)
    }

    /// Kills procman (if it still runs) and everything carrying its marker, and reaps it.
    pub(crate) fn end(&mut self) {
        if self.exited().is_none() {
            // After its guard's loss the supervisor kills the app and removes its cgroup: it
            // is let finish (bounded) before the marked processes are killed, or the run's
            // `procman-PID/` cgroup would be left on the machine.
            #[cfg(target_os = "linux")]
            let supervisor = super::procs::children_of(self.pid());
            kill(self.pid(), Signal::SIGKILL);
            self.status = self.child.wait().ok();
            #[cfg(target_os = "linux")]
            let _ = super::procs::wait_gone(&supervisor, WAIT);
        }
        kill_marked(&self.marker);
    }
}

impl Drop for Procman {
    fn drop(&mut self) {
        self.end();
    }
}

/// `bytes` as text for a failure message: the last 64 KiB at most (a test that failed with
/// 100 MB of output would otherwise spend its time and memory printing it).
fn shown(bytes: &[u8]) -> String {
    const SHOWN: usize = 64 * 1024;
    let tail = &bytes[bytes.len().saturating_sub(SHOWN)..];
    let text = String::from_utf8_lossy(tail);
    if tail.len() < bytes.len() {
        format!("[{} bytes before this]\n{text}", bytes.len() - tail.len())
    } else {
        text.into_owned()
    }
}

/// Reads `stream` (procman's output, say) until the text read so far satisfies `done`, all of
/// it within [`WAIT`]; returns the text. The stream stays the test's, to keep open or close.
pub(crate) fn read_until(
    stream: &mut (impl Read + std::os::fd::AsFd),
    what: &str,
    mut done: impl FnMut(&str) -> bool,
) -> String {
    let deadline = Instant::now() + WAIT;
    let mut text = Vec::new();
    while !done(&String::from_utf8_lossy(&text)) {
        let read = read_some(stream, deadline, &mut text);
        assert!(
            read > 0,
            "no {what} within {WAIT:?} (or the output ended); read:\n{}",
            shown(&text)
        );
    }
    String::from_utf8_lossy(&text).into_owned()
}

#[cfg(target_os = "linux")]
/// Reads `stream` to its end, all of it within [`WAIT`], calling `after_read` after each read
/// (a test reading slowly on purpose pauses there).
pub(crate) fn read_to_end(
    stream: &mut (impl Read + std::os::fd::AsFd),
    mut after_read: impl FnMut(),
) -> Vec<u8> {
    let deadline = Instant::now() + WAIT;
    let mut bytes = Vec::new();
    loop {
        let before = bytes.len();
        if read_some(stream, deadline, &mut bytes) == 0 {
            assert!(Instant::now() < deadline, "the output did not end within {WAIT:?}");
            assert_eq!(bytes.len(), before);
            return bytes;
        }
        after_read();
    }
}

/// One read of what `stream` has, waiting for it at most until `deadline`; appends it to `to`
/// and returns how much it read (0: end of file, an error, or the deadline passed).
fn read_some(
    stream: &mut (impl Read + std::os::fd::AsFd),
    deadline: Instant,
    to: &mut Vec<u8>,
) -> usize {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let left = deadline.saturating_duration_since(Instant::now());
    let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
    if poll(&mut [PollFd::new(stream.as_fd(), PollFlags::POLLIN)], timeout).unwrap_or(0) == 0 {
        return 0;
    }
    let mut buf = [0u8; 4096];
    let read = stream.read(&mut buf).unwrap_or(0);
    to.extend_from_slice(&buf[..read]);
    read
}

/// Reads a stream to its end on a thread of its own, keeping what it read where the test can
/// take it even while the stream is still open.
struct Collector {
    bytes: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    done: Receiver<()>,
}

impl Collector {
    fn read(stream: Option<impl Read + Send + 'static>) -> Collector {
        let bytes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (sender, done) = channel();
        let shared = std::sync::Arc::clone(&bytes);
        thread::spawn(move || {
            let Some(mut stream) = stream else { return };
            let mut buf = [0u8; 65536];
            loop {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => shared.lock().unwrap_or_else(|e| e.into_inner()).extend(&buf[..n]),
                }
            }
            let _ = sender.send(());
        });
        Collector { bytes, done }
    }

    /// What was read once the stream ended, or after `limit` if it did not; and whether it
    /// ended.
    fn finish(self, limit: Duration) -> (Vec<u8>, bool) {
        let closed = !matches!(self.done.recv_timeout(limit), Err(RecvTimeoutError::Timeout));
        let bytes = std::mem::take(&mut *self.bytes.lock().unwrap_or_else(|e| e.into_inner()));
        (bytes, closed)
    }
}

fn forward_lines(stream: impl Read, sender: &Sender<Line>, stderr: bool) {
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
pub(crate) struct Line {
    pub(crate) text: String,
    pub(crate) stderr: bool,
}

/// A finished run.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
}

impl Finished {
    pub(crate) fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    pub(crate) fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Standard error of a `start` less its first line, the one it always says first (but under
    /// `-q`): which containment the run has, `procman: containment: ...`.
    #[track_caller]
    pub(crate) fn stderr_after_containment(&self) -> String {
        let stderr = self.stderr();
        match stderr.split_once('\n') {
            Some((first, rest)) if first.starts_with("procman: containment: ") => rest.to_owned(),
            _ => panic!("no containment line first on standard error:\n{stderr}"),
        }
    }

    /// The lines of standard output, as written.
    pub(crate) fn raw_lines(&self) -> Vec<String> {
        self.stdout().lines().map(str::to_owned).collect()
    }

    /// The lines of standard output, `HH:MM:SS ` timestamps removed.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.stdout().lines().map(|l| strip_time(l).to_owned()).collect()
    }

    /// Standard output with the timestamps removed.
    pub(crate) fn stdout_without_times(&self) -> String {
        self.lines().join("\n")
    }
}

/// Removes a leading `HH:MM:SS ` from a line.
pub(crate) fn strip_time(line: &str) -> &str {
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

/// A procman running in the background, its output read line by line as it comes.
pub(crate) struct Running {
    pub(crate) procman: Procman,
    lines: Receiver<Line>,
    pub(crate) seen: Vec<Line>,
}

impl Running {
    pub(crate) fn pid(&self) -> u32 {
        self.procman.pid()
    }

    pub(crate) fn marker(&self) -> &str {
        &self.procman.marker
    }

    /// Sends `signal` to procman (the pid the shell knows).
    pub(crate) fn signal(&self, signal: Signal) {
        self.procman.signal(signal);
    }

    /// Whether procman still runs.
    pub(crate) fn is_running(&mut self) -> bool {
        self.procman.exited().is_none()
    }

    /// Waits for a line (stdout or stderr) containing `needle`; fails the test with everything
    /// seen so far if it does not come within [`WAIT`].
    pub(crate) fn wait_for(&mut self, needle: &str) -> String {
        self.wait_until(|line| line.contains(needle), needle)
    }

    /// Waits for the `n`th line (from 1) holding every one of `needles`; returns it.
    pub(crate) fn wait_nth(&mut self, needles: &[&str], n: usize) -> String {
        let mut count = 0;
        let what = format!("occurrence {n} of {needles:?}");
        self.wait_until(
            |line| {
                if needles.iter().all(|needle| line.contains(needle)) {
                    count += 1;
                }
                count >= n
            },
            &what,
        )
    }

    /// Waits for a line of `instance` (`web.1  | ...`) that ends with `text`: what a program
    /// prints after a prompt typed ahead of it ends up on the prompt's line.
    pub(crate) fn wait_line_of(&mut self, instance: &str, text: &str) -> String {
        let what = format!("a line of {instance} ending with {text:?}");
        self.wait_until(
            |line| {
                strip_time(line)
                    .split_once(" | ")
                    .is_some_and(|(who, what)| who.trim_end() == instance && what.ends_with(text))
            },
            &what,
        )
    }

    /// Waits for `NAME | started with pid N` (the first for that instance) and returns N.
    pub(crate) fn started(&mut self, instance: &str) -> u32 {
        self.started_nth(instance, 1)
    }

    /// Waits for the `n`th (from 1) `NAME | started with pid N` of `instance`; returns N.
    pub(crate) fn started_nth(&mut self, instance: &str, n: usize) -> u32 {
        let mut count = 0;
        let line = self.wait_until(
            |line| {
                let hit = strip_time(line).split_once(" | ").is_some_and(|(who, what)| {
                    who.trim_end() == instance && what.starts_with("started with pid ")
                });
                count += usize::from(hit);
                count >= n
            },
            &format!("start {n} of {instance}"),
        );
        started_pid(&line)
    }

    /// Sends `signal` (SIGINT, SIGTERM, SIGHUP) to procman and asserts that the run ends with
    /// the shell's code for it, 128 + its number.
    #[track_caller]
    pub(crate) fn stop(&mut self, signal: Signal) {
        self.signal(signal);
        let status = self.wait_exit();
        let code = 128 + signal as i32;
        assert_eq!(status.code(), Some(code), "after {signal}: {status:?}\n{}", self.transcript());
    }

    /// Waits for the first line `matches` accepts (lines seen before count too); returns it.
    pub(crate) fn wait_until(
        &mut self,
        mut matches: impl FnMut(&str) -> bool,
        what: &str,
    ) -> String {
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
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no line matching {what:?} within {WAIT:?}; seen:\n{}",
                        self.transcript()
                    );
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let seen = self.transcript();
                    panic!("output ended before a line matching {what:?}; seen:\n{seen}");
                }
            }
        }
    }

    /// Everything seen so far.
    pub(crate) fn transcript(&self) -> String {
        self.seen
            .iter()
            .map(|l| if l.stderr { format!("[err] {}", l.text) } else { l.text.clone() })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Lines seen so far holding every one of `needles`.
    pub(crate) fn lines_with(&self, needles: &[&str]) -> Vec<String> {
        self.seen
            .iter()
            .filter(|line| needles.iter().all(|needle| line.text.contains(needle)))
            .map(|line| line.text.clone())
            .collect()
    }

    /// Waits for procman to exit and for its output to end; returns the status.
    pub(crate) fn wait_exit(&mut self) -> ExitStatus {
        let Some(status) = self.procman.wait_within(WAIT) else {
            self.procman.end();
            panic!("procman did not exit within {WAIT:?}; seen:\n{}", self.transcript());
        };
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
    pub(crate) fn stdout_lines(&self) -> Vec<String> {
        self.seen.iter().filter(|l| !l.stderr).map(|l| strip_time(&l.text).to_owned()).collect()
    }

    /// Live processes carrying this run's marker (procman's descendants, wherever they went).
    pub(crate) fn marked(&self) -> Vec<u32> {
        self.procman.marked()
    }
}

/// The pid in a `started with pid N` line.
pub(crate) fn started_pid(line: &str) -> u32 {
    line.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| {
        panic!("no pid at the end of {line:?}");
    })
}

#[cfg(target_os = "linux")]
/// The instances and pids of the `NAME | started with pid N` lines of `text`, in order.
pub(crate) fn started_pids(text: &str) -> Vec<(String, u32)> {
    text.lines()
        .filter_map(|line| {
            let (name, rest) = strip_time(line).split_once(" | started with pid ")?;
            let pid = rest.trim().parse().ok()?;
            Some((name.trim().rsplit(' ').next()?.to_owned(), pid))
        })
        .collect()
}
