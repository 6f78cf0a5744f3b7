//! `start --containment`: procman's policy for holding the app together. The mechanisms live
//! in the supervision library (cgroup tree, PID namespace, subreaper guard); here procman
//! picks one, says which (and why, when it had to settle for less than the strongest), and
//! refuses to run when the one asked for by name is not available.

use std::path::PathBuf;

use supervise::guard::{self, GuardOptions};
use supervise::{CgroupError, CgroupTree, Containment, Signal};

use crate::cli::ContainmentChoice;
use crate::error::CliError;
use procman::diagnostic::Diagnostic;

/// What was set up before the app starts.
#[derive(Debug, Default)]
pub(crate) struct Contained {
    /// The app's cgroup tree, for the driver.
    pub(crate) cgroup: Option<CgroupTree>,
    /// The signal that says the guard process is gone.
    pub(crate) guard_lost: Option<Signal>,
    /// Why `auto` settled for less than the cgroup (`no cgroup: ...`); `None` when it did not
    /// or the mechanism was asked for by name.
    pub(crate) fallback: Option<String>,
}

/// The variable that runs procman without its guard process (for debugging the supervisor
/// alone); no PID namespace can be set up then.
const NO_GUARD_VAR: &str = "PROCMAN_NO_GUARD";

/// The guard's name, as `ps` shows it, and its program's: cargo builds and installs
/// `procman-guard` beside `procman`.
const GUARD_NAME: &str = "procman-guard";

/// The command that gives an unprivileged user's procman a delegated cgroup under systemd.
const SYSTEMD_HINT: &str = "systemd-run --user --scope -p Delegate=yes procman start";

/// Sets up `choice` (with `auto`: the strongest mechanism that works here) and forks the
/// guard. Must run before any thread starts.
///
/// # Errors
/// A mechanism asked for by name that cannot be set up.
pub(crate) fn establish(choice: ContainmentChoice) -> Result<Contained, CliError> {
    let guarded = std::env::var_os(NO_GUARD_VAR).is_none();
    match choice {
        ContainmentChoice::Cgroup => {
            let tree = create_tree().map_err(|error| unavailable("cgroup", &error.to_string()))?;
            Ok(protect(Some(tree), guarded))
        }
        ContainmentChoice::Namespace => {
            if !guarded {
                return Err(unavailable("namespace", &format!("{NO_GUARD_VAR} is set")));
            }
            match guard::protect(&guard_options(true, None)) {
                Ok(protection) => Ok(Contained {
                    cgroup: None,
                    guard_lost: Some(protection.lost_signal),
                    fallback: None,
                }),
                Err(error) => Err(unavailable("namespace", &error.to_string())),
            }
        }
        ContainmentChoice::Subreaper => Ok(protect(None, guarded)),
        ContainmentChoice::Auto => strongest(guarded),
    }
}

/// cgroup, else namespace, else subreaper; [`Contained::fallback`] says why when it is not the
/// cgroup.
///
/// # Errors
/// A namespace whose supervisor cannot go on (no `/proc` of its own).
fn strongest(guarded: bool) -> Result<Contained, CliError> {
    let no_cgroup = match create_tree() {
        Ok(tree) => return Ok(protect(Some(tree), guarded)),
        Err(error) => cgroup_reason(&error),
    };
    if guarded {
        // This runs in the supervisor, after the fork; the guard never returns from it.
        match guard::protect(&guard_options(true, None)) {
            Ok(protection) => {
                return Ok(Contained {
                    cgroup: None,
                    guard_lost: Some(protection.lost_signal),
                    fallback: Some(format!("no cgroup: {no_cgroup}")),
                });
            }
            Err(error) if error.guard_started() => {
                return Err(unavailable("namespace", &error.to_string()));
            }
            Err(_) => {}
        }
    }
    let mut contained = protect(None, guarded);
    // Off Linux none of the three exists: nothing was given up.
    if cfg!(target_os = "linux") {
        contained.fallback = Some(format!("no cgroup: {no_cgroup}; no PID namespace either"));
    }
    Ok(contained)
}

