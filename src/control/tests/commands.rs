//! Every command end to end: a client thread, a real socket, the server on a real driver.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};
use supervise::{Event, ExitStatus, Launch, State};

use super::{Rig, WAIT, shell, sleeper};
use crate::control::RunCommand;
use crate::control::client::{Client, CtlError, TIMEOUT};
use procman::control::proto::{PsReply, Request};
use procman::formation::InstanceLimit;

fn ask(path: &std::path::Path, request: &Request) -> Result<Map<String, Value>, CtlError> {
    Client::connect(path, TIMEOUT)?.request(request)
}

fn refused(result: Result<Map<String, Value>, CtlError>) -> String {
    match result {
        Err(CtlError::Refused(message)) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn message(reply: &Map<String, Value>) -> &str {
    reply.get("message").and_then(Value::as_str).unwrap_or_default()
}

#[test]
fn control_ps_reports_every_instance_with_its_tree_stats() {
    let mut rig = Rig::new(vec![sleeper("web", 2), sleeper("worker", 1)]);
    rig.wait_running(&["web.1", "web.2", "worker.1"]);
    let reply = rig.with_client(|path| ask(&path, &Request::Ps)).expect("ps");
    let ps: PsReply = serde_json::from_value(Value::Object(reply)).expect("a ps reply");
    let names: Vec<&str> = ps.processes.iter().map(|p| p.process.as_str()).collect();
    assert_eq!(names, ["web.1", "web.2", "worker.1"]);
    for p in &ps.processes {
        assert_eq!(p.pid, rig.pid(&p.process), "{}", p.process);
        assert_eq!(p.state, "running");
        assert_eq!(p.restarts, 0);
        assert!(p.uptime_seconds > 0.0);
        if cfg!(target_os = "linux") {
            assert!(p.rss_bytes.is_some_and(|b| b > 0), "{p:?}");
            assert_eq!(p.tree_processes, Some(1));
            assert!(p.cpu_seconds.is_some());
        }
    }
    assert_eq!(ps.total.instances, 3);
    assert_eq!(ps.total.running, 3);
    assert_eq!(ps.total.rss_bytes, ps.processes.iter().filter_map(|p| p.rss_bytes).sum::<u64>());
    assert_eq!(ps.procman.pid, std::process::id());
    let table = crate::commands::ps_table::table(&ps, None);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.contains("RUNNING"), "{table}");
    let last: Vec<&str> = table.lines().rev().take(2).collect();
    assert!(last[1].starts_with("TOTAL"), "{table}");
    assert_eq!(last[0], "containment: subreaper", "{table}");
}

#[test]
fn control_restart_of_an_instance_is_streamed_to_event_subscribers() {
    let mut rig = Rig::new(vec![sleeper("web", 2)]);
    rig.wait_running(&["web.1", "web.2"]);
    let old = rig.pid("web.1").expect("a pid");
    let untouched = rig.pid("web.2");
    let (reply, events) = rig.with_client(move |path| {
        let mut watcher = Client::connect(&path, TIMEOUT).expect("connect");
        let subscribed = watcher.request(&Request::Events).expect("subscribe");
        assert_eq!(subscribed.get("subscribed"), Some(&Value::Bool(true)));
        let reply = ask(&path, &Request::Restart { target: "web.1".into() });
        // Read events until the new process has started.
        let deadline = Instant::now() + WAIT;
        let mut events = Vec::new();
        while let Some(event) = watcher.read_message(deadline).expect("an event") {
            let started = event.get("to") == Some(&Value::from("starting"));
            events.push(event);
            if started {
                break;
            }
        }
        (reply, events)
    });
    assert_eq!(message(&reply.expect("restart")), "restarting web.1");
    let first = &events[0];
    assert_eq!(first.get("v"), Some(&Value::from(1)));
    assert_eq!(first.get("event"), Some(&Value::from("state")));
    assert_eq!(first.get("process"), Some(&Value::from("web.1")));
    assert_eq!(first.get("from"), Some(&Value::from("running")));
    assert_eq!(first.get("to"), Some(&Value::from("stopping")));
    assert!(first.get("time").and_then(Value::as_str).is_some_and(|t| t.ends_with('Z')));
    let last = events.last().expect("events");
    let new = last.get("pid").and_then(Value::as_u64).expect("the new pid");
    assert_ne!(Some(new), Some(u64::from(old)));
    assert!(events.iter().all(|e| e.get("process") == Some(&Value::from("web.1"))), "{events:?}");
    rig.wait_running(&["web.1"]);
    assert_eq!(rig.pid("web.2"), untouched);
    assert!(rig.notices().iter().any(|n| n.starts_with("restarting web.1")), "{:?}", rig.notices());
}

#[test]
fn control_restart_of_a_type_restarts_every_instance() {
    let mut rig = Rig::new(vec![sleeper("web", 2)]);
    rig.wait_running(&["web.1", "web.2"]);
    let old = [rig.pid("web.1"), rig.pid("web.2")];
    let reply = rig.with_client(|path| ask(&path, &Request::Restart { target: "web".into() }));
    assert_eq!(message(&reply.expect("restart")), "restarting web (2 instances)");
    rig.wait_until("both restarted", |rig| {
        let now = [rig.pid("web.1"), rig.pid("web.2")];
        now.iter().zip(&old).all(|(n, o)| n.is_some() && n != o)
    });
}

#[test]
fn control_stop_and_start_follow_the_state_machine() {
    let mut rig = Rig::new(vec![sleeper("web", 2)]);
    rig.wait_running(&["web.1", "web.2"]);
    let reply = rig.with_client(|path| ask(&path, &Request::Stop { target: "web.1".into() }));
    assert_eq!(message(&reply.expect("stop")), "stopping web.1");
    rig.wait_until("web.1 stopped", |rig| rig.state("web.1") == Some(State::Stopped));
    assert_eq!(rig.state("web.2"), Some(State::Running));

    // The state machine refuses a second stop, and the answer says why.
    let again = rig.with_client(|path| ask(&path, &Request::Stop { target: "web.1".into() }));
    assert_eq!(refused(again), "cannot stop `web.1`: it is stopped");
    let running = rig.with_client(|path| ask(&path, &Request::Start { target: "web.2".into() }));
    assert_eq!(refused(running), "cannot start `web.2`: it is running");

    let reply = rig.with_client(|path| ask(&path, &Request::Start { target: "web.1".into() }));
    assert_eq!(message(&reply.expect("start")), "starting web.1");
    rig.wait_running(&["web.1"]);

    let reply = rig.with_client(|path| ask(&path, &Request::Stop { target: "web".into() }));
    assert_eq!(message(&reply.expect("stop")), "stopping web");
    rig.wait_until("web stopped", |rig| {
        ["web.1", "web.2"].iter().all(|id| rig.state(id) == Some(State::Stopped))
    });
    let reply = rig.with_client(|path| ask(&path, &Request::Start { target: "web".into() }));
    assert_eq!(message(&reply.expect("start")), "starting web");
    rig.wait_running(&["web.1", "web.2"]);
}

#[test]
fn control_unknown_names_are_not_found_and_change_nothing() {
    let mut rig = Rig::new(vec![sleeper("web", 1)]);
    rig.wait_running(&["web.1"]);
    let answers = rig.with_client(|path| {
        let mut client = Client::connect(&path, TIMEOUT).expect("connect");
        let counts = BTreeMap::from([("web".to_owned(), 3), ("nope".to_owned(), 1)]);
        [
            client.request(&Request::Restart { target: "nope".into() }),
            client.request(&Request::Stop { target: "web.7".into() }),
            client.request(&Request::Scale { counts }),
            client.request(&Request::Restart { target: "wbe".into() }),
            client.request(&Request::Stop { target: "wbe.1".into() }),
            client.request(&Request::Signal { target: "Web".into(), signal: "USR1".into() }),
        ]
        .map(refused)
    });
    assert_eq!(answers[0], "no process named `nope` (known: `web`)");
    assert_eq!(answers[1], "no instance `web.7` (web has 1 instance)");
    assert_eq!(answers[2], "no process named `nope` (known: `web`)");
    // A name close to a known one gets a suggestion, from `restart`, `stop` and `signal`.
    for (answer, typed) in answers[3..].iter().zip(["wbe", "wbe", "Web"]) {
        let expected = format!("no process named `{typed}` (known: `web`); did you mean `web`?");
        assert_eq!(*answer, expected);
    }
    assert_eq!(rig.driver.supervisor().target("web"), Some(1));
}

#[test]
fn control_scale_adds_instances_with_foreman_ports_and_removes_them() {
    let mut spec = shell("web", 1, "echo port=$PORT; exec sleep 30");
    // Foreman's rule for the first Procfile entry: 5000 + (instance - 1).
    spec.instance_hook = Some(Arc::new(|n, launch: &mut Launch| {
        launch.env.push(("PORT".into(), (5000 + n - 1).to_string().into()));
    }));
    let mut rig = Rig::new(vec![spec]);
    rig.wait_running(&["web.1"]);
    let counts = BTreeMap::from([("web".to_owned(), 3)]);
    let reply = rig.with_client(move |path| ask(&path, &Request::Scale { counts }));
    assert_eq!(message(&reply.expect("scale")), "scaling web to 3");
    rig.wait_running(&["web.2", "web.3"]);
    rig.wait_until("web.3's port line", |rig| {
        rig.events.iter().any(|e| {
            matches!(e, Event::Output(o) if o.id.to_string() == "web.3" && o.data == b"port=5002\n")
        })
    });

    let counts = BTreeMap::from([("web".to_owned(), 1)]);
    let reply = rig.with_client(move |path| ask(&path, &Request::Scale { counts }));
    assert_eq!(message(&reply.expect("scale")), "scaling web to 1");
    rig.wait_until("web.2 and web.3 removed", |rig| {
        let removed: Vec<String> = rig
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Removed(id) => Some(id.to_string()),
                _ => None,
            })
            .collect();
        removed.contains(&"web.2".to_owned()) && removed.contains(&"web.3".to_owned())
    });
    assert_eq!(rig.state("web.1"), Some(State::Running));
}

