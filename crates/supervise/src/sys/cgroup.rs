//! cgroup v2: a tree of control groups that holds every process of the app, so that stopping
//! and killing need no walk of `/proc` and cannot be raced (Linux 5.14+, for `cgroup.kill`).
//!
//! The app's cgroup is created under the one this process runs in (read from
//! `/proc/self/cgroup`, located through the `cgroup2` mount in `/proc/self/mountinfo`, which
//! on a hybrid host is not `/sys/fs/cgroup`). Each instance gets a child cgroup of its own; a
//! spawned child moves itself into it before it runs anything of the program's, so nothing
//! can escape in between. Killing a cgroup (`cgroup.kill`) reaches every process in it at
//! once, including those that fork while it happens.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::core::Resources;

/// Why no cgroup could be created for the app. Each says where and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CgroupError {
    /// No cgroup v2 hierarchy is mounted (or this process is in none).
    #[error("no cgroup v2 hierarchy is mounted (looked for `cgroup2` in /proc/self/mountinfo)")]
    NoUnifiedHierarchy,
    /// This process's cgroup lies outside what the mount shows (another cgroup namespace).
    #[error("this process's cgroup `{cgroup}` is not visible under the cgroup2 mount `{mount}`")]
    NotVisible {
        /// The cgroup, as `/proc/self/cgroup` names it.
        cgroup: String,
        /// The mount point.
        mount: PathBuf,
    },
    /// systemd manages the cgroup tree, and this process's cgroup was not delegated to it.
    #[error(
        "systemd manages `{path}` and did not delegate it (run under `systemd-run --user \
         --scope -p Delegate=yes`, or in a unit with `Delegate=yes`)"
    )]
    NotDelegated {
        /// This process's cgroup directory.
        path: PathBuf,
    },
    /// This process may not create cgroups or move processes here.
    #[error("`{path}` is not writable by this user (cgroups need root or a delegated subtree)")]
    NotWritable {
        /// The directory or file that refused.
        path: PathBuf,
    },
    /// The kernel lacks `cgroup.kill` (Linux before 5.14).
    #[error("`{path}` has no cgroup.kill (it needs Linux 5.14 or later)")]
    NoKill {
        /// The cgroup created to check, removed again.
        path: PathBuf,
    },
    /// A file of the hierarchy could not be read or written.
    #[error("{what} `{path}`: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

/// The app's cgroup: a directory of the cgroup2 hierarchy holding one child per instance.
///
/// Create it with [`CgroupTree::create`] and give it to the driver
/// ([`crate::DriverOptions::cgroup`]) and to the guard ([`crate::guard::GuardOptions::cgroup`]),
/// which kills it whole if the supervisor dies. [`CgroupTree::kill`] and
/// [`CgroupTree::remove`] end it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupTree {
    path: PathBuf,
    memory: bool,
}

/// How many names [`CgroupTree::create`] tries (`NAME`, then `NAME-1`, `NAME-2`...).
const MAX_NAME_ATTEMPTS: u32 = 100;

