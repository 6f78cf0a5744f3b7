//! Issue 11, sections 2, 3 and 5, through the real binary: inputs that are not regular files,
//! the instance-count bound against the descriptor limit, the control socket's creation and its
//! leftovers, and a shutdown that a stalled reader cannot hold up.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{
    Dir, Procman, Signal, WAIT, assert_code, ctl, fifo, procman, ps_json, skip, strip_time,
    unread_bytes, wait_file,
};

/// Runs `procman args` in `dir`; asserts that it failed with code 1, started nothing, and said
/// that `named` is not a regular file. Returns how long it took.
#[track_caller]
fn refused_input(dir: &Dir, args: &[&str], named: &str) -> Duration {
    let started = Instant::now();
    let finished = dir.run(args);
    let took = started.elapsed();
    assert_code(&finished, 1);
    let stderr = finished.stderr();
    assert!(
        stderr.contains(&format!(
            "cannot read {named}: it is a named pipe (FIFO), not a regular file"
        )),
        "{args:?}: {stderr}"
    );
    assert!(!finished.stdout().contains("started with pid"), "{args:?}: {}", finished.stdout());
    took
}

#[test]
fn a_fifo_given_as_any_input_file_is_an_error_not_a_hang() {
    let dir = Dir::with_procfile("web: sleep 300\n");
    fifo(&dir, "pipe");
    for args in [
        &["check", "-f", "pipe"][..],
        &["start", "-f", "pipe"],
        &["check", "-e", "pipe"],
        &["start", "-e", "pipe"],
        &["run", "-e", "pipe", "true"],
        &["start", "--config", "pipe"],
        &["check", "--config", "pipe"],
    ] {
        let took = refused_input(&dir, args, "pipe");
        println!("{args:?}: refused in {took:?}");
    }
}

#[test]
fn a_fifo_planted_as_env_dotforeman_or_procman_json_is_an_error_not_a_hang() {
    for planted in [".env", ".foreman", "procman.json"] {
        let dir = Dir::with_procfile("web: sleep 300\n");
        let path = fifo(&dir, planted);
        let shown = path.display().to_string();
        // `.env` and `.foreman` are found through the app root, procman.json beside the Procfile.
        let named = if planted == "procman.json" { planted } else { shown.as_str() };
        for command in ["check", "start"] {
            let took = refused_input(&dir, &[command], named);
            println!("{planted} with {command}: refused in {took:?}");
        }
    }
}

#[test]
fn dev_null_still_reads_as_an_empty_env_file() {
    let dir = Dir::with_procfile("web: echo hello\n");
    let finished = dir.run(&["check", "-e", "/dev/null"]);
    assert_code(&finished, 0);
    let finished = dir.run(&["check", "-e", "/dev/zero"]);
    assert_code(&finished, 1);
    assert!(
        finished.stderr().contains("cannot read /dev/zero: it is a character device"),
        "{}",
        finished.stderr()
    );
}

/// Whether strace is installed and may trace here (ptrace can be forbidden in containers).
fn strace_works() -> Result<(), String> {
    match Command::new("strace").args(["-qq", "-o", "/dev/null", "true"]).output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => {
            Err(format!("strace cannot trace here: {}", String::from_utf8_lossy(&out.stderr)))
        }
        Err(err) => Err(format!("strace is not installed ({err})")),
    }
}

#[test]
fn start_never_changes_a_mode_by_path_when_it_creates_its_socket() {
    if let Err(why) = strace_works() {
        return skip(&why);
    }
    let dir = Dir::with_procfile("web: true\n");
    let trace = dir.path().join("trace.txt");
    let mut command = Command::new("strace");
    command
        .args(["-f", "-qq", "-o"])
        .arg(&trace)
        .args(["-e", "trace=/chmod,bind", "--"])
        .arg(procman())
        .arg("start")
        .current_dir(dir.path())
        .stdin(Stdio::null());
    let finished = dir.run_with(command);
    assert_code(&finished, 0);
    let text = std::fs::read_to_string(&trace).expect("the trace");
    // The trace works: it shows the socket being bound.
    assert!(
        text.lines().any(|line| line.contains("bind(") && line.contains(".procman.sock")),
        "no bind of the socket in the trace:\n{text}"
    );
    let by_path: Vec<&str> = text
        .lines()
        .filter(|line| ["chmod(", "fchmodat(", "fchmodat2("].iter().any(|call| line.contains(call)))
        .collect();
    assert!(by_path.is_empty(), "modes changed by path:\n{}", by_path.join("\n"));
}

#[test]
fn a_symlink_planted_at_the_socket_path_is_refused_and_its_target_untouched() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = Dir::with_procfile("web: sleep 300\n");
    let target = dir.write("precious", "keep");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::os::unix::fs::symlink(&target, dir.path().join(".procman.sock")).expect("symlink");
    let finished = dir.run(&["start"]);
    assert_code(&finished, 1);
    assert!(
        finished.stderr().contains(".procman.sock is a symbolic link"),
        "{}",
        finished.stderr()
    );
    assert!(!finished.stdout().contains("started with pid"), "{}", finished.stdout());
    let meta = std::fs::metadata(&target).expect("the target");
    assert_eq!(meta.mode() & 0o777, 0o644);
    assert_eq!(std::fs::read_to_string(&target).ok().as_deref(), Some("keep"));
}

