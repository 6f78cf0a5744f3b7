//! `procman run COMMAND...`: one command with the app's environment, in the foreground.
//!
//! procman replaces itself with the command (`exec`), as Foreman does: the command gets the
//! terminal, standard input and every signal directly, and its exit status is procman's. Only
//! when it cannot be executed does procman report it, with 127 (not found) or 126 (not
//! executable), the shell's codes.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::cli::RunArgs;
use crate::config::app_paths;
use crate::diagnostic::sanitize;
use crate::envfile;
use crate::error::CliError;
use crate::plan::parse_port;
use crate::procfile::Procfile;
use crate::shell;
use crate::text::describe_io;

pub(crate) fn run(args: &RunArgs) -> Result<i32, CliError> {
    let paths = app_paths(&args.app)?;
    let named = (!args.env_files.is_empty()).then_some(args.env_files.as_slice());
    let env = envfile::load(&paths.root, named)?;
    let mut vars = env.pairs();
    if let Some(port) = &args.port {
        let port = parse_port(port).map_err(|message| {
            CliError::Input(
                crate::diagnostic::Diagnostic::new(format!("-p/--port: {message}")).into(),
            )
        })?;
        vars.push(("PORT".to_owned(), port.to_string()));
    }
    // A single argument naming a Procfile entry runs that entry, as Foreman does.
    let entry = match args.command.as_slice() {
        [single] => match Procfile::load_if_present(&paths.procfile)? {
            Some(procfile) => single
                .to_str()
                .and_then(|name| procfile.get(name))
                .map(|entry| entry.command.clone()),
            None => None,
        },
        _ => None,
    };
    // A Procfile entry runs in the app root, as under `start` (and in Foreman); any other
    // command runs where procman was started.
    let (argv, cwd): (Vec<OsString>, Option<&std::path::Path>) = match entry {
        Some(command) => (
            shell::argv(&command, &vars).into_iter().map(OsString::from).collect(),
            Some(paths.root.as_path()),
        ),
        None => (args.command.clone(), None),
    };
    let Some((program, rest)) = argv.split_first() else {
        return Err(CliError::Exec { message: "nothing to run".to_owned(), code: 127 });
    };
    let mut command = Command::new(program);
    command.args(rest).envs(vars);
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let error = command.exec();
    Err(exec_error(program, &error))
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
