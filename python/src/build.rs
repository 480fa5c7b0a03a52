//! Python objects built straight from an item's bytes.
//!
//! The bytes were validated by spate's scanner before they get here (RFC 8259 structure,
//! escapes, UTF-8), so this builder only has to find where each token ends: it never
//! re-validates and never goes through `serde_json::Value`. It keeps its own stack instead
//! of recursing, so the nesting depth the scanner accepted cannot overflow the C stack.
//!
//! Values come out as `json.loads` gives them: objects as `dict` (a repeated member keeps
//! its last value), arrays as `list`, integers of any size as `int`, other numbers as
//! `float` (`1E400` is `inf`, as in `json.loads`) or, for the ijson shim, `decimal.Decimal`.

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use pyo3::IntoPyObjectExt;

/// How numbers that are not integers become Python objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Floats {
    /// `float`, like `json.loads`.
    Float,
    /// `decimal.Decimal` of the exact text, like ijson without `use_float`.
    Decimal,
}

/// Builds Python values; keeps object keys it has already made, since the same member
/// names come back in every item of a stream.
pub struct Builder {
    floats: Floats,
    keys: HashMap<Box<[u8]>, Py<PyString>>,
    decimal: Option<Py<PyAny>>,
    scratch: String,
}

/// Keys longer than this are not kept (they are rarely repeated).
const MAX_KEPT_KEY: usize = 64;
/// At most this many distinct keys are kept per stream.
const MAX_KEPT_KEYS: usize = 4096;

enum Frame<'py> {
    List(Bound<'py, PyList>),
    Dict(Bound<'py, PyDict>, Option<Bound<'py, PyString>>),
}

impl Builder {
    pub fn new(floats: Floats) -> Self {
        Builder {
            floats,
            keys: HashMap::new(),
            decimal: None,
            scratch: String::new(),
        }
    }

    /// The value of the JSON text `bytes` (one complete, validated value, whitespace allowed).
    pub fn build<'py>(&mut self, py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let mut stack: Vec<Frame<'py>> = Vec::new();
        let mut i = 0;
        loop {
            i = skip_ws(bytes, i);
            let Some(&b) = bytes.get(i) else {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "spate internal error: item ended early",
                ));
            };
            let value: Bound<'py, PyAny> = match b {
                b'{' => {
                    stack.push(Frame::Dict(PyDict::new(py), None));
                    i += 1;
                    continue;
                }
                b'[' => {
                    stack.push(Frame::List(PyList::empty(py)));
                    i += 1;
                    continue;
                }
                b',' | b':' => {
                    i += 1;
                    continue;
                }
                b'}' | b']' => {
                    i += 1;
                    match stack.pop() {
                        Some(Frame::List(list)) => list.into_any(),
                        Some(Frame::Dict(dict, _)) => dict.into_any(),
                        None => unreachable!("validated JSON has balanced brackets"),
                    }
                }
                b'"' => {
                    let (end, escaped) = string_end(bytes, i + 1);
                    let raw = &bytes[i + 1..end];
                    i = end + 1;
                    if let Some(Frame::Dict(_, key @ None)) = stack.last_mut() {
                        *key = Some(self.key(py, raw, escaped)?);
                        continue;
                    }
                    self.string(py, raw, escaped)?.into_any()
                }
                b't' => {
                    i += 4;
                    true.into_bound_py_any(py)?
                }
                b'f' => {
                    i += 5;
                    false.into_bound_py_any(py)?
                }
                b'n' => {
                    i += 4;
                    py.None().into_bound(py)
                }
                _ => {
                    let end = number_end(bytes, i);
                    let text = &bytes[i..end];
                    i = end;
                    self.number(py, text)?
                }
            };
            match stack.last_mut() {
                None => return Ok(value),
                Some(Frame::List(list)) => list.append(value)?,
                Some(Frame::Dict(dict, key)) => {
                    let key = key
                        .take()
                        .expect("validated JSON has a key before each value");
                    dict.set_item(key, value)?;
                }
            }
        }
    }

    fn key<'py>(
        &mut self,
        py: Python<'py>,
        raw: &[u8],
        escaped: bool,
    ) -> PyResult<Bound<'py, PyString>> {
        if escaped || raw.len() > MAX_KEPT_KEY {
            return self.string(py, raw, escaped);
        }
        if let Some(key) = self.keys.get(raw) {
            return Ok(key.bind(py).clone());
        }
        let key = self.string(py, raw, false)?;
        if self.keys.len() < MAX_KEPT_KEYS {
            self.keys.insert(raw.into(), key.clone().unbind());
        }
        Ok(key)
    }

    fn string<'py>(
        &mut self,
        py: Python<'py>,
        raw: &[u8],
        escaped: bool,
    ) -> PyResult<Bound<'py, PyString>> {
        if !escaped {
            // SAFETY: the scanner validated the item as UTF-8 before it was handed out, and
            // a string's plain bytes end at a quote, so `raw` is whole characters.
            let text = unsafe { std::str::from_utf8_unchecked(raw) };
            return Ok(PyString::new(py, text));
        }
        match unescape(raw, &mut self.scratch) {
            Ok(()) => Ok(PyString::new(py, &self.scratch)),
            // A lone surrogate (`"\ud800"`) is valid JSON that a Rust string cannot hold;
            // Python's own decoder makes the same `str` as `json.loads`.
            Err(LoneSurrogate) => {
                let mut quoted = Vec::with_capacity(raw.len() + 2);
                quoted.push(b'"');
                quoted.extend_from_slice(raw);
                quoted.push(b'"');
                let json = py.import("json")?;
                Ok(json
                    .call_method1("loads", (pyo3::types::PyBytes::new(py, &quoted),))?
                    .cast_into()?)
            }
        }
    }

    fn number<'py>(&mut self, py: Python<'py>, text: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        // SAFETY: number text is ASCII (validated).
        let s = unsafe { std::str::from_utf8_unchecked(text) };
        let integer = !text.iter().any(|&c| matches!(c, b'.' | b'e' | b'E'));
        if integer {
            if text.len() <= 18 {
                let n: i64 = s.parse().expect("validated integer");
                return n.into_bound_py_any(py);
            }
            return py.get_type::<pyo3::types::PyInt>().call1((s,));
        }
        match self.floats {
            Floats::Float => s
                .parse::<f64>()
                .expect("validated number")
                .into_bound_py_any(py),
            Floats::Decimal => {
                if self.decimal.is_none() {
                    self.decimal = Some(py.import("decimal")?.getattr("Decimal")?.unbind());
                }
                self.decimal
                    .as_ref()
                    .expect("set above")
                    .bind(py)
                    .call1((s,))
            }
        }
    }
}

