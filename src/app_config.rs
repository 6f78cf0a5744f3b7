//! The per-process config file: `procman.json` beside the Procfile, or `--config FILE`.
//!
//! For each process type it may give the command (overriding the Procfile's, or defining a type
//! the Procfile lacks), the instance count, working directory, environment, umask and the
//! supervision settings. See `docs/config.md` for the schema and `docs/procman.schema.json` for
//! the same as a JSON Schema.
//!
//! Every value is checked while it is read, so an error names the file, the JSON path of the
//! value and its line and column (`procman.json: processes.web.stop_timeout: "5x" is not a
//! duration (units: ms, s, m, h)`); unknown keys are errors, so a typo never passes silently.
//!
//! Precedence: command-line flags (and `.foreman`) > this file > defaults; `-m/--formation` or
//! `start web=3` > `instances` here > `all=1`.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use supervise::{Backoff, RestartPolicy, Signal};

use crate::plan::devloop::{LogSettings, WatchSettings};
use crate::plan::values::{backoff_from, parse_duration, parse_restart};
use crate::plan::{Plan, Settings};
use procman::diagnostic::{Diagnostic, Diagnostics, closest, file_label, fragment, list, sanitize};
use procman::formation::{Formation, FormationItem, MAX_INSTANCES};
use procman::input::encoding;
use procman::input::{self, ReadError};
use procman::procfile::{Procfile, ProcfileEntry};

/// The config file's name when none is given: read from the Procfile's directory, if there.
pub(crate) const DEFAULT_NAME: &str = "procman.json";
/// The largest config file read.
pub(crate) const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// The longest duration accepted anywhere (as `plan::values::parse_duration`): one year.
const MAX_SECONDS: f64 = 86_400.0 * 365.0;

/// A config file, read and checked.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ConfigFile {
    /// Where it was read from.
    pub(crate) path: PathBuf,
    /// Its text, to point at lines in later messages.
    text: String,
    /// Its process types, in file order.
    pub(crate) processes: Vec<ProcessConfig>,
    /// The log files (top-level keys).
    pub(crate) logs: LogSettings,
}

/// What the config file says about one process type.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ProcessConfig {
    /// The process type.
    pub(crate) name: String,
    /// Its command, overriding the Procfile's.
    pub(crate) command: Option<String>,
    /// Its instance count, when no formation is given.
    pub(crate) instances: Option<u32>,
    /// Its working directory, relative to the app root.
    pub(crate) cwd: Option<PathBuf>,
    /// Variables set after the env files, in file order.
    pub(crate) env: Vec<(String, String)>,
    /// Its supervision settings (those left out are `None`).
    pub(crate) settings: Settings,
    /// Restart on change.
    pub(crate) watch: Option<WatchSettings>,
}

/// The config file's path: `explicit`, else `procman.json` in the Procfile's directory.
pub(crate) fn default_path(procfile: &Path) -> PathBuf {
    match procfile.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(DEFAULT_NAME),
        _ => PathBuf::from(DEFAULT_NAME),
    }
}

/// Reads the config file named by `--config` (which must exist), else the default one beside
/// `procfile` if there is one.
pub(crate) fn load(
    explicit: Option<&Path>,
    procfile: &Path,
) -> Result<Option<ConfigFile>, Diagnostics> {
    let path = explicit.map_or_else(|| default_path(procfile), Path::to_path_buf);
    match input::read_capped(&path, MAX_CONFIG_BYTES) {
        Ok(bytes) => ConfigFile::parse(&path, &bytes).map(Some),
        Err(ReadError::NotFound) if explicit.is_none() => Ok(None),
        Err(ReadError::NotFound) => Err(Diagnostic::new(format!(
            "the config file {} does not exist",
            sanitize(&path.display().to_string(), 200)
        ))
        .in_file(&path)
        .with_help("check the path given with --config (or `config` in .foreman)")
        .into()),
        Err(error) => Err(input::read_error(&path, error, MAX_CONFIG_BYTES).into()),
    }
}

