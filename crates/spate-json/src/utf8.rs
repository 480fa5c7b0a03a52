//! UTF-8 inside strings, checked where the scanner meets it.
//!
//! JSON outside strings is ASCII: the scanner rejects every byte at or above 0x80 there as a
//! syntax error (no state accepts one). So only the contents of strings need a UTF-8 check,
//! and only their non-ASCII runs: the string loop stops at the first byte at or above 0x80
//! (`strings::find_special_or_high`, one more `or` in the compare it does anyway) and hands
//! [`check_run`] the bytes from there to the next `"`, `\` or control character. A document
//! that is mostly ASCII is thus never read by a separate validation pass, which used to be
//! the first code to touch each page of a mapped file and waited on memory for it.
//!
//! A multi-byte sequence can be cut by a slice's end (it cannot be cut by an escape or a
//! quote: those are ASCII, so a sequence they interrupt is invalid); its first bytes wait in
//! [`Pending`] for the next slice. Errors are reported at the first byte of the first
//! invalid sequence, as `std::str::from_utf8`'s `valid_up_to` says, whatever the slicing.

/// The first bytes of a multi-byte sequence cut by a slice's end inside a string (at most
/// three: a four-byte sequence is complete with its fourth).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pending {
    bytes: [u8; 4],
    len: u8,
}

impl Pending {
    /// Number of bytes waiting.
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Goes on with `input`, the bytes right after the waiting ones: `Ok(took)`, how many
    /// bytes of `input` completed the sequence (all of them when it is still incomplete,
    /// which then stay waiting); `Err(())` when the sequence is invalid — it starts
    /// [`Pending::len`] bytes before `input` (left unchanged for the caller to say where).
    #[cold]
    pub(crate) fn resume(&mut self, input: &[u8]) -> Result<usize, ()> {
        let have = self.len();
        let take = (sequence_width(self.bytes[0]) - have).min(input.len());
        let mut buf = self.bytes;
        buf[have..have + take].copy_from_slice(&input[..take]);
        match std::str::from_utf8(&buf[..have + take]) {
            Ok(_) => {
                *self = Pending::default();
                Ok(take)
            }
            // A valid start that the (tiny) slice did not finish.
            Err(e) if e.error_len().is_none() => {
                self.bytes = buf;
                self.len = (have + take) as u8;
                Ok(take)
            }
            Err(_) => Err(()),
        }
    }
}

/// Checks `run`, bytes of a string's contents from a non-ASCII byte up to the next `"`, `\`
/// or control character (`cut` false) or up to the end of the slice (`cut` true; the string
/// goes on in the next slice). `Err(index)`: the first invalid sequence starts at
/// `run[index]`. A cut run ending in the valid start of a sequence leaves it in `pending`
/// (which must be empty on entry).
#[inline]
pub(crate) fn check_run(run: &[u8], cut: bool, pending: &mut Pending) -> Result<(), usize> {
    match simdutf8::compat::from_utf8(run) {
        Ok(_) => Ok(()),
        Err(e) => {
            let good = e.valid_up_to();
            if e.error_len().is_none() && cut {
                let rest = &run[good..];
                pending.bytes[..rest.len()].copy_from_slice(rest);
                pending.len = rest.len() as u8;
                Ok(())
            } else {
                // Invalid, or incomplete before an ASCII byte that cannot continue it.
                Err(good)
            }
        }
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

    /// Checks `bytes` (all of them string contents, no ASCII specials) cut into pieces of
    /// `piece` bytes, as the scanner does: each piece is checked from its first non-ASCII
    /// byte after what the pending sequence took. The offset of the first invalid sequence.
    fn check_in_pieces(bytes: &[u8], piece: usize) -> Result<(), usize> {
        let mut pending = Pending::default();
        let mut at = 0;
        for chunk in bytes.chunks(piece.max(1)) {
            let mut i = 0;
            if !pending.is_empty() {
                match pending.resume(chunk) {
                    Ok(took) => i = took,
                    Err(()) => return Err(at - pending.len()),
                }
            }
            if i < chunk.len() {
                let start = i + chunk[i..].iter().take_while(|b| b.is_ascii()).count();
                if start < chunk.len() {
                    check_run(&chunk[start..], true, &mut pending).map_err(|k| at + start + k)?;
                }
            }
            at += chunk.len();
        }
        if pending.is_empty() {
            Ok(())
        } else {
            Err(at - pending.len())
        }
    }

    fn oracle(bytes: &[u8]) -> Result<(), usize> {
        std::str::from_utf8(bytes)
            .map(|_| ())
            .map_err(|e| e.valid_up_to())
    }

    #[test]
    fn splits_anywhere() {
        let text = "a€b😀c é".as_bytes();
        for piece in 1..=text.len() {
            assert_eq!(check_in_pieces(text, piece), Ok(()), "piece {piece}");
        }
    }

    #[test]
    fn reports_the_first_invalid_offset_as_std_does() {
        let cases: &[&[u8]] = &[
            b"ab\xffcd",
            b"ab\xe2\x82",                       // truncated at the end
            b"ab\xe2\x82x",                      // truncated in the middle
            b"\xed\xa0\x80",                     // encoded surrogate
            b"x\xc0\x80",                        // overlong
            b"\xe0\x80\xaf",                     // overlong, three bytes
            b"\xf0\x80\x80\xaf",                 // overlong, four bytes
            b"\xf4\x90\x80\x80",                 // above U+10FFFF
            b"\xf5\x80\x80\x80",                 // never a lead byte
            b"\x80abc",                          // a lone continuation byte
            b"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98", // valid, then truncated
            b"\xc3\xa9\xc3",
        ];
        for &bytes in cases {
            let want = oracle(bytes);
            assert!(want.is_err(), "{bytes:?}");
            for piece in 1..=bytes.len() {
                assert_eq!(
                    check_in_pieces(bytes, piece),
                    want,
                    "{bytes:?} piece {piece}"
                );
            }
        }
    }

    #[test]
    fn every_two_and_three_byte_sequence_agrees_with_std() {
        for a in 0x80u8..=0xff {
            for b in 0u8..=0xff {
                let two = [b'x', a, b, b'y'];
                for piece in 1..=4 {
                    assert_eq!(
                        check_in_pieces(&two, piece),
                        oracle(&two),
                        "{two:?} {piece}"
                    );
                }
                for c in [0x00u8, 0x41, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xff] {
                    let three = [a, b, c, 0x80, b'z'];
                    for piece in [1, 2, 3, 5] {
                        assert_eq!(
                            check_in_pieces(&three, piece),
                            oracle(&three),
                            "{three:?} {piece}"
                        );
                    }
                }
            }
        }
    }
}
