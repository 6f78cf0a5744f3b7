//! File operations relative to an open directory that never follow a symbolic link.
//!
//! Every path below the export location is reached one component at a time with
//! `openat(O_NOFOLLOW)` from the descriptor of its parent, and every write is a temporary file
//! created with `O_CREAT | O_EXCL` and renamed over the target with `renameat` in the same
//! directory. So a link planted inside the location (a runit service's `env/` pointing at
//! `/etc/cron.d`) cannot redirect a write or a removal outside it, even if it appears between
//! the check and the write: the write fails instead.

use std::ffi::{OsStr, OsString};
use std::fs::{File, Permissions};
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat, renameat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, fstatat, mkdirat};
use nix::unistd::{UnlinkatFlags, unlinkat};

use super::ExportError;

/// How much of an existing file is read: far more than any file an export writes, and a
/// bound on what a huge file planted in the location costs.
const READ_LIMIT: u64 = 16 << 20;

/// What a name in a directory is, without following a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Dir,
    Symlink,
    /// A FIFO, a socket, a device.
    Other,
}

fn kind_of(stat: &FileStat) -> Kind {
    match SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT {
        SFlag::S_IFREG => Kind::File,
        SFlag::S_IFDIR => Kind::Dir,
        SFlag::S_IFLNK => Kind::Symlink,
        _ => Kind::Other,
    }
}

/// A regular file's contents (up to [`READ_LIMIT`]) and permission bits.
#[derive(Clone, Debug)]
pub(super) struct FileData {
    pub(super) bytes: Vec<u8>,
    pub(super) mode: u32,
    /// The file is longer than what was read.
    pub(super) truncated: bool,
}

impl FileData {
    /// Whether the file holds exactly `contents`.
    pub(super) fn is(&self, contents: &[u8]) -> bool {
        !self.truncated && self.bytes == contents
    }

    /// The contents as text (lossy), for recognising whose file it is.
    pub(super) fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// An open directory and the path it was reached by (for messages only: nothing is opened
/// by that path again).
#[derive(Debug)]
pub(super) struct DirFd {
    fd: OwnedFd,
    path: PathBuf,
}

fn io_error(action: &'static str, path: &Path, errno: Errno) -> ExportError {
    ExportError::io(action, path, io::Error::from(errno))
}

impl DirFd {
    /// Opens the directory at `path`, following links in it: the location itself is the
    /// user's choice. `None` when it does not exist.
    ///
    /// # Errors
    /// An I/O error, or `path` not being a directory.
    pub(super) fn open(path: &Path) -> Result<Option<DirFd>, ExportError> {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        match nix::fcntl::open(path, flags, Mode::empty()) {
            Ok(fd) => Ok(Some(DirFd { fd, path: path.to_owned() })),
            Err(Errno::ENOENT) => Ok(None),
            Err(errno) => Err(io_error("open directory", path, errno)),
        }
    }

    /// Opens the directory at `path`, creating it (and its parents) first if it is missing.
    /// True in the second place when it was created.
    pub(super) fn open_or_create(path: &Path) -> Result<(DirFd, bool), ExportError> {
        if let Some(dir) = DirFd::open(path)? {
            return Ok((dir, false));
        }
        std::fs::create_dir_all(path).map_err(|e| ExportError::io("create directory", path, e))?;
        let dir = DirFd::open(path)?.ok_or_else(|| {
            ExportError::io("open directory", path, io::Error::from(io::ErrorKind::NotFound))
        })?;
        Ok((dir, true))
    }

    /// The path of `name` in this directory, for messages.
    pub(super) fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }

