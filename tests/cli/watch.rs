//! Issue 14, §3: restart on change through the real binary. A touched watched file restarts its
//! type (a new pid, the `system` line naming the file); an ignored one does not, which the next
//! watched change proves (the first restart line names that file alone); a large tree costs
//! inotify watches on one descriptor, not descriptors; the limit of inotify watches is said.

use std::path::Path;
use std::time::Instant;

use crate::harness::*;

/// A `web` that watches Ruby files under `src/` (but `src/tmp/`) and YAML files in `config/`,
/// once they are quiet for `debounce`, and an `other` that watches nothing; both sleep.
fn app_with(debounce: &str) -> Dir {
    let dir = Dir::new();
    dir.write("Procfile", "web: exec sleep 300\nother: exec sleep 300\n");
    dir.write(
        "procman.json",
        r#"{"processes": {"web": {"watch": ["src/**/*.rb", "config/*.yml"],
            "watch_ignore": ["src/tmp/**", "**/*.tmp.rb"], "watch_debounce": "DEBOUNCE"}}}"#
            .replace("DEBOUNCE", debounce),
    );
    dir.write("src/app.rb", "");
    dir.write("src/tmp/cache.rb", "");
    dir.write("config/app.yml", "");
    dir
}

/// [`app_with`] a short debounce, so that the tests go fast.
fn app() -> Dir {
    app_with("100ms")
}

/// `touch`: a new modification time, the way editors and `touch` change a file.
pub(crate) fn touch(path: &Path) {
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open");
    file.set_modified(std::time::SystemTime::now()).expect("set the modification time");
}

/// A line's text, after its `HH:MM:SS name | ` prefix.
fn text_of(line: &str) -> &str {
    line.split_once(" | ").map_or(line, |(_, text)| text)
}

/// The restart lines seen so far, from their text on (`web: src/app.rb changed, ...`).
fn restarts(run: &Running) -> Vec<String> {
    run.lines_with(&["changed, restarting"]).iter().map(|line| text_of(line).to_owned()).collect()
}

#[test]
fn a_watched_change_restarts_its_type_and_an_ignored_one_does_not() {
    let dir = app();
    let mut run = dir.spawn(&["start", "--no-socket"]);
    run.wait_for("web: watching src/**/*.rb, config/*.yml for changes");
    let web = run.started_nth("web.1", 1);
    let other = run.started_nth("other.1", 1);

    // Ignored: by a glob of its directory, by a glob of its name, under .git, unmatched.
    touch(&dir.path().join("src/tmp/cache.rb"));
    touch(&dir.path().join("src/x.tmp.rb"));
    std::fs::create_dir_all(dir.path().join("src/.git")).expect("mkdir");
    touch(&dir.path().join("src/.git/hook.rb"));
    touch(&dir.path().join("src/notes.txt"));
    // The fence: a watched change after them. Had any of them counted, the first restart
    // line would name it (first) or count it (`and N other files`).
    let touched = Instant::now();
    touch(&dir.path().join("src/app.rb"));
    let line = run.wait_for("changed, restarting");
    assert!(line.contains(" system "), "{line}");
    assert_eq!(text_of(&line), "web: src/app.rb changed, restarting");
    let restarted = run.started_nth("web.1", 2);
    let latency = touched.elapsed();
    assert_ne!(restarted, web, "web.1 has a new pid");
    println!("touch to new pid: {latency:?}");

    // A file in a directory made after the start, two levels down: its directory is watched
    // as it appears, and the file counts.
    std::fs::create_dir_all(dir.path().join("src/models/admin")).expect("mkdir");
    touch(&dir.path().join("src/models/admin/user.rb"));
    run.wait_nth(&["changed, restarting"], 2);
    let third = run.started_nth("web.1", 3);
    assert_ne!(third, restarted);
    assert_eq!(restarts(&run)[1], "web: src/models/admin/user.rb changed, restarting");

    // One glob's directory alone: config/*.yml.
    touch(&dir.path().join("config/app.yml"));
    run.wait_nth(&["changed, restarting"], 3);
    run.started_nth("web.1", 4);
    assert_eq!(restarts(&run)[2], "web: config/app.yml changed, restarting");

    run.signal(Signal::SIGTERM);
    run.wait_exit();
    let starts = run.lines_with(&["other.1 ", "| started with pid"]);
    assert_eq!(starts.len(), 1, "other watches nothing and kept pid {other}: {starts:?}");
    assert_eq!(restarts(&run).len(), 3, "{}", run.transcript());
}

