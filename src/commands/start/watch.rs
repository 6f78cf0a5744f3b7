//! Restart on change: a process type with `"watch"` in procman.json is restarted when a file
//! matching it changes, once its files have been quiet for `"watch_debounce"`, with a `system`
//! line naming the file. The restart is the core's (`Driver::restart_group`), so the state and
//! backoff rules of `procman restart` hold.
//!
//! The watch lives in the driver's one poll loop: on Linux the inotify descriptor itself is
//! registered there (`inotify.rs`, no thread); on macOS notify's FSEvents thread only forwards
//! paths and wakes the loop through a socket pair (`fsevents.rs`). A large tree costs one
//! inotify watch per directory that can hold a match (`rules.rs`), never a descriptor per file
//! or directory; when the system's limit of watches is reached, procman says which sysctl
//! raises it.

#[cfg(target_os = "macos")]
#[path = "watch/fsevents.rs"]
mod backend;
#[cfg(target_os = "linux")]
#[path = "watch/inotify.rs"]
mod backend;
mod rules;

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use supervise::{Driver, Interest, WatchId};

use crate::plan::Plan;
use backend::{Backend, PER_DIRECTORY};
use procman::diagnostic::sanitize;
use rules::{Rules, Want};

/// The longest a stream of changes can hold a restart back, in debounces: a build that writes
/// for a minute restarts the app along the way, not only at its end.
const MAX_DEBOUNCES: u32 = 10;
/// How many changed paths a pending restart remembers, to count them in its line.
const MAX_REMEMBERED: usize = 1000;

/// What the backend saw.
#[derive(Debug)]
pub(super) enum Change {
    /// Something at `path` changed; `new_dir` when a directory appeared there.
    Path { path: PathBuf, new_dir: bool },
    /// A directory moved away: its watches no longer stand for its path (inotify's alone:
    /// FSEvents' recursive watch follows paths, not directories).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    DirGone(PathBuf),
    /// The kernel's queue overflowed: changes were lost.
    Overflow,
}

/// The watch of every process type that has one.
pub(crate) struct FileWatch {
    backend: Backend,
    token: Option<WatchId>,
    rules: Vec<Rules>,
    pending: HashMap<String, Pending>,
    /// The limit of inotify watches was reached and said.
    limit_said: bool,
    notices: Vec<String>,
    /// Directories still to walk, each with whether its files count as changed (`walk`): the
    /// walk goes a slice per loop turn, so a tree of 100k directories never holds back a
    /// signal or the app's output.
    to_walk: Vec<(PathBuf, bool)>,
    /// procman's own standard output and error, when they are regular files (`procman start >
    /// out.txt`), by device and inode: writing them is no change of the app's.
    own_files: Vec<(u64, u64)>,
}

/// How long one loop turn may walk directories before the loop goes on.
const WALK_SLICE: Duration = Duration::from_millis(20);

/// A restart waiting for the type's files to be quiet.
struct Pending {
    /// The first file that changed, relative to the cwd; `None` after an overflow.
    first: Option<PathBuf>,
    others: HashSet<PathBuf>,
    since: Instant,
    due: Instant,
}

/// The process types of `plan` with a watch and instances to restart: each with its rules. A
/// type whose globs do not compile (config validation compiles them the same way, so this is a
/// gap in it) is said in `notices`, never dropped in silence.
fn rules_of(plan: &Plan, excluded: &[PathBuf], notices: &mut Vec<String>) -> Vec<Rules> {
    plan.processes
        .iter()
        .filter(|process| process.count > 0)
        .filter_map(|process| {
            let settings = process.watch.as_ref()?;
            let cwd = plan.working_dir(process);
            let base = std::fs::canonicalize(&cwd).unwrap_or(cwd);
            Rules::new(&process.name, &base, settings, excluded)
                .map_err(|error| {
                    notices.push(format!(
                        "warning: {}: cannot watch files for changes ({error}): no restart on \
                         change for it in this run",
                        process.name
                    ));
                })
                .ok()
        })
        .collect()
}

impl FileWatch {
    /// The watch of `plan`'s types, none of `excluded` (the log directory) included, not armed
    /// yet; `None` when no type has one. A watch that cannot be set up at all is said in the
    /// notices and the run goes on without it.
    pub(crate) fn new(
        plan: &Plan,
        excluded: &[PathBuf],
        notices: &mut Vec<String>,
    ) -> Option<FileWatch> {
        let rules = rules_of(plan, excluded, notices);
        if rules.is_empty() {
            return None;
        }
        let backend = Backend::new()
            .map_err(|error| {
                notices.push(format!(
                    "warning: cannot watch files for changes ({}): no restart on change in this \
                     run",
                    procman::diagnostic::describe_io(&error)
                ));
            })
            .ok()?;
        Some(FileWatch {
            backend,
            token: None,
            rules,
            pending: HashMap::new(),
            limit_said: false,
            notices: Vec::new(),
            to_walk: Vec::new(),
            own_files: own_files(),
        })
    }

