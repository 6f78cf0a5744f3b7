//! `procman attach NAME[.N]`: this terminal becomes the terminal of one instance of a running
//! `procman start`, through its control socket (docs/terminals.md, docs/control.md).
//!
//! What you type goes to the instance's standard input and what it prints shows here as it
//! comes, raw; `Ctrl-]` detaches, as in telnet, and the process keeps running. On an instance
//! with a pty the terminal is put in raw mode (every key goes to the program, Ctrl-C included,
//! and the pty echoes), and put back on every way out: detach, the end of the run, a signal,
//! an error, a panic. On an instance with pipes nothing would echo, so the terminal stays in
//! line mode: a line goes when you press Enter, and Ctrl-] (then Enter), Ctrl-D or Ctrl-C
//! detaches.
//!
//! A second connection follows the instance's events, to say here when its process ends or
//! starts again.

use std::io::{self, IsTerminal, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use serde_json::{Map, Value};

use crate::cli::TargetArgs;
use crate::control::client::{Client, TIMEOUT};
use crate::error::CliError;
use procman::control::proto::Request;

/// The detach key: Ctrl-], as in telnet.
pub(crate) const DETACH_KEY: u8 = 0x1d;

/// Signals that end the relay (and restore the terminal) instead of killing the command.
const ENDING_SIGNALS: [libc::c_int; 4] = [libc::SIGTERM, libc::SIGHUP, libc::SIGINT, libc::SIGQUIT];

/// The most input held here for procman while the instance does not read it. Piped input
/// waits beyond it (it is read no further); what is typed at a terminal beyond it is dropped,
/// so that Ctrl-] and the signals still work against a program that never reads.
const MAX_UNSENT: usize = 64 * 1024;

/// Runs the attachment until it is detached or procman closes it; exit code 0 then.
///
/// # Errors
/// No procman running, an unknown or busy instance, or a failure of the terminal or the
/// connection.
pub(crate) fn run(args: &TargetArgs) -> Result<i32, CliError> {
    attach_to(&crate::options::control_socket(&args.control), &args.target)
}

/// Attaches this terminal to `target` of the procman at `socket`, until it is detached
/// (`procman attach`, and the `a` key of `procman ps --watch`).
///
/// # Errors
/// As for [`run`].
pub(crate) fn attach_to(socket: &Path, target: &str) -> Result<i32, CliError> {
    let mut client = Client::connect(socket, TIMEOUT)?;
    let reply = client.request(&Request::Attach { target: target.to_owned() })?;
    let name = reply.get("process").and_then(Value::as_str).unwrap_or(target).to_owned();
    let on_pty = reply.get("tty") == Some(&Value::Bool(true));
    // Best effort: without it the relay works, only the notices are missing.
    let events = Client::connect(socket, TIMEOUT)
        .and_then(|mut events| events.request(&Request::Events).map(|_| events))
        .ok()
        .map(Client::into_stream);
    let (stream, early) = client.into_stream();
    // Never blocked on procman: an instance that does not read its input must not keep the
    // detach key and the signals from being seen.
    stream.set_nonblocking(true).map_err(|e| CliError::io("cannot set up the connection", e))?;
    let terminal = io::stdin().is_terminal();
    let raw = terminal && on_pty;
    let pid = reply.get("pid").and_then(Value::as_u64);
    let running = pid.map_or_else(|| "no process now".to_owned(), |pid| format!("pid {pid}"));
    let keys = match (terminal, raw) {
        (true, true) => "; Ctrl-] detaches",
        (true, false) => "; Ctrl-] then Enter, or Ctrl-D, detaches",
        (false, _) => "",
    };
    let signals = SignalPipe::new().map_err(|e| terminal_error("cannot handle signals", e))?;
    let mode = if raw {
        Some(RawMode::enter().map_err(|e| terminal_error("cannot set raw mode", e))?)
    } else {
        None
    };
    // Once the terminal is ready: what is typed after this line reaches the process as typed.
    let end = if raw { "\r\n" } else { "\n" };
    eprint!("procman: attached to {name} ({running}){keys}{end}");
    let mut relay = Relay {
        name: name.clone(),
        stream,
        events: events.map(|(stream, early)| Lines { stream, buffer: early }),
        raw,
        terminal,
        unsent: Vec::new(),
        dropped_input: false,
    };
    let ending = relay.run(&early, &signals);
    drop(mode);
    match ending {
        Ok(Ending::Detached) => eprintln!("procman: detached from {name}; it keeps running"),
        Ok(Ending::InputEnded) => {}
        Ok(Ending::Closed) => {
            eprintln!("procman: connection closed ({name} was removed, or the run ended)");
        }
        Ok(Ending::Signal) => eprintln!("procman: detached from {name} (signal)"),
        Err(err) => return Err(err),
    }
    Ok(0)
}

fn terminal_error(what: &str, err: io::Error) -> CliError {
    CliError::io(what, err)
}

/// How a relay ended.
#[derive(Debug, PartialEq, Eq)]
enum Ending {
    /// Ctrl-] (or Ctrl-D on a terminal in line mode).
    Detached,
    /// Standard input (not a terminal) ended, and procman closed the connection after it.
    InputEnded,
    /// procman closed the connection: the instance was removed or the run ended.
    Closed,
    /// SIGTERM, SIGHUP, SIGINT or SIGQUIT.
    Signal,
}

/// The terminal in raw mode, put back on drop.
struct RawMode;

impl RawMode {
    fn enter() -> io::Result<RawMode> {
        crossterm::terminal::enable_raw_mode()?;
        Ok(RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// A socket pair the ending signals write to (signal-hook's self-pipe), polled with the rest;
/// the handlers go when it drops.
struct SignalPipe {
    read: UnixStream,
    registered: Vec<signal_hook::SigId>,
}

impl SignalPipe {
    fn new() -> io::Result<SignalPipe> {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        let mut pipe = SignalPipe { read, registered: Vec::new() };
        for signal in ENDING_SIGNALS {
            let id = signal_hook::low_level::pipe::register(signal, write.try_clone()?)?;
            pipe.registered.push(id);
        }
        Ok(pipe)
    }
}

impl Drop for SignalPipe {
    fn drop(&mut self) {
        for id in self.registered.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// A connection read line by line without blocking (the events).
struct Lines {
    stream: UnixStream,
    buffer: Vec<u8>,
}

struct Relay {
    name: String,
    stream: UnixStream,
    events: Option<Lines>,
    /// The terminal is in raw mode: lines end with `\r\n`.
    raw: bool,
    /// Standard input is a terminal (its end is a detach, not the end of the input).
    terminal: bool,
    /// Input read and not yet taken by procman (at most [`MAX_UNSENT`] bytes).
    unsent: Vec<u8>,
    /// Typed input was dropped (said once).
    dropped_input: bool,
}

impl Relay {
    fn run(&mut self, early: &[u8], signals: &SignalPipe) -> Result<Ending, CliError> {
        self.show(early)?;
        let mut input_open = true;
        // The input ended: the connection's writing side closes once all is sent.
        let mut input_ended = false;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            // Read with `read(2)`: std's `Stdin` buffers, which would hide bytes from `poll`.
            let stdin = io::stdin();
            let mut stream_flags = PollFlags::POLLIN;
            if !self.unsent.is_empty() {
                stream_flags |= PollFlags::POLLOUT;
            }
            let mut fds = vec![
                PollFd::new(self.stream.as_fd(), stream_flags),
                PollFd::new(signals.read.as_fd(), PollFlags::POLLIN),
            ];
            if let Some(events) = &self.events {
                fds.push(PollFd::new(events.stream.as_fd(), PollFlags::POLLIN));
            }
            // Piped input waits in its pipe while procman has no room; a terminal is always
            // read (for Ctrl-]).
            let read_input = input_open && (self.terminal || self.unsent.len() < MAX_UNSENT);
            if read_input {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(err) => return Err(self.io("poll", err.into())),
            }
            let ready: Vec<bool> = fds.iter().map(|fd| fd.any().unwrap_or(false)).collect();
            drop(fds);
            if ready[1] {
                return Ok(Ending::Signal);
            }
            if ready[0] {
                match (&self.stream).read(&mut buf) {
                    Ok(0) => {
                        return Ok(if input_open { Ending::Closed } else { Ending::InputEnded });
                    }
                    Ok(n) => self.show(&buf[..n])?,
                    Err(err)
                        if matches!(
                            err.kind(),
                            io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                        ) => {}
                    Err(_) => return Ok(Ending::Closed),
                }
                self.flush()?;
                if input_ended && self.unsent.is_empty() {
                    input_ended = false;
                    let _ = self.stream.shutdown(Shutdown::Write);
                }
            }
            if self.events.is_some() && ready[2] {
                self.read_events();
            }
            if read_input && ready.last().copied().unwrap_or(false) {
                match nix::unistd::read(stdin.as_fd(), &mut buf) {
                    Ok(0) if self.terminal => return Ok(Ending::Detached),
                    Ok(0) => {
                        // The input ended: procman closes the connection once it has it all.
                        input_open = false;
                        input_ended = true;
                        if self.unsent.is_empty() {
                            input_ended = false;
                            let _ = self.stream.shutdown(Shutdown::Write);
                        }
                    }
                    Ok(n) => {
                        let typed = &buf[..n];
                        let detach = typed.iter().position(|b| *b == DETACH_KEY);
                        self.send(&typed[..detach.unwrap_or(n)])?;
                        if detach.is_some() {
                            return Ok(Ending::Detached);
                        }
                    }
                    Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
                    Err(err) => return Err(self.io("reading the terminal", err.into())),
                }
            }
        }
    }

    /// Queues what was read for procman and sends what the connection takes now. A terminal's
    /// keys beyond [`MAX_UNSENT`] are dropped (the instance is not reading), and this says so.
    fn send(&mut self, bytes: &[u8]) -> Result<(), CliError> {
        let room = MAX_UNSENT.saturating_sub(self.unsent.len());
        if bytes.len() > room && self.terminal {
            if !self.dropped_input {
                self.dropped_input = true;
                let end = if self.raw { "\r\n" } else { "\n" };
                let _ = write!(
                    io::stderr().lock(),
                    "{end}[procman] {} is not reading its input: what is typed is dropped{end}",
                    self.name
                );
            }
            self.unsent.extend_from_slice(&bytes[..room]);
        } else {
            self.unsent.extend_from_slice(bytes);
        }
        self.flush()
    }

    /// Writes what waits for procman until the connection would block.
    fn flush(&mut self) -> Result<(), CliError> {
        while !self.unsent.is_empty() {
            match (&self.stream).write(&self.unsent) {
                Ok(n) => {
                    self.unsent.drain(..n);
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(self.io("sending", err)),
            }
        }
        Ok(())
    }

    /// What the instance printed, as it came.
    fn show(&self, bytes: &[u8]) -> Result<(), CliError> {
        if bytes.is_empty() {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        out.write_all(bytes).and_then(|()| out.flush()).map_err(|err| self.io("writing", err))
    }

    /// Reads the event lines waiting, and says when the instance's process ends or starts.
    fn read_events(&mut self) {
        let Some(events) = &mut self.events else { return };
        let mut chunk = [0u8; 8192];
        match (&events.stream).read(&mut chunk) {
            Ok(0) | Err(_) => {
                self.events = None;
                return;
            }
            Ok(n) => events.buffer.extend_from_slice(&chunk[..n]),
        }
        let mut notices = Vec::new();
        while let Some(end) = events.buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = events.buffer.drain(..=end).collect();
            if let Ok(Value::Object(event)) = serde_json::from_slice::<Value>(&line) {
                notices.extend(notice(&event, &self.name));
            }
        }
        // A line as long as this is no event procman sends.
        if events.buffer.len() > 1 << 20 {
            events.buffer.clear();
        }
        for text in notices {
            let end = if self.raw { "\r\n" } else { "\n" };
            let _ = write!(io::stderr().lock(), "{end}[procman] {text}{end}");
        }
    }

    fn io(&self, what: &str, source: io::Error) -> CliError {
        CliError::io(format!("attached to {}: {what}", self.name), source)
    }
}

/// What to say about an event of the attached instance: its process started, or ended.
fn notice(event: &Map<String, Value>, name: &str) -> Option<String> {
    if event.get("process").and_then(Value::as_str) != Some(name) {
        return None;
    }
    if event.get("event").and_then(Value::as_str) != Some("state") {
        return None;
    }
    let to = event.get("to").and_then(Value::as_str).unwrap_or_default();
    if let Some(code) = event.get("exit_code").and_then(Value::as_i64) {
        return Some(format!("{name} exited with code {code} (now {to}); still attached"));
    }
    if let Some(signal) = event.get("exit_signal").and_then(Value::as_str) {
        return Some(format!("{name} was terminated by {signal} (now {to}); still attached"));
    }
    match (to, event.get("pid").and_then(Value::as_u64)) {
        ("starting", Some(pid)) => Some(format!("{name} started with pid {pid}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(text: &str) -> Map<String, Value> {
        match serde_json::from_str(text) {
            Ok(Value::Object(object)) => object,
            _ => Map::new(),
        }
    }

    #[test]
    fn attach_notices_say_when_the_process_ends_or_starts() {
        let exited = event(
            r#"{"v":1,"event":"state","process":"web.1","from":"running","to":"exited","exit_code":3,"exit_signal":null,"pid":12}"#,
        );
        assert_eq!(
            notice(&exited, "web.1").as_deref(),
            Some("web.1 exited with code 3 (now exited); still attached")
        );
        assert_eq!(notice(&exited, "web.2"), None);
        let killed = event(
            r#"{"v":1,"event":"state","process":"web.1","to":"backoff","exit_code":null,"exit_signal":"SIGKILL"}"#,
        );
        assert_eq!(
            notice(&killed, "web.1").as_deref(),
            Some("web.1 was terminated by SIGKILL (now backoff); still attached")
        );
        let started =
            event(r#"{"v":1,"event":"state","process":"web.1","to":"starting","pid":40}"#);
        assert_eq!(notice(&started, "web.1").as_deref(), Some("web.1 started with pid 40"));
        let running = event(r#"{"v":1,"event":"state","process":"web.1","to":"running","pid":40}"#);
        assert_eq!(notice(&running, "web.1"), None);
        let signal = event(r#"{"v":1,"event":"signal","process":"web.1","signal":"SIGTERM"}"#);
        assert_eq!(notice(&signal, "web.1"), None);
    }
}