#[test]
fn control_scale_beyond_the_run_s_instance_limit_is_refused_and_changes_nothing() {
    let mut rig = Rig::new(vec![sleeper("web", 1), sleeper("worker", 1)]);
    rig.wait_running(&["web.1", "worker.1"]);
    // The default limit, MAX_INSTANCES, over all types together.
    for (counts, total) in
        [(vec![("web", 100_000)], 100_001), (vec![("web", 600), ("worker", 600)], 1200)]
    {
        let counts: BTreeMap<String, u32> =
            counts.into_iter().map(|(name, n)| (name.to_owned(), n)).collect();
        let text = refused(rig.with_client(move |path| ask(&path, &Request::Scale { counts })));
        assert_eq!(
            text,
            format!(
                "scaling would make {total} instances in total; procman runs at most 1000; lower \
                 the counts (`all=N` applies to every process type not named)"
            )
        );
    }
    assert_eq!(rig.driver.supervisor().target("web"), Some(1));
    assert_eq!(rig.driver.supervisor().target("worker"), Some(1));
    // A lower limit from the descriptors: 96 + 2 × 3 open files hold 3 instances.
    rig.server.set_instance_limit(InstanceLimit::for_open_files(102));
    let counts = BTreeMap::from([("web".to_owned(), 3)]);
    let text = refused(rig.with_client(move |path| ask(&path, &Request::Scale { counts })));
    assert!(
        text.starts_with(
            "scaling would make 4 instances in total, but procman may open only 102 files"
        ),
        "{text}"
    );
    let counts = BTreeMap::from([("web".to_owned(), 2)]);
    let reply = rig.with_client(move |path| ask(&path, &Request::Scale { counts }));
    assert_eq!(message(&reply.expect("scale")), "scaling web to 2");
    assert_eq!(rig.driver.supervisor().target("web"), Some(2));
}

