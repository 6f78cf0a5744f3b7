//! The input side of instances: the write end of each stdin pipe the driver holds
//! ([`StdinSpec::Host`](crate::StdinSpec::Host)) and the master side of each pty, with the
//! host's bytes queued for them, the window size, and the count of ptys in use.
//!
//! Writes never block the loop: a descriptor is written until it is full, and the rest waits
//! in a bounded queue until the poll set says it is writable again. A program that does not
//! read its input fills the queue, and [`Driver::write_stdin`] then takes less than it was
//! given (or nothing); [`Event::StdinReady`] says when to offer the rest.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use mio::{Interest, Registry, Token};
use nix::errno::Errno;

use super::Driver;
use super::event::Event;
use crate::core::InstanceId;
use crate::sys::pty::{self, WindowSize};
use crate::sys::spawn::InputEnd;

/// Tokens of input descriptors: this base plus the slot (the layout of every token is in
/// `reactor/mod.rs`).
const INPUT_BASE: usize = 1 << 36;
/// Tokens up to here are input descriptors (the watch tokens start far above).
const INPUT_END: usize = INPUT_BASE + (1 << 32);
/// The most bytes queued for one instance, beyond what its pipe or pty holds.
const QUEUE_LIMIT: usize = 64 * 1024;

/// Why [`Driver::write_stdin`] or [`Driver::close_stdin`] could not be done.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StdinError {
    /// No process of the instance runs now (or there is no such instance).
    #[error("`{0}` is not running")]
    NotRunning(InstanceId),
    /// The instance's standard input is not [`crate::StdinSpec::Host`].
    #[error("the input of `{0}` does not come from the supervisor")]
    NotFromHost(InstanceId),
    /// The program closed its standard input, or [`Driver::close_stdin`] did.
    #[error("`{0}` has closed its input")]
    Closed(InstanceId),
    /// A terminal's input has no end: write its end-of-file character instead (Ctrl-D,
    /// `\x04`, at the start of a line).
    #[error("the input of `{0}` is a terminal, which cannot be closed")]
    Terminal(InstanceId),
}

#[derive(Debug)]
struct Input {
    id: InstanceId,
    pid: u32,
    /// `None` once closed.
    fd: Option<OwnedFd>,
    pty: bool,
    /// The program reads what is written here.
    stdin: bool,
    queue: VecDeque<u8>,
    /// No write has hit `WouldBlock` since the last writable event.
    writable: bool,
    /// A write was refused in part: say when the queue empties.
    refused: bool,
    /// Close once the queue is written ([`Driver::close_stdin`]).
    close_when_written: bool,
}

/// Every instance's input side, by slot.
#[derive(Debug)]
pub(super) struct InputSet {
    slots: Vec<Option<Input>>,
    registry: Registry,
    window: WindowSize,
    max_ptys: Option<usize>,
    /// Instances whose process runs on a pty.
    ptys: usize,
    /// A fallback to pipes was reported and no pty was had since.
    fallback_reported: bool,
}

impl InputSet {
    pub(super) fn new(registry: Registry, max_ptys: Option<usize>) -> InputSet {
        InputSet {
            slots: Vec::new(),
            registry,
            window: WindowSize::default(),
            max_ptys,
            ptys: 0,
            fallback_reported: false,
        }
    }

    /// The slot behind `token`, if it is an input token.
    pub(super) fn slot_of(token: Token) -> Option<usize> {
        (INPUT_BASE..INPUT_END).contains(&token.0).then(|| token.0 - INPUT_BASE)
    }

    /// The window size for a new pty, or `None` when the cap on ptys is reached.
    pub(super) fn pty_window(&self) -> Option<WindowSize> {
        match self.max_ptys {
            Some(cap) if self.ptys >= cap => None,
            _ => Some(self.window),
        }
    }

    /// Takes what a spawn left for the input side. `wanted_pty`: the program asked for a pty;
    /// `pty_error`: why it did not get one, if it tried. Returns the fallback's report, if
    /// one is due.
    pub(super) fn spawned(
        &mut self,
        id: &InstanceId,
        pid: u32,
        input: Option<InputEnd>,
        (wanted_pty, on_pty, pty_error): (bool, bool, Option<io::Error>),
    ) -> Option<Event> {
        if let Some(end) = input {
            self.add(id, pid, end);
        }
        if on_pty {
            self.fallback_reported = false;
        }
        if !wanted_pty || on_pty || self.fallback_reported {
            return None;
        }
        self.fallback_reported = true;
        let reason = match (pty_error, self.max_ptys) {
            (Some(error), _) => format!("cannot open a pty: {error}"),
            (None, Some(cap)) => format!("the cap of {cap} ptys is reached"),
            (None, None) => "no pty was given".to_owned(),
        };
        Some(Event::PtyUnavailable { id: id.clone(), reason })
    }

