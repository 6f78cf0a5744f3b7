//! The Procfile: Foreman's grammar, `^([A-Za-z0-9_-]+):\s*(.+)$` per line after CRLF→LF, with
//! `#` comment lines and blank lines skipped and the order of entries kept.
//!
//! Foreman silently drops every other line (no colon, a name with `.` or a space, an empty
//! command, an indented line) and accepts duplicate names. A dropped line is almost always a
//! mistake that surfaces later as "why doesn't my worker start?", so procman reports each one with
//! `file:line`, the line and the fix; `check` fails and `start` starts nothing. See
//! `docs/procfile.md`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Diagnostics, file_label, fragment, size};
use crate::input::encoding;
use crate::input::{self, ReadError};

/// The largest Procfile read, so `-f /dev/zero` fails at once.
pub const MAX_PROCFILE_BYTES: u64 = 4 << 20;
/// The longest Procfile line accepted; a longer command belongs in a script.
pub const MAX_LINE_BYTES: usize = 64 << 10;

/// A parsed Procfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Procfile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its entries, in file order.
    pub entries: Vec<ProcfileEntry>,
}

/// One `name: command` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcfileEntry {
    /// The process type's name: ASCII letters, digits, `_` and `-`.
    pub name: String,
    /// The command, with surrounding whitespace removed.
    pub command: String,
    /// The line it is on, from 1.
    pub line: usize,
}

impl Procfile {
    /// Reads and parses the Procfile at `path`.
    pub fn load(path: &Path) -> Result<Procfile, Diagnostics> {
        match input::read_capped(path, MAX_PROCFILE_BYTES) {
            Ok(bytes) => Procfile::parse(path, &bytes),
            Err(ReadError::NotFound) => Err(missing(path).into()),
            Err(error) => Err(input::read_error(path, error, MAX_PROCFILE_BYTES).into()),
        }
    }

    /// Like [`Procfile::load`], but a missing file is `Ok(None)` (`run` uses the Procfile only
    /// if there is one).
    pub fn load_if_present(path: &Path) -> Result<Option<Procfile>, Diagnostics> {
        match input::read_capped(path, MAX_PROCFILE_BYTES) {
            Ok(bytes) => Procfile::parse(path, &bytes).map(Some),
            Err(ReadError::NotFound) => Ok(None),
            Err(error) => Err(input::read_error(path, error, MAX_PROCFILE_BYTES).into()),
        }
    }

    /// Parses Procfile bytes; `path` is used in messages only. Reports every bad line.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Procfile, Diagnostics> {
        let text = encoding::decode(path, bytes, "a Procfile")?;
        let label = file_label(path);
        let mut entries: Vec<ProcfileEntry> = Vec::new();
        let mut first_line: HashMap<String, (usize, &str)> = HashMap::new();
        let mut diagnostics = Diagnostics::default();
        // Only a fix hint needs them: a clean Procfile never lists its names twice.
        let mut names: Option<Names> = None;

        for (index, line) in text.split('\n').enumerate() {
            let number = index + 1;
            if line.len() > MAX_LINE_BYTES {
                diagnostics.push_with(|| too_long(path, &label, number, line));
                continue;
            }
            match classify(line) {
                Line::Skip => {}
                Line::Entry { name, command } => {
                    if let Some(&first) = first_line.get(name) {
                        diagnostics.push_with(|| {
                            duplicate(
                                path,
                                &label,
                                name,
                                first,
                                number,
                                line,
                                names.get_or_insert_with(|| Names::of(&text)),
                            )
                        });
                        continue;
                    }
                    first_line.insert(name.to_owned(), (number, line));
                    entries.push(ProcfileEntry {
                        name: name.to_owned(),
                        command: command.to_owned(),
                        line: number,
                    });
                }
                Line::Bad(problem) => {
                    diagnostics.push_with(|| {
                        problem.diagnostic(
                            path,
                            &label,
                            number,
                            line,
                            names.get_or_insert_with(|| Names::of(&text)),
                        )
                    });
                }
            }
        }
        if diagnostics.is_empty() && entries.is_empty() {
            diagnostics.push(
                Diagnostic::new("no processes defined")
                    .in_file(path)
                    .with_help("add a line `name: command`, e.g. `web: bundle exec puma`"),
            );
        }
        diagnostics.into_result(Procfile { path: path.to_path_buf(), entries })
    }

    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Option<&ProcfileEntry> {
        self.entries.iter().find(|entry| entry.name == name)
    }

    /// The names, in file order.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|entry| entry.name.as_str()).collect()
    }
}

