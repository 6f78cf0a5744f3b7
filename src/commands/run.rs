//! `procman run COMMAND...`: one command with the app's environment, in the foreground.
//!
//! procman replaces itself with the command (`exec`), as Foreman does: the command gets the
//! terminal, standard input and every signal directly, and its exit status is procman's. Only
//! when it cannot be executed does procman report it, with 127 (not found) or 126 (not
//! executable), the shell's codes.
//!
//! `procman run NAME` with the name of a process type runs it as `start` runs its first
//! instance: the command, `cwd`, `env` and `umask` of the config file, the PORT of its slot and
//! its PS (Foreman's `run` sets neither).

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use crate::app_config;
use crate::error::CliError;
use crate::options::Run;
use crate::options::plan::{self, AppPaths, PlanOptions};
use procman::diagnostic::{describe_io, sanitize};
use procman::envfile;
use procman::procfile::Procfile;

/// What to execute.
struct Launch {
    argv: Vec<OsString>,
    env: Vec<(String, String)>,
    cwd: Option<PathBuf>,
    umask: Option<u32>,
}

pub(crate) fn run(args: &Run) -> Result<i32, CliError> {
    let process = match args.command.as_slice() {
        [single] => {
            single.to_str().filter(|name| is_process_type(&args.paths, name).unwrap_or(false))
        }
        _ => None,
    };
    let launch = match process {
        Some(name) => process_launch(&args.plan, name)?,
        None => command_launch(args)?,
    };
    let Some((program, rest)) = launch.argv.split_first() else {
        return Err(CliError::Exec { message: "nothing to run".to_owned(), code: 127 });
    };
    let mut command = Command::new(program);
    command.args(rest).envs(launch.env);
    if let Some(cwd) = launch.cwd {
        command.current_dir(cwd);
    }
    if let Some(mask) = launch.umask {
        // `mode_t` is a u16 on macOS.
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask as libc::mode_t));
    }
    let error = command.exec();
    Err(exec_error(program, &error))
}

/// True when `name` is a Procfile entry or a type the config file gives a command (a Procfile
/// that exists must then be valid). Without a Procfile, every argument is a command.
fn is_process_type(paths: &AppPaths, name: &str) -> Result<bool, CliError> {
    let Some(procfile) = Procfile::load_if_present(&paths.procfile)? else {
        return Ok(false);
    };
    if procfile.get(name).is_some() {
        return Ok(true);
    }
    let config = app_config::load(None, &paths.procfile)?;
    Ok(config.is_some_and(|config| config.process(name).is_some_and(|p| p.command.is_some())))
}

/// A process type, planned as `start NAME` plans it: its first instance's command, environment
/// and working directory.
fn process_launch(options: &PlanOptions, name: &str) -> Result<Launch, CliError> {
    let options = PlanOptions { processes: vec![name.to_owned()], ..options.clone() };
    let plan = plan::load(&options)?;
    let Some(process) = plan.process(name) else {
        return Err(CliError::Exec { message: format!("no process type {name}"), code: 127 });
    };
    let instance = plan.instance(process, 1);
    Ok(Launch {
        argv: plan
            .argv_for(&instance)
            .unwrap_or_default()
            .into_iter()
            .map(OsString::from)
            .collect(),
        env: plan.instance_env(&instance),
        cwd: Some(plan.working_dir(process)),
        umask: process.settings.umask,
    })
}

/// Any other command: the env files (and `-p` as PORT), in the working directory.
fn command_launch(args: &Run) -> Result<Launch, CliError> {
    let env_files = &args.plan.env_files;
    let named = (!env_files.is_empty()).then_some(env_files.as_slice());
    let mut env = envfile::load(&args.paths.root, named, envfile::Scope::Inherited)?.pairs();
    if let Some(port) = args.port()? {
        env.push(("PORT".to_owned(), port.to_string()));
    }
    Ok(Launch { argv: args.command.clone(), env, cwd: None, umask: None })
}

/// Foreman's words (`command not found: X`, `not executable: X`) and the shell's codes.
fn exec_error(program: &std::ffi::OsStr, error: &std::io::Error) -> CliError {
    let shown = sanitize(&program.to_string_lossy(), 200);
    let is_path = program.as_encoded_bytes().contains(&b'/');
    let (message, code) = match error.raw_os_error() {
        // A script whose `#!` interpreter is missing fails with ENOENT too.
        Some(libc::ENOENT) if is_path && std::path::Path::new(program).is_file() => {
            (format!("cannot run {shown}: the interpreter on its `#!` line was not found"), 127)
        }
        Some(libc::ENOENT) => (format!("command not found: {shown}"), 127),
        Some(libc::EACCES | libc::ENOEXEC | libc::EISDIR) => {
            (format!("not executable: {shown} ({})", describe_io(error)), 126)
        }
        _ => (format!("cannot run {shown}: {}", describe_io(error)), 126),
    };
    CliError::Exec { message, code }
}