#[inline]
fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && matches!(bytes[i], b' ' | b'\n' | b'\r' | b'\t') {
        i += 1;
    }
    i
}

/// Index of the closing quote of the string whose contents start at `i`, and whether the
/// contents hold an escape.
#[inline]
fn string_end(bytes: &[u8], mut i: usize) -> (usize, bool) {
    let mut escaped = false;
    loop {
        match memchr::memchr2(b'"', b'\\', &bytes[i..]) {
            Some(k) if bytes[i + k] == b'"' => return (i + k, escaped),
            Some(k) => {
                escaped = true;
                i += k + 2;
            }
            None => unreachable!("validated JSON closes its strings"),
        }
    }
}

#[inline]
fn number_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && matches!(bytes[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
        i += 1;
    }
    i
}

struct LoneSurrogate;

/// Decodes the escapes of a validated string's contents into `out`.
fn unescape(raw: &[u8], out: &mut String) -> Result<(), LoneSurrogate> {
    out.clear();
    let mut i = 0;
    while i < raw.len() {
        let plain = memchr::memchr(b'\\', &raw[i..]).map_or(raw.len(), |k| i + k);
        // SAFETY: validated UTF-8, cut at ASCII backslashes.
        out.push_str(unsafe { std::str::from_utf8_unchecked(&raw[i..plain]) });
        if plain == raw.len() {
            break;
        }
        let c = raw[plain + 1];
        i = plain + 2;
        let ch = match c {
            b'n' => '\n',
            b't' => '\t',
            b'r' => '\r',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'u' => {
                let hi = hex4(&raw[i..i + 4]);
                i += 4;
                match hi {
                    0xD800..=0xDBFF => {
                        if raw.get(i) == Some(&b'\\') && raw.get(i + 1) == Some(&b'u') {
                            let lo = hex4(&raw[i + 2..i + 6]);
                            if (0xDC00..=0xDFFF).contains(&lo) {
                                i += 6;
                                let code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                                char::from_u32(code).ok_or(LoneSurrogate)?
                            } else {
                                return Err(LoneSurrogate);
                            }
                        } else {
                            return Err(LoneSurrogate);
                        }
                    }
                    0xDC00..=0xDFFF => return Err(LoneSurrogate),
                    code => char::from_u32(code).ok_or(LoneSurrogate)?,
                }
            }
            // `"`, `\`, `/`
            other => other as char,
        };
        out.push(ch);
    }
    Ok(())
}

fn hex4(h: &[u8]) -> u32 {
    h.iter().fold(0, |acc, &c| {
        acc * 16
            + match c {
                b'0'..=b'9' => (c - b'0') as u32,
                b'a'..=b'f' => (c - b'a' + 10) as u32,
                _ => (c - b'A' + 10) as u32,
            }
    })
}
