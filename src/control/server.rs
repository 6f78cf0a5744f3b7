//! The listening side of the control socket, driven by the supervisor's poll loop.
//!
//! The listener and every connection are registered with [`Driver::watch`]; readiness comes
//! back as [`supervise::Event::Ready`] and the session hands it to [`ControlServer::on_ready`].
//! Nothing here blocks or spawns a thread: reads and writes are non-blocking and drained to
//! `WouldBlock` (the driver's notification is edge-triggered), or until the connection has
//! spent its [`Budget`] for this turn of the loop: a client that sends requests as fast as it
//! can must not keep the loop from the app's output, its exits and the other clients. A
//! connection stopped by its budget, with data left unread, gets no new readiness for it, so it
//! stays on the backlog ([`ControlServer::has_backlog`]) and the run calls
//! [`ControlServer::service_backlog`] once a turn, without waiting, until it is done. Every
//! buffer is bounded: a request line longer than [`proto::MAX_REQUEST`] gets an error and the
//! connection is closed, and a client that stops reading is dropped once its queued output
//! passes a limit, so a stuck client costs procman a little memory and never a stall.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Instant;

use supervise::{Driver, Event, InstanceId, Interest, WatchId};

use super::reload::Reload;
use super::socket::{self, BindError, FileId};
use super::{RunCommand, attach, dispatch};
use procman::control::proto::{self, ErrorKind, Failure};
use procman::formation::InstanceLimit;

/// Bounds on what one client may cost.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Longest request line.
    pub(crate) max_request: usize,
    /// Most bytes queued for a client that does not read; beyond, it is dropped.
    pub(crate) max_output: usize,
    /// Most connections at once; more are answered `busy` and closed.
    pub(crate) max_clients: usize,
    /// Most request lines one connection has answered in one turn of the loop.
    pub(crate) turn_requests: usize,
    /// Most bytes read from one connection in one turn of the loop (an attached terminal's
    /// input included).
    pub(crate) turn_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_request: proto::MAX_REQUEST,
            // 4 MiB holds a `ps` of thousands of instances, or a long burst of events.
            max_output: 4 << 20,
            max_clients: 64,
            // A `ps` reads /proc for every instance: 16 of them is a few milliseconds of a
            // large app, and a paste into an attached terminal still goes in 64 KiB steps.
            turn_requests: 16,
            turn_bytes: 64 << 10,
        }
    }
}

/// What one connection may still do in the current turn of the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Budget {
    requests: usize,
    bytes: usize,
}

impl Budget {
    /// A connection's allowance for one turn.
    pub(crate) fn per_turn(limits: &Limits) -> Budget {
        // At least one of each, or a connection with work left would never get through it.
        Budget { requests: limits.turn_requests.max(1), bytes: limits.turn_bytes.max(1) }
    }

    /// Spends one request; `false` once they are all spent (the line waits for the next turn).
    pub(crate) fn take_request(&mut self) -> bool {
        let left = self.requests > 0;
        self.requests = self.requests.saturating_sub(1);
        left
    }

    /// Whether more may be read this turn.
    pub(crate) fn may_read(&self) -> bool {
        self.bytes > 0
    }

    /// Counts `n` bytes read.
    pub(crate) fn read(&mut self, n: usize) {
        self.bytes = self.bytes.saturating_sub(n);
    }
}

/// The listening side, owned by `procman start`. The socket file is removed by
/// [`ControlServer::close`] or, failing that, when the server is dropped.
#[derive(Debug)]
pub(crate) struct ControlServer {
    path: PathBuf,
    listener: Option<UnixListener>,
    file: Option<FileId>,
    listen_watch: Option<WatchId>,
    conns: HashMap<WatchId, Conn>,
    euid: u32,
    started: Instant,
    limits: Limits,
    /// The current round: every connection gets at most one budget per round, and a round
    /// ends with [`Self::service_backlog`].
    round: u64,
    /// How many instances `scale` may make in all.
    instance_limit: InstanceLimit,
    /// The instance procman's own terminal is attached to (`start --attach`), which no client
    /// may attach to.
    local_attach: Option<InstanceId>,
}

