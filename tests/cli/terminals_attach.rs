//! Typing into one process: `procman attach NAME[.N]` from a second terminal, and `procman
//! start --attach NAME` on procman's own terminal. Both terminals are real ptys.

use crate::harness::*;

/// Answers each line it reads, after a prompt that ends in no newline.
const GREETER: &str = "web: sh -c 'printf \"name? \"; while read name; do echo \"hello $name\"; printf \"name? \"; done'\n";

#[test]
fn attach_round_trips_a_line_and_ctrl_bracket_detaches() {
    let dir = Dir::new();
    dir.write("Procfile", GREETER);
    let mut run = dir.spawn(&["start", "--no-timestamp", "--tty=always"]);
    let started = run.wait_for("| started with pid");
    let pid = started_pids(&started)[0].1;

    let mut term = PtySession::start(&dir, dir.command(&["attach", "web"]), Some((100, 30)), false);
    term.wait_for("attached to web.1 (pid ");
    term.wait_for("Ctrl-] detaches");
    // Raw mode: every key goes to the program, whose pty echoes and edits.
    assert!(raw(&term.modes()));

    term.send(b"alice\r");
    term.wait_for("hello alice");
    // The main view shows it too, prefixed.
    run.wait_line_of("web.1", "hello alice");

    // One terminal at a time: a second one is refused, and says why.
    let second = dir.run(&["attach", "web.1"]);
    assert_eq!(second.code(), Some(1), "{}", second.stderr());
    assert!(
        second.stderr().contains("`web.1` is already attached from another terminal"),
        "{}",
        second.stderr()
    );
    let typo = dir.run(&["attach", "wbe.1"]);
    assert_eq!(typo.code(), Some(1));
    assert!(typo.stderr().contains("did you mean `web`?"), "{}", typo.stderr());

    // Ctrl-] detaches: the command ends, the terminal is as it was, the process runs on.
    term.send(b"\x1d");
    term.wait_for("detached from web.1; it keeps running");
    assert_eq!(term.wait_exit().code(), Some(0));
    assert!(cooked(&term.modes()), "the terminal's modes are back");
    assert!(alive(pid), "web.1 keeps running");

    // And another terminal may attach now.
    let mut again = PtySession::start(&dir, dir.command(&["attach", "web.1"]), None, false);
    again.wait_for("attached to web.1");
    again.send(b"bob\r");
    again.wait_for("hello bob");
    again.send(b"\x1d");
    assert_eq!(again.wait_exit().code(), Some(0));
    run.stop(Signal::SIGTERM);
    assert!(!run.transcript().contains("| exited"), "{}", run.transcript());
}

#[test]
fn attach_on_pipes_keeps_the_terminals_line_mode() {
    let dir = Dir::new();
    dir.write("Procfile", GREETER);
    let mut run = dir.spawn(&["start", "--no-timestamp", "--tty=never"]);
    run.wait_for("| started with pid");
    let mut term = PtySession::start(&dir, dir.command(&["attach", "web.1"]), None, false);
    term.wait_for("Ctrl-] then Enter, or Ctrl-D, detaches");
    assert!(cooked(&term.modes()), "no echo would come from pipes: the terminal keeps its own");
    term.send(b"carol\n");
    term.wait_for("hello carol");
    // Ctrl-D at the start of a line detaches (and does not end the program's input).
    term.send(b"\x04");
    term.wait_for("detached from web.1");
    assert_eq!(term.wait_exit().code(), Some(0));
    let mut term = PtySession::start(&dir, dir.command(&["attach", "web.1"]), None, false);
    term.wait_for("attached to web.1");
    term.send(b"dave\n");
    term.wait_for("hello dave");
    run.stop(Signal::SIGTERM);
}

#[test]
fn start_attach_gives_procmans_terminal_to_the_first_instance() {
    let dir = Dir::new();
    dir.write("Procfile", format!("{GREETER}worker: exec sleep 300\n"));
    let command = dir.command(&["start", "--no-timestamp", "--no-color", "--attach", "web"]);
    let mut term = PtySession::start(&dir, command, Some((100, 30)), true);
    term.wait_for("worker.1 | started with pid");
    // The prompt shows before any newline: the live line under the view.
    term.wait_for("web.1    | name? ");
    assert!(cbreak(&term.modes()), "Ctrl-C stays a signal, the pty echoes");

    term.send(b"erin\r");
    term.wait_for("web.1    | hello erin");
    let pids = started_pids(&term.transcript());

    // Another terminal cannot attach to it: procman's own has it.
    let other = dir.run(&["attach", "web.1"]);
    assert_eq!(other.code(), Some(1));
    assert!(other.stderr().contains("procman's own terminal"), "{}", other.stderr());

    term.send(b"\x03");
    term.wait_for("SIGINT received, starting shutdown");
    assert_eq!(term.wait_exit().code(), Some(130), "{}", term.transcript());
    assert!(cooked(&term.modes()), "the terminal's modes are back");
    assert!(pids.iter().all(|(_, pid)| !alive(*pid)), "the app is gone");
}