impl ConfigFile {
    /// Parses the file's bytes; `path` is used in messages.
    pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<ConfigFile, Diagnostics> {
        let text = encoding::decode(path, bytes, "a JSON config file")?;
        let label = file_label(path);
        if text.trim().is_empty() {
            return Err(Diagnostic::new(format!("{label} is empty"))
                .in_file(path)
                .with_help(
                    "write a JSON object, e.g. {\"processes\": {\"web\": {\"instances\": 2}}}",
                )
                .into());
        }
        if !text.trim_start().starts_with('{') {
            return Err(Diagnostic::new(format!("{label} must hold a JSON object"))
                .in_file(path)
                .with_help(
                    "write {\"processes\": {\"web\": {\"instances\": 2}}}; see docs/config.md",
                )
                .into());
        }
        let mut deserializer = serde_json::Deserializer::from_str(&text);
        let raw: RawFile = match serde_path_to_error::deserialize(&mut deserializer) {
            Ok(raw) => raw,
            Err(error) => {
                let json_path = error.path().to_string();
                return Err(json_error(path, &text, &json_path, &error.into_inner()).into());
            }
        };
        if let Err(error) = deserializer.end() {
            return Err(json_error(path, &text, ".", &error).into());
        }
        let logs = devloop::log_settings(raw.log_dir, raw.log_max_size, raw.log_keep);
        let processes =
            raw.processes.0.into_iter().map(|(name, raw)| raw.into_config(name)).collect();
        Ok(ConfigFile { path: path.to_path_buf(), text, processes, logs })
    }

    /// The process type called `name`.
    pub(crate) fn process(&self, name: &str) -> Option<&ProcessConfig> {
        self.processes.iter().find(|process| process.name == name)
    }

    /// The names of its process types, in file order.
    pub(crate) fn names(&self) -> Vec<&str> {
        self.processes.iter().map(|process| process.name.as_str()).collect()
    }

    /// Gives Procfile entries the commands set here, and appends the types only this file
    /// defines (after the Procfile's entries, in file order, so Foreman's PORT rule counts them
    /// after the Procfile's; their `line` is 0). A type without a command in either is an error.
    pub(crate) fn extend_procfile(&self, procfile: &mut Procfile) -> Result<(), Diagnostics> {
        let known: Vec<String> = procfile.entries.iter().map(|e| e.name.clone()).collect();
        let mut diagnostics = Diagnostics::default();
        for process in &self.processes {
            match procfile.entries.iter_mut().find(|entry| entry.name == process.name) {
                Some(entry) => {
                    if let Some(command) = &process.command {
                        entry.command.clone_from(command);
                    }
                }
                None => match &process.command {
                    Some(command) => procfile.entries.push(ProcfileEntry {
                        name: process.name.clone(),
                        command: command.clone(),
                        line: 0,
                    }),
                    None => diagnostics.push(self.needs_command(process, procfile, &known)),
                },
            }
        }
        diagnostics.into_result(())
    }

    /// Applies the `instances` here to a formation: to the default one (no `-m`, no PROCESS
    /// argument) as named counts, and to `start NAME...` as those types' counts. A formation
    /// given on the command line otherwise wins.
    pub(crate) fn apply_instances(&self, formation: &mut Formation, given: bool) {
        if formation.single {
            for item in &mut formation.items {
                if let Some(count) = self.process(&item.name).and_then(|p| p.instances)
                    && count > 0
                {
                    item.count = count;
                }
            }
            return;
        }
        if given {
            return;
        }
        let counted: Vec<(&str, u32)> = self
            .processes
            .iter()
            .filter_map(|process| Some((process.name.as_str(), process.instances?)))
            .collect();
        if counted.is_empty() {
            return;
        }
        let mut text = formation.text.clone();
        for (name, count) in counted {
            let item = format!("{name}={count}");
            let span = (text.chars().count() + 2, item.chars().count());
            text.push(',');
            text.push_str(&item);
            formation.items.push(FormationItem { name: name.to_owned(), count, span });
        }
        formation.text = text;
        formation.origin = format!("`instances` in {}", file_label(&self.path));
    }

    /// Fails for each `cwd` that is not a directory under `root` (for `check`, `start` and
    /// `run`, before anything starts; not for `export`, which may target another machine).
    pub(crate) fn check_dirs(&self, root: &Path) -> Result<(), Diagnostics> {
        let mut diagnostics = Diagnostics::default();
        for process in &self.processes {
            let Some(cwd) = &process.cwd else { continue };
            if root.join(cwd).is_dir() {
                continue;
            }
            let diagnostic = Diagnostic::new(format!(
                "{}: processes.{}.cwd: {} is not a directory",
                file_label(&self.path),
                fragment(&process.name),
                quoted(&cwd.display().to_string())
            ));
            diagnostics.push(
                self.point_at_key(diagnostic, &["processes", &process.name, "cwd"])
                    .with_note(format!(
                        "a relative cwd is relative to the app root, {}",
                        sanitize(&root.display().to_string(), 200)
                    ))
                    .with_help("create the directory, or fix the path"),
            );
        }
        diagnostics.into_result(())
    }

