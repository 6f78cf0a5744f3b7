//! `procman start`: run the app in the foreground, Foreman's way, on the supervision core.
//!
//! The policy lives here; the mechanics live in the library. By default any process that is
//! gone for good (exited without a restart coming, or fatal) ends the run: procman says so,
//! sends the stop signal to every process tree, waits the timeout, SIGKILLs what is left, sweeps
//! stray descendants and exits with the code [`Ending::exit_code`] decides. How that end cannot be
//! stalled (a second signal, a reader that stopped reading) is in [`shutdown`].

mod devloop;
mod live_line;
mod order;
mod reload;
mod shutdown;
mod terminal;
mod watch;

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::{self, IsTerminal};
use std::sync::Arc;
use std::time::{Duration, Instant};

use supervise::{
    CommandSpec, Driver, DriverOptions, Event, ExitStatus, InstanceId, Interest, Launch,
    OutputSpec, ProgramSpec, RestartPolicy, Signal, SignalReason, SpawnErrorKind, State, StdinSpec,
    Transition,
};

use crate::cli::TtyWhen;
use crate::control::ControlServer;
use crate::control::reload::Reload;
use crate::control::socket::BindError;
use crate::error::CliError;
use crate::options::Start;
use crate::output::{Format, HIGH_WATER, Printer};
use crate::plan::{InstancePlan, Plan};
use devloop::DevLoop;
use procman::diagnostic::{Diagnostic, Diagnostics, plural};
use procman::formation::InstanceLimit;
pub(crate) use reload::Reloader;
use shutdown::{Drain, StopWatch, stop_announcement};
use terminal::Terminal;

/// How long the report of an exit waits for the spawns asked for before it to reach their
/// `exec` (each is microseconds from it), so that their starts are reported first, as when
/// Foreman started them one by one.
const EXEC_WAIT: Duration = Duration::from_millis(200);

/// `procman start`: runs the planned app until it ends.
pub(crate) fn command(options: Start) -> Result<i32, CliError> {
    let Start {
        plan,
        format,
        socket,
        containment,
        can_die,
        tty,
        force_color,
        attach,
        source,
        reload_signal,
        logs,
    } = options;
    let plan = Arc::new(plan);
    let tty = (tty, io::stdout().is_terminal());
    let attach = match &attach {
        Some(name) => Some(terminal::attach_target(&plan, name, tty)?),
        None => None,
    };
    let verbose_states = verbose_states(&plan);
    // The formation must fit in the descriptors procman may open, checked before anything runs.
    let instance_limit = open_files_limit();
    let reloader = Reloader::new(source, tty, force_color, instance_limit, Arc::clone(&plan));
    let specs = reloader.specs();
    let total: u64 = plan.processes.iter().map(|p| u64::from(p.count)).sum();
    instance_limit.check(total, "the formation asks for").map_err(|message| {
        Diagnostics::from(Diagnostic::new(message).with_help(instance_limit.help()))
    })?;
    // Bound before anything starts: a second `procman start` here fails now, not half-way.
    let control = match socket {
        None => None,
        Some(socket) => match ControlServer::bind(&socket.path) {
            Ok(mut server) => {
                server.set_instance_limit(instance_limit);
                Some(server)
            }
            // The default socket is a convenience: a read-only checkout or a deep path must not
            // stop an app that Foreman would run. A socket asked for with --socket must work.
            Err(error @ (BindError::Create { .. } | BindError::PathTooLong { .. }))
                if !socket.named =>
            {
                crate::error::warn(&format!(
                    "{error}; running without a control socket (`procman ps` and the other \
                     control commands cannot reach this run)"
                ));
                None
            }
            Err(error) => return Err(error.into()),
        },
    };
    let contained = super::containment::establish(containment)?;
    let guard_lost = contained.guard_lost;
    let devloop = DevLoop::new(&plan, logs);
    let policy = StartPolicy {
        format,
        types: plan.processes.iter().map(|p| p.name.clone()).collect(),
        can_die,
        verbose_states,
        control,
        guard_lost,
        cgroup: contained.cgroup,
        containment_fallback: contained.fallback,
        attach,
        reload: Some(reloader),
        reload_signal,
        devloop,
    };
    run(specs, policy).map_err(|error| CliError::io("the supervision loop failed", error))
}

