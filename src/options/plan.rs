//! Where the app is (`-f`, `-d`), and the [`Plan`] each command works on: the Procfile, env
//! files, formation and port resolved into instances, `procman.json` applied, then the
//! supervision options over it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Flag, Origins};
use crate::app_config;
use crate::cli::{AppArgs, SupervisionArgs};
use crate::plan::{Plan, PlanInput, PortSource, check_root, parse_port};
use procman::diagnostic::{Diagnostic, Diagnostics};
use procman::envfile;
use procman::formation::Formation;
use procman::procfile::Procfile;

/// What a plan is built from: the options of `start`, `export` or `run NAME`, from the command
/// line and `.foreman`.
#[derive(Clone, Debug, Default)]
pub(crate) struct PlanOptions {
    pub(crate) app: AppArgs,
    /// `-e`: none for the default `.env` in the root.
    pub(crate) env_files: Vec<PathBuf>,
    /// `-m`.
    pub(crate) formation: Option<String>,
    /// `-p`, as typed.
    pub(crate) port: Option<String>,
    /// `start`'s PROCESS arguments (none: every process).
    pub(crate) processes: Vec<String>,
    /// The supervision options, and `--config`; `None` for `run`, which has neither.
    pub(crate) supervision: Option<SupervisionArgs>,
    /// `-t/--timeout`, already checked: every process type's stop timeout.
    pub(crate) timeout: Option<Duration>,
    /// Where `.foreman` set any of these.
    pub(crate) origins: Origins,
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

/// [`load`] for `export`: the app root need not exist here (see [`locate`]); the Procfile and
/// the env files must.
pub(crate) fn load_for_export(options: &PlanOptions) -> Result<Plan, Diagnostics> {
    load_in(locate(&options.app).canonical(), options, Here::Elsewhere)
        .map_err(|errors| relocate(errors, options))
}

/// Reads the Procfile, env files and config file and builds the plan. Settings come from the
/// config file, then the supervision options and the timeout override them.
pub(crate) fn load(options: &PlanOptions) -> Result<Plan, Diagnostics> {
    load_in(app_paths(&options.app)?, options, Here::Runs)
        .map_err(|errors| relocate(errors, options))
}

/// Whether the app runs on this machine (`start`, `run`: the config file's working
/// directories must exist before anything starts, and `$NAME` in env files may take a value
/// from procman's environment) or elsewhere (`export`: neither).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Here {
    Runs,
    Elsewhere,
}

/// Errors about the formation's text, moved to the `.foreman` line it came from, if it did.
fn relocate(errors: Diagnostics, options: &PlanOptions) -> Diagnostics {
    options.origins.of(Flag::Formation).relocate(errors, FORMATION)
}

fn load_in(paths: AppPaths, options: &PlanOptions, here: Here) -> Result<Plan, Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    let procfile = Procfile::load(&paths.procfile);
    let named = (!options.env_files.is_empty()).then_some(options.env_files.as_slice());
    let scope = match here {
        Here::Runs => envfile::Scope::Inherited,
        // The units run elsewhere: this shell's `$USER` or `$SECRET_TOKEN` is no value of theirs.
        Here::Elsewhere => envfile::Scope::FilesOnly,
    };
    let env = envfile::load(&paths.root, named, scope);
    let formation = match (options.processes.as_slice(), &options.formation) {
        ([], Some(text)) => Formation::parse(text, FORMATION),
        ([], None) => Ok(Formation::default()),
        (args, _) => process_formation(args),
    };
    let port = match port(options.port.as_deref(), options.origins.of(Flag::Port)) {
        Ok(port) => port,
        Err(errors) => {
            diagnostics.extend(errors);
            None
        }
    };
    // The config file changes the Procfile's entries and the formation, so it comes first.
    let config_path = options.supervision.as_ref().and_then(|s| s.config.as_deref());
    let config = app_config::load(config_path, &paths.procfile);
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
        let types: Vec<&str> = procfile.entries.iter().map(|e| e.name.as_str()).collect();
        config.check_order(&types)?;
        if here == Here::Runs {
            // Found now, not by the spawn of a process after others have started (nor half
            // way through a reload).
            config.check_dirs(&paths.root)?;
        }
        let given = !options.processes.is_empty() || options.formation.is_some();
        config.apply_instances(&mut formation, given);
    }
    let inherited = std::env::var("PORT").ok();
    let mut plan = Plan::build(PlanInput {
        procfile: &procfile,
        root: &paths.root,
        env: &env,
        formation: &formation,
        port: port.map(|port| (port, port_source(options.origins.of(Flag::Port)))),
        inherited_port: inherited.as_deref(),
    })?;
    if let Some(config) = &config {
        config.apply_to_plan(&mut plan);
    }
    if let Some(supervision) = &options.supervision {
        super::supervision::apply_flags(&mut plan, supervision, &options.origins)?;
    }
    if let Some(timeout) = options.timeout {
        for process in &mut plan.processes {
            process.settings.stop_timeout = Some(timeout);
        }
    }
    Ok(plan)
}

/// The formation option, as messages name it.
const FORMATION: &str = "-m/--formation";

/// `-p/--port`, checked: a port number, or a message at the value's origin.
pub(crate) fn port(text: Option<&str>, origin: &super::Origin) -> Result<Option<u16>, Diagnostics> {
    text.map(parse_port).transpose().map_err(|message| {
        origin
            .diagnostic("-p/--port", &message)
            .with_help("give a port number from 1 to 65535, e.g. `-p 3000`")
            .into()
    })
}

/// Where a base port given as an option came from, for the PORT messages.
fn port_source(origin: &super::Origin) -> PortSource {
    match origin {
        super::Origin::CommandLine => PortSource::Option,
        super::Origin::DotForeman(line) => {
            PortSource::DotForeman { path: line.path.clone(), line: line.number }
        }
    }
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
                                procman::diagnostic::fragment(&item.name)
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
