//! Env files (`.env`, `-e a.env,b.env`), parsed with `dotenvy` without touching procman's own
//! environment.
//!
//! dotenvy gives `export` prefixes, quotes, escapes, comments and `${VAR}` interpolation, but its
//! `LineParse(text, index)` error carries no line number. procman feeds dotenvy one line per
//! `read` call and watches how far it has read, so every variable and every error is tied to its
//! `file:line`; each error gets a hint written from a small re-reading of the line (dotenvy stays
//! the only judge of what is accepted). Differences from Foreman's parser: `docs/env.md`.

use std::cell::Cell;
use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::diagnostic::{Diagnostic, Diagnostics, fragment};
use crate::input::{self, ReadError};
use crate::text::{self, file_label};

/// The largest env file read. Env files hold settings, not data; this still fits a few hundred
/// PEM certificates.
pub const MAX_ENV_FILE_BYTES: u64 = 1 << 20;

/// One variable, with where it was set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    /// The name.
    pub key: String,
    /// The value, after dotenvy's unquoting, unescaping and interpolation.
    pub value: String,
    /// The file that set it last.
    pub path: PathBuf,
    /// The line its assignment starts on, from 1.
    pub line: usize,
}

/// The variables of all env files: file order, later files and later lines winning, each key once
/// (the last value kept at the position of the first occurrence).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvFiles {
    /// The variables.
    pub vars: Vec<EnvVar>,
    /// The files that were read, in order (an absent default `.env` is not listed).
    pub files: Vec<PathBuf>,
}

impl EnvFiles {
    /// The variable `key`.
    pub fn get(&self, key: &str) -> Option<&EnvVar> {
        self.vars.iter().find(|var| var.key == key)
    }

    /// `(key, value)` pairs, in order.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.vars.iter().map(|var| (var.key.clone(), var.value.clone())).collect()
    }

    /// Sets `var`, replacing an earlier occurrence in place; `positions` indexes `vars` by key
    /// (a linear search would make a 1 MiB file of distinct keys quadratic).
    fn set(&mut self, var: EnvVar, positions: &mut HashMap<String, usize>) {
        match positions.get(&var.key) {
            Some(&at) => self.vars[at] = var,
            None => {
                positions.insert(var.key.clone(), self.vars.len());
                self.vars.push(var);
            }
        }
    }
}

/// `-e a.env,b.env` as a list of paths (empty items are dropped).
pub fn split_list(option: &str) -> Vec<PathBuf> {
    option.split(',').filter(|item| !item.trim().is_empty()).map(PathBuf::from).collect()
}

/// Loads the env files: with `named` = `None`, `<root>/.env` if it exists (Foreman's default);
/// otherwise exactly the named files, each of which must exist (relative paths are relative to
/// the working directory, as in Foreman). Every error of every file is reported.
pub fn load(root: &Path, named: Option<&[PathBuf]>) -> Result<EnvFiles, Diagnostics> {
    let mut env = EnvFiles::default();
    let mut positions = HashMap::new();
    let mut diagnostics = Diagnostics::default();
    let default = [root.join(".env")];
    let (paths, required) = match named {
        Some(paths) => (paths, true),
        None => (&default[..], false),
    };
    for path in paths {
        let bytes = match input::read_capped(path, MAX_ENV_FILE_BYTES) {
            Ok(bytes) => bytes,
            Err(ReadError::NotFound) if !required => continue,
            // Foreman reads the default `.env` only if it is a file (`File.file?`); a Python
            // virtualenv is often a directory called `.env`.
            Err(ReadError::Io(error))
                if !required && error.kind() == io::ErrorKind::IsADirectory =>
            {
                continue;
            }
            Err(ReadError::NotFound) => {
                let shown = crate::diagnostic::sanitize(&path.display().to_string(), 200);
                diagnostics.push(
                    Diagnostic::new(format!("env file {shown} does not exist"))
                        .in_file(path)
                        .with_help("check the path given to `-e/--env` (paths are relative to the working directory)"),
                );
                continue;
            }
            Err(error) => {
                diagnostics.push(input::read_error(path, error, MAX_ENV_FILE_BYTES));
                continue;
            }
        };
        env.files.push(path.clone());
        match parse(path, &bytes) {
            Ok(vars) => vars.into_iter().for_each(|var| env.set(var, &mut positions)),
            Err(errors) => diagnostics.extend(errors),
        }
    }
    diagnostics.into_result(env)
}

