//! `procman ps --watch`: the `ps` table redrawn in place, like `top`, on the terminal's
//! alternate screen, with a `%CPU` column computed between two samples a second apart.
//!
//! It redraws every second and at once on every change of the run (it follows the `events`
//! stream on a second connection), laid out for the terminal's size by the pure
//! [`layout::layout`]. With a terminal on standard input, keys act on the selected instance:
//! ↑/↓ (or k/j) select, `r` restarts, `s` stops, `a` attaches this terminal to it (`procman
//! attach`; Ctrl-] comes back here), `q` or Ctrl-C quits. The terminal is then in raw mode, so
//! Ctrl-C is a key, not a signal; SIGINT, SIGTERM and SIGHUP still end the watch (signal-hook
//! flags: no `unsafe` here). The screen guard's `Drop` restores the terminal on every way out
//! (a key, a signal, an error, procman going away, a panic).

mod layout;

use std::collections::HashMap;
use std::io::{self, IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossterm::cursor::{Hide, MoveTo, Show};
use crossterm::style::Print;
use crossterm::terminal::{Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::ps_table::{containment_line, duration, parse_ps, table_rows};
use crate::control::client::{Client, CtlError, TIMEOUT};
use crate::error::CliError;
use layout::{Frame, layout};
use procman::control::proto::{ProcessInfo, PsReply, Request};

/// CPU seconds of each instance (by name, with its pid, so a restart does not count as
/// negative time) at one instant; the totals under the empty name.
type Sample = (Instant, HashMap<String, (Option<u32>, f64)>);

/// How often the table is sampled (and `%CPU` computed).
const PERIOD: Duration = Duration::from_secs(1);

/// Set by SIGINT, SIGTERM or SIGHUP: leave the loop.
static STOP: AtomicBool = AtomicBool::new(false);
/// Set by SIGWINCH, which only interrupts the wait, so the table is redrawn at the new size at
/// once.
static RESIZED: AtomicBool = AtomicBool::new(false);

/// What a key asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Up,
    Down,
    Restart,
    Stop,
    Attach,
    Quit,
}

/// Runs the watch until `q`, Ctrl-C or a signal (exit 0), or until procman goes away (exit 0,
/// with a line saying so).
pub(crate) fn run(client: &mut Client, socket: &Path) -> Result<i32, CliError> {
    install_handlers()?;
    let keys = io::stdin().is_terminal();
    let mut watch = Watch {
        keys,
        selected: None,
        status: None,
        previous: None,
        events: follow_events(socket),
        names: Vec::new(),
    };
    let mut screen = Screen::enter(keys)?;
    let mut next_sample = Instant::now();
    let mut dirty = true;
    while !STOP.load(Ordering::SeqCst) {
        if dirty || Instant::now() >= next_sample || RESIZED.swap(false, Ordering::SeqCst) {
            let reply = match client.request(&Request::Ps) {
                Ok(reply) => parse_ps(reply)?,
                Err(CtlError::Closed { path } | CtlError::Io { path, .. }) => {
                    drop(screen);
                    println!("procman at {} has ended", path.display());
                    return Ok(0);
                }
                Err(err) => return Err(err.into()),
            };
            let now = Instant::now();
            let frame = watch.frame(&reply, now);
            let (width, height) = crossterm::terminal::size().unwrap_or((0, 0));
            let lines = layout(&frame, usize::from(width), usize::from(height));
            screen.draw(&lines).map_err(|e| CliError::io("cannot draw the table", e))?;
            if now >= next_sample {
                watch.previous = Some(sample(&reply, now));
                next_sample = now + PERIOD;
            }
            watch.names = reply.processes.iter().map(|p| p.process.clone()).collect();
            dirty = false;
        }
        let wait = next_sample.saturating_duration_since(Instant::now());
        let (typed, changed) = watch.wait(wait);
        dirty |= changed;
        for key in typed {
            match key {
                Key::Quit => return Ok(0),
                Key::Up | Key::Down => watch.select(key),
                Key::Restart | Key::Stop => watch.act(client, key),
                Key::Attach => {
                    let Some(name) = watch.selected.clone() else { continue };
                    drop(screen);
                    watch.status = super::attach::attach_to(socket, &name)
                        .err()
                        .map(|err| format!("attach {name}: {err}"));
                    screen = Screen::enter(keys)?;
                }
            }
            dirty = true;
        }
    }
    Ok(0)
}

/// What the watch remembers between frames.
struct Watch {
    /// Keys act on an instance (standard input is a terminal).
    keys: bool,
    /// The selected instance, by name (it stays selected while others come and go).
    selected: Option<String>,
    /// The answer to the last key's request.
    status: Option<String>,
    previous: Option<Sample>,
    /// The `events` connection, for redraws at each change.
    events: Option<UnixStream>,
    /// The instances of the last frame, in order.
    names: Vec<String>,
}

impl Watch {
    fn frame(&mut self, reply: &PsReply, now: Instant) -> Frame {
        let previous = &self.previous;
        let percent = |p: &ProcessInfo| -> String {
            let Some((at, samples)) = previous else { return "-".to_owned() };
            let Some(cpu) = p.cpu_seconds else { return "-".to_owned() };
            let elapsed = now.duration_since(*at).as_secs_f64();
            match samples.get(&p.process) {
                Some((pid, before)) if *pid == p.pid && elapsed > 0.0 && cpu >= *before => {
                    format!("{:.1}", (cpu - before) / elapsed * 100.0)
                }
                _ => "-".to_owned(),
            }
        };
        let keys = if self.keys {
            "↑/↓ select, r restart, s stop, a attach, q quit"
        } else {
            "every second, Ctrl-C to quit"
        };
        let title = format!(
            "procman {} (pid {}), up {}: {keys}",
            reply.procman.version,
            reply.procman.pid,
            duration(reply.procman.uptime_seconds)
        );
        let index = self
            .selected
            .as_ref()
            .and_then(|name| reply.processes.iter().position(|p| p.process == *name))
            .unwrap_or(0);
        if self.keys {
            self.selected = reply.processes.get(index).map(|p| p.process.clone());
        }
        let mut footer: Vec<String> = containment_line(reply).into_iter().collect();
        footer.extend(self.status.clone());
        Frame {
            title: vec![title, String::new()],
            rows: table_rows(reply, Some(&percent)),
            footer,
            selected: self.keys.then_some(index),
        }
    }

    /// Waits until `wait` has passed, a key is typed or the run changes; returns the keys and
    /// whether the run changed.
    fn wait(&mut self, wait: Duration) -> (Vec<Key>, bool) {
        let stdin = io::stdin();
        let mut fds = Vec::new();
        if let Some(events) = &self.events {
            fds.push(PollFd::new(events.as_fd(), PollFlags::POLLIN));
        }
        if self.keys {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX);
        // A signal cuts the wait short (EINTR); the loop looks at its flag.
        if poll(&mut fds, timeout).is_err() {
            return (Vec::new(), false);
        }
        let ready: Vec<bool> = fds.iter().map(|fd| fd.any().unwrap_or(false)).collect();
        drop(fds);
        let mut changed = false;
        let mut at = 0;
        if let Some(events) = &self.events {
            if ready[at] {
                let mut chunk = [0u8; 16 * 1024];
                match (&*events).read(&mut chunk) {
                    Ok(0) | Err(_) => {
                        // procman is going: the next request says so.
                        self.events = None;
                        changed = true;
                    }
                    Ok(n) => changed = chunk[..n].contains(&b'\n'),
                }
            }
            at += 1;
        }
        let mut typed = Vec::new();
        if self.keys && ready.get(at).copied().unwrap_or(false) {
            let mut buf = [0u8; 256];
            if let Ok(n) = nix::unistd::read(stdin.as_fd(), &mut buf) {
                typed = keys(&buf[..n]);
            }
        }
        (typed, changed)
    }

    fn select(&mut self, key: Key) {
        let at = self.selected.as_ref().and_then(|s| self.names.iter().position(|n| n == s));
        let at = match (key, at) {
            (Key::Up, Some(at)) => at.saturating_sub(1),
            (Key::Down, Some(at)) => (at + 1).min(self.names.len().saturating_sub(1)),
            _ => 0,
        };
        self.selected = self.names.get(at).cloned();
    }

    /// `r` and `s`: the request for the selected instance; its answer shows under the table.
    fn act(&mut self, client: &mut Client, key: Key) {
        let Some(target) = self.selected.clone() else { return };
        let request = match key {
            Key::Restart => Request::Restart { target },
            _ => Request::Stop { target },
        };
        self.status = Some(match client.request(&request) {
            Ok(reply) => reply.get("message").and_then(|m| m.as_str()).unwrap_or("done").to_owned(),
            Err(err) => err.to_string(),
        });
    }
}

/// The `events` stream on a connection of its own, read without blocking; `None` if it
/// cannot be had (the watch then redraws every second only).
fn follow_events(socket: &Path) -> Option<UnixStream> {
    let mut client = Client::connect(socket, TIMEOUT).ok()?;
    client.request(&Request::Events).ok()?;
    let (stream, _) = client.into_stream();
    stream.set_nonblocking(true).ok()?;
    Some(stream)
}

/// CPU seconds per instance now, for the next frame's `%CPU`.
fn sample(reply: &PsReply, now: Instant) -> Sample {
    let mut samples: HashMap<String, (Option<u32>, f64)> = reply
        .processes
        .iter()
        .filter_map(|p| Some((p.process.clone(), (p.pid, p.cpu_seconds?))))
        .collect();
    samples.insert(String::new(), (None, reply.total.cpu_seconds));
    (now, samples)
}

/// The keys in what was typed: arrows (`ESC [ A`, or `ESC O A` in application mode), letters,
/// Ctrl-C. Anything else is ignored.
fn keys(typed: &[u8]) -> Vec<Key> {
    let mut keys = Vec::new();
    let mut rest = typed;
    while let Some((&first, tail)) = rest.split_first() {
        rest = tail;
        let key = match first {
            0x1b => match rest {
                [b'[' | b'O', b'A', tail @ ..] => {
                    rest = tail;
                    Some(Key::Up)
                }
                [b'[' | b'O', b'B', tail @ ..] => {
                    rest = tail;
                    Some(Key::Down)
                }
                _ => None,
            },
            b'k' => Some(Key::Up),
            b'j' => Some(Key::Down),
            b'r' => Some(Key::Restart),
            b's' => Some(Key::Stop),
            b'a' => Some(Key::Attach),
            b'q' | 0x03 => Some(Key::Quit),
            _ => None,
        };
        keys.extend(key);
    }
    keys
}

fn install_handlers() -> Result<(), CliError> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGWINCH};
    for (signal, flag) in [(SIGINT, &STOP), (SIGTERM, &STOP), (SIGHUP, &STOP), (SIGWINCH, &RESIZED)]
    {
        signal_hook::flag::register(signal, flag)
            .map_err(|e| CliError::io(format!("cannot handle signal {signal}"), e))?;
    }
    Ok(())
}

