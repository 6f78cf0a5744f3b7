//! The table of exit codes in docs/cli.md, one test per row: each class is produced by a real
//! run, and the table lists exactly the classes tested here. Every error, whatever the command,
//! is printed once, as `error: ...`.

use crate::harness::{Dir, assert_code, write_script};

/// The first column of the exit-code table in docs/cli.md.
fn documented_codes() -> Vec<String> {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/cli.md"))
        .expect("docs/cli.md");
    let table = docs.split("\n## Exit codes\n").nth(1).expect("an Exit codes section");
    table
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2)
        .filter_map(|row| row.split('|').nth(1))
        .map(|cell| cell.trim().to_owned())
        .collect()
}

#[test]
fn the_documented_table_has_a_row_for_each_tested_class_and_no_other() {
    let tested = ["0", "1", "2", "N", "126, 127", "128 + N", "any"];
    assert_eq!(documented_codes(), tested);
}

#[test]
fn exit_0_success() {
    let dir = Dir::new();
    dir.write("Procfile", "web: true\n");
    let finished = dir.run(&["check"]);
    assert_code(&finished, 0);
    let finished = dir.run(&["start"]);
    assert_code(&finished, 0);
}

#[test]
fn exit_1_bad_input_or_a_failed_operation_rendered_as_error_colon() {
    let dir = Dir::new();
    dir.write("Procfile", "web true\n");
    let finished = dir.run(&["check"]);
    assert_code(&finished, 1);
    assert!(finished.stderr().starts_with("error: Procfile line 1 "), "{}", finished.stderr());
    // A control command that reaches no procman: the same style as every other error.
    let finished = dir.run(&["ps"]);
    assert_code(&finished, 1);
    assert!(
        finished.stderr().starts_with("error: no procman is running here (no socket at "),
        "{}",
        finished.stderr()
    );
    assert_eq!(finished.stderr().matches("error").count(), 1, "{}", finished.stderr());
}

#[test]
fn exit_2_usage_errors_from_clap_and_from_arguments_clap_cannot_check() {
    let dir = Dir::new();
    let finished = dir.run(&["start", "--no-such-option"]);
    assert_code(&finished, 2);
    assert!(finished.stderr().starts_with("error: "), "{}", finished.stderr());
    let finished = dir.run(&["scale", "web"]);
    assert_code(&finished, 2);
    assert_eq!(finished.stderr(), "error: expected NAME=COUNT (for example web=3), got `web`\n");
    let finished = dir.run(&["scale", "web=x"]);
    assert_code(&finished, 2);
    assert!(
        finished.stderr().starts_with("error: the count of `web` is not a whole number: `x` ("),
        "{}",
        finished.stderr()
    );
    let finished = dir.run(&["signal", "web", "WHAT"]);
    assert_code(&finished, 2);
    assert!(finished.stderr().starts_with("error: "), "{}", finished.stderr());
}

#[test]
fn exit_n_the_code_of_the_process_that_ended_the_run() {
    let dir = Dir::new();
    dir.write("Procfile", "web: exit 3\n");
    assert_code(&dir.run(&["start"]), 3);
}

#[test]
fn exit_126_and_127_a_command_that_cannot_be_executed() {
    let dir = Dir::new();
    dir.write("notes.txt", "not a program\n");
    let finished = dir.run(&["run", "no-such-command-anywhere"]);
    assert_code(&finished, 127);
    assert_eq!(finished.stderr(), "error: command not found: no-such-command-anywhere\n");
    assert_code(&dir.run(&["run", "./notes.txt"]), 126);
    dir.write("Procfile", "web: ./notes.txt\n");
    assert_code(&dir.run(&["start"]), 126);
}

#[test]
fn exit_128_plus_n_a_process_killed_by_signal_n() {
    let dir = Dir::new();
    write_script(&dir, "die.sh", "#!/bin/sh\nkill -KILL $$\n");
    dir.write("Procfile", "web: ./die.sh\n");
    assert_code(&dir.run(&["start"]), 137);
}

#[test]
fn exit_any_run_ends_with_its_command_s_own_status() {
    let dir = Dir::new();
    assert_code(&dir.run(&["run", "sh", "-c", "exit 42"]), 42);
}
