//! Log files: with `--log-dir DIR` (or `"log_dir"`), each instance's output also goes to
//! `DIR/web.1.log`, a timestamp per line and no colors, rotated by size (`web.1.log` becomes
//! `web.1.log.1`, which becomes `web.1.log.2`... up to `--log-keep`).
//!
//! The log files never hold the app or the terminal back:
//! - Lines are queued per file and written in a bounded amount per loop turn ([`FLUSH_BUDGET`]),
//!   so a slow disk costs turns, not a stalled loop; a queue past [`HIGH_WATER`] pauses the
//!   reading of the children's output as a slow terminal does, so no line is dropped.
//! - A file that cannot be written (a full disk, a directory without write permission) is said
//!   once, as a `system` line, and its lines are dropped while it fails; it is tried again
//!   every [`RETRY_AFTER`], and its recovery is said too, with the count of lines lost.
//!
//! - A log directory removed or replaced while the run goes on (`rm -rf log; mkdir log`) is
//!   noticed within [`CHECK_EVERY`] of output, and before any file is opened or after any
//!   failure: it is said once, and the log files start again in the new directory as soon as
//!   there is one (procman does not create it again: the user removed it). A log file removed
//!   or moved away is noticed the same way and started again.
//!
//! Every file is opened from the directory's descriptor with `O_NOFOLLOW` (a link planted in
//! the directory is never followed), `O_APPEND`, and `O_NONBLOCK` so that a FIFO put in its
//! place cannot block the open (anything but a regular file is refused); rotation is
//! `renameat` in that directory. New files get mode 0600: output often holds secrets (tokens
//! in URLs, passwords in errors), and the control socket is the owner's alone too.

mod plain;

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::fcntl::{OFlag, openat, renameat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, fstatat, stat};
use nix::unistd::{UnlinkatFlags, unlinkat};
use procman::diagnostic::{describe_io, plural, sanitize};
use supervise::InstanceId;

/// Bytes written per [`LogFiles::flush`], across every file.
const FLUSH_BUDGET: usize = 1 << 20;
/// Beyond this many queued bytes, the run stops reading the children's output until the disk
/// catches up.
pub(crate) const HIGH_WATER: usize = 8 << 20;
/// How long a log file that failed is left alone before it is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// How often, at most, the directory and the open files are compared with what their paths
/// name now (a few `stat` calls per check, never one per line).
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// The mode of a log directory procman creates (less the umask); new files get 0600
/// ([`file_mode`]).
const DIR_MODE: u32 = 0o750;

/// Where the log files go and when they rotate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogConfig {
    pub(crate) dir: PathBuf,
    /// Rotate before a file passes this size.
    pub(crate) max_size: u64,
    /// Rotated files kept (`web.1.log.1` to `web.1.log.N`); 0 keeps none.
    pub(crate) keep: u32,
}

/// The log files of a run.
pub(crate) struct LogFiles {
    config: LogConfig,
    /// The directory, once opened; `None` while it cannot be (tried again at `dir_retry`).
    dir: Option<OwnedFd>,
    /// The directory's device and inode, to tell when its path names another one (or none).
    dir_id: (u64, u64),
    dir_retry: Instant,
    /// The directory was removed under the run: it is not created again, only waited for.
    removed: bool,
    /// When the directory and the files are next compared with their paths.
    next_check: Instant,
    files: HashMap<InstanceId, LogFile>,
    /// Bytes queued and not written yet, in every file.
    queued: usize,
    /// A failure was said and no recovery since.
    failing: bool,
    /// Lines dropped since the failure was said.
    lost: u64,
    /// What to tell the user, taken by [`LogFiles::take_notices`].
    notices: Vec<String>,
    clock: Stamp,
}

/// One instance's file.
struct LogFile {
    /// `web.1.log`.
    name: String,
    file: Option<File>,
    /// The live file's size as written.
    size: u64,
    /// Its size once everything queued is written (after the rotations queued).
    planned: u64,
    /// What waits to be written, each part in a file of its own after a rotation.
    parts: VecDeque<Part>,
    /// It failed: its lines are dropped until then.
    failed_until: Option<Instant>,
}

/// Whole lines for one file, written from `written` on.
#[derive(Default)]
struct Part {
    /// Rotate before writing these lines.
    rotate_first: bool,
    bytes: Vec<u8>,
    written: usize,
}

