//! Finding the end of the plain part of a string: the first `"`, `\` or control character
//! (and, for the scanner, the first byte at or above 0x80, whose UTF-8 it then checks).
//!
//! Strings are most of the bytes of typical documents (prompts, messages, descriptions), so
//! this is the scanner's hottest loop. On x86_64 it compares 16 bytes at a time with SSE2
//! (part of the x86_64 baseline), and the long runs of long strings 32 bytes at a time with
//! AVX2 where the CPU has it (detected at run time); elsewhere it uses a portable
//! 8-bytes-at-a-time bit trick.

/// Index of the first byte of `s` that is `"`, `\` or below 0x20; `s.len()` if none is.
#[inline]
pub fn find_special(s: &[u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of the x86_64 baseline; `find_special_sse2` reads only
        // within `s`.
        unsafe { find_special_sse2::<false>(s) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        find_special_swar::<false>(s)
    }
}

/// Index of the first byte of `s` that is `"`, `\`, below 0x20 or at or above 0x80;
/// `s.len()` if none is. The scanner's string loop: plain ASCII runs need no UTF-8 check, so
/// it stops at the first non-ASCII byte to check the run from there (the sign bit of each
/// byte comes out of the same 16-byte compare, one more `or` per block).
#[inline]
pub fn find_special_or_high(s: &[u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: as in `find_special`.
        unsafe { find_special_sse2::<true>(s) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        find_special_swar::<true>(s)
    }
}

/// Index of the first byte at or after `i` that is not JSON whitespace (space, `\n`, `\r`,
/// `\t`), or `s.len()`. Pretty-printed documents have long runs of indentation: those are
/// skipped 16 bytes at a time.
#[inline(always)]
pub fn skip_whitespace(s: &[u8], mut i: usize) -> usize {
    // Compact documents have no whitespace or a single space: decide those without SIMD.
    if i < s.len() && !is_ws(s[i]) {
        return i;
    }
    if i + 1 < s.len() && !is_ws(s[i + 1]) {
        return i + 1;
    }
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of the x86_64 baseline; the function reads within `s`.
        i = unsafe { skip_whitespace_sse2(s, i) };
    }
    while i < s.len() && is_ws(s[i]) {
        i += 1;
    }
    i
}

#[inline(always)]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// Skips whole 16-byte blocks of whitespace and stops at the first non-whitespace byte of
/// a block (or before a block that would pass the end).
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "sse2")]
unsafe fn skip_whitespace_sse2(s: &[u8], mut i: usize) -> usize {
    use std::arch::x86_64::*;
    let space = _mm_set1_epi8(b' ' as i8);
    let newline = _mm_set1_epi8(b'\n' as i8);
    let cr = _mm_set1_epi8(b'\r' as i8);
    let tab = _mm_set1_epi8(b'\t' as i8);
    while i + 16 <= s.len() {
        // SAFETY: i + 16 <= s.len().
        let v = unsafe { _mm_loadu_si128(s.as_ptr().add(i) as *const __m128i) };
        let ws = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, space), _mm_cmpeq_epi8(v, newline)),
            _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, tab)),
        );
        let not_ws = !_mm_movemask_epi8(ws) & 0xffff;
        if not_ws != 0 {
            return i + not_ws.trailing_zeros() as usize;
        }
        i += 16;
    }
    i
}

