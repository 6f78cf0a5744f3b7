//! `procman check`: is the Procfile (and are the env files and the config file) valid?

use crate::cli::CheckArgs;
use crate::config::app_paths;
use crate::config_file;
use crate::diagnostic::Diagnostics;
use crate::envfile;
use crate::error::CliError;
use crate::procfile::{Procfile, check_message};
use crate::text::file_label;

/// Prints `valid procfile detected (web, worker)` (and, when there is a config file,
/// `valid config file procman.json (web, db)`) or every problem found.
pub(crate) fn run(args: &CheckArgs) -> Result<i32, CliError> {
    let paths = app_paths(&args.app)?;
    let mut diagnostics = Diagnostics::default();
    let procfile = Procfile::load(&paths.procfile);
    let named = (!args.env_files.is_empty()).then_some(args.env_files.as_slice());
    if let Err(errors) = envfile::load(&paths.root, named) {
        diagnostics.extend(errors);
    }
    let config = match config_file::load(args.config.as_deref(), &paths.procfile) {
        Ok(config) => config,
        Err(errors) => {
            diagnostics.extend(errors);
            None
        }
    };
    match procfile {
        Ok(procfile) => {
            // A config file type without a command anywhere is only found against the Procfile.
            if let Some(config) = &config {
                if let Err(errors) = config.extend_procfile(&mut procfile.clone()) {
                    diagnostics.extend(errors);
                }
                if let Err(errors) = config.check_dirs(&paths.root) {
                    diagnostics.extend(errors);
                }
            }
            if !diagnostics.is_empty() {
                return Err(CliError::Input(diagnostics));
            }
            println!("{}", check_message(&procfile));
            if let Some(config) = &config {
                let names = config.names();
                let names =
                    if names.is_empty() { "no process types".to_owned() } else { names.join(", ") };
                println!("valid config file {} ({names})", file_label(&config.path));
            }
            Ok(0)
        }
        Err(errors) => {
            let mut all = errors;
            all.extend(diagnostics);
            Err(CliError::Input(all))
        }
    }
}