impl ControlServer {
    /// Creates the socket at `path` (mode 0600), replacing a stale one. Call it before any
    /// process starts, so "already running" stops a second run before it does anything.
    ///
    /// # Errors
    /// A live procman on that socket, a path too long for a Unix socket, something else at
    /// the path, or a system error; each message names the path and what to do.
    pub(crate) fn bind(path: &Path) -> Result<ControlServer, BindError> {
        let (listener, file) = socket::bind(path)?;
        Ok(ControlServer {
            path: path.to_path_buf(),
            listener: Some(listener),
            file: Some(file),
            listen_watch: None,
            conns: HashMap::new(),
            euid: nix::unistd::geteuid().as_raw(),
            started: Instant::now(),
            limits: Limits::default(),
            round: 0,
            instance_limit: InstanceLimit::default(),
            local_attach: None,
        })
    }

    /// Says which instance procman's own terminal is attached to (`start --attach`).
    pub(crate) fn set_local_attach(&mut self, id: Option<InstanceId>) {
        self.local_attach = id;
    }

    /// Sets how many instances `scale` may make in all (the run's limit; by default
    /// [`procman::formation::MAX_INSTANCES`]).
    pub(crate) fn set_instance_limit(&mut self, limit: InstanceLimit) {
        self.instance_limit = limit;
    }

    /// Replaces the bounds on what one client may cost.
    #[cfg(test)]
    pub(crate) fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// How many clients are connected.
    #[cfg(test)]
    pub(crate) fn client_count(&self) -> usize {
        self.conns.len()
    }

    /// Registers the listener with the driver's poll loop.
    ///
    /// # Errors
    /// When the driver cannot watch the descriptor.
    pub(crate) fn register(&mut self, driver: &mut Driver) -> io::Result<()> {
        if let (Some(listener), None) = (&self.listener, self.listen_watch) {
            self.listen_watch = Some(driver.watch(listener.as_raw_fd(), Interest::READABLE)?);
        }
        Ok(())
    }

