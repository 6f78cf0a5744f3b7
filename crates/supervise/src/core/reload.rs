//! The plan of a reload: a pure function from the groups as they are and the groups as they
//! should be to what happens to each group. [`crate::Supervisor::reload`] carries it out.
//!
//! Specs hold a closure (the instance hook), which cannot be compared. So a group's command
//! and environment are compared as each instance that is kept runs them: the launch the hook
//! makes of instance `n`, old and new, for every `n` both counts share. The hook must
//! therefore be deterministic (the same launch for the same number every time); nothing else
//! about it matters. A readiness check's line matcher compares by its `pattern`.

use std::fmt;
use std::sync::Arc;

use super::order::validate_specs;
use crate::error::SpecError;
use crate::spec::ProgramSpec;

/// What a reload does to each group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadPlan {
    /// One entry per group: those of the new specs in their order, then the removed ones.
    pub groups: Vec<GroupPlan>,
}

impl ReloadPlan {
    /// The plan for one group.
    pub fn group(&self, name: &str) -> Option<&GroupPlan> {
        self.groups.iter().find(|g| &*g.name == name)
    }

    /// The names of the groups that get `action` (compared without the restart's details).
    pub fn names(&self, action: &ReloadAction) -> impl Iterator<Item = &Arc<str>> {
        self.groups
            .iter()
            .filter(move |g| std::mem::discriminant(&g.action) == std::mem::discriminant(action))
            .map(|g| &g.name)
    }

    /// Whether the reload changes nothing that runs (every group kept).
    pub fn keeps_everything(&self) -> bool {
        self.groups.iter().all(|g| g.action == ReloadAction::Keep)
    }
}

/// What a reload does to one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupPlan {
    /// The group.
    pub name: Arc<str>,
    /// What happens to it.
    pub action: ReloadAction,
    /// Its instance count before (0 for an added group).
    pub from: u32,
    /// Its instance count after (0 for a removed group).
    pub to: u32,
}

/// What happens to one group.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReloadAction {
    /// Nothing that runs differs: every instance keeps its process.
    Keep,
    /// Only the instance count differs: instances are added or removed, the others keep
    /// their process.
    Scale,
    /// Something that runs differs: every instance the two counts share and that has a
    /// process is restarted (instances are also added or removed when the counts differ).
    Restart {
        /// What differs, in the order of [`Change`].
        changes: Vec<Change>,
        /// With a readiness check, one instance at a time, each new process ready before the
        /// next old one is stopped; without one, all at once.
        rolling: bool,
    },
    /// A new group: added and started.
    Start,
    /// A group that is no longer there: stopped, then removed.
    Stop,
}

/// Why a group is restarted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// The program or its arguments, for some instance.
    Command,
    /// The environment: the group's, or some instance's own variables.
    Env,
    /// The working directory.
    Cwd,
    /// Another field of [`ProgramSpec`], by its name (`stop_timeout`, `readiness`...).
    Setting(&'static str),
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Command => f.write_str("command"),
            Change::Env => f.write_str("env"),
            Change::Cwd => f.write_str("cwd"),
            Change::Setting(name) => f.write_str(name),
        }
    }
}

/// The plan that takes the groups `current` to `new`. `current` holds the groups as they run
/// (each with its current target as `instances`); `new` is checked as a set first
/// ([`validate_specs`]), and a plan is only made for a valid one.
///
/// # Errors
/// The first problem of `new`: an invalid spec, a duplicate name, an unknown dependency or a
/// cycle.
pub fn plan_reload(current: &[ProgramSpec], new: &[ProgramSpec]) -> Result<ReloadPlan, SpecError> {
    validate_specs(new)?;
    let mut groups = Vec::with_capacity(new.len());
    for spec in new {
        let plan = match current.iter().find(|old| old.name == spec.name) {
            None => GroupPlan {
                name: spec.name.clone(),
                action: ReloadAction::Start,
                from: 0,
                to: spec.instances,
            },
            Some(old) => {
                let changes = changes(old, spec);
                let action = if !changes.is_empty() {
                    ReloadAction::Restart { changes, rolling: spec.readiness.is_some() }
                } else if old.instances != spec.instances {
                    ReloadAction::Scale
                } else {
                    ReloadAction::Keep
                };
                GroupPlan {
                    name: spec.name.clone(),
                    action,
                    from: old.instances,
                    to: spec.instances,
                }
            }
        };
        groups.push(plan);
    }
    for old in current {
        if !new.iter().any(|spec| spec.name == old.name) {
            groups.push(GroupPlan {
                name: old.name.clone(),
                action: ReloadAction::Stop,
                from: old.instances,
                to: 0,
            });
        }
    }
    Ok(ReloadPlan { groups })
}

/// What differs between two specs of one group for the instances both counts share; nothing
/// when they share none (no process would be restarted).
fn changes(old: &ProgramSpec, new: &ProgramSpec) -> Vec<Change> {
    // Every field, by name and without `..`: a field added to `ProgramSpec` must be given its
    // place here before this compiles.
    let ProgramSpec {
        name: _,
        command: _,
        cwd,
        env,
        umask,
        stdin,
        stdout,
        stderr,
        stop_signal,
        stop_timeout,
        restart,
        expected_exit_codes,
        start_grace,
        max_retries,
        backoff,
        instances: _,
        instance_hook: _,
        readiness,
        depends_on,
    } = new;
    let shared = old.instances.min(new.instances);
    if shared == 0 {
        return Vec::new();
    }
    let mut command = false;
    let mut instance_env = false;
    for n in 1..=shared {
        let (before, after) = (old.launch(n), new.launch(n));
        command |= before.command != after.command;
        instance_env |= before.env != after.env;
    }
    let mut changes = Vec::new();
    if command {
        changes.push(Change::Command);
    }
    if instance_env || old.env != *env {
        changes.push(Change::Env);
    }
    if old.cwd != *cwd {
        changes.push(Change::Cwd);
    }
    let settings = [
        ("umask", old.umask != *umask),
        ("stdin", old.stdin != *stdin),
        ("stdout", old.stdout != *stdout),
        ("stderr", old.stderr != *stderr),
        ("stop_signal", old.stop_signal != *stop_signal),
        ("stop_timeout", old.stop_timeout != *stop_timeout),
        ("restart", old.restart != *restart),
        ("expected_exit_codes", old.expected_exit_codes != *expected_exit_codes),
        ("start_grace", old.start_grace != *start_grace),
        ("max_retries", old.max_retries != *max_retries),
        ("backoff", old.backoff != *backoff),
        ("readiness", old.readiness != *readiness),
        ("depends_on", old.depends_on != *depends_on),
    ];
    changes
        .extend(settings.iter().filter(|(_, differs)| *differs).map(|(n, _)| Change::Setting(n)));
    changes
}
