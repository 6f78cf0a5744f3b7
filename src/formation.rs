//! The formation: how many instances of each process type to run (`-m web=2,worker=0,all=1`,
//! `start web=3`, `start web`).
//!
//! Foreman's parsing is kept (whitespace removed, split on `,` then `=`, `all=N` sets the count
//! of every process not named, and without `-m` every process runs once), but where Foreman
//! guesses (unknown names ignored, `web=x` read as 0, `web` alone read as 0) procman refuses with
//! a message: a typo in a formation otherwise silently starts the wrong set of processes.

use std::collections::{HashMap, HashSet};

use crate::diagnostic::{Diagnostic, Diagnostics, closest, fragment, list, sanitize};
use crate::procfile::Procfile;

/// The most instances one run may hold, all process types together: the limit of `start`'s
/// formation, `-m`, `instances` in the config file and `procman scale` alike. It bounds file
/// descriptors and processes (each instance takes a pipe and a pid), and a count past 100 already
/// makes one type's PORTs run into the next type's. A lower limit of open files lowers it further
/// ([`InstanceLimit`]).
pub const MAX_INSTANCES: u32 = 1000;

/// Descriptors `procman start` holds per instance: the read end of its output pipe, and of its
/// exec-status pipe until the exec is confirmed (a formation's instances all start at once).
pub const DESCRIPTORS_PER_INSTANCE: u64 = 2;

/// Descriptors `procman start` keeps for itself, whatever the formation: the standard streams and
/// its own handle on standard output, the poll instance, the signal pipe, the control socket and
/// up to 64 control clients, reading `/proc`, and the four pipe ends of a spawn in progress.
pub const RESERVED_DESCRIPTORS: u64 = 96;

/// How many instances a run may hold: [`MAX_INSTANCES`], or fewer when the limit of open files
/// (`RLIMIT_NOFILE`, after `procman start` raised its soft limit to the hard one) cannot hold that
/// many. One value, checked by `start` against its formation and by `scale` against the new total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstanceLimit {
    /// The most instances.
    pub max: u32,
    /// The limit of open files it was computed from, when that is what lowered it.
    pub open_files: Option<u64>,
}

impl Default for InstanceLimit {
    fn default() -> InstanceLimit {
        InstanceLimit { max: MAX_INSTANCES, open_files: None }
    }
}

impl InstanceLimit {
    /// The limit for a process that may hold `open_files` descriptors.
    pub fn for_open_files(open_files: u64) -> InstanceLimit {
        let fit = open_files.saturating_sub(RESERVED_DESCRIPTORS) / DESCRIPTORS_PER_INSTANCE;
        match u32::try_from(fit) {
            Ok(fit) if fit < MAX_INSTANCES => {
                InstanceLimit { max: fit, open_files: Some(open_files) }
            }
            _ => InstanceLimit::default(),
        }
    }

    /// Checks a total; the error says what the limit is and why, for `what` (`the formation
    /// asks for`, `scaling would make`).
    pub fn check(&self, total: u64, what: &str) -> Result<(), String> {
        if total <= u64::from(self.max) {
            return Ok(());
        }
        Err(match self.open_files {
            None => format!("{what} {total} instances in total; procman runs at most {}", self.max),
            Some(open_files) => format!(
                "{what} {total} instances in total, but procman may open only {open_files} files \
                 (RLIMIT_NOFILE, its hard limit), enough for {} instances ({} descriptors each, \
                 {} for procman itself)",
                self.max, DESCRIPTORS_PER_INSTANCE, RESERVED_DESCRIPTORS
            ),
        })
    }

    /// What to do about a refusal.
    pub fn help(&self) -> &'static str {
        if self.open_files.is_some() {
            "lower the counts, or raise the hard limit of open files where procman starts \
             (`ulimit -n` in its shell, `LimitNOFILE=` in its systemd service)"
        } else {
            "lower the counts (`all=N` applies to every process type not named)"
        }
    }
}

/// A parsed formation, not yet checked against a Procfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Formation {
    /// The count of every process not named: `all=N`; 1 without any formation (Foreman's
    /// default `all=1`), 0 when a formation is given without `all`.
    pub default: u32,
    /// The named counts, in the order given.
    pub items: Vec<FormationItem>,
    /// Where it came from (`-m/--formation`), for messages.
    pub origin: String,
    /// Its text as given, for messages.
    pub text: String,
    /// True for `start NAME`: one process, named on the command line.
    pub single: bool,
}

