//! Foreman's output: `HH:MM:SS name.N | line`, one color per process type, whole lines only.
//!
//! Every line is assembled in one buffer and the buffer goes to standard output in large
//! writes, once per loop turn, so lines of different processes can never interleave and a
//! busy app costs few system calls. When standard output is a pipe or a terminal, procman
//! writes to it through a non-blocking handle of its own: when whatever reads procman's output
//! is slow, the backlog grows, the run loop stops reading the children's pipes
//! ([`supervise::Driver::pause_output`]), the children wait on their full pipes, and nothing of
//! theirs is dropped while the app runs (procman's own lines, which nothing holds back, are
//! past [`MAX_BACKLOG`]); meanwhile signals and timers are still handled, so Ctrl-C works
//! even while the reader is stuck. No write, to standard output or standard error, ever waits
//! ([`stream`]); what is still queued when the app is gone can be dropped
//! ([`Printer::discard`]) rather than wait forever for a reader that stopped reading.

pub(crate) mod logfile;
mod stream;

use std::collections::HashMap;
use std::io;
use std::os::fd::RawFd;
use std::time::SystemTime;

use owo_colors::{AnsiColors, OwoColorize, Style};
use supervise::InstanceId;

use crate::cli::ColorWhen;
use stream::Stream;

/// Foreman's palette, in Procfile order: cyan, yellow, green, magenta, red, blue, then again.
const PALETTE: [AnsiColors; 6] = [
    AnsiColors::Cyan,
    AnsiColors::Yellow,
    AnsiColors::Green,
    AnsiColors::Magenta,
    AnsiColors::Red,
    AnsiColors::Blue,
];

/// The name procman's own lines carry.
pub(crate) const SYSTEM: &str = "system";

/// Output buffer size: large enough that a busy run makes few `write` calls.
const BUFFER: usize = 256 * 1024;

/// Beyond this backlog, the run stops reading the children's output until the reader catches up.
pub(crate) const HIGH_WATER: usize = 1024 * 1024;

/// Beyond this backlog, procman's own lines are dropped (and counted) instead of queued. The
/// children are held back at [`HIGH_WATER`], but procman's lines come from control requests
/// and signals, which a stalled reader does not hold back: without a bound, a flood of
/// `restart` requests grows the queue by a line each, for as long as the reader stalls.
const MAX_BACKLOG: usize = 4 * HIGH_WATER;

/// Whether to color, decided once from the flag, the environment and the terminal.
pub(crate) fn use_color(when: Option<ColorWhen>) -> bool {
    match when {
        Some(ColorWhen::Always) => true,
        Some(ColorWhen::Never) => false,
        // supports-color reads NO_COLOR, CLICOLOR_FORCE, FORCE_COLOR, TERM=dumb and whether
        // standard output is a terminal; Foreman also wants TERM set.
        None | Some(ColorWhen::Auto) => {
            supports_color::on(supports_color::Stream::Stdout).is_some_and(|level| level.has_basic)
                && (std::env::var_os("TERM").is_some_and(|t| !t.is_empty()) || forced_by_env())
        }
    }
}

fn forced_by_env() -> bool {
    ["CLICOLOR_FORCE", "FORCE_COLOR"]
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty() && v != "0"))
}

/// How lines are decorated.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Format {
    pub(crate) color: bool,
    pub(crate) timestamps: bool,
    pub(crate) prefix: bool,
    /// `-q/--quiet`: procman's own lines only for errors and exits ([`Printer::message`],
    /// [`Printer::alert`]); the rest ([`Printer::note`], [`Printer::system`]) are left out.
    pub(crate) quiet: bool,
    /// The width names are padded to (Foreman's rule, computed from the plan).
    pub(crate) width: usize,
}

/// The prefix of one name, split around the timestamp.
#[derive(Debug)]
struct Prefix {
    /// The color escape, or nothing.
    start: String,
    /// `name<pad> | ` and the reset escape.
    rest: String,
}

/// What [`Printer::discard`] dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Discarded {
    /// Lines (a line partly written counts as one).
    pub(crate) lines: usize,
    pub(crate) bytes: usize,
    /// procman's own lines for standard error (with `--no-prefix`) that it did not take.
    pub(crate) messages: usize,
}

