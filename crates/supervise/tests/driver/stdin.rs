//! Standard input from the host: open and empty until written, whatever the supervisor's own
//! stdin is; written through the poll loop without ever blocking it; closed on request.

use std::os::fd::{AsFd, OwnedFd};

use nix::unistd::{close, dup2_stdin};

use supervise::{Event, ExitStatus, State, StdinError, StdinSpec};

use crate::harness::{Run, id, sh};
use crate::terminal::{on_pipes, on_pty};

/// This process's standard input, replaced until dropped. The tests of this binary run one at
/// a time (see `harness`), so nothing else uses descriptor 0 meanwhile.
struct HostStdin {
    /// A copy of the original descriptor 0 (`None`: it was closed).
    saved: Option<OwnedFd>,
}

impl HostStdin {
    fn save() -> HostStdin {
        // A copy above 2 and close-on-exec (F_DUPFD_CLOEXEC); it fails when 0 is closed.
        HostStdin { saved: std::io::stdin().as_fd().try_clone_to_owned().ok() }
    }

    /// Standard input from `/dev/null`, as under `procman start < /dev/null` or a service.
    fn dev_null() -> HostStdin {
        let saved = HostStdin::save();
        let null = std::fs::File::open("/dev/null").expect("/dev/null");
        dup2_stdin(&null).expect("/dev/null as descriptor 0");
        saved
    }

    /// Standard input closed: the next descriptor opened is 0.
    fn closed() -> HostStdin {
        let saved = HostStdin::save();
        // Descriptor 0 is this process's; it is restored on drop. (std's `Stdin` reads a closed
        // 0 as empty, and the tests do not read it.)
        close(0).expect("close descriptor 0");
        saved
    }
}

impl Drop for HostStdin {
    fn drop(&mut self) {
        // A failure leaves the next test a different descriptor 0, which its own checks see.
        let _ = match &self.saved {
            Some(fd) => dup2_stdin(fd),
            // Descriptor 0 was closed before the test: close what the test left there.
            None => close(0),
        };
    }
}

/// Prints `waiting`, then reads one line: `got LINE`, or `EOF` if there is none.
const READ_ONE: &str = r#"echo waiting; if read line; then echo "got $line"; else echo EOF; fi"#;

#[test]
fn a_host_stdin_stays_open_and_empty_whatever_the_supervisor_stdin_is() {
    type Replace = fn() -> HostStdin;
    let cases: [(&str, Replace); 2] =
        [("/dev/null", HostStdin::dev_null), ("closed", HostStdin::closed)];
    for (case, replace) in cases {
        let mut run = Run::new();
        // Put back only once the driver is gone and before the next test's driver exists: a
        // descriptor the driver opened meanwhile may be number 0.
        run.hold(replace());
        run.add(on_pipes("pipe", READ_ONE));
        run.add(on_pty("tty", READ_ONE));
        // The control: /dev/null ends at once.
        let mut null = sh("null", READ_ONE);
        null.stdin = StdinSpec::Null;
        run.add(null);
        let (pipe, tty, null) = (id("pipe", 1), id("tty", 1), id("null", 1));
        for group in ["pipe", "tty", "null"] {
            run.driver.start_group(group).expect("start");
        }
        run.wait_state(&null, State::Exited);
        assert_eq!(run.lines(&null, None), ["waiting", "EOF"], "{case}");
        // Nothing read yet: neither saw the end of its input.
        run.wait_line(&pipe, |l| l == "waiting");
        run.wait_line(&tty, |l| l == "waiting");
        assert_eq!(run.driver.write_stdin(&pipe, b"hello\n"), Ok(6));
        assert_eq!(run.driver.write_stdin(&tty, b"hello\n"), Ok(6));
        run.wait_state(&pipe, State::Exited);
        run.wait_state(&tty, State::Exited);
        assert_eq!(run.lines(&pipe, None), ["waiting", "got hello"], "{case}");
        // The terminal echoes what it is given, as it does for typed keys.
        assert_eq!(run.lines(&tty, None), ["waiting", "hello", "got hello"], "{case}");
        run.finish();
    }
}

