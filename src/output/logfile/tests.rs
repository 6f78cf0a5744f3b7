use std::fs;
use std::path::Path;

use super::*;

fn config(dir: &Path, max_size: u64, keep: u32) -> LogConfig {
    LogConfig { dir: dir.to_owned(), max_size, keep }
}

fn web() -> InstanceId {
    InstanceId::new("web", 1)
}

/// The lines of `web.1.log` and its rotated files, oldest first, each without its stamp.
fn all_lines(dir: &Path, keep: u32) -> Vec<String> {
    let mut names: Vec<String> = (1..=keep).rev().map(|n| format!("web.1.log.{n}")).collect();
    names.push("web.1.log".to_owned());
    let mut lines = Vec::new();
    for name in names {
        let Ok(text) = fs::read_to_string(dir.join(name)) else { continue };
        lines.extend(text.lines().map(|line| unstamped(line).to_owned()));
    }
    lines
}

fn unstamped(line: &str) -> &str {
    line.split_once(' ').map_or(line, |(_, rest)| rest)
}

#[test]
fn each_line_gets_a_stamp_and_loses_its_colors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let mut logs = LogFiles::open(config(&dir, 1 << 20, 5));
    logs.write(&web(), b"\x1b[32mgreen\x1b[0m\nplain\tline\n");
    logs.write(&web(), b"no newline at the end");
    assert!(!logs.flush());
    assert!(logs.take_notices().is_empty());
    let text = fs::read_to_string(dir.join("web.1.log")).expect("the log file");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let stamp = jiff::fmt::strtime::parse(
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        lines[0].split(' ').next().expect("a stamp"),
    );
    assert!(stamp.is_ok(), "not an RFC 3339 stamp: {}", lines[0]);
    let texts: Vec<&str> = lines.iter().map(|l| unstamped(l)).collect();
    assert_eq!(texts, ["green", "plain\tline", "no newline at the end"]);
    let mode = fs::metadata(dir.join("web.1.log")).expect("metadata").permissions();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o077, 0, "readable by others");
}

#[test]
fn rotation_keeps_n_files_under_the_bound_and_loses_no_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    // Each line is the 30-byte stamp and "line NNNN\n": about 40 bytes, 10 to a file.
    let (max_size, keep) = (400, 3);
    let mut logs = LogFiles::open(config(dir, max_size, keep));
    for n in 0..45 {
        logs.write(&web(), format!("line {n:04}\n").as_bytes());
        logs.flush();
    }
    logs.flush_all();
    let expected: Vec<String> = (5..45).map(|n| format!("line {n:04}")).collect();
    // The oldest lines went with the file past `keep`; the rest are all there, in order.
    let lines = all_lines(dir, keep);
    assert_eq!(lines, expected[expected.len() - lines.len()..]);
    assert!(lines.len() >= 30, "{} lines kept", lines.len());
    for n in 1..=keep {
        let size = fs::metadata(dir.join(format!("web.1.log.{n}"))).expect("rotated file").len();
        assert!(size <= max_size && size > max_size / 2, "web.1.log.{n} has {size} bytes");
    }
    assert!(!dir.join(format!("web.1.log.{}", keep + 1)).exists());
}

#[test]
fn with_room_for_every_file_no_line_is_lost_and_a_long_line_stays_whole() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let mut logs = LogFiles::open(config(dir, 100, 50));
    let long = "x".repeat(300);
    logs.write(&web(), format!("a\n{long}\nb\n").as_bytes());
    for n in 0..20 {
        logs.write(&web(), format!("{n}\n").as_bytes());
    }
    logs.flush_all();
    let mut expected = vec!["a".to_owned(), long, "b".to_owned()];
    expected.extend((0..20).map(|n| n.to_string()));
    assert_eq!(all_lines(dir, 50), expected);
}

