//! Env files (`.env`, `-e a.env,b.env`), read the way Foreman reads them, without touching
//! procman's own environment.
//!
//! The parser is procman's own (`syntax.rs`): Foreman's line rule plus three documented
//! extensions (`export`, `#` comments after whitespace, `$NAME` of a defined name). Where the
//! two readings of a line differ, [`EnvFiles::warnings`] says so, for `procman check`. Lines
//! Foreman would ignore silently are errors naming `file:line` (`report.rs`). Why not dotenvy:
//! `docs/dependencies.md`; the rules: `docs/env.md`.

mod report;
pub(crate) mod syntax;

use std::borrow::Cow;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::input::encoding;
use crate::input::{self, ReadError};
use syntax::{Line, Lookup, Quote};

/// The largest env file read. Env files hold settings, not data; this still fits a few hundred
/// PEM certificates.
pub const MAX_ENV_FILE_BYTES: u64 = 1 << 20;

/// The largest value once `$NAME`s are replaced.
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// The most bytes all the values of all the env files may hold together once `$NAME`s are
/// replaced, counting every assignment read (a later one of the same key too, and what was
/// built of a value refused for its size): interpolation that doubles a value line after line
/// fails here, fast, instead of eating memory.
pub const MAX_TOTAL_BYTES: usize = 16 << 20;

/// One variable, with where it was set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    /// The name.
    pub key: String,
    /// The value, unquoted, unescaped and interpolated.
    pub value: String,
    /// The file that set it last.
    pub path: PathBuf,
    /// The line of its assignment, from 1.
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
    /// The lines that Foreman reads differently (`procman check` shows them).
    pub warnings: Diagnostics,
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
}

/// What `$NAME` may see besides the names the env files set on earlier lines (or in earlier
/// files).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// procman's own environment too, which the processes it starts inherit (`start`, `run`,
    /// `check`).
    Inherited,
    /// Nothing else (`export`): the exported files run on another host, or under a service
    /// manager, whose environment is not this shell's. A name set only here stays `$NAME`, as
    /// Foreman writes it.
    FilesOnly,
}

/// Loads the env files: with `named` = `None`, `<root>/.env` if it exists (Foreman's default);
/// otherwise exactly the named files, each of which must exist (relative paths are relative to
/// the working directory, as in Foreman). Every error of every file is reported. `scope` says
/// whether `$NAME` sees procman's environment.
pub fn load(root: &Path, named: Option<&[PathBuf]>, scope: Scope) -> Result<EnvFiles, Diagnostics> {
    let mut reader = match scope {
        Scope::Inherited => Reader::new(inherited),
        Scope::FilesOnly => Reader::new(|_| None),
    };
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
        if let Err(errors) = reader.read(path, &bytes) {
            diagnostics.extend(errors);
        }
    }
    diagnostics.into_result(reader.env)
}

/// Parses one env file's bytes on its own (no earlier file; `$NAME` sees the lines above and
/// procman's environment); `path` is used in messages. Returns every assignment, in file order
/// (a key set twice is there twice).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<EnvVar>, Diagnostics> {
    parse_with(path, bytes, inherited).map(|(assignments, _)| assignments)
}

/// [`parse`] with `environment` standing for procman's environment, and the warnings.
pub fn parse_with(
    path: &Path,
    bytes: &[u8],
    environment: impl Fn(&str) -> Option<String> + 'static,
) -> Result<(Vec<EnvVar>, Diagnostics), Diagnostics> {
    let mut reader = Reader::new(environment);
    let assignments = reader.read(path, bytes)?;
    Ok((assignments, reader.env.warnings))
}

/// A variable of procman's own environment (a value that is not UTF-8 is read lossily).
fn inherited(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
}

/// procman's own environment, as interpolation sees it (a fixed one in tests).
type Environment = dyn Fn(&str) -> Option<String>;

/// Reads env files one after another into one [`EnvFiles`]; `$NAME` sees what the files read
/// so far set, then `environment` (procman's, or nothing: [`Scope`]).
struct Reader {
    env: EnvFiles,
    /// Where each key is in `env.vars` (a linear search would make 100,000 keys quadratic).
    positions: HashMap<String, usize>,
    environment: Box<Environment>,
    /// The bytes of every value read so far, for [`MAX_TOTAL_BYTES`].
    total: usize,
}

impl Reader {
    fn new(environment: impl Fn(&str) -> Option<String> + 'static) -> Reader {
        Reader {
            env: EnvFiles::default(),
            positions: HashMap::new(),
            environment: Box::new(environment),
            total: 0,
        }
    }

