//! What test programs use to tell the test where they are, and the test to let them go on:
//! FIFOs, files they write, pids they record. Every wait is bounded by [`WAIT`].

use std::fs::File;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use super::WAIT;
use super::app::Dir;

/// Creates a FIFO at `dir/name`. A child that runs `read _ < name` blocks until the test calls
/// [`release`].
pub(crate) fn fifo(dir: &Dir, name: &str) -> PathBuf {
    let path = dir.path().join(name);
    nix::unistd::mkfifo(&path, Mode::S_IRUSR | Mode::S_IWUSR)
        .unwrap_or_else(|errno| panic!("mkfifo {}: {errno}", path.display()));
    path
}

/// Lets a child blocked on `read _ < fifo` go on. Opening for writing waits for the reader,
/// bounded by [`WAIT`] (a non-blocking open is retried until a reader is there).
pub(crate) fn release(fifo: &Path) {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(fd) = nix::fcntl::open(fifo, OFlag::O_WRONLY | OFlag::O_NONBLOCK, Mode::empty()) {
            let _ = std::io::Write::write_all(&mut File::from(fd), b"go\n");
            return;
        }
        assert!(Instant::now() < deadline, "nobody read {} within {WAIT:?}", fifo.display());
        thread::sleep(Duration::from_millis(5));
    }
}

/// Waits (bounded) until `path` exists (a test program wrote it).
pub(crate) fn wait_file(path: &Path) {
    let deadline = Instant::now() + WAIT;
    while path.symlink_metadata().is_err() {
        assert!(Instant::now() < deadline, "{} did not appear within {WAIT:?}", path.display());
        thread::sleep(Duration::from_millis(10));
    }
}

/// Waits (bounded) until `path` no longer exists; whether it went.
#[cfg(target_os = "linux")]
pub(crate) fn wait_removed(path: &Path) -> bool {
    let deadline = Instant::now() + WAIT;
    while path.symlink_metadata().is_ok() {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Reads a pid written by a test program into a file, waiting (bounded) for it to appear.
#[cfg(target_os = "linux")]
pub(crate) fn read_pid_file(path: &Path) -> u32 {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(pid) =
            std::fs::read_to_string(path).ok().and_then(|text| text.trim().parse().ok())
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "no pid in {} within {WAIT:?}", path.display());
        thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(target_os = "linux")]
/// Makes a directory readable and searchable by everyone (for tests run as another user).
pub(crate) fn make_world_readable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}
