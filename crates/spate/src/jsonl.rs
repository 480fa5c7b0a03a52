//! Reading JSON Lines: one JSON value per line, in bounded memory.
//!
//! [`Lines`] reads lines from any reader into one reused buffer and lends them out without
//! the line end (`\n` or `\r\n`; the last line may lack it). It can read a whole input or
//! only the lines that *start* inside a byte range of a file, which is how one big file is
//! split between threads: the range `[start, end)` owns every line whose first byte is in
//! it, reads past `end` to finish its last line, and skips the line it starts in the middle
//! of (the previous range owns it). Every line belongs to exactly one range, whatever the
//! split points, and each range counts its lines so that line numbers can be made absolute
//! afterwards.
//!
//! A line longer than the limit is not kept: it comes out as [`Line::complete`] `== false`
//! and the reader skips to the next line, so a single huge line cannot exhaust memory.
//!
//! [`select_line`] validates one line and selects the items at the paths inside it (the
//! path applies to each line's value; `""` selects the whole line), turning a syntax error
//! into an [`Error`] that names the input, the line and the column, with an excerpt.
//!
//! ```
//! use std::ops::ControlFlow;
//! use spate::jsonl::{Lines, LinesOptions, select_line};
//! use spate::{BufferSelector, Path};
//!
//! let text = b"{\"type\":\"a\",\"n\":1}\r\n\n{\"type\":\"b\",\"n\":2}";
//! let mut lines = Lines::new(&text[..], LinesOptions::default());
//! let mut selector = BufferSelector::new(vec![Path::parse("n")?])?;
//! let mut sum = 0;
//! while let Some(line) = lines.next_line()? {
//!     if line.is_blank() {
//!         continue;
//!     }
//!     select_line(&mut selector, "<input>", &line, usize::MAX, |item| {
//!         sum += item.decode::<u64>().unwrap();
//!         ControlFlow::Continue(())
//!     })?;
//! }
//! assert_eq!((sum, lines.line_count()), (3, 3));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{self, Read};
use std::ops::ControlFlow;

use spate_json::{excerpt, Position, SyntaxError};

use crate::buffer::BufferSelector;
use crate::error::{Error, Location, SyntaxErrorKindOnly};
use crate::items::{ItemRef, DEFAULT_MAX_ITEM_SIZE};

/// Default read size of [`Lines`].
pub const DEFAULT_READ_SIZE: usize = 256 * 1024;

/// Settings of [`Lines`].
#[derive(Debug, Clone, Copy)]
pub struct LinesOptions {
    /// Bytes asked of the reader at a time.
    pub read_size: usize,
    /// A line longer than this is reported as too long and skipped.
    pub max_line: usize,
    /// Absolute offset of the first byte the reader returns.
    pub offset: u64,
    /// Only lines starting before this absolute offset are read (`None`: to the end).
    pub end: Option<u64>,
    /// The first bytes, up to and including the first `\n`, belong to a line that started
    /// before `offset`: skip them (set for every range but the first).
    pub skip_partial_line: bool,
}

impl Default for LinesOptions {
    fn default() -> Self {
        LinesOptions {
            read_size: DEFAULT_READ_SIZE,
            max_line: DEFAULT_MAX_ITEM_SIZE,
            offset: 0,
            end: None,
            skip_partial_line: false,
        }
    }
}

/// One line, lent by [`Lines::next_line`].
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// The line without its `\n` or `\r\n` (empty when the line was too long).
    pub text: &'a [u8],
    /// Absolute offset of the line's first byte.
    pub offset: u64,
    /// Line number, from 1, counted from where the reader started.
    pub number: u64,
    /// False when the line was longer than [`LinesOptions::max_line`] (then `text` is empty).
    pub complete: bool,
}

impl Line<'_> {
    /// True for a line of only spaces and tabs (blank lines are not values; they are skipped).
    pub fn is_blank(&self) -> bool {
        self.complete && self.text.iter().all(|&b| matches!(b, b' ' | b'\t' | b'\r'))
    }
}

