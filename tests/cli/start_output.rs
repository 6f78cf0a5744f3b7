//! What `start` prints: Foreman's `HH:MM:SS name.N | line` with its padding, `system` lines,
//! `--no-timestamp`, `--no-prefix`, colors on and off, and child bytes passed through whole.

use crate::harness::{
    Dir, Finished, assert_code, assert_in_order, contains, run_on_pty, strip_time,
};

/// An app whose `web` prints `hello` and exits (ending the run) while `worker` waits.
fn hello_app() -> Dir {
    Dir::with_procfile("web: echo hello\nworker: sleep 300\n")
}

/// Whether `text` starts with a `HH:MM:SS ` timestamp.
fn is_stamp(text: &str) -> bool {
    text.len() >= 9 && strip_time(text).len() == text.len() - 9
}

#[test]
fn prefix_shape_padding_and_system_lines() {
    let dir = hello_app();
    let finished = dir.run(&["start"]);
    assert_code(&finished, 0);
    let raw = finished.stdout();
    for line in raw.lines() {
        assert!(is_stamp(line), "no timestamp on {line:?}");
    }
    let lines = finished.lines();
    // web + worker, count 1: Foreman pads names to max(6, len("worker") + len("1") + 1) = 8.
    assert!(lines[0].starts_with("web.1    | started with pid "), "{raw}");
    assert!(lines[1].starts_with("worker.1 | started with pid "), "{raw}");
    assert_in_order(
        &lines,
        &[
            "web.1    | hello",
            "web.1    | exited with code 0",
            "system   | sending SIGTERM to all processes",
            "worker.1 | terminated by SIGTERM",
        ],
    );
    assert_eq!(lines.len(), 6, "{raw}");
    // Foreman's lines are all on standard output; procman's one addition, which containment
    // holds the run, is on standard error.
    assert_eq!(finished.stderr_after_containment(), "");
}

#[test]
fn padding_counts_the_widest_instance_number_and_every_entry() {
    // Foreman: W = max over all entries (count-0 ones too) of len(name) + len(max count) + 1.
    let dir = Dir::with_procfile("web: echo $PS\nworker: echo $PS\n");
    let finished = dir.run(&["start", "-m", "web=10,worker=0", "--no-timestamp"]);
    assert_code(&finished, 0);
    let lines = finished.lines();
    assert!(lines.iter().any(|l| l.starts_with("web.1     | started with pid ")), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("web.10    | started with pid ")), "{lines:?}");
    assert!(lines.contains(&"system    | sending SIGTERM to all processes".to_owned()));

    // A single short name still gets the minimum width of 6.
    let dir = Dir::with_procfile("a: echo hi\n");
    let finished = dir.run(&["start", "--no-timestamp"]);
    assert_code(&finished, 0);
    assert!(finished.raw_lines().contains(&"a.1    | hi".to_owned()), "{}", finished.stdout());
}

#[test]
fn no_timestamp_leaves_the_time_out() {
    let dir = hello_app();
    let finished = dir.run(&["start", "--no-timestamp"]);
    assert_code(&finished, 0);
    let raw = finished.raw_lines();
    assert!(raw[0].starts_with("web.1    | started with pid "), "{raw:?}");
    assert!(raw.contains(&"web.1    | hello".to_owned()), "{raw:?}");
    assert!(raw.contains(&"system   | sending SIGTERM to all processes".to_owned()), "{raw:?}");
}

#[test]
fn no_prefix_prints_child_lines_raw_and_procmans_own_on_stderr() {
    let dir = Dir::with_procfile("web: echo '{\"level\":\"info\"}'\nworker: sleep 300\n");
    let finished = dir.run(&["start", "--no-prefix"]);
    assert_code(&finished, 0);
    assert_eq!(finished.stdout(), "{\"level\":\"info\"}\n");
    let stderr: Vec<String> =
        finished.stderr_after_containment().lines().map(str::to_owned).collect();
    assert!(stderr[0].starts_with("web.1 | started with pid "), "{stderr:?}");
    assert!(stderr[1].starts_with("worker.1 | started with pid "), "{stderr:?}");
    assert_in_order(
        &stderr,
        &[
            "web.1 | exited with code 0",
            "system | sending SIGTERM to all processes",
            "worker.1 | terminated by SIGTERM",
        ],
    );
}

#[test]
fn stdout_and_stderr_of_a_child_are_both_captured() {
    let dir = Dir::with_procfile("web: echo to-out; echo to-err >&2; echo out-again\n");
    let finished = dir.run(&["start", "--no-timestamp"]);
    assert_code(&finished, 0);
    assert_in_order(
        &finished.raw_lines(),
        &["web.1  | to-out", "web.1  | to-err", "web.1  | out-again"],
    );
    assert_eq!(finished.stderr_after_containment(), "");
}