/// Parses one env file's bytes; `path` is used in messages. Later lines win within the file.
///
/// `${VAR}` and `$VAR` see procman's own environment first, then the lines above in the same file
/// (dotenvy's rule); see `docs/env.md`.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<EnvVar>, Diagnostics> {
    let text = text::decode(path, bytes, "an env file")?;
    let lines: Vec<&str> = text.split('\n').collect();
    // Byte offset where each line starts, to turn "bytes read so far" into a line number.
    let mut starts = Vec::with_capacity(lines.len());
    let mut offset = 0;
    for line in &lines {
        starts.push(offset);
        offset += line.len() + 1;
    }

    let read = Rc::new(Cell::new(0));
    let feeder = OneLineAtATime { data: text.as_bytes(), read: Rc::clone(&read) };
    let mut vars = Vec::new();
    let mut diagnostics = Diagnostics::default();
    let mut last_line = 0;
    for item in dotenvy::from_read_iter(feeder) {
        // dotenvy has read exactly through the end of this item's last line.
        let end = starts.partition_point(|&start| start < read.get()).max(1);
        let start = (last_line + 1..=end).find(|&n| is_content(lines[n - 1])).unwrap_or(end);
        last_line = end;
        match item {
            Ok((key, value)) => {
                vars.push(EnvVar { key, value, path: path.to_path_buf(), line: start })
            }
            Err(error) => diagnostics.push_with(|| line_error(path, &lines, start, end, &error)),
        }
    }
    diagnostics.into_result(vars)
}

/// A line dotenvy does not skip: neither blank nor a comment.
fn is_content(line: &str) -> bool {
    let trimmed = line.trim_start();
    !trimmed.is_empty() && !trimmed.starts_with('#')
}

/// A reader that returns at most one line per `read`, so that when dotenvy's `BufReader` has
/// handed over a line, nothing past it has been read: the position read so far then says which
/// line dotenvy is on.
struct OneLineAtATime<'a> {
    data: &'a [u8],
    read: Rc<Cell<usize>>,
}

impl Read for OneLineAtATime<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = self.data.get(self.read.get()..).unwrap_or_default();
        let line = memchr::memchr(b'\n', rest).map_or(rest.len(), |newline| newline + 1);
        let count = line.min(buf.len());
        buf[..count].copy_from_slice(&rest[..count]);
        self.read.set(self.read.get() + count);
        Ok(count)
    }
}

/// The diagnostic for an entry (lines `start..=end`) that dotenvy rejected.
fn line_error(
    path: &Path,
    lines: &[&str],
    start: usize,
    end: usize,
    error: &dotenvy::Error,
) -> Diagnostic {
    let label = file_label(path);
    let first = lines.get(start - 1).copied().unwrap_or_default();
    let at = Diagnostic::new(String::new()).at_line(path, start, first);
    let dotenvy::Error::LineParse(..) = error else {
        return Diagnostic { message: format!("{label} line {start}: {error}"), ..at };
    };
    let entry = lines[start - 1..end].join("\n");
    let reaches_end = lines[end..].iter().all(|line| !is_content(line));
    let problem = analyze(&entry);
    let diagnostic = match problem {
        Some(problem) => problem.diagnostic(&label, start, at),
        None if end > start && reaches_end => Diagnostic {
            message: format!(
                "{label} line {start}: a quoted value is never closed and runs to the end of the file"
            ),
            help: Some(
                "close the quote (a single-quoted value cannot end with `\\` in dotenvy)".into(),
            ),
            ..at
        },
        None => Diagnostic {
            message: format!("{label} line {start} cannot be parsed"),
            help: Some("write `KEY=value`; see docs/env.md for the accepted syntax".into()),
            ..at
        },
    };
    if end > start {
        diagnostic.with_note(format!("the value spans lines {start} to {end}"))
    } else {
        diagnostic
    }
}

