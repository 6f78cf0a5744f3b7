//! Writing the rendered files into the location, and removing what earlier exports of the app
//! left there (procman's or Foreman's), without following a link and without touching anything
//! else. Nothing but the service manager's files is written: whose file is whose is read from
//! the files themselves (see `owners`).
//!
//! An export runs in three steps:
//! 1. [`survey`], read-only: what is at each path to write (nothing, the same file, a file of
//!    the app's, someone else's: an error unless `force`), and which of the app's entries are
//!    stale. A link or a file where a directory must go is an error naming it.
//! 2. [`write`]: the missing directories, then each changed file, atomically.
//! 3. [`clean`]: the stale entries; a dry run [`show`]s steps 2 and 3 instead.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use super::dirfd::{DirFd, Kind};
use super::owners::{self, Group, Layout, Owner};
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

    fn name(&self) -> &OsStr {
        self.path.file_name().unwrap_or_default()
    }

    fn parent(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new(""))
    }
}

/// What becomes of one file to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    /// Nothing is there yet.
    Create,
    /// It is already there, with these contents and mode.
    Keep,
    /// It replaces a file of procman's for the app (or one with the same contents).
    Update,
    /// It replaces a file of Foreman's export of the app.
    ReplaceForeman,
    /// It replaces someone else's file or link (`force`).
    Overwrite,
}

impl Action {
    fn note(self) -> &'static str {
        match self {
            Action::ReplaceForeman => " (replaces Foreman's)",
            Action::Overwrite => " (overwrites what procman did not write: --force)",
            Action::Create | Action::Keep | Action::Update => "",
        }
    }
}

/// A stale entry of the app, to remove.
#[derive(Debug)]
struct Removal {
    path: PathBuf,
    is_dir: bool,
    owner: Owner,
}

impl Removal {
    fn note(&self) -> &'static str {
        match self.owner {
            Owner::Foreman => " (Foreman's)",
            Owner::Procman => "",
        }
    }
}

/// What an export finds at the location and will do there.
#[derive(Debug, Default)]
struct Survey {
    /// For each file to write, in order.
    actions: Vec<Action>,
    /// Stale entries: files and links first, then directories deepest first.
    removals: Vec<Removal>,
    /// Stale entries left in place, and why.
    kept: Vec<(PathBuf, String)>,
}

/// Writes `files` into `location` (or shows them, for a dry run) and removes the app's stale
/// entries.
pub(super) fn apply(
    location: &Path,
    layout: &Layout<'_>,
    files: &[OutFile],
    options: &ExportOptions,
    out: &mut dyn Write,
) -> Result<ExportReport, ExportError> {
    if let Some(file) = files.iter().find(|f| !is_plain_relative(&f.path)) {
        let error = io::Error::new(io::ErrorKind::InvalidInput, "not a path inside the location");
        return Err(ExportError::io("write", location.join(&file.path), error));
    }
    let survey = match DirFd::open(location)? {
        Some(root) => survey(&root, layout, files, options.force)?,
        None => Survey { actions: vec![Action::Create; files.len()], ..Survey::default() },
    };
    let mut report = ExportReport::default();
    if options.dry_run {
        show(location, files, &survey, out, &mut report)?;
        return Ok(report);
    }
    let (root, created) = DirFd::open_or_create(location)?;
    if created {
        say(out, &format!("creating: {}", location.display()))?;
        report.created_dirs.push(location.to_owned());
    }
    write(&root, files, &survey.actions, out, &mut report)?;
    clean(&root, &survey, out, &mut report)?;
    Ok(report)
}

/// A relative path made only of normal components (nothing to leave the location with).
fn is_plain_relative(path: &Path) -> bool {
    !path.as_os_str().is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)))
}

fn say(out: &mut dyn Write, message: &str) -> Result<(), ExportError> {
    writeln!(out, "[procman export] {message}")
        .map_err(|e| ExportError::io("write to", "standard output", e))
}

/// The directories below the location, opened one component at a time without following a
/// link, and kept open.
struct Dirs<'a> {
    root: &'a DirFd,
    open: BTreeMap<PathBuf, DirFd>,
}

