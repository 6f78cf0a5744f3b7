//! Spawning one instance: fork/exec through `std::process::Command`, with the child set up so
//! that it leads its own process group, starts with clean signal state, inherits no descriptor
//! beyond 0/1/2, and (on Linux) dies with the supervisor.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use crate::core::{SpawnError, SpawnErrorKind};
use crate::spec::{Launch, OutputSpec, ProgramSpec, StdinSpec};

/// A started process and the read ends of its output pipes.
#[derive(Debug)]
pub(crate) struct Spawned {
    pub(crate) pid: u32,
    pub(crate) stdout: Option<OwnedFd>,
    pub(crate) stderr: Option<OwnedFd>,
}

/// Options that belong to the supervisor rather than to a program.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SpawnOptions {
    /// Ask the kernel to SIGKILL the child when the spawning thread dies (Linux only).
    pub(crate) die_with_parent: bool,
}

/// Spawns `launch` under the rules of `spec`.
pub(crate) fn spawn(
    spec: &ProgramSpec,
    launch: &Launch,
    options: SpawnOptions,
) -> Result<Spawned, SpawnError> {
    let program = launch.command.program.to_string_lossy().into_owned();
    let mut command = Command::new(&launch.command.program);
    command.args(&launch.command.args);

    if spec.env.clear {
        command.env_clear();
    }
    for key in &spec.env.remove {
        command.env_remove(key);
    }
    for (key, value) in spec.env.set.iter().chain(&launch.env) {
        command.env(key, value);
    }

    if let Some(dir) = &spec.cwd {
        // Checked here because the child reports a bad directory as a bare ENOENT, which would
        // read as "program not found".
        match std::fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => {
                if let Err(err) = nix::unistd::access(dir, nix::unistd::AccessFlags::X_OK) {
                    return Err(error(
                        SpawnErrorKind::BadWorkingDir,
                        Some(err as i32),
                        format!(
                            "working directory `{}` cannot be entered: {}",
                            dir.display(),
                            err.desc()
                        ),
                    ));
                }
            }
            Ok(_) => {
                return Err(error(
                    SpawnErrorKind::BadWorkingDir,
                    None,
                    format!("working directory `{}` is not a directory", dir.display()),
                ));
            }
            Err(err) => {
                return Err(error(
                    SpawnErrorKind::BadWorkingDir,
                    err.raw_os_error(),
                    format!("working directory `{}`: {}", dir.display(), plain(&err)),
                ));
            }
        }
        command.current_dir(dir);
    }

    command.stdin(match &spec.stdin {
        StdinSpec::Null => Stdio::null(),
        StdinSpec::Inherit => Stdio::inherit(),
        StdinSpec::File(path) => Stdio::from(File::open(path).map_err(|err| {
            error(
                SpawnErrorKind::BadRedirect,
                err.raw_os_error(),
                format!("standard input `{}`: {}", path.display(), plain(&err)),
            )
        })?),
    });

    let (stdout_stdio, stdout_read, stdout_pipe_writer) = output(&spec.stdout)?;
    command.stdout(stdout_stdio);
    let (stderr_stdio, stderr_read) = match (&spec.stderr, stdout_pipe_writer) {
        (OutputSpec::MergeWithStdout, Some(writer)) => {
            let clone = writer.try_clone().map_err(|err| resource_error(&err))?;
            (Stdio::from(clone), None)
        }
        (OutputSpec::MergeWithStdout, None) => (Stdio::inherit(), None),
        (other, _) => {
            let (stdio, read, _) = output(other)?;
            (stdio, read)
        }
    };
    command.stderr(stderr_stdio);

    command.process_group(0);
    let umask = spec.umask;
    let parent = std::process::id();
    let die_with_parent = options.die_with_parent;
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe calls (sigaction, umask, prctl, getppid, close_range/fcntl); it
    // allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(move || super::child::prepare(umask, parent, die_with_parent));
    }

    let child = command.spawn().map_err(|err| classify(&err, &program))?;
    // Dropping the command closes our copies of the pipes' write ends, so that EOF arrives
    // when the child and its descendants are done with them.
    drop(command);
    let pid = child.id();
    // The reaper owns exit statuses: never wait on the `Child` (dropping it does not wait).
    drop(child);
    Ok(Spawned { pid, stdout: stdout_read, stderr: stderr_read })
}

type OutputParts = (Stdio, Option<OwnedFd>, Option<io::PipeWriter>);

/// The child's side of an output stream, our read end when it is a pipe, and a copy of the
/// write end so that standard error can share it.
fn output(spec: &OutputSpec) -> Result<OutputParts, SpawnError> {
    match spec {
        OutputSpec::Pipe | OutputSpec::MergeWithStdout => {
            let (reader, writer) = io::pipe().map_err(|err| resource_error(&err))?;
            let copy = writer.try_clone().map_err(|err| resource_error(&err))?;
            Ok((Stdio::from(writer), Some(OwnedFd::from(reader)), Some(copy)))
        }
        OutputSpec::Inherit => Ok((Stdio::inherit(), None, None)),
        OutputSpec::Null => Ok((Stdio::null(), None, None)),
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
            Ok((Stdio::from(file), None, None))
        }
    }
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

/// Turns the error std reports from fork or exec into our classification.
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