#[test]
fn control_signal_reaches_the_program_itself() {
    // The shell is the program: the signal must reach its pid, where the trap turns it into
    // exit code 42 (a signal to the group would reach `sleep` too, which is not asked for).
    let mut rig = Rig::new(vec![shell("web", 1, "trap 'exit 42' USR1; sleep 30 & wait")]);
    rig.wait_running(&["web.1"]);
    let answers = rig.with_client(|path| {
        let mut client = Client::connect(&path, TIMEOUT).expect("connect");
        let bad = client.request(&Request::Signal { target: "web".into(), signal: "NOPE".into() });
        let good = client.request(&Request::Signal { target: "web".into(), signal: "USR1".into() });
        (bad, good)
    });
    assert!(refused(answers.0).starts_with("unknown signal `NOPE`"));
    assert_eq!(message(&answers.1.expect("signal")), format!("sending SIGUSR1 to web.1"));
    rig.wait_until("web.1 to exit with 42", |rig| {
        rig.events.iter().any(|e| {
            matches!(e, Event::State(t) if t.to == State::Exited && t.exit == Some(ExitStatus::Code(42)))
        })
    });
    let late = rig.with_client(|path| {
        ask(&path, &Request::Signal { target: "web".into(), signal: "USR1".into() })
    });
    assert_eq!(refused(late), "cannot signal `web`: no instance is running");
}

#[test]
fn control_stop_all_asks_the_run_to_end_and_holds_the_connection_until_it_does() {
    let mut rig = Rig::new(vec![sleeper("web", 1)]);
    rig.wait_running(&["web.1"]);
    let path = rig.path.clone();
    let client = std::thread::spawn(move || {
        let mut client = Client::connect(&path, TIMEOUT).expect("connect");
        let reply = client.request(&Request::StopAll);
        let closed = client.wait_closed(Instant::now() + WAIT);
        (reply, closed)
    });
    rig.wait_until("the stop-all command", |rig| rig.commands.contains(&RunCommand::StopAll));
    // What the session does with it: shut down, and close the server when the run is over.
    rig.finish();
    let (reply, closed) = client.join().expect("the client thread");
    assert_eq!(message(&reply.expect("stop-all")), "stopping every process");
    assert!(closed, "the connection is closed at the end of the run");
    assert!(!rig.path.exists(), "the socket is removed");
}

