//! Instances on pseudo-terminals: what the program sees (a terminal, a session of its own, the
//! window size), how its output reaches the host (lines, `\r\n` and redraws undone, the raw
//! tap), and the fallback to pipes when no pty is left.

use supervise::{DriverOptions, Event, InstanceId, OutputSpec, ProgramSpec, State, StdinSpec};

use crate::harness::{Run, id, sh, stat};

/// `sh -c script` on a pty of its own, stdin included.
pub fn on_pty(name: &str, script: &str) -> ProgramSpec {
    let mut spec = sh(name, script);
    spec.stdout = OutputSpec::Pty;
    spec.stderr = OutputSpec::MergeWithStdout;
    spec.stdin = StdinSpec::Host;
    spec
}

/// `sh -c script` on pipes, stdin from the host.
pub fn on_pipes(name: &str, script: &str) -> ProgramSpec {
    let mut spec = sh(name, script);
    spec.stderr = OutputSpec::MergeWithStdout;
    spec.stdin = StdinSpec::Host;
    spec
}

const WHAT_AM_I: &str =
    "for fd in 0 1 2; do if [ -t $fd ]; then echo $fd:tty; else echo $fd:notty; fi; done";

#[test]
fn a_program_on_a_pty_sees_a_terminal_and_on_pipes_does_not() {
    let mut run = Run::new();
    run.add(on_pty("tty", &format!("{WHAT_AM_I}; tty; exec sleep 30")));
    run.add(on_pipes("pipe", &format!("{WHAT_AM_I}; exec sleep 30")));
    run.driver.start_group("tty").expect("start");
    run.driver.start_group("pipe").expect("start");
    let (tty, pipe) = (id("tty", 1), id("pipe", 1));
    run.wait_line(&tty, |l| l.starts_with("/dev/"));
    run.wait_line(&pipe, |l| l == "2:notty");
    assert_eq!(run.lines(&tty, None)[..3], ["0:tty", "1:tty", "2:tty"]);
    assert_eq!(run.lines(&pipe, None), ["0:notty", "1:notty", "2:notty"]);

    // On a pty the program leads a session of its own; on pipes, only a process group.
    let (tty_pid, pipe_pid) = (run.pid(&tty), run.pid(&pipe));
    let (_, _, pgrp, session) = stat(tty_pid).expect("tty stat");
    assert_eq!((pgrp, session), (tty_pid, tty_pid));
    let (_, _, pgrp, session) = stat(pipe_pid).expect("pipe stat");
    let (_, _, _, own_session) = stat(std::process::id()).expect("own stat");
    assert_eq!((pgrp, session), (pipe_pid, own_session));
    run.finish();
}

#[test]
fn crlf_becomes_lf_and_a_redraw_keeps_what_was_drawn_last() {
    let mut run = Run::new();
    run.add(on_pty("bar", r"printf 'one\ntwo\r\n10%%\r50%%\r100%%\ndone\n\rlast words'"));
    run.driver.start_group("bar").expect("start");
    let bar = id("bar", 1);
    run.wait_state(&bar, State::Exited);
    assert_eq!(run.lines(&bar, None), ["one", "two", "100%", "done", "last words"]);
    let outputs = run.outputs(&bar);
    assert!(outputs.iter().all(|o| !o.data.contains(&b'\r')), "{outputs:?}");
    assert!(outputs.last().is_some_and(|o| o.incomplete), "no newline at the end");
    run.finish();
}

#[test]
fn every_line_from_a_pty_comes_whole_and_before_the_exit() {
    let mut run = Run::new();
    run.add(on_pty("count", "seq 1 3000"));
    run.driver.start_group("count").expect("start");
    let count = id("count", 1);
    run.wait_state(&count, State::Exited);
    let expected: Vec<String> = (1..=3000).map(|i| i.to_string()).collect();
    assert_eq!(run.lines(&count, None), expected);
    run.assert_output_before_exit(&count);
    run.finish();
}

