//! Syntax errors found by the scanner, with the byte offset where they were found.
//!
//! The scanner only knows byte offsets: line, column and an excerpt are computed by whoever
//! still has the bytes (see [`Position`] and [`excerpt`]), and only when an error is reported.

use std::fmt;

/// What the scanner expected where it found something else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expected {
    /// Any JSON value.
    Value,
    /// A value or `]` right after `[`.
    ValueOrArrayEnd,
    /// A member name (a string) or `}` right after `{`.
    KeyOrObjectEnd,
    /// A member name after `,` in an object.
    Key,
    /// `:` after a member name.
    Colon,
    /// `,` or `]` after an array element.
    CommaOrArrayEnd,
    /// `,` or `}` after an object member.
    CommaOrObjectEnd,
    /// Nothing but whitespace after the top-level value.
    EndOfInput,
    /// A digit in a number.
    Digit,
    /// The `"` that closes a string.
    ClosingQuote,
    /// One of the escape characters `"\/bfnrtu`.
    Escape,
    /// A hexadecimal digit in a `\u` escape.
    HexDigit,
    /// The rest of the literal `true`, `false` or `null`.
    Literal(&'static str),
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Expected::Value => "a JSON value",
            Expected::ValueOrArrayEnd => "a value or ']'",
            Expected::KeyOrObjectEnd => "a member name (string) or '}'",
            Expected::Key => "a member name (string)",
            Expected::Colon => "':' after the member name",
            Expected::CommaOrArrayEnd => "',' or ']' after the array element",
            Expected::CommaOrObjectEnd => "',' or '}' after the object member",
            Expected::EndOfInput => "end of input after the top-level value",
            Expected::Digit => "a digit",
            Expected::ClosingQuote => "'\"' closing the string",
            Expected::Escape => "an escape character (one of \" \\ / b f n r t u)",
            Expected::HexDigit => "a hexadecimal digit in the \\u escape",
            Expected::Literal(word) => return write!(f, "the literal '{word}'"),
        };
        f.write_str(s)
    }
}

/// The kind of a syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A byte that cannot appear here.
    Unexpected {
        /// The offending byte.
        found: u8,
        /// What would have been valid.
        expected: Expected,
    },
    /// The input ended in the middle of a value.
    UnexpectedEnd {
        /// What would have been valid.
        expected: Expected,
    },
    /// A byte sequence that is not UTF-8.
    InvalidUtf8,
    /// A raw control character (below U+0020) inside a string: it must be escaped.
    ControlCharacterInString {
        /// The control character.
        found: u8,
    },
    /// Containers nested deeper than the configured limit.
    TooDeep {
        /// The limit in force.
        max_depth: u32,
    },
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Unexpected { found, expected } => {
                write!(f, "expected {expected}, found {}", describe_byte(*found))
            }
            ErrorKind::UnexpectedEnd { expected } => {
                write!(f, "unexpected end of input, expected {expected}")
            }
            ErrorKind::InvalidUtf8 => f.write_str("invalid UTF-8 byte sequence"),
            ErrorKind::ControlCharacterInString { found } => write!(
                f,
                "control character U+{found:04X} in a string must be escaped"
            ),
            ErrorKind::TooDeep { max_depth } => write!(f, "nesting deeper than {max_depth} levels"),
        }
    }
}

fn describe_byte(b: u8) -> String {
    match b {
        b'\n' => "a line break".to_owned(),
        b'\r' => "a carriage return".to_owned(),
        b'\t' => "a tab".to_owned(),
        0x21..=0x7e => format!("'{}'", b as char),
        _ => format!("byte 0x{b:02X}"),
    }
}

/// A syntax error at an absolute byte offset of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Byte offset (from 0) of the offending byte, or the input length at an unexpected end.
    pub offset: u64,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (byte {})", self.kind, self.offset)
    }
}

impl std::error::Error for SyntaxError {}

