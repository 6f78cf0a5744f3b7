//! Where the app is (`-f`, `-d`) and what environment its processes get (`.env`, `-e`).

use crate::harness::{Dir, assert_code, write_script};

/// A script that prints `NAME=value` (or `NAME=<unset>`) for each name it is given.
const SHOW: &str = "#!/bin/sh\nfor name in \"$@\"; do\n  eval \"value=\\${$name-<unset>}\"\n  \
                    printf '%s=%s\\n' \"$name\" \"$value\"\ndone\n";

fn canonical(dir: &Dir, sub: &str) -> String {
    std::fs::canonicalize(dir.path().join(sub)).expect("canonical path").display().to_string()
}

/// A one-process app whose process prints the given variables and exits.
fn show_app(dir: &Dir, names: &str) {
    write_script(dir, "show.sh", SHOW);
    dir.write("Procfile", format!("web: ./show.sh {names}\n"));
}

/// Runs `procman ARGS` to its end in `dir` and asserts that it succeeded and that `web.1`
/// printed `line`.
#[track_caller]
fn assert_web_printed(dir: &Dir, args: &[&str], line: &str) {
    let finished = dir.run(args);
    assert_code(&finished, 0);
    let expected = format!("web.1  | {line}");
    assert!(finished.lines().contains(&expected), "no {expected:?} in:\n{}", finished.stdout());
}

#[test]
fn processes_run_in_the_procfile_directory_by_default() {
    let dir = Dir::new();
    dir.write("app/Procfile", "web: pwd\n");
    assert_web_printed(&dir, &["start", "-f", "app/Procfile"], &canonical(&dir, "app"));
}

#[test]
fn root_option_finds_the_procfile_and_sets_the_working_directory() {
    let dir = Dir::new();
    dir.write("app/Procfile", "web: pwd\n");
    assert_web_printed(&dir, &["start", "-d", "app"], &canonical(&dir, "app"));
}

#[test]
fn root_option_wins_over_the_procfile_directory() {
    let dir = Dir::new();
    dir.write("conf/Procfile", "web: pwd\n");
    dir.write("srv/.keep", "");
    assert_web_printed(
        &dir,
        &["start", "-f", "conf/Procfile", "-d", "srv"],
        &canonical(&dir, "srv"),
    );
}

#[test]
fn a_missing_root_is_an_error() {
    let dir = Dir::with_procfile("web: touch ran\n");
    let finished = dir.run(&["start", "-d", "nowhere"]);
    assert_code(&finished, 1);
    assert_eq!(
        finished.stderr(),
        "error: the app root nowhere cannot be used: it does not exist\n   = help: pass \
         an existing directory with -d/--root\n"
    );
}

#[test]
fn dot_env_in_the_root_is_read_and_may_be_absent() {
    let dir = Dir::new();
    show_app(&dir, "GREETING");
    assert_web_printed(&dir, &["start"], "GREETING=<unset>");

    dir.write(".env", "GREETING=hello\n");
    assert_web_printed(&dir, &["start"], "GREETING=hello");
}

#[test]
fn dot_env_is_read_from_the_root_not_the_working_directory() {
    let dir = Dir::new();
    write_script(&dir, "app/show.sh", SHOW);
    dir.write("app/Procfile", "web: ./show.sh FROM\n");
    dir.write("app/.env", "FROM=app\n");
    dir.write(".env", "FROM=cwd\n");
    assert_web_printed(&dir, &["start", "-f", "app/Procfile"], "FROM=app");
}

#[test]
fn later_env_files_win_and_the_default_is_not_read() {
    let dir = Dir::new();
    show_app(&dir, "A B C D");
    dir.write(".env", "D=default\n");
    dir.write("a.env", "A=from-a\nB=from-a\n");
    dir.write("b.env", "B=from-b\nC=from-b\n");
    let finished = dir.run(&["start", "-e", "a.env,b.env"]);
    assert_code(&finished, 0);
    assert_eq!(
        finished.lines()[1..5],
        ["web.1  | A=from-a", "web.1  | B=from-b", "web.1  | C=from-b", "web.1  | D=<unset>"],
        "{}",
        finished.stdout()
    );
}