#[test]
fn a_burst_of_changes_restarts_once_and_counts_them() {
    // A debounce far longer than 20 touches take, even on a loaded machine.
    let dir = app_with("1s");
    let mut run = dir.spawn(&["start", "--no-socket", "web"]);
    run.wait_for("web: watching");
    let web = run.started_nth("web.1", 1);
    for n in 0..20 {
        touch(&dir.path().join(format!("src/file{n}.rb")));
    }
    let line = run.wait_for("changed, restarting");
    let text = text_of(&line);
    assert!(
        text.starts_with("web: src/file") && text.ends_with(" other files changed, restarting"),
        "{line}"
    );
    assert_ne!(run.started_nth("web.1", 2), web);
    run.signal(Signal::SIGTERM);
    run.wait_exit();
    assert_eq!(restarts(&run).len(), 1, "{}", run.transcript());
}

#[test]
fn what_editors_write_beside_a_file_does_not_restart_and_a_save_by_rename_does() {
    let dir = Dir::new();
    dir.write("Procfile", "web: exec sleep 300\n");
    dir.write(
        "procman.json",
        r#"{"processes": {"web": {"watch": ["src/**", "config/*.yml"], "watch_debounce": "100ms"}}}"#,
    );
    dir.write("src/app.rb", "");
    dir.write("config/app.yml", "");
    let mut run = dir.spawn(&["start", "--no-socket"]);
    run.wait_for("web: watching src/**, config/*.yml for changes");
    let web = run.started("web.1");
    let src = dir.path().join("src");

    // Editing without saving: Vim's swap file rewritten, its `4913` probe, a backup, Emacs's
    // lock and auto-save. The fence after them: had one counted, the first restart line would
    // name it or count it.
    for round in 0..3 {
        std::fs::write(src.join(".app.rb.swp"), format!("swap {round}")).expect("swap file");
    }
    std::fs::write(src.join("4913"), "").expect("probe");
    std::fs::remove_file(src.join("4913")).expect("probe gone");
    std::fs::write(src.join("app.rb~"), "").expect("backup");
    std::fs::write(src.join("#app.rb#"), "").expect("auto-save");
    std::os::unix::fs::symlink("user@host.1234", src.join(".#app.rb")).expect("lock");
    touch(&dir.path().join("config/app.yml"));
    let line = run.wait_for("changed, restarting");
    assert_eq!(text_of(&line), "web: config/app.yml changed, restarting");
    let second = run.started_nth("web.1", 2);
    assert_ne!(second, web);

    // A save that writes a copy and renames it over the file: the file changed, the copy
    // (JetBrains' name for it) does not count.
    let copy = src.join("app.rb___jb_tmp___");
    std::fs::write(&copy, "puts 1\n").expect("the copy");
    std::fs::rename(&copy, src.join("app.rb")).expect("rename over");
    run.wait_nth(&["changed, restarting"], 2);
    assert_eq!(restarts(&run)[1], "web: src/app.rb changed, restarting");
    assert_ne!(run.started_nth("web.1", 3), second);
    run.stop(Signal::SIGTERM);
}

