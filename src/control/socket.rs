//! The socket file: created so that nobody else can ever connect to it, replaced when a dead
//! procman left it behind, refused when a live one owns it, and removed only if it is still
//! ours.
//!
//! The file is created by `bind` under a umask of 0177, so it is mode 0600 from the instant it
//! exists; its mode is never changed afterwards. Changing it by path (`chmod` after `bind`)
//! would be a race: anyone who can write the app's directory could swap the path for a symbolic
//! link in between and have procman (often root, in a container) change the mode of any file.
//! Nothing here follows a symbolic link at the socket path either: `bind` never does (it fails
//! on any existing file), and a link found there is refused, not replaced. On Linux the file
//! mode guards `connect`; on systems where it does not, the peer uid check of every connection
//! ([`peer_uid`], [`peer_allowed`]) still does.

use std::fs;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use nix::sys::socket::{AddressFamily, Backlog, SockFlag, SockType, UnixAddr};
use nix::sys::stat::Mode;

/// The longest socket path, in bytes, the platform's `sockaddr_un` can hold with its NUL.
pub(crate) const MAX_PATH: usize =
    if cfg!(any(target_os = "linux", target_os = "android")) { 107 } else { 103 };

/// Pending connections the kernel queues before `accept`.
const BACKLOG: i32 = 64;

/// Why the control socket could not be opened. Each message names the path and what to do.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BindError {
    #[error(
        "another procman is already running with the control socket {path} (stop it with \
         `procman stop`, or give this run its own socket with --socket PATH or none with \
         --no-socket)"
    )]
    AlreadyRunning { path: PathBuf },
    #[error(
        "the control socket path {path} is {len} bytes long, and Unix sockets allow at most \
         {MAX_PATH}: choose a shorter one with --socket (for example /tmp/myapp.sock)"
    )]
    PathTooLong { path: PathBuf, len: usize },
    #[error(
        "{path} exists and is not a socket, so procman will not replace it: remove it, or \
         choose another control socket with --socket PATH"
    )]
    NotASocket { path: PathBuf },
    #[error(
        "{path} is a symbolic link, and procman never follows one at its control socket's path \
         (it could point anywhere): remove it, or choose another control socket with --socket \
         PATH"
    )]
    Symlink { path: PathBuf },
    #[error(
        "cannot tell whether the control socket {path} is in use ({source}): remove it if no \
         procman is running, or choose another one with --socket PATH"
    )]
    Probe { path: PathBuf, source: io::Error },
    #[error("cannot create the control socket {path}: {source}")]
    Create { path: PathBuf, source: io::Error },
}

/// The identity of the socket file we created, so that we remove that file and not one that
/// replaced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(path: &Path) -> io::Result<FileId> {
        let meta = fs::symlink_metadata(path)?;
        Ok(FileId { dev: meta.dev(), ino: meta.ino() })
    }
}

/// The umask the socket file is created under: mode 0600.
const SOCKET_UMASK: Mode = Mode::from_bits_truncate(0o177);

/// Creates the listening socket at `path`, mode 0600, non-blocking, close-on-exec.
pub(crate) fn bind(path: &Path) -> Result<(UnixListener, FileId), BindError> {
    let len = path.as_os_str().len();
    if len > MAX_PATH {
        return Err(BindError::PathTooLong { path: path.to_path_buf(), len });
    }
    clear_stale(path)?;
    let create = |source: io::Error| BindError::Create { path: path.to_path_buf(), source };
    let fd = new_socket().map_err(create)?;
    let addr = UnixAddr::new(path).map_err(|e| create(e.into()))?;
    let bound = with_umask(SOCKET_UMASK, || nix::sys::socket::bind(fd.as_raw_fd(), &addr));
    match bound {
        Ok(()) => {}
        // Another procman bound it between our check and our bind, or someone put a file (a
        // symbolic link, say) there: bind never replaces or follows one.
        Err(nix::errno::Errno::EADDRINUSE) => return Err(taken(path)),
        Err(errno) => return Err(create(errno.into())),
    }
    // From here the file exists and is ours: remove it on every failure.
    let finish = || -> io::Result<(UnixListener, FileId)> {
        let id = FileId::of(path)?;
        nix::sys::socket::listen(&fd, Backlog::new(BACKLOG).unwrap_or(Backlog::MAXCONN))?;
        let listener = UnixListener::from(fd);
        listener.set_nonblocking(true)?;
        Ok((listener, id))
    };
    finish().map_err(|source| {
        let _ = fs::remove_file(path);
        create(source)
    })
}

