//! The end of a run that nothing can stall: procman says once whom it waits for during a slow
//! stop, and output still queued when the app is gone waits for its reader only as long as the
//! reader takes some; then it is dropped, with a count.

use std::time::{Duration, Instant};

use supervise::{Driver, Signal, State};

use crate::output::{Discarded, Printer};
use procman::diagnostic::plural;

/// How long a stop may take before procman says whom it waits for: long enough that a quick stop
/// stays silent.
const ANNOUNCE_AFTER: Duration = Duration::from_secs(1);

/// How long output left when the app is gone waits for a reader that takes none of it.
pub(super) const DRAIN_STALL: Duration = Duration::from_secs(5);

/// At most this many instances are named in the waiting message.
const NAMED: usize = 4;

/// The slow-stop message: when the shutdown began, and whether it was said.
#[derive(Debug, Default)]
pub(super) struct StopWatch {
    began: Option<Instant>,
    announced: bool,
}

impl StopWatch {
    /// The shutdown began (with the stop signals, not a SIGKILL of everything).
    pub(super) fn begin(&mut self, now: Instant) {
        self.began.get_or_insert(now);
    }

    /// Nothing to announce: everything is being killed at once.
    pub(super) fn cancel(&mut self) {
        self.announced = true;
    }

    /// How long the loop may wait before [`StopWatch::announce_if_due`] has something to do.
    pub(super) fn wake_in(&self, now: Instant) -> Option<Duration> {
        let began = self.began.filter(|_| !self.announced)?;
        Some((began + ANNOUNCE_AFTER).saturating_duration_since(now))
    }

    /// Once the stop has taken [`ANNOUNCE_AFTER`], says once which instances it still waits for,
    /// their stop timeout and how much of it is left: `waiting up to 5s for web.1 (pid 123) to
    /// stop (4s left); press Ctrl-C again to kill it now`.
    pub(super) fn announce_if_due(&mut self, driver: &Driver, printer: &mut Printer) {
        let now = Instant::now();
        let Some(began) = self.began else { return };
        if self.announced || now < began + ANNOUNCE_AFTER {
            return;
        }
        self.announced = true;
        let supervisor = driver.supervisor();
        let mut waiting: Vec<Waiting> = Vec::new();
        for info in supervisor.snapshot(now) {
            let (State::Stopping, Some(pid)) = (info.state, info.pid) else { continue };
            let Some(spec) = supervisor.spec(&info.id.group) else { continue };
            // Stops asked for before the shutdown have less left: "up to" still holds.
            let left = spec.stop_timeout.saturating_sub(now - began);
            if !left.is_zero() {
                let name = format!("{} (pid {pid})", info.id);
                waiting.push(Waiting { name, timeout: spec.stop_timeout, left });
            }
        }
        if let Some(text) = waiting_message(&waiting) {
            let _ = printer.system(&text);
        }
    }
}

/// An instance still stopping: who, its stop timeout, and how much of it is left.
#[derive(Debug)]
struct Waiting {
    name: String,
    timeout: Duration,
    left: Duration,
}

/// The message for instances still stopping, with the longest stop timeout among them and the
/// most time left; `None` for none.
fn waiting_message(waiting: &[Waiting]) -> Option<String> {
    let timeout = waiting.iter().map(|w| w.timeout).max()?;
    let left = waiting.iter().map(|w| w.left).max()?;
    let mut names: Vec<&str> = waiting.iter().take(NAMED).map(|w| w.name.as_str()).collect();
    let more = waiting.len().saturating_sub(NAMED);
    let more_text = format!("{more} more");
    if more > 0 {
        names.push(&more_text);
    }
    let list = match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    };
    let them = plural(waiting.len(), "it", "them");
    Some(format!(
        "waiting up to {}s for {list} to stop ({}s left); press Ctrl-C again to kill {them} now",
        whole_seconds(timeout),
        whole_seconds(left)
    ))
}

/// Whole seconds, rounded up: "up to" and "left" must not promise less than they mean.
fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// Output still queued once the app is gone: written as long as the reader takes some, dropped
/// when it has taken none for [`DRAIN_STALL`] (or, when `overall` is set, after that long in
/// all).
#[derive(Debug)]
pub(super) struct Drain {
    limit: Duration,
    overall: bool,
    since: Instant,
    backlog: usize,
}

impl Drain {
    /// Waits up to [`DRAIN_STALL`] for a stalled reader; `limit_in_all` instead bounds the whole
    /// wait (the guard is gone: procman must go at once).
    pub(super) fn new(printer: &Printer, limit_in_all: Option<Duration>) -> Drain {
        Drain {
            limit: limit_in_all.unwrap_or(DRAIN_STALL),
            overall: limit_in_all.is_some(),
            since: Instant::now(),
            backlog: printer.backlog(),
        }
    }

    /// Writes what the reader takes; returns how long to wait for it to take more, or `None`
    /// when there is nothing left to write, nobody to write to, or no more waiting to do.
    pub(super) fn next_wait(&mut self, printer: &mut Printer) -> Option<Duration> {
        let _ = printer.flush();
        let backlog = printer.backlog();
        if backlog == 0 || printer.is_broken() {
            return None;
        }
        if backlog < self.backlog && !self.overall {
            self.since = Instant::now();
        }
        self.backlog = backlog;
        let left = self.limit.saturating_sub(self.since.elapsed());
        (!left.is_zero()).then_some(left)
    }