#[test]
fn a_line_written_to_stdin_round_trips_through_head_and_cat() {
    let mut run = Run::new();
    run.add(on_pipes("head", "exec head -n1"));
    run.add(on_pipes("cat", "exec cat"));
    run.driver.start_group("head").expect("start");
    run.driver.start_group("cat").expect("start");
    let (head, cat) = (id("head", 1), id("cat", 1));
    run.wait_state(&head, State::Running);
    run.wait_state(&cat, State::Running);
    run.driver.write_stdin(&head, b"first\nsecond\n").expect("write");
    run.driver.write_stdin(&cat, b"one\n").expect("write");
    run.wait_line(&cat, |l| l == "one");
    run.driver.write_stdin(&cat, b"two\n").expect("write");
    run.driver.close_stdin(&cat).expect("close");
    let head_exit = run.wait_state(&head, State::Exited);
    let cat_exit = run.wait_state(&cat, State::Exited);
    assert_eq!(run.lines(&head, None), ["first"]);
    assert_eq!(run.lines(&cat, None), ["one", "two"]);
    assert_eq!(head_exit.exit, Some(ExitStatus::Code(0)));
    // cat ends at the end of its input: the close reached it.
    assert_eq!(cat_exit.exit, Some(ExitStatus::Code(0)));
    run.finish();
}

#[test]
fn a_program_that_does_not_read_never_blocks_the_loop_and_queued_input_follows_the_reader() {
    let mut run = Run::new();
    run.add(on_pipes("deaf", "echo up; exec sleep 30"));
    run.add(on_pipes("counter", "read go; echo reading; exec wc -c"));
    let (deaf, counter) = (id("deaf", 1), id("counter", 1));
    run.driver.start_group("deaf").expect("start");
    run.driver.start_group("counter").expect("start");
    run.wait_line(&deaf, |l| l == "up");

    // The deaf program's pipe fills, then its queue: the rest is refused, at once.
    let mib = vec![b'x'; 1 << 20];
    let taken = run.driver.write_stdin(&deaf, &mib).expect("write");
    assert!(taken > 64 * 1024 && taken < mib.len(), "taken {taken}");
    assert_eq!(run.driver.write_stdin(&deaf, b"more").expect("write"), 0);

    // Meanwhile another program is fed a MiB as fast as it reads, on StdinReady.
    run.driver.write_stdin(&counter, b"go\n").expect("write");
    run.wait_line(&counter, |l| l == "reading");
    let ready = |run: &Run| {
        run.log.iter().filter(|(_, e)| matches!(e, Event::StdinReady(i) if *i == counter)).count()
    };
    let mut rest = mib.as_slice();
    while !rest.is_empty() {
        let seen = ready(&run);
        let taken = run.driver.write_stdin(&counter, rest).expect("write");
        rest = &rest[taken..];
        if !rest.is_empty() {
            run.wait_until("room in the queue", |run| ready(run) > seen);
        }
    }
    run.driver.close_stdin(&counter).expect("close");
    run.wait_line(&counter, |l| l.trim() == "1048576");
    assert!(run.log.iter().all(|(_, e)| !matches!(e, Event::StdinReady(i) if *i == deaf)));
    run.finish();
}

#[test]
fn writing_where_nobody_reads_says_why() {
    let mut run = Run::new();
    run.add(on_pipes("closer", "exec 0<&-; echo closed; exec sleep 30"));
    run.add(sh("null", "echo up; exec sleep 30"));
    run.add(on_pty("tty", "echo up; exec sleep 30"));
    run.add(on_pipes("done", "true"));
    for group in ["closer", "null", "tty", "done"] {
        run.driver.start_group(group).expect("start");
    }
    let (closer, null, tty, done) = (id("closer", 1), id("null", 1), id("tty", 1), id("done", 1));
    run.wait_line(&closer, |l| l == "closed");
    run.wait_line(&null, |l| l == "up");
    run.wait_state(&done, State::Exited);
    // The reader is gone: EPIPE, reported as such.
    assert_eq!(run.driver.write_stdin(&closer, b"x\n"), Err(StdinError::Closed(closer.clone())));
    assert_eq!(run.driver.write_stdin(&null, b"x\n"), Err(StdinError::NotFromHost(null)));
    assert_eq!(run.driver.write_stdin(&done, b"x\n"), Err(StdinError::NotRunning(done)));
    assert_eq!(run.driver.close_stdin(&tty), Err(StdinError::Terminal(tty)));
    run.finish();
}
