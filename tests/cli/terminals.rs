//! Terminals: every process gets a standard input that stays open and empty, a pty with
//! `--tty` (or `"tty": true`), pipes with `--tty=never`, and `PYTHONUNBUFFERED=1` on pipes.

use crate::harness::*;

/// Reads its standard input without waiting: an input that is open and empty fails with
/// "Resource temporarily unavailable" (and exit code 1); one at its end reads nothing and
/// exits 0.
const PEEK_STDIN: &str = "web: dd iflag=nonblock count=1 2>&1\n";

#[test]
fn standard_input_stays_open_and_empty_while_procmans_is_dev_null_or_closed() {
    let dir = Dir::with_procfile(PEEK_STDIN);
    for tty in ["--tty=never", "--tty=always"] {
        // The harness starts procman with its standard input from /dev/null.
        let dev_null = dir.run(&["start", "--no-timestamp", tty]);
        // A shell starts it with descriptor 0 closed.
        let mut command = std::process::Command::new("sh");
        command
            .args(["-c", "exec \"$0\" start --no-timestamp \"$1\" <&-"])
            .arg(procman())
            .arg(tty)
            .current_dir(dir.path());
        let closed = dir.run_with(command);
        for (stdin, finished) in [("/dev/null", dev_null), ("closed", closed)] {
            let lines = finished.lines();
            assert!(
                lines.iter().any(|l| l.contains("Resource temporarily unavailable")),
                "{tty}, stdin {stdin}: {lines:?}\n{}",
                finished.stderr()
            );
            assert_eq!(finished.code(), Some(1), "{tty}, stdin {stdin}: {lines:?}");
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn standard_input_stays_open_and_empty_while_procmans_is_a_terminal() {
    let dir = Dir::with_procfile(PEEK_STDIN);
    for tty in ["--tty=never", "--tty=always"] {
        let command = dir.command(&["start", "--no-timestamp", "--no-color", tty]);
        let mut term = PtySession::start(&dir, command, Some((100, 30)), true);
        term.wait_for("web.1  | dd: error reading");
        term.wait_for("Resource temporarily unavailable");
        assert_eq!(term.wait_exit().code(), Some(1), "{tty}: {}", term.transcript());
    }
}

/// Says whether its output is a terminal, and what PYTHONUNBUFFERED is.
const WHAT_AM_I: &str = "web: if [ -t 1 ]; then echo on-a-tty; else echo on-pipes; fi; echo \"unbuffered=$PYTHONUNBUFFERED\"\n";

fn start(dir: &Dir, args: &[&str], env: &[(&str, &str)]) -> Vec<String> {
    let mut command = dir.command(args);
    command.env_remove("PYTHONUNBUFFERED");
    for (key, value) in env {
        command.env(key, value);
    }
    let finished = dir.run_with(command);
    assert_eq!(finished.code(), Some(0), "{}", finished.stderr());
    finished.lines()
}

#[test]
fn tty_gives_each_process_a_terminal_and_pipes_get_unbuffered_python() {
    let dir = Dir::new();
    dir.write("Procfile", WHAT_AM_I);
    let has = |lines: &[String], text: &str| lines.iter().any(|l| l.ends_with(text));

    // Into a pipe, auto means pipes.
    let out = start(&dir, &["start", "--no-timestamp"], &[]);
    assert!(has(&out, "| on-pipes") && has(&out, "| unbuffered=1"), "{out:?}");
    let out = start(&dir, &["start", "--no-timestamp", "--tty"], &[]);
    assert!(has(&out, "| on-a-tty") && has(&out, "| unbuffered="), "{out:?}");
    let out = start(&dir, &["start", "--no-timestamp", "--tty=never"], &[]);
    assert!(has(&out, "| on-pipes") && has(&out, "| unbuffered=1"), "{out:?}");
    // procman's environment decides, when it says something.
    let out = start(&dir, &["start", "--no-timestamp"], &[("PYTHONUNBUFFERED", "")]);
    assert!(has(&out, "| unbuffered="), "{out:?}");

    // procman.json's "tty" decides under auto; --tty=never still wins.
    dir.write("procman.json", r#"{"processes": {"web": {"tty": true}}}"#);
    let out = start(&dir, &["start", "--no-timestamp"], &[]);
    assert!(has(&out, "| on-a-tty"), "{out:?}");
    let out = start(&dir, &["start", "--no-timestamp", "--tty=never"], &[]);
    assert!(has(&out, "| on-pipes"), "{out:?}");
}

/// What a child sees: whether its output and input are terminals, and its window.
#[cfg(target_os = "linux")]
const WHAT_I_SEE: &str = "web: if [ -t 1 ]; then echo out=tty; else echo out=pipe; fi; \
     if [ -t 0 ]; then echo in=tty; echo \"window=$(stty size)\"; else echo in=pipe; fi\n";

#[cfg(target_os = "linux")]
#[test]
fn under_a_terminal_children_get_ptys_by_default_and_pipes_with_tty_never() {
    let dir = Dir::new();
    dir.write("Procfile", WHAT_I_SEE);
    let start = |args: &[&str]| {
        let mut term = PtySession::start(&dir, dir.command(args), Some((100, 30)), false);
        term.wait_for("system | sending SIGTERM to all processes");
        assert_eq!(term.wait_exit().code(), Some(0), "{}", term.transcript());
        term.transcript()
    };
    let seen = start(&["start", "--no-timestamp", "--no-color"]);
    assert!(seen.contains("web.1  | out=tty") && seen.contains("web.1  | in=tty"), "{seen}");
    // The window is procman's, less the prefix (`web.1  | `, 9 columns).
    assert!(seen.contains("web.1  | window=30 91"), "{seen}");
    let seen = start(&["start", "--no-timestamp", "--no-color", "--tty=never"]);
    assert!(seen.contains("web.1  | out=pipe") && seen.contains("web.1  | in=pipe"), "{seen}");
}

/// Prints one line and stays up: the line must show while it runs, not when it exits.
#[cfg(target_os = "linux")]
const PYTHON_SERVER: &str =
    "web: python3 -c 'import time; print(\"ready to serve\"); time.sleep(300)'\n";

#[cfg(target_os = "linux")]
#[test]
fn a_python_childs_unflushed_print_shows_while_it_runs_on_a_pty_and_on_pipes() {
    if !tool_or_skip("python3", "the unbuffered-output test") {
        return;
    }
    let dir = Dir::new();
    dir.write("Procfile", PYTHON_SERVER);
    // On a pty: Python line-buffers a terminal.
    let mut command = dir.command(&["start", "--no-timestamp", "--no-color"]);
    command.env_remove("PYTHONUNBUFFERED");
    let mut term = PtySession::start(&dir, command, Some((100, 30)), true);
    let pid = started_pid(&term.wait_for("started with pid"));
    term.wait_for("web.1  | ready to serve");
    assert!(alive(pid), "shown while it runs");
    term.send(b"\x03");
    assert_eq!(term.wait_exit().code(), Some(130), "{}", term.transcript());

    // On pipes: Python would hold the line in its buffer but for PYTHONUNBUFFERED=1.
    let mut command = dir.command(&["start", "--no-timestamp", "--tty=never"]);
    command.env_remove("PYTHONUNBUFFERED");
    let mut run = dir.spawn_with(command);
    let pid = started_pid(&run.wait_for("started with pid"));
    run.wait_for("web.1  | ready to serve");
    assert!(alive(pid), "shown while it runs");
    run.stop(Signal::SIGTERM);
}

/// Says whether it got a terminal, then waits on its input, which stays open.
#[cfg(target_os = "linux")]
const PTY_OR_PIPE: &str =
    "web: sh -c 'if [ -t 1 ]; then echo got-a-tty; else echo got-pipes; fi; read _'\n";

#[cfg(target_os = "linux")]
#[test]
fn when_ptys_run_out_the_rest_run_on_pipes_after_one_warning() {
    if !root_or_skip("a devpts instance of its own (with 2 ptys)") {
        return;
    }
    if !tool_or_skip("unshare", "a devpts instance of its own") {
        return;
    }
    let dir = Dir::new();
    dir.write("Procfile", PTY_OR_PIPE);
    // A mount namespace whose /dev/ptmx hands out at most 2 ptys.
    let script = format!(
        "mount -t devpts -o newinstance,ptmxmode=0666,max=2 devpts /dev/pts && \
         mount --bind /dev/pts/ptmx /dev/ptmx && exec {} start --no-timestamp --tty=always \
         --no-socket -m web=4",
        procman().display()
    );
    let mut command = std::process::Command::new("unshare");
    command
        .args(["--mount", "sh", "-c", &script])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null());
    let mut run = dir.spawn_with(command);
    for n in 1..=4 {
        run.wait_for(&format!("web.{n}  | got-"));
    }
    run.stop(Signal::SIGTERM);
    let lines = run.stdout_lines();
    let count = |text: &str| lines.iter().filter(|l| l.ends_with(text)).count();
    assert_eq!((count("got-a-tty"), count("got-pipes")), (2, 2), "{lines:?}");
    let warnings: Vec<&String> = lines.iter().filter(|l| l.contains("warning: no pty")).collect();
    assert_eq!(warnings.len(), 1, "one warning: {lines:?}");
    assert!(
        warnings[0].contains("it runs on pipes, as will the next processes until a pty is free"),
        "{warnings:?}"
    );
}

/// Says its window each time it changes.
#[cfg(target_os = "linux")]
const WINDOW_WATCHER: &str = "web: trap 'echo window=$(stty size)' WINCH; echo ready; \
     sleep 300 & while :; do wait; done\n";

#[cfg(target_os = "linux")]
#[test]
fn a_ptys_window_follows_procmans_terminal_when_it_is_resized() {
    let dir = Dir::with_procfile(WINDOW_WATCHER);
    let command = dir.command(&["start", "--no-timestamp", "--no-color"]);
    let mut term = PtySession::start(&dir, command, Some((100, 30)), true);
    term.wait_for("web.1  | ready");
    // The window is procman's, less the prefix (`web.1  | `, 9 columns).
    term.resize(120, 40);
    term.wait_for("web.1  | window=40 111");
    term.resize(60, 20);
    term.wait_for("web.1  | window=20 51");
    term.send(b"\x03");
    assert_eq!(term.wait_exit().code(), Some(130), "{}", term.transcript());
}

#[test]
fn on_a_pty_crlf_becomes_lf_and_a_carriage_return_redraw_shows_what_was_drawn_last() {
    let dir = Dir::with_procfile("web: printf 'one\\r\\ntwo\\n10%%\\r50%%\\r100%%\\ndone\\n'\n");
    let finished = dir.run(&["start", "--no-timestamp", "--no-socket", "--tty=always"]);
    assert_code(&finished, 0);
    let out = finished.lines();
    let shown: Vec<&str> = out
        .iter()
        .filter(|l| l.starts_with("web.1  | ") && !l.contains("with"))
        .map(String::as_str)
        .collect();
    assert_eq!(shown, ["web.1  | one", "web.1  | two", "web.1  | 100%", "web.1  | done"]);
    assert!(!finished.stdout.contains(&b'\r'), "{:?}", finished.stdout());
}

#[test]
fn children_are_told_to_color_only_with_color_always() {
    let dir = Dir::with_procfile("web: echo \"force=$FORCE_COLOR clicolor=$CLICOLOR_FORCE\"\n");
    let seen = |args: &[&str]| -> String {
        let mut all = vec!["start", "--no-timestamp", "--no-socket", "--tty=never"];
        all.extend(args);
        let finished = dir.run(&all);
        assert_code(&finished, 0);
        let line = finished.lines().into_iter().find(|l| l.contains("force="));
        line.unwrap_or_else(|| panic!("{args:?}: {}", finished.stdout()))
    };
    for always in [&["--color=always"][..], &["--color", "always"], &["-c"]] {
        assert!(seen(always).ends_with("force=1 clicolor=1"), "{always:?}");
    }
    for other in [&[][..], &["--color=auto"], &["--color=never"]] {
        assert!(seen(other).ends_with("| force= clicolor="), "{other:?}");
    }
}
