//! docker compose: one `compose.yaml` with a service per process type, `deploy.replicas`
//! from the formation, the environment, PORT, and published ports for the types that listen.

use std::time::Duration;

use minijinja::Value;
use supervise::RestartPolicy;

use super::ExportError;
use super::files::OutFile;
use super::model::{Export, signal_name};
use super::render::{Renderer, env_list, header, map};

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

/// Renders the compose file.
pub(super) fn render(
    export: &Export,
    renderer: &mut Renderer,
) -> Result<Vec<OutFile>, ExportError> {
    let mut services = Vec::new();
    for process in &export.processes {
        let settings = &process.settings;
        let restart = match (settings.restart, settings.max_retries) {
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
