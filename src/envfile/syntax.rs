//! One line of an env file, read two ways: Foreman's and procman's.
//!
//! Foreman 0.87 (`lib/foreman/env.rb`) matches each line against `\A([A-Za-z_0-9]+)=(.*)\z`
//! and ignores every other line; of the value it removes a pair of single quotes around the whole
//! of it, or a pair of double quotes, and then (only then) turns each `\n` into a newline and each
//! other `\X` into `X`. Anything else is kept as written: spaces, inner quotes, backslashes, `#`,
//! `$`. procman reads every such line the same way, with three extensions (`docs/env.md`):
//!
//! 1. an `export ` prefix is allowed (Foreman ignores the line);
//! 2. `#` after whitespace starts a comment, outside a quoted value (Foreman keeps it);
//! 3. `$NAME` and `${NAME}` are replaced by the value of NAME when NAME is defined, in unquoted
//!    and double-quoted values; any other `$` stays a `$` (Foreman never replaces anything).
//!
//! [`foreman_reading`] is Foreman's parser, line for line; it is what the warnings of
//! `procman check` and the property tests compare procman's reading with.

use std::borrow::Cow;

/// How a value was quoted (the whole of it, as Foreman requires).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Quote {
    /// Not quoted: taken as written.
    None,
    /// `'...'`: taken as written, without the quotes.
    Single,
    /// `"..."`: `\n` is a newline, `\X` is `X`.
    Double,
}

/// One line, classified.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// Empty, or only whitespace.
    Blank,
    /// The first character that is not whitespace is `#`.
    Comment,
    /// `KEY=value` (or `export KEY=value`).
    Assignment(Assignment<'a>),
    /// Anything else: procman refuses it (Foreman ignores it silently).
    Invalid,
}

/// `[export ]KEY=value [# comment]`, split but not yet decoded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Assignment<'a> {
    /// The line starts with `export ` (procman's extension).
    pub(crate) exported: bool,
    /// The key: `[A-Za-z0-9_]+`, Foreman's.
    pub(crate) key: &'a str,
    /// Everything after the `=`: Foreman's value before unquoting.
    pub(crate) raw: &'a str,
    /// The byte offset of `raw` in the line.
    pub(crate) raw_at: usize,
    /// The value procman reads, before decoding: `raw` without the comment and the quotes.
    pub(crate) body: &'a str,
    /// How `body` is quoted.
    pub(crate) quote: Quote,
    /// Where procman's comment starts in `raw` (the whitespace before the `#`), if there is one.
    pub(crate) comment_at: Option<usize>,
}

/// Foreman's key characters.
pub(crate) fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whitespace in the sense of the comment rule and of indentation.
fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Reads one line (without its `\n`) the way procman does.
pub(crate) fn classify(line: &str) -> Line<'_> {
    let trimmed = line.trim_start();
    if trimmed.is_empty() {
        return Line::Blank;
    }
    if trimmed.starts_with('#') {
        return Line::Comment;
    }
    if let Some((key, raw)) = split_assignment(line) {
        return Line::Assignment(assignment(false, key, raw, key.len() + 1));
    }
    // `export KEY=value`: `export`, blanks, then a line Foreman would read.
    if let Some(rest) = line.strip_prefix("export") {
        let after = rest.trim_start_matches(is_blank);
        if after.len() < rest.len() {
            if let Some((key, raw)) = split_assignment(after) {
                let raw_at = line.len() - raw.len();
                return Line::Assignment(assignment(true, key, raw, raw_at));
            }
        }
    }
    Line::Invalid
}

/// `KEY=rest` with Foreman's key, from the start of the line.
fn split_assignment(line: &str) -> Option<(&str, &str)> {
    let (key, raw) = line.split_once('=')?;
    (!key.is_empty() && key.chars().all(is_key_char)).then_some((key, raw))
}

fn assignment<'a>(exported: bool, key: &'a str, raw: &'a str, raw_at: usize) -> Assignment<'a> {
    let (body, quote, comment_at) = split_value(raw);
    Assignment { exported, key, raw, raw_at, body, quote, comment_at }
}

