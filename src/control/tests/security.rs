//! Who may connect, and the socket file's life: mode 0600, another user refused, stale
//! sockets replaced, live ones refused, the file removed on every way out.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use super::Rig;
use crate::control::client::{Client, CtlError, TIMEOUT};
use crate::control::server::ControlServer;
use crate::control::socket::BindError;
use procman::control::proto::Request;

/// Set in the environment of the helper that connects as another user.
const PEER_HELPER: &str = "PROCMAN_TEST_PEER_SOCKET";
/// The uid the helper runs as.
const NOBODY: u32 = 65534;

fn socket_in(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join(".procman.sock")
}

#[test]
fn control_socket_is_created_0600_and_owned_by_procman_s_user() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = socket_in(&dir);
    let server = ControlServer::bind(&path).expect("bind");
    let meta = fs::symlink_metadata(&path).expect("the socket exists");
    assert_eq!(meta.mode() & 0o777, 0o600);
    assert_eq!(meta.uid(), nix::unistd::geteuid().as_raw());
    drop(server);
    assert!(!path.exists(), "removed on drop");
}

// `unshare(CLONE_FS)` keeps this test's umask to its own thread: Linux only.
#[cfg(target_os = "linux")]
#[test]
fn control_socket_is_0600_from_its_creation_under_any_umask_and_the_umask_is_restored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = socket_in(&dir);
    // A permissive umask of the caller's must not widen the socket: its mode comes from the umask
    // in force at bind, never from a later chmod. This thread's umask is made its own first, so
    // that other tests' files are not created under it.
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_FS).expect("unshare(CLONE_FS)");
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    let server = ControlServer::bind(&path);
    let during = nix::sys::stat::umask(old);
    let _server = server.expect("bind");
    assert_eq!(during.bits(), 0, "the caller's umask is put back");
    let meta = fs::symlink_metadata(&path).expect("the socket exists");
    assert_eq!(meta.mode() & 0o777, 0o600);
}

#[test]
fn control_a_symlink_at_the_socket_path_is_never_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = socket_in(&dir);
    let target = dir.path().join("precious");
    fs::write(&target, "secret").expect("write");
    fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).expect("chmod");
    std::os::unix::fs::symlink(&target, &path).expect("symlink");
    match ControlServer::bind(&path) {
        Err(err @ BindError::Symlink { .. }) => {
            let text = err.to_string();
            assert!(text.contains("is a symbolic link"), "{text}");
            assert!(text.contains("--socket"), "{text}");
        }
        other => panic!("expected a symlink refusal, got {other:?}"),
    }
    // A dangling link, to where a socket could be created, is refused the same way.
    let dangling = dir.path().join("dangling.sock");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).expect("symlink");
    assert!(matches!(ControlServer::bind(&dangling), Err(BindError::Symlink { .. })));
    assert!(!dir.path().join("nowhere").exists(), "nothing was created through the link");
    let meta = fs::metadata(&target).expect("the target");
    assert_eq!(meta.mode() & 0o777, 0o644, "the target's mode is unchanged");
    assert_eq!(fs::read_to_string(&target).ok().as_deref(), Some("secret"));
    assert!(fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()), "link kept");
}

#[test]
fn control_client_refuses_a_socket_whose_mode_was_widened() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = socket_in(&dir);
    let _server = ControlServer::bind(&path).expect("bind");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).expect("chmod");
    match Client::connect(&path, TIMEOUT) {
        Err(err @ CtlError::Mode { mode: 0o666, .. }) => {
            assert!(err.to_string().contains("0666"), "{err}");
        }
        other => panic!("expected a mode error, got {other:?}"),
    }
}

#[test]
fn control_client_reports_a_missing_or_stale_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = socket_in(&dir);
    match Client::connect(&path, TIMEOUT) {
        Err(err @ CtlError::NotRunning { .. }) => {
            let text = err.to_string();
            assert!(text.starts_with("no procman is running here (no socket at "), "{text}");
            assert_eq!(crate::error::CliError::from(err).exit_code(), 1);
        }
        other => panic!("expected not running, got {other:?}"),
    }
    drop(UnixListener::bind(&path).expect("bind"));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
    assert!(matches!(Client::connect(&path, TIMEOUT), Err(CtlError::Stale { .. })));
}

#[test]
fn control_a_stale_socket_is_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = socket_in(&dir);
    // A procman killed with SIGKILL leaves its socket file behind, with nobody listening.
    drop(UnixListener::bind(&path).expect("bind"));
    assert!(path.exists());
    let _server = ControlServer::bind(&path).expect("the stale socket is replaced");
    UnixStream::connect(&path).expect("the new socket listens");
}