    /// What `name` is, or `None` when there is nothing by that name.
    pub(super) fn kind(&self, name: &OsStr) -> Result<Option<Kind>, ExportError> {
        match fstatat(&self.fd, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(kind_of(&stat))),
            Err(Errno::ENOENT) => Ok(None),
            Err(errno) => Err(io_error("inspect", &self.join(name), errno)),
        }
    }

    /// The subdirectory `name`, or `None` when there is nothing by that name.
    ///
    /// # Errors
    /// [`ExportError::SymlinkInLocation`] when `name` is a symbolic link;
    /// [`ExportError::NotADirectory`] when it is something else than a directory.
    pub(super) fn subdir(&self, name: &OsStr) -> Result<Option<DirFd>, ExportError> {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        match openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => Ok(Some(DirFd { fd, path: self.join(name) })),
            Err(Errno::ENOENT) => Ok(None),
            Err(Errno::ELOOP | Errno::ENOTDIR) => Err(self.not_a_directory(name)),
            Err(errno) => Err(io_error("open directory", &self.join(name), errno)),
        }
    }

    /// The error for `name`, which is in the way of a directory.
    fn not_a_directory(&self, name: &OsStr) -> ExportError {
        let path = self.join(name);
        match self.read_link(name) {
            Some(target) => ExportError::SymlinkInLocation { link: path, target },
            None => ExportError::NotADirectory { path },
        }
    }

    /// The subdirectory `name`, created (mode 0755, less the umask) when missing. True in
    /// the second place when it was created.
    pub(super) fn create_subdir(&self, name: &OsStr) -> Result<(DirFd, bool), ExportError> {
        let created = match mkdirat(&self.fd, name, Mode::from_bits_truncate(0o755)) {
            Ok(()) => true,
            Err(Errno::EEXIST) => false,
            Err(errno) => return Err(io_error("create directory", &self.join(name), errno)),
        };
        match self.subdir(name)? {
            Some(dir) => Ok((dir, created)),
            None => Err(io_error("open directory", &self.join(name), Errno::ENOENT)),
        }
    }

    /// The target of the link `name`, if it is one.
    pub(super) fn read_link(&self, name: &OsStr) -> Option<PathBuf> {
        readlinkat(&self.fd, name).ok().map(PathBuf::from)
    }

    /// The regular file `name`: `None` when there is nothing by that name or it is not a
    /// regular file (see [`DirFd::kind`]). A FIFO cannot block the read: it is not opened.
    pub(super) fn read(&self, name: &OsStr) -> Result<Option<FileData>, ExportError> {
        if self.kind(name)? != Some(Kind::File) {
            return Ok(None);
        }
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let path = self.join(name);
        let fd = match openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            // Replaced by something else since the check: not a file of ours.
            Err(Errno::ENOENT | Errno::ELOOP) => return Ok(None),
            Err(errno) => return Err(io_error("read", &path, errno)),
        };
        let stat = fstat(&fd).map_err(|errno| io_error("read", &path, errno))?;
        if kind_of(&stat) != Kind::File {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        File::from(fd)
            .take(READ_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| ExportError::io("read", &path, e))?;
        let truncated = bytes.len() as u64 > READ_LIMIT;
        bytes.truncate(usize::try_from(READ_LIMIT).unwrap_or(usize::MAX));
        // `st_mode` is a u16 on macOS and a u32 on Linux.
        #[allow(clippy::useless_conversion, reason = "not the same type on every platform")]
        let mode = u32::from(stat.st_mode & 0o7777);
        Ok(Some(FileData { bytes, mode, truncated }))
    }

    /// Every name in the directory but `.` and `..`, with what it is, sorted by name.
    pub(super) fn entries(&self) -> Result<Vec<(OsString, Kind)>, ExportError> {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let list_error = |errno| io_error("list", &self.path, errno);
        let mut dir =
            nix::dir::Dir::openat(&self.fd, ".", flags, Mode::empty()).map_err(list_error)?;
        let mut names = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(list_error)?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push(OsString::from_vec(name.to_vec()));
            }
        }
        names.sort();
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            if let Some(kind) = self.kind(&name)? {
                out.push((name, kind));
            }
        }
        Ok(out)
    }

    /// Replaces `name` with a file holding `contents` with permissions `mode`: written to a
    /// new temporary file in this directory, then renamed over `name`, so a reader sees the
    /// old file or the new one, never half of one. A link at `name` is replaced, not followed.
    pub(super) fn write_atomically(
        &self,
        name: &OsStr,
        contents: &[u8],
        mode: u32,
    ) -> Result<(), ExportError> {
        let path = self.join(name);
        let (temp, fd) = self.create_temp(name)?;
        let result = write_and_sync(fd, contents, mode).and_then(|()| {
            renameat(&self.fd, temp.as_os_str(), &self.fd, name).map_err(Into::into)
        });
        if let Err(error) = result {
            let _ = unlinkat(&self.fd, temp.as_os_str(), UnlinkatFlags::NoRemoveDir);
            return Err(ExportError::io("write", path, error));
        }
        Ok(())
    }

    /// A new temporary file beside `name` (`O_EXCL`: an existing name, a planted link
    /// included, is never opened).
    fn create_temp(&self, name: &OsStr) -> Result<(OsString, OwnedFd), ExportError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let mut temp = OsString::from(".");
            temp.push(name);
            temp.push(format!(".procman-{}-{n}.tmp", std::process::id()));
            match openat(&self.fd, temp.as_os_str(), flags, Mode::from_bits_truncate(0o600)) {
                Ok(fd) => return Ok((temp, fd)),
                Err(Errno::EEXIST) => {}
                Err(errno) => return Err(io_error("write", &self.join(name), errno)),
            }
        }
    }

    /// Removes the file or link `name` (a link itself, never its target).
    pub(super) fn remove_file(&self, name: &OsStr) -> Result<(), ExportError> {
        match unlinkat(&self.fd, name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(errno) => Err(io_error("remove", &self.join(name), errno)),
        }
    }

    /// Removes the directory `name` if it is empty; false when it is not.
    pub(super) fn remove_empty_dir(&self, name: &OsStr) -> Result<bool, ExportError> {
        match unlinkat(&self.fd, name, UnlinkatFlags::RemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => Ok(true),
            Err(Errno::ENOTEMPTY | Errno::EEXIST) => Ok(false),
            Err(errno) => Err(io_error("remove directory", &self.join(name), errno)),
        }
    }
}