    /// Handles readiness of one of the server's descriptors (others are ignored): accepts
    /// connections, answers complete requests, writes what is queued. `reload` carries out a
    /// `reload` request (`None`: refused). Returns what the run itself must do.
    pub(crate) fn on_ready(
        &mut self,
        watch: WatchId,
        driver: &mut Driver,
        reload: Option<&mut (dyn Reload + '_)>,
    ) -> Vec<RunCommand> {
        let mut commands = Vec::new();
        let mut run = Run { driver, reload, commands: &mut commands };
        if Some(watch) == self.listen_watch {
            self.accept_all(&mut run);
        } else if let Some(mut conn) = self.conns.remove(&watch) {
            self.serve(&mut conn, &mut run);
            self.keep_or_close(watch, conn, run.driver);
        }
        commands
    }

    /// Whether a connection has work left that no readiness will announce (unread data,
    /// unanswered lines): the run's next turn must then not wait, and must end with
    /// [`Self::service_backlog`].
    pub(crate) fn has_backlog(&self) -> bool {
        self.conns.values().any(|c| c.backlog)
    }

    /// Ends the round: gives every connection with work left, and no budget spent this round,
    /// its budget. Call it once every turn of the loop, after the turn's events. Returns what
    /// the run itself must do.
    pub(crate) fn service_backlog(
        &mut self,
        driver: &mut Driver,
        reload: Option<&mut (dyn Reload + '_)>,
    ) -> Vec<RunCommand> {
        let mut commands = Vec::new();
        let mut run = Run { driver, reload, commands: &mut commands };
        let round = self.round;
        let waiting: Vec<WatchId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.backlog && c.round != round)
            .map(|(watch, _)| *watch)
            .collect();
        for watch in waiting {
            if let Some(mut conn) = self.conns.remove(&watch) {
                self.serve(&mut conn, &mut run);
                self.keep_or_close(watch, conn, run.driver);
            }
        }
        self.round = self.round.wrapping_add(1);
        commands
    }

    /// Sends a supervisor event to every connection subscribed with `events`. Call it for
    /// every event; those the stream does not carry (output, readiness) are skipped cheaply.
    pub(crate) fn publish(&mut self, event: &Event, driver: &mut Driver) {
        match event {
            Event::RawOutput(raw) => {
                if let Some((watch, mut conn)) = self.take_attached(&raw.id) {
                    conn.send_output(&raw.data, self.limits.max_output);
                    self.keep_or_close(watch, conn, driver);
                }
                return;
            }
            Event::StdinReady(id) => {
                // The instance took what waited: relay the rest, and read the client again.
                if let Some((watch, mut conn)) = self.take_attached(id) {
                    // An attached connection sends no requests: nothing for the run to do.
                    let mut commands = Vec::new();
                    let mut run = Run { driver, reload: None, commands: &mut commands };
                    self.serve(&mut conn, &mut run);
                    self.keep_or_close(watch, conn, run.driver);
                }
                return;
            }
            // The instance is gone for good: so is the connection attached to it.
            Event::Removed(id) => {
                if let Some((watch, mut conn)) = self.take_attached(id) {
                    conn.flush();
                    conn.broken = true;
                    self.keep_or_close(watch, conn, driver);
                }
            }
            _ => {}
        }
        if !self.conns.values().any(|c| c.subscribed) {
            return;
        }
        let Some(message) = dispatch::event_message(event) else { return };
        let text = proto::line(&message);
        let watches: Vec<WatchId> =
            self.conns.iter().filter(|(_, c)| c.subscribed).map(|(w, _)| *w).collect();
        for watch in watches {
            if let Some(mut conn) = self.conns.remove(&watch) {
                conn.send(&text, self.limits.max_output);
                self.keep_or_close(watch, conn, driver);
            }
        }
    }

    /// Flushes what it can without blocking, closes every connection and removes the socket
    /// file (only if it is still the one this server created).
    pub(crate) fn close(&mut self) {
        // The socket goes first: a client that sees its connection close (`procman stop`
        // waiting for the end) may start a new run at once, which must not find it.
        self.listener = None;
        self.listen_watch = None;
        if let Some(file) = self.file.take() {
            socket::remove_if_ours(&self.path, file);
        }
        for (_, mut conn) in self.conns.drain() {
            conn.flush();
        }
    }

    /// The connection attached to `id`, taken out of the table (put it back with
    /// [`Self::keep_or_close`]).
    fn take_attached(&mut self, id: &InstanceId) -> Option<(WatchId, Conn)> {
        let watch = *self.conns.iter().find(|(_, c)| c.attached.as_ref() == Some(id))?.0;
        self.conns.remove(&watch).map(|conn| (watch, conn))
    }

    fn accept_all(&mut self, run: &mut Run<'_, '_>) {
        loop {
            let Some(listener) = &self.listener else { return };
            let stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                // The client gave up before we accepted it.
                Err(err) if err.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(err) => {
                    // Out of descriptors, most likely. The next connection wakes us again.
                    run.commands.push(RunCommand::Notice(format!(
                        "cannot accept a control connection: {err}"
                    )));
                    return;
                }
            };
            self.admit(stream, run);
        }
    }

    /// Checks who connected and starts serving them, or tells them why not.
    fn admit(&mut self, stream: UnixStream, run: &mut Run<'_, '_>) {
        if stream.set_nonblocking(true).is_err() {
            return;
        }
        let mut conn = Conn::new(stream);
        let refusal = match socket::peer_uid(&conn.stream) {
            Ok(uid) if socket::peer_allowed(uid, self.euid) => None,
            Ok(uid) => {
                run.commands.push(RunCommand::Notice(format!(
                    "refused a control connection from uid {uid}: only uid {} (or root) may \
                     control this procman",
                    self.euid
                )));
                Some(Failure::new(
                    ErrorKind::PermissionDenied,
                    format!("permission denied: this procman runs as uid {}", self.euid),
                ))
            }
            Err(err) => Some(Failure::new(
                ErrorKind::PermissionDenied,
                format!("permission denied: cannot learn the peer's uid ({err})"),
            )),
        };
        if refusal.is_none() && self.conns.len() >= self.limits.max_clients {
            self.evict_idle(run.driver);
        }
        let refusal = refusal.or_else(|| {
            (self.conns.len() >= self.limits.max_clients).then(|| {
                Failure::new(ErrorKind::Busy, "too many control connections; try again later")
            })
        });
        if let Some(failure) = refusal {
            // Best effort: one non-blocking write, then the connection is dropped.
            conn.send(&proto::line(&proto::error_response(None, &failure)), usize::MAX);
            return;
        }
        let interest = Interest::READABLE.add(Interest::WRITABLE);
        let Ok(watch) = run.driver.watch(conn.stream.as_raw_fd(), interest) else { return };
        // Data may have arrived before the registration; the edge would be lost otherwise.
        self.serve(&mut conn, run);
        self.keep_or_close(watch, conn, run.driver);
    }

