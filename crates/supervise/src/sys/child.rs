//! What runs in a forked child between `fork` and `exec`. Only async-signal-safe calls: the
//! parent may hold locks (the allocator's among them) that the child inherits locked.

use std::io;

/// Highest signal number to reset; covers the real-time range on Linux.
const LAST_SIGNAL: libc::c_int = 64;

/// Prepares the child: clean signal dispositions, umask, death signal, no stray descriptors.
///
/// The signal mask is emptied (the supervisor may block signals it waits for). Handlers are
/// reset by `exec` itself, but *ignored* signals stay ignored across `exec`, so each is reset
/// to its default here.
pub(super) fn prepare(umask: Option<u32>, parent: u32, die_with_parent: bool) -> io::Result<()> {
    // SAFETY: an empty set is a valid mask; sigprocmask is async-signal-safe.
    unsafe {
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &raw const empty, std::ptr::null_mut());
    }
    for signal in 1..=LAST_SIGNAL {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        // SAFETY: an all-zero sigaction with SIG_DFL is a valid argument; sigaction is
        // async-signal-safe.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = libc::SIG_DFL;
            libc::sigemptyset(&raw mut action.sa_mask);
            libc::sigaction(signal, &raw const action, std::ptr::null_mut())
        };
        if rc != 0 {
            reset_reserved(signal);
        }
    }
    if let Some(mask) = umask {
        // SAFETY: umask cannot fail and is async-signal-safe.
        unsafe {
            libc::umask(mask as libc::mode_t);
        }
    }
    if die_with_parent {
        set_death_signal(parent)?;
    }
    if let Some(soft) = super::limits::original_soft_limit() {
        // SAFETY: getrlimit/setrlimit on a local struct; async-signal-safe. Failure leaves the
        // raised limit, which is harmless.
        unsafe {
            let mut limit: libc::rlimit = std::mem::zeroed();
            if libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) == 0 {
                limit.rlim_cur = soft;
                libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit);
            }
        }
    }
    mark_descriptors_cloexec();
    Ok(())
}

/// Resets a signal the C library refuses to touch: glibc reserves 32 and 33 for its threads
/// and fails `sigaction` on them, yet an *ignored* disposition of theirs is inherited across
/// `exec` like any other. The kernel accepts them. Failures are ignored on purpose.
#[cfg(target_os = "linux")]
fn reset_reserved(signal: libc::c_int) {
    /// The kernel's `sigset_t`: 64 signals, except on MIPS (128).
    const KERNEL_SIGSET_SIZE: usize =
        if cfg!(any(target_arch = "mips", target_arch = "mips64")) { 16 } else { 8 };
    // The kernel's `struct sigaction`, all zero: SIG_DFL, no flags, an empty mask. 64 bytes
    // cover the layout of every architecture.
    let action = [0u64; 8];
    // SAFETY: rt_sigaction reads at most 64 bytes from `action` and writes nothing (no old
    // action is asked for); a raw system call is async-signal-safe.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            signal,
            action.as_ptr(),
            std::ptr::null_mut::<u64>(),
            KERNEL_SIGSET_SIZE,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn reset_reserved(_signal: libc::c_int) {}

#[cfg(target_os = "linux")]
fn set_death_signal(parent: u32) -> io::Result<()> {
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number; async-signal-safe.
    let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // The parent may have died between fork and prctl; then no signal will ever come.
    // SAFETY: getppid is always safe.
    let current = unsafe { libc::getppid() };
    if u32::try_from(current).ok() != Some(parent) {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn set_death_signal(_parent: u32) -> io::Result<()> {
    Ok(())
}

/// Makes every descriptor above 2 close on exec, so nothing the supervisor (or whoever started
/// it) holds open leaks into the program. std's own exec-error pipe is already close-on-exec.
fn mark_descriptors_cloexec() {
    #[cfg(target_os = "linux")]
    {
        const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
        // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags; async-signal-safe.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                CLOSE_RANGE_CLOEXEC,
            )
        };
        if rc == 0 {
            return;
        }
    }
    // Kernels before 5.11: set the flag one descriptor at a time, up to a sane bound.
    // SAFETY: getrlimit writes into the struct we pass; async-signal-safe.
    let limit = unsafe {
        let mut rl: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut rl) == 0 { rl.rlim_cur } else { 1024 }
    };
    let last = libc::c_int::try_from(limit.min(65_536)).unwrap_or(1024);
    for fd in 3..last {
        // SAFETY: fcntl on an arbitrary number only fails with EBADF when it is not open.
        unsafe {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
}
