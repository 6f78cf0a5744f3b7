//! The command line, as clap types only: what the user typed, before any file is read.
//! Option names and short flags follow Foreman's, so muscle memory and scripts keep working.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Run the processes of a Procfile, supervise them, and hand them to service managers.
#[derive(Debug, Parser)]
#[command(name = "procman", version, about, propagate_version = true, disable_version_flag = true)]
#[command(
    after_help = "Run `procman help COMMAND` for the options and an example of each command."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,

    /// Print the version (`-v` is Foreman's, `-V` clap's)
    #[arg(short = 'v', long, visible_short_alias = 'V', action = clap::ArgAction::Version, global = true)]
    version: Option<bool>,
}

/// Where the Procfile is and where the processes run; shared by every command that reads it.
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct AppArgs {
    /// The Procfile to read [default: Procfile, in the root when --root is given]
    #[arg(short = 'f', long, value_name = "FILE")]
    pub(crate) procfile: Option<PathBuf>,

    /// The app root: processes run here [default: the Procfile's directory]
    #[arg(short = 'd', long, value_name = "DIR")]
    pub(crate) root: Option<PathBuf>,
}

/// Env files, formation and port: how the Procfile becomes a set of instances.
#[derive(Clone, Debug, Args)]
pub(crate) struct PlanArgs {
    /// Env files to load, comma-separated; later files win [default: .env in the root, if any]
    #[arg(short = 'e', long = "env", value_name = "FILE,...", value_delimiter = ',')]
    pub(crate) env_files: Vec<PathBuf>,

    /// How many of each process to run, e.g. `all=1,web=2,worker=0`
    #[arg(short = 'm', long, visible_alias = "concurrency", value_name = "NAME=N,...")]
    pub(crate) formation: Option<String>,

    /// Base port: PORT = base + 100 per Procfile entry + 1 per instance [default: PORT from the
    /// env files, then $PORT, then 5000]
    #[arg(short = 'p', long, value_name = "PORT")]
    pub(crate) port: Option<String>,
}

/// When to color the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorWhen {
    /// Only on a terminal, unless NO_COLOR is set (or CLICOLOR_FORCE/FORCE_COLOR forces it).
    Auto,
    /// Always, even into a pipe or a file.
    Always,
    /// Never.
    Never,
}

/// When the processes of `start` run on pseudo-terminals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum TtyWhen {
    /// When procman's own standard output is a terminal (`"tty"` in procman.json decides per
    /// type).
    Auto,
    /// Always, even into a pipe or a file.
    Always,
    /// Never: pipes.
    Never,
}

