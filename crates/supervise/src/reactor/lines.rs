//! Turning a byte stream into whole lines without copying more than needed.
//!
//! Children write in blocks (C stdio flushes 4 KiB at a time), so a read can end in the middle
//! of a line. The tail waits here for the rest; only whole lines leave, so two processes' lines
//! can never be glued or torn. A line longer than the bound leaves in pieces, so memory stays
//! bounded whatever a child writes.
//!
//! The split is a function of the bytes alone, whatever the sizes of the reads: a line of up to
//! `max_line` bytes (its newline not counted) leaves whole, with its newline; a longer one leaves
//! in pieces of exactly `max_line` bytes, the newline going with the last piece (which holds 1 to
//! `max_line` bytes). A piece is cut only once the line is known to be longer than the bound, so
//! a line of exactly `max_line` bytes whose newline arrives in the next read is still whole, and
//! no empty line is ever invented.

use std::io::{self, Read};

/// Bytes read from a pipe per `read` call.
pub(crate) const READ_SIZE: usize = 64 * 1024;

/// A chunk of output: one or more lines. Every line ends with `\n` except, when `incomplete`,
/// the last one (cut at the length bound, or the end of the stream without a newline).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub(crate) data: Vec<u8>,
    pub(crate) incomplete: bool,
}

#[derive(Debug)]
pub(crate) struct LineBuffer {
    buf: Vec<u8>,
    /// Bytes at the start of `buf` already known to hold no newline.
    scanned: usize,
    max_line: usize,
}

impl LineBuffer {
    pub(crate) fn new(max_line: usize) -> LineBuffer {
        LineBuffer { buf: Vec::new(), scanned: 0, max_line: max_line.max(1) }
    }

    /// Reads once from `source` through `scratch` (shared by every pipe, [`READ_SIZE`] bytes)
    /// and keeps what arrived. Returns the byte count (0 at end of stream).
    ///
    /// Only the bytes read are kept, so an idle pipe holds no buffer and a chunk is the size of
    /// its lines; reading straight into the buffer kept 64 KiB (zero-filled, so resident) per
    /// pipe, 13 MB with 200 processes.
    pub(crate) fn read_from(
        &mut self,
        source: &mut impl Read,
        scratch: &mut [u8],
    ) -> io::Result<usize> {
        let got = source.read(scratch)?;
        self.buf.extend_from_slice(&scratch[..got]);
        Ok(got)
    }

    /// Appends bytes (for tests and callers that already hold data).
    #[cfg(test)]
    pub(crate) fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Takes the whole lines at the front of the buffer, or a piece of an over-long line. Call
    /// it until it returns `None` after every read: then the buffer holds at most `max_line`
    /// bytes and no newline.
    pub(crate) fn take(&mut self) -> Option<Chunk> {
        let Some(offset) = memchr::memchr(b'\n', &self.buf[self.scanned..]) else {
            self.scanned = self.buf.len();
            return (self.buf.len() > self.max_line).then(|| self.take_piece());
        };
        let first = self.scanned + offset;
        if first > self.max_line {
            return Some(self.take_piece());
        }
        let end = self.whole_lines_end(first);
        let rest = self.buf[end..].to_vec();
        self.buf.truncate(end);
        let data = std::mem::replace(&mut self.buf, rest);
        self.scanned = 0;
        Some(Chunk { data, incomplete: false })
    }

    /// The end (past its newline) of the run of whole lines that starts the buffer, none of
    /// them longer than the bound; `first` is the first newline, within the bound.
    fn whole_lines_end(&self, first: usize) -> usize {
        let last = memchr::memrchr(b'\n', &self.buf).unwrap_or(first);
        // No line can be over the bound when the whole run is not (the usual case: a read is
        // far smaller than the bound), so the lines need not be looked at one by one.
        if last - first <= self.max_line {
            return last + 1;
        }
        let start = first + 1;
        let mut end = start;
        for newline in memchr::memchr_iter(b'\n', &self.buf[start..]) {
            let at = start + newline;
            if at - end > self.max_line {
                break;
            }
            end = at + 1;
        }
        end
    }

    /// Takes what is left at the end of the stream.
    pub(crate) fn finish(&mut self) -> Option<Chunk> {
        self.scanned = 0;
        if self.buf.is_empty() {
            return None;
        }
        Some(Chunk { data: std::mem::take(&mut self.buf), incomplete: true })
    }

    /// The partial line waiting for its end.
    pub(crate) fn unfinished(&self) -> &[u8] {
        &self.buf
    }

