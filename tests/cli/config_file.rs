//! Issue 6, point 2, through the real binary: the per-process config file (`procman.json` or
//! `--config`), its errors with JSON paths, config-only process types, precedence, `check` and
//! `export`.

use crate::harness::{Dir, Signal, write_script};

/// A program that reports which of INT and TERM it received, then exits 0.
const TRAPS: &str = "#!/bin/sh\n\
    trap 'echo \"got INT\"; exit 0' INT\n\
    trap 'echo \"got TERM\"; exit 0' TERM\n\
    echo ready\n\
    while :; do sleep 1; done\n";

/// Runs `procman start` (and `check`) with `config` as procman.json; both must fail, naming
/// the error; returns `start`'s standard error.
fn start_fails(config: &str) -> String {
    let dir = Dir::with_procfile("web: sleep 300\nworker: sleep 300\n");
    dir.write("procman.json", config);
    let done = dir.run(&["start", "--no-socket"]);
    assert_eq!(done.code(), Some(1), "{}", done.stderr());
    assert!(done.stdout().is_empty(), "nothing may start: {}", done.stdout());
    let check = dir.run(&["check"]);
    assert_eq!(check.code(), Some(1), "check accepted it: {}", check.stdout());
    assert_eq!(check.stderr(), done.stderr(), "check and start report the same");
    done.stderr()
}

