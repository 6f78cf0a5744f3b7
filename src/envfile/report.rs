//! The messages about env-file lines: errors for the lines procman refuses (Foreman ignored them
//! silently: each is a variable the user thought was set), for values past the interpolation
//! bound, and warnings for the lines Foreman reads differently, each with a line that means one
//! thing to both.

use std::path::Path;

use super::syntax::{self, Assignment, Line, Lookup, Quote, TooLarge, is_key_char};
use super::{MAX_TOTAL_BYTES, MAX_VALUE_BYTES};
use crate::diagnostic::{Diagnostic, fragment, sanitize};
use crate::diagnostic::{file_label, size};

/// The 1-based column, in characters, of byte offset `at` of `line`.
fn column(line: &str, at: usize) -> usize {
    line.get(..at).map_or(1, |before| before.chars().count() + 1)
}

/// The error for a line that is neither blank, nor a comment, nor an assignment. `opened` is
/// the previous line and its quote when that line opened a quote it did not close.
pub(super) fn invalid_line(
    path: &Path,
    number: usize,
    line: &str,
    opened: Option<(usize, char)>,
) -> Diagnostic {
    let label = file_label(path);
    let at = Diagnostic::new(String::new()).at_line(path, number, line);
    let ignored = "Foreman ignores this line without a word; procman refuses it, since the \
                   variable it means would not be set";
    let body = line.trim_start();
    let indent = line.len() - body.len();
    let mut diagnostic = if indent > 0 && matches!(syntax::classify(body), Line::Assignment(_)) {
        Diagnostic {
            message: format!("{label} line {number} is indented"),
            help: Some(format!("remove the whitespace before `{}`", fragment(body))),
            ..at.with_column(1, line[..indent].chars().count())
        }
    } else {
        let (body, skipped) = match body.strip_prefix("export") {
            Some(rest) if rest.starts_with([' ', '\t']) => {
                let rest = rest.trim_start();
                (rest, line.len() - rest.len())
            }
            _ => (body, indent),
        };
        not_an_assignment(&label, number, body, skipped, at)
    };
    diagnostic = diagnostic.with_note(ignored);
    if let Some((previous, quote)) = opened {
        diagnostic = diagnostic.with_note(format!(
            "line {previous} opens a `{quote}` that it does not close: a value is one line long, \
             as in Foreman"
        ));
        diagnostic.help = Some(
            "write line breaks as `\\n` inside double quotes: `KEY=\"line one\\nline two\"`".into(),
        );
    }
    diagnostic
}

/// The error for `body` (the line from its key on, `skipped` bytes in), which has no `=` after
/// a valid key.
fn not_an_assignment(
    label: &str,
    number: usize,
    body: &str,
    skipped: usize,
    at: Diagnostic,
) -> Diagnostic {
    let Some(equals) = body.find('=') else {
        let (message, help) = if body.chars().all(is_key_char) {
            let key = fragment(body);
            (
                format!("{label} line {number}: `{key}` has no `=` and no value"),
                format!("write `{key}=value`, or `{key}=` for an empty value"),
            )
        } else {
            (
                format!("{label} line {number} is not a `KEY=value` assignment"),
                "write `KEY=value`; comment lines start with `#`".to_owned(),
            )
        };
        return Diagnostic { message, help: Some(help), ..at };
    };
    let key = &body[..equals];
    let trimmed = key.trim_end_matches([' ', '\t']);
    if key.is_empty() {
        return Diagnostic {
            message: format!("{label} line {number} has no key before `=`"),
            help: Some("write `KEY=value`".into()),
            ..at
        };
    }
    let line_column = |offset: usize| at.source.as_deref().map_or(1, |l| column(l, offset));
    if trimmed.len() < key.len() && !trimmed.is_empty() && trimmed.chars().all(is_key_char) {
        let value = body[equals + 1..].trim_start_matches([' ', '\t']);
        let col = line_column(skipped + trimmed.len());
        return Diagnostic {
            message: format!("{label} line {number}: whitespace before `=`"),
            help: Some(format!("write `{}`", fragment(&format!("{trimmed}={value}")))),
            ..at.with_column(col, key.len() - trimmed.len())
        };
    }
    let (bad_at, bad) = key.char_indices().find(|&(_, c)| !is_key_char(c)).unwrap_or((0, '='));
    let fixed: String = key.chars().map(|c| if is_key_char(c) { c } else { '_' }).collect();
    let col = line_column(skipped + bad_at);
    Diagnostic {
        message: format!(
            "{label} line {number}: key `{}` contains `{}`",
            fragment(key),
            fragment(&bad.to_string())
        ),
        help: Some(format!(
            "keys may hold only letters, digits and `_` (Foreman's rule), e.g. `{}`",
            fragment(&fixed)
        )),
        ..at.with_column(col, 1)
    }
}

/// The error for a value that passed [`MAX_VALUE_BYTES`], or [`MAX_TOTAL_BYTES`] with the
/// `total` bytes read before it.
pub(super) fn too_large(
    path: &Path,
    number: usize,
    line: &str,
    assignment: &Assignment<'_>,
    bound: &TooLarge,
    total: usize,
) -> Diagnostic {
    let label = file_label(path);
    let key = fragment(assignment.key);
    let limit = if MAX_TOTAL_BYTES.saturating_sub(total) < MAX_VALUE_BYTES {
        format!(
            "the {} that the values of all env files may hold together",
            size(MAX_TOTAL_BYTES as u64)
        )
    } else {
        format!("{} (the most a value may hold)", size(MAX_VALUE_BYTES as u64))
    };
    let name = fragment(&bound.name);
    let dollar = assignment.raw.find('$').map_or(assignment.raw_at, |at| assignment.raw_at + at);
    Diagnostic::new(format!(
        "{label} line {number}: the value of `{key}` passes {limit} once `${name}` is replaced"
    ))
    .at_line(path, number, line)
    .with_column(column(line, dollar), 1)
    .with_help(
        "look for a variable that refers to itself (`A=$A$A` doubles A on every line), or write \
         the value out; the bounds are in docs/env.md",
    )
}

