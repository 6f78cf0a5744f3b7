//! Kubernetes: one `<app>.yaml` with a ConfigMap of the env files' variables, a Deployment
//! per process type (replicas from the formation) and a Service per type that listens.

use std::collections::BTreeSet;

use minijinja::Value;

use super::files::OutFile;
use super::model::{Export, Proc, ceil_secs};
use super::order;
use super::render::{Renderer, env_list, header, map};
use super::{ExportError, Format};
use crate::plan::startup::{ReadyCheck, ReadyPort};

/// A DNS-1035 label (what a Service name must be): lower case, `_` and `.` turned into `-`.
fn dns_label(what: &str, name: &str) -> Result<String, ExportError> {
    let label = name.to_ascii_lowercase().replace(['_', '.'], "-");
    let valid = label.len() <= 63
        && label.starts_with(|c: char| c.is_ascii_lowercase())
        && !label.ends_with('-')
        && label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(label)
    } else {
        Err(ExportError::InvalidName {
            what: what.to_owned(),
            value: label,
            reason: "Kubernetes names are at most 63 lower-case letters, digits and `-`, \
                     starting with a letter and not ending with `-`"
                .to_owned(),
        })
    }
}

/// The container's readiness probe from its readiness check: `tcpSocket` for a port,
/// `exec` for a command, every `interval` (in whole seconds, at least 1).
fn probe(process: &Proc) -> Value {
    let Some(ready) = order::expressible(process, Format::Kubernetes) else {
        return Value::from(());
    };
    let period = ceil_secs(ready.interval.unwrap_or(order::DEFAULT_INTERVAL)).max(1);
    let (port, command) = match &ready.check {
        ReadyCheck::Port(ReadyPort::Number(port)) => (Some(*port), None),
        ReadyCheck::Port(ReadyPort::Variable(name)) => {
            (order::kubernetes_port(process, name), None)
        }
        ReadyCheck::Command(command) => (None, Some(command.as_str())),
        ReadyCheck::Log(_) => return Value::from(()),
    };
    map([
        ("port", port.map_or(Value::from(()), Value::from)),
        ("command", command.map_or(Value::from(()), Value::from)),
        ("period", Value::from(period)),
    ])
}

/// Renders the manifests.
pub(super) fn render(
    export: &Export,
    renderer: &mut Renderer,
) -> Result<Vec<OutFile>, ExportError> {
    let image = export
        .image
        .as_deref()
        .ok_or(ExportError::MissingImage { format: Format::Kubernetes.name() })?;
    let app = dns_label("app name (as a Kubernetes name)", &export.app)?;
    let configmap = dns_label("ConfigMap name", &format!("{app}-env"))?;
    let mut seen = BTreeSet::new();
    let mut deployments = Vec::new();
    for process in &export.processes {
        let name = dns_label("Deployment name", &format!("{app}-{}", process.name))?;
        let component = dns_label("container name", &process.name)?;
        if !seen.insert(name.clone()) {
            return Err(ExportError::InvalidName {
                what: "process name".to_owned(),
                value: process.name.clone(),
                reason: format!("it gives the Kubernetes name `{name}` of another process type"),
            });
        }
        deployments.push(map([
            ("name", Value::from(name)),
            ("component", Value::from(component)),
            ("count", Value::from(process.count)),
            ("grace", Value::from(ceil_secs(process.stop_timeout(export)))),
            ("command", Value::from(process.command.as_str())),
            ("port", Value::from(process.port)),
            ("env", env_list(&process.extra_env)),
            ("listens", Value::from(process.listens())),
            ("probe", probe(process)),
        ]));
    }
    let context = map([
        ("header", Value::from(header(&export.app))),
        ("app", Value::from(app.as_str())),
        ("configmap", Value::from(configmap)),
        ("image", Value::from(image)),
        ("env", env_list(&export.env)),
        ("deployments", Value::from(deployments)),
    ]);
    Ok(vec![OutFile::new(format!("{}.yaml", export.app), renderer.render("app.yaml", &context)?)])
}
