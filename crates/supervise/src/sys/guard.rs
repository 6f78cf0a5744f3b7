//! The guard: a tiny parent process that outlives the supervisor, so that even SIGKILL of the
//! supervisor leaves nothing running (Linux).
//!
//! [`protect`] forks. The parent becomes the guard and never returns: it is a child subreaper,
//! forwards the signals it receives to the child, and when the child ends, by whatever means,
//! it kills every process left in its tree (orphans of the supervisor are re-parented to it),
//! reaps them, and exits with the child's status. The child returns from `protect` and carries
//! on as the supervisor, in its own process group (so a terminal's Ctrl-C reaches it once,
//! through the guard), with a parent-death signal that tells it the guard is gone so it can
//! kill its own tree at once.
//!
//! Either process can be SIGKILLed and the other cleans up; only both dying at the same instant
//! (a SIGKILL to a process group holding both is prevented by their separate groups) defeats it.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::signal::Signal;
use crate::sys::cgroup::CgroupTree;
use crate::sys::tree::ProcessTable;

/// How long the guard keeps killing what is left before it gives up (a process stuck in an
/// uninterruptible sleep cannot die sooner).
const CLEANUP_LIMIT: Duration = Duration::from_secs(2);

/// Set in a supervisor that is PID 1 of its own namespace ([`isolate`] then [`protect`]).
static ISOLATED: AtomicBool = AtomicBool::new(false);

/// Whether this process is the supervisor of an isolated run.
pub(crate) fn is_isolated() -> bool {
    ISOLATED.load(Ordering::Relaxed)
}

/// Records that the supervisor is PID 1 of its namespace.
pub(crate) fn mark_isolated() {
    ISOLATED.store(true, Ordering::Relaxed);
}

/// Signals the guard forwards to the supervisor.
const FORWARDED: &[libc::c_int] = &[
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
];

/// The signal the supervisor receives when its guard dies: a real-time signal nobody else
/// sends, so it cannot be confused with a user's request.
pub(crate) fn guard_lost_signal() -> Signal {
    Signal::from_raw(libc::SIGRTMAX() - 2)
}