/// What is wrong with a rejected entry; `column` is 1-based, in characters of the entry, and
/// dropped by the renderer when it is not on the first line.
#[derive(Debug, PartialEq, Eq)]
enum Problem {
    /// The key starts with a digit (Foreman took it).
    DigitKey { key: String },
    /// `=value`.
    NoKey,
    /// The line is not an assignment at all.
    NotAssignment,
    /// A key followed by something other than `=`: `MY-KEY=1` (`token` is `MY-KEY`).
    BadKeyChar { token: String, bad: char, column: usize },
    /// A key with no `=`.
    NoEquals { key: String },
    /// `KEY=a b`: whitespace outside quotes followed by more text.
    UnquotedSpace { key: String, value: String, column: usize },
    /// `\x` with x outside `\ ' " $ space n`.
    BadEscape { key: String, escape: char, column: usize },
    /// A quote that is never closed.
    Unclosed { key: String, quote: char, column: usize },
    /// `${NAME` without `}`.
    UnclosedBrace { key: String, column: usize },
    /// `"$NAME"`: dotenvy 0.15 keeps the quote after `$NAME` as text, so the quote stays open.
    QuoteAfterName { key: String, name: String, column: usize },
}

impl Problem {
    fn diagnostic(self, label: &str, line: usize, at: Diagnostic) -> Diagnostic {
        let first_line_chars = at.source.as_deref().map_or(0, |text| text.chars().count());
        let column = |column: usize, at: Diagnostic| {
            if column <= first_line_chars + 1 { at.with_column(column, 1) } else { at }
        };
        let note = match &self {
            Problem::DigitKey { .. } => Some("Foreman accepted keys starting with a digit"),
            Problem::UnquotedSpace { .. } => {
                Some("Foreman took the rest of the line as the value; dotenvy needs quotes")
            }
            Problem::BadEscape { .. } => {
                Some("Foreman kept backslashes in unquoted values as text")
            }
            _ => None,
        };
        let (message, help, at) = match self {
            Problem::DigitKey { key } => (
                format!("{label} line {line}: key `{}` starts with a digit", fragment(&key)),
                format!("env keys must start with a letter or `_`, e.g. `_{}`", fragment(&key)),
                at.with_column(1, 1),
            ),
            Problem::NoKey => (
                format!("{label} line {line} has no key before `=`"),
                "write `KEY=value`".to_owned(),
                at,
            ),
            Problem::NotAssignment => (
                format!("{label} line {line} is not a `KEY=value` assignment"),
                "write `KEY=value`; comment lines start with `#`".to_owned(),
                at,
            ),
            Problem::BadKeyChar { token, bad, column: col } => {
                let fixed: String = token
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' })
                    .collect();
                (
                    format!(
                        "{label} line {line}: key `{}` contains `{}`",
                        fragment(&token),
                        fragment(&bad.to_string())
                    ),
                    format!(
                        "env keys may contain only letters, digits, `_` and `.`, e.g. `{}`",
                        fragment(&fixed)
                    ),
                    column(col, at),
                )
            }
            Problem::NoEquals { key } => (
                format!("{label} line {line}: `{}` has no `=` and no value", fragment(&key)),
                format!("write `{0}=value`, or `{0}=` for an empty value", fragment(&key)),
                at,
            ),
            Problem::UnquotedSpace { key, value, column: col } => (
                format!("{label} line {line}: the value of `{key}` has unquoted whitespace"),
                format!("quote the value: {}", quoted_suggestion(&key, &value)),
                column(col, at),
            ),
            Problem::BadEscape { key, escape, column: col } => (
                format!(
                    "{label} line {line}: the value of `{key}` has the unknown escape `\\{}`",
                    fragment(&escape.to_string())
                ),
                "dotenvy knows only `\\\\`, `\\'`, `\\\"`, `\\$`, `\\ ` and `\\n`: write `\\\\` for a \
                 backslash, or put the value in single quotes, where nothing is escaped"
                    .to_owned(),
                column(col, at),
            ),
            Problem::Unclosed { key, quote, column: col } => {
                let which = if quote == '"' { "double" } else { "single" };
                (
                    format!("{label} line {line}: the value of `{key}` opens a {which} quote that is never closed"),
                    format!("close the quote with `{quote}`, or escape it as `\\{quote}`"),
                    column(col, at),
                )
            }
            Problem::UnclosedBrace { key, column: col } => (
                format!("{label} line {line}: `${{` in the value of `{key}` is never closed"),
                "write `${NAME}`, or `\\$` for a literal dollar sign".to_owned(),
                column(col, at),
            ),
            Problem::QuoteAfterName { key, name, column: col } => (
                format!(
                    "{label} line {line}: in the value of `{key}`, the `\"` right after `${name}` \
                     does not close the quote"
                ),
                format!(
                    "write `${{{name}}}` instead of `${name}` before a quote (dotenvy 0.15 reads the \
                     quote after `$NAME` as text)"
                ),
                column(col, at),
            ),
        };
        let diagnostic = Diagnostic { message, help: Some(help), ..at };
        match note {
            Some(note) => diagnostic.with_note(note),
            None => diagnostic,
        }
    }
}

