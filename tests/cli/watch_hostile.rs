//! Hostile watches: a glob too deep to compile is refused where the config is read (`check`,
//! `start`, `reload`), never dropped at run time; a walk of a large tree does not hold back a
//! signal, and nothing starts once the run is ending; procman's own output file inside the
//! watched tree is no change of the app's.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::*;
use crate::watch::touch;

/// `src/{a,{a,...{a,b}...}}/*.rb`, `levels` deep.
fn nested(levels: usize) -> String {
    format!("src/{}b{}/*.rb", "{a,".repeat(levels), "}".repeat(levels))
}

fn config_watching(pattern: &str) -> String {
    format!(r#"{{"processes": {{"web": {{"watch": ["{pattern}"], "watch_debounce": "100ms"}}}}}}"#)
}

#[test]
fn a_glob_nested_too_deep_is_refused_by_check_start_and_reload() {
    let dir = Dir::new();
    dir.write("Procfile", "web: exec sleep 300\n");
    dir.write("src/b/x.rb", "");
    dir.write("procman.json", config_watching(&nested(150)));
    let why = "nested more than 32 levels";
    let check = dir.run(&["check"]);
    assert_code(&check, 1);
    let said = check.stderr();
    assert!(said.contains("procman.json: processes.web.watch[0]") && said.contains(why), "{said}");
    let start = dir.run(&["start", "--no-socket"]);
    assert_code(&start, 1);
    let said = start.stderr();
    assert!(said.contains("processes.web.watch[0]") && said.contains(why), "{said}");

    // A run with a good glob keeps it when a reload brings the bad one.
    dir.write("procman.json", config_watching("src/**/*.rb"));
    let mut run = dir.spawn(&["start"]);
    run.wait_for("web: watching src/**/*.rb for changes");
    let web = run.started("web.1");
    dir.write("procman.json", config_watching(&nested(150)));
    let reload = ctl(&dir, &["reload"]);
    assert_ne!(reload.code(), Some(0), "{}", reload.stdout());
    let said = format!("{}{}", reload.stdout(), reload.stderr());
    assert!(said.contains("processes.web.watch[0]") && said.contains(why), "{said}");
    touch(&dir.path().join("src/b/x.rb"));
    run.wait_for("web: src/b/x.rb changed, restarting");
    assert_ne!(run.started_nth("web.1", 2), web);
}

#[test]
fn a_signal_during_the_walk_of_a_large_tree_ends_the_run_and_starts_nothing() {
    let dir = Dir::new();
    dir.write("Procfile", "web: exec sleep 300\n");
    dir.write("procman.json", r#"{"processes": {"web": {"watch": "**/*"}}}"#);
    // Enough directories that the walk spans many loop turns.
    for a in 0..40 {
        for b in 0..50 {
            std::fs::create_dir_all(dir.path().join(format!("t/{a}/{b}"))).expect("mkdir");
        }
    }
    let mut run = dir.spawn(&["start", "--no-socket"]);
    run.started("web.1");
    let sent = Instant::now();
    run.signal(Signal::SIGTERM);
    run.wait_exit();
    let took = sent.elapsed();
    let lines = run.stdout_lines();
    let stopping = position(&lines, &["SIGTERM received"]);
    let late: Vec<&String> =
        lines[stopping..].iter().filter(|l| l.contains("started with pid")).collect();
    assert!(late.is_empty(), "started once the run was ending: {late:?}\n{lines:#?}");
    println!("SIGTERM to exit: {took:?}");
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn procmans_own_output_file_in_the_watched_tree_does_not_restart() {
    let dir = Dir::new();
    // It says hello once the watch is armed, so that procman writes out.txt under the watch.
    dir.write("Procfile", "web: read _ < go; echo hello; exec sleep 300\n");
    dir.write(
        "procman.json",
        r#"{"processes": {"web": {"watch": ["**/*"], "watch_ignore": ["go"],
            "watch_debounce": "100ms"}}}"#,
    );
    dir.write("src/app.rb", "");
    let go = fifo(&dir, "go");
    let out_path = dir.path().join("out.txt");
    let out = std::fs::File::create(&out_path).expect("out.txt");
    let mut command = dir.command(&["start", "--no-socket"]);
    command.stdout(out).stderr(Stdio::null());
    let mut procman = dir.start(command);
    wait_in_file(&out_path, "web: watching **/* for changes");
    release(&go);
    wait_in_file(&out_path, "| hello");
    // The fence: the first restart names this file alone.
    touch(&dir.path().join("src/app.rb"));
    let text = wait_in_file(&out_path, "changed, restarting");
    let first = text.lines().find(|l| l.contains("changed, restarting")).unwrap_or_default();
    assert!(first.ends_with("web: src/app.rb changed, restarting"), "{text}");
    procman.signal(Signal::SIGTERM);
    procman.wait();
}

/// Waits (bounded) until `path` holds `needle`; its text then.
fn wait_in_file(path: &Path, needle: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in {} within {WAIT:?}:\n{text}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
