//! supervisord: one `<app>.conf` with a `[program:<app>-<name>-<n>]` per instance and a
//! `[group:<app>]`, to be included from supervisord.conf.

use minijinja::Value;
use supervise::RestartPolicy;

use super::escape::{has_inline_comment, supervisor_env_value};
use super::files::OutFile;
use super::model::{Export, ceil_secs, signal_name};
use super::render::{Renderer, env_list, header, map};
use super::{ExportError, Format};

fn opt(value: Option<String>) -> Value {
    value.map_or(Value::from(()), Value::from)
}

fn unrepresentable(what: String, reason: impl Into<String>) -> ExportError {
    ExportError::Unrepresentable { what, format: Format::Supervisord.name(), reason: reason.into() }
}

/// Refuses what supervisord's parser would cut or change.
fn check(export: &Export) -> Result<(), ExportError> {
    let comment = "supervisord's config parser reads a whitespace followed by `;` or `#` as \
                   the start of a comment";
    for (what, value) in [("the log directory", &export.log), ("the user", &export.user)] {
        if has_inline_comment(value) {
            return Err(unrepresentable(format!("{what} {value:?}"), comment));
        }
    }
    for process in &export.processes {
        if has_inline_comment(&process.cwd) {
            let what = format!("the working directory of process `{}`", process.name);
            return Err(unrepresentable(what, comment));
        }
        for (name, value) in &process.env {
            if let Err(reason) = supervisor_env_value(value) {
                let what = format!("the value of `{name}` (for process `{}`)", process.name);
                return Err(unrepresentable(what, reason));
            }
        }
    }
    Ok(())
}

/// Renders the config file.
pub(super) fn render(
    export: &Export,
    renderer: &mut Renderer,
) -> Result<Vec<OutFile>, ExportError> {
    check(export)?;
    let mut programs = Vec::new();
    let mut names = Vec::new();
    for process in &export.processes {
        let settings = &process.settings;
        let autorestart = match settings.restart {
            None | Some(RestartPolicy::Always) => "true",
            Some(RestartPolicy::OnUnexpectedExit) => "unexpected",
            Some(RestartPolicy::Never) => "false",
        };
        let exitcodes = settings
            .expected_exit_codes
            .as_ref()
            .map(|codes| codes.iter().map(i32::to_string).collect::<Vec<_>>().join(","));
        for instance in &process.instances {
            let name = format!("{}-{}-{}", export.app, process.name, instance.number);
            let mut env = process.env.clone();
            env.push(("PORT".to_owned(), instance.port.to_string()));
            env.push(("PS".to_owned(), instance.ps.clone()));
            programs.push(map([
                ("name", Value::from(name.as_str())),
                ("process", Value::from(process.name.as_str())),
                ("number", Value::from(instance.number)),
                ("command", Value::from(process.command.as_str())),
                ("cwd", Value::from(process.cwd.as_str())),
                ("env", env_list(&env)),
                ("autorestart", Value::from(autorestart)),
                ("stopsignal", Value::from(signal_name(process.stop_signal()))),
                ("stopwaitsecs", Value::from(ceil_secs(process.stop_timeout(export)))),
                ("startretries", opt(settings.max_retries.map(|n| n.to_string()))),
                ("startsecs", opt(settings.start_grace.map(|d| ceil_secs(d).to_string()))),
                ("exitcodes", opt(exitcodes.clone())),
                ("umask", opt(settings.umask.map(|u| format!("{u:03o}")))),
            ]));
            names.push(name);
        }
    }
    let context = map([
        ("header", Value::from(header(&export.app))),
        ("app", Value::from(export.app.as_str())),
        ("user", Value::from(export.user.as_str())),
        ("log", Value::from(export.log.as_str())),
        ("programs", Value::from(programs)),
        ("names", Value::from(names)),
    ]);
    let file = format!("{}.conf", export.app);
    Ok(vec![OutFile::new(file, renderer.render("app.conf", &context)?)])
}
