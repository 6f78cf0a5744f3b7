//! `depends_on` and `ready` in exports: what each format can carry of them, and the warnings
//! for what it drops. systemd orders units (`After=`, `Requires=`) and waits for readiness
//! with `ExecStartPost=`; compose has `depends_on` with conditions and healthchecks;
//! Kubernetes has readiness probes but no start order; the other formats have neither.

use std::time::Duration;

use supervise::{Condition, RestartPolicy};

use super::Format;
use super::escape::sh_quote_always;
use super::model::{Export, Proc};
use crate::plan::startup::{DependsOn, Ready, ReadyCheck, ReadyPort};

/// procman's own readiness timing where the config sets none (`supervise::Readiness`).
pub(super) const DEFAULT_INTERVAL: Duration = supervise::Readiness::DEFAULT_INTERVAL;
pub(super) const DEFAULT_TIMEOUT: Duration = supervise::Readiness::DEFAULT_TIMEOUT;

/// Whether another type waits for `name` to exit with success: a one-shot job, which runs
/// once instead of being kept running.
pub(super) fn one_shot(export: &Export, name: &str) -> bool {
    export.processes.iter().any(|p| {
        p.settings.depends_on.iter().any(|d| d.name == name && d.condition == Condition::Exited)
    })
}

/// Whether a one-shot job is retried after a failure (`"restart": "on-failure"`); it is
/// never restarted after a success.
pub(super) fn retries_failures(process: &Proc) -> bool {
    process.settings.restart == Some(RestartPolicy::OnUnexpectedExit)
}

/// The dependencies of `process` an export carries: those on types with instances (a type
/// with none counts as met, as under `procman start`).
pub(super) fn dependencies<'a>(
    export: &'a Export,
    process: &'a Proc,
) -> impl Iterator<Item = (&'a DependsOn, &'a Proc)> {
    process.settings.depends_on.iter().filter_map(|dependency| {
        let target = export.processes.iter().find(|p| p.name == dependency.name)?;
        (target.count > 0).then_some((dependency, target))
    })
}

/// A shell command (for `/bin/sh`) that succeeds once an instance passes its check; `None`
/// for a log-line check, which only procman can watch. A port check connects with bash's
/// `/dev/tcp`, as the exported commands already run under bash.
pub(super) fn probe(check: &ReadyCheck) -> Option<String> {
    match check {
        ReadyCheck::Log(_) => None,
        ReadyCheck::Port(port) => {
            let target = match port {
                ReadyPort::Number(number) => number.to_string(),
                ReadyPort::Variable(name) => format!("${{{name}}}"),
            };
            Some(format!("bash -c {}", sh_quote_always(&format!(": </dev/tcp/localhost/{target}"))))
        }
        ReadyCheck::Command(command) => Some(command.clone()),
    }
}

/// The readiness check of `process` that `format` can run, if it has one.
pub(super) fn expressible(process: &Proc, format: Format) -> Option<&Ready> {
    let ready = process.settings.ready.as_ref()?;
    let carried = match (&ready.check, format) {
        (ReadyCheck::Log(_), _) => false,
        (_, Format::Systemd | Format::Compose) => true,
        (ReadyCheck::Port(ReadyPort::Variable(name)), Format::Kubernetes) => {
            kubernetes_port(process, name).is_some()
        }
        (_, Format::Kubernetes) => true,
        _ => false,
    };
    carried.then_some(ready)
}

/// The port a Kubernetes container of `process` is checked on for `"port": "$NAME"`: its
/// PORT, or a variable of its environment that holds a port number.
pub(super) fn kubernetes_port(process: &Proc, name: &str) -> Option<u16> {
    if name == "PORT" {
        return Some(process.port);
    }
    let (_, value) = process.env.iter().rev().find(|(key, _)| key == name)?;
    value.trim().parse::<u16>().ok().filter(|port| *port > 0)
}

/// Seconds as a decimal number: `0.5`, `2`.
pub(super) fn decimal_seconds(duration: Duration) -> String {
    format!("{}", duration.as_secs_f64())
}

