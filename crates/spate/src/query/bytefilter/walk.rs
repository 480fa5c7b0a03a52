//! Reading an item's JSON text in place: the members of an object, the elements of an
//! array, strings unescaped, numbers classified — without building a value.
//!
//! The text was validated by the scanner, but the jaq route refuses some of what the
//! scanner accepts (escaped lone surrogates, values nested deeper than
//! [`MAX_VALUE_DEPTH`](crate::query::MAX_VALUE_DEPTH), numbers of more than
//! [`MAX_DIGITS`](crate::query::decimal::MAX_DIGITS) digits). Every walk here checks for
//! them, with margins, and answers [`Unsure`] when it meets one (or anything unexpected),
//! so that such an item goes the jaq route and gets jaq's answer, error included.

use std::borrow::Cow;

/// The byte route cannot answer this item exactly: the jaq route must.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unsure;

pub(crate) type Sure<T> = Result<T, Unsure>;

/// Deepest nesting walked (below the jaq route's limit of 1024, counting the item's own
/// levels from its root).
pub(crate) const MAX_DEPTH: usize = 1000;

/// Longest number (any run of number characters) walked: far below the jaq route's limit.
const MAX_NUMBER_LEN: usize = 300;

#[inline]
pub(crate) fn skip_ws(t: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = t.get(at) {
        at += 1;
    }
    at
}

/// The end of the string whose opening quote is at `at`: the next quote not escaped (after
/// an even run of backslashes). Escapes are not looked into: [`lone_surrogates`] checks
/// them once for the whole item.
#[inline]
pub(crate) fn string_end(t: &[u8], at: usize) -> Sure<usize> {
    let mut i = at + 1;
    loop {
        let q = i + memchr::memchr(b'"', t.get(i..).ok_or(Unsure)?).ok_or(Unsure)?;
        let mut backslashes = 0;
        while q - backslashes > at + 1 && t[q - backslashes - 1] == b'\\' {
            backslashes += 1;
        }
        if backslashes % 2 == 0 {
            return Ok(q + 1);
        }
        i = q + 1;
    }
}

