//! The terminal features tried as a hostile or unlucky user would: signal storms at the worst
//! moment, an attached client that stops reading or floods input, connections that send half
//! a request and then nothing.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::process::{ChildStdin, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

/// Ctrl-Z and `fg` pressed over and over (with SIGWINCH between) while 200 instances start,
/// the last key a `fg`: the whole app runs when the storm is over.
#[test]
fn a_storm_during_a_start_ending_with_sigcont_leaves_everything_running() {
    let dir = Dir::with_procfile("web: exec sleep 300\n");
    let mut run = dir.spawn(&["start", "--no-timestamp", "--tty=always", "-m", "web=200"]);
    run.started("web.1");
    storm(&run, 100);
    run.signal(Signal::SIGCONT);
    let everything = all_started(&mut run, 200);
    // Before: a SIGTSTP taken after the SIGCONT that followed it left the app stopped.
    wait_states(&everything, false);
    run.stop(Signal::SIGTERM);
}

/// The same storm, the last key a Ctrl-Z: the job ends stopped, as the shell must see it (the
/// guard, the pid it waits on, and the supervisor), and the one `fg` the shell then sends
/// resumes the guard, the supervisor and every instance.
///
/// A shell sends `fg` only once it has seen the job stop: a SIGCONT sent while procman is
/// still stopping itself can be lost, as for every program that stops itself after a SIGTSTP
/// (docs/terminals.md).
#[test]
fn a_storm_ending_with_sigtstp_stops_the_job_and_one_fg_resumes_it() {
    let dir = Dir::with_procfile("web: exec sleep 300\n");
    let mut run = dir.spawn(&["start", "--no-timestamp", "--tty=always", "-m", "web=200"]);
    let first = run.started("web.1");
    let guard = run.pid();
    let supervisor = parent_of(first).expect("the supervisor");
    storm(&run, 100);
    run.signal(Signal::SIGTSTP);
    // Before: the guard went on running ('S') in most runs, a stale stop request dropped.
    wait_states(&[guard, supervisor], true);
    run.signal(Signal::SIGCONT);
    let everything = all_started(&mut run, 200);
    wait_states(&everything, false);
    run.stop(Signal::SIGTERM);
}

/// A storm during the shutdown of 200 instances, the last key a Ctrl-Z, then the shell's `fg`
/// once the job is stopped (or already gone): the run ends as SIGTERM says, nothing left.
#[test]
fn a_storm_during_shutdown_ending_with_sigtstp_still_ends_the_run() {
    let dir = Dir::with_procfile("web: exec sleep 300\n");
    let mut run = dir.spawn(&["start", "--no-timestamp", "--tty=always", "-m", "web=200"]);
    let everything = all_started(&mut run, 200);
    let guard = run.pid();
    run.signal(Signal::SIGTERM);
    storm(&run, 100);
    run.signal(Signal::SIGTSTP);
    wait_stopped_or_gone(guard);
    run.signal(Signal::SIGCONT);
    assert_eq!(run.wait_exit().code(), Some(143), "{}", run.transcript());
    assert!(wait_gone(&everything, WAIT).is_empty(), "left: {}", describe(&everything));
}

/// Waits until `count` instances have started; their pids, the supervisor's and the guard's.
fn all_started(run: &mut Running, count: usize) -> Vec<u32> {
    run.started(&format!("web.{count}"));
    let mut everything: Vec<u32> =
        started_pids(&run.transcript()).into_iter().map(|(_, pid)| pid).collect();
    assert_eq!(everything.len(), count, "{}", run.transcript());
    let supervisor = parent_of(everything[0]).expect("the supervisor");
    everything.extend([supervisor, run.pid()]);
    everything
}

/// `rounds` of SIGTSTP, SIGWINCH and SIGCONT to the pid the shell knows, a moment apart
/// (spacing, not a wait: the storm needs no event).
fn storm(run: &Running, rounds: u32) {
    for round in 0..rounds {
        run.signal(Signal::SIGTSTP);
        run.signal(Signal::SIGWINCH);
        std::thread::sleep(Duration::from_micros(u64::from(round % 4) * 500));
        run.signal(Signal::SIGCONT);
    }
}

/// `procman attach` flooded with input for an instance that never reads it: procman and the
/// client hold a bounded amount and then stop reading, and the client still ends at a signal
/// (before, it blocked in a write to the socket, deaf to SIGTERM, Ctrl-] and all).
#[test]
fn attach_flooding_an_instance_that_does_not_read_still_ends_at_a_signal() {
    let dir = Dir::with_procfile("web: exec sleep 300\n");
    let mut run = dir.spawn(&["start", "--no-timestamp", "--tty=never"]);
    run.started("web.1");
    let mut command = dir.command(&["attach", "web.1"]);
    command.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut attach = dir.start(command);
    let mut stderr = attach.child.stderr.take().expect("attach's stderr");
    read_until(&mut stderr, "the attach's greeting", |text| text.contains("attached to web.1"));
    let input = attach.child.stdin.take().expect("attach's input");
    let written = flood_until_stalled(&input);
    assert!(written > 128 * 1024, "only {written} bytes went in");
    attach.signal(Signal::SIGTERM);
    let status = attach.wait_within(WAIT);
    attach.end();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "the attach ends at SIGTERM");
    let stderr = read_until(&mut stderr, "the attach's farewell", |text| text.contains("(signal)"));
    assert!(stderr.contains("detached from web.1 (signal)"), "{stderr}");
    drop(input);
    // procman never waited on it: it answers, and web.1 runs on.
    let ps = ps_json(&dir);
    assert_eq!(instance(&ps, "web.1")["state"], "running", "{ps}");
    run.stop(Signal::SIGTERM);
}

