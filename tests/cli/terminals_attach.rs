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
    run.wait_for("| hello alice");

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
