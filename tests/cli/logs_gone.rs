//! Log files whose directory is removed or replaced under the run, or whose rotation is blocked
//! by a directory planted at the oldest rotated name: said once, naming what is at fault, and
//! the log files start again in the new directory; the terminal never loses a line.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::*;

/// A `web` that prints `tick N` ten times a second, forever.
fn ticker(dir: &Dir) {
    dir.write("Procfile", "web: i=0; while :; do i=$((i+1)); echo \"tick $i\"; sleep 0.1; done\n");
}

/// Waits (bounded) until `path` holds a line with `text`; the file's text.
fn wait_for_file_line(path: &Path, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let content = std::fs::read_to_string(path).unwrap_or_default();
        if content.lines().any(|line| line.contains(text)) {
            return content;
        }
        assert!(
            Instant::now() < deadline,
            "no line with {text:?} in {} within 30 s",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The number in the last `tick N` line seen on the terminal.
fn last_tick(run: &Running) -> u32 {
    run.lines_with(&["| tick "])
        .iter()
        .filter_map(|line| line.rsplit("tick ").next()?.trim().parse().ok())
        .max()
        .unwrap_or(0)
}

/// Waits for a tick printed after now in `logs/web.1.log` (its text), ends the run, and checks
/// that one warning was said.
fn resumes_then_ends(run: &mut Running, logs: &Path) -> String {
    let after = last_tick(run) + 1;
    let text = wait_for_file_line(&logs.join("web.1.log"), &format!("tick {after}"));
    run.signal(Signal::SIGTERM);
    run.wait_exit();
    assert_eq!(run.lines_with(&["warning: "]).len(), 1, "said once: {}", run.transcript());
    text
}

#[test]
fn a_log_directory_replaced_mid_run_is_said_once_and_the_new_one_gets_the_lines() {
    let dir = Dir::new();
    ticker(&dir);
    let logs = dir.path().join("logs");
    let mut run = dir.spawn(&["start", "--no-socket", "--log-dir", "logs"]);
    run.wait_for("| tick 3");
    wait_for_file_line(&logs.join("web.1.log"), "tick 3");
    // `rm -rf logs; mkdir logs`.
    std::fs::remove_dir_all(&logs).expect("rm -rf");
    std::fs::create_dir(&logs).expect("mkdir");
    let warning = run.wait_for("warning: the log directory");
    assert!(warning.contains("logs"), "{warning}");
    // A check between the two steps finds it removed: it starts again at the next retry.
    assert!(warning.contains("was replaced") || warning.contains("was removed"), "{warning}");
    let text = resumes_then_ends(&mut run, &logs);
    assert!(!text.contains("tick 1\n"), "the new file starts anew: {text}");
}

#[test]
fn a_removed_log_directory_is_waited_for_while_the_terminal_goes_on() {
    let dir = Dir::new();
    ticker(&dir);
    let logs = dir.path().join("logs");
    let mut run = dir.spawn(&["start", "--no-socket", "--log-dir", "logs"]);
    wait_for_file_line(&logs.join("web.1.log"), "tick 3");
    std::fs::remove_dir_all(&logs).expect("rm -rf");
    let warning = run.wait_for("warning: the log directory");
    assert!(warning.contains("was removed") && warning.contains("still goes to the terminal"));
    // The terminal goes on; procman does not create the directory again.
    let now = last_tick(&run);
    run.wait_for(&format!("| tick {}", now + 10));
    assert!(!logs.exists(), "the directory was created again");
    std::fs::create_dir(&logs).expect("mkdir");
    let back = run.wait_for("are written again");
    assert!(back.contains("lines lost meanwhile"), "{back}");
    resumes_then_ends(&mut run, &logs);
}

#[test]
fn a_directory_at_the_oldest_rotated_name_is_named_in_the_warning() {
    let dir = Dir::new();
    // 2000 lines of 52 bytes: past 64K, so web.1.log rotates into web.1.log.1.
    dir.write(
        "Procfile",
        "web: i=0; while [ $i -lt 2000 ]; do i=$((i+1)); printf 'line %05d of the app\\n' $i; \
         done\n",
    );
    let planted = dir.path().join("logs/web.1.log.1");
    std::fs::create_dir_all(&planted).expect("mkdir");
    std::fs::write(planted.join("inside"), "x").expect("write");
    let done = dir.run(&[
        "start",
        "--no-socket",
        "--log-dir",
        "logs",
        "--log-max-size",
        "64K",
        "--log-keep",
        "1",
    ]);
    assert_eq!(done.code(), Some(0), "{}\n{}", done.stdout(), done.stderr());
    let said = format!("{}{}", done.stdout(), done.stderr());
    let warnings: Vec<&str> = said.lines().filter(|l| l.contains("warning: ")).collect();
    assert_eq!(warnings.len(), 1, "{said}");
    assert!(
        warnings[0].contains("cannot rotate the log file ")
            && warnings[0].contains("logs/web.1.log.1 is a directory"),
        "{}",
        warnings[0]
    );
    assert!(!warnings[0].contains("web.1.log: it is a directory"), "{}", warnings[0]);
    assert_eq!(done.stdout().matches("line 0").count(), 2000, "the terminal got every line");
    assert!(planted.join("inside").exists(), "the planted directory is left alone");
}