#[inline(always)]
fn is_special(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// `is_special`, and with `HIGH` also bytes at or above 0x80.
#[inline(always)]
fn stops<const HIGH: bool>(b: u8) -> bool {
    is_special(b) || (HIGH && b >= 0x80)
}

/// How far ahead of the scanner's string loop to ask for the input's cache lines. A file
/// mapped into memory is first touched by this loop (no other pass reads it before it): the
/// loads of each fresh line would wait on memory, and the hardware prefetcher does not cross
/// 4 KiB pages. One `prefetcht0` a page ahead per 64 bytes of string hides that wait (engine
/// thread on the 1.1 GB sessions document: 0.33 s without, 0.23 s with; 256 bytes ahead is
/// too near, 4-16 KiB all alike; BENCHMARKS.md, issue 12). A prefetch never faults, so
/// reading past the slice, or the mapping, is harmless.
const PREFETCH_AHEAD: usize = 4096;

#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "sse2")]
unsafe fn find_special_sse2<const HIGH: bool>(s: &[u8]) -> usize {
    use std::arch::x86_64::*;
    let len = s.len();
    let ptr = s.as_ptr();
    let mut i = 0;
    let quote = _mm_set1_epi8(b'"' as i8);
    let backslash = _mm_set1_epi8(b'\\' as i8);
    let below_space = _mm_set1_epi8(0x1f);
    // The bytes of `v` that stop the string, as 0xff (or, with `HIGH`, a set top bit).
    let special = |v: __m128i| {
        // v <= 0x1f (unsigned) exactly when max(v, 0x1f) == 0x1f.
        let ctrl = _mm_cmpeq_epi8(_mm_max_epu8(v, below_space), below_space);
        // (the movemask reads each byte's top bit: or-ing `v` in flags bytes >= 0x80)
        let ctrl = if HIGH { _mm_or_si128(ctrl, v) } else { ctrl };
        _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
            ctrl,
        )
    };
    // Most strings are short (member names, dates, identifiers): the first 16 bytes alone
    // first, so that they cost one compare and no prefetch (validating 52 MB of flat records,
    // a short string every 8 bytes: 79 -> 68 ms of CPU).
    if len >= 16 {
        // SAFETY: 16 <= len.
        let v = unsafe { _mm_loadu_si128(ptr as *const __m128i) };
        let mask = _mm_movemask_epi8(special(v));
        if mask != 0 {
            return mask.trailing_zeros() as usize;
        }
        i = 16;
    }
    // Long strings (prompts, messages): 64 bytes a round in two 32-byte AVX2 compares when
    // the CPU has them (4 % less CPU for the whole scan of the 1.1 GB sessions document).
    // The check is one cached load, paid only past a string's first 16 bytes.
    if len >= i + 64 {
        // (an AVX-512BW variant, one 64-byte compare a round, measured within 1 % of this
        // on the 1.1 GB sessions document: the loop waits on memory, not on compares)
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2; the function reads within `s`.
            i = unsafe { rounds_avx2::<HIGH>(s, i) };
        }
        if i < len && stops::<HIGH>(s[i]) {
            return i;
        }
    }
    // 64 bytes a round while there is room: one branch per 64 bytes on long strings.
    while i + 64 <= len {
        if HIGH {
            // (the scanner's loop: see `PREFETCH_AHEAD`)
            _mm_prefetch::<_MM_HINT_T0>(ptr.wrapping_add(i + PREFETCH_AHEAD) as *const i8);
        }
        // SAFETY: i + 64 <= len, so the four unaligned 16-byte loads are in bounds.
        let (a, b, c, d) = unsafe {
            (
                _mm_loadu_si128(ptr.add(i) as *const __m128i),
                _mm_loadu_si128(ptr.add(i + 16) as *const __m128i),
                _mm_loadu_si128(ptr.add(i + 32) as *const __m128i),
                _mm_loadu_si128(ptr.add(i + 48) as *const __m128i),
            )
        };
        let (ma, mb, mc, md) = (special(a), special(b), special(c), special(d));
        let any = _mm_or_si128(_mm_or_si128(ma, mb), _mm_or_si128(mc, md));
        if _mm_movemask_epi8(any) != 0 {
            let mask = (_mm_movemask_epi8(ma) as u64)
                | ((_mm_movemask_epi8(mb) as u64) << 16)
                | ((_mm_movemask_epi8(mc) as u64) << 32)
                | ((_mm_movemask_epi8(md) as u64) << 48);
            return i + mask.trailing_zeros() as usize;
        }
        i += 64;
    }
    while i + 16 <= len {
        // SAFETY: i + 16 <= len.
        let v = unsafe { _mm_loadu_si128(ptr.add(i) as *const __m128i) };
        let mask = _mm_movemask_epi8(special(v));
        if mask != 0 {
            return i + mask.trailing_zeros() as usize;
        }
        i += 16;
    }
    while i < len {
        if stops::<HIGH>(s[i]) {
            return i;
        }
        i += 1;
    }
    len
}