#[test]
fn the_program_sees_the_window_size_and_its_changes() {
    let mut run = Run::new();
    run.driver.set_window_size(100, 30);
    // `stty size` reads the size of its standard input, the pty.
    run.add(on_pty(
        "win",
        "stty size; trap 'stty size' WINCH; echo ready; while :; do sleep 0.05; done",
    ));
    run.driver.start_group("win").expect("start");
    let win = id("win", 1);
    run.wait_line(&win, |l| l == "ready");
    assert_eq!(run.lines(&win, None)[0], "30 100");
    run.driver.set_window_size(120, 40);
    run.wait_line(&win, |l| l == "40 120");
    run.finish();
}

#[test]
fn a_raw_tap_delivers_the_bytes_as_read_and_lines_still_come() {
    let mut run = Run::new();
    run.add(on_pty("tapped", r"printf 'a\nb\r\n'"));
    run.add(on_pipes("piped", r"printf 'x\ny\r\nz'"));
    run.add(on_pty("plain", r"printf 'a\n'"));
    let (tapped, piped, plain) = (id("tapped", 1), id("piped", 1), id("plain", 1));
    run.driver.set_raw_tap(&tapped, true);
    run.driver.set_raw_tap(&piped, true);
    for group in ["tapped", "piped", "plain"] {
        run.driver.start_group(group).expect("start");
    }
    for one in [&tapped, &piped, &plain] {
        run.wait_state(one, State::Exited);
    }
    let raw = |one: &InstanceId| -> Vec<u8> {
        run.log
            .iter()
            .filter_map(|(_, e)| match e {
                Event::RawOutput(raw) if &raw.id == one => Some(raw.data.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    };
    // The terminal's own bytes: `\n` written out as `\r\n`.
    assert_eq!(raw(&tapped), b"a\r\nb\r\r\n");
    assert_eq!(run.lines(&tapped, None), ["a", "b"]);
    // A pipe's bytes, as written; its lines are untouched too.
    assert_eq!(raw(&piped), b"x\ny\r\nz");
    assert_eq!(run.lines(&piped, None), ["x", "y\r", "z"]);
    assert!(
        !run.log.iter().any(|(_, e)| matches!(e, Event::RawOutput(raw) if raw.id == plain)),
        "no raw output without a tap"
    );
    assert_eq!(run.lines(&plain, None), ["a"]);
    run.finish();
}

#[test]
fn past_the_cap_on_ptys_instances_run_on_pipes_and_it_is_reported_once() {
    let mut run =
        Run::with_options(DriverOptions { max_ptys: Some(1), ..DriverOptions::default() });
    let mut spec = on_pty("w", "if [ -t 1 ]; then echo tty; else echo notty; fi; exec sleep 30");
    spec.instances = 3;
    run.add(spec);
    run.driver.start_group("w").expect("start");
    for n in 1..=3 {
        run.wait_line(&id("w", n), |l| l.ends_with("tty"));
        assert_eq!(run.transitions(&id("w", n)).last().map(|t| t.to), Some(State::Running));
    }
    assert_eq!(run.lines(&id("w", 1), None), ["tty"]);
    assert_eq!(run.lines(&id("w", 2), None), ["notty"]);
    assert_eq!(run.lines(&id("w", 3), None), ["notty"]);
    let reports: Vec<Event> = run
        .log
        .iter()
        .filter(|(_, e)| matches!(e, Event::PtyUnavailable { .. }))
        .map(|(_, e)| e.clone())
        .collect();
    match reports.as_slice() {
        [Event::PtyUnavailable { id: first, reason }] => {
            assert_eq!(first, &id("w", 2));
            assert!(reason.contains("cap of 1"), "{reason}");
        }
        other => panic!("one report expected: {other:?}"),
    }

    // Once the pty is given back, the next start gets one again.
    run.driver.stop(&id("w", 1)).expect("stop");
    run.wait_state(&id("w", 1), State::Stopped);
    run.driver.restart(&id("w", 3)).expect("restart");
    run.wait_until("w.3 on a pty", |run| run.lines(&id("w", 3), None).contains(&"tty".into()));
    run.finish();
}