#[test]
fn what_procman_writes_into_the_watched_tree_does_not_restart() {
    let dir = Dir::new();
    // It says hello once the watch is armed, so that its log file is written under the watch.
    dir.write("Procfile", "web: read _ < go; echo hello; exec sleep 300\n");
    dir.write(
        "procman.json",
        r#"{"processes": {"web": {"watch": ["**"], "watch_ignore": ["go"],
            "watch_debounce": "100ms"}}}"#,
    );
    dir.write("src/app.rb", "");
    let go = fifo(&dir, "go");
    // Its log files are in the tree too.
    let mut run = dir.spawn(&["start", "--no-socket", "--log-dir", "logs"]);
    run.wait_for("web: watching ** for changes");
    let web = run.started("web.1");
    release(&go);
    run.wait_for("web.1  | hello");
    // Exported twice: the second one replaces the files through temporary ones.
    for _ in 0..2 {
        let done = dir.run(&["export", "systemd", "deploy", "--app", "shop"]);
        assert_code(&done, 0);
    }
    let written = std::fs::read_dir(dir.path().join("deploy")).expect("the export").count();
    assert!(written >= 2, "{written} files exported");
    // The fence: the first restart names this file alone.
    touch(&dir.path().join("src/app.rb"));
    let line = run.wait_for("changed, restarting");
    assert_eq!(text_of(&line), "web: src/app.rb changed, restarting");
    assert_ne!(run.started_nth("web.1", 2), web);
    run.stop(Signal::SIGTERM);
    // Written while it ran, and nothing restarted for it.
    let log = std::fs::read_to_string(dir.path().join("logs/web.1.log")).expect("the log");
    assert!(log.starts_with("20") && log.contains(" hello\n"), "{log:?}");
}

/// inotify: what a large tree costs, and the system's limit of watches.
#[cfg(target_os = "linux")]
mod inotify {
    use std::process::{Command, Stdio};

    use super::touch;
    use crate::harness::*;

    /// What the descriptors of `/proc/PID/fd` (or `self`) refer to.
    fn links(pid: &str) -> Vec<std::path::PathBuf> {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .expect("/proc/PID/fd")
            .flatten()
            .filter_map(|entry| std::fs::read_link(entry.path()).ok())
            .collect()
    }

    /// Descriptors procman opened itself, from /proc. What this test process holds too is
    /// left out: procman's output pipes, and whatever another test thread had open without
    /// close-on-exec when procman was spawned (inherited, so not procman's doing).
    fn descriptors(pid: u32) -> Vec<std::path::PathBuf> {
        let ours = links("self");
        links(&pid.to_string()).into_iter().filter(|link| !ours.contains(link)).collect()
    }

