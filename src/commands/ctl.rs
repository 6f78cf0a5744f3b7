//! `procman ps`, `restart`, `stop`, `scale`, `signal` and `reload`: the client commands that drive a
//! running `procman start` through its control socket.
//!
//! Each returns the exit code (0) or the error `main` renders: a [`CtlError`] from the socket
//! (exit 1), or a command-line mistake ([`CliError::Usage`], exit 2). Arguments are checked
//! before connecting, so a typo is reported even when nothing is running.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::time::Instant;

use serde_json::{Map, Value};
use supervise::Signal;

use super::ps_table::{parse_ps, table};
use crate::cli::{ControlArgs, OptionalTargetArgs, PsArgs, ScaleArgs, SignalArgs, TargetArgs};
use crate::control::client::{Client, CtlError, TIMEOUT};
use crate::error::CliError;
use procman::control::proto::Request;
use procman::diagnostic::fragment;
use procman::formation::{parse_count, split_assignment};

fn connect(args: &ControlArgs) -> Result<Client, CtlError> {
    Client::connect(&crate::options::control_socket(args), TIMEOUT)
}

/// `procman ps`: a table, `--json`, or `--watch` (redrawn every second).
///
/// # Errors
/// No procman running, a refused request, or `--watch` without a terminal.
pub(crate) fn ps(args: &PsArgs) -> Result<i32, CliError> {
    if args.watch {
        if !io::stdout().is_terminal() {
            return Err(CliError::Usage(
                "--watch redraws the screen and needs a terminal, but standard output is not \
                 one; use `procman ps` or `procman ps --json` in scripts"
                    .into(),
            ));
        }
        let mut client = connect(&args.control)?;
        return super::watch::run(&mut client, &crate::options::control_socket(&args.control));
    }
    let mut client = connect(&args.control)?;
    let reply = client.request(&Request::Ps)?;
    let text = if args.json {
        let mut text = serde_json::to_string_pretty(&Value::Object(reply)).unwrap_or_default();
        text.push('\n');
        text
    } else {
        table(&parse_ps(reply)?, None)
    };
    print(&text)
}

/// `procman restart NAME|NAME.N`.
///
/// # Errors
/// No procman running, or the request refused.
pub(crate) fn restart(args: &TargetArgs) -> Result<i32, CliError> {
    let request = Request::Restart { target: args.target.clone() };
    simple(&args.control, &request)
}

/// `procman stop NAME|NAME.N`, or `procman stop` for the whole run: then it waits (bounded)
/// until the run has ended, so `procman stop && procman start` works.
///
/// # Errors
/// No procman running, or the request refused.
pub(crate) fn stop(args: &OptionalTargetArgs) -> Result<i32, CliError> {
    let Some(target) = &args.target else {
        let mut client = connect(&args.control)?;
        let reply = client.request(&Request::StopAll)?;
        print(&format!("{}\n", message_of(&reply, "stopping every process")))?;
        if !client.wait_closed(Instant::now() + TIMEOUT) {
            print("procman is still shutting down\n")?;
        }
        return Ok(0);
    };
    simple(&args.control, &Request::Stop { target: target.clone() })
}

/// `procman scale web=3 worker=0`.
///
/// # Errors
/// A malformed count, no procman running, or the request refused.
pub(crate) fn scale(args: &ScaleArgs) -> Result<i32, CliError> {
    let counts = parse_counts(&args.counts)?;
    simple(&args.control, &Request::Scale { counts })
}

/// `procman signal NAME|NAME.N SIGNAL`.
///
/// # Errors
/// An unknown signal, no procman running, or the request refused.
pub(crate) fn signal(args: &SignalArgs) -> Result<i32, CliError> {
    let signal: Signal = args.signal.parse().map_err(|e| CliError::Usage(format!("{e}")))?;
    // Send the number: the name the user typed may be spelled in any accepted way.
    let request =
        Request::Signal { target: args.target.clone(), signal: signal.as_raw().to_string() };
    simple(&args.control, &request)
}

/// `procman reload`: what was restarted (and why), started, stopped, scaled and kept, one
/// line each.
///
/// # Errors
/// No procman running, or the new configuration refused (with `check`'s messages).
pub(crate) fn reload(args: &ControlArgs) -> Result<i32, CliError> {
    let mut client = connect(args)?;
    let reply = client.request(&Request::Reload)?;
    let lines: Vec<&str> = message_of(&reply, "reloaded").split("; ").collect();
    print(&format!("{}\n", lines.join("\n")))
}

/// One request, one line of confirmation.
fn simple(control: &ControlArgs, request: &Request) -> Result<i32, CliError> {
    let mut client = connect(control)?;
    let reply = client.request(request)?;
    print(&format!("{}\n", message_of(&reply, "done")))
}

fn message_of<'a>(reply: &'a Map<String, Value>, default: &'a str) -> &'a str {
    reply.get("message").and_then(Value::as_str).unwrap_or(default)
}

fn print(text: &str) -> Result<i32, CliError> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // `procman ps | head`: not an error.
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => {
            Err(CliError::io("cannot write to standard output", err))
        }
        _ => Ok(0),
    }
}

/// `web=3`, `worker=0` (clap already split commas), each count checked by the formation's
/// rule, so an impossible count is refused without asking procman.
pub(crate) fn parse_counts(items: &[String]) -> Result<BTreeMap<String, u32>, CliError> {
    let mut counts = BTreeMap::new();
    for item in items {
        let Some((name, count)) = split_assignment(item).filter(|(name, _)| !name.is_empty())
        else {
            return Err(CliError::Usage(format!(
                "expected NAME=COUNT (for example web=3), got `{}`",
                fragment(item)
            )));
        };
        let count = parse_count(name, count)
            .map_err(|(message, help)| CliError::Usage(format!("{message} ({help})")))?;
        counts.insert(name.to_owned(), count);
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_cli_scale_counts_parse_or_say_what_is_expected() {
        let counts = parse_counts(&["web=3".to_owned(), "worker=0".to_owned()]).expect("parses");
        assert_eq!(counts, BTreeMap::from([("web".to_owned(), 3), ("worker".to_owned(), 0)]));
        let error = |item: &str| {
            parse_counts(&[item.to_owned()]).err().map(|e| (e.to_string(), e.exit_code()))
        };
        for bad in ["web", "=3"] {
            let expected = format!("expected NAME=COUNT (for example web=3), got `{bad}`");
            assert_eq!(error(bad), Some((expected, 2)));
        }
        let range = "(a count is a whole number from 0 to 1000, e.g. `web=2`)";
        for (bad, why) in [("web=-1", "is negative: `-1`"), ("web=x", "is not a whole number: `x`")]
        {
            assert_eq!(error(bad), Some((format!("the count of `web` {why} {range}"), 2)));
        }
        let expected = "the count of `web` is too large: `100000` (procman runs at most 1000 \
                        instances in all)";
        assert_eq!(error("web=100000"), Some((expected.to_owned(), 2)));
        assert!(error("web=99999999999").is_some_and(|(e, _)| e.contains("too large")));
        assert!(parse_counts(&["web=1000".to_owned()]).is_ok());
    }

    #[test]
    fn control_cli_watch_needs_a_terminal() {
        if io::stdout().is_terminal() {
            return;
        }
        let args = PsArgs {
            control: ControlArgs {
                socket: Some("/nonexistent/.procman.sock".into()),
                app: crate::cli::AppArgs { procfile: None, root: None },
            },
            json: false,
            watch: true,
        };
        let err = ps(&args).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.starts_with("--watch redraws the screen and needs a terminal"), "{err}");
    }
}
