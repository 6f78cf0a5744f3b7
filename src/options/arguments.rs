//! `.foreman` as arguments. Each `key: value` line becomes the long option it names (`port: 6000`
//! is `--port=6000`, `timestamp: false` is `--no-timestamp`), put into the command line right
//! after the subcommand, before what the user typed; clap then parses the whole, so a value from
//! `.foreman` meets the same parser as a typed one.
//!
//! The keys are clap's: every long option (and alias) of a subcommand is a key, found in the
//! subcommand's definition by its long name, so a new option is a `.foreman` key with nothing
//! else to write. The one exception is [`NOT_IN_DOTFOREMAN`]. How a value is written follows
//! from the option's clap definition ([`words`]): a flag takes `true` or `false`, an option
//! with a value takes it (`NAME=VALUE` lists comma-separated, as on the command line).
//!
//! The command line wins, in two ways. An option the command line gives, or its opposite
//! (`--timestamp` against `timestamp: false`, `--no-color` against `color: true`), is not taken
//! from `.foreman` at all (so `-e b.env` replaces `env: a.env` rather than adding to it). An
//! option that overrides another (`--isolate` against `containment: cgroup`) comes later than
//! `.foreman`'s, and clap's `overrides_with` lets the later one win.
//!
//! A key the subcommand has no option for is left out (`timeout` for `check`), as Foreman does.

use std::ffi::{OsStr, OsString};

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches};

use super::{Origin, Origins};
use procman::diagnostic::{Diagnostics, fragment};
use procman::dotforeman::{DotForeman, Setting};

/// The long options `.foreman` may not set, and why: each is for one command line, not a
/// default for every run. Every other long option of every subcommand is a `.foreman` key.
pub(crate) const NOT_IN_DOTFOREMAN: [(&str, &str); 9] = [
    ("help", "it prints the help"),
    ("version", "it prints the version"),
    ("print-template", "it prints a template instead of exporting"),
    ("print-env", "it prints the environment instead of checking"),
    ("dry-run", "it makes `export` write nothing"),
    ("force", "it lifts `export`'s protection of files it did not write, so it is given each time"),
    ("json", "it changes what `ps` prints, and conflicts with `--watch`"),
    ("watch", "it makes `ps` a full-screen view, and conflicts with `--json`"),
    ("dir", "it names where `manpage` writes this time"),
];

/// An option the code asks about by name: where its value came from ([`Origins::of`]), or its
/// clap definition. Not the list of `.foreman` keys ([`keys`] is); a test checks that each
/// names a long option of some subcommand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Flag {
    Formation,
    Port,
    Timeout,
    Color,
    Restart,
    MaxRestarts,
    Backoff,
    StartGrace,
    StopSignal,
    CanDie,
    LogMaxSize,
    LogKeep,
}

impl Flag {
    /// Every flag, for the test that checks them against clap.
    #[cfg(test)]
    pub(crate) const ALL: [Flag; 12] = [
        Flag::Formation,
        Flag::Port,
        Flag::Timeout,
        Flag::Color,
        Flag::Restart,
        Flag::MaxRestarts,
        Flag::Backoff,
        Flag::StartGrace,
        Flag::StopSignal,
        Flag::CanDie,
        Flag::LogMaxSize,
        Flag::LogKeep,
    ];

    /// The long option's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Flag::Formation => "formation",
            Flag::Port => "port",
            Flag::Timeout => "timeout",
            Flag::Color => "color",
            Flag::Restart => "restart",
            Flag::MaxRestarts => "max-restarts",
            Flag::Backoff => "backoff",
            Flag::StartGrace => "start-grace",
            Flag::StopSignal => "stop-signal",
            Flag::CanDie => "can-die",
            Flag::LogMaxSize => "log-max-size",
            Flag::LogKeep => "log-keep",
        }
    }

    /// This option of `command`, if it has it.
    pub(crate) fn option(self, command: &clap::Command) -> Option<&Arg> {
        option_named(command, self.name())
    }
}

