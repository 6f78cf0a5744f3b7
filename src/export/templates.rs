//! The built-in templates, by format and file name (Foreman's file names, without `.erb`),
//! for the renderer and for `procman export --print-template`; and what a `--template`
//! directory holds that an export will not use (Foreman's `.erb` templates, typically).

use std::path::Path;

use super::{ExportError, Format};

/// Every built-in template: its format, its name (the file a user template replaces), its
/// source.
const BUILTIN: &[(Format, &str, &str)] = &[
    (Format::Systemd, "process.service", include_str!("templates/systemd/process.service")),
    (Format::Systemd, "master.target", include_str!("templates/systemd/master.target")),
    (Format::Supervisord, "app.conf", include_str!("templates/supervisord/app.conf")),
    (Format::Launchd, "launchd.plist", include_str!("templates/launchd/launchd.plist")),
    (Format::Runit, "run", include_str!("templates/runit/run")),
    (Format::Runit, "log/run", include_str!("templates/runit/log/run")),
    (Format::Upstart, "master.conf", include_str!("templates/upstart/master.conf")),
    (Format::Upstart, "process_master.conf", include_str!("templates/upstart/process_master.conf")),
    (Format::Upstart, "process.conf", include_str!("templates/upstart/process.conf")),
    (Format::Daemon, "master.conf", include_str!("templates/daemon/master.conf")),
    (Format::Daemon, "process_master.conf", include_str!("templates/daemon/process_master.conf")),
    (Format::Daemon, "process.conf", include_str!("templates/daemon/process.conf")),
    (Format::Inittab, "master", include_str!("templates/inittab/master")),
    (Format::Bluepill, "master.pill", include_str!("templates/bluepill/master.pill")),
    (Format::Compose, "compose.yaml", include_str!("templates/compose/compose.yaml")),
    (Format::Kubernetes, "app.yaml", include_str!("templates/kubernetes/app.yaml")),
];

/// The built-in template `name` of `format`.
pub(super) fn builtin(format: Format, name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(f, n, _)| *f == format && *n == name).map(|(_, _, source)| *source)
}

/// The names of `format`'s templates, in the order the format uses them.
pub(super) fn names(format: Format) -> Vec<&'static str> {
    BUILTIN.iter().filter(|(f, _, _)| *f == format).map(|(_, name, _)| *name).collect()
}

/// The template of `format` that `name` designates: its file name (`process.service`), or,
/// when only one template matches, what comes before its first dot or after its last
/// (`service`, `process`). Returns the file name and the source.
///
/// # Errors
/// [`ExportError::UnknownTemplate`] listing the format's templates.
pub(super) fn find(
    format: Format,
    name: &str,
) -> Result<(&'static str, &'static str), ExportError> {
    let templates = || BUILTIN.iter().filter(|(f, _, _)| *f == format);
    if let Some((_, file, source)) = templates().find(|(_, file, _)| *file == name) {
        return Ok((file, source));
    }
    let short: Vec<_> = templates()
        .filter(|(_, file, _)| {
            let base = file.rsplit('/').next().unwrap_or(file);
            base.split('.').next() == Some(name) || base.rsplit('.').next() == Some(name)
        })
        .collect();
    match short.as_slice() {
        [(_, file, source)] => Ok((file, source)),
        _ => Err(ExportError::UnknownTemplate {
            format: format.name(),
            name: name.to_owned(),
            known: names(format).join(", "),
        }),
    }
}

/// The files under `dir` (relative paths, sorted) that are not one of `format`'s templates,
/// so an export with `--template dir` does not use them. Foreman's templates (`*.erb`) are
/// the usual case. Links are not followed, and the walk stops at a depth of four.
pub(super) fn unused_files(dir: &Path, format: Format) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, depth: usize, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() && depth < 4 {
                walk(base, &path, depth + 1, out);
            } else if !kind.is_dir() {
                let rel = path.strip_prefix(base).unwrap_or(&path);
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    let used = names(format);
    let mut out = Vec::new();
    walk(dir, dir, 0, &mut out);
    out.retain(|file| !used.contains(&file.as_str()));
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_has_templates_and_short_names_resolve() {
        for format in Format::ALL {
            assert!(!names(format).is_empty(), "{format}");
        }
        assert_eq!(find(Format::Systemd, "service").map(|t| t.0).ok(), Some("process.service"));
        assert_eq!(find(Format::Systemd, "master").map(|t| t.0).ok(), Some("master.target"));
        assert_eq!(find(Format::Runit, "log/run").map(|t| t.0).ok(), Some("log/run"));
        assert_eq!(find(Format::Runit, "run").map(|t| t.0).ok(), Some("run"));
        assert_eq!(find(Format::Bluepill, "pill").map(|t| t.0).ok(), Some("master.pill"));
        let error = find(Format::Upstart, "conf").err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "upstart has no template `conf`; its templates are: master.conf, \
                 process_master.conf, process.conf"
            )
        );
    }
}
