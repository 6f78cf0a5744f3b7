//! The control socket of a running `procman start`: `procman ps`, `restart`, `stop`, `scale`
//! and `signal` talk to it from another terminal, and other tools can drive procman through it.
//!
//! - `procman::control::proto`: the protocol, versioned JSON lines (documented in
//!   `docs/control.md`); it lives in the library crate, so the fuzz targets reach it.
//! - [`socket`]: creating the socket file safely (mode 0600 before it listens, stale sockets
//!   replaced, live ones refused) and checking who connects (`SO_PEERCRED`).
//! - [`server`]: the listening side, driven by the supervisor's own poll loop: no thread, no
//!   blocking call, bounded buffers, so a misbehaving client can never stall the run.
//! - [`dispatch`]: what each command does to the [`supervise::Driver`].
//! - [`attach`]: a connection that becomes an instance's terminal.
//! - [`reload`]: `reload`, which the run carries out ([`reload::Reload`]), and its answer.
//! - [`client`]: the connecting side, used by `procman ps` and friends.

mod attach;
pub(crate) mod client;
mod dispatch;
pub(crate) mod reload;
mod server;
pub(crate) mod socket;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub(crate) use attach::relay_input;
pub(crate) use server::ControlServer;

/// The socket's file name when none is given: beside the Procfile, hidden.
pub(crate) const SOCKET_NAME: &str = ".procman.sock";

/// What a control request asks of the run itself (everything else is handled inside the
/// server).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RunCommand {
    /// Stop the whole run.
    StopAll,
    /// A line for the run's output as a `system` message: what a client asked for, or a
    /// connection that was refused.
    Notice(String),
    /// A reload a client asked for was carried out (its summary) or refused (why), for the
    /// run's output.
    Reloaded(Result<String, String>),
}

/// The default socket path for a Procfile: `.procman.sock` in the Procfile's directory. A
/// relative Procfile path gives a relative socket path, which keeps it well under the length
/// limit of Unix socket paths.
pub(crate) fn default_socket_path(procfile: &Path) -> PathBuf {
    match procfile.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(SOCKET_NAME),
        _ => PathBuf::from(SOCKET_NAME),
    }
}

/// The socket of `--socket`, or the default beside the Procfile that `--procfile`/`--root`
/// name (Foreman's rule: `ROOT/Procfile` with `--root`, else `./Procfile`).
pub(crate) fn socket_path(
    socket: Option<&Path>,
    procfile: Option<&Path>,
    root: Option<&Path>,
) -> PathBuf {
    if let Some(socket) = socket {
        return socket.to_path_buf();
    }
    let procfile = match (procfile, root) {
        (Some(procfile), _) => procfile.to_path_buf(),
        (None, Some(root)) => root.join("Procfile"),
        (None, None) => PathBuf::from("Procfile"),
    };
    default_socket_path(&procfile)
}

#[cfg(test)]
mod path_tests {
    use super::*;

    #[test]
    fn control_socket_defaults_to_beside_the_procfile() {
        assert_eq!(socket_path(None, None, None), PathBuf::from(".procman.sock"));
        assert_eq!(
            socket_path(None, Some(Path::new("app/Procfile.dev")), None),
            PathBuf::from("app/.procman.sock")
        );
        assert_eq!(
            socket_path(None, None, Some(Path::new("/srv/app"))),
            PathBuf::from("/srv/app/.procman.sock")
        );
        assert_eq!(
            socket_path(Some(Path::new("/tmp/x.sock")), Some(Path::new("a/Procfile")), None),
            PathBuf::from("/tmp/x.sock")
        );
    }
}