/// An attached `procman attach` stopped (SIGSTOP, or Ctrl-Z at its shell) while the instance
/// prints fast: the run goes on, procman's memory stays bounded, and the client, once
/// resumed, is still attached and told how much output it missed (before, it was dropped and
/// told the instance was removed or the run had ended).
#[test]
fn an_attached_terminal_that_stops_reading_is_told_what_it_missed() {
    let fast = "fast: sh -c 'i=0; while :; do i=$((i+1)); echo \"tick $i ....................................................................\"; done'\n";
    let dir = Dir::with_procfile(fast);
    let mut run = dir.spawn(&["start", "--no-timestamp", "--tty=never"]);
    run.started("fast.1");
    let supervisor = supervisor_pid(&dir);
    let mut command = dir.command(&["attach", "fast.1"]);
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut attach = dir.start(command);
    let mut stderr = attach.child.stderr.take().expect("attach's stderr");
    read_until(&mut stderr, "the attach's greeting", |text| text.contains("attached to fast.1"));
    let _input = attach.child.stdin.take().expect("held open: the attach stays");
    let mut out = attach.child.stdout.take().expect("attach's output");
    assert!(read_until_bytes(&mut out, b"tick "), "the attach shows the output");
    attach.signal(Signal::SIGSTOP);

    // The main view goes on well past what the attach could hold (100k lines: 8 MB).
    let line = run.wait_for("tick ");
    let now: u64 = tick_number(&line);
    run.wait_for(&format!("tick {} ", now + 100_000));
    assert_eq!(instance(&ps_json(&dir), "fast.1")["state"], "running");
    let rss = own_rss(supervisor);
    assert!(rss < 64 << 20, "procman holds {rss} bytes for a stopped attach");

    attach.signal(Signal::SIGCONT);
    assert!(
        read_until_bytes(&mut out, b"output dropped: this terminal did not keep up"),
        "the attach is told what it missed"
    );
    // Still attached: the output goes on after the notice.
    assert!(read_until_bytes(&mut out, b"tick "), "the attach shows the output again");
    // Read on: an attach blocked on its own output would not see the signal.
    let drain = std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    attach.signal(Signal::SIGTERM);
    let status = attach.wait_within(WAIT);
    attach.end();
    assert_eq!(status.and_then(|s| s.code()), Some(0));
    let stderr = read_until(&mut stderr, "the attach's farewell", |text| text.contains("(signal)"));
    assert!(stderr.contains("detached from fast.1 (signal)"), "{stderr}");
    let _ = drain.join();
    run.stop(Signal::SIGTERM);
}

/// Writes into `input` until nobody reads it any more: it stays full for a second (proof of
/// an absence needs a limit; a reader merely slow makes this end early, which costs the test
/// nothing but its strength). Returns how much went in.
fn flood_until_stalled(input: &ChildStdin) -> usize {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    fcntl(input, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).expect("a non-blocking pipe");
    let chunk = [b'x'; 4096];
    let deadline = Instant::now() + WAIT;
    let mut written = 0;
    loop {
        assert!(Instant::now() < deadline, "the input never stalled within {WAIT:?}");
        match nix::unistd::write(input, &chunk) {
            Ok(n) => written += n,
            Err(nix::errno::Errno::EAGAIN) => {
                let mut fds = [PollFd::new(input.as_fd(), PollFlags::POLLOUT)];
                if poll(&mut fds, PollTimeout::from(1000u16)).unwrap_or(0) == 0 {
                    return written;
                }
            }
            Err(err) => panic!("writing into the attach: {err}"),
        }
    }
}

/// The number in `fast.1 | tick N ...`.
fn tick_number(line: &str) -> u64 {
    line.split("tick ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no tick number in {line:?}"))
}

/// Reads `stream` until `needle` shows (bounded by [`WAIT`]); whether it did. Only the bytes
/// since the last call are searched, and only a window of them is kept.
fn read_until_bytes(stream: &mut ChildStdout, needle: &[u8]) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let deadline = Instant::now() + WAIT;
    let mut window: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(stream.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, timeout).unwrap_or(0) == 0 {
            return false;
        }
        let read = stream.read(&mut buf).unwrap_or(0);
        if read == 0 {
            return false;
        }
        window.extend_from_slice(&buf[..read]);
        if contains(&window, needle) {
            return true;
        }
        let keep = window.len().saturating_sub(needle.len());
        window.drain(..keep);
    }
    false
}

/// Clients that connect and send half a request, then nothing, as many as the socket admits:
/// they hold nothing a real client needs (before, they held every place and `ps` was told
/// `too many control connections` for as long as they stayed).
#[test]
fn half_requests_do_not_lock_out_the_control_socket() {
    let dir = Dir::with_procfile("web: exec sleep 300\n");
    let mut run = dir.spawn(&["start", "--no-timestamp"]);
    run.started("web.1");
    let socket = dir.path().join(".procman.sock");
    let stalled: Vec<UnixStream> = (0..70)
        .map(|_| {
            let mut stream = UnixStream::connect(&socket).expect("connect");
            stream.write_all(br#"{"v":1,"cmd":"p"#).expect("half a request");
            stream
        })
        .collect();
    let ps = ps_json(&dir);
    assert_eq!(instance(&ps, "web.1")["state"], "running", "{ps}");
    ctl_ok(&dir, &["restart", "web.1"]);
    run.started_nth("web.1", 2);
    drop(stalled);
    run.stop(Signal::SIGTERM);
}
