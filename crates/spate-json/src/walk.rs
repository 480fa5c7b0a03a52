//! Walking a JSON value that the [`Scanner`](crate::Scanner) has already validated.
//!
//! Validation and interpretation are separate passes on purpose: the scanner proves the bytes
//! are RFC 8259 JSON once, at full speed, and everything that then wants to *look inside* an
//! item (schema inference, flattening into CSV columns, conversion) walks the same bytes with
//! a [`Walker`], which trusts them and so does almost no checking of its own.
//!
//! The walker is a pull cursor: [`Walker::next`] returns one [`Event`] at a time (object and
//! array begin/end, member names, strings, numbers, literals), [`Walker::skip_value`] steps
//! over a whole subtree and hands back its bytes (which [`compact_into`] can then copy without
//! whitespace). Nesting is a bit-stack, never recursion, so a deep value cannot overflow the
//! stack. Strings are found with `memchr` and handed out raw ([`JsonStr`]); decoding their
//! escapes ([`JsonStr::decode`], [`unescape_into`]) happens only when asked, into a buffer the
//! caller reuses.
//!
//! On bytes that are *not* valid JSON the walker never panics and never loops: it returns
//! events that make some sense of them, or stops early. Validate first.
//!
//! ```
//! use spate_json::walk::{Event, Walker};
//!
//! let mut w = Walker::new(br#" {"a": [1, true], "b\n": "x\u00e9"} "#);
//! let mut buf = Vec::new();
//! assert_eq!(w.next(), Some(Event::BeginObject));
//! let Some(Event::Key(k)) = w.next() else { panic!() };
//! assert_eq!(k.raw(), b"a");
//! assert_eq!(w.skip_value(), Some(&b"[1, true]"[..]));
//! let Some(Event::Key(k)) = w.next() else { panic!() };
//! assert_eq!(k.decode(&mut buf), b"b\n");
//! let Some(Event::String(s)) = w.next() else { panic!() };
//! assert_eq!(s.decode(&mut buf), "xé".as_bytes());
//! assert_eq!(w.next(), Some(Event::EndObject));
//! assert_eq!(w.next(), None);
//! ```

use crate::strings::{find_special, skip_whitespace};

pub use crate::compact::compact_into;