#[test]
fn errors_name_the_file_the_json_path_and_the_position() {
    let stderr = start_fails("{\"processes\": {\n  \"web\": {\"stop_timeout\": \"5x\"}\n}}\n");
    assert!(
        stderr.starts_with(
            "error: procman.json: processes.web.stop_timeout: \"5x\" is not a duration (units: \
             ms, s, m, h)\n  --> procman.json:2:27\n"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("\n 2 |   \"web\": {\"stop_timeout\": \"5x\"}\n"), "{stderr}");
    assert!(stderr.contains("|                           ^^^^\n"), "{stderr}");

    let stderr =
        start_fails("{\"processes\": {\"worker\": {\"instances\": 2, \"stop_sginal\": \"INT\"}}}");
    assert!(
        stderr.starts_with(
            "error: procman.json: processes.worker.stop_sginal: unknown field `stop_sginal`, \
             expected one of"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("--> procman.json:1:"), "{stderr}");
    assert!(stderr.contains("did you mean `stop_signal`?"), "{stderr}");

    let stderr = start_fails(r#"{"processes": {"web": {"stop_signal": "SIGWHAT"}}}"#);
    assert!(
        stderr.starts_with(
            "error: procman.json: processes.web.stop_signal: \"SIGWHAT\" is not a signal\n"
        ),
        "{stderr}"
    );

    let stderr = start_fails(r#"{"processes": {"web": {"env": {"THREADS": 4}}}}"#);
    assert!(
        stderr.starts_with(
            "error: procman.json: processes.web.env.THREADS: invalid type: integer `4`, expected \
             a string"
        ),
        "{stderr}"
    );
    let stderr = start_fails(r#"{"processes": {"web": {"instances": "2"}}}"#);
    assert!(stderr.contains("processes.web.instances: invalid type: string \"2\""), "{stderr}");
    let stderr = start_fails(r#"{"processes": {"web": {"expected_exit_codes": [0, "1"]}}}"#);
    assert!(stderr.contains("processes.web.expected_exit_codes[1]: invalid type"), "{stderr}");
    let stderr =
        start_fails(r#"{"processes": {"web": {"backoff": {"initial": "1s", "maximum": "5s"}}}}"#);
    assert!(stderr.contains("processes.web.backoff.maximum: unknown field `maximum`"), "{stderr}");
    let stderr = start_fails(r#"{"processes": {"web": {}},}"#);
    assert!(
        stderr.starts_with("error: procman.json is not valid JSON: trailing comma\n"),
        "{stderr}"
    );
    let stderr = start_fails(r#"{"processes": {"wbe": {"instances": 2}}}"#);
    assert!(
        stderr.starts_with(
            "error: procman.json: processes.wbe: `wbe` is not in the Procfile, so it needs a \
             \"command\""
        ),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `web`?"), "{stderr}");
}

#[test]
fn an_explicit_config_must_exist_and_a_default_one_may_be_absent() {
    let dir = Dir::with_procfile("web: echo hi\n");
    let done = dir.run(&["start", "--no-socket", "--config", "missing.json"]);
    assert_eq!(done.code(), Some(1));
    assert!(
        done.stderr().contains("the config file missing.json does not exist"),
        "{}",
        done.stderr()
    );
    let check = dir.run(&["check"]);
    assert_eq!(check.code(), Some(0), "{}", check.stderr());
    assert_eq!(check.stdout(), "valid procfile detected (web)\n");
}

#[test]
fn the_config_sets_commands_instances_env_cwd_and_umask_and_defines_new_types() {
    let dir = Dir::with_procfile("web: echo procfile-web\nworker: echo worker $PORT; sleep 300\n");
    dir.write("services/db/.keep", "");
    dir.write(
        "procman.json",
        r#"{
  "processes": {
    "web": {"command": "echo \"web $PORT $GREETING\"; sleep 300", "instances": 2,
            "env": {"GREETING": "hello"}},
    "worker": {"instances": 0},
    "db": {"command": "echo \"db $PORT $(pwd) $(umask)\"; sleep 300", "cwd": "services/db",
           "umask": "027"}
  }
}"#,
    );
    let check = dir.run(&["check"]);
    assert_eq!(check.code(), Some(0), "{}", check.stderr());
    assert_eq!(
        check.stdout(),
        "valid procfile detected (web, worker)\nvalid config file procman.json (web, worker, db)\n"
    );

    let mut run = dir.spawn(&["start", "--no-socket"]);
    run.wait_nth(&["web.1", "| web 5000 hello"], 1);
    run.wait_nth(&["web.2", "| web 5001 hello"], 1);
    // db comes after the Procfile's two entries: PORT 5000 + 2 × 100.
    let db = run.wait_nth(&["db.1", "| db 5200"], 1);
    let cwd = dir.path().canonicalize().expect("canonical").join("services/db");
    assert!(db.ends_with(&format!("{} 0027", cwd.display())), "{db}");
    run.signal(Signal::SIGINT);
    run.wait_exit();
    assert!(run.lines_with(&["procfile-web"]).is_empty(), "{}", run.transcript());
    assert!(run.lines_with(&["worker.1"]).is_empty(), "instances 0: {}", run.transcript());

    // A formation wins over `instances`, and may name a config-only type.
    let mut run = dir.spawn(&["start", "--no-socket", "-m", "db=1,worker=1"]);
    run.wait_nth(&["db.1", "| db 5200"], 1);
    run.wait_nth(&["worker.1", "| worker 5100"], 1);
    run.signal(Signal::SIGINT);
    run.wait_exit();
    assert!(run.lines_with(&["web.1"]).is_empty(), "{}", run.transcript());

    // `start web` takes the config's count of web.
    let mut run = dir.spawn(&["start", "--no-socket", "web"]);
    run.wait_nth(&["web.2", "| web 5001 hello"], 1);
    run.signal(Signal::SIGINT);
    run.wait_exit();
    assert!(run.lines_with(&["db.1"]).is_empty(), "{}", run.transcript());
}

#[test]
fn command_line_flags_win_over_the_config_file() {
    let dir = Dir::new();
    write_script(&dir, "traps.sh", TRAPS);
    dir.write("Procfile", "web: ./traps.sh\nworker: ./traps.sh\n");
    dir.write(
        "other.json",
        r#"{"processes": {"web": {"stop_signal": "INT"}, "worker": {"stop_signal": "INT"}}}"#,
    );
    // The config's INT for both, but the command line's TERM for web.
    let mut run =
        dir.spawn(&["start", "--no-socket", "--config", "other.json", "--stop-signal", "web=TERM"]);
    run.wait_nth(&["web.1", "| ready"], 1);
    run.wait_nth(&["worker.1", "| ready"], 1);
    run.signal(Signal::SIGTERM);
    run.wait_exit();
    assert_eq!(run.lines_with(&["web.1", "| got TERM"]).len(), 1, "{}", run.transcript());
    assert_eq!(run.lines_with(&["worker.1", "| got INT"]).len(), 1, "{}", run.transcript());

    // The config's restart policy applies, and a flag overrides it.
    let dir = Dir::with_procfile("crash: exit 1\n");
    dir.write(
        "procman.json",
        r#"{"processes": {"crash": {"restart": "always", "max_restarts": 2, "backoff": "10ms"}}}"#,
    );
    // A start grace no failing start outlasts, however loaded the machine.
    let done = dir.run(&["start", "--no-socket", "--start-grace", "60s"]);
    assert_eq!(done.code(), Some(1));
    assert_eq!(done.stdout().matches("| started with pid").count(), 3, "{}", done.stdout());
    let done = dir.run(&["start", "--no-socket", "--start-grace", "60s", "--max-restarts", "0"]);
    assert_eq!(done.stdout().matches("| started with pid").count(), 1, "{}", done.stdout());
    let done = dir.run(&["start", "--no-socket", "--restart", "never"]);
    assert_eq!(done.stdout().matches("| started with pid").count(), 1, "{}", done.stdout());
    assert!(!done.stdout().contains("BACKOFF"), "{}", done.stdout());
}

#[test]
fn dotforeman_may_name_the_config_file() {
    let dir = Dir::with_procfile("web: echo $GREETING\n");
    dir.write("conf/procman.json", r#"{"processes": {"web": {"env": {"GREETING": "from-conf"}}}}"#);
    dir.write(".foreman", "config: conf/procman.json\n");
    let done = dir.run(&["start", "--no-socket"]);
    assert_eq!(done.code(), Some(0), "{}", done.stderr());
    assert!(done.stdout().contains("| from-conf"), "{}", done.stdout());
    let check = dir.run(&["check"]);
    assert!(check.stdout().contains("valid config file procman.json (web)"), "{}", check.stdout());
}

#[test]
fn export_carries_the_config_into_the_units() {
    let dir = Dir::with_procfile("web: bin/web\n");
    dir.write("sub/.keep", "");
    dir.write(
        "procman.json",
        r#"{"processes": {
  "web": {"env": {"FOO": "bar"}, "cwd": "sub", "umask": "027", "stop_signal": "INT",
          "stop_timeout": "20s", "restart": "on-failure", "expected_exit_codes": [0, 3]},
  "db": {"command": "postgres -p $PORT"}}}"#,
    );
    let done = dir.run(&["export", "systemd", "out", "--dry-run", "-a", "app"]);
    assert_eq!(done.code(), Some(0), "{}", done.stderr());
    let out = done.stdout();
    let web = unit(&out, "app-web.1.service");
    let root = dir.path().canonicalize().expect("canonical");
    for line in [
        format!("WorkingDirectory={}", root.join("sub").display()),
        "Environment=\"FOO=bar\"".to_owned(),
        "UMask=0027".to_owned(),
        "KillSignal=SIGINT".to_owned(),
        "TimeoutStopSec=20".to_owned(),
        "Restart=on-failure".to_owned(),
        "SuccessExitStatus=3".to_owned(),
    ] {
        assert!(web.lines().any(|l| l == line), "no {line:?} in:\n{web}");
    }
    let db = unit(&out, "app-db.1.service");
    assert!(db.contains("Environment=PORT=5100"), "{db}");
    assert!(db.contains("postgres -p $$PORT"), "{db}");

    // --timeout on the command line wins over the config's stop_timeout.
    let done = dir.run(&["export", "systemd", "out", "--dry-run", "-a", "app", "--timeout", "7"]);
    assert!(unit(&done.stdout(), "app-web.1.service").contains("TimeoutStopSec=7\n"));
}

/// The text of one unit in `export --dry-run` output.
fn unit<'a>(out: &'a str, name: &str) -> &'a str {
    let start = out.find(&format!("/{name} ")).unwrap_or_else(|| panic!("no {name} in:\n{out}"));
    let rest = &out[start..];
    let end = rest[1..].find("[procman export]").map_or(rest.len(), |at| at + 1);
    &rest[..end]
}

#[test]
fn check_reports_a_cwd_that_is_not_a_directory() {
    let dir = Dir::with_procfile("web: sleep 300\n");
    dir.write("procman.json", "{\"processes\": {\n  \"web\": {\"cwd\": \"missing\"}\n}}\n");
    let check = dir.run(&["check"]);
    assert_eq!(check.code(), Some(1), "{}", check.stdout());
    assert!(
        check.stderr().starts_with(
            "error: procman.json: processes.web.cwd: \"missing\" is not a directory\n  --> \
             procman.json:2:11\n"
        ),
        "{}",
        check.stderr()
    );
}