impl LogFiles {
    /// Creates the directory if it is missing and opens it; a failure is said (see
    /// [`LogFiles::take_notices`]) and tried again later, never an error of the run.
    pub(crate) fn open(config: LogConfig) -> LogFiles {
        let mut logs = LogFiles {
            config,
            dir: None,
            dir_id: (0, 0),
            dir_retry: Instant::now(),
            removed: false,
            next_check: Instant::now() + CHECK_EVERY,
            files: HashMap::new(),
            queued: 0,
            failing: false,
            lost: 0,
            notices: Vec::new(),
            clock: Stamp::default(),
        };
        logs.open_dir(Instant::now());
        logs
    }

    /// The directory, absolute and without links once it exists (for the watcher, which
    /// ignores it).
    pub(crate) fn dir(&self) -> PathBuf {
        std::fs::canonicalize(&self.config.dir).unwrap_or_else(|_| self.config.dir.clone())
    }

    fn open_dir(&mut self, now: Instant) {
        let path = &self.config.dir;
        let created = if self.removed {
            Ok(())
        } else {
            // A FIFO or a file at the path makes `create` say "File exists": say what it is.
            std::fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(path).map_err(
                |error| match error.kind() {
                    io::ErrorKind::AlreadyExists => io::Error::from(io::ErrorKind::NotADirectory),
                    _ => error,
                },
            )
        };
        let opened = created.and_then(|()| {
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
            let fd = nix::fcntl::open(path, flags, Mode::empty())?;
            let id = identity(&fstat(&fd)?);
            Ok((fd, id))
        });
        match opened {
            Ok((fd, id)) => {
                self.dir = Some(fd);
                self.dir_id = id;
                self.removed = false;
            }
            Err(error) => {
                self.dir_retry = now + RETRY_AFTER;
                // After a removal, the warning said it already.
                if !self.removed {
                    let what = format!("cannot open the log directory {}", shown(path));
                    self.fail(&what, &error);
                }
            }
        }
    }

    /// Whether the directory's path no longer names the directory held open
    /// ([`dir_replaced`]).
    fn dir_is_gone(&self) -> bool {
        self.dir.is_some() && dir_replaced(&self.config.dir, self.dir_id)
    }

    /// The directory was removed or replaced: says so, and starts again in the new one if
    /// there is one already (what was queued goes there), else waits for it (what was queued
    /// is lost, as the lines to come until it exists).
    fn dir_gone(&mut self, now: Instant) {
        self.dir = None;
        self.removed = true;
        for file in self.files.values_mut() {
            file.file = None;
        }
        let path = shown(&self.config.dir);
        self.open_dir(now);
        if self.dir.is_some() {
            self.notices.push(format!(
                "warning: the log directory {path} was replaced; the log files start again in \
                 the new {path}"
            ));
            return;
        }
        for file in self.files.values_mut() {
            let (bytes, lines) = file.drop_queue();
            self.queued -= bytes;
            self.lost += lines;
        }
        self.notices.push(format!(
            "warning: the log directory {path} was removed; the output still goes to the \
             terminal, and the log files start again once {path} exists (checked every {} s)",
            RETRY_AFTER.as_secs()
        ));
        // Said: other failures are not, until the files are written again (said with the count
        // of lines lost).
        self.failing = true;
    }

    /// At most every [`CHECK_EVERY`]: whether the directory and the open files are still those
    /// their paths name.
    fn check(&mut self, now: Instant) {
        if now < self.next_check {
            return;
        }
        self.next_check = now + CHECK_EVERY;
        if self.dir_is_gone() {
            self.dir_gone(now);
            return;
        }
        let Some(dir) = &self.dir else { return };
        for file in self.files.values_mut() {
            if file.is_gone(dir) {
                file.file = None;
                self.notices.push(format!(
                    "the log file {} was removed or moved away; a new one is started",
                    shown(&self.config.dir.join(&file.name))
                ));
            }
        }
    }

