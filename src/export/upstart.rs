//! upstart, and `daemon` (upstart jobs that run each instance through start-stop-daemon):
//! `<app>.conf`, `<app>-<name>.conf` per process type with instances, and
//! `<app>-<name>-<n>.conf` per instance.

use minijinja::Value;
use minijinja::value::merge_maps;
use supervise::RestartPolicy;

use super::ExportError;
use super::command::{daemon_exec, upstart_exec};
use super::files::OutFile;
use super::model::{Export, ceil_secs, signal_name};
use super::render::{Renderer, env_list, header, map};

fn opt(value: Option<String>) -> Value {
    value.map_or(Value::from(()), Value::from)
}

/// Renders the jobs (the renderer's format, upstart or daemon, selects the templates).
pub(super) fn render(
    export: &Export,
    renderer: &mut Renderer,
) -> Result<Vec<OutFile>, ExportError> {
    let app = Value::from(export.app.as_str());
    let common = map([
        ("header", Value::from(header(&export.app))),
        ("app", app.clone()),
        ("user", Value::from(export.user.as_str())),
        ("log", Value::from(export.log.as_str())),
        ("run", Value::from(export.run.as_str())),
    ]);
    let mut files = vec![OutFile::new(
        format!("{}.conf", export.app),
        renderer.render("master.conf", &common)?,
    )];
    for process in export.processes.iter().filter(|p| p.count > 0) {
        let settings = &process.settings;
        let context = minijinja::context! { name => process.name.as_str(), ..common.clone() };
        files.push(OutFile::new(
            format!("{}-{}.conf", export.app, process.name),
            renderer.render("process_master.conf", &context)?,
        ));
        let respawn_limit = settings.max_retries.map(|retries| {
            let grace = settings.start_grace.map_or(1, ceil_secs);
            let interval =
                u64::from(retries.saturating_add(1)).saturating_mul(grace).saturating_add(1);
            format!("{retries} {interval}")
        });
        let normal_exit = settings
            .expected_exit_codes
            .as_ref()
            .map(|codes| codes.iter().map(i32::to_string).collect::<Vec<_>>().join(" "));
        let (executable, arguments) = daemon_exec(&process.command);
        let base = map([
            ("name", Value::from(process.name.as_str())),
            ("respawn", Value::from(settings.restart != Some(RestartPolicy::Never))),
            ("respawn_limit", opt(respawn_limit)),
            ("kill_signal", Value::from(signal_name(process.stop_signal()))),
            ("kill_timeout", Value::from(ceil_secs(process.stop_timeout(export)))),
            ("normal_exit", opt(normal_exit)),
            ("umask", opt(settings.umask.map(|u| format!("{u:03o}")))),
            ("env", env_list(&process.env)),
            ("cwd", Value::from(process.cwd.as_str())),
            ("command", Value::from(process.command.as_str())),
            ("upstart_exec", Value::from(upstart_exec(&process.command).as_ref())),
            ("executable", Value::from(executable)),
            ("arguments", Value::from(arguments)),
        ]);
        for instance in &process.instances {
            let own = minijinja::context! {
                port => instance.port,
                ps => instance.ps.as_str(),
                number => instance.number,
            };
            let context = merge_maps([own, base.clone(), common.clone()]);
            files.push(OutFile::new(
                format!("{}-{}-{}.conf", export.app, process.name, instance.number),
                renderer.render("process.conf", &context)?,
            ));
        }
    }
    Ok(files)
}