#[test]
fn start_attach_needs_a_known_name_and_a_terminal() {
    let dir = Dir::new();
    dir.write("Procfile", GREETER);
    let finished = dir.run(&["start", "--attach", "wbe"]);
    assert_eq!(finished.code(), Some(1));
    assert!(finished.stderr().contains("did you mean `web`?"), "{}", finished.stderr());
    let finished = dir.run(&["start", "--attach", "web"]);
    assert_eq!(finished.code(), Some(1));
    assert!(
        finished.stderr().contains("standard input is not a terminal"),
        "{}",
        finished.stderr()
    );
}

#[test]
fn attach_stays_through_a_restart_and_ends_when_the_instance_is_removed() {
    let dir = Dir::with_procfile(GREETER);
    let mut run = dir.spawn(&["start", "--no-timestamp", "--tty=always"]);
    let first = run.started("web.1");
    let mut term =
        PtySession::start(&dir, dir.command(&["attach", "web.1"]), Some((100, 30)), false);
    term.wait_for("attached to web.1");
    term.send(b"fay\r");
    term.wait_for("hello fay");

    // A restart: the terminal says so and stays attached, to the new process.
    ctl_ok(&dir, &["restart", "web.1"]);
    term.wait_for("[procman] web.1 was terminated by SIGTERM");
    term.wait_for("still attached");
    let second = run.started_nth("web.1", 2);
    term.wait_for(&format!("[procman] web.1 started with pid {second}"));
    assert_ne!(first, second);
    term.send(b"gus\r");
    term.wait_for("hello gus");
    run.wait_line_of("web.1", "hello gus");

    // Removed: the command ends, and says why; the terminal is as it was.
    ctl_ok(&dir, &["scale", "web=0"]);
    term.wait_for("connection closed (web.1 was removed, or the run ended)");
    assert_eq!(term.wait_exit().code(), Some(0), "{}", term.transcript());
    assert!(cooked(&term.modes()), "the terminal's modes are back");
    run.stop(Signal::SIGTERM);
}

#[test]
fn attach_with_piped_input_sends_it_and_ends() {
    let dir = Dir::with_procfile(GREETER);
    let mut run = dir.spawn(&["start", "--no-timestamp", "--tty=never"]);
    run.started("web.1");
    let mut command = dir.command(&["attach", "web.1"]);
    // Its messages and the relayed output are not this test's: they would land in the test
    // run's own output.
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut attach = dir.start(command);
    let mut input = attach.child.stdin.take().expect("attach's input");
    std::io::Write::write_all(&mut input, b"hal\nivy\n").expect("write to attach");
    drop(input);
    assert_eq!(attach.wait().code(), Some(0));
    run.wait_for("hello hal");
    run.wait_for("hello ivy");
    // The instance's input stays open: it runs on, and reads what comes next.
    let again = dir.run_with({
        let mut command = dir.command(&["attach", "web.1"]);
        command.stdin(std::fs::File::open(dir.write("names", "joe\n")).expect("names"));
        command
    });
    assert_code(&again, 0);
    run.wait_for("hello joe");
    run.stop(Signal::SIGTERM);
}

/// A prompt printed before the terminal attached (no newline, so never a line of procman's
/// view) shows on the attaching terminal at once, on pipes and on a pty: a breakpoint that
/// waits for input is not a blank line.
#[test]
fn attach_shows_the_prompt_printed_before_it() {
    for tty in ["--tty=never", "--tty=always"] {
        let dir = Dir::new();
        dir.write(
            "Procfile",
            "web: printf 'name? '; touch prompted; read name; echo \"hello $name\"; exec sleep 300\n",
        );
        let mut run = dir.spawn(&["start", "--no-timestamp", tty]);
        run.wait_for("| started with pid");
        wait_file(&dir.path().join("prompted"));
        let mut term = PtySession::start(&dir, dir.command(&["attach", "web.1"]), None, false);
        term.wait_for("attached to web.1");
        term.wait_for("name? ");
        term.send(b"gus\n");
        term.wait_for("hello gus");
        run.stop(Signal::SIGTERM);
    }
}