/// The lines of a reader (or of a byte range of it). See the module docs.
#[derive(Debug)]
pub struct Lines<R> {
    reader: R,
    options: LinesOptions,
    buf: Vec<u8>,
    /// Absolute offset of `buf[0]`.
    buf_offset: u64,
    /// Start of the next line in `buf`.
    pos: usize,
    /// Where to look for the next `\n` (everything in `pos..search` has none).
    search: usize,
    filled: usize,
    number: u64,
    /// Dropping bytes up to the next `\n`: the tail of a line that started before the
    /// range, or of a line that is too long.
    discarding: bool,
    /// The line being dropped is one of ours (too long), not the previous range's.
    discarding_owned: bool,
    /// Absolute offset of the first line returned, and just past the last one (with its
    /// line end): the bytes this reader owns.
    first_start: Option<u64>,
    owned_end: u64,
    eof: bool,
    done: bool,
    bytes_read: u64,
    /// The input mapped, read in place instead of into `buf` (see [`Lines::with_mapping`]).
    #[cfg(unix)]
    view: Option<crate::mapped::View>,
}

impl<R: Read> Lines<R> {
    /// Lines of `reader` with `options`.
    pub fn new(reader: R, options: LinesOptions) -> Self {
        Self::with_buffer(reader, options, Vec::new())
    }

    /// Like [`Lines::new`], reusing `buf`'s allocation (see [`Lines::into_buffer`]).
    pub fn with_buffer(reader: R, options: LinesOptions, buf: Vec<u8>) -> Self {
        // The old bytes stay (only `..filled` is ever read): no zeroing for every input.
        Lines {
            reader,
            buf,
            buf_offset: options.offset,
            pos: 0,
            search: 0,
            filled: 0,
            number: 0,
            discarding: options.skip_partial_line,
            discarding_owned: false,
            first_start: None,
            owned_end: options.offset,
            eof: false,
            done: false,
            bytes_read: 0,
            #[cfg(unix)]
            view: None,
            options: LinesOptions {
                read_size: options.read_size.max(1),
                max_line: options.max_line.max(1),
                ..options
            },
        }
    }

    /// Reads the lines of `mapping` (the whole file `reader` reads, mapped) in place instead
    /// of reading `reader`, from [`LinesOptions::offset`] on: nothing is copied (see
    /// [`crate::mapped`]); the lines, their numbers and offsets are the same as when reading.
    /// Call before the first line; `reader` is not read any more.
    #[cfg(unix)]
    pub fn with_mapping(mut self, mapping: crate::mapped::Mapping) -> Self {
        debug_assert_eq!(self.filled, 0, "mapped before the first read");
        self.view = Some(crate::mapped::View::new(mapping, self.buf_offset));
        self
    }

    /// The bytes read, `buf[0]` first (for a mapping, followed by the rest of the input:
    /// callers stay within `filled`).
    #[inline]
    fn window(&self) -> &[u8] {
        #[cfg(unix)]
        if let Some(view) = &self.view {
            return view.from(self.buf_offset);
        }
        &self.buf
    }

    /// The window now starts at `buf_offset`: a mapping gives back the pages before it.
    fn moved(&mut self) {
        #[cfg(unix)]
        if let Some(view) = &mut self.view {
            view.moved(self.buf_offset);
        }
    }

    /// The buffer, to reuse for the next input.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// Lines read so far (blank ones included): after the last line, how many lines this
    /// reader owns.
    pub fn line_count(&self) -> u64 {
        self.number
    }

    /// Bytes read from the reader so far (a range reads a little before and after the
    /// lines it owns).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Bytes of the lines read so far, line ends included: over all the ranges of a file,
    /// these add up to the file's size.
    pub fn line_bytes(&self) -> u64 {
        self.first_start
            .map_or(0, |start| self.owned_end.saturating_sub(start))
    }

    fn owned(&mut self, start: u64, end: u64) {
        self.first_start.get_or_insert(start);
        self.owned_end = end;
    }

