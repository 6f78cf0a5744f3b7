//! From a Procfile, env files and a formation to the list of instances to run, with Foreman's
//! PORT and PS rules. Shared by `start`, `run`, `check` and `export`.
//!
//! CONTRACT (stub written before the implementation; the types below are the interface that
//! `start` and `export` are built against).

use std::path::PathBuf;
use std::time::Duration;

use supervise::{Backoff, RestartPolicy, Signal};

/// Supervision settings of one process type. `None` means "the user did not set it": `start`
/// then uses Foreman's behaviour and `export` the target format's own default.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Settings {
    /// Signal sent to stop it (`--stop-signal`, config file).
    pub(crate) stop_signal: Option<Signal>,
    /// Seconds between the stop signal and SIGKILL (`-t/--timeout`, config file).
    pub(crate) stop_timeout: Option<Duration>,
    /// Restart policy (`--restart`, config file).
    pub(crate) restart: Option<RestartPolicy>,
    /// Retry limit (`--max-restarts`, config file).
    pub(crate) max_retries: Option<u32>,
    /// Backoff between retries (`--backoff`, config file).
    pub(crate) backoff: Option<Backoff>,
    /// Start grace (`--start-grace`, config file).
    pub(crate) start_grace: Option<Duration>,
    /// Exit codes that count as expected (config file).
    pub(crate) expected_exit_codes: Option<Vec<i32>>,
    /// umask (config file).
    pub(crate) umask: Option<u32>,
}

/// One Procfile entry, resolved.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ProcessPlan {
    /// The entry's name (`web`).
    pub(crate) name: String,
    /// The command text as written in the Procfile (no substitution).
    pub(crate) command: String,
    /// The entry's position among all Procfile entries, from 0; PORT = base + 100 * index.
    pub(crate) index: usize,
    /// How many instances the formation asks for (0: none, but it keeps its PORT slot).
    pub(crate) count: u32,
    /// Extra environment for this type only (config file), applied after the env files.
    pub(crate) env: Vec<(String, String)>,
    /// Working directory of this type (config file); `None` is the app root.
    pub(crate) cwd: Option<PathBuf>,
    /// Supervision settings.
    pub(crate) settings: Settings,
}

/// One instance to run: `web.2`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct InstancePlan {
    /// The process type's name (`web`).
    pub(crate) process: String,
    /// The instance number, from 1.
    pub(crate) number: u32,
    /// Its PORT.
    pub(crate) port: u16,
    /// `PS` / the display name: `web.2`.
    pub(crate) ps: String,
}

/// Everything needed to start or export an application.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Plan {
    /// The Procfile's path.
    pub(crate) procfile: PathBuf,
    /// The app root: processes run here.
    pub(crate) root: PathBuf,
    /// Variables from the env files, in file order, later files and later lines winning, with
    /// duplicates removed (the last value kept at the position of the first occurrence).
    pub(crate) env: Vec<(String, String)>,
    /// The base port (`-p`, then `.env` PORT, then `$PORT`, then 5000).
    pub(crate) base_port: u16,
    /// Every Procfile entry, in Procfile order, including those with count 0.
    pub(crate) processes: Vec<ProcessPlan>,
}
