//! Foreman parity (issue 12): the same `.env` means the same thing, checked against the real
//! Foreman 0.87 when it is installed (Debian `ruby-foreman`; CI installs it), and the commands
//! and hints a Foreman user reaches for.

use std::collections::HashMap;
use std::process::{Command, Stdio};

use crate::harness::{Dir, Finished, assert_code, procman, skip};

// ISSUE_TABLE and FOREMAN_QUIRKS: each line with the value Foreman gives it.
include!("../../src/envfile/tests/table.rs");

/// True when `foreman` runs; otherwise the test is skipped (and fails in CI).
fn foreman_installed() -> bool {
    let found = Command::new("foreman")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        skip("`foreman` is not installed (Debian package `ruby-foreman`)");
    }
    found
}

/// The variables `TOOL run env -0` sees in `dir`, with an environment of only `PATH`, so that
/// nothing inherited is interpolated or compared.
fn run_env(dir: &Dir, program: &std::path::Path) -> HashMap<String, String> {
    let mut command = Command::new(program);
    command
        .args(["run", "env", "-0"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    let finished = dir.run_with(command);
    assert_code(&finished, 0);
    finished
        .stdout
        .split(|&byte| byte == 0)
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let pair = String::from_utf8_lossy(pair);
            pair.split_once('=').map(|(key, value)| (key.to_owned(), value.to_owned()))
        })
        .collect()
}

fn foreman() -> std::path::PathBuf {
    std::path::PathBuf::from("foreman")
}

#[test]
fn every_env_table_row_reads_as_the_real_foreman_reads_it() {
    let dir = Dir::new();
    let rows: Vec<&(&str, &str)> = ISSUE_TABLE.iter().chain(FOREMAN_QUIRKS).collect();
    let text: String = rows.iter().map(|(line, _)| format!("{line}\n")).collect();
    dir.write(".env", &text);
    dir.write("Procfile", "web: true\n");
    let ours = run_env(&dir, &procman());
    for (line, expected) in &rows {
        let key = line.split_once('=').map_or("", |(key, _)| key);
        assert_eq!(ours.get(key).map(String::as_str), Some(*expected), "procman, {line:?}");
    }
    // `check` calls the file valid and says nothing but the one lint (a quote kept because
    // blanks follow it).
    let finished = dir.run(&["check"]);
    assert_code(&finished, 0);
    let stderr = finished.stderr();
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("warning:")).collect();
    let lint_line =
        rows.iter().position(|(line, _)| line.starts_with("QUOTE_THEN_SPACE=")).map(|at| at + 1);
    assert_eq!(
        warnings,
        [format!(
            "warning: .env line {}: the value of `QUOTE_THEN_SPACE` keeps its quotes: whitespace \
             follows the closing quote",
            lint_line.unwrap_or_default()
        )],
        "{stderr}"
    );
    if !foreman_installed() {
        return;
    }
    let theirs = run_env(&dir, &foreman());
    for (line, expected) in &rows {
        let key = line.split_once('=').map_or("", |(key, _)| key);
        assert_eq!(theirs.get(key).map(String::as_str), Some(*expected), "Foreman, {line:?}");
    }
}

#[test]
fn check_warns_where_foreman_reads_a_line_differently_and_foreman_agrees() {
    let dir = Dir::with_procfile("web: true\n");
    dir.write(
        ".env",
        "BASE=app\nexport EXPORTED=1\nCOMMENTED=value # note\nDERIVED=${BASE}-db\nSAME=plain\n",
    );
    let finished = dir.run(&["check"]);
    assert_code(&finished, 0);
    assert_eq!(finished.stdout(), "valid procfile detected (web)\n");
    let stderr = finished.stderr();
    let headlines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(
        headlines,
        [
            "warning: .env line 2: Foreman reads this line differently",
            "warning: .env line 3: Foreman reads this line differently",
            "warning: .env line 4: Foreman reads this line differently",
        ],
        "{stderr}"
    );
    assert!(stderr.contains("Foreman reads nothing (the line is ignored)"), "{stderr}");
    assert!(stderr.contains("procman reads `value`; Foreman reads `value # note`"), "{stderr}");
    assert!(
        stderr.contains(
            "help: to keep `$BASE` as text for both, write `DERIVED='${BASE}-db'`; Foreman cannot \
             replace `$BASE`, so if you mean its value, this line needs procman"
        ),
        "{stderr}"
    );
    let ours = run_env(&dir, &procman());
    assert_eq!(ours.get("EXPORTED").map(String::as_str), Some("1"));
    assert_eq!(ours.get("COMMENTED").map(String::as_str), Some("value"));
    assert_eq!(ours.get("DERIVED").map(String::as_str), Some("app-db"));
    if !foreman_installed() {
        return;
    }
    // What the warnings say Foreman reads is what it reads.
    let theirs = run_env(&dir, &foreman());
    assert_eq!(theirs.get("EXPORTED"), None);
    assert_eq!(theirs.get("COMMENTED").map(String::as_str), Some("value # note"));
    assert_eq!(theirs.get("DERIVED").map(String::as_str), Some("${BASE}-db"));
    assert_eq!(theirs.get("SAME").map(String::as_str), Some("plain"));
}

