//! procman's own terminal during `start`: job control (Ctrl-Z, `fg`) and `--attach`.
//!
//! **Job control.** The instances lead process groups (on ptys, sessions) of their own, so a
//! Ctrl-Z at the terminal never reaches them: it reaches the guard, the process the shell
//! knows, which forwards it here. On SIGTSTP procman stops the whole app
//! ([`Driver::suspend`]), says so, puts its terminal back the way it found it, and has itself
//! stopped: the guard stops it and then itself ([`supervise::guard::request_stop`]; without a
//! guard procman stops itself), and only then does the shell see the job stopped. `fg` (or
//! `bg`) sends SIGCONT to the guard, which forwards it: procman takes its terminal again if the
//! job is in the foreground, resumes the app ([`Driver::resume`]) and says so.
//!
//! **`--attach NAME`.** procman's terminal input goes to the first instance of NAME. To read
//! its terminal procman must be in the terminal's foreground process group, so it makes its
//! own group the foreground one (and gives it back on the way out, and at Ctrl-Z). On a pty
//! the terminal is put in *cbreak* mode: no line editing and no echo here (the pty echoes, and
//! the program edits its own line), but `ISIG` stays on, so Ctrl-C, Ctrl-Z and Ctrl-\ are
//! still signals to procman and do what they always do. On pipes nothing would echo, so the
//! terminal keeps its line mode: a line goes when Enter is pressed, and Ctrl-D closes the
//! instance's input. The terminal's modes are put back on every way out (the end of the run,
//! an error, a panic: [`Drop`]) and at Ctrl-Z.

use std::fs::File;
use std::io::{self, IsTerminal};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

use nix::errno::Errno;
use nix::sys::signal::{SigSet, Signal as NixSignal};
use nix::sys::termios::{self, LocalFlags, SetArg, SpecialCharacterIndices, Termios};
use nix::unistd::{Pid, getpgid, getpgrp, getppid, tcgetpgrp, tcsetpgrp};
use supervise::{Driver, InstanceId, Interest, RawOutput, WatchId};

use super::live_line::LiveLine;

use crate::cli::TtyWhen;
use crate::control::relay_input;
use crate::error::CliError;
use crate::output::Printer;
use crate::plan::Plan;
use procman::diagnostic::{Diagnostic, Diagnostics, closest, plural};

/// The most typed bytes waiting for the instance; reading stops until it takes them.
const TYPED_LIMIT: usize = 64 * 1024;

/// The instance `--attach NAME` gives procman's input to: NAME's first instance, and whether
/// it runs on a pty.
///
/// # Errors
/// No terminal on standard input, or no process type NAME with an instance to run.
pub(super) fn attach_target(
    plan: &Plan,
    name: &str,
    tty: (TtyWhen, bool),
) -> Result<(InstanceId, bool), CliError> {
    let refuse = |message: String, help: String| -> CliError {
        Diagnostics::from(Diagnostic::new(message).with_help(help)).into()
    };
    let Some(process) = plan.processes.iter().find(|p| p.name == name) else {
        let names: Vec<&str> = plan.processes.iter().map(|p| p.name.as_str()).collect();
        let mut help = format!("the process types are: {}", names.join(", "));
        if let Some(close) = closest(name, &names) {
            help.push_str(&format!("; did you mean `{close}`?"));
        }
        let message = format!("--attach {name}: there is no process type `{name}`");
        return Err(refuse(message, help));
    };
    if process.count == 0 {
        let message = format!("--attach {name}: `{name}` runs no instance (its count is 0)");
        return Err(refuse(message, format!("start one: {name}=1")));
    }
    if !io::stdin().is_terminal() {
        let message = format!("--attach {name}: standard input is not a terminal");
        let help = "--attach gives the input of procman's terminal to a process; to send input \
                    from elsewhere, use `procman attach` with that input";
        return Err(refuse(message, help.to_owned()));
    }
    Ok((InstanceId::new(name, 1), super::runs_on_pty(tty, process.settings.tty)))
}

/// procman's terminal: what job control and `--attach` need of it.
#[derive(Default)]
pub(super) struct Terminal {
    attached: Option<Attached>,
}

/// The instance procman's terminal input goes to.
struct Attached {
    id: InstanceId,
    on_pty: bool,
    /// The terminal, opened again: non-blocking without changing the descriptor procman
    /// shares with its shell.
    tty: File,
    watch: Option<WatchId>,
    /// The modes found at start, put back on the way out.
    saved: Termios,
    /// While procman holds the terminal: the foreground group to give it back to.
    held: Option<Pid>,
    /// Typed, and not taken by the instance yet.
    typed: Vec<u8>,
    /// Its unfinished line, shown live under the view (when procman's output is a terminal).
    live: Option<LiveLine>,
    /// The terminal's width, for the live line.
    columns: usize,
}

