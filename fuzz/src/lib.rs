//! What the fuzz targets check, one function per target, each taking the fuzzer's bytes.
//!
//! Every target checks that the parser neither panics nor hangs (libFuzzer's `-timeout`), that
//! every error it returns renders (plain and in color) into text that is safe to print and bounded
//! line by line, and properties of what it accepts:
//!
//! - `procfile`: names match `[A-Za-z0-9_-]+` and are unique, commands are trimmed one-line text,
//!   each entry sits on the line it names, and writing the entries back as `name: command` lines
//!   parses to the same entries.
//! - `envfile`: keys match `[A-Za-z0-9_]+`, values hold no NUL, line numbers rise and stay in
//!   the file, a value without a warning on its line is Foreman's reading of it, values stay
//!   within the interpolation bounds (1 MiB each, 16 MiB together; inputs that double a value
//!   line after line reach them), and values written back as portable lines read back the same
//!   to procman and to Foreman.
//! - `formation`: counts never exceed [`MAX_INSTANCES`], a resolved formation gives every
//!   Procfile entry its count, with a total from 1 to [`MAX_INSTANCES`].
//! - `dotforeman`: keys are option names and unique (`-` and `_` folded), line numbers rise,
//!   values hold no NUL.
//! - `shell`: `argv` is never empty, runs the text as blank-separated words only when it needs no
//!   shell, and otherwise passes the text to `/bin/sh -c` unchanged but for one `exec `, inserted
//!   where `exec_split` (which the exports use) cuts the text.
//! - `control`: each line, as the control server reads it, either parses to a request that
//!   written back as a line parses to itself, or gets an error answer that is one JSON line; and
//!   a line holding an object with a key given twice (at any depth) is always refused.
//!
//! Bytes that the target splits in parts (the formation and its Procfile, the command and its
//! variables) are separated by NUL bytes.

use std::path::Path;

use procman::control::proto::{self, ErrorKind};
use procman::diagnostic::{Diagnostics, MAX_KEPT, MAX_RENDERED};
use procman::dotforeman::DotForeman;
use procman::envfile;
use procman::formation::{Formation, MAX_INSTANCES};
use procman::input::encoding;
use procman::procfile::{self, Procfile};
use procman::shell;

/// The longest line, in characters, that rendering any diagnostic may print: messages, notes and
/// help are cut at 1000 characters, source lines at 120, plus the gutter and the `error: ` tag.
pub const MAX_RENDERED_LINE_CHARS: usize = 1100;

/// Renders the diagnostics as procman shows them (the first [`MAX_RENDERED`], plain and in
/// color), and checks the output.
pub fn check_rendering(diagnostics: &Diagnostics) {
    assert!(!diagnostics.is_empty(), "an error without a diagnostic");
    assert!(diagnostics.list.len() <= MAX_KEPT);
    for diagnostic in &diagnostics.list {
        assert!(!diagnostic.message.is_empty(), "a diagnostic without a message: {diagnostic:?}");
    }
    let plain = diagnostics.render(false);
    assert!(plain.starts_with("error: ") && plain.ends_with('\n'), "{plain:?}");
    let shown = diagnostics.len().min(MAX_RENDERED) + usize::from(diagnostics.len() > MAX_RENDERED);
    assert_eq!(plain.matches("\nerror: ").count() + 1, shown, "{plain:?}");
    check_printable(&plain, false);
    check_printable(&diagnostics.render(true), true);
}

/// No control character but newlines (and escape sequences when colored), no character that
/// reorders or hides text, and no line longer than [`MAX_RENDERED_LINE_CHARS`].
fn check_printable(text: &str, color: bool) {
    for line in text.split('\n') {
        let visible = if color { strip_ansi(line) } else { line.to_owned() };
        let chars = visible.chars().count();
        assert!(
            chars <= MAX_RENDERED_LINE_CHARS,
            "a rendered line of {chars} characters: {:?}",
            visible.chars().take(200).collect::<String>()
        );
        if let Some(bad) = visible.chars().find(|&c| c.is_control() || is_hiding(c)) {
            panic!("rendered text holds {bad:?}: {visible:?}");
        }
    }
}

