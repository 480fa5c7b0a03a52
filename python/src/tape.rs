//! Items walked on the engine thread, so that the Python thread only makes objects.
//!
//! Profiles of `spate.items` showed the Python thread, not the engine, setting the pace:
//! it walked each item's bytes (finding where strings end, decoding escapes, parsing
//! numbers) and made the Python objects, while the engine thread, which had already
//! validated those bytes, waited. The engine now also walks each result as it puts it in a
//! batch and records what it found — a *tape* of [`Op`]s: container begin/end, where each
//! string's text is, each number already parsed — and the Python thread replays the tape.
//! The work is the same; it is shared out more evenly between the two threads.
//!
//! A tape holds positions relative to its item (`u32`), so an item over 4 GiB gets no tape
//! and is walked on the Python thread as before ([`Tape::item`] returns `None`).

use spate_json::walk::{Event, JsonStr, Walker};

use crate::build::Floats;

/// Where a string's text is: `len` bytes at `start` of the item (no escapes), or of the
/// tape's decoded text ([`Op::DecodedKey`], [`Op::DecodedString`]).
#[derive(Debug, Clone, Copy)]
pub struct Text {
    pub start: u32,
    pub len: u32,
}

impl Text {
    pub fn of<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        &bytes[self.start as usize..(self.start + self.len) as usize]
    }
}

/// One step of a recorded walk.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    BeginObject,
    BeginArray,
    /// The innermost container ends.
    End,
    /// A member name without escapes (its text is in the item).
    Key(Text),
    /// A member name whose escapes were decoded into the tape's text.
    DecodedKey(Text),
    /// A string without escapes.
    String(Text),
    /// A string whose escapes were decoded into the tape's text.
    DecodedString(Text),
    /// A string with a lone surrogate escape (`"\ud800"`): valid JSON that UTF-8 cannot
    /// hold; Python's own decoder makes it (the text is the item's raw bytes).
    Surrogate(Text),
    Int(i64),
    Float(f64),
    /// A number made from its text: an integer beyond 18 digits (`int`), or a non-integer
    /// when numbers are `decimal.Decimal`.
    NumberText(Text),
    Bool(bool),
    Null,
}

/// The tapes of the results of a batch, one after the other.
#[derive(Default)]
pub struct Tape {
    ops: Vec<Op>,
    /// Decoded text of strings with escapes.
    text: Vec<u8>,
    /// `ends[i]`: where result `i`'s ops end (a result without a tape has none).
    ends: Vec<usize>,
    /// A scratch buffer for decoding.
    scratch: Vec<u8>,
}

impl Tape {
    pub fn clear(&mut self) {
        self.ops.clear();
        self.text.clear();
        self.ends.clear();
    }

    /// Bytes held (for the decision to keep a used batch).
    pub fn capacity_bytes(&self) -> usize {
        self.ops.capacity() * std::mem::size_of::<Op>() + self.text.capacity()
    }

    /// Adds a result without a tape (the Python side walks it).
    pub fn skip(&mut self) {
        self.ends.push(self.ops.len());
    }

    /// Records the walk of one result, a complete validated JSON value.
    pub fn record(&mut self, bytes: &[u8], floats: Floats) {
        if u32::try_from(bytes.len()).is_err() {
            return self.skip();
        }
        let base = bytes.as_ptr() as usize;
        let at = |raw: &[u8]| Text {
            start: (raw.as_ptr() as usize - base) as u32,
            len: raw.len() as u32,
        };
        let mut walker = Walker::new(bytes);
        let mut depth = 0usize;
        while let Some(event) = walker.next() {
            let op = match event {
                Event::BeginObject | Event::BeginArray => {
                    depth += 1;
                    if matches!(event, Event::BeginObject) {
                        Op::BeginObject
                    } else {
                        Op::BeginArray
                    }
                }
                Event::EndObject | Event::EndArray => {
                    depth -= 1;
                    Op::End
                }
                Event::Key(name) => self.string(name, at(name.raw()), true),
                Event::String(s) => self.string(s, at(s.raw()), false),
                Event::Number(n) => number(n, at(n), floats),
                Event::Bool(b) => Op::Bool(b),
                Event::Null => Op::Null,
            };
            self.ops.push(op);
            if depth == 0 {
                break;
            }
        }
        self.ends.push(self.ops.len());
    }

    fn string(&mut self, s: JsonStr<'_>, raw: Text, key: bool) -> Op {
        if !s.has_escapes() {
            return if key { Op::Key(raw) } else { Op::String(raw) };
        }
        let decoded = s.decode(&mut self.scratch);
        // The walker decodes a lone surrogate as U+FFFD, which `json.loads` does not.
        if memchr::memmem::find(decoded, "\u{fffd}".as_bytes()).is_some() {
            return Op::Surrogate(raw);
        }
        let text = Text {
            start: self.text.len() as u32,
            len: decoded.len() as u32,
        };
        self.text.extend_from_slice(decoded);
        if key {
            Op::DecodedKey(text)
        } else {
            Op::DecodedString(text)
        }
    }

    /// The ops of result `i` and the decoded text they refer to; `None` when it has no tape.
    pub fn item(&self, i: usize) -> Option<(&[Op], &[u8])> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let end = self.ends[i];
        // Every value has at least one op.
        (end > start).then(|| (&self.ops[start..end], &self.text[..]))
    }
}

fn number(text: &[u8], at: Text, floats: Floats) -> Op {
    // SAFETY: number text is ASCII (validated).
    let s = unsafe { std::str::from_utf8_unchecked(text) };
    let integer = !text.iter().any(|&c| matches!(c, b'.' | b'e' | b'E'));
    if integer {
        if text.len() <= 18 {
            return Op::Int(s.parse().expect("validated integer"));
        }
        return Op::NumberText(at);
    }
    match floats {
        Floats::Float => Op::Float(s.parse().expect("validated number")),
        Floats::Decimal => Op::NumberText(at),
    }
}