/// How `start` holds the app's processes together (docs/guarantees.md has what each
/// promises).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ContainmentChoice {
    /// The strongest this host allows: cgroup, else namespace, else subreaper.
    Auto,
    /// A cgroup v2 tree with one cgroup per instance (root, or a delegated subtree).
    Cgroup,
    /// A PID namespace whose PID 1 is procman (root, or unprivileged user namespaces).
    Namespace,
    /// A child subreaper that walks /proc (works everywhere on Linux).
    Subreaper,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Start the application: every process of the Procfile, or the ones named.
    #[command(after_help = "Examples:\n  procman start\n  procman start web\n  procman start \
                            web worker\n  procman start web=3\n  procman start -m web=2,worker=1 \
                            -e .env,.env.local -p 3000")]
    Start(StartArgs),

    /// Run one command, or a process type by name as `start` runs its first instance, with
    /// the app's environment.
    #[command(after_help = "Examples:\n  procman run rake db:migrate\n  procman run web\n  \
                            procman run -e .env.test -- env")]
    Run(RunArgs),

    /// Check the Procfile (and env files) for errors, and say where Foreman reads them
    /// differently.
    #[command(after_help = "Examples:\n  procman check -f Procfile.dev\n  procman check \
                            --print-env -e .env,.env.local")]
    Check(CheckArgs),

    /// Export the application to a service manager's or a cluster's format.
    #[command(after_help = "Examples:\n  procman export systemd /etc/systemd/system -a myapp -u \
                            deploy\n  procman export inittab -\n  procman export kubernetes \
                            k8s/ --image registry.example/myapp:1.2\n  procman export \
                            --print-template systemd process.service")]
    Export(ExportArgs),

    /// Show the processes of a running `procman start`.
    #[command(after_help = "Examples:\n  procman ps\n  procman ps --json\n  procman ps --watch")]
    Ps(PsArgs),

    /// Restart a process type or one instance of a running `procman start`.
    #[command(after_help = "Examples:\n  procman restart web\n  procman restart web.2")]
    Restart(TargetArgs),

    /// Stop a process type or one instance of a running `procman start`; with no name, stop
    /// the whole run.
    #[command(after_help = "Examples:\n  procman stop worker.1\n  procman stop")]
    Stop(OptionalTargetArgs),

    /// Change how many instances of a process type a running `procman start` keeps.
    #[command(after_help = "Example:\n  procman scale web=3 worker=0")]
    Scale(ScaleArgs),

    /// Connect this terminal to one process of a running `procman start`: what you type goes
    /// to it, what it prints shows here; Ctrl-] detaches and it keeps running.
    #[command(
        after_help = "Examples:\n  procman attach web.1\n  procman attach web    (its first \
                            instance)\n\nCtrl-] detaches (the process keeps running). On a \
                            process with a pty the terminal is in raw mode: every key, Ctrl-C \
                            included, goes to the program. docs/terminals.md has the details."
    )]
    Attach(TargetArgs),

    /// Send a signal to the programs of a process type or instance of a running `procman start`.
    #[command(after_help = "Example:\n  procman signal web USR2")]
    Signal(SignalArgs),

    /// Make a running `procman start` read its Procfile, env files and config file again and
    /// apply the difference: changed types restart, added ones start, removed ones stop, the
    /// rest keep running
    #[command(after_help = "Example:\n  procman reload")]
    Reload(ControlArgs),

    /// Print a shell completion script.
    #[command(after_help = "Example:\n  procman completions bash > /etc/bash_completion.d/procman")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },

    /// Print the man page (roff), or write every page into a directory.
    #[command(after_help = "Examples:\n  procman manpage > procman.1\n  procman manpage --dir \
                            /usr/local/share/man/man1")]
    Manpage(ManpageArgs),

    /// Print the version, as `--version` does (Foreman's `foreman version`).
    Version,
}

