//! The per-turn budget: a client that sends requests faster than they are answered gets a
//! share of each turn of the loop, and the rest of its requests in later turns, without any
//! new readiness (the driver's notification is edge-triggered).

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;

use serde_json::Value;

use super::{Rig, sleeper};
use crate::control::server::{Budget, Limits};

#[test]
fn a_budget_allows_its_requests_and_bytes_then_no_more() {
    let limits = Limits { turn_requests: 2, turn_bytes: 10, ..Limits::default() };
    let mut budget = Budget::per_turn(&limits);
    assert!(budget.take_request());
    assert!(budget.take_request());
    assert!(!budget.take_request());
    assert!(!budget.take_request());
    assert!(budget.may_read());
    budget.read(9);
    assert!(budget.may_read());
    budget.read(8192);
    assert!(!budget.may_read());
    // A budget of nothing would leave a connection with work for ever: it is one of each.
    let mut least = Budget::per_turn(&Limits { turn_requests: 0, turn_bytes: 0, ..limits });
    assert!(least.may_read());
    assert!(least.take_request());
    assert!(!least.take_request());
}

/// What `client` can read now: the ids of the answers.
fn answered(client: &mut UnixStream, partial: &mut Vec<u8>) -> Vec<u64> {
    let mut chunk = [0u8; 4096];
    loop {
        match client.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => partial.extend_from_slice(&chunk[..n]),
            Err(err) if err.kind() == ErrorKind::WouldBlock => break,
            Err(err) => panic!("reading the answers: {err}"),
        }
    }
    let mut ids = Vec::new();
    while let Some(end) = partial.iter().position(|b| *b == b'\n') {
        let line: Vec<u8> = partial.drain(..=end).collect();
        let answer: Value = serde_json::from_slice(&line).expect("a JSON answer");
        assert_eq!(answer["ok"], true, "{answer}");
        ids.push(answer["id"].as_u64().expect("the request's id"));
    }
    ids
}

#[test]
fn pipelined_requests_are_answered_a_budget_a_turn_for_each_client_until_all_are() {
    let mut rig = Rig::new(vec![sleeper("web", 1)]);
    rig.wait_running(&["web.1"]);
    rig.server.set_limits(Limits { turn_requests: 3, ..Limits::default() });
    // Two clients, each with ten requests in the socket and its side closed, before the loop
    // even accepts them: no readiness will come for what is left after the first turn.
    let mut clients: Vec<(UnixStream, Vec<u8>)> = (0..2)
        .map(|_| {
            let mut client = UnixStream::connect(&rig.path).expect("connect");
            let requests: String =
                (1..=10).map(|id| format!("{{\"v\":1,\"id\":{id},\"cmd\":\"ps\"}}\n")).collect();
            client.write_all(requests.as_bytes()).expect("the requests");
            client.shutdown(Shutdown::Write).expect("close the sending side");
            client.set_nonblocking(true).expect("non-blocking");
            (client, Vec::new())
        })
        .collect();
    rig.wait_until("the clients accepted", |rig| rig.server.client_count() == 2);
    let mut turns = Vec::new();
    let mut all = vec![Vec::new(), Vec::new()];
    // Four turns are enough; twenty are a bound.
    for _ in 0..20 {
        let now: Vec<Vec<u64>> =
            clients.iter_mut().map(|(client, partial)| answered(client, partial)).collect();
        turns.push(now.iter().map(Vec::len).collect::<Vec<_>>());
        for (ids, new) in all.iter_mut().zip(now) {
            ids.extend(new);
        }
        if rig.server.client_count() == 0 {
            break;
        }
        assert!(rig.server.has_backlog(), "work left, none announced: {turns:?}");
        rig.turn();
    }
    // Each client, each turn: its three, then the last.
    assert_eq!(turns, [[3, 3], [3, 3], [3, 3], [1, 1]]);
    for ids in all {
        assert_eq!(ids, (1..=10).collect::<Vec<u64>>());
    }
}
