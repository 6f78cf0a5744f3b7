//! The set of output pipes being read, with fair, bounded reads.
//!
//! Readiness is edge-triggered, so a pipe that was not read to `WouldBlock` stays on the
//! pending list and the next turn does not wait. Each turn reads at most [`TURN_BUDGET`] from
//! each pipe before moving to the next, so one chatty process cannot starve the others, and
//! output is never read faster than the host takes it: a slow consumer back-pressures the
//! children through their full pipes instead of growing memory here.
//!
//! The master side of an instance's pty is read the same way, through [`TerminalText`] (its
//! `\r\n` and carriage-return redraws undone) in front of the line assembler; its end comes
//! as EIO once every slave descriptor is closed, which ends it like a pipe's EOF. An instance
//! whose raw output is tapped ([`PipeSet::set_tap`]) also gets every read as it came.

use std::collections::{HashSet, VecDeque};
use std::io::{self, ErrorKind, Read};
use std::os::fd::{AsRawFd, OwnedFd};

use mio::unix::pipe::Receiver;
use mio::{Interest, Poll, Token};

use super::event::{Event, Output, RawOutput, Stream};
use super::lines::{Chunk, LineBuffer, READ_SIZE};
use super::terminal::TerminalText;
use crate::core::InstanceId;

/// Bytes read from one pipe per turn before the others get their share.
const TURN_BUDGET: usize = 4 * READ_SIZE;

/// One output pipe. Dropping it closes the descriptor, which also removes it from the poll
/// set (epoll and kqueue both forget a closed descriptor), so no explicit deregistration is
/// needed.
#[derive(Debug)]
struct Pipe {
    receiver: Receiver,
    id: InstanceId,
    pid: u32,
    stream: Stream,
    lines: LineBuffer,
    /// The translation in front of `lines`, for a pty.
    terminal: Option<TerminalText>,
}

/// Every open output pipe, by token.
#[derive(Debug)]
pub(crate) struct PipeSet {
    slots: Vec<Option<Pipe>>,
    pending: VecDeque<Token>,
    /// Ready pipes left unread for now (their program's start is not reported yet).
    deferred: Vec<Token>,
    max_line: usize,
    /// Where every read lands before its bytes go to the pipe's line buffer.
    scratch: Vec<u8>,
    /// Instances whose raw output is asked for.
    tapped: HashSet<InstanceId>,
}

impl PipeSet {
    pub(crate) fn new(max_line: usize) -> PipeSet {
        PipeSet {
            slots: Vec::new(),
            pending: VecDeque::new(),
            deferred: Vec::new(),
            max_line,
            scratch: Vec::new(),
            tapped: HashSet::new(),
        }
    }

    /// Starts or stops delivering `id`'s reads as they come ([`Event::RawOutput`]), for this
    /// process and the next ones of the instance.
    pub(crate) fn set_tap(&mut self, id: &InstanceId, on: bool) {
        if on {
            self.tapped.insert(id.clone());
        } else {
            self.tapped.remove(id);
        }
    }

    /// The output of `id` since its last newline (a prompt), not delivered as a line yet.
    pub(crate) fn unfinished(&self, id: &InstanceId) -> Vec<u8> {
        let mut bytes = Vec::new();
        for pipe in self.slots.iter().flatten().filter(|pipe| &pipe.id == id) {
            bytes.extend_from_slice(pipe.lines.unfinished());
            if let Some(terminal) = &pipe.terminal {
                bytes.extend_from_slice(terminal.unfinished());
            }
        }
        bytes
    }

    /// Starts reading `fd`, registered in `poll`; `pty` when it is a pty's master side.
    pub(crate) fn add(
        &mut self,
        poll: &Poll,
        fd: OwnedFd,
        (id, pid, stream): (InstanceId, u32, Stream),
        pty: bool,
    ) -> io::Result<()> {
        let receiver = Receiver::from(fd);
        receiver.set_nonblocking(true)?;
        let slot = self.slots.iter().position(Option::is_none).unwrap_or(self.slots.len());
        // Token 0 is the signal pipe.
        let token = Token(slot + 1);
        let raw = receiver.as_raw_fd();
        poll.registry().register(&mut mio::unix::SourceFd(&raw), token, Interest::READABLE)?;
        let terminal = pty.then(|| TerminalText::new(self.max_line));
        let pipe =
            Pipe { receiver, id, pid, stream, lines: LineBuffer::new(self.max_line), terminal };
        if slot == self.slots.len() {
            self.slots.push(Some(pipe));
        } else {
            self.slots[slot] = Some(pipe);
        }
        // Data may already be waiting (a fast child): read it on the next turn.
        self.pending.push_back(token);
        Ok(())
    }

    /// Notes that the pipe behind `token` became readable.
    pub(crate) fn mark_ready(&mut self, token: Token) {
        if !self.pending.contains(&token) {
            self.pending.push_back(token);
        }
    }

    /// Whether some pipe was not read to the end of its data.
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Gives every pending pipe one turn of reading, up to its budget, and returns the output
    /// in the order it was read.
    /// Pipes of a process for which `hold(pid)` is true are set aside until
    /// [`Self::release_all`].
    pub(crate) fn read_round(&mut self, hold: impl Fn(u32) -> bool) -> Vec<Event> {
        let mut out = Vec::new();
        for _ in 0..self.pending.len() {
            let Some(token) = self.pending.pop_front() else { break };
            let held =
                self.slots.get(token.0 - 1).and_then(Option::as_ref).is_some_and(|p| hold(p.pid));
            if held {
                self.deferred.push(token);
                continue;
            }
            if self.read_pipe(token, TURN_BUDGET, &mut out) {
                self.pending.push_back(token);
            }
        }
        out
    }

