//! The Procfile grammar end to end: what `check` accepts, the exact error for each line Foreman
//! would have dropped, and `start` refusing to start anything when the Procfile is wrong.

use crate::harness::{Dir, assert_code};

/// `procman check` on `procfile`; asserts it fails with code 1 and nothing on stdout; returns
/// standard error.
fn check_error(procfile: &[u8]) -> String {
    let dir = Dir::with_procfile(procfile);
    let finished = dir.run(&["check"]);
    assert_code(&finished, 1);
    assert_eq!(finished.stdout(), "", "check printed on stdout");
    finished.stderr()
}

#[test]
fn check_accepts_crlf_comments_blanks_and_no_space_after_the_colon() {
    let dir = Dir::new();
    dir.write(
        "Procfile",
        "# the web server\r\nweb: ./bin/web --port $PORT\r\n\r\n   \r\n  # indented comment\r\n\
         worker:./bin/worker\r\n",
    );
    let finished = dir.run(&["check"]);
    assert_code(&finished, 0);
    assert_eq!(finished.stdout(), "valid procfile detected (web, worker)\n");
    assert_eq!(finished.stderr(), "");
}

#[test]
fn check_keeps_the_procfile_order() {
    let dir = Dir::with_procfile("worker: w\nweb: a\nclock: c\nalpha-1_x: d\n");
    let finished = dir.run(&["check"]);
    assert_code(&finished, 0);
    assert_eq!(finished.stdout(), "valid procfile detected (worker, web, clock, alpha-1_x)\n");
}

#[test]
fn no_colon() {
    assert_eq!(
        check_error(b"web bundle exec puma\n"),
        "error: Procfile line 1 has no `:` separating a name from a command\n  --> Procfile:1\n   \
         |\n 1 | web bundle exec puma\n   |\n   = note: Foreman silently skips this line, so the \
         process never runs\n   = help: write it as `name: command`: `web: bundle exec puma` if \
         `web` is the name, or give the command a name, e.g. `puma: web bundle exec puma`\n"
    );
}

#[test]
fn bad_name_characters() {
    assert_eq!(
        check_error(b"web: ./web\nweb.1: ./web\n"),
        "error: Procfile line 2: process name `web.1` contains `.`\n  --> Procfile:2:4\n   |\n 2 \
         | web.1: ./web\n   |    ^\n   = note: Foreman silently skips this line, so the process \
         never runs\n   = help: names may contain only ASCII letters, digits, `_` and `-`: write \
         `web_1: ./web`\n"
    );
}

#[test]
fn missing_command() {
    assert_eq!(
        check_error(b"web:\n"),
        "error: Procfile line 1 gives `web` no command\n  --> Procfile:1:5\n   |\n 1 | web:\n   \
         |     ^\n   = note: Foreman silently skips this line, so the process never runs\n   = \
         help: write the command after the colon, e.g. `web: ./bin/web`\n"
    );
}

#[test]
fn duplicate_name_shows_both_lines() {
    assert_eq!(
        check_error(b"web: a\nworker: b\nweb: c\n"),
        "error: Procfile defines `web` twice, on lines 1 and 3\n  --> Procfile:3:1\n   |\n 3 | \
         web: c\n   | ^^^\n   = note: line 1 is `web: a`\n   = note: Foreman starts both under \
         the same name, and `run` and `start NAME` see only the second\n   = help: give each \
         process its own name, e.g. `web2`\n"
    );
}

#[test]
fn every_bad_line_is_reported_at_once() {
    let stderr = check_error(b"web bundle exec\nweb: ok\nx.y: z\nw:\n");
    let firsts: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(
        firsts,
        [
            "error: Procfile line 1 has no `:` separating a name from a command",
            "error: Procfile line 3: process name `x.y` contains `.`",
            "error: Procfile line 4 gives `w` no command",
        ],
        "{stderr}"
    );
}

