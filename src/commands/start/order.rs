//! Readiness and start order in `start`: the library's readiness checks and dependencies from
//! the plan's `ready` and `depends_on`, the run's words for what the core decides about them,
//! and the one exception to Foreman's rule that any exit ends the run.

use std::fmt::Write as _;
use std::time::Duration;

use supervise::{
    CommandSpec, Condition, Dependency, Driver, ExitStatus, InstanceId, Notice, ProgramSpec,
    Readiness, State, Transition,
};

use crate::output::Printer;
use crate::plan::startup::{ReadyCheck, ReadyPort};
use crate::plan::{Plan, ProcessPlan};

/// Gives `spec` the readiness check and the dependencies of `process`. A dependency on a type
/// that runs no instance here is left out: nothing would ever start it ([`skipped`] says so).
pub(super) fn apply(spec: &mut ProgramSpec, process: &ProcessPlan, plan: &Plan) {
    if let Some(ready) = &process.settings.ready {
        let mut readiness = match &ready.check {
            ReadyCheck::Log(pattern) => {
                let pattern = pattern.clone();
                let name = pattern.as_str().to_owned();
                Readiness::output_line(name, move |line| pattern.is_match(line))
            }
            ReadyCheck::Port(ReadyPort::Number(port)) => Readiness::port(*port),
            ReadyCheck::Port(ReadyPort::Variable(name)) => Readiness::port_from_env(name),
            ReadyCheck::Command(command) => {
                Readiness::command(CommandSpec::new("sh").args(["-c", command]))
            }
        };
        if let Some(interval) = ready.interval {
            readiness = readiness.interval(interval);
        }
        if let Some(timeout) = ready.timeout {
            readiness = readiness.timeout(Some(timeout));
        }
        spec.readiness = Some(readiness);
    }
    spec.depends_on = process
        .settings
        .depends_on
        .iter()
        .filter(|d| runs(plan, &d.name))
        .map(|d| Dependency::new(d.name.as_str(), d.condition))
        .collect();
}

fn runs(plan: &Plan, name: &str) -> bool {
    plan.process(name).is_some_and(|p| p.count > 0)
}

/// What the run says about the dependencies [`apply`] left out.
pub(super) fn skipped(plan: &Plan) -> Vec<String> {
    let mut lines = Vec::new();
    for process in plan.processes.iter().filter(|p| p.count > 0) {
        for dependency in &process.settings.depends_on {
            if !runs(plan, &dependency.name) {
                lines.push(format!(
                    "{} depends on {} ({}), which runs no instance here: not waiting for it",
                    process.name, dependency.name, dependency.condition
                ));
            }
        }
    }
    lines
}

/// Whether some group waits for `group`'s instances to exit with success: then such an exit
/// is what it is for, and does not end the run.
pub(super) fn awaited_exit(driver: &Driver, group: &str) -> bool {
    let supervisor = driver.supervisor();
    supervisor.group_names().filter_map(|name| supervisor.spec(name)).any(|spec| {
        spec.depends_on.iter().any(|d| &*d.group == group && d.condition == Condition::Exited)
    })
}

/// `web.1 is ready`, when an instance with a readiness check passed it.
pub(super) fn ready_line(driver: &Driver, t: &Transition) -> Option<String> {
    let checked = driver.supervisor().spec(&t.id.group).is_some_and(|s| s.readiness.is_some());
    (checked && t.from == State::Starting && t.to == State::Running).then(|| match t.pid {
        Some(pid) => format!("{} is ready (pid {pid})", t.id),
        None => format!("{} is ready", t.id),
    })
}

/// Puts what the core decided about order, readiness or a reload into words.
pub(super) fn report(printer: &mut Printer, driver: &Driver, notice: &Notice) {
    let _ = match notice {
        Notice::Waiting { id, dependencies } => {
            printer.system(&format!("{id} waits for {}", dependency_list(dependencies)))
        }
        Notice::DependencyFailed(failure) => {
            let mut text = format!(
                "{} not started: {} is {}",
                failure.group,
                failure.dependency,
                failure.state.name()
            );
            if let Some(exit) = failure.exit {
                let _ = write!(text, " ({})", exit_words(exit));
            }
            let _ = write!(text, " and {}", never_meets(failure.condition));
            printer.alert(&text)
        }
        Notice::NotReady { id, pid, waited } => {
            // The timeout as configured, not as measured (a few milliseconds more).
            let spec = driver.supervisor().spec(&id.group);
            let timeout = spec.and_then(|s| s.readiness.as_ref()).and_then(|r| r.timeout);
            printer.alert(&format!(
                "{id} was not ready within {}: stopping it (pid {pid})",
                seconds(timeout.unwrap_or(*waited))
            ))
        }
        // Without a readiness check, a restart is over once it is asked for; the stops and
        // starts say the rest.
        Notice::RolloutFinished { group }
            if driver.supervisor().spec(group).is_some_and(|s| s.readiness.is_some()) =>
        {
            printer.system(&format!("{group} restarted: every instance is ready again"))
        }
        Notice::RolloutHalted { group, id } => printer.alert(&format!(
            "{id} failed with the new configuration: the restart of {group} stopped there, its \
             other instances keep their old process"
        )),
        Notice::GroupRemoved(group) => {
            printer.system(&format!("{group} removed: it is no longer in the configuration"))
        }
        _ => Ok(()),
    };
}

/// What a failed dependency will not do: `will not be ready`.
fn never_meets(condition: Condition) -> &'static str {
    match condition {
        Condition::Started => "will not start",
        Condition::Ready => "will not be ready",
        Condition::Exited => "will not exit with success",
    }
}

/// `db (ready), migrate (exited)`.
fn dependency_list(dependencies: &[Dependency]) -> String {
    let parts: Vec<String> =
        dependencies.iter().map(|d| format!("{} ({})", d.group, d.condition)).collect();
    parts.join(", ")
}

fn exit_words(status: ExitStatus) -> String {
    match status {
        ExitStatus::Code(code) => format!("exit code {code}"),
        ExitStatus::Signaled(signal) => format!("killed by {signal}"),
    }
}

/// `60s`, `1.5s`.
fn seconds(duration: Duration) -> String {
    format!("{}s", duration.as_secs_f64())
}

/// The alert for a readiness check that cannot run.
pub(super) fn check_failed(printer: &mut Printer, id: &InstanceId, message: &str) {
    let _ = printer.alert(&format!("{message}; {id} now waits for its readiness timeout"));
}