#[test]
fn control_bad_requests_get_error_answers_and_the_connection_survives() {
    let mut rig = Rig::new(vec![sleeper("web", 1)]);
    let answers = rig.with_client(|path| {
        let mut stream = UnixStream::connect(&path).expect("connect");
        stream
            .write_all(
                b"garbage\n{\"v\":2,\"id\":1,\"cmd\":\"ps\"}\n\n{\"v\":1,\"id\":2,\"cmd\":\"dance\"}\r\n\
                  {\"v\":1,\"id\":4,\"cmd\":\"stop\",\"target\":\"web\",\"cmd\":\"ps\"}\n\
                  {\"v\":1,\"id\":3,\"cmd\":\"ps\"}\n",
            )
            .expect("write");
        stream.shutdown(std::net::Shutdown::Write).expect("shutdown");
        let mut text = String::new();
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        stream.read_to_string(&mut text).expect("answers until EOF");
        text
    });
    let answers: Vec<Value> =
        answers.lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    let kinds: Vec<(&Value, Option<&str>)> =
        answers.iter().map(|a| (&a["id"], a["kind"].as_str())).collect();
    assert_eq!(
        kinds,
        [
            (&Value::Null, Some("bad-request")),
            (&Value::from(1), Some("unsupported-version")),
            (&Value::from(2), Some("unknown-command")),
            (&Value::Null, Some("bad-request")),
            (&Value::from(3), None),
        ]
    );
    assert!(answers[3]["error"].as_str().is_some_and(|e| e.contains("`cmd` is given twice")));
    assert_eq!(answers[4]["ok"], Value::Bool(true));
    // The request with `cmd` twice stopped nothing.
    let state = rig.state("web.1");
    assert!(!matches!(state, Some(State::Stopping | State::Stopped)), "{state:?}");
    rig.wait_until("the client to be gone", |rig| rig.server.client_count() == 0);
}

#[test]
fn control_an_oversized_request_gets_an_error_and_is_disconnected() {
    let mut rig = Rig::new(vec![sleeper("web", 1)]);
    let (answer, after) = rig.with_client(|path| {
        let mut stream = UnixStream::connect(&path).expect("connect");
        stream.set_write_timeout(Some(WAIT)).expect("timeout");
        // 10 MB without a newline; procman stops reading long before, so the write fails.
        let block = vec![b'x'; 1 << 20];
        for _ in 0..10 {
            if stream.write_all(&block).is_err() {
                break;
            }
        }
        let mut text = String::new();
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        let _ = stream.read_to_string(&mut text);
        (text, ask(&path, &Request::Ps))
    });
    let first: Value =
        serde_json::from_str(answer.lines().next().expect("an answer")).expect("JSON");
    assert_eq!(first["kind"], Value::from("too-large"));
    assert_eq!(answer.lines().count(), 1, "then EOF: {answer}");
    assert!(after.is_ok(), "the server still serves others");
    rig.wait_until("the client to be gone", |rig| rig.server.client_count() == 0);
}

#[test]
fn control_a_client_that_does_not_read_is_dropped_without_blocking() {
    let (ours, theirs) = UnixStream::pair().expect("a socket pair");
    ours.set_nonblocking(true).expect("non-blocking");
    let limit = 64 * 1024;
    // The kernel buffer fills first, then the queue; no call may block. A call that blocked
    // would never return (nobody reads `theirs`): the sending thread's answer is awaited with
    // a bound, so a block fails the test instead of hanging it.
    let (done, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut conn = crate::control::server::Conn::new(ours);
        let line = format!("{}\n", "e".repeat(1000));
        let mut sent = 0;
        while !conn.is_broken() && sent < 100_000 {
            conn.send(&line, limit);
            sent += 1;
        }
        let _ = done.send((conn.is_broken(), conn.pending()));
    });
    let (broken, pending) = outcome.recv_timeout(WAIT).expect("a send blocked");
    assert!(broken, "never dropped");
    assert!(pending <= limit);
    drop(theirs);
}

#[test]
fn control_restart_by_name_takes_an_instance_out_of_fatal() {
    let mut spec = shell("job", 1, "exit 3");
    spec.max_retries = 0;
    let mut rig = Rig::new(vec![spec]);
    rig.wait_until("job.1 to give up", |rig| rig.state("job.1") == Some(State::Fatal));
    let reply = rig.with_client(|path| ask(&path, &Request::Restart { target: "job.1".into() }));
    assert_eq!(message(&reply.expect("restart")), "restarting job.1");
    rig.wait_until("job.1 to be spawned again", |rig| {
        rig.events.iter().any(|e| matches!(e, Event::State(t) if t.from == State::Fatal))
            && rig
                .events
                .iter()
                .filter(|e| matches!(e, Event::State(t) if t.to == State::Fatal))
                .count()
                == 2
    });
}
