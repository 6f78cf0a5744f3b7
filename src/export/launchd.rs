//! launchd: one `<app>-<name>-<n>.plist` per instance.

use minijinja::Value;
use supervise::RestartPolicy;

use super::ExportError;
use super::files::OutFile;
use super::model::{Export, ceil_secs};
use super::render::{Renderer, env_list, header, map};

/// Renders the property lists.
pub(super) fn render(
    export: &Export,
    renderer: &mut Renderer,
) -> Result<Vec<OutFile>, ExportError> {
    // `--` may not appear inside an XML comment.
    let header_comment = header(&export.app).replace("--", "- -");
    let mut files = Vec::new();
    for process in &export.processes {
        let keep_alive = match process.settings.restart {
            None | Some(RestartPolicy::Always) => "true",
            Some(RestartPolicy::OnUnexpectedExit) => "successful-exit",
            Some(RestartPolicy::Never) => "false",
        };
        for instance in &process.instances {
            let label = format!("{}-{}-{}", export.app, process.name, instance.number);
            let mut env = process.env.clone();
            env.push(("PORT".to_owned(), instance.port.to_string()));
            env.push(("PS".to_owned(), instance.ps.clone()));
            let arguments = ["/bin/sh", "-c", process.command.as_str()];
            let context = map([
                ("header_comment", Value::from(header_comment.as_str())),
                ("label", Value::from(label.as_str())),
                ("env", env_list(&env)),
                ("arguments", Value::from_iter(arguments)),
                ("keep_alive", Value::from(keep_alive)),
                ("log_file", Value::from(format!("{}/{label}.log", export.log))),
                ("user", Value::from(export.user.as_str())),
                ("cwd", Value::from(process.cwd.as_str())),
                ("exit_timeout", Value::from(ceil_secs(process.stop_timeout(export)))),
                ("umask", process.settings.umask.map_or(Value::from(()), Value::from)),
            ]);
            let contents = renderer.render("launchd.plist", &context)?;
            files.push(OutFile::new(format!("{label}.plist"), contents));
        }
    }
    Ok(files)
}
