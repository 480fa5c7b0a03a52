//! Python objects built straight from an item's bytes.
//!
//! The bytes were validated by spate's scanner before they get here (RFC 8259 structure,
//! escapes, UTF-8), so this builder walks them with spate-json's [`Walker`], which trusts
//! them: nothing is validated twice and nothing goes through `serde_json::Value`. It keeps
//! its own stack instead of recursing, so the nesting depth the scanner accepted cannot
//! overflow the C stack.
//!
//! Values come out as `json.loads` gives them: objects as `dict` (a repeated member keeps
//! its last value), arrays as `list`, integers of any size as `int`, other numbers as
//! `float` (`1E400` is `inf`, as in `json.loads`) or, for the ijson shim, `decimal.Decimal`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use pyo3::IntoPyObjectExt;
use spate_json::walk::{Event, JsonStr, Walker};

use crate::tape::Op;

/// How numbers that are not integers become Python objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Floats {
    /// `float`, like `json.loads`.
    Float,
    /// `decimal.Decimal` of the exact text, like ijson without `use_float`.
    Decimal,
}

impl Floats {
    /// `Decimal` when `decimal`, else `Float`.
    pub fn decimal_if(decimal: bool) -> Self {
        if decimal {
            Floats::Decimal
        } else {
            Floats::Float
        }
    }
}

/// Builds Python values; keeps object keys it has already made, since the same member
/// names come back in every item of a stream.
pub struct Builder {
    floats: Floats,
    keys: HashMap<Box<[u8]>, Py<PyString>, BuildHasherDefault<KeyHasher>>,
    decimal: Option<Py<PyAny>>,
    scratch: Vec<u8>,
}

/// Keys longer than this are not kept (they are rarely repeated).
const MAX_KEPT_KEY: usize = 64;
/// At most this many distinct keys are kept per stream.
const MAX_KEPT_KEYS: usize = 4096;

/// A hash for the key cache: member names are short and come from the document, and the
/// cache is bounded ([`MAX_KEPT_KEYS`]), so a fast multiply-rotate hash is enough (the
/// default SipHash showed in profiles).
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

impl KeyHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

enum Frame<'py> {
    List(Bound<'py, PyList>),
    Dict(Bound<'py, PyDict>, Option<Bound<'py, PyString>>),
}

/// The containers being built, innermost last: what [`Builder::build`] and
/// [`Builder::build_taped`] share, whichever way they learn the value's structure.
struct Stack<'py>(Vec<Frame<'py>>);

impl<'py> Stack<'py> {
    #[inline(always)]
    fn open_dict(&mut self, py: Python<'py>) {
        self.0.push(Frame::Dict(PyDict::new(py), None));
    }

    #[inline(always)]
    fn open_list(&mut self, py: Python<'py>) {
        self.0.push(Frame::List(PyList::empty(py)));
    }

    /// The innermost container, closed.
    #[inline(always)]
    fn close(&mut self) -> Bound<'py, PyAny> {
        match self.0.pop() {
            Some(Frame::List(list)) => list.into_any(),
            Some(Frame::Dict(dict, _)) => dict.into_any(),
            None => unreachable!("validated JSON has balanced brackets"),
        }
    }

    /// The name of the innermost object's next member.
    #[inline(always)]
    fn key(&mut self, key: Bound<'py, PyString>) {
        if let Some(Frame::Dict(_, pending)) = self.0.last_mut() {
            *pending = Some(key);
        }
    }

    /// True when the innermost container is an object waiting for a member name.
    #[inline(always)]
    fn wants_key(&self) -> bool {
        matches!(self.0.last(), Some(Frame::Dict(_, None)))
    }

    /// Puts `value` in the innermost container; `Some(value)` when there is none (it is
    /// the whole value).
    #[inline(always)]
    fn place(&mut self, value: Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.0.last_mut() {
            None => return Ok(Some(value)),
            Some(Frame::List(list)) => list.append(value)?,
            Some(Frame::Dict(dict, key)) => {
                let key = key
                    .take()
                    .expect("validated JSON has a key before each value");
                dict.set_item(key, value)?;
            }
        }
        Ok(None)
    }
}

impl Builder {
    pub fn new(floats: Floats) -> Self {
        Builder {
            floats,
            keys: HashMap::default(),
            decimal: None,
            scratch: Vec::new(),
        }
    }