/// What `format` drops of the app's start order and readiness, one warning each.
pub(super) fn warnings(export: &Export, format: Format) -> Vec<String> {
    let mut out = Vec::new();
    for process in &export.processes {
        for dependency in &process.settings.depends_on {
            let gone = export.processes.iter().all(|p| p.name != dependency.name || p.count == 0);
            if gone {
                out.push(format!(
                    "{} depends on {}, which has no instances in this export: dropped",
                    process.name, dependency.name
                ));
            }
        }
    }
    let ordered: Vec<&str> = export
        .processes
        .iter()
        .filter(|p| dependencies(export, p).next().is_some())
        .map(|p| p.name.as_str())
        .collect();
    let checked: Vec<&Proc> =
        export.processes.iter().filter(|p| p.settings.ready.is_some()).collect();
    let always_one_shots: Vec<&str> = export
        .processes
        .iter()
        .filter(|p| one_shot(export, &p.name) && p.settings.restart == Some(RestartPolicy::Always))
        .map(|p| p.name.as_str())
        .collect();
    match format {
        Format::Systemd | Format::Compose | Format::Kubernetes => {
            for process in &checked {
                if expressible(process, format).is_some() {
                    continue;
                }
                out.push(dropped_check(process, format));
            }
            if !always_one_shots.is_empty() {
                out.push(format!(
                    "{} runs once, for the types that wait for it to exit: its \"restart\": \
                     \"always\" is dropped",
                    always_one_shots.join(", ")
                ));
            }
        }
        _ => {}
    }
    match format {
        Format::Systemd => {}
        Format::Compose => {
            let ported: Vec<&str> = checked
                .iter()
                .filter(|p| p.settings.ready.as_ref().is_some_and(|r| r.check.kind() == "port"))
                .map(|p| p.name.as_str())
                .collect();
            if !ported.is_empty() {
                out.push(format!(
                    "the healthcheck of {} connects with bash (`/dev/tcp`): the image needs bash",
                    ported.join(", ")
                ));
            }
        }
        Format::Kubernetes => {
            if !ordered.is_empty() {
                out.push(format!(
                    "kubernetes has no start order between Deployments: the depends_on of {} is \
                     dropped (a one-shot job such as a migration fits a Job or an init \
                     container)",
                    ordered.join(", ")
                ));
            }
            let timed: Vec<&str> = checked
                .iter()
                .filter(|p| p.settings.ready.as_ref().is_some_and(|r| r.timeout.is_some()))
                .map(|p| p.name.as_str())
                .collect();
            if !timed.is_empty() {
                out.push(format!(
                    "a readiness probe keeps trying: the \"timeout\" of {}'s readiness check is \
                     dropped",
                    timed.join(", ")
                ));
            }
        }
        _ => {
            let mut parts = Vec::new();
            if !ordered.is_empty() {
                parts.push(format!("the depends_on of {}", ordered.join(", ")));
            }
            if !checked.is_empty() {
                let names: Vec<&str> = checked.iter().map(|p| p.name.as_str()).collect();
                parts.push(format!("the readiness check of {}", names.join(", ")));
            }
            if !parts.is_empty() {
                out.push(format!(
                    "{format} has no start order or readiness checks: {} dropped",
                    parts.join(" and ")
                ));
            }
        }
    }
    out
}

/// The warning for a readiness check `format` cannot run.
fn dropped_check(process: &Proc, format: Format) -> String {
    let Some(ready) = &process.settings.ready else { return String::new() };
    let what = match &ready.check {
        ReadyCheck::Log(pattern) => {
            format!("the log-line readiness check of {} ({:?})", process.name, pattern.as_str())
        }
        other => format!("the {} readiness check of {}", other.kind(), process.name),
    };
    let consequence = match format {
        Format::Systemd => "units that wait for it to be ready wait for it to start",
        Format::Compose => "services that wait for it to be ready wait for it to start",
        _ => "it counts as ready once it runs",
    };
    let why = match &ready.check {
        ReadyCheck::Log(_) => format!("{format} cannot watch a process's output"),
        _ => "its port variable holds no port number here".to_owned(),
    };
    format!("{what} is dropped ({why}): {consequence}")
}
