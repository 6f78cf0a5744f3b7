//! The precedence stage: every key `.foreman` may set reaches its option, a flag beats it, and
//! a bad line is reported at that line.

use std::ffi::OsString;
use std::path::Path;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory};

use super::arguments::{Key, Spelling};
use super::*;
use procman::dotforeman::DotForeman;

fn dot(text: &str) -> DotForeman {
    DotForeman::parse(Path::new("/app/.foreman"), text.as_bytes()).expect("a valid .foreman")
}

fn argv(words: &[&str]) -> Vec<OsString> {
    std::iter::once("procman").chain(words.iter().copied()).map(OsString::from).collect()
}

/// The matches of `words` with `.foreman` holding `text`, or the rendered error.
fn parse_with(words: &[&str], text: &str) -> Result<(ArgMatches, Origins), String> {
    let file = dot(text);
    matches_with(argv(words), || Ok(Some(file))).map_err(|error| match error {
        Unparsed::Clap(error) => error.render().to_string(),
        Unparsed::Input(error) => error.render(false),
    })
}

/// The raw values of `option` in the subcommand's matches, and where they came from.
fn values(matches: &ArgMatches, option: &clap::Arg) -> (Vec<String>, Option<ValueSource>) {
    let (_, sub) = matches.subcommand().expect("a subcommand");
    let id = option.get_id().as_str();
    let raw = sub
        .get_raw(id)
        .map(|values| values.map(|value| value.to_string_lossy().into_owned()).collect::<Vec<_>>());
    (raw.unwrap_or_default(), sub.value_source(id))
}

/// A word for each positional of `command`, so that the required ones are there.
fn positionals(command: &clap::Command) -> Vec<&'static str> {
    command.get_arguments().filter(|arg| arg.is_positional()).map(|_| "x").collect()
}

/// A valid value of `option` other than `avoid`.
fn a_value(option: &clap::Arg, avoid: &str) -> String {
    let choices = option.get_possible_values();
    match choices.iter().map(|choice| choice.get_name()).find(|name| *name != avoid) {
        Some(name) => name.to_owned(),
        None if avoid == "from-dotforeman" => "typed".to_owned(),
        None => "from-dotforeman".to_owned(),
    }
}

/// For every key and every subcommand that has its option: `.foreman` alone sets the option
/// (and records where), and the option given on the command line replaces it.
#[test]
fn every_key_reaches_its_option_from_dotforeman_and_a_flag_beats_it() {
    let cli = Cli::command();
    for key in Key::ALL {
        let mut used = 0;
        for command in cli.get_subcommands() {
            let Some(option) = key.option(command) else { continue };
            used += 1;
            let name = command.get_name();
            let mut words = vec![name];
            let rest = positionals(command);
            let context = format!("`{}` for `procman {name}`", key.name());
            match key.spelling() {
                Spelling::Value | Spelling::Choice { .. } => {
                    let (text, expected) = match key.spelling() {
                        Spelling::Choice { on, .. } => ("true".to_owned(), on.to_owned()),
                        _ => {
                            let value = a_value(option, "");
                            (value.clone(), value)
                        }
                    };
                    words.extend(&rest);
                    let line = format!("{}: {text}\n", key.name());
                    let (matches, origins) = parse_with(&words, &line).expect(&context);
                    let (got, source) = values(&matches, option);
                    assert_eq!(got, std::slice::from_ref(&expected), "{context}");
                    assert_eq!(source, Some(ValueSource::CommandLine), "{context}");
                    let long = option.get_long().expect("a long option");
                    assert!(
                        matches!(origins.of(Key::ALL.into_iter().find(|k| k.name() == long).expect("a key")), Origin::DotForeman(line) if line.number == 1),
                        "{context}: no origin recorded"
                    );
                    let typed = a_value(option, &expected);
                    let flag = format!("--{long}={typed}");
                    let mut words = vec![name, flag.as_str()];
                    words.extend(&rest);
                    let (matches, origins) = parse_with(&words, &line).expect(&context);
                    assert_eq!(values(&matches, option).0, [typed], "{context}: the flag wins");
                    assert_eq!(origins, Origins::default(), "{context}");
                }
                Spelling::Switch { on, off } => {
                    let find = |long: &str| {
                        command
                            .get_arguments()
                            .find(|arg| arg.get_long() == Some(long))
                            .expect("both spellings of a switch")
                    };
                    let (on, off) = (find(on), find(off));
                    let line = format!("{}: false\n", key.name());
                    words.extend(&rest);
                    let (matches, _) = parse_with(&words, &line).expect(&context);
                    assert_eq!(
                        values(&matches, off).1,
                        Some(ValueSource::CommandLine),
                        "{context}"
                    );
                    let flag = format!("--{}", on.get_long().unwrap_or_default());
                    let mut words = vec![name, flag.as_str()];
                    words.extend(&rest);
                    let (matches, _) = parse_with(&words, &line).expect(&context);
                    assert_eq!(values(&matches, on).1, Some(ValueSource::CommandLine), "{context}");
                    assert_ne!(
                        values(&matches, off).1,
                        Some(ValueSource::CommandLine),
                        "{context}"
                    );
                }
            }
        }
        assert!(used > 0, "`{}` is the option of no subcommand", key.name());
    }
}