/// Report STARTING → RUNNING and the like when some restart policy or start grace is in use;
/// Foreman's plain output otherwise.
fn verbose_states(plan: &Plan) -> bool {
    plan.processes.iter().any(|p| {
        p.settings.restart.is_some_and(|r| r != RestartPolicy::Never)
            || p.settings.start_grace.is_some()
    })
}

/// Raises the soft limit of open files to the hard one (large formations need more descriptors
/// than the usual 1024; children get the original limit back), and returns how many instances
/// the result can hold.
fn open_files_limit() -> InstanceLimit {
    let _ = supervise::raise_open_files_limit();
    match nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE) {
        Ok((soft, _)) => InstanceLimit::for_open_files(soft),
        Err(_) => InstanceLimit::default(),
    }
}

/// One group per process type with a count above zero. Each instance gets its own PORT, PS and
/// command (Foreman substitutes `$PORT` into the command text) through the instance hook, and
/// a standard input that stays open and empty (a watcher that quits at the end of its input
/// keeps running), on a pty or on pipes as `tty` (`--tty`, and whether procman's output is a
/// terminal) says. With `force_color`, `FORCE_COLOR` and `CLICOLOR_FORCE` tell the children to
/// color too.
fn program_specs(plan: &Arc<Plan>, tty: (TtyWhen, bool), force_color: bool) -> Vec<ProgramSpec> {
    plan.processes
        .iter()
        .filter(|process| process.count > 0)
        .map(|process| {
            let first = plan.instance(process, 1);
            let mut spec = ProgramSpec::new(process.name.as_str(), command_spec(plan, &first));
            spec.cwd = Some(plan.working_dir(process));
            spec.stdin = StdinSpec::Host;
            spec.stderr = OutputSpec::MergeWithStdout;
            if runs_on_pty(tty, process.settings.tty) {
                spec.stdout = OutputSpec::Pty;
            } else {
                spec.stdout = OutputSpec::Pipe;
                // Python block-buffers into a pipe, so its output would show only when it
                // exits; the environment (procman's, or the app's, applied after) may say
                // otherwise.
                if std::env::var_os("PYTHONUNBUFFERED").is_none() {
                    spec.env.set("PYTHONUNBUFFERED", "1");
                }
            }
            for var in ["FORCE_COLOR", "CLICOLOR_FORCE"] {
                if force_color && std::env::var_os(var).is_none() {
                    spec.env.set(var, "1");
                }
            }
            let settings = process.settings.for_start();
            spec.restart = settings.restart;
            spec.stop_signal = settings.stop_signal;
            spec.stop_timeout = settings.stop_timeout;
            spec.start_grace = settings.start_grace;
            spec.max_retries = settings.max_retries;
            if let Some(backoff) = settings.backoff {
                spec.backoff = backoff;
            }
            if let Some(codes) = settings.expected_exit_codes {
                spec.expected_exit_codes = codes;
            }
            spec.umask = settings.umask;
            spec.instances = process.count;
            order::apply(&mut spec, process, plan);
            let plan = Arc::clone(plan);
            let index = process.index;
            spec.instance_hook = Some(Arc::new(move |n, launch: &mut Launch| {
                let Some(process) = plan.processes.get(index) else { return };
                let instance = plan.instance(process, n);
                launch.command = command_spec(&plan, &instance);
                launch.env = plan
                    .instance_env(&instance)
                    .into_iter()
                    .map(|(k, v)| (OsString::from(k), OsString::from(v)))
                    .collect();
            }));
            spec
        })
        .collect()
}

