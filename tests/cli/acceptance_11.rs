//! Issue 11, acceptance: behaviours that worked at the audit but that no test held.

use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{Dir, MARKER_VAR, Signal, WAIT, kill_marked, procman, ps_json, ps_until};

/// Seconds of CPU in one field of `times` (`0m1.520000s` from dash, `0m1.520s` from bash).
fn seconds(field: &str) -> f64 {
    let (minutes, rest) = field.split_once('m').unwrap_or_else(|| panic!("{field:?}"));
    let rest = rest.strip_suffix('s').unwrap_or_else(|| panic!("{field:?}"));
    let minutes: f64 = minutes.parse().unwrap_or_else(|e| panic!("{field:?}: {e}"));
    let rest: f64 = rest.parse().unwrap_or_else(|e| panic!("{field:?}: {e}"));
    minutes * 60.0 + rest
}

/// A `.env` of 100,000 keys once made every spawn quadratic (`start` took 25 s, 13.7 s of it
/// CPU, for one instance; `check` and `run` 0.3 s). CPU time, unlike the clock, does not grow
/// with the machine's load: `/bin/sh`'s `times` reports the CPU of procman and of everything
/// it reaped. Three instances cost under 2 s of CPU in a debug build; the quadratic spawn
/// cost over 40 s.
#[test]
fn start_with_a_hundred_thousand_env_keys_costs_little_cpu() {
    let dir = Dir::new();
    let env: String = (0..100_000).map(|n| format!("K{n}=v\n")).collect();
    dir.write(".env", env);
    // `sleep` is executed directly (no shell importing 100,000 variables).
    dir.write("Procfile", "web: sleep 1\n");
    let marker = format!("acceptance-11-env-{}", std::process::id());
    let mut out = tempfile::tempfile().expect("a temporary file");
    let mut child = Command::new("/bin/sh")
        .args(["-c", "\"$0\" start --no-socket -m web=3 >/dev/null 2>&1; echo status=$?; times"])
        .arg(procman())
        .current_dir(dir.path())
        .env(MARKER_VAR, &marker)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out.try_clone().expect("dup")))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn /bin/sh");
    // Generous: the clock is not what is measured, but a quadratic spawn must not hang the test.
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let _ = child.kill();
    let _ = child.wait();
    kill_marked(&marker);
    assert!(status.is_some(), "procman start with 100,000 env keys did not end within 180 s");
    let mut text = String::new();
    out.rewind().and_then(|()| out.read_to_string(&mut text)).expect("read the output");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.first().copied(), Some("status=0"), "{text}");
    // `times`: the shell's own user and system time, then its children's.
    let children: Vec<&str> =
        lines.get(2).map(|l| l.split_whitespace().collect()).unwrap_or_default();
    assert_eq!(children.len(), 2, "{text}");
    let cpu = seconds(children[0]) + seconds(children[1]);
    println!("procman start, 3 instances, 100,000 env keys: {cpu:.2} s of CPU");
    assert!(cpu < 15.0, "{cpu:.2} s of CPU: spawning with a large .env is not linear any more");
}

/// A key given twice is refused even when one of them is written with a JSON escape
/// (`"w\u0065b"` is `web`), over the real socket; the run's counts do not change.
#[test]
fn a_key_given_twice_through_an_escape_is_refused_over_the_socket() {
    let dir = Dir::new();
    dir.write("Procfile", "web: sleep 60\n");
    let mut run = dir.spawn(&["start"]);
    run.wait_nth(&["web.1", "started with pid"], 1);
    ps_until(&dir, "the socket answering", |ps| ps["ok"] == true);

    let mut stream =
        UnixStream::connect(dir.path().join(".procman.sock")).expect("connect to the socket");
    stream.set_read_timeout(Some(WAIT)).expect("read timeout");
    stream
        .write_all(b"{\"v\":1,\"id\":1,\"cmd\":\"scale\",\"counts\":{\"w\\u0065b\":3,\"web\":2}}\n")
        .expect("send the request");
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer).expect("an answer");
    let answer: serde_json::Value = serde_json::from_str(&answer).expect("a JSON answer");
    assert_eq!(answer["ok"], false, "{answer}");
    assert_eq!(answer["kind"], "bad-request", "{answer}");
    assert!(
        answer["error"].as_str().is_some_and(|e| e.contains("the key `web` is given twice")),
        "{answer}"
    );

    let ps = ps_json(&dir);
    let processes = ps["processes"].as_array().expect("processes");
    assert_eq!(processes.len(), 1, "the refused request changed the run: {ps:#}");
    run.signal(Signal::SIGTERM);
    assert_eq!(run.wait_exit().code(), Some(143), "{}", run.transcript());
}

/// A config file's `cwd` that is not a directory is an input error of `start` and `run`, found
/// before anything starts: not a spawn failure after other processes started (issue 11: bad
/// input gets a clear error and nothing is started).
#[test]
fn a_missing_config_cwd_starts_nothing_and_names_the_config_file() {
    let dir = Dir::new();
    dir.write("Procfile", "web: echo WEB-STARTED; exec sleep 300\nworker: sleep 300\n");
    dir.write("procman.json", "{\"processes\": {\"worker\": {\"cwd\": \"nope\"}}}\n");
    for args in [&["start", "--no-socket"][..], &["run", "worker"][..]] {
        let finished = dir.run(args);
        let stderr = finished.stderr();
        assert_eq!(finished.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("procman.json") && stderr.contains("processes.worker.cwd"),
            "{args:?}: {stderr}"
        );
        assert!(
            !finished.stdout().contains("WEB-STARTED"),
            "{args:?}: nothing starts: {}",
            finished.stdout()
        );
        assert!(!finished.stdout().contains("started with pid"), "{args:?}: {}", finished.stdout());
    }
}