    /// Makes room for a new client when every place is taken: closes the connection that has
    /// waited longest in the middle of a request, or with nothing asked at all. Subscribers,
    /// attached terminals and clients waiting for the run's end keep theirs. A client that
    /// connects and sends half a request, then nothing, thus holds no place anyone needs.
    fn evict_idle(&mut self, driver: &mut Driver) {
        let idle = self
            .conns
            .iter()
            .filter(|(_, c)| !c.subscribed && !c.hold && c.attached.is_none())
            .min_by_key(|(_, c)| c.last_request)
            .map(|(watch, _)| *watch);
        if let Some(watch) = idle {
            if let Some(mut conn) = self.conns.remove(&watch) {
                conn.broken = true;
                self.keep_or_close(watch, conn, driver);
            }
        }
    }

    /// [`Self::service`], once a round: a connection that has had its budget this round (it
    /// was ready twice, say) waits on the backlog for the next.
    fn serve(&mut self, conn: &mut Conn, run: &mut Run<'_, '_>) {
        if conn.round == self.round {
            conn.backlog = true;
            return;
        }
        conn.round = self.round;
        self.service(conn, run);
    }

    /// Reads what is available and answers each complete line as soon as it is read (so at
    /// most one read's worth of lines is ever buffered), within one turn's [`Budget`], and
    /// writes what is queued. Leaves `conn.backlog` set when the budget ran out first.
    fn service(&mut self, conn: &mut Conn, run: &mut Run<'_, '_>) {
        let mut budget = Budget::per_turn(&self.limits);
        let mut chunk = [0u8; 8192];
        conn.backlog = false;
        while !conn.broken {
            if let Some(id) = &conn.attached {
                attach::relay_input(run.driver, id, &mut conn.input);
                // What the instance has not taken waits, and nothing more is read until it
                // has (`StdinReady`): the client is held back by its socket.
                if !conn.input.is_empty() {
                    break;
                }
            } else {
                // Lines left from an earlier turn go before anything new is read.
                self.answer_lines(conn, run, &mut budget);
                if conn.attached.is_some() {
                    // What followed the `attach` line is for the instance.
                    continue;
                }
                if conn.has_line() {
                    conn.backlog = true;
                    break;
                }
            }
            if conn.eof || conn.broken {
                break;
            }
            if !budget.may_read() {
                conn.backlog = true;
                break;
            }
            match (&conn.stream).read(&mut chunk) {
                Ok(0) => conn.eof = true,
                Ok(n) => {
                    conn.input.extend_from_slice(&chunk[..n]);
                    budget.read(n);
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => conn.broken = true,
            }
        }
        conn.flush();
    }

    /// Answers the complete lines buffered, as many as `budget` allows.
    fn answer_lines(&mut self, conn: &mut Conn, run: &mut Run<'_, '_>, budget: &mut Budget) {
        while let Some(end) = conn.input.iter().position(|b| *b == b'\n') {
            if !budget.take_request() {
                // The rest waits for the next turn; it is not a line too long.
                return;
            }
            let raw: Vec<u8> = conn.input.drain(..=end).collect();
            if raw.len() > self.limits.max_request + 1 {
                self.too_large(conn);
                return;
            }
            conn.last_request = Instant::now();
            let text = String::from_utf8_lossy(&raw);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let response = match proto::parse_request(text) {
                Err((id, failure)) => proto::error_response(id, &failure),
                Ok((id, request)) => match dispatch::execute(
                    request,
                    run.driver,
                    &self.context(),
                    run.reload.as_deref_mut(),
                ) {
                    Ok(outcome) => match self.attach(conn, outcome.attach.as_ref(), run.driver) {
                        Err(failure) => proto::error_response(id, &failure),
                        Ok(()) => {
                            conn.subscribed |= outcome.subscribe;
                            conn.hold |= outcome.hold;
                            run.commands.extend(outcome.commands);
                            match outcome.refusal {
                                Some(failure) => proto::error_response(id, &failure),
                                None => proto::ok_response(id, outcome.fields),
                            }
                        }
                    },
                    Err(failure) => proto::error_response(id, &failure),
                },
            };
            let text = proto::line(&response);
            if text.len() > self.limits.max_output {
                let failure = Failure::new(
                    ErrorKind::Refused,
                    "the answer is too large to send; ask for less (a single instance, say)",
                );
                conn.send(&proto::line(&proto::error_response(None, &failure)), usize::MAX);
            } else {
                conn.send(&text, self.limits.max_output);
            }
            // Attached, or broken: what follows the line is not a request.
            if let Some(id) = conn.attached.clone() {
                // The prompt the process printed before the terminal attached, which no later
                // output repeats: without it, a waiting breakpoint shows a blank line.
                let prompt = run.driver.unfinished_output(&id);
                conn.send_output(&prompt, self.limits.max_output);
                return;
            }
            if conn.broken {
                return;
            }
        }
        if conn.input.len() > self.limits.max_request {
            self.too_large(conn);
        }
    }

    /// Makes `conn` the terminal of instance `id`, if the request was an `attach` and no
    /// other terminal has it.
    fn attach(
        &self,
        conn: &mut Conn,
        id: Option<&InstanceId>,
        driver: &mut Driver,
    ) -> Result<(), Failure> {
        let Some(id) = id else { return Ok(()) };
        let others = self.conns.values().filter_map(|c| c.attached.as_ref());
        if let Some(failure) = attach::conflict(id, self.local_attach.as_ref(), others) {
            return Err(failure);
        }
        if conn.attached.is_some() || conn.subscribed {
            let message = "this connection is already in use: attach on a connection of its own";
            return Err(Failure::new(ErrorKind::Refused, message));
        }
        driver.set_raw_tap(id, true);
        conn.attached = Some(id.clone());
        Ok(())
    }

    fn context(&self) -> dispatch::Context {
        dispatch::Context { started: self.started, instance_limit: self.instance_limit }
    }

    fn too_large(&self, conn: &mut Conn) {
        let failure = Failure::new(
            ErrorKind::TooLarge,
            format!(
                "request line longer than {} bytes; closing the connection",
                self.limits.max_request
            ),
        );
        conn.input.clear();
        conn.send(&proto::line(&proto::error_response(None, &failure)), usize::MAX);
        conn.broken = true;
    }

    /// Puts a connection back, or closes it: broken, or finished (the client closed its side,
    /// everything was written, and it neither subscribed nor waits for the end of the run).
    fn keep_or_close(&mut self, watch: WatchId, conn: Conn, driver: &mut Driver) {
        let finished =
            conn.eof && !conn.backlog && conn.pending() == 0 && !conn.subscribed && !conn.hold;
        if conn.broken || finished {
            if let Some(id) = &conn.attached {
                driver.set_raw_tap(id, false);
            }
            // Deregister before the descriptor closes (when `conn` drops).
            let _ = driver.unwatch(watch);
        } else {
            self.conns.insert(watch, conn);
        }
    }
}

/// What serving requests reaches of the run: its driver, its reload, and what it must do.
struct Run<'a, 'r> {
    driver: &'a mut Driver,
    reload: Option<&'a mut (dyn Reload + 'r)>,
    commands: &'a mut Vec<RunCommand>,
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.close();
    }
}