/// [`string_end`], and whether the string holds escapes, in one pass to the first quote or
/// backslash, stepping over each escape's next byte. Member names and the strings a
/// program reads are mostly short: their first bytes are looked at one by one, the rest
/// searched for.
#[inline]
pub(crate) fn string(t: &[u8], at: usize) -> Sure<(usize, bool)> {
    let mut i = at + 1;
    let mut escaped = false;
    let short = t.len().min(at + 1 + 24);
    while i < short {
        match t[i] {
            b'"' => return Ok((i + 1, escaped)),
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
    loop {
        let q = i + memchr::memchr2(b'"', b'\\', t.get(i..).ok_or(Unsure)?).ok_or(Unsure)?;
        if t[q] == b'"' {
            return Ok((q + 1, escaped));
        }
        escaped = true;
        i = q + 2;
    }
}

/// Whether the JSON text `t` holds an escaped lone surrogate (`"\ud800"`), which the
/// scanner accepts and the jaq route refuses (or a `\u` escape that is not four hex digits).
/// The escapes are read in order from the first backslash: `t` starts outside a string or
/// at a string's content, never inside an escape.
pub(crate) fn lone_surrogates(t: &[u8]) -> bool {
    // (most items have no escape at all: one search for a backslash decides)
    let mut at = match memchr::memchr(b'\\', t) {
        Some(at) => at,
        None => return false,
    };
    loop {
        if t.get(at + 1) == Some(&b'u') {
            match hex4(t, at + 2) {
                Ok(0xD800..=0xDBFF) => {
                    let low = if t.get(at + 6..at + 8) == Some(b"\\u") {
                        hex4(t, at + 8)
                    } else {
                        Err(Unsure)
                    };
                    if !matches!(low, Ok(0xDC00..=0xDFFF)) {
                        return true;
                    }
                    at += 12;
                }
                Ok(0xDC00..=0xDFFF) | Err(_) => return true,
                Ok(_) => at += 6,
            }
        } else {
            // (`\\`, `\"`, `\n`...: the escaped byte is not a backslash that starts one)
            at += 2;
        }
        match t.get(at..).and_then(|rest| memchr::memchr(b'\\', rest)) {
            Some(next) => at += next,
            None => return false,
        }
    }
}

fn hex4(t: &[u8], at: usize) -> Sure<u32> {
    let digits = t.get(at..at + 4).ok_or(Unsure)?;
    let mut v = 0;
    for &d in digits {
        v = v * 16 + char::from(d).to_digit(16).ok_or(Unsure)?;
    }
    Ok(v)
}

/// The end of the value starting at `at` (no whitespace before it), nested `depth` levels
/// inside the item.
pub(crate) fn value_end(t: &[u8], at: usize, depth: usize) -> Sure<usize> {
    match t.get(at) {
        Some(b'"') => string_end(t, at),
        Some(b'{' | b'[') => container_end(t, at, depth),
        Some(_) => {
            let mut i = at;
            while let Some(c) = t.get(i) {
                if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                i += 1;
            }
            if i == at || i - at > MAX_NUMBER_LEN {
                return Err(Unsure);
            }
            Ok(i)
        }
        None => Err(Unsure),
    }
}

/// The end of the array or object whose bracket is at `at`: 64 bytes at a time where it
/// can ([`super::skip`]), byte by byte otherwise.
#[inline]
fn container_end(t: &[u8], at: usize, depth: usize) -> Sure<usize> {
    match super::skip::container_end(t, at, depth) {
        Some(end) => end,
        None => container_end_bytewise(t, at, depth),
    }
}

/// [`container_end`] one byte at a time (and a `memchr` per string).
fn container_end_bytewise(t: &[u8], at: usize, depth: usize) -> Sure<usize> {
    let mut level = 0usize;
    let mut run = 0usize;
    let mut i = at;
    loop {
        let c = *t.get(i).ok_or(Unsure)?;
        match c {
            b'"' => {
                i = string_end(t, i)?;
                run = 0;
                continue;
            }
            b'{' | b'[' => {
                level += 1;
                if depth + level > MAX_DEPTH {
                    return Err(Unsure);
                }
            }
            b'}' | b']' => {
                level -= 1;
                if level == 0 {
                    return Ok(i + 1);
                }
            }
            b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E' => {
                run += 1;
                if run > MAX_NUMBER_LEN {
                    return Err(Unsure);
                }
                i += 1;
                continue;
            }
            _ => {}
        }
        run = 0;
        i += 1;
    }
}

/// An object member: its key (unescaped) and its value's span in the object's text.
#[derive(Debug, Clone)]
pub(crate) struct Member<'a> {
    pub key: Cow<'a, [u8]>,
    pub value: &'a [u8],
}

/// The members of the object `t` (its whole text, from `{`), in order, duplicates kept.
pub(crate) fn members(t: &[u8], depth: usize) -> Sure<Vec<Member<'_>>> {
    let (m, end) = members_at(t, 0, depth, |_, _| Ok(None))?;
    if end != t.len() {
        return Err(Unsure);
    }
    Ok(m)
}

