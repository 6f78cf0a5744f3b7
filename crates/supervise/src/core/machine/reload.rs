//! Carrying out a reload: the new specs are installed, changed groups are restarted (rolling
//! when they have a readiness check), counts are scaled, new groups start and removed groups
//! stop and go. What to do is the pure [`plan_reload`]'s answer.

use std::collections::VecDeque;
use std::time::Instant;

use super::{AfterStop, Group, Phase, Supervisor};
use crate::core::reload::{ReloadAction, ReloadPlan, plan_reload};
use crate::core::types::{Event, Notice, State};
use crate::error::{RequestError, SpecError};
use crate::spec::ProgramSpec;

/// A reload's restart of one group, in progress.
#[derive(Debug)]
pub(super) struct Rollout {
    /// Instances not restarted yet, in order.
    queue: VecDeque<u32>,
    /// The instance restarted last, while its new process is not ready (rolling only).
    current: Option<u32>,
    /// One instance at a time, each ready before the next is stopped.
    rolling: bool,
}

impl Supervisor {
    /// The specs of the groups as they run: each with its current target as `instances`
    /// (so a scale made since counts), in order. Groups a reload is removing are left out.
    pub fn specs(&self) -> Vec<ProgramSpec> {
        self.groups
            .iter()
            .filter(|g| !g.removing)
            .map(|g| {
                let mut spec = g.spec.clone();
                spec.instances = g.target;
                spec
            })
            .collect()
    }

    /// What [`Supervisor::reload`] would do with `specs`, without doing it.
    ///
    /// # Errors
    /// See [`plan_reload`].
    pub fn plan_reload(&self, specs: &[ProgramSpec]) -> Result<ReloadPlan, SpecError> {
        plan_reload(&self.specs(), specs)
    }

    /// Takes the groups to `specs`, keeping what did not change. The plan ([`plan_reload`]
    /// of [`Supervisor::specs`] and `specs`) is carried out and returned:
    ///
    /// - a changed group ([`ReloadAction::Restart`]) gets its new spec, and each of its
    ///   instances that has a process is restarted: with a readiness check one at a time, in
    ///   order, each new process ready (`Running`) before the next old one gets its stop
    ///   signal; without one, all at once. Fatal instances of an active group are reset and
    ///   started; others (stopped, waiting, in backoff) run the new spec at their next start.
    ///   A restarted instance that becomes fatal halts a rolling restart
    ///   ([`Notice::RolloutHalted`]); [`Notice::RolloutFinished`] says when it is done;
    /// - a group whose count alone changed is scaled, the others keep their processes;
    /// - an added group is added and started (its dependencies permitting);
    /// - a removed group is stopped, its instances removed once down, then the group
    ///   ([`Notice::GroupRemoved`]); it takes no request meanwhile;
    /// - every other group keeps its processes, with its new spec installed.
    ///
    /// Restarts begin before anything starts, so a new instance waiting for a restarted
    /// dependency waits for its new process. Groups are kept in the order of `specs`.
    ///
    /// # Errors
    /// A shutdown in progress, or a problem in `specs` (see [`plan_reload`]): then nothing
    /// changes.
    pub fn reload(
        &mut self,
        now: Instant,
        specs: Vec<ProgramSpec>,
    ) -> Result<ReloadPlan, RequestError> {
        self.refuse_during_shutdown()?;
        let plan = self.plan_reload(&specs)?;
        self.install(specs);
        for group in &plan.groups {
            if let ReloadAction::Restart { rolling, .. } = group.action {
                let g = self.group_index(&group.name)?;
                let shared = group.from.min(group.to);
                let queue = self.groups[g].instances.keys().copied().filter(|n| *n <= shared);
                self.groups[g].rollout =
                    Some(Rollout { queue: queue.collect(), current: None, rolling });
            }
        }
        // Restarts first: an instance started below waits for a restarted dependency.
        self.advance_rollouts(now);
        for group in &plan.groups {
            match group.action {
                ReloadAction::Keep => {}
                ReloadAction::Start => {
                    self.scale(now, &group.name, group.to)?;
                    self.start_group(now, &group.name)?;
                }
                ReloadAction::Stop => self.scale(now, &group.name, 0)?,
                ReloadAction::Scale | ReloadAction::Restart { .. } => {
                    if group.from != group.to {
                        self.scale(now, &group.name, group.to)?;
                    }
                }
            }
        }
        self.reconcile(now);
        Ok(plan)
    }