#[test]
fn print_env_writes_lines_that_procman_and_foreman_read_as_the_resolved_values() {
    let dir = Dir::with_procfile("web: true\n");
    dir.write(
        ".env",
        "BASE=app\nURL=postgres://$BASE@h/$UNSET # db\nSPACES=\" a b \"\nQUOTES=it's \"x\"\n\
         LINES=\"one\\ntwo\"\nDOLLAR='$BASE'\nEMPTY=\nHASH=a #b\n",
    );
    let finished = dir.run(&["check", "--print-env"]);
    assert_code(&finished, 0);
    let printed = finished.stdout();
    assert!(printed.starts_with("# valid procfile detected (web)\n# from .env"), "{printed}");
    let ours = run_env(&dir, &procman());
    // The printed file, read again, gives the same variables to procman (and to Foreman).
    let again = Dir::new();
    again.write(".env", &printed);
    again.write("Procfile", "web: true\n");
    let finished = again.run(&["check"]);
    assert_code(&finished, 0);
    assert!(!finished.stderr().contains("warning:"), "{}", finished.stderr());
    let read_back = run_env(&again, &procman());
    for key in ["BASE", "URL", "SPACES", "QUOTES", "LINES", "DOLLAR", "EMPTY", "HASH"] {
        assert_eq!(read_back.get(key), ours.get(key), "{key}: {printed}");
    }
    assert_eq!(ours.get("URL").map(String::as_str), Some("postgres://app@h/$UNSET"));
    if foreman_installed() {
        let theirs = run_env(&again, &foreman());
        for key in ["BASE", "URL", "SPACES", "QUOTES", "LINES", "DOLLAR", "EMPTY", "HASH"] {
            assert_eq!(theirs.get(key), ours.get(key), "Foreman, {key}: {printed}");
        }
    }
}

#[test]
fn doubling_interpolation_fails_at_once_naming_the_line_and_starts_nothing() {
    let dir = Dir::with_procfile("web: touch ran\n");
    let text: String =
        std::iter::once("A=x\n".to_owned()).chain((0..30).map(|_| "A=$A$A\n".to_owned())).collect();
    dir.write(".env", &text);
    for args in [&["check"][..], &["start", "--no-socket"], &["run", "true"]] {
        let finished = dir.run(args);
        assert_code(&finished, 1);
        assert!(
            finished.stderr().starts_with(
                "error: .env line 22: the value of `A` passes 1 MiB (the most a value may hold) \
                 once `$A` is replaced\n"
            ),
            "{args:?}: {}",
            finished.stderr()
        );
    }
    assert!(!dir.path().join("ran").exists());
}

fn stdout_of(finished: &Finished) -> String {
    assert_code(finished, 0);
    finished.stdout()
}

#[test]
fn version_is_printed_by_every_spelling_foreman_users_know() {
    let dir = Dir::new();
    let expected = format!("procman {}\n", env!("CARGO_PKG_VERSION"));
    for args in [&["version"][..], &["-v"], &["-V"], &["--version"]] {
        assert_eq!(stdout_of(&dir.run(args)), expected, "{args:?}");
    }
}

#[test]
fn start_runs_exactly_the_named_process_types() {
    let dir =
        Dir::with_procfile("web: echo web ran\nworker: echo worker ran\nclock: touch clock-ran\n");
    let finished = dir.run(&["start", "--no-socket", "--can-die", "web,worker", "web", "worker"]);
    assert_code(&finished, 0);
    let out = finished.stdout_without_times();
    assert!(out.contains("web.1    | web ran"), "{out}");
    assert!(out.contains("worker.1 | worker ran"), "{out}");
    assert!(!out.contains("clock"), "{out}");
    assert!(!dir.path().join("clock-ran").exists());
    // A name given twice, or unknown, is refused before anything starts.
    let finished = dir.run(&["start", "--no-socket", "web", "web"]);
    assert_code(&finished, 1);
    assert!(
        finished.stderr().starts_with("error: `web` is named twice in the PROCESS arguments\n")
    );
    let finished = dir.run(&["start", "--no-socket", "web", "wroker"]);
    assert_code(&finished, 1);
    assert!(finished.stderr().contains("there is no process `wroker` in the Procfile"));
    assert!(finished.stderr().contains("did you mean `worker`?"), "{}", finished.stderr());
    assert_eq!(finished.stdout(), "");
}