/// `\x1b[...m` sequences removed; any other escape is left in place (and then found).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("\x1b[") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        match after.find(|c: char| !(c.is_ascii_digit() || c == ';')) {
            Some(end) if after[end..].starts_with('m') => rest = &after[end + 1..],
            _ => {
                out.push('\x1b');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Bidi controls and invisible characters ("Trojan Source").
fn is_hiding(c: char) -> bool {
    matches!(c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// Ruby's `\s` without the newline: what Foreman's Procfile regex skips around a command.
fn is_ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\x0b' | '\x0c')
}

/// The Procfile parser.
pub fn procfile(data: &[u8]) {
    let path = Path::new("Procfile");
    let parsed = match Procfile::parse(path, data) {
        Ok(parsed) => parsed,
        Err(diagnostics) => return check_rendering(&diagnostics),
    };
    check_procfile(&parsed);
    // Accepted bytes are UTF-8 text; each entry is on the line it names.
    let Ok(text) = encoding::decode(path, data, "a Procfile") else {
        panic!("parsed, but decoding fails");
    };
    let lines: Vec<&str> = text.split('\n').collect();
    for entry in &parsed.entries {
        let line = lines[entry.line - 1];
        assert!(line.starts_with(&format!("{}:", entry.name)), "{entry:?} is not on {line:?}");
        assert!(line.contains(&entry.command), "{entry:?} is not on {line:?}");
    }

    // Written back as `name: command` lines, the entries parse to themselves.
    let written: String =
        parsed.entries.iter().map(|entry| format!("{}: {}\n", entry.name, entry.command)).collect();
    let reparsed = match Procfile::parse(path, written.as_bytes()) {
        Ok(reparsed) => reparsed,
        Err(diagnostics) => {
            panic!("written back, the entries fail:\n{}", diagnostics.render(false))
        }
    };
    let pairs = |procfile: &Procfile| -> Vec<(String, String)> {
        procfile.entries.iter().map(|e| (e.name.clone(), e.command.clone())).collect()
    };
    assert_eq!(pairs(&parsed), pairs(&reparsed));

    // Without a formation, every entry runs once, up to the limit.
    match Formation::default().resolve(&parsed) {
        Ok(counts) => {
            assert!(counts.len() <= MAX_INSTANCES as usize);
            assert!(counts.iter().all(|&count| count == 1));
        }
        Err(diagnostics) => {
            assert!(parsed.entries.len() > MAX_INSTANCES as usize);
            check_rendering(&diagnostics);
        }
    }
}

fn check_procfile(parsed: &Procfile) {
    assert!(!parsed.entries.is_empty(), "parsed with no entry");
    let mut names = std::collections::HashSet::new();
    let mut last_line = 0;
    for entry in &parsed.entries {
        assert!(procfile::is_valid_name(&entry.name), "bad name in {entry:?}");
        assert!(
            entry.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "{entry:?}"
        );
        assert!(names.insert(entry.name.as_str()), "duplicate name in {entry:?}");
        assert!(!entry.command.is_empty(), "empty command in {entry:?}");
        assert!(!entry.command.contains('\n'), "{entry:?}");
        assert!(!entry.command.starts_with(is_ruby_space), "{entry:?}");
        assert!(!entry.command.ends_with(is_ruby_space), "{entry:?}");
        assert!(entry.line > last_line, "lines out of order at {entry:?}");
        last_line = entry.line;
        assert_eq!(parsed.get(&entry.name), Some(entry));
    }
    let message = procfile::check_message(parsed);
    assert!(message.starts_with("valid procfile detected ("));
}

/// procman's environment as the env-file target sees it (fixed, so that runs repeat).
fn fuzz_environment(name: &str) -> Option<String> {
    match name {
        "HOME" => Some("/home/app".to_owned()),
        "BIG" => Some("x".repeat(4096)),
        _ => None,
    }
}

/// Env-file parsing: Foreman's reading with procman's extensions, and the interpolation bounds.
pub fn envfile(data: &[u8]) {
    let path = Path::new(".env");
    let (vars, warnings) = match envfile::parse_with(path, data, fuzz_environment) {
        Ok(parsed) => parsed,
        Err(diagnostics) => {
            for diagnostic in &diagnostics.list {
                assert!(diagnostic.path.is_some(), "an env error without its file: {diagnostic:?}");
            }
            return check_rendering(&diagnostics);
        }
    };
    check_warnings(&warnings);
    let Ok(text) = encoding::decode(path, data, "an env file") else {
        panic!("parsed, but the text does not decode")
    };
    let lines: Vec<&str> = text.split('\n').collect();
    let mut last_line = 0;
    let mut total = 0;
    for var in &vars {
        assert!(!var.key.is_empty(), "empty key in {var:?}");
        assert!(var.key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{var:?}");
        assert!(!var.value.contains('\0'), "NUL in {var:?}");
        assert!(var.value.len() <= envfile::MAX_VALUE_BYTES, "a value past the bound");
        total += var.value.len();
        assert!(var.line > last_line && var.line <= lines.len(), "line out of place in {var:?}");
        last_line = var.line;
        assert_eq!(var.path, path);
        // Without a warning on its line, the value is Foreman's (past the warnings kept, that
        // cannot be told).
        let warned = warnings.list.iter().any(|warning| warning.line == Some(var.line));
        if warnings.omitted == 0 && !warned {
            let foreman = envfile::foreman_reading(lines[var.line - 1]);
            assert_eq!(foreman, Some((var.key.clone(), var.value.clone())), "line {}", var.line);
        }
    }
    assert!(total <= envfile::MAX_TOTAL_BYTES, "the values hold {total} bytes together");

    // Every value written back as a portable line reads back the same, to procman and to
    // Foreman, without a warning.
    let mut written = String::new();
    let mut expected = Vec::new();
    for var in &vars {
        let Some(line) = envfile::portable_line(&var.key, &var.value) else {
            assert!(var.value.contains("\\n"), "no portable line for {:?}", var.value);
            continue;
        };
        assert_eq!(envfile::foreman_reading(&line), Some((var.key.clone(), var.value.clone())));
        written.push_str(&line);
        written.push('\n');
        expected.push((var.key.clone(), var.value.clone()));
    }
    match envfile::parse_with(path, written.as_bytes(), fuzz_environment) {
        Ok((again, warnings)) => {
            let again: Vec<_> = again.into_iter().map(|var| (var.key, var.value)).collect();
            assert_eq!(expected, again, "written back as {written:?}");
            assert!(warnings.is_empty(), "{}", warnings.render_warnings(false));
        }
        Err(diagnostics) => {
            panic!("written back as {written:?}, fails:\n{}", diagnostics.render(false))
        }
    }
}

/// Warnings render as warnings, safe to print, each pointing at a line of the file.
fn check_warnings(warnings: &Diagnostics) {
    if warnings.is_empty() {
        return;
    }
    assert!(warnings.list.len() <= MAX_KEPT);
    for warning in &warnings.list {
        assert!(warning.line.is_some() && warning.help.is_some(), "{warning:?}");
    }
    let plain = warnings.render_warnings(false);
    assert!(plain.starts_with("warning: ") && plain.ends_with('\n'), "{plain:?}");
    check_printable(&plain, false);
    check_printable(&warnings.render_warnings(true), true);
}

/// A Procfile for the formation target when the input brings none.
const DEFAULT_PROCFILE: &str = "web: ./web\nworker: ./worker\nclock: ./clock\n";

/// The formation parser and its resolution against a Procfile: `FORMATION[\0PROCFILE]`.
pub fn formation(data: &[u8]) {
    let (text, procfile_bytes) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, DEFAULT_PROCFILE.as_bytes()),
    };
    let text = String::from_utf8_lossy(text);
    let procfile = match Procfile::parse(Path::new("Procfile"), procfile_bytes) {
        Ok(procfile) => procfile,
        Err(_) => {
            Procfile::parse(Path::new("Procfile"), DEFAULT_PROCFILE.as_bytes()).expect("valid")
        }
    };
    check_formation(Formation::parse(&text, "-m/--formation"), &procfile);
    if !text.contains(['=', ',']) {
        // `start NAME` (with `=` or `,` it is the formation parsed above).
        check_formation(Formation::from_process_arg(&text, "start"), &procfile);
    }
}

fn check_formation(parsed: Result<Formation, Diagnostics>, procfile: &Procfile) {
    let formation = match parsed {
        Ok(formation) => formation,
        Err(diagnostics) => return check_rendering(&diagnostics),
    };
    assert!(formation.default <= MAX_INSTANCES, "{formation:?}");
    let mut names = std::collections::HashSet::new();
    for item in &formation.items {
        assert!(item.count <= MAX_INSTANCES, "{item:?}");
        if !formation.single {
            assert!(!item.name.is_empty() && item.name != "all", "{item:?}");
            assert!(!item.name.contains([',', '=']) && !item.name.contains(is_ruby_space));
        }
        assert!(names.insert(item.name.as_str()), "{} given twice", item.name);
    }
    let counts = match formation.resolve(procfile) {
        Ok(counts) => counts,
        Err(diagnostics) => return check_rendering(&diagnostics),
    };
    assert_eq!(counts.len(), procfile.entries.len());
    let total: u64 = counts.iter().map(|&count| u64::from(count)).sum();
    assert!((1..=u64::from(MAX_INSTANCES)).contains(&total), "{total} instances");
    for (entry, &count) in procfile.entries.iter().zip(&counts) {
        let expected = formation
            .items
            .iter()
            .find(|item| item.name == entry.name)
            .map_or(formation.default, |item| item.count);
        assert_eq!(count, expected, "the count of {}", entry.name);
    }
}

/// The `.foreman` reader.
pub fn dotforeman(data: &[u8]) {
    let dot = match DotForeman::parse(Path::new(".foreman"), data) {
        Ok(dot) => dot,
        Err(diagnostics) => return check_rendering(&diagnostics),
    };
    let mut keys = std::collections::HashSet::new();
    let mut last_line = 0;
    for setting in &dot.settings {
        assert!(
            !setting.key.is_empty()
                && setting.key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "bad key in {setting:?}"
        );
        assert!(keys.insert(setting.key.replace('-', "_")), "{setting:?} set twice");
        assert!(setting.line > last_line, "{setting:?}");
        last_line = setting.line;
        assert!(!setting.value.contains('\0'), "NUL in {setting:?}");
        if !setting.quoted {
            assert!(!setting.value.is_empty(), "{setting:?}");
            assert!(!setting.value.ends_with([' ', '\t']), "{setting:?}");
            assert!(!setting.value.contains('\n'), "{setting:?}");
        }
        let _ = setting.as_bool();
        assert_eq!(dot.get(&setting.key), Some(setting));
        let invalid = dot.invalid(setting, format!("bad value `{}`", setting.value));
        check_rendering(&invalid.into());
    }
    let known = ["formation", "port", "env", "procfile", "root", "timeout", "no-timestamp"];
    if let Err(diagnostics) = dot.check_keys(&known) {
        check_rendering(&diagnostics);
    }
}

/// `$KEY` substitution and the argv a command runs as: `COMMAND[\0KEY\0VALUE]...`.
pub fn shell(data: &[u8]) {
    let data = String::from_utf8_lossy(data);
    let mut parts = data.split('\0');
    let command = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    let vars: Vec<(String, String)> = rest
        .chunks(2)
        .map(|pair| (pair[0].to_owned(), pair.get(1).copied().unwrap_or_default().to_owned()))
        .collect();

    assert_eq!(shell::substitute(command, &[]), command, "substitution without variables");
    if !command.contains('$') {
        assert_eq!(shell::substitute(command, &vars), command, "substitution without `$`");
    }
    let text = shell::substitute(command, &vars);
    let argv = shell::argv(command, &vars);
    assert!(!argv.is_empty() && !argv[0].is_empty(), "no program for {command:?}: {argv:?}");
    let words: Vec<&str> = text.split([' ', '\t']).filter(|word| !word.is_empty()).collect();
    if !shell::needs_shell(&text) && !words.is_empty() {
        // Run directly: the blank-separated words, none of them a shell metacharacter.
        assert_eq!(argv, words, "the words of {text:?}");
    } else {
        assert_eq!(argv.len(), 3, "{argv:?}");
        assert_eq!((argv[0].as_str(), argv[1].as_str()), (shell::SHELL, "-c"));
        assert!(is_text_with_exec(&argv[2], &text), "{text:?} ran as {:?}", argv[2]);
    }
    if let Some(with_exec) = shell::with_exec(&text) {
        assert!(is_text_with_exec(&with_exec, &text), "{with_exec:?}");
    }
    // The exports put `exec` (or `exec -a NAME`) where `exec_split` cuts: the same place.
    let split = shell::exec_split(&text);
    if let Some((assignments, program)) = split {
        assert_eq!(format!("{assignments}{program}"), text, "exec_split lost text");
    }
    let rejoined = split.map(|(assignments, program)| format!("{assignments}exec {program}"));
    assert_eq!(shell::with_exec(&text), rejoined, "{text:?}");
}

/// True when `script` is `text`, or `text` with `exec ` inserted at the start of a word.
fn is_text_with_exec(script: &str, text: &str) -> bool {
    if script == text {
        return true;
    }
    if script.len() != text.len() + 5 {
        return false;
    }
    let prefix = script.bytes().zip(text.bytes()).take_while(|(a, b)| a == b).count();
    let suffix = script.bytes().rev().zip(text.bytes().rev()).take_while(|(a, b)| a == b).count();
    let lowest = text.len().saturating_sub(suffix);
    (lowest..=prefix.min(text.len())).any(|at| {
        text.is_char_boundary(at)
            && script[at..].starts_with("exec ")
            && (at == 0 || text[..at].ends_with([' ', '\t']))
    })
}

/// Control requests, one per line, as the control server splits, decodes and trims them.
pub fn control(data: &[u8]) {
    for raw in data.split(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(raw);
        let text = text.trim();
        if !text.is_empty() {
            check_control_request(text);
        }
    }
}

fn check_control_request(text: &str) {
    let repeated = has_repeated_key(text);
    match proto::parse_request(text) {
        Ok((id, request)) => {
            assert_eq!(repeated, Some(false), "accepted with a key given twice: {text:?}");
            let line = request.to_line(id.unwrap_or(7));
            assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'), "{line:?}");
            assert_eq!(
                proto::parse_request(line.trim_end()),
                Ok((Some(id.unwrap_or(7)), request)),
                "written back as {line:?}"
            );
        }
        Err((id, failure)) => {
            // The key is the client's text, so only the message's whole shape tells.
            let says_repeated = failure.kind == ErrorKind::BadRequest
                && failure.message.starts_with("the key `")
                && failure.message.ends_with("` is given twice in the request; give each key once");
            if repeated == Some(true) {
                assert!(says_repeated, "{text:?}: {failure:?}");
            } else if repeated == Some(false) {
                assert!(!says_repeated, "{text:?}: {failure:?}");
            }
            assert!(!failure.message.is_empty());
            // The answer is one line of JSON carrying the error.
            let line = proto::line(&proto::error_response(id, &failure));
            assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'), "{line:?}");
            let answer: serde_json::Value = serde_json::from_str(&line).expect("an answer is JSON");
            assert_eq!(answer["ok"], false);
            assert_eq!(answer["kind"], failure.kind.as_str());
        }
    }
}

/// Whether the JSON text holds an object with a key given twice, at any depth (`None`: not
/// JSON). Collects every object's keys and compares them afterwards: a different way from the
/// parser's, which stops at the first key it has seen.
fn has_repeated_key(text: &str) -> Option<bool> {
    use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_str<E>(self, _: &str) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_unit<E>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            let mut found = false;
            while let Some(inner) = seq.next_element::<Nested>()? {
                found |= inner.0;
            }
            Ok(found)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut keys = Vec::new();
            let mut found = false;
            while let Some(key) = map.next_key::<String>()? {
                keys.push(key);
                found |= map.next_value::<Nested>()?.0;
            }
            let count = keys.len();
            keys.sort();
            keys.dedup();
            Ok(found || keys.len() != count)
        }
    }

    struct Nested(bool);
    impl<'de> serde::Deserialize<'de> for Nested {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Nested, D::Error> {
            deserializer.deserialize_any(Keys).map(Nested)
        }
    }

    let mut deserializer = serde_json::Deserializer::from_str(text);
    let found = deserializer.deserialize_any(Keys).ok()?;
    deserializer.end().ok()?;
    Some(found)
}

#[cfg(test)]
mod tests;