    /// Reads one file's bytes; returns its assignments in file order.
    fn read(&mut self, path: &Path, bytes: &[u8]) -> Result<Vec<EnvVar>, Diagnostics> {
        let text = encoding::decode(path, bytes, "an env file")?;
        self.env.files.push(path.to_path_buf());
        let has_bom = bytes.starts_with(b"\xef\xbb\xbf");
        let mut assignments = Vec::new();
        let mut diagnostics = Diagnostics::default();
        // The line that opened a quote it did not close, when only invalid lines followed it:
        // an attempt at a value on several lines.
        let mut open_quote: Option<(usize, char)> = None;
        for (index, line) in text.split('\n').enumerate() {
            let number = index + 1;
            let assignment = match syntax::classify(line) {
                Line::Blank | Line::Comment => {
                    open_quote = None;
                    continue;
                }
                // The quote stays open over the lines that follow, until one reads.
                Line::Invalid => {
                    diagnostics.push_with(|| report::invalid_line(path, number, line, open_quote));
                    continue;
                }
                Line::Assignment(assignment) => assignment,
            };
            open_quote = match assignment.raw.chars().next() {
                Some(quote @ ('"' | '\'')) if assignment.quote == Quote::None => {
                    Some((number, quote))
                }
                _ => None,
            };
            let (value, replaced) = match self.expand(&assignment) {
                Ok(found) => found,
                Err(bound) => {
                    diagnostics.push_with(|| {
                        report::too_large(path, number, line, &assignment, &bound, self.total)
                    });
                    // The bytes copied before the bound count too, so that a thousand lines
                    // like `B=$A$A` with a 1 MiB A cannot copy a gigabyte before failing.
                    self.total += bound.built;
                    continue;
                }
            };
            self.total += value.len();
            let differs = report::Differences {
                exported: assignment.exported,
                comment: assignment.comment_at.is_some(),
                replaced: &replaced,
                bom: has_bom && number == 1,
            };
            if differs.any() {
                let origin = |name: &str| self.origin(name, path);
                if let Some(warning) = report::foreman_differs(
                    path,
                    number,
                    line,
                    &assignment,
                    &value,
                    &differs,
                    &origin,
                ) {
                    self.env.warnings.push(warning);
                }
            } else if let Some(warning) = report::keeps_quotes(path, number, line, &assignment) {
                self.env.warnings.push(warning);
            }
            let var = EnvVar {
                key: assignment.key.to_owned(),
                value,
                path: path.to_path_buf(),
                line: number,
            };
            self.set(var.clone());
            assignments.push(var);
        }
        diagnostics.into_result(assignments)
    }

    /// The value of an assignment with `$NAME`s replaced, and the names replaced; stops at
    /// [`MAX_VALUE_BYTES`] or [`MAX_TOTAL_BYTES`].
    fn expand(
        &self,
        assignment: &syntax::Assignment<'_>,
    ) -> Result<(String, Vec<String>), syntax::TooLarge> {
        let limit = MAX_VALUE_BYTES.min(MAX_TOTAL_BYTES.saturating_sub(self.total));
        let mut value = String::with_capacity(assignment.body.len().min(limit));
        let mut lookup = |name: &str, so_far: usize| {
            let found = match self.positions.get(name) {
                Some(&at) => Cow::Borrowed(self.env.vars[at].value.as_str()),
                None => match (self.environment)(name) {
                    Some(value) => Cow::Owned(value),
                    None => return Lookup::Undefined,
                },
            };
            if so_far + found.len() > limit { Lookup::TooLarge } else { Lookup::Value(found) }
        };
        let replaced = syntax::decode(assignment.body, assignment.quote, &mut value, &mut lookup)?;
        // The text around the names counts too (it is at most the line's length).
        if value.len() > limit {
            let name = replaced.last().cloned().unwrap_or_default();
            return Err(syntax::TooLarge { name, built: value.len() });
        }
        Ok((value, replaced))
    }

    /// Where `name` got the value `$name` was replaced with, for warnings.
    fn origin(&self, name: &str, path: &Path) -> String {
        match self.positions.get(name).map(|&at| &self.env.vars[at]) {
            Some(var) if var.path == path => format!("set on line {}", var.line),
            Some(var) => {
                format!("set in {}:{}", crate::diagnostic::file_label(&var.path), var.line)
            }
            None => "from procman's environment".to_owned(),
        }
    }

    /// Sets `var`, replacing an earlier occurrence in place.
    fn set(&mut self, var: EnvVar) {
        match self.positions.get(&var.key) {
            Some(&at) => self.env.vars[at] = var,
            None => {
                self.positions.insert(var.key.clone(), self.env.vars.len());
                self.env.vars.push(var);
            }
        }
    }
}

/// What Foreman 0.87 sets for one line (without its `\n`): `(key, value)`, or `None` for a line
/// it ignores. procman's reading differs only where [`EnvFiles::warnings`] says so.
pub fn foreman_reading(line: &str) -> Option<(String, String)> {
    syntax::foreman_reading(line).map(|(key, value)| (key.to_owned(), value))
}

/// A line that procman and Foreman both read as `key` = `value` (for `procman check
/// --print-env`); `None` when no line can hold that value for both (see `docs/env.md`).
pub fn portable_line(key: &str, value: &str) -> Option<String> {
    syntax::portable_line(key, value)
}

#[cfg(test)]
mod tests;