/// `name=count`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormationItem {
    /// The process type.
    pub name: String,
    /// Its instance count.
    pub count: u32,
    /// Where it is in the formation's text: (column from 1, length), in characters.
    pub span: (usize, usize),
}

impl Default for Formation {
    /// No formation given: every process once.
    fn default() -> Formation {
        Formation::all(1)
    }
}

impl Formation {
    /// Every process `count` times.
    pub fn all(count: u32) -> Formation {
        Formation {
            default: count,
            items: Vec::new(),
            origin: String::new(),
            text: format!("all={count}"),
            single: false,
        }
    }

    /// `start NAME`: that one process, once, and nothing else.
    pub fn single(name: &str, origin: &str) -> Formation {
        let span = (1, name.chars().count());
        Formation {
            default: 0,
            items: vec![FormationItem { name: name.to_owned(), count: 1, span }],
            origin: origin.to_owned(),
            text: name.to_owned(),
            single: true,
        }
    }

    /// `start ARG`: a formation if it holds `=` or `,` (`web=3`), else one process name.
    pub fn from_process_arg(arg: &str, origin: &str) -> Result<Formation, Diagnostics> {
        if arg.contains(['=', ',']) {
            Formation::parse(arg, origin)
        } else {
            Ok(Formation::single(arg.trim(), origin))
        }
    }

    /// Parses `web=2,worker=0,all=1`; `origin` names where the text came from. Every malformed
    /// item is reported.
    pub fn parse(text: &str, origin: &str) -> Result<Formation, Diagnostics> {
        let mut formation = Formation {
            default: 0,
            items: Vec::new(),
            origin: origin.to_owned(),
            text: text.to_owned(),
            single: false,
        };
        let mut diagnostics = Diagnostics::default();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut column = 1;
        for raw in text.split(',') {
            let span = (column, raw.chars().count());
            column += raw.chars().count() + 1;
            // Foreman removes all whitespace (Ruby's `\s`) before splitting.
            let item: String = raw.chars().filter(|c| !is_ruby_space(*c)).collect();
            if item.is_empty() {
                // `web=1,` or `a=1,,b=2`: harmless, as in Foreman.
                continue;
            }
            let (name, count) = match parse_item(&item) {
                Ok(parsed) => parsed,
                Err((message, help)) => {
                    // Built only if kept: each diagnostic holds the whole text, so building the
                    // dropped ones too would make 60,000 bad items quadratic.
                    diagnostics.push_with(|| formation.at(span, message).with_help(help));
                    continue;
                }
            };
            if let Some(previous) = seen.insert(name.to_owned(), span.0) {
                diagnostics.push_with(|| {
                    let message = format!(
                        "`{}` is given twice in the formation (columns {previous} and {})",
                        fragment(name),
                        span.0
                    );
                    formation
                        .at(span, message)
                        .with_help("give each process type one count, e.g. `web=2,worker=1`")
                });
                continue;
            }
            if name == "all" {
                formation.default = count;
            } else {
                formation.items.push(FormationItem { name: name.to_owned(), count, span });
            }
        }
        diagnostics.into_result(formation)
    }

    /// The instance count of every Procfile entry, in Procfile order. Fails on a name the
    /// Procfile does not define, on more than [`MAX_INSTANCES`] instances in total, and on a
    /// formation that starts nothing.
    pub fn resolve(&self, procfile: &Procfile) -> Result<Vec<u32>, Diagnostics> {
        // Maps, not searches: a huge Procfile and a huge formation must not multiply.
        let known: HashSet<&str> =
            procfile.entries.iter().map(|entry| entry.name.as_str()).collect();
        let mut diagnostics = Diagnostics::default();
        for item in self.items.iter().filter(|item| !known.contains(item.name.as_str())) {
            diagnostics.push_with(|| self.unknown(item, procfile));
        }
        if !diagnostics.is_empty() {
            return Err(diagnostics);
        }
        let named: HashMap<&str, u32> =
            self.items.iter().map(|item| (item.name.as_str(), item.count)).collect();
        let counts: Vec<u32> = procfile
            .entries
            .iter()
            .map(|entry| named.get(entry.name.as_str()).copied().unwrap_or(self.default))
            .collect();
        let total: u64 = counts.iter().map(|&count| u64::from(count)).sum();
        let limit = InstanceLimit::default();
        if let Err(message) = limit.check(total, "the formation asks for") {
            let diagnostic =
                self.at((1, self.text.chars().count()), message).with_help(limit.help());
            return Err(diagnostic.into());
        }
        if total == 0 {
            let diagnostic = self
                .at((1, self.text.chars().count()), "the formation starts no process".to_owned())
                .with_help(format!(
                    "give at least one process a count above 0, e.g. `{}=1`",
                    procfile.entries.first().map_or("web", |entry| entry.name.as_str())
                ));
            return Err(diagnostic.into());
        }
        Ok(counts)
    }

