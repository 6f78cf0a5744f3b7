//! The groups: adding them, one at a time or as a set, and what a host can read of them
//! (specs, states, the snapshot).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Group, Instance, Phase, StartEnd, Supervisor};
use crate::core::types::{InstanceId, InstanceInfo, State, Wait};
use crate::error::{RequestError, SpecError};
use crate::spec::ProgramSpec;

impl Supervisor {
    /// Adds a group, stopped. Its instances are created with numbers `1..=spec.instances`.
    /// The groups it depends on must be there already (which also rules out cycles); to add
    /// groups that depend on each other in any order, use [`Supervisor::add_groups`].
    ///
    /// # Errors
    /// An invalid spec, a name already in use, an unknown dependency, or a shutdown in
    /// progress.
    pub fn add_group(&mut self, spec: ProgramSpec) -> Result<(), RequestError> {
        spec.validate()?;
        crate::core::order::validate_readiness(&spec)?;
        if self.shutting_down {
            return Err(RequestError::ShuttingDown);
        }
        if self.group_index(&spec.name).is_ok() {
            return Err(RequestError::Spec(SpecError::DuplicateName(spec.name.to_string())));
        }
        for dependency in &spec.depends_on {
            if dependency.group == spec.name {
                let name = spec.name.to_string();
                return Err(SpecError::DependencyCycle(vec![name.clone(), name]).into());
            }
            if self.group_index(&dependency.group).is_err() {
                return Err(SpecError::UnknownDependency {
                    program: spec.name.to_string(),
                    dependency: dependency.group.to_string(),
                }
                .into());
            }
        }
        self.groups.push(Group::new(spec));
        Ok(())
    }

    /// Adds groups that may depend on each other, in any order: all of them, or none when one
    /// is invalid, a name is taken or unknown, or dependencies form a cycle.
    ///
    /// # Errors
    /// As [`Supervisor::add_group`], and [`SpecError::DependencyCycle`].
    pub fn add_groups(&mut self, specs: Vec<ProgramSpec>) -> Result<(), RequestError> {
        if self.shutting_down {
            return Err(RequestError::ShuttingDown);
        }
        let mut all: Vec<ProgramSpec> = self.groups.iter().map(|g| g.spec.clone()).collect();
        all.extend(specs.iter().cloned());
        crate::core::order::validate_specs(&all)?;
        self.groups.extend(specs.into_iter().map(Group::new));
        Ok(())
    }

    /// The spec of a group.
    pub fn spec(&self, group: &str) -> Option<&ProgramSpec> {
        self.groups.iter().find(|g| &*g.spec.name == group).map(|g| &g.spec)
    }

    /// The names of the groups, in the order they were added.
    pub fn group_names(&self) -> impl Iterator<Item = &Arc<str>> {
        self.groups.iter().map(|g| &g.spec.name)
    }

    /// The target instance count of a group.
    pub fn target(&self, group: &str) -> Option<u32> {
        self.groups.iter().find(|g| &*g.spec.name == group).map(|g| g.target)
    }

    /// The state of one instance.
    pub fn state(&self, id: &InstanceId) -> Option<State> {
        self.instance(id).ok().map(Instance::state)
    }

    /// Whether the instance will stay as it is until someone asks otherwise: stopped, fatal,
    /// or exited with no automatic restart pending. A host that ends its run when a process
    /// is gone for good (Foreman's rule) waits for this.
    pub fn is_settled(&self, id: &InstanceId) -> bool {
        self.instance(id).is_ok_and(|i| match i.phase {
            Phase::Stopped | Phase::Fatal => true,
            Phase::Exited { restart_at } => restart_at.is_none(),
            Phase::Waiting
            | Phase::Spawning { .. }
            | Phase::Starting { .. }
            | Phase::Running { .. }
            | Phase::Stopping { .. }
            | Phase::Backoff { .. } => false,
        })
    }

    /// The instance that owns a live pid.
    pub fn owner(&self, pid: u32) -> Option<&InstanceId> {
        self.by_pid.get(&pid)
    }

    /// Every live pid with its instance.
    pub fn live_pids(&self) -> impl Iterator<Item = (u32, &InstanceId)> {
        self.by_pid.iter().map(|(pid, id)| (*pid, id))
    }

    /// A plain-data view of every instance, groups in order and instances by number.
    pub fn snapshot(&self, now: Instant) -> Vec<InstanceInfo> {
        let mut out = Vec::new();
        for (g, group) in self.groups.iter().enumerate() {
            let waits = group.instances.values().any(|i| i.phase == Phase::Waiting);
            let unmet = if waits { self.unmet_dependencies(g) } else { Vec::new() };
            let checked = group.spec.readiness.is_some();
            for (n, i) in &group.instances {
                let state = i.state();
                let started_at = i.started_at();
                // While a spawn is pending (reported as Starting), the uptime still counts from
                // the last start, as it did before the phases were an enum.
                let uptime = match (state.has_process(), started_at) {
                    (true, Some(at)) => now.saturating_duration_since(at),
                    _ => Duration::ZERO,
                };
                out.push(InstanceInfo {
                    id: InstanceId::new(group.spec.name.clone(), *n),
                    state,
                    pid: i.phase.process().map(|p| p.pid),
                    retries: i.retries,
                    restarts: i.starts.saturating_sub(1),
                    started_at,
                    uptime,
                    last_exit: i.last_exit,
                    spawn_error: i.spawn_error.clone(),
                    resources: None,
                    ready: checked.then_some(state == State::Running),
                    waiting_for: match i.phase {
                        Phase::Waiting => Some(Wait::Dependencies(unmet.clone())),
                        Phase::Starting { ends: StartEnd::Ready { timeout_at }, .. } => {
                            Some(Wait::Ready { deadline: timeout_at })
                        }
                        _ => None,
                    },
                });
            }
        }
        out
    }
}