/// Whether a process type runs on a pty: `--tty=always|never` decides; under auto, the type's
/// `"tty"` in procman.json, else whether procman's own output is a terminal.
fn runs_on_pty((when, on_terminal): (TtyWhen, bool), configured: Option<bool>) -> bool {
    match when {
        TtyWhen::Always => true,
        TtyWhen::Never => false,
        TtyWhen::Auto => configured.unwrap_or(on_terminal),
    }
}

/// Gives the ptys procman's window, less the prefix of every line (at least 20 columns); returns
/// the window's width.
fn follow_window_size(driver: &mut Driver, format: &Format) -> Option<u16> {
    let Ok((cols, rows)) = crossterm::terminal::size() else { return None };
    // A terminal that reports no size (0x0) counts as the usual 80x24, as in `ps --watch`: its
    // processes would otherwise see 20 columns and no rows.
    let (cols, rows) = if cols == 0 || rows == 0 { (80, 24) } else { (cols, rows) };
    let prefix = if format.prefix {
        // `HH:MM:SS ` and `name | `.
        format.width + 3 + if format.timestamps { 9 } else { 0 }
    } else {
        0
    };
    let width = cols;
    let cols = cols.saturating_sub(u16::try_from(prefix).unwrap_or(u16::MAX)).max(20);
    driver.set_window_size(cols, rows);
    Some(width)
}

fn command_spec(plan: &Plan, instance: &InstancePlan) -> CommandSpec {
    let argv = plan.argv_for(instance).unwrap_or_default();
    let mut words = argv.into_iter();
    let program = words.next().unwrap_or_default();
    CommandSpec::new(program).args(words)
}

/// Why the run ended. The exit code follows from it, in one place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// A process ended (exited, was killed, or gave up) and brought the run down.
    Process { id: InstanceId, status: Option<ExitStatus>, spawn_error: Option<SpawnErrorKind> },
    /// procman received this signal.
    Signal(Signal),
    /// procman's standard output was closed (`procman start | head`).
    OutputClosed,
    /// `procman stop` with no name, over the control socket.
    Requested,
    /// Every process is gone and each was allowed to die (`--can-die`).
    AllDone,
}

impl Ending {
    /// The exit code rule, documented in docs/cli.md: the status of the process that ended the
    /// run (128 + N when a signal N killed it; 127 or 126 when it could not be executed), or
    /// 128 + N when signal N to procman ended it; 0 when the user or a closed output ended it.
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            Ending::Process { status: Some(status), .. } => status.shell_code(),
            Ending::Process { spawn_error: Some(SpawnErrorKind::NotFound), .. } => 127,
            Ending::Process { spawn_error: Some(SpawnErrorKind::NotExecutable), .. } => 126,
            Ending::Process { .. } => 1,
            Ending::Signal(signal) => 128 + signal.as_raw(),
            Ending::OutputClosed | Ending::Requested | Ending::AllDone => 0,
        }
    }
}

/// How `start` behaves beyond the specs themselves.
pub(crate) struct StartPolicy {
    pub(crate) format: Format,
    /// Process types in Procfile order (for colors and start order).
    pub(crate) types: Vec<String>,
    /// Process types whose end does not end the run.
    pub(crate) can_die: HashSet<String>,
    /// Report STARTING → RUNNING and the like: on when some restart policy is in use, off for
    /// Foreman's plain output.
    pub(crate) verbose_states: bool,
    /// Where to listen for control commands, if anywhere.
    pub(crate) control: Option<ControlServer>,
    /// The signal that says the guard process is gone.
    pub(crate) guard_lost: Option<Signal>,
    /// The cgroup tree that holds the app, if it runs in one.
    pub(crate) cgroup: Option<supervise::CgroupTree>,
    /// Why `--containment=auto` settled for less than the cgroup, for the line that names the
    /// mechanism.
    pub(crate) containment_fallback: Option<String>,
    /// The instance procman's terminal input goes to (`--attach`), and whether it has a pty.
    pub(crate) attach: Option<(InstanceId, bool)>,
    /// How the run reloads itself (`procman reload`); `None`: it does not.
    pub(crate) reload: Option<Reloader>,
    /// The signal that reloads instead of stopping (`--reload-signal`).
    pub(crate) reload_signal: Option<Signal>,
    /// Log files and restart on change.
    pub(crate) devloop: DevLoop,
}

