//! What a child gets: typed exec failures, no inherited descriptors, clean signal state, and
//! the umask, working directory and environment of its spec.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

use supervise::{
    CommandSpec, EnvSpec, ExitStatus, Launch, ProgramSpec, SpawnErrorKind, State, Stream,
};

use crate::harness::{Run, TempDir, id, sh};

fn program(name: &str, program: impl Into<OsString>) -> ProgramSpec {
    let mut spec = ProgramSpec::new(name, CommandSpec::new(program));
    spec.start_grace = Duration::ZERO;
    spec.stop_timeout = Duration::from_secs(5);
    spec
}

/// `sleep 300`, executed directly: nothing between the supervisor and the program.
#[cfg(target_os = "linux")]
fn sleeper(name: &str) -> ProgramSpec {
    let mut spec = program(name, "sleep");
    spec.command = spec.command.args(["300"]);
    spec
}

#[test]
fn exec_failures_come_back_as_typed_spawn_errors_and_are_fatal_at_once() {
    let mut run = Run::new();
    let dir = TempDir::new("exec");
    let not_executable = dir.0.join("script.sh");
    fs::write(&not_executable, "#!/bin/sh\necho never\n").expect("write");
    fs::set_permissions(&not_executable, fs::Permissions::from_mode(0o644)).expect("chmod");
    let a_file = dir.0.join("plain-file");
    fs::write(&a_file, "").expect("write");

    let mut cases: Vec<(ProgramSpec, SpawnErrorKind)> = vec![
        (program("absent", "/nonexistent/procman-test-program"), SpawnErrorKind::NotFound),
        (program("notinpath", "procman-no-such-command"), SpawnErrorKind::NotFound),
        (program("noexec", &not_executable), SpawnErrorKind::NotExecutable),
        (program("directory", &dir.0), SpawnErrorKind::NotExecutable),
    ];
    let mut bad_dir = sh("baddir", "true");
    bad_dir.cwd = Some(dir.0.join("missing"));
    cases.push((bad_dir, SpawnErrorKind::BadWorkingDir));
    let mut file_dir = sh("filedir", "true");
    file_dir.cwd = Some(a_file.clone());
    cases.push((file_dir, SpawnErrorKind::BadWorkingDir));

    for (spec, _) in &cases {
        run.add(spec.clone());
        run.driver.start_group(&spec.name).expect("start");
    }
    for (spec, kind) in &cases {
        let one = id(&spec.name, 1);
        let fatal = run.wait_state(&one, State::Fatal);
        let error = fatal.spawn_error.clone().expect("a spawn error");
        assert_eq!(error.kind, *kind, "{}: {error}", spec.name);
        assert!(!error.message.is_empty());
        assert_eq!((fatal.from, fatal.pid, fatal.exit), (State::Starting, None, None));
        // One attempt only: retrying cannot make the program appear.
        assert_eq!(run.transitions(&one).len(), 2, "{:#?}", run.transitions(&one));
        let info = run.driver.snapshot().into_iter().find(|i| i.id == one).expect("instance");
        assert_eq!(info.spawn_error, Some(error));
    }
    run.finish();
}

#[test]
fn a_program_that_runs_and_exits_127_is_not_a_spawn_error() {
    let mut run = Run::new();
    run.start(sh("shell", "exit 127"));
    let exited = run.wait_state(&id("shell", 1), State::Exited);
    assert_eq!(exited.exit, Some(ExitStatus::Code(127)));
    assert_eq!(exited.spawn_error, None);
    assert!(exited.pid.is_some());
    run.finish();
}

/// The descriptors a process holds, from `/proc/PID/fd`.
#[cfg(target_os = "linux")]
fn descriptors(pid: u32) -> Vec<u32> {
    let mut fds: Vec<u32> = fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd dir")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    fds.sort_unstable();
    fds
}

/// The descriptors above 2 that a process holds, with what they point to.
#[cfg(target_os = "linux")]
fn extra_descriptors(pid: u32) -> Vec<(u32, String)> {
    descriptors(pid)
        .into_iter()
        .filter(|fd| *fd > 2)
        .filter_map(|fd| {
            let target = fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()?;
            Some((fd, target.display().to_string()))
        })
        .collect()
}

/// A descriptor opened without close-on-exec (closed when dropped).
#[cfg(target_os = "linux")]
struct LeakyFd(std::os::fd::OwnedFd);

#[cfg(target_os = "linux")]
impl LeakyFd {
    fn open() -> LeakyFd {
        use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl, open};
        let fd = open("/dev/null", OFlag::O_RDONLY, nix::sys::stat::Mode::empty())
            .expect("open /dev/null");
        let flags = fcntl(&fd, FcntlArg::F_GETFD).expect("F_GETFD");
        assert!(
            !FdFlag::from_bits_truncate(flags).contains(FdFlag::FD_CLOEXEC),
            "the descriptor is inheritable"
        );
        LeakyFd(fd)
    }

    fn number(&self) -> u32 {
        use std::os::fd::AsRawFd;
        u32::try_from(self.0.as_raw_fd()).expect("a descriptor number")
    }
}