/// One client connection.
#[derive(Debug)]
pub(crate) struct Conn {
    stream: UnixStream,
    /// Bytes read and not yet part of a complete line.
    input: Vec<u8>,
    /// Bytes queued for the client; `output[sent..]` are not written yet.
    output: Vec<u8>,
    sent: usize,
    subscribed: bool,
    hold: bool,
    /// The instance this connection is the terminal of (`attach`): it carries raw bytes.
    attached: Option<InstanceId>,
    /// When it connected or last finished a request (the longest idle gives its place).
    last_request: Instant,
    /// Output of the attached instance dropped since the client last caught up.
    dropped: usize,
    /// The client closed its side.
    eof: bool,
    /// It has work left that no readiness will announce: its budget ran out first.
    backlog: bool,
    /// The round in which it last had its budget.
    round: u64,
    /// Close it now: a write failed, too much output is queued, or the request was too large.
    broken: bool,
}

impl Conn {
    pub(crate) fn new(stream: UnixStream) -> Conn {
        Conn {
            stream,
            input: Vec::new(),
            output: Vec::new(),
            sent: 0,
            subscribed: false,
            hold: false,
            attached: None,
            last_request: Instant::now(),
            dropped: 0,
            eof: false,
            backlog: false,
            // No round yet: the first service is never deferred.
            round: u64::MAX,
            broken: false,
        }
    }