#[test]
fn a_list_from_the_command_line_replaces_the_one_from_dotforeman() {
    let (matches, _) =
        parse_with(&["start", "--restart", "web=always"], "restart: on-failure,worker=never\n")
            .expect("parses");
    let option = Key::Restart
        .option(Cli::command().find_subcommand("start").expect("start"))
        .expect("--restart")
        .clone();
    assert_eq!(values(&matches, &option).0, ["web=always"]);
    let (matches, _) =
        parse_with(&["start"], "restart: on-failure,worker=never\n").expect("parses");
    assert_eq!(values(&matches, &option).0, ["on-failure", "worker=never"]);
}

#[test]
fn keys_for_options_a_command_lacks_are_left_out() {
    // `timeout` is `start`'s and `export`'s, not `check`'s.
    let (matches, origins) = parse_with(&["check"], "timeout: 10\nprocfile: P\n").expect("parses");
    let (_, sub) = matches.subcommand().expect("check");
    assert_eq!(sub.get_one::<std::path::PathBuf>("procfile"), Some(&"P".into()));
    assert_eq!(origins.of(Key::Timeout), &Origin::CommandLine);
}

#[test]
fn bad_values_are_reported_at_their_line() {
    let error = parse_with(&["start"], "port: 1\ncontainment: cgruop\n").err().unwrap_or_default();
    assert_eq!(
        error,
        "error: .foreman line 2: `containment` must be auto, cgroup, namespace or subreaper\n  \
         --> /app/.foreman:2:14\n   |\n 2 | containment: cgruop\n   |              ^^^^^^\n   = \
         help: did you mean `cgroup`?\n"
    );
    let error = parse_with(&["start"], "timestamp: maybe\n").err().unwrap_or_default();
    assert!(
        error.starts_with("error: .foreman line 1: `timestamp` must be true or false\n"),
        "{error}"
    );
    let error = parse_with(&["start"], "procfile: ''\n").err().unwrap_or_default();
    assert!(error.starts_with("error: .foreman line 1: `procfile` is empty\n"), "{error}");
}

#[test]
fn two_keys_for_one_option_are_an_error() {
    let error =
        parse_with(&["start"], "formation: web=1\nconcurrency: web=2\n").err().unwrap_or_default();
    assert!(
        error.starts_with(
            "error: .foreman line 2: `concurrency` sets the same option as `formation` on line 1\n"
        ),
        "{error}"
    );
}

#[test]
fn an_option_and_its_opposite_on_the_command_line_the_later_wins() {
    let parsed = |words: &[&str], text: &str| {
        let (matches, _) = parse_with(words, text).expect("parses");
        Cli::from_arg_matches(&matches).expect("a command line")
    };
    let crate::cli::Command::Start(start) =
        parsed(&["start", "--isolate"], "containment: cgroup\n").command
    else {
        panic!("start")
    };
    assert!(start.isolate && start.containment.is_none());
    let crate::cli::Command::Start(start) =
        parsed(&["start", "--no-color"], "color: true\n").command
    else {
        panic!("start")
    };
    assert!(start.no_color && start.color.is_none());
}

#[test]
fn color_takes_its_value_after_a_space_but_c_and_color_alone_stay_foremans_flag() {
    let start = |words: &[&str]| {
        let (matches, _) = parse_with(words, "").expect("parses");
        match Cli::from_arg_matches(&matches).expect("a command line").command {
            crate::cli::Command::Start(start) => (start.color, start.processes),
            _ => panic!("start"),
        }
    };
    use crate::cli::ColorWhen::{Always, Never};
    assert_eq!(start(&["start", "--color", "never"]), (Some(Never), vec![]));
    assert_eq!(start(&["start", "--color=never", "web"]), (Some(Never), vec!["web".to_owned()]));
    assert_eq!(start(&["start", "--color", "web"]), (Some(Always), vec!["web".to_owned()]));
    assert_eq!(start(&["start", "-c", "web"]), (Some(Always), vec!["web".to_owned()]));
    assert_eq!(start(&["start", "web", "--color"]), (Some(Always), vec!["web".to_owned()]));
    // Another command's arguments are left alone.
    let (matches, _) = parse_with(&["run", "ls", "--color", "never"], "").expect("parses");
    let crate::cli::Command::Run(run) = Cli::from_arg_matches(&matches).expect("run").command
    else {
        panic!("run")
    };
    assert_eq!(run.command, ["ls", "--color", "never"]);
}

#[test]
fn a_value_from_dotforeman_is_reported_at_its_line() {
    let (_, origins) = parse_with(&["start"], "# defaults\nport: http\n").expect("parses");
    let message = origins.of(Key::Port).diagnostic("-p/--port", "`http` is not a port number");
    assert_eq!(
        message.render(false),
        "error: .foreman line 2: port: `http` is not a port number\n  --> /app/.foreman:2:7\n   \
         |\n 2 | port: http\n   |       ^^^^\n"
    );
    let typed = Origin::CommandLine.diagnostic("-p/--port", "`http` is not a port number");
    assert_eq!(typed.render(false), "error: -p/--port: `http` is not a port number\n");
}

#[test]
fn the_docs_list_every_key() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/cli.md"))
        .expect("docs/cli.md");
    let section = docs.split("\n## `.foreman`\n").nth(1).expect("a .foreman section");
    let section = section.split("\n## ").next().unwrap_or_default();
    for key in Key::ALL {
        assert!(
            section.contains(&format!("`{}`", key.name())),
            "docs/cli.md lacks `{}`",
            key.name()
        );
    }
}
