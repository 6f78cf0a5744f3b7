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

use State::{Backoff, Exited, Fatal, Running, Starting, Stopped, Stopping};

/// Every state change of an instance, and nothing else, is one of these rows.
pub(crate) const TRANSITIONS: &[Row] = &[
    Row {
        from: &[Stopped],
        condition: "",
        input: "`start`, `restart`, `start_group`, `restart_group`; `scale` up of an active group",
        to: Starting,
        notes: "`Spawn`. The transition is reported with the spawn's outcome (`spawned` gives the pid)",
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
        input: "`spawned` when `start_grace` is zero",
        to: Running,
        notes: "Reported right after the `Starting` one; retries reset to 0",
    },
    Row {
        from: &[Starting],
        condition: "",
        input: "`tick` at `start_grace` after the spawn",
        to: Running,
        notes: "Retries reset to 0",
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
        input: "`exited` before the grace ends, or `spawn_failed` with a transient error (`Resources`), and retries ≤ `max_retries` after counting this one",
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
        notes: "Then `Spawn` if a restart is pending (`restart`, `start_group`, scale back up), or [`Event::Removed`] if a scale-down is",
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
        input: "`reset`, `restart_group`",
        to: Stopped,
        notes: "Retries cleared (`restart_group` then starts it)",
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