/// Runs the app until it ends; returns the exit code.
pub(crate) fn run(specs: Vec<ProgramSpec>, policy: StartPolicy) -> io::Result<i32> {
    let mut signals = vec![
        Signal::INT,
        Signal::TERM,
        Signal::HUP,
        Signal::QUIT,
        Signal::USR1,
        Signal::USR2,
        Signal::WINCH,
        // Job control: Ctrl-Z stops the whole app, `fg` resumes it (terminal.rs).
        Signal::TSTP,
        Signal::CONT,
    ];
    signals.extend(policy.guard_lost);
    let mut driver = Driver::new(DriverOptions {
        signals,
        cgroup: policy.cgroup.clone(),
        // The guard's loss kills everything at once, even half-way through a large start.
        kill_all_on: policy.guard_lost.into_iter().collect(),
        // Foreman's order: the formation's starts, then its output.
        starts_before_output: true,
        exec_wait: EXEC_WAIT,
        ..DriverOptions::default()
    })?;
    let mut printer = Printer::new(policy.format, &policy.types)?;
    // Said once, before anything starts: the driver's own view is the mechanism in use.
    let fallback = policy.containment_fallback.as_deref();
    if let Some(line) =
        super::containment::announcement(&driver.containment(), fallback, policy.format.quiet)
    {
        printer.warn(&line);
    }
    if specs.iter().any(|spec| spec.stdout == OutputSpec::Pty) {
        follow_window_size(&mut driver, &policy.format);
    }
    let names: Vec<String> = specs.iter().map(|s| s.name.to_string()).collect();
    // In any order: a group may depend on one added after it.
    driver.add_groups(specs).map_err(io::Error::other)?;
    for line in policy.reload.as_ref().map(|r| order::skipped(r.plan())).unwrap_or_default() {
        let _ = printer.system(&line);
    }
    let terminal = Terminal::new(policy.attach.clone())?;
    let mut session = Session {
        terminal,
        policy,
        ending: None,
        announced_kill: false,
        forwarding: HashSet::new(),
        stop_watch: StopWatch::default(),
        hurry: false,
    };
    if let Some(control) = session.policy.control.as_mut() {
        control.register(&mut driver)?;
        control.set_local_attach(session.terminal.attached().cloned());
    }
    for name in &names {
        // A group that fails to start reports it through its events; keep starting the rest
        // only while the run has not been told to end.
        if session.ending.is_some() {
            break;
        }
        let _ = driver.start_group(name);
        session.handle_events(&mut driver, &mut printer);
    }
    session.terminal.acquire(&mut driver);
    session.policy.devloop.arm(&mut driver, &mut printer);
    // What ran only to start (the command line, the Procfile, the first spawns) leaves
    // procman's resident memory.
    supervise::release_startup_pages();
    let mut stdout_watched = false;
    while !driver.is_finished() {
        if printer.flush().is_err() && printer.is_broken() {
            session.end(&mut driver, &mut printer, Ending::OutputClosed);
        }
        // A reader that does not keep up holds the children back through their pipes, not
        // through a blocked write: the loop stays free for signals and timers.
        let devloop = &mut session.policy.devloop;
        driver.pause_output(printer.backlog() >= HIGH_WATER || devloop.is_backed_up());
        watch_output(&mut driver, &printer, &mut stdout_watched);
        let now = Instant::now();
        let wake = [session.stop_watch.wake_in(now), devloop.wake_in(now), session.control_wake()]
            .into_iter()
            .flatten()
            .min();
        driver.turn(wake)?;
        session.handle_events(&mut driver, &mut printer);
        session.control_round(&mut driver, &mut printer);
        session.stop_watch.announce_if_due(&driver, &mut printer);
        session.policy.devloop.after_turn(&mut driver, &mut printer);
    }
    session.policy.devloop.finish(&mut printer);
    // The app is gone. What is still queued goes out while the reader takes it; a reader that
    // stopped reading, or a second signal, gets it dropped (with a count) instead of a procman
    // that never ends. If the guard is gone, procman must go at once: one second in all.
    let guard_lost = matches!(session.ending, Some(Ending::Signal(Signal::KILL)));
    let mut drain = Drain::new(&printer, guard_lost.then_some(Duration::from_secs(1)));
    while let Some(wait) = drain.next_wait(&mut printer) {
        if session.hurry {
            break;
        }
        watch_output(&mut driver, &printer, &mut stdout_watched);
        driver.turn(Some(session.control_wake().map_or(wait, |now| now.min(wait))))?;
        session.handle_events(&mut driver, &mut printer);
        session.control_round(&mut driver, &mut printer);
    }
    drain.finish(&mut printer, session.hurry);
    session.terminal.release();
    if let Some(control) = session.policy.control.as_mut() {
        control.close();
    }
    Ok(session.ending.as_ref().map_or(0, Ending::exit_code))
}

