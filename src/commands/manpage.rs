//! `procman manpage`: man pages generated from the same clap definition as `--help`, one for
//! procman and one per command (`procman-start.1`...), as git and cargo ship theirs.

use std::io::Write;
use std::path::Path;

use clap_mangen::Man;

use crate::cli::ManpageArgs;
use crate::error::CliError;

/// Prints `procman.1`, or writes every page into `--dir` and lists what it wrote.
pub(crate) fn run(args: &ManpageArgs, command: clap::Command) -> Result<i32, CliError> {
    let pages = pages(command);
    let Some(dir) = &args.dir else {
        let mut out = std::io::stdout().lock();
        return render(&pages[0])
            .and_then(|page| out.write_all(&page))
            .map(|()| 0)
            .map_err(|e| CliError::io("cannot print the man page", e));
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::io(format!("cannot create {}", dir.display()), e))?;
    let mut out = std::io::stdout().lock();
    for page in &pages {
        let path = dir.join(page.get_filename());
        write(&path, page)
            .map_err(|e| CliError::io(format!("cannot write {}", path.display()), e))?;
        // The list is a courtesy; a closed standard output must not fail the install.
        let _ = writeln!(out, "{}", path.display());
    }
    Ok(0)
}

/// procman's page first, then one per command, in the order of `procman --help`. Every page
/// names procman and its version as its source (clap would name the subcommand alone).
fn pages(command: clap::Command) -> Vec<Man> {
    // Built once at the top, so subcommands get their display names (`procman-start`).
    let mut command = command.disable_help_subcommand(true);
    command.build();
    let source = format!("procman {}", command.get_version().unwrap_or_default());
    let mut pages = Vec::new();
    collect(command, &source, &mut pages);
    pages
}

fn collect(command: clap::Command, source: &str, pages: &mut Vec<Man>) {
    let subcommands: Vec<clap::Command> =
        command.get_subcommands().filter(|sub| !sub.is_hide_set()).cloned().collect();
    pages.push(Man::new(command).source(source).manual("procman manual"));
    for sub in subcommands {
        collect(sub, source, pages);
    }
}

fn render(page: &Man) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    page.render(&mut bytes)?;
    Ok(bytes)
}

fn write(path: &Path, page: &Man) -> std::io::Result<()> {
    std::fs::write(path, render(page)?)
}
