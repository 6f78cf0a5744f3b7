//! Writing the rendered files into the location, idempotently, and removing the app's stale
//! files from an earlier export without ever deleting a file procman did not write.
//!
//! The record is a manifest, `.procman-export-<app>.json` in the location, listing every file
//! written (with a hash of its contents) and every directory created. On the next export:
//! - a file whose contents are unchanged is not rewritten;
//! - a file of the old manifest that is no longer produced is deleted only if its contents
//!   still hash to what procman wrote; a file someone edited since is kept and reported;
//! - a directory of the old manifest that is no longer needed is removed only if empty;
//! - an existing file at a path to write that is neither in the manifest nor carries the
//!   procman header (see `render::header`) is foreign: the export stops with an error instead
//!   of overwriting it, unless `force` is set.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::render::header;
use super::{ExportError, ExportOptions, ExportReport};

/// One rendered file, its path relative to the location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct OutFile {
    pub(super) path: PathBuf,
    pub(super) contents: String,
    pub(super) mode: u32,
}

impl OutFile {
    /// A regular file (mode 0644).
    pub(super) fn new(path: impl Into<PathBuf>, contents: String) -> OutFile {
        OutFile { path: path.into(), contents, mode: 0o644 }
    }

    /// An executable script (mode 0755).
    pub(super) fn executable(path: impl Into<PathBuf>, contents: String) -> OutFile {
        OutFile { path: path.into(), contents, mode: 0o755 }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    version: u32,
    app: String,
    format: String,
    /// Relative path → FNV-1a 64 hash of the contents written, in hex.
    files: BTreeMap<String, String>,
    /// Directories procman created, relative.
    dirs: BTreeSet<String>,
}

/// The manifest's file name for `app`.
pub(super) fn manifest_name(app: &str) -> String {
    format!(".procman-export-{app}.json")
}

/// FNV-1a, 64 bits: enough to notice that a file changed, with no dependency.
fn hash(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn say(out: &mut dyn Write, message: &str) -> Result<(), ExportError> {
    writeln!(out, "[procman export] {message}")
        .map_err(|e| ExportError::io("write to", "standard output", e))
}

/// A relative path made only of normal components (nothing to escape the location with).
fn safe_relative(path: &str) -> bool {
    let p = Path::new(path);
    !path.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)))
}

fn read_manifest(path: &Path, app: &str) -> Result<Option<Manifest>, ExportError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ExportError::io("read", path, e)),
    };
    let bad = |reason: String| ExportError::BadManifest { path: path.to_owned(), reason };
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if manifest.app != app {
        return Err(bad(format!("it is for app `{}`", manifest.app)));
    }
    if let Some(p) = manifest.files.keys().chain(&manifest.dirs).find(|p| !safe_relative(p)) {
        return Err(bad(format!("it lists `{p}`, which is not a path inside the location")));
    }
    Ok(Some(manifest))
}

fn rel(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Whether `contents` carries the header of a procman export for `app`.
fn has_header(contents: &[u8], app: &str) -> bool {
    let head = &contents[..contents.len().min(1024)];
    String::from_utf8_lossy(head).contains(&header(app))
}

fn read_existing(path: &Path) -> Result<Option<Vec<u8>>, ExportError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ExportError::io("read", path, e)),
    }
}

