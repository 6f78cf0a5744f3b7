//! Errors about the user's input (Procfile, env files, formation, `.foreman`), rendered in the
//! style of `just` and rustc: what is wrong, where (`file:line:column`), the offending line, and
//! what to do about it.
//!
//! The words every message shares live here too: a file's label, an I/O error, a size, a
//! plural, a typo's suggestion.
//!
//! Everything that comes from the user is sanitized before it reaches the terminal: control
//! characters and bidi overrides are escaped (a Procfile must not be able to move the cursor or
//! hide text), and long lines are cut with `…` so a 1 MB line cannot flood the screen.

use std::path::{Path, PathBuf};
use std::{fmt, io};

/// Most characters shown of an offending line; longer lines are windowed around the column.
pub const MAX_SOURCE_CHARS: usize = 120;
/// Most characters shown of a user-supplied fragment quoted inside a message (a name, a value).
pub const MAX_FRAGMENT_CHARS: usize = 60;
/// Most characters of a message, note or help line (they quote user input only in fragments).
const MAX_TEXT_CHARS: usize = 1000;
/// Most diagnostics rendered by [`Diagnostics::render`]; the rest are counted, not shown, so a
/// 100,000-line garbage file gives a readable answer.
pub const MAX_RENDERED: usize = 20;

/// One problem with the user's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// What failed, as one sentence without a trailing period.
    pub message: String,
    /// The file the problem is in, when it is in a file.
    pub path: Option<PathBuf>,
    /// Where the input came from when it is not a file (`-m/--formation`, `$PORT`).
    pub origin: Option<String>,
    /// The line, from 1.
    pub line: Option<usize>,
    /// The column, from 1, counted in characters of `source`.
    pub column: Option<usize>,
    /// How many characters from `column` to underline (at least one is).
    pub span: usize,
    /// The offending line's text, unsanitized (sanitized when rendered).
    pub source: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
    /// Extra context (`Foreman silently skipped this line`).
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic with a message and nothing else.
    pub fn new(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            path: None,
            origin: None,
            line: None,
            column: None,
            span: 1,
            source: None,
            help: None,
            notes: Vec::new(),
        }
    }

    /// Points at a whole file.
    pub fn in_file(mut self, path: &Path) -> Diagnostic {
        self.path = Some(path.to_path_buf());
        self
    }

    /// Points at a line of a file, showing its text.
    pub fn at_line(mut self, path: &Path, line: usize, text: &str) -> Diagnostic {
        self.path = Some(path.to_path_buf());
        self.line = Some(line);
        self.source = Some(text.to_owned());
        self
    }

    /// Points at a line of a file without showing it.
    pub fn at(mut self, path: &Path, line: usize) -> Diagnostic {
        self.path = Some(path.to_path_buf());
        self.line = Some(line);
        self
    }

    /// Names a non-file origin (`-m/--formation`) and optionally shows its text.
    pub fn with_origin(mut self, origin: impl Into<String>, text: Option<&str>) -> Diagnostic {
        self.origin = Some(origin.into());
        self.source = text.map(str::to_owned);
        self
    }

    /// Underlines `span` characters from `column` (1-based) of the source line.
    pub fn with_column(mut self, column: usize, span: usize) -> Diagnostic {
        self.column = Some(column.max(1));
        self.span = span.max(1);
        self
    }

    /// Says what to do.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds context.
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// `Procfile:3:5`, `Procfile:3`, `Procfile` or the origin; `None` when nothing is known.
    pub fn location(&self) -> Option<String> {
        let base = match (&self.path, &self.origin) {
            (Some(path), _) => sanitize(&path.display().to_string(), MAX_SOURCE_CHARS),
            (None, Some(origin)) => sanitize(origin, MAX_SOURCE_CHARS),
            (None, None) => return None,
        };
        Some(match (self.line, self.column) {
            (Some(line), Some(column)) if self.path.is_some() => format!("{base}:{line}:{column}"),
            (Some(line), _) if self.path.is_some() => format!("{base}:{line}"),
            _ => base,
        })
    }

    /// The full report, ending with a newline. ANSI colors only when `color` is true.
    pub fn render(&self, color: bool) -> String {
        self.render_as("error", ERROR, color)
    }

    /// The report as a warning (`warning: ...`): something that works but may not mean what
    /// the user thinks.
    pub fn render_warning(&self, color: bool) -> String {
        self.render_as("warning", WARNING, color)
    }

    fn render_as(&self, severity: &str, severity_color: &str, color: bool) -> String {
        let style = Style { color };
        let mut out = String::new();
        out.push_str(&style.paint(severity_color, severity));
        // Messages quote user input through `fragment`; sanitizing again is idempotent and
        // guards against a fragment that was missed.
        out.push_str(&style.paint(BOLD, &format!(": {}", sanitize(&self.message, MAX_TEXT_CHARS))));
        out.push('\n');

        let number = self.line.map(|line| line.to_string()).unwrap_or_default();
        let width = number.len().max(1);
        let pad = " ".repeat(width);
        if let Some(location) = self.location() {
            out.push_str(&format!("{pad} {} {location}\n", style.paint(GUTTER, "-->")));
        }
        if let Some(source) = &self.source {
            let (text, caret) = window(source, self.column, self.span);
            let bar = style.paint(GUTTER, "|");
            out.push_str(&format!(" {pad} {bar}\n"));
            let shown = format!("{number:>width$}");
            out.push_str(&format!(" {} {bar} {text}\n", style.paint(GUTTER, &shown)));
            match caret {
                Some((offset, len)) => {
                    let marks = style.paint(severity_color, &"^".repeat(len));
                    out.push_str(&format!(" {pad} {bar} {}{marks}\n", " ".repeat(offset)));
                }
                None => out.push_str(&format!(" {pad} {bar}\n")),
            }
        }
        for note in &self.notes {
            let note = sanitize(note, MAX_TEXT_CHARS);
            out.push_str(&format!(" {pad} {} {note}\n", style.paint(BOLD, "= note:")));
        }
        if let Some(help) = &self.help {
            let help = sanitize(help, MAX_TEXT_CHARS);
            out.push_str(&format!(" {pad} {} {help}\n", style.paint(HELP, "= help:")));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render(false).trim_end())
    }
}

