//! The tests' edge to the operating system: the calls that have no safe form, each in a type
//! that undoes what it did. The only module of these tests with `unsafe` code.

/// Sets a signal's disposition to "ignore" for the duration of a test, and restores it.
/// Through libc: nix's `sigaction` is `unsafe` too, and its `Signal` cannot name the realtime
/// signals the tests ignore.
#[cfg(target_os = "linux")]
pub(crate) struct IgnoredSignal {
    signal: libc::c_int,
    previous: libc::sigaction,
}

#[cfg(target_os = "linux")]
impl IgnoredSignal {
    pub(crate) fn new(signal: libc::c_int) -> IgnoredSignal {
        // SAFETY: a zeroed sigaction with SIG_IGN is valid; the previous one is saved.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = libc::SIG_IGN;
            let mut previous: libc::sigaction = std::mem::zeroed();
            assert_eq!(libc::sigaction(signal, &raw const action, &raw mut previous), 0);
            IgnoredSignal { signal, previous }
        }
    }
}

#[cfg(target_os = "linux")]
impl Drop for IgnoredSignal {
    fn drop(&mut self) {
        // SAFETY: restores the disposition saved in `new`.
        unsafe { libc::sigaction(self.signal, &raw const self.previous, std::ptr::null_mut()) };
    }
}

/// Sets the disposition of a signal glibc reserves (and refuses to let `sigaction` change) to
/// "ignore" through the raw system call, and restores it: an environment may hand such a
/// disposition down (the test runner's did), and the child must not inherit it.
#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) struct IgnoredReservedSignal {
    signal: libc::c_int,
    previous: [u64; 4],
}

#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
impl IgnoredReservedSignal {
    pub(crate) fn new(signal: libc::c_int) -> IgnoredReservedSignal {
        // The kernel's struct sigaction on these architectures: handler, flags, restorer, mask.
        let ignore: [u64; 4] = [1 /* SIG_IGN */, 0, 0, 0];
        let mut previous = [0u64; 4];
        // SAFETY: both buffers are as large as the kernel's struct sigaction here.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                ignore.as_ptr(),
                previous.as_mut_ptr(),
                8usize,
            )
        };
        assert_eq!(rc, 0, "rt_sigaction");
        IgnoredReservedSignal { signal, previous }
    }
}

#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
impl Drop for IgnoredReservedSignal {
    fn drop(&mut self) {
        // SAFETY: restores the kernel's own record of the previous action.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                self.signal,
                self.previous.as_ptr(),
                std::ptr::null_mut::<u64>(),
                8usize,
            )
        };
    }
}
