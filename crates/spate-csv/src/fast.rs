//! A branch-light splitter for clean CSV, used by the parallel reader.
//!
//! Each 64-byte block becomes four bitmasks (delimiter, quote, `\n`, `\r`). The bytes inside
//! quoted fields are found with a prefix XOR of the quote mask (parity again, as in
//! [`crate::parallel`]), so field ends are the delimiter and newline bits outside quotes, visited
//! with `trailing_zeros` instead of a branch per byte.
//!
//! It hands out the same records and fields as [`crate::split::parse_records`] for input that
//! follows RFC 4180 with `\n` or `\r\n` record ends. Anything else is detected and reported as
//! [`Fast::Unclean`] (the caller then uses the general splitter): a quote outside a well-formed
//! quoted field (checked by counting: every quote must belong to a field that starts and ends
//! with a quote and holds only doubled quotes), a `\r` that is not right before a record's `\n`,
//! or a quoted field open at the end.

use crate::split::{FieldRange, Parsed, RecordSink};
use spate_json::prefix_xor;

/// Outcome of [`parse_records_fast`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fast {
    Done(Parsed),
    /// The input is not clean RFC 4180 with `\n` record ends: use the general splitter.
    Unclean,
}

#[derive(Clone, Copy)]
struct Masks {
    delim: u64,
    quote: u64,
    lf: u64,
    cr: u64,
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn masks(block: &[u8], delim: u8) -> Masks {
    use std::arch::x86_64::*;
    debug_assert!(block.len() >= 64);
    let (mut md, mut mq, mut mn, mut mr) = (0u64, 0u64, 0u64, 0u64);
    // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics are always available;
    // each unaligned 16-byte load reads block[16k..16k+16], within the 64 bytes asserted above.
    unsafe {
        let d = _mm_set1_epi8(delim as i8);
        let q = _mm_set1_epi8(b'"' as i8);
        let n = _mm_set1_epi8(b'\n' as i8);
        let r = _mm_set1_epi8(b'\r' as i8);
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k) as *const __m128i);
            let shift = 16 * k;
            md |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, d)) as u16) << shift;
            mq |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, q)) as u16) << shift;
            mn |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, n)) as u16) << shift;
            mr |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, r)) as u16) << shift;
        }
    }
    Masks {
        delim: md,
        quote: mq,
        lf: mn,
        cr: mr,
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn masks(block: &[u8], delim: u8) -> Masks {
    let mut m = Masks {
        delim: 0,
        quote: 0,
        lf: 0,
        cr: 0,
    };
    for (i, &b) in block[..64].iter().enumerate() {
        let bit = 1u64 << i;
        m.delim |= u64::from(b == delim) * bit;
        m.quote |= u64::from(b == b'"') * bit;
        m.lf |= u64::from(b == b'\n') * bit;
        m.cr |= u64::from(b == b'\r') * bit;
    }
    m
}

/// Counts the `"` bytes of `buf`, 64 at a time.
pub(crate) fn count_quotes(buf: &[u8]) -> u64 {
    let mut chunks = buf.chunks_exact(64);
    let mut n = 0u64;
    for c in &mut chunks {
        n += u64::from(masks(c, b'"').quote.count_ones());
    }
    n + chunks.remainder().iter().filter(|&&b| b == b'"').count() as u64
}

/// Checks a quoted field `"..."` (the raw range includes the quotes): only doubled quotes
/// inside. Returns the number of quotes in it.
#[inline]
fn quoted_field_quotes(raw: &[u8]) -> Option<u64> {
    if raw.len() < 2 || raw[raw.len() - 1] != b'"' {
        return None;
    }
    let inner = &raw[1..raw.len() - 1];
    let mut quotes = 2;
    let mut p = 0;
    while let Some(i) = memchr::memchr(b'"', &inner[p..]) {
        if inner.get(p + i + 1) != Some(&b'"') {
            return None;
        }
        quotes += 2;
        p += i + 2;
    }
    Some(quotes)
}

/// Like [`crate::split::parse_records`], for clean input (see the module documentation).
pub(crate) fn parse_records_fast<S: RecordSink>(
    buf: &[u8],
    eof: bool,
    delim: u8,
    fields: &mut Vec<FieldRange>,
    sink: &mut S,
) -> Fast {
    if delim == 0 || delim == b'"' || delim == b'\n' || delim == b'\r' {
        return Fast::Unclean;
    }
    let len = buf.len();
    let mut out = Parsed::default();
    let mut carry = 0u64;
    let mut field_start = 0usize;
    let mut record_start = 0usize;
    // Quotes and CRs seen in blocks, and those accounted for by whole records.
    let mut quotes_seen = 0u64;
    let mut crs_seen = 0u64;
    let mut quotes_ok = 0u64;
    let mut crs_ok = 0u64;
    // Quotes and CRs in the record being built (accounted when it completes).
    let mut rec_quotes = 0u64;
    let mut rec_crs = 0u64;
    fields.clear();
    let mut tail = [0u8; 64];
    let mut b = 0usize;
    while b < len {
        let m = if len - b >= 64 {
            masks(&buf[b..b + 64], delim)
        } else {
            tail[..len - b].copy_from_slice(&buf[b..]);
            tail[len - b..].fill(0);
            masks(&tail, delim)
        };
        quotes_seen += u64::from(m.quote.count_ones());
        let inside = prefix_xor(m.quote) ^ carry;
        carry = 0u64.wrapping_sub(inside >> 63);
        // A CR inside a quoted field is data; outside, it must end a record before its LF.
        crs_seen += u64::from((m.cr & !inside).count_ones());
        let mut structural = (m.delim | m.lf) & !inside;
        while structural != 0 {
            let i = structural.trailing_zeros() as usize;
            structural &= structural - 1;
            let end = b + i;
            let is_lf = m.lf & (1 << i) != 0;
            let mut fend = end;
            if is_lf && fend > field_start && buf[fend - 1] == b'\r' {
                fend -= 1;
                rec_crs += 1;
            }
            let raw = &buf[field_start..fend];
            if raw.first() == Some(&b'"') {
                match quoted_field_quotes(raw) {
                    Some(q) => rec_quotes += q,
                    None => return Fast::Unclean,
                }
                fields.push(FieldRange {
                    start: field_start + 1,
                    end: fend - 1,
                    quoted: true,
                });
            } else {
                fields.push(FieldRange {
                    start: field_start,
                    end: fend,
                    quoted: false,
                });
            }
            field_start = end + 1;
            if is_lf {
                let empty_line =
                    fields.len() == 1 && !fields[0].quoted && fields[0].start == fields[0].end;
                quotes_ok += rec_quotes;
                crs_ok += rec_crs;
                rec_quotes = 0;
                rec_crs = 0;
                let this_start = record_start;
                record_start = field_start;
                if !empty_line {
                    out.records += 1;
                    if !sink.record(buf, fields) {
                        out.stopped = true;
                        out.last_record_start = this_start;
                        out.consumed = record_start;
                        return check(out, buf, quotes_seen, quotes_ok, crs_seen, crs_ok, b + 64);
                    }
                }
                fields.clear();
            }
        }
        b += 64;
    }
    if eof && record_start < len {
        if carry != 0 {
            return Fast::Unclean; // a quoted field is still open
        }
        let mut fend = len;
        if buf[fend - 1] == b'\r' {
            fend -= 1;
            rec_crs += 1;
        }
        let raw = &buf[field_start.min(fend)..fend];
        if raw.first() == Some(&b'"') {
            match quoted_field_quotes(raw) {
                Some(q) => rec_quotes += q,
                None => return Fast::Unclean,
            }
            fields.push(FieldRange {
                start: field_start + 1,
                end: fend - 1,
                quoted: true,
            });
        } else {
            fields.push(FieldRange {
                start: field_start.min(fend),
                end: fend,
                quoted: false,
            });
        }
        quotes_ok += rec_quotes;
        crs_ok += rec_crs;
        let empty_line = fields.len() == 1 && !fields[0].quoted && fields[0].start == fields[0].end;
        let this_start = record_start;
        record_start = len;
        if !empty_line {
            out.records += 1;
            if !sink.record(buf, fields) {
                out.stopped = true;
                out.last_record_start = this_start;
            }
        }
    }
    out.consumed = record_start;
    check(out, buf, quotes_seen, quotes_ok, crs_seen, crs_ok, b)
}

/// Every quote and CR before `out.consumed` must be accounted for by a record.
fn check(
    out: Parsed,
    buf: &[u8],
    quotes_seen: u64,
    quotes_ok: u64,
    crs_seen: u64,
    crs_ok: u64,
    scanned: usize,
) -> Fast {
    let rest = &buf[out.consumed.min(buf.len())..scanned.min(buf.len())];
    let quotes_rest = rest.iter().filter(|&&c| c == b'"').count() as u64;
    // CRs in the unconsumed rest: outside quotes there, since the rest starts a record.
    let mut in_quotes = false;
    let mut crs_rest = 0u64;
    for (i, &c) in rest.iter().enumerate() {
        if c == b'"' {
            in_quotes = !in_quotes;
        } else if c == b'\r' && !in_quotes {
            if rest.get(i + 1).is_some_and(|&n| n != b'\n') {
                // A lone CR ends records for the general splitter: decline now rather than
                // let the buffer grow waiting for a LF.
                return Fast::Unclean;
            }
            crs_rest += 1;
        }
    }
    if quotes_seen - quotes_rest == quotes_ok && crs_seen - crs_rest == crs_ok {
        Fast::Done(out)
    } else {
        Fast::Unclean
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::parse_records;

    #[derive(Default, Debug, PartialEq)]
    struct Collect(Vec<Vec<(usize, usize, bool)>>);

    impl RecordSink for Collect {
        fn record(&mut self, _: &[u8], fields: &[FieldRange]) -> bool {
            self.0
                .push(fields.iter().map(|f| (f.start, f.end, f.quoted)).collect());
            true
        }
    }

    fn both(input: &[u8], eof: bool) -> (Fast, Parsed, Collect, Collect) {
        let (mut a, mut b) = (Collect::default(), Collect::default());
        let fast = parse_records_fast(input, eof, b',', &mut Vec::new(), &mut a);
        let slow = parse_records(input, eof, b',', &mut Vec::new(), &mut b).unwrap_or_default();
        (fast, slow, a, b)
    }

    #[test]
    fn agrees_with_the_general_splitter_on_clean_input() {
        let long = format!("{}\n", "x,".repeat(100));
        let cases: Vec<&[u8]> = vec![
            b"a,b\n1,2\n",
            b"a,b\r\n1,2\r\n",
            b"a,\"b\nc\",\"say \"\"hi\"\"\"\n\n\n1,,\"\"\n",
            b"a,b\n1,2",
            b"a,b\n1,\"2\"",
            b"\"\"\n",
            b"a,\"x\r\ny\"\r\nb,c\r\n",
            b"a,\"x\ry\"\nb,\"c\r\"",
            long.as_bytes(),
        ];
        for input in cases {
            for eof in [true, false] {
                let (fast, slow, a, b) = both(input, eof);
                let Fast::Done(p) = fast else {
                    panic!("unclean: {:?}", String::from_utf8_lossy(input))
                };
                assert_eq!(
                    (p.consumed, p.records),
                    (slow.consumed, slow.records),
                    "{:?}",
                    String::from_utf8_lossy(input)
                );
                assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn unclean_input_is_detected() {
        for input in [
            &b"a\"b,c\n"[..],
            b"\"ab\"c,d\n",
            b"a,b\rc,d\n",
            b"a,\"open\n",
            b"x\"\n\"y\n",
        ] {
            let (fast, ..) = both(input, true);
            assert_eq!(fast, Fast::Unclean, "{:?}", String::from_utf8_lossy(input));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        /// On any input the fast splitter either says "unclean" or hands out exactly the
        /// records and fields of the general splitter, and never panics.
        #[test]
        fn fast_agrees_or_declines(
            bytes in proptest::collection::vec(proptest::sample::select(&b"ab1,;\"\n\r\xff "[..]), 0..300),
            eof: bool,
        ) {
            let (fast, slow, a, b) = both(&bytes, eof);
            if let Fast::Done(p) = fast {
                if eof {
                    proptest::prop_assert_eq!((p.consumed, p.records), (slow.consumed, slow.records));
                    proptest::prop_assert_eq!(a, b);
                } else {
                    // Without the end of input it may leave more for the next call (the tail
                    // is judged when more bytes come), but what it hands out must agree.
                    proptest::prop_assert!(p.consumed <= slow.consumed);
                    proptest::prop_assert!(a.0.len() <= b.0.len());
                    proptest::prop_assert_eq!(&a.0[..], &b.0[..a.0.len()]);
                }
            }
        }
    }
}