    /// Gives each planned process type its environment, working directory and settings, and
    /// the plan the log files (`log_dir` relative to the app root).
    pub(crate) fn apply_to_plan(&self, plan: &mut Plan) {
        plan.logs = LogSettings {
            dir: self.logs.dir.as_ref().map(|dir| plan.root.join(dir)),
            ..self.logs.clone()
        };
        for config in &self.processes {
            let Some(process) = plan.processes.iter_mut().find(|p| p.name == config.name) else {
                continue;
            };
            process.env.clone_from(&config.env);
            process.cwd.clone_from(&config.cwd);
            process.settings = config.settings.clone();
            process.watch.clone_from(&config.watch);
        }
    }

    fn needs_command(
        &self,
        process: &ProcessConfig,
        procfile: &Procfile,
        known: &[String],
    ) -> Diagnostic {
        let label = file_label(&self.path);
        let name = fragment(&process.name);
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        let mut help = format!(
            "give it a \"command\", or add a line `{name}: COMMAND` to {}",
            file_label(&procfile.path)
        );
        if let Some(close) = closest(&process.name, &known) {
            help = format!("did you mean `{close}`? Otherwise {help}");
        }
        let diagnostic = Diagnostic::new(format!(
            "{label}: processes.{name}: `{name}` is not in the Procfile, so it needs a \"command\""
        ));
        self.point_at_key(diagnostic, &["processes", &process.name])
            .with_note(format!("{} defines: {}", file_label(&procfile.path), list(&known)))
            .with_help(help)
    }

    /// Points a diagnostic at the key `keys.last()`: the first `"key":` after the previous
    /// keys, in order (`["web", "cwd"]`), or at the whole file.
    fn point_at_key(&self, diagnostic: Diagnostic, keys: &[&str]) -> Diagnostic {
        let mut from = 0;
        let mut found = None;
        for key in keys {
            let quoted = format!("\"{key}\"");
            let mut search = from;
            found = None;
            while let Some(at) = self.text[search..].find(&quoted).map(|at| at + search) {
                let after = at + quoted.len();
                if self.text[after..].trim_start().starts_with(':') {
                    found = Some((at, quoted.chars().count()));
                    from = after;
                    break;
                }
                search = after;
            }
            if found.is_none() {
                return diagnostic.in_file(&self.path);
            }
        }
        let Some((at, len)) = found else { return diagnostic.in_file(&self.path) };
        let start = self.text[..at].rfind('\n').map_or(0, |newline| newline + 1);
        let end = self.text[at..].find('\n').map_or(self.text.len(), |newline| at + newline);
        let line = self.text[..at].matches('\n').count() + 1;
        let column = self.text[start..at].chars().count() + 1;
        diagnostic.at_line(&self.path, line, &self.text[start..end]).with_column(column, len)
    }
}

/// A serde error as a diagnostic: the file, the JSON path, the line and column.
fn json_error(path: &Path, text: &str, json_path: &str, error: &serde_json::Error) -> Diagnostic {
    use serde_json::error::Category;
    let label = file_label(path);
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let reason = full.strip_suffix(&suffix).unwrap_or(&full);
    // Name the shapes of the file, not the Rust types behind them.
    let reason = reason
        .replace(
            "struct RawProcess",
            "an object such as {\"command\": \"bin/web\", \"instances\": 2}",
        )
        .replace("struct BackoffObject", "an object with initial, factor and max")
        .replace("struct ReadyObject", "an object such as {\"port\": 5432}");
    let reason = reason.as_str();
    let (message, help) = match error.classify() {
        Category::Syntax | Category::Eof => (
            format!("{label} is not valid JSON: {reason}"),
            "check the brackets, commas and quotes near this point (JSON allows no comments and \
             no trailing commas)"
                .to_owned(),
        ),
        Category::Data | Category::Io => {
            let message = if json_path == "." {
                format!("{label}: {reason}")
            } else {
                format!("{label}: {json_path}: {reason}")
            };
            (message, help_for(json_path, reason))
        }
    };
    let diagnostic = Diagnostic::new(message).with_help(help);
    let line = error.line();
    match text.lines().nth(line.saturating_sub(1)) {
        Some(source) if line > 0 => {
            let (column, span) = value_span(source, error.column());
            diagnostic.at_line(path, line, source).with_column(column, span)
        }
        _ => diagnostic.in_file(path),
    }
}

