//! Start and stop order between groups: the gate that holds an instance in `Waiting` until
//! its group's dependencies meet their conditions, the reverse order of the shutdown, and the
//! pass that carries both out (with reload rollouts and removals) after every call.

use std::time::Instant;

use super::{AfterStop, Phase, Supervisor};
use crate::core::types::{
    Condition, Dependency, DependencyFailure, Event, InstanceId, Notice, State, Wait,
};

/// Whether an instance of a group may be spawned, as its dependencies stand.
#[derive(Debug)]
pub(super) enum Gate {
    /// Every dependency meets its condition.
    Open,
    /// Some dependency does not yet.
    Closed,
    /// A dependency never will without someone's request.
    Failed(DependencyFailure),
}

impl Gate {
    pub(super) fn is_open(&self) -> bool {
        matches!(self, Gate::Open)
    }
}

/// Where one instance of a dependency stands with respect to a condition.
enum Verdict {
    Met,
    Pending,
    Failed,
}

/// Where a dependency stands: the verdicts of its instances together.
enum Standing {
    Met,
    Pending,
    Failed(DependencyFailure),
}

impl Supervisor {
    /// What an instance waits for: its unmet dependencies while `Waiting`, its readiness check
    /// while `Starting` with one. `None` for an unknown instance or one that waits for nothing.
    pub fn waiting_for(&self, id: &InstanceId) -> Option<Wait> {
        let g = self.group_index(&id.group).ok()?;
        match self.groups[g].instances.get(&id.index)?.phase {
            Phase::Waiting => Some(Wait::Dependencies(self.unmet_dependencies(g))),
            Phase::Starting { ends: super::StartEnd::Ready { timeout_at }, .. } => {
                Some(Wait::Ready { deadline: timeout_at })
            }
            _ => None,
        }
    }

    /// The dependencies of group `g` that do not meet their condition (yet, or for good).
    pub(super) fn unmet_dependencies(&self, g: usize) -> Vec<Dependency> {
        self.groups[g]
            .spec
            .depends_on
            .iter()
            .filter(|dependency| !matches!(self.standing(g, dependency), Standing::Met))
            .cloned()
            .collect()
    }

    /// The gate of group `g`: open when every dependency meets its condition.
    pub(super) fn gate(&self, g: usize) -> Gate {
        let mut gate = Gate::Open;
        for dependency in &self.groups[g].spec.depends_on {
            match self.standing(g, dependency) {
                Standing::Met => {}
                Standing::Failed(failure) => return Gate::Failed(failure),
                Standing::Pending => gate = Gate::Closed,
            }
        }
        gate
    }

    /// Met when every instance of the dependency (within its target) meets the condition;
    /// failed when one never will without someone's request (it is fatal, or exited for
    /// good in a way the condition cannot accept).
    fn standing(&self, dependant: usize, dependency: &Dependency) -> Standing {
        // Specs are checked as a set, so a dependency names a group; should it be missing,
        // nothing waits for it.
        let Ok(d) = self.group_index(&dependency.group) else { return Standing::Met };
        let group = &self.groups[d];
        let mut pending = false;
        let within_target = group.instances.iter().filter(|(n, _)| **n <= group.target);
        for (n, instance) in within_target {
            let verdict = match (dependency.condition, instance.phase) {
                (_, Phase::Fatal) => Verdict::Failed,
                (
                    Condition::Started,
                    Phase::Starting { .. } | Phase::Running { .. } | Phase::Exited { .. },
                )
                | (Condition::Ready, Phase::Running { .. }) => Verdict::Met,
                (Condition::Ready, Phase::Exited { restart_at: None }) => Verdict::Failed,
                (Condition::Exited, Phase::Exited { restart_at }) => {
                    let success = instance.last_exit.is_some_and(|s| group.spec.is_expected(s));
                    match (success, restart_at) {
                        (true, _) => Verdict::Met,
                        (false, None) => Verdict::Failed,
                        (false, Some(_)) => Verdict::Pending,
                    }
                }
                _ => Verdict::Pending,
            };
            match verdict {
                Verdict::Met => {}
                Verdict::Pending => pending = true,
                Verdict::Failed => {
                    return Standing::Failed(DependencyFailure {
                        group: self.groups[dependant].spec.name.clone(),
                        dependency: InstanceId::new(group.spec.name.clone(), *n),
                        condition: dependency.condition,
                        state: instance.state(),
                        exit: instance.last_exit,
                    });
                }
            }
        }
        if pending { Standing::Pending } else { Standing::Met }
    }

