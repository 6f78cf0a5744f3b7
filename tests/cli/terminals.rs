//! Terminals: every process gets a standard input that stays open and empty, a pty with
//! `--tty` (or `"tty": true`), pipes with `--tty=never`, and `PYTHONUNBUFFERED=1` on pipes.

use crate::harness::Dir;

/// Reads its standard input without waiting: an input that is open and empty fails with
/// "Resource temporarily unavailable" (and exit code 1); one at its end reads nothing and
/// exits 0.
const PEEK_STDIN: &str = "web: dd iflag=nonblock count=1 2>&1\n";

#[test]
fn standard_input_stays_open_and_empty_while_procman_reads_dev_null() {
    let dir = Dir::new();
    dir.write("Procfile", PEEK_STDIN);
    for tty in ["--tty=never", "--tty=always"] {
        // The harness starts procman with its standard input from /dev/null.
        let finished = dir.run(&["start", "--no-timestamp", tty]);
        let lines = finished.lines();
        assert!(
            lines.iter().any(|l| l.contains("Resource temporarily unavailable")),
            "{tty}: {lines:?}"
        );
        assert_eq!(finished.code(), Some(1), "{tty}: {lines:?}");
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
