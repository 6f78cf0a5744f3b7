//! `.foreman` as arguments. Each `key: value` line becomes the long option it names (`port: 6000`
//! is `--port=6000`, `timestamp: false` is `--no-timestamp`), put into the command line right
//! after the subcommand, before what the user typed; clap then parses the whole, so a value from
//! `.foreman` meets the same parser as a typed one, and nothing names clap's argument IDs by hand:
//! the option a key sets is found in the subcommand's clap definition by its long name.
//!
//! The command line wins, in two ways. An option the command line gives is not taken from
//! `.foreman` at all (so `-e b.env` replaces `env: a.env` rather than adding to it). An option's
//! opposite on the command line (`--timestamp` against `timestamp: false`, `--no-color` against
//! `color: true`, `--isolate` against `containment: cgroup`) comes later than `.foreman`'s, and
//! clap's `overrides_with` lets the later one win.
//!
//! A key the subcommand has no option for is left out (`timeout` for `check`), as Foreman does.

use std::ffi::{OsStr, OsString};

use clap::ArgMatches;
use clap::parser::ValueSource;

use super::{Origin, Origins};
use procman::diagnostic::{Diagnostics, fragment};
use procman::dotforeman::{DotForeman, Setting};

/// An option `.foreman` may set: Foreman's long option names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Procfile,
    Root,
    Env,
    Formation,
    Concurrency,
    Port,
    Timeout,
    Color,
    Timestamp,
    Prefix,
    App,
    User,
    Log,
    Run,
    Template,
    Socket,
    Restart,
    MaxRestarts,
    Backoff,
    StartGrace,
    StopSignal,
    CanDie,
    Config,
    Containment,
    LogDir,
    LogMaxSize,
    LogKeep,
}

/// How a key's value is written as arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Spelling {
    /// `--KEY=VALUE`.
    Value,
    /// A boolean: `true` is `--ON`, `false` is `--OFF`.
    Switch { on: &'static str, off: &'static str },
    /// A boolean whose option takes a value: `true` is `--KEY=ON`, `false` is `--KEY=OFF`.
    Choice { on: &'static str, off: &'static str },
}

impl Key {
    /// Every key, in the order the "did you mean" help lists them.
    pub(crate) const ALL: [Key; 27] = [
        Key::Procfile,
        Key::Root,
        Key::Env,
        Key::Formation,
        Key::Concurrency,
        Key::Port,
        Key::Timeout,
        Key::Color,
        Key::Timestamp,
        Key::Prefix,
        Key::App,
        Key::User,
        Key::Log,
        Key::Run,
        Key::Template,
        Key::Socket,
        Key::Restart,
        Key::MaxRestarts,
        Key::Backoff,
        Key::StartGrace,
        Key::StopSignal,
        Key::CanDie,
        Key::Config,
        Key::Containment,
        Key::LogDir,
        Key::LogMaxSize,
        Key::LogKeep,
    ];

    /// The key as written in `.foreman`: the long option's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Key::Procfile => "procfile",
            Key::Root => "root",
            Key::Env => "env",
            Key::Formation => "formation",
            Key::Concurrency => "concurrency",
            Key::Port => "port",
            Key::Timeout => "timeout",
            Key::Color => "color",
            Key::Timestamp => "timestamp",
            Key::Prefix => "prefix",
            Key::App => "app",
            Key::User => "user",
            Key::Log => "log",
            Key::Run => "run",
            Key::Template => "template",
            Key::Socket => "socket",
            Key::Restart => "restart",
            Key::MaxRestarts => "max-restarts",
            Key::Backoff => "backoff",
            Key::StartGrace => "start-grace",
            Key::StopSignal => "stop-signal",
            Key::CanDie => "can-die",
            Key::Config => "config",
            Key::Containment => "containment",
            Key::LogDir => "log-dir",
            Key::LogMaxSize => "log-max-size",
            Key::LogKeep => "log-keep",
        }
    }

    pub(crate) fn spelling(self) -> Spelling {
        match self {
            Key::Color => Spelling::Choice { on: "always", off: "never" },
            Key::Timestamp => Spelling::Switch { on: "timestamp", off: "no-timestamp" },
            Key::Prefix => Spelling::Switch { on: "prefix", off: "no-prefix" },
            _ => Spelling::Value,
        }
    }

    /// The key of a name as `.foreman` may write it (`-` and `_` alike).
    fn named(name: &str) -> Option<Key> {
        let name = name.replace('_', "-");
        Key::ALL.into_iter().find(|key| key.name() == name)
    }

    /// The option of `command` this key sets, if it has one: found by its long name or alias.
    pub(crate) fn option(self, command: &clap::Command) -> Option<&clap::Arg> {
        let long = match self.spelling() {
            Spelling::Value | Spelling::Choice { .. } => self.name(),
            Spelling::Switch { on, .. } => on,
        };
        command.get_arguments().find(|arg| has_long(arg, long))
    }
}

