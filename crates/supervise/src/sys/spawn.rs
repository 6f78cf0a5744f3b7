//! Spawning one instance: `fork` and `execve`, with the child set up so that it leads its own
//! process group, starts with clean signal state, inherits no descriptor beyond 0/1/2, and (on
//! Linux) dies with the supervisor.
//!
//! The parent does not wait for the child to reach `execve`: it returns as soon as the fork is
//! done, with the read end of an *exec-status pipe* (close-on-exec). The pipe reaches end of
//! file when the `execve` succeeds; if anything fails in the child, it writes the stage and
//! the `errno` there and exits 127. The driver reads that pipe from its poll loop, so many
//! spawns overlap instead of running one after another (std's `Command::spawn` waits for each
//! `exec`). Everything that can be checked in the parent (the program found in `PATH`, the
//! working directory, the redirections, the pipes) is, so most failures are still reported at
//! once.
//!
//! An instance may run on a pty of its own (`OutputSpec::Pty`): the child then starts a new
//! session with the pty as its controlling terminal instead of only a process group. When no
//! pty can be had, it runs on pipes, and the spawn says why.

use std::collections::HashMap;
use std::ffi::{CString, OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::core::{SpawnError, SpawnErrorKind};
use crate::spec::{Launch, OutputSpec, ProgramSpec, StdinSpec};
use crate::sys::pty::{self, WindowSize};

/// A started process, the read ends of its output pipes, and its exec-status pipe.
#[derive(Debug)]
pub(crate) struct Spawned {
    pub(crate) pid: u32,
    pub(crate) stdout: Option<OwnedFd>,
    pub(crate) stderr: Option<OwnedFd>,
    /// End of file once the program is executing; a [`ChildFailure`] record if it never will.
    pub(crate) exec_status: OwnedFd,
    /// What to say if the exec fails.
    pub(crate) context: FailureContext,
    /// `stdout` is the master side of the child's pty, not a pipe.
    pub(crate) on_pty: bool,
    /// What the supervisor keeps of the child's input side, if anything.
    pub(crate) input: Option<InputEnd>,
    /// A pty was asked for and could not be opened (the child runs on pipes): why.
    pub(crate) pty_error: Option<io::Error>,
}

/// The supervisor's end of a child's input: the write end of its stdin pipe, or a second
/// descriptor of its pty's master side.
#[derive(Debug)]
pub(crate) struct InputEnd {
    pub(crate) fd: OwnedFd,
    /// The descriptor is a pty master (it sets the window size too).
    pub(crate) pty: bool,
    /// The child reads what is written here ([`StdinSpec::Host`]); a pty whose instance reads
    /// another stdin is kept for its window size only.
    pub(crate) stdin: bool,
}

/// Options that belong to the supervisor rather than to a program.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SpawnOptions {
    /// Ask the kernel to SIGKILL the child when the spawning thread dies (Linux only).
    pub(crate) die_with_parent: bool,
    /// `cgroup.procs` of the instance's cgroup: the child writes itself into it first thing,
    /// before anything else runs in it, so nothing it starts can be outside.
    pub(crate) cgroup_procs: Option<RawFd>,
    /// The window size of a pty for a program that asks for one; `None` runs it on pipes
    /// instead (the supervisor's cap on ptys is reached).
    pub(crate) pty: Option<WindowSize>,
}

/// Where in the child a failure happened (the first byte of the record).
const STAGE_STDIO: u8 = 1;
const STAGE_CWD: u8 = 2;
const STAGE_SETUP: u8 = 3;
const STAGE_EXEC: u8 = 4;
const STAGE_CGROUP: u8 = 5;
const STAGE_TERMINAL: u8 = 6;

/// The size of a failure record: the stage, then the `errno` in native byte order.
pub(crate) const FAILURE_RECORD: usize = 5;

/// What the messages of a failed exec name.
#[derive(Clone, Debug)]
pub(crate) struct FailureContext {
    program: String,
    cwd: Option<PathBuf>,
}

