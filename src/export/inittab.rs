//! inittab: a block of `/etc/inittab` lines between Foreman's marker comments, one
//! `respawn` entry per instance, to standard output (`-`) or into a file.
//!
//! Foreman overwrites the file; procman replaces only the app's block (or appends it), so an
//! export into `/etc/inittab` keeps every other line.

use std::io::Write;
use std::path::Path;

use minijinja::Value;

use super::dirfd::{DirFd, Kind};
use super::escape::sh_quote;
use super::model::Export;
use super::render::{Renderer, map};
use super::{ExportError, ExportOptions, ExportReport};

/// The block's first and last lines.
fn markers(app: &str) -> (String, String) {
    (
        format!("# ----- foreman {app} processes -----"),
        format!("# ----- end foreman {app} processes -----"),
    )
}

/// Renders the block.
fn block(export: &Export, renderer: &mut Renderer) -> Result<String, ExportError> {
    let count: usize = export.processes.iter().map(|p| p.instances.len()).sum();
    if count > 99 {
        return Err(ExportError::TooManyInittabEntries { count });
    }
    let prefix: String = export.app.chars().take(2).collect::<String>().to_uppercase();
    let mut entries = Vec::new();
    for process in &export.processes {
        for instance in &process.instances {
            let mut commands = vec![
                format!("cd {}", sh_quote(&process.cwd)),
                format!("export PORT={}", instance.port),
                format!("export PS={}", instance.ps),
            ];
            for (name, value) in &process.env {
                commands.push(format!("export {name}={}", sh_quote(value)));
            }
            let log = format!("{}/{}-{}.log", export.log, process.name, instance.number);
            // Foreman writes `<command> >> log`, which sends only the last command of a
            // list there; redirecting the shell itself covers all of it.
            commands.push(format!("exec >> {} 2>&1", sh_quote(&log)));
            commands.push(process.command.clone());
            entries.push(map([
                ("id", Value::from(format!("{prefix}{:02}", entries.len() + 1))),
                ("script", Value::from(commands.join(";"))),
            ]));
        }
    }
    let context = map([
        ("app", Value::from(export.app.as_str())),
        ("user", Value::from(export.user.as_str())),
        ("entries", Value::from(entries)),
    ]);
    renderer.render("master", &context)
}

/// `existing` with the app's block replaced by `new_block`, or with it appended.
fn splice(existing: &str, new_block: &str, app: &str, path: &Path) -> Result<String, ExportError> {
    let (start, end) = markers(app);
    let lines: Vec<&str> = existing.split_inclusive('\n').collect();
    let Some(first) = lines.iter().position(|l| l.trim_end() == start) else {
        let mut out = existing.to_owned();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(new_block);
        return Ok(out);
    };
    let Some(last) = lines[first..].iter().position(|l| l.trim_end() == end) else {
        return Err(ExportError::BrokenBlock { path: path.to_owned(), start });
    };
    let mut out: String = lines[..first].concat();
    out.push_str(new_block);
    out.push_str(&lines[first + last + 1..].concat());
    Ok(out)
}

fn say(out: &mut dyn Write, message: &str) -> Result<(), ExportError> {
    writeln!(out, "[procman export] {message}")
        .map_err(|e| ExportError::io("write to", "standard output", e))
}

/// Writes the block to `out` (location `-`) or into the location file.
pub(super) fn export(
    export: &Export,
    renderer: &mut Renderer,
    options: &ExportOptions,
    out: &mut dyn Write,
) -> Result<ExportReport, ExportError> {
    let text = block(export, renderer)?;
    let mut report = ExportReport::default();
    if export.location == Path::new("-") {
        out.write_all(text.as_bytes())
            .map_err(|e| ExportError::io("write to", "standard output", e))?;
        report.to_stdout = true;
        return Ok(report);
    }
    let path = export.location.as_path();
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        let error = std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name");
        return Err(ExportError::io("write", path, error));
    };
    let dir = DirFd::open(parent)?;
    // The file is read and replaced through its directory, never through a link.
    let (existing, mode) = match &dir {
        Some(dir) => match dir.kind(name)? {
            Some(Kind::Symlink) if !options.force => {
                let target = dir.read_link(name).unwrap_or_default();
                return Err(ExportError::ForeignLink { path: path.to_owned(), target });
            }
            _ => match dir.read(name)? {
                Some(data) => (Some(data.text()), data.mode),
                None => (None, 0o644),
            },
        },
        None => (None, 0o644),
    };
    let new = splice(existing.as_deref().unwrap_or(""), &text, &export.app, path)?;
    if options.dry_run {
        say(out, &format!("would write: {}", path.display()))?;
        out.write_all(new.as_bytes())
            .map_err(|e| ExportError::io("write to", "standard output", e))?;
        report.written.push(path.to_owned());
    } else if existing.as_deref() == Some(new.as_str()) {
        report.unchanged.push(path.to_owned());
    } else {
        let (dir, _) = DirFd::open_or_create(parent)?;
        say(out, &format!("writing: {}", path.display()))?;
        dir.write_atomically(name, new.as_bytes(), mode)?;
        report.written.push(path.to_owned());
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_the_block() {
        let block = "# ----- foreman shop processes -----\nSH01:new\n# ----- end foreman shop processes -----\n";
        let path = Path::new("/etc/inittab");
        assert_eq!(splice("", block, "shop", path).ok().as_deref(), Some(block));
        let existing = "id:2:initdefault:\n# ----- foreman shop processes -----\nSH01:old\n\
                        # ----- end foreman shop processes -----\nx:1:once:/bin/true";
        let expected = format!("id:2:initdefault:\n{block}x:1:once:/bin/true");
        assert_eq!(splice(existing, block, "shop", path).ok(), Some(expected));
        let appended = splice("id:2:initdefault:", block, "shop", path).ok();
        assert_eq!(appended, Some(format!("id:2:initdefault:\n{block}")));
        let broken = "# ----- foreman shop processes -----\nSH01:old\n";
        assert!(matches!(
            splice(broken, block, "shop", path),
            Err(ExportError::BrokenBlock { .. })
        ));
    }
}