/// Procman's reading of the text after `=`: `(body, quote, comment start)`.
///
/// A value quoted as a whole is Foreman's quoted value, `#` included. Otherwise a value that
/// opens a quote and closes it before whitespace and a `#` is that quoted value and a comment;
/// otherwise the value is unquoted, and its first `#` after whitespace starts a comment.
fn split_value(raw: &str) -> (&str, Quote, Option<usize>) {
    if let Some((body, quote)) = quoted_whole(raw) {
        return (body, quote, None);
    }
    if let Some(open) = raw.chars().next().filter(|&c| c == '\'' || c == '"') {
        let closings = raw.match_indices(open).map(|(at, _)| at).filter(|&at| at > 0);
        for close in closings {
            let after = &raw[close + 1..];
            let rest = after.trim_start_matches(is_blank);
            if rest.len() < after.len() && rest.starts_with('#') {
                let quote = if open == '\'' { Quote::Single } else { Quote::Double };
                return (&raw[1..close], quote, Some(close + 1));
            }
        }
    }
    match comment_start(raw) {
        Some(at) => (&raw[..at], Quote::None, Some(at)),
        None => (raw, Quote::None, None),
    }
}

/// Where the whitespace before the first `#` that follows whitespace starts.
fn comment_start(raw: &str) -> Option<usize> {
    let mut blank_from = None;
    for (at, c) in raw.char_indices() {
        if is_blank(c) {
            blank_from.get_or_insert(at);
        } else if c == '#' && blank_from.is_some() {
            return blank_from;
        } else {
            blank_from = None;
        }
    }
    None
}

/// Foreman's `\A'(.*)'\z` and `\A"(.*)"\z`.
pub(crate) fn quoted_whole(raw: &str) -> Option<(&str, Quote)> {
    let quote = match (raw.as_bytes().first(), raw.as_bytes().last()) {
        (Some(b'\''), Some(b'\'')) => Quote::Single,
        (Some(b'"'), Some(b'"')) => Quote::Double,
        _ => return None,
    };
    // Both ends are one-byte quotes, so the slice is on character boundaries.
    raw.get(1..raw.len().checked_sub(1)?).map(|inner| (inner, quote))
}

/// What Foreman 0.87 sets for `line`: `(key, value)`, or `None` for a line it ignores.
pub(crate) fn foreman_reading(line: &str) -> Option<(&str, String)> {
    let (key, raw) = split_assignment(line)?;
    let value = match quoted_whole(raw) {
        Some((inner, Quote::Double)) => {
            let mut out = String::with_capacity(inner.len());
            // No interpolation: the lookup never finds a name.
            let _ = decode_double(inner, &mut out, &mut |_, _| Lookup::Undefined);
            out
        }
        Some((inner, _)) => inner.to_owned(),
        None => raw.to_owned(),
    };
    Some((key, value))
}

/// The answer of an interpolation lookup.
pub(crate) enum Lookup<'v> {
    /// NAME is not defined: `$NAME` stays as written.
    Undefined,
    /// NAME's value.
    Value(Cow<'v, str>),
    /// Replacing NAME would pass the size bound: decoding stops.
    TooLarge,
}

/// Decoding stopped at a bound; `name` is the variable whose value did not fit, `built` the
/// bytes decoded before it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TooLarge {
    pub(crate) name: String,
    pub(crate) built: usize,
}

/// What an interpolation lookup is asked: the name, and how many bytes the value holds so far
/// (for the size bound).
pub(crate) type LookupFn<'l, 'v> = dyn FnMut(&str, usize) -> Lookup<'v> + 'l;

/// Appends the decoded `body` to `out`, replacing `$NAME`/`${NAME}` through `lookup`, which
/// answers [`Lookup::TooLarge`] to stop. Returns the names replaced, in order.
pub(crate) fn decode<'v>(
    body: &str,
    quote: Quote,
    out: &mut String,
    lookup: &mut LookupFn<'_, 'v>,
) -> Result<Vec<String>, TooLarge> {
    match quote {
        Quote::Single => {
            out.push_str(body);
            Ok(Vec::new())
        }
        Quote::Double => decode_double(body, out, lookup),
        Quote::None => interpolate(body, out, lookup, true),
    }
}