/// `check`'s success line, Foreman's exact wording: `valid procfile detected (web, worker)`.
pub fn check_message(procfile: &Procfile) -> String {
    format!("valid procfile detected ({})", procfile.names().join(", "))
}

/// True for the characters Foreman's regex allows in a name: `[A-Za-z0-9_-]`.
pub fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// True for a valid process name.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(is_name_char)
}

/// Ruby's `\s`, which is what Foreman's regex skips after the colon.
fn is_ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\x0b' | '\x0c')
}

/// What one line is.
#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    /// Blank or a comment.
    Skip,
    /// A valid entry.
    Entry { name: &'a str, command: &'a str },
    /// A line Foreman would have dropped.
    Bad(Problem<'a>),
}

/// Why a line is not an entry. Columns are in characters, from 1.
#[derive(Debug, PartialEq, Eq)]
enum Problem<'a> {
    /// No `:` after a name: `web bundle exec puma`.
    NoColon { body: &'a str },
    /// Nothing before the `:`.
    NoName { column: usize, command: &'a str },
    /// A character outside `[A-Za-z0-9_-]` in the name.
    BadName { name: &'a str, bad: char, column: usize, command: &'a str },
    /// Whitespace between a valid name and the `:`: `web : cmd`.
    SpaceBeforeColon { name: &'a str, column: usize, command: &'a str },
    /// Nothing after the `:`.
    NoCommand { name: &'a str, column: usize },
    /// A valid entry, but indented.
    Indented { indent: usize, body: &'a str },
}

impl<'a> Line<'a> {
    /// The name the line defines, or means to: an entry's, and that of an entry with a fixable
    /// flaw (`web : x`, `web:`, `  web: x`), whose fix defines it.
    fn name(&self) -> Option<&'a str> {
        match *self {
            Line::Entry { name, .. }
            | Line::Bad(Problem::SpaceBeforeColon { name, .. })
            | Line::Bad(Problem::NoCommand { name, .. }) => Some(name),
            Line::Bad(Problem::Indented { body, .. }) => {
                parse_body(body).ok().map(|(name, _)| name)
            }
            Line::Skip | Line::Bad(_) => None,
        }
    }
}

/// The process names a fix may not suggest: those the Procfile defines (or means to, see
/// [`Line::name`]) anywhere in the file, and those already suggested, so that following one
/// hint never leads to "defines `web` twice", nor following two of them.
struct Names {
    taken: HashSet<String>,
    /// For each base claimed, the suffix to try next, so that a file of `web2:` to `web99999:`
    /// lines and many `web` lines to fix is not searched from `web2` for each of them.
    next: HashMap<String, usize>,
}

impl Names {
    fn of(text: &str) -> Names {
        let taken = text
            .split('\n')
            .filter(|line| line.len() <= MAX_LINE_BYTES)
            .filter_map(|line| classify(line).name())
            .map(str::to_owned)
            .collect();
        Names { taken, next: HashMap::new() }
    }

    /// True if `name` may still be suggested.
    fn is_free(&self, name: &str) -> bool {
        !self.taken.contains(name)
    }

    /// `base` if it is free, else the first free of `base2`, `base3`, ...; taken from now on.
    fn claim(&mut self, base: &str) -> String {
        let mut name = base.to_owned();
        let next = self.next.entry(base.to_owned()).or_insert(2);
        // Each name tried is taken, and only `taken.len()` of them are, so this ends.
        while self.taken.contains(&name) {
            name = format!("{base}{next}");
            *next += 1;
        }
        self.taken.insert(name.clone());
        name
    }
}

fn classify(line: &str) -> Line<'_> {
    let body = line.trim_start();
    if body.trim_end().is_empty() || body.starts_with('#') {
        return Line::Skip;
    }
    let indent = line.len() - body.len();
    match parse_body(body) {
        Ok((name, command)) if indent == 0 => Line::Entry { name, command },
        Ok(_) => Line::Bad(Problem::Indented { indent: line[..indent].chars().count(), body }),
        Err(problem) => Line::Bad(shift(problem, line[..indent].chars().count())),
    }
}

/// Moves a problem's column right by `by` characters (the indentation that was removed).
fn shift(problem: Problem<'_>, by: usize) -> Problem<'_> {
    match problem {
        Problem::NoName { column, command } => Problem::NoName { column: column + by, command },
        Problem::BadName { name, bad, column, command } => {
            Problem::BadName { name, bad, column: column + by, command }
        }
        Problem::NoCommand { name, column } => Problem::NoCommand { name, column: column + by },
        Problem::SpaceBeforeColon { name, column, command } => {
            Problem::SpaceBeforeColon { name, column: column + by, command }
        }
        other => other,
    }
}

/// `name: command` without leading whitespace.
fn parse_body(body: &str) -> Result<(&str, &str), Problem<'_>> {
    let Some(colon) = body.find(':') else {
        return Err(Problem::NoColon { body });
    };
    let name = &body[..colon];
    let command =
        body[colon + 1..].trim_start_matches(is_ruby_space).trim_end_matches(is_ruby_space);
    if name.is_empty() {
        return Err(Problem::NoName { column: 1, command });
    }
    let trimmed = name.trim_end();
    if trimmed.len() < name.len() && is_valid_name(trimmed) {
        let column = trimmed.chars().count() + 1;
        return Err(Problem::SpaceBeforeColon { name: trimmed, column, command });
    }
    if let Some((position, bad)) = name.chars().enumerate().find(|&(_, c)| !is_name_char(c)) {
        // `web bundle exec puma -b tcp://0.0.0.0` has a colon, but far from any name: it is a
        // missing colon, not a name with spaces. A short run of name-like words (`my web:`) is a
        // name with spaces, unless it starts with a program (`rake db:migrate`).
        let words: Vec<&str> = name.split_whitespace().collect();
        let name_like = words.len() <= 3
            && words.iter().all(|word| is_valid_name(word))
            && !words.first().is_some_and(|first| is_known_program(first));
        if bad.is_whitespace() && !name_like {
            return Err(Problem::NoColon { body });
        }
        return Err(Problem::BadName { name, bad, column: position + 1, command });
    }
    if command.is_empty() {
        return Err(Problem::NoCommand { name, column: name.chars().count() + 2 });
    }
    Ok((name, command))
}

/// Foreman's own handling of a bad line, for the migration note.
const FOREMAN_DROPPED: &str = "Foreman silently skips this line, so the process never runs";

impl Problem<'_> {
    fn diagnostic(
        &self,
        path: &Path,
        label: &str,
        number: usize,
        line: &str,
        names: &mut Names,
    ) -> Diagnostic {
        let at = Diagnostic::new(String::new()).at_line(path, number, line);
        let diagnostic = match *self {
            Problem::NoColon { body } => Diagnostic {
                message: format!(
                    "{label} line {number} has no `:` separating a name from a command"
                ),
                help: Some(no_colon_help(body, names)),
                ..at
            },
            Problem::NoName { column, command } => Diagnostic {
                message: format!("{label} line {number} has no process name before `:`"),
                help: Some(format!(
                    "put a name made of letters, digits, `_` and `-` before the colon, e.g. `{}: {}`",
                    names.claim(&suggested_name(&command.split_whitespace().collect::<Vec<_>>())),
                    fragment(command)
                )),
                ..at.with_column(column, 1)
            },
            Problem::BadName { name, bad, column, command } => {
                let fixed: String =
                    name.trim().chars().map(|c| if is_name_char(c) { c } else { '_' }).collect();
                let fixed = names.claim(&fixed);
                let what = match bad {
                    ' ' => "a space".to_owned(),
                    '\t' => "a tab".to_owned(),
                    c => format!("`{}`", fragment(&c.to_string())),
                };
                let mut help = format!(
                    "names may contain only ASCII letters, digits, `_` and `-`: write `{}: {}`",
                    fragment(&fixed),
                    fragment(command)
                );
                let first = name.split_whitespace().next().unwrap_or_default();
                if bad.is_whitespace() && is_valid_name(first) && names.is_free(first) {
                    names.claim(first);
                    let rest = fragment(line.trim_start()[first.len()..].trim_start());
                    help.push_str(&format!(", or, if the name is `{first}`, `{first}: {rest}`"));
                }
                Diagnostic {
                    message: format!(
                        "{label} line {number}: process name `{}` contains {what}",
                        fragment(name)
                    ),
                    help: Some(help),
                    ..at.with_column(column, 1)
                }
            }
            Problem::SpaceBeforeColon { name, column, command } => Diagnostic {
                message: format!("{label} line {number} has whitespace between `{name}` and `:`"),
                help: Some(format!(
                    "put the colon right after the name: `{name}: {}`",
                    fragment(command)
                )),
                ..at.with_column(column, 1)
            },
            Problem::NoCommand { name, column } => Diagnostic {
                message: format!("{label} line {number} gives `{name}` no command"),
                help: Some(format!(
                    "write the command after the colon, e.g. `{name}: ./bin/{name}`"
                )),
                ..at.with_column(column, 1)
            },
            Problem::Indented { indent, body } => Diagnostic {
                message: format!("{label} line {number} is indented"),
                help: Some(format!("remove the leading whitespace: `{}`", fragment(body))),
                ..at.with_column(1, indent)
            },
        };
        diagnostic.with_note(FOREMAN_DROPPED)
    }
}

