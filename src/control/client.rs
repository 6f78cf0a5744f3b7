//! The connecting side of the control socket, for `procman ps`, `restart`, `stop`, `scale`
//! and `signal` (and for tests). Every wait is bounded by the client's timeout, so a procman
//! that hangs never hangs the command talking to it.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::socket::{self, SocketProblem};
use procman::control::proto::{self, Request};

/// How long a command waits for procman before giving up.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// The longest line accepted from procman (a `ps` of many thousands of instances fits).
const MAX_LINE: usize = 16 << 20;

/// Why a control command failed. Every message names the socket.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CtlError {
    #[error("no procman is running here (no socket at {path}); start one with `procman start`")]
    NotRunning { path: PathBuf },
    #[error(
        "no procman is running (stale socket {path} left by a killed run); the next `procman \
         start` replaces it"
    )]
    Stale { path: PathBuf },
    #[error("{path} is not a socket, so it is not procman's control socket")]
    NotASocket { path: PathBuf },
    #[error(
        "refusing to use {path}: it belongs to uid {owner}, not to you, so it may not be \
         procman's"
    )]
    Owner { path: PathBuf, owner: u32 },
    #[error(
        "refusing to use {path}: its mode is {mode:04o}, but procman creates its socket 0600, \
         so someone changed it or it is not procman's"
    )]
    Mode { path: PathBuf, mode: u32 },
    #[error("cannot connect to procman at {path}: {source}")]
    Connect { path: PathBuf, source: io::Error },
    #[error("procman at {path} did not answer within {} seconds", TIMEOUT.as_secs())]
    Timeout { path: PathBuf },
    #[error("lost the connection to procman at {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("procman at {path} closed the connection")]
    Closed { path: PathBuf },
    #[error("procman at {path} sent something this procman does not understand: {detail}")]
    Protocol { path: PathBuf, detail: String },
    /// The request was refused; the message is procman's.
    #[error("{0}")]
    Refused(String),
}

/// A connection to a running procman.
#[derive(Debug)]
pub(crate) struct Client {
    path: PathBuf,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
    timeout: Duration,
}

impl Client {
    /// Connects after checking that the socket is one procman made: owned by this user (or
    /// root) and mode 0600.
    ///
    /// # Errors
    /// No socket, a stale one, a suspicious one, or a failed connection.
    pub(crate) fn connect(path: &Path, timeout: Duration) -> Result<Client, CtlError> {
        let owned = || path.to_path_buf();
        match socket::check_before_connect(path, nix::unistd::geteuid().as_raw()) {
            Ok(()) => {}
            Err(SocketProblem::Missing) => return Err(CtlError::NotRunning { path: owned() }),
            Err(SocketProblem::NotASocket) => return Err(CtlError::NotASocket { path: owned() }),
            Err(SocketProblem::Owner(owner)) => {
                return Err(CtlError::Owner { path: owned(), owner });
            }
            Err(SocketProblem::Mode(mode)) => return Err(CtlError::Mode { path: owned(), mode }),
            Err(SocketProblem::Unreadable(source)) => {
                return Err(CtlError::Connect { path: owned(), source });
            }
        }
        let stream = match UnixStream::connect(path) {
            Ok(stream) => stream,
            Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => {
                return Err(CtlError::Stale { path: owned() });
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Err(CtlError::NotRunning { path: owned() });
            }
            Err(source) => return Err(CtlError::Connect { path: owned(), source }),
        };
        let writer =
            stream.try_clone().map_err(|source| CtlError::Connect { path: owned(), source })?;
        Ok(Client { path: owned(), reader: BufReader::new(stream), writer, next_id: 1, timeout })
    }

