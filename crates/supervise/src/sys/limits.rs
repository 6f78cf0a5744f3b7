//! Resource limits of the supervisor itself.

use std::sync::atomic::{AtomicU64, Ordering};

/// The soft limit before [`raise_open_files_limit`] raised it (0: not raised). Children get it
/// back before exec, so they see the limit they would have seen without procman: some
/// programs still use `select` and break with descriptors past 1024.
static ORIGINAL_SOFT_LIMIT: AtomicU64 = AtomicU64::new(0);

/// The soft limit to restore in a child, if the supervisor raised its own.
pub(crate) fn original_soft_limit() -> Option<u64> {
    match ORIGINAL_SOFT_LIMIT.load(Ordering::Relaxed) {
        0 => None,
        limit => Some(limit),
    }
}

/// Raises the soft limit on open descriptors to the hard limit (capped at 1 Mi), since each
/// supervised instance costs one or two pipe descriptors and the usual soft limit is 1024.
/// Children are spawned with the original limit. Returns the new soft limit.
pub(crate) fn raise_open_files_limit() -> std::io::Result<u64> {
    // SAFETY: getrlimit/setrlimit read and write the struct we pass.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let wanted = limit.rlim_max.min(1 << 20);
        if limit.rlim_cur < wanted {
            let _ = ORIGINAL_SOFT_LIMIT.compare_exchange(
                0,
                limit.rlim_cur,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            limit.rlim_cur = wanted;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(limit.rlim_cur)
    }
}
