//! Issue 14, §4: log files through the real binary. Every line of an instance reaches its file
//! with a timestamp and without colors while the terminal gets them as before; rotation keeps
//! N files under the bound and loses no line; a log that cannot be written (a full file system,
//! a directory without write permission) is said once and the app keeps running and printing.

use std::path::Path;

use crate::harness::*;

/// A `web` that prints `count` numbered, colored lines, then exits (which ends the run).
fn printer(dir: &Dir, count: u32) {
    dir.write(
        "Procfile",
        format!(
            "web: i=0; while [ $i -lt {count} ]; do i=$((i+1)); \
             printf '\\033[32mline %05d\\033[0m of the app\\n' $i; done\n"
        ),
    );
}

/// The lines of `name` and its rotated files, oldest first; checks each stamp on the way and
/// returns the text after it.
fn log_lines(dir: &Path, name: &str) -> Vec<String> {
    let mut files: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir(dir)
        .expect("the log directory")
        .flatten()
        .filter_map(|entry| {
            let file = entry.file_name().to_string_lossy().into_owned();
            let n = match file.strip_prefix(name) {
                Some("") => 0,
                Some(rest) => rest.strip_prefix('.')?.parse().ok()?,
                None => return None,
            };
            Some((n, entry.path()))
        })
        .collect();
    files.sort_by_key(|file| std::cmp::Reverse(file.0));
    let mut lines = Vec::new();
    for (_, path) in files {
        let text = std::fs::read_to_string(&path).expect("a log file");
        for line in text.lines() {
            let (stamp, rest) =
                line.split_once(' ').unwrap_or_else(|| panic!("no stamp: {line:?}"));
            assert!(is_stamp(stamp), "not a timestamp: {line:?}");
            lines.push(rest.to_owned());
        }
    }
    lines
}

/// The names of the files in `dir`, sorted.
fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the log directory")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `2025-05-01T12:00:03.412+02:00`.
fn is_stamp(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range).is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    b.len() == 29
        && digits(0..4)
        && b[4] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[19] == b'.'
        && digits(20..23)
        && (b[23] == b'+' || b[23] == b'-')
        && b[26] == b':'
}

fn expected(count: u32) -> Vec<String> {
    (1..=count).map(|i| format!("line {i:05} of the app")).collect()
}

fn assert_ran(done: &Finished) {
    assert_eq!(done.code(), Some(0), "{}\n{}", done.stdout(), done.stderr());
}

#[test]
fn every_line_reaches_its_file_with_a_timestamp_and_no_colors() {
    let dir = Dir::new();
    printer(&dir, 2000);
    let done = dir.run(&["start", "--no-socket", "--log-dir", "logs", "--color=always"]);
    assert_ran(&done);
    let lines = log_lines(&dir.path().join("logs"), "web.1.log");
    assert_eq!(lines, expected(2000));
    let raw = std::fs::read(dir.path().join("logs/web.1.log")).expect("the log");
    assert!(!raw.contains(&0x1b), "an escape sequence in the log file");
    // The terminal gets the app's lines as before, colors and all.
    let colored = done.stdout().matches("\u{1b}[32mline ").count();
    assert_eq!(colored, 2000, "{}", done.stdout());
    let mode = std::fs::metadata(dir.path().join("logs/web.1.log")).expect("metadata");
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777, 0o600);
}