/// The option of `command` that `name` names: its long name or an alias (`-` and `_` alike).
fn option_named<'a>(command: &'a clap::Command, name: &str) -> Option<&'a Arg> {
    let name = name.replace('_', "-");
    command.get_arguments().find(|arg| longs(arg).any(|long| long == name))
}

/// The names an option answers to: its long name, then its aliases.
fn longs(arg: &Arg) -> impl Iterator<Item = &str> {
    arg.get_long().into_iter().chain(arg.get_all_aliases().unwrap_or_default())
}

/// Every `.foreman` key, in the order of `cli`'s subcommands and their options: every long
/// option and alias but [`NOT_IN_DOTFOREMAN`]'s.
pub(crate) fn keys(cli: &clap::Command) -> Vec<&str> {
    let mut keys: Vec<&str> = Vec::new();
    for long in cli.get_subcommands().flat_map(|command| command.get_arguments()).flat_map(longs) {
        if !keys.contains(&long) && !NOT_IN_DOTFOREMAN.iter().any(|(name, _)| *name == long) {
            keys.push(long);
        }
    }
    keys
}

/// The option that says the opposite of `option`, by Foreman's naming: `no-timestamp` for
/// `timestamp` and back, `no-color` for `color`, `no-socket` for `socket`.
fn opposite<'a>(command: &'a clap::Command, option: &Arg) -> Option<&'a Arg> {
    let long = option.get_long()?;
    let other = match long.strip_prefix("no-") {
        Some(positive) => positive.to_owned(),
        None => format!("no-{long}"),
    };
    command.get_arguments().find(|arg| arg.get_long() == Some(other.as_str()))
}

fn is_flag(option: &Arg) -> bool {
    matches!(option.get_action(), ArgAction::SetTrue)
}

/// The command line with `.foreman`'s arguments put in.
#[derive(Debug)]
pub(crate) struct Spliced {
    pub(crate) argv: Vec<OsString>,
    /// Where each option set from `.foreman` came from.
    pub(crate) origins: Origins,
}

/// Puts `.foreman`'s settings into `argv` as arguments of `subcommand` (one of `cli`'s), right
/// after it. `matches` are the subcommand's matches of `argv` alone, which say what the command
/// line gives. Every bad line is reported, at its line.
pub(crate) fn splice(
    argv: &[OsString],
    cli: &clap::Command,
    subcommand: &clap::Command,
    matches: &ArgMatches,
    dot: &DotForeman,
) -> Result<Spliced, Diagnostics> {
    check_keys(cli, dot)?;
    let mut arguments: Vec<OsString> = Vec::new();
    let mut origins = Origins::default();
    let mut diagnostics = Diagnostics::default();
    // The option (with its opposite) each line set, so that two keys for one option
    // (`formation` and its alias `concurrency`, `color` and `no-color`) are an error rather
    // than a silent choice.
    let mut set_by: Vec<(Vec<&clap::Id>, &Setting)> = Vec::new();
    for setting in &dot.settings {
        let Some(option) = option_named(subcommand, &setting.key) else { continue };
        let family: Vec<&Arg> =
            std::iter::once(option).chain(opposite(subcommand, option)).collect();
        let ids: Vec<&clap::Id> = family.iter().map(|arg| arg.get_id()).collect();
        if let Some((_, first)) =
            set_by.iter().find(|(set, _)| set.iter().any(|id| ids.contains(id)))
        {
            diagnostics.push(
                dot.invalid(
                    setting,
                    format!(
                        "`{}` sets the same option as `{}` on line {}",
                        fragment(&setting.key),
                        fragment(&first.key),
                        first.line
                    ),
                )
                .with_column(1, setting.key.chars().count())
                .with_help("keep one of the two lines"),
            );
            continue;
        }
        set_by.push((ids, setting));
        let (set, value) = match words(subcommand, option, setting, dot) {
            Ok(Some(words)) => words,
            Ok(None) => continue,
            Err(errors) => {
                diagnostics.extend(errors);
                continue;
            }
        };
        if family.iter().any(|arg| given(matches, arg)) {
            continue;
        }
        // A list's empty items (`env: a.env,,b.env,`) are dropped, as Foreman drops them.
        let value = value.map(|value| match set.get_value_delimiter() {
            Some(comma) => {
                let items: Vec<&str> =
                    value.split(comma).filter(|item| !item.trim().is_empty()).collect();
                items.join(&comma.to_string())
            }
            None => value,
        });
        if let Some(value) = &value
            && let Err(errors) = check_value(set, setting, value, dot)
        {
            diagnostics.extend(errors);
            continue;
        }
        // Every option procman defines has a long name: `option_named` found it by one.
        let Some(long) = set.get_long() else { continue };
        arguments.push(match &value {
            Some(value) => OsString::from(format!("--{long}={value}")),
            None => OsString::from(format!("--{long}")),
        });
        origins.insert(long, Origin::dotforeman(dot, setting));
    }
    let argv = insert_after_subcommand(argv, subcommand.get_name(), arguments);
    diagnostics.into_result(Spliced { argv, origins })
}

