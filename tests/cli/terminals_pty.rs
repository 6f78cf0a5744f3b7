//! A pseudo-terminal session for the terminal tests: a program (procman, `procman attach`, an
//! interactive shell) with a pty as its terminal, everything it writes read by a thread as it
//! comes, keys typed into it, and its terminal's modes read back. Every wait is bounded; every
//! process started is marked and killed by pid when the session drops.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;
use std::time::{Duration, Instant};

use nix::pty::{OpenptyResult, Winsize, openpty};
use nix::sys::termios::{LocalFlags, Termios, tcgetattr};

use crate::util::{MARKER_VAR, WAIT, kill_marked};

/// A program on a pty.
pub(crate) struct PtySession {
    master: File,
    /// A copy of the terminal's other side, so its modes outlive the program (the kernel
    /// forgets them when the last descriptor closes).
    _slave: OwnedFd,
    chunks: Receiver<Vec<u8>>,
    seen: Vec<u8>,
    /// Where the next [`PtySession::wait_for`] starts looking.
    cursor: usize,
    child: Child,
    marker: String,
    status: Option<ExitStatus>,
}

impl PtySession {
    /// Starts `command` with the pty as its standard input, output and error, in a window of
    /// `size` (columns, rows; `None`: the kernel's 0x0). With `controlling`, the command runs
    /// through `setsid -c`: in a session of its own, with the pty as its controlling terminal,
    /// as a login shell has it (job control needs one).
    pub(crate) fn start(
        mut command: Command,
        size: Option<(u16, u16)>,
        controlling: bool,
    ) -> PtySession {
        let winsize =
            size.map(|(ws_col, ws_row)| Winsize { ws_row, ws_col, ws_xpixel: 0, ws_ypixel: 0 });
        let OpenptyResult { master, slave } = openpty(winsize.as_ref(), None).expect("openpty");
        let marker = format!("pty-session-{}-{}", std::process::id(), next());
        if controlling {
            let program = command.get_program().to_owned();
            let mut wrapped = Command::new("setsid");
            wrapped.arg("-c").arg(program).args(command.get_args());
            if let Some(dir) = command.get_current_dir() {
                wrapped.current_dir(dir);
            }
            for (key, value) in command.get_envs() {
                match value {
                    Some(value) => wrapped.env(key, value),
                    None => wrapped.env_remove(key),
                };
            }
            command = wrapped;
        }
        let stdin = slave.try_clone().expect("dup the pty");
        let stdout = slave.try_clone().expect("dup the pty");
        let stderr = slave.try_clone().expect("dup the pty");
        command
            .env(MARKER_VAR, &marker)
            .stdin(Stdio::from(stdin))
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr));
        let child = command.spawn().expect("spawn on the pty");
        drop(command);
        let master = File::from(master);
        let mut reading = master.try_clone().expect("dup the pty's master");
        let (sender, chunks) = channel();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match reading.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if sender.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        PtySession {
            master,
            _slave: slave,
            chunks,
            seen: Vec::new(),
            cursor: 0,
            child,
            marker,
            status: None,
        }
    }

    /// The program's pid.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Types `keys`.
    pub(crate) fn send(&mut self, keys: &[u8]) {
        self.master.write_all(keys).expect("type into the pty");
    }

    /// Waits until `needle` is written (after what earlier waits matched); returns the text
    /// from there to the end of the match's line (or of what came).
    #[track_caller]
    pub(crate) fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(at) = find(&self.seen[self.cursor..], needle.as_bytes()) {
                let start = self.cursor + at;
                let end = self.seen[start..]
                    .iter()
                    .position(|b| *b == b'\n' || *b == b'\r')
                    .map_or(self.seen.len(), |n| start + n);
                self.cursor = start + needle.len();
                return String::from_utf8_lossy(&self.seen[start..end]).into_owned();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.seen.extend_from_slice(&chunk),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => panic!(
                    "{needle:?} did not show on the terminal within {WAIT:?}; it shows:\n{}",
                    self.transcript()
                ),
            }
        }
    }

    /// Everything written so far.
    pub(crate) fn transcript(&mut self) -> String {
        while let Ok(chunk) = self.chunks.try_recv() {
            self.seen.extend_from_slice(&chunk);
        }
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    /// The terminal's modes now.
    pub(crate) fn modes(&self) -> Termios {
        tcgetattr(&self.master).expect("the pty's modes")
    }

    /// Waits (bounded) for the program to exit.
    #[track_caller]
    pub(crate) fn wait_exit(&mut self) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.status = Some(status);
                return status;
            }
            if Instant::now() >= deadline {
                panic!(
                    "the program on the pty did not exit within {WAIT:?}:\n{}",
                    self.transcript()
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for PtySession {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        kill_marked(&self.marker);
    }
}

/// Whether `program --version` runs; says the test skips (or fails, where required) if not.
pub(crate) fn tool_available(program: &str, what_for: &str) -> bool {
    let found = Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        crate::support::skip(&format!("{what_for} needs {program}, which is missing"));
    }
    found
}

/// Whether the modes are a line-editing, echoing terminal's (what a shell leaves).
pub(crate) fn cooked(modes: &Termios) -> bool {
    modes.local_flags.contains(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn next() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// The state letter of `pid` in `/proc/PID/stat` (`R`, `S`, `T` for stopped...), `None` once
/// it is gone.
pub(crate) fn state_of(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.trim_start().chars().next()
}

/// Waits (bounded) until every one of `pids` is stopped (`stopped`) or running again.
#[track_caller]
pub(crate) fn wait_states(pids: &[u32], stopped: bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        let states: Vec<(u32, Option<char>)> = pids.iter().map(|p| (*p, state_of(*p))).collect();
        if states.iter().all(|(_, s)| s.is_some_and(|s| (s == 'T') == stopped)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not all {} within {WAIT:?}: {states:?}",
            if stopped { "stopped" } else { "running" }
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// The pids in the `NAME | started with pid N` lines of `text`, in order.
pub(crate) fn started_pids(text: &str) -> Vec<(String, u32)> {
    text.lines()
        .filter_map(|line| {
            let (name, rest) = line.split_once(" | started with pid ")?;
            let pid = rest.trim().parse().ok()?;
            Some((name.trim().rsplit(' ').next()?.to_owned(), pid))
        })
        .collect()
}