    /// The next line; `None` at the end of the input or of the range.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        loop {
            if self.done {
                return Ok(None);
            }
            if let Some(i) = memchr::memchr(b'\n', &self.window()[self.search..self.filled]) {
                let nl = self.search + i;
                let start = self.pos;
                self.pos = nl + 1;
                self.search = self.pos;
                if self.discarding {
                    self.discarding = false;
                    if self.discarding_owned {
                        self.discarding_owned = false;
                        self.owned_end = self.buf_offset + nl as u64 + 1;
                    }
                    continue;
                }
                let offset = self.buf_offset + start as u64;
                if self.past_end(offset) {
                    return Ok(None);
                }
                self.owned(offset, self.buf_offset + nl as u64 + 1);
                self.number += 1;
                if nl - start > self.options.max_line {
                    // Too long even when it came whole in one read: whether a line is too
                    // long must not depend on where the reads fell (found by fuzzing).
                    return Ok(Some(Line {
                        text: &[],
                        offset,
                        number: self.number,
                        complete: false,
                    }));
                }
                let mut text = &self.window()[start..nl];
                if let [rest @ .., b'\r'] = text {
                    text = rest;
                }
                return Ok(Some(Line {
                    text,
                    offset,
                    number: self.number,
                    complete: true,
                }));
            }
            self.search = self.filled;
            if self.eof {
                self.done = true;
                let start = self.pos;
                if self.discarding_owned {
                    self.owned_end = self.buf_offset + self.filled as u64;
                }
                if start == self.filled || self.discarding {
                    return Ok(None);
                }
                // The last line, without a line end.
                let offset = self.buf_offset + start as u64;
                if self.past_end(offset) {
                    return Ok(None);
                }
                self.owned(offset, self.buf_offset + self.filled as u64);
                self.number += 1;
                self.pos = self.filled;
                if self.filled - start > self.options.max_line {
                    return Ok(Some(Line {
                        text: &[],
                        offset,
                        number: self.number,
                        complete: false,
                    }));
                }
                let mut text = &self.window()[start..self.filled];
                if let [rest @ .., b'\r'] = text {
                    text = rest;
                }
                return Ok(Some(Line {
                    text,
                    offset,
                    number: self.number,
                    complete: true,
                }));
            }
            // Keep only the unfinished line, then read more.
            if self.pos > 0 {
                #[cfg(unix)]
                let mapped = self.view.is_some();
                #[cfg(not(unix))]
                let mapped = false;
                if !mapped {
                    self.buf.copy_within(self.pos..self.filled, 0);
                }
                self.buf_offset += self.pos as u64;
                self.filled -= self.pos;
                self.search -= self.pos;
                self.pos = 0;
                self.moved();
            }
            if self.discarding {
                // Inside a line that is not ours or too long: drop what was read of it.
                self.buf_offset += self.filled as u64;
                self.moved();
                if self.discarding_owned {
                    self.owned_end = self.buf_offset;
                }
                self.filled = 0;
                self.search = 0;
            } else if self.filled > self.options.max_line {
                let offset = self.buf_offset;
                self.buf_offset += self.filled as u64;
                self.moved();
                self.filled = 0;
                self.search = 0;
                self.discarding = true;
                if self.past_end(offset) {
                    return Ok(None);
                }
                self.discarding_owned = true;
                self.owned(offset, self.buf_offset);
                self.number += 1;
                return Ok(Some(Line {
                    text: &[],
                    offset,
                    number: self.number,
                    complete: false,
                }));
            }
            #[cfg(unix)]
            if let Some(view) = &self.view {
                let n = view.read(self.buf_offset + self.filled as u64, self.options.read_size);
                self.bytes_read += n as u64;
                if n == 0 {
                    self.eof = true;
                }
                self.filled += n;
                continue;
            }
            let want = self.filled + self.options.read_size;
            if self.buf.len() < want {
                self.buf.resize(want, 0);
            }
            let n = loop {
                match self.reader.read(&mut self.buf[self.filled..want]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.done = true;
                        return Err(e);
                    }
                }
            };
            self.bytes_read += n as u64;
            if n == 0 {
                self.eof = true;
            }
            self.filled += n;
        }
    }

    fn past_end(&mut self, offset: u64) -> bool {
        if self.options.end.is_some_and(|end| offset >= end) {
            self.done = true;
            true
        } else {
            false
        }
    }
}

