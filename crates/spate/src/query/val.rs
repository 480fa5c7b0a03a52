//! Turning an item's JSON text into a jq value.
//!
//! The items reaching a jq program were validated by the scanner already (structure,
//! numbers, UTF-8), so this builder does not validate again: it finds string ends with
//! `memchr` and copies string bytes as they are, where jaq's own reader checks every byte.
//! Filters spent about 40% of their time in that reader (`jaq_json::read::parse_string`).
//! The values built are the ones jaq's reader builds: same number kinds (machine integers,
//! big integers, decimals kept as text), objects in key order with later duplicates
//! replacing earlier values, and the same refusal of escaped lone surrogates. Text that is
//! not JSON gives an error, never a panic or a wrong value; anything unusual (invalid
//! UTF-8, control characters in strings) is handed to jaq's reader, which decides.

use jaq_json::{Map, Num, Rc, Val};

use super::projection::Need;

/// Why the text could not be turned into a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotJson;

/// The deepest value built for a filter or an aggregate. jq values are built, printed and
/// dropped recursively (here and in jaq), so a deeper one would overflow a worker's stack;
/// it is the scanner's default depth limit, so that with default limits every item fits.
pub const MAX_VALUE_DEPTH: usize = 1024;

/// Why a value was not built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BuildError {
    /// Not JSON this builder takes (jaq's reader decides).
    NotJson,
    /// Nested deeper than [`MAX_VALUE_DEPTH`].
    TooDeep,
    /// A number longer than [`MAX_DIGITS`](super::decimal::MAX_DIGITS) digits (jaq reads
    /// a big integer in time that grows with the square of its length).
    NumberTooLong,
}

impl Builder<'_> {
    fn finish(mut self, v: Result<Val, NotJson>) -> Result<Val, BuildError> {
        if self.too_deep {
            return Err(BuildError::TooDeep);
        }
        if self.too_long {
            return Err(BuildError::NumberTooLong);
        }
        let v = v.map_err(|NotJson| BuildError::NotJson)?;
        self.skip_ws();
        if self.at == self.text.len() {
            Ok(v)
        } else {
            Err(BuildError::NotJson)
        }
    }
}

/// Builds the jq value of one JSON text (whitespace around it allowed).
pub(crate) fn build(json: &[u8]) -> Result<Val, BuildError> {
    let mut b = Builder::new(json);
    b.skip_ws();
    let v = b.value();
    b.finish(v)
}

/// Whether `json` nests deeper than [`MAX_VALUE_DEPTH`] (counted without building it, for
/// text handed to jaq's reader, which recurses too).
pub(crate) fn too_deep(json: &[u8]) -> bool {
    let mut b = Builder::new(json);
    b.skip_ws();
    let _ = b.skip_value_counting();
    b.too_deep
}

thread_local! {
    /// Object keys seen by this thread (see [`Builder::key`]).
    static KEYS: std::cell::RefCell<std::collections::HashMap<Box<[u8]>, Val, KeyHash>> =
        std::cell::RefCell::new(std::collections::HashMap::default());
}

/// A cheap hash for short keys (a word at a time).
type KeyHash = std::hash::BuildHasherDefault<WordHasher>;

#[derive(Default)]
struct WordHasher(u64);

impl std::hash::Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
}

/// Builds the parts of the value of `json` that `need` names (see [`super::projection`]):
/// the fields of objects that are not needed are skipped, not built.
pub(crate) fn build_projected(json: &[u8], need: &Need) -> Result<Val, BuildError> {
    let mut b = Builder::new(json);
    b.skip_ws();
    let v = b.projected(need);
    b.finish(v)
}

struct Builder<'a> {
    text: &'a [u8],
    at: usize,
    /// Containers open around `at`.
    depth: usize,
    /// A container deeper than [`MAX_VALUE_DEPTH`] was met (the build stopped there).
    too_deep: bool,
    /// A number too long to read was met (the build stopped there).
    too_long: bool,
}

impl<'a> Builder<'a> {
    fn new(text: &'a [u8]) -> Self {
        Builder {
            text,
            at: 0,
            depth: 0,
            too_deep: false,
            too_long: false,
        }
    }