/// Programs that only run another program (an interpreter, a package manager, a wrapper): a
/// line starting with one is a command without a name, and the word never names the process.
const RUNNERS: &[&str] = &[
    "bash", "bin", "bun", "bundle", "cargo", "deno", "docker", "dotnet", "env", "exec", "go",
    "java", "mix", "node", "npm", "npx", "perl", "php", "pnpm", "python", "python3", "ruby", "run",
    "sh", "yarn",
];

/// Programs that are the process: a line starting with one is a command without a name, and
/// the program's name is a good name for it (`sidekiq: bundle exec sidekiq`).
const SERVERS: &[&str] = &["celery", "gunicorn", "make", "rails", "rake", "sidekiq", "uvicorn"];

/// True for a word of [`RUNNERS`] or [`SERVERS`].
fn is_known_program(word: &str) -> bool {
    RUNNERS.contains(&word) || SERVERS.contains(&word)
}

/// The fix for a line without a colon. When its first word is a program (`python manage.py
/// migrate`), the line is a command that needs a name, never `python: manage.py migrate`;
/// otherwise the first word may be a name missing its colon, and both readings are offered.
/// Every name offered is free ([`Names`]).
fn no_colon_help(body: &str, names: &mut Names) -> String {
    let words: Vec<&str> = body.split_whitespace().collect();
    let first = words.first().copied().unwrap_or_default();
    let command = fragment(body.trim());
    let is_program = first.contains(['/', '.']) || is_known_program(first) || words.len() == 1;
    // A first word the file already uses as a name cannot be this line's name too.
    let first_is_name = !is_program && is_valid_name(first) && names.is_free(first);
    if first_is_name {
        names.claim(first);
    }
    let name = names.claim(&suggested_name(&words));
    if first_is_name {
        let rest = fragment(body.trim()[first.len()..].trim_start());
        format!(
            "write it as `name: command`: `{first}: {rest}` if `{first}` is the name, or give the \
             command a name, e.g. `{name}: {command}`"
        )
    } else {
        format!(
            "the line has no process name: write it as `name: command`, e.g. `{name}: {command}`"
        )
    }
}