    /// Registers the watch in the driver's loop and starts watching every directory the rules
    /// want: the walk itself goes on in [`FileWatch::walk_some`], a slice per loop turn.
    pub(crate) fn arm(&mut self, driver: &mut Driver) -> io::Result<()> {
        if self.token.is_none() {
            self.token = Some(driver.watch(self.backend.fd(), Interest::READABLE)?);
        }
        let bases: Vec<PathBuf> = self.rules.iter().map(|r| r.base().to_owned()).collect();
        if PER_DIRECTORY {
            self.to_walk.extend(bases.into_iter().map(|base| (base, false)));
        } else {
            let roots: Vec<(PathBuf, bool)> = self
                .rules
                .iter()
                .flat_map(|r| r.roots().iter().map(|root| (root.dir.clone(), root.recursive)))
                .collect();
            for (dir, recursive) in roots {
                self.add(&dir, recursive);
            }
        }
        Ok(())
    }

    /// The hook for a reload: the new plan's rules replace the old ones, and the directories
    /// watched follow (those no type wants any more are left, new ones added). A restart
    /// pending for a type that has no watch any more is dropped.
    pub(crate) fn rearm(
        &mut self,
        driver: &mut Driver,
        plan: &Plan,
        excluded: &[PathBuf],
    ) -> io::Result<()> {
        self.rules = rules_of(plan, excluded, &mut self.notices);
        let groups: HashSet<&str> = self.rules.iter().map(|r| r.group.as_str()).collect();
        self.pending.retain(|group, _| groups.contains(group.as_str()));
        let unwanted: Vec<PathBuf> = self
            .backend
            .watched()
            .filter(|dir| self.rules.iter().all(|r| r.wants(dir) == Want::No))
            .map(Path::to_path_buf)
            .collect();
        for dir in unwanted {
            self.backend.remove_tree(&dir);
        }
        self.arm(driver)
    }

    /// Whether directories are left to walk.
    pub(crate) fn is_walking(&self) -> bool {
        !self.to_walk.is_empty()
    }

    /// The run is ending: nothing more is walked or restarted.
    pub(crate) fn stop(&mut self) {
        self.to_walk = Vec::new();
        self.pending.clear();
    }

    /// Walks for at most [`WALK_SLICE`]: watches the directories a type wants, and queues the
    /// ones below them; a file in a directory queued with `scan` counts as changed (a directory
    /// that appeared: its files may have been written before its watch was in place).
    pub(crate) fn walk_some(&mut self) {
        // Called every turn: nothing to do costs nothing.
        if self.to_walk.is_empty() {
            return;
        }
        let started = Instant::now();
        let mut changes = Vec::new();
        while started.elapsed() < WALK_SLICE {
            let Some((dir, scan)) = self.to_walk.pop() else { break };
            if self.rules.iter().all(|r| r.wants(&dir) == Want::No) {
                continue;
            }
            if !self.add(&dir, false) {
                // The limit of watches: nothing more can be watched.
                self.to_walk = Vec::new();
                break;
            }
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let Ok(kind) = entry.file_type() else { continue };
                if kind.is_dir() {
                    self.to_walk.push((entry.path(), scan));
                } else if scan {
                    changes.push(Change::Path { path: entry.path(), new_dir: false });
                }
            }
        }
        self.handle(changes);
    }

    /// Adds a watch; false when the system's limit is reached (said once), so a walk stops.
    fn add(&mut self, dir: &Path, recursive: bool) -> bool {
        match self.backend.add(dir, recursive) {
            Ok(()) => true,
            Err(error) if error.raw_os_error() == Some(libc::ENOSPC) => {
                if !self.limit_said {
                    self.limit_said = true;
                    self.notices.push(limit_reached(dir));
                }
                false
            }
            // Gone since it was listed, or not readable: nothing of it can be watched.
            Err(_) => true,
        }
    }

    /// Handles the readiness of `watch` if it is the watch's; false when it is another one's.
    pub(crate) fn on_ready(&mut self, watch: WatchId) -> bool {
        if self.token != Some(watch) {
            return false;
        }
        let mut read = Vec::new();
        self.backend.read(&mut read);
        self.handle(read);
        true
    }

    /// Notes the changes that count, in order: the first file that changed is the one the
    /// restart line names.
    fn handle(&mut self, changes: Vec<Change>) {
        let now = Instant::now();
        for change in changes {
            match change {
                Change::Overflow => {
                    for rules in &self.rules {
                        note(&mut self.pending, rules, None, now);
                    }
                }
                Change::DirGone(dir) => self.backend.remove_tree(&dir),
                Change::Path { path, new_dir } => {
                    // A directory that appeared is no change of itself: what it holds is (the
                    // walk finds it where each directory has a watch of its own).
                    if new_dir {
                        if PER_DIRECTORY {
                            self.to_walk.push((path, true));
                        }
                        continue;
                    }
                    // Looked at at most once, and only for a path that counts.
                    let mut generated = None;
                    for rules in &self.rules {
                        if let Some(relative) = rules.counts(&path)
                            && !*generated.get_or_insert_with(|| {
                                is_own_file(&self.own_files, &path) || is_export_output(&path)
                            })
                        {
                            note(&mut self.pending, rules, Some(relative), now);
                        }
                    }
                }
            }
        }
    }

    /// What each type watches, for its line once armed: `web: watching src/**/*.rb for
    /// changes (12 directories)`.
    pub(crate) fn summary(&self) -> Vec<String> {
        self.rules
            .iter()
            .map(|rules| {
                let dirs = self.backend.watched().filter(|d| rules.wants(d) == Want::Yes).count();
                format!(
                    "{}: watching {} for changes ({dirs} {})",
                    rules.group,
                    rules.patterns().join(", "),
                    procman::diagnostic::plural(dirs, "directory", "directories")
                )
            })
            .collect()
    }

    /// When the next restart is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.due).min()
    }

    /// Restarts the types whose restart is due, each with its line.
    pub(crate) fn restart_due(&mut self, driver: &mut Driver, mut say: impl FnMut(&str)) {
        let now = Instant::now();
        let due: Vec<String> =
            self.pending.iter().filter(|(_, p)| p.due <= now).map(|(g, _)| g.clone()).collect();
        for group in due {
            let Some(pending) = self.pending.remove(&group) else { continue };
            if driver.supervisor().is_shutting_down() {
                continue;
            }
            let what = match &pending.first {
                None => "too many files changed at once to name them".to_owned(),
                Some(first) => {
                    let first = sanitize(&first.display().to_string(), 200);
                    match pending.others.len() {
                        0 => format!("{first} changed"),
                        1 => format!("{first} and 1 other file changed"),
                        n => format!("{first} and {n} other files changed"),
                    }
                }
            };
            if driver.restart_group(&group).is_ok() {
                say(&format!("{group}: {what}, restarting"));
            }
        }
    }

    /// What to tell the user since the last call.
    pub(crate) fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }
}

