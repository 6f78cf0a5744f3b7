//! The only `unsafe` code of the CLI tests: what a child does between fork and exec (which
//! std offers only as an `unsafe` hook), and the bytes waiting in a pipe (an ioctl nix does
//! not wrap). Everything else goes through std and nix.

use std::os::fd::{AsFd, AsRawFd};

#[cfg(target_os = "linux")]
pub(crate) use child::*;

/// What a child does before it runs the program (used by Linux-only tests).
#[cfg(target_os = "linux")]
mod child {
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    use nix::sys::resource::Resource;

    /// Has the child of `command` limit `resource` to `limit` (soft and hard) before it runs
    /// the program, after it has taken on a user set with `CommandExt::uid`.
    pub(crate) fn limit_in_child(command: &mut Command, resource: Resource, limit: u64) {
        // SAFETY: setrlimit is async-signal-safe and changes only the child.
        unsafe {
            command.pre_exec(move || {
                nix::sys::resource::setrlimit(resource, limit, limit).map_err(std::io::Error::from)
            });
        }
    }

    /// Has the child of `command` hold `count` more descriptors (copies of its standard input,
    /// numbered from `first`) across the exec, as a program started by a careless parent does.
    pub(crate) fn inherit_descriptors(command: &mut Command, first: i32, count: i32) {
        // SAFETY: dup2 is async-signal-safe and changes only the child's descriptor table; the
        // copies are left open on purpose (no close-on-exec): they are what this hands down.
        unsafe {
            command.pre_exec(move || {
                for fd in first..first + count {
                    if libc::dup2(libc::STDIN_FILENO, fd) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }
}

/// Bytes waiting to be read in a pipe or a socket (FIONREAD); 0 if it cannot tell.
pub(crate) fn unread_bytes(stream: impl AsFd) -> usize {
    let mut count: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int into `count`; the descriptor is borrowed, so open.
    let rc = unsafe { libc::ioctl(stream.as_fd().as_raw_fd(), libc::FIONREAD, &raw mut count) };
    if rc == 0 { usize::try_from(count).unwrap_or(0) } else { 0 }
}