/// Moves the next child into a new PID namespace (and, without root, a new user namespace
/// mapping the current user to itself), so that the supervisor forked by [`protect`] is its
/// PID 1: when it dies, by whatever means, the kernel kills every process of the namespace.
pub(crate) fn isolate() -> io::Result<()> {
    ensure_single_threaded()?;
    // SAFETY: geteuid/getegid cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let flags =
        if uid == 0 { libc::CLONE_NEWPID } else { libc::CLONE_NEWPID | libc::CLONE_NEWUSER };
    // SAFETY: unshare only changes this process's namespaces.
    if unsafe { libc::unshare(flags) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if uid != 0 {
        // The same user inside as outside: children keep their uid and gid.
        std::fs::write("/proc/self/setgroups", "deny")?;
        std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1"))?;
        std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1"))?;
    }
    Ok(())
}

/// In the supervisor of an isolated run (PID 1 of its namespace): a mount namespace of its own
/// with a `/proc` that shows the namespace's processes, which the tree walk reads.
pub(crate) fn mount_own_proc() -> io::Result<()> {
    // SAFETY: unshare and mount change only this process's mount namespace; the strings are
    // NUL-terminated literals.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::mount(
            c"none".as_ptr(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        if libc::mount(
            c"proc".as_ptr(),
            c"/proc".as_ptr(),
            c"proc".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The variable that tells a re-executed copy of the program that it is the guard of a pid.
pub(crate) const GUARD_VAR: &str = "SUPERVISE_GUARD_OF";
/// The variable that gives the re-executed guard the app's cgroup tree.
pub(crate) const GUARD_CGROUP_VAR: &str = "SUPERVISE_GUARD_CGROUP";

/// The signals the guard waits for.
fn waited_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset/sigaddset only write to it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        for signal in FORWARDED.iter().chain(&[libc::SIGCHLD]) {
            libc::sigaddset(&raw mut set, *signal);
        }
        set
    }
}

/// In a program started by [`protect`] with `reexec`, becomes the guard if this process is
/// the re-executed copy (never returns then); otherwise returns at once.
pub(crate) fn run_if_guard() {
    let Some(value) = std::env::var_os(GUARD_VAR) else { return };
    let Some(child) = value.to_str().and_then(|v| v.parse::<u32>().ok()) else { return };
    let cgroup = std::env::var_os(GUARD_CGROUP_VAR).map(PathBuf::from);
    // SAFETY: PR_SET_NAME copies at most 16 bytes from the NUL-terminated literal.
    unsafe { libc::prctl(libc::PR_SET_NAME, c"procman-guard".as_ptr(), 0, 0, 0) };
    guard_loop(child, &waited_set(), cgroup.as_deref())
}

/// Forks the guard; returns in the child (the supervisor) with the guard's pid. With
/// `reexec`, the guard replaces its copy of the program with a fresh one (see
/// [`run_if_guard`]), so it does not keep the pages of everything the program loaded so far.
/// With `cgroup`, the guard's cleanup is `cgroup.kill` of that tree, then its removal.
pub(crate) fn protect(reexec: bool, cgroup: Option<&CgroupTree>) -> io::Result<u32> {
    ensure_single_threaded()?;
    let guard_pid = std::process::id();
    // SAFETY: sigset_t is plain data; sigemptyset/sigaddset/sigprocmask only touch it and the
    // thread's mask. The forwarded signals are blocked *before* the fork so that none sent in
    // between is lost: the guard collects them with sigwaitinfo, the child restores the mask.
    let (blocked, previous) = unsafe {
        let set = waited_set();
        let mut previous: libc::sigset_t = std::mem::zeroed();
        if libc::sigprocmask(libc::SIG_BLOCK, &raw const set, &raw mut previous) != 0 {
            return Err(io::Error::last_os_error());
        }
        (set, previous)
    };
    // SAFETY: the process is single-threaded (checked above), so the child may run any code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let err = io::Error::last_os_error();
        // SAFETY: restores the mask saved above.
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, &raw const previous, std::ptr::null_mut()) };
        return Err(err);
    }
    if pid == 0 {
        // The supervisor.
        // SAFETY: plain syscalls on this process.
        unsafe {
            libc::sigprocmask(libc::SIG_SETMASK, &raw const previous, std::ptr::null_mut());
            libc::setpgid(0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, guard_lost_signal().as_raw(), 0, 0, 0);
            // Writing to the terminal from a background process group must not stop us.
            libc::signal(libc::SIGTTOU, libc::SIG_IGN);
            // In a new PID namespace the parent is outside it and getppid() reads 0.
            let parent = libc::getppid();
            if parent != 0 && u32::try_from(parent).ok() != Some(guard_pid) {
                // The guard died before the death signal was armed.
                libc::raise(guard_lost_signal().as_raw());
            }
        }
        return Ok(guard_pid);
    }
    let child = u32::try_from(pid).unwrap_or(0);
    let cgroup = cgroup.map(CgroupTree::path);
    if reexec {
        reexec_as_guard(child, cgroup);
    }
    guard_loop(child, &blocked, cgroup)
}

/// Replaces this process with a fresh copy of the program that runs [`run_if_guard`]. The
/// blocked signals, the pending ones and the child stay; only a failed exec returns.
fn reexec_as_guard(child: u32, cgroup: Option<&Path>) {
    use super::spawn::{env_strings, null_terminated};
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: prctl only sets a flag; the flag survives execve.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    release_stdin_stdout();
    let vars: Vec<_> = std::env::vars_os()
        .filter(|(key, _)| key != GUARD_VAR && key != GUARD_CGROUP_VAR)
        .collect();
    let mut env = env_strings(vars.iter().map(|(k, v)| (k.as_os_str(), v.as_os_str())));
    let Ok(marker) = std::ffi::CString::new(format!("{GUARD_VAR}={child}")) else { return };
    env.push(marker);
    if let Some(path) = cgroup {
        let mut pair = format!("{GUARD_CGROUP_VAR}=").into_bytes();
        pair.extend_from_slice(path.as_os_str().as_bytes());
        let Ok(pair) = std::ffi::CString::new(pair) else { return };
        env.push(pair);
    }
    let envp = null_terminated(&env);
    let argv0 = c"procman-guard";
    let argv = [argv0.as_ptr(), std::ptr::null()];
    // SAFETY: every pointer points into a NUL-terminated string that outlives the call, and
    // both arrays end with a null pointer. On success execve does not return.
    unsafe { libc::execve(c"/proc/self/exe".as_ptr(), argv.as_ptr(), envp.as_ptr()) };
}