/// The members of the object whose `{` is at `at` in `t`, and the end of the object.
/// `nested(key, at)` may walk a member's value itself (starting at `at`) and return its end;
/// `None` lets it be skipped.
pub(crate) fn members_at<'a>(
    t: &'a [u8],
    mut at: usize,
    depth: usize,
    mut nested: impl FnMut(&[u8], usize) -> Sure<Option<usize>>,
) -> Sure<(Vec<Member<'a>>, usize)> {
    // (objects of records have a dozen members or so: no growing from 4 to 8 to 16)
    let mut out = Vec::with_capacity(16);
    if depth + 1 > MAX_DEPTH || t.get(at) != Some(&b'{') {
        return Err(Unsure);
    }
    at = skip_ws(t, at + 1);
    if t.get(at) == Some(&b'}') {
        return Ok((out, at + 1));
    }
    loop {
        if t.get(at) != Some(&b'"') {
            return Err(Unsure);
        }
        let (end, escaped) = string(t, at)?;
        let raw = &t[at + 1..end - 1];
        let key = if escaped {
            Cow::Owned(unescape(raw)?)
        } else {
            Cow::Borrowed(raw)
        };
        at = skip_ws(t, end);
        if t.get(at) != Some(&b':') {
            return Err(Unsure);
        }
        at = skip_ws(t, at + 1);
        let value_end = match nested(&key, at)? {
            Some(end) => end,
            None => value_end(t, at, depth + 1)?,
        };
        out.push(Member {
            key,
            value: &t[at..value_end],
        });
        at = skip_ws(t, value_end);
        match t.get(at) {
            Some(b',') => at = skip_ws(t, at + 1),
            Some(b'}') => return Ok((out, at + 1)),
            _ => return Err(Unsure),
        }
    }
}

/// The elements of the array `t` (its whole text, from `[`), in order.
pub(crate) fn elements(t: &[u8], depth: usize) -> Sure<Vec<&[u8]>> {
    let (e, end) = elements_at(t, 0, depth)?;
    if end != t.len() {
        return Err(Unsure);
    }
    Ok(e)
}

/// The elements of the array whose `[` is at `at` in `t`, and the end of the array.
pub(crate) fn elements_at(t: &[u8], at: usize, depth: usize) -> Sure<(Vec<&[u8]>, usize)> {
    let mut out = Vec::new();
    if depth + 1 > MAX_DEPTH || t.get(at) != Some(&b'[') {
        return Err(Unsure);
    }
    let mut at = skip_ws(t, at + 1);
    if t.get(at) == Some(&b']') {
        return Ok((out, at + 1));
    }
    loop {
        let end = value_end(t, at, depth + 1)?;
        out.push(&t[at..end]);
        at = skip_ws(t, end);
        match t.get(at) {
            Some(b',') => at = skip_ws(t, at + 1),
            Some(b']') => return Ok((out, at + 1)),
            _ => return Err(Unsure),
        }
    }
}

