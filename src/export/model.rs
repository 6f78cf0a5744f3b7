//! From a [`Plan`] and the [`ExportOptions`] to the checked values every format renders:
//! names, paths, instances with their PORT and PS, and the environment. All validation that
//! does not depend on the format happens here, before anything is rendered or written.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use supervise::Signal;

use super::{ExportError, ExportOptions, Format};
use crate::plan::{InstancePlan, Plan, ProcessPlan, Settings};

/// The checked input of one export.
#[derive(Debug)]
pub(super) struct Export {
    pub(super) app: String,
    pub(super) user: String,
    pub(super) log: String,
    pub(super) run: String,
    /// Absolute.
    pub(super) root: String,
    /// Absolute (or `-`).
    pub(super) location: PathBuf,
    pub(super) timeout: Duration,
    pub(super) image: Option<String>,
    pub(super) systemd_version: Option<u32>,
    /// The env files' variables, without PORT and PS.
    pub(super) env: Vec<(String, String)>,
    /// Every Procfile entry, count 0 included.
    pub(super) processes: Vec<Proc>,
}

/// One process type.
#[derive(Debug)]
pub(super) struct Proc {
    pub(super) name: String,
    pub(super) command: String,
    pub(super) count: u32,
    /// Absolute working directory.
    pub(super) cwd: String,
    /// The per-type variables from the config (without PORT and PS).
    pub(super) extra_env: Vec<(String, String)>,
    /// The env files' variables, then `extra_env` over them.
    pub(super) env: Vec<(String, String)>,
    pub(super) settings: Settings,
    /// The PORT of instance 1 (also the slot of a type with count 0).
    pub(super) port: u16,
    pub(super) instances: Vec<InstancePlan>,
}

impl Proc {
    /// The stop timeout: the type's own, else the export's `timeout`.
    pub(super) fn stop_timeout(&self, export: &Export) -> Duration {
        self.settings.stop_timeout.unwrap_or(export.timeout)
    }

    /// The stop signal: the type's own, else SIGTERM.
    pub(super) fn stop_signal(&self) -> Signal {
        self.settings.stop_signal.unwrap_or(Signal::TERM)
    }

    /// Whether the type listens on PORT: it is named `web` (Heroku's rule for the type that
    /// gets HTTP traffic) or its command mentions `$PORT` / `${PORT}`.
    pub(super) fn listens(&self) -> bool {
        self.name == "web" || mentions_port(&self.command)
    }
}

