//! Finding where a container ends, 64 bytes at a time.
//!
//! The byte route steps over every value a program does not look into: the members before
//! the one it reads, each element of an array whose length it takes. Walked byte by byte
//! (with a `memchr` per string), that walk was an eighth of the CPU time of
//! `select(.delegations | length > 20)` over a 1.1 GB document. Here a container is skipped
//! in 64-byte blocks instead: each block is classified into quotes, backslashes, opening and
//! closing brackets with SIMD compares; the bytes inside strings are masked out (a prefix
//! XOR of the unescaped quotes); and the brackets are only counted, except in a block where
//! the container may close, whose brackets are then taken in order. A string still open at
//! the end of a block is searched to its end with `memchr2`, and the blocks go on after it.
//!
//! The answer is exactly the byte-by-byte walk's ([`super::walk`]'s `container_end`), which
//! also refuses (as [`Unsure`]) containers nested too deep and numbers too long for the jaq
//! route. Depth is checked here as it is there. A number run too long is caught by its
//! shape: a run of more than 300 number characters holds at least two whole blocks outside
//! strings with no separator in them (a number token holds one `+` at most, and no other
//! separator); at any such block this gives up, and the byte-by-byte walk answers.

use spate_json::prefix_xor;

use super::walk::{Sure, Unsure, MAX_DEPTH};

/// The end of the array or object whose bracket is at `at` in `t`, nested `depth` levels
/// inside the item; `None` when the byte-by-byte walk must decide (a long run of number
/// characters, or no SIMD on this target).
#[inline]
pub(super) fn container_end(t: &[u8], at: usize, depth: usize) -> Option<Sure<usize>> {
    #[cfg(target_arch = "x86_64")]
    {
        skip(t, at, depth)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (t, at, depth);
        None
    }
}

/// One block's bytes of each kind, a bit per byte (bit 0 for the block's first byte).
#[derive(Debug, Clone, Copy)]
struct Classes {
    quote: u64,
    backslash: u64,
    open: u64,
    close: u64,
    /// Bytes that cannot be part of a number: brackets, quotes, `:`, and everything below
    /// `-` (whitespace, `,`, and `+`, which is counted here to keep the test one compare).
    separator: u64,
}

#[cfg(target_arch = "x86_64")]
fn skip(t: &[u8], at: usize, depth: usize) -> Option<Sure<usize>> {
    let mut level = 0usize;
    let mut in_string = false;
    let mut escape_carry = 0u64;
    let mut pos = at;
    let mut tail = [b' '; 64];
    loop {
        if in_string {
            // A string that goes on past a block (prompts, messages are long) is searched
            // to its end with `memchr2`, much faster than classifying its every block.
            match string_rest(t, pos, escape_carry) {
                Some(end) => pos = end,
                None => return Some(Err(Unsure)),
            }
            escape_carry = 0;
        }
        let left = t.len() - pos;
        if left == 0 {
            return Some(Err(Unsure));
        }
        let (block, valid) = if left >= 64 {
            (&t[pos..pos + 64], u64::MAX)
        } else {
            tail[..left].copy_from_slice(&t[pos..]);
            tail[left..].fill(b' ');
            (&tail[..], (1u64 << left) - 1)
        };
        // SAFETY: SSE2 is part of the x86_64 baseline; `block` is 64 bytes long.
        let c = unsafe { classify_sse2(block) };
        let escaped = escaped(c.backslash & valid, &mut escape_carry);
        let quotes = c.quote & !escaped & valid;
        // (every block starts outside a string: a string left open is searched to its end
        // above, before the next block)
        let inside = prefix_xor(quotes);
        if inside == 0 && c.separator & valid == 0 && valid == u64::MAX {
            // 64 number characters in a row: let the byte-by-byte walk judge the number
            return None;
        }
        in_string = inside >> 63 == 1;
        let open = c.open & !inside & valid;
        let close = c.close & !inside & valid;
        let (opens, closes) = (open.count_ones() as usize, close.count_ones() as usize);
        if closes < level && depth + level + opens <= MAX_DEPTH {
            // the container cannot close in this block, nor nest too deep
            level = level + opens - closes;
        } else {
            let mut brackets = open | close;
            while brackets != 0 {
                let p = brackets.trailing_zeros();
                brackets &= brackets - 1;
                if open >> p & 1 == 1 {
                    level += 1;
                    if depth + level > MAX_DEPTH {
                        return Some(Err(Unsure));
                    }
                } else {
                    level -= 1;
                    if level == 0 {
                        return Some(Ok(pos + p as usize + 1));
                    }
                }
            }
        }
        pos += left.min(64);
    }
}