    /// The inotify watches procman holds (`inotify wd:` lines of the inotify descriptor's fdinfo).
    fn inotify_watches(pid: u32) -> usize {
        let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return 0 };
        entries
            .flatten()
            .filter(|e| {
                std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy().contains("inotify"))
            })
            .filter_map(|e| {
                std::fs::read_to_string(format!(
                    "/proc/{pid}/fdinfo/{}",
                    e.file_name().to_string_lossy()
                ))
                .ok()
            })
            .map(|info| info.lines().filter(|l| l.starts_with("inotify wd:")).count())
            .sum()
    }

    #[test]
    fn a_tree_of_many_files_costs_watches_on_one_descriptor() {
        let dir = Dir::new();
        // The tree goes on a tmpfs when there is one: 20,000 files on a disk shared with other
        // builds take tens of seconds to create. The type's cwd is the tree.
        let tree = match std::fs::metadata("/dev/shm") {
            Ok(meta) if meta.is_dir() => tempfile::tempdir_in("/dev/shm"),
            _ => tempfile::tempdir_in(dir.path()),
        }
        .expect("a directory for the tree");
        dir.write("Procfile", "web: exec sleep 300\n");
        // 20,000 files in 400 directories (and a vendor tree of 100 more, ignored).
        for d in 0..400 {
            let sub = tree.path().join(format!("src/pkg{}/mod{d}", d % 20));
            std::fs::create_dir_all(&sub).expect("mkdir");
            for f in 0..50 {
                std::fs::File::create(sub.join(format!("f{f}.rb"))).expect("create");
            }
        }
        for d in 0..100 {
            std::fs::create_dir_all(tree.path().join(format!("src/vendor/lib{d}"))).expect("mkdir");
        }
        // Without the guard, the pid the test started is the supervisor's.
        let start = || {
            let mut command = dir.command(&["start", "--no-socket"]);
            command.env("PROCMAN_NO_GUARD", "1");
            dir.spawn_with(command)
        };
        let config = |watch: &str| {
            let cwd = serde_json::Value::from(tree.path().to_string_lossy().into_owned());
            format!(r#"{{"processes": {{"web": {{"cwd": {cwd}{watch}}}}}}}"#)
        };
        dir.write("procman.json", config(""));
        let mut without = start();
        without.wait_for("started with pid");
        let baseline = descriptors(without.pid()).len();
        without.signal(Signal::SIGTERM);
        without.wait_exit();

        dir.write(
            "procman.json",
            config(r#", "watch": "src/**/*.rb", "watch_ignore": "src/vendor""#),
        );
        let mut run = start();
        // The cwd, src/, 20 packages and 400 modules.
        run.wait_for("web: watching src/**/*.rb for changes (422 directories)");
        // Counted where the baseline was: the spawn's own pipes are gone once it is reported.
        run.wait_for("started with pid");
        let held = descriptors(run.pid());
        assert!(
            held.len() <= baseline + 1,
            "{} descriptors with the watch, {baseline} without: {held:?}",
            held.len()
        );
        assert_eq!(inotify_watches(run.pid()), 422, "one watch per directory, none per file");
        touch(&tree.path().join("src/pkg7/mod387/f49.rb"));
        run.wait_for("web: src/pkg7/mod387/f49.rb changed, restarting");
        run.signal(Signal::SIGTERM);
        run.wait_exit();
    }

    /// `procman start` under `unshare` with the user namespace's limit of inotify watches at
    /// `limit`.
    fn start_with_watch_limit(dir: &Dir, limit: u32) -> Option<Running> {
        let probe = Command::new("unshare")
            .args(["-Ur", "sh", "-c", "echo 1 > /proc/sys/user/max_inotify_watches"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !probe.is_ok_and(|s| s.success()) {
            skip(
                "the limit of inotify watches needs `unshare -Ur` and /proc/sys/user/max_inotify_watches",
            );
            return None;
        }
        let script = format!(
            "echo {limit} > /proc/sys/user/max_inotify_watches && exec \"$0\" start --no-socket"
        );
        let command = dir.script_command(&["unshare", "-Ur"], &script);
        Some(dir.spawn_with(command))
    }

    #[test]
    fn the_limit_of_inotify_watches_is_said_with_the_sysctl_and_the_run_goes_on() {
        let dir = Dir::new();
        dir.write("Procfile", "web: echo up; exec sleep 300\n");
        dir.write("procman.json", r#"{"processes": {"web": {"watch": "src/**/*.rb"}}}"#);
        for d in 0..10 {
            std::fs::create_dir_all(dir.path().join(format!("src/d{d}"))).expect("mkdir");
        }
        let Some(mut run) = start_with_watch_limit(&dir, 4) else { return };
        let warning = run.wait_for("limit of inotify watches is reached");
        assert!(warning.contains("sudo sysctl fs.inotify.max_user_watches="), "{warning}");
        assert!(warning.contains("system | warning: cannot watch "), "{warning}");
        run.wait_for("web.1  | up");
        run.wait_for("web: watching src/**/*.rb for changes (4 directories)");
        run.signal(Signal::SIGTERM);
        run.wait_exit();
        let said = run.lines_with(&["limit of inotify watches"]);
        assert_eq!(said.len(), 1, "said once: {said:?}");
    }
}

#[test]
fn a_reload_that_adds_a_watch_starts_watching() {
    let dir = Dir::new();
    dir.write("Procfile", "web: exec sleep 300\n");
    dir.write("src/app.rb", "");
    let mut run = dir.spawn(&["start"]);
    let web = run.started_nth("web.1", 1);

    dir.write("procman.json", r#"{"processes": {"web": {"watch": "src/*.rb"}}}"#);
    let answer = ctl_ok(&dir, &["reload"]);
    assert!(answer.contains("kept web"), "the watch restarts nothing by itself: {answer}");
    run.wait_for("web: watching src/*.rb for changes");
    touch(&dir.path().join("src/app.rb"));
    let line = run.wait_for("changed, restarting");
    assert_eq!(text_of(&line), "web: src/app.rb changed, restarting");
    assert_ne!(run.started_nth("web.1", 2), web, "web.1 has a new pid");
}