    /// Puts an instance in `Waiting` (from stopped, exited or backoff) and says what for.
    pub(super) fn enter_waiting(&mut self, g: usize, n: u32, now: Instant) {
        let dependencies = self.unmet_dependencies(g);
        let Some(instance) = self.groups[g].instances.get_mut(&n) else { return };
        let from = instance.state();
        instance.phase = Phase::Waiting;
        self.emit_transition(g, n, from, now, None, None);
        let id = self.id(g, n);
        self.events.push_back(Event::Notice(Notice::Waiting { id, dependencies }));
    }

    /// Carries out what the order of groups asks for after any call: starts waiting instances
    /// whose dependencies are met, gives up those with a failed dependency, moves reload
    /// rollouts along, stops groups in reverse dependency order during a shutdown, and drops
    /// groups a reload removed once they are empty. Nothing to do (and nothing looked at per
    /// instance) when no group has dependencies and no rollout, removal or shutdown is under
    /// way.
    pub(super) fn reconcile(&mut self, now: Instant) {
        if !self.has_orders() {
            return;
        }
        loop {
            // Rollouts first: an instance waiting for a group being restarted waits for its
            // new processes.
            let mut progress = self.advance_rollouts(now);
            progress |= self.release_waiting(now);
            progress |= self.advance_shutdown(now);
            progress |= self.drop_removed_groups();
            if !progress {
                break;
            }
        }
        self.check_shutdown_complete();
    }

    fn has_orders(&self) -> bool {
        self.groups.iter().any(|g| {
            !g.spec.depends_on.is_empty()
                || g.rollout.is_some()
                || g.removing
                || (self.shutting_down && !g.stop_begun)
        })
    }

    /// Spawns the waiting instances of every group whose gate is open; stops those of a group
    /// with a failed dependency. Returns whether anything changed.
    fn release_waiting(&mut self, now: Instant) -> bool {
        if self.shutting_down {
            return false;
        }
        let mut progress = false;
        for g in 0..self.groups.len() {
            let waiting: Vec<u32> = self.groups[g]
                .instances
                .iter()
                .filter(|(_, i)| i.phase == Phase::Waiting)
                .map(|(n, _)| *n)
                .collect();
            if waiting.is_empty() {
                continue;
            }
            match self.gate(g) {
                Gate::Closed => {}
                Gate::Open => {
                    progress = true;
                    for n in waiting {
                        self.spawn_now(g, n);
                    }
                }
                Gate::Failed(failure) => {
                    progress = true;
                    self.events.push_back(Event::Notice(Notice::DependencyFailed(failure)));
                    for n in waiting {
                        self.set_phase(g, n, Phase::Stopped);
                        self.emit_transition(g, n, State::Waiting, now, None, None);
                    }
                }
            }
        }
        progress
    }

    /// During a shutdown, stops each group once every group that depends on it is down.
    fn advance_shutdown(&mut self, now: Instant) -> bool {
        if !self.shutting_down {
            return false;
        }
        let mut progress = false;
        for g in 0..self.groups.len() {
            if self.groups[g].stop_begun || self.has_live_dependants(g) {
                continue;
            }
            progress = true;
            self.stop_whole_group(g, now);
        }
        progress
    }

    /// Stops every instance of a group for the shutdown, whatever its dependants.
    pub(super) fn stop_whole_group(&mut self, g: usize, now: Instant) {
        self.groups[g].stop_begun = true;
        let numbers: Vec<u32> = self.groups[g].instances.keys().copied().collect();
        for n in numbers {
            self.stop_quietly(g, n, now, AfterStop::Stay);
        }
    }

    /// Whether a group that depends on group `g` still has a process or a pending spawn.
    fn has_live_dependants(&self, g: usize) -> bool {
        let name = &self.groups[g].spec.name;
        self.groups
            .iter()
            .any(|other| other.spec.depends_on.iter().any(|d| d.group == *name) && !other.is_down())
    }

    /// Drops the groups a reload removed once their last instance is gone.
    fn drop_removed_groups(&mut self) -> bool {
        let gone: Vec<usize> = (0..self.groups.len())
            .filter(|g| self.groups[*g].removing && self.groups[*g].instances.is_empty())
            .collect();
        for g in gone.iter().rev() {
            let group = self.groups.remove(*g);
            self.events.push_back(Event::Notice(Notice::GroupRemoved(group.spec.name)));
        }
        !gone.is_empty()
    }
}