impl FailureContext {
    /// Turns a failure record read from the exec-status pipe into a spawn error.
    pub(crate) fn error(&self, record: &[u8]) -> SpawnError {
        let stage = record.first().copied().unwrap_or(STAGE_EXEC);
        let errno = record
            .get(1..FAILURE_RECORD)
            .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
            .map_or(libc::EIO, i32::from_ne_bytes);
        let err = io::Error::from_raw_os_error(errno);
        match stage {
            STAGE_CWD => error(
                SpawnErrorKind::BadWorkingDir,
                Some(errno),
                format!(
                    "working directory `{}`: {}",
                    self.cwd.as_deref().unwrap_or(Path::new(".")).display(),
                    plain(&err)
                ),
            ),
            STAGE_CGROUP => error(
                SpawnErrorKind::Other,
                Some(errno),
                format!("cannot move `{}` into its cgroup: {}", self.program, plain(&err)),
            ),
            STAGE_TERMINAL => error(
                SpawnErrorKind::Other,
                Some(errno),
                format!("cannot give `{}` its terminal: {}", self.program, plain(&err)),
            ),
            STAGE_STDIO | STAGE_SETUP => error(
                SpawnErrorKind::Other,
                Some(errno),
                format!("cannot set up `{}`: {}", self.program, plain(&err)),
            ),
            _ => classify(&err, &self.program),
        }
    }
}

/// A descriptor for one of the child's standard streams.
enum ChildFd {
    /// Keep the supervisor's.
    Inherit,
    /// Install this one.
    Own(OwnedFd),
    /// Standard error only: the same as standard output.
    SameAsStdout,
    /// The slave side of the child's pty.
    Terminal,
}

impl ChildFd {
    fn raw(&self, terminal: Option<&OwnedFd>) -> Option<RawFd> {
        match self {
            ChildFd::Own(fd) => Some(fd.as_raw_fd()),
            ChildFd::Terminal => terminal.map(AsRawFd::as_raw_fd),
            ChildFd::Inherit | ChildFd::SameAsStdout => None,
        }
    }
}

/// Spawns `launch` under the rules of `spec`; returns without waiting for the exec.
pub(crate) fn spawn(
    spec: &ProgramSpec,
    launch: &Launch,
    options: SpawnOptions,
) -> Result<Spawned, SpawnError> {
    let program = launch.command.program.to_string_lossy().into_owned();
    let env = child_env(spec, launch);
    let path = resolve_program(&launch.command.program, &env, &program)?;
    let cwd = match &spec.cwd {
        Some(dir) => {
            check_working_dir(dir)?;
            Some(c_string(dir.as_os_str(), &program)?)
        }
        None => None,
    };

    // Everything the child needs exists before the fork: it must not allocate.
    let path = c_string(path.as_os_str(), &program)?;
    let mut argv_owned = vec![c_string(&launch.command.program, &program)?];
    for arg in &launch.command.args {
        argv_owned.push(c_string(arg, &program)?);
    }
    let env_owned = env_strings(env.iter().map(|(k, v)| (k.as_os_str(), v.as_os_str())));
    let argv = null_terminated(&argv_owned);
    let envp = null_terminated(&env_owned);
    // execvp's rule for a file without a `#!` line (ENOEXEC): run it with /bin/sh.
    let mut sh_argv: Vec<*const libc::c_char> = vec![c"/bin/sh".as_ptr(), path.as_ptr()];
    sh_argv.extend(argv_owned.iter().skip(1).map(|a| a.as_ptr()));
    sh_argv.push(std::ptr::null());

    let mut pty_error = None;
    let terminal = match options.pty.filter(|_| spec.stdout == OutputSpec::Pty) {
        Some(size) => match pty::open(size) {
            Ok(pty) => Some(pty),
            Err(err) => {
                pty_error = Some(err);
                None
            }
        },
        None => None,
    };
    let mut stdin_writer = None;
    let stdin = match &spec.stdin {
        StdinSpec::Null => ChildFd::Own(open_null(false)?),
        StdinSpec::Inherit => ChildFd::Inherit,
        StdinSpec::Host if terminal.is_some() => ChildFd::Terminal,
        StdinSpec::Host => {
            let (reader, writer) = io::pipe().map_err(|err| resource_error(&err))?;
            stdin_writer = Some(OwnedFd::from(writer));
            ChildFd::Own(reader.into())
        }
        StdinSpec::File(file) => ChildFd::Own(
            File::open(file)
                .map_err(|err| {
                    error(
                        SpawnErrorKind::BadRedirect,
                        err.raw_os_error(),
                        format!("standard input `{}`: {}", file.display(), plain(&err)),
                    )
                })?
                .into(),
        ),
    };
    let (stdout, stdout_read, master) = match terminal {
        Some(pty::Pty { master, slave }) => (ChildFd::Terminal, None, Some((master, slave))),
        None => {
            let (fd, read) = output(&spec.stdout)?;
            (fd, read, None)
        }
    };
    let (stderr, stderr_read) = match (&spec.stderr, &stdout) {
        (OutputSpec::MergeWithStdout | OutputSpec::Pty, ChildFd::Own(_) | ChildFd::Terminal) => {
            (ChildFd::SameAsStdout, None)
        }
        (OutputSpec::MergeWithStdout | OutputSpec::Pty, _) => (ChildFd::Inherit, None),
        (other, _) => output(other)?,
    };
    let stdin = above_stdio(stdin)?;
    let stdout = above_stdio(stdout)?;
    let stderr = above_stdio(stderr)?;
    let (master, slave) = match master {
        // The master too: a child whose stderr is inherited must not get it as its fd 2.
        Some((master, slave)) => (Some(fd_above_stdio(master)?), Some(fd_above_stdio(slave)?)),
        None => (None, None),
    };
    let (status_read, status_write) = io::pipe().map_err(|err| resource_error(&err))?;
    let status_write = above_stdio(ChildFd::Own(status_write.into()))?;
    let Some(status_fd) = status_write.raw(None) else {
        return Err(error(SpawnErrorKind::Other, None, "exec-status pipe lost".to_owned()));
    };

    let plan = ChildPlan {
        path: path.as_ptr(),
        argv: argv.as_ptr(),
        sh_argv: sh_argv.as_ptr(),
        envp: envp.as_ptr(),
        cwd: cwd.as_ref().map(|c| c.as_ptr()),
        stdin: stdin.raw(slave.as_ref()),
        stdout: stdout.raw(slave.as_ref()),
        stderr: match stderr {
            ChildFd::SameAsStdout => stdout.raw(slave.as_ref()),
            ref other => other.raw(slave.as_ref()),
        },
        terminal: slave.as_ref().map(AsRawFd::as_raw_fd),
        status_fd,
        umask: spec.umask,
        parent: std::process::id(),
        die_with_parent: options.die_with_parent,
        cgroup_procs: options.cgroup_procs,
    };
    // SAFETY: fork in a process whose other threads (if any) hold no lock the child needs:
    // the child only makes async-signal-safe calls on memory prepared above, then execs or
    // exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let err = io::Error::last_os_error();
        return Err(classify(&err, &program));
    }
    if pid == 0 {
        // SAFETY: in the child, right after fork.
        unsafe { run_child(&plan) }
    }
    // Our copies of the child's ends close here, so EOF on the output pipes and on the status
    // pipe (and EIO on the pty) comes from the child and its descendants alone.
    drop((stdin, stdout, stderr, status_write, slave));
    let on_pty = master.is_some();
    let input = match (master.as_ref(), stdin_writer) {
        // A second descriptor, so that writing and reading are watched apart. Without it the
        // instance still runs; only its input and window size are out of reach.
        (Some(master), _) => master.try_clone().ok().map(|fd| InputEnd {
            fd,
            pty: true,
            stdin: spec.stdin == StdinSpec::Host,
        }),
        (None, Some(fd)) => Some(InputEnd { fd, pty: false, stdin: true }),
        (None, None) => None,
    };
    Ok(Spawned {
        pid: u32::try_from(pid).unwrap_or(0),
        stdout: master.or(stdout_read),
        stderr: stderr_read,
        exec_status: status_read.into(),
        context: FailureContext { program, cwd: spec.cwd.clone() },
        on_pty,
        input,
        pty_error,
    })
}

