//! What the parser keeps while it reads through the line reader: the bytes before the
//! parsed offset (for the fingerprint a later append is checked against), what the reader
//! under the line reader saw, and the last consumed line until its line end is known.

use std::io::Read;

use super::{fnv64, TAIL_HASH_LEN};

/// The last [`TAIL_HASH_LEN`] bytes before the parsed offset.
#[derive(Debug, Clone)]
pub(super) struct TailWindow {
    bytes: [u8; TAIL_HASH_LEN as usize],
    len: usize,
    /// Some of these bytes are those of a skipped line, which were not kept: the
    /// fingerprint is unknown until the window is full again.
    unknown: bool,
}

impl Default for TailWindow {
    fn default() -> Self {
        TailWindow {
            bytes: [0; TAIL_HASH_LEN as usize],
            len: 0,
            unknown: false,
        }
    }
}

impl TailWindow {
    pub(super) fn push(&mut self, more: &[u8]) {
        let cap = self.bytes.len();
        if more.len() >= cap {
            self.bytes.copy_from_slice(&more[more.len() - cap..]);
            self.len = cap;
        } else {
            let keep = (cap - more.len()).min(self.len);
            self.bytes.copy_within(self.len - keep..self.len, 0);
            self.bytes[keep..keep + more.len()].copy_from_slice(more);
            self.len = keep + more.len();
        }
        if self.len == cap {
            self.unknown = false;
        }
    }

    /// A skipped line's bytes, not kept.
    pub(super) fn forget(&mut self) {
        self.len = 0;
        self.unknown = true;
    }

    /// The fingerprint; when it is unknown, a value that a real one matches with
    /// probability 2⁻⁶⁴ (the file is then parsed whole when it grows).
    pub(super) fn hash(&self) -> u64 {
        let h = fnv64(&self.bytes[..self.len]);
        if self.unknown {
            !h
        } else {
            h
        }
    }
}

/// What the reader under [`Lines`] saw, shared with the parser (which cannot ask the line
/// reader while it lends a line): bytes read, the last one, end of input.
#[derive(Debug, Default)]
pub(super) struct ReadState {
    pub(super) total: std::cell::Cell<u64>,
    pub(super) last: std::cell::Cell<Option<u8>>,
    pub(super) eof: std::cell::Cell<bool>,
}

pub(super) struct Tracked<'s, R> {
    pub(super) inner: R,
    pub(super) state: &'s ReadState,
}

impl<R: Read> Read for Tracked<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.state.eof.set(true);
        } else {
            self.state.total.set(self.state.total.get() + n as u64);
            self.state.last.set(Some(buf[n - 1]));
        }
        Ok(n)
    }
}

/// A consumed line whose line end is known only once the next line (or the end) is seen.
#[derive(Debug)]
pub(super) struct Consumed {
    /// Absolute offset just past its text.
    pub(super) text_end: u64,
    /// Whether it ended without a newline (the last line).
    pub(super) unterminated: bool,
    /// Skipped as too long: its bytes were not kept.
    pub(super) skipped: bool,
}
