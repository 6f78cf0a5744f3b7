//! From what the user typed to what procman will do: `.foreman` defaults merged under the
//! command line, then the Procfile, env files, formation and port resolved into a [`Plan`].

use std::path::{Path, PathBuf};

use clap::ArgMatches;
use clap::parser::ValueSource;

use clap::ValueEnum;

use crate::app_config;
use crate::cli::{
    AppArgs, ColorWhen, Command, ContainmentChoice, OptionalTargetArgs, PlanArgs, PsArgs,
    ScaleArgs, SignalArgs, SupervisionArgs, TargetArgs,
};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::dotforeman::DotForeman;
use crate::envfile;
use crate::formation::Formation;
use crate::plan::{Plan, PlanInput, check_root, parse_port};
use crate::procfile::Procfile;

/// The options `.foreman` may set (Foreman's long option names).
const DOTFOREMAN_KEYS: &[&str] = &[
    "procfile",
    "root",
    "env",
    "formation",
    "concurrency",
    "port",
    "timeout",
    "color",
    "timestamp",
    "prefix",
    "app",
    "user",
    "log",
    "run",
    "template",
    "socket",
    "restart",
    "max-restarts",
    "backoff",
    "start-grace",
    "stop-signal",
    "can-die",
    "config",
    "containment",
];

/// Fills every option `.foreman` sets and the command line does not.
pub(crate) fn apply_dotforeman(
    command: &mut Command,
    matches: &ArgMatches,
    dot: &DotForeman,
) -> Result<(), Diagnostics> {
    dot.check_keys(DOTFOREMAN_KEYS)?;
    let given = |id: &str| {
        matches.try_get_raw(id).is_ok_and(|v| v.is_some())
            && matches.value_source(id) == Some(ValueSource::CommandLine)
    };
    let text = |key: &str| dot.get(key).map(|s| s.value.clone());
    let mut diagnostics = Diagnostics::default();
    let mut boolean = |key: &str| -> Option<bool> {
        let setting = dot.get(key)?;
        let value = setting.as_bool();
        if value.is_none() {
            diagnostics.push(dot.invalid(setting, format!("`{key}` must be true or false")));
        }
        value
    };
    let (app, plan, supervision) = match command {
        Command::Start(start) => {
            if !given("timeout") {
                if let Some(value) = text("timeout") {
                    start.timeout = Some(value);
                }
            }
            if !given("color") && !given("no_color") {
                if let Some(on) = boolean("color") {
                    start.color = Some(if on { ColorWhen::Always } else { ColorWhen::Never });
                }
            }
            if !given("no_timestamp") && !given("timestamp") {
                if let Some(on) = boolean("timestamp") {
                    start.no_timestamp = !on;
                }
            }
            if !given("no_prefix") && !given("prefix") {
                if let Some(on) = boolean("prefix") {
                    start.no_prefix = !on;
                }
            }
            if !given("socket") {
                if let Some(value) = text("socket") {
                    start.socket = Some(PathBuf::from(value));
                }
            }
            if !given("containment") && !start.isolate {
                if let Some(setting) = dot.get("containment") {
                    match ContainmentChoice::from_str(&setting.value, true) {
                        Ok(choice) => start.containment = Some(choice),
                        Err(_) => diagnostics.push(dot.invalid(
                            setting,
                            "`containment` must be auto, cgroup, namespace or subreaper".into(),
                        )),
                    }
                }
            }
            (Some(&mut start.app), Some(&mut start.plan), Some(&mut start.supervision))
        }
        Command::Export(export) => {
            for (id, key, slot) in [
                ("app", "app", &mut export.app),
                ("user", "user", &mut export.user),
                ("timeout", "timeout", &mut export.timeout),
            ] {
                if !given(id) {
                    if let Some(value) = text(key) {
                        *slot = Some(value);
                    }
                }
            }
            for (id, key, slot) in [
                ("log", "log", &mut export.log),
                ("run_dir", "run", &mut export.run_dir),
                ("template", "template", &mut export.template),
            ] {
                if !given(id) {
                    if let Some(value) = text(key) {
                        *slot = Some(PathBuf::from(value));
                    }
                }
            }
            (Some(&mut export.app_args), Some(&mut export.plan), Some(&mut export.supervision))
        }
        Command::Check(check) => {
            if !given("env_files") {
                if let Some(value) = text("env") {
                    check.env_files = envfile::split_list(&value);
                }
            }
            if !given("config") {
                if let Some(value) = text("config") {
                    check.config = Some(PathBuf::from(value));
                }
            }
            (Some(&mut check.app), None, None)
        }
        Command::Run(run) => {
            if !given("env_files") {
                if let Some(value) = text("env") {
                    run.env_files = envfile::split_list(&value);
                }
            }
            if !given("port") {
                run.port = text("port").or(run.port.take());
            }
            (Some(&mut run.app), None, None)
        }
        // The control commands find the socket from the same options as `start`.
        Command::Ps(PsArgs { control, .. })
        | Command::Restart(TargetArgs { control, .. })
        | Command::Stop(OptionalTargetArgs { control, .. })
        | Command::Scale(ScaleArgs { control, .. })
        | Command::Signal(SignalArgs { control, .. }) => {
            if !given("socket") {
                if let Some(value) = text("socket") {
                    control.socket = Some(PathBuf::from(value));
                }
            }
            (Some(&mut control.app), None, None)
        }
        _ => (None, None, None),
    };
    if let Some(app) = app {
        if !given("procfile") {
            if let Some(value) = text("procfile") {
                app.procfile = Some(PathBuf::from(value));
            }
        }
        if !given("root") {
            if let Some(value) = text("root") {
                app.root = Some(PathBuf::from(value));
            }
        }
    }
    if let Some(plan) = plan {
        if !given("env_files") {
            if let Some(value) = text("env") {
                plan.env_files = envfile::split_list(&value);
            }
        }
        if !given("formation") {
            plan.formation =
                text("formation").or_else(|| text("concurrency")).or(plan.formation.take());
        }
        if !given("port") {
            plan.port = text("port").or(plan.port.take());
        }
    }
    if let Some(supervision) = supervision {
        for (id, key, slot) in [
            ("restart", "restart", &mut supervision.restart),
            ("max_restarts", "max-restarts", &mut supervision.max_restarts),
            ("backoff", "backoff", &mut supervision.backoff),
            ("start_grace", "start-grace", &mut supervision.start_grace),
            ("stop_signal", "stop-signal", &mut supervision.stop_signal),
            ("can_die", "can-die", &mut supervision.can_die),
        ] {
            if !given(id) {
                if let Some(value) = text(key) {
                    *slot = value.split(',').map(str::to_owned).collect();
                }
            }
        }
        if !given("config") {
            if let Some(value) = text("config") {
                supervision.config = Some(PathBuf::from(value));
            }
        }
    }
    diagnostics.into_result(())
}

