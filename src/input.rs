//! Reading the user's input files: the Procfile (`-f`), env files (`-e`, `.env`), the config file
//! (`--config`, `procman.json`) and `.foreman`. Every one is read through [`read_capped`], so none
//! can hang procman or exhaust its memory:
//!
//! - only a regular file is read (and `/dev/null`, which reads as empty): a FIFO would block the
//!   `open` until a writer comes and the `read` until it writes, a terminal or another device may
//!   never end. The type is checked before opening, so a device is not even opened, and again with
//!   `fstat` on the opened descriptor, so a file swapped for a FIFO in between is caught too. The
//!   open itself is non-blocking (`O_NONBLOCK`) and never makes a terminal procman's controlling
//!   terminal (`O_NOCTTY`);
//! - at most `cap` bytes are read, so `-f /dev/zero`-like inputs and huge files fail at once.

use std::fs::{Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use crate::diagnostic::{Diagnostic, sanitize};

pub mod encoding;
use crate::diagnostic::{describe_io, size};

/// Why a file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// It does not exist.
    NotFound,
    /// It is larger than the cap.
    TooLarge,
    /// It is not a regular file: what it is instead (`a named pipe (FIFO)`).
    NotRegular(&'static str),
    /// Any other failure (permissions, a directory, an I/O error).
    Io(io::Error),
}

/// The whole file, or an error: missing, not a regular file, more than `cap` bytes, unreadable.
/// A directory is `Io` with [`io::ErrorKind::IsADirectory`].
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    // A first look through the path, so that a device or FIFO is never opened at all.
    let before = std::fs::metadata(path).map_err(|error| match error.kind() {
        io::ErrorKind::NotFound => ReadError::NotFound,
        _ => ReadError::Io(error),
    })?;
    check_type(&before)?;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => ReadError::NotFound,
            _ => ReadError::Io(error),
        })?;
    // What was opened is what counts: the path may have been replaced since the first look.
    let opened = file.metadata().map_err(ReadError::Io)?;
    check_type(&opened)?;
    if opened.len() > cap {
        return Err(ReadError::TooLarge);
    }
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes).map_err(ReadError::Io)?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
}

/// Accepts a regular file or the null device; a directory is an I/O error (callers skip a
/// directory called `.env`), anything else is [`ReadError::NotRegular`].
fn check_type(meta: &Metadata) -> Result<(), ReadError> {
    let kind = meta.file_type();
    if kind.is_file() || is_null_device(meta) {
        return Ok(());
    }
    if kind.is_dir() {
        return Err(ReadError::Io(io::Error::from(io::ErrorKind::IsADirectory)));
    }
    Err(ReadError::NotRegular(if kind.is_fifo() {
        "a named pipe (FIFO)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "something else"
    }))
}

/// `/dev/null` (`-e /dev/null` is a way to read no env file): the character device with the same
/// device number.
fn is_null_device(meta: &Metadata) -> bool {
    meta.file_type().is_char_device()
        && std::fs::metadata("/dev/null")
            .is_ok_and(|null| null.file_type().is_char_device() && null.rdev() == meta.rdev())
}

/// The diagnostic for a read failure other than "not found" (each caller words that one itself).
pub fn read_error(path: &Path, error: ReadError, cap: u64) -> Diagnostic {
    let shown = sanitize(&path.display().to_string(), 200);
    match error {
        ReadError::NotFound => Diagnostic::new(format!("{shown} does not exist")).in_file(path),
        ReadError::TooLarge => Diagnostic::new(format!("{shown} is larger than {}", size(cap)))
            .in_file(path)
            .with_help("check that this is the file you meant; procman refuses larger input files"),
        ReadError::NotRegular(what) => {
            Diagnostic::new(format!("cannot read {shown}: it is {what}, not a regular file"))
                .in_file(path)
                .with_help(
                    "procman reads its input only from regular files (a pipe or a device could \
                     block it forever); point to a file",
                )
        }
        ReadError::Io(error) => {
            Diagnostic::new(format!("cannot read {shown}: {}", describe_io(&error)))
                .in_file(path)
                .with_help("check the path and its permissions")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::time::{Duration, Instant};

    use super::*;

    fn mkfifo(path: &Path) {
        let c_path = CString::new(path.as_os_str().as_bytes()).expect("no NUL in a temp path");
        nix::unistd::mkfifo(c_path.as_c_str(), nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    }

    #[test]
    fn read_capped_refuses_large_files_and_directories() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("big");
        std::fs::write(&file, vec![b'a'; 100]).expect("write");
        assert!(matches!(read_capped(&file, 99), Err(ReadError::TooLarge)));
        assert_eq!(read_capped(&file, 100).ok().map(|bytes| bytes.len()), Some(100));
        assert!(matches!(read_capped(&dir.path().join("none"), 10), Err(ReadError::NotFound)));
        match read_capped(dir.path(), 10) {
            Err(ReadError::Io(error)) => assert_eq!(describe_io(&error), "it is a directory"),
            other => panic!("expected an I/O error, got {other:?}"),
        }
    }

    #[test]
    fn a_fifo_is_refused_at_once_and_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("Procfile");
        mkfifo(&fifo);
        let started = Instant::now();
        let error = read_capped(&fifo, 1024);
        assert!(started.elapsed() < Duration::from_secs(1));
        let Err(error) = error else { panic!("a FIFO was read") };
        let text = read_error(&fifo, error, 1024).render(false);
        assert!(
            text.starts_with(&format!(
                "error: cannot read {}: it is a named pipe (FIFO), not a regular file",
                fifo.display()
            )),
            "{text}"
        );
        // Through a symbolic link too.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).expect("symlink");
        assert!(matches!(read_capped(&link, 1024), Err(ReadError::NotRegular(_))));
    }

    #[test]
    fn devices_and_sockets_are_refused_but_dev_null_reads_as_empty() {
        assert!(matches!(
            read_capped(Path::new("/dev/zero"), 1024),
            Err(ReadError::NotRegular("a character device"))
        ));
        assert_eq!(read_capped(Path::new("/dev/null"), 1024).ok(), Some(Vec::new()));
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
        assert!(matches!(read_capped(&socket, 1024), Err(ReadError::NotRegular("a socket"))));
    }

    #[test]
    fn the_opened_descriptor_is_what_is_checked() {
        // The check after `open` looks at the descriptor, not at the path again.
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let opened = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .expect("a non-blocking open of a FIFO returns at once");
        let meta = opened.metadata().expect("fstat");
        assert!(matches!(check_type(&meta), Err(ReadError::NotRegular("a named pipe (FIFO)"))));
    }
}
