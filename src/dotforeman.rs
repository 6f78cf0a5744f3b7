//! `.foreman`: defaults for long options, read from the working directory as Foreman does
//! (`formation: alpha=0,bravo=1`, `port: 15000`, `timestamp: false`).
//!
//! Foreman reads it as YAML. procman reads a strict subset instead of pulling in a YAML crate
//! (serde_yaml is deprecated): flat `key: value` lines, plain, single-quoted or double-quoted
//! scalars, `#` comments and a leading `---`. Everything else YAML allows (nested maps, lists,
//! anchors, tags, block scalars, flow collections) is refused with a message saying so, rather
//! than half-understood. The values stay text; the command-line layer parses them and merges them
//! under the options given on the command line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Diagnostics, closest, file_label, fragment, list};
use crate::input::encoding;
use crate::input::{self, ReadError};

/// The file's name.
pub const FILE_NAME: &str = ".foreman";
/// The largest `.foreman` read: a dozen option lines need far less.
pub const MAX_DOTFOREMAN_BYTES: u64 = 64 << 10;

/// A parsed `.foreman`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DotForeman {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its settings, in file order.
    pub settings: Vec<Setting>,
}

/// One `key: value` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    /// The option's name as written (`port`, `no-timestamp`).
    pub key: String,
    /// The value, unquoted and unescaped.
    pub value: String,
    /// True when the value was quoted (so `"true"` is text, not a boolean, in YAML terms).
    pub quoted: bool,
    /// The line, from 1.
    pub line: usize,
    /// Where the value starts in the line (its opening quote, if quoted), from 1, in characters.
    pub column: usize,
    /// The line's text, for messages.
    pub text: String,
}

impl Setting {
    /// The value as a YAML 1.1 boolean (`true`/`false`, `yes`/`no`, `on`/`off`, any case), as
    /// Ruby's YAML reads Foreman's `.foreman`; `None` for anything else or a quoted value.
    pub fn as_bool(&self) -> Option<bool> {
        if self.quoted {
            return None;
        }
        match self.value.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => Some(true),
            "false" | "no" | "off" => Some(false),
            _ => None,
        }
    }
}

/// Option names compare with `-` and `_` taken as equal (`no-timestamp`, `no_timestamp`).
fn normalize(key: &str) -> String {
    key.replace('-', "_")
}

impl DotForeman {
    /// Reads `<dir>/.foreman`; `Ok(None)` when there is none.
    pub fn load(dir: &Path) -> Result<Option<DotForeman>, Diagnostics> {
        let path = dir.join(FILE_NAME);
        match input::read_capped(&path, MAX_DOTFOREMAN_BYTES) {
            Ok(bytes) => DotForeman::parse(&path, &bytes).map(Some),
            Err(ReadError::NotFound) => Ok(None),
            Err(error) => Err(input::read_error(&path, error, MAX_DOTFOREMAN_BYTES).into()),
        }
    }

    /// Parses `.foreman` bytes; `path` is used in messages. Every bad line is reported.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<DotForeman, Diagnostics> {
        let text = encoding::decode(path, bytes, "a .foreman file")?;
        let label = file_label(path);
        let lines: Vec<&str> = text.split('\n').collect();
        let mut settings: Vec<Setting> = Vec::new();
        let mut diagnostics = Diagnostics::default();
        let mut seen_content = false;
        // The line of each key, `-` and `_` folded.
        let mut first_line: HashMap<String, usize> = HashMap::new();
        // Indented lines under a key with no value: already reported as one nested map.
        let mut in_nested = false;