#[test]
fn scale_beyond_the_instance_limit_is_refused_cleanly_and_the_run_goes_on() {
    let dir = Dir::with_procfile("web: sleep 300\nworker: sleep 300\n");
    let mut run = dir.spawn(&["start"]);
    run.wait_nth(&["web.1", "| started with pid"], 1);
    run.wait_nth(&["worker.1", "| started with pid"], 1);
    // One count past the limit: refused by the command itself, before it asks procman.
    let refused = ctl(&dir, &["scale", "web=100000"]);
    assert_eq!(refused.code(), Some(2), "{}", refused.stderr());
    assert_eq!(
        refused.stderr(),
        "error: the count of `web` is too large: `100000` (procman runs at most 1000 \
         instances in all)\n"
    );
    // Counts each within the limit, too many together: refused by procman.
    let refused = ctl(&dir, &["scale", "web=600", "worker=600"]);
    assert_eq!(refused.code(), Some(1), "{}", refused.stderr());
    assert_eq!(
        refused.stderr(),
        "error: scaling would make 1200 instances in total; procman runs at most 1000; \
         lower the counts (`all=N` applies to every process type not named)\n"
    );
    let ps = ps_json(&dir);
    assert_eq!(ps["total"]["instances"], 2, "nothing was scaled: {ps:#}");
    run.stop(Signal::SIGINT);
}

/// `sh -c 'ulimit ...; exec procman start ...'` in `dir`: procman under a limit of open files.
fn start_under_ulimit(dir: &Dir, ulimit: &str, args: &str) -> Command {
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(format!("ulimit {ulimit} || exit 99; exec \"$0\" start {args}"))
        .arg(procman())
        .current_dir(dir.path())
        .stdin(Stdio::null());
    command
}

#[test]
fn a_formation_that_cannot_fit_in_the_open_files_limit_starts_nothing() {
    let dir = Dir::with_procfile("web: sleep 300\n");
    // 64 descriptors in all (soft and hard): 40 instances need 96 + 2 × 40.
    let finished = dir.run_with(start_under_ulimit(&dir, "-n 64", "-m web=40"));
    assert_code(&finished, 1);
    assert_eq!(
        finished.stderr(),
        "error: the formation asks for 40 instances in total, but procman may open only 64 files \
         (RLIMIT_NOFILE, its hard limit), enough for 0 instances (2 descriptors each, 96 for \
         procman itself)\n   = help: lower the counts, or raise the hard limit of open files \
         where procman starts (`ulimit -n` in its shell, `LimitNOFILE=` in its systemd \
         service)\n"
    );
    assert_eq!(finished.stdout(), "", "nothing started");
}

#[test]
fn the_soft_open_files_limit_is_raised_to_the_hard_one_before_the_formation_is_checked() {
    let dir = Dir::with_procfile("web: echo up; exec sleep 300\n");
    // A soft limit of 100 holds 2 instances; the hard one (the machine's) holds 12.
    let hard = Command::new("/bin/sh").args(["-c", "ulimit -Hn"]).output().expect("sh");
    let hard: u64 = String::from_utf8_lossy(&hard.stdout).trim().parse().unwrap_or(u64::MAX);
    if hard < 200 {
        return skip(&format!("the hard limit of open files is {hard}, below 200"));
    }
    let mut run = dir.spawn_with(start_under_ulimit(&dir, "-Sn 100", "-m web=12"));
    run.wait_nth(&["web.12", "| up"], 1);
    run.stop(Signal::SIGINT);
}

/// `procman start ARGS` with standard output to a pipe (or a socket) that nobody reads (the
/// other end stays open, as with `procman start | (sleep 1000)`) and standard error to a file.
struct StalledReader {
    procman: Procman,
    unread: OwnedFd,
    stderr: File,
}

impl StalledReader {
    fn start(dir: &Dir, args: &[&str]) -> StalledReader {
        let (unread, writer) = std::io::pipe().expect("a pipe");
        StalledReader::start_with(dir, args, OwnedFd::from(writer), OwnedFd::from(unread))
    }

    /// With standard output to a stream socket, as systemd's journal gives.
    fn start_on_socket(dir: &Dir, args: &[&str]) -> StalledReader {
        let (ours, unread) = std::os::unix::net::UnixStream::pair().expect("a socket pair");
        StalledReader::start_with(dir, args, OwnedFd::from(ours), OwnedFd::from(unread))
    }

    fn start_with(dir: &Dir, args: &[&str], stdout: OwnedFd, unread: OwnedFd) -> StalledReader {
        let stderr = tempfile::tempfile().expect("a temporary file");
        let mut command = dir.command(args);
        command.stdout(Stdio::from(stdout)).stderr(Stdio::from(stderr.try_clone().expect("dup")));
        StalledReader { procman: dir.start(command), unread, stderr }
    }