impl Terminal {
    /// procman's terminal, with its input going to `attach` (an instance, and whether it runs
    /// on a pty), if given.
    ///
    /// # Errors
    /// `--attach` without a terminal on standard input, or a terminal procman cannot use.
    pub(super) fn new(attach: Option<(InstanceId, bool)>) -> io::Result<Terminal> {
        let Some((id, on_pty)) = attach else { return Ok(Terminal::default()) };
        let stdin = io::stdin();
        let path = nix::unistd::ttyname(&stdin).map_err(|_| {
            io::Error::other("--attach needs a terminal on standard input, and it is not one")
        })?;
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
            .open(&path)?;
        let saved = termios::tcgetattr(&tty)?;
        // Reading the terminal, or changing its modes, from a group that is not in its
        // foreground must fail (EIO) rather than stop procman (SIGTTIN, SIGTTOU). Children
        // get an empty mask back.
        let mut set = SigSet::empty();
        set.add(NixSignal::SIGTTIN);
        set.add(NixSignal::SIGTTOU);
        set.thread_block()?;
        let live = io::stdout().is_terminal().then(LiveLine::default);
        let columns = crossterm::terminal::size().map_or(80, |(columns, _)| usize::from(columns));
        let attached = Attached {
            id,
            on_pty,
            tty,
            watch: None,
            saved,
            held: None,
            typed: Vec::new(),
            live,
            columns,
        };
        Ok(Terminal { attached: Some(attached) })
    }

    /// The instance procman's input goes to.
    pub(super) fn attached(&self) -> Option<&InstanceId> {
        self.attached.as_ref().map(|attached| &attached.id)
    }

    /// Takes the terminal (if the job is in the foreground) and relays what is typed.
    pub(super) fn acquire(&mut self, driver: &mut Driver) {
        let Some(attached) = &mut self.attached else { return };
        attached.acquire();
        if attached.held.is_some() && attached.watch.is_none() {
            attached.watch = driver.watch(attached.tty.as_raw_fd(), Interest::READABLE).ok();
            if attached.live.is_some() {
                driver.set_raw_tap(&attached.id, true);
            }
        }
        attached.read_typed(driver);
    }

    /// The attached instance's output as it was read: its unfinished line.
    pub(super) fn on_raw_output(&mut self, raw: &RawOutput) {
        if let Some(attached) = self.attached.as_mut().filter(|a| a.id == raw.id) {
            if let Some(live) = &mut attached.live {
                live.push(&raw.data);
            }
        }
    }

    /// Before the lines of a turn: the live line leaves the bottom of the screen.
    pub(super) fn before_lines(&mut self, printer: &mut Printer) {
        if let Some(live) = self.attached.as_mut().and_then(|a| a.live.as_mut()) {
            live.erase(printer);
        }
    }

    /// After the lines of a turn: the live line comes back under them, while the app runs and
    /// procman holds the terminal.
    pub(super) fn after_lines(&mut self, driver: &Driver, printer: &mut Printer) {
        let Some(attached) = &mut self.attached else { return };
        let quiet = driver.is_suspended() || driver.supervisor().is_shutting_down();
        if let (Some(live), Some(_), false) = (&mut attached.live, attached.held, quiet) {
            let prefix = printer.prefix_of(&attached.id);
            live.draw(printer, &prefix, attached.columns);
        }
    }

    /// The terminal's width changed.
    pub(super) fn set_columns(&mut self, columns: u16) {
        if let Some(attached) = &mut self.attached {
            attached.columns = usize::from(columns);
        }
    }

    /// Puts the terminal back as it was found and gives the foreground back.
    pub(super) fn release(&mut self) {
        if let Some(attached) = &mut self.attached {
            attached.release();
        }
    }

    /// Ctrl-Z (SIGTSTP): stops the app, then procman.
    pub(super) fn suspend(&mut self, driver: &mut Driver, printer: &mut Printer) {
        // Already suspended: a SIGCONT came and went in the same turn (only the last of the
        // two counts), so this SIGTSTP asks again to be stopped.
        if !driver.is_suspended() {
            let count = driver.suspend();
            let _ = printer.system(&format!(
                "SIGTSTP received: stopped {count} {}; `fg` (or SIGCONT) resumes them",
                plural(count, "process", "processes")
            ));
            let _ = printer.flush();
            self.release();
        }
        if !supervise::guard::request_stop() {
            // No guard: the shell waits on procman itself.
            let _ = nix::sys::signal::raise(NixSignal::SIGSTOP);
        }
        // The SIGCONT that continues procman arrives as an event: see `resume`.
    }

