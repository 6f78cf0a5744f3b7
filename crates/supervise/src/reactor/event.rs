//! What the driver tells its host: the core's events, passed on, and those only the driver
//! produces (output, signals received, watched descriptors, reaped strangers, strays).

use crate::core::{self, ExitStatus, InstanceId, Notice, SignalReason, Transition};
use crate::signal::Signal;

/// Something the host may want to know about; drained with [`crate::Driver::drain_events`].
///
/// `State`, `Signal` and `Removed` are the core's [`core::Event`]s, passed on as they are;
/// the core's `ShutdownComplete` is held back until the sweep is done.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// An instance changed state.
    State(Transition),
    /// A signal was sent to an instance.
    Signal {
        /// The instance.
        id: InstanceId,
        /// Its process id.
        pid: u32,
        /// The signal.
        signal: Signal,
        /// Why.
        reason: SignalReason,
    },
    /// An instance was removed by a scale-down.
    Removed(InstanceId),
    /// Everything has stopped after [`crate::Driver::shutdown`]: every instance is down, the
    /// final sweep of stray descendants is done and every output pipe is drained and closed.
    /// Always the last event.
    ShutdownComplete,
    /// Output of an instance, in whole lines.
    Output(Output),
    /// A signal the host asked to receive has arrived.
    SignalReceived(Signal),
    /// A descriptor registered with [`crate::Driver::watch`] is ready.
    Ready(WatchId),
    /// A process that was not an instance was reaped: an orphan the subreaper adopted, or a
    /// child the host spawned itself.
    Reaped {
        /// Its process id.
        pid: u32,
        /// How it ended.
        status: ExitStatus,
    },
    /// Descendants that outlived their instances were found and sent SIGKILL by the final
    /// sweep of a shutdown: every one the sweep killed, reported once when it ends, just
    /// before [`Event::ShutdownComplete`].
    StraysKilled {
        /// Their process ids.
        pids: Vec<u32>,
    },
    /// An instance's output as it was read, before line assembly (and, for a pty, before
    /// `\r\n` and redraws are undone): for a terminal attached to the instance. Only for
    /// instances asked for with [`crate::Driver::set_raw_tap`]; comes before the
    /// [`Event::Output`] lines of the same bytes.
    RawOutput(RawOutput),
    /// An instance that asked for a pty ([`crate::OutputSpec::Pty`]) runs on pipes instead:
    /// none could be had. Reported once, for the first instance it happened to, until a pty
    /// is had again; later instances fall back silently. Never a failed start.
    PtyUnavailable {
        /// The first instance that runs on pipes.
        id: InstanceId,
        /// Why: the system's error, or the cap of [`crate::DriverOptions::max_ptys`].
        reason: String,
    },
    /// The input queue of an instance has emptied after a [`crate::Driver::write_stdin`] that
    /// could not take everything: offer the rest now.
    StdinReady(InstanceId),
    /// See [`core::Event::Notice`].
    Notice(Notice),
    /// A readiness check could not be carried out for an instance (its port variable is
    /// missing, its command cannot be spawned): it stays `Starting` until its readiness
    /// timeout, unless the host marks it ready.
    ReadinessCheckFailed {
        /// The instance.
        id: InstanceId,
        /// What went wrong, naming what failed.
        message: String,
    },
}

impl From<core::Event> for Event {
    fn from(event: core::Event) -> Event {
        match event {
            core::Event::State(transition) => Event::State(transition),
            core::Event::Signal { id, pid, signal, reason } => {
                Event::Signal { id, pid, signal, reason }
            }
            core::Event::Removed(id) => Event::Removed(id),
            core::Event::ShutdownComplete => Event::ShutdownComplete,
            core::Event::Notice(notice) => Event::Notice(notice),
        }
    }
}

/// Which output stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Standard output (and standard error when merged into it).
    Stdout,
    /// Standard error.
    Stderr,
}

/// A piece of an instance's output: one or more whole lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// The instance.
    pub id: InstanceId,
    /// The process that owned the pipe when it was opened.
    pub pid: u32,
    /// Which stream.
    pub stream: Stream,
    /// The bytes, untouched: every line ends with `\n`, except the last one when
    /// `incomplete` is set. (From a pty, each line is the one the terminal showed: `\r\n`
    /// ends it as `\n`, and of a carriage-return redraw only what was drawn last is kept.)
    pub data: Vec<u8>,
    /// The last line has no newline: it was cut at the line-length bound, or the stream ended
    /// without one.
    pub incomplete: bool,
}

impl Output {
    /// The lines, without their newlines.
    pub fn lines(&self) -> impl Iterator<Item = &[u8]> {
        let data = self.data.strip_suffix(b"\n").unwrap_or(&self.data);
        data.split(|b| *b == b'\n')
    }
}

/// Bytes an instance wrote, as read from its pipe or pty (see [`Event::RawOutput`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawOutput {
    /// The instance.
    pub id: InstanceId,
    /// The process that owned the pipe or pty when it was opened.
    pub pid: u32,
    /// Which stream (a pty's output is `Stdout`).
    pub stream: Stream,
    /// The bytes, untouched.
    pub data: Vec<u8>,
}

/// Identifies a descriptor registered with [`crate::Driver::watch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WatchId(pub(crate) usize);
