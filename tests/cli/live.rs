//! Helpers for driving a running `procman start`: counting output lines, asking `procman ps
//! --json` from a second process, following the event stream over the socket, and reading the
//! nanosecond timestamps test programs print. Every wait is bounded by [`WAIT`].

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{Dir, Finished, Running, WAIT};

/// Waits for the `n`th line (from 1) holding every one of `needles`; returns it.
pub(crate) fn wait_nth(run: &mut Running, needles: &[&str], n: usize) -> String {
    let mut count = 0;
    let what = format!("occurrence {n} of {needles:?}");
    run.wait_until(
        |line| {
            if needles.iter().all(|needle| line.contains(needle)) {
                count += 1;
            }
            count >= n
        },
        &what,
    )
}

/// Lines seen so far holding every one of `needles`.
pub(crate) fn lines_with(run: &Running, needles: &[&str]) -> Vec<String> {
    run.seen
        .iter()
        .filter(|line| needles.iter().all(|needle| line.text.contains(needle)))
        .map(|line| line.text.clone())
        .collect()
}

/// The pid in `... started with pid 1234`.
pub(crate) fn started_pid(line: &str) -> u32 {
    line.rsplit(' ').next().and_then(|pid| pid.parse().ok()).unwrap_or_else(|| {
        panic!("no pid at the end of {line:?}");
    })
}

/// The number after `marker` in a line (`start 1700000000123456789` → the nanoseconds).
pub(crate) fn number_after(line: &str, marker: &str) -> u128 {
    let at = line.find(marker).unwrap_or_else(|| panic!("{marker:?} not in {line:?}"));
    line[at + marker.len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {marker:?} in {line:?}"))
}

/// Runs a control command (`ps`, `restart web`...) to completion from a second process.
pub(crate) fn ctl(dir: &Dir, args: &[&str]) -> Finished {
    dir.run(args)
}

/// Runs a control command that must succeed; returns its standard output.
pub(crate) fn ctl_ok(dir: &Dir, args: &[&str]) -> String {
    let done = ctl(dir, args);
    assert_eq!(
        done.code(),
        Some(0),
        "procman {args:?} failed\nstdout:\n{}\nstderr:\n{}",
        done.stdout(),
        done.stderr()
    );
    done.stdout()
}

/// `procman ps --json`, parsed.
pub(crate) fn ps_json(dir: &Dir) -> Value {
    let text = ctl_ok(dir, &["ps", "--json"]);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("ps --json is not JSON ({e}): {text}"))
}

/// The `ps` entry of instance `name` (`web.1`).
pub(crate) fn instance<'a>(ps: &'a Value, name: &str) -> &'a Value {
    ps["processes"]
        .as_array()
        .and_then(|list| list.iter().find(|p| p["process"] == name))
        .unwrap_or_else(|| panic!("no {name} in {ps:#}"))
}

/// Asks `ps --json` until `check` holds (bounded); returns the last answer. Each answer is a
/// fresh observation of procman's state, so this waits on state, not on time.
pub(crate) fn ps_until(dir: &Dir, what: &str, mut check: impl FnMut(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let ps = ps_json(dir);
        if check(&ps) {
            return ps;
        }
        assert!(Instant::now() < deadline, "ps never showed {what} within {WAIT:?}: {ps:#}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// A connection subscribed to the event stream of the control socket.
pub(crate) struct Events {
    reader: BufReader<UnixStream>,
}

impl Events {
    /// Connects to `socket` and subscribes; waits for the subscription's answer.
    pub(crate) fn subscribe(socket: &Path) -> Events {
        let mut stream = UnixStream::connect(socket).expect("connect to the control socket");
        stream.set_read_timeout(Some(WAIT)).expect("read timeout");
        stream.write_all(b"{\"v\":1,\"id\":1,\"cmd\":\"events\"}\n").expect("subscribe");
        let mut events = Events { reader: BufReader::new(stream) };
        let answer = events.next().expect("an answer to the subscription");
        assert_eq!(answer["ok"], true, "{answer}");
        assert_eq!(answer["subscribed"], true, "{answer}");
        events
    }

    /// The next message, or `None` at end of file. Fails the test past [`WAIT`].
    pub(crate) fn next(&mut self) -> Option<Value> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))),
            Err(e) => panic!("no event within {WAIT:?}: {e}"),
        }
    }

    /// Reads events until one satisfies `check`; returns every event read, that one last.
    pub(crate) fn until(
        &mut self,
        what: &str,
        mut check: impl FnMut(&Value) -> bool,
    ) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let Some(event) = self.next() else {
                panic!("the event stream ended before {what}; seen: {seen:#?}");
            };
            let hit = check(&event);
            seen.push(event);
            if hit {
                return seen;
            }
        }
    }
}

/// A `state` event's instance, from and to.
pub(crate) fn transition(event: &Value) -> Option<(&str, &str, &str)> {
    if event["event"] != "state" {
        return None;
    }
    Some((event["process"].as_str()?, event["from"].as_str()?, event["to"].as_str()?))
}

/// Waits (bounded) until `path` no longer exists.
#[cfg(target_os = "linux")]
pub(crate) fn wait_removed(path: &Path) -> bool {
    let deadline = Instant::now() + WAIT;
    while path.symlink_metadata().is_ok() {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
    true
}
