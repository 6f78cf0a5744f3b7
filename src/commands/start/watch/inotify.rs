//! The Linux side of the watch: one inotify descriptor, registered in the driver's poll loop
//! (no thread), one inotify watch per directory. The mask leaves out opens and reads, so an
//! app that reads its own sources at start does not wake procman for each.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask};

use super::Change;

/// Whether each directory needs a watch of its own (inotify), or a root's watch covers what is
/// below it (FSEvents).
pub(super) const PER_DIRECTORY: bool = true;

/// What a file change is, to inotify: writes, attribute changes (`touch`), creations,
/// removals and renames; `ONLYDIR` and `DONT_FOLLOW` so a watch is only ever on a directory
/// itself, never through a link.
fn mask() -> WatchMask {
    WatchMask::CREATE
        | WatchMask::DELETE
        | WatchMask::MODIFY
        | WatchMask::ATTRIB
        | WatchMask::CLOSE_WRITE
        | WatchMask::MOVED_FROM
        | WatchMask::MOVED_TO
        | WatchMask::ONLYDIR
        | WatchMask::DONT_FOLLOW
        | WatchMask::EXCL_UNLINK
}

pub(super) struct Backend {
    inotify: Inotify,
    dirs: HashMap<WatchDescriptor, PathBuf>,
    by_path: HashMap<PathBuf, WatchDescriptor>,
    buffer: Vec<u8>,
}

impl Backend {
    pub(super) fn new() -> io::Result<Backend> {
        Ok(Backend {
            inotify: Inotify::init()?,
            dirs: HashMap::new(),
            by_path: HashMap::new(),
            buffer: vec![0; 64 * 1024],
        })
    }

    /// The descriptor to poll for readability.
    pub(super) fn fd(&self) -> RawFd {
        self.inotify.as_raw_fd()
    }

    /// Watches `dir` (its entries; `recursive` is for FSEvents, whose watch covers the tree).
    pub(super) fn add(&mut self, dir: &Path, _recursive: bool) -> io::Result<()> {
        if self.by_path.contains_key(dir) {
            return Ok(());
        }
        let wd = self.inotify.watches().add(dir, mask())?;
        self.dirs.insert(wd.clone(), dir.to_owned());
        self.by_path.insert(dir.to_owned(), wd);
        Ok(())
    }

    /// Stops watching `dir` and every directory below it.
    pub(super) fn remove_tree(&mut self, dir: &Path) {
        let gone: Vec<PathBuf> =
            self.by_path.keys().filter(|p| p.starts_with(dir)).cloned().collect();
        for path in gone {
            if let Some(wd) = self.by_path.remove(&path) {
                self.dirs.remove(&wd);
                let _ = self.inotify.watches().remove(wd);
            }
        }
    }

    /// Every directory watched.
    pub(super) fn watched(&self) -> impl Iterator<Item = &Path> {
        self.by_path.keys().map(PathBuf::as_path)
    }

    /// Reads every change queued (the descriptor is edge-triggered: until `WouldBlock`).
    pub(super) fn read(&mut self, changes: &mut Vec<Change>) {
        loop {
            let events = match self.inotify.read_events(&mut self.buffer) {
                Ok(events) => events,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            let mut any = false;
            let mut forgotten = Vec::new();
            for event in events {
                any = true;
                if event.mask.contains(EventMask::Q_OVERFLOW) {
                    changes.push(Change::Overflow);
                    continue;
                }
                let Some(dir) = self.dirs.get(&event.wd) else { continue };
                if event.mask.contains(EventMask::IGNORED) {
                    // The directory is gone (or was unwatched): its watch is no more.
                    forgotten.push(event.wd.clone());
                    continue;
                }
                let Some(name) = event.name else { continue };
                let path = dir.join(name as &OsStr);
                let is_dir = event.mask.contains(EventMask::ISDIR);
                if is_dir && event.mask.contains(EventMask::MOVED_FROM) {
                    changes.push(Change::DirGone(path.clone()));
                }
                let appeared = event.mask.intersects(EventMask::CREATE | EventMask::MOVED_TO);
                changes.push(Change::Path { path, new_dir: is_dir && appeared });
            }
            for wd in forgotten {
                if let Some(path) = self.dirs.remove(&wd) {
                    self.by_path.remove(&path);
                }
            }
            if !any {
                return;
            }
        }
    }
}