#[derive(Debug, Args)]
pub(crate) struct ManpageArgs {
    /// Write procman.1 and one page per command (procman-start.1, procman-run.1...) into
    /// this directory, created if missing, instead of printing procman.1
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct StartArgs {
    /// Start only these processes (`web worker`), or this many of each (`web=3`)
    #[arg(value_name = "PROCESS[=N]")]
    pub(crate) processes: Vec<String>,

    #[command(flatten)]
    pub(crate) app: AppArgs,

    #[command(flatten)]
    pub(crate) plan: PlanArgs,

    /// Seconds to wait after the stop signal before SIGKILL, for every process (overrides
    /// `stop_timeout` in the config file) [default: 5]
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub(crate) timeout: Option<String>,

    /// Color the output: `--color=WHEN` or `--color WHEN` (auto, always, never); `-c` or
    /// `--color` alone forces it, as in Foreman
    #[arg(short = 'c', long, value_name = "WHEN", num_args = 0..=1, default_missing_value = "always", require_equals = true, overrides_with = "no_color")]
    pub(crate) color: Option<ColorWhen>,

    /// Never color the output (Foreman's `--no-color`; the same as `--color=never`)
    #[arg(long, overrides_with = "color")]
    pub(crate) no_color: bool,

    /// Leave the HH:MM:SS timestamp out of the prefix
    #[arg(long, overrides_with = "timestamp")]
    pub(crate) no_timestamp: bool,

    /// Put the timestamp in: the default, for overriding `timestamp: false` in .foreman
    #[arg(long, overrides_with = "no_timestamp")]
    pub(crate) timestamp: bool,

    /// Print children's lines without any prefix (for structured logs); procman's own lines
    /// go to standard error
    #[arg(long, overrides_with = "prefix")]
    pub(crate) no_prefix: bool,

    /// Print the prefix: the default, for overriding `prefix: false` in .foreman
    #[arg(long, overrides_with = "no_prefix")]
    pub(crate) prefix: bool,

    /// Run each process on a pseudo-terminal of its own, so it sees a terminal (line-buffered
    /// output, colors, progress bars): when procman's output is a terminal (auto), always, or
    /// never; `--tty` alone is always [default: auto]
    #[arg(long, value_enum, value_name = "WHEN", num_args = 0..=1, default_missing_value = "always", require_equals = true)]
    pub(crate) tty: Option<TtyWhen>,

    /// Give procman's terminal input to the first instance of this process type (on its pty,
    /// which echoes): what you type goes to it; Ctrl-C, Ctrl-Z and Ctrl-\ still act on procman
    #[arg(long, value_name = "NAME")]
    pub(crate) attach: Option<String>,

    /// Leave out procman's own lines but errors and exits: no `started with pid`, no
    /// `system` lines about signals, shutdown or state changes (docs/cli.md has the list)
    #[arg(short = 'q', long)]
    pub(crate) quiet: bool,

    #[command(flatten)]
    pub(crate) logs: LogArgs,

    #[command(flatten)]
    pub(crate) supervision: SupervisionArgs,

    /// The control socket for `procman ps`, `restart`, `stop`, `scale`, `signal` [default:
    /// .procman.sock beside the Procfile]
    #[arg(long, value_name = "PATH")]
    pub(crate) socket: Option<PathBuf>,

    /// Do not open a control socket
    #[arg(long)]
    pub(crate) no_socket: bool,

    /// How the app's processes are held together, so that none outlives procman: the
    /// strongest mechanism available (auto), or one asked for by name; asking for one that
    /// is not available is an error [default: auto]
    #[arg(long, value_enum, value_name = "MECHANISM", overrides_with = "isolate")]
    pub(crate) containment: Option<ContainmentChoice>,

    /// The same as `--containment=namespace` (the later of the two wins)
    #[arg(long, overrides_with = "containment")]
    pub(crate) isolate: bool,

    /// Reload on this signal (HUP) instead of stopping, as `procman reload` does [default:
    /// none: SIGHUP stops the run, as in Foreman]
    #[arg(long, value_name = "SIGNAL")]
    pub(crate) reload_signal: Option<String>,
}

/// Log files besides the terminal (`start`).
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct LogArgs {
    /// Also write each instance's output to DIR/NAME.N.log, a timestamp per line and no colors
    /// (created if missing) [default: `log_dir` in procman.json, else no log files]
    #[arg(long, value_name = "DIR")]
    pub(crate) log_dir: Option<PathBuf>,

    /// Rotate a log file before it passes this size: 10M, 512K, 1G, 1T or bytes, from 64K to 1T
    /// [default: 10M]
    #[arg(long, value_name = "SIZE")]
    pub(crate) log_max_size: Option<String>,

    /// How many rotated files to keep per instance (web.1.log.1 ... web.1.log.N; 0 keeps
    /// none, at most 100) [default: 5]
    #[arg(long, value_name = "N")]
    pub(crate) log_keep: Option<String>,
}

/// Restart policies and stop behaviour; each accepts `VALUE` for every process or
/// `NAME=VALUE,...` per process type (both may be mixed: `5,web=10`).
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct SupervisionArgs {
    /// When to restart a process that exits: never (Foreman), on-failure, always
    #[arg(long, value_name = "[NAME=]WHEN,...", value_delimiter = ',')]
    pub(crate) restart: Vec<String>,

    /// Failed starts in a row before a process is given up (FATAL)
    #[arg(long, value_name = "[NAME=]N,...", value_delimiter = ',')]
    pub(crate) max_restarts: Vec<String>,

    /// First delay between restarts, doubling up to 30x (e.g. `1s`, `500ms`)
    #[arg(long, value_name = "[NAME=]DURATION,...", value_delimiter = ',')]
    pub(crate) backoff: Vec<String>,

    /// How long a process must stay up to count as started (e.g. `1s`)
    #[arg(long, value_name = "[NAME=]DURATION,...", value_delimiter = ',')]
    pub(crate) start_grace: Vec<String>,

    /// The signal that stops a process (e.g. `INT`, `web=QUIT`)
    #[arg(long, value_name = "[NAME=]SIGNAL,...", value_delimiter = ',')]
    pub(crate) stop_signal: Vec<String>,

    /// Process types whose exit (or FATAL) does not end the run
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub(crate) can_die: Vec<String>,

    /// Per-process configuration (JSON) [default: procman.json beside the Procfile, if any]
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(trailing_var_arg = true)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) app: AppArgs,