fn ensure_single_threaded() -> io::Result<()> {
    let threads = std::fs::read_dir("/proc/self/task").map(Iterator::count).unwrap_or(1);
    if threads > 1 {
        return Err(io::Error::other("the guard must be installed before any thread starts"));
    }
    Ok(())
}

/// The guard's whole life: forward signals, wait for the child, clean up, exit.
fn guard_loop(child: u32, waited: &libc::sigset_t, cgroup: Option<&Path>) -> ! {
    // SAFETY: prctl only sets a flag on this process.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    // The guard holds no pipe the app's readers wait on: only standard error stays open, for
    // nothing but a last-resort message.
    release_stdin_stdout();
    let exit_code = loop {
        // SAFETY: siginfo_t is plain data filled by the kernel.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `waited` is a valid set; sigwaitinfo blocks until one of them is pending.
        let signal = unsafe { libc::sigwaitinfo(waited, &raw mut info) };
        if signal < 0 {
            continue; // EINTR.
        }
        if signal == libc::SIGCHLD {
            if let Some(code) = reap_until_child_ends(child) {
                break code;
            }
        } else if let Ok(pid) = libc::pid_t::try_from(child) {
            // SAFETY: kill has no memory effects.
            unsafe { libc::kill(pid, signal) };
        }
    };
    if let Some(path) = cgroup {
        // Everything of the app at once; the supervisor removed the tree already if it
        // ended normally.
        let tree = CgroupTree::open(path);
        if tree.kill().is_ok() && wait_empty_reaping(&tree) {
            let _ = tree.remove();
        }
    }
    kill_what_is_left();
    std::process::exit(exit_code);
}

/// Reaps everything that ended; returns the exit code once the supervisor itself has ended.
fn reap_until_child_ends(child: u32) -> Option<i32> {
    let mut result = None;
    while let Some((pid, status)) = super::reap::reap_one() {
        if pid == child {
            result = Some(status.shell_code());
        }
    }
    result
}

/// Waits (at most [`CLEANUP_LIMIT`]) for the tree to empty, reaping meanwhile what dies: the
/// app's orphans are the guard's children now, and a dead process's zombie, left unreaped,
/// can keep a cgroup populated (a leaderless process's leader, for one).
fn wait_empty_reaping(tree: &CgroupTree) -> bool {
    let deadline = Instant::now() + CLEANUP_LIMIT;
    loop {
        while super::reap::reap_one().is_some() {}
        if tree.wait_empty(Duration::from_millis(10)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
    }
}

/// SIGKILLs every descendant of the guard and reaps it, until none is left (at most 2 s, in
/// case one is stuck in an uninterruptible sleep). Orphans of the supervisor's tree were
/// re-parented here because the guard is a subreaper. All are killed at once each round; a
/// round waits for a child's death (SIGCHLD), or 10 ms, for a process forked meanwhile.
fn kill_what_is_left() {
    let me = std::process::id();
    let deadline = Instant::now() + CLEANUP_LIMIT;
    while Instant::now() < deadline {
        while super::reap::reap_one().is_some() {}
        let table = ProcessTable::read();
        let left: Vec<u32> =
            table.descendants(me).into_iter().filter(|pid| table.is_alive(*pid)).collect();
        if left.is_empty() {
            break;
        }
        for pid in left {
            super::reap::signal_process(pid, Signal::KILL);
        }
        wait_for_child_signal(Duration::from_millis(10));
    }
    while super::reap::reap_one().is_some() {}
}

/// Waits until SIGCHLD is pending (it is blocked in the guard), at most `limit`.
fn wait_for_child_signal(limit: Duration) {
    // SAFETY: sigset_t and timespec are plain data; sigtimedwait only reads them and writes
    // nothing we pass (no siginfo asked for).
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        libc::sigaddset(&raw mut set, libc::SIGCHLD);
        let timeout = libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::c_long::try_from(limit.as_nanos()).unwrap_or(10_000_000),
        };
        libc::sigtimedwait(&raw const set, std::ptr::null_mut(), &raw const timeout);
    }
}

fn release_stdin_stdout() {
    // SAFETY: open/dup2/close on descriptors 0 and 1 of this process only.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
            libc::close(null);
        }
    }
}
