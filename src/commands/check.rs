//! `procman check`: is the Procfile (and are the env files and the config file) valid? Where
//! Foreman would read an env-file line differently, a warning says so.

use crate::app_config;
use crate::error::CliError;
use crate::options::Check;
use procman::diagnostic::{Diagnostics, file_label};
use procman::envfile::{self, EnvFiles};
use procman::procfile::{Procfile, check_message};

/// Prints `valid procfile detected (web, worker)` (and, when there is a config file,
/// `valid config file procman.json (web, db)`) or every problem found. Warnings go to standard
/// error; with `--print-env` the environment follows, and the messages become `#` comments.
pub(crate) fn run(args: &Check) -> Result<i32, CliError> {
    let paths = &args.paths;
    let mut diagnostics = Diagnostics::default();
    let procfile = Procfile::load(&paths.procfile);
    let named = (!args.env_files.is_empty()).then_some(args.env_files.as_slice());
    let env = match envfile::load(&paths.root, named, envfile::Scope::Inherited) {
        Ok(env) => env,
        Err(errors) => {
            diagnostics.extend(errors);
            EnvFiles::default()
        }
    };
    let config = match app_config::load(args.config.as_deref(), &paths.procfile) {
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
                let mut extended = procfile.clone();
                match config.extend_procfile(&mut extended) {
                    Ok(()) => {
                        let types: Vec<&str> =
                            extended.entries.iter().map(|e| e.name.as_str()).collect();
                        diagnostics.extend(config.check_order(&types).err().unwrap_or_default());
                    }
                    Err(errors) => diagnostics.extend(errors),
                }
                if let Err(errors) = config.check_dirs(&paths.root) {
                    diagnostics.extend(errors);
                }
            }
            if !diagnostics.is_empty() {
                return Err(CliError::Input(diagnostics));
            }
            if !env.warnings.is_empty() {
                eprint!("{}", env.warnings.render_warnings(crate::error::stderr_color()));
            }
            let comment = if args.print_env { "# " } else { "" };
            println!("{comment}{}", check_message(&procfile));
            if let Some(config) = &config {
                let names = config.names();
                let names =
                    if names.is_empty() { "no process types".to_owned() } else { names.join(", ") };
                println!("{comment}valid config file {} ({names})", file_label(&config.path));
            }
            if args.print_env {
                print!("{}", environment_text(&env));
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

/// The variables as an env file that procman and Foreman read the same way, after a comment
/// naming the files; a value no such line can hold gets a comment instead.
fn environment_text(env: &EnvFiles) -> String {
    let files: Vec<String> = env.files.iter().map(|path| file_label(path)).collect();
    let mut out = match files.as_slice() {
        [] => "# no env file: procman's own environment only\n".to_owned(),
        _ => format!("# from {}, later files winning\n", files.join(", ")),
    };
    for var in &env.vars {
        match envfile::portable_line(&var.key, &var.value) {
            Some(line) => out.push_str(&line),
            None => out.push_str(&format!(
                "# {} (set in {}:{}) holds a backslash before `n` and a line break or `'`: \
                 no env-file line can hold that value",
                var.key,
                file_label(&var.path),
                var.line
            )),
        }
        out.push('\n');
    }
    out
}