#[test]
fn a_link_in_the_directory_is_not_followed_and_the_failure_is_said_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    fs::create_dir(&dir).expect("mkdir");
    let target = tmp.path().join("elsewhere");
    std::os::unix::fs::symlink(&target, dir.join("web.1.log")).expect("symlink");
    let mut logs = LogFiles::open(config(&dir, 1 << 20, 5));
    logs.write(&web(), b"one\n");
    logs.write(&web(), b"two\n");
    logs.flush();
    let notices = logs.take_notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].contains("web.1.log") && notices[0].contains("symbolic link"),
        "{notices:?}"
    );
    assert!(!target.exists(), "the link was followed");
    // Another instance's file works: its lines are written, and the failure is not said again.
    logs.write(&InstanceId::new("worker", 1), b"fine\n");
    logs.flush();
    assert_eq!(all_lines(&dir, 0), Vec::<String>::new());
    let worker = fs::read_to_string(dir.join("worker.1.log")).expect("worker's log");
    assert_eq!(unstamped(worker.trim_end()), "fine");
    assert!(logs.take_notices().iter().all(|n| !n.contains("warning")));
}

#[test]
fn a_failed_file_is_tried_again_and_its_recovery_counts_the_lines_lost() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    fs::create_dir(dir.join("web.1.log")).expect("a directory in the file's place");
    let mut logs = LogFiles::open(config(dir, 1 << 20, 5));
    logs.write(&web(), b"lost 1\nlost 2\n");
    assert_eq!(logs.take_notices().len(), 1);
    fs::remove_dir(dir.join("web.1.log")).expect("rmdir");
    // Past the retry delay, the next write opens the file again.
    if let Some(file) = logs.files.get_mut(&web()) {
        file.failed_until = Some(Instant::now());
    }
    logs.write(&web(), b"kept\n");
    logs.flush();
    let notices = logs.take_notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains("written again (2 lines lost"), "{notices:?}");
    assert_eq!(all_lines(dir, 0), ["kept"]);
}

/// The next write compares the directory and the files with their paths.
fn check_now(logs: &mut LogFiles) {
    logs.next_check = Instant::now();
}

/// Log files in `dir` (1 MiB, 5 kept) where `before` was written.
fn started(dir: &Path) -> LogFiles {
    let mut logs = LogFiles::open(config(dir, 1 << 20, 5));
    logs.write(&web(), b"before\n");
    logs.flush();
    logs
}

/// The one notice said since the last call.
fn one_notice(logs: &mut LogFiles) -> String {
    let mut notices = logs.take_notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    notices.remove(0)
}

#[test]
fn a_log_directory_replaced_under_the_run_is_said_once_and_the_new_one_gets_the_lines() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let mut logs = started(&dir);
    fs::remove_dir_all(&dir).expect("rm -rf");
    fs::create_dir(&dir).expect("mkdir");
    // Within the check interval, lines may still go to the removed file; then no more.
    check_now(&mut logs);
    logs.write(&web(), b"after\n");
    logs.write(&web(), b"again\n");
    logs.flush();
    let notice = one_notice(&mut logs);
    assert!(notice.contains("log directory") && notice.contains("replaced"), "{notice}");
    assert_eq!(all_lines(&dir, 0), ["after", "again"]);
}

#[test]
fn a_removed_log_directory_is_waited_for_and_the_lines_lost_meanwhile_are_counted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let mut logs = started(&dir);
    fs::remove_dir_all(&dir).expect("rm -rf");
    check_now(&mut logs);
    logs.write(&web(), b"lost\n");
    logs.flush();
    let notice = one_notice(&mut logs);
    assert!(notice.contains("was removed") && notice.contains("once"), "{notice}");
    assert!(!dir.exists(), "procman does not create again what the user removed");
    logs.write(&web(), b"lost too\n");
    assert_eq!(logs.backlog(), 0);
    fs::create_dir(&dir).expect("mkdir");
    logs.dir_retry = Instant::now();
    logs.write(&web(), b"kept\n");
    logs.flush();
    let notice = one_notice(&mut logs);
    assert!(notice.contains("written again (2 lines lost"), "{notice}");
    assert_eq!(all_lines(&dir, 0), ["kept"]);
}

#[test]
fn a_rotation_in_a_removed_directory_goes_to_the_new_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    // About 40 bytes a line: the 11th rotates, before the periodic check comes.
    let mut logs = LogFiles::open(config(&dir, 400, 2));
    for n in 0..10 {
        logs.write(&web(), format!("line {n:04}\n").as_bytes());
    }
    logs.flush();
    fs::remove_dir_all(&dir).expect("rm -rf");
    fs::create_dir(&dir).expect("mkdir");
    for n in 10..15 {
        logs.write(&web(), format!("line {n:04}\n").as_bytes());
    }
    logs.flush();
    let notice = one_notice(&mut logs);
    assert!(notice.contains("replaced"), "{notice}");
    let expected: Vec<String> = (10..15).map(|n| format!("line {n:04}")).collect();
    assert_eq!(all_lines(&dir, 2), expected);
}