/// Raw pointers and numbers for the child: nothing in it allocates or drops.
struct ChildPlan {
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    sh_argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    cwd: Option<*const libc::c_char>,
    stdin: Option<RawFd>,
    stdout: Option<RawFd>,
    stderr: Option<RawFd>,
    /// The pty's slave side, to become the controlling terminal of a new session.
    terminal: Option<RawFd>,
    status_fd: RawFd,
    umask: Option<u32>,
    parent: u32,
    die_with_parent: bool,
    cgroup_procs: Option<RawFd>,
}

/// The child's whole life between fork and exec.
///
/// # Safety
/// Only in a freshly forked child; every pointer of `plan` valid.
unsafe fn run_child(plan: &ChildPlan) -> ! {
    // SAFETY: async-signal-safe system calls on descriptors and strings prepared by the
    // parent; on any failure the child reports and exits without returning.
    unsafe {
        // First of all: "0" moves the writer itself.
        if let Some(procs) = plan.cgroup_procs {
            if libc::write(procs, c"0".as_ptr().cast(), 1) != 1 {
                fail(plan.status_fd, STAGE_CGROUP);
            }
        }
        // Either way the child leads a process group whose id is its pid.
        match plan.terminal {
            Some(slave) => {
                if !pty::become_session_leader(slave) {
                    fail(plan.status_fd, STAGE_TERMINAL);
                }
            }
            None => {
                libc::setpgid(0, 0);
            }
        }
        for (from, to) in [(plan.stdin, 0), (plan.stdout, 1), (plan.stderr, 2)] {
            if let Some(fd) = from {
                if libc::dup2(fd, to) < 0 {
                    fail(plan.status_fd, STAGE_STDIO);
                }
            }
        }
        if let Some(dir) = plan.cwd {
            if libc::chdir(dir) != 0 {
                fail(plan.status_fd, STAGE_CWD);
            }
        }
        if super::child::prepare(plan.umask, plan.parent, plan.die_with_parent).is_err() {
            fail(plan.status_fd, STAGE_SETUP);
        }
        libc::execve(plan.path, plan.argv, plan.envp);
        if io::Error::last_os_error().raw_os_error() == Some(libc::ENOEXEC) {
            libc::execve(c"/bin/sh".as_ptr(), plan.sh_argv, plan.envp);
        }
        fail(plan.status_fd, STAGE_EXEC)
    }
}

