//! The numbered stop protocol between the guard and the supervisor (job control, Linux).
//!
//! The guard counts the SIGCONTs it forwards: the count is the *generation*. Every SIGTSTP and
//! SIGCONT it forwards carries the generation it was sent in (`sigqueue`'s value); the
//! supervisor's stop request carries the generation of the SIGTSTP it acted on, and the guard
//! stops the supervisor only for a request of its current generation. A request made before a
//! later SIGCONT is of an older generation, whatever order the signals, the requests and the
//! guard's turns come in: no heuristic decides which request is stale.
//!
//! The kernel keeps at most one of SIGTSTP and SIGCONT pending in a process (each discards the
//! other), so the supervisor takes them in the order they were sent, with their values.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};

/// In the supervisor: the newest generation a forwarded signal carried.
static KNOWN: AtomicUsize = AtomicUsize::new(0);
/// In the supervisor: the generation of the last SIGTSTP taken, which its stop request carries.
static STOPPED_IN: AtomicUsize = AtomicUsize::new(0);

/// The size of one request on the pipe (a generation, native byte order).
const REQUEST_LEN: usize = size_of::<u64>();

/// In the supervisor: records the generation of each SIGTSTP and SIGCONT taken. A SIGTSTP not
/// from the guard (the terminal's, with `--attach`) counts in the newest generation known.
pub(crate) fn record_generations() -> io::Result<Vec<signal_hook::SigId>> {
    let mut ids = Vec::new();
    for signal in [libc::SIGTSTP, libc::SIGCONT] {
        // SAFETY: the action reads the siginfo it is given and loads and stores atomics only:
        // it is async-signal-safe.
        let id = unsafe {
            signal_hook_registry::register_sigaction(signal, move |info| {
                on_job_signal(signal, info);
            })
        }?;
        ids.push(id);
    }
    Ok(ids)
}

fn on_job_signal(signal: libc::c_int, info: &libc::siginfo_t) {
    let carried = (info.si_code == libc::SI_QUEUE)
        // SAFETY: a queued signal's siginfo holds the value it was sent with.
        .then(|| unsafe { info.si_value().sival_ptr } as usize);
    if let Some(generation) = carried {
        KNOWN.fetch_max(generation, Ordering::SeqCst);
    }
    if signal == libc::SIGTSTP {
        let generation = carried.unwrap_or_else(|| KNOWN.load(Ordering::SeqCst));
        STOPPED_IN.store(generation, Ordering::SeqCst);
    }
}

/// In the supervisor: writes a stop request for the generation of the last SIGTSTP to `fd`
/// (one write of a few bytes to a pipe: atomic).
pub(crate) fn write_request(fd: libc::c_int) -> bool {
    let request = (STOPPED_IN.load(Ordering::SeqCst) as u64).to_ne_bytes();
    // SAFETY: writes from a local buffer of that length to a descriptor this process owns.
    let written = unsafe { libc::write(fd, request.as_ptr().cast(), request.len()) };
    usize::try_from(written) == Ok(REQUEST_LEN)
}

/// In the guard: sends job-control `signal` to `child`, numbered with `generation`.
pub(crate) fn forward(child: u32, signal: libc::c_int, generation: usize) {
    let Ok(pid) = libc::pid_t::try_from(child) else { return };
    let value = libc::sigval { sival_ptr: generation as *mut libc::c_void };
    // SAFETY: sigqueue takes integers and a plain value; the pointer is never dereferenced.
    unsafe { libc::sigqueue(pid, signal, value) };
}

/// In the guard: reads every request waiting on `fd` (non-blocking); whether one of them is
/// of `generation`. SIGIO also comes when the supervisor's end closes: nothing is read then.
pub(crate) fn requested_in(fd: libc::c_int, generation: usize) -> bool {
    let mut found = false;
    // Whole requests only: every write is one request, and a pipe keeps them whole.
    let mut buf = [0u8; REQUEST_LEN * 64];
    loop {
        // SAFETY: reads into a local buffer of that length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        let Ok(n @ 1..) = usize::try_from(n) else { return found };
        found |= buf[..n]
            .chunks_exact(REQUEST_LEN)
            .filter_map(|chunk| chunk.try_into().ok().map(u64::from_ne_bytes))
            .any(|request| request == generation as u64);
    }
}