    /// Queues a chunk of `id`'s output (whole lines) for its file.
    pub(crate) fn write(&mut self, id: &InstanceId, data: &[u8]) {
        let now = Instant::now();
        let lines = line_count(data);
        if self.dir.is_none() && now >= self.dir_retry {
            self.open_dir(now);
        }
        self.check(now);
        // A file about to be opened (its first line, a retry): in the directory the path names.
        let opens = self.files.get(id).is_none_or(|file| {
            file.file.is_none() && file.failed_until.is_none_or(|until| now >= until)
        });
        if opens && self.dir_is_gone() {
            self.dir_gone(now);
        }
        let Some(dir) = &self.dir else {
            self.lost += lines;
            return;
        };
        let file = self.files.entry(id.clone()).or_insert_with(|| LogFile::new(id));
        if file.failed_until.is_some_and(|until| now < until) {
            self.lost += lines;
            return;
        }
        if file.file.is_none()
            && let Err(error) = file.open(dir)
        {
            let what =
                format!("cannot open the log file {}", shown(&self.config.dir.join(&file.name)));
            file.failed_until = Some(now + RETRY_AFTER);
            self.lost += lines;
            self.fail(&what, &error);
            return;
        }
        let stamp = self.clock.now();
        let data = data.strip_suffix(b"\n").unwrap_or(data);
        let mut line = Vec::new();
        for text in data.split(|b| *b == b'\n') {
            line.clear();
            line.extend_from_slice(stamp.as_bytes());
            plain::append(text, &mut line);
            line.push(b'\n');
            file.queue(&line, self.config.max_size);
            self.queued += line.len();
        }
    }

    /// Bytes queued for the disk.
    pub(crate) fn backlog(&self) -> usize {
        self.queued
    }

    /// Writes up to [`FLUSH_BUDGET`] bytes of what is queued; true when more is left.
    pub(crate) fn flush(&mut self) -> bool {
        self.flush_up_to(FLUSH_BUDGET)
    }

    /// Writes everything queued (the end of the run: the app is gone).
    pub(crate) fn flush_all(&mut self) {
        self.flush_up_to(usize::MAX);
    }

    fn flush_up_to(&mut self, mut budget: usize) -> bool {
        // A directory replaced meanwhile is noticed in the first pass; the second writes what
        // was queued to the new one.
        for _ in 0..2 {
            if !self.flush_pass(&mut budget) {
                break;
            }
        }
        self.queued > 0
    }

    /// Writes what `budget` allows; true when it found the directory removed or replaced.
    fn flush_pass(&mut self, budget: &mut usize) -> bool {
        let Some(dir) = &self.dir else { return false };
        let mut failures = Vec::new();
        let mut recovered = false;
        let mut dir_gone = false;
        for file in self.files.values_mut() {
            if *budget == 0 {
                break;
            }
            if file.parts.is_empty() {
                continue;
            }
            match file.flush(dir, &self.config, budget, &mut self.queued) {
                Ok(()) => recovered = true,
                Err(failure) => {
                    // A rotation or an open in a directory removed meanwhile fails: that is
                    // said as such, and the queue kept for the new directory. (`dir_is_gone`
                    // would borrow all of `self`, and the files are borrowed.)
                    if dir_replaced(&self.config.dir, self.dir_id) {
                        dir_gone = true;
                        break;
                    }
                    let (dropped, lines) = file.drop_queue();
                    self.queued -= dropped;
                    self.lost += lines;
                    file.failed_until = Some(Instant::now() + RETRY_AFTER);
                    failures.push(failure);
                }
            }
        }
        // The files that failed before the directory was found gone failed on their own: they
        // are said too, and first.
        for failure in failures {
            self.fail(&failure.what, &failure.error);
        }
        if dir_gone {
            self.dir_gone(Instant::now());
            return true;
        }
        if recovered && self.failing && self.files.values().all(|f| f.failed_until.is_none()) {
            self.failing = false;
            let lost = std::mem::take(&mut self.lost);
            self.notices.push(format!(
                "the log files in {} are written again ({lost} {} lost meanwhile)",
                shown(&self.config.dir),
                plural(usize::try_from(lost).unwrap_or(usize::MAX), "line", "lines")
            ));
        }
        false
    }

    /// Says a failure, once until the log files work again.
    fn fail(&mut self, what: &str, error: &io::Error) {
        if self.failing {
            return;
        }
        self.failing = true;
        self.notices.push(format!(
            "warning: {what}: {}; the output still goes to the terminal, and the log files are \
             tried again every {} s",
            describe_io(error),
            RETRY_AFTER.as_secs()
        ));
    }

    /// What to tell the user since the last call: failures and recoveries.
    pub(crate) fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }
}

