//! A complete supervisor in about 150 lines, with the library's public API only: it reads a JSON
//! file describing programs, runs them with restarts, prints every state change and every line
//! of output, and shuts down on Ctrl-C or SIGTERM (a second one kills at once).
//!
//! ```text
//! cargo run -p procman-supervise --example json_supervisor -- crates/supervise/examples/programs.json
//! ```
//!
//! It stops by itself once nothing is left to supervise (every instance stopped, exited for
//! good or fatal).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use supervise::{
    Backoff, CommandSpec, Driver, DriverOptions, Event, Launch, ProgramSpec, RestartPolicy, Signal,
    Stream, Transition,
};

/// The file: `{ "programs": [ ... ] }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    programs: Vec<Program>,
}

/// One program. Everything but `name` and `command` is optional: the library's defaults apply.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Program {
    name: String,
    command: String,
    #[serde(default)]
    args: Vec<String>,
    cwd: Option<PathBuf>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    instances: Option<u32>,
    /// `always`, `on-unexpected-exit` or `never`.
    restart: Option<String>,
    expected_exit_codes: Option<Vec<i32>>,
    /// A name (`TERM`, `SIGINT`) or a number.
    stop_signal: Option<String>,
    stop_timeout_ms: Option<u64>,
    max_retries: Option<u32>,
    backoff: Option<BackoffConfig>,
    start_grace_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BackoffConfig {
    initial_ms: u64,
    factor: f64,
    max_ms: u64,
}

/// Turns one program of the file into the library's spec.
fn spec(p: Program) -> Result<ProgramSpec, String> {
    let mut spec = ProgramSpec::new(p.name.as_str(), CommandSpec::new(p.command).args(p.args));
    let ms = Duration::from_millis;
    spec.cwd = p.cwd;
    for (key, value) in p.env {
        spec.env.set(key, value);
    }
    spec.instances = p.instances.unwrap_or(spec.instances);
    spec.restart = match p.restart.as_deref() {
        None => spec.restart,
        Some("always") => RestartPolicy::Always,
        Some("on-unexpected-exit") => RestartPolicy::OnUnexpectedExit,
        Some("never") => RestartPolicy::Never,
        Some(other) => return Err(format!("{}: unknown restart policy `{other}`", p.name)),
    };
    spec.expected_exit_codes = p.expected_exit_codes.unwrap_or(spec.expected_exit_codes);
    if let Some(signal) = p.stop_signal {
        spec.stop_signal = signal.parse().map_err(|e| format!("{}: {e}", p.name))?;
    }
    spec.stop_timeout = p.stop_timeout_ms.map_or(spec.stop_timeout, ms);
    spec.max_retries = p.max_retries.unwrap_or(spec.max_retries);
    if let Some(b) = p.backoff {
        spec.backoff = Backoff { initial: ms(b.initial_ms), factor: b.factor, max: ms(b.max_ms) };
    }
    spec.start_grace = p.start_grace_ms.map_or(spec.start_grace, ms);
    // Each instance learns its own name, the way Foreman sets `PS`.
    let name = p.name;
    spec.instance_hook = Some(Arc::new(move |n, launch: &mut Launch| {
        launch.env.push(("PS".into(), format!("{name}.{n}").into()));
    }));
    Ok(spec)
}

/// `web.1: starting -> running (pid 42)`, with the exit status or spawn error when there is one.
fn describe(t: &Transition) -> String {
    let mut line = format!("{}: {} -> {}", t.id, t.from, t.to);
    if let Some(pid) = t.pid {
        line += &format!(" (pid {pid})");
    }
    if let Some(exit) = t.exit {
        let expected = if t.expected == Some(true) { "expected" } else { "unexpected" };
        line += &format!(", {exit} ({expected})");
    }
    if let Some(error) = &t.spawn_error {
        line += &format!(", {error}");
    }
    if t.retries > 0 {
        line += &format!(", {} failed start(s) in a row", t.retries);
    }
    line
}

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: json_supervisor PROGRAMS.json");
        return ExitCode::from(2);
    };
    match supervise_file(path.into()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("json_supervisor: {message}");
            ExitCode::FAILURE
        }
    }
}

fn supervise_file(path: PathBuf) -> Result<(), String> {
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let config: Config =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let options = DriverOptions { signals: vec![Signal::INT, Signal::TERM], ..Default::default() };
    let mut driver = Driver::new(options).map_err(|e| format!("cannot set up: {e}"))?;
    let mut names = Vec::new();
    for program in config.programs {
        let spec = spec(program)?;
        names.push(spec.name.clone());
        driver.add_group(spec).map_err(|e| e.to_string())?;
    }
    for name in &names {
        driver.start_group(name).map_err(|e| e.to_string())?;
    }
    let mut interrupts = 0;
    driver
        .run(|driver, event| match event {
            Event::State(t) => {
                println!("{}", describe(&t));
                let core = driver.supervisor();
                let all = core.snapshot(t.at);
                if !core.is_shutting_down() && all.iter().all(|i| core.is_settled(&i.id)) {
                    println!("nothing left to supervise");
                    driver.shutdown();
                }
            }
            Event::Output(output) => {
                let mark = if output.stream == Stream::Stderr { "!" } else { "|" };
                for line in output.lines() {
                    println!("{} {mark} {}", output.id, String::from_utf8_lossy(line));
                }
            }
            Event::SignalReceived(signal) => {
                interrupts += 1;
                if interrupts == 1 {
                    println!("{signal}: stopping everything (again to kill at once)");
                    driver.shutdown();
                } else {
                    driver.kill_stopping();
                }
            }
            Event::Reaped { pid, status } => println!("reaped orphan {pid}: {status}"),
            Event::StraysKilled { pids } => println!("killed stray descendants {pids:?}"),
            Event::ShutdownComplete => println!("all stopped"),
            _ => {}
        })
        .map_err(|e| format!("poll failed: {e}"))
}