/// One step of a walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// `{`
    BeginObject,
    /// `}`
    EndObject,
    /// `[`
    BeginArray,
    /// `]`
    EndArray,
    /// A member name (the value follows).
    Key(JsonStr<'a>),
    /// A string value.
    String(JsonStr<'a>),
    /// A number, as written.
    Number(&'a [u8]),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// A string as written: the bytes between the quotes, escapes not yet decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonStr<'a> {
    raw: &'a [u8],
    escaped: bool,
}

impl<'a> JsonStr<'a> {
    /// The bytes between the quotes, as written.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// True when the string has a backslash escape (so [`JsonStr::raw`] is not its text).
    pub fn has_escapes(&self) -> bool {
        self.escaped
    }

    /// The decoded text (UTF-8 for validated input): the raw bytes when there is no escape,
    /// else the escapes decoded into `buf` (cleared first).
    pub fn decode<'b>(&self, buf: &'b mut Vec<u8>) -> &'b [u8]
    where
        'a: 'b,
    {
        if self.escaped {
            buf.clear();
            unescape_into(self.raw, buf);
            buf
        } else {
            self.raw
        }
    }
}

/// A pull cursor over one validated JSON value (or a sequence of them separated by
/// whitespace). See the module docs.
#[derive(Debug, Clone)]
pub struct Walker<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// One bit per open container, 1 for an object; `depth` bits are in use.
    kinds: Vec<u64>,
    depth: usize,
    /// The next string is a member name (just after `{` or after `,` in an object).
    expect_key: bool,
    /// Where the token of the last event began.
    last_start: usize,
    /// The innermost open container is an object (the top bit of `kinds`, kept at hand).
    innermost_object: bool,
}

impl<'a> Walker<'a> {
    /// A walker at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Walker {
            bytes,
            pos: 0,
            kinds: Vec::new(),
            depth: 0,
            expect_key: false,
            last_start: 0,
            innermost_object: false,
        }
    }

    /// Open containers.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Offset of the next byte to look at.
    pub fn offset(&self) -> usize {
        self.pos
    }

    #[inline]
    fn in_object(&self) -> bool {
        self.innermost_object
    }

    /// Closes the innermost container; returns whether it was an object.
    #[inline]
    fn pop(&mut self) -> bool {
        let was_object = self.innermost_object;
        self.depth -= 1;
        self.innermost_object = self.depth > 0 && {
            let d = self.depth - 1;
            self.kinds[d / 64] >> (d % 64) & 1 == 1
        };
        self.expect_key = false;
        was_object
    }

    fn push(&mut self, object: bool) {
        let d = self.depth;
        if d / 64 == self.kinds.len() {
            self.kinds.push(0);
        }
        let bit = 1u64 << (d % 64);
        if object {
            self.kinds[d / 64] |= bit;
        } else {
            self.kinds[d / 64] &= !bit;
        }
        self.depth += 1;
        self.innermost_object = object;
    }

    /// Skips whitespace and a separating comma; returns where the next token starts.
    #[inline]
    fn token_start(&mut self) -> usize {
        let b = self.bytes;
        let mut i = skip_whitespace(b, self.pos);
        if i < b.len() && b[i] == b',' {
            i = skip_whitespace(b, i + 1);
            self.expect_key = self.in_object();
        }
        i
    }

    /// The next event; `None` at the end of the input.
    #[allow(clippy::should_implement_trait)] // lends borrowed events; an iterator adapter adds nothing
    #[inline]
    pub fn next(&mut self) -> Option<Event<'a>> {
        let b = self.bytes;
        let i = self.token_start();
        let Some(&c) = b.get(i) else {
            self.pos = b.len();
            return None;
        };
        self.last_start = i;
        match c {
            b'"' => {
                let (s, end) = string_at(b, i);
                if self.expect_key {
                    self.expect_key = false;
                    let j = skip_whitespace(b, end);
                    self.pos = if b.get(j) == Some(&b':') { j + 1 } else { j };
                    Some(Event::Key(s))
                } else {
                    self.pos = end;
                    Some(Event::String(s))
                }
            }
            b'{' => {
                self.push(true);
                self.expect_key = true;
                self.pos = i + 1;
                Some(Event::BeginObject)
            }
            b'[' => {
                self.push(false);
                self.expect_key = false;
                self.pos = i + 1;
                Some(Event::BeginArray)
            }
            b'}' | b']' if self.depth > 0 => {
                let object = self.pop();
                self.pos = i + 1;
                Some(if object {
                    Event::EndObject
                } else {
                    Event::EndArray
                })
            }
            b't' => self.literal(i, 4, Event::Bool(true)),
            b'f' => self.literal(i, 5, Event::Bool(false)),
            b'n' => self.literal(i, 4, Event::Null),
            b'-' | b'0'..=b'9' => {
                let end = number_end(b, i);
                self.pos = end;
                Some(Event::Number(&b[i..end]))
            }
            _ => {
                // Not JSON: stop rather than guess.
                self.pos = b.len();
                None
            }
        }
    }

    #[inline]
    fn literal(&mut self, i: usize, len: usize, event: Event<'a>) -> Option<Event<'a>> {
        self.pos = (i + len).min(self.bytes.len());
        Some(event)
    }

    /// The first byte of the next token, without moving past it (whitespace and a separating
    /// comma are stepped over): `{`, `[`, `"`, a digit or `-`, `t`, `f`, `n`, `}` or `]`.
    pub fn peek(&mut self) -> Option<u8> {
        let i = self.token_start();
        self.pos = i;
        self.bytes.get(i).copied()
    }

    /// Right after [`Event::BeginObject`] or [`Event::BeginArray`]: steps to the end of that
    /// container and returns all of its bytes, brackets included (as [`Walker::skip_value`]
    /// would have before it began). `None`, without moving, anywhere else.
    pub fn skip_container(&mut self) -> Option<&'a [u8]> {
        let open = self.last_start;
        if self.depth == 0
            || self.pos != open + 1
            || !matches!(self.bytes.get(open), Some(b'{' | b'['))
        {
            return None;
        }
        let end = container_end(self.bytes, open);
        self.pop();
        self.pos = end;
        Some(&self.bytes[open..end])
    }

    /// Steps over the next value (a scalar or a whole container, however deep) and returns
    /// its bytes as written. Call it where a value is expected: at the start, after a
    /// [`Event::Key`], or between array elements; elsewhere (before a member name, or at the
    /// end of a container or of the input) it returns `None` and does not move.
    pub fn skip_value(&mut self) -> Option<&'a [u8]> {
        let b = self.bytes;
        let save = (self.pos, self.expect_key);
        let start = self.token_start();
        if self.expect_key {
            (self.pos, self.expect_key) = save;
            return None;
        }
        match b.get(start) {
            None | Some(b'}' | b']') => {
                (self.pos, self.expect_key) = save;
                None
            }
            Some(b'{' | b'[') => {
                let end = container_end(b, start);
                self.pos = end;
                Some(&b[start..end])
            }
            Some(_) => {
                self.pos = start;
                self.next()?;
                Some(&b[start..self.pos])
            }
        }
    }
}

