//! A line as plain text: the terminal escape sequences an app writes (colors, cursor moves,
//! window titles) taken out by a terminal's own parser (vte), tabs kept, the rest of the
//! control characters dropped. A line without an escape character is copied as it is.

use vte::{Parser, Perform};

/// Appends `line` to `out` without its escape sequences.
pub(super) fn append(line: &[u8], out: &mut Vec<u8>) {
    if memchr::memchr(0x1b, line).is_none() {
        out.extend_from_slice(line);
        return;
    }
    let mut text = Text { out };
    Parser::new().advance(&mut text, line);
}

struct Text<'a> {
    out: &'a mut Vec<u8>,
}

impl Perform for Text<'_> {
    fn print(&mut self, c: char) {
        let mut buffer = [0; 4];
        self.out.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
    }

    fn execute(&mut self, byte: u8) {
        if byte == b'\t' {
            self.out.push(byte);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(line: &[u8]) -> String {
        let mut out = Vec::new();
        append(line, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn colors_cursor_moves_and_titles_go_and_the_text_stays() {
        assert_eq!(plain(b"\x1b[1;31merror\x1b[0m: boom"), "error: boom");
        assert_eq!(plain(b"\x1b[2K\x1b[1Gdone\tok"), "done\tok");
        assert_eq!(plain(b"\x1b]0;my title\x07caf\xc3\xa9"), "café");
        assert_eq!(plain(b"no escapes \xff here"), "no escapes \u{fffd} here");
    }
}