    /// The value of the JSON text `bytes` (one complete, validated value, whitespace allowed).
    pub fn build<'py>(&mut self, py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let mut stack = Stack(Vec::new());
        let mut walker = Walker::new(bytes);
        loop {
            let Some(event) = walker.next() else {
                return Err(PyValueError::new_err(
                    "spate internal error: item ended early",
                ));
            };
            let value: Bound<'py, PyAny> = match event {
                Event::BeginObject => {
                    stack.open_dict(py);
                    continue;
                }
                Event::BeginArray => {
                    stack.open_list(py);
                    continue;
                }
                Event::EndObject | Event::EndArray => stack.close(),
                Event::Key(name) => {
                    let key = self.key(py, name)?;
                    stack.key(key);
                    continue;
                }
                Event::String(text) => self.string(py, text)?.into_any(),
                Event::Number(text) => self.number(py, text)?,
                Event::Bool(b) => b.into_bound_py_any(py)?,
                Event::Null => py.None().into_bound(py),
            };
            if let Some(whole) = stack.place(value)? {
                return Ok(whole);
            }
        }
    }

    /// The value whose walk the engine recorded in `ops` (see [`crate::tape`]): `bytes` are
    /// the item's, `text` the tape's decoded strings. Makes what [`Builder::build`] makes.
    pub fn build_taped<'py>(
        &mut self,
        py: Python<'py>,
        bytes: &[u8],
        ops: &[Op],
        text: &[u8],
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut stack = Stack(Vec::new());
        for op in ops {
            let value: Bound<'py, PyAny> = match *op {
                Op::BeginObject => {
                    stack.open_dict(py);
                    continue;
                }
                Op::BeginArray => {
                    stack.open_list(py);
                    continue;
                }
                Op::End => stack.close(),
                Op::Key(at) => {
                    stack.key(self.plain_key(py, at.of(bytes)));
                    continue;
                }
                Op::DecodedKey(at) => {
                    stack.key(utf8_str(py, at.of(text)));
                    continue;
                }
                Op::Surrogate(at) => {
                    let s = surrogate(py, at.of(bytes))?;
                    // In an object waiting for its member name, this is the name.
                    if stack.wants_key() {
                        stack.key(s);
                        continue;
                    }
                    s.into_any()
                }
                Op::String(at) => utf8_str(py, at.of(bytes)).into_any(),
                Op::DecodedString(at) => utf8_str(py, at.of(text)).into_any(),
                Op::Int(n) => n.into_bound_py_any(py)?,
                Op::Float(x) => x.into_bound_py_any(py)?,
                Op::NumberText(at) => self.number(py, at.of(bytes))?,
                Op::Bool(b) => b.into_bound_py_any(py)?,
                Op::Null => py.None().into_bound(py),
            };
            if let Some(whole) = stack.place(value)? {
                return Ok(whole);
            }
        }
        Err(PyValueError::new_err(
            "spate internal error: item ended early",
        ))
    }

    /// A member name without escapes, from the kept keys when it was made before.
    fn plain_key<'py>(&mut self, py: Python<'py>, raw: &[u8]) -> Bound<'py, PyString> {
        if raw.len() > MAX_KEPT_KEY {
            return utf8_str(py, raw);
        }
        if let Some(key) = self.keys.get(raw) {
            return key.bind(py).clone();
        }
        let key = utf8_str(py, raw);
        if self.keys.len() < MAX_KEPT_KEYS {
            self.keys.insert(raw.into(), key.clone().unbind());
        }
        key
    }

    fn key<'py>(&mut self, py: Python<'py>, name: JsonStr<'_>) -> PyResult<Bound<'py, PyString>> {
        let raw = name.raw();
        if name.has_escapes() || raw.len() > MAX_KEPT_KEY {
            return self.string(py, name);
        }
        if let Some(key) = self.keys.get(raw) {
            return Ok(key.bind(py).clone());
        }
        let key = self.string(py, name)?;
        if self.keys.len() < MAX_KEPT_KEYS {
            self.keys.insert(raw.into(), key.clone().unbind());
        }
        Ok(key)
    }

    fn string<'py>(
        &mut self,
        py: Python<'py>,
        text: JsonStr<'_>,
    ) -> PyResult<Bound<'py, PyString>> {
        let decoded = text.decode(&mut self.scratch);
        // The walker decodes a lone surrogate escape (`"\ud800"`, valid JSON that UTF-8
        // cannot hold) as U+FFFD; Python's own decoder makes the `str` `json.loads` makes.
        if text.has_escapes() && memchr::memmem::find(decoded, "\u{fffd}".as_bytes()).is_some() {
            let mut quoted = Vec::with_capacity(text.raw().len() + 2);
            quoted.push(b'"');
            quoted.extend_from_slice(text.raw());
            quoted.push(b'"');
            let json = py.import("json")?;
            let value = json.call_method1("loads", (PyBytes::new(py, &quoted),))?;
            return Ok(value.cast_into()?);
        }
        // SAFETY: the scanner validated the item as UTF-8 before it was handed out, and the
        // walker's decoding of escapes writes UTF-8.
        let s = unsafe { std::str::from_utf8_unchecked(decoded) };
        Ok(PyString::new(py, s))
    }

    /// The number of the JSON text `text` (validated), as the builder's numbers are.
    pub fn number<'py>(&mut self, py: Python<'py>, text: &[u8]) -> PyResult<Bound<'py, PyAny>> {
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

/// A `str` of validated UTF-8.
fn utf8_str<'py>(py: Python<'py>, text: &[u8]) -> Bound<'py, PyString> {
    // SAFETY: the scanner validated the item as UTF-8 before it was handed out, and the
    // walker's decoding of escapes writes UTF-8.
    PyString::new(py, unsafe { std::str::from_utf8_unchecked(text) })
}

/// The `str` Python's own decoder makes of a string with a lone surrogate escape (`raw`:
/// the bytes between its quotes), as `json.loads` does.
fn surrogate<'py>(py: Python<'py>, raw: &[u8]) -> PyResult<Bound<'py, PyString>> {
    let mut quoted = Vec::with_capacity(raw.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(raw);
    quoted.push(b'"');
    let json = py.import("json")?;
    let value = json.call_method1("loads", (PyBytes::new(py, &quoted),))?;
    Ok(value.cast_into()?)
}

/// The `str` of a string's text as written between its quotes (validated), as `json.loads`
/// makes it; `scratch` is for decoding escapes.
pub fn text_value<'py>(
    py: Python<'py>,
    raw: &[u8],
    scratch: &mut Vec<u8>,
) -> PyResult<Bound<'py, PyString>> {
    if memchr::memchr(b'\\', raw).is_none() {
        return Ok(utf8_str(py, raw));
    }
    scratch.clear();
    spate_json::walk::unescape_into(raw, scratch);
    // A lone surrogate escape decodes to U+FFFD here; Python's decoder keeps it.
    if memchr::memmem::find(scratch, "\u{fffd}".as_bytes()).is_some() {
        return surrogate(py, raw);
    }
    Ok(utf8_str(py, scratch))
}