/// Where the Procfile is and where processes run.
#[derive(Clone, Debug)]
pub(crate) struct AppPaths {
    /// The Procfile, as the user named it (for messages).
    pub(crate) procfile: PathBuf,
    /// The app root, absolute.
    pub(crate) root: PathBuf,
}

/// Foreman's rule: the Procfile is `-f`, else `Procfile` in `-d`, else `./Procfile`; the root is
/// `-d`, else the Procfile's directory.
pub(crate) fn app_paths(app: &AppArgs) -> Result<AppPaths, Diagnostics> {
    let paths = locate(app);
    check_root(&paths.root)?;
    Ok(paths.canonical())
}

impl AppPaths {
    /// With the root canonical, when it exists.
    fn canonical(self) -> AppPaths {
        AppPaths { root: std::fs::canonicalize(&self.root).unwrap_or(self.root), ..self }
    }
}

/// [`app_paths`] without checking that the root exists: `export`'s `-d` names where the app
/// lives on the machine that runs the exported files.
fn locate(app: &AppArgs) -> AppPaths {
    let procfile = match (&app.procfile, &app.root) {
        (Some(path), _) => path.clone(),
        (None, Some(root)) => root.join("Procfile"),
        (None, None) => PathBuf::from("Procfile"),
    };
    let root = match &app.root {
        Some(root) => root.clone(),
        None => match procfile.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        },
    };
    AppPaths { procfile, root }
}

/// [`load_plan`] for `export`: the app root need not exist here (see [`locate`]); the
/// Procfile and the env files must.
pub(crate) fn load_export_plan(
    app: &AppArgs,
    args: &PlanArgs,
    supervision: &SupervisionArgs,
) -> Result<Plan, Diagnostics> {
    load_plan_in(locate(app).canonical(), args, &[], Some(supervision))
}