    /// Whether a complete request line waits in the input.
    fn has_line(&self) -> bool {
        self.input.contains(&b'\n')
    }

    /// Bytes queued and not yet written.
    pub(crate) fn pending(&self) -> usize {
        self.output.len() - self.sent
    }

    #[cfg(test)]
    pub(crate) fn is_broken(&self) -> bool {
        self.broken
    }

    /// Queues a line and writes what the socket takes. A client with more than `limit`
    /// bytes waiting is not reading: it is marked broken, to be dropped.
    pub(crate) fn send(&mut self, text: &str, limit: usize) {
        self.send_bytes(text.as_bytes(), limit);
    }

    /// [`Self::send`] for bytes (an attached instance's output).
    pub(crate) fn send_bytes(&mut self, bytes: &[u8], limit: usize) {
        if self.broken {
            return;
        }
        if self.pending().saturating_add(bytes.len()) > limit {
            self.broken = true;
            return;
        }
        self.output.extend_from_slice(bytes);
        self.flush();
    }

    /// The attached instance's output. A terminal that falls behind (a stopped `procman
    /// attach`, a paused terminal) is not dropped, as a reader of answers is: what does not fit
    /// under `limit` is dropped and counted, and once the client has caught up it reads how
    /// much it missed.
    pub(crate) fn send_output(&mut self, bytes: &[u8], limit: usize) {
        if self.dropped > 0 || self.pending().saturating_add(bytes.len()) > limit {
            self.dropped = self.dropped.saturating_add(bytes.len());
            self.flush();
            return;
        }
        self.send_bytes(bytes, limit);
    }

    /// Writes until the socket would block.
    pub(crate) fn flush(&mut self) {
        self.write_queued();
        if self.dropped > 0 && self.pending() == 0 && !self.broken {
            let who = self.attached.as_ref().map_or_else(String::new, |id| format!("{id}'s "));
            let notice = format!(
                "\r\n[procman] {} bytes of {who}output dropped: this terminal did not keep up\r\n",
                self.dropped
            );
            self.dropped = 0;
            self.output.extend_from_slice(notice.as_bytes());
            self.write_queued();
        }
    }

    fn write_queued(&mut self) {
        while self.sent < self.output.len() && !self.broken {
            // The Rust runtime ignores SIGPIPE, so a vanished client is an EPIPE error here.
            match (&self.stream).write(&self.output[self.sent..]) {
                Ok(0) => self.broken = true,
                Ok(n) => self.sent += n,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.broken = true,
            }
        }
        if self.sent == self.output.len() {
            self.output.clear();
            self.sent = 0;
        } else if self.sent > 64 * 1024 {
            // Keep the buffer from growing by its written head.
            self.output.drain(..self.sent);
            self.sent = 0;
        }
    }
}