impl std::error::Error for Diagnostic {}

/// Several diagnostics, reported together (`check` lists every bad line at once).
///
/// At most [`MAX_KEPT`] are kept; further ones are only counted, so a 4 MiB file of bad lines
/// cannot make procman build millions of messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics {
    /// The diagnostics kept, in the order found.
    pub list: Vec<Diagnostic>,
    /// How many more were found and dropped.
    pub omitted: usize,
}

/// Most diagnostics kept in one [`Diagnostics`].
pub const MAX_KEPT: usize = 100;

impl Diagnostics {
    /// All of them, separated by blank lines; past [`MAX_RENDERED`] only a count is given.
    pub fn render(&self, color: bool) -> String {
        self.render_as("error", ERROR, color)
    }

    /// [`Diagnostics::render`] for warnings.
    pub fn render_warnings(&self, color: bool) -> String {
        self.render_as("warning", WARNING, color)
    }

    fn render_as(&self, severity: &str, severity_color: &str, color: bool) -> String {
        let shown: Vec<String> = self
            .list
            .iter()
            .take(MAX_RENDERED)
            .map(|diagnostic| diagnostic.render_as(severity, severity_color, color))
            .collect();
        let mut out = shown.join("\n");
        let hidden = self.len().saturating_sub(MAX_RENDERED);
        if hidden > 0 {
            let style = Style { color };
            let many = format!("{severity}s");
            let noun = plural(hidden, severity, &many);
            out.push('\n');
            out.push_str(&style.paint(severity_color, severity));
            out.push_str(&style.paint(BOLD, &format!(": {hidden} more {noun} not shown")));
            out.push('\n');
        }
        out
    }

    /// True when there is nothing to report.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many were found (kept or not).
    pub fn len(&self) -> usize {
        self.list.len() + self.omitted
    }

    /// Adds one (or only counts it, past [`MAX_KEPT`]).
    pub fn push(&mut self, diagnostic: Diagnostic) {
        if self.list.len() < MAX_KEPT {
            self.list.push(diagnostic);
        } else {
            self.omitted += 1;
        }
    }