/// `KEY="a b"`, or single quotes when double quotes would change the value.
fn quoted_suggestion(key: &str, value: &str) -> String {
    let value = fragment(value);
    if value.contains(['"', '\\', '$']) && !value.contains('\'') {
        format!("{key}='{value}'")
    } else {
        format!("{key}=\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Re-reads a rejected entry the way dotenvy does (`parse.rs` of dotenvy 0.15) to say why it was
/// rejected. `None` when this reading finds nothing wrong.
fn analyze(entry: &str) -> Option<Problem> {
    let line = entry.trim_end();
    let body = line.trim_start();
    let indent = line[..line.len() - body.len()].chars().count();
    let (key, rest, key_end) = match read_key(body) {
        Ok(found) => found,
        Err(problem) => return Some(problem),
    };
    let (key, rest, key_end) = if key == "export" && !rest.trim_start().starts_with('=') {
        let skipped = rest.len() - rest.trim_start().len();
        match read_key(rest.trim_start()) {
            Ok((key, rest2, end)) => (key, rest2, key_end + skipped + end),
            Err(problem) => return Some(problem),
        }
    } else {
        (key, rest, key_end)
    };
    let after_key = rest.trim_start();
    let Some(value) = after_key.strip_prefix('=') else {
        return Some(match rest.chars().next() {
            None => Problem::NoEquals { key: key.to_owned() },
            Some(c) if c.is_whitespace() => Problem::NotAssignment,
            Some(bad) => {
                let token_start = key_end - key.len();
                let token = body[token_start..]
                    .split(|c: char| c == '=' || c.is_whitespace())
                    .next()
                    .unwrap_or_default();
                Problem::BadKeyChar {
                    token: token.to_owned(),
                    bad,
                    column: indent + body[..key_end].chars().count() + 1,
                }
            }
        });
    };
    let value_trimmed = value.trim_start();
    let before_value = line.len() - value_trimmed.len();
    let base = line[..before_value].chars().count();
    analyze_value(value_trimmed).map(|(kind, index)| {
        let column = base + index + 1;
        let key = fragment(key);
        match kind {
            ValueProblem::UnquotedSpace => {
                Problem::UnquotedSpace { key, value: value_trimmed.to_owned(), column }
            }
            ValueProblem::BadEscape(escape) => Problem::BadEscape { key, escape, column },
            ValueProblem::Unclosed(quote) => Problem::Unclosed { key, quote, column },
            ValueProblem::UnclosedBrace => Problem::UnclosedBrace { key, column },
            ValueProblem::QuoteAfterName => {
                let name: String = value_trimmed
                    .chars()
                    .skip(index + 1)
                    .take_while(|c| c.is_alphanumeric())
                    .collect();
                Problem::QuoteAfterName { key, name: fragment(&name), column }
            }
        }
    })
}

/// dotenvy's key: `[A-Za-z_][A-Za-z0-9_.]*`. Returns the key, the rest and the key's byte length.
fn read_key(text: &str) -> Result<(&str, &str, usize), Problem> {
    match text.chars().next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        Some('=') => return Err(Problem::NoKey),
        Some(c) if c.is_ascii_digit() => {
            let end =
                text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len());
            return Err(Problem::DigitKey { key: text[..end].to_owned() });
        }
        _ => return Err(Problem::NotAssignment),
    }
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(text.len());
    Ok((&text[..end], &text[end..], end))
}

enum ValueProblem {
    UnquotedSpace,
    BadEscape(char),
    Unclosed(char),
    UnclosedBrace,
    QuoteAfterName,
}

/// dotenvy's value scanner, reduced to finding the first error: (what, character index).
fn analyze_value(value: &str) -> Option<(ValueProblem, usize)> {
    #[derive(PartialEq)]
    enum Substitution {
        None,
        Dollar,
        Brace,
    }
    let (mut strong, mut weak, mut escaped, mut space) = (false, false, false, None);
    let mut substitution = Substitution::None;
    let (mut quote_at, mut brace_at, mut dollar_at) = (0, 0, 0);
    let mut name_empty = true;
    // Where a `$NAME` swallowed a double quote, if one did.
    let mut swallowed = None;
    for (index, c) in value.chars().enumerate() {
        if let Some(space_at) = space {
            match c {
                ' ' | '\t' => continue,
                '#' => break,
                _ => return Some((ValueProblem::UnquotedSpace, space_at)),
            }
        } else if escaped {
            if !matches!(c, '\\' | '\'' | '"' | '$' | ' ' | 'n') {
                return Some((ValueProblem::BadEscape(c), index.saturating_sub(1)));
            }
            escaped = false;
        } else if strong {
            strong = c != '\'';
        } else if substitution != Substitution::None {
            if c.is_alphanumeric() {
                name_empty = false;
            } else if substitution == Substitution::Dollar {
                if c == '{' && name_empty {
                    substitution = Substitution::Brace;
                    brace_at = dollar_at;
                } else if c != '$' {
                    // dotenvy keeps the character after `$NAME` literally, quotes included.
                    substitution = Substitution::None;
                    if c == '"' && weak {
                        swallowed = Some(dollar_at);
                    }
                } else {
                    dollar_at = index;
                }
                name_empty = true;
            } else if c == '}' {
                substitution = Substitution::None;
            }
        } else if c == '$' {
            substitution = Substitution::Dollar;
            name_empty = true;
            dollar_at = index;
        } else if weak {
            match c {
                '"' => weak = false,
                '\\' => escaped = true,
                _ => {}
            }
        } else {
            match c {
                '\'' | '"' => {
                    strong = c == '\'';
                    weak = c == '"';
                    quote_at = index;
                }
                '\\' => escaped = true,
                ' ' | '\t' => space = Some(index),
                _ => {}
            }
        }
    }
    if substitution == Substitution::Brace {
        Some((ValueProblem::UnclosedBrace, brace_at))
    } else if strong {
        Some((ValueProblem::Unclosed('\''), quote_at))
    } else if let (true, Some(dollar)) = (weak, swallowed) {
        Some((ValueProblem::QuoteAfterName, dollar))
    } else if weak {
        Some((ValueProblem::Unclosed('"'), quote_at))
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
