//! The precedence stage: every key `.foreman` may set reaches its option, a flag beats it, and
//! a bad line is reported at that line.

use std::ffi::OsString;
use std::path::Path;

use clap::ArgMatches;
use clap::parser::ValueSource;

use super::arguments::{NOT_IN_DOTFOREMAN, keys};
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

/// A valid value of `option` other than `avoid`: one of its choices, or a number (which every
/// option with a free value takes: ports, counts, paths, names).
fn a_value(option: &clap::Arg, avoid: &str) -> String {
    let choices = option.get_possible_values();
    let names: Vec<&str> = choices.iter().map(|choice| choice.get_name()).collect();
    let names = if names.is_empty() { vec!["7", "8"] } else { names };
    names.into_iter().find(|name| *name != avoid).expect("two values").to_owned()
}

/// The option named `long` of `command`.
fn option<'a>(command: &'a clap::Command, long: &str) -> &'a clap::Arg {
    command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(long))
        .unwrap_or_else(|| panic!("no --{long} in `{}`", command.get_name()))
}

/// The source of a flag in the subcommand's matches: `CommandLine` when it is set.
fn set(matches: &ArgMatches, option: &clap::Arg) -> bool {
    values(matches, option).1 == Some(ValueSource::CommandLine)
}

/// Every long option (and alias) of every subcommand, as clap defines them, but the few
/// `NOT_IN_DOTFOREMAN` names: `.foreman` alone sets it (and records where), and the command line
/// beats it. A flag takes `true` (it is set) and `false` (its opposite is set, or nothing); an
/// option with a value takes the value, and the value typed replaces it.
#[test]
fn every_long_option_comes_from_dotforeman_and_a_flag_beats_it() {
    let cli = definition();
    let mut checked = 0;
    for command in cli.get_subcommands() {
        let name = command.get_name();
        let rest = positionals(command);
        let with = |typed: &[&str]| {
            let mut words = vec![name];
            words.extend(typed);
            words.extend(&rest);
            words.into_iter().map(str::to_owned).collect::<Vec<_>>()
        };
        let parse = |typed: &[&str], line: &str, context: &str| {
            let words = with(typed);
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            parse_with(&words, line).unwrap_or_else(|error| panic!("{context}: {error}"))
        };
        for option in command.get_arguments() {
            let Some(long) = option.get_long() else { continue };
            if NOT_IN_DOTFOREMAN.iter().any(|(name, _)| *name == long) {
                continue;
            }
            let aliases = option.get_all_aliases().unwrap_or_default();
            for key in std::iter::once(long).chain(aliases) {
                checked += 1;
                let context = format!("`{key}` for `procman {name}`");
                let from_file = |origins: &Origins, long: &str| matches!(origins.named(long), Origin::DotForeman(line) if line.number == 1);
                if matches!(option.get_action(), clap::ArgAction::SetTrue) {
                    let (matches, origins) = parse(&[], &format!("{key}: true\n"), &context);
                    assert!(set(&matches, option), "{context}: not set");
                    assert!(from_file(&origins, long), "{context}: no origin recorded");
                    let line = format!("{key}: false\n");
                    let (matches, _) = parse(&[], &line, &context);
                    assert!(!set(&matches, option), "{context}: set by `false`");
                    let flag = format!("--{long}");
                    let (matches, origins) = parse(&[&flag], &line, &context);
                    assert!(set(&matches, option), "{context}: the flag loses");
                    assert_eq!(origins.named(long), &Origin::CommandLine, "{context}");
                    let opposite = long
                        .strip_prefix("no-")
                        .map(str::to_owned)
                        .unwrap_or_else(|| format!("no-{long}"));
                    let opposite = command.get_arguments().find(|arg| {
                        arg.get_long() == Some(opposite.as_str())
                            && matches!(arg.get_action(), clap::ArgAction::SetTrue)
                    });
                    if let Some(opposite) = opposite {
                        let (matches, _) = parse(&[], &line, &context);
                        assert!(set(&matches, opposite), "{context}: `false` is not its opposite");
                        let flag = format!("--{}", opposite.get_long().unwrap_or_default());
                        let (matches, _) = parse(&[&flag], &format!("{key}: true\n"), &context);
                        assert!(set(&matches, opposite), "{context}: the opposite flag loses");
                        assert!(!set(&matches, option), "{context}: the opposite flag loses");
                    }
                } else {
                    let value = a_value(option, "");
                    let line = format!("{key}: {value}\n");
                    let (matches, origins) = parse(&[], &line, &context);
                    assert_eq!(
                        values(&matches, option),
                        (vec![value.clone()], Some(ValueSource::CommandLine)),
                        "{context}"
                    );
                    assert!(from_file(&origins, long), "{context}: no origin recorded");
                    let typed = a_value(option, &value);
                    let flag = format!("--{long}={typed}");
                    let (matches, origins) = parse(&[&flag], &line, &context);
                    assert_eq!(values(&matches, option).0, [typed], "{context}: the flag loses");
                    assert_eq!(origins, Origins::default(), "{context}");
                }
            }
        }
    }
    // The options of `start` alone are more than 30.
    assert!(checked > 30, "only {checked} options");
}