    /// Like [`Diagnostics::push`], but builds the diagnostic only if it will be kept.
    pub fn push_with(&mut self, make: impl FnOnce() -> Diagnostic) {
        if self.list.len() < MAX_KEPT {
            self.list.push(make());
        } else {
            self.omitted += 1;
        }
    }

    /// Adds all of another set.
    pub fn extend(&mut self, other: Diagnostics) {
        self.omitted += other.omitted;
        other.list.into_iter().for_each(|diagnostic| self.push(diagnostic));
    }

    /// `Ok(value)` when empty, else `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.is_empty() { Ok(value) } else { Err(self) }
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Diagnostics {
        Diagnostics { list: vec![diagnostic], omitted: 0 }
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(items: I) -> Diagnostics {
        let mut all = Diagnostics::default();
        items.into_iter().for_each(|diagnostic| all.push(diagnostic));
        all
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render(false).trim_end())
    }
}

impl std::error::Error for Diagnostics {}

/// The last component of a path, for messages (`Procfile line 3 …`), sanitized.
pub fn file_label(path: &Path) -> String {
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned());
    sanitize(&name.unwrap_or_else(|| path.display().to_string()), 80)
}

/// An I/O error in words, without Rust's `(os error 13)` suffix.
pub fn describe_io(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "it does not exist".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        io::ErrorKind::IsADirectory => "it is a directory".to_owned(),
        _ => {
            let text = error.to_string();
            match text.find(" (os error") {
                Some(cut) => text[..cut].to_owned(),
                None => text,
            }
        }
    }
}

/// `64 KiB`, `4 MiB`.
pub fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

/// The noun for `n` things: `one` for 1, `many` for any other count (`1 instance`, `0
/// instances`, `3 processes`).
pub fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `text` made safe to print: control characters, bidi overrides and invisible format
/// characters escaped, and cut to `max_chars` characters with a final `…`.
pub fn sanitize(text: &str, max_chars: usize) -> String {
    let pieces: Vec<String> = text.chars().map(escaped).collect();
    let total: usize = pieces.iter().map(|piece| piece.chars().count()).sum();
    if total <= max_chars {
        return pieces.concat();
    }
    let mut out = String::new();
    let mut used = 0;
    for piece in pieces {
        let len = piece.chars().count();
        if used + len > max_chars.saturating_sub(1) {
            break;
        }
        used += len;
        out.push_str(&piece);
    }
    out.push('…');
    out
}

/// A user fragment for a message: sanitized and short.
pub fn fragment(text: &str) -> String {
    sanitize(text, MAX_FRAGMENT_CHARS)
}

/// How one character is shown.
fn escaped(c: char) -> String {
    match c {
        '\t' => "\\t".to_owned(),
        '\n' => "\\n".to_owned(),
        '\r' => "\\r".to_owned(),
        c if c.is_ascii_control() => format!("\\x{:02x}", u32::from(c)),
        c if c.is_control() || is_invisible_format(c) => format!("\\u{{{:x}}}", u32::from(c)),
        c => c.to_string(),
    }
}

