//! systemd: `<app>-<name>.<n>.service` per instance and `<app>.target` wanting them all
//! (Foreman's layout since 0.87), with the supervision settings carried over.

use std::time::Duration;

use minijinja::Value;
use supervise::{Backoff, RestartPolicy};

use super::command::{bash_execs, bash_script};
use super::files::OutFile;
use super::model::{Export, Proc, ceil_secs, signal_name};
use super::render::{Renderer, env_list, header, map};
use super::{ExportError, Format, order};

/// Foreman's `RestartSec=`, used when the user set no backoff.
const FOREMAN_RESTART_SEC: Duration = Duration::from_secs(14);

/// The first systemd with `RestartSteps=` and `RestartMaxDelaySec=`.
const RESTART_STEPS_SINCE: u32 = 254;

/// A time span as systemd reads it: `14s`, or `1500ms` when not whole seconds.
fn time_span(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        let millis = duration.as_nanos().div_ceil(1_000_000);
        format!("{millis}ms")
    }
}

/// `TimeoutStopSec=`: a bare number of seconds as Foreman writes it, else milliseconds.
fn timeout_span(duration: Duration) -> String {
    if duration.is_zero() {
        // systemd reads 0 as "no timeout"; a zero timeout means SIGKILL at once.
        "1ms".to_owned()
    } else if duration.subsec_nanos() == 0 {
        duration.as_secs().to_string()
    } else {
        time_span(duration)
    }
}

/// How many steps systemd needs to grow from `initial` to `max` by about `factor` each time,
/// when the backoff grows at all.
fn restart_steps(backoff: &Backoff) -> Option<u32> {
    let (initial, max) = (backoff.initial.as_secs_f64(), backoff.max.as_secs_f64());
    let grows = backoff.factor.is_finite() && backoff.factor > 1.0;
    if initial <= 0.0 || max <= initial || !grows {
        return None;
    }
    let steps = ((max / initial).ln() / backoff.factor.ln()).ceil();
    // Clamped to 1..=3000 (far past any useful number of steps), so the cast is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some(steps.clamp(1.0, 3000.0) as u32)
}

fn opt(value: Option<String>) -> Value {
    value.map_or(Value::from(()), Value::from)
}