/// Writes decorated lines to standard output.
pub(crate) struct Printer {
    out: Stream,
    /// Standard error, for procman's own lines with `--no-prefix` and for warnings.
    err: Stream,
    /// procman's own lines standard error did not take.
    dropped_messages: usize,
    /// procman's own lines for standard output dropped since the backlog passed
    /// [`MAX_BACKLOG`]; a line says how many once it is back under [`HIGH_WATER`].
    dropped_lines: usize,
    /// Bytes formatted and not yet written; `written` of them already went out.
    pending: Vec<u8>,
    written: usize,
    format: Format,
    colors: HashMap<String, usize>,
    /// Each instance's prefix, made at its first line.
    prefixes: HashMap<InstanceId, Prefix>,
    /// The prefix of procman's own `system` lines.
    system_prefix: Option<Prefix>,
    clock: Clock,
    broken: bool,
}

impl Printer {
    /// A printer on standard output. `types` lists the process types in Procfile order, which
    /// decides their colors.
    pub(crate) fn new(format: Format, types: &[String]) -> io::Result<Printer> {
        let colors = types.iter().enumerate().map(|(i, name)| (name.clone(), i)).collect();
        Ok(Printer {
            out: Stream::stdout()?,
            err: Stream::stderr()?,
            dropped_messages: 0,
            dropped_lines: 0,
            pending: Vec::with_capacity(BUFFER),
            written: 0,
            format,
            colors,
            prefixes: HashMap::new(),
            system_prefix: None,
            clock: Clock::default(),
            broken: false,
        })
    }

    /// Whether standard output was found closed (EPIPE); nothing more is written then.
    pub(crate) fn is_broken(&self) -> bool {
        self.broken
    }

    /// Writes a chunk of a child's output: whole lines, the last one without its newline when
    /// `incomplete`.
    pub(crate) fn output(&mut self, id: &InstanceId, data: &[u8]) -> io::Result<()> {
        self.write_lines(Some(id), data)
    }

    /// Writes lines under the prefix of instance `who`, or of `system` for `None`.
    fn write_lines(&mut self, who: Option<&InstanceId>, data: &[u8]) -> io::Result<()> {
        if self.broken {
            return Ok(());
        }
        let data = data.strip_suffix(b"\n").unwrap_or(data);
        if !self.format.prefix {
            self.pending.extend_from_slice(data);
            self.pending.push(b'\n');
            return self.flush_if_full();
        }
        self.ensure_prefix(who);
        let stamp = self.clock.stamp(self.format.timestamps);
        let prefix = match who {
            Some(id) => self.prefixes.get(id),
            None => self.system_prefix.as_ref(),
        };
        let Some(prefix) = prefix else { return Ok(()) };
        for line in data.split(|b| *b == b'\n') {
            self.pending.extend_from_slice(prefix.start.as_bytes());
            self.pending.extend_from_slice(stamp.as_bytes());
            self.pending.extend_from_slice(prefix.rest.as_bytes());
            self.pending.extend_from_slice(line);
            self.pending.push(b'\n');
        }
        self.flush_if_full()
    }

    /// Writes early when a large buffer has built up within one turn.
    fn flush_if_full(&mut self) -> io::Result<()> {
        if self.pending.len() - self.written >= BUFFER { self.flush() } else { Ok(()) }
    }

    /// Bytes waiting for standard output to take them.
    pub(crate) fn backlog(&self) -> usize {
        self.pending.len() - self.written
    }

    /// The descriptor to watch for writability while a backlog waits (none for a regular file,
    /// which never makes procman wait).
    pub(crate) fn pollable_fd(&self) -> Option<RawFd> {
        self.out.pollable_fd()
    }

    /// Writes one of procman's own lines about instance `id` that `--quiet` keeps: an exit or
    /// an error (`web.1 | exited with code 3`). With `--no-prefix` these go to standard error,
    /// so the child's structured output stays clean.
    pub(crate) fn message(&mut self, id: &InstanceId, text: &str) -> io::Result<()> {
        self.say(Some(id), text)
    }

