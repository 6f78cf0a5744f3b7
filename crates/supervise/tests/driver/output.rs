//! Output: whole lines, in order, on the right stream, the last one even without a newline;
//! and the embedding contract (poll the driver's descriptor, then `turn(Some(ZERO))`).

use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use supervise::{DriverOptions, Event, OutputSpec, Signal, State, Stream};

use crate::harness::{DEADLINE, Run, id, sh};

#[test]
fn stdout_and_stderr_arrive_separately() {
    let mut run = Run::new();
    run.add(sh("split", "echo out; echo err >&2; echo out2"));
    run.driver.start_group("split").expect("start");
    run.wait_state(&id("split", 1), State::Exited);
    let split1 = id("split", 1);
    assert_eq!(run.lines(&split1, Some(Stream::Stdout)), vec!["out", "out2"]);
    assert_eq!(run.lines(&split1, Some(Stream::Stderr)), vec!["err"]);
    run.finish();
}

#[test]
fn merged_stderr_keeps_the_relative_order() {
    let mut run = Run::new();
    let mut spec = sh("merged", "for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done");
    spec.stderr = OutputSpec::MergeWithStdout;
    run.start(spec);
    run.wait_state(&id("merged", 1), State::Exited);
    let merged1 = id("merged", 1);
    let expected: Vec<String> =
        (1..=5).flat_map(|i| [format!("out{i}"), format!("err{i}")]).collect();
    assert_eq!(run.lines(&merged1, Some(Stream::Stdout)), expected);
    assert!(run.lines(&merged1, Some(Stream::Stderr)).is_empty());
    run.finish();
}

#[test]
fn a_thousand_lines_arrive_whole_and_in_order_before_the_exit() {
    let mut run = Run::new();
    run.start(sh("count", "seq 1 1000"));
    let count1 = id("count", 1);
    run.wait_state(&count1, State::Exited);
    let outputs = run.outputs(&count1);
    assert!(outputs.iter().all(|o| !o.incomplete && o.data.ends_with(b"\n")), "whole lines only");
    let expected: Vec<String> = (1..=1000).map(|i| i.to_string()).collect();
    assert_eq!(run.lines(&count1, None), expected);
    run.assert_output_before_exit(&count1);
    run.finish();
}

#[test]
fn the_last_line_without_a_newline_arrives() {
    let mut run = Run::new();
    run.start(sh("tail", "printf 'first\\nlast words'"));
    let tail1 = id("tail", 1);
    run.wait_state(&tail1, State::Exited);
    let outputs = run.outputs(&tail1);
    let all: Vec<u8> = outputs.iter().flat_map(|o| o.data.clone()).collect();
    assert_eq!(all, b"first\nlast words");
    let last = outputs.last().expect("output");
    assert!(last.incomplete);
    assert_eq!(last.data, b"last words");
    assert_eq!(run.lines(&tail1, None), vec!["first", "last words"]);
    run.finish();
}

#[test]
fn output_of_instances_is_not_interleaved_within_lines() {
    let mut run = Run::new();
    // Long lines written in pieces by two instances at once.
    let mut spec = sh(
        "chatty",
        r#"i=0; while [ $i -lt 200 ]; do printf 'instance %s ' "$PS"; printf 'line %s\n' $i; i=$((i+1)); done"#,
    );
    spec.instances = 2;
    spec.instance_hook = Some(std::sync::Arc::new(|n, launch: &mut supervise::Launch| {
        launch.env.push(("PS".into(), n.to_string().into()));
    }));
    run.start(spec);
    for n in 1..=2 {
        run.wait_state(&id("chatty", n), State::Exited);
        let expected: Vec<String> = (0..200).map(|i| format!("instance {n} line {i}")).collect();
        assert_eq!(run.lines(&id("chatty", n), None), expected);
    }
    run.finish();
}

/// Waits for the driver's descriptor to be readable, at most `timeout`.
fn poll_readable(fd: BorrowedFd<'_>, timeout: Duration) {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
    // An interrupted or failed poll only makes the host's loop turn once more.
    let _ = poll(&mut [PollFd::new(fd, PollFlags::POLLIN)], timeout);
}

#[test]
fn a_host_loop_can_drive_it_through_its_descriptor() {
    let mut run =
        Run::with_options(DriverOptions { signals: vec![Signal::USR2], ..Default::default() });
    run.add(sh("host", "echo hello; sleep 0.2; echo bye"));
    run.driver.start_group("host").expect("start");
    let limit = Instant::now() + DEADLINE;
    let mut sent_signal = false;
    // The host's loop: poll the one descriptor with the driver's timeout (capped by the host's
    // own deadline), then let the driver process what is ready without blocking.
    while !run.driver.is_finished() {
        assert!(Instant::now() < limit, "timed out: {:#?}", run.log);
        let timeout =
            run.driver.timeout().map_or(Duration::from_secs(1), |t| t.min(Duration::from_secs(1)));
        poll_readable(run.driver.as_fd(), timeout);
        run.driver.turn(Some(Duration::ZERO)).expect("turn");
        run.collect();
        let exited = run.transitions(&id("host", 1)).iter().any(|t| t.to == State::Exited);
        if exited && !sent_signal {
            sent_signal = true;
            crate::harness::kill(std::process::id(), libc::SIGUSR2);
        }
        if run.log.iter().any(|(_, e)| *e == Event::SignalReceived(Signal::USR2)) {
            run.driver.shutdown();
            run.collect();
        }
    }
    assert_eq!(run.lines(&id("host", 1), None), vec!["hello", "bye"]);
    // Idle with nothing due: no periodic wake-up is asked for.
    assert_eq!(run.driver.timeout(), None);
    run.finish();
}

#[test]
fn an_idle_driver_asks_for_no_wakeup() {
    let mut run = Run::new();
    run.start(sh("idle", "exec sleep 300"));
    run.wait_state(&id("idle", 1), State::Running);
    run.turn();
    assert_eq!(run.driver.timeout(), None, "no deadline while all runs");
    run.finish();
}