/// What makes procman's reading of an assignment differ from Foreman's.
pub(super) struct Differences<'a> {
    /// `export KEY=...` (Foreman ignores the line).
    pub(super) exported: bool,
    /// A comment was dropped (Foreman keeps it in the value).
    pub(super) comment: bool,
    /// The names replaced (Foreman keeps `$NAME`).
    pub(super) replaced: &'a [String],
    /// Line 1 of a file that starts with a byte-order mark (Foreman ignores the line).
    pub(super) bom: bool,
}

impl Differences<'_> {
    /// True when the readings may differ.
    pub(super) fn any(&self) -> bool {
        self.exported || self.comment || !self.replaced.is_empty() || self.bom
    }
}

/// The warning for an assignment that Foreman reads differently, or `None` when both readings
/// are the same after all. `origin` says where a replaced name's value came from. Values that
/// come from `$NAME` are never shown (they may be secrets); the text of the line is.
pub(super) fn foreman_differs(
    path: &Path,
    number: usize,
    line: &str,
    assignment: &Assignment<'_>,
    value: &str,
    differs: &Differences<'_>,
    origin: &dyn Fn(&str) -> String,
) -> Option<Diagnostic> {
    let foreman = if differs.bom { None } else { syntax::foreman_reading(line) };
    if foreman.as_ref().is_some_and(|(_, theirs)| theirs == value) {
        return None;
    }
    let label = file_label(path);
    let key = fragment(assignment.key);
    let mut notes = Vec::new();
    if differs.bom {
        notes.push(
            "the file starts with a byte-order mark, which Foreman reads as part of the first \
             key: it ignores this line"
                .to_owned(),
        );
    }
    if differs.exported {
        notes.push(format!(
            "procman reads `export {key}=...` as `{key}=...`; Foreman ignores lines that start \
             with `export`"
        ));
    }
    if differs.comment {
        notes.push(
            "procman drops the comment (a `#` after whitespace); Foreman keeps it as part of the \
             value"
                .to_owned(),
        );
    }
    let mut names: Vec<&String> = Vec::new();
    for name in differs.replaced {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    for name in names.iter().take(3) {
        let shown = fragment(name);
        notes.push(format!(
            "procman replaces `${shown}` with the value of {shown} ({}); Foreman keeps the text \
             `${shown}`",
            origin(name)
        ));
    }
    if names.is_empty() {
        let theirs = match &foreman {
            Some((_, theirs)) => format!("`{}`", fragment(theirs)),
            None => "nothing (the line is ignored)".to_owned(),
        };
        notes.push(format!("procman reads `{}`; Foreman reads {theirs}", fragment(value)));
    }
    // What procman reads without interpolation: the text both can agree on.
    let mut literal = String::new();
    let _ = syntax::decode(assignment.body, assignment.quote, &mut literal, &mut |_, _| {
        Lookup::Undefined
    });
    let help = match syntax::portable_line(assignment.key, &literal) {
        Some(portable) => {
            let portable = sanitize(&portable, 200);
            match (names.first(), differs.comment) {
                (Some(name), _) => format!(
                    "to keep `${0}` as text for both, write `{portable}`; Foreman cannot replace \
                     `${0}`, so if you mean its value, this line needs procman",
                    fragment(name)
                ),
                (None, true) => format!(
                    "to mean the same to both, write `{portable}` and put the comment on a line \
                     of its own"
                ),
                (None, false) => format!("to mean the same to both, write `{portable}`"),
            }
        }
        None => "no line can hold this value for both: Foreman's double quotes turn every `\\n` \
                 into a newline"
            .to_owned(),
    };
    let pointed = if differs.exported || differs.bom {
        0
    } else if let Some(comment) = assignment.comment_at {
        let hash = assignment.raw[comment..].find('#').unwrap_or_default();
        assignment.raw_at + comment + hash
    } else {
        assignment.raw.find('$').map_or(assignment.raw_at, |at| assignment.raw_at + at)
    };
    let mut diagnostic =
        Diagnostic::new(format!("{label} line {number}: Foreman reads this line differently"))
            .at_line(path, number, line)
            .with_column(column(line, pointed), 1)
            .with_help(help);
    for note in notes {
        diagnostic = diagnostic.with_note(note);
    }
    Some(diagnostic)
}

/// The warning for `KEY="value"  ` (whitespace after the closing quote): Foreman and procman
/// both keep the quotes then, which is rarely what was meant.
pub(super) fn keeps_quotes(
    path: &Path,
    number: usize,
    line: &str,
    assignment: &Assignment<'_>,
) -> Option<Diagnostic> {
    let trimmed = assignment.raw.trim_end();
    if assignment.quote != Quote::None || trimmed.len() == assignment.raw.len() {
        return None;
    }
    syntax::quoted_whole(trimmed)?;
    let key = fragment(assignment.key);
    Some(
        Diagnostic::new(format!(
            "{} line {number}: the value of `{key}` keeps its quotes: whitespace follows the \
             closing quote",
            file_label(path)
        ))
        .at_line(path, number, line)
        .with_column(column(line, assignment.raw_at + trimmed.len()), 1)
        .with_note("procman and Foreman both unquote a value only when the quote ends the line")
        .with_help(format!(
            "remove the whitespace after the quote: `{}`",
            fragment(&format!("{}={trimmed}", assignment.key))
        )),
    )
}