/// Once output waits for its reader, has the loop woken when the reader takes more (once: the
/// descriptor stays registered).
fn watch_output(driver: &mut Driver, printer: &Printer, watched: &mut bool) {
    if *watched || printer.backlog() == 0 {
        return;
    }
    if let Some(fd) = printer.pollable_fd() {
        *watched = driver.watch(fd, Interest::WRITABLE).is_ok();
    }
}

struct Session {
    /// procman's own terminal: job control, and `--attach`.
    terminal: Terminal,
    policy: StartPolicy,
    ending: Option<Ending>,
    announced_kill: bool,
    /// USR1/USR2 sent to these instances on procman's behalf, not yet reported by the driver.
    forwarding: HashSet<(InstanceId, Signal)>,
    /// Says once, during a slow stop, whom procman waits for.
    stop_watch: StopWatch,
    /// A second signal (or SIGQUIT) asked procman to quit at once: nothing waits any more, not
    /// even output for its reader.
    hurry: bool,
}

impl Session {
    fn handle_events(&mut self, driver: &mut Driver, printer: &mut Printer) {
        let events: Vec<Event> = driver.drain_events().collect();
        if events.is_empty() {
            return;
        }
        self.terminal.before_lines(printer);
        for event in events {
            self.handle(driver, printer, event);
        }
        self.terminal.after_lines(driver, printer);
    }