        for (index, &line) in lines.iter().enumerate() {
            let number = index + 1;
            let at = |message: String| Diagnostic::new(message).at_line(path, number, line);
            let content = line.trim_start_matches([' ', '\t']);
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            if content.len() < line.len() {
                if !in_nested {
                    diagnostics.push(
                        at(format!("{label} line {number} is indented"))
                            .with_column(1, line.len() - content.len())
                            .with_help(
                                "write one `key: value` per line, starting at the first column",
                            ),
                    );
                }
                continue;
            }
            in_nested = false;
            let first = !seen_content;
            seen_content = true;
            if let Some(rest) = line.strip_prefix("---")
                && (rest.is_empty() || rest.starts_with([' ', '\t']))
            {
                if !first {
                    diagnostics.push(not_supported(
                        at(String::new()),
                        &label,
                        number,
                        "several YAML documents",
                    ));
                }
                continue;
            }
            match parse_line(line) {
                Ok((key, None, _)) => {
                    let nested = lines[index + 1..]
                        .iter()
                        .find(|next| !next.trim().is_empty() && !next.trim_start().starts_with('#'))
                        .is_some_and(|next| next.starts_with([' ', '\t']));
                    let diagnostic = if nested {
                        in_nested = true;
                        not_supported(at(String::new()), &label, number, "nested maps and lists")
                    } else {
                        at(format!("{label} line {number}: `{}` has no value", fragment(key)))
                            .with_help(format!(
                                "give it a value, e.g. `{}: 1`, or delete the line",
                                fragment(key)
                            ))
                    };
                    diagnostics.push(diagnostic);
                }
                Ok((key, Some((value, quoted)), column)) => {
                    if let Some(&previous) = first_line.get(&normalize(key)) {
                        diagnostics.push(
                            at(format!(
                                "{label} sets `{}` twice, on lines {previous} and {number}",
                                fragment(key),
                            ))
                            .with_column(1, key.chars().count())
                            .with_help("keep one of the two lines"),
                        );
                        continue;
                    }
                    first_line.insert(normalize(key), number);
                    settings.push(Setting {
                        key: key.to_owned(),
                        value,
                        quoted,
                        line: number,
                        column,
                        text: line.to_owned(),
                    });
                }
                Err(problem) => {
                    diagnostics.push(problem.diagnostic(at(String::new()), &label, number))
                }
            }
        }
        diagnostics.into_result(DotForeman { path: path.to_path_buf(), settings })
    }

    /// The setting for option `key` (`-` and `_` are the same).
    pub fn get(&self, key: &str) -> Option<&Setting> {
        let key = normalize(key);
        self.settings.iter().find(|setting| normalize(&setting.key) == key)
    }

    /// Fails on every key that is not in `known` (names as the command line spells them).
    pub fn check_keys(&self, known: &[&str]) -> Result<(), Diagnostics> {
        let normalized: Vec<String> = known.iter().map(|key| normalize(key)).collect();
        let mut diagnostics = Diagnostics::default();
        for setting in &self.settings {
            if normalized.contains(&normalize(&setting.key)) {
                continue;
            }
            let mut help = format!("the options {FILE_NAME} may set are: {}", list(known));
            if let Some(close) = closest(&normalize(&setting.key), known) {
                help.push_str(&format!("; did you mean `{close}`?"));
            }
            diagnostics.push(
                self.invalid(setting, format!("unknown option `{}`", fragment(&setting.key)))
                    .with_column(1, setting.key.chars().count())
                    .with_help(help),
            );
        }
        diagnostics.into_result(())
    }

    /// A diagnostic about `setting`'s value (for the command-line layer: `port: abc`), pointing
    /// at its line: `<file> line N: <message>`.
    pub fn invalid(&self, setting: &Setting, message: String) -> Diagnostic {
        let label = file_label(&self.path);
        Diagnostic::new(format!("{label} line {}: {message}", setting.line)).at_line(
            &self.path,
            setting.line,
            &setting.text,
        )
    }
}

