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

use std::os::fd::{AsRawFd, BorrowedFd};

/// The descriptor of `poll` (an epoll or kqueue instance), borrowed for as long as `poll` is.
pub(crate) fn poll_fd(poll: &mio::Poll) -> BorrowedFd<'_> {
    // SAFETY: a `Poll` owns its descriptor and closes it only when dropped, so it stays open
    // for as long as `poll` is borrowed.
    unsafe { BorrowedFd::borrow_raw(poll.as_raw_fd()) }
}