#[test]
fn no_escape_codes_in_piped_output_by_default() {
    let dir = hello_app();
    let mut command = dir.command(&["start"]);
    command.env("TERM", "xterm-256color");
    let finished = dir.run_with(command);
    assert_code(&finished, 0);
    assert!(!finished.stdout.contains(&0x1b), "{:?}", finished.stdout());
}

/// Splits a colored line into (escape, timestamp, rest).
fn colored(line: &str) -> (&str, &str, &str) {
    let end = line.find('m').map_or(0, |m| m + 1);
    let (escape, rest) = line.split_at(end);
    let (stamp, rest) = rest.split_at(9.min(rest.len()));
    (escape, stamp, rest)
}

fn assert_foreman_colors(finished: &Finished) {
    let raw = finished.raw_lines();
    let web = raw.iter().find(|l| l.ends_with("hello")).expect("the hello line");
    let (escape, stamp, rest) = colored(web);
    assert_eq!(escape, "\x1b[36m", "{web:?}");
    assert!(is_stamp(stamp), "{web:?}");
    assert_eq!(rest, "web.1    | \x1b[0mhello");
    let worker = raw.iter().find(|l| l.contains("worker.1 | ")).expect("a worker line");
    let (escape, _, rest) = colored(worker);
    assert_eq!(escape, "\x1b[33m", "{worker:?}");
    assert!(rest.starts_with("worker.1 | \x1b[0m"), "{worker:?}");
    let system = raw.iter().find(|l| l.contains("system")).expect("a system line");
    let (escape, _, rest) = colored(system);
    assert_eq!(escape, "\x1b[37m", "{system:?}");
    assert_eq!(rest, "system   | \x1b[0msending SIGTERM to all processes");
}

#[test]
fn dash_c_forces_foremans_colors() {
    let dir = hello_app();
    let finished = dir.run(&["start", "-c"]);
    assert_code(&finished, 0);
    assert_foreman_colors(&finished);
    let finished = dir.run(&["start", "--color"]);
    assert_code(&finished, 0);
    assert_foreman_colors(&finished);
    // `-c` takes no value: what follows is the PROCESS argument.
    assert_web_alone_in_color(&dir.run(&["start", "-c", "web", "--no-timestamp"]));
}

/// `web` ran alone, in its color.
#[track_caller]
fn assert_web_alone_in_color(finished: &Finished) {
    assert_code(finished, 0);
    assert!(
        finished.stdout().contains("\x1b[36mweb.1    | \x1b[0mhello\n"),
        "{:?}",
        finished.stdout()
    );
    assert!(!finished.stdout().contains("worker"), "{:?}", finished.stdout());
}

#[test]
fn color_always_forces_colors_and_never_turns_them_off() {
    let dir = hello_app();
    let finished = dir.run(&["start", "--color=always"]);
    assert_code(&finished, 0);
    assert_foreman_colors(&finished);

    let mut command = dir.command(&["start", "--color=never"]);
    command.env("CLICOLOR_FORCE", "1");
    let finished = dir.run_with(command);
    assert_code(&finished, 0);
    assert!(!finished.stdout.contains(&0x1b), "{:?}", finished.stdout());
}

#[test]
fn clicolor_force_and_force_color_turn_colors_on_in_a_pipe() {
    let dir = hello_app();
    for var in ["CLICOLOR_FORCE", "FORCE_COLOR"] {
        let mut command = dir.command(&["start"]);
        command.env(var, "1").env_remove("TERM");
        let finished = dir.run_with(command);
        assert_code(&finished, 0);
        assert_foreman_colors(&finished);
    }
    // Forcing wins over NO_COLOR (supports-color's rule, documented in docs/cli.md).
    let mut command = dir.command(&["start"]);
    command.env("CLICOLOR_FORCE", "1").env("NO_COLOR", "1");
    let finished = dir.run_with(command);
    assert_code(&finished, 0);
    assert_foreman_colors(&finished);
}

#[test]
fn the_palette_cycles_in_procfile_order() {
    let dir = Dir::new();
    let names = ["a", "b", "c", "d", "e", "f", "g"];
    let procfile: String = names.iter().map(|n| format!("{n}: echo {n}\n")).collect();
    dir.write("Procfile", procfile);
    let finished = dir.run(&["start", "-c", "--no-timestamp"]);
    assert_code(&finished, 0);
    let raw = finished.raw_lines();
    let expected = ["36", "33", "32", "35", "31", "34", "36"];
    for (name, code) in names.iter().zip(expected) {
        let start = format!("\x1b[{code}m{name}.1    | \x1b[0mstarted with pid ");
        assert!(raw.iter().any(|l| l.starts_with(&start)), "{name}: {raw:?}");
    }
}