impl<'a> Dirs<'a> {
    fn new(root: &'a DirFd) -> Dirs<'a> {
        Dirs { root, open: BTreeMap::new() }
    }

    /// The directory `rel` (empty: the location), or `None` when it does not exist. With
    /// `created`, missing directories are made, and recorded there.
    fn get(
        &mut self,
        rel: &Path,
        mut created: Option<&mut Vec<PathBuf>>,
    ) -> Result<Option<&DirFd>, ExportError> {
        let mut prefix = PathBuf::new();
        for component in rel.components() {
            let parent = prefix.clone();
            prefix.push(component);
            if self.open.contains_key(&prefix) {
                continue;
            }
            let parent =
                if parent.as_os_str().is_empty() { self.root } else { &self.open[&parent] };
            let name = component.as_os_str();
            let dir = match created.as_deref_mut() {
                Some(created) => {
                    let (dir, made) = parent.create_subdir(name)?;
                    if made {
                        created.push(prefix.clone());
                    }
                    dir
                }
                None => match parent.subdir(name)? {
                    Some(dir) => dir,
                    None => return Ok(None),
                },
            };
            self.open.insert(prefix.clone(), dir);
        }
        Ok(Some(if prefix.as_os_str().is_empty() { self.root } else { &self.open[&prefix] }))
    }
}

/// Step 1: what is at each path to write, and what of the app's is stale. Reads only.
fn survey(
    root: &DirFd,
    layout: &Layout<'_>,
    files: &[OutFile],
    force: bool,
) -> Result<Survey, ExportError> {
    let groups = owners::scan(root, layout)?;
    let owners: BTreeMap<&Path, Owner> = groups
        .iter()
        .flat_map(|g| g.members.iter().map(move |m| (m.path.as_path(), g.owner)))
        .collect();
    let mut dirs = Dirs::new(root);
    let mut actions = Vec::with_capacity(files.len());
    for file in files {
        let owner = owners.get(file.path.as_path()).copied();
        let action = match dirs.get(file.parent(), None)? {
            Some(dir) => action_for(dir, file, owner, force)?,
            None => Action::Create,
        };
        actions.push(action);
    }
    let (removals, kept) = stale(&groups, files);
    Ok(Survey { actions, removals, kept })
}

/// What writing `file` into `dir` does to what is there now, owned by `owner`.
fn action_for(
    dir: &DirFd,
    file: &OutFile,
    owner: Option<Owner>,
    force: bool,
) -> Result<Action, ExportError> {
    let name = file.name();
    let path = dir.join(name);
    let data = match dir.kind(name)? {
        None => return Ok(Action::Create),
        Some(Kind::File) => dir.read(name)?,
        Some(Kind::Dir) => {
            let error = io::Error::new(io::ErrorKind::IsADirectory, "a directory is in the way");
            return Err(ExportError::io("write", path, error));
        }
        Some(Kind::Symlink) if !force => {
            let target = dir.read_link(name).unwrap_or_default();
            return Err(ExportError::ForeignLink { path, target });
        }
        Some(Kind::Symlink | Kind::Other) => None,
    };
    let same = data.as_ref().is_some_and(|d| d.is(file.contents.as_bytes()));
    Ok(match owner {
        _ if same && data.as_ref().is_some_and(|d| d.mode == file.mode) => Action::Keep,
        Some(Owner::Procman) => Action::Update,
        Some(Owner::Foreman) => Action::ReplaceForeman,
        None if same => Action::Update,
        None if force => Action::Overwrite,
        None => return Err(ExportError::ForeignFile { path }),
    })
}

/// The members of `groups` that no file to write needs, in the order of removal, and the
/// groups kept whole because they hold something else.
fn stale(groups: &[Group], files: &[OutFile]) -> (Vec<Removal>, Vec<(PathBuf, String)>) {
    let wanted: BTreeSet<&Path> = files.iter().map(|f| f.path.as_path()).collect();
    let needed: BTreeSet<&Path> = files
        .iter()
        .flat_map(|f| f.path.ancestors().skip(1))
        .filter(|dir| !dir.as_os_str().is_empty())
        .collect();
    let used = |path: &Path| wanted.contains(path) || needed.contains(path);
    let mut removals = Vec::new();
    let mut kept = Vec::new();
    for group in groups {
        if group.whole && !group.foreign.is_empty() && !used(&group.root) {
            let foreign: Vec<String> =
                group.foreign.iter().map(|p| p.display().to_string()).collect();
            let why = format!(
                "it holds {} that procman did not write: stop the service and remove the \
                 directory by hand",
                foreign.join(", ")
            );
            kept.push((group.root.clone(), why));
            continue;
        }
        removals.extend(group.members.iter().filter(|m| !used(&m.path)).map(|m| Removal {
            path: m.path.clone(),
            is_dir: m.is_dir,
            owner: group.owner,
        }));
    }
    removals.sort_by_key(|r| (r.is_dir, std::cmp::Reverse(r.path.components().count())));
    (removals, kept)
}

/// Step 2: the missing directories, then every changed file, atomically.
fn write(
    root: &DirFd,
    files: &[OutFile],
    actions: &[Action],
    out: &mut dyn Write,
    report: &mut ExportReport,
) -> Result<(), ExportError> {
    let mut dirs = Dirs::new(root);
    for (file, action) in files.iter().zip(actions) {
        let mut created = Vec::new();
        let dir = dirs.get(file.parent(), Some(&mut created))?;
        for made in created {
            let path = root.join(made);
            say(out, &format!("creating: {}", path.display()))?;
            report.created_dirs.push(path);
        }
        let Some(dir) = dir else { continue };
        let path = dir.join(file.name());
        if *action == Action::Keep {
            report.unchanged.push(path);
            continue;
        }
        say(out, &format!("writing: {}{}", path.display(), action.note()))?;
        dir.write_atomically(file.name(), file.contents.as_bytes(), file.mode)?;
        if *action == Action::ReplaceForeman {
            report.foreman.push(path.clone());
        }
        report.written.push(path);
    }
    Ok(())
}

/// Step 3: removes the stale entries (a directory only when it is empty).
fn clean(
    root: &DirFd,
    survey: &Survey,
    out: &mut dyn Write,
    report: &mut ExportReport,
) -> Result<(), ExportError> {
    let mut dirs = Dirs::new(root);
    for removal in &survey.removals {
        let path = root.join(&removal.path);
        let parent = removal.path.parent().unwrap_or(Path::new(""));
        let Some(dir) = dirs.get(parent, None)? else { continue };
        let name = removal.path.file_name().unwrap_or_default();
        if !removal.is_dir {
            dir.remove_file(name)?;
            say(out, &format!("cleaning up: {}{}", path.display(), removal.note()))?;
        } else if dir.remove_empty_dir(name)? {
            say(out, &format!("cleaning up directory: {}{}", path.display(), removal.note()))?;
        } else {
            say(out, &format!("keeping directory: {} (not empty)", path.display()))?;
            report.kept.push(path);
            continue;
        }
        if removal.owner == Owner::Foreman {
            report.foreman.push(path.clone());
        }
        report.removed.push(path);
    }
    for (path, why) in &survey.kept {
        let path = root.join(path);
        say(out, &format!("keeping: {} ({why})", path.display()))?;
        report.kept.push(path);
    }
    Ok(())
}

/// A dry run: every file that would be written (path, mode, contents) and every entry that
/// would be removed or kept.
fn show(
    location: &Path,
    files: &[OutFile],
    survey: &Survey,
    out: &mut dyn Write,
    report: &mut ExportReport,
) -> Result<(), ExportError> {
    for (file, action) in files.iter().zip(&survey.actions) {
        let path = location.join(&file.path);
        say(
            out,
            &format!("would write: {} (mode {:o}){}", path.display(), file.mode, action.note()),
        )?;
        out.write_all(file.contents.as_bytes())
            .and_then(|()| writeln!(out))
            .map_err(|e| ExportError::io("write to", "standard output", e))?;
        report.written.push(path);
    }
    for removal in &survey.removals {
        let path = location.join(&removal.path);
        let what = if removal.is_dir { " directory" } else { "" };
        say(out, &format!("would clean up{what}: {}{}", path.display(), removal.note()))?;
        report.removed.push(path);
    }
    for (path, why) in &survey.kept {
        let path = location.join(path);
        say(out, &format!("would keep: {} ({why})", path.display()))?;
        report.kept.push(path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_stay_inside() {
        assert!(is_plain_relative(Path::new("app-web-1/env/PORT")));
        assert!(!is_plain_relative(Path::new("../etc/passwd")));
        assert!(!is_plain_relative(Path::new("/etc/passwd")));
        assert!(!is_plain_relative(Path::new("")));
    }
}