/// The string whose opening quote is at `open`, and the offset just past its closing quote.
#[inline]
fn string_at(b: &[u8], open: usize) -> (JsonStr<'_>, usize) {
    let start = open + 1;
    let mut i = start;
    let mut escaped = false;
    while i < b.len() {
        i += find_special(&b[i..]);
        match b.get(i) {
            Some(b'"') => {
                return (
                    JsonStr {
                        raw: &b[start..i],
                        escaped,
                    },
                    i + 1,
                );
            }
            Some(b'\\') => {
                escaped = true;
                i += 2;
            }
            // A control character (not valid JSON): part of the string.
            Some(_) => i += 1,
            None => break,
        }
    }
    // Unterminated (not valid JSON): the rest of the input.
    (
        JsonStr {
            raw: &b[start.min(b.len())..],
            escaped,
        },
        b.len(),
    )
}

#[inline]
fn number_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
        i += 1;
    }
    i
}

/// The offset just past the container that opens at `open` (strings are stepped over, so
/// brackets inside them do not count).
fn container_end(b: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            b'"' => {
                i = string_at(b, i).1;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// Appends the decoded text of a string's raw bytes (as between the quotes) to `out`. Every
/// escape of RFC 8259 is decoded; a `\u` surrogate pair becomes one character; a lone
/// surrogate (which RFC 8259 allows but UTF-8 cannot hold) becomes U+FFFD.
pub fn unescape_into(raw: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        let Some(k) = memchr::memchr(b'\\', &raw[i..]) else {
            out.extend_from_slice(&raw[i..]);
            return;
        };
        out.extend_from_slice(&raw[i..i + k]);
        i += k + 1;
        let Some(&e) = raw.get(i) else {
            return;
        };
        i += 1;
        let simple = match e {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let (ch, used) = unicode_escape(&raw[i..]);
                i += used;
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
                continue;
            }
            other => other,
        };
        out.push(simple);
    }
}

/// Decodes the `XXXX` after `\u` (and a low surrogate's `\uXXXX` after a high one); returns
/// the character and the bytes used.
fn unicode_escape(rest: &[u8]) -> (char, usize) {
    let Some(unit) = hex4(rest) else {
        return ('\u{fffd}', 0);
    };
    if (0xd800..0xdc00).contains(&unit) {
        if let (Some(b"\\u"), Some(low)) = (rest.get(4..6), rest.get(6..).and_then(hex4)) {
            if (0xdc00..0xe000).contains(&low) {
                let c = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
                return (char::from_u32(c).unwrap_or('\u{fffd}'), 10);
            }
        }
    }
    (char::from_u32(unit).unwrap_or('\u{fffd}'), 4)
}

fn hex4(b: &[u8]) -> Option<u32> {
    let digits = b.get(..4)?;
    digits.iter().try_fold(0u32, |acc, &d| {
        let v = (d as char).to_digit(16)?;
        Some(acc << 4 | v)
    })
}

#[cfg(test)]
mod tests;