    fn add(&mut self, id: &InstanceId, pid: u32, end: InputEnd) {
        let slot = self.slots.iter().position(Option::is_none).unwrap_or(self.slots.len());
        // Without non-blocking writes the loop could hang on a full pipe: such an input is
        // left out (the program still runs, its input stays open and empty).
        if end.stdin && set_nonblocking(&end.fd).is_err() {
            return;
        }
        if end.stdin {
            let raw = end.fd.as_raw_fd();
            let token = Token(INPUT_BASE + slot);
            let registered =
                self.registry.register(&mut mio::unix::SourceFd(&raw), token, Interest::WRITABLE);
            if registered.is_err() {
                return;
            }
        }
        if end.pty {
            self.ptys += 1;
        }
        let input = Input {
            id: id.clone(),
            pid,
            fd: Some(end.fd),
            pty: end.pty,
            stdin: end.stdin,
            queue: VecDeque::new(),
            writable: true,
            refused: false,
            close_when_written: false,
        };
        if slot == self.slots.len() {
            self.slots.push(Some(input));
        } else {
            self.slots[slot] = Some(input);
        }
    }

    /// Forgets the input of process `pid` (it was reaped): queued bytes are dropped.
    pub(super) fn remove_pid(&mut self, pid: u32) {
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|input| input.pid == pid) {
                if let Some(mut input) = slot.take() {
                    if input.pty {
                        self.ptys -= 1;
                    }
                    close(&self.registry, &mut input);
                }
            }
        }
    }

    /// The descriptor behind `token` became writable: writes what waits. Returns the
    /// instance when a refused writer should now offer the rest.
    pub(super) fn writable(&mut self, slot: usize) -> Option<InstanceId> {
        let input = self.slots.get_mut(slot).and_then(Option::as_mut)?;
        input.writable = true;
        flush(&self.registry, input)
    }

    /// Queues `bytes` (as many as fit) and writes what it can now. Returns the count taken,
    /// and whether the refused writer may go on at once (all was written after all).
    fn write(&mut self, id: &InstanceId, bytes: &[u8]) -> Result<(usize, bool), StdinError> {
        let input = find(&mut self.slots, id)?;
        if input.fd.is_none() || input.close_when_written {
            return Err(StdinError::Closed(id.clone()));
        }
        // What waits goes first; with nothing waiting, the bytes go straight to the program
        // and only what it has no room for is queued.
        flush(&self.registry, input);
        let mut taken = 0;
        if let (true, Some(fd)) = (input.queue.is_empty(), &input.fd) {
            match write_now(fd, bytes, &mut input.writable) {
                Ok(written) => taken = written,
                Err(_) => close(&self.registry, input),
            }
        }
        let queued = (bytes.len() - taken).min(QUEUE_LIMIT.saturating_sub(input.queue.len()));
        input.queue.extend(&bytes[taken..taken + queued]);
        taken += queued;
        if taken < bytes.len() {
            input.refused = true;
        }
        let ready = flush(&self.registry, input).is_some();
        if input.fd.is_none() {
            return Err(StdinError::Closed(id.clone()));
        }
        Ok((taken, ready))
    }

    fn close_input(&mut self, id: &InstanceId) -> Result<(), StdinError> {
        let input = find(&mut self.slots, id)?;
        if input.pty {
            return Err(StdinError::Terminal(id.clone()));
        }
        input.close_when_written = true;
        flush(&self.registry, input);
        Ok(())
    }

    fn set_window(&mut self, size: WindowSize) {
        self.window = size;
        for input in self.slots.iter().flatten().filter(|input| input.pty) {
            if let Some(fd) = &input.fd {
                // A pty whose program is gone refuses; it is about to be forgotten.
                let _ = pty::set_window_size(fd, size);
            }
        }
    }
}

/// The input of `id`'s running process, if the host may write it.
fn find<'a>(slots: &'a mut [Option<Input>], id: &InstanceId) -> Result<&'a mut Input, StdinError> {
    let input = slots
        .iter_mut()
        .flatten()
        .find(|input| &input.id == id)
        .ok_or_else(|| StdinError::NotRunning(id.clone()))?;
    if !input.stdin {
        return Err(StdinError::NotFromHost(id.clone()));
    }
    Ok(input)
}