    /// Sends a request and waits for its answer; an error answer becomes
    /// [`CtlError::Refused`]. Event lines that arrive in between are skipped.
    ///
    /// # Errors
    /// See [`CtlError`].
    pub(crate) fn request(&mut self, request: &Request) -> Result<Map<String, Value>, CtlError> {
        let id = self.next_id;
        self.next_id += 1;
        self.send_raw(request.to_line(id).as_bytes())?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let Some(message) = self.read_message(deadline)? else {
                return Err(CtlError::Closed { path: self.path.clone() });
            };
            if message.get("event").is_some() {
                continue;
            }
            // An answer to this request, or an error procman sends before closing (too
            // large, permission denied, busy), which carries no id.
            let ours = message.get("id").and_then(Value::as_u64) == Some(id);
            let unsolicited = message.get("id").is_none_or(Value::is_null)
                && message.get("ok") == Some(&Value::Bool(false));
            if !ours && !unsolicited {
                continue;
            }
            if message.get("v").and_then(Value::as_u64) != Some(proto::VERSION) {
                return Err(self.protocol(format!(
                    "an answer in protocol version {}, not {}",
                    message.get("v").unwrap_or(&Value::Null),
                    proto::VERSION
                )));
            }
            return answer(message);
        }
    }

    /// Writes raw bytes (tests use it to send malformed requests).
    ///
    /// # Errors
    /// When the connection fails.
    pub(crate) fn send_raw(&mut self, bytes: &[u8]) -> Result<(), CtlError> {
        let _ = self.writer.set_write_timeout(Some(self.timeout));
        self.writer.write_all(bytes).map_err(|source| self.io_error(source))
    }

    /// The next message (an answer or an event), or `None` at EOF; waits until `deadline`.
    ///
    /// # Errors
    /// A timeout, a broken connection or a line that is not a JSON object.
    pub(crate) fn read_message(
        &mut self,
        deadline: Instant,
    ) -> Result<Option<Map<String, Value>>, CtlError> {
        let Some(line) = self.read_line(deadline)? else { return Ok(None) };
        match serde_json::from_slice::<Value>(&line) {
            Ok(Value::Object(object)) => Ok(Some(object)),
            Ok(_) => Err(self.protocol("a line that is not a JSON object".into())),
            Err(err) => Err(self.protocol(err.to_string())),
        }
    }

    /// The connection itself, for the raw relay that follows an `attach` answer, with the
    /// bytes already read past that answer.
    pub(crate) fn into_stream(self) -> (UnixStream, Vec<u8>) {
        let early = self.reader.buffer().to_vec();
        let stream = self.reader.into_inner();
        let _ = stream.set_read_timeout(None);
        (stream, early)
    }

    /// Waits for procman to close the connection (after `stop-all`, at the end of the run).
    /// Returns whether it did before `deadline`.
    pub(crate) fn wait_closed(&mut self, deadline: Instant) -> bool {
        loop {
            match self.read_line(deadline) {
                Ok(None) => return true,
                Ok(Some(_)) => {}
                Err(CtlError::Timeout { .. }) => return false,
                // A reset is the end too.
                Err(_) => return true,
            }
        }
    }

    /// One line without its newline, bounded in length and time.
    fn read_line(&mut self, deadline: Instant) -> Result<Option<Vec<u8>>, CtlError> {
        let mut line = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(CtlError::Timeout { path: self.path.clone() });
            }
            let _ = self.reader.get_ref().set_read_timeout(Some(left));
            let available = match self.reader.fill_buf() {
                Ok(bytes) => bytes,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err)
                    if matches!(
                        err.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(CtlError::Timeout { path: self.path.clone() });
                }
                Err(source) => return Err(self.io_error(source)),
            };
            if available.is_empty() {
                // EOF: a partial last line is dropped, as it cannot be a whole message.
                return Ok(None);
            }
            let (used, done) = match available.iter().position(|b| *b == b'\n') {
                Some(end) => {
                    line.extend_from_slice(&available[..end]);
                    (end + 1, true)
                }
                None => {
                    line.extend_from_slice(available);
                    (available.len(), false)
                }
            };
            self.reader.consume(used);
            if line.len() > MAX_LINE {
                return Err(self.protocol(format!("a line longer than {MAX_LINE} bytes")));
            }
            if done {
                return Ok(Some(line));
            }
        }
    }

    fn io_error(&self, source: io::Error) -> CtlError {
        if matches!(source.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) {
            return CtlError::Timeout { path: self.path.clone() };
        }
        CtlError::Io { path: self.path.clone(), source }
    }

    fn protocol(&self, detail: String) -> CtlError {
        CtlError::Protocol { path: self.path.clone(), detail }
    }
}

/// An answer's fields, or its error as [`CtlError::Refused`].
fn answer(message: Map<String, Value>) -> Result<Map<String, Value>, CtlError> {
    if message.get("ok") == Some(&Value::Bool(true)) {
        return Ok(message);
    }
    let text = message
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("procman refused the request without saying why");
    Err(CtlError::Refused(text.to_owned()))
}