/// The end (past the closing quote) of a string whose content goes on at `at`; `escaped`
/// is 1 when the byte at `at` is escaped. `None`: the text ends first.
#[inline]
fn string_rest(t: &[u8], mut at: usize, escaped: u64) -> Option<usize> {
    if escaped == 1 {
        at += 1;
    }
    loop {
        let q = at + memchr::memchr2(b'"', b'\\', t.get(at..)?)?;
        if t[q] == b'"' {
            return Some(q + 1);
        }
        at = q + 2;
    }
}

/// The bytes of the block that a backslash escapes. `carry` is 1 when the block's first
/// byte is escaped by the last byte of the block before, and is set for the next block.
/// Backslashes only appear inside strings in valid JSON, and most blocks have none.
#[inline]
fn escaped(backslash: u64, carry: &mut u64) -> u64 {
    let mut escaped = *carry;
    // (an escaped backslash starts no escape)
    let mut starts = backslash & !*carry;
    *carry = 0;
    while starts != 0 {
        let p = starts.trailing_zeros();
        if p == 63 {
            *carry = 1;
            break;
        }
        escaped |= 1 << (p + 1);
        // the byte after this backslash is escaped, even if it is a backslash itself
        starts &= !(0b11u64 << p);
    }
    escaped
}

/// Classifies 64 bytes, 16 at a time with SSE2.
///
/// # Safety
/// `block` must be at least 64 bytes long.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
unsafe fn classify_sse2(block: &[u8]) -> Classes {
    use std::arch::x86_64::*;
    debug_assert!(block.len() >= 64);
    let quote = _mm_set1_epi8(b'"' as i8);
    let backslash = _mm_set1_epi8(b'\\' as i8);
    // `{` and `[` differ in the 0x20 bit only, as do `}` and `]`
    let case = _mm_set1_epi8(0x20);
    let open = _mm_set1_epi8(b'{' as i8);
    let close = _mm_set1_epi8(b'}' as i8);
    let colon = _mm_set1_epi8(b':' as i8);
    let minus = _mm_set1_epi8(b'-' as i8);
    let mut c = Classes {
        quote: 0,
        backslash: 0,
        open: 0,
        close: 0,
        separator: 0,
    };
    for k in 0..4 {
        // SAFETY: 16 * k + 16 <= 64 <= block.len().
        let v = unsafe { _mm_loadu_si128(block.as_ptr().add(16 * k) as *const __m128i) };
        let folded = _mm_or_si128(v, case);
        let q = _mm_cmpeq_epi8(v, quote);
        let o = _mm_cmpeq_epi8(folded, open);
        let cl = _mm_cmpeq_epi8(folded, close);
        // (signed: bytes at or above 0x80, inside strings only, count as separators too)
        let sep = _mm_or_si128(
            _mm_or_si128(_mm_cmplt_epi8(v, minus), _mm_cmpeq_epi8(v, colon)),
            _mm_or_si128(o, cl),
        );
        let shift = 16 * k as u32;
        let bits = |m: __m128i| (_mm_movemask_epi8(m) as u32 as u64) << shift;
        c.quote |= bits(q);
        c.backslash |= bits(_mm_cmpeq_epi8(v, backslash));
        c.open |= bits(o);
        c.close |= bits(cl);
        c.separator |= bits(sep);
    }
    c
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    #[test]
    fn escapes_across_blocks() {
        let mut carry = 0;
        // `\\` then `\"`: bytes 1 and 3 escaped
        assert_eq!(escaped(0b0111, &mut carry), 0b1010);
        assert_eq!(carry, 0);
        // a backslash last in the block escapes the next block's first byte
        assert_eq!(escaped(1 << 63, &mut carry), 0);
        assert_eq!(carry, 1);
        // ...which, a backslash itself, starts nothing
        assert_eq!(escaped(0b11, &mut carry), 0b101);
        assert_eq!(carry, 0);
    }
}