/// The 64-byte rounds of [`find_special_sse2`] from `i` with AVX2: the index of the first
/// byte that stops the string, or where fewer than 64 bytes are left (the caller goes on
/// from there).
#[cfg(target_arch = "x86_64")]
#[inline(never)]
#[target_feature(enable = "avx2")]
unsafe fn rounds_avx2<const HIGH: bool>(s: &[u8], mut i: usize) -> usize {
    use std::arch::x86_64::*;
    let len = s.len();
    let ptr = s.as_ptr();
    let quote = _mm256_set1_epi8(b'"' as i8);
    let backslash = _mm256_set1_epi8(b'\\' as i8);
    let below_space = _mm256_set1_epi8(0x1f);
    let special = |v: __m256i| {
        let ctrl = _mm256_cmpeq_epi8(_mm256_max_epu8(v, below_space), below_space);
        let ctrl = if HIGH { _mm256_or_si256(ctrl, v) } else { ctrl };
        _mm256_or_si256(
            _mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, backslash)),
            ctrl,
        )
    };
    while i + 64 <= len {
        if HIGH {
            _mm_prefetch::<_MM_HINT_T0>(ptr.wrapping_add(i + PREFETCH_AHEAD) as *const i8);
        }
        // SAFETY: i + 64 <= len, so both 32-byte loads are in bounds.
        let (a, b) = unsafe {
            (
                _mm256_loadu_si256(ptr.add(i) as *const __m256i),
                _mm256_loadu_si256(ptr.add(i + 32) as *const __m256i),
            )
        };
        let (ma, mb) = (special(a), special(b));
        // (the top bit of each byte decides: with `HIGH` the masks carry `v`'s other bits)
        if _mm256_movemask_epi8(_mm256_or_si256(ma, mb)) != 0 {
            let mask = (_mm256_movemask_epi8(ma) as u32 as u64)
                | ((_mm256_movemask_epi8(mb) as u32 as u64) << 32);
            return i + mask.trailing_zeros() as usize;
        }
        i += 64;
    }
    i
}

