//! `procman ps --watch` on real ptys: a 0x0 terminal and a 40-column one still show every
//! instance, the run's changes show at once, a resize redraws at the new width, and each key
//! acts on the selected instance.

use crate::harness::*;

#[test]
fn ps_watch_on_a_0x0_terminal_shows_the_table() {
    let dir = Dir::with_procfile("web: exec sleep 300\nworker: exec sleep 300\n");
    let mut run = dir.spawn(&["start", "--no-timestamp"]);
    run.wait_for("worker.1 | started with pid");
    let mut term = PtySession::start(&dir, dir.command(&["ps", "--watch"]), None, false);
    term.wait_for("NAME");
    term.wait_for("web.1");
    term.wait_for("worker.1");
    term.wait_for("TOTAL");
    term.send(b"q");
    assert_eq!(term.wait_exit().code(), Some(0), "{}", term.transcript());
    assert!(cooked(&term.modes()), "the terminal's modes are back");
    run.stop(Signal::SIGTERM);
}

/// Answers each line it reads: what `a` attaches to must take what is typed.
const GREETER: &str = "web: sh -c 'while read name; do echo \"hello $name\"; done'\n";

#[test]
fn ps_watch_at_40_columns_follows_a_scale_and_its_keys_act_on_the_selected_instance() {
    let dir = Dir::with_procfile(GREETER);
    let mut run = dir.spawn(&["start", "--no-timestamp", "--tty=always"]);
    let first = run.started("web.1");
    let mut term = PtySession::start(&dir, dir.command(&["ps", "--watch"]), Some((40, 30)), false);
    term.wait_for("> web.1 ");
    // Narrow: the name, the state, the CPU use and the memory stay; LAST EXIT goes (whether
    // PID fits depends on how many digits the pids have).
    let header = term.wait_for("NAME");
    for kept in ["STATE", "%CPU", "MEM"] {
        assert!(header.contains(kept), "{kept}: {header:?}");
    }
    assert!(!header.contains("LAST EXIT"), "{header:?}");

    // A change of the run shows (at once through the events stream; the table is also
    // sampled every second).
    ctl_ok(&dir, &["scale", "web=12"]);
    term.wait_for("web.12");

    // Wider: the columns dropped at 40 come back.
    term.resize(120, 30);
    term.wait_for("LAST EXIT");

    // j selects web.2, s stops it: the answer shows under the table, the run says so.
    term.send(b"j");
    term.wait_for("> web.2 ");
    term.send(b"s");
    term.wait_for("stopping web.2");
    run.wait_for("stopping web.2, as requested over the control socket");
    term.wait_for("STOPPED");

    // k goes back to web.1, r restarts it: a new process.
    term.send(b"k");
    term.wait_for("> web.1 ");
    term.send(b"r");
    term.wait_for("restarting web.1");
    let second = run.started_nth("web.1", 2);
    assert_ne!(first, second, "web.1 runs as a new process");

    // a attaches this terminal to the selected instance: a line round-trips; Ctrl-] comes
    // back to the table.
    term.send(b"a");
    term.wait_for("attached to web.1");
    term.send(b"zed\r");
    term.wait_for("hello zed");
    run.wait_line_of("web.1", "hello zed");
    assert!(run.lines_with(&["web.2", "hello zed"]).is_empty(), "{}", run.transcript());
    term.send(b"\x1d");
    term.wait_for("detached from web.1");
    term.wait_for("> web.1 ");

    term.send(b"\x03");
    assert_eq!(term.wait_exit().code(), Some(0), "Ctrl-C is a key here: {}", term.transcript());
    assert!(cooked(&term.modes()), "the terminal's modes are back");
    run.stop(Signal::SIGTERM);
}