    /// Skips one value, stopping at [`MAX_VALUE_DEPTH`] (then `too_deep` is set).
    fn skip_value_counting(&mut self) -> Result<(), NotJson> {
        let mut depth = 0usize;
        loop {
            match self.peek().ok_or(NotJson)? {
                b'"' => {
                    self.skip_string()?;
                    if depth == 0 {
                        return Ok(());
                    }
                    continue;
                }
                b'{' | b'[' => {
                    depth += 1;
                    if depth > MAX_VALUE_DEPTH {
                        self.too_deep = true;
                        return Err(NotJson);
                    }
                }
                b'}' | b']' => {
                    depth = depth.checked_sub(1).ok_or(NotJson)?;
                    if depth == 0 {
                        self.at += 1;
                        return Ok(());
                    }
                }
                _ if depth == 0 => return self.skip_value(),
                _ => {}
            }
            self.at += 1;
        }
    }
}

impl Builder<'_> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.text.get(self.at) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn literal(&mut self, word: &[u8], v: Val) -> Result<Val, NotJson> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(v)
        } else {
            Err(NotJson)
        }
    }

    fn value(&mut self) -> Result<Val, NotJson> {
        match self.peek().ok_or(NotJson)? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => Ok(Val::utf8_str(self.string()?)),
            b'n' => self.literal(b"null", Val::Null),
            b't' => self.literal(b"true", Val::Bool(true)),
            b'f' => self.literal(b"false", Val::Bool(false)),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(NotJson),
        }
    }

    fn projected(&mut self, need: &Need) -> Result<Val, NotJson> {
        match need {
            Need::Fields(fields) if self.peek() == Some(b'{') => self.object_projected(fields),
            Need::Length if matches!(self.peek(), Some(b'{' | b'[')) => self.shape(),
            // anything but an object is kept whole
            _ => self.value(),
        }
    }

    /// An array or object with its values replaced by `null`: only its length is needed.
    fn shape(&mut self) -> Result<Val, NotJson> {
        if self.peek() == Some(b'{') {
            let mut map = Map::default();
            self.members(b'}', |b| {
                let key = b.key_and_colon()?;
                b.skip_value()?;
                map.insert(key, Val::Null);
                Ok(())
            })?;
            Ok(Val::obj(map))
        } else {
            let mut items = Vec::new();
            self.members(b']', |b| {
                b.skip_value()?;
                items.push(Val::Null);
                Ok(())
            })?;
            Ok(Val::Arr(items.into()))
        }
    }

    fn object_projected(
        &mut self,
        fields: &std::collections::BTreeMap<String, Need>,
    ) -> Result<Val, NotJson> {
        let mut map = Map::default();
        self.members(b'}', |b| {
            if b.peek() != Some(b'"') {
                return Err(NotJson);
            }
            // the key's name: its bytes when it has no escape (the common case), else the
            // unescaped string
            let text = b.text;
            let rest = &text[b.at + 1..];
            let stop = memchr::memchr2(b'"', b'\\', rest).ok_or(NotJson)?;
            let (wanted, key) = if rest[stop] == b'"' {
                let wanted = std::str::from_utf8(&rest[..stop])
                    .ok()
                    .and_then(|n| fields.get(n));
                if wanted.is_some() {
                    (wanted, Some(b.key()?))
                } else {
                    b.at += stop + 2;
                    (None, None)
                }
            } else {
                let bytes = b.string()?;
                let wanted = std::str::from_utf8(&bytes).ok().and_then(|n| fields.get(n));
                (wanted, Some(Val::utf8_str(bytes)))
            };
            b.colon()?;
            match (wanted, key) {
                (Some(need), Some(key)) => {
                    let value = b.projected(need)?;
                    map.insert(key, value);
                }
                _ => b.skip_value()?,
            }
            Ok(())
        })?;
        Ok(Val::obj(map))
    }

    /// Moves past one value without building it.
    fn skip_value(&mut self) -> Result<(), NotJson> {
        match self.peek().ok_or(NotJson)? {
            b'"' => self.skip_string(),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek().ok_or(NotJson)? {
                        b'"' => {
                            self.skip_string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return Ok(());
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            _ => {
                let start = self.at;
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.at += 1;
                }
                if self.at == start {
                    Err(NotJson)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Moves past a string (at its opening quote).
    fn skip_string(&mut self) -> Result<(), NotJson> {
        self.at += 1;
        loop {
            let rest = &self.text[self.at..];
            let stop = memchr::memchr2(b'"', b'\\', rest).ok_or(NotJson)?;
            self.at += stop + 1;
            if rest[stop] == b'"' {
                return Ok(());
            }
            // the escaped character; a `\u` escape is checked as when building (the
            // scanner accepts escaped lone surrogates, jaq does not: a skipped one must not
            // let through an item the whole value would refuse)
            if self.peek() == Some(b'u') {
                self.at += 1;
                self.unicode_escape()?;
            } else {
                self.at += 1;
            }
        }
    }

    /// Walks the members of the array or object whose opening bracket is at `at`, up to
    /// its closing `close`: `each` reads one member (for an object, from its key's quote).
    fn members(
        &mut self,
        close: u8,
        mut each: impl FnMut(&mut Self) -> Result<(), NotJson>,
    ) -> Result<(), NotJson> {
        if self.depth >= MAX_VALUE_DEPTH {
            self.too_deep = true;
            return Err(NotJson);
        }
        self.depth += 1;
        self.at += 1;
        self.skip_ws();
        if self.peek() == Some(close) {
            self.at += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            each(self)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(c) if c == close => {
                    self.at += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return Err(NotJson),
            }
        }
    }

    /// The `:` after a key, with the whitespace around it.
    fn colon(&mut self) -> Result<(), NotJson> {
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(NotJson);
        }
        self.at += 1;
        self.skip_ws();
        Ok(())
    }

    /// An object member's key (at its quote) and the colon after it.
    fn key_and_colon(&mut self) -> Result<Val, NotJson> {
        if self.peek() != Some(b'"') {
            return Err(NotJson);
        }
        let key = self.key()?;
        self.colon()?;
        Ok(key)
    }

    fn array(&mut self) -> Result<Val, NotJson> {
        let mut items = Vec::new();
        self.members(b']', |b| {
            items.push(b.value()?);
            Ok(())
        })?;
        Ok(Val::Arr(items.into()))
    }

    fn object(&mut self) -> Result<Val, NotJson> {
        let mut map = Map::default();
        self.members(b'}', |b| {
            let key = b.key_and_colon()?;
            let value = b.value()?;
            map.insert(key, value);
            Ok(())
        })?;
        Ok(Val::obj(map))
    }

    /// An object key. Keys repeat from object to object (every element of an array of
    /// records has the same ones): short keys without escapes are made once per thread and
    /// cloned after that, which shares their bytes instead of allocating and copying them.
    fn key(&mut self) -> Result<Val, NotJson> {
        const MAX_LEN: usize = 48;
        const MAX_KEYS: usize = 4096;
        let rest = &self.text[self.at + 1..];
        let end = rest
            .iter()
            .take(MAX_LEN + 1)
            .position(|&c| c == b'"' || c == b'\\');
        let Some(len) = end.filter(|&n| rest[n] == b'"' && rest[..n].iter().all(|&c| c >= 0x20))
        else {
            return Ok(Val::utf8_str(self.string()?));
        };
        let name = &rest[..len];
        let key = KEYS.with(|keys| {
            let mut keys = keys.borrow_mut();
            if let Some(v) = keys.get(name) {
                return v.clone();
            }
            let v = Val::utf8_str(name.to_vec());
            if keys.len() < MAX_KEYS {
                keys.insert(name.into(), v.clone());
            }
            v
        });
        self.at += len + 2;
        Ok(key)
    }

    /// The bytes of the string starting at the opening quote, unescaped.
    fn string(&mut self) -> Result<Vec<u8>, NotJson> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let rest = &self.text[self.at..];
            let stop = memchr::memchr2(b'"', b'\\', rest).ok_or(NotJson)?;
            let plain = &rest[..stop];
            // (no early exit: this form is vectorized, prompts run to kilobytes)
            if plain.iter().fold(false, |bad, &c| bad | (c < 0x20)) {
                return Err(NotJson);
            }
            out.extend_from_slice(plain);
            self.at += stop + 1;
            if rest[stop] == b'"' {
                return Ok(out);
            }
            let escaped = match self.peek().ok_or(NotJson)? {
                b'"' => b'"',
                b'\\' => b'\\',
                b'/' => b'/',
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'u' => {
                    self.at += 1;
                    let c = self.unicode_escape()?;
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    continue;
                }
                _ => return Err(NotJson),
            };
            out.push(escaped);
            self.at += 1;
        }
    }

    /// The character of a `\u` escape (after the `u`), joining a surrogate pair; a lone
    /// surrogate is refused (as jaq does).
    fn unicode_escape(&mut self) -> Result<char, NotJson> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.text[self.at..].starts_with(b"\\u") {
                    return Err(NotJson);
                }
                self.at += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(NotJson);
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(NotJson),
            c => c,
        };
        char::from_u32(code).ok_or(NotJson)
    }

    fn hex4(&mut self) -> Result<u32, NotJson> {
        let digits = self.text.get(self.at..self.at + 4).ok_or(NotJson)?;
        let mut v = 0;
        for &d in digits {
            v = v * 16 + char::from(d).to_digit(16).ok_or(NotJson)?;
        }
        self.at += 4;
        Ok(v)
    }

    /// A number, kept as jaq keeps it: an integer (machine-size or big) when it has no
    /// fraction or exponent, else its decimal text.
    fn number(&mut self) -> Result<Val, NotJson> {
        let start = self.at;
        let mut integral = true;
        while let Some(c) = self.peek() {
            match c {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => integral = false,
                _ => break,
            }
            self.at += 1;
        }
        let text = std::str::from_utf8(&self.text[start..self.at]).map_err(|_| NotJson)?;
        if !text.ends_with(|c: char| c.is_ascii_digit()) {
            return Err(NotJson);
        }
        // (sign, point and exponent do not count)
        if text.len() > super::decimal::MAX_DIGITS + 1
            && text.bytes().filter(u8::is_ascii_digit).count() > super::decimal::MAX_DIGITS
        {
            self.too_long = true;
            return Err(NotJson);
        }
        let num = if integral {
            Num::from_str_radix(text, 10).ok_or(NotJson)?
        } else {
            Num::Dec(Rc::new(text.to_owned()))
        };
        Ok(Val::Num(num))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn jaq(text: &str) -> Option<Val> {
        jaq_json::read::parse_single(text.as_bytes()).ok()
    }

    #[test]
    fn builds_what_jaq_builds() {
        for text in [
            "null",
            " true ",
            "false",
            "0",
            "-0",
            "12345678901234567890123456789",
            "-9223372036854775808",
            "1.50",
            "1e400",
            "-2.5E-3",
            r#""plain""#,
            r#""esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00 end""#,
            r#""été 😀""#,
            "[]",
            "{}",
            r#"[1, [2, {"a": []}], "x"]"#,
            r#"{"b": 1, "a": 2, "b": 3}"#,
            r#"{ "k" : { "n" : null } , "l" : [ true , false ] }"#,
            r#"{"k\u00e9y": 1, "k\"q": 2, "a-key-longer-than-forty-eight-bytes-is-not-cached-xx": 3}"#,
            r#"[{"id": 1, "tags": []}, {"id": 2, "tags": ["x"]}, {"tags": null, "id": 3}]"#,
        ] {
            assert_eq!(build(text.as_bytes()).ok(), jaq(text), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_json() {
        for text in [
            "",
            "nul",
            "[1,]",
            "{\"a\" 1}",
            "\"open",
            "[1 2]",
            "1 2",
            "\"\\x\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"\\u12\"",
            "-",
            "{1: 2}",
            "\"a\u{1}b\"",
        ] {
            assert_eq!(build(text.as_bytes()), Err(BuildError::NotJson), "{text:?}");
        }
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            (-1e12f64..1e12).prop_map(serde_json::Value::from),
            "\\PC{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::vec(("\\PC{0,6}", inner), 0..6)
                    .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn agrees_with_jaq_on_any_json(v in json_value(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                serde_json::to_string(&v).unwrap()
            };
            prop_assert_eq!(build(text.as_bytes()).ok(), jaq(&text));
        }
    }
}