/// procman's standard output and error, by device and inode, those that are regular files (a
/// terminal or a pipe is never in a watched tree).
fn own_files() -> Vec<(u64, u64)> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let fds =
        [io::stdout().as_fd().try_clone_to_owned(), io::stderr().as_fd().try_clone_to_owned()];
    fds.into_iter()
        .flatten()
        .filter_map(|fd| std::fs::File::from(fd).metadata().ok())
        .filter(std::fs::Metadata::is_file)
        .map(|meta| (meta.dev(), meta.ino()))
        .collect()
}

/// Whether `path` is one of procman's own output files (`own_files`), not following a link.
fn is_own_file(own: &[(u64, u64)], path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    !own.is_empty()
        && std::fs::symlink_metadata(path).is_ok_and(|meta| own.contains(&(meta.dev(), meta.ino())))
}

/// Whether `path` is a file `procman export` wrote (its header in the first KiB): exporting
/// into a watched tree does not restart the app. Opened without following a link and without
/// blocking on a FIFO; anything but a regular file is not one.
fn is_export_output(path: &Path) -> bool {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    else {
        return false;
    };
    if !file.metadata().is_ok_and(|meta| meta.is_file()) {
        return false;
    }
    let mut head = Vec::with_capacity(1024);
    file.take(1024).read_to_end(&mut head).is_ok() && crate::export::is_generated(&head)
}

/// Records a change for `rules`' type: the restart is due once its files have been quiet for
/// the debounce, and no later than [`MAX_DEBOUNCES`] of them after the first change.
fn note(
    pending: &mut HashMap<String, Pending>,
    rules: &Rules,
    relative: Option<&Path>,
    now: Instant,
) {
    let debounce = rules.debounce;
    let entry = pending.entry(rules.group.clone()).or_insert_with(|| Pending {
        first: relative.map(Path::to_path_buf),
        others: HashSet::new(),
        since: now,
        due: now + debounce,
    });
    match (relative, &entry.first) {
        (None, _) => entry.first = None,
        (Some(path), Some(first)) if path != first && entry.others.len() < MAX_REMEMBERED => {
            entry.others.insert(path.to_path_buf());
        }
        _ => {}
    }
    let latest = entry.since + debounce.saturating_mul(MAX_DEBOUNCES);
    entry.due = (now + debounce).min(latest.max(entry.due));
}

/// The message for a reached limit of inotify watches, with the sysctl that raises it.
fn limit_reached(dir: &Path) -> String {
    let current = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
        .map(|text| format!(" = {}", text.trim()))
        .unwrap_or_default();
    format!(
        "warning: cannot watch {} for changes: the system's limit of inotify watches is reached \
         (fs.inotify.max_user_watches{current}), so changes below it do not restart anything; \
         raise it with `sudo sysctl fs.inotify.max_user_watches=524288` (and a line in \
         /etc/sysctl.d/ to keep it), or watch fewer directories (\"watch_ignore\")",
        sanitize(&dir.display().to_string(), 200)
    )
}

/// How long the loop may sleep before a restart is due.
pub(crate) fn wait_until(due: Option<Instant>, now: Instant) -> Option<Duration> {
    due.map(|due| due.saturating_duration_since(now))
}