    /// Writes one line to standard error if it takes it now; a stalled standard error costs the
    /// line (counted in [`Discarded::messages`]), never a wait.
    pub(crate) fn warn(&mut self, text: &str) {
        let line = format!("{text}\n");
        let mut written = 0;
        while written < line.len() {
            match self.err.write_now(&line.as_bytes()[written..]) {
                Ok(0) => break,
                Ok(n) => written += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        if written < line.len() {
            self.dropped_messages += 1;
        }
    }

    /// Writes bytes as they are: no prefix, no newline (the live line of `start --attach`,
    /// which erases and redraws itself around the lines).
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        // A redraw the reader never took is worth nothing: past the bound it is skipped.
        if !self.broken && self.backlog() < MAX_BACKLOG {
            self.pending.extend_from_slice(bytes);
        }
    }

    /// The prefix a line of `id` gets now (`HH:MM:SS web.1 | `, colored as its lines are);
    /// empty with `--no-prefix`.
    pub(crate) fn prefix_of(&mut self, id: &InstanceId) -> String {
        if !self.format.prefix {
            return String::new();
        }
        self.ensure_prefix(Some(id));
        let stamp = self.clock.stamp(self.format.timestamps);
        self.prefixes.get(id).map_or_else(String::new, |p| format!("{}{stamp}{}", p.start, p.rest))
    }

    /// Writes one of procman's own lines about instance `id` that `--quiet` leaves out
    /// (`web.1 | started with pid 42`).
    pub(crate) fn note(&mut self, id: &InstanceId, text: &str) -> io::Result<()> {
        if self.format.quiet {
            return Ok(());
        }
        self.message(id, text)
    }

    /// Writes a `system` line about the run (a signal, the shutdown, a state change), which
    /// `--quiet` leaves out.
    pub(crate) fn system(&mut self, text: &str) -> io::Result<()> {
        if self.format.quiet {
            return Ok(());
        }
        self.say(None, text)
    }

    /// Writes a `system` line that `--quiet` keeps: something went wrong (a process given up,
    /// one that did not stop in time, the guard gone).
    pub(crate) fn alert(&mut self, text: &str) -> io::Result<()> {
        self.say(None, text)
    }

    fn say(&mut self, who: Option<&InstanceId>, text: &str) -> io::Result<()> {
        if self.format.prefix && self.backlog() >= MAX_BACKLOG {
            self.dropped_lines = self.dropped_lines.saturating_add(1);
            return Ok(());
        }
        if !self.format.prefix {
            match who {
                Some(id) => self.warn(&format!("{id} | {text}")),
                None => self.warn(&format!("{SYSTEM} | {text}")),
            }
            return Ok(());
        }
        self.write_lines(who, text.as_bytes())
    }

    /// Writes what standard output takes now; the rest waits for the next call.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        if self.broken {
            self.pending.clear();
            self.written = 0;
            return Ok(());
        }
        while self.written < self.pending.len() {
            match self.out.write_now(&self.pending[self.written..]) {
                Ok(0) => break,
                Ok(n) => self.written += n,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return self.check(Err(err)),
            }
        }
        if self.written == self.pending.len() {
            self.pending.clear();
            self.written = 0;
            // A backlog that has gone out leaves its memory to the system, not to the buffer;
            // one of the children's output (held back at HIGH_WATER) keeps its room, or every
            // burst to a slow reader would grow and shrink it again.
            if self.pending.capacity() > 2 * HIGH_WATER {
                self.pending.shrink_to(BUFFER);
            }
        } else if self.written > self.pending.len() / 2 {
            self.pending.drain(..self.written);
            self.written = 0;
        }
        if self.dropped_lines > 0 && self.backlog() < HIGH_WATER {
            let count = std::mem::take(&mut self.dropped_lines);
            let lines = procman::diagnostic::plural(count, "line", "lines");
            let text = format!(
                "{count} of procman's own {lines} dropped: standard output did not keep up"
            );
            self.write_lines(None, text.as_bytes())?;
        }
        Ok(())
    }

    /// Drops everything not written yet (the end of a run whose reader stopped reading), and
    /// says how much that was.
    pub(crate) fn discard(&mut self) -> Discarded {
        let left = &self.pending[self.written..];
        let mut lines = memchr::memchr_iter(b'\n', left).count();
        if !left.is_empty() && !left.ends_with(b"\n") {
            lines += 1;
        }
        let discarded = Discarded {
            lines: lines.saturating_add(self.dropped_lines),
            bytes: left.len(),
            messages: self.dropped_messages,
        };
        self.pending.clear();
        self.pending.shrink_to(BUFFER);
        self.written = 0;
        self.dropped_messages = 0;
        self.dropped_lines = 0;
        discarded
    }

    fn check(&mut self, result: io::Result<()>) -> io::Result<()> {
        if let Err(err) = &result {
            if err.kind() == io::ErrorKind::BrokenPipe {
                self.broken = true;
            }
        }
        result
    }

    fn ensure_prefix(&mut self, who: Option<&InstanceId>) {
        let known = match who {
            Some(id) => self.prefixes.contains_key(id),
            None => self.system_prefix.is_some(),
        };
        if known {
            return;
        }
        let (name, group) = match who {
            Some(id) => (id.to_string(), &*id.group),
            None => (SYSTEM.to_owned(), SYSTEM),
        };
        let padded = format!("{name:<width$} | ", width = self.format.width);
        let prefix = if self.format.color {
            let style = match self.colors.get(group) {
                Some(index) => Style::new().color(PALETTE[index % PALETTE.len()]),
                None => Style::new().white(),
            };
            // The escape opens before the timestamp and closes after the bar, as Foreman does;
            // splitting a styled marker string gives the two halves.
            let styled = "\u{0}".style(style).to_string();
            let (start, end) = styled.split_once('\u{0}').unwrap_or(("", ""));
            Prefix { start: start.to_owned(), rest: format!("{padded}{end}") }
        } else {
            Prefix { start: String::new(), rest: padded }
        };
        match who {
            Some(id) => {
                self.prefixes.insert(id.clone(), prefix);
            }
            None => self.system_prefix = Some(prefix),
        }
    }
}