    fn handle(&mut self, driver: &mut Driver, printer: &mut Printer, event: Event) {
        // State changes, signals and removals go to `events` subscribers of the control socket.
        if let Some(control) = self.policy.control.as_mut() {
            control.publish(&event, driver);
        }
        // Write errors other than a closed output are not actionable mid-run; a closed output
        // is noticed at the next flush and ends the run.
        match event {
            Event::Output(output) => {
                self.policy.devloop.output(&output);
                let _ = printer.output(&output.id, &output.data);
            }
            Event::State(transition) => {
                self.report(printer, &transition);
                if let Some(line) = order::ready_line(driver, &transition) {
                    let _ = printer.system(&line);
                }
                self.apply_run_policy(driver, printer, &transition);
            }
            Event::Signal { id, pid, signal, reason } => {
                let shutting_down = driver.supervisor().is_shutting_down();
                match reason {
                    SignalReason::Kill if shutting_down => {
                        if !self.announced_kill {
                            self.announced_kill = true;
                            let _ = printer.alert("sending SIGKILL to all processes");
                        }
                    }
                    SignalReason::Kill => {
                        let _ = printer.alert(&format!(
                            "{id} did not stop in time: sending SIGKILL (pid {pid})"
                        ));
                    }
                    SignalReason::Stop if !shutting_down => {
                        let _ = printer.system(&format!("sending {signal} to {id} (pid {pid})"));
                    }
                    SignalReason::Stop => {}
                    // Foreman announces a forwarded USR1/USR2 once, not per process.
                    SignalReason::Request if self.forwarding.remove(&(id.clone(), signal)) => {}
                    SignalReason::Request => {
                        let _ = printer.system(&format!("sending {signal} to {id} (pid {pid})"));
                    }
                }
            }
            Event::SignalReceived(signal) => self.on_signal(driver, printer, signal),
            // A type a reload removes is named once, when it is gone.
            Event::Removed(id)
                if self.policy.reload.as_ref().is_some_and(|r| r.removes(&id.group)) => {}
            Event::Removed(id) => {
                let _ = printer.system(&format!("{id} removed (scaled down)"));
            }
            Event::StraysKilled { pids } => {
                let list: Vec<String> = pids.iter().map(u32::to_string).collect();
                let _ = printer.alert(&format!(
                    "killed {} leftover descendant {} (pid {})",
                    pids.len(),
                    plural(pids.len(), "process", "processes"),
                    list.join(", ")
                ));
            }
            Event::Ready(watch) if self.terminal.on_ready(watch, driver) => {}
            Event::StdinReady(id) => self.terminal.on_stdin_ready(&id, driver),
            Event::RawOutput(raw) => self.terminal.on_raw_output(&raw),
            Event::Ready(watch) if self.policy.devloop.on_ready(watch) => {}
            Event::Ready(watch) => {
                let commands = self.with_control(driver, |control, driver, reload| {
                    control.on_ready(watch, driver, reload)
                });
                for command in commands {
                    self.control_command(driver, printer, command);
                }
            }
            Event::PtyUnavailable { id, reason } => {
                let _ = printer.system(&format!(
                    "warning: no pty for {id} ({reason}): it runs on pipes, as will the next \
                     processes until a pty is free"
                ));
            }
            Event::Notice(notice) => {
                if let (Some(reloader), supervise::Notice::GroupRemoved(group)) =
                    (self.policy.reload.as_mut(), &notice)
                {
                    reloader.removed(group);
                }
                order::report(printer, driver, &notice);
            }
            Event::ReadinessCheckFailed { id, message } => {
                order::check_failed(printer, &id, &message);
            }
            Event::ShutdownComplete | Event::Reaped { .. } => {}
            _ => {}
        }
    }

    /// Puts a state change into words: Foreman's for starts and exits, supervisord's state
    /// names for the rest.
    fn report(&self, printer: &mut Printer, t: &Transition) {
        let name = &t.id;
        // Foreman's lines, under the process's own name.
        if let (State::Starting, Some(pid)) = (t.to, t.pid) {
            let _ = printer.note(name, &format!("started with pid {pid}"));
        }
        if let Some(error) = &t.spawn_error {
            let _ = printer.message(name, &error.message);
        } else if t.exit.is_some()
            && matches!(t.to, State::Exited | State::Stopped | State::Backoff | State::Fatal)
        {
            let _ = printer.message(name, &exit_words(t.exit));
        }
        // Every state change in supervisord's words, once supervision options are in use
        // (Foreman's plain output otherwise; a backoff only happens with them anyway).
        // A process given up is an error, which `--quiet` keeps.
        if t.to == State::Fatal && self.policy.verbose_states {
            let _ = printer.alert(&state_words(t));
        } else if self.policy.verbose_states || t.to == State::Backoff {
            let _ = printer.system(&state_words(t));
        }
    }

