//! `attach`: a connection that becomes an instance's terminal, end to end on a real driver.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use serde_json::Value;
use supervise::{ProgramSpec, StdinSpec};

use super::{Rig, WAIT, parse_id, shell};
use crate::control::client::{Client, CtlError, TIMEOUT};
use procman::control::proto::Request;

/// `cat` on an input the driver holds: what it reads comes back out.
fn echo(name: &str, instances: u32) -> ProgramSpec {
    let mut spec = shell(name, instances, "exec cat");
    spec.stdin = StdinSpec::Host;
    spec
}

/// Attaches, and returns the answer's fields with the raw stream.
fn attach(path: &std::path::Path, target: &str) -> Result<(Value, UnixStream), CtlError> {
    let mut client = Client::connect(path, TIMEOUT)?;
    let reply = client.request(&Request::Attach { target: target.to_owned() })?;
    let (stream, early) = client.into_stream();
    assert!(early.is_empty(), "nothing comes before the first output");
    Ok((Value::Object(reply), stream))
}

/// Reads from `stream` until `wanted` has come (bounded).
fn read_until(stream: &mut UnixStream, wanted: &[u8]) -> Vec<u8> {
    stream.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    while !seen.windows(wanted.len()).any(|w| w == wanted) {
        assert!(Instant::now() < deadline, "no {wanted:?} within {WAIT:?}; seen {seen:?}");
        match stream.read(&mut chunk) {
            Ok(0) => panic!("the connection closed; seen {seen:?}"),
            Ok(n) => seen.extend_from_slice(&chunk[..n]),
            Err(_) => {}
        }
    }
    seen
}

fn refusal(result: Result<(Value, UnixStream), CtlError>) -> String {
    match result {
        Err(CtlError::Refused(message)) => message,
        Err(other) => panic!("expected a refusal, got {other:?}"),
        Ok((reply, _)) => panic!("expected a refusal, got {reply}"),
    }
}

#[test]
fn control_attach_relays_a_line_both_ways_and_one_terminal_at_a_time() {
    let mut rig = Rig::new(vec![echo("web", 2)]);
    rig.wait_running(&["web.1", "web.2"]);
    let pid = rig.pid("web.1");
    let (reply, mut stream) = rig.with_client(|path| attach(&path, "web")).expect("attach");
    // A process type means its first instance; `cat` runs on pipes.
    assert_eq!(reply["process"], "web.1");
    assert_eq!(reply["pid"].as_u64(), pid.map(u64::from));
    assert_eq!(reply["tty"], false);

    // A second terminal is refused, clearly, while the first is attached.
    let second = rig.with_client(|path| attach(&path, "web.1"));
    let message = refusal(second);
    assert!(message.contains("`web.1` is already attached from another terminal"), "{message}");

    // A line goes in, the same line comes out raw, and the main view sees it too.
    let mut reader = stream.try_clone().expect("clone");
    let echoed = rig.with_client(move |_| {
        stream.write_all(b"hello over the socket\n").expect("send");
        let seen = read_until(&mut reader, b"hello over the socket\n");
        drop(stream);
        seen
    });
    assert_eq!(echoed, b"hello over the socket\n");
    rig.wait_until("the line in the main view", |rig| {
        rig.events.iter().any(|e| match e {
            supervise::Event::Output(out) => {
                out.id == parse_id("web.1") && out.data == b"hello over the socket\n"
            }
            _ => false,
        })
    });

    // Detached (the client closed): the process runs on, and another terminal may attach.
    rig.wait_until("the detach", |rig| rig.server.client_count() == 0);
    assert_eq!(rig.pid("web.1"), pid);
    let (again, _stream) = rig.with_client(|path| attach(&path, "web.1")).expect("attach again");
    assert_eq!(again["process"], "web.1");
}

#[test]
fn control_attach_names_are_checked_with_a_suggestion() {
    let mut rig = Rig::new(vec![echo("web", 1)]);
    rig.wait_running(&["web.1"]);
    let message = refusal(rig.with_client(|path| attach(&path, "wbe")));
    assert_eq!(message, "no process named `wbe` (known: `web`); did you mean `web`?");
    let message = refusal(rig.with_client(|path| attach(&path, "wbe.1")));
    assert!(message.ends_with("; did you mean `web`?"), "{message}");
    let message = refusal(rig.with_client(|path| attach(&path, "web.4")));
    assert_eq!(message, "no instance `web.4` (web has 1 instance)");
    let message = refusal(rig.with_client(|path| attach(&path, "zzzzzz")));
    assert_eq!(message, "no process named `zzzzzz` (known: `web`)");
}

#[test]
fn control_attach_is_refused_for_the_instance_procmans_terminal_has() {
    let mut rig = Rig::new(vec![echo("web", 1)]);
    rig.server.set_local_attach(Some(parse_id("web.1")));
    rig.wait_running(&["web.1"]);
    let message = refusal(rig.with_client(|path| attach(&path, "web.1")));
    assert!(message.contains("procman's own terminal (procman start --attach)"), "{message}");
}

#[test]
fn control_attach_ends_when_the_instance_is_removed() {
    let mut rig = Rig::new(vec![echo("web", 2)]);
    rig.wait_running(&["web.1", "web.2"]);
    let (_, mut stream) = rig.with_client(|path| attach(&path, "web.2")).expect("attach");
    rig.driver.scale("web", 1).expect("scale down");
    let ended = rig.with_client(move |_| {
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).map(|_| rest)
    });
    assert!(ended.is_ok(), "the connection ends at the removal: {ended:?}");
}