    /// Waits (bounded) until the unread end holds 60,000 bytes: procman's output is full, and
    /// what the app writes from now on stays in procman's own backlog.
    fn wait_full(&self) {
        let deadline = Instant::now() + WAIT;
        loop {
            let count = unread_bytes(&self.unread);
            if count >= 60_000 {
                return;
            }
            assert!(Instant::now() < deadline, "procman's output never filled ({count} bytes)");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits (bounded by [`WAIT`]) for procman to exit; returns its code and standard error.
    fn wait_exit(&mut self) -> (Option<i32>, String) {
        let status = self.procman.wait();
        let mut text = String::new();
        use std::io::{Read, Seek};
        let _ = self.stderr.rewind().and_then(|()| self.stderr.read_to_string(&mut text));
        (status.code(), text)
    }
}

#[test]
fn a_reader_that_stopped_reading_cannot_stall_the_end_of_the_run() {
    let dir = Dir::new();
    let run = StalledReader::start(flooding_app(&dir), &["start", "--no-socket", "-t", "1"]);
    dropped_after_the_stall(&dir, run);
}

#[test]
fn a_socket_reader_that_stopped_reading_cannot_stall_procman_either() {
    // A socket was written with blocking writes: the loop itself stopped, signals unhandled.
    let dir = Dir::new();
    let run =
        StalledReader::start_on_socket(flooding_app(&dir), &["start", "--no-socket", "-t", "1"]);
    dropped_after_the_stall(&dir, run);
}

/// An app that writes without end and ignores SIGTERM: with `-t 1`, it floods for a second
/// after SIGINT, so procman surely holds output its reader did not take when it ends.
fn flooding_app(dir: &Dir) -> &Dir {
    dir.write(
        "Procfile",
        "web: trap '' TERM; touch up; exec yes 'a line of output to fill the pipes with'\n",
    );
    dir
}

/// Stops the app with SIGINT; asserts procman ends on its own, dropping the output its reader
/// never took, with a count.
fn dropped_after_the_stall(dir: &Dir, mut run: StalledReader) {
    wait_file(&dir.path().join("up"));
    run.wait_full();
    run.procman.signal(Signal::SIGINT);
    // The app stops at once; its output waits for the reader, which takes none of it, and is
    // dropped 5 seconds later.
    let (code, stderr) = run.wait_exit();
    assert_eq!(code, Some(130), "{stderr}");
    let dropped = stderr
        .lines()
        .find(|line| line.starts_with("procman: dropped "))
        .unwrap_or_else(|| panic!("no count of dropped output: {stderr}"));
    assert!(
        dropped.ends_with(
            " bytes) of output: its reader took none of it for 5s after the app had ended"
        ),
        "{dropped}"
    );
    assert!(run.procman.marked().is_empty(), "the app is gone");
}

#[test]
fn a_second_signal_ends_procman_at_once_even_with_a_stalled_reader() {
    let dir = Dir::new();
    // Both outlive SIGTERM; with -t 600 only the second signal can end the run in time.
    dir.write(
        "Procfile",
        "web: trap '' TERM; exec yes 'a line of output to fill the pipes with'\n\
         quiet: trap 'touch got-term' TERM; touch up; while :; do sleep 1000 & wait $!; done\n",
    );
    let mut run = StalledReader::start(&dir, &["start", "--no-socket", "-t", "600"]);
    wait_file(&dir.path().join("up"));
    run.wait_full();
    run.procman.signal(Signal::SIGINT);
    wait_file(&dir.path().join("got-term"));
    run.procman.signal(Signal::SIGINT);
    let (code, stderr) = run.wait_exit();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stderr.lines().any(|line| line.starts_with("procman: dropped ")
            && line.ends_with("of output: procman had to quit at once")),
        "{stderr}"
    );
    assert!(run.procman.marked().is_empty(), "the app is gone");
}

#[test]
fn a_slow_stop_says_once_whom_it_waits_for_and_how_long() {
    let dir = Dir::with_procfile("web: trap '' TERM; echo ready; exec sleep 1000\n");
    let mut run = dir.spawn(&["start", "--no-socket", "-t", "30"]);
    let web = run.started("web.1");
    run.wait_nth(&["web.1", "| ready"], 1);
    run.signal(Signal::SIGINT);
    let line = run.wait_for("waiting up to");
    let text = strip_time(&line);
    // The stop timeout as configured (`-t 30`), and what is left of it a second into the stop.
    let expected = format!("system | waiting up to 30s for web.1 (pid {web}) to stop (");
    let left: u64 = text
        .strip_prefix(&expected)
        .and_then(|rest| rest.split_once("s left)"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!((1..30).contains(&left), "{text}");
    assert_eq!(
        text,
        format!("{expected}{left}s left); press Ctrl-C again to kill it now"),
        "{}",
        run.transcript()
    );
    run.stop(Signal::SIGINT);
    assert_eq!(run.lines_with(&["waiting up to"]).len(), 1, "said once");
    assert!(run.transcript().contains("SIGINT received again: sending SIGKILL to all processes"));
}
