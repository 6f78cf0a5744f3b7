//! `procman` on a pseudo-terminal: run to completion with its output on one (color
//! detection, [`run_on_pty`]), or, on Linux (where `setsid` gives it a controlling terminal),
//! as an interactive session (`PtySession`) a test types into and reads as it comes: procman,
//! `procman attach`, an interactive shell.

use std::fs::File;
use std::io::Read;
use std::process::{ExitStatus, Stdio};
use std::thread;

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::pty::{OpenptyResult, Winsize, openpty};

use super::app::Dir;

/// A pty pair that only the child it is given to gets: `openpty` does not set close-on-exec,
/// and the tests run as threads of one process, so every `procman` another test spawned
/// meanwhile would inherit this terminal (and hold it open, and count it as a descriptor).
pub(crate) fn open_pty(size: Option<&Winsize>) -> OpenptyResult {
    let pair = openpty(size, None).expect("openpty");
    for fd in [&pair.master, &pair.slave] {
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).expect("close-on-exec on the pty");
    }
    pair
}

#[cfg(target_os = "linux")]
pub(crate) use session::*;

/// Runs `procman args` with standard output on a pseudo-terminal (and standard error piped);
/// returns everything written to the terminal and the exit status. `env` is added to the
/// environment; `TERM` is set to `xterm` unless `env` sets it.
pub(crate) fn run_on_pty(dir: &Dir, args: &[&str], env: &[(&str, &str)]) -> (Vec<u8>, ExitStatus) {
    let OpenptyResult { master, slave } = open_pty(None);
    let mut command = dir.command(args);
    command.env("TERM", "xterm");
    for (key, value) in env {
        command.env(key, value);
    }
    command.stdout(Stdio::from(slave)).stderr(Stdio::null());
    let mut procman = dir.start(command);
    // The child holds the only copy of the slave now (the command, dropped with it, held the
    // other): reading the master ends (EIO) when procman and its children are gone.
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
    let status = procman.wait();
    procman.end();
    assert!(procman.marked().is_empty(), "left running after procman on a terminal");
    let out = reader.join().unwrap_or_default();
    (out, status)
}

/// A program on a pty for a test to type into (Linux: `setsid` is util-linux's).
#[cfg(target_os = "linux")]
mod session {
    use std::fs::File;
    use std::io::{Read, Write};
    use std::os::fd::OwnedFd;
    use std::process::{Command, ExitStatus, Stdio};
    use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
    use std::thread;
    use std::time::Instant;

    use nix::pty::{OpenptyResult, Winsize};
    use nix::sys::termios::{LocalFlags, Termios, tcgetattr};

    use super::super::WAIT;
    use super::super::app::{Dir, Procman};
    use super::super::checks::contains_at;
    use super::super::sys::resize_terminal;

    /// A program on a pty, as a person at a terminal has it: what it writes is read by a thread
    /// as it comes, the test types keys into it and reads the terminal's modes back. Marked like
    /// every process the harness starts: dropping it kills the program and all it started.
    pub(crate) struct PtySession {
        master: File,
        /// A copy of the terminal's other side, so its modes outlive the program (the kernel
        /// forgets them when the last descriptor closes).
        _slave: OwnedFd,
        chunks: Receiver<Vec<u8>>,
        seen: Vec<u8>,
        /// Where the next [`PtySession::wait_for`] starts looking.
        cursor: usize,
        procman: Procman,
    }

    impl PtySession {
        /// Starts `command` in `dir` with the pty as its standard input, output and error, in a
        /// window of `size` (columns, rows; `None`: the kernel's 0x0). With `controlling`, the
        /// command runs through `setsid -c`: in a session of its own, with the pty as its
        /// controlling terminal, as a login shell has it (job control needs one).
        pub(crate) fn start(
            dir: &Dir,
            command: Command,
            size: Option<(u16, u16)>,
            controlling: bool,
        ) -> PtySession {
            let winsize =
                size.map(|(ws_col, ws_row)| Winsize { ws_row, ws_col, ws_xpixel: 0, ws_ypixel: 0 });
            let OpenptyResult { master, slave } = super::open_pty(winsize.as_ref());
            let mut command = if controlling { in_own_session(&command) } else { command };
            command
                .stdin(Stdio::from(slave.try_clone().expect("dup the pty")))
                .stdout(Stdio::from(slave.try_clone().expect("dup the pty")))
                .stderr(Stdio::from(slave.try_clone().expect("dup the pty")));
            let procman = dir.start(command);
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
            PtySession { master, _slave: slave, chunks, seen: Vec::new(), cursor: 0, procman }
        }

        /// The program's pid.
        pub(crate) fn pid(&self) -> u32 {
            self.procman.pid()
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
                if let Some(at) = contains_at(&self.seen[self.cursor..], needle.as_bytes()) {
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

        /// Resizes the terminal to `columns` x `rows` (its foreground process group gets SIGWINCH).
        pub(crate) fn resize(&self, columns: u16, rows: u16) {
            resize_terminal(&self.master, columns, rows);
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

        /// Waits (bounded) until the terminal's modes satisfy `check`: a program sets them with no
        /// output to wait on, so they are read again every few milliseconds.
        #[track_caller]
        pub(crate) fn wait_modes(&mut self, what: &str, check: impl Fn(&Termios) -> bool) {
            let deadline = Instant::now() + WAIT;
            while !check(&self.modes()) {
                if Instant::now() >= deadline {
                    panic!("the terminal never had {what} within {WAIT:?}:\n{}", self.transcript());
                }
                thread::sleep(std::time::Duration::from_millis(5));
            }
        }

        /// Waits (bounded) for the program to exit; fails the test with what the terminal shows
        /// if it does not.
        #[track_caller]
        pub(crate) fn wait_exit(&mut self) -> ExitStatus {
            match self.procman.wait_within(WAIT) {
                Some(status) => status,
                None => {
                    self.procman.end();
                    panic!(
                        "the program on the pty did not exit within {WAIT:?}:\n{}",
                        self.transcript()
                    );
                }
            }
        }
    }

    /// `command` run through `setsid -c`, its arguments, directory and environment kept.
    fn in_own_session(command: &Command) -> Command {
        let mut wrapped = Command::new("setsid");
        wrapped.arg("-c").arg(command.get_program()).args(command.get_args());
        if let Some(dir) = command.get_current_dir() {
            wrapped.current_dir(dir);
        }
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        wrapped
    }

    /// Whether the modes are a line-editing, echoing terminal's (what a shell leaves).
    pub(crate) fn cooked(modes: &Termios) -> bool {
        modes.local_flags.contains(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG)
    }

    /// Whether the modes are raw: no line editing, no echo, no signal keys.
    pub(crate) fn raw(modes: &Termios) -> bool {
        !modes.local_flags.intersects(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG)
    }

    /// Whether the modes are `start --attach`'s on a pty: no line editing, no echo (the
    /// instance's pty does both), but Ctrl-C and Ctrl-Z still signals.
    pub(crate) fn cbreak(modes: &Termios) -> bool {
        modes.local_flags.contains(LocalFlags::ISIG)
            && !modes.local_flags.intersects(LocalFlags::ICANON | LocalFlags::ECHO)
    }
}
