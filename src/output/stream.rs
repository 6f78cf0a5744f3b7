//! procman's own handles on its standard output and standard error, which never make the run
//! loop wait: a reader that stops reading must not stop procman from handling signals, timers
//! and the end of the run.
//!
//! - A pipe or a terminal is reopened through `/proc/self/fd/N` as a new open file description
//!   with `O_NONBLOCK`, so the descriptor procman shares with its shell keeps its flags.
//! - A socket (systemd's journal stream, say) cannot be reopened that way; each write is a
//!   `send` with `MSG_DONTWAIT` instead, which does not block and changes no flag either.
//! - A regular file (or anything else) gets a plain duplicate: writing to a file never waits on
//!   a reader.
//!
//! std's own `Stdout` is not used because it flushes at every newline, a system call per line.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};

/// How writes reach the stream.
#[derive(Debug)]
enum Kind {
    /// A non-blocking handle of our own (a pipe or a terminal).
    Reopened,
    /// A socket, written with `MSG_DONTWAIT`.
    Socket,
    /// A regular file: plain writes, which never wait on a reader.
    Plain,
}

/// A handle on standard output or standard error.
#[derive(Debug)]
pub(crate) struct Stream {
    file: File,
    kind: Kind,
}

impl Stream {
    /// procman's standard output.
    pub(crate) fn stdout() -> io::Result<Stream> {
        Stream::open(io::stdout().as_fd(), "/proc/self/fd/1")
    }

    /// procman's standard error.
    pub(crate) fn stderr() -> io::Result<Stream> {
        Stream::open(io::stderr().as_fd(), "/proc/self/fd/2")
    }

    fn open(fd: BorrowedFd<'_>, proc_path: &str) -> io::Result<Stream> {
        let kind = std::fs::metadata(proc_path).map(|meta| meta.file_type());
        let reopenable = kind.as_ref().is_ok_and(|t| t.is_fifo() || t.is_char_device());
        if reopenable {
            let reopened =
                OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(proc_path);
            if let Ok(file) = reopened {
                return Ok(Stream { file, kind: Kind::Reopened });
            }
        }
        let owned: OwnedFd = fd.try_clone_to_owned()?;
        let socket = kind.is_ok_and(|t| t.is_socket());
        Ok(Stream {
            file: File::from(owned),
            kind: if socket { Kind::Socket } else { Kind::Plain },
        })
    }

    /// A stream on a socket of a test's own.
    #[cfg(test)]
    pub(crate) fn socket(fd: OwnedFd) -> Stream {
        Stream { file: File::from(fd), kind: Kind::Socket }
    }

    /// Writes what the stream takes now; `WouldBlock` when it takes nothing.
    pub(crate) fn write_now(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self.kind {
            Kind::Reopened | Kind::Plain => self.file.write(bytes),
            Kind::Socket => {
                let flags = nix::sys::socket::MsgFlags::MSG_DONTWAIT;
                nix::sys::socket::send(self.file.as_raw_fd(), bytes, flags).map_err(io::Error::from)
            }
        }
    }

    /// The descriptor to watch for writability while output waits (a plain file never makes
    /// procman wait, so it has none).
    pub(crate) fn pollable_fd(&self) -> Option<RawFd> {
        match self.kind {
            Kind::Reopened | Kind::Socket => Some(self.file.as_raw_fd()),
            Kind::Plain => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    use super::*;

    #[test]
    fn a_socket_that_takes_nothing_more_never_blocks_a_write() {
        let (ours, mut theirs) = UnixStream::pair().expect("socketpair");
        let mut stream = Stream::socket(OwnedFd::from(ours));
        let block = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        // Nobody reads: the socket's buffer fills, then a write says so instead of waiting.
        let full = loop {
            match stream.write_now(&block) {
                Ok(n) => sent += n,
                Err(err) => break err,
            }
            assert!(sent < 1 << 30, "a socket buffer that never fills");
        };
        assert_eq!(full.kind(), io::ErrorKind::WouldBlock);
        theirs.set_nonblocking(true).expect("nonblocking");
        let mut buf = vec![0; 4096];
        assert!(theirs.read(&mut buf).is_ok_and(|n| n > 0), "what was sent arrives");
        assert!(stream.pollable_fd().is_some());
    }
}