/// Why a line is not a `key: value` line.
enum Problem {
    /// Something YAML allows and this reader does not.
    NotSupported { what: &'static str, column: usize },
    /// No `: ` separating a key from a value.
    NoSeparator { tight: bool },
    /// A key outside `[A-Za-z0-9_-]`.
    BadKey { key: String },
    /// A malformed value.
    BadValue { message: String, help: String, column: usize },
}

impl Problem {
    fn diagnostic(self, at: Diagnostic, label: &str, number: usize) -> Diagnostic {
        match self {
            Problem::NotSupported { what, column } => {
                not_supported(at, label, number, what).with_column(column, 1)
            }
            Problem::NoSeparator { tight } => Diagnostic {
                message: format!("{label} line {number} is not a `key: value` line"),
                help: Some(if tight {
                    "put a space after the colon, e.g. `port: 5000`".to_owned()
                } else {
                    "write `key: value`, e.g. `port: 5000`".to_owned()
                }),
                ..at
            },
            Problem::BadKey { key } => Diagnostic {
                message: format!(
                    "{label} line {number}: `{}` is not an option name",
                    fragment(&key)
                ),
                help: Some("option names are letters, digits, `-` and `_`, e.g. `port`".to_owned()),
                ..at.with_column(1, key.chars().count())
            },
            Problem::BadValue { message, help, column } => Diagnostic {
                message: format!("{label} line {number}: {message}"),
                help: Some(help),
                ..at.with_column(column, 1)
            },
        }
    }
}

fn not_supported(at: Diagnostic, label: &str, number: usize, what: &str) -> Diagnostic {
    Diagnostic {
        message: format!("{label} line {number}: {what} are not supported in {FILE_NAME}"),
        help: Some(format!(
            "{FILE_NAME} holds flat `key: value` lines, e.g. `formation: web=1,worker=2`"
        )),
        ..at
    }
}

/// A value and whether it was quoted; `None` for an empty or null value.
type Value = Option<(String, bool)>;

/// `key: value` → (key, value, the value's column from 1).
fn parse_line(line: &str) -> Result<(&str, Value, usize), Problem> {
    if line == "-" || line.starts_with("- ") || line.starts_with("-\t") {
        return Err(Problem::NotSupported { what: "lists", column: 1 });
    }
    if line == "?" || line.starts_with("? ") {
        return Err(Problem::NotSupported { what: "complex keys", column: 1 });
    }
    if line.starts_with(['"', '\'']) {
        return Err(Problem::NotSupported { what: "quoted keys", column: 1 });
    }
    // The key ends at the first `:` followed by a blank or the end of the line.
    let separator = line.char_indices().find(|&(at, c)| {
        c == ':' && line[at + 1..].chars().next().is_none_or(|next| next == ' ' || next == '\t')
    });
    let Some((colon, _)) = separator else {
        return Err(Problem::NoSeparator { tight: line.contains(':') });
    };
    let key = &line[..colon];
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(Problem::BadKey { key: key.to_owned() });
    }
    let after = &line[colon + 1..];
    let value = after.trim_start_matches([' ', '\t']);
    let column = line[..line.len() - value.len()].chars().count() + 1;
    parse_value(value, column).map(|value| (key, value, column))
}

/// A scalar (plain, `'single'` or `"double"`) followed by an optional comment. `column` is
/// where `value` starts in the line.
fn parse_value(value: &str, column: usize) -> Result<Value, Problem> {
    let unsupported = |what| Err(Problem::NotSupported { what, column });
    match value.chars().next() {
        None | Some('#') => return Ok(None),
        Some('"') | Some('\'') => return quoted(value, column).map(Some),
        Some('[') => return unsupported("flow lists (`[a, b]`)"),
        Some('{') => return unsupported("flow maps (`{a: b}`)"),
        Some('&') => return unsupported("anchors (`&name`)"),
        Some('*') => return unsupported("aliases (`*name`)"),
        Some('!') => return unsupported("tags (`!tag`)"),
        Some('|') | Some('>') => return unsupported("block scalars (`|`, `>`)"),
        Some('%') | Some('@') | Some('`') => {
            return Err(Problem::BadValue {
                message: format!("a plain value cannot start with `{}`", &value[..1]),
                help: "quote the value, e.g. `key: \"@value\"`".to_owned(),
                column,
            });
        }
        Some('-') if value == "-" || value.starts_with("- ") => return unsupported("lists"),
        _ => {}
    }
    // A plain value ends where a comment starts: a `#` after a blank.
    let end = value
        .char_indices()
        .find(|&(at, c)| c == '#' && value[..at].ends_with([' ', '\t']))
        .map_or(value.len(), |(at, _)| at);
    let plain = value[..end].trim_end_matches([' ', '\t']);
    if let Some(at) = plain.find(": ") {
        return Err(Problem::BadValue {
            message: "a plain value cannot contain `: `".to_owned(),
            help: format!("quote the value, e.g. `key: \"{}\"`", fragment(plain)),
            column: column + plain[..at].chars().count(),
        });
    }
    if matches!(plain, "~" | "null" | "Null" | "NULL") {
        return Ok(None);
    }
    Ok(Some((plain.to_owned(), false)))
}