    /// Env files to load, comma-separated; later files win [default: .env in the root, if any]
    #[arg(short = 'e', long = "env", value_name = "FILE,...", value_delimiter = ',')]
    pub(crate) env_files: Vec<PathBuf>,

    /// Base port for PORT [default: PORT from the env files, then $PORT, then 5000]
    #[arg(short = 'p', long, value_name = "PORT")]
    pub(crate) port: Option<String>,

    /// The command and its arguments, or the name of a Procfile entry
    #[arg(required = true, allow_hyphen_values = true, value_name = "COMMAND")]
    pub(crate) command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub(crate) app: AppArgs,

    /// Env files to check too, comma-separated [default: .env in the root, if any]
    #[arg(short = 'e', long = "env", value_name = "FILE,...", value_delimiter = ',')]
    pub(crate) env_files: Vec<PathBuf>,

    /// The per-process config file to check too [default: procman.json beside the Procfile, if
    /// any]
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// Print the variables the env files set, once resolved, as `KEY=value` lines that procman
    /// and Foreman read the same way (the other output becomes `#` comments)
    #[arg(long)]
    pub(crate) print_env: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// systemd, supervisord, launchd, runit, upstart, daemon, inittab, bluepill, compose,
    /// kubernetes
    #[arg(value_name = "FORMAT", required_unless_present = "print_template")]
    pub(crate) format: Option<String>,

    /// Where to write (a directory; `-` for standard output with inittab)
    #[arg(value_name = "LOCATION")]
    pub(crate) location: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) app_args: AppArgs,

    #[command(flatten)]
    pub(crate) plan: PlanArgs,

    /// The application's name [default: the root directory's name]
    #[arg(short = 'a', long, value_name = "NAME")]
    pub(crate) app: Option<String>,

    /// The user to run as [default: the app's name]
    #[arg(short = 'u', long, value_name = "USER")]
    pub(crate) user: Option<String>,

    /// The log directory [default: /var/log/APP]
    #[arg(short = 'l', long, value_name = "DIR")]
    pub(crate) log: Option<PathBuf>,

    /// The pid directory [default: /var/run/APP]
    #[arg(short = 'r', long = "run", value_name = "DIR")]
    pub(crate) run_dir: Option<PathBuf>,

    /// A directory of minijinja templates that override the built-in ones, file by file
    #[arg(short = 't', long, value_name = "DIR")]
    pub(crate) template: Option<PathBuf>,

    /// Print a built-in template (`--print-template systemd process.service`), or list the
    /// format's templates when NAME is left out; exports nothing
    #[arg(long, num_args = 1..=2, value_names = ["FORMAT", "NAME"], conflicts_with = "format")]
    pub(crate) print_template: Option<Vec<String>>,

    /// Seconds between the stop signal and SIGKILL, for every process (overrides
    /// `stop_timeout` in the config file) [default: 5]
    #[arg(long, value_name = "SECONDS")]
    pub(crate) timeout: Option<String>,

    /// The container image (compose, kubernetes)
    #[arg(long, value_name = "IMAGE")]
    pub(crate) image: Option<String>,

    /// Print what would be written instead of writing it
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Overwrite files and links at the location that neither procman nor Foreman's export of
    /// the app wrote (it never deletes them, nor writes through a link)
    #[arg(long)]
    pub(crate) force: bool,

    /// The systemd version of the target machines; from 254 on, a growing backoff is written
    /// with RestartSteps=
    #[arg(long, value_name = "VERSION")]
    pub(crate) systemd_version: Option<u32>,

    #[command(flatten)]
    pub(crate) supervision: SupervisionArgs,
}

