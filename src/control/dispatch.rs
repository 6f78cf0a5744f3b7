//! What each control command does to the supervisor, and the answer it gets.
//!
//! Every request goes through the [`Driver`]'s own request methods, so the state machine
//! decides what is allowed exactly as it does for procman itself; a refusal
//! ([`RequestError`]) becomes an error answer carrying its message.

use std::time::{Instant, SystemTime};

use serde_json::{Map, Value};
use supervise::{
    Containment, Driver, Event, InstanceId, InstanceInfo, RequestError, Signal, State, Transition,
    Wait,
};

use super::RunCommand;
use super::reload::{self, Reload};
use procman::control::proto::{
    DependencyInfo, ErrorKind, Failure, ProcessInfo, PsReply, Request, ServerInfo, Totals,
    WaitingFor,
};
use procman::diagnostic::{closest, fragment, plural};
use procman::formation::InstanceLimit;

/// The result of one request.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// The answer's fields (besides the envelope).
    pub(super) fields: Map<String, Value>,
    /// What the run itself must do.
    pub(super) commands: Vec<RunCommand>,
    /// Subscribe the connection to events.
    pub(super) subscribe: bool,
    /// Keep the connection open until the server closes (so `stop-all` clients can wait for
    /// the end of the run by waiting for EOF).
    pub(super) hold: bool,
    /// Relay raw bytes between the connection and this instance from now on.
    pub(super) attach: Option<InstanceId>,
    /// Answer with this error instead, the run's commands carried out all the same (a refused
    /// `reload` is news for the run's output too).
    pub(super) refusal: Option<Failure>,
}

impl Outcome {
    fn message(text: impl Into<String>) -> Outcome {
        let text = text.into();
        let mut outcome = Outcome::default();
        outcome.fields.insert("message".into(), text.clone().into());
        outcome
            .commands
            .push(RunCommand::Notice(format!("{text}, as requested over the control socket")));
        outcome
    }
}

/// What the run tells the commands about itself.
#[derive(Clone, Copy, Debug)]
pub(super) struct Context {
    /// When the run started (for `ps`).
    pub(super) started: Instant,
    /// How many instances `scale` may make in all.
    pub(super) instance_limit: InstanceLimit,
}

/// What a name in a request designates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Target {
    /// A process type: every instance.
    Group(String),
    /// One instance.
    Instance(InstanceId),
}