/// The name a fix suggests for a command, before [`Names::claim`] makes it free: the command's
/// last word that reads as a name (`migrate` for `python manage.py migrate`, `puma` for `bundle
/// exec puma -p 3000`, `sidekiq` for `bundle exec sidekiq -C config/sidekiq.yml`), skipping
/// options, their values, numbers and runners; else the program's own name (`rake` for `rake`);
/// else `web`.
fn suggested_name(words: &[&str]) -> String {
    let stem = |word: &str| -> Option<String> {
        let base = word.rsplit('/').next().unwrap_or(word);
        let stem = base.split('.').next().unwrap_or(base).to_ascii_lowercase();
        let usable = is_valid_name(&stem)
            && !stem.starts_with('-')
            && !stem.bytes().all(|b| b.is_ascii_digit() || b == b'_' || b == b'-');
        usable.then_some(stem)
    };
    let mut best = None;
    let mut after_short_option = false;
    for word in words.iter().skip(1) {
        if word.starts_with('-') {
            after_short_option = word.len() == 2;
            continue;
        }
        if !std::mem::take(&mut after_short_option) {
            best = stem(word).filter(|stem| !RUNNERS.contains(&stem.as_str())).or(best);
        }
    }
    best.or_else(|| words.first().and_then(|first| stem(first))).unwrap_or_else(|| "web".into())
}

