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
use crate::envfile;
use crate::error::CliError;
use crate::plan::parse_port;
use crate::procfile::Procfile;
use crate::shell;

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
    let argv: Vec<OsString> = match entry {
        Some(command) => shell::argv(&command, &vars).into_iter().map(OsString::from).collect(),
        None => args.command.clone(),
    };
    let Some((program, rest)) = argv.split_first() else {
        return Err(CliError::Exec { message: "nothing to run".to_owned(), code: 127 });
    };
    let error = Command::new(program).args(rest).envs(vars).exec();
    let shown = program.to_string_lossy();
    let (what, code) = match error.raw_os_error() {
        Some(libc::ENOENT) => ("command not found", 127),
        Some(libc::EACCES | libc::ENOEXEC | libc::EISDIR) => ("not executable", 126),
        _ => ("cannot be run", 126),
    };
    Err(CliError::Exec { message: format!("{what}: {shown} ({error})"), code })
}