#[test]
fn invalid_utf8() {
    assert_eq!(
        check_error(b"web: caf\xe9\n"),
        "error: Procfile is not valid UTF-8: line 1, column 9 (byte offset 8)\n  --> \
         Procfile:1:9\n   |\n 1 | web: caf\u{fffd}\n   |         ^\n   = help: save the file as \
         UTF-8 text; if it is a binary file, point to the right file\n"
    );
}

#[test]
fn nul_byte() {
    assert_eq!(
        check_error(b"web: a\0b\n"),
        "error: Procfile contains a NUL byte on line 1 (byte offset 6): it looks like a binary \
         file, not a Procfile\n  --> Procfile:1:7\n   |\n 1 | web: a\\x00b\n   |       ^^^^\n   = \
         help: check that the path names the right file; text files never contain NUL bytes\n"
    );
}

#[test]
fn a_one_megabyte_line() {
    let mut procfile = b"web: ".to_vec();
    procfile.extend(std::iter::repeat_n(b'x', 1_000_000));
    procfile.push(b'\n');
    let stderr = check_error(&procfile);
    let shown = format!(" 1 | web: {}\u{2026}\n", "x".repeat(114));
    assert_eq!(
        stderr,
        format!(
            "error: Procfile line 1 is 1000005 bytes long, more than the 64 KiB a Procfile line \
             may have\n  --> Procfile:1\n   |\n{shown}   |\n   = help: move the command into a \
             script and call the script from the Procfile\n"
        )
    );
}

#[test]
fn empty_file() {
    let expected = "error: no processes defined\n  --> Procfile\n   = help: add a line `name: \
                    command`, e.g. `web: bundle exec puma`\n";
    assert_eq!(check_error(b""), expected);
    // Only comments and blank lines is just as empty.
    assert_eq!(check_error(b"# nothing\n\n   \n"), expected);
}

#[test]
fn missing_procfile() {
    let dir = Dir::new();
    let finished = dir.run(&["check"]);
    assert_code(&finished, 1);
    assert_eq!(
        finished.stderr(),
        "error: Procfile does not exist\n  --> Procfile\n   = help: create it with lines such as \
         `web: bundle exec puma`, or name another file with `-f/--procfile` (or the app \
         directory with `-d/--root`)\n"
    );
    // A named one is named.
    let finished = dir.run(&["check", "-f", "Procfile.dev"]);
    assert_code(&finished, 1);
    assert!(
        finished.stderr().starts_with("error: Procfile.dev does not exist\n  --> Procfile.dev\n"),
        "{}",
        finished.stderr()
    );
}

#[test]
fn start_starts_nothing_on_an_invalid_procfile() {
    // Valid entries that would leave a trace, and one bad line at the end.
    let dir = Dir::with_procfile("web: touch web-ran\nworker: touch worker-ran\nbad line\n");
    let finished = dir.run(&["start"]);
    assert_code(&finished, 1);
    assert_eq!(finished.stdout(), "", "start printed something");
    assert!(
        finished.stderr().starts_with("error: Procfile line 3 has no `:` separating a name"),
        "{}",
        finished.stderr()
    );
    assert!(!dir.path().join("web-ran").exists(), "web ran");
    assert!(!dir.path().join("worker-ran").exists(), "worker ran");
    // No socket left behind either.
    assert!(!dir.path().join(".procman.sock").exists());
}

#[test]
fn start_starts_nothing_on_a_duplicate_name() {
    let dir = Dir::with_procfile("web: touch web-ran\nweb: touch web-ran-2\n");
    let mut run = dir.spawn(&["start"]);
    crate::harness::assert_exit(&mut run, 1);
    assert!(run.marked().is_empty(), "processes left: {:?}", run.marked());
    assert!(run.stdout_lines().is_empty(), "{}", run.transcript());
    assert!(!dir.path().join("web-ran").exists());
    assert!(!dir.path().join("web-ran-2").exists());
}