    /// Foreman's rule: a process gone for good ends the run, unless it may die.
    fn apply_run_policy(&mut self, driver: &mut Driver, printer: &mut Printer, t: &Transition) {
        if self.ending.is_some() || driver.supervisor().is_shutting_down() {
            return;
        }
        let gone =
            matches!(t.to, State::Exited | State::Fatal) && driver.supervisor().is_settled(&t.id);
        if !gone {
            return;
        }
        // A one-shot job others wait for (`"depends_on": {"migrate": "exited"}`) did its job.
        let done = t.to == State::Exited && t.expected == Some(true);
        if self.policy.can_die.contains(&*t.id.group)
            || (done && order::awaited_exit(driver, &t.id.group))
        {
            let all_settled = driver
                .supervisor()
                .snapshot(std::time::Instant::now())
                .iter()
                .all(|i| driver.supervisor().is_settled(&i.id));
            if all_settled {
                self.end(driver, printer, Ending::AllDone);
            }
            return;
        }
        let ending = Ending::Process {
            id: t.id.clone(),
            status: t.exit,
            spawn_error: t.spawn_error.as_ref().map(|e| e.kind),
        };
        self.end(driver, printer, ending);
    }

    fn on_signal(&mut self, driver: &mut Driver, printer: &mut Printer, signal: Signal) {
        if signal == Signal::WINCH {
            if let Some(columns) = follow_window_size(driver, &self.policy.format) {
                self.terminal.set_columns(columns);
            }
            return;
        }
        if signal == Signal::TSTP {
            self.terminal.suspend(driver, printer);
            return;
        }
        if signal == Signal::CONT {
            self.terminal.resume(driver, printer);
            // The window may have changed meanwhile.
            if let Some(columns) = follow_window_size(driver, &self.policy.format) {
                self.terminal.set_columns(columns);
            }
            return;
        }
        if Some(signal) == self.policy.guard_lost {
            let _ = printer.alert("the guard process is gone: killing every process now");
            self.stop_watch.cancel();
            self.ending.get_or_insert(Ending::Signal(Signal::KILL));
            // Nobody is left to wait for: SIGKILL to everything at once, no stop timeout.
            driver.kill_all();
            return;
        }
        // Once the run is ending there is nothing to reload: the signal counts as a second
        // signal (below), which ends procman at once.
        if Some(signal) == self.policy.reload_signal && !driver.supervisor().is_shutting_down() {
            self.reload(driver, printer, &format!("{signal} received"));
            return;
        }
        let name = signal.name().unwrap_or("signal");
        if signal == Signal::QUIT {
            // Ctrl-\ means "quit now": no grace period, but still nothing left behind.
            let _ = printer.system("SIGQUIT received: sending SIGKILL to all processes");
            self.announced_kill = true;
            self.hurry = true;
            self.stop_watch.cancel();
            self.ending.get_or_insert(Ending::Signal(signal));
            driver.shutdown();
            driver.kill_stopping();
            return;
        }
        if signal == Signal::USR1 || signal == Signal::USR2 {
            let _ = printer.system(&format!("{name} received, forwarding it to children"));
            let live: Vec<InstanceId> =
                driver.supervisor().live_pids().map(|(_, id)| id.clone()).collect();
            for id in live {
                if driver.signal(&id, signal).is_ok() {
                    self.forwarding.insert((id, signal));
                }
            }
            return;
        }
        if driver.supervisor().is_shutting_down() {
            let _ = printer
                .system(&format!("{signal} received again: sending SIGKILL to all processes"));
            self.announced_kill = true;
            self.hurry = true;
            self.stop_watch.cancel();
            driver.kill_stopping();
            return;
        }
        let _ = printer.system(&format!("{signal} received, starting shutdown"));
        self.end(driver, printer, Ending::Signal(signal));
    }

    /// Ends the run: remembers why (the first reason wins) and stops everything.
    fn end(&mut self, driver: &mut Driver, printer: &mut Printer, ending: Ending) {
        if self.ending.is_none() {
            self.ending = Some(ending);
        }
        if driver.supervisor().is_shutting_down() {
            return;
        }
        let _ = printer.system(&stop_announcement(driver));
        driver.shutdown();
        self.stop_watch.begin(Instant::now());
    }

