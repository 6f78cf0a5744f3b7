//! Supervision settings from the command line (or `.foreman`): `--restart on-failure`,
//! `--stop-signal web=INT`, `--backoff 500ms,worker=2s`. Each option takes a list whose items are
//! either a value for every process type or `NAME=VALUE` for one; a named value wins over a
//! general one whatever the order. They override `procman.json`'s settings; what neither sets,
//! [`Settings::for_start`] fills with `start`'s defaults (an export leaves it to the target).

use std::time::Duration;

use supervise::{Backoff, RestartPolicy, Signal};

use super::{Flag, Origin, Origins};
use crate::cli::SupervisionArgs;
use crate::plan::values::{backoff_from, parse_duration, parse_restart};
use crate::plan::{Plan, Settings};
use procman::diagnostic::{Diagnostic, Diagnostics, closest, fragment, list};
use procman::formation::split_assignment;

/// The stop timeout of process types that set none (Foreman's `-t` default).
pub(crate) const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// How `start` supervises one process type: its settings, and Foreman's behaviour for what
/// none sets (no restart, running from the first instant, any failure to start is final)
/// unless a restart policy asks for more.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StartSupervision {
    pub(crate) restart: RestartPolicy,
    pub(crate) stop_signal: Signal,
    pub(crate) stop_timeout: Duration,
    pub(crate) start_grace: Duration,
    pub(crate) max_retries: u32,
    /// `None`: the library's default backoff.
    pub(crate) backoff: Option<Backoff>,
    pub(crate) expected_exit_codes: Option<Vec<i32>>,
    pub(crate) umask: Option<u32>,
}

impl Settings {
    /// These settings with `start`'s defaults where none is set.
    pub(crate) fn for_start(&self) -> StartSupervision {
        let restart = self.restart.unwrap_or(RestartPolicy::Never);
        let restarting = restart != RestartPolicy::Never;
        StartSupervision {
            restart,
            stop_signal: self.stop_signal.unwrap_or(Signal::TERM),
            stop_timeout: self.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT),
            start_grace: self.start_grace.unwrap_or(if restarting {
                Duration::from_secs(1)
            } else {
                Duration::ZERO
            }),
            max_retries: self.max_retries.unwrap_or(if restarting { 3 } else { 0 }),
            backoff: self.backoff,
            expected_exit_codes: self.expected_exit_codes.clone(),
            umask: self.umask,
        }
    }
}

/// `-t/--timeout` in seconds (a bare number, as Foreman takes it, or a duration like `10s`).
pub(crate) fn timeout(
    text: Option<&str>,
    origin: &Origin,
) -> Result<Option<Duration>, Diagnostics> {
    text.map(|text| {
        parse_duration(text).map_err(|message| {
            origin
                .diagnostic("--timeout", &message)
                .with_help("give a number of seconds, e.g. `--timeout 10`")
                .into()
        })
    })
    .transpose()
}

/// Applies the supervision options to every process of `plan`. Values already set (by a config
/// file) are overridden: the command line and `.foreman` win.
pub(crate) fn apply_flags(
    plan: &mut Plan,
    args: &SupervisionArgs,
    origins: &Origins,
) -> Result<(), Diagnostics> {
    let names: Vec<String> = plan.processes.iter().map(|p| p.name.clone()).collect();
    let mut diagnostics = Diagnostics::default();
    let mut apply = |key: Flag,
                     items: &[String],
                     set: &dyn Fn(&mut Settings, &str) -> Result<(), String>| {
        let origin = origins.of(key);
        for (name, value) in split_items(items) {
            let targets: Vec<usize> = match name {
                None => (0..names.len()).collect(),
                Some(name) => match names.iter().position(|n| n == name) {
                    Some(i) => vec![i],
                    None => {
                        diagnostics.push(unknown_process(key, origin, name, &names));
                        continue;
                    }
                },
            };
            for i in targets {
                // A general value does not override a named one given in the same option.
                if name.is_none() && named_in(items, &names[i]) {
                    continue;
                }
                if let Err(message) = set(&mut plan.processes[i].settings, value) {
                    let flag = format!("--{}", key.name());
                    diagnostics.push(origin.diagnostic(&flag, &message).with_help(help_for(key)));
                    break;
                }
            }
        }
    };
    apply(Flag::Restart, &args.restart, &|s, v| {
        s.restart = Some(parse_restart(v)?);
        Ok(())
    });
    apply(Flag::MaxRestarts, &args.max_restarts, &|s, v| {
        s.max_retries = Some(parse_count(v)?);
        Ok(())
    });
    apply(Flag::Backoff, &args.backoff, &|s, v| {
        let initial = parse_duration(v)?;
        s.backoff = Some(backoff_from(initial));
        Ok(())
    });
    apply(Flag::StartGrace, &args.start_grace, &|s, v| {
        s.start_grace = Some(parse_duration(v)?);
        Ok(())
    });
    apply(Flag::StopSignal, &args.stop_signal, &|s, v| {
        s.stop_signal = Some(v.parse::<Signal>().map_err(|e| e.to_string())?);
        Ok(())
    });
    for name in &args.can_die {
        if !names.iter().any(|n| n == name) {
            diagnostics.push(unknown_process(Flag::CanDie, origins.of(Flag::CanDie), name, &names));
        }
    }
    diagnostics.into_result(())
}

fn split_items(items: &[String]) -> Vec<(Option<&str>, &str)> {
    items
        .iter()
        .map(|item| item.trim())
        .filter(|item| !item.is_empty())
        .map(|item| match split_assignment(item) {
            Some((name, value)) => (Some(name), value),
            None => (None, item),
        })
        .collect()
}

fn named_in(items: &[String], name: &str) -> bool {
    split_items(items).iter().any(|(n, _)| *n == Some(name))
}

fn unknown_process(key: Flag, origin: &Origin, name: &str, names: &[String]) -> Diagnostic {
    let known: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut help = format!("the Procfile defines {}", list(&known));
    if let Some(close) = closest(name, &known) {
        help.push_str(&format!("; did you mean `{close}`?"));
    }
    let message = format!("unknown process type `{}`", fragment(name));
    origin.diagnostic(&format!("--{}", key.name()), &message).with_help(help)
}

fn help_for(key: Flag) -> &'static str {
    match key {
        Flag::Restart => {
            "use never, on-failure or always, for all (`on-failure`) or one type (`web=always`)"
        }
        Flag::MaxRestarts => "use a count, e.g. `5` or `web=10`",
        Flag::Backoff | Flag::StartGrace => "use a duration such as `500ms`, `2s` or `1m`",
        Flag::StopSignal => "use a signal name such as TERM, INT, QUIT or USR1",
        _ => "see `procman start --help`",
    }
}

fn parse_count(text: &str) -> Result<u32, String> {
    text.trim().parse::<u32>().map_err(|_| format!("`{}` is not a count", fragment(text)))
}