impl LogFile {
    /// Whether the open file is no longer the one its name in `dir` names (removed, or moved
    /// away): two `stat` calls, made at most every [`CHECK_EVERY`].
    fn is_gone(&self, dir: &OwnedFd) -> bool {
        let Some(file) = &self.file else { return false };
        let Ok(open) = fstat(file) else { return false };
        let named = fstatat(dir, self.name.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW);
        !named.is_ok_and(|st| identity(&st) == identity(&open))
    }

    fn new(id: &InstanceId) -> LogFile {
        LogFile {
            name: format!("{id}.log"),
            file: None,
            size: 0,
            planned: 0,
            parts: VecDeque::new(),
            failed_until: None,
        }
    }

    /// Opens (or creates) the live file for appending, and learns its size.
    fn open(&mut self, dir: &OwnedFd) -> io::Result<()> {
        let flags = OFlag::O_WRONLY
            | OFlag::O_APPEND
            | OFlag::O_CREAT
            | OFlag::O_NOFOLLOW
            | OFlag::O_NONBLOCK
            | OFlag::O_CLOEXEC;
        let fd =
            openat(dir, self.name.as_str(), flags, file_mode()).map_err(|errno| match errno {
                Errno::ELOOP => {
                    io::Error::other("it is a symbolic link, which procman does not follow")
                }
                errno => io::Error::from(errno),
            })?;
        let stat = fstat(&fd).map_err(io::Error::from)?;
        if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
            return Err(io::Error::other("it is not a regular file"));
        }
        // A hard link planted in the directory would have the app's output appended to the
        // file it names, as a symbolic link would.
        if stat.st_nlink > 1 {
            return Err(io::Error::other(
                "it has other hard links, which procman does not write through",
            ));
        }
        self.size = u64::try_from(stat.st_size).unwrap_or(0);
        // The size once the queue is written: this file's and what goes to it, or the last
        // rotation's file's (a file opened again in a new directory starts at its own size).
        self.planned = self.size;
        for part in &self.parts {
            if part.rotate_first {
                self.planned = 0;
            }
            self.planned += (part.bytes.len() - part.written) as u64;
        }
        self.failed_until = None;
        self.file = Some(File::from(fd));
        Ok(())
    }

    /// Queues one line, after a rotation when it would take the file past `max_size` (a line
    /// longer than that gets a file of its own: lines are never split).
    fn queue(&mut self, line: &[u8], max_size: u64) {
        let len = line.len() as u64;
        let rotate = self.planned > 0 && self.planned + len > max_size;
        if rotate {
            self.planned = 0;
        }
        match self.parts.back_mut() {
            Some(part) if !rotate => part.bytes.extend_from_slice(line),
            _ => self.parts.push_back(Part {
                rotate_first: rotate,
                bytes: line.to_vec(),
                written: 0,
            }),
        }
        self.planned += len;
    }

    /// Writes queued parts, rotating between them, within `budget`, taking what it writes off
    /// `queued` (and giving back a torn line's bytes, to be written again); the error that
    /// stopped it.
    fn flush(
        &mut self,
        dir: &OwnedFd,
        config: &LogConfig,
        budget: &mut usize,
        queued: &mut usize,
    ) -> Result<(), Failure> {
        // Only a failure names the file: not built for every file on every turn.
        let path = |name: &str| shown(&config.dir.join(name));
        while *budget > 0 {
            let Some(part) = self.parts.front_mut() else { break };
            if part.rotate_first {
                part.rotate_first = false;
                self.file = None;
                rotate(dir, config, &self.name)?;
            }
            if self.file.is_none()
                && let Err(error) = self.open(dir)
            {
                let what = format!("cannot open the log file {}", path(&self.name));
                return Err(Failure { what, error });
            }
            let Some(file) = self.file.as_mut() else { break };
            let Some(part) = self.parts.front_mut() else { break };
            let end = part.bytes.len().min(part.written.saturating_add(*budget));
            let error = match file.write(&part.bytes[part.written..end]) {
                Ok(0) => io::Error::from(io::ErrorKind::WriteZero),
                Ok(n) => {
                    part.written += n;
                    self.size += n as u64;
                    *queued -= n;
                    *budget -= n;
                    if part.written == part.bytes.len() {
                        self.parts.pop_front();
                    }
                    continue;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => error,
            };
            // A line cut short (a full disk takes what fits) would have the next line written
            // after the file recovers glued to it: the file goes back to its last whole line.
            // The line is queued whole again: a queue kept (the directory was replaced) writes
            // it whole to the new file, and one dropped counts it among the lines lost.
            let whole = memchr::memrchr(b'\n', &part.bytes[..part.written]).map_or(0, |at| at + 1);
            let torn = part.written - whole;
            if torn > 0 && file.set_len(self.size.saturating_sub(torn as u64)).is_ok() {
                self.size = self.size.saturating_sub(torn as u64);
                part.written = whole;
                *queued += torn;
            }
            let what = format!("cannot write the log file {}", path(&self.name));
            return Err(Failure { what, error });
        }
        Ok(())
    }

    /// Drops what is queued (the file failed): the bytes and the lines dropped. The file is
    /// closed, to be opened again when it is tried again.
    fn drop_queue(&mut self) -> (usize, u64) {
        let mut bytes = 0;
        let mut lines = 0;
        for part in self.parts.drain(..) {
            let left = &part.bytes[part.written..];
            bytes += left.len();
            lines += line_count(left);
        }
        self.file = None;
        (bytes, lines)
    }
}