/// The few long options `.foreman` may not set are options, and each is refused with its
/// reason, at its line.
#[test]
fn the_options_dotforeman_may_not_set_are_refused_at_their_line() {
    let cli = definition();
    for (long, why) in NOT_IN_DOTFOREMAN {
        let command = cli
            .get_subcommands()
            .find(|command| command.get_arguments().any(|arg| arg.get_long() == Some(long)))
            .unwrap_or_else(|| panic!("--{long} is no option"));
        let mut words = vec![command.get_name()];
        words.extend(positionals(command));
        let error = parse_with(&words, &format!("port: 1\n{long}: true\n"))
            .err()
            .unwrap_or_else(|| panic!("`{long}` was taken"));
        assert!(
            error.starts_with(&format!(
                "error: .foreman line 2: `{long}` cannot be set in .foreman: {why}\n"
            )),
            "{error}"
        );
    }
}

/// The keys Foreman's `.foreman` knows are written as in Foreman: booleans for `color` and
/// `timestamp`, comma-separated lists for `env` and `formation`.
#[test]
fn foremans_keys_are_written_as_in_foreman() {
    let start = |text: &str| {
        let (matches, _) = parse_with(&["start"], text).expect("parses");
        match Cli::from_arg_matches(&matches).expect("a command line").command {
            crate::cli::Command::Start(start) => start,
            _ => panic!("start"),
        }
    };
    use crate::cli::ColorWhen::{Always, Auto};
    let args =
        start("color: true\ntimestamp: false\nenv: a.env,b.env\nformation: web=2,worker=0\n");
    assert_eq!((args.color, args.no_color, args.no_timestamp), (Some(Always), false, true));
    assert_eq!(args.plan.env_files, [Path::new("a.env"), Path::new("b.env")]);
    assert_eq!(args.plan.formation.as_deref(), Some("web=2,worker=0"));
    let args = start("color: false\ntimestamp: true\n");
    assert_eq!((args.color, args.no_color, args.no_timestamp), (None, true, false));
    // Beyond Foreman: `color` takes its choices too; `no_timestamp` is `no-timestamp`.
    let args = start("color: auto\nno_timestamp: yes\n");
    assert_eq!((args.color, args.no_timestamp), (Some(Auto), true));
    // A boolean is no value of an option without an opposite, as `tty` has none.
    let error = parse_with(&["start"], "tty: false\n").err().unwrap_or_default();
    assert!(
        error.starts_with("error: .foreman line 1: `tty` must be auto, always or never\n"),
        "{error}"
    );
    let args = start("tty: true\nquiet: on\nno-socket: true\nreload-signal: HUP\nattach: web\n");
    assert_eq!(args.tty, Some(crate::cli::TtyWhen::Always));
    assert!(args.quiet && args.no_socket);
    assert_eq!((args.reload_signal.as_deref(), args.attach.as_deref()), (Some("HUP"), Some("web")));
}

/// Each `Flag` the code asks about is a long option clap defines.
#[test]
fn every_flag_is_a_long_option() {
    let cli = definition();
    for flag in Flag::ALL {
        assert!(
            cli.get_subcommands().any(|command| flag.option(command).is_some()),
            "--{} is the option of no subcommand",
            flag.name()
        );
    }
}

#[test]
fn a_list_from_the_command_line_replaces_the_one_from_dotforeman() {
    let (matches, _) =
        parse_with(&["start", "--restart", "web=always"], "restart: on-failure,worker=never\n")
            .expect("parses");
    let option = option(definition().find_subcommand("start").expect("start"), "restart").clone();
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
    assert_eq!(origins.of(Flag::Timeout), &Origin::CommandLine);
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
    let message = origins.of(Flag::Port).diagnostic("-p/--port", "`http` is not a port number");
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
    for key in keys(&definition()).into_iter().chain(NOT_IN_DOTFOREMAN.map(|(long, _)| long)) {
        assert!(section.contains(&format!("`{key}`")), "docs/cli.md lacks `{key}`");
    }
}