#[test]
fn run_name_uses_the_config_file_and_the_port_of_its_slot() {
    let dir = Dir::with_procfile("web: echo web $PORT $PS\nworker: echo procfile-worker\n");
    dir.write("sub/.keep", "");
    dir.write(
        "procman.json",
        r#"{"processes": {"worker": {"command": "echo worker $PORT $PS $X; pwd", "cwd": "sub", "env": {"X": "from-config"}}}}"#,
    );
    dir.write(".env", "PORT=6000\n");
    assert_eq!(stdout_of(&dir.run(&["run", "web"])), "web 6000 web.1\n");
    let sub = std::fs::canonicalize(dir.path().join("sub")).expect("canonical");
    assert_eq!(
        stdout_of(&dir.run(&["run", "worker"])),
        format!("worker 6100 worker.1 from-config\n{}\n", sub.display())
    );
    assert_eq!(
        stdout_of(&dir.run(&["run", "-p", "7000", "worker"])).lines().next(),
        Some("worker 7100 worker.1 from-config")
    );
    // Anything else is a command, with the env files and no PORT of a slot.
    assert_eq!(stdout_of(&dir.run(&["run", "sh", "-c", "echo ${PS:-none} $PORT"])), "none 6000\n");
}

#[test]
fn a_missing_procfile_points_at_the_procfile_that_is_there() {
    let dir = Dir::new();
    dir.write("Procfile.dev", "web: true\n");
    dir.write("Procfile.test", "web: true\n");
    let finished = dir.run(&["check"]);
    assert_code(&finished, 1);
    assert_eq!(
        finished.stderr(),
        "error: Procfile does not exist\n  --> Procfile\n   = note: Procfiles here: Procfile.dev, \
         Procfile.test\n   = help: did you mean -f Procfile.dev?\n"
    );
    dir.write("app/Procfile.staging", "web: true\n");
    let finished = dir.run(&["start", "-d", "app"]);
    assert_code(&finished, 1);
    assert!(finished.stderr().contains("= help: did you mean -f app/Procfile.staging?\n"));
}

#[test]
fn a_line_without_a_colon_is_told_to_get_a_name_not_made_one() {
    let dir = Dir::with_procfile("python manage.py migrate\n");
    let finished = dir.run(&["check"]);
    assert_code(&finished, 1);
    let stderr = finished.stderr();
    assert!(
        stderr.contains(
            "= help: the line has no process name: write it as `name: command`, e.g. `migrate: \
             python manage.py migrate`\n"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("python: manage.py"), "{stderr}");
}

#[test]
fn fixes_for_lines_without_a_colon_offer_names_that_are_free() {
    // Following these hints used to lead to "defines `web` twice": both offered `web`.
    let dir = Dir::with_procfile(
        "web: echo hi\nbundle exec sidekiq -C config/sidekiq.yml\nrake\nrake: x\n",
    );
    let finished = dir.run(&["check"]);
    assert_code(&finished, 1);
    let stderr = finished.stderr();
    let helps: Vec<&str> = stderr.lines().filter(|line| line.contains("= help:")).collect();
    assert_eq!(
        helps,
        [
            "   = help: the line has no process name: write it as `name: command`, e.g. \
             `sidekiq: bundle exec sidekiq -C config/sidekiq.yml`",
            "   = help: the line has no process name: write it as `name: command`, e.g. \
             `rake2: rake`",
        ],
        "{stderr}"
    );
    // Following them gives a valid Procfile.
    dir.write(
        "Procfile",
        "web: echo hi\nsidekiq: bundle exec sidekiq -C config/sidekiq.yml\nrake2: rake\nrake: x\n",
    );
    let finished = dir.run(&["check"]);
    assert_code(&finished, 0);
}

#[test]
fn no_color_turns_colors_off_even_when_forced_and_over_dotforeman() {
    let dir = Dir::with_procfile("web: echo hello\n");
    let mut command = dir.command(&["start", "--no-socket", "--no-color"]);
    command.env("FORCE_COLOR", "1");
    let finished = dir.run_with(command);
    assert_code(&finished, 0);
    assert!(finished.stdout().contains("web.1  | hello\n"), "{:?}", finished.stdout());
    assert!(!finished.stdout().contains('\x1b'), "{:?}", finished.stdout());
    // `.foreman`'s `color: true` is under the command line, as every option.
    dir.write(".foreman", "color: true\n");
    let finished = dir.run(&["start", "--no-socket", "--no-color"]);
    assert!(!finished.stdout().contains('\x1b'), "{:?}", finished.stdout());
    let finished = dir.run(&["start", "--no-socket"]);
    assert!(finished.stdout().contains('\x1b'), "{:?}", finished.stdout());
}

#[test]
fn every_test_docs_foreman_md_names_exists_where_it_points() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/foreman.md")).expect("docs/foreman.md");
    let link = regex::Regex::new(r"\[`([a-z0-9_]+)`\]\(\.\./([^)]+)\)").expect("regex");
    let mut count = 0;
    for found in link.captures_iter(&doc) {
        let (name, path) = (&found[1], &found[2]);
        let source = std::fs::read_to_string(root.join(path))
            .unwrap_or_else(|error| panic!("docs/foreman.md links {path}: {error}"));
        assert!(
            source.contains(&format!("fn {name}(")),
            "docs/foreman.md: no test {name} in {path}"
        );
        count += 1;
    }
    assert!(count > 50, "only {count} test links found in docs/foreman.md");
}