/// How to reach a running `procman start`.
#[derive(Clone, Debug, Args)]
pub(crate) struct ControlArgs {
    /// The control socket [default: .procman.sock beside the Procfile]
    #[arg(long, value_name = "PATH")]
    pub(crate) socket: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) app: AppArgs,
}

#[derive(Debug, Args)]
pub(crate) struct PsArgs {
    #[command(flatten)]
    pub(crate) control: ControlArgs,

    /// Print JSON instead of a table
    #[arg(long)]
    pub(crate) json: bool,

    /// Redraw the table in place, like top: every second and at each change; keys restart, stop
    /// or attach the selected instance
    #[arg(long, conflicts_with = "json")]
    pub(crate) watch: bool,
}

#[derive(Debug, Args)]
pub(crate) struct TargetArgs {
    /// A process type (`web`) or one instance (`web.2`)
    #[arg(value_name = "NAME[.N]")]
    pub(crate) target: String,

    #[command(flatten)]
    pub(crate) control: ControlArgs,
}

#[derive(Debug, Args)]
pub(crate) struct OptionalTargetArgs {
    /// A process type (`web`) or one instance (`web.2`); none stops the whole run
    #[arg(value_name = "NAME[.N]")]
    pub(crate) target: Option<String>,

    #[command(flatten)]
    pub(crate) control: ControlArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ScaleArgs {
    /// New counts, e.g. `web=3 worker=0` or `web=3,worker=0`
    #[arg(value_name = "NAME=N", required = true, value_delimiter = ',')]
    pub(crate) counts: Vec<String>,

    #[command(flatten)]
    pub(crate) control: ControlArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SignalArgs {
    /// A process type (`web`) or one instance (`web.2`)
    #[arg(value_name = "NAME[.N]")]
    pub(crate) target: String,

    /// The signal: a name (`USR1`, `SIGHUP`) or a number
    #[arg(value_name = "SIGNAL")]
    pub(crate) signal: String,

    #[command(flatten)]
    pub(crate) control: ControlArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn dash_c_forces_color_and_color_takes_a_value() {
        let cli = Cli::try_parse_from(["procman", "start", "-c"]).expect("parses");
        let Command::Start(start) = cli.command else { panic!("not start") };
        assert_eq!(start.color, Some(ColorWhen::Always));
        let cli = Cli::try_parse_from(["procman", "start", "--color=never"]).expect("parses");
        let Command::Start(start) = cli.command else { panic!("not start") };
        assert_eq!(start.color, Some(ColorWhen::Never));
    }

    #[test]
    fn no_color_is_color_never_and_the_last_one_wins() {
        let cli = Cli::try_parse_from(["procman", "start", "-c", "--no-color"]).expect("parses");
        let Command::Start(start) = cli.command else { panic!("not start") };
        assert!(start.no_color && start.color.is_none());
        let cli = Cli::try_parse_from(["procman", "start", "--no-color", "-c"]).expect("parses");
        let Command::Start(start) = cli.command else { panic!("not start") };
        assert!(!start.no_color && start.color == Some(ColorWhen::Always));
    }

    #[test]
    fn the_last_of_timestamp_and_no_timestamp_wins() {
        let cli = Cli::try_parse_from(["procman", "start", "--no-timestamp", "--timestamp"])
            .expect("parses");
        let Command::Start(start) = cli.command else { panic!("not start") };
        assert!(!start.no_timestamp);
        let cli =
            Cli::try_parse_from(["procman", "start", "--prefix", "--no-prefix"]).expect("parses");
        let Command::Start(start) = cli.command else { panic!("not start") };
        assert!(start.no_prefix);
    }

    #[test]
    fn concurrency_is_an_alias_of_formation() {
        let cli =
            Cli::try_parse_from(["procman", "start", "--concurrency", "web=2"]).expect("parses");
        let Command::Start(start) = cli.command else { panic!("not start") };
        assert_eq!(start.plan.formation.as_deref(), Some("web=2"));
    }

    #[test]
    fn run_passes_options_after_the_command_through() {
        let cli = Cli::try_parse_from(["procman", "run", "ls", "-la"]).expect("parses");
        let Command::Run(run) = cli.command else { panic!("not run") };
        assert_eq!(run.command, vec!["ls", "-la"]);
    }
}