fn has_long(arg: &clap::Arg, long: &str) -> bool {
    arg.get_long() == Some(long) || arg.get_all_aliases().is_some_and(|all| all.contains(&long))
}

/// The names of every key, for "did you mean".
pub(crate) fn key_names() -> Vec<&'static str> {
    Key::ALL.iter().map(|key| key.name()).collect()
}

/// The command line with `.foreman`'s arguments put in.
#[derive(Debug)]
pub(crate) struct Spliced {
    pub(crate) argv: Vec<OsString>,
    /// Where each option set from `.foreman` came from.
    pub(crate) origins: Origins,
}

/// Puts `.foreman`'s settings into `argv` as arguments of `subcommand`, right after it.
/// `matches` are the subcommand's matches of `argv` alone, which say what the command line
/// gives. Every bad line is reported, at its line.
pub(crate) fn splice(
    argv: &[OsString],
    subcommand: &clap::Command,
    matches: &ArgMatches,
    dot: &DotForeman,
) -> Result<Spliced, Diagnostics> {
    dot.check_keys(&key_names())?;
    let mut arguments: Vec<OsString> = Vec::new();
    let mut origins = Origins::default();
    let mut diagnostics = Diagnostics::default();
    // The option each line set, so that two keys for one option (`formation` and its alias
    // `concurrency`) are an error rather than a silent choice.
    let mut set_by: Vec<(&clap::Id, &Setting)> = Vec::new();
    for setting in &dot.settings {
        let Some(key) = Key::named(&setting.key) else { continue };
        let Some(option) = key.option(subcommand) else { continue };
        let words = match words(key, setting, dot) {
            Ok(words) => words,
            Err(errors) => {
                diagnostics.extend(errors);
                continue;
            }
        };
        let (argument, value) = words;
        let Some(set) = subcommand.get_arguments().find(|arg| has_long(arg, &argument)) else {
            continue;
        };
        if let Some((_, first)) = set_by.iter().find(|(id, _)| *id == option.get_id()) {
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
        set_by.push((option.get_id(), setting));
        if given(matches, set) {
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
            && let Err(errors) = check_value(key, set, setting, value, dot)
        {
            diagnostics.extend(errors);
            continue;
        }
        let primary = set.get_long().unwrap_or(&argument);
        arguments.push(match &value {
            Some(value) => OsString::from(format!("--{primary}={value}")),
            None => OsString::from(format!("--{primary}")),
        });
        if let Some(key) = Key::named(primary) {
            origins.insert(key, Origin::dotforeman(dot, setting));
        }
    }
    let argv = insert_after_subcommand(argv, subcommand.get_name(), arguments);
    diagnostics.into_result(Spliced { argv, origins })
}

/// The long option a setting becomes, and its value (none for a switch).
fn words(
    key: Key,
    setting: &Setting,
    dot: &DotForeman,
) -> Result<(String, Option<String>), Diagnostics> {
    let boolean = || {
        setting.as_bool().ok_or_else(|| {
            Diagnostics::from(
                dot.invalid(setting, format!("`{}` must be true or false", fragment(&setting.key)))
                    .with_column(setting.column, setting.value.chars().count())
                    .with_help(format!("write `{}: true` or `{}: false`", key.name(), key.name())),
            )
        })
    };
    Ok(match key.spelling() {
        Spelling::Value => (key.name().to_owned(), Some(setting.value.clone())),
        Spelling::Switch { on, off } => ((if boolean()? { on } else { off }).to_owned(), None),
        Spelling::Choice { on, off } => {
            (key.name().to_owned(), Some((if boolean()? { on } else { off }).to_owned()))
        }
    })
}

/// Whether the command line gives `option` itself.
fn given(matches: &ArgMatches, option: &clap::Arg) -> bool {
    matches.value_source(option.get_id().as_str()) == Some(ValueSource::CommandLine)
}

/// What clap cannot say at the right line: an empty value, or one outside the option's
/// choices (`containment: cgruop`).
fn check_value(
    key: Key,
    option: &clap::Arg,
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
    let mut help =
        format!("write one of them, e.g. `{}: {}`", key.name(), names.first().unwrap_or(&""));
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