    /// Puts every set-aside pipe back in line for reading.
    pub(crate) fn release_all(&mut self) {
        self.pending.extend(self.deferred.drain(..));
    }

    /// Reads every pipe of process `pid` to `WouldBlock` (its writer is dead, so this ends).
    pub(crate) fn drain_pid(&mut self, pid: u32) -> Vec<Event> {
        let tokens: Vec<Token> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, p)| p.as_ref().is_some_and(|p| p.pid == pid))
            .map(|(slot, _)| Token(slot + 1))
            .collect();
        let mut out = Vec::new();
        for token in tokens {
            self.read_pipe(token, usize::MAX, &mut out);
            self.pending.retain(|t| *t != token);
        }
        out
    }

    /// Reads what every pipe holds and closes them all (end of a shutdown).
    pub(crate) fn close_all(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        for slot in 0..self.slots.len() {
            self.read_pipe(Token(slot + 1), usize::MAX, &mut out);
            if let Some(pipe) = self.slots[slot].take() {
                self.finish(pipe, &mut out);
            }
        }
        self.pending.clear();
        self.deferred.clear();
        out
    }

    /// Reads one pipe until `WouldBlock`, its end, or `budget` bytes, appending whole lines to
    /// `out`. Returns whether it may hold more right now.
    fn read_pipe(&mut self, token: Token, budget: usize, out: &mut Vec<Event>) -> bool {
        let slot = token.0 - 1;
        let Some(pipe) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return false;
        };
        if self.scratch.is_empty() {
            self.scratch = vec![0; READ_SIZE];
        }
        let tapped = self.tapped.contains(&pipe.id);
        // An untapped pipe's bytes go straight to its line buffer; the others are read here,
        // then copied to the tap, to a pty's translation, or to the line buffer.
        let direct = pipe.terminal.is_none() && !tapped;
        let mut read = 0;
        loop {
            let result = if direct {
                pipe.lines.read_from(&mut pipe.receiver, &mut self.scratch)
            } else {
                pipe.receiver.read(&mut self.scratch)
            };
            match result {
                Ok(0) => break,
                Ok(got) => {
                    read += got;
                    if tapped {
                        out.push(Event::RawOutput(RawOutput {
                            id: pipe.id.clone(),
                            pid: pipe.pid,
                            stream: pipe.stream,
                            data: self.scratch[..got].to_vec(),
                        }));
                    }
                    if !direct {
                        match &mut pipe.terminal {
                            Some(terminal) => terminal.push(&self.scratch[..got]),
                            None => {
                                let raw = self.scratch[..got].to_vec();
                                feed_bytes(pipe, &raw, &mut self.scratch, out);
                            }
                        }
                        feed_lines(pipe, &mut self.scratch, out);
                    }
                    take_lines(pipe, out);
                    if read >= budget {
                        return true;
                    }
                }
                Err(err) if err.kind() == ErrorKind::WouldBlock => return false,
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                // Any other error ends the stream like EOF does; for a pty, EIO is its EOF
                // (every slave descriptor is closed).
                Err(_) => break,
            }
        }
        // End of stream: out goes the last line even without its newline, and the pipe closes.
        if let Some(pipe) = self.slots[slot].take() {
            self.finish(pipe, out);
        }
        false
    }

    /// The end of a pipe's stream: what its translation and line buffer still hold goes out.
    fn finish(&mut self, mut pipe: Pipe, out: &mut Vec<Event>) {
        if let Some(terminal) = &mut pipe.terminal {
            terminal.finish();
            if self.scratch.is_empty() {
                self.scratch = vec![0; READ_SIZE];
            }
            feed_lines(&mut pipe, &mut self.scratch, out);
        }
        if let Some(chunk) = pipe.lines.finish() {
            out.push(Event::Output(output(&pipe, chunk)));
        }
    }
}

/// Moves what the pty's translation produced into the line buffer, taking the lines as they
/// form (the line buffer wants them taken after every read). `scratch` is free to reuse.
fn feed_lines(pipe: &mut Pipe, scratch: &mut [u8], out: &mut Vec<Event>) {
    let Some(terminal) = &mut pipe.terminal else { return };
    let text = terminal.take();
    feed_bytes(pipe, &text, scratch, out);
    if let Some(terminal) = &mut pipe.terminal {
        terminal.recycle(text);
    }
}

/// Gives `bytes` to the pipe's line buffer, taking the lines as they form. `scratch` is free
/// to reuse.
fn feed_bytes(pipe: &mut Pipe, mut bytes: &[u8], scratch: &mut [u8], out: &mut Vec<Event>) {
    while !bytes.is_empty() {
        // Reading from a slice cannot fail.
        if pipe.lines.read_from(&mut bytes, scratch).is_err() {
            break;
        }
        take_lines(pipe, out);
    }
}

fn take_lines(pipe: &mut Pipe, out: &mut Vec<Event>) {
    while let Some(chunk) = pipe.lines.take() {
        out.push(Event::Output(output(pipe, chunk)));
    }
}

fn output(pipe: &Pipe, chunk: Chunk) -> Output {
    Output {
        id: pipe.id.clone(),
        pid: pipe.pid,
        stream: pipe.stream,
        data: chunk.data,
        incomplete: chunk.incomplete,
    }
}