/// Unicode format characters that reorder or hide text ("Trojan Source", zero-width spaces).
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// The source line as shown, and the caret's (offset, length) in shown characters. Lines longer
/// than [`MAX_SOURCE_CHARS`] are windowed so the column stays visible.
fn window(source: &str, column: Option<usize>, span: usize) -> (String, Option<(usize, usize)>) {
    let pieces: Vec<String> = source.chars().map(escaped).collect();
    let widths: Vec<usize> = pieces.iter().map(|piece| piece.chars().count()).collect();
    let total: usize = widths.iter().sum();
    // The caret's character range in `source`, clamped to the line (one past its end is allowed,
    // to point at a missing character).
    let caret = column.map(|column| {
        let start = column.saturating_sub(1).min(pieces.len());
        (start, (start + span.max(1)).min(pieces.len().max(start + 1)))
    });

    let (first, prefix) = match caret {
        Some((start, _)) if total > MAX_SOURCE_CHARS => {
            let before: usize = widths[..start].iter().sum();
            if before + 10 < MAX_SOURCE_CHARS {
                (0, false)
            } else {
                // Keep some context before the column.
                let mut first = start;
                let mut context = 0;
                while first > 0 && context + widths[first - 1] <= 30 {
                    first -= 1;
                    context += widths[first];
                }
                (first, true)
            }
        }
        _ => (0, false),
    };

    let mut shown = String::new();
    let mut used = 0;
    if prefix {
        shown.push('…');
        used += 1;
    }
    let budget = if total > MAX_SOURCE_CHARS { MAX_SOURCE_CHARS - 1 } else { MAX_SOURCE_CHARS };
    let mut offsets = Vec::with_capacity(pieces.len() + 1);
    let mut last = first;
    for index in first..pieces.len() {
        if used + widths[index] > budget {
            break;
        }
        offsets.push((index, used));
        shown.push_str(&pieces[index]);
        used += widths[index];
        last = index + 1;
    }
    if last < pieces.len() {
        shown.push('…');
    }
    offsets.push((last, used));

    let caret = caret.and_then(|(start, end)| {
        let offset = offsets.iter().find(|(index, _)| *index == start)?.1;
        let end_offset =
            offsets.iter().find(|(index, _)| *index >= end).map_or(used, |&(_, offset)| offset);
        Some((offset, end_offset.saturating_sub(offset).max(1)))
    });
    (shown, caret)
}

/// `a, b, c`, shortened past 20 names.
pub fn list(names: &[&str]) -> String {
    const SHOWN: usize = 20;
    let mut text = names.iter().take(SHOWN).copied().collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(", … ({} more)", names.len() - SHOWN));
    }
    text
}

/// Most names [`closest`] compares `name` with: a typo suggestion must not cost seconds when a
/// 4 MiB Procfile defines 100,000 names and the formation has 100 unknown ones.
pub const MAX_CANDIDATES: usize = 1000;

/// The known name closest to `name`, if one is close enough to be a typo. Only the first
/// [`MAX_CANDIDATES`] names of a length within reach are compared.
pub fn closest<'a>(name: &str, names: &[&'a str]) -> Option<&'a str> {
    if let Some(same) = names.iter().find(|known| known.eq_ignore_ascii_case(name)) {
        return Some(same);
    }
    let length = name.chars().count();
    let limit = (length / 3).max(1);
    names
        .iter()
        // The distance is at least the difference in length.
        .filter(|known| known.chars().count().abs_diff(length) <= limit)
        .take(MAX_CANDIDATES)
        .filter_map(|known| distance_within(name, known, limit).map(|d| (d, *known)))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, known)| known)
}

/// [`distance`], when it is at most `limit`: the rows of the matrix never decrease their
/// smallest value, so the comparison stops as soon as a row has none within the limit (a
/// formation of many unknown names against a large Procfile stays cheap).
fn distance_within(a: &str, b: &str, limit: usize) -> Option<usize> {
    let d = edit_distance(a, b, limit);
    (d <= limit).then_some(d)
}

/// Edit distance counting a swap of two neighbours as one edit (optimal string alignment), in
/// characters; long inputs are not compared (they are not typos).
pub fn distance(a: &str, b: &str) -> usize {
    edit_distance(a, b, usize::MAX)
}

/// The distance, or some value above `limit` once it is certain to exceed it.
fn edit_distance(a: &str, b: &str, limit: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    // Three rows of the matrix: the one before the previous (for swaps), the previous, this one.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut row: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        row[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1).min(row[j - 1] + 1).min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            row[j] = best;
        }
        // A swap reaches back two rows, so both must be past the limit to stop.
        if row.iter().min().is_some_and(|&m| m > limit)
            && previous.iter().min().is_some_and(|&m| m > limit)
        {
            return limit.saturating_add(1);
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut row);
    }
    previous[b.len()]
}
const ERROR: &str = "\x1b[1;31m";
const WARNING: &str = "\x1b[1;33m";
const BOLD: &str = "\x1b[1m";
const GUTTER: &str = "\x1b[1;34m";
const HELP: &str = "\x1b[1;36m";
const RESET: &str = "\x1b[0m";

/// Paints text only when color is on.
struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("{code}{text}{RESET}") } else { text.to_owned() }
    }
}

#[cfg(test)]
mod tests;