#[test]
fn control_a_live_socket_means_already_running() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = socket_in(&dir);
    let first = ControlServer::bind(&path).expect("bind");
    match ControlServer::bind(&path) {
        Err(err @ BindError::AlreadyRunning { .. }) => {
            let text = err.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains("--socket"), "{text}");
        }
        other => panic!("expected already running, got {other:?}"),
    }
    assert!(path.exists(), "the live socket is left alone");
    drop(first);
}

#[test]
fn control_socket_is_removed_on_close_but_never_someone_else_s() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = socket_in(&dir);
    let mut server = ControlServer::bind(&path).expect("bind");
    server.close();
    assert!(!path.exists(), "removed by close");
    server.close();

    // Someone removed ours and another procman took the path: dropping ours keeps theirs.
    let ours = ControlServer::bind(&path).expect("bind");
    fs::remove_file(&path).expect("remove");
    let theirs = ControlServer::bind(&path).expect("bind again");
    drop(ours);
    assert!(path.exists(), "the other server's socket stays");
    drop(theirs);
    assert!(!path.exists());
}

/// The helper run as another user by the test below; does nothing in a normal test run.
/// It connects with a plain socket (the client's own checks would refuse a socket owned by
/// another user before connecting) and prints what happened.
#[test]
fn control_peer_helper() {
    let Some(path) = std::env::var_os(PEER_HELPER) else { return };
    let result = match UnixStream::connect(Path::new(&path)) {
        Err(err) => format!("connect-error {:?}", err.kind()),
        Ok(mut stream) => {
            let _ = stream.set_read_timeout(Some(super::WAIT));
            let _ = stream.write_all(Request::Ps.to_line(1).as_bytes());
            let mut line = String::new();
            let _ = BufReader::new(stream).read_line(&mut line);
            format!("answer {}", line.trim())
        }
    };
    println!("PEER-RESULT {result}");
}

/// Runs this test binary as uid 65534 to connect to `path`; returns the helper's result.
fn connect_as_nobody(rig: &mut Rig, exe: &Path) -> String {
    let path = rig.path.clone();
    let exe = exe.to_path_buf();
    rig.with_client(move |_| {
        let output = Command::new(&exe)
            .args(["--exact", "control::tests::security::control_peer_helper", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(PEER_HELPER, &path)
            .uid(NOBODY)
            .gid(NOBODY)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .and_then(|mut child| {
                // The rig's driver reaps the child (waitpid(-1)); EOF on its output is the end.
                let mut text = String::new();
                let stdout = child.stdout.take().ok_or(std::io::ErrorKind::BrokenPipe)?;
                for line in BufReader::new(stdout).lines() {
                    text.push_str(&line?);
                    text.push('\n');
                }
                Ok(text)
            })
            .expect("run the helper");
        output
            .lines()
            .find_map(|l| l.split_once("PEER-RESULT ").map(|(_, result)| result.to_owned()))
            .unwrap_or_else(|| format!("no result in: {output}"))
    })
}

#[test]
fn control_a_peer_with_another_uid_is_rejected() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: switching to another uid needs root");
        return;
    }
    let mut rig = Rig::new(vec![]);
    // Let the other user reach the directory, and run a copy of this test binary from there
    // (the build directory may be private).
    fs::set_permissions(rig.dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let exe = rig.dir.path().join("helper");
    fs::copy(std::env::current_exe().expect("this binary"), &exe).expect("copy the binary");
    fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).expect("chmod");

    // The socket's mode keeps the other user out at connect().
    let result = connect_as_nobody(&mut rig, &exe);
    assert_eq!(result, "connect-error PermissionDenied");

    // With the mode widened, the peer credentials check still refuses, and says so.
    fs::set_permissions(&rig.path, fs::Permissions::from_mode(0o666)).expect("chmod");
    let result = connect_as_nobody(&mut rig, &exe);
    let answer = result.strip_prefix("answer ").unwrap_or_else(|| panic!("{result}"));
    let answer: serde_json::Value = serde_json::from_str(answer).expect("JSON");
    assert_eq!(answer["ok"], serde_json::Value::Bool(false));
    assert_eq!(answer["kind"], serde_json::Value::from("permission-denied"));
    let notices = rig.notices();
    assert!(
        notices.iter().any(|n| n.starts_with("refused a control connection from uid 65534")),
        "{notices:?}"
    );
    assert_eq!(rig.server.client_count(), 0);
}
