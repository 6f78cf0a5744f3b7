//! Foreman's output: `HH:MM:SS name.N | line`, one color per process type, whole lines only.
//!
//! Every line is assembled in one buffer and the buffer goes to standard output in large
//! writes, once per loop turn, so lines of different processes can never interleave and a
//! busy app costs few system calls. Writes block: when whatever reads procman's output is slow,
//! procman waits, the children's pipes fill, and the children wait too; nothing is dropped.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::AsFd;
use std::time::SystemTime;

use owo_colors::{AnsiColors, OwoColorize, Style};

use crate::cli::ColorWhen;

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

/// Writes decorated lines to standard output.
pub(crate) struct Printer {
    out: BufWriter<File>,
    format: Format,
    colors: HashMap<String, usize>,
    prefixes: HashMap<String, Prefix>,
    clock: Clock,
    broken: bool,
}

impl Printer {
    /// A printer on standard output. `types` lists the process types in Procfile order, which
    /// decides their colors.
    pub(crate) fn new(format: Format, types: &[String]) -> io::Result<Printer> {
        // A separate handle on descriptor 1: std's `Stdout` flushes at every newline, which
        // would cost a system call per line.
        let fd = io::stdout().as_fd().try_clone_to_owned()?;
        let colors = types.iter().enumerate().map(|(i, name)| (name.clone(), i)).collect();
        Ok(Printer {
            out: BufWriter::with_capacity(BUFFER, File::from(fd)),
            format,
            colors,
            prefixes: HashMap::new(),
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
    pub(crate) fn output(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        if self.broken {
            return Ok(());
        }
        let data = data.strip_suffix(b"\n").unwrap_or(data);
        if !self.format.prefix {
            let result = self.out.write_all(data).and_then(|()| self.out.write_all(b"\n"));
            return self.check(result);
        }
        self.ensure_prefix(name);
        let stamp = self.clock.stamp(self.format.timestamps);
        let Some(prefix) = self.prefixes.get(name) else { return Ok(()) };
        let mut result = Ok(());
        for line in data.split(|b| *b == b'\n') {
            result = result
                .and_then(|()| self.out.write_all(prefix.start.as_bytes()))
                .and_then(|()| self.out.write_all(stamp.as_bytes()))
                .and_then(|()| self.out.write_all(prefix.rest.as_bytes()))
                .and_then(|()| self.out.write_all(line))
                .and_then(|()| self.out.write_all(b"\n"));
        }
        self.check(result)
    }

    /// Writes one of procman's own lines about process `name` (`web.1 | exited with code 3`).
    /// With `--no-prefix` these go to standard error, so the child's structured output stays
    /// clean.
    pub(crate) fn message(&mut self, name: &str, text: &str) -> io::Result<()> {
        if !self.format.prefix {
            let mut err = io::stderr().lock();
            return writeln!(err, "{name} | {text}");
        }
        self.output(name, text.as_bytes())
    }

    /// Writes a `system` line.
    pub(crate) fn system(&mut self, text: &str) -> io::Result<()> {
        self.message(SYSTEM, text)
    }

    /// Sends everything buffered to standard output.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        if self.broken {
            return Ok(());
        }
        let result = self.out.flush();
        self.check(result)
    }

    fn check(&mut self, result: io::Result<()>) -> io::Result<()> {
        if let Err(err) = &result {
            if err.kind() == io::ErrorKind::BrokenPipe {
                self.broken = true;
            }
        }
        result
    }

    fn ensure_prefix(&mut self, name: &str) {
        if self.prefixes.contains_key(name) {
            return;
        }
        let group = name.split('.').next().unwrap_or(name);
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
        self.prefixes.insert(name.to_owned(), prefix);
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
