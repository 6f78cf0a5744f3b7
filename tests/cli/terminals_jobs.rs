//! Job control: Ctrl-Z at the shell that started procman stops the whole app (the guard, the
//! supervisor and every instance), and `fg` or SIGCONT resumes all of it. Driven through an
//! interactive bash on a real pty, as a person would.

use std::process::Command;

use crate::harness::*;

/// Three instances: two on a pty of their own (procman's output is a terminal), each leading
/// its own process group or session, so the terminal's SIGTSTP never reaches them.
const APP: &str = "web: exec sleep 300\nworker: sh -c 'sleep 300 & wait'\n";

#[test]
fn ctrl_z_at_the_shell_stops_the_whole_app_and_fg_resumes_it() {
    if !tool_or_skip("bash", "the job control test (an interactive shell)") {
        return;
    }
    let dir = Dir::with_procfile(APP);
    let mut term = interactive_bash(&dir);
    let command =
        format!("{} start --no-timestamp --no-color -m all=1,web=2\n", procman().display());
    term.send(command.as_bytes());
    term.wait_for("worker.1 | started with pid");
    let pids: Vec<u32> = started_pids(&term.transcript()).into_iter().map(|(_, p)| p).collect();
    assert_eq!(pids.len(), 3, "{}", term.transcript());
    let supervisor = parent_of(pids[0]).expect("the supervisor");
    let guard = parent_of(supervisor).expect("the guard");
    assert_eq!(parent_of(guard), Some(term.pid()), "the guard is the shell's job");
    wait_states(&pids, false);
    // The worker's own child, which is not an instance, is stopped too (once its shell has
    // started it: a shell stopped first would never fork it).
    let worker_child = wait_children(pids[2]);
    assert_eq!(worker_child.len(), 1, "sleep under the worker's shell");

    term.send(b"\x1a");
    term.wait_for("SIGTSTP received: stopped");
    let stopped = term.wait_for("Stopped");
    assert!(stopped.contains("procman start"), "the shell's job is stopped: {stopped}");
    let mut everything = pids.clone();
    everything.extend([supervisor, guard]);
    everything.extend(&worker_child);
    wait_states(&everything, true);
    term.wait_for("shell> ");

    term.send(b"fg\n");
    term.wait_for("SIGCONT received: resumed");
    wait_states(&everything, false);

    // Ctrl-C still ends the run, as before.
    term.send(b"\x03");
    term.wait_for("SIGINT received");
    term.wait_for("shell> ");
    term.send(b"echo \"status=$?\"\n");
    term.wait_for("status=130");
    term.send(b"exit\n");
    term.wait_exit();
    assert!(wait_gone(&everything, WAIT).is_empty(), "the app is gone");
}

#[test]
fn sigtstp_and_sigcont_to_the_pid_the_shell_knows_stop_and_resume_the_app() {
    // One more, which ignores SIGTSTP: it gets SIGSTOP.
    let dir = Dir::with_procfile(format!("{APP}stubborn: trap '' TSTP; exec sleep 300\n"));
    let mut run = dir.spawn(&["start", "--no-timestamp", "-m", "all=1,web=2"]);
    let stubborn = run.started("stubborn.1");
    let text = run.transcript();
    let pids: Vec<u32> = started_pids(&text).into_iter().map(|(_, p)| p).collect();
    assert_eq!(pids.len(), 4, "{text}");
    assert_eq!(wait_comm(stubborn, "sleep"), "sleep", "SIGTSTP ignored, sleep runs");
    wait_states(&pids, false);

    run.signal(Signal::SIGTSTP);
    run.wait_for("SIGTSTP received: stopped");
    let mut everything = pids.clone();
    everything.push(run.pid());
    wait_states(&everything, true);

    run.signal(Signal::SIGCONT);
    run.wait_for("SIGCONT received: resumed");
    wait_states(&everything, false);

    // A stopped job ends as a shell's `kill` ends one (SIGTERM, then SIGCONT so it can act on
    // it): the shutdown resumes the app, whose processes then get their stop signal.
    run.signal(Signal::SIGTSTP);
    run.wait_for("SIGTSTP received: stopped");
    wait_states(&everything, true);
    run.signal(Signal::SIGTERM);
    run.signal(Signal::SIGCONT);
    run.wait_for("SIGTERM received, starting shutdown");
    assert_eq!(run.wait_exit().code(), Some(143), "{}", run.transcript());
    assert!(run.marked().is_empty(), "nothing is left: {:?}", run.marked());
}

/// An interactive bash on a pty of its own, at its prompt (`shell> `).
fn interactive_bash(dir: &Dir) -> PtySession {
    let mut shell = Command::new("bash");
    shell
        .args(["--norc", "--noprofile", "--noediting", "-i"])
        .current_dir(dir.path())
        .env("PS1", "shell> ")
        .env("TERM", "dumb")
        .env_remove("NO_COLOR");
    let mut term = PtySession::start(dir, shell, Some((120, 40)), true);
    term.wait_for("shell> ");
    term
}

/// Answers each line it reads.
const GREETER: &str = "web: sh -c 'while read name; do echo \"hello $name\"; done'\n";

#[test]
fn fg_gives_start_attach_its_terminal_modes_and_input_back() {
    if !tool_or_skip("bash", "the job control test (an interactive shell)") {
        return;
    }
    let dir = Dir::with_procfile(GREETER);
    let mut term = interactive_bash(&dir);
    let command = format!("{} start --no-timestamp --no-color --attach web\n", procman().display());
    term.send(command.as_bytes());
    term.wait_for("web.1  | started with pid");
    term.wait_modes("start --attach's modes", cbreak);
    term.send(b"amy\r");
    term.wait_for("web.1  | hello amy");

    // Ctrl-Z: the shell has its terminal back, as it was.
    term.send(b"\x1a");
    term.wait_for("SIGTSTP received: stopped");
    term.wait_for("shell> ");
    assert!(cooked(&term.modes()), "the shell's modes at its prompt");

    // fg: procman takes the terminal again, in its own modes, and what is typed still goes to
    // web.1.
    term.send(b"fg\n");
    term.wait_for("SIGCONT received: resumed");
    term.wait_modes("start --attach's modes again", cbreak);
    term.send(b"bo\r");
    term.wait_for("web.1  | hello bo");

    term.send(b"\x03");
    term.wait_for("SIGINT received");
    term.wait_for("shell> ");
    assert!(cooked(&term.modes()), "the shell's modes at its prompt");
    term.send(b"exit\n");
    term.wait_exit();
}
