//! The edge to the operating system: spawning, signals, reaping, the process tree. The only
//! module with `unsafe` code; everything above it is safe Rust.

pub(crate) mod cgroup;
mod child;
#[cfg(target_os = "linux")]
pub(crate) mod guard;
pub(crate) mod jobs;
pub(crate) mod limits;
#[cfg(target_os = "linux")]
pub(crate) mod pages;
pub(crate) mod pty;
pub(crate) mod reap;
pub(crate) mod spawn;
#[cfg(target_os = "linux")]
pub(crate) mod stop_protocol;
pub(crate) mod tree;

use std::io;

/// Unblocks `signals` in the calling thread: a signal the host asked to be told of must be
/// delivered, even one a parent left blocked ([`crate::guard::protect`] leaves the guard's
/// loss blocked until a driver handles it).
pub(crate) fn unblock_signals(signals: &[i32]) -> io::Result<()> {
    // SAFETY: sigset_t is plain data; sigemptyset/sigaddset only write to it and
    // pthread_sigmask only changes this thread's mask.
    let result = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        for signal in signals {
            libc::sigaddset(&raw mut set, *signal);
        }
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &raw const set, std::ptr::null_mut())
    };
    match result {
        0 => Ok(()),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}
