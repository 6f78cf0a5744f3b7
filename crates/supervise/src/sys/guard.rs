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

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use super::reap::{has_children, kill_until_gone, reap_one, signal_process};
use super::spawn::{env_strings, null_terminated};
use super::stop_protocol::{forward, requested_in};
use crate::error::GuardError;
use crate::guard::GuardOptions;
use crate::signal::Signal;
use crate::sys::cgroup::CgroupTree;
use crate::sys::tree::ProcessTable;

/// How long the guard keeps killing what is left before it gives up (a process stuck in an
/// uninterruptible sleep cannot die sooner; a daemon that re-forks into new sessions is caught
/// only when a kill lands between a generation's birth and its fork, which a loaded machine
/// can delay).
const CLEANUP_LIMIT: Duration = Duration::from_secs(10);

/// How long the guard waits for a killed cgroup tree to empty so that it can remove it.
const CGROUP_CLEANUP_LIMIT: Duration = Duration::from_secs(10);

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

/// Signals the guard forwards to the supervisor. SIGTSTP and SIGCONT are job control: the
/// guard is the process the shell knows, so a Ctrl-Z reaches it alone; see [`guard_loop`].
const FORWARDED: &[libc::c_int] = &[
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
    libc::SIGTSTP,
    libc::SIGCONT,
];

/// The write end of the pipe to the guard, in the supervisor ([`request_stop`]); -1 without a
/// guard.
static STOP_REQUESTS: AtomicI32 = AtomicI32::new(-1);

/// Asks the guard to stop the supervisor (with SIGSTOP) and then itself: what the supervisor
/// does at Ctrl-Z once it has stopped the app. The guard does the stopping because the
/// supervisor cannot always stop itself: PID 1 of a namespace ignores a SIGSTOP it sends
/// itself, and only a process outside, the guard, can stop it. Returns `false` without a
/// guard (the caller then stops itself).
pub(crate) fn request_stop() -> bool {
    let fd = STOP_REQUESTS.load(Ordering::Relaxed);
    if fd < 0 {
        return false;
    }
    super::stop_protocol::write_request(fd)
}

/// The signal the supervisor receives when its guard dies: a real-time signal nobody else
/// sends, so it cannot be confused with a user's request.
pub(crate) fn guard_lost_signal() -> Signal {
    Signal::from_raw(libc::SIGRTMAX() - 2)
}

/// Moves the next child into a new PID namespace (and, without root, a new user namespace
/// mapping the current user to itself), so that the supervisor forked by [`protect`] is its
/// PID 1: when it dies, by whatever means, the kernel kills every process of the namespace.
pub(crate) fn isolate() -> Result<(), GuardError> {
    ensure_single_threaded()?;
    // SAFETY: geteuid/getegid cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let flags =
        if uid == 0 { libc::CLONE_NEWPID } else { libc::CLONE_NEWPID | libc::CLONE_NEWUSER };
    // SAFETY: unshare only changes this process's namespaces.
    if unsafe { libc::unshare(flags) } != 0 {
        return Err(GuardError::Namespace(io::Error::last_os_error()));
    }
    if uid != 0 {
        // The same user inside as outside: children keep their uid and gid.
        let map =
            |path: &str, text: String| std::fs::write(path, text).map_err(GuardError::Namespace);
        map("/proc/self/setgroups", "deny".to_owned())?;
        map("/proc/self/uid_map", format!("{uid} {uid} 1"))?;
        map("/proc/self/gid_map", format!("{gid} {gid} 1"))?;
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

/// The variable that tells a program executed as the guard which pid it guards. Its name
/// carries the protocol's version: a guard program of another version does not take it for
/// its own.
pub(crate) const GUARD_VAR: &str = "SUPERVISE_GUARD_V1_OF";
/// The variable that gives the executed guard the app's cgroup tree.
pub(crate) const GUARD_CGROUP_VAR: &str = "SUPERVISE_GUARD_V1_CGROUP";
/// The variable that gives the executed guard the descriptor of its end of the stop-request
/// pipe ([`request_stop`]).
pub(crate) const GUARD_STOP_VAR: &str = "SUPERVISE_GUARD_V1_STOP_FD";

/// The signals the guard waits for.
fn waited_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset/sigaddset only write to it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        // SIGIO: a stop request arrived on the pipe from the supervisor.
        for signal in FORWARDED.iter().chain(&[libc::SIGCHLD, libc::SIGIO]) {
            libc::sigaddset(&raw mut set, *signal);
        }
        set
    }
}

