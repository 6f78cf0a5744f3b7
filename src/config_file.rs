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

use crate::diagnostic::{Diagnostic, Diagnostics, closest, fragment, list, sanitize};
use crate::formation::{Formation, FormationItem, MAX_INSTANCES};
use crate::plan::{Plan, Settings};
use crate::procfile::{Procfile, ProcfileEntry};
use crate::settings::{backoff_from, parse_duration, parse_restart};
use crate::text::{self, ReadError, file_label};

/// The config file's name when none is given: read from the Procfile's directory, if there.
pub(crate) const DEFAULT_NAME: &str = "procman.json";
/// The largest config file read.
pub(crate) const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// The longest duration accepted anywhere (as `settings::parse_duration`): one year.
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
    match text::read_capped(&path, MAX_CONFIG_BYTES) {
        Ok(bytes) => ConfigFile::parse(&path, &bytes).map(Some),
        Err(ReadError::NotFound) if explicit.is_none() => Ok(None),
        Err(ReadError::NotFound) => Err(Diagnostic::new(format!(
            "the config file {} does not exist",
            sanitize(&path.display().to_string(), 200)
        ))
        .in_file(&path)
        .with_help("check the path given with --config (or `config` in .foreman)")
        .into()),
        Err(error) => Err(text::read_error(&path, error, MAX_CONFIG_BYTES).into()),
    }
}

impl ConfigFile {
    /// Parses the file's bytes; `path` is used in messages.
    pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<ConfigFile, Diagnostics> {
        let text = text::decode(path, bytes, "a JSON config file")?;
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
        let processes =
            raw.processes.0.into_iter().map(|(name, raw)| raw.into_config(name)).collect();
        Ok(ConfigFile { path: path.to_path_buf(), text, processes })
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
    /// argument) as named counts, and to `start NAME` as that one type's count. A formation
    /// given on the command line otherwise wins.
    pub(crate) fn apply_instances(&self, formation: &mut Formation, given: bool) {
        if formation.single {
            if let Some(item) = formation.items.first_mut()
                && let Some(count) = self.process(&item.name).and_then(|p| p.instances)
                && count > 0
            {
                item.count = count;
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

    /// Fails for each `cwd` that is not a directory under `root` (for `check`: `start` finds
    /// out when it spawns, and `export` may target another machine).
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

    /// Gives each planned process type its environment, working directory and settings.
    pub(crate) fn apply_to_plan(&self, plan: &mut Plan) {
        for config in &self.processes {
            let Some(process) = plan.processes.iter_mut().find(|p| p.name == config.name) else {
                continue;
            };
            process.env.clone_from(&config.env);
            process.cwd.clone_from(&config.cwd);
            process.settings = config.settings.clone();
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
        .replace("struct BackoffObject", "an object with initial, factor and max");
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
];

/// What to do about an error at `json_path`.
fn help_for(json_path: &str, reason: &str) -> String {
    if let Some(rest) = reason.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let keys: &[&str] = if json_path.starts_with("processes.") && !json_path.contains("backoff")
        {
            PROCESS_KEYS
        } else if json_path.contains("backoff") {
            &["initial", "factor", "max"]
        } else {
            &["processes", "$schema"]
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

// ---------------------------------------------------------------------------------------------
// The file as read. Each value type checks itself, so errors carry their JSON path.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    /// For editors: the JSON Schema's location. Ignored.
    #[serde(rename = "$schema")]
    #[allow(dead_code)]
    schema: Option<String>,
    #[serde(default)]
    processes: Processes,
}

/// The `processes` object, in file order, each name once.
#[derive(Default)]
struct Processes(Vec<(String, RawProcess)>);

impl<'de> Deserialize<'de> for Processes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Processes, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Processes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object whose keys are process types")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Processes, A::Error> {
                let mut seen = HashSet::new();
                let mut out = Vec::new();
                while let Some(ProcessName(name)) = map.next_key()? {
                    if !seen.insert(name.clone()) {
                        return Err(de::Error::custom(format!(
                            "the process type {} is given twice",
                            quoted(&name)
                        )));
                    }
                    let process: RawProcess = map.next_value()?;
                    out.push((name, process));
                }
                Ok(Processes(out))
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// A process type's name: the Procfile's grammar, letters, digits, `_` and `-`.
struct ProcessName(String);

impl<'de> Deserialize<'de> for ProcessName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ProcessName, D::Error> {
        let name = String::deserialize(deserializer)?;
        if name.is_empty()
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(de::Error::custom(format!(
                "{} is not a process type name (use ASCII letters, digits, `_` and `-`, as in \
                 a Procfile)",
                quoted(&name)
            )));
        }
        Ok(ProcessName(name))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcess {
    command: Option<Text>,
    instances: Option<Count<{ MAX_INSTANCES as u64 }>>,
    cwd: Option<Text>,
    env: Option<Env>,
    umask: Option<Umask>,
    stop_signal: Option<SignalValue>,
    stop_timeout: Option<DurationValue>,
    restart: Option<RestartValue>,
    expected_exit_codes: Option<Vec<ExitCode>>,
    max_restarts: Option<Count<{ u32::MAX as u64 }>>,
    backoff: Option<BackoffValue>,
    start_grace: Option<DurationValue>,
}

impl RawProcess {
    fn into_config(self, name: String) -> ProcessConfig {
        ProcessConfig {
            name,
            command: self.command.map(|c| c.0),
            instances: self.instances.map(|c| c.0),
            cwd: self.cwd.map(|c| PathBuf::from(c.0)),
            env: self.env.map(|e| e.0).unwrap_or_default(),
            settings: Settings {
                stop_signal: self.stop_signal.map(|s| s.0),
                stop_timeout: self.stop_timeout.map(|d| d.0),
                restart: self.restart.map(|r| r.0),
                max_retries: self.max_restarts.map(|c| c.0),
                backoff: self.backoff.map(|b| b.0),
                start_grace: self.start_grace.map(|d| d.0),
                expected_exit_codes: self
                    .expected_exit_codes
                    .map(|codes| codes.into_iter().map(|c| c.0).collect()),
                umask: self.umask.map(|u| u.0),
            },
        }
    }
}

/// A non-blank string without NUL bytes.
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.trim().is_empty() {
            return Err(de::Error::custom("it cannot be empty"));
        }
        if text.contains('\0') {
            return Err(de::Error::custom("it cannot contain a NUL character"));
        }
        Ok(Text(text))
    }
}

/// A whole number from 0 to `MAX`.
struct Count<const MAX: u64>(u32);

impl<'de, const MAX: u64> Deserialize<'de> for Count<MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Count<MAX>, D::Error> {
        struct V<const M: u64>;
        impl<'de, const M: u64> Visitor<'de> for V<M> {
            type Value = Count<M>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a whole number from 0 to {M}")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Count<M>, E> {
                match u32::try_from(n) {
                    Ok(count) if n <= M => Ok(Count(count)),
                    _ => Err(E::custom(format!("{n} is too large (at most {M})"))),
                }
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Count<M>, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!("{n} is negative"))),
                }
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Count<M>, E> {
                Err(E::custom(format!("{n} is not a whole number")))
            }
        }
        deserializer.deserialize_u64(V::<MAX>)
    }
}

/// `{"KEY": "value"}`, in file order; later duplicates win.
struct Env(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Env {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Env, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Env;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings, e.g. {\"RUST_LOG\": \"info\"}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Env, A::Error> {
                let mut out: Vec<(String, String)> = Vec::new();
                while let Some(EnvKey(key)) = map.next_key()? {
                    let EnvValue(value) = map.next_value()?;
                    match out.iter_mut().find(|(old, _)| *old == key) {
                        Some(slot) => slot.1 = value,
                        None => out.push((key, value)),
                    }
                }
                Ok(Env(out))
            }
        }
        deserializer.deserialize_map(V)
    }
}