/// What is at `path` when `bind` found it taken: a symbolic link, another file, or a live
/// procman's socket.
fn taken(path: &Path) -> BindError {
    let path_buf = path.to_path_buf();
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => BindError::Symlink { path: path_buf },
        Ok(meta) if !std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()) => {
            BindError::NotASocket { path: path_buf }
        }
        _ => BindError::AlreadyRunning { path: path_buf },
    }
}

/// Runs `create` under the umask `mask`, then puts the old one back. The umask belongs to the
/// process, shared by its threads; on Linux the calling thread first takes a copy of its own
/// (`unshare(CLONE_FS)`), so the change never reaches files other threads create meanwhile (a
/// no-op in `procman start`, which binds before any thread starts; it matters in tests).
fn with_umask<T>(mask: Mode, create: impl FnOnce() -> T) -> T {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = nix::sched::unshare(nix::sched::CloneFlags::CLONE_FS);
    let old = nix::sys::stat::umask(mask);
    let result = create();
    nix::sys::stat::umask(old);
    result
}

/// A Unix stream socket that child processes do not inherit.
fn new_socket() -> io::Result<OwnedFd> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    {
        Ok(nix::sys::socket::socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )?)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    {
        use nix::fcntl::{FcntlArg, FdFlag, fcntl};
        let fd = nix::sys::socket::socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::empty(),
            None,
        )?;
        // procman binds before it spawns anything, so no fork can slip in before this.
        fcntl(&fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
        Ok(fd)
    }
}

/// Makes way for a new socket at `path`: nothing there is fine, a socket nobody listens on is
/// a leftover of a procman that died (SIGKILL, a crash) and is removed, a live one is refused.
fn clear_stale(path: &Path) -> Result<(), BindError> {
    let probe = |source: io::Error| BindError::Probe { path: path.to_path_buf(), source };
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(probe(err)),
    };
    if meta.file_type().is_symlink() {
        return Err(BindError::Symlink { path: path.to_path_buf() });
    }
    if !std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()) {
        return Err(BindError::NotASocket { path: path.to_path_buf() });
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(BindError::AlreadyRunning { path: path.to_path_buf() }),
        Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(probe(err)),
        },
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(probe(err)),
    }
}

/// Removes the socket file if it is still the one `id` names.
pub(crate) fn remove_if_ours(path: &Path, id: FileId) {
    if FileId::of(path).is_ok_and(|now| now == id) {
        let _ = fs::remove_file(path);
    }
}

/// The uid of the process at the other end of a connection.
pub(crate) fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let creds =
            nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)?;
        Ok(creds.uid())
    }
    #[cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ))]
    {
        let (uid, _) = nix::unistd::getpeereid(stream)?;
        Ok(uid.as_raw())
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    )))]
    {
        let _ = stream;
        Err(io::Error::new(io::ErrorKind::Unsupported, "no way to learn the peer's uid"))
    }
}

/// Whether a peer may drive procman: the same user, or root (who could do it anyway).
pub(crate) fn peer_allowed(peer: u32, own_euid: u32) -> bool {
    peer == own_euid || peer == 0
}

/// The client's check before it trusts a socket: it must be a socket, owned by this user (or
/// root), and reachable by nobody else, as procman creates it. A socket someone else made, or
/// whose mode was widened, could be an impostor feeding false answers.
pub(crate) fn check_before_connect(path: &Path, own_euid: u32) -> Result<(), SocketProblem> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Err(SocketProblem::Missing),
        Err(err) => return Err(SocketProblem::Unreadable(err)),
    };
    if !std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()) {
        return Err(SocketProblem::NotASocket);
    }
    if !peer_allowed(meta.uid(), own_euid) && own_euid != 0 {
        return Err(SocketProblem::Owner(meta.uid()));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(SocketProblem::Mode(mode));
    }
    Ok(())
}

/// What [`check_before_connect`] found wrong.
#[derive(Debug)]
pub(crate) enum SocketProblem {
    Missing,
    Unreadable(io::Error),
    NotASocket,
    Owner(u32),
    Mode(u32),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_peer_rule_is_same_user_or_root() {
        assert!(peer_allowed(1000, 1000));
        assert!(peer_allowed(0, 1000));
        assert!(!peer_allowed(1001, 1000));
        assert!(!peer_allowed(65534, 0));
    }

    #[test]
    fn control_socket_paths_beyond_sun_path_are_refused() {
        let long = PathBuf::from(format!("/tmp/{}.sock", "x".repeat(120)));
        let err = bind(&long).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("--socket"), "{err}");
        assert!(err.contains("bytes long"), "{err}");
        assert!(!long.exists());
    }

    #[test]
    fn control_a_file_that_is_not_a_socket_is_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("plain");
        fs::write(&path, "keep me").expect("write");
        let err = bind(&path).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("is not a socket"), "{err}");
        assert_eq!(fs::read_to_string(&path).ok().as_deref(), Some("keep me"));
    }
}