    /// Drops what is left, and says so on standard error (if it takes it); `hurried` when a
    /// second signal cut the wait short.
    pub(super) fn finish(self, printer: &mut Printer, hurried: bool) {
        let dropped = printer.discard();
        if let Some(text) = dropped_message(dropped, hurried || self.overall, self.limit) {
            printer.warn(&text);
        }
    }
}

/// `procman: dropped 1,204 lines (1.2 MiB) of output: ...`, or `None` when nothing was dropped.
fn dropped_message(dropped: Discarded, hurried: bool, limit: Duration) -> Option<String> {
    let mut parts = Vec::new();
    if dropped.lines > 0 {
        let lines = plural(dropped.lines, "line", "lines");
        parts.push(format!("{} {lines} ({} bytes) of output", dropped.lines, dropped.bytes));
    }
    if dropped.messages > 0 {
        let messages = plural(dropped.messages, "message", "messages");
        parts.push(format!("{} of procman's {messages} for standard error", dropped.messages));
    }
    if parts.is_empty() {
        return None;
    }
    let why = if hurried {
        "procman had to quit at once".to_owned()
    } else if dropped.lines > 0 {
        format!("its reader took none of it for {}s after the app had ended", limit.as_secs())
    } else {
        "standard error did not take them".to_owned()
    };
    Some(format!("procman: dropped {}: {why}", parts.join(" and ")))
}

/// `sending SIGTERM to all processes`, or the list when the stop signals differ.
pub(super) fn stop_announcement(driver: &Driver) -> String {
    let mut signals: Vec<(String, Signal)> = Vec::new();
    for name in driver.supervisor().group_names() {
        if let Some(spec) = driver.supervisor().spec(name) {
            signals.push((name.to_string(), spec.stop_signal));
        }
    }
    let first = signals.first().map(|(_, s)| *s).unwrap_or(Signal::TERM);
    // The library stops dependants before what they depend on.
    let supervisor = driver.supervisor();
    let ordered = supervisor
        .group_names()
        .any(|name| supervisor.spec(name).is_some_and(|spec| !spec.depends_on.is_empty()));
    let order = if ordered { ", dependants first" } else { "" };
    if signals.iter().all(|(_, s)| *s == first) {
        return format!("sending {first} to all processes{order}");
    }
    let parts: Vec<String> = signals.iter().map(|(name, s)| format!("{s} to {name}")).collect();
    format!("sending stop signals{order}: {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: f64) -> Duration {
        Duration::from_secs_f64(n)
    }

    fn waiting(name: &str, timeout: f64, left: f64) -> Waiting {
        Waiting { name: name.to_owned(), timeout: secs(timeout), left: secs(left) }
    }

    #[test]
    fn the_waiting_message_names_whom_and_how_long() {
        assert_eq!(waiting_message(&[]), None);
        assert_eq!(
            waiting_message(&[waiting("web.1 (pid 123)", 5.0, 3.9)]).as_deref(),
            Some(
                "waiting up to 5s for web.1 (pid 123) to stop (4s left); press Ctrl-C again to \
                 kill it now"
            )
        );
        let many: Vec<Waiting> = (1..=6)
            .map(|n| waiting(&format!("web.{n} (pid {n})"), f64::from(n), f64::from(n) / 2.0))
            .collect();
        assert_eq!(
            waiting_message(&many).as_deref(),
            Some(
                "waiting up to 6s for web.1 (pid 1), web.2 (pid 2), web.3 (pid 3), web.4 (pid 4) \
                 and 2 more to stop (3s left); press Ctrl-C again to kill them now"
            )
        );
        assert_eq!(
            waiting_message(&many[..2]).as_deref(),
            Some(
                "waiting up to 2s for web.1 (pid 1) and web.2 (pid 2) to stop (1s left); press \
                 Ctrl-C again to kill them now"
            )
        );
        // A fraction of a second is a whole one: "up to" never promises less.
        assert_eq!(whole_seconds(secs(2.5)), 3);
        assert_eq!(whole_seconds(secs(2.0)), 2);
    }

    #[test]
    fn the_dropped_count_says_what_and_why() {
        let dropped = Discarded { lines: 3, bytes: 120, messages: 0 };
        assert_eq!(
            dropped_message(dropped, false, DRAIN_STALL).as_deref(),
            Some(
                "procman: dropped 3 lines (120 bytes) of output: its reader took none of it for \
                 5s after the app had ended"
            )
        );
        let dropped = Discarded { lines: 1, bytes: 10, messages: 2 };
        assert_eq!(
            dropped_message(dropped, true, DRAIN_STALL).as_deref(),
            Some(
                "procman: dropped 1 line (10 bytes) of output and 2 of procman's messages for \
                 standard error: procman had to quit at once"
            )
        );
        assert_eq!(dropped_message(Discarded::default(), true, DRAIN_STALL), None);
    }

    #[test]
    fn the_stop_watch_wakes_the_loop_once() {
        let mut watch = StopWatch::default();
        let now = Instant::now();
        assert_eq!(watch.wake_in(now), None, "no shutdown, no timer");
        watch.begin(now);
        assert_eq!(watch.wake_in(now), Some(ANNOUNCE_AFTER));
        assert_eq!(watch.wake_in(now + secs(2.0)), Some(Duration::ZERO));
        watch.cancel();
        assert_eq!(watch.wake_in(now), None, "announced or cancelled: no timer");
    }
}
