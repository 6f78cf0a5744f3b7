//! The macOS side of the watch: notify's FSEvents stream, one recursive watch per root (FSEvents
//! covers a tree at no cost per directory). FSEvents delivers on a thread of its own; its
//! handler only forwards the paths through a channel and writes a byte to a socket pair whose
//! other end is registered in the driver's poll loop, so the loop wakes without polling.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};

use notify::event::{CreateKind, EventKind};
use notify::{FsEventWatcher, RecursiveMode, Watcher};

use super::Change;

/// Whether each directory needs a watch of its own (inotify), or a root's watch covers what is
/// below it (FSEvents).
pub(super) const PER_DIRECTORY: bool = false;

pub(super) struct Backend {
    watcher: FsEventWatcher,
    changes: Receiver<Change>,
    wake: UnixStream,
    watched: Vec<PathBuf>,
}

impl Backend {
    pub(super) fn new() -> io::Result<Backend> {
        let (wake, waker) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        waker.set_nonblocking(true)?;
        let (sender, changes) = channel();
        let handler = move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            if matches!(event.kind, EventKind::Access(_)) {
                return;
            }
            if event.need_rescan() {
                let _ = sender.send(Change::Overflow);
            }
            let new_dir = matches!(event.kind, EventKind::Create(CreateKind::Folder));
            for path in event.paths {
                let _ = sender.send(Change::Path { path, new_dir });
            }
            // A full socket already holds a wake-up.
            let _ = (&waker).write(&[1]);
        };
        let watcher = FsEventWatcher::new(handler, notify::Config::default())
            .map_err(|error| io::Error::other(error.to_string()))?;
        Ok(Backend { watcher, changes, wake, watched: Vec::new() })
    }

    /// The descriptor to poll for readability.
    pub(super) fn fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }

    pub(super) fn add(&mut self, dir: &Path, recursive: bool) -> io::Result<()> {
        let mode = if recursive { RecursiveMode::Recursive } else { RecursiveMode::NonRecursive };
        self.watcher.watch(dir, mode).map_err(|error| match error.kind {
            notify::ErrorKind::Io(error) => error,
            kind => io::Error::other(format!("{kind:?}")),
        })?;
        self.watched.push(dir.to_owned());
        Ok(())
    }

    /// Stops watching `dir` and every root below it.
    pub(super) fn remove_tree(&mut self, dir: &Path) {
        let (gone, kept) = std::mem::take(&mut self.watched)
            .into_iter()
            .partition(|p: &PathBuf| p.starts_with(dir));
        self.watched = kept;
        for path in gone {
            let _ = self.watcher.unwatch(&path);
        }
    }

    /// Every root watched.
    pub(super) fn watched(&self) -> impl Iterator<Item = &Path> {
        self.watched.iter().map(PathBuf::as_path)
    }

    /// Takes every change forwarded so far.
    pub(super) fn read(&mut self, changes: &mut Vec<Change>) {
        let mut bytes = [0; 256];
        while matches!((&self.wake).read(&mut bytes), Ok(n) if n > 0) {}
        changes.extend(self.changes.try_iter());
    }
}