#[test]
fn a_removed_log_file_is_started_again() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let mut logs = started(dir);
    fs::remove_file(dir.join("web.1.log")).expect("rm");
    check_now(&mut logs);
    logs.write(&web(), b"after\n");
    logs.flush();
    let notice = one_notice(&mut logs);
    assert!(notice.contains("web.1.log was removed or moved away"), "{notice}");
    assert_eq!(all_lines(dir, 0), ["after"]);
}

#[test]
fn a_directory_at_the_oldest_rotated_name_is_named_in_the_warning() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    fs::create_dir(dir.join("web.1.log.2")).expect("a directory in the oldest slot");
    fs::write(dir.join("web.1.log.2/inside"), "x").expect("write");
    fs::write(dir.join("web.1.log.1"), "old\n").expect("write");
    let mut logs = LogFiles::open(config(dir, 400, 2));
    for n in 0..15 {
        logs.write(&web(), format!("line {n:04}\n").as_bytes());
    }
    logs.flush();
    let notice = one_notice(&mut logs);
    let path = |name: &str| dir.join(name).display().to_string();
    assert!(
        notice.contains(&format!(
            "cannot rotate the log file {} to {}: {} is a directory",
            path("web.1.log.1"),
            path("web.1.log.2"),
            path("web.1.log.2")
        )),
        "{notice}"
    );
    // Once it is taken away, the rotation goes on.
    fs::remove_dir_all(dir.join("web.1.log.2")).expect("rm -rf");
    if let Some(file) = logs.files.get_mut(&web()) {
        file.failed_until = Some(Instant::now());
    }
    logs.write(&web(), b"kept\n");
    logs.flush();
    let notices = logs.take_notices();
    assert!(notices.iter().any(|n| n.contains("written again")), "{notices:?}");
    assert!(dir.join("web.1.log.2").is_file());
    assert_eq!(all_lines(dir, 0), ["kept"]);
}

/// A write that fails after part of a line went out, and a directory replaced meanwhile: the
/// file is cut back to its last whole line, and the new directory's file gets the line whole.
/// A sealed memfd stands for the full disk (writes refused, truncation allowed): Linux only.
#[cfg(target_os = "linux")]
#[test]
fn a_line_torn_by_a_failed_write_is_written_whole_to_the_replaced_directory() {
    use nix::fcntl::{FcntlArg, SealFlag, fcntl};
    use nix::sys::memfd::{MFdFlags, memfd_create};

    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let mut logs = LogFiles::open(config(&dir, 1 << 20, 5));
    // One chunk: both lines get the same stamp.
    logs.write(&web(), b"first\nsecond\n");
    let queued = logs.backlog();
    let first = logs.files[&web()].parts[0].bytes.iter().position(|b| *b == b'\n').expect("a line");
    let second_line = logs.files[&web()].parts[0].bytes[first + 1..].to_vec();
    // The first line and the start of the second (its stamp and "sec") go out.
    let cut = first + 1 + second_line.len() - "ond\n".len();
    assert!(logs.flush_up_to(cut));
    assert_eq!(logs.backlog(), queued - cut);
    // The disk refuses the rest.
    let memfd = memfd_create("full disk", MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING)
        .expect("memfd");
    fcntl(&memfd, FcntlArg::F_ADD_SEALS(SealFlag::F_SEAL_WRITE)).expect("seal");
    if let Some(file) = logs.files.get_mut(&web()) {
        file.file = Some(File::from(memfd));
    }
    fs::remove_dir_all(&dir).expect("rm -rf");
    fs::create_dir(&dir).expect("mkdir");
    logs.flush_all();
    let notice = one_notice(&mut logs);
    assert!(notice.contains("replaced"), "{notice}");
    assert_eq!(logs.backlog(), 0);
    let text = fs::read(dir.join("web.1.log")).expect("the new log file");
    assert_eq!(String::from_utf8_lossy(&text), String::from_utf8_lossy(&second_line));
}