/// In a program executed by [`protect`] as the guard: runs the guard's whole life and returns
/// its exit code. `None` at once in any other process.
pub(crate) fn run_if_guard() -> Option<i32> {
    let value = std::env::var_os(GUARD_VAR)?;
    let child = value.to_str().and_then(|v| v.parse::<u32>().ok())?;
    let cgroup = std::env::var_os(GUARD_CGROUP_VAR).map(PathBuf::from);
    let stop_requests = std::env::var(GUARD_STOP_VAR).ok().and_then(|fd| fd.parse().ok());
    // Executed through `/proc/self/exe`, the process is named `exe`: it takes the name it
    // was given as argv[0].
    if let Some(name) = std::env::args_os().next() {
        set_process_name(Path::new(&name).file_name().unwrap_or_default().as_bytes());
    }
    Some(guard_loop(child, &waited_set(), cgroup.as_deref(), stop_requests))
}

/// Forks the guard; returns in the child (the supervisor) with the guard's pid. The guard
/// executes the first of `options.programs` that it can (see [`run_if_guard`]), so that it
/// holds none of the pages the host had touched; if none can be executed it runs on in the
/// forked copy, which it ends itself. With a cgroup, the guard's cleanup is `cgroup.kill` of
/// that tree, then its removal.
pub(crate) fn protect(options: &GuardOptions) -> Result<u32, GuardError> {
    ensure_single_threaded()?;
    let guard_pid = std::process::id();
    // Everything the guard needs after the fork is prepared before it.
    let cgroup = options.cgroup.as_ref().map(CgroupTree::path);
    let execs: Vec<GuardExec> = options
        .programs
        .iter()
        .filter_map(|program| GuardExec::new(program, &options.name, cgroup))
        .collect();
    // The supervisor's stop requests to the guard ([`request_stop`]).
    let mut stop_pipe = [-1 as libc::c_int; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    if unsafe { libc::pipe2(stop_pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(GuardError::Fork(io::Error::last_os_error()));
    }
    // Above the standard descriptors: one of them may be closed, and the guard reopens them.
    let [stop_read, stop_write] = stop_pipe.map(above_standard_descriptors);
    // SAFETY: sigset_t is plain data; sigemptyset/sigaddset/sigprocmask only touch it and the
    // thread's mask. The forwarded signals are blocked *before* the fork so that none sent in
    // between is lost: the guard collects them with sigwaitinfo, the child restores the mask.
    let (blocked, previous) = unsafe {
        let set = waited_set();
        let mut previous: libc::sigset_t = std::mem::zeroed();
        if libc::sigprocmask(libc::SIG_BLOCK, &raw const set, &raw mut previous) != 0 {
            return Err(GuardError::Fork(io::Error::last_os_error()));
        }
        (set, previous)
    };
    // SAFETY: the process is single-threaded (checked above), so the child may run any code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let err = io::Error::last_os_error();
        // SAFETY: restores the mask saved above, and closes the pipe made above.
        unsafe {
            libc::sigprocmask(libc::SIG_SETMASK, &raw const previous, std::ptr::null_mut());
            libc::close(stop_read);
            libc::close(stop_write);
        }
        return Err(GuardError::Fork(err));
    }
    if pid == 0 {
        // The supervisor.
        // SAFETY: plain syscalls on this process.
        unsafe {
            // The mask from before the fork, plus the guard's loss: blocked until a Driver
            // handles it (it unblocks the signals it registers), so the guard dying before
            // that leaves it pending instead of killing the supervisor by its default action,
            // which would leave the app's cgroup behind with nobody to remove it.
            let mut mask = previous;
            libc::sigaddset(&raw mut mask, guard_lost_signal().as_raw());
            libc::sigprocmask(libc::SIG_SETMASK, &raw const mask, std::ptr::null_mut());
            libc::close(stop_read);
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
        STOP_REQUESTS.store(stop_write, Ordering::Relaxed);
        return Ok(guard_pid);
    }
    let child = u32::try_from(pid).unwrap_or(0);
    // SAFETY: closes the supervisor's end, and lets the guard's end survive the exec.
    unsafe {
        libc::close(stop_write);
        libc::fcntl(stop_read, libc::F_SETFD, 0);
    }
    // SAFETY: prctl only sets a flag; the flag survives execve.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    release_stdin_stdout();
    for exec in &execs {
        exec.run(child, stop_read);
    }
    // No program could be executed: the guard is this copy of the host, named as asked.
    set_process_name(options.name.as_bytes());
    let code = guard_loop(child, &blocked, cgroup, Some(stop_read));
    // SAFETY: _exit ends this forked copy without running the host's exit handlers or
    // flushing its buffers, which are the supervisor's.
    unsafe { libc::_exit(code) }
}

/// `fd`, moved to a descriptor above 2 if it is one of 0, 1, 2 (close-on-exec).
fn above_standard_descriptors(fd: libc::c_int) -> libc::c_int {
    if fd > 2 {
        return fd;
    }
    // SAFETY: fcntl duplicates a descriptor this process owns; close drops the original.
    unsafe {
        let moved = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3);
        if moved < 0 {
            return fd;
        }
        libc::close(fd);
        moved
    }
}

/// One way to execute the guard, with what `execve` takes made before the fork.
struct GuardExec {
    program: CString,
    argv0: CString,
    env: Vec<CString>,
}

impl GuardExec {
    fn new(program: &Path, name: &str, cgroup: Option<&Path>) -> Option<GuardExec> {
        let vars: Vec<_> = std::env::vars_os()
            .filter(|(key, _)| key != GUARD_VAR && key != GUARD_CGROUP_VAR && key != GUARD_STOP_VAR)
            .collect();
        let mut env = env_strings(vars.iter().map(|(k, v)| (k.as_os_str(), v.as_os_str())));
        if let Some(path) = cgroup {
            let mut pair = format!("{GUARD_CGROUP_VAR}=").into_bytes();
            pair.extend_from_slice(path.as_os_str().as_bytes());
            env.push(CString::new(pair).ok()?);
        }
        Some(GuardExec {
            program: CString::new(program.as_os_str().as_bytes()).ok()?,
            argv0: CString::new(name).ok()?,
            env,
        })
    }

    /// Replaces this process with the guard program, the child's pid and the guard's end of
    /// the stop-request pipe added to its environment. The blocked signals, the pending ones, the child and the subreaper flag
    /// stay; only a failed exec returns.
    fn run(&self, child: u32, stop_requests: libc::c_int) {
        let Ok(marker) = CString::new(format!("{GUARD_VAR}={child}")) else { return };
        let Ok(stop) = CString::new(format!("{GUARD_STOP_VAR}={stop_requests}")) else { return };
        let mut envp = null_terminated(&self.env);
        envp.insert(envp.len() - 1, marker.as_ptr());
        envp.insert(envp.len() - 1, stop.as_ptr());
        let argv = [self.argv0.as_ptr(), std::ptr::null()];
        // SAFETY: every pointer points into a NUL-terminated string that outlives the call,
        // and both arrays end with a null pointer. On success execve does not return.
        unsafe { libc::execve(self.program.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    }
}

/// Sets the name `ps` and `top` show (the kernel keeps 15 bytes).
fn set_process_name(name: &[u8]) {
    let mut buf = [0u8; 16];
    let len = name.len().min(15);
    buf[..len].copy_from_slice(&name[..len]);
    // SAFETY: PR_SET_NAME copies at most 16 bytes from the NUL-terminated buffer.
    unsafe { libc::prctl(libc::PR_SET_NAME, buf.as_ptr(), 0, 0, 0) };
}

fn ensure_single_threaded() -> Result<(), GuardError> {
    let threads = std::fs::read_dir("/proc/self/task").map(Iterator::count).unwrap_or(1);
    if threads > 1 {
        return Err(GuardError::ThreadsRunning { threads });
    }
    Ok(())
}

/// The guard's whole life: forward signals, wait for the child, clean up; returns the exit
/// code to end with (the supervisor's, in the shell's convention).
///
/// Job control: the shell waits on the guard, and a Ctrl-Z sends SIGTSTP to the guard's
/// process group alone (the supervisor leads its own). The guard forwards it; the supervisor
/// stops the app and then itself; the guard sees its child stop and stops itself, and only
/// then does the shell see the job stopped. `fg` (or `bg`) sends SIGCONT to the guard, which
/// forwards it: the supervisor resumes the app. A supervisor stopped any other way stops the
/// guard too, so the shell always shows the job as it is.
fn guard_loop(
    child: u32,
    waited: &libc::sigset_t,
    cgroup: Option<&Path>,
    stop_requests: Option<libc::c_int>,
) -> i32 {
    // SAFETY: prctl only sets a flag on this process.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    // The guard holds no pipe the app's readers wait on: only standard error stays open, for
    // nothing but a last-resort message.
    release_stdin_stdout();
    // The code that started the guard is not run again: its pages go back to the page cache.
    super::pages::release_clean_file_pages();
    if let Some(fd) = stop_requests {
        signal_on_input(fd);
    }
    // A burst of Ctrl-Z and `fg` must end as its last key says: the SIGCONTs forwarded are
    // counted, and only a stop request of the current count stops the supervisor
    // ([`stop_protocol`](super::stop_protocol)).
    let mut generation: usize = 0;
    // The generation the supervisor was last seen stopped in: it stays stopped until the
    // next SIGCONT, which only the guard forwards.
    let mut child_stopped_in: Option<usize> = None;
    let exit_code = loop {
        let signal = next_signal(waited);
        if signal == libc::SIGIO {
            // The supervisor has stopped the app and asks to be stopped (from out here, which
            // even PID 1 of a namespace cannot ignore); its stop is then seen below.
            if stop_requests.is_some_and(|fd| requested_in(fd, generation)) {
                signal_process(child, Signal::STOP);
            }
        } else if signal == libc::SIGCHLD {
            match child_change(child) {
                Some(ChildChange::Ended(code)) => {
                    while reap_one().is_some() {}
                    break code;
                }
                // Stopped now: a SIGCONT forwarded before this `waitpid` would have continued
                // it, or discarded a stop not yet taken.
                Some(ChildChange::Stopped) => child_stopped_in = Some(generation),
                None => {}
            }
            if let Some(code) = reap_until_child_ends(child) {
                break code;
            }
        } else if signal == libc::SIGCONT {
            // Also the SIGCONT that ended the guard's own stop (it stays pending): the `fg`.
            generation += 1;
            forward(child, signal, generation);
        } else if signal == libc::SIGTSTP {
            forward(child, signal, generation);
        } else {
            signal_process(child, Signal::from_raw(signal));
        }
        // The shell sees the job stopped once the supervisor is stopped in the current
        // generation. Stopping with a SIGCONT pending would discard it (a stop signal flushes
        // it): it is forwarded at the next turn instead, or, should a SIGTSTP discard it
        // first, the check comes again after that one. A SIGCONT arriving between this check
        // and the stop is lost, as for every program that stops itself after a SIGTSTP
        // (docs/terminals.md); a shell sends `fg` only once it saw the stop.
        if child_stopped_in == Some(generation) && !continue_pending() {
            stop_self();
        }
    };
    // Orphans of the supervisor's tree were re-parented here, the guard being a subreaper:
    // each death is a SIGCHLD.
    let pause = || wait_for_child_signal(Duration::from_millis(10));
    if let Some(path) = cgroup {
        // Everything of the app at once; the supervisor removed the tree already if it
        // ended normally. A dead process's zombie, left unreaped, can keep a cgroup populated
        // (a leaderless process's leader, for one): the rounds reap.
        let tree = CgroupTree::open(path);
        let alive = |_: &[u32]| tree.is_populated().then(|| tree.pids());
        // After `cgroup.kill` nothing in the tree can start anything: what is left is dying,
        // which a loaded machine can take seconds to finish. Waiting longer here is what
        // removes the tree rather than leaving it behind.
        if tree.kill().is_ok() && kill_until_gone(CGROUP_CLEANUP_LIMIT, alive, pause) {
            let _ = tree.remove();
        }
    }
    // Without a cgroup, or should anything have left it: every descendant of the guard.
    let me = std::process::id();
    let descendants = |_: &[u32]| {
        let table = ProcessTable::read();
        let left: Vec<u32> =
            table.descendants(me).into_iter().filter(|pid| table.is_alive(*pid)).collect();
        // An empty scan is not enough: a process forked between its listing and its reading
        // is in no scan; a subreaper without children has no descendant.
        (!left.is_empty() || has_children()).then_some(left)
    };
    kill_until_gone(CLEANUP_LIMIT, descendants, pause);
    while reap_one().is_some() {}
    exit_code
}

/// Waits for the next of the waited signals.
fn next_signal(waited: &libc::sigset_t) -> libc::c_int {
    loop {
        // SAFETY: siginfo_t is plain data filled by the kernel.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `waited` is a valid set; sigwaitinfo blocks until one of them is pending.
        let signal = unsafe { libc::sigwaitinfo(waited, &raw mut info) };
        if signal >= 0 {
            return signal;
        }
        // EINTR.
    }
}

/// Has the kernel send the guard SIGIO (blocked, and waited for like the rest) when the
/// supervisor writes a stop request to `fd`, so one `sigwaitinfo` waits for everything.
fn signal_on_input(fd: libc::c_int) {
    // SAFETY: fcntl on a descriptor the guard owns; the calls take integers only.
    unsafe {
        libc::fcntl(fd, libc::F_SETOWN, libc::getpid());
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK | libc::O_ASYNC);
    }
}

/// What happened to the supervisor, as `waitpid` reports it.
enum ChildChange {
    /// It stopped (SIGSTOP, or a SIGTSTP it did not handle).
    Stopped,
    /// It ended, with this exit code in the shell's convention.
    Ended(i32),
}

/// Whether the supervisor stopped or ended, without waiting (and reaping it if it ended).
fn child_change(child: u32) -> Option<ChildChange> {
    let pid = libc::pid_t::try_from(child).ok()?;
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: waitpid writes the status into our local; WNOHANG never blocks.
        let rc = unsafe { libc::waitpid(pid, &raw mut status, libc::WNOHANG | libc::WUNTRACED) };
        if rc == pid {
            if libc::WIFSTOPPED(status) {
                return Some(ChildChange::Stopped);
            }
            let code = if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else if libc::WIFSIGNALED(status) {
                128 + libc::WTERMSIG(status)
            } else {
                continue;
            };
            return Some(ChildChange::Ended(code));
        }
        if rc == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        return None;
    }
}

/// Whether a SIGCONT waits to be taken (it is blocked in the guard, like every signal it
/// waits for).
fn continue_pending() -> bool {
    // SAFETY: sigset_t is plain data; sigpending writes it, sigismember reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&raw mut set) == 0 && libc::sigismember(&raw const set, libc::SIGCONT) == 1
    }
}

/// Stops the guard (the shell, waiting on it, sees the job stopped) until a SIGCONT.
fn stop_self() {
    // SAFETY: raise has no memory effects; SIGSTOP cannot be caught, so this returns once the
    // guard is continued.
    unsafe { libc::raise(libc::SIGSTOP) };
}

/// Reaps everything that ended; returns the exit code once the supervisor itself has ended.
fn reap_until_child_ends(child: u32) -> Option<i32> {
    let mut result = None;
    while let Some((pid, status)) = reap_one() {
        if pid == child {
            result = Some(status.shell_code());
        }
    }
    result
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
