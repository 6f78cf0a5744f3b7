//! `"ready"` and `"depends_on"` beyond their values: dependencies checked against the types
//! the app has (an unknown name, a cycle), and the help for their errors.

use supervise::{CommandSpec, Dependency, ProgramSpec, SpecError, validate_specs};

use super::ConfigFile;
use procman::diagnostic::{Diagnostic, Diagnostics, closest, file_label, fragment, list};

/// The keys of `"ready"`, for "did you mean".
const READY_KEYS: &[&str] = &["log", "port", "command", "interval", "timeout"];

impl ConfigFile {
    /// Fails for each dependency on a type the app does not have (`types`: the Procfile's and
    /// the config file's), and for a cycle, which would keep every type in it from starting.
    /// Before anything starts: `start`, `check` and `reload` call it alike.
    pub(crate) fn check_order(&self, types: &[&str]) -> Result<(), Diagnostics> {
        let label = file_label(&self.path);
        let mut diagnostics = Diagnostics::default();
        for process in &self.processes {
            for dependency in &process.settings.depends_on {
                if types.contains(&dependency.name.as_str()) {
                    continue;
                }
                let name = fragment(&process.name);
                let mut help = "name a process type of the Procfile or of this file".to_owned();
                if let Some(close) = closest(&dependency.name, types) {
                    help = format!("did you mean `{close}`?");
                }
                let diagnostic = Diagnostic::new(format!(
                    "{label}: processes.{name}.depends_on: `{name}` depends on `{}`, which is \
                     not a process type",
                    fragment(&dependency.name)
                ));
                diagnostics.push(
                    self.point_at_key(diagnostic, &["processes", &process.name, "depends_on"])
                        .with_note(format!("the process types are: {}", list(types)))
                        .with_help(help),
                );
            }
        }
        if !diagnostics.is_empty() {
            return Err(diagnostics);
        }
        // The library's rule, on stand-in programs: one definition of a cycle.
        let specs: Vec<ProgramSpec> = types
            .iter()
            .map(|name| {
                let mut spec = ProgramSpec::new(*name, CommandSpec::new("true"));
                if let Some(process) = self.process(name) {
                    spec.depends_on = process
                        .settings
                        .depends_on
                        .iter()
                        .map(|d| Dependency::new(d.name.as_str(), d.condition))
                        .collect();
                }
                spec
            })
            .collect();
        let Err(SpecError::DependencyCycle(cycle)) = validate_specs(&specs) else { return Ok(()) };
        let first = cycle.first().map_or("", String::as_str);
        let message = if cycle.len() <= 2 {
            format!("{label}: processes.{first}.depends_on: `{first}` depends on itself")
        } else {
            format!(
                "{label}: processes.{first}.depends_on: process types depend on each other in a \
                 cycle: {}",
                cycle.join(" -> ")
            )
        };
        Err(self
            .point_at_key(Diagnostic::new(message), &["processes", first, "depends_on"])
            .with_note("no type of a cycle could ever start: each waits for another")
            .with_help("remove one of these dependencies")
            .into())
    }
}

/// What to do about an error inside `"ready"` or `"depends_on"`, if `json_path` is there.
pub(super) fn help_for(json_path: &str, reason: &str) -> Option<String> {
    let in_ready = json_path.contains(".ready");
    if !in_ready && !json_path.contains(".depends_on") {
        return None;
    }
    if !in_ready {
        return Some(
            "use {\"db\": \"ready\", \"migrate\": \"exited\"} (the conditions are \"started\", \
             \"ready\" and \"exited\"), or a list of process types, [\"db\"], each \"started\""
                .to_owned(),
        );
    }
    if let Some(rest) = reason.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let mut help = String::new();
        if let Some(close) = closest(field, READY_KEYS) {
            help.push_str(&format!("did you mean `{close}`? "));
        }
        help.push_str("\"ready\" takes log, port or command, and interval and timeout");
        return Some(help);
    }
    let last = json_path.rsplit('.').next().unwrap_or_default();
    let help = match last {
        _ if reason.contains("above zero") => {
            "use a duration above zero such as \"500ms\", \"2s\" or \"1m\", or a number of seconds"
        }
        "interval" | "timeout" => {
            "use a duration above zero such as \"500ms\", \"2s\" or \"1m\", or a number of seconds"
        }
        "port" => "use a port number such as 5432, or a variable such as \"$PORT\"",
        "log" => "use a regular expression (the regex crate's syntax), e.g. \"listening on\"",
        "command" => "use a shell command such as \"pg_isready -q\"",
        _ => {
            "use {\"log\": \"REGEX\"}, {\"port\": 5432}, {\"port\": \"$PORT\"} or {\"command\": \
             \"pg_isready -q\"}, with \"interval\" and \"timeout\" if you like"
        }
    };
    Some(help.to_owned())
}