/// Fails on every key that is no option of `cli`, or one of [`NOT_IN_DOTFOREMAN`].
fn check_keys(cli: &clap::Command, dot: &DotForeman) -> Result<(), Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    let mut others = Vec::new();
    for setting in &dot.settings {
        let name = setting.key.replace('_', "-");
        match NOT_IN_DOTFOREMAN.iter().find(|(long, _)| *long == name) {
            Some((long, why)) => diagnostics.push(
                dot.invalid(
                    setting,
                    format!("`{}` cannot be set in .foreman: {why}", fragment(&setting.key)),
                )
                .with_column(1, setting.key.chars().count())
                .with_help(format!("give `--{long}` on the command line when you want it")),
            ),
            None => others.push(setting.clone()),
        }
    }
    let rest = DotForeman { path: dot.path.clone(), settings: others };
    if let Err(errors) = rest.check_keys(&keys(cli)) {
        diagnostics.extend(errors);
    }
    diagnostics.into_result(())
}

/// The option a setting becomes and its value (none for a flag), or nothing: `false` for a
/// flag with no opposite is the flag's default.
///
/// A flag (`quiet`, `no-socket`, `timestamp`) takes `true` or `false`; `false` is its opposite
/// when it has one (`timestamp: false` is `--no-timestamp`). An option with a value takes the
/// value; one of a few choices also takes Foreman's booleans when they are not among its
/// choices: `true` is the option alone (`color: true` is `--color`, which is `always`), `false`
/// its opposite (`color: false` is `--no-color`).
fn words<'a>(
    command: &'a clap::Command,
    option: &'a Arg,
    setting: &Setting,
    dot: &DotForeman,
) -> Result<Option<(&'a Arg, Option<String>)>, Diagnostics> {
    let opposite_flag = || opposite(command, option).filter(|arg| is_flag(arg));
    match option.get_action() {
        ArgAction::SetTrue => {
            let on = setting.as_bool().ok_or_else(|| {
                let key = fragment(&setting.key);
                Diagnostics::from(
                    dot.invalid(setting, format!("`{key}` must be true or false"))
                        .with_column(setting.column, setting.value.chars().count())
                        .with_help(format!("write `{key}: true` or `{key}: false`")),
                )
            })?;
            Ok(if on { Some((option, None)) } else { opposite_flag().map(|arg| (arg, None)) })
        }
        ArgAction::Set | ArgAction::Append => {
            let choices = option.get_possible_values();
            let ignore_case = option.is_ignore_case_set();
            let boolean = setting
                .as_bool()
                .filter(|_| !choices.is_empty())
                .filter(|_| !choices.iter().any(|c| c.matches(&setting.value, ignore_case)));
            let alone = option.get_num_args().is_some_and(|range| range.min_values() == 0)
                && option.is_require_equals_set();
            Ok(Some(match (boolean, opposite_flag()) {
                (Some(true), _) if alone => (option, None),
                (Some(false), Some(off)) => (off, None),
                _ => (option, Some(setting.value.clone())),
            }))
        }
        // Every other action is a one-off that `NOT_IN_DOTFOREMAN` lists (`help`, `version`).
        _ => Err(dot
            .invalid(setting, format!("`{}` cannot be set in .foreman", fragment(&setting.key)))
            .with_column(1, setting.key.chars().count())
            .into()),
    }
}