/// Reports `errno` at `stage` through the status pipe and exits 127, the shell's code for a
/// command that could not run.
unsafe fn fail(status_fd: RawFd, stage: u8) -> ! {
    let errno = io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
    let mut record = [0u8; FAILURE_RECORD];
    record[0] = stage;
    record[1..].copy_from_slice(&errno.to_ne_bytes());
    // SAFETY: write and _exit are async-signal-safe; a short write only loses the detail.
    unsafe {
        libc::write(status_fd, record.as_ptr().cast(), record.len());
        libc::_exit(127)
    }
}

/// `KEY=value` strings for `execve` (a pair holding a NUL byte cannot be passed and is left
/// out).
pub(crate) fn env_strings<'a>(pairs: impl Iterator<Item = (&'a OsStr, &'a OsStr)>) -> Vec<CString> {
    pairs
        .filter_map(|(key, value)| {
            let mut pair = key.as_bytes().to_vec();
            pair.push(b'=');
            pair.extend_from_slice(value.as_bytes());
            CString::new(pair).ok()
        })
        .collect()
}

/// Pointers to `strings`, ending with a null pointer, as `execve` takes them. The strings must
/// outlive the pointers.
pub(crate) fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings.iter().map(|s| s.as_ptr()).chain(std::iter::once(std::ptr::null())).collect()
}

/// The child's environment: the supervisor's (unless cleared), without the removed keys, with
/// the group's and then the instance's variables set (later ones win).
fn child_env(spec: &ProgramSpec, launch: &Launch) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> =
        if spec.env.clear { Vec::new() } else { std::env::vars_os().collect() };
    env.retain(|(key, _)| !spec.env.remove.contains(key));
    // Where each key sits: a linear search per variable made a 100,000-key `.env` quadratic
    // (about 15 s per spawn).
    let mut positions: HashMap<OsString, usize> =
        env.iter().enumerate().map(|(at, (key, _))| (key.clone(), at)).collect();
    for (key, value) in spec.env.set.iter().chain(&launch.env) {
        match positions.get(key) {
            Some(&at) => env[at].1.clone_from(value),
            None => {
                positions.insert(key.clone(), env.len());
                env.push((key.clone(), value.clone()));
            }
        }
    }
    env
}

/// Finds the program as `execvp` would, but in the *child's* `PATH`. A name with a slash is
/// used as it is (relative to the child's working directory).
fn resolve_program(
    program: &OsStr,
    env: &[(OsString, OsString)],
    shown: &str,
) -> Result<PathBuf, SpawnError> {
    if program.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(program));
    }
    if program.is_empty() {
        return Err(error(SpawnErrorKind::NotFound, None, "cannot run an empty command".into()));
    }
    let path = env
        .iter()
        .find(|(key, _)| key == "PATH")
        .map_or_else(|| OsString::from("/usr/local/bin:/usr/bin:/bin"), |(_, v)| v.clone());
    let mut denied = None;
    for dir in path.as_bytes().split(|b| *b == b':') {
        let dir = if dir.is_empty() { Path::new(".") } else { Path::new(OsStr::from_bytes(dir)) };
        let candidate = dir.join(program);
        let Ok(meta) = std::fs::metadata(&candidate) else { continue };
        if !meta.is_file() {
            continue;
        }
        match nix::unistd::access(&candidate, nix::unistd::AccessFlags::X_OK) {
            Ok(()) => return Ok(candidate),
            Err(errno) => denied = denied.or(Some(errno as i32)),
        }
    }
    let err = io::Error::from_raw_os_error(denied.unwrap_or(libc::ENOENT));
    Err(classify(&err, shown))
}

