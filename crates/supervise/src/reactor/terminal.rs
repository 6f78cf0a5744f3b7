//! A terminal's output, made fit for a view of prefixed lines. Sits in front of the line
//! assembler (`lines.rs`) for output read from a pty.
//!
//! On a pty the kernel writes every `\n` out as `\r\n` (the `ONLCR` mode), and programs that
//! draw progress (`\r` then the new state of the line) rely on the carriage return to go back
//! to the start of the line. A view that prints each line after a prefix can do neither, so:
//!
//! - a line ends at `\n`; carriage returns right before it (`\r\n`, `\r\r\n`) are dropped;
//! - a carriage return followed by anything else is a *redraw*: what the line held so far is
//!   dropped, and the line is what was drawn last. `10%\r50%\r100%\n` is the line `100%`, which
//!   is what the terminal showed when the line ended. A redraw that never ends its line shows
//!   nothing until it does (or until the stream ends), so a progress bar does not tear the
//!   view; a raw tap ([`crate::Driver::set_raw_tap`]) shows it live.
//!
//! Nothing else is interpreted: escape sequences (colors, erase-line) pass through untouched.
//! Memory stays bounded: a line that grows past the line bound without a newline is passed
//! on as it is, for the line assembler to cut, and a later redraw drops only what came after.

/// The translation state of one pty's output.
#[derive(Debug)]
pub(crate) struct TerminalText {
    /// The current line since its last redraw.
    line: Vec<u8>,
    /// The input ended on carriage returns: whether they end the line or start a redraw
    /// depends on the next byte.
    pending_cr: bool,
    /// Whole lines (and over-long pieces) ready for the line assembler.
    out: Vec<u8>,
    max_line: usize,
}

impl TerminalText {
    pub(crate) fn new(max_line: usize) -> TerminalText {
        TerminalText { line: Vec::new(), pending_cr: false, out: Vec::new(), max_line }
    }

    /// Translates bytes read from the pty; the lines they complete are in [`Self::take`].
    pub(crate) fn push(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.pending_cr {
                match data[0] {
                    b'\r' => {
                        data = &data[1..];
                        continue;
                    }
                    // The line ends: handled below like any `\n`.
                    b'\n' => {}
                    _ => self.line.clear(),
                }
                self.pending_cr = false;
            }
            let Some(at) = memchr::memchr2(b'\r', b'\n', data) else {
                self.line.extend_from_slice(data);
                break;
            };
            if data[at] == b'\n' {
                if self.line.is_empty() {
                    // The common case, a plain line: straight to the output.
                    self.out.extend_from_slice(&data[..=at]);
                } else {
                    self.line.extend_from_slice(&data[..at]);
                    self.out.append(&mut self.line);
                    self.out.push(b'\n');
                }
            } else {
                self.line.extend_from_slice(&data[..at]);
                self.pending_cr = true;
            }
            data = &data[at + 1..];
        }
        if self.line.len() > self.max_line {
            self.out.append(&mut self.line);
        }
    }

    /// The current line since its last redraw: what a terminal shows on its last line.
    pub(crate) fn unfinished(&self) -> &[u8] {
        &self.line
    }

    /// The output so far, taken; hand the buffer back with [`Self::recycle`].
    pub(crate) fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Keeps the buffer's capacity for the next output.
    pub(crate) fn recycle(&mut self, mut buffer: Vec<u8>) {
        if self.out.is_empty() {
            buffer.clear();
            self.out = buffer;
        }
    }

    /// The end of the stream: the unfinished line goes out as it was last drawn.
    pub(crate) fn finish(&mut self) {
        self.pending_cr = false;
        self.out.append(&mut self.line);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn translate(input: &[u8], step: usize) -> Vec<u8> {
        let mut text = TerminalText::new(1 << 20);
        let mut out = Vec::new();
        for piece in input.chunks(step.max(1)) {
            text.push(piece);
            out.extend(text.take());
        }
        text.finish();
        out.extend(text.take());
        out
    }

    #[test]
    fn crlf_ends_a_line() {
        assert_eq!(translate(b"one\r\ntwo\r\n", 64), b"one\ntwo\n");
        // A program that writes `\r\n` itself gets `\r\r\n` from the kernel.
        assert_eq!(translate(b"one\r\r\ntwo\n", 64), b"one\ntwo\n");
    }

    #[test]
    fn a_redraw_keeps_what_was_drawn_last() {
        assert_eq!(translate(b"10%\r50%\r100%\r\ndone\r\n", 64), b"100%\ndone\n");
        assert_eq!(translate(b"\rfirst\rsecond\n", 64), b"second\n");
        // A redraw shorter than what it covers still replaces the whole line.
        assert_eq!(translate(b"downloading\rok\n", 64), b"ok\n");
    }

    #[test]
    fn the_unfinished_line_goes_out_at_the_end() {
        assert_eq!(translate(b"a\r\n50%\r90%\r", 64), b"a\n90%");
        assert_eq!(translate(b"partial", 64), b"partial");
    }

    #[test]
    fn escape_sequences_pass_through() {
        assert_eq!(translate(b"\x1b[32mgreen\x1b[0m\r\n", 64), b"\x1b[32mgreen\x1b[0m\n");
    }

    #[test]
    fn a_line_past_the_bound_is_passed_on_as_it_is() {
        let mut text = TerminalText::new(4);
        text.push(b"abcdef");
        assert_eq!(text.take(), b"abcdef");
        text.push(b"gh\rij\r\n");
        assert_eq!(text.take(), b"ij\n");
    }

    /// The translation of the whole input at once, written the plain way.
    fn expected(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut lines: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
        let tail = lines.pop().unwrap_or_default();
        for (n, line) in lines.iter().chain(std::iter::once(&tail)).enumerate() {
            let body =
                line.iter().rposition(|b| *b != b'\r').map_or(&line[..0], |end| &line[..=end]);
            let last = body.rsplit(|b| *b == b'\r').next().unwrap_or_default();
            out.extend_from_slice(last);
            if n < lines.len() {
                out.push(b'\n');
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2000,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// However the reads split it, the output is that of the rule applied at once.
        #[test]
        fn the_translation_depends_on_the_bytes_alone(
            input in proptest::collection::vec(
                prop_oneof![3 => Just(b'a'), 2 => Just(b'\r'), 2 => Just(b'\n'), 1 => Just(b'b')],
                0..60,
            ),
            step in 1usize..9,
        ) {
            prop_assert_eq!(translate(&input, step), expected(&input));
        }
    }
}