fn missing(path: &Path) -> Diagnostic {
    let shown = crate::diagnostic::sanitize(&path.display().to_string(), 200);
    let diagnostic = Diagnostic::new(format!("{shown} does not exist")).in_file(path);
    let others = other_procfiles(path);
    let Some(best) = others.iter().find(|name| *name == "Procfile.dev").or(others.first()) else {
        return diagnostic.with_help(
            "create it with lines such as `web: bundle exec puma`, or name another file with \
             `-f/--procfile` (or the app directory with `-d/--root`)",
        );
    };
    let suggested = path.with_file_name(best);
    let suggested = crate::diagnostic::sanitize(&suggested.display().to_string(), 200);
    let diagnostic = diagnostic.with_help(format!("did you mean -f {suggested}?"));
    if others.len() > 1 {
        let names: Vec<&str> = others.iter().map(String::as_str).collect();
        diagnostic.with_note(format!("Procfiles here: {}", crate::diagnostic::list(&names)))
    } else {
        diagnostic
    }
}

/// The files beside `path` whose names start with `Procfile.`, sorted (at most 100 of them).
fn other_procfiles(path: &Path) -> Vec<String> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let own = path.file_name();
    let mut names: Vec<String> = entries
        .take(10_000)
        .filter_map(|entry| entry.ok())
        .filter(|entry| Some(entry.file_name().as_os_str()) != own)
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.starts_with("Procfile.") && !name.ends_with('~'))
        .take(100)
        .collect();
    names.sort();
    names
}

fn too_long(path: &Path, label: &str, number: usize, line: &str) -> Diagnostic {
    Diagnostic::new(format!(
        "{label} line {number} is {} bytes long, more than the {} a Procfile line may have",
        line.len(),
        size(MAX_LINE_BYTES as u64)
    ))
    .at_line(path, number, line)
    .with_help("move the command into a script and call the script from the Procfile")
}

fn duplicate(
    path: &Path,
    label: &str,
    name: &str,
    (first, first_text): (usize, &str),
    number: usize,
    line: &str,
    names: &mut Names,
) -> Diagnostic {
    Diagnostic::new(format!("{label} defines `{name}` twice, on lines {first} and {number}"))
        .at_line(path, number, line)
        .with_column(1, name.chars().count())
        .with_note(format!("line {first} is `{}`", fragment(first_text)))
        .with_note("Foreman starts both under the same name, and `run` and `start NAME` see only the second")
        .with_help(format!("give each process its own name, e.g. `{}`", names.claim(name)))
}

#[cfg(test)]
mod tests;