fn check_working_dir(dir: &Path) -> Result<(), SpawnError> {
    // Checked here because the child can only report a bare errno.
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => nix::unistd::access(dir, nix::unistd::AccessFlags::X_OK)
            .map_err(|err| {
                error(
                    SpawnErrorKind::BadWorkingDir,
                    Some(err as i32),
                    format!(
                        "working directory `{}` cannot be entered: {}",
                        dir.display(),
                        err.desc()
                    ),
                )
            }),
        Ok(_) => Err(error(
            SpawnErrorKind::BadWorkingDir,
            None,
            format!("working directory `{}` is not a directory", dir.display()),
        )),
        Err(err) => Err(error(
            SpawnErrorKind::BadWorkingDir,
            err.raw_os_error(),
            format!("working directory `{}`: {}", dir.display(), plain(&err)),
        )),
    }
}

fn c_string(text: &OsStr, program: &str) -> Result<CString, SpawnError> {
    CString::new(text.as_bytes()).map_err(|_| {
        error(
            SpawnErrorKind::Other,
            None,
            format!("cannot run `{program}`: a NUL byte in the command"),
        )
    })
}

fn open_null(write: bool) -> Result<OwnedFd, SpawnError> {
    OpenOptions::new()
        .read(!write)
        .write(write)
        .open("/dev/null")
        .map(OwnedFd::from)
        .map_err(|err| resource_error(&err))
}

/// The child's side of an output stream and, for a pipe, our read end.
fn output(spec: &OutputSpec) -> Result<(ChildFd, Option<OwnedFd>), SpawnError> {
    match spec {
        // `Pty` here: no pty could be had, and pipes serve instead.
        OutputSpec::Pipe | OutputSpec::MergeWithStdout | OutputSpec::Pty => {
            let (reader, writer) = io::pipe().map_err(|err| resource_error(&err))?;
            Ok((ChildFd::Own(writer.into()), Some(reader.into())))
        }
        OutputSpec::Inherit => Ok((ChildFd::Inherit, None)),
        OutputSpec::Null => Ok((ChildFd::Own(open_null(true)?), None)),
        OutputSpec::File { path, append } => {
            let file = OpenOptions::new()
                .create(true)
                .write(true)
                .append(*append)
                .truncate(!*append)
                .open(path)
                .map_err(|err| {
                    error(
                        SpawnErrorKind::BadRedirect,
                        err.raw_os_error(),
                        format!("output file `{}`: {}", path.display(), plain(&err)),
                    )
                })?;
            Ok((ChildFd::Own(file.into()), None))
        }
    }
}

/// Moves a descriptor above 2, so that installing the child's 0, 1 and 2 never overwrites a
/// descriptor still to be installed (procman may have been started with 0, 1 or 2 closed).
fn above_stdio(fd: ChildFd) -> Result<ChildFd, SpawnError> {
    match fd {
        ChildFd::Own(owned) => Ok(ChildFd::Own(fd_above_stdio(owned)?)),
        other => Ok(other),
    }
}

fn fd_above_stdio(owned: OwnedFd) -> Result<OwnedFd, SpawnError> {
    if owned.as_raw_fd() >= 3 {
        return Ok(owned);
    }
    // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor we then own.
    let raw = unsafe { libc::fcntl(owned.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if raw < 0 {
        return Err(resource_error(&io::Error::last_os_error()));
    }
    // SAFETY: `raw` was just created and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

fn error(kind: SpawnErrorKind, errno: Option<i32>, message: String) -> SpawnError {
    SpawnError { kind, errno, message }
}

fn resource_error(err: &io::Error) -> SpawnError {
    error(
        SpawnErrorKind::Resources,
        err.raw_os_error(),
        format!("cannot create a pipe: {}", plain(err)),
    )
}

/// The OS error text without Rust's " (os error N)" suffix.
fn plain(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// Turns the error of a fork or an exec into our classification.
fn classify(err: &io::Error, program: &str) -> SpawnError {
    let errno = err.raw_os_error();
    let (kind, what) = match errno {
        Some(libc::ENOENT) => (
            SpawnErrorKind::NotFound,
            if program.contains('/') {
                "no such file".to_owned()
            } else {
                "command not found in PATH".to_owned()
            },
        ),
        Some(libc::EACCES | libc::ENOEXEC | libc::EISDIR | libc::ENOTDIR | libc::EPERM) => {
            (SpawnErrorKind::NotExecutable, format!("not executable ({})", plain(err)))
        }
        Some(libc::EAGAIN | libc::ENOMEM | libc::EMFILE | libc::ENFILE) => {
            (SpawnErrorKind::Resources, format!("out of resources ({})", plain(err)))
        }
        _ => (SpawnErrorKind::Other, plain(err)),
    };
    error(kind, errno, format!("cannot run `{program}`: {what}"))
}
