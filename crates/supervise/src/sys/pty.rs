//! Pseudo-terminals: one per instance that asks for it, opened with nix's `openpty` (the
//! portable API; no C pointer types that differ between Linux and macOS).
//!
//! The child makes the pty's slave side its controlling terminal before `exec` (a new session,
//! then `TIOCSCTTY`), so it is a terminal's session leader and foreground process group: the
//! kernel sends it SIGWINCH when the window size changes and SIGHUP when the terminal goes.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::pty::{Winsize, openpty};

/// Columns and rows of a terminal window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WindowSize {
    pub(crate) cols: u16,
    pub(crate) rows: u16,
}

impl Default for WindowSize {
    /// The size of a VT100, what programs assume when they are told nothing.
    fn default() -> WindowSize {
        WindowSize { cols: 80, rows: 24 }
    }
}

impl WindowSize {
    fn winsize(self) -> Winsize {
        Winsize { ws_row: self.rows, ws_col: self.cols, ws_xpixel: 0, ws_ypixel: 0 }
    }
}

/// Both sides of a new pty, close-on-exec.
pub(crate) struct Pty {
    /// The supervisor's side: what the child writes is read here, what is written here is the
    /// child's input.
    pub(crate) master: OwnedFd,
    /// The child's side: its standard streams and controlling terminal.
    pub(crate) slave: OwnedFd,
}

/// Opens a pty of `size`, with the kernel's default terminal modes (canonical input, echo,
/// `\n` written out as `\r\n`).
///
/// # Errors
/// When no pty is left (`/dev/ptmx` gives EAGAIN or ENOSPC past `kernel.pty.max`), none
/// exists (a container without `/dev/pts`), or descriptors run out.
pub(crate) fn open(size: WindowSize) -> io::Result<Pty> {
    let pair = openpty(&size.winsize(), None).map_err(io::Error::from)?;
    // openpty does not ask for close-on-exec: no program but the instance's may inherit them.
    for fd in [&pair.master, &pair.slave] {
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(io::Error::from)?;
    }
    Ok(Pty { master: pair.master, slave: pair.slave })
}

nix::ioctl_write_ptr_bad!(ioctl_set_window_size, libc::TIOCSWINSZ, Winsize);
nix::ioctl_write_int_bad!(ioctl_set_controlling_terminal, libc::TIOCSCTTY);

/// Sets the window size of the pty behind `master`; the kernel sends SIGWINCH to its
/// foreground process group when it changed.
///
/// # Errors
/// When the descriptor is not a terminal any more.
pub(crate) fn set_window_size(master: &impl AsRawFd, size: WindowSize) -> io::Result<()> {
    let winsize = size.winsize();
    // SAFETY: TIOCSWINSZ reads one `winsize` from the pointer, which is valid for the call.
    unsafe { ioctl_set_window_size(master.as_raw_fd(), &raw const winsize) }
        .map(drop)
        .map_err(io::Error::from)
}

/// In a forked child: a new session, with the terminal behind `slave` as its controlling
/// terminal. Returns false (errno set) on failure.
///
/// # Safety
/// Only between `fork` and `exec`; it makes async-signal-safe system calls only.
pub(super) unsafe fn become_session_leader(slave: RawFd) -> bool {
    // SAFETY: setsid and ioctl(TIOCSCTTY) are async-signal-safe system calls; the child is not
    // a process group leader after fork, so setsid succeeds, and the new session has no
    // controlling terminal yet, which TIOCSCTTY requires.
    unsafe { libc::setsid() >= 0 && ioctl_set_controlling_terminal(slave, 0).is_ok() }
}