/// Writes the queue until it is empty or the descriptor is full; closes the descriptor when
/// the reader is gone or a close was asked for and all is written. Returns the instance when
/// a refused writer should offer the rest (the queue emptied, or the input closed).
fn flush(registry: &Registry, input: &mut Input) -> Option<InstanceId> {
    while input.writable && !input.queue.is_empty() {
        let Some(fd) = &input.fd else { break };
        let (front, _) = input.queue.as_slices();
        let wanted = front.len();
        match write_now(fd, front, &mut input.writable) {
            Ok(written) => {
                input.queue.drain(..written);
                if written < wanted {
                    break;
                }
            }
            Err(_) => {
                input.queue.clear();
                close(registry, input);
            }
        }
    }
    if input.queue.is_empty() && input.close_when_written {
        close(registry, input);
    }
    let emptied = input.queue.is_empty() || input.fd.is_none();
    if input.refused && emptied {
        input.refused = false;
        return Some(input.id.clone());
    }
    None
}

/// Writes as much of `data` as `fd` takes now (`writable` turns false when it is full). An
/// error means nothing more will be read: EPIPE, the reader is gone (the driver handles
/// SIGPIPE, so this is an error and not a death), or EIO, the pty's program is gone.
fn write_now(fd: &OwnedFd, data: &[u8], writable: &mut bool) -> Result<usize, Errno> {
    let mut written = 0;
    while *writable && written < data.len() {
        match nix::unistd::write(fd, &data[written..]) {
            Ok(count) => written += count,
            Err(Errno::EAGAIN) => *writable = false,
            Err(Errno::EINTR) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(written)
}

fn close(registry: &Registry, input: &mut Input) {
    if let Some(fd) = input.fd.take() {
        if input.stdin {
            let _ = registry.deregister(&mut mio::unix::SourceFd(&fd.as_raw_fd()));
        }
    }
}

fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

impl Driver {
    /// Writes `bytes` to the standard input of `id`'s running process
    /// ([`StdinSpec::Host`](crate::StdinSpec::Host): its stdin pipe, or its pty, where the
    /// terminal echoes it and turns a `\r` into `\n` as for typed keys). Never blocks: what
    /// the program has not read yet waits in a queue of at most 64 KiB, and the count
    /// returned may be less than `bytes.len()` (even zero) when that queue is full; offer the
    /// rest after [`Event::StdinReady`]. Bytes queued for a process are dropped when it ends.
    ///
    /// # Errors
    /// [`StdinError`]: the instance runs no process now, its input is not the host's, or the
    /// program closed it.
    pub fn write_stdin(&mut self, id: &InstanceId, bytes: &[u8]) -> Result<usize, StdinError> {
        self.check_host_input(id)?;
        let (taken, ready) = self.inputs.write(id, bytes)?;
        if ready {
            self.events.push(Event::StdinReady(id.clone()));
        }
        Ok(taken)
    }

    /// Closes `id`'s standard input once what is queued is written: the program reads end of
    /// file. For its running process only (the next one gets an open input again).
    ///
    /// # Errors
    /// As for [`Driver::write_stdin`]; [`StdinError::Terminal`] on a pty.
    pub fn close_stdin(&mut self, id: &InstanceId) -> Result<(), StdinError> {
        self.check_host_input(id)?;
        self.inputs.close_input(id)
    }

    /// An instance whose spec does not take its input from the host has none to write.
    fn check_host_input(&self, id: &InstanceId) -> Result<(), StdinError> {
        match self.core.spec(&id.group) {
            Some(spec) if spec.stdin != crate::spec::StdinSpec::Host => {
                Err(StdinError::NotFromHost(id.clone()))
            }
            _ => Ok(()),
        }
    }

    /// Sets the window size of every pty, now and for those opened later (80x24 until
    /// then). The kernel sends SIGWINCH to each pty's foreground process group when its size
    /// changed. A host whose terminal is `cols` wide and prefixes every line gives the
    /// width left after the prefix.
    pub fn set_window_size(&mut self, cols: u16, rows: u16) {
        self.inputs.set_window(WindowSize { cols, rows });
    }

    /// Starts (`true`) or stops delivering `id`'s output as it is read, before line assembly,
    /// as [`Event::RawOutput`] (for a terminal attached to the instance). It holds for the
    /// instance's later processes too. Lines still come as [`Event::Output`].
    pub fn set_raw_tap(&mut self, id: &InstanceId, on: bool) {
        self.pipes.set_tap(id, on);
    }

    /// `id`'s output since its last newline, which no [`Event::Output`] has carried yet: a
    /// prompt such as `(Pdb) `, for a terminal that attaches now to show on its last line.
    pub fn unfinished_output(&self, id: &InstanceId) -> Vec<u8> {
        self.pipes.unfinished(id)
    }

    pub(super) fn input_writable(&mut self, slot: usize) {
        if let Some(id) = self.inputs.writable(slot) {
            self.events.push(Event::StdinReady(id));
        }
    }
}