/// Writes `contents` to the new file `fd`, gives it `mode` (whatever the umask) and flushes
/// it to disk, so the rename never publishes an empty file after a crash.
fn write_and_sync(fd: OwnedFd, contents: &[u8], mode: u32) -> io::Result<()> {
    let mut file = File::from(fd);
    file.set_permissions(Permissions::from_mode(mode))?;
    file.write_all(contents)?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn temp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
    }

    fn open(path: &Path) -> DirFd {
        match DirFd::open(path) {
            Ok(Some(dir)) => dir,
            other => panic!("open {}: {other:?}", path.display()),
        }
    }

    #[test]
    fn a_linked_directory_is_refused_and_named() {
        let location = temp();
        let elsewhere = temp();
        symlink(elsewhere.path(), location.path().join("env"))
            .unwrap_or_else(|e| panic!("symlink: {e}"));
        let dir = open(location.path());
        for result in
            [dir.subdir(OsStr::new("env")), dir.create_subdir(OsStr::new("env")).map(|d| Some(d.0))]
        {
            match result {
                Err(ExportError::SymlinkInLocation { link, target }) => {
                    assert_eq!(link, location.path().join("env"));
                    assert_eq!(target, elsewhere.path());
                }
                other => panic!("expected a refusal, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_write_replaces_a_link_instead_of_following_it() {
        let location = temp();
        let elsewhere = temp();
        let victim = elsewhere.path().join("victim");
        std::fs::write(&victim, "untouched\n").unwrap_or_else(|e| panic!("{e}"));
        symlink(&victim, location.path().join("unit")).unwrap_or_else(|e| panic!("{e}"));
        let dir = open(location.path());
        assert_eq!(dir.kind(OsStr::new("unit")).ok().flatten(), Some(Kind::Symlink));
        assert!(dir.read(OsStr::new("unit")).ok().flatten().is_none(), "a link was read through");
        dir.write_atomically(OsStr::new("unit"), b"new\n", 0o640)
            .unwrap_or_else(|e| panic!("write: {e}"));
        assert_eq!(std::fs::read_to_string(&victim).unwrap_or_default(), "untouched\n");
        let written = dir.read(OsStr::new("unit")).ok().flatten();
        assert!(written.as_ref().is_some_and(|f| f.is(b"new\n") && f.mode == 0o640), "{written:?}");
        let names: Vec<OsString> =
            dir.entries().unwrap_or_default().into_iter().map(|e| e.0).collect();
        assert_eq!(names, [OsString::from("unit")], "a temporary file was left behind");
    }

    #[test]
    fn a_fifo_is_not_read() {
        let location = temp();
        nix::unistd::mkfifo(&location.path().join("fifo"), Mode::from_bits_truncate(0o600))
            .unwrap_or_else(|e| panic!("mkfifo: {e}"));
        let dir = open(location.path());
        assert!(dir.read(OsStr::new("fifo")).ok().flatten().is_none());
        assert_eq!(dir.kind(OsStr::new("fifo")).ok().flatten(), Some(Kind::Other));
    }

    #[test]
    fn removing_a_link_leaves_its_target() {
        let location = temp();
        let elsewhere = temp();
        symlink(elsewhere.path(), location.path().join("link")).unwrap_or_else(|e| panic!("{e}"));
        let dir = open(location.path());
        dir.remove_file(OsStr::new("link")).unwrap_or_else(|e| panic!("{e}"));
        assert!(elsewhere.path().is_dir());
        assert!(!location.path().join("link").exists());
        std::fs::create_dir(location.path().join("full")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(location.path().join("full/x"), "").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dir.remove_empty_dir(OsStr::new("full")).ok(), Some(false));
    }
}