/// The local `HH:MM:SS ` stamp, formatted once per second.
#[derive(Default)]
struct Clock {
    second: u64,
    text: String,
    zone: Option<jiff::tz::TimeZone>,
}

impl Clock {
    fn stamp(&mut self, enabled: bool) -> String {
        if !enabled {
            return String::new();
        }
        let now = SystemTime::now();
        let second = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if second != self.second || self.text.is_empty() {
            self.second = second;
            let zone = self.zone.get_or_insert_with(jiff::tz::TimeZone::system).clone();
            self.text = match jiff::Timestamp::try_from(now) {
                Ok(ts) => ts.to_zoned_datetime(zone).strftime("%H:%M:%S ").to_string(),
                Err(_) => "??:??:?? ".to_owned(),
            };
        }
        self.text.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::os::fd::OwnedFd;
    use std::os::unix::net::UnixStream;

    use super::*;

    fn format() -> Format {
        Format { color: false, timestamps: false, prefix: true, quiet: false, width: 6 }
    }

    #[test]
    fn procman_s_own_lines_stay_bounded_while_the_reader_stalls_and_the_drop_is_counted() {
        let (ours, mut theirs) = UnixStream::pair().expect("socketpair");
        let mut printer = Printer::new(format(), &["web".to_owned()]).expect("printer");
        printer.out = Stream::socket(OwnedFd::from(ours));
        let line = "restarting web (1 instance), as requested over the control socket";
        // A flood of control requests, each a line, while nobody reads: 20 MiB of lines.
        let count = 20 * MAX_BACKLOG / line.len();
        for _ in 0..count {
            printer.system(line).expect("queued");
            printer.flush().expect("flushed");
        }
        assert!(printer.backlog() <= MAX_BACKLOG + 1024, "backlog {}", printer.backlog());
        assert!(printer.dropped_lines > 0);
        // The reader catches up: what was queued arrives, then the count of what was not.
        theirs.set_nonblocking(true).expect("nonblocking");
        let mut received = Vec::new();
        let mut buf = vec![0; 1 << 16];
        while !received.ends_with(b"standard output did not keep up\n") {
            printer.flush().expect("flushed");
            match theirs.read(&mut buf) {
                Ok(n) => received.extend_from_slice(&buf[..n]),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => panic!("read: {err}"),
            }
        }
        let text = String::from_utf8_lossy(&received);
        let kept = text.lines().filter(|l| l.ends_with(line)).count();
        let notice = text.lines().last().expect("a notice");
        assert_eq!(
            notice,
            format!(
                "system | {} of procman's own lines dropped: standard output did not keep up",
                count - kept
            )
        );
        assert!(kept > 0 && kept < count, "{kept} of {count}");
        assert_eq!(printer.backlog(), 0);
        assert!(
            printer.pending.capacity() <= 2 * HIGH_WATER,
            "memory kept: {}",
            printer.pending.capacity()
        );
    }
}