/// A quoted scalar, and nothing but a comment after it.
fn quoted(value: &str, column: usize) -> Result<(String, bool), Problem> {
    let quote = value.chars().next().unwrap_or('"');
    let mut out = String::new();
    let mut chars = value.char_indices().skip(1);
    let bad = |message: String, help: &str, at: usize| Problem::BadValue {
        message,
        help: help.to_owned(),
        column: column + value[..at].chars().count(),
    };
    let end = loop {
        let Some((at, c)) = chars.next() else {
            return Err(bad(
                "the quoted value is never closed".to_owned(),
                "close the quote on the same line (multi-line values are not supported)",
                0,
            ));
        };
        match (quote, c) {
            ('\'', '\'') if value[at + 1..].starts_with('\'') => {
                out.push('\'');
                chars.next();
            }
            ('\'', '\'') | ('"', '"') => break at + 1,
            ('"', '\\') => {
                let escape = chars.next().map(|(_, c)| c);
                match escape.and_then(|c| unescape(c, &mut chars)) {
                    Some('\0') => {
                        return Err(bad(
                            "a double-quoted value cannot hold a NUL character".to_owned(),
                            "remove the escape: no option value may hold a NUL",
                            at,
                        ));
                    }
                    Some(c) => out.push(c),
                    None => {
                        let shown = escape.map(|c| c.to_string()).unwrap_or_default();
                        return Err(bad(
                            format!(
                                "unknown escape `\\{}` in a double-quoted value",
                                fragment(&shown)
                            ),
                            "write `\\\\` for a backslash, or use single quotes, where nothing is escaped",
                            at,
                        ));
                    }
                }
            }
            (_, c) => out.push(c),
        }
    };
    let rest = value[end..].trim_start_matches([' ', '\t']);
    let comment = rest.starts_with('#') && value[end..].starts_with([' ', '\t']);
    if !rest.is_empty() && !comment {
        return Err(bad(
            "unexpected text after the quoted value".to_owned(),
            "put a comment after a blank and `#`, or quote the whole value",
            end,
        ));
    }
    Ok((out, true))
}

/// YAML's double-quote escapes (the common ones, without `\0`: no option value may hold a NUL,
/// and [`quoted`] refuses `\x00`, `\u0000` and `\U00000000` too); `None` for an unknown one or
/// one without its full count of hex digits.
fn unescape(c: char, chars: &mut impl Iterator<Item = (usize, char)>) -> Option<char> {
    let hex = |digits: usize, chars: &mut dyn Iterator<Item = (usize, char)>| {
        let text: String = chars.take(digits).map(|(_, c)| c).collect();
        // Exactly `digits` hex digits: `from_str_radix` alone would take `\u+041`.
        if text.len() != digits || !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(&text, 16).ok().and_then(char::from_u32)
    };
    Some(match c {
        '\\' | '"' | '/' | ' ' => c,
        'a' => '\x07',
        'b' => '\x08',
        't' | '\t' => '\t',
        'n' => '\n',
        'v' => '\x0b',
        'f' => '\x0c',
        'r' => '\r',
        'e' => '\x1b',
        'x' => return hex(2, chars),
        'u' => return hex(4, chars),
        'U' => return hex(8, chars),
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