/// Bit `i` of the result is the XOR of bits `0..=i` of `x`. From a 64-byte block's mask of
/// unescaped quotes, the bytes inside quotes (the opening quote included, the closing one
/// not): how the CSV reader and the jq byte route find what lies inside strings a block at
/// a time.
#[inline(always)]
pub fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// Portable fallback: eight bytes at a time with the "has zero byte" trick.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn find_special_swar<const HIGH: bool>(s: &[u8]) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while i + 8 <= s.len() {
        let w = u64::from_le_bytes(s[i..i + 8].try_into().expect("8 bytes"));
        let has_zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
        // Bytes below 0x20: (w - 0x20 per byte) borrows into the high bit of bytes < 0x20,
        // as long as the byte's own high bit is clear.
        let below = w.wrapping_sub(LO * 0x20) & !w & HI;
        let hit = has_zero(w ^ (LO * b'"' as u64)) | has_zero(w ^ (LO * b'\\' as u64)) | below;
        let hit = if HIGH { hit | (w & HI) } else { hit };
        if hit != 0 {
            // The bit tricks can flag a byte after a true hit (borrow propagation) but never
            // miss the first one: confirm byte by byte from the first flagged position on.
            let first = (hit.trailing_zeros() / 8) as usize;
            for (j, &b) in s[i..i + 8].iter().enumerate().skip(first.saturating_sub(1)) {
                if stops::<HIGH>(b) {
                    return i + j;
                }
            }
        }
        i += 8;
    }
    while i < s.len() {
        if stops::<HIGH>(s[i]) {
            return i;
        }
        i += 1;
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(s: &[u8]) -> usize {
        s.iter().position(|&b| is_special(b)).unwrap_or(s.len())
    }

    #[test]
    fn agrees_with_naive_scan() {
        let mut buf = vec![b'a'; 200];
        for special in [b'"', b'\\', 0u8, 0x1f, b'\n'] {
            for pos in 0..buf.len() {
                buf[pos] = special;
                assert_eq!(find_special(&buf), pos);
                assert_eq!(find_special_swar::<false>(&buf), pos);
                buf[pos] = b'a';
            }
        }
        assert_eq!(find_special(&buf), buf.len());
        // Bytes at and above 0x80 and 0x20 are plain.
        let plain: Vec<u8> = (0x20u8..=0xff).filter(|&b| !is_special(b)).collect();
        assert_eq!(find_special(&plain), plain.len());
        assert_eq!(find_special_swar::<false>(&plain), plain.len());
    }

    /// Every slice length around the 16- and 64-byte steps, every position of the first
    /// special byte (and a second one after it), both variants.
    #[test]
    fn every_length_and_position() {
        for len in 0..150usize {
            let mut buf = vec![b'a'; len];
            assert_eq!(find_special(&buf), len);
            assert_eq!(find_special_or_high(&buf), len);
            for pos in 0..len {
                for (special, high_only) in [(b'"', false), (0x05, false), (0xc3, true)] {
                    buf[pos] = special;
                    if pos + 1 < len {
                        buf[len - 1] = b'\\';
                    }
                    let want = if high_only && pos + 1 < len {
                        len - 1
                    } else if high_only {
                        len
                    } else {
                        pos
                    };
                    assert_eq!(find_special(&buf), want, "len {len} pos {pos}");
                    assert_eq!(find_special_or_high(&buf), pos, "len {len} pos {pos}");
                    buf[pos] = b'a';
                    buf[len - 1] = b'a';
                }
            }
        }
    }

    /// The AVX2 rounds on their own (when this CPU has AVX2): every byte value at every
    /// position of two rounds and a short tail, from several starts, with and without bytes
    /// at or above 0x80 stopping.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn wide_rounds_agree_with_naive_scan() {
        fn check(round: &dyn Fn(&[u8], usize, bool) -> usize) {
            for start in [0usize, 1, 16, 33] {
                let len = start + 64 * 2 + 20;
                for pos in start..len {
                    for b in [0u8, 0x1f, b'"', b'\\', 0x7f, 0x80, 0xff, b' '] {
                        let mut s = vec![b'a'; len];
                        s[pos] = b;
                        for high in [false, true] {
                            let got = round(&s, start, high);
                            let stop = |b: u8| is_special(b) || (high && b >= 0x80);
                            let first = (start..len).find(|&k| stop(s[k]));
                            // the rounds stop at the first stopping byte, or where fewer
                            // than 64 bytes are left, with every byte before that plain
                            let rounds_end = start + (len - start) / 64 * 64;
                            let want = match first {
                                Some(k) if k < rounds_end => k,
                                _ => rounds_end,
                            };
                            assert_eq!(
                                got, want,
                                "byte {b:#x} at {pos}, start {start}, high {high}, len {len}"
                            );
                        }
                    }
                }
            }
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            check(&|s, i, high| unsafe {
                if high {
                    rounds_avx2::<true>(s, i)
                } else {
                    rounds_avx2::<false>(s, i)
                }
            });
        }
    }

    #[test]
    fn prefix_xor_marks_the_bytes_inside_quotes() {
        // quotes at 2 and 5: bytes 2, 3, 4 inside
        assert_eq!(prefix_xor(0b100100), 0b011100);
        // an opening quote last: only it
        assert_eq!(prefix_xor(1 << 63), 1 << 63);
    }

    #[test]
    fn skip_whitespace_agrees_with_naive_scan() {
        for len in 0..40 {
            for stop in [b'x', b'"', 0u8, 0xff] {
                let mut s: Vec<u8> = (0..len).map(|k| b" \n\r\t"[k % 4]).collect();
                s.push(stop);
                s.extend_from_slice(b"   ");
                for start in 0..=len.min(5) {
                    assert_eq!(skip_whitespace(&s, start), len, "len {len} start {start}");
                }
            }
            let all: Vec<u8> = vec![b' '; len];
            assert_eq!(skip_whitespace(&all, 0), len);
        }
    }

    fn naive_or_high(s: &[u8]) -> usize {
        s.iter().position(|&b| stops::<true>(b)).unwrap_or(s.len())
    }

    #[test]
    fn or_high_stops_at_every_byte_at_or_above_0x80() {
        for len in [0usize, 1, 15, 16, 17, 63, 64, 65, 130] {
            for pos in 0..len {
                for b in [0x80u8, 0xc3, 0xe2, 0xff, b'"', b'\\', 0x1f] {
                    let mut s = vec![b'a'; len];
                    s[pos] = b;
                    // a later non-ASCII byte must not hide the first stop
                    if pos + 3 < len {
                        s[pos + 3] = 0xa9;
                    }
                    assert_eq!(find_special_or_high(&s), pos, "{b:#x} at {pos} of {len}");
                    assert_eq!(
                        find_special_swar::<true>(&s),
                        pos,
                        "{b:#x} at {pos} of {len}"
                    );
                }
            }
            let plain = vec![b'a'; len];
            assert_eq!(find_special_or_high(&plain), len);
        }
        for b in 0u8..=255 {
            let mut s = vec![b'x'; 70];
            s[65] = b;
            s[3] = b;
            let want = naive_or_high(&s);
            assert_eq!(find_special_or_high(&s), want, "byte {b}");
            assert_eq!(find_special_swar::<true>(&s), want, "byte {b}");
        }
    }

    #[test]
    fn every_byte_value() {
        for b in 0u8..=255 {
            let mut s = vec![b'x'; 70];
            s[65] = b;
            let want = naive(&s);
            assert_eq!(find_special(&s), want, "byte {b}");
            assert_eq!(find_special_swar::<false>(&s), want, "byte {b}");
        }
    }
}
