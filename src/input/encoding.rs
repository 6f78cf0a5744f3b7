//! The encoding of the user's input files, checked before any parser sees their text (reading
//! them is [`crate::input`]'s job): NUL bytes (a binary file), invalid UTF-8 (named by line and byte
//! offset), a UTF-8 byte-order mark (dropped, as Windows editors write one), and CRLF turned into
//! LF as Foreman does.

use std::path::Path;

use crate::diagnostic::{Diagnostic, Diagnostics, file_label};

/// The file's text: BOM dropped, checked for NUL bytes and UTF-8, CRLF turned into LF.
///
/// `kind` names what the file should be, for the binary-file message (`a Procfile`).
pub fn decode(path: &Path, bytes: &[u8], kind: &str) -> Result<String, Diagnostics> {
    // Offsets in messages count the BOM, so they match what a hex editor shows.
    let (bom, bytes) = match bytes.strip_prefix(b"\xef\xbb\xbf") {
        Some(rest) => (3, rest),
        None => (0, bytes),
    };
    let label = file_label(path);
    // Windows editors save "Unicode" text as UTF-16, full of NUL bytes: say so, not "binary".
    if bom == 0 && (bytes.starts_with(b"\xff\xfe") || bytes.starts_with(b"\xfe\xff")) {
        return Err(Diagnostic::new(format!("{label} is UTF-16 text; procman reads UTF-8"))
            .in_file(path)
            .with_help("save the file as UTF-8 (in Notepad: Save As, Encoding: UTF-8)")
            .into());
    }
    if let Some(at) = memchr::memchr(0, bytes) {
        let (line, column, text) = position(bytes, at);
        return Err(Diagnostic::new(format!(
            "{label} contains a NUL byte on line {line} (byte offset {}): it looks like a binary \
             file, not {kind}",
            at + bom
        ))
        .at_line(path, line, &text)
        .with_column(column, 1)
        .with_help("check that the path names the right file; text files never contain NUL bytes")
        .into());
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let at = error.valid_up_to();
            let (line, column, text) = position(bytes, at);
            return Err(Diagnostic::new(format!(
                "{label} is not valid UTF-8: line {line}, column {column} (byte offset {})",
                at + bom
            ))
            .at_line(path, line, &text)
            .with_column(column, 1)
            .with_help(
                "save the file as UTF-8 text; if it is a binary file, point to the right file",
            )
            .into());
        }
    };
    Ok(text.replace("\r\n", "\n"))
}

/// Byte offset of the start of the line holding byte `at`.
fn line_start(bytes: &[u8], at: usize) -> usize {
    memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |newline| newline + 1)
}

/// (line from 1, column from 1 in characters, the line's text lossily decoded) of byte `at`.
fn position(bytes: &[u8], at: usize) -> (usize, usize, String) {
    let start = line_start(bytes, at);
    let line = memchr::memchr_iter(b'\n', &bytes[..start]).count() + 1;
    let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |newline| at + newline);
    // Lines of a binary file can be huge; the renderer windows them, but do not even decode more
    // than a bounded slice.
    let end = end.min(at + 4096);
    let start_shown = start.max(at.saturating_sub(4096));
    let before = String::from_utf8_lossy(&bytes[start_shown..at]);
    let column = before.chars().count() + 1;
    let text = String::from_utf8_lossy(&bytes[start_shown..end]).into_owned();
    let text = text.strip_suffix('\r').map(str::to_owned).unwrap_or(text);
    (line, column, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path() -> &'static Path {
        Path::new("Procfile")
    }

    #[test]
    fn bom_is_dropped_and_crlf_becomes_lf() {
        let text = decode(path(), b"\xef\xbb\xbfweb: a\r\nworker: b\r\n", "a Procfile");
        assert_eq!(text.ok().as_deref(), Some("web: a\nworker: b\n"));
    }

    #[test]
    fn nul_byte_is_named_with_line_and_offset() {
        let error = decode(path(), b"web: a\nwor\0ker: b\n", "a Procfile").err();
        let error = error.map(|error| error.render(false)).unwrap_or_default();
        assert_eq!(
            error,
            "error: Procfile contains a NUL byte on line 2 (byte offset 10): it looks like a \
             binary file, not a Procfile\n  --> Procfile:2:4\n   |\n 2 | wor\\x00ker: b\n   |    \
             ^^^^\n   = help: check that the path names the right file; text files never contain \
             NUL bytes\n"
        );
    }

    #[test]
    fn invalid_utf8_is_named_with_line_and_byte() {
        let error = decode(path(), b"web: a\nworker: caf\xe9 --x\n", "a Procfile").err();
        let error = error.map(|error| error.render(false)).unwrap_or_default();
        assert_eq!(
            error,
            "error: Procfile is not valid UTF-8: line 2, column 12 (byte offset 18)\n  --> Procfile:2:12\n   |\n 2 | worker: caf\u{fffd} --x\n   |            \
             ^\n   = help: save the file as UTF-8 text; if it is a binary file, point to the \
             right file\n"
        );
    }

    #[test]
    fn utf16_is_named() {
        let error = decode(path(), b"\xff\xfew\0e\0b\0", "a Procfile").err();
        let error = error.map(|error| error.render(false)).unwrap_or_default();
        assert!(
            error.starts_with("error: Procfile is UTF-16 text; procman reads UTF-8\n"),
            "{error}"
        );
    }
}
