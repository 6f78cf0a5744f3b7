//! procman: run the processes of a Procfile, supervise them, and hand them to service managers.
//!
//! `main` parses the command line with `.foreman` (`options`), runs the command and renders any
//! error once, with the exit code the error or the command decides (see `error.rs`).
//!
//! The parsers are the library target (`src/lib.rs`, so that the fuzz targets run the code
//! procman runs); the binary names them as `procman::procfile`, `procman::diagnostic`...
//! and its own modules as `crate::`.

mod app_config;
mod cli;
mod commands;
mod control;
mod error;
mod export;
mod options;
mod output;
mod plan;
#[cfg(test)]
mod test_support;

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::commands::ctl;
use crate::error::CliError;
use crate::options::Origins;

fn main() -> ExitCode {
    // Where `procman-guard` is missing, `procman start`'s guard process executes procman
    // again (see docs/guarantees.md); that copy is the guard here, and gets no further.
    if let Some(code) = supervise::guard::run_if_guard() {
        return ExitCode::from(code);
    }
    let result = options::parse(std::env::args_os().collect())
        .and_then(|parsed| dispatch(parsed.cli.command, &parsed.origins));
    let code = match result {
        Ok(code) => code,
        Err(error) => {
            eprint!("{}", error.render(error::stderr_color()));
            error.exit_code()
        }
    };
    ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1))
}

fn dispatch(command: Command, origins: &Origins) -> Result<i32, CliError> {
    match command {
        Command::Start(args) => commands::start::command(options::Start::resolve(&args, origins)?),
        Command::Run(args) => commands::run::run(&options::Run::resolve(&args, origins)?),
        Command::Check(args) => commands::check::run(&options::Check::resolve(&args)?),
        Command::Export(args) => commands::export::run(options::Export::resolve(&args, origins)?),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "procman", &mut std::io::stdout());
            Ok(0)
        }
        Command::Manpage(args) => commands::manpage::run(&args, Cli::command()),
        Command::Version => {
            print!("{}", Cli::command().render_version());
            Ok(0)
        }
        Command::Ps(args) => ctl::ps(&args),
        Command::Restart(args) => ctl::restart(&args),
        Command::Stop(args) => ctl::stop(&args),
        Command::Scale(args) => ctl::scale(&args),
        Command::Signal(args) => ctl::signal(&args),
    }
}
