//! docker compose: one `compose.yaml` with a service per process type, `deploy.replicas`
//! from the formation, the environment, PORT, and published ports for the types that listen.

use std::time::Duration;

use minijinja::Value;
use supervise::{Condition, RestartPolicy};

use super::files::OutFile;
use super::model::{Export, Proc, signal_name};
use super::render::{Renderer, env_list, header, map};
use super::{ExportError, Format, order};

/// A compose duration: `5s`, or `1500ms`.
fn duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_nanos().div_ceil(1_000_000))
    }
}

/// The compose project name: the app name in lower case, `.` turned into `-`.
fn project_name(app: &str) -> Result<String, ExportError> {
    let name = app.to_ascii_lowercase().replace('.', "-");
    if name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(name)
    } else {
        Err(ExportError::InvalidName {
            what: "compose project name".to_owned(),
            value: name,
            reason: "it must start with a letter or digit (pass --app NAME)".to_owned(),
        })
    }
}

/// The service's `depends_on`, as `{name, condition}` maps: `service_started`,
/// `service_healthy` (for a dependency with a healthcheck; one without it only starts) or
/// `service_completed_successfully`.
fn depends_on(export: &Export, process: &Proc) -> Value {
    order::dependencies(export, process)
        .map(|(dependency, target)| {
            let checked = order::expressible(target, Format::Compose).is_some();
            let condition = match dependency.condition {
                Condition::Exited => "service_completed_successfully",
                Condition::Ready if checked => "service_healthy",
                Condition::Ready | Condition::Started => "service_started",
            };
            map([
                ("name", Value::from(dependency.name.as_str())),
                ("condition", Value::from(condition)),
            ])
        })
        .collect()
}

/// The service's healthcheck from its readiness check: the test, its interval, and
/// procman's timeout as the start period (failures before it do not count).
fn healthcheck(process: &Proc) -> Value {
    let Some(ready) = order::expressible(process, Format::Compose) else { return Value::from(()) };
    let Some(test) = order::probe(&ready.check) else { return Value::from(()) };
    map([
        ("test", Value::from(test)),
        ("interval", Value::from(duration(ready.interval.unwrap_or(order::DEFAULT_INTERVAL)))),
        ("start_period", Value::from(duration(ready.timeout.unwrap_or(order::DEFAULT_TIMEOUT)))),
    ])
}

/// Renders the compose file.
pub(super) fn render(
    export: &Export,
    renderer: &mut Renderer,
) -> Result<Vec<OutFile>, ExportError> {
    let mut services = Vec::new();
    for process in &export.processes {
        let settings = &process.settings;
        // A job others wait for to exit runs once (`service_completed_successfully`).
        let one_shot = order::one_shot(export, &process.name);
        let restart = match (settings.restart, settings.max_retries) {
            _ if one_shot && !order::retries_failures(process) => "no".to_owned(),
            (None | Some(RestartPolicy::Always), _) => "always".to_owned(),
            (Some(RestartPolicy::OnUnexpectedExit), Some(n)) => format!("on-failure:{n}"),
            (Some(RestartPolicy::OnUnexpectedExit), None) => "on-failure".to_owned(),
            (Some(RestartPolicy::Never), _) => "no".to_owned(),
        };
        // The host ports Foreman gives the instances; each container listens on the first.
        let last = u32::from(process.port) + process.count.max(1) - 1;
        let published = if last > u32::from(process.port) {
            format!("{}-{last}", process.port)
        } else {
            process.port.to_string()
        };
        services.push(map([
            ("name", Value::from(process.name.as_str())),
            ("command", Value::from(process.command.as_str())),
            ("port", Value::from(process.port)),
            ("env", env_list(&process.env)),
            ("listens", Value::from(process.listens())),
            ("published", Value::from(published)),
            ("restart", Value::from(restart)),
            ("stop_signal", Value::from(format!("SIG{}", signal_name(process.stop_signal())))),
            ("stop_grace", Value::from(duration(process.stop_timeout(export)))),
            ("count", Value::from(process.count)),
            ("depends_on", depends_on(export, process)),
            ("healthcheck", healthcheck(process)),
        ]));
    }
    let context = map([
        ("header", Value::from(header(&export.app))),
        ("project", Value::from(project_name(&export.app)?)),
        ("image", export.image.as_deref().map_or(Value::from(()), Value::from)),
        ("root", Value::from(export.root.as_str())),
        ("services", Value::from(services)),
    ]);
    Ok(vec![OutFile::new("compose.yaml", renderer.render("compose.yaml", &context)?)])
}