/// Line and column (both from 1; the column counts bytes) of a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// Line number, from 1.
    pub line: u64,
    /// Column in bytes, from 1.
    pub column: u64,
}

/// Counts lines incrementally over consecutive slices of an input, so that a byte offset's
/// line and column can be reported without keeping the input.
#[derive(Debug, Clone, Default)]
pub struct LineCounter {
    newlines: u64,
    /// Absolute offset just after the last newline seen.
    line_start: u64,
    /// Absolute offset up to which bytes were counted.
    counted: u64,
}

impl LineCounter {
    /// Counts the newlines of `bytes`, which start at absolute offset `at`. Bytes already
    /// counted (before `self.counted`) are skipped, so overlapping slices are fine.
    pub fn count(&mut self, bytes: &[u8], at: u64) {
        let skip = self.counted.saturating_sub(at) as usize;
        if skip >= bytes.len() {
            return;
        }
        let fresh = &bytes[skip..];
        let base = at + skip as u64;
        // A plain count vectorises well (dense newlines in pretty-printed files made a
        // per-newline search loop show up in profiles); the last line start is one search.
        let newlines: usize = fresh
            .chunks(255)
            .map(|chunk| {
                // At most 255 per chunk: a u8 sum cannot overflow, and it vectorises well.
                chunk.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n')) as usize
            })
            .sum();
        if newlines > 0 {
            self.newlines += newlines as u64;
            let last = memchr::memrchr(b'\n', fresh).expect("counted a newline");
            self.line_start = base + last as u64 + 1;
        }
        self.counted = base + fresh.len() as u64;
    }

    /// Absolute offset up to which bytes were counted.
    pub fn counted(&self) -> u64 {
        self.counted
    }

    /// The position of `offset`, counting also `rest` (the bytes from `self.counted()` on,
    /// as far as they are available).
    pub fn position(&self, offset: u64, rest: &[u8]) -> Position {
        let mut line = self.newlines + 1;
        let mut line_start = self.line_start;
        if offset > self.counted {
            let upto = ((offset - self.counted) as usize).min(rest.len());
            for i in memchr::memchr_iter(b'\n', &rest[..upto]) {
                line += 1;
                line_start = self.counted + i as u64 + 1;
            }
        }
        Position {
            line,
            column: offset.saturating_sub(line_start) + 1,
        }
    }
}

/// A one-line excerpt of `window` around `at` (an index into `window`), with a caret line
/// under the offending byte. Control bytes are shown as `·`, so the caret stays aligned.
pub fn excerpt(window: &[u8], at: usize) -> String {
    const SIDE: usize = 40;
    let at = at.min(window.len());
    let line_from = window[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line_to = window[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(window.len(), |i| at + i);
    let from = line_from.max(at.saturating_sub(SIDE));
    let to = line_to.min(at + SIDE);
    let mut text = String::new();
    let mut caret = 0;
    let shown = String::from_utf8_lossy(&window[from..to]);
    let mut byte = from;
    for ch in shown.chars() {
        if byte < at {
            caret += 1;
        }
        byte += if ch == char::REPLACEMENT_CHARACTER {
            1
        } else {
            ch.len_utf8()
        };
        text.push(if ch.is_control() { '·' } else { ch });
    }
    format!("  {text}\n  {}^", " ".repeat(caret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_counter_across_slices() {
        let doc = b"{\n  \"a\": 1,\n  \"b\": x\n}";
        let at = doc.iter().position(|&b| b == b'x').unwrap() as u64;
        for split in 0..=at as usize {
            let mut lc = LineCounter::default();
            lc.count(&doc[..split], 0);
            let pos = lc.position(at, &doc[split..]);
            assert_eq!(pos, Position { line: 3, column: 8 }, "split {split}");
        }
    }

    #[test]
    fn excerpt_points_at_byte() {
        let e = excerpt(b"[1, 2, x]", 7);
        assert_eq!(e, "  [1, 2, x]\n         ^");
    }
}