#[cfg(target_os = "linux")]
#[test]
fn no_descriptor_beyond_0_1_2_leaks_into_a_child() {
    let mut run = Run::new();
    let leaky = LeakyFd::open();
    // Two groups, so the second child is spawned while the first one's pipes are open too.
    run.add(sleeper("first"));
    let mut merged = sleeper("second");
    merged.stderr = supervise::OutputSpec::MergeWithStdout;
    run.add(merged);
    run.driver.start_group("first").expect("start");
    run.driver.start_group("second").expect("start");
    for group in ["first", "second"] {
        let running = run.wait_state(&id(group, 1), State::Running);
        let pid = running.pid.expect("pid");
        // Right after exec, the dynamic loader and the C library briefly hold files of their
        // own (`/etc/ld.so.cache`, shared objects, the locale archive): wait for those to go,
        // but fail at once on anything the supervisor holds (`/dev/null` from the extra
        // descriptor, pipes, the poll instance, sockets).
        run.wait_until(&format!("{group} to hold only 0, 1 and 2"), |_| {
            let extra = extra_descriptors(pid);
            assert!(
                extra.iter().all(|(_, target)| target.starts_with('/') && target != "/dev/null"),
                "{group} inherited descriptors: {extra:?}"
            );
            // An inherited descriptor would be there from the exec on: one clean look is proof.
            extra.is_empty()
        });
    }
    // The parent side does hold more (the extra one, the poll instance, the pipes).
    assert!(descriptors(std::process::id()).contains(&leaky.number()));
    run.finish();
    drop(leaky);
}

/// A mask field (`SigIgn:`, `SigBlk:`) of `/proc/PID/status`.
#[cfg(target_os = "linux")]
fn status_mask(pid: u32, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status.lines().find(|l| l.starts_with(field)).expect("field");
    u64::from_str_radix(line[field.len()..].trim(), 16).expect("hex mask")
}

#[cfg(target_os = "linux")]
#[test]
fn signal_dispositions_and_mask_are_clean_in_the_child() {
    let mut run = Run::new();
    let _usr1 = crate::sys::IgnoredSignal::new(libc::SIGUSR1);
    let realtime = libc::SIGRTMIN() + 1;
    let _realtime = crate::sys::IgnoredSignal::new(realtime);
    #[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _reserved = crate::sys::IgnoredReservedSignal::new(32);
    let ignored_here = status_mask(std::process::id(), "SigIgn:");
    for signal in [libc::SIGUSR1, realtime] {
        assert_ne!(ignored_here & (1u64 << (signal - 1)), 0, "{signal} is ignored here");
    }
    run.start(sleeper("clean"));
    let pid = run.wait_state(&id("clean", 1), State::Running).pid.expect("pid");
    assert_eq!(status_mask(pid, "SigIgn:"), 0, "no signal is ignored in the child");
    assert_eq!(status_mask(pid, "SigBlk:"), 0, "no signal is blocked in the child");
    run.finish();
}

#[test]
fn umask_working_directory_and_environment_are_applied() {
    let mut run = Run::new();
    let dir = TempDir::new("cwd");
    let mut spec = sh(
        "env",
        r#"umask; pwd; echo "SET=$SET"; echo "HOME=${HOME-unset}"; echo "PORT=$PORT"; echo "PATH=${PATH:+inherited}""#,
    );
    spec.umask = Some(0o027);
    spec.cwd = Some(dir.0.clone());
    spec.env = EnvSpec::default();
    spec.env.set("SET", "first").set("SET", "hello").remove("HOME");
    spec.instances = 2;
    spec.instance_hook = Some(Arc::new(|n, launch: &mut Launch| {
        launch.env.push(("PORT".into(), (5000 + n).to_string().into()));
    }));
    run.start(spec);
    let mut clear = program("clear", "/usr/bin/env");
    clear.env.clear = true;
    clear.env.set("ONLY", "1");
    run.start(clear);
    for n in 1..=2 {
        run.wait_state(&id("env", n), State::Exited);
        let expected = vec![
            "0027".to_owned(),
            dir.0.display().to_string(),
            "SET=hello".to_owned(),
            "HOME=unset".to_owned(),
            format!("PORT={}", 5000 + n),
            "PATH=inherited".to_owned(),
        ];
        assert_eq!(run.lines(&id("env", n), Some(Stream::Stdout)), expected);
    }
    run.wait_state(&id("clear", 1), State::Exited);
    assert_eq!(run.lines(&id("clear", 1), None), vec!["ONLY=1".to_owned()]);
    run.finish();
}

#[test]
fn starts_are_reported_in_spawn_order_and_before_any_output() {
    // Spawns do not wait for each exec; the outcomes are still reported in the order the
    // spawns were asked for, and a program's first line never comes before its start.
    let mut run = Run::new();
    let mut spec = sh("many", "echo up");
    spec.instances = 30;
    run.start(spec);
    for n in 1..=30 {
        run.wait_line(&id("many", n), |line| line == "up");
    }
    let mut started = Vec::new();
    for (_, event) in &run.log {
        match event {
            supervise::Event::State(t) if t.to == State::Starting && t.pid.is_some() => {
                started.push(t.id.index);
            }
            supervise::Event::Output(output) => {
                assert!(
                    started.contains(&output.id.index),
                    "output of {} before its start",
                    output.id
                );
            }
            _ => {}
        }
    }
    assert_eq!(started, (1..=30).collect::<Vec<u32>>());
    run.finish();
}

#[test]
fn a_script_without_an_interpreter_line_runs_under_sh_as_execvp_does() {
    let mut run = Run::new();
    let dir = TempDir::new("noshebang");
    let script = dir.0.join("plain-script");
    fs::write(&script, "echo ran by sh\n").expect("write");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
    run.start(program("plain", &script));
    run.wait_line(&id("plain", 1), |line| line == "ran by sh");
    run.finish();
}
