//! runit: a service directory `<app>-<name>-<n>/` per instance, with `run`, an `env/`
//! directory for `chpst -e` (one file per variable, PORT and PS included) and `log/run`.

use minijinja::Value;

use super::files::OutFile;
use super::model::{Export, check_text};
use super::render::{Renderer, header, map};
use super::{ExportError, Format};

/// Renders the service directories.
pub(super) fn render(
    export: &Export,
    renderer: &mut Renderer,
) -> Result<Vec<OutFile>, ExportError> {
    let mut files = Vec::new();
    for process in &export.processes {
        for (name, value) in &process.env {
            // chpst reads the first line of the file and drops its trailing spaces and tabs.
            if value.ends_with([' ', '\t']) {
                return Err(ExportError::Unrepresentable {
                    what: format!("the value of `{name}` (for process `{}`)", process.name),
                    format: Format::Runit.name(),
                    reason: "chpst -e drops trailing spaces and tabs from a value".to_owned(),
                });
            }
        }
        for instance in &process.instances {
            let dir = format!("{}-{}-{}", export.app, process.name, instance.number);
            let env_dir = export.location.join(&dir).join("env");
            let env_dir = env_dir.to_string_lossy();
            check_text("the location", &env_dir, Format::Runit)?;
            let context = map([
                ("header", Value::from(header(&export.app))),
                ("cwd", Value::from(process.cwd.as_str())),
                ("user", Value::from(export.user.as_str())),
                ("env_dir", Value::from(env_dir.as_ref())),
                ("command", Value::from(process.command.as_str())),
                (
                    "log_dir",
                    Value::from(format!("{}/{}-{}", export.log, process.name, instance.number)),
                ),
            ]);
            files
                .push(OutFile::executable(format!("{dir}/run"), renderer.render("run", &context)?));
            let mut env = process.env.clone();
            env.push(("PORT".to_owned(), instance.port.to_string()));
            env.push(("PS".to_owned(), instance.ps.clone()));
            for (name, value) in env {
                // A newline after the value: an empty file would unset the variable instead.
                files.push(OutFile::new(format!("{dir}/env/{name}"), format!("{value}\n")));
            }
            let log_run = renderer.render("log/run", &context)?;
            files.push(OutFile::executable(format!("{dir}/log/run"), log_run));
        }
    }
    Ok(files)
}