#[test]
fn the_config_file_sets_the_log_directory_relative_to_the_app_root() {
    let dir = Dir::new();
    printer(&dir, 3);
    let app = dir.path().join("app");
    std::fs::create_dir(&app).expect("mkdir");
    std::fs::rename(dir.path().join("Procfile"), app.join("Procfile")).expect("move");
    std::fs::write(app.join("procman.json"), r#"{"log_dir": "var/log"}"#).expect("config");
    let done = dir.run(&["start", "--no-socket", "-f", "app/Procfile"]);
    assert_ran(&done);
    assert_eq!(log_lines(&app.join("var/log"), "web.1.log"), expected(3));
}

#[test]
fn dotforeman_sets_the_log_files_over_the_config_file() {
    let dir = Dir::new();
    printer(&dir, 2000);
    dir.write("procman.json", r#"{"log_dir": "from-json", "log_max_size": "1M"}"#);
    // 2000 lines of 52 bytes: rotated at 64K, keeping one file.
    dir.write(".foreman", "log-dir: from-foreman\nlog-max-size: 64K\nlog-keep: 1\n");
    assert_ran(&dir.run(&["start", "--no-socket"]));
    assert!(!dir.path().join("from-json").exists(), ".foreman is the command line's");
    let logs = dir.path().join("from-foreman");
    assert_eq!(file_names(&logs), ["web.1.log", "web.1.log.1"]);
    let kept = log_lines(&logs, "web.1.log");
    let all = expected(2000);
    assert_eq!(kept, all[all.len() - kept.len()..], "the newest lines, whole and in order");
}

#[test]
fn rotation_keeps_every_line_under_the_bound_and_n_files() {
    // 12000 lines of 52 bytes (with the stamp): about 624 KB in files of at most 64 KiB.
    let dir = Dir::new();
    printer(&dir, 12000);
    let done = dir.run(&[
        "start",
        "--no-socket",
        "--log-dir",
        "all",
        "--log-max-size",
        "64K",
        "--log-keep",
        "100",
    ]);
    assert_ran(&done);
    let all = dir.path().join("all");
    assert_eq!(log_lines(&all, "web.1.log"), expected(12000), "no line lost, none twice");
    let files = std::fs::read_dir(&all).expect("dir").count();
    assert!(files >= 9, "{files} files: the log rotated");
    for entry in std::fs::read_dir(&all).expect("dir").flatten() {
        let size = entry.metadata().expect("metadata").len();
        assert!(size <= 64 * 1024, "{:?} has {size} bytes", entry.file_name());
    }

    // Keeping 3: web.1.log and three rotated files, the newest lines in order.
    let done = dir.run(&[
        "start",
        "--no-socket",
        "--log-dir",
        "three",
        "--log-max-size",
        "64K",
        "--log-keep",
        "3",
    ]);
    assert_ran(&done);
    let three = dir.path().join("three");
    assert_eq!(file_names(&three), ["web.1.log", "web.1.log.1", "web.1.log.2", "web.1.log.3"]);
    let kept = log_lines(&three, "web.1.log");
    let all = expected(12000);
    assert!(kept.len() > 3600, "{} lines kept", kept.len());
    assert_eq!(kept, all[all.len() - kept.len()..], "the newest lines, whole and in order");
}

#[test]
fn a_log_size_that_would_rotate_every_few_lines_is_refused() {
    // Each rotation renames every kept file: 1-byte files kept by the thousand made every line
    // cost a thousand renames, and the run answered its signals late.
    let dir = Dir::new();
    printer(&dir, 3);
    let done = dir.run(&["start", "--no-socket", "--log-dir", "logs", "--log-max-size", "1"]);
    assert_eq!(done.code(), Some(1), "{}\n{}", done.stdout(), done.stderr());
    assert!(
        done.stderr().contains(
            "--log-max-size: `1` is too small (at least 64K: smaller files would rotate every \
             few lines)"
        ),
        "{}",
        done.stderr()
    );
    assert!(!dir.path().join("logs").exists(), "nothing ran");
    let done = dir.run(&["start", "--no-socket", "--log-dir", "logs", "--log-keep", "101"]);
    assert!(
        done.stderr().contains("--log-keep: `101` is too many (at most 100)"),
        "{}",
        done.stderr()
    );
    let done = dir.run(&["start", "--no-socket", "--log-dir", "logs", "--log-max-size", "2T"]);
    assert!(done.stderr().contains("`2T` is too large (at most 1T)"), "{}", done.stderr());

    // procman.json is checked the same way, by `check` as by `start`.
    dir.write("procman.json", r#"{"log_dir": "logs", "log_max_size": "512"}"#);
    let done = dir.run(&["check"]);
    assert_ne!(done.code(), Some(0), "{}", done.stdout());
    assert!(
        done.stderr().contains("procman.json: log_max_size: `512` is too small (at least 64K"),
        "{}",
        done.stderr()
    );
    // The largest size the error names is one the parser takes.
    dir.write("procman.json", r#"{"log_dir": "logs", "log_max_size": "1T", "log_keep": 100}"#);
    let done = dir.run(&["check"]);
    assert_eq!(done.code(), Some(0), "{}\n{}", done.stdout(), done.stderr());
}

#[test]
fn a_hard_link_in_place_of_a_log_file_is_refused_and_its_file_left_alone() {
    let dir = Dir::new();
    printer(&dir, 3);
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    let other = dir.path().join("other-file");
    std::fs::write(&other, "someone else's\n").expect("write");
    std::fs::hard_link(&other, logs.join("web.1.log")).expect("hard link");
    let done = dir.run(&["start", "--no-socket", "--log-dir", "logs"]);
    assert_ran(&done);
    let said = format!("{}{}", done.stdout(), done.stderr());
    assert_eq!(said.matches("warning: cannot open the log file").count(), 1, "{said}");
    assert!(said.contains("it has other hard links"), "{said}");
    assert_eq!(std::fs::read_to_string(&other).expect("read"), "someone else's\n");
    assert_eq!(done.stdout().matches("line 0000").count(), 3, "the terminal still gets them");
}

/// A FIFO where the log directory should be is named for what it is (creating the directory
/// said "File exists"), once, and the terminal gets every line.
#[test]
fn a_fifo_in_place_of_the_log_directory_is_said_to_be_no_directory() {
    let dir = Dir::new();
    printer(&dir, 3);
    nix::unistd::mkfifo(&dir.path().join("logs"), nix::sys::stat::Mode::from_bits_truncate(0o600))
        .expect("mkfifo");
    let done = dir.run(&["start", "--no-socket", "--log-dir", "logs"]);
    assert_ran(&done);
    let said = format!("{}{}", done.stdout(), done.stderr());
    let warning = "warning: cannot open the log directory logs: not a directory";
    assert_eq!(said.matches(warning).count(), 1, "{said}");
    assert_eq!(done.stdout().matches("line 0000").count(), 3, "the terminal still gets them");
}

/// A log that cannot be written, made the Linux way: as another user (root becomes uid 1000),
/// and a tiny tmpfs mounted in a user namespace.
#[cfg(target_os = "linux")]
mod unwritable {
    use std::process::{Command, Stdio};

    use crate::harness::*;

    /// `procman start` as `cloudsdk` (uid 1000), or `None` when the test cannot become it.
    fn start_as_user(dir: &Dir, args: &[&str]) -> Option<Running> {
        if !root_or_skip("an unwritable log directory (tested as uid 1000, whom root can become)") {
            return None;
        }
        let mut command = dir.command(args);
        // std drops the supplementary groups too when it changes the user.
        std::os::unix::process::CommandExt::uid(&mut command, 1000);
        std::os::unix::process::CommandExt::gid(&mut command, 1000);
        command.env("PATH", "/usr/local/bin:/usr/bin:/bin");
        Some(dir.spawn_with(command))
    }

    /// A `web` that prints 300 lines at once (12 KB for its log), then `tick N` ten times a
    /// second, forever.
    fn ticker(dir: &Dir) {
        dir.write(
            "Procfile",
            "web: seq 1 300 | sed 's/^/a burst of output, line /'; \
         i=0; while :; do i=$((i+1)); echo \"tick $i\"; sleep 0.1; done\n",
        );
    }

    /// The app keeps running and printing after the warning, which comes once.
    fn keeps_printing_after_one_warning(run: &mut Running) {
        let warning = run.wait_for("warning: cannot ");
        assert!(warning.contains("log"), "{warning}");
        assert!(warning.contains("the output still goes to the terminal"), "{warning}");
        run.wait_for("| tick 30");
        run.signal(Signal::SIGTERM);
        run.wait_exit();
        let warnings = run.lines_with(&["warning: cannot "]);
        assert_eq!(warnings.len(), 1, "said once: {}", run.transcript());
    }

    /// Makes `logs/` and tells whether a 4 KiB tmpfs can be mounted over it, in a mount
    /// namespace of procman's own (a user namespace lets any user mount one); says why not.
    fn tiny_tmpfs_mounts(dir: &Dir) -> bool {
        std::fs::create_dir(dir.path().join("logs")).expect("mkdir");
        let probe = Command::new("unshare")
            .args(["-Urm", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs \"$0\"", "logs"])
            .current_dir(dir.path())
            .stderr(Stdio::null())
            .status();
        let mounts = probe.is_ok_and(|s| s.success());
        if !mounts {
            skip("a full file system needs `unshare -Urm` to mount a small tmpfs");
        }
        mounts
    }

    #[test]
    fn an_unwritable_log_directory_is_said_once_and_the_app_keeps_running() {
        let dir = Dir::new();
        ticker(&dir);
        // Root's directory, which the user may read but not write. (Not a 0500 directory of the
        // user's own: procman's namespace containment runs it in a user namespace of its own,
        // where it may write the user's files whatever their mode.)
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).expect("mkdir");
        make_world_readable(dir.path());
        make_world_readable(&logs);
        let Some(mut run) = start_as_user(&dir, &["start", "--no-socket", "--log-dir", "logs"])
        else {
            return;
        };
        keeps_printing_after_one_warning(&mut run);
        let warning = run.lines_with(&["warning: cannot "]).remove(0);
        assert!(warning.contains("logs/web.1.log: permission denied"), "{warning}");
    }

    #[test]
    fn a_full_file_system_is_said_once_and_the_app_keeps_running() {
        let dir = Dir::new();
        ticker(&dir);
        if !tiny_tmpfs_mounts(&dir) {
            return;
        }
        let command = dir.script_command(
            &["unshare", "-Urm"],
            "mount -t tmpfs -o size=4k tmpfs logs && exec \"$0\" start --no-socket --log-dir logs",
        );
        let mut run = dir.spawn_with(command);
        keeps_printing_after_one_warning(&mut run);
        let warning = run.lines_with(&["warning: cannot "]).remove(0);
        assert!(warning.contains("logs/web.1.log: No space left on device"), "{warning}");
    }

    #[test]
    fn a_line_cut_short_by_a_full_disk_is_taken_out_of_the_file() {
        let dir = Dir::new();
        // A burst that overfills the 4 KiB (a write takes what fits, mid-line), then lines that
        // may fit again once the cut line is taken out; then the app ends, and the run.
        dir.write(
            "Procfile",
            "web: seq 1 300 | sed 's/^/a burst of output, line /'; \
             i=0; while [ $i -lt 30 ]; do i=$((i+1)); echo \"tick $i\"; sleep 0.1; done\n",
        );
        if !tiny_tmpfs_mounts(&dir) {
            return;
        }
        // The tmpfs goes with its namespace: the file is copied out before.
        let command = dir.script_command(
            &["unshare", "-Urm"],
            "mount -t tmpfs -o size=4k tmpfs logs && \"$0\" start --no-socket --log-dir logs; \
             cp logs/web.1.log copied.log",
        );
        let done = dir.run_with(command);
        let said = format!("{}{}", done.stdout(), done.stderr());
        assert!(said.contains("No space left on device"), "{said}");
        let text = std::fs::read_to_string(dir.path().join("copied.log")).expect("the copy");
        assert!(text.len() > 3000, "the file filled up: {} bytes", text.len());
        assert!(text.ends_with('\n'), "a torn last line: {:?}", &text[text.len() - 80..]);
        for line in text.lines() {
            let (stamp, rest) =
                line.split_once(' ').unwrap_or_else(|| panic!("no stamp: {line:?}"));
            assert!(super::is_stamp(stamp), "not a timestamp: {line:?}");
            assert!(
                rest.starts_with("a burst of output, line ") || rest.starts_with("tick "),
                "a cut or glued line: {line:?}"
            );
        }
    }
}