impl CgroupTree {
    /// Creates a new cgroup `name` (say `procman-1234`; `NAME-1`, `NAME-2`... when that one
    /// exists, never an existing one) under this process's own cgroup, after checking
    /// that it may: a cgroup2 mount, a writable directory, and, when systemd manages the
    /// hierarchy, a subtree delegated to this process. The memory controller is enabled for
    /// the instances when the parent offers it.
    ///
    /// # Errors
    /// A [`CgroupError`] saying why not; nothing is left behind then.
    pub fn create(name: &str) -> Result<CgroupTree, CgroupError> {
        let own = own_cgroup_dir()?;
        if systemd_manages_cgroups() && !is_delegated(&own) {
            return Err(CgroupError::NotDelegated { path: own });
        }
        for path in [own.clone(), own.join("cgroup.procs")] {
            if nix::unistd::access(&path, nix::unistd::AccessFlags::W_OK).is_err() {
                return Err(CgroupError::NotWritable { path });
            }
        }
        // A tree of its own, never one that exists: another run may hold it (every procman
        // that is PID 1 of a namespace has the same pid), or a killed run left it behind.
        let mut path = own.join(name);
        for attempt in 1..=MAX_NAME_ATTEMPTS {
            match std::fs::create_dir(&path) {
                Ok(()) => break,
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                    if attempt == MAX_NAME_ATTEMPTS {
                        return Err(CgroupError::Io { what: "cannot create", path, source: err });
                    }
                    path = own.join(format!("{name}-{attempt}"));
                }
                Err(err) if err.kind() == io::ErrorKind::PermissionDenied => {
                    return Err(CgroupError::NotWritable { path: own });
                }
                Err(source) => {
                    return Err(CgroupError::Io { what: "cannot create", path, source });
                }
            }
        }
        if !path.join("cgroup.kill").exists() {
            let _ = std::fs::remove_dir(&path);
            return Err(CgroupError::NoKill { path });
        }
        // Without the memory controller the instances' memory is read from /proc instead.
        let offered = std::fs::read_to_string(path.join("cgroup.controllers")).unwrap_or_default();
        let memory = offered.split_whitespace().any(|c| c == "memory")
            && std::fs::write(path.join("cgroup.subtree_control"), "+memory").is_ok();
        Ok(CgroupTree { path, memory })
    }

    /// The tree at `path`, created earlier (by the process that handed it over).
    pub fn open(path: impl Into<PathBuf>) -> CgroupTree {
        let path = path.into();
        let memory = std::fs::read_to_string(path.join("cgroup.subtree_control"))
            .is_ok_and(|c| c.split_whitespace().any(|c| c == "memory"));
        CgroupTree { path, memory }
    }

    /// Its directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether instances get the memory controller (their memory is then `memory.current`).
    pub fn has_memory_controller(&self) -> bool {
        self.memory
    }

    /// SIGKILL to every process in the tree, at once (`cgroup.kill`).
    ///
    /// # Errors
    /// When `cgroup.kill` cannot be written (the tree is gone, say).
    pub fn kill(&self) -> io::Result<()> {
        std::fs::write(self.path.join("cgroup.kill"), "1")?;
        kill_listed(&self.pids());
        Ok(())
    }

    /// Whether any process is left in the tree.
    pub fn is_populated(&self) -> bool {
        populated(&self.path)
    }

    /// Waits until no process is left in the tree, woken by the kernel's notification on
    /// `cgroup.events` (no polling); `false` if some are still there after `limit`.
    pub fn wait_empty(&self, limit: Duration) -> bool {
        let Ok(events) = File::open(self.path.join("cgroup.events")) else { return true };
        let deadline = Instant::now() + limit;
        loop {
            if !events_say_populated(&events) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            wait_priority(&events, left);
        }
    }

    /// Every process in the tree (instances and whatever they started).
    pub fn pids(&self) -> Vec<u32> {
        let mut out = Vec::new();
        collect_pids(&self.path, &mut out, 0);
        out
    }

    /// Removes the instances' cgroups and the tree itself; they must be empty (after
    /// [`CgroupTree::kill`] and [`CgroupTree::wait_empty`]).
    ///
    /// # Errors
    /// When a directory cannot be removed (a process still in it, typically).
    pub fn remove(&self) -> io::Result<()> {
        for child in child_dirs(&self.path) {
            match std::fs::remove_dir(&child) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
        match std::fs::remove_dir(&self.path) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        }
    }

    /// The cgroup of one instance, created if missing. `name` is made safe for a directory.
    pub(crate) fn instance(&self, name: &str) -> io::Result<InstanceCgroup> {
        let path = self.path.join(safe_name(name));
        match std::fs::create_dir(&path) {
            Err(err) if err.kind() != io::ErrorKind::AlreadyExists => return Err(err),
            _ => {}
        }
        Ok(InstanceCgroup { path })
    }

    /// `cgroup.events` of the tree, for a poll loop: it reports a priority event when the
    /// tree becomes empty (or populated).
    pub(crate) fn events_file(&self) -> io::Result<File> {
        File::open(self.path.join("cgroup.events"))
    }
}

/// One instance's cgroup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InstanceCgroup {
    path: PathBuf,
}

impl InstanceCgroup {
    /// `cgroup.procs`, open for a spawned child to write itself into (close-on-exec).
    pub(crate) fn procs_for_child(&self) -> io::Result<OwnedFd> {
        OpenOptions::new().write(true).open(self.path.join("cgroup.procs")).map(OwnedFd::from)
    }

    /// Freezes (`true`) or thaws every process in it.
    pub(crate) fn freeze(&self, frozen: bool) -> io::Result<()> {
        std::fs::write(self.path.join("cgroup.freeze"), if frozen { "1" } else { "0" })
    }

    /// Waits until a freeze has taken hold (`frozen 1`), up to `limit`; a process in an
    /// uninterruptible sleep can hold it up, and then the caller goes on regardless.
    pub(crate) fn wait_frozen(&self, limit: Duration) {
        let Ok(events) = File::open(self.path.join("cgroup.events")) else { return };
        let deadline = Instant::now() + limit;
        loop {
            if read_key(&events, "frozen") != Some(0) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            wait_priority(&events, left);
        }
    }