/// Validates one line and calls `f` for each item selected in it (offsets of items are
/// relative to the line). `name` is the input's name for the error. Returns `Ok(true)` when
/// `f` asked to stop. A line that is not [`Line::complete`] is an error naming `max_line`.
pub fn select_line<F>(
    selector: &mut BufferSelector,
    name: &str,
    line: &Line<'_>,
    max_line: usize,
    f: F,
) -> Result<bool, Error>
where
    F: FnMut(ItemRef<'_>) -> ControlFlow<()>,
{
    if !line.complete {
        return Err(line_too_long(name, line, max_line));
    }
    selector
        .select(line.text, f)
        .map_err(|e| syntax_error(name, line, e))
}

/// The error for a syntax error in a line (its offset relative to the line).
pub fn syntax_error(name: &str, line: &Line<'_>, error: SyntaxError) -> Error {
    let at = error.offset;
    Error::Syntax {
        location: Location {
            input: name.to_owned(),
            offset: line.offset + at,
            position: Position {
                line: line.number,
                column: at + 1,
            },
            excerpt: excerpt(line.text, at as usize),
        },
        error: SyntaxErrorKindOnly(SyntaxError {
            offset: line.offset + at,
            ..error
        }),
    }
}

/// The error for a line longer than `limit` bytes.
pub fn line_too_long(name: &str, line: &Line<'_>, limit: usize) -> Error {
    Error::ItemTooLarge {
        location: Location {
            input: name.to_owned(),
            offset: line.offset,
            position: Position {
                line: line.number,
                column: 1,
            },
            excerpt: String::new(),
        },
        limit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines of `text` read `read_size` bytes at a time, in the ranges `splits` makes.
    fn lines_of(text: &[u8], read_size: usize, splits: &[u64]) -> Vec<(Vec<u8>, u64, u64)> {
        let mut bounds = vec![0];
        bounds.extend_from_slice(splits);
        bounds.push(text.len() as u64);
        let mut all = Vec::new();
        let mut base = 0;
        let mut owned = 0;
        for w in bounds.windows(2) {
            let (start, end) = (w[0], w[1]);
            let from = start.saturating_sub(1);
            let mut lines = Lines::new(
                &text[from as usize..],
                LinesOptions {
                    read_size,
                    offset: from,
                    end: Some(end),
                    skip_partial_line: start > 0,
                    ..LinesOptions::default()
                },
            );
            while let Some(l) = lines.next_line().unwrap() {
                all.push((l.text.to_vec(), l.offset, base + l.number));
            }
            base += lines.line_count();
            owned += lines.line_bytes();
        }
        assert_eq!(owned, text.len() as u64, "{splits:?}");
        all
    }

    #[test]
    fn ranges_partition_the_lines_wherever_they_split() {
        let text = b"{\"a\":1}\r\n\n[2, 3]\nxxxxxxxxxxxxxxxxxxxxxxxx\n\"last\"";
        let whole = lines_of(text, 4096, &[]);
        assert_eq!(whole.len(), 5);
        assert_eq!(whole[0], (b"{\"a\":1}".to_vec(), 0, 1));
        assert_eq!(whole[1], (Vec::new(), 9, 2));
        assert_eq!(whole[4], (b"\"last\"".to_vec(), 42, 5));
        for read_size in [1, 2, 3, 7, 4096] {
            for a in 0..=text.len() as u64 {
                assert_eq!(lines_of(text, read_size, &[a]), whole, "{read_size} {a}");
                for b in a..=text.len() as u64 {
                    assert_eq!(lines_of(text, read_size, &[a, b]), whole, "{a} {b}");
                }
            }
        }
    }

    #[test]
    fn too_long_lines_are_skipped_not_kept() {
        // Whatever the reads: a line that came whole in one read is too long all the same
        // (found by the jsonl_split fuzz target: it was kept when it did).
        for read_size in [2, 3, 4096] {
            let text = b"1\n22222222222222\n3\n55555";
            let mut lines = Lines::new(
                &text[..],
                LinesOptions {
                    read_size,
                    max_line: 4,
                    ..LinesOptions::default()
                },
            );
            let mut got = Vec::new();
            while let Some(l) = lines.next_line().unwrap() {
                got.push((l.text.to_vec(), l.number, l.complete, l.offset));
            }
            assert_eq!(
                got,
                [
                    (b"1".to_vec(), 1, true, 0),
                    (Vec::new(), 2, false, 2),
                    (b"3".to_vec(), 3, true, 17),
                    (Vec::new(), 4, false, 19)
                ],
                "read size {read_size}"
            );
        }
    }

    #[test]
    fn empty_input_has_no_lines() {
        let mut lines = Lines::new(&b""[..], LinesOptions::default());
        assert!(lines.next_line().unwrap().is_none());
        assert_eq!(lines.line_count(), 0);
    }

    #[test]
    fn errors_name_line_and_column() {
        let mut selector = BufferSelector::new(Vec::new()).unwrap();
        let line = Line {
            text: b"{\"a\": tru}",
            offset: 100,
            number: 7,
            complete: true,
        };
        let e = select_line(&mut selector, "f.jsonl", &line, 1 << 20, |_| {
            ControlFlow::Continue(())
        })
        .unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("f.jsonl:7:10 (byte 109): "), "{text}");
        assert!(text.contains("{\"a\": tru}\n           ^"), "{text}");
    }
}
