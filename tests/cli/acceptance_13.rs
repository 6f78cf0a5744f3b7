//! Issue 13 as its users put it, end to end through the release-shaped binary: a watcher that
//! quits at the end of its input keeps running, a real debugger (pdb) is typed into through
//! `procman attach`, and a process's stdout and stderr are one stream on its pty (and on its
//! pipe), in the order it wrote them. The finer mechanisms have their tests in terminals*.rs.

#![cfg(target_os = "linux")]

use crate::harness::*;

/// `cat` ends at the end of its input, as `tailwindcss --watch` and esbuild's `--watch` do.
#[test]
fn a_watcher_that_quits_at_the_end_of_its_input_keeps_running_and_reads_what_attach_sends() {
    let dir = Dir::with_procfile("web: cat; echo \"input ended\"\n");
    for tty in ["--tty=never", "--tty=always"] {
        // The harness gives procman /dev/null as its standard input.
        let mut run = dir.spawn(&["start", "--no-timestamp", tty]);
        let pid = run.started("web.1");
        let mut command = dir.command(&["attach", "web.1"]);
        command.stdin(std::fs::File::open(dir.write("input", "still watching\n")).expect("input"));
        assert_code(&dir.run_with(command), 0);
        // cat was there to read it, so its input had not ended.
        run.wait_line_of("web.1", "still watching");
        assert!(alive(pid), "{tty}: {}", run.transcript());
        run.stop(Signal::SIGTERM);
        assert!(run.lines_with(&["input ended"]).is_empty(), "{tty}: {}", run.transcript());
    }
}

/// Stops at a breakpoint, then says what it resumed with.
const BREAKPOINT: &str = "import pdb, time\nx = 41\npdb.set_trace()\n\
     print('resumed with', x, flush=True)\ntime.sleep(300)\n";

#[test]
fn a_pdb_breakpoint_is_typed_into_through_attach_and_the_process_goes_on() {
    if !tool_or_skip("python3", "the debugger test (pdb)") {
        return;
    }
    let dir = Dir::with_procfile("web: exec python3 app.py\nworker: exec sleep 300\n");
    dir.write("app.py", BREAKPOINT);
    let mut run = dir.spawn(&["start", "--no-timestamp", "--tty=always"]);
    let pid = run.started("web.1");
    // pdb shows where it stopped (its prompt has no newline: the main view holds it).
    run.wait_line_of("web.1", "-> print('resumed with', x, flush=True)");

    let mut term = PtySession::start(&dir, dir.command(&["attach", "web"]), Some((100, 30)), false);
    term.wait_for("Ctrl-] detaches");
    term.send(b"p x * 1000 + 1\r");
    term.wait_for("41001");
    run.wait_line_of("web.1", "41001");
    term.send(b"c\r");
    term.wait_for("resumed with 41");
    run.wait_line_of("web.1", "resumed with 41");

    term.send(b"\x1d");
    term.wait_for("detached from web.1; it keeps running");
    assert_eq!(term.wait_exit().code(), Some(0), "{}", term.transcript());
    assert!(alive(pid), "web.1 runs on after the breakpoint");
    run.stop(Signal::SIGTERM);
}

/// Says whether its stdout and stderr are one file, then writes to each in turn.
const TWO_STREAMS: &str = "web: if [ -t 1 ]; then k=terminal; else k=pipe; fi; \
     if [ /proc/self/fd/1 -ef /proc/self/fd/2 ]; then echo \"one $k\"; else echo \"two ${k}s\"; fi; \
     echo out-1; echo err-1 >&2; echo out-2; echo err-2 >&2\n";

#[test]
fn stdout_and_stderr_are_one_stream_in_the_order_written_on_a_pty_and_on_pipes() {
    let dir = Dir::with_procfile(TWO_STREAMS);
    for (tty, kind) in [("--tty=always", "one terminal"), ("--tty=never", "one pipe")] {
        let finished = dir.run(&["start", "--no-timestamp", "--no-socket", tty]);
        assert_code(&finished, 0);
        let shown: Vec<String> = finished
            .lines()
            .into_iter()
            .filter(|l| l.starts_with("web.1  | ") && !l.contains(" with "))
            .collect();
        let expected: Vec<String> = [kind, "out-1", "err-1", "out-2", "err-2"]
            .iter()
            .map(|text| format!("web.1  | {text}"))
            .collect();
        assert_eq!(shown, expected, "{tty}: {}", finished.stdout());
    }
}

/// A terminal that reports no size (0x0) counts as 80x24: its processes get that less the
/// prefix, not 20 columns and no rows.
#[test]
fn on_a_0x0_terminal_the_ptys_window_is_80x24_less_the_prefix() {
    let dir = Dir::with_procfile("web: stty size\n");
    let command = dir.command(&["start", "--no-timestamp", "--no-color", "--no-socket"]);
    let mut term = PtySession::start(&dir, command, None, true);
    // `web.1  | ` is 9 columns.
    term.wait_for("web.1  | 24 71");
    assert_eq!(term.wait_exit().code(), Some(0), "{}", term.transcript());
}