/// Carries out a request.
pub(super) fn execute(
    request: Request,
    driver: &mut Driver,
    context: &Context,
    reload: Option<&mut (dyn Reload + '_)>,
) -> Result<Outcome, Failure> {
    match request {
        Request::Reload => reload_run(driver, reload),
        Request::Ps => ps(driver, context.started),
        Request::Restart { target } => match resolve(driver, &target)? {
            Target::Group(name) => {
                let count = instance_count(driver, &name);
                driver.restart_group(&name).map_err(refused)?;
                Ok(Outcome::message(format!("restarting {name} ({})", instances(count))))
            }
            Target::Instance(id) => {
                // Asked by name: take it out of FATAL, as a restart of its type would.
                if driver.supervisor().state(&id) == Some(State::Fatal) {
                    driver.reset(&id).map_err(refused)?;
                }
                driver.restart(&id).map_err(refused)?;
                Ok(Outcome::message(format!("restarting {id}")))
            }
        },
        Request::Stop { target } => match resolve(driver, &target)? {
            Target::Group(name) => {
                driver.stop_group(&name).map_err(refused)?;
                Ok(Outcome::message(format!("stopping {name}")))
            }
            Target::Instance(id) => {
                driver.stop(&id).map_err(refused)?;
                Ok(Outcome::message(format!("stopping {id}")))
            }
        },
        Request::Start { target } => start(driver, &target),
        Request::Scale { counts } => {
            // Check every name before changing anything, so a typo changes nothing.
            for name in counts.keys() {
                if driver.supervisor().spec(name).is_none() {
                    return Err(unknown(driver, name));
                }
            }
            // The run's instance limit holds for the new total, as for the formation at start.
            let supervisor = driver.supervisor();
            let total: u64 = supervisor
                .group_names()
                .map(|name| counts.get(&**name).copied().or(supervisor.target(name)).unwrap_or(0))
                .map(u64::from)
                .sum();
            let limit = context.instance_limit;
            limit.check(total, "scaling would make").map_err(|message| {
                Failure::new(ErrorKind::Refused, format!("{message}; {}", limit.help()))
            })?;
            let mut parts = Vec::new();
            for (name, count) in &counts {
                driver.scale(name, *count).map_err(refused)?;
                parts.push(format!("{name} to {count}"));
            }
            Ok(Outcome::message(format!("scaling {}", parts.join(", "))))
        }
        Request::Signal { target, signal } => {
            let signal: Signal = signal
                .parse()
                .map_err(|err: supervise::UnknownSignal| bad_request(err.to_string()))?;
            let ids = match resolve(driver, &target)? {
                Target::Instance(id) => vec![id],
                Target::Group(name) => {
                    let live: Vec<InstanceId> = driver
                        .supervisor()
                        .snapshot(Instant::now())
                        .into_iter()
                        .filter(|i| *i.id.group == *name && i.state.has_process())
                        .map(|i| i.id)
                        .collect();
                    if live.is_empty() {
                        let message = format!("cannot signal `{name}`: no instance is running");
                        return Err(Failure::new(ErrorKind::Refused, message));
                    }
                    live
                }
            };
            for id in &ids {
                driver.signal(id, signal).map_err(refused)?;
            }
            let names: Vec<String> = ids.iter().map(ToString::to_string).collect();
            Ok(Outcome::message(format!("sending {signal} to {}", names.join(", "))))
        }
        Request::StopAll => {
            let mut outcome = Outcome::default();
            outcome.fields.insert("message".into(), "stopping every process".into());
            outcome.commands.push(RunCommand::StopAll);
            outcome.hold = true;
            Ok(outcome)
        }
        Request::Events => {
            let mut outcome = Outcome::default();
            outcome.fields.insert("subscribed".into(), true.into());
            outcome.subscribe = true;
            Ok(outcome)
        }
        Request::Attach { target } => {
            let id = super::attach::target_instance(driver, &target)?;
            let fields = super::attach::answer_fields(driver, &id);
            Ok(Outcome { fields, attach: Some(id), ..Outcome::default() })
        }
    }
}

/// `start`: an explicit start also takes a FATAL instance out of FATAL, as `supervisorctl
/// start` does; the user asking by name is the signal that the cause was fixed.
fn start(driver: &mut Driver, target: &str) -> Result<Outcome, Failure> {
    match resolve(driver, target)? {
        Target::Group(name) => {
            let fatal: Vec<InstanceId> = driver
                .supervisor()
                .snapshot(Instant::now())
                .into_iter()
                .filter(|i| *i.id.group == *name && i.state == State::Fatal)
                .map(|i| i.id)
                .collect();
            for id in &fatal {
                driver.reset(id).map_err(refused)?;
            }
            driver.start_group(&name).map_err(refused)?;
            Ok(Outcome::message(format!("starting {name}")))
        }
        Target::Instance(id) => {
            if driver.supervisor().state(&id) == Some(State::Fatal) {
                driver.reset(&id).map_err(refused)?;
            }
            driver.start(&id).map_err(refused)?;
            Ok(Outcome::message(format!("starting {id}")))
        }
    }
}

/// `reload`: the run re-reads its files; the answer lists what was restarted (with why),
/// started, stopped, scaled and kept. A new configuration with errors is refused whole, with
/// `check`'s messages, and nothing changes.
fn reload_run(
    driver: &mut Driver,
    reload: Option<&mut (dyn Reload + '_)>,
) -> Result<Outcome, Failure> {
    let Some(reload) = reload else {
        return Err(Failure::new(ErrorKind::Refused, "this run cannot reload"));
    };
    match reload.reload(driver) {
        Ok(plan) => {
            let message = reload::summary_with(&plan, reload.unapplied());
            let mut fields = reload::answer(&plan);
            fields.insert("message".into(), message.clone().into());
            let mut outcome = Outcome { fields, ..Outcome::default() };
            outcome.commands.push(RunCommand::Reloaded(Ok(message)));
            Ok(outcome)
        }
        Err(diagnostics) => {
            // The client prints `error: ` before the message: the text is then `check`'s.
            let text = diagnostics.render(false);
            let text = text.strip_prefix("error: ").unwrap_or(&text).trim_end().to_owned();
            Ok(Outcome {
                commands: vec![RunCommand::Reloaded(Err(reload::refusal(&diagnostics)))],
                refusal: Some(Failure::new(ErrorKind::InvalidConfig, text)),
                ..Outcome::default()
            })
        }
    }
}

fn ps(driver: &Driver, started: Instant) -> Result<Outcome, Failure> {
    let infos = driver.snapshot();
    let now = Instant::now();
    let processes: Vec<ProcessInfo> = infos.iter().map(|info| process_info(info, now)).collect();
    let mut total = Totals::default();
    for (info, process) in infos.iter().zip(&processes) {
        total.instances += 1;
        if info.state.has_process() {
            total.running += 1;
        }
        total.processes += process.tree_processes.unwrap_or(0);
        total.cpu_seconds += process.cpu_seconds.unwrap_or(0.0);
        total.rss_bytes += process.rss_bytes.unwrap_or(0);
    }
    let reply = PsReply {
        procman: ServerInfo {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            uptime_seconds: started.elapsed().as_secs_f64(),
            containment: Some(driver.containment().name().to_owned()),
            cgroup: match driver.containment() {
                Containment::Cgroup(path) => Some(path.display().to_string()),
                _ => None,
            },
        },
        processes,
        total,
    };
    let mut outcome = Outcome::default();
    match serde_json::to_value(reply) {
        Ok(Value::Object(fields)) => outcome.fields = fields,
        _ => return Err(Failure::new(ErrorKind::Refused, "internal error: cannot encode ps")),
    }
    Ok(outcome)
}

fn process_info(info: &InstanceInfo, now: Instant) -> ProcessInfo {
    let (code, signal) = exit_fields(info.last_exit);
    ProcessInfo {
        process: info.id.to_string(),
        kind: info.id.group.to_string(),
        index: info.id.index,
        pid: info.pid.filter(|_| info.state.has_process()),
        state: info.state.to_string(),
        uptime_seconds: info.uptime.as_secs_f64(),
        restarts: info.restarts,
        retries: info.retries,
        last_exit_code: code,
        last_exit_signal: signal,
        spawn_error: info.spawn_error.as_ref().map(|e| e.message.clone()),
        cpu_seconds: info.resources.map(|r| r.cpu.as_secs_f64()),
        rss_bytes: info.resources.map(|r| r.rss_bytes),
        tree_processes: info.resources.map(|r| r.processes),
        ready: info.ready,
        waiting_for: info.waiting_for.as_ref().map(|wait| waiting_for(wait, now)),
    }
}

fn waiting_for(wait: &Wait, now: Instant) -> WaitingFor {
    match wait {
        Wait::Dependencies(dependencies) => WaitingFor::Dependencies(
            dependencies
                .iter()
                .map(|d| DependencyInfo {
                    kind: d.group.to_string(),
                    condition: d.condition.name().to_owned(),
                })
                .collect(),
        ),
        Wait::Ready { deadline } => WaitingFor::ReadyCheck {
            seconds_left: deadline.map(|at| at.saturating_duration_since(now).as_secs_f64()),
        },
    }
}

fn exit_fields(exit: Option<supervise::ExitStatus>) -> (Option<i32>, Option<String>) {
    match exit {
        Some(supervise::ExitStatus::Code(code)) => (Some(code), None),
        Some(supervise::ExitStatus::Signaled(signal)) => (None, Some(signal.to_string())),
        None => (None, None),
    }
}

/// `web` is a process type, `web.2` an instance. Process type names cannot hold a `.`, so the
/// last `.` followed by a number always marks an instance.
pub(super) fn resolve(driver: &Driver, target: &str) -> Result<Target, Failure> {
    if driver.supervisor().spec(target).is_some() {
        return Ok(Target::Group(target.to_owned()));
    }
    if let Ok(id) = target.parse::<InstanceId>() {
        let group = &*id.group;
        if driver.supervisor().spec(group).is_none() {
            return Err(unknown(driver, group));
        }
        if driver.supervisor().state(&id).is_none() {
            let count = instance_count(driver, group);
            let message = format!("no instance `{id}` ({group} has {})", instances(count));
            return Err(Failure::new(ErrorKind::NotFound, message));
        }
        return Ok(Target::Instance(id));
    }
    Err(unknown(driver, target))
}

/// `no process named `wbe` (known: `web`, `worker`); did you mean `web`?`
fn unknown(driver: &Driver, name: &str) -> Failure {
    let names: Vec<&str> = driver.supervisor().group_names().map(|n| &**n).collect();
    let known: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
    let mut message = format!("no process named `{}` (known: {known})", fragment(name));
    if let Some(close) = closest(name, &names) {
        message.push_str(&format!("; did you mean `{close}`?"));
    }
    Failure::new(ErrorKind::NotFound, message)
}

fn instance_count(driver: &Driver, group: &str) -> usize {
    driver.supervisor().snapshot(Instant::now()).iter().filter(|i| &*i.id.group == group).count()
}

fn refused(err: RequestError) -> Failure {
    let kind = match err {
        RequestError::UnknownGroup(_) | RequestError::UnknownInstance(_) => ErrorKind::NotFound,
        _ => ErrorKind::Refused,
    };
    Failure::new(kind, err.to_string())
}

fn bad_request(message: String) -> Failure {
    Failure::new(ErrorKind::BadRequest, message)
}

/// `1 instance`, `3 instances`.
fn instances(n: usize) -> String {
    format!("{n} {}", plural(n, "instance", "instances"))
}

/// The event line for a supervisor event, if it is one the stream carries.
pub(super) fn event_message(event: &Event) -> Option<Value> {
    let mut object = Map::new();
    match event {
        Event::State(t) => state_fields(&mut object, t),
        Event::Signal { id, pid, signal, reason } => {
            object.insert("event".into(), "signal".into());
            instance_fields(&mut object, id);
            object.insert("pid".into(), (*pid).into());
            object.insert("signal".into(), signal.to_string().into());
            let reason = match reason {
                supervise::SignalReason::Stop => "stop",
                supervise::SignalReason::Kill => "kill",
                supervise::SignalReason::Request => "request",
            };
            object.insert("reason".into(), reason.into());
            object.insert("time".into(), wall_time(SystemTime::now()).into());
        }
        Event::Removed(id) => {
            object.insert("event".into(), "removed".into());
            instance_fields(&mut object, id);
            object.insert("time".into(), wall_time(SystemTime::now()).into());
        }
        _ => return None,
    }
    object.insert("v".into(), procman::control::proto::VERSION.into());
    Some(Value::Object(object))
}

fn state_fields(object: &mut Map<String, Value>, t: &Transition) {
    object.insert("event".into(), "state".into());
    instance_fields(object, &t.id);
    object.insert("pid".into(), t.pid.map_or(Value::Null, Value::from));
    object.insert("from".into(), t.from.to_string().into());
    object.insert("to".into(), t.to.to_string().into());
    let (code, signal) = exit_fields(t.exit);
    object.insert("exit_code".into(), code.map_or(Value::Null, Value::from));
    object.insert("exit_signal".into(), signal.map_or(Value::Null, Value::from));
    object.insert("expected".into(), t.expected.map_or(Value::Null, Value::from));
    let spawn_error = t.spawn_error.as_ref().map(|e| e.message.clone());
    object.insert("spawn_error".into(), spawn_error.map_or(Value::Null, Value::from));
    object.insert("retries".into(), t.retries.into());
    // The transition's time is monotonic; tools want wall-clock time.
    let age = Instant::now().saturating_duration_since(t.at);
    let at = SystemTime::now().checked_sub(age).unwrap_or_else(SystemTime::now);
    object.insert("time".into(), wall_time(at).into());
}

fn instance_fields(object: &mut Map<String, Value>, id: &InstanceId) {
    object.insert("process".into(), id.to_string().into());
    object.insert("type".into(), id.group.to_string().into());
    object.insert("index".into(), id.index.into());
}

/// RFC 3339 in UTC, to the millisecond.
fn wall_time(at: SystemTime) -> String {
    match jiff::Timestamp::try_from(at) {
        Ok(ts) => ts.round(jiff::Unit::Millisecond).unwrap_or(ts).to_string(),
        Err(_) => String::new(),
    }
}