/// The line `start` says once, before anything starts, naming the mechanism the run holds its
/// processes with, as `ps` shows it, and why `auto` settled for it when it was not the
/// cgroup: `procman: containment: cgroup (/sys/fs/cgroup/procman-123)`, `procman:
/// containment: namespace (no cgroup: ...)`. `None` under `--quiet`, unless it is a fallback
/// (a weaker promise than the user may count on is worth a line even then).
pub(crate) fn announcement(
    containment: &Containment,
    fallback: Option<&str>,
    quiet: bool,
) -> Option<String> {
    let Some(why) = fallback else {
        return (!quiet).then(|| format!("procman: containment: {containment}"));
    };
    let weak = matches!(containment, Containment::Subreaper | Containment::ProcessGroups);
    let caveat = if weak { "; docs/guarantees.md says what this mode cannot promise" } else { "" };
    Some(format!("procman: containment: {containment} ({why}){caveat}"))
}

/// The app's cgroup, named after the pid the shell knows (the guard's, which is this
/// process's until the fork).
fn create_tree() -> Result<CgroupTree, CgroupError> {
    CgroupTree::create(&format!("procman-{}", std::process::id()))
}

/// Why no cgroup, with the way to get one where that is systemd's delegation.
fn cgroup_reason(error: &CgroupError) -> String {
    match error {
        CgroupError::NotDelegated { .. } | CgroupError::NotWritable { .. }
            if std::path::Path::new("/run/systemd/system").is_dir() =>
        {
            format!("{error}; `{SYSTEMD_HINT}` gives one")
        }
        other => other.to_string(),
    }
}

/// Forks the guard (unless it is turned off), which kills `cgroup` whole if the supervisor
/// dies, or else every process it finds below itself. A guard that cannot be forked leaves
/// the run without one, as before it existed.
fn protect(cgroup: Option<CgroupTree>, guarded: bool) -> Contained {
    let guard_lost = if guarded {
        guard::protect(&guard_options(false, cgroup.clone()))
            .ok()
            .map(|protection| protection.lost_signal)
    } else {
        None
    };
    Contained { cgroup, guard_lost, fallback: None }
}

/// procman's guard: named `procman-guard`, running the small program of that name beside
/// procman's executable, or else procman itself again (whose `main` starts with the guard's
/// entry point), so that it holds none of the memory the command line touched.
fn guard_options(isolate: bool, cgroup: Option<CgroupTree>) -> GuardOptions {
    let mut programs: Vec<PathBuf> = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(GUARD_NAME)))
        .filter(|program| program.is_file())
        .into_iter()
        .collect();
    programs.push(PathBuf::from("/proc/self/exe"));
    GuardOptions { programs, name: GUARD_NAME.to_owned(), isolate, cgroup }
}

fn unavailable(mechanism: &str, why: &str) -> CliError {
    CliError::Input(
        Diagnostic::new(format!("--containment={mechanism} is not available here: {why}"))
            .with_help(
                "use --containment=auto for the strongest mechanism this host allows \
                 (docs/guarantees.md compares them)",
            )
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_announcement_names_the_mechanism_and_the_reason_for_a_fallback() {
        let cgroup = Containment::Cgroup(PathBuf::from("/sys/fs/cgroup/procman-123"));
        assert_eq!(
            announcement(&cgroup, None, false).as_deref(),
            Some("procman: containment: cgroup (/sys/fs/cgroup/procman-123)")
        );
        assert_eq!(announcement(&cgroup, None, true), None, "--quiet leaves out the cgroup");
        let why = "no cgroup: not writable";
        let namespace = announcement(&Containment::PidNamespace, Some(why), true);
        assert_eq!(
            namespace.as_deref(),
            Some("procman: containment: namespace (no cgroup: not writable)"),
            "a fallback is said under --quiet too"
        );
        assert_eq!(
            announcement(&Containment::Subreaper, None, false).as_deref(),
            Some("procman: containment: subreaper"),
            "asked for by name: no reason"
        );
        let why = "no cgroup: not writable; no PID namespace either";
        assert_eq!(
            announcement(&Containment::Subreaper, Some(why), false).as_deref(),
            Some(
                "procman: containment: subreaper (no cgroup: not writable; no PID namespace \
                 either); docs/guarantees.md says what this mode cannot promise"
            )
        );
    }
}