    /// Whether a partial line is waiting.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The first `max_line` bytes, which hold no newline.
    fn take_piece(&mut self) -> Chunk {
        let rest = self.buf[self.max_line..].to_vec();
        self.buf.truncate(self.max_line);
        let data = std::mem::replace(&mut self.buf, rest);
        // The rest may hold a newline; `scanned` only covered bytes that were before it.
        self.scanned = self.scanned.saturating_sub(self.max_line);
        Chunk { data, incomplete: true }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Feeds `input` in reads of the given sizes (cycled), taking chunks after each read as the
    /// pipe reader does, and the rest at the end.
    fn feed(max_line: usize, input: &[u8], reads: &[usize]) -> Vec<Chunk> {
        let mut lines = LineBuffer::new(max_line);
        let mut chunks = Vec::new();
        let mut at = 0;
        for size in reads.iter().cycle() {
            if at >= input.len() {
                break;
            }
            let end = (at + size.max(&1)).min(input.len());
            lines.push(&input[at..end]);
            at = end;
            while let Some(chunk) = lines.take() {
                chunks.push(chunk);
            }
            assert!(lines.buf.len() <= max_line && !lines.buf.contains(&b'\n'));
        }
        chunks.extend(lines.finish());
        chunks
    }

    /// The lines and pieces of the chunks: (bytes, whether a newline ended it).
    fn pieces(chunks: &[Chunk]) -> Vec<(Vec<u8>, bool)> {
        let mut out = Vec::new();
        for chunk in chunks {
            if chunk.incomplete {
                assert!(!chunk.data.contains(&b'\n'), "a piece holds one line part: {chunk:?}");
                assert!(!chunk.data.is_empty(), "an empty piece");
                out.push((chunk.data.clone(), false));
            } else {
                let body = chunk.data.strip_suffix(b"\n").expect("whole lines end with a newline");
                out.extend(body.split(|b| *b == b'\n').map(|line| (line.to_vec(), true)));
            }
        }
        out
    }

    /// The rule, applied to the whole input at once.
    fn expected(max_line: usize, input: &[u8]) -> Vec<(Vec<u8>, bool)> {
        let mut out = Vec::new();
        let mut lines: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
        // The text after the last newline (empty when the input ends with one).
        let tail = lines.pop().unwrap_or_default();
        for line in lines {
            let mut rest = line;
            while rest.len() > max_line {
                out.push((rest[..max_line].to_vec(), false));
                rest = &rest[max_line..];
            }
            out.push((rest.to_vec(), true));
        }
        for piece in tail.chunks(max_line) {
            out.push((piece.to_vec(), false));
        }
        out
    }

    #[test]
    fn whole_lines_leave_and_the_tail_waits() {
        let mut lines = LineBuffer::new(1024);
        lines.push(b"one\ntwo\nthr");
        assert_eq!(lines.take(), Some(Chunk { data: b"one\ntwo\n".to_vec(), incomplete: false }));
        assert_eq!(lines.take(), None);
        lines.push(b"ee\n");
        assert_eq!(lines.take(), Some(Chunk { data: b"three\n".to_vec(), incomplete: false }));
        assert!(lines.is_empty());
    }

    #[test]
    fn the_last_line_without_newline_is_kept_at_the_end() {
        let mut lines = LineBuffer::new(1024);
        lines.push(b"last words");
        assert_eq!(lines.take(), None);
        assert_eq!(lines.finish(), Some(Chunk { data: b"last words".to_vec(), incomplete: true }));
        assert_eq!(lines.finish(), None);
    }

    #[test]
    fn an_over_long_line_is_cut_in_pieces_of_the_bound() {
        let mut lines = LineBuffer::new(4);
        lines.push(b"abcdefghij\n");
        assert_eq!(lines.take(), Some(Chunk { data: b"abcd".to_vec(), incomplete: true }));
        assert_eq!(lines.take(), Some(Chunk { data: b"efgh".to_vec(), incomplete: true }));
        assert_eq!(lines.take(), Some(Chunk { data: b"ij\n".to_vec(), incomplete: false }));
        assert_eq!(lines.take(), None);
        lines.push(b"abcdefghij");
        assert_eq!(lines.take(), Some(Chunk { data: b"abcd".to_vec(), incomplete: true }));
        assert_eq!(lines.take(), Some(Chunk { data: b"efgh".to_vec(), incomplete: true }));
        assert_eq!(lines.take(), None);
        assert_eq!(lines.finish(), Some(Chunk { data: b"ij".to_vec(), incomplete: true }));
    }

    #[test]
    fn a_line_of_exactly_the_bound_is_whole_even_when_its_newline_comes_later() {
        let bound = 1 << 20;
        let mut line = vec![b'x'; bound];
        line.push(b'\n');
        for reads in [vec![bound, 1], vec![READ_SIZE], vec![bound + 1], vec![bound - 1, 2]] {
            let chunks = feed(bound, &line, &reads);
            assert_eq!(chunks, vec![Chunk { data: line.clone(), incomplete: false }], "{reads:?}");
        }
        // Twice the bound: two pieces, the newline with the second, and no empty line.
        let mut double = vec![b'y'; 2 * bound];
        double.push(b'\n');
        let chunks = feed(bound, &double, &[bound, bound, 1]);
        assert_eq!(pieces(&chunks), vec![(vec![b'y'; bound], false), (vec![b'y'; bound], true)]);
    }

    #[test]
    fn reads_split_anywhere_give_the_same_lines() {
        let text: Vec<u8> = (0..200).flat_map(|i| format!("line {i}\n").into_bytes()).collect();
        for step in [1, 3, 7, 64, 1000] {
            let chunks = feed(1 << 20, &text, &[step]);
            assert!(chunks.iter().all(|chunk| !chunk.incomplete));
            let out: Vec<u8> = chunks.into_iter().flat_map(|chunk| chunk.data).collect();
            assert_eq!(out, text, "step {step}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2000,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Whatever the reads, the lines and pieces are those of the rule, and no byte is lost
        /// or added.
        #[test]
        fn the_split_depends_on_the_bytes_alone(
            max_line in 1usize..8,
            input in proptest::collection::vec(
                prop_oneof![3 => Just(b'a'), 1 => Just(b'\n'), 1 => Just(b'b')],
                0..80,
            ),
            reads in proptest::collection::vec(1usize..20, 1..12),
        ) {
            let chunks = feed(max_line, &input, &reads);
            let all: Vec<u8> = chunks.iter().flat_map(|chunk| chunk.data.clone()).collect();
            prop_assert_eq!(&all, &input);
            prop_assert_eq!(pieces(&chunks), expected(max_line, &input));
        }
    }
}