/// Foreman's double-quote rule, `gsub('\n', "\n").gsub(/\\(.)/, '\1')`, in that order (so
/// `"a\\nb"` is `a\`, a newline, `b`, as in Foreman), with `$NAME` replaced where no backslash
/// escapes the `$`.
fn decode_double<'v>(
    body: &str,
    out: &mut String,
    lookup: &mut LookupFn<'_, 'v>,
) -> Result<Vec<String>, TooLarge> {
    let newlines: Cow<'_, str> =
        if body.contains("\\n") { Cow::Owned(body.replace("\\n", "\n")) } else { body.into() };
    // `\X` (X not a newline) is X; what remains is unescaped text, where `$NAME` is replaced.
    let mut replaced = Vec::new();
    let mut rest = newlines.as_ref();
    while let Some(at) = rest.find('\\') {
        replaced.extend(interpolate(&rest[..at], out, lookup, false)?);
        let after = &rest[at + 1..];
        match after.chars().next() {
            Some(next) if next != '\n' => {
                out.push(next);
                rest = &after[next.len_utf8()..];
            }
            _ => {
                out.push('\\');
                rest = after;
            }
        }
    }
    replaced.extend(interpolate(rest, out, lookup, false)?);
    Ok(replaced)
}

/// Appends `text` with each `$NAME`/`${NAME}` of a defined NAME replaced. With
/// `backslash_guards`, a `$` right after a backslash is kept as written (unquoted values, where
/// Foreman keeps backslashes).
fn interpolate<'v>(
    text: &str,
    out: &mut String,
    lookup: &mut LookupFn<'_, 'v>,
    backslash_guards: bool,
) -> Result<Vec<String>, TooLarge> {
    let mut replaced = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        let escaped = backslash_guards && text[..text.len() - rest.len() + at].ends_with('\\');
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        rest = after;
        let reference = if escaped { None } else { reference(after) };
        let Some((name, used)) = reference else {
            out.push('$');
            continue;
        };
        match lookup(name, out.len()) {
            Lookup::Undefined => out.push('$'),
            Lookup::Value(value) => {
                out.push_str(&value);
                replaced.push(name.to_owned());
                rest = &after[used..];
            }
            Lookup::TooLarge => return Err(TooLarge { name: name.to_owned(), built: out.len() }),
        }
    }
    out.push_str(rest);
    Ok(replaced)
}

/// The name referred to right after a `$` (`NAME` or `{NAME}`) and the bytes it uses.
pub(crate) fn reference(after: &str) -> Option<(&str, usize)> {
    if let Some(braced) = after.strip_prefix('{') {
        let len = name_len(braced);
        return (len > 0 && braced[len..].starts_with('}')).then(|| (&braced[..len], len + 2));
    }
    let len = name_len(after);
    (len > 0).then(|| (&after[..len], len))
}

/// The length of the name at the start of `text`: `[A-Za-z_][A-Za-z0-9_]*`, as in the shell.
fn name_len(text: &str) -> usize {
    if !text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return 0;
    }
    text.find(|c: char| !is_key_char(c)).unwrap_or(text.len())
}

/// A line that procman and Foreman both read as `key` = `value`, with no `$NAME` replaced and
/// no comment; `None` when no line can (a value holding a backslash followed by `n`, together
/// with a newline or a single quote: Foreman's double quotes always turn that `\n` into a
/// newline). `key` must be a valid key.
pub(crate) fn portable_line(key: &str, value: &str) -> Option<String> {
    let plain = !value.is_empty()
        && !value.starts_with(['\'', '"'])
        && !value.starts_with(is_blank)
        && !value.ends_with(is_blank)
        && !value.contains(['\n', '\r'])
        && comment_start(value).is_none()
        && !value.match_indices('$').any(|(at, _)| reference(&value[at + 1..]).is_some());
    if plain || value.is_empty() {
        return Some(format!("{key}={value}"));
    }
    if !value.contains(['\'', '\n']) {
        return Some(format!("{key}='{value}'"));
    }
    if value.contains("\\n") {
        return None;
    }
    let mut out = format!("{key}=\"");
    for c in value.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\\' | '"' | '$' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.push('"');
    Some(out)
}
