//! `reload`: the run re-reads its files and applies the difference. The run carries it out
//! ([`Reload`]); here is what the answer and the run's output say about a [`ReloadPlan`].

use serde_json::{Map, Value};
use supervise::{Driver, GroupPlan, ReloadAction, ReloadPlan};

use procman::diagnostic::{Diagnostics, plural};

/// What reloads a run: re-read the Procfile, the env files and the config file as the run
/// first read them, and hand the new specs to the driver.
pub(crate) trait Reload {
    /// The plan carried out, or every problem of the new configuration (nothing changed).
    ///
    /// # Errors
    /// The new configuration, or the driver, refused.
    fn reload(&mut self, driver: &mut Driver) -> Result<ReloadPlan, Diagnostics>;

    /// What the last reload read but does not apply (said after its summary), if anything.
    fn unapplied(&self) -> Option<String> {
        None
    }
}

/// A reload's summary, and what it did not apply after it.
pub(crate) fn summary_with(plan: &ReloadPlan, unapplied: Option<String>) -> String {
    match unapplied {
        Some(note) => format!("{}; {note}", summary(plan)),
        None => summary(plan),
    }
}

/// The groups of `plan` that get `action`, in its order.
fn with<'a>(plan: &'a ReloadPlan, action: &ReloadAction) -> Vec<&'a GroupPlan> {
    let kind = std::mem::discriminant(action);
    plan.groups.iter().filter(|group| std::mem::discriminant(&group.action) == kind).collect()
}

const RESTART: ReloadAction = ReloadAction::Restart { changes: Vec::new(), rolling: false };

/// The answer's fields: `restarted` (with why), `started`, `stopped`, `scaled`, `kept`, and
/// a `message` saying it all in one line.
pub(crate) fn answer(plan: &ReloadPlan) -> Map<String, Value> {
    let names = |action: &ReloadAction| -> Value {
        with(plan, action).iter().map(|g| Value::from(g.name.to_string())).collect()
    };
    let restarted: Vec<Value> = with(plan, &RESTART)
        .iter()
        .map(|group| {
            let ReloadAction::Restart { changes, rolling } = &group.action else {
                return Value::Null;
            };
            let mut object = Map::new();
            object.insert("type".into(), group.name.to_string().into());
            let changes: Vec<Value> = changes.iter().map(|c| c.to_string().into()).collect();
            object.insert("changes".into(), changes.into());
            object.insert("rolling".into(), (*rolling).into());
            object.insert("from".into(), group.from.into());
            object.insert("to".into(), group.to.into());
            Value::Object(object)
        })
        .collect();
    let scaled: Vec<Value> = with(plan, &ReloadAction::Scale)
        .iter()
        .map(|group| {
            let mut object = Map::new();
            object.insert("type".into(), group.name.to_string().into());
            object.insert("from".into(), group.from.into());
            object.insert("to".into(), group.to.into());
            Value::Object(object)
        })
        .collect();
    let mut fields = Map::new();
    fields.insert("message".into(), summary(plan).into());
    fields.insert("restarted".into(), restarted.into());
    fields.insert("started".into(), names(&ReloadAction::Start));
    fields.insert("stopped".into(), names(&ReloadAction::Stop));
    fields.insert("scaled".into(), scaled.into());
    fields.insert("kept".into(), names(&ReloadAction::Keep));
    fields
}

/// The plan in one line: `restarted web (command, env); started clock; stopped worker; kept
/// db`, or `nothing changed (kept web, worker)`.
pub(crate) fn summary(plan: &ReloadPlan) -> String {
    let list = |groups: Vec<&GroupPlan>, each: &dyn Fn(&GroupPlan) -> String| {
        groups.into_iter().map(each).collect::<Vec<_>>().join(", ")
    };
    let kept = list(with(plan, &ReloadAction::Keep), &|g| g.name.to_string());
    if plan.keeps_everything() {
        return if kept.is_empty() {
            "nothing changed".to_owned()
        } else {
            format!("nothing changed (kept {kept})")
        };
    }
    let parts = [
        ("restarted", list(with(plan, &RESTART), &restart_words)),
        ("started", list(with(plan, &ReloadAction::Start), &|g| g.name.to_string())),
        ("stopped", list(with(plan, &ReloadAction::Stop), &|g| g.name.to_string())),
        ("scaled", list(with(plan, &ReloadAction::Scale), &|g| format!("{} to {}", g.name, g.to))),
        ("kept", kept),
    ];
    parts
        .iter()
        .filter(|(_, names)| !names.is_empty())
        .map(|(verb, names)| format!("{verb} {names}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The run's line about a refused reload: the first problem and where it is, and how many
/// more there are (the client shows them all, as `check` does).
pub(crate) fn refusal(problems: &Diagnostics) -> String {
    let Some(first) = problems.list.first() else {
        return "the new configuration has errors".to_owned();
    };
    let mut text = first.message.clone();
    if let Some(at) = first.location() {
        text = format!("{text} (at {at})");
    }
    match problems.len() - 1 {
        0 => text,
        more => format!("{text}, and {more} more {}", plural(more, "problem", "problems")),
    }
}

/// `web (command, env)`, `web (stop_timeout; 2 to 3 instances)`.
fn restart_words(group: &GroupPlan) -> String {
    let ReloadAction::Restart { changes, .. } = &group.action else {
        return group.name.to_string();
    };
    let mut why: Vec<String> = changes.iter().map(ToString::to_string).collect();
    if group.from != group.to {
        why.push(format!("{} to {} instances", group.from, group.to));
    }
    format!("{} ({})", group.name, why.join(", "))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use supervise::Change;

    use super::*;

    fn group(name: &str, action: ReloadAction, from: u32, to: u32) -> GroupPlan {
        GroupPlan { name: Arc::from(name), action, from, to }
    }

    #[test]
    fn control_reload_answers_list_each_action_and_say_it_in_one_line() {
        let plan = ReloadPlan {
            groups: vec![
                group(
                    "web",
                    ReloadAction::Restart {
                        changes: vec![Change::Command, Change::Env],
                        rolling: true,
                    },
                    2,
                    3,
                ),
                group("db", ReloadAction::Keep, 1, 1),
                group("worker", ReloadAction::Scale, 1, 2),
                group("clock", ReloadAction::Start, 0, 1),
                group("old", ReloadAction::Stop, 1, 0),
            ],
        };
        assert_eq!(
            summary(&plan),
            "restarted web (command, env, 2 to 3 instances); started clock; stopped old; scaled \
             worker to 2; kept db"
        );
        let fields = answer(&plan);
        assert_eq!(
            Value::Object(fields.clone())["restarted"],
            serde_json::json!([{"type": "web", "changes": ["command", "env"], "rolling": true,
                "from": 2, "to": 3}])
        );
        assert_eq!(fields["started"], serde_json::json!(["clock"]));
        assert_eq!(fields["stopped"], serde_json::json!(["old"]));
        assert_eq!(fields["scaled"], serde_json::json!([{"type": "worker", "from": 1, "to": 2}]));
        assert_eq!(fields["kept"], serde_json::json!(["db"]));
        let quiet = ReloadPlan { groups: vec![group("web", ReloadAction::Keep, 1, 1)] };
        assert_eq!(summary(&quiet), "nothing changed (kept web)");
        assert_eq!(answer(&quiet)["restarted"], serde_json::json!([]));
    }
}