#[test]
fn a_terminal_gets_colors_unless_no_color_or_never() {
    let dir = hello_app();
    let (out, status) = run_on_pty(&dir, &["start"], &[]);
    assert_eq!(status.code(), Some(0));
    assert!(contains(&out, b"\x1b[36m"), "{}", String::from_utf8_lossy(&out));
    assert!(contains(&out, b"web.1    | \x1b[0mhello"), "{}", String::from_utf8_lossy(&out));

    for (args, env) in [
        (&["start"][..], &[("NO_COLOR", "1")][..]),
        (&["start", "--color=auto"][..], &[("NO_COLOR", "1")][..]),
        (&["start", "--color=never"][..], &[][..]),
        // Foreman colors a terminal only when TERM is set.
        (&["start"][..], &[("TERM", "")][..]),
    ] {
        let (out, status) = run_on_pty(&dir, args, env);
        assert_eq!(status.code(), Some(0));
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("web.1    | hello"), "{args:?} {env:?}: {text}");
        assert!(!contains(&out, b"\x1b["), "{args:?} {env:?}: {text}");
    }
}

#[test]
fn invalid_utf8_from_a_child_passes_through_untouched() {
    let dir = Dir::with_procfile("web: printf 'a\\377\\376b\\300\\n'\n");
    let finished = dir.run(&["start", "--no-timestamp"]);
    assert_code(&finished, 0);
    assert!(
        contains(&finished.stdout, b"\nweb.1  | a\xff\xfeb\xc0\n"),
        "{:?}",
        String::from_utf8_lossy(&finished.stdout)
    );
    // And without a prefix.
    let finished = dir.run(&["start", "--no-prefix"]);
    assert_eq!(finished.stdout, b"a\xff\xfeb\xc0\n");
}

#[test]
fn a_200_kb_line_arrives_whole() {
    let dir = Dir::with_procfile("web: head -c 204800 /dev/zero | tr '\\0' x; echo\n");
    let finished = dir.run(&["start", "--no-timestamp"]);
    assert_code(&finished, 0);
    let expected = format!("web.1  | {}", "x".repeat(204_800));
    let raw = finished.raw_lines();
    assert!(
        raw.contains(&expected),
        "line lengths: {:?}",
        raw.iter().map(String::len).collect::<Vec<_>>()
    );
}

#[test]
fn a_3_mb_line_without_newline_is_split_at_1_mib() {
    let dir = Dir::with_procfile("web: head -c 3000000 /dev/zero | tr '\\0' x\n");
    let finished = dir.run(&["start", "--no-timestamp"]);
    assert_code(&finished, 0);
    let pieces: Vec<usize> = finished
        .raw_lines()
        .iter()
        .filter_map(|l| l.strip_prefix("web.1  | "))
        .filter(|l| l.starts_with('x'))
        .map(|l| {
            assert!(l.bytes().all(|b| b == b'x'), "a piece holds something else");
            l.len()
        })
        .collect();
    assert_eq!(pieces, [1 << 20, 1 << 20, 3_000_000 - (2 << 20)]);
}

#[test]
fn the_last_line_without_a_newline_is_printed() {
    let dir = Dir::with_procfile("web: printf 'one\\ntwo'\n");
    let finished = dir.run(&["start", "--no-timestamp"]);
    assert_code(&finished, 0);
    assert_in_order(
        &finished.raw_lines(),
        &["web.1  | one", "web.1  | two", "web.1  | exited with code 0"],
    );
}

#[test]
fn color_takes_its_value_after_a_space_too() {
    let dir = hello_app();
    let finished = dir.run(&["start", "--color", "always"]);
    assert_code(&finished, 0);
    assert_foreman_colors(&finished);
    let mut command = dir.command(&["start", "--color", "never"]);
    command.env("CLICOLOR_FORCE", "1");
    let finished = dir.run_with(command);
    assert_code(&finished, 0);
    assert!(!finished.stdout.contains(&0x1b), "{:?}", finished.stdout());
    // `--color` followed by a name that is not a WHEN is still Foreman's flag and a PROCESS.
    assert_web_alone_in_color(&dir.run(&["start", "--color", "web", "--no-timestamp"]));
}

#[test]
fn quiet_keeps_the_childrens_lines_exits_and_errors_only() {
    let dir = hello_app();
    let finished = dir.run(&["start", "-q", "--no-timestamp"]);
    assert_code(&finished, 0);
    let out = finished.lines();
    assert_in_order(
        &out,
        &["web.1    | hello", "web.1    | exited with code 0", "worker.1 | terminated by SIGTERM"],
    );
    assert_eq!(out.len(), 3, "{out:?}");
    assert_eq!(finished.stderr(), "");

    // A process given up is an error: its exits and the FATAL line stay, the states and the
    // retries do not.
    let dir = Dir::new();
    dir.write("Procfile", "crash: exit 1\n");
    let finished = dir.run(&[
        "start",
        "--quiet",
        "--no-socket",
        "--restart",
        "always",
        "--backoff",
        "10ms",
        "--max-restarts",
        "1",
    ]);
    assert_code(&finished, 1);
    let out = finished.lines();
    assert_eq!(
        out,
        [
            "crash.1 | exited with code 1",
            "crash.1 | exited with code 1",
            "system  | crash.1 gave up: entered FATAL state, too many start retries too quickly",
        ],
        "{}",
        finished.stdout()
    );
}