/// Whether the command line gives `option` itself.
fn given(matches: &ArgMatches, option: &Arg) -> bool {
    matches.value_source(option.get_id().as_str()) == Some(ValueSource::CommandLine)
}

/// What clap cannot say at the right line: an empty value, or one outside the option's
/// choices (`containment: cgruop`).
fn check_value(
    option: &Arg,
    setting: &Setting,
    value: &str,
    dot: &DotForeman,
) -> Result<(), Diagnostics> {
    let at = |message: String| {
        dot.invalid(setting, message).with_column(setting.column, setting.value.chars().count())
    };
    if value.trim().is_empty() {
        return Err(at(format!("`{}` is empty", fragment(&setting.key)))
            .with_help("give it a value, or delete the line")
            .into());
    }
    let choices = option.get_possible_values();
    let ignore_case = option.is_ignore_case_set();
    if choices.is_empty() || choices.iter().any(|choice| choice.matches(value, ignore_case)) {
        return Ok(());
    }
    let names: Vec<&str> = choices
        .iter()
        .filter(|choice| !choice.is_hide_set())
        .map(|choice| choice.get_name())
        .collect();
    let mut help = format!(
        "write one of them, e.g. `{}: {}`",
        fragment(&setting.key),
        names.first().unwrap_or(&"")
    );
    if let Some(close) = procman::diagnostic::closest(value, &names) {
        help = format!("did you mean `{close}`?");
    }
    Err(at(format!("`{}` must be {}", fragment(&setting.key), either(&names)))
        .with_help(help)
        .into())
}

/// `a, b, c or d`.
fn either(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// `argv` with `arguments` right after the subcommand's name (the first word that is not an
/// option: procman's only global options print the version and exit).
fn insert_after_subcommand(
    argv: &[OsString],
    subcommand: &str,
    arguments: Vec<OsString>,
) -> Vec<OsString> {
    let at = argv
        .iter()
        .skip(1)
        .position(|word| word == OsStr::new(subcommand))
        .map_or(argv.len(), |index| index + 2);
    let mut out = argv[..at].to_vec();
    out.extend(arguments);
    out.extend_from_slice(&argv[at..]);
    out
}

/// `--color WHEN` read as `--color=WHEN` in `start`'s arguments (before any `--`), so both
/// spellings work while `-c` and `--color` alone keep Foreman's meaning: `--color web` is
/// color and the process `web`, as `-c web` is.
pub(crate) fn join_color_value(argv: &mut Vec<OsString>, choices: &[&str]) {
    let Some(start) = argv.iter().skip(1).position(|word| !word.to_string_lossy().starts_with('-'))
    else {
        return;
    };
    if argv[start + 1] != "start" {
        return;
    }
    let mut index = start + 2;
    while index + 1 < argv.len() {
        if argv[index] == "--" {
            return;
        }
        let next = argv[index + 1].to_string_lossy().into_owned();
        if argv[index] == "--color" && choices.contains(&next.as_str()) {
            let joined = format!("--color={next}");
            argv.splice(index..index + 2, [OsString::from(joined)]);
        }
        index += 1;
    }
}