/// Whether `command` refers to `$PORT` or `${PORT}` (and not to `$PORTAL`).
fn mentions_port(command: &str) -> bool {
    command.contains("${PORT}")
        || command.match_indices("$PORT").any(|(at, m)| {
            !command[at + m.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// The name of a signal as service managers spell it without the prefix (`TERM`), or its
/// number when it has no name.
pub(super) fn signal_name(signal: Signal) -> String {
    signal.name().map_or_else(|| signal.as_raw().to_string(), str::to_owned)
}

/// Whole seconds, rounded up (for formats that only take integers).
pub(super) fn ceil_secs(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// The instances of `plan`, in Procfile order: for each type with count n > 0, instances
/// 1..=n with PORT = base_port + 100 × index + (n − 1) and PS = `name.n`.
///
/// # Errors
/// [`ExportError::PortOverflow`] when a PORT would pass 65535.
#[cfg(test)]
pub(super) fn instance_plans(plan: &Plan) -> Result<Vec<InstancePlan>, ExportError> {
    let mut out = Vec::new();
    for process in &plan.processes {
        out.extend(process_instances(plan, process)?);
    }
    Ok(out)
}

fn process_instances(plan: &Plan, process: &ProcessPlan) -> Result<Vec<InstancePlan>, ExportError> {
    (1..=process.count).map(|number| instance(plan, process, number)).collect()
}

/// Instance `number` of `process`, or the error of a PORT past 65535.
fn instance(plan: &Plan, process: &ProcessPlan, number: u32) -> Result<InstancePlan, ExportError> {
    plan.checked_instance(process, number).ok_or_else(|| ExportError::PortOverflow {
        ps: format!("{}.{number}", process.name),
        base_port: plan.base_port,
    })
}

/// Refuses control characters (newline, tab, escape, DEL, C1): no format can carry them
/// safely on one line.
pub(super) fn check_text(what: &str, value: &str, format: Format) -> Result<(), ExportError> {
    match value.chars().find(|c| c.is_control()) {
        Some(character) => Err(ExportError::UnsafeValue {
            what: what.to_owned(),
            character,
            format: format.name(),
        }),
        None => Ok(()),
    }
}

fn check_env_name(name: &str, origin: &str) -> Result<(), ExportError> {
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(ExportError::InvalidEnvName { name: name.to_owned(), origin: origin.to_owned() })
    }
}

fn invalid(what: &str, value: &str, reason: &str) -> ExportError {
    ExportError::InvalidName {
        what: what.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

fn check_app(app: &str, defaulted: bool) -> Result<(), ExportError> {
    let valid = app.starts_with(|c: char| c.is_ascii_alphanumeric())
        && app.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if valid {
        return Ok(());
    }
    let what = if defaulted { "app name (the root directory's name)" } else { "app name" };
    Err(invalid(
        what,
        app,
        "it goes into file and unit names, so use letters, digits, `_`, `.` and `-`, starting \
         with a letter or digit (pass --app NAME)",
    ))
}

fn check_user(user: &str) -> Result<(), ExportError> {
    let valid = user.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && user.chars().all(|c| c.is_ascii_alphanumeric() || "_.-@$".contains(c));
    if valid {
        Ok(())
    } else {
        Err(invalid(
            "user",
            user,
            "a user name is letters, digits, `_`, `.`, `-` and `@` (pass --user NAME)",
        ))
    }
}

fn check_process_name(name: &str) -> Result<(), ExportError> {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c)) {
        Ok(())
    } else {
        Err(invalid(
            "process name",
            name,
            "Procfile names are letters, digits, `_` and `-`; rename the entry",
        ))
    }
}

fn path_text(what: &'static str, path: &Path, format: Format) -> Result<String, ExportError> {
    let text = path.to_str().ok_or_else(|| ExportError::NonUtf8Path {
        what,
        path: path.to_owned(),
        format: format.name(),
    })?;
    check_text(&format!("the {what} {text:?}"), text, format)?;
    Ok(text.to_owned())
}

/// `path` made absolute and normalized lexically (`.` dropped, `..` applied): systemd refuses
/// a `WorkingDirectory=` that is not normalized.
fn absolute(path: &Path) -> Result<PathBuf, ExportError> {
    let absolute = std::path::absolute(path).map_err(|e| ExportError::io("resolve", path, e))?;
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Checks the plan and the options, and computes everything the formats need.
pub(super) fn resolve(plan: &Plan, options: &ExportOptions) -> Result<Export, ExportError> {
    let format = options.format;
    if options.location.as_os_str().is_empty() {
        return Err(ExportError::NoLocation { format: format.name() });
    }
    let root_path = absolute(&plan.root)?;
    let (app, defaulted) = match &options.app {
        Some(app) => (app.clone(), false),
        None => (root_path.file_name().and_then(|n| n.to_str()).unwrap_or("app").to_owned(), true),
    };
    check_app(&app, defaulted)?;
    let user = options.user.clone().unwrap_or_else(|| app.clone());
    check_user(&user)?;
    let log = options.log_dir.clone().unwrap_or_else(|| PathBuf::from(format!("/var/log/{app}")));
    let run = options.run_dir.clone().unwrap_or_else(|| PathBuf::from(format!("/var/run/{app}")));
    let location = if options.location == Path::new("-") {
        options.location.clone()
    } else {
        absolute(&options.location)?
    };
    if let Some(image) = &options.image {
        check_text("the image name", image, format)?;
        if image.is_empty() || image.contains(char::is_whitespace) {
            return Err(invalid("image", image, "an image reference has no spaces"));
        }
    }

    let env = clean_env(&plan.env, "the env files", format)?;
    let mut processes = Vec::with_capacity(plan.processes.len());
    for process in &plan.processes {
        check_process_name(&process.name)?;
        let what = format!("the command of process `{}`", process.name);
        check_text(&what, &process.command, format)?;
        if process.command.trim().is_empty() {
            return Err(invalid("command of process", &process.name, "it is empty"));
        }
        let cwd = match &process.cwd {
            Some(cwd) => absolute(&root_path.join(cwd))?,
            None => root_path.clone(),
        };
        let origin = format!("the config of process `{}`", process.name);
        let extra_env = clean_env(&process.env, &origin, format)?;
        let port = instance(plan, process, 1)?.port;
        processes.push(Proc {
            name: process.name.clone(),
            command: process.command.clone(),
            count: process.count,
            cwd: path_text("working directory", &cwd, format)?,
            env: merge_env(&env, &extra_env),
            extra_env,
            settings: process.settings.clone(),
            port,
            instances: process_instances(plan, process)?,
        });
    }
    Ok(Export {
        root: path_text("app root", &root_path, format)?,
        log: path_text("log directory", &log, format)?,
        run: path_text("run directory", &run, format)?,
        app,
        user,
        location,
        timeout: options.timeout,
        image: options.image.clone(),
        systemd_version: options.systemd_version,
        env,
        processes,
    })
}

/// Checks names and values, and drops PORT and PS: every instance gets its own, as under
/// `procman start`, where they are set after the env files.
fn clean_env(
    vars: &[(String, String)],
    origin: &str,
    format: Format,
) -> Result<Vec<(String, String)>, ExportError> {
    let mut out = Vec::with_capacity(vars.len());
    for (name, value) in vars {
        check_env_name(name, origin)?;
        check_text(&format!("the value of `{name}` (from {origin})"), value, format)?;
        if name != "PORT" && name != "PS" {
            out.push((name.clone(), value.clone()));
        }
    }
    Ok(out)
}

/// `base`, with the variables of `over` replacing those of the same name in place and the
/// others appended.
fn merge_env(base: &[(String, String)], over: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = base.to_vec();
    for (name, value) in over {
        match out.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1.clone_from(value),
            None => out.push((name.clone(), value.clone())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_mentions() {
        assert!(mentions_port("puma -p $PORT"));
        assert!(mentions_port("puma -p ${PORT}"));
        assert!(mentions_port("x --port=$PORT/"));
        assert!(!mentions_port("echo $PORTAL"));
        assert!(!mentions_port("sidekiq"));
    }

    #[test]
    fn env_merge_keeps_positions() {
        let base = vec![("A".into(), "1".into()), ("B".into(), "2".into())];
        let over = vec![("B".into(), "3".into()), ("C".into(), "4".into())];
        let merged = merge_env(&base, &over);
        assert_eq!(
            merged,
            vec![("A".into(), "1".into()), ("B".into(), "3".into()), ("C".into(), "4".into())]
        );
    }

    #[test]
    fn instances_follow_foremans_port_rule() {
        let plan = crate::export::tests::representative(Path::new("/srv/shop"));
        let instances = instance_plans(&plan).unwrap_or_default();
        let summary: Vec<(&str, u32, u16)> =
            instances.iter().map(|i| (i.ps.as_str(), i.number, i.port)).collect();
        // clock (count 0) is skipped but keeps its slot: it would have had 5200.
        assert_eq!(summary, [("web.1", 1, 5000), ("web.2", 2, 5001), ("worker.1", 1, 5100)]);
        assert!(instances.iter().all(|i| i.ps.starts_with(&i.process)));

        let mut high = plan;
        high.base_port = 65500;
        let error = instance_plans(&high).err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "instance worker.1 would get a port above 65535 (base port 65500); lower the base port with --port"
            )
        );
    }

    #[test]
    fn paths_are_normalized() {
        assert_eq!(absolute(Path::new("/srv/./a/../shop/")).ok(), Some(PathBuf::from("/srv/shop")));
    }

    #[test]
    fn durations_round_up() {
        assert_eq!(ceil_secs(Duration::from_secs(5)), 5);
        assert_eq!(ceil_secs(Duration::from_millis(1500)), 2);
    }
}