struct EnvKey(String);

impl<'de> Deserialize<'de> for EnvKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<EnvKey, D::Error> {
        let key = String::deserialize(deserializer)?;
        if key.is_empty() || key.contains(['=', '\0']) {
            return Err(de::Error::custom(format!(
                "{} is not a variable name (it must be non-empty, without `=`)",
                quoted(&key)
            )));
        }
        if key == "PORT" || key == "PS" {
            return Err(de::Error::custom(format!(
                "{key} is set by procman for each instance (PORT = base port + 100 × position + \
                 instance − 1); change the base port with -p or PORT in .env instead"
            )));
        }
        Ok(EnvKey(key))
    }
}

struct EnvValue(String);

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<EnvValue, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EnvValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string (quote numbers and booleans: \"3\", \"true\")")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<EnvValue, E> {
                if text.contains('\0') {
                    return Err(E::custom("an environment value cannot contain a NUL character"));
                }
                Ok(EnvValue(text.to_owned()))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// `"022"` or `22` (digits read as octal either way), at most `777`.
struct Umask(u32);

impl<'de> Deserialize<'de> for Umask {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Umask, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Umask;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an octal umask such as \"022\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Umask, E> {
                let digits = text.trim();
                let digits = digits.strip_prefix("0o").unwrap_or(digits);
                let bad = || E::custom(format!("{} is not an octal umask", quoted(text)));
                if digits.is_empty() || digits.len() > 4 {
                    return Err(bad());
                }
                let value = u32::from_str_radix(digits, 8).map_err(|_| bad())?;
                if value > 0o777 {
                    return Err(E::custom(format!("{} is past 777", quoted(text))));
                }
                Ok(Umask(value))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Umask, E> {
                self.visit_str(&n.to_string())
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Umask, E> {
                Err(E::custom(format!("{n} is not an octal umask")))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Umask, E> {
                Err(E::custom(format!("{n} is not an octal umask")))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `"TERM"`, `"SIGINT"` or a number.
struct SignalValue(Signal);

impl<'de> Deserialize<'de> for SignalValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SignalValue, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SignalValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a signal name such as \"TERM\", or its number")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<SignalValue, E> {
                text.parse::<Signal>()
                    .map(SignalValue)
                    .map_err(|_| E::custom(format!("{} is not a signal", quoted(text))))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<SignalValue, E> {
                self.visit_str(&n.to_string())
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<SignalValue, E> {
                Err(E::custom(format!("{n} is not a signal")))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `"500ms"`, `"2s"`, `"1m"`, or a number of seconds.
struct DurationValue(Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<DurationValue, D::Error> {
        deserializer.deserialize_any(DurationVisitor).map(DurationValue)
    }
}

struct DurationVisitor;

impl<'de> Visitor<'de> for DurationVisitor {
    type Value = Duration;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"500ms\" or \"2s\", or a number of seconds")
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
        parse_duration(text).map_err(|message| {
            if message.ends_with("out of range") {
                E::custom(format!("{} is out of range (at most a year)", quoted(text)))
            } else {
                E::custom(format!("{} is not a duration (units: ms, s, m, h)", quoted(text)))
            }
        })
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Duration, E> {
        self.visit_f64(n as f64)
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Duration, E> {
        self.visit_f64(n as f64)
    }
    fn visit_f64<E: de::Error>(self, seconds: f64) -> Result<Duration, E> {
        if seconds < 0.0 {
            return Err(E::custom(format!("{seconds} is negative")));
        }
        if !seconds.is_finite() || seconds > MAX_SECONDS {
            return Err(E::custom(format!("{seconds} is out of range (at most a year)")));
        }
        Ok(Duration::from_secs_f64(seconds))
    }
}

/// `"never"`, `"on-failure"`, `"always"`.
struct RestartValue(RestartPolicy);

impl<'de> Deserialize<'de> for RestartValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RestartValue, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RestartValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"never\", \"on-failure\" or \"always\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RestartValue, E> {
                parse_restart(text)
                    .map(RestartValue)
                    .map_err(|_| E::custom(format!("{} is not a restart policy", quoted(text))))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// An exit code, 0 to 255.
struct ExitCode(i32);

impl<'de> Deserialize<'de> for ExitCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ExitCode, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ExitCode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an exit code from 0 to 255")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<ExitCode, E> {
                match i32::try_from(n) {
                    Ok(code) if code <= 255 => Ok(ExitCode(code)),
                    _ => Err(E::custom(format!("{n} is not an exit code (0 to 255)"))),
                }
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<ExitCode, E> {
                Err(E::custom(format!("{n} is not an exit code (0 to 255)")))
            }
        }
        deserializer.deserialize_u64(V)
    }
}

/// A duration (the first delay, doubling up to a cap, as `--backoff`), or
/// `{"initial": "1s", "factor": 2, "max": "30s"}`.
struct BackoffValue(Backoff);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BackoffObject {
    initial: Option<DurationValue>,
    factor: Option<f64>,
    max: Option<DurationValue>,
}

impl<'de> Deserialize<'de> for BackoffValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<BackoffValue, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BackoffValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a duration such as \"1s\", or {\"initial\": \"1s\", \"factor\": 2, \"max\": \
                     \"30s\"}",
                )
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<BackoffValue, E> {
                DurationVisitor.visit_str(text).map(|d| BackoffValue(backoff_from(d)))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<BackoffValue, E> {
                DurationVisitor.visit_u64(n).map(|d| BackoffValue(backoff_from(d)))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<BackoffValue, E> {
                DurationVisitor.visit_i64(n).map(|d| BackoffValue(backoff_from(d)))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<BackoffValue, E> {
                DurationVisitor.visit_f64(n).map(|d| BackoffValue(backoff_from(d)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<BackoffValue, A::Error> {
                let object =
                    BackoffObject::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let initial = object.initial.map_or(Backoff::default().initial, |d| d.0);
                let factor = object.factor.unwrap_or(2.0);
                if !factor.is_finite() || !(1.0..=100.0).contains(&factor) {
                    return Err(de::Error::custom(format!(
                        "the factor {factor} is out of range (1 to 100; 1 keeps the delay fixed)"
                    )));
                }
                let max = object.max.map_or_else(|| backoff_from(initial).max, |d| d.0);
                if max < initial {
                    return Err(de::Error::custom(format!(
                        "max ({}) is shorter than initial ({})",
                        show(max),
                        show(initial)
                    )));
                }
                Ok(BackoffValue(Backoff { initial, factor, max }))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<BackoffValue, A::Error> {
                Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `1.5s`, `250ms`.
fn show(duration: Duration) -> String {
    if duration.subsec_millis() != 0 && duration.as_secs() == 0 {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests;
