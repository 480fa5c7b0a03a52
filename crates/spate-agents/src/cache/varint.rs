//! The byte codec under every cache file: LEB128 varints, zigzag integers, string-table
//! indexes, strings and token counts, and the word-wise checksum.

use crate::model::{Tokens, NONE};

pub(super) struct Writer(pub(super) Vec<u8>);

impl Writer {
    pub(super) fn var(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(b);
                return;
            }
            self.0.push(b | 0x80);
        }
    }
    pub(super) fn zig(&mut self, v: i64) {
        self.var(((v << 1) ^ (v >> 63)) as u64);
    }
    pub(super) fn idx(&mut self, v: u32) {
        // NONE (u32::MAX) becomes 0, every index i becomes i + 1
        self.var(if v == NONE { 0 } else { u64::from(v) + 1 });
    }
    pub(super) fn str(&mut self, s: &str) {
        self.var(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    pub(super) fn tokens(&mut self, t: &Tokens) {
        for v in [
            t.input,
            t.output,
            t.cache_write_5m,
            t.cache_write_1h,
            t.cache_read,
        ] {
            self.var(v);
        }
    }
    pub(super) fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.0.push(0),
            Some(s) => {
                self.0.push(1);
                self.str(s);
            }
        }
    }
}

pub(super) struct Reader<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    pub(super) fn var(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    pub(super) fn zig(&mut self) -> Option<i64> {
        let v = self.var()?;
        Some(((v >> 1) as i64) ^ -((v & 1) as i64))
    }
    pub(super) fn idx(&mut self) -> Option<u32> {
        match self.var()? {
            0 => Some(NONE),
            v => u32::try_from(v - 1).ok().filter(|&i| i != NONE),
        }
    }
    pub(super) fn len(&mut self) -> Option<usize> {
        let n = usize::try_from(self.var()?).ok()?;
        // every element takes at least one byte
        (n <= self.buf.len() - self.pos).then_some(n)
    }
    pub(super) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    pub(super) fn str(&mut self) -> Option<String> {
        let n = self.len()?;
        std::str::from_utf8(self.bytes(n)?).ok().map(str::to_owned)
    }
    pub(super) fn opt_str(&mut self) -> Option<Option<String>> {
        match self.byte()? {
            0 => Some(None),
            1 => self.str().map(Some),
            _ => None,
        }
    }
    pub(super) fn tokens(&mut self) -> Option<Tokens> {
        Some(Tokens {
            input: self.var()?,
            output: self.var()?,
            cache_write_5m: self.var()?,
            cache_write_1h: self.var()?,
            cache_read: self.var()?,
        })
    }
    pub(super) fn u128(&mut self) -> Option<u128> {
        Some(u128::from_le_bytes(self.bytes(16)?.try_into().ok()?))
    }
}

/// Fast checksum over 8-byte words (the cache is a few megabytes; a byte-wise hash would
/// cost milliseconds).
pub(super) fn checksum(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ w).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(29);
    }
    for &b in chunks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^ (h >> 31)
}
