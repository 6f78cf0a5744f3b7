//! The transition table as data: the one source of the tables in the crate documentation and
//! in `docs/supervision.md` (a test compares them with it), and, in debug builds, the check of
//! every transition the supervisor reports (a property test shows each row happens).

use super::types::State;

/// One row: an input that takes an instance from one of `from` to `to`.
#[derive(Debug)]
// The text is read only where the tests render it for the docs.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Row {
    pub(crate) from: &'static [State],
    /// What else must hold of `from` (empty when nothing).
    pub(crate) condition: &'static str,
    pub(crate) input: &'static str,
    pub(crate) to: State,
    /// Effects and notes, in rustdoc's Markdown: `` [`Name`] `` links to an item of the crate.
    pub(crate) notes: &'static str,
}

use State::{Backoff, Exited, Fatal, Running, Starting, Stopped, Stopping, Waiting};

/// Every state change of an instance, and nothing else, is one of these rows.
pub(crate) const TRANSITIONS: &[Row] = &[
    Row {
        from: &[Stopped],
        condition: "",
        input: "`start`, `restart`, `start_group`, `restart_group`; `scale` up of an active group; a reload's start of a group",
        to: Starting,
        notes: "`Spawn`. The transition is reported with the spawn's outcome (`spawned` gives the pid). Every input that leads to `Starting` leads to `Waiting` instead while a dependency of the group does not meet its condition (below)",
    },
    Row {
        from: &[Exited],
        condition: "",
        input: "`start`, `restart`, `start_group`, `restart_group`; `tick` at the automatic restart time",
        to: Starting,
        notes: "`Spawn`. An explicit `start` or `restart` clears the retry count (a fresh budget); an automatic one keeps it",
    },
    Row {
        from: &[Backoff],
        condition: "",
        input: "`tick` at the retry time; `start`, `restart`, `start_group`, `restart_group` (skip the delay)",
        to: Starting,
        notes: "`Spawn`. An explicit `start` or `restart` clears the retry count",
    },
    Row {
        from: &[Starting],
        condition: "",
        input: "`spawned` when `start_grace` is zero and the group has no readiness check",
        to: Running,
        notes: "Reported right after the `Starting` one; retries reset to 0",
    },
    Row {
        from: &[Starting],
        condition: "",
        input: "`tick` at `start_grace` after the spawn, without a readiness check",
        to: Running,
        notes: "Retries reset to 0",
    },
    Row {
        from: &[Starting],
        condition: "",
        input: "`ready`",
        to: Running,
        notes: "Retries reset to 0. With a readiness check, the only way to `Running`, so `Running` means ready; without one, it ends the start grace early",
    },
    Row {
        from: &[Starting],
        condition: "",
        input: "`tick` at `readiness.timeout` after the spawn",
        to: Stopping,
        notes: "[`Notice::NotReady`] first; the stop signal as for a stop request. Once it exited, the start counts as failed (below)",
    },
    Row {
        from: &[Starting],
        condition: "",
        input: "`exited` with an expected code (in `expected_exit_codes`) under `OnUnexpectedExit`",
        to: Exited,
        notes: "Not a failed start: the program did its job, and this policy never restarts an expected exit. Retries unchanged",
    },
    Row {
        from: &[Starting],
        condition: "",
        input: "`exited` before the grace ends (or before `ready`, with a readiness check), or `spawn_failed` with a transient error (`Resources`), and retries ≤ `max_retries` after counting this one",
        to: Backoff,
        notes: "Retries + 1; next attempt at `now + backoff.delay(retries)` (`initial`, × `factor` each time, capped at `max`)",
    },
    Row {
        from: &[Starting],
        condition: "",
        input: "the same once retries > `max_retries`; or `spawn_failed` with a permanent error (`NotFound`, `NotExecutable`, `BadWorkingDir`, `BadRedirect`, `Other`)",
        to: Fatal,
        notes: "Retries + 1. With `max_retries = 3`, a program that never starts is started 4 times",
    },
    Row {
        from: &[Stopping],
        condition: "after a readiness timeout",
        input: "`exited`, and retries ≤ `max_retries` after counting this one",
        to: Backoff,
        notes: "A failed start: retries + 1, as above",
    },
    Row {
        from: &[Stopping],
        condition: "after a readiness timeout",
        input: "`exited`, once retries > `max_retries`",
        to: Fatal,
        notes: "Retries + 1",
    },
    Row {
        from: &[Starting],
        condition: "",
        input: "`spawn_failed` after a stop request arrived while the spawn was pending, or during shutdown",
        to: Stopped,
        notes: "Removed if a scale-down asked for it",
    },
    Row {
        from: &[Running],
        condition: "",
        input: "`exited`",
        to: Exited,
        notes: "Restarted when the policy says so (`Always`; `OnUnexpectedExit` for a code outside `expected_exit_codes` or a death by signal; never for `Never`), the group is active, the instance is within the target and no shutdown is under way: at once, or at `started + backoff.initial` if that is later (at most one automatic start per `backoff.initial`)",
    },
    Row {
        from: &[Starting, Running],
        condition: "",
        input: "a stop request",
        to: Stopping,
        notes: "`Signal` of `stop_signal` with [`SignalScope::Tree`]; SIGKILL due at `now + stop_timeout`. A stop that arrives while the spawn is pending is carried out once `spawned` is reported",
    },
    Row {
        from: &[Stopping],
        condition: "",
        input: "`tick` at the stop timeout, or `kill_stopping`",
        to: Stopping,
        notes: "`Signal` of SIGKILL with [`SignalScope::Tree`], at most once (no transition)",
    },
    Row {
        from: &[Stopping],
        condition: "",
        input: "`exited`",
        to: Stopped,
        notes: "Then `Spawn` if a restart is pending (`restart`, `start_group`, scale back up, a reload's restart), or [`Event::Removed`] if a scale-down is",
    },
    Row {
        from: &[Backoff],
        condition: "",
        input: "a stop request other than `restart`",
        to: Stopped,
        notes: "The retry is cancelled; retries are kept; removed by a scale-down",
    },
    Row {
        from: &[Exited],
        condition: "with a restart pending",
        input: "a stop request other than `restart`",
        to: Stopped,
        notes: "The restart is cancelled; removed by a scale-down",
    },
    Row {
        from: &[Fatal],
        condition: "",
        input: "`reset`, `restart_group`; a reload's restart of an active group",
        to: Stopped,
        notes: "Retries cleared (`restart_group` and the reload then start it)",
    },
    Row {
        from: &[Stopped, Exited, Backoff],
        condition: "",
        input: "an input that leads to `Starting` (above), while a dependency of the group does not meet its condition",
        to: Waiting,
        notes: "No spawn; [`Notice::Waiting`] names the dependencies. The retry count is kept (cleared by an explicit `start` or `restart`)",
    },
    Row {
        from: &[Waiting],
        condition: "",
        input: "every dependency meets its condition (looked at after every call)",
        to: Starting,
        notes: "`Spawn`, reported with its outcome as above",
    },
    Row {
        from: &[Waiting],
        condition: "",
        input: "a stop request other than `restart`; a dependency fails its condition for good",
        to: Stopped,
        notes: "For a failed dependency (fatal, or exited for good when the condition cannot accept it), [`Notice::DependencyFailed`] first. Removed by a scale-down",
    },
];

/// Whether the table has a row for a transition from `from` to `to`. A row that stays in its
/// state (SIGKILL while stopping) is not a transition, and none is reported for it.
pub(crate) fn allows(from: State, to: State) -> bool {
    from != to && TRANSITIONS.iter().any(|row| row.to == to && row.from.contains(&from))
}

/// The table in Markdown, with rustdoc's item links (`links`) or with plain code spans (for
/// `docs/`).
#[cfg(test)]
pub(crate) fn markdown(links: bool) -> String {
    let mut out = String::from("| From | Input | To | Effects and notes |\n|---|---|---|---|\n");
    for row in TRANSITIONS {
        let mut from: Vec<String> = row.from.iter().map(|s| format!("{s:?}")).collect();
        if !row.condition.is_empty() {
            from.push(row.condition.to_owned());
        }
        let notes = if links { row.notes.to_owned() } else { unlink(row.notes) };
        out.push_str(&format!(
            "| {} | {} | {:?} | {} |\n",
            from.join(", "),
            row.input,
            row.to,
            notes
        ));
    }
    out
}

/// `` [`Name`] `` becomes `` `Name` ``.
#[cfg(test)]
fn unlink(text: &str) -> String {
    text.replace("[`", "`").replace("`]", "`")
}
