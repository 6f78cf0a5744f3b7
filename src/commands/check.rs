//! `procman check`: is the Procfile (and are the env files) valid?

use crate::cli::CheckArgs;
use crate::config::app_paths;
use crate::diagnostic::Diagnostics;
use crate::envfile;
use crate::error::CliError;
use crate::procfile::{Procfile, check_message};

/// Prints `valid procfile detected (web, worker)` or every problem found.
pub(crate) fn run(args: &CheckArgs) -> Result<i32, CliError> {
    let paths = app_paths(&args.app)?;
    let mut diagnostics = Diagnostics::default();
    let procfile = Procfile::load(&paths.procfile);
    let named = (!args.env_files.is_empty()).then_some(args.env_files.as_slice());
    if let Err(errors) = envfile::load(&paths.root, named) {
        diagnostics.extend(errors);
    }
    match procfile {
        Ok(procfile) if diagnostics.is_empty() => {
            println!("{}", check_message(&procfile));
            Ok(0)
        }
        Ok(_) => Err(CliError::Input(diagnostics)),
        Err(errors) => {
            let mut all = errors;
            all.extend(diagnostics);
            Err(CliError::Input(all))
        }
    }
}