/// The alternate screen (in raw mode when keys are read), left, with the cursor shown again
/// and the terminal's modes back, on drop.
struct Screen {
    out: io::Stdout,
    raw: bool,
}

impl Screen {
    fn enter(raw: bool) -> Result<Screen, CliError> {
        if raw {
            crossterm::terminal::enable_raw_mode()
                .map_err(|e| CliError::io("cannot set raw mode", e))?;
        }
        // Made before the screen changes, so its drop puts back what was changed.
        let mut screen = Screen { out: io::stdout(), raw };
        crossterm::execute!(screen.out, EnterAlternateScreen, Hide)
            .map_err(|e| CliError::io("cannot set up the terminal", e))?;
        Ok(screen)
    }

    /// Draws `lines` from the top left, and clears what the previous frame left below. No
    /// line ends in a newline, so nothing scrolls.
    fn draw(&mut self, lines: &[String]) -> io::Result<()> {
        let mut out = self.out.lock();
        let mut row: u16 = 0;
        for line in lines {
            crossterm::queue!(out, MoveTo(0, row), Print(line), Clear(ClearType::UntilNewLine))?;
            row = row.saturating_add(1);
        }
        crossterm::queue!(out, MoveTo(0, row), Clear(ClearType::FromCursorDown))?;
        out.flush()
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = crossterm::execute!(self.out, Show, LeaveAlternateScreen);
        if self.raw {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_keys_are_read_from_what_was_typed() {
        assert_eq!(keys(b"jjk"), [Key::Down, Key::Down, Key::Up]);
        assert_eq!(keys(b"\x1b[B\x1bOA"), [Key::Down, Key::Up]);
        assert_eq!(keys(b"rsa"), [Key::Restart, Key::Stop, Key::Attach]);
        assert_eq!(keys(b"\x03"), [Key::Quit]);
        assert_eq!(keys(b"xq"), [Key::Quit]);
        // An escape sequence that is not an arrow is skipped, not read as letters.
        assert!(keys(b"\x1b[C").is_empty());
    }
}