/// The value or key that ends at byte column `end` (serde_json's column: the last byte read,
/// from 1) of `line`, as (column from 1, length) in characters: a whole string with its quotes,
/// a whole number or word, else the one character.
fn value_span(line: &str, end: usize) -> (usize, usize) {
    let bytes = line.as_bytes();
    let end = end.clamp(1, bytes.len().max(1));
    let last = end - 1;
    let start = match bytes.get(last) {
        Some(b'"') => {
            // The opening quote: the previous quote not escaped by an odd run of backslashes.
            let mut at = last;
            loop {
                let Some(quote) = bytes[..at].iter().rposition(|&b| b == b'"') else { break last };
                let slashes = bytes[..quote].iter().rev().take_while(|&&b| b == b'\\').count();
                if slashes % 2 == 0 {
                    break quote;
                }
                at = quote;
            }
        }
        Some(b) if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+') => {
            let run = bytes[..last]
                .iter()
                .rev()
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
                .count();
            last - run
        }
        _ => last,
    };
    // serde_json counts bytes; the renderer counts characters.
    let chars = |range: std::ops::Range<usize>| line.get(range).map_or(1, |t| t.chars().count());
    (chars(0..start) + 1, chars(start..end).max(1))
}

/// The keys a process type takes, for "did you mean".
const PROCESS_KEYS: &[&str] = &[
    "command",
    "instances",
    "cwd",
    "env",
    "umask",
    "stop_signal",
    "stop_timeout",
    "restart",
    "expected_exit_codes",
    "max_restarts",
    "backoff",
    "start_grace",
    "tty",
    "ready",
    "depends_on",
    "watch",
    "watch_ignore",
    "watch_debounce",
];

/// What to do about an error at `json_path`.
fn help_for(json_path: &str, reason: &str) -> String {
    if let Some(help) = order::help_for(json_path, reason) {
        return help;
    }
    if let Some(rest) = reason.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let keys: &[&str] = if json_path.starts_with("processes.") && !json_path.contains("backoff")
        {
            PROCESS_KEYS
        } else if json_path.contains("backoff") {
            &["initial", "factor", "max"]
        } else {
            TOP_KEYS
        };
        let mut help = String::new();
        if let Some(close) = closest(field, keys) {
            help.push_str(&format!("did you mean `{close}`? "));
        }
        help.push_str("see docs/config.md for every key");
        return help;
    }
    let last = json_path.rsplit('.').next().unwrap_or_default();
    let last = last.split('[').next().unwrap_or_default();
    if let Some(help) = devloop::help_for(last) {
        return help.to_owned();
    }
    match last {
        "stop_timeout" | "start_grace" | "initial" | "max" => {
            "use a duration such as \"500ms\", \"2s\" or \"1m\", or a number of seconds".to_owned()
        }
        "backoff" => "use a duration (\"1s\") or {\"initial\": \"1s\", \"factor\": 2, \"max\": \
                      \"30s\"}"
            .to_owned(),
        "stop_signal" => {
            "use a signal name such as \"TERM\", \"INT\", \"QUIT\" or \"USR1\"".to_owned()
        }
        "restart" => "use \"never\", \"on-failure\" or \"always\"".to_owned(),
        "umask" => "use an octal string such as \"022\" or \"077\"".to_owned(),
        "tty" => "use true or false".to_owned(),
        "expected_exit_codes" => "use a list of exit codes, e.g. [0, 2]".to_owned(),
        "instances" => format!("use a whole number from 0 to {MAX_INSTANCES}"),
        "max_restarts" | "factor" => "use a number, e.g. 5".to_owned(),
        "env" => "use an object of strings, e.g. {\"RUST_LOG\": \"info\"}".to_owned(),
        "processes" => "use an object whose keys are process types, e.g. {\"web\": \
                        {\"instances\": 2}}"
            .to_owned(),
        _ => "see docs/config.md for the schema".to_owned(),
    }
}

/// `"text"`, as JSON writes it, shortened.
fn quoted(text: &str) -> String {
    serde_json::to_string(&fragment(text)).unwrap_or_else(|_| format!("\"{}\"", fragment(text)))
}

mod devloop;
mod order;
mod raw;

use devloop::*;
use raw::*;

#[cfg(test)]
mod tests;
