//! Incremental UTF-8 validation across slice boundaries.
//!
//! JSON outside strings is ASCII, so validating the whole input as UTF-8 (fast, with
//! simdutf8) and the structure separately is equivalent to validating strings alone, and lets
//! the string loop treat every byte at or above 0x80 as plain.

/// Validates consecutive slices; a multi-byte sequence may be split between slices.
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    /// Absolute offset up to which bytes were handed to the validator.
    seen: u64,
    /// The start of an incomplete sequence at the end of the bytes seen.
    tail: [u8; 4],
    tail_len: u8,
    /// Offset of the first invalid sequence, once found.
    invalid_at: Option<u64>,
}

impl Utf8Validator {
    /// Validates `input`, which starts at absolute offset `at` (bytes before `self.seen` were
    /// already validated and are skipped). Returns the offset of the first invalid sequence.
    pub fn validate(&mut self, input: &[u8], at: u64) -> Result<(), u64> {
        if let Some(bad) = self.invalid_at {
            return Err(bad);
        }
        let skip = self.seen.saturating_sub(at) as usize;
        if skip >= input.len() {
            return Ok(());
        }
        let mut fresh = &input[skip..];
        let fresh_at = at + skip as u64;
        self.seen = fresh_at + fresh.len() as u64;
        let mut pos = fresh_at;
        if self.tail_len > 0 {
            let tail_at = fresh_at - self.tail_len as u64;
            let width = sequence_width(self.tail[0]);
            let take = (width - self.tail_len as usize).min(fresh.len());
            let mut buf = self.tail;
            buf[self.tail_len as usize..self.tail_len as usize + take]
                .copy_from_slice(&fresh[..take]);
            let have = self.tail_len as usize + take;
            match std::str::from_utf8(&buf[..have]) {
                Ok(_) => self.tail_len = 0,
                Err(e) if e.error_len().is_none() => {
                    // Still incomplete (the slice was tiny): wait for more.
                    self.tail = buf;
                    self.tail_len = have as u8;
                    return Ok(());
                }
                Err(_) => return Err(self.invalid(tail_at)),
            }
            fresh = &fresh[take..];
            pos += take as u64;
        }
        match simdutf8::compat::from_utf8(fresh) {
            Ok(_) => Ok(()),
            Err(e) => {
                let good = e.valid_up_to();
                match e.error_len() {
                    None => {
                        let rest = &fresh[good..];
                        self.tail[..rest.len()].copy_from_slice(rest);
                        self.tail_len = rest.len() as u8;
                        Ok(())
                    }
                    Some(_) => Err(self.invalid(pos + good as u64)),
                }
            }
        }
    }

    /// A validator for an input whose bytes before `offset` are not its to see (a scan
    /// resumed there).
    pub fn starting_at(offset: u64) -> Self {
        Utf8Validator {
            seen: offset,
            ..Utf8Validator::default()
        }
    }

    /// True when no sequence is left incomplete or found invalid.
    pub fn is_clean(&self) -> bool {
        self.tail_len == 0 && self.invalid_at.is_none()
    }

    /// At the end of input: an incomplete sequence left over is invalid.
    pub fn finish(&mut self) -> Option<u64> {
        if self.invalid_at.is_some() {
            return self.invalid_at;
        }
        if self.tail_len > 0 {
            let at = self.seen - self.tail_len as u64;
            return Some(self.invalid(at));
        }
        None
    }

    fn invalid(&mut self, at: u64) -> u64 {
        self.invalid_at = Some(at);
        at
    }
}

/// Length of the sequence a lead byte starts (the lead byte was already accepted as the
/// start of a possibly valid sequence, so it is one of the multi-byte leads).
fn sequence_width(lead: u8) -> usize {
    match lead {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate_in_pieces(bytes: &[u8], piece: usize) -> Result<(), u64> {
        let mut v = Utf8Validator::default();
        let mut at = 0;
        for chunk in bytes.chunks(piece.max(1)) {
            v.validate(chunk, at)?;
            at += chunk.len() as u64;
        }
        match v.finish() {
            Some(bad) => Err(bad),
            None => Ok(()),
        }
    }

    #[test]
    fn splits_anywhere() {
        let text = "a€b😀c é".as_bytes();
        for piece in 1..=text.len() {
            assert_eq!(validate_in_pieces(text, piece), Ok(()), "piece {piece}");
        }
    }

    #[test]
    fn reports_first_invalid_offset() {
        let cases: &[(&[u8], u64)] = &[
            (b"ab\xffcd", 2),
            (b"ab\xe2\x82", 2),       // truncated at the end
            (b"ab\xe2\x82x", 2),      // truncated in the middle
            (b"\xed\xa0\x80", 0),     // encoded surrogate
            (b"x\xc0\x80", 1),        // overlong
            (b"\xf4\x90\x80\x80", 0), // above U+10FFFF
        ];
        for &(bytes, want) in cases {
            for piece in 1..=bytes.len() {
                assert_eq!(
                    validate_in_pieces(bytes, piece),
                    Err(want),
                    "{bytes:?} piece {piece}"
                );
            }
        }
    }
}