    /// SIGKILL to everything in it, at once.
    pub(crate) fn kill(&self) -> io::Result<()> {
        std::fs::write(self.path.join("cgroup.kill"), "1")?;
        kill_listed(&self.pids());
        Ok(())
    }

    /// The processes in it.
    pub(crate) fn pids(&self) -> Vec<u32> {
        let mut out = Vec::new();
        read_procs(&self.path, &mut out);
        out
    }

    /// Whether any process is in it.
    pub(crate) fn is_populated(&self) -> bool {
        populated(&self.path)
    }

    /// CPU time used by everything that ran in it, from `cpu.stat`.
    pub(crate) fn cpu_usage(&self) -> Option<Duration> {
        let text = std::fs::read_to_string(self.path.join("cpu.stat")).ok()?;
        text.lines()
            .find_map(|line| line.strip_prefix("usage_usec "))
            .and_then(|v| v.trim().parse().ok())
            .map(Duration::from_micros)
    }

    /// `memory.current`, when the memory controller is enabled for it.
    pub(crate) fn memory(&self) -> Option<u64> {
        std::fs::read_to_string(self.path.join("memory.current")).ok()?.trim().parse().ok()
    }

    /// Memory, CPU since `cpu_base`, and process count of the instance; memory from
    /// `memory.current`, or else `rss_of` summed over its processes.
    pub(crate) fn resources(&self, cpu_base: Duration, rss_of: impl Fn(u32) -> u64) -> Resources {
        let pids = self.pids();
        Resources {
            rss_bytes: self.memory().unwrap_or_else(|| pids.iter().map(|p| rss_of(*p)).sum()),
            cpu: self.cpu_usage().unwrap_or_default().saturating_sub(cpu_base),
            processes: u32::try_from(pids.len()).unwrap_or(u32::MAX),
        }
    }

    /// Removes it if it is empty; `false` if it could not be.
    pub(crate) fn remove(&self) -> bool {
        std::fs::remove_dir(&self.path).is_ok()
    }
}

/// `cgroup.kill` passes over a process whose main thread has exited while others run on
/// (Linux 6.18 here: it stays, listed in `cgroup.procs`); `kill(2)` of its pid reaches it.
fn kill_listed(pids: &[u32]) {
    for pid in pids {
        super::reap::signal_process(*pid, crate::signal::Signal::KILL);
    }
}

/// Turns an instance name into a directory name the hierarchy accepts and that cannot be
/// taken for one of its files: letters, digits, `-`, `_` and `.` kept, the rest `_`, and an
/// `i-` in front of a name that could read as a control file (`cgroup.x`, `memory.x`...).
fn safe_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    let reserved = ["cgroup", "cpu", "cpuset", "io", "memory", "pids", "rdma", "hugetlb", "misc"];
    let prefix = clean.split('.').next().unwrap_or("");
    if clean.is_empty() || clean.starts_with('.') || reserved.contains(&prefix) {
        format!("i-{clean}")
    } else {
        clean
    }
}

fn populated(dir: &Path) -> bool {
    File::open(dir.join("cgroup.events")).is_ok_and(|events| events_say_populated(&events))
}

/// `populated` from `cgroup.events`: true unless it says 0 (a vanished cgroup reads as empty).
pub(crate) fn events_say_populated(events: &File) -> bool {
    read_key(events, "populated").is_some_and(|v| v != 0)
}

/// A `key value` line of a flat-keyed cgroup file, read from the start.
fn read_key(file: &File, key: &str) -> Option<u64> {
    let mut buf = [0u8; 256];
    let n = file.read_at(&mut buf, 0).ok()?;
    let text = std::str::from_utf8(buf.get(..n)?).ok()?;
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        if k == key { v.trim().parse().ok() } else { None }
    })
}

/// Blocks until the kernel signals a change of the file (POLLPRI) or `limit` passes.
fn wait_priority(file: &File, limit: Duration) {
    let millis = i32::try_from(limit.as_millis().max(1)).unwrap_or(i32::MAX);
    let mut fds = [libc::pollfd { fd: file.as_raw_fd(), events: libc::POLLPRI, revents: 0 }];
    // SAFETY: poll reads and writes the one pollfd we pass; the descriptor stays open.
    unsafe { libc::poll(fds.as_mut_ptr(), 1, millis) };
}

fn child_dirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

