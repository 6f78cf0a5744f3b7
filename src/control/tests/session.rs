//! The server inside the real `start` session loop (`commands::start::run`): requests are
//! served, state changes reach event subscribers, and `stop-all` ends the run with exit code
//! 0 and the socket removed. (The run's Foreman-style lines go to the test's standard output.)

use std::collections::HashSet;
use std::time::Instant;

use serde_json::Value;

use super::{WAIT, lock_drivers, sleeper};
use crate::commands::start::{StartPolicy, run};
use crate::control::client::{Client, TIMEOUT};
use crate::control::server::ControlServer;
use crate::output::Format;
use procman::control::proto::Request;

#[test]
fn control_session_serves_requests_and_stop_all_ends_the_run() {
    let _lock = lock_drivers();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".procman.sock");
    let server = ControlServer::bind(&path).expect("bind");
    let policy = StartPolicy {
        format: Format { color: false, timestamps: false, prefix: true, quiet: false, width: 6 },
        types: vec!["web".to_owned()],
        can_die: HashSet::new(),
        verbose_states: true,
        control: Some(server),
        guard_lost: None,
        cgroup: None,
        containment_fallback: None,
        attach: None,
        reload: None,
        reload_signal: None,
        devloop: Default::default(),
    };
    let client_path = path.clone();
    let client = std::thread::spawn(move || {
        let deadline = Instant::now() + WAIT;
        let mut watcher = Client::connect(&client_path, TIMEOUT).expect("connect");
        watcher.request(&Request::Events).expect("subscribe");
        let mut client = Client::connect(&client_path, TIMEOUT).expect("connect");
        // Wait for web.1 to run, through the event stream.
        loop {
            let event = watcher.read_message(deadline).expect("an event").expect("not EOF");
            if event.get("to") == Some(&Value::from("running")) {
                break;
            }
        }
        let ps = client.request(&Request::Ps).expect("ps");
        let stop = client.request(&Request::StopAll).expect("stop-all");
        let closed = client.wait_closed(deadline);
        (ps, stop, closed)
    });
    let code = run(vec![sleeper("web", 1)], policy).expect("the run");
    let (ps, stop, closed) = client.join().expect("the client thread");
    assert_eq!(code, 0, "a requested stop ends the run with 0");
    assert_eq!(ps["processes"][0]["state"], Value::from("running"));
    assert_eq!(stop["message"], Value::from("stopping every process"));
    assert!(closed);
    assert!(!path.exists(), "the socket is removed at the end of the run");
}