    /// SIGCONT (`fg`, `bg`): takes the terminal again and resumes the app.
    pub(super) fn resume(&mut self, driver: &mut Driver, printer: &mut Printer) {
        if !driver.is_suspended() {
            return;
        }
        self.acquire(driver);
        let count = driver.resume();
        let _ = printer.system(&format!(
            "SIGCONT received: resumed {count} {}",
            plural(count, "process", "processes")
        ));
    }

    /// Readiness of a watched descriptor: returns whether it was the terminal's.
    pub(super) fn on_ready(&mut self, watch: WatchId, driver: &mut Driver) -> bool {
        let Some(attached) = &mut self.attached else { return false };
        if attached.watch != Some(watch) {
            return false;
        }
        attached.read_typed(driver);
        true
    }

    /// The instance took what waited for it: offers the rest, and reads on.
    pub(super) fn on_stdin_ready(&mut self, id: &InstanceId, driver: &mut Driver) {
        if let Some(attached) = self.attached.as_mut().filter(|a| a.id == *id) {
            attached.read_typed(driver);
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.release();
    }
}

impl Attached {
    fn acquire(&mut self) {
        if self.held.is_some() {
            return;
        }
        let own = getpgrp();
        let Ok(foreground) = tcgetpgrp(&self.tty) else { return };
        // The job's group: procman's own (no guard), the guard's, or, from a PID namespace,
        // one procman cannot see (0), which it takes to be the guard's.
        let guards = getpgid(Some(getppid())).ok();
        let ours = foreground == own
            || Some(foreground) == guards
            || (foreground.as_raw() == 0 && supervise::guard::is_isolated());
        if !ours || (foreground != own && tcsetpgrp(&self.tty, own).is_err()) {
            return;
        }
        if self.on_pty {
            let _ = termios::tcsetattr(&self.tty, SetArg::TCSADRAIN, &cbreak(&self.saved));
        }
        self.held = Some(foreground);
    }

    fn release(&mut self) {
        let Some(back) = self.held.take() else { return };
        let _ = termios::tcsetattr(&self.tty, SetArg::TCSADRAIN, &self.saved);
        if back != getpgrp() && back.as_raw() != 0 {
            let _ = tcsetpgrp(&self.tty, back);
        }
    }

    /// Reads what was typed (to `WouldBlock`: the readiness is edge-triggered) and relays it,
    /// until the instance stops taking it.
    fn read_typed(&mut self, driver: &mut Driver) {
        let mut buf = [0u8; 4096];
        loop {
            relay_input(driver, &self.id, &mut self.typed);
            if self.held.is_none() || self.typed.len() >= TYPED_LIMIT {
                return;
            }
            match nix::unistd::read(&self.tty, &mut buf) {
                // End of file: Ctrl-D at the start of a line, in line mode (on pipes).
                Ok(0) => {
                    relay_input(driver, &self.id, &mut self.typed);
                    let _ = driver.close_stdin(&self.id);
                    return;
                }
                Ok(n) => self.typed.extend_from_slice(&buf[..n]),
                Err(Errno::EINTR) => {}
                // EAGAIN: all read. EIO: not in the foreground any more, or hung up.
                Err(_) => return,
            }
        }
    }
}

/// `saved` without line editing and echo, signals kept: the pty behind echoes and edits.
fn cbreak(saved: &Termios) -> Termios {
    let mut mode = saved.clone();
    mode.local_flags.remove(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::IEXTEN);
    mode.local_flags.insert(LocalFlags::ISIG);
    mode.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
    mode.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
    mode
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbreak_keeps_signals_and_drops_echo_and_line_editing() {
        let Ok(pty) = nix::pty::openpty(None, None) else { return };
        let saved = termios::tcgetattr(&pty.slave).expect("the modes of a new pty");
        let mode = cbreak(&saved);
        assert!(mode.local_flags.contains(LocalFlags::ISIG));
        assert!(!mode.local_flags.intersects(LocalFlags::ICANON | LocalFlags::ECHO));
        // Output processing stays: procman's lines keep ending in `\r\n` on the terminal.
        assert_eq!(mode.output_flags, saved.output_flags);
        assert_eq!(mode.control_chars[SpecialCharacterIndices::VMIN as usize], 1);
    }
}
