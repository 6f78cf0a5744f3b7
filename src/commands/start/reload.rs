//! `procman reload` (and `--reload-signal`) in the run: read the app's files again as the run
//! first read them, build the specs as `start` does, and let the library apply the
//! difference. A new configuration with any error changes nothing.

use std::collections::HashSet;
use std::sync::Arc;

use supervise::{Driver, ProgramSpec, ReloadAction, ReloadPlan};

use super::{Session, order, verbose_states};
use crate::cli::TtyWhen;
use crate::control::reload::{Reload, refusal, summary_with};
use crate::options::PlanSource;
use crate::output::Printer;
use crate::plan::Plan;
use crate::plan::devloop::LogSettings;
use procman::diagnostic::{Diagnostic, Diagnostics};
use procman::formation::InstanceLimit;

/// What a run needs to reload itself, and the plan it runs now.
pub(crate) struct Reloader {
    source: PlanSource,
    /// `--tty`, and whether procman's output is a terminal.
    tty: (TtyWhen, bool),
    /// `--color=always`: the processes are told to color too.
    force_color: bool,
    /// How many instances the run may hold.
    limit: InstanceLimit,
    plan: Arc<Plan>,
    /// The groups a reload is stopping, until they are gone.
    removing: HashSet<Arc<str>>,
    /// The log keys the last reload found changed: the log files keep the start's settings.
    unapplied: Option<String>,
}

impl Reloader {
    pub(crate) fn new(
        source: PlanSource,
        tty: (TtyWhen, bool),
        force_color: bool,
        limit: InstanceLimit,
        plan: Arc<Plan>,
    ) -> Reloader {
        Reloader {
            source,
            tty,
            force_color,
            limit,
            plan,
            removing: HashSet::new(),
            unapplied: None,
        }
    }

    /// The specs of the plan the run runs now.
    pub(crate) fn specs(&self) -> Vec<ProgramSpec> {
        super::program_specs(&self.plan, self.tty, self.force_color)
    }

    /// The plan the run runs now.
    pub(crate) fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Whether a reload is stopping `group` (its instances go, and then it).
    pub(crate) fn removes(&self, group: &str) -> bool {
        self.removing.contains(group)
    }

    /// `group` is gone.
    pub(crate) fn removed(&mut self, group: &str) {
        self.removing.remove(group);
    }
}

impl Reload for Reloader {
    fn reload(&mut self, driver: &mut Driver) -> Result<ReloadPlan, Diagnostics> {
        let plan = Arc::new(self.source.plan()?);
        let total: u64 = plan.processes.iter().map(|p| u64::from(p.count)).sum();
        self.limit.check(total, "the new formation asks for").map_err(|message| {
            Diagnostics::from(Diagnostic::new(message).with_help(self.limit.help()))
        })?;
        let specs = super::program_specs(&plan, self.tty, self.force_color);
        let applied = driver.reload(specs).map_err(|error| {
            Diagnostics::from(
                Diagnostic::new(format!("the new configuration cannot be applied: {error}"))
                    .with_help("fix it and reload again; nothing changed"),
            )
        })?;
        self.unapplied = unapplied_logs(&self.plan.logs, &plan.logs);
        self.plan = plan;
        self.removing.extend(applied.names(&ReloadAction::Stop).cloned());
        Ok(applied)
    }

    fn unapplied(&self) -> Option<String> {
        self.unapplied.clone()
    }
}

/// The log keys of procman.json that changed, which a reload does not apply: the open log
/// files, their directory and rotation stay those of the start.
fn unapplied_logs(old: &LogSettings, new: &LogSettings) -> Option<String> {
    let changed: Vec<&str> = [
        ("log_dir", old.dir != new.dir),
        ("log_max_size", old.max_size != new.max_size),
        ("log_keep", old.keep != new.keep),
    ]
    .into_iter()
    .filter_map(|(key, changed)| changed.then_some(key))
    .collect();
    (!changed.is_empty()).then(|| {
        format!("{} changed: log settings take effect at the next start", changed.join(", "))
    })
}

impl Session {
    /// Reloads the run (`--reload-signal`), saying so with `why`.
    pub(super) fn reload(&mut self, driver: &mut Driver, printer: &mut Printer, why: &str) {
        let result = match self.policy.reload.as_mut() {
            Some(reloader) => reloader
                .reload(driver)
                .map(|plan| summary_with(&plan, reloader.unapplied()))
                .map_err(|problems| refusal(&problems)),
            None => Err("this run cannot reload".to_owned()),
        };
        self.reloaded(driver, printer, why, result);
    }

    /// Says what a reload did, and takes up the new plan's settings (the watch follows the new
    /// `"watch"` keys; the log files stay those of the start).
    pub(super) fn reloaded(
        &mut self,
        driver: &mut Driver,
        printer: &mut Printer,
        why: &str,
        result: Result<String, String>,
    ) {
        match result {
            Ok(summary) => {
                let _ = printer.system(&format!("reloaded ({why}): {summary}"));
                if let Some(reloader) = &self.policy.reload {
                    self.policy.verbose_states = verbose_states(reloader.plan());
                    for line in order::skipped(reloader.plan()) {
                        let _ = printer.system(&line);
                    }
                    self.policy.devloop.rearm(driver, reloader.plan(), printer);
                }
            }
            Err(why_not) => {
                let _ = printer.alert(&format!(
                    "reload refused ({why}): {why_not}; nothing changed (`procman check` shows \
                     every problem)"
                ));
            }
        }
    }
}