/// What failed, for the warning: `cannot rotate the log file DIR/web.1.log.2 to ...`.
struct Failure {
    what: String,
    error: io::Error,
}

/// `web.1.log.(N-1)` → `web.1.log.N` ... `web.1.log` → `web.1.log.1`; with `keep` 0 the live
/// file is removed instead. A failure names the files at fault (a directory planted at
/// `web.1.log.N` stops the rotation until it is taken away: procman deletes no directory).
fn rotate(dir: &OwnedFd, config: &LogConfig, name: &str) -> Result<(), Failure> {
    let path = |file: &str| shown(&config.dir.join(file));
    if config.keep == 0 {
        return match unlinkat(dir, name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(errno) => Err(Failure {
                what: format!("cannot remove the log file {}", path(name)),
                error: errno.into(),
            }),
        };
    }
    let numbered = |n: u32| format!("{name}.{n}");
    let rename = |from: &str, to: &str| match renameat(dir, from, dir, to) {
        // Nothing to move: a file the rotation has not reached yet, or one removed meanwhile.
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(errno) => {
            let (from, to) = (path(from), path(to));
            let error = match errno {
                Errno::EISDIR | Errno::ENOTEMPTY | Errno::EEXIST => {
                    io::Error::other(format!("{to} is a directory"))
                }
                Errno::ENOTDIR => io::Error::other(format!("{from} is a directory")),
                errno => errno.into(),
            };
            Err(Failure { what: format!("cannot rotate the log file {from} to {to}"), error })
        }
    };
    for n in (1..config.keep).rev() {
        rename(&numbered(n), &numbered(n + 1))?;
    }
    rename(name, &numbered(1))
}

/// Whether `path` no longer names the directory whose identity is `id`: it was removed, moved
/// or replaced. The path is followed as when the directory was opened.
fn dir_replaced(path: &std::path::Path, id: (u64, u64)) -> bool {
    !stat(path).is_ok_and(|st| identity(&st) == id)
}

/// A file's device and inode.
fn identity(stat: &FileStat) -> (u64, u64) {
    #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
    (stat.st_dev as u64, stat.st_ino as u64)
}

/// The mode of a new log file: the owner's alone (less the umask).
fn file_mode() -> Mode {
    Mode::S_IRUSR | Mode::S_IWUSR
}

/// A path in a message, safe for the terminal.
fn shown(path: &std::path::Path) -> String {
    sanitize(&path.display().to_string(), 200)
}

fn line_count(data: &[u8]) -> u64 {
    let newlines = memchr::memchr_iter(b'\n', data).count();
    let unterminated = usize::from(!data.is_empty() && !data.ends_with(b"\n"));
    (newlines + unterminated) as u64
}

/// The stamp each line starts with: local time to the millisecond, with its offset, as RFC 3339
/// writes it (`2025-05-01T14:03:07.412+02:00 `).
#[derive(Default)]
struct Stamp {
    zone: Option<jiff::tz::TimeZone>,
}

impl Stamp {
    fn now(&mut self) -> String {
        let zone = self.zone.get_or_insert_with(jiff::tz::TimeZone::system).clone();
        match jiff::Timestamp::try_from(SystemTime::now()) {
            Ok(ts) => ts.to_zoned_datetime(zone).strftime("%Y-%m-%dT%H:%M:%S%.3f%:z ").to_string(),
            Err(_) => "????-??-??T??:??:??.???Z ".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests;