/// Reads the Procfile, env files and config file and builds the plan. `processes` are
/// `start`'s arguments (none: every process). Settings come from the config file, then the
/// supervision flags override them.
pub(crate) fn load_plan(
    app: &AppArgs,
    args: &PlanArgs,
    processes: &[String],
    supervision: Option<&SupervisionArgs>,
) -> Result<Plan, Diagnostics> {
    load_plan_in(app_paths(app)?, args, processes, supervision)
}

fn load_plan_in(
    paths: AppPaths,
    args: &PlanArgs,
    processes: &[String],
    supervision: Option<&SupervisionArgs>,
) -> Result<Plan, Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    let procfile = Procfile::load(&paths.procfile);
    let named = (!args.env_files.is_empty()).then_some(args.env_files.as_slice());
    let env = envfile::load(&paths.root, named);
    let formation = match (processes, &args.formation) {
        ([], Some(text)) => Formation::parse(text, "-m/--formation"),
        ([], None) => Ok(Formation::default()),
        (args, _) => process_formation(args),
    };
    let port = match args.port.as_deref().map(parse_port).transpose() {
        Ok(port) => port,
        Err(message) => {
            diagnostics.push(
                Diagnostic::new(format!("-p/--port: {message}"))
                    .with_help("give a port number from 1 to 65535, e.g. `-p 3000`"),
            );
            None
        }
    };
    // The config file changes the Procfile's entries and the formation, so it comes first.
    let config = app_config::load(supervision.and_then(|s| s.config.as_deref()), &paths.procfile);
    let (mut procfile, env, mut formation, config) = match (procfile, env, formation, config) {
        (Ok(p), Ok(e), Ok(f), Ok(c)) if diagnostics.is_empty() => (p, e, f, c),
        (p, e, f, c) => {
            for result in [p.err(), e.err(), f.err(), c.err()].into_iter().flatten() {
                diagnostics.extend(result);
            }
            return Err(diagnostics);
        }
    };
    if let Some(config) = &config {
        config.extend_procfile(&mut procfile)?;
        config.apply_instances(&mut formation, !processes.is_empty() || args.formation.is_some());
    }
    let inherited = std::env::var("PORT").ok();
    let mut plan = Plan::build(PlanInput {
        procfile: &procfile,
        root: &paths.root,
        env: &env,
        formation: &formation,
        port,
        inherited_port: inherited.as_deref(),
    })?;
    if let Some(config) = &config {
        config.apply_to_plan(&mut plan);
    }
    if let Some(supervision) = supervision {
        crate::options::supervision::apply_flags(&mut plan, supervision)?;
    }
    Ok(plan)
}

/// The formation of `start`'s PROCESS arguments: each is a name (`web`, once) or a formation
/// (`web=3`); `start web worker` runs those two and nothing else.
fn process_formation(args: &[String]) -> Result<Formation, Diagnostics> {
    if let [one] = args {
        return Formation::from_process_arg(one, "the PROCESS argument");
    }
    let origin = "the PROCESS arguments";
    let text = args.join(" ");
    let mut merged =
        Formation { default: 0, items: Vec::new(), origin: origin.to_owned(), text, single: true };
    let mut diagnostics = Diagnostics::default();
    let mut column = 1;
    for arg in args {
        match Formation::from_process_arg(arg, origin) {
            Ok(part) => {
                merged.single &= part.single;
                merged.default = merged.default.max(part.default);
                for mut item in part.items {
                    item.span.0 += column - 1;
                    if merged.items.iter().any(|seen| seen.name == item.name) {
                        diagnostics.push(
                            Diagnostic::new(format!(
                                "`{}` is named twice in the PROCESS arguments",
                                crate::diagnostic::fragment(&item.name)
                            ))
                            .with_origin(origin, Some(&merged.text))
                            .with_column(item.span.0, item.span.1)
                            .with_help(
                                "name each process type once, e.g. `procman start web worker`",
                            ),
                        );
                    } else {
                        merged.items.push(item);
                    }
                }
            }
            Err(errors) => diagnostics.extend(errors),
        }
        column += arg.chars().count() + 1;
    }
    diagnostics.into_result(merged)
}

/// The working directory, for `.foreman`.
pub(crate) fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| Path::new(".").to_path_buf())
}