fn read_procs(dir: &Path, out: &mut Vec<u32>) {
    let mut text = String::new();
    if File::open(dir.join("cgroup.procs")).and_then(|mut f| f.read_to_string(&mut text)).is_ok() {
        out.extend(text.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
    }
}

fn collect_pids(dir: &Path, out: &mut Vec<u32>, depth: usize) {
    read_procs(dir, out);
    // The app may create cgroups of its own below its instance's; a bound keeps a torn read
    // from looping.
    if depth < 32 {
        for child in child_dirs(dir) {
            collect_pids(&child, out, depth + 1);
        }
    }
}

/// This process's cgroup directory in the cgroup2 mount.
fn own_cgroup_dir() -> Result<PathBuf, CgroupError> {
    let cgroups = read_proc("/proc/self/cgroup")?;
    let own = cgroups
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .ok_or(CgroupError::NoUnifiedHierarchy)?
        .to_owned();
    let mountinfo = read_proc("/proc/self/mountinfo")?;
    let (mount, root) = cgroup2_mount(&mountinfo).ok_or(CgroupError::NoUnifiedHierarchy)?;
    let relative = if root == "/" {
        Some(own.as_str())
    } else {
        own.strip_prefix(root.as_str()).filter(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    let Some(relative) = relative else {
        return Err(CgroupError::NotVisible { cgroup: own, mount });
    };
    let relative = relative.trim_start_matches('/');
    let dir = if relative.is_empty() { mount.clone() } else { mount.join(relative) };
    if !dir.is_dir() {
        return Err(CgroupError::NotVisible { cgroup: own, mount });
    }
    Ok(dir)
}

fn read_proc(path: &str) -> Result<String, CgroupError> {
    std::fs::read_to_string(path).map_err(|source| CgroupError::Io {
        what: "cannot read",
        path: PathBuf::from(path),
        source,
    })
}

/// The mount point and root of the first `cgroup2` mount in a mountinfo text.
pub(crate) fn cgroup2_mount(mountinfo: &str) -> Option<(PathBuf, String)> {
    mountinfo.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        if after.split_whitespace().next() != Some("cgroup2") {
            return None;
        }
        let fields: Vec<&str> = before.split_whitespace().collect();
        let root = unescape(fields.get(3)?);
        let mount = unescape(fields.get(4)?);
        Some((PathBuf::from(mount), root))
    })
}

/// mountinfo writes space, tab, newline and backslash as `\NNN` (octal).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let code = bytes
            .get(i + 1..i + 4)
            .and_then(|d| std::str::from_utf8(d).ok().and_then(|d| u8::from_str_radix(d, 8).ok()));
        match (bytes[i], code) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether systemd runs this host (as `sd_booted` tells): it then owns the cgroup tree, and
/// only a delegated subtree may be changed by anyone else.
fn systemd_manages_cgroups() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// Whether systemd marked the cgroup as delegated (`Delegate=yes`): it sets the extended
/// attribute `trusted.delegate` (system manager) or `user.delegate` (user manager) to 1.
fn is_delegated(dir: &Path) -> bool {
    ["trusted.delegate", "user.delegate"]
        .iter()
        .any(|name| xattr(dir, name).as_deref() == Some(b"1"))
}

#[cfg(target_os = "linux")]
fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let path = CString::new(path.as_os_str().as_bytes()).ok()?;
    let name = CString::new(name).ok()?;
    let mut buf = [0u8; 16];
    // SAFETY: both strings are NUL-terminated; getxattr writes at most `buf.len()` bytes.
    let n =
        unsafe { libc::getxattr(path.as_ptr(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    let n = usize::try_from(n).ok()?;
    buf.get(..n).map(<[u8]>::to_vec)
}

/// cgroups are Linux's: elsewhere nothing is delegated.
#[cfg(not(target_os = "linux"))]
fn xattr(_path: &Path, _name: &str) -> Option<Vec<u8>> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cgroup2_mount_is_found_where_it_is_mounted() {
        let hybrid = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
                      35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
                      41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup2_mount(hybrid),
            Some((PathBuf::from("/sys/fs/cgroup/unified"), "/".to_owned()))
        );
        let spaced = "41 31 0:38 /a\\040b /mnt/c\\040g rw - cgroup2 cgroup2 rw\n";
        assert_eq!(cgroup2_mount(spaced), Some((PathBuf::from("/mnt/c g"), "/a b".to_owned())));
        assert_eq!(cgroup2_mount("1 2 0:1 / / rw - ext4 /dev/vda rw\n"), None);
    }

    #[test]
    fn instance_names_become_safe_directory_names() {
        assert_eq!(safe_name("web.1"), "web.1");
        assert_eq!(safe_name("a/b c.2"), "a_b_c.2");
        assert_eq!(safe_name("cgroup.1"), "i-cgroup.1");
        assert_eq!(safe_name("memory.3"), "i-memory.3");
        assert_eq!(safe_name(".x"), "i-.x");
        assert_eq!(safe_name(""), "i-");
    }
}
