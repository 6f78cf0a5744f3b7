//! The live line of `start --attach`: the attached instance's unfinished line (a prompt such
//! as `(Pdb) `, and what is being typed, which its pty echoes), shown under procman's view as
//! it changes.
//!
//! procman prints whole lines only, so a prompt, which ends in no newline, would show only
//! once Enter is pressed, and typing would be blind. The live line is drawn after the lines of
//! every turn (`\r`, erase the line, the instance's prefix, the text) and erased before the
//! next ones, so it always sits at the bottom; once the instance ends the line, it is printed
//! as any other. Only on a terminal: into a pipe or a file it would be noise.
//!
//! What is drawn is what a terminal would show of the line, reduced to plain text so that its
//! width is known and it never wraps: after a carriage return, only what was drawn since;
//! a backspace takes back a character; escape sequences and other controls are dropped. A
//! line wider than the terminal shows its end.

use crate::output::Printer;

/// The most bytes of an unfinished line kept (its end).
const KEEP: usize = 4096;

/// The attached instance's unfinished line, and whether it is on the screen.
#[derive(Debug, Default)]
pub(super) struct LiveLine {
    /// Bytes since the instance's last newline.
    partial: Vec<u8>,
    /// The line is drawn at the bottom of the screen now.
    shown: bool,
}

impl LiveLine {
    /// Takes an instance's raw output: the line it leaves unfinished.
    pub(super) fn push(&mut self, data: &[u8]) {
        match memchr::memrchr(b'\n', data) {
            Some(end) => {
                self.partial.clear();
                self.partial.extend_from_slice(&data[end + 1..]);
            }
            None => self.partial.extend_from_slice(data),
        }
        if self.partial.len() > KEEP {
            self.partial.drain(..self.partial.len() - KEEP);
        }
    }

    /// Erases the line from the screen, before other lines are printed.
    pub(super) fn erase(&mut self, printer: &mut Printer) {
        if std::mem::take(&mut self.shown) {
            printer.raw(b"\r\x1b[K");
        }
    }

    /// Draws the line after `prefix`, cut to `columns` (0: a terminal that does not say).
    pub(super) fn draw(&mut self, printer: &mut Printer, prefix: &str, columns: usize) {
        let text = visible(&self.partial);
        if text.is_empty() {
            return;
        }
        let columns = if columns == 0 { usize::MAX } else { columns };
        let room = columns.saturating_sub(plain(prefix.as_bytes()).chars().count() + 1);
        let skip = text.chars().count().saturating_sub(room);
        let shown: String = text.chars().skip(skip).collect();
        printer.raw(format!("\r\x1b[K{prefix}{shown}").as_bytes());
        self.shown = true;
    }
}

/// What a terminal shows of an unfinished line, as plain text.
pub(super) fn visible(partial: &[u8]) -> String {
    // A carriage return followed by more redraws the line: only what follows it counts.
    let trimmed = partial.strip_suffix(b"\r").unwrap_or(partial);
    let start = memchr::memrchr(b'\r', trimmed).map_or(0, |at| at + 1);
    let mut text: Vec<char> = Vec::new();
    for c in plain(&trimmed[start..]).chars() {
        match c {
            '\u{8}' | '\u{7f}' => {
                text.pop();
            }
            c if c.is_control() => {}
            c => text.push(c),
        }
    }
    text.into_iter().collect()
}

/// `bytes` as text without escape sequences (CSI `ESC [ ... final`, OSC `ESC ] ... BEL|ST`,
/// and two-byte `ESC x`).
fn plain(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                // Parameters and intermediates, up to the final byte.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_line_is_what_follows_the_last_newline() {
        let mut line = LiveLine::default();
        line.push(b"welcome\r\n(Pdb) ");
        assert_eq!(visible(&line.partial), "(Pdb) ");
        line.push(b"p x");
        assert_eq!(visible(&line.partial), "(Pdb) p x");
        line.push(b"\r\n42\r\n(Pdb) ");
        assert_eq!(visible(&line.partial), "(Pdb) ");
    }

    #[test]
    fn the_live_line_shows_what_a_terminal_shows() {
        // Backspaces echoed by the pty take characters back.
        assert_eq!(visible(b"name? bob\x08 \x08\x08 \x08"), "name? b");
        // A redraw after a carriage return replaces the line; a final one changes nothing.
        assert_eq!(visible(b"10%\r50%\r"), "50%");
        // Colors, erase-line and titles are dropped; so is the bell.
        assert_eq!(visible(b"\x1b[1;32m>>> \x1b[0m\x1b[K\x1b]0;title\x07x\x07"), ">>> x");
        assert_eq!(visible("é ü".as_bytes()), "é ü");
    }

    #[test]
    fn the_live_line_keeps_a_bounded_end() {
        let mut line = LiveLine::default();
        line.push(&vec![b'a'; 3 * KEEP]);
        line.push(b"end");
        assert_eq!(line.partial.len(), KEEP);
        assert!(line.partial.ends_with(b"aend"));
    }
}