    /// Puts the groups of `specs` in place, in their order, each with its new spec (a group
    /// being removed that comes back is revived), then the groups no longer there, marked for
    /// removal and inactive.
    fn install(&mut self, specs: Vec<ProgramSpec>) {
        let mut old = std::mem::take(&mut self.groups);
        for spec in specs {
            match old.iter().position(|g| g.spec.name == spec.name) {
                Some(i) => {
                    let mut group = old.remove(i);
                    group.spec = spec;
                    if group.removing {
                        // Revived: `reload` scales it back up and starts it.
                        group.removing = false;
                        group.active = false;
                    }
                    self.groups.push(group);
                }
                None => {
                    let mut group = Group::new(spec);
                    // `reload` scales it up to its count, as a revived group.
                    group.target = 0;
                    group.instances.clear();
                    self.groups.push(group);
                }
            }
        }
        for mut group in old {
            group.removing = true;
            group.active = false;
            group.rollout = None;
            self.groups.push(group);
        }
    }

    /// Moves each reload rollout along: restarts the next instances, waits for a rolling
    /// restart's new process to be ready, halts on a fatal one. Returns whether anything
    /// changed.
    pub(super) fn advance_rollouts(&mut self, now: Instant) -> bool {
        let mut progress = false;
        for g in 0..self.groups.len() {
            let Some(rollout) = &self.groups[g].rollout else { continue };
            if let Some(n) = rollout.current {
                match self.groups[g].instances.get(&n).map(|i| i.phase) {
                    Some(
                        Phase::Waiting
                        | Phase::Spawning { .. }
                        | Phase::Starting { .. }
                        | Phase::Stopping { .. }
                        | Phase::Backoff { .. },
                    ) => continue,
                    Some(Phase::Fatal) => {
                        self.groups[g].rollout = None;
                        let (group, id) = (self.groups[g].spec.name.clone(), self.id(g, n));
                        self.events.push_back(Event::Notice(Notice::RolloutHalted { group, id }));
                        progress = true;
                        continue;
                    }
                    // Ready, or taken out of the rollout's hands (stopped, exited, removed).
                    _ => {
                        if let Some(rollout) = &mut self.groups[g].rollout {
                            rollout.current = None;
                        }
                        progress = true;
                    }
                }
            }
            progress |= self.restart_next(g, now);
        }
        progress
    }

    /// Restarts the next instances of group `g`'s rollout (one when rolling), and ends the
    /// rollout once none is left. An instance whose spawn is pending runs the old spec: it is
    /// restarted once its spawn is reported (a rolling restart waits for it).
    fn restart_next(&mut self, g: usize, now: Instant) -> bool {
        let Some(rollout) = &mut self.groups[g].rollout else { return false };
        if rollout.current.is_some() {
            return false;
        }
        let rolling = rollout.rolling;
        let queue = std::mem::take(&mut rollout.queue);
        let mut left = VecDeque::new();
        let mut progress = false;
        let mut numbers = queue.into_iter();
        for n in numbers.by_ref() {
            let phase = self.groups[g].instances.get(&n).map(|i| i.phase);
            if matches!(phase, Some(Phase::Spawning { .. })) {
                left.push_back(n);
                if rolling {
                    break;
                }
                continue;
            }
            progress = true;
            if self.restart_for_reload(g, n, phase, now) && rolling {
                if let Some(rollout) = &mut self.groups[g].rollout {
                    rollout.current = Some(n);
                }
                break;
            }
        }
        left.extend(numbers);
        let Some(rollout) = &mut self.groups[g].rollout else { return progress };
        rollout.queue = left;
        if rollout.queue.is_empty() && rollout.current.is_none() {
            self.groups[g].rollout = None;
            let group = self.groups[g].spec.name.clone();
            self.events.push_back(Event::Notice(Notice::RolloutFinished { group }));
            return true;
        }
        progress
    }

    /// Restarts instance `n` of group `g` for a reload, if it runs the old spec; returns
    /// whether it did.
    fn restart_for_reload(&mut self, g: usize, n: u32, phase: Option<Phase>, now: Instant) -> bool {
        match phase {
            Some(Phase::Starting { .. } | Phase::Running { .. }) => {
                self.begin_stop(g, n, now, AfterStop::Restart);
                true
            }
            Some(Phase::Fatal) if self.groups[g].active => {
                if let Some(instance) = self.groups[g].instances.get_mut(&n) {
                    instance.phase = Phase::Stopped;
                    instance.retries = 0;
                }
                self.emit_transition(g, n, State::Fatal, now, None, None);
                self.begin_spawn(g, n, now);
                true
            }
            // Nothing runs the old spec: the new one applies at its next start.
            _ => false,
        }
    }
}