    /// No wait at all while a control connection has work left that no readiness will
    /// announce (its budget for the turn ran out first).
    fn control_wake(&self) -> Option<Duration> {
        let control = self.policy.control.as_ref()?;
        control.has_backlog().then_some(Duration::ZERO)
    }

    /// Ends the control server's round: the connections with work left get their budget, after
    /// the turn's signals, exits and output.
    fn control_round(&mut self, driver: &mut Driver, printer: &mut Printer) {
        let commands = self.with_control(driver, ControlServer::service_backlog);
        if commands.is_empty() {
            return;
        }
        self.terminal.before_lines(printer);
        for command in commands {
            self.control_command(driver, printer, command);
        }
        self.terminal.after_lines(driver, printer);
    }

    /// Lets the control server serve its clients with the run's reload at hand; returns what
    /// they asked of the run.
    fn with_control(
        &mut self,
        driver: &mut Driver,
        serve: impl FnOnce(
            &mut ControlServer,
            &mut Driver,
            Option<&mut dyn Reload>,
        ) -> Vec<crate::control::RunCommand>,
    ) -> Vec<crate::control::RunCommand> {
        let Some(control) = self.policy.control.as_mut() else { return Vec::new() };
        let reload = self.policy.reload.as_mut().map(|r| r as &mut dyn Reload);
        serve(control, driver, reload)
    }

    fn control_command(
        &mut self,
        driver: &mut Driver,
        printer: &mut Printer,
        command: crate::control::RunCommand,
    ) {
        match command {
            crate::control::RunCommand::StopAll => {
                let _ = printer.system("stop requested over the control socket");
                self.end(driver, printer, Ending::Requested);
            }
            crate::control::RunCommand::Notice(text) => {
                let _ = printer.system(&text);
            }
            crate::control::RunCommand::Reloaded(result) => {
                self.reloaded(driver, printer, "as requested over the control socket", result);
            }
        }
    }
}

/// A state change in supervisord's words: `web.1 entered RUNNING state`.
fn state_words(t: &Transition) -> String {
    let name = &t.id;
    match t.to {
        State::Starting => match t.pid {
            Some(pid) => format!("{name} entered STARTING state (pid {pid})"),
            None => format!("{name} entered STARTING state"),
        },
        State::Backoff => {
            format!("{name} exited too quickly: entered BACKOFF state (retry {})", t.retries)
        }
        State::Fatal if t.spawn_error.is_some() => {
            format!("{name} gave up: entered FATAL state, it cannot be started")
        }
        State::Fatal => {
            format!("{name} gave up: entered FATAL state, too many start retries too quickly")
        }
        State::Exited => match t.expected {
            Some(true) => format!("{name} entered EXITED state (expected)"),
            Some(false) => format!("{name} entered EXITED state (not expected)"),
            None => format!("{name} entered EXITED state"),
        },
        other => format!("{name} entered {} state", other.name()),
    }
}

/// Foreman's words for how a process ended.
fn exit_words(status: Option<ExitStatus>) -> String {
    match status {
        Some(ExitStatus::Code(code)) => format!("exited with code {code}"),
        Some(ExitStatus::Signaled(signal)) => format!("terminated by {signal}"),
        None => "died a mysterious death".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_follows_the_ending() {
        let id = InstanceId::new("web", 1);
        let process = |status, spawn_error| Ending::Process { id: id.clone(), status, spawn_error };
        assert_eq!(process(Some(ExitStatus::Code(3)), None).exit_code(), 3);
        assert_eq!(process(Some(ExitStatus::Signaled(Signal::KILL)), None).exit_code(), 137);
        assert_eq!(process(None, Some(SpawnErrorKind::NotFound)).exit_code(), 127);
        assert_eq!(process(None, Some(SpawnErrorKind::NotExecutable)).exit_code(), 126);
        assert_eq!(Ending::Signal(Signal::INT).exit_code(), 130);
        assert_eq!(Ending::Signal(Signal::TERM).exit_code(), 143);
        assert_eq!(Ending::OutputClosed.exit_code(), 0);
    }
}
