//! bluepill: one `<app>.pill` (Ruby) with an `app.process("<name>-<n>")` per instance in a
//! group `<app>-<name>`, as Foreman writes it.

use minijinja::Value;

use super::ExportError;
use super::escape::sh_quote_always;
use super::files::OutFile;
use super::model::{Export, ceil_secs};
use super::render::{Renderer, env_list, header, map};

/// How long bluepill waits, past the stop timeout, before it checks that a stopped process
/// is gone.
const STOP_GRACE_MARGIN_SECS: u64 = 5;

/// A signal as bluepill's `stop_signals` takes it: a lower-case symbol (`:term`), or the
/// number of a signal without a name.
fn signal_literal(signal: supervise::Signal) -> String {
    match signal.name() {
        Some(name) => format!(":{}", name.to_lowercase()),
        None => signal.as_raw().to_string(),
    }
}

/// Renders the pill.
pub(super) fn render(
    export: &Export,
    renderer: &mut Renderer,
) -> Result<Vec<OutFile>, ExportError> {
    let mut processes = Vec::new();
    for process in &export.processes {
        let stop_timeout = ceil_secs(process.stop_timeout(export));
        for instance in &process.instances {
            let mut env = process.env.clone();
            env.push(("PORT".to_owned(), instance.port.to_string()));
            env.push(("PS".to_owned(), instance.ps.clone()));
            // bluepill splits the command with Shellwords and runs it without a shell: the
            // shell is named, so `$PORT` and shell syntax work as under `procman start`.
            let start_command = format!("/bin/sh -c {}", sh_quote_always(&process.command));
            processes.push(map([
                ("name", Value::from(format!("{}-{}", process.name, instance.number))),
                ("group", Value::from(format!("{}-{}", export.app, process.name))),
                ("start_command", Value::from(start_command)),
                ("cwd", Value::from(process.cwd.as_str())),
                ("env", env_list(&env)),
                ("stop_signal", Value::from(signal_literal(process.stop_signal()))),
                ("stop_timeout", Value::from(stop_timeout)),
                ("stop_grace", Value::from(stop_timeout.saturating_add(STOP_GRACE_MARGIN_SECS))),
                (
                    "log",
                    Value::from(format!(
                        "{}/{}-{}-{}.log",
                        export.log, export.app, process.name, instance.number
                    )),
                ),
            ]));
        }
    }
    let context = map([
        ("header", Value::from(header(&export.app))),
        ("app", Value::from(export.app.as_str())),
        ("user", Value::from(export.user.as_str())),
        ("processes", Value::from(processes)),
    ]);
    let file = format!("{}.pill", export.app);
    Ok(vec![OutFile::new(file, renderer.render("master.pill", &context)?)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_symbols_or_numbers() {
        assert_eq!(signal_literal(supervise::Signal::TERM), ":term");
        assert_eq!(signal_literal(supervise::Signal::QUIT), ":quit");
    }
}
