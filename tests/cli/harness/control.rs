//! Driving a running `procman start` over its control socket: control commands from a second
//! process, `procman ps --json` asked until it shows a state, and the event stream.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::WAIT;
use super::app::{Dir, Finished};

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
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pid of the supervising procman (the child of the guard the shell started).
pub(crate) fn supervisor_pid(dir: &Dir) -> u32 {
    let pid = ps_json(dir)["procman"]["pid"].as_u64().expect("procman's pid");
    u32::try_from(pid).expect("a pid")
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