    /// A diagnostic pointing at `span` of the formation's text.
    fn at(&self, span: (usize, usize), message: String) -> Diagnostic {
        let origin = if self.origin.is_empty() { "formation" } else { self.origin.as_str() };
        Diagnostic::new(message).with_origin(origin, Some(&self.text)).with_column(span.0, span.1)
    }

    fn unknown(&self, item: &FormationItem, procfile: &Procfile) -> Diagnostic {
        let names = procfile.names();
        let message = if self.single {
            format!("there is no process `{}` in the Procfile", fragment(&item.name))
        } else {
            format!("unknown process `{}` in the formation", fragment(&item.name))
        };
        let mut help = format!("the Procfile defines: {}", list(&names));
        if let Some(close) = closest(&item.name, &names) {
            help.push_str(&format!("; did you mean `{close}`?"));
        }
        self.at(item.span, message)
            .with_note(format!(
                "defined in {}",
                sanitize(&procfile.path.display().to_string(), 200)
            ))
            .with_help(help)
    }
}

/// Ruby's `\s`.
fn is_ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// `NAME=VALUE`, split at its first `=`, both sides trimmed; `None` without `=`. The one rule
/// for the items of a formation, of `procman scale` and of the per-type supervision options
/// (`--restart web=always`).
pub fn split_assignment(item: &str) -> Option<(&str, &str)> {
    item.split_once('=').map(|(name, value)| (name.trim(), value.trim()))
}

/// `name=count` → (name, count), or (message, help).
fn parse_item(item: &str) -> Result<(&str, u32), (String, String)> {
    let example = "write `name=count` items separated by commas, e.g. `web=2,worker=1`";
    let Some((name, count)) = split_assignment(item) else {
        return Err((
            format!("`{}` in the formation has no count", fragment(item)),
            format!("write `{}=1`", fragment(item)),
        ));
    };
    if count.contains('=') {
        return Err((
            format!("`{}` in the formation has more than one `=`", fragment(item)),
            example.to_owned(),
        ));
    }
    if name.is_empty() {
        return Err((
            format!("`{}` in the formation has no process name", fragment(item)),
            example.to_owned(),
        ));
    }
    if count.is_empty() {
        let range = format!(
            "a count is a whole number from 0 to {MAX_INSTANCES}, e.g. `{}=2`",
            fragment(name)
        );
        return Err((format!("`{}` in the formation has no count", fragment(item)), range));
    }
    parse_count(name, count).map(|count| (name, count))
}

/// The count of process type `name` as a formation and `procman scale` take it: a whole number
/// from 0 to [`MAX_INSTANCES`]; or (message, help) saying why not.
pub fn parse_count(name: &str, count: &str) -> Result<u32, (String, String)> {
    let range =
        format!("a count is a whole number from 0 to {MAX_INSTANCES}, e.g. `{}=2`", fragment(name));
    let shown = fragment(count);
    if let Some(digits) = count.strip_prefix('-')
        && !digits.is_empty()
        && digits.bytes().all(|byte| byte.is_ascii_digit())
    {
        return Err((format!("the count of `{}` is negative: `{shown}`", fragment(name)), range));
    }
    if count.is_empty() || !count.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err((
            format!("the count of `{}` is not a whole number: `{shown}`", fragment(name)),
            range,
        ));
    }
    match count.parse::<u64>() {
        Ok(value) if value <= u64::from(MAX_INSTANCES) => Ok(value as u32),
        _ => Err((
            format!("the count of `{}` is too large: `{shown}`", fragment(name)),
            format!("procman runs at most {MAX_INSTANCES} instances in all"),
        )),
    }
}

#[cfg(test)]
mod tests;