#[test]
fn a_missing_named_env_file_is_an_error() {
    let dir = Dir::with_procfile("web: touch ran\n");
    dir.write("a.env", "A=1\n");
    let finished = dir.run(&["start", "-e", "a.env,missing.env"]);
    assert_code(&finished, 1);
    assert_eq!(
        finished.stderr(),
        "error: env file missing.env does not exist\n  --> missing.env\n   = help: check the \
         path given to `-e/--env` (paths are relative to the working directory)\n"
    );
    assert!(!dir.path().join("ran").exists());
}

#[test]
fn env_file_values_override_the_inherited_environment() {
    let dir = Dir::new();
    show_app(&dir, "SHARED INHERITED");
    dir.write(".env", "SHARED=from-file\n");
    let mut command = dir.command(&["start"]);
    command.env("SHARED", "inherited").env("INHERITED", "kept");
    let finished = dir.run_with(command);
    assert_code(&finished, 0);
    let lines = finished.lines();
    assert!(lines.contains(&"web.1  | SHARED=from-file".to_owned()), "{lines:?}");
    assert!(lines.contains(&"web.1  | INHERITED=kept".to_owned()), "{lines:?}");
}

#[test]
fn env_syntax_export_quotes_comments_and_interpolation() {
    let dir = Dir::new();
    show_app(&dir, "EXPORTED SINGLE DOUBLE ESCAPED COMMENTED DERIVED CRLF");
    dir.write(
        ".env",
        "# a comment\n\nexport EXPORTED=yes\nSINGLE='$HOME stays'\nDOUBLE=\"two words\"\n\
         ESCAPED=a\\ b\nCOMMENTED=value # a comment\nBASE=app\nDERIVED=${BASE}-db\nCRLF=x\r\n",
    );
    let finished = dir.run(&["start"]);
    assert_code(&finished, 0);
    assert_eq!(
        finished.lines()[1..8],
        [
            "web.1  | EXPORTED=yes",
            "web.1  | SINGLE=$HOME stays",
            "web.1  | DOUBLE=two words",
            "web.1  | ESCAPED=a\\ b",
            "web.1  | COMMENTED=value",
            "web.1  | DERIVED=app-db",
            "web.1  | CRLF=x",
        ],
        "{}",
        finished.stdout()
    );
}

#[test]
fn env_values_are_substituted_into_the_command() {
    let dir = Dir::with_procfile("web: echo greeting=$GREETING ps=$PS\n");
    dir.write(".env", "GREETING=hello\n");
    assert_web_printed(&dir, &["start"], "greeting=hello ps=web.1");
}

#[test]
fn a_line_foreman_would_ignore_is_an_error_naming_file_and_line() {
    let dir = Dir::with_procfile("web: touch ran\n");
    dir.write(".env", "# settings\nGREETING = hello world\n");
    let finished = dir.run(&["start"]);
    assert_code(&finished, 1);
    let path = format!("{}/.env", canonical(&dir, "."));
    assert_eq!(
        finished.stderr(),
        format!(
            "error: .env line 2: whitespace before `=`\n  --> {path}:2:9\n   |\n 2 | GREETING = \
             hello world\n   |         ^\n   = note: Foreman ignores this line without a word; \
             procman refuses it, since the variable it means would not be set\n   = help: write \
             `GREETING=hello world`\n"
        )
    );
    assert!(!dir.path().join("ran").exists());
    // check reports it too, and so does a named file (shown as named).
    dir.write("named.env", "A=1\nB x y\n");
    let finished = dir.run(&["check", "-e", "named.env"]);
    assert_code(&finished, 1);
    assert!(
        finished.stderr().starts_with(
            "error: named.env line 2 is not a `KEY=value` assignment\n  --> named.env:2\n"
        ),
        "{}",
        finished.stderr()
    );
}