/// Writes `files` into the location (or shows them, for a dry run) and cleans up.
pub(super) fn apply(
    location: &Path,
    app: &str,
    format: &str,
    files: &[OutFile],
    options: &ExportOptions,
    out: &mut dyn Write,
) -> Result<ExportReport, ExportError> {
    let manifest_path = location.join(manifest_name(app));
    let old = read_manifest(&manifest_path, app)?.unwrap_or_default();
    let mut report = ExportReport::default();

    let wanted: BTreeSet<String> = files.iter().map(|f| rel(&f.path)).collect();
    let mut wanted_dirs = BTreeSet::new();
    for file in files {
        let mut dir = file.path.parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            wanted_dirs.insert(rel(d));
            dir = d.parent();
        }
    }

    // Refuse before writing anything.
    let mut current = Vec::with_capacity(files.len());
    for file in files {
        let path = location.join(&file.path);
        let existing = read_existing(&path)?;
        if let Some(bytes) = &existing {
            let ours = old.files.contains_key(&rel(&file.path))
                || has_header(bytes, app)
                || bytes == file.contents.as_bytes();
            if !ours && !options.force {
                return Err(ExportError::ForeignFile { path });
            }
        }
        current.push(existing);
    }
    let stale: Vec<&String> = old.files.keys().filter(|p| !wanted.contains(*p)).collect();

    if options.dry_run {
        for file in files {
            let path = location.join(&file.path);
            say(out, &format!("would write: {} (mode {:o})", path.display(), file.mode))?;
            out.write_all(file.contents.as_bytes())
                .and_then(|()| writeln!(out))
                .map_err(|e| ExportError::io("write to", "standard output", e))?;
            report.written.push(path);
        }
        for p in stale {
            let path = location.join(p);
            match read_existing(&path)? {
                None => {}
                Some(bytes) if hash(&bytes) == old.files[p] => {
                    say(out, &format!("would clean up: {}", path.display()))?;
                    report.removed.push(path);
                }
                Some(_) => {
                    say(
                        out,
                        &format!("would keep: {} (changed since procman wrote it)", path.display()),
                    )?;
                    report.kept.push(path);
                }
            }
        }
        return Ok(report);
    }

    let mut dirs: BTreeSet<String> =
        old.dirs.iter().filter(|d| wanted_dirs.contains(*d)).cloned().collect();
    create_dir(location, out, &mut report)?;
    for d in &wanted_dirs {
        if create_dir(&location.join(d), out, &mut report)? {
            dirs.insert(d.clone());
        }
    }

    let mut written = BTreeMap::new();
    for (file, existing) in files.iter().zip(current) {
        let path = location.join(&file.path);
        let same_mode = fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o7777 == file.mode)
            .unwrap_or(false);
        if existing.as_deref() == Some(file.contents.as_bytes()) && same_mode {
            report.unchanged.push(path);
        } else {
            say(out, &format!("writing: {}", path.display()))?;
            write_atomically(&path, file.contents.as_bytes(), file.mode)?;
            report.written.push(path);
        }
        written.insert(rel(&file.path), hash(file.contents.as_bytes()));
    }

    for p in stale {
        let path = location.join(p);
        match read_existing(&path)? {
            None => {}
            Some(bytes) if hash(&bytes) == old.files[p] => {
                say(out, &format!("cleaning up: {}", path.display()))?;
                fs::remove_file(&path).map_err(|e| ExportError::io("remove", &path, e))?;
                report.removed.push(path);
            }
            Some(_) => {
                say(
                    out,
                    &format!(
                        "keeping: {} (changed since procman wrote it; remove it by hand)",
                        path.display()
                    ),
                )?;
                report.kept.push(path);
            }
        }
    }

    // Deepest first, so a directory's stale subdirectories go before it.
    let mut stale_dirs: Vec<&String> =
        old.dirs.iter().filter(|d| !wanted_dirs.contains(*d)).collect();
    stale_dirs.sort_by_key(|d| std::cmp::Reverse(Path::new(d).components().count()));
    for d in stale_dirs {
        let path = location.join(d);
        let Ok(mut entries) = fs::read_dir(&path) else { continue };
        if entries.next().is_none() {
            say(out, &format!("cleaning up directory: {}", path.display()))?;
            fs::remove_dir(&path).map_err(|e| ExportError::io("remove directory", &path, e))?;
            report.removed.push(path);
        } else {
            say(out, &format!("keeping directory: {} (not empty)", path.display()))?;
            dirs.insert(d.clone());
            report.kept.push(path);
        }
    }

    let manifest = Manifest {
        version: 1,
        app: app.to_owned(),
        format: format.to_owned(),
        files: written,
        dirs,
    };
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| ExportError::io("encode", &manifest_path, e.into()))?
        + "\n";
    if read_existing(&manifest_path)?.as_deref() != Some(text.as_bytes()) {
        say(out, &format!("writing: {}", manifest_path.display()))?;
        write_atomically(&manifest_path, text.as_bytes(), 0o644)?;
    }
    Ok(report)
}

/// Creates `dir` if it is missing; true if it did.
fn create_dir(
    dir: &Path,
    out: &mut dyn Write,
    report: &mut ExportReport,
) -> Result<bool, ExportError> {
    if dir.is_dir() {
        return Ok(false);
    }
    say(out, &format!("creating: {}", dir.display()))?;
    fs::create_dir_all(dir).map_err(|e| ExportError::io("create directory", dir, e))?;
    report.created_dirs.push(dir.to_owned());
    Ok(true)
}

/// Writes through a temporary file and a rename, so a reader never sees half a file.
pub(super) fn write_atomically(path: &Path, contents: &[u8], mode: u32) -> Result<(), ExportError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.procman-tmp"));
    let result = fs::write(&temp, contents)
        .and_then(|()| fs::set_permissions(&temp, fs::Permissions::from_mode(mode)))
        .and_then(|()| fs::rename(&temp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(ExportError::io("write", path, e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_paths_must_stay_inside() {
        assert!(safe_relative("app-web-1/env/PORT"));
        assert!(!safe_relative("../etc/passwd"));
        assert!(!safe_relative("/etc/passwd"));
        assert!(!safe_relative(""));
    }

    #[test]
    fn hash_is_stable() {
        assert_eq!(hash(b""), "cbf29ce484222325");
        assert_ne!(hash(b"a"), hash(b"b"));
    }
}