fn service_context(export: &Export, process: &Proc) -> Value {
    let settings = &process.settings;
    // A job others wait for to exit runs once (`Type=oneshot`, which takes no
    // `Restart=always`): units `After=` it start once it exited with success.
    let one_shot = order::one_shot(export, &process.name);
    let restart = match settings.restart {
        _ if one_shot && order::retries_failures(process) => "on-failure",
        _ if one_shot => "no",
        None | Some(RestartPolicy::Always) => "always",
        Some(RestartPolicy::OnUnexpectedExit) => "on-failure",
        Some(RestartPolicy::Never) => "no",
    };
    // Every instance of each type it depends on: `After=` orders the start, `Requires=` gives
    // it up when one of them fails to start (procman's "its dependants never start").
    let after: Vec<String> = order::dependencies(export, process)
        .flat_map(|(_, target)| {
            target.instances.iter().map(|i| format!("{}-{}.service", export.app, i.ps))
        })
        .collect();
    // A unit counts as started once `ExecStartPost=` is done: it waits for the check.
    let ready = order::expressible(process, Format::Systemd).filter(|_| !one_shot);
    let ready_exec = ready.and_then(|ready| {
        let probe = order::probe(&ready.check)?;
        let interval = order::decimal_seconds(ready.interval.unwrap_or(order::DEFAULT_INTERVAL));
        Some(format!("until ({probe}) >/dev/null 2>&1; do sleep {interval}; done"))
    });
    let timeout_start =
        ready.map(|ready| time_span(ready.timeout.unwrap_or(order::DEFAULT_TIMEOUT)));
    let restart_sec = settings.backoff.map_or(FOREMAN_RESTART_SEC, |b| b.initial);
    let steps = settings.backoff.as_ref().and_then(restart_steps);
    let steps_supported = export.systemd_version.is_some_and(|v| v >= RESTART_STEPS_SINCE);
    let (restart_steps, restart_max_delay, backoff_note) = match (settings.backoff, steps) {
        (Some(backoff), Some(steps)) if steps_supported => {
            (Some(steps.to_string()), Some(time_span(backoff.max)), None)
        }
        (Some(backoff), Some(_)) => (
            None,
            None,
            Some(format!(
                "The backoff (x{} up to {}) needs systemd {RESTART_STEPS_SINCE} \
                 (RestartSteps=); here every restart waits RestartSec=.",
                backoff.factor,
                time_span(backoff.max)
            )),
        ),
        _ => (None, None, None),
    };
    // A burst of `retries + 1` starts within the time those quick failures take: more means
    // the retries are used up (an approximation of "in a row", which systemd cannot count).
    let (burst, interval) = match settings.max_retries {
        Some(retries) => {
            let grace = settings.start_grace.unwrap_or(Duration::from_secs(1));
            let window: Duration = (1..=retries.saturating_add(1))
                .map(|k| {
                    let delay = match (settings.backoff, steps_supported) {
                        (Some(b), true) => b.delay(k),
                        (Some(b), false) => b.initial,
                        (None, _) => restart_sec,
                    };
                    delay.saturating_add(grace)
                })
                .fold(Duration::ZERO, Duration::saturating_add);
            let interval = ceil_secs(window).saturating_add(1);
            (Some(retries.saturating_add(1).to_string()), Some(format!("{interval}s")))
        }
        None => (None, None),
    };
    let success = settings.expected_exit_codes.as_ref().and_then(|codes| {
        let codes: Vec<String> = codes.iter().filter(|c| **c != 0).map(i32::to_string).collect();
        (!codes.is_empty()).then(|| codes.join(" "))
    });
    map([
        ("restart", Value::from(restart)),
        ("restart_sec", Value::from(time_span(restart_sec))),
        ("restart_steps", opt(restart_steps)),
        ("restart_max_delay", opt(restart_max_delay)),
        ("backoff_note", opt(backoff_note)),
        ("start_limit_burst", opt(burst)),
        ("start_limit_interval", opt(interval)),
        ("success_exit_status", opt(success)),
        ("umask", opt(settings.umask.map(|u| format!("{u:04o}")))),
        ("kill_signal", Value::from(format!("SIG{}", signal_name(process.stop_signal())))),
        ("timeout_stop", Value::from(timeout_span(process.stop_timeout(export)))),
        ("cwd", Value::from(process.cwd.as_str())),
        ("command", Value::from(process.command.as_str())),
        // Where bash is not exec'd (a list, a pipeline...), `mixed` would signal only bash, which
        // dies and leaves the running command to the SIGKILL after the timeout; every process
        // gets the stop signal instead, as under `procman start`.
        (
            "kill_mode",
            Value::from(if bash_execs(&process.command) { "mixed" } else { "control-group" }),
        ),
        ("env", env_list(&process.env)),
        ("one_shot", Value::from(one_shot)),
        ("after", Value::from(after)),
        ("ready_exec", opt(ready_exec)),
        ("timeout_start", opt(timeout_start)),
    ])
}

/// Renders the units.
pub(super) fn render(
    export: &Export,
    renderer: &mut Renderer,
) -> Result<Vec<OutFile>, ExportError> {
    let mut files = Vec::new();
    let mut services = Vec::new();
    for process in &export.processes {
        let base = service_context(export, process);
        for instance in &process.instances {
            let name = format!("{}-{}.service", export.app, instance.ps);
            let context = minijinja::context! {
                header => header(&export.app),
                app => export.app.as_str(),
                user => export.user.as_str(),
                port => instance.port,
                ps => instance.ps.as_str(),
                script => bash_script(&process.command, &format!("{}-{}", export.app, instance.ps)),
                ..base.clone()
            };
            files.push(OutFile::new(&name, renderer.render("process.service", &context)?));
            services.push(name);
        }
    }
    let context = map([
        ("header", Value::from(header(&export.app))),
        ("app", Value::from(export.app.as_str())),
        ("user", Value::from(export.user.as_str())),
        ("services", Value::from(services)),
    ]);
    let target = format!("{}.target", export.app);
    files.push(OutFile::new(target, renderer.render("master.target", &context)?));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans() {
        assert_eq!(time_span(Duration::from_secs(14)), "14s");
        assert_eq!(time_span(Duration::from_millis(1500)), "1500ms");
        assert_eq!(timeout_span(Duration::from_secs(5)), "5");
        assert_eq!(timeout_span(Duration::from_millis(250)), "250ms");
        assert_eq!(timeout_span(Duration::ZERO), "1ms");
    }

    #[test]
    fn steps_from_backoff() {
        let b = |initial, factor, max| Backoff {
            initial: Duration::from_secs(initial),
            factor,
            max: Duration::from_secs(max),
        };
        assert_eq!(restart_steps(&b(1, 2.0, 30)), Some(5));
        assert_eq!(restart_steps(&b(1, 1.0, 30)), None);
        assert_eq!(restart_steps(&b(5, 2.0, 5)), None);
        assert_eq!(restart_steps(&b(0, 2.0, 5)), None);
    }
}