/// The bytes of a JSON string's content (between its quotes), unescaped by spate-json's
/// decoder. That decoder turns an escaped lone surrogate into U+FFFD where the jaq route
/// refuses the item, so such strings are unsure here (items holding one never get this far:
/// [`super::ByteFilter::run`] hands them to jaq first).
pub(crate) fn unescape(raw: &[u8]) -> Sure<Vec<u8>> {
    if lone_surrogates(raw) {
        return Err(Unsure);
    }
    let mut out = Vec::with_capacity(raw.len());
    spate_json::walk::unescape_into(raw, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_members_and_elements() {
        let t = br#"{ "a" : [1, {"x": "]"}], "b\u00e9": "s\"", "a": null }"#;
        let m = members(t, 0).unwrap();
        let keys: Vec<&[u8]> = m.iter().map(|m| &m.key[..]).collect();
        assert_eq!(keys, [&b"a"[..], "bé".as_bytes(), b"a"]);
        assert_eq!(m[0].value, br#"[1, {"x": "]"}]"#);
        assert_eq!(m[2].value, b"null");
        let e = elements(m[0].value, 1).unwrap();
        assert_eq!(e, [&b"1"[..], br#"{"x": "]"}"#]);
    }

    use proptest::prelude::*;

    /// JSON text of nested containers, with what makes skipping hard: brackets and quotes
    /// inside strings, runs of backslashes, numbers up to 400 digits, whitespace.
    fn json() -> impl Strategy<Value = String> {
        let string = proptest::collection::vec(
            prop_oneof![
                Just("a".to_string()),
                Just("[".to_string()),
                Just("}".to_string()),
                Just("\\\"".to_string()),
                Just("\\\\".to_string()),
                Just("\\u00e9".to_string()),
                Just("é".to_string()),
                Just(" ".repeat(70)),
            ],
            0..12,
        )
        .prop_map(|parts| format!("\"{}\"", parts.concat()));
        let leaf = prop_oneof![
            string.clone(),
            (1usize..400).prop_map(|n| "7".repeat(n)),
            Just("-1.5e+300".to_string()),
            Just("true".to_string()),
            Just("null".to_string()),
        ];
        leaf.prop_recursive(6, 200, 8, move |inner| {
            let ws = prop_oneof![Just(""), Just(" "), Just("\n    ")];
            prop_oneof![
                (proptest::collection::vec(inner.clone(), 0..8), ws.clone())
                    .prop_map(|(v, w)| format!("[{w}{}{w}]", v.join(&format!(",{w}")))),
                (proptest::collection::vec((string.clone(), inner), 0..8), ws).prop_map(
                    |(v, w)| {
                        let m: Vec<String> = v.iter().map(|(k, v)| format!("{k}:{w}{v}")).collect();
                        format!("{{{w}{}{w}}}", m.join(&format!(",{w}")))
                    }
                ),
            ]
        })
    }

    proptest! {
        /// The 64-byte skip answers exactly what the byte-by-byte walk answers: the end, or
        /// unsure (too deep, a number too long, cut short), at any depth and truncation.
        #[test]
        fn skipping_agrees_with_the_bytewise_walk(
            text in json(),
            depth in prop_oneof![Just(0usize), 990usize..1000],
            cut in 0usize..100,
        ) {
            let t = text.as_bytes();
            if matches!(t.first(), Some(b'[' | b'{')) {
                prop_assert_eq!(container_end(t, 0, depth), container_end_bytewise(t, 0, depth));
                let cut = t.len() - cut.min(t.len());
                prop_assert_eq!(
                    container_end(&t[..cut], 0, depth),
                    container_end_bytewise(&t[..cut], 0, depth)
                );
            }
        }
    }

    #[test]
    fn skipping_handles_the_hard_cases() {
        let cases = [
            format!("[{}]", "9".repeat(400)),
            format!("[{}]", "9".repeat(299)),
            format!("[\"{}\", 1]", "]".repeat(200)),
            format!("[\"{}\\\"]\", 1]", " ".repeat(62)),
            format!("{}{}", "[".repeat(1001), "]".repeat(1001)),
            format!("[{}1e+{}]", " ".repeat(60), "0".repeat(290)),
        ];
        for c in &cases {
            for depth in [0, 5, 999] {
                assert_eq!(
                    container_end(c.as_bytes(), 0, depth),
                    container_end_bytewise(c.as_bytes(), 0, depth),
                    "{c}"
                );
            }
        }
    }

    #[test]
    fn unsure_of_what_the_jaq_route_refuses() {
        assert!(lone_surrogates(br#"{"a": "\ud800"}"#));
        assert!(lone_surrogates(br#"{"a": ["\udc00"]}"#));
        assert!(lone_surrogates(br#"{"a": "\ud800\u0041"}"#));
        assert!(lone_surrogates(br#"{"a": "\\\udc00"}"#));
        assert!(!lone_surrogates(br#"{"a": "\ud83d\ude00 \u00e9"}"#));
        assert!(!lone_surrogates(br#"{"a": "\\ud800"}"#));
        assert_eq!(string_end(br#""a\"b\\" x"#, 0), Ok(8));
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(1000), "]".repeat(1000));
        assert_eq!(members(deep.as_bytes(), 0).unwrap_err(), Unsure);
        let long = format!("{{\"a\":[{}]}}", "9".repeat(400));
        assert_eq!(members(long.as_bytes(), 0).unwrap_err(), Unsure);
        assert_eq!(
            unescape(br"a\u00e9\n\ud83d\ude00").unwrap(),
            "aé\n😀".as_bytes()
        );
    }
}
