//! The dev loop's part of `start`'s run loop: the log files (`output::logfile`) and the restart
//! on change (`watch`), behind the few calls the loop makes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use supervise::{Driver, Output, WatchId};

use super::watch::{self, FileWatch};
use crate::output::Printer;
use crate::output::logfile::{HIGH_WATER, LogConfig, LogFiles};
use crate::plan::Plan;

/// The log files and the watch of a run, each when asked for (neither by default).
#[derive(Default)]
pub(crate) struct DevLoop {
    logs: Option<LogFiles>,
    watch: Option<FileWatch>,
    /// What the watch never looks at: the log directory.
    excluded: Vec<PathBuf>,
    /// A warning from setting up, said once the printer is there.
    notices: Vec<String>,
    /// The watch's lines from before an arm whose walk is under way: once it is done, the
    /// lines that are new are said (all of them after the start).
    summary_before: Option<Vec<String>>,
}

impl DevLoop {
    /// Opens the log files (a failure is a warning: the app runs anyway) and prepares the
    /// watch of `plan`'s types.
    pub(crate) fn new(plan: &Plan, logs: Option<LogConfig>) -> DevLoop {
        let logs = logs.map(LogFiles::open);
        let excluded: Vec<PathBuf> = logs.iter().map(LogFiles::dir).collect();
        let mut notices = Vec::new();
        let watch = FileWatch::new(plan, &excluded, &mut notices);
        DevLoop { logs, watch, excluded, notices, summary_before: None }
    }

    /// Starts watching (after the first starts: a large tree takes a moment to walk); what
    /// each type watches is said once the walk is done (`after_turn`).
    pub(crate) fn arm(&mut self, driver: &mut Driver, printer: &mut Printer) {
        if let Some(watch) = self.watch.as_mut() {
            match watch.arm(driver) {
                Ok(()) => self.summary_before = Some(Vec::new()),
                Err(error) => {
                    self.notices.push(format!(
                        "warning: cannot watch files for changes ({}): no restart on change in \
                         this run",
                        procman::diagnostic::describe_io(&error)
                    ));
                    self.watch = None;
                }
            }
        }
        self.say(printer);
    }

    /// After a `reload`: the watch follows the new plan (its log directory stays that of the
    /// start); what a type now watches that it did not before is said once the walk is done.
    pub(crate) fn rearm(&mut self, driver: &mut Driver, plan: &Plan, printer: &mut Printer) {
        let before = self.watch.as_ref().map(FileWatch::summary).unwrap_or_default();
        let result = match self.watch.as_mut() {
            Some(watch) => watch.rearm(driver, plan, &self.excluded),
            None => match FileWatch::new(plan, &self.excluded, &mut self.notices) {
                Some(mut watch) => {
                    let armed = watch.arm(driver);
                    self.watch = Some(watch);
                    armed
                }
                None => Ok(()),
            },
        };
        match result {
            // An arm under way keeps the lines from before the first one.
            Ok(()) => {
                self.summary_before.get_or_insert(before);
            }
            Err(error) => self.notices.push(format!(
                "warning: cannot watch files for changes ({})",
                procman::diagnostic::describe_io(&error)
            )),
        }
        self.say(printer);
    }

    /// An instance's output, for its log file.
    pub(crate) fn output(&mut self, output: &Output) {
        if let Some(logs) = self.logs.as_mut() {
            logs.write(&output.id, &output.data);
        }
    }

    /// Handles a watched descriptor's readiness if it is the watch's.
    pub(crate) fn on_ready(&mut self, id: WatchId) -> bool {
        self.watch.as_mut().is_some_and(|watch| watch.on_ready(id))
    }

    /// After each turn: writes to the log files, walks a slice of the watched tree (once it is
    /// done, says what each type watches), restarts what is due, says what went wrong. Once
    /// the run is ending, the watch neither walks nor restarts.
    pub(crate) fn after_turn(&mut self, driver: &mut Driver, printer: &mut Printer) {
        if let Some(logs) = self.logs.as_mut() {
            logs.flush();
        }
        if let Some(watch) = self.watch.as_mut() {
            if driver.supervisor().is_shutting_down() {
                watch.stop();
                self.summary_before = None;
            } else {
                watch.walk_some();
                if !watch.is_walking()
                    && let Some(before) = self.summary_before.take()
                {
                    for line in watch.summary().iter().filter(|line| !before.contains(line)) {
                        let _ = printer.system(line);
                    }
                }
                watch.restart_due(driver, |line| {
                    let _ = printer.system(line);
                });
            }
        }
        self.say(printer);
    }

    /// Whether the log files hold so much unwritten that the children's output should wait.
    pub(crate) fn is_backed_up(&self) -> bool {
        self.logs.as_ref().is_some_and(|logs| logs.backlog() >= HIGH_WATER)
    }

    /// How long the loop may sleep: zero while the log files have more to write, until the
    /// next restart is due, else as long as it likes.
    pub(crate) fn wake_in(&self, now: Instant) -> Option<Duration> {
        if self.logs.as_ref().is_some_and(|logs| logs.backlog() > 0)
            || self.watch.as_ref().is_some_and(FileWatch::is_walking)
        {
            return Some(Duration::ZERO);
        }
        watch::wait_until(self.watch.as_ref().and_then(FileWatch::next_due), now)
    }

    /// The end of the run: everything queued goes to the log files.
    pub(crate) fn finish(&mut self, printer: &mut Printer) {
        if let Some(logs) = self.logs.as_mut() {
            logs.flush_all();
        }
        self.say(printer);
    }

    fn say(&mut self, printer: &mut Printer) {
        let mut notices = std::mem::take(&mut self.notices);
        if let Some(logs) = self.logs.as_mut() {
            notices.extend(logs.take_notices());
        }
        if let Some(watch) = self.watch.as_mut() {
            notices.extend(watch.take_notices());
        }
        for notice in notices {
            let _ = printer.alert(&notice);
        }
    }
}
