//! Inference over JSON values: JSON Lines, or the items of a JSON document.
//!
//! Each value (a line, an item) is one row. Objects are flattened: nested fields become paths
//! `a.b`; arrays are leaves of type `array`; a top-level value that is not an object is the
//! single field `value`. JSON types map directly: numbers without fraction or exponent are
//! integers (any size), other numbers floats, `true`/`false` booleans, `null` null. JSON has no
//! date type, so a JSON string is a `date` or `datetime` when its text is one by the CSV rules,
//! and a `float` when it is exactly `NaN`, `Infinity` or `-Infinity` (how `spate convert` writes
//! the non-finite floats that JSON cannot spell); every other string is a `string`, even `"12"`.
//! A missing field is a null. A path seen both as an object and as a value is a `string`.
//!
//! The values handed in have been validated by spate's scanner; they are read here with
//! [`spate_json::walk::Walker`], which trusts them (no second validation).

use std::collections::HashMap;

use spate_json::walk::{unescape_into, Event, Walker};

use crate::column::ColumnState;
use crate::elements::ElementState;
use crate::nested::{Element, ElementField};
use crate::schema::{Format, Schema};
use crate::types::{classify, classify_number, Type, Value};

/// One leaf of a JSON value, as handed to a [`JsonVisitor`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Leaf<'a> {
    Null,
    Bool(bool),
    /// The number's text as written.
    Number(&'a [u8]),
    /// The decoded string (UTF-8).
    String(&'a [u8]),
    /// The array's JSON text as written (also an object nested deeper than
    /// [`MAX_FLATTEN_DEPTH`], or one the visitor takes whole, [`JsonVisitor::whole`]).
    Array(&'a [u8]),
}

/// Receives the leaves of one JSON value, with their flattened paths (UTF-8, `.`-joined).
pub trait JsonVisitor {
    fn leaf(&mut self, path: &[u8], leaf: Leaf<'_>);
    /// An object at `path` (not called for the top-level object).
    fn object(&mut self, _path: &[u8]) {}
    /// Whether the object at `path` is to be handed over whole, as one [`Leaf::Array`] leaf
    /// (its JSON text), instead of being flattened (a writer that stores it as one struct
    /// column). Asked before [`JsonVisitor::object`]; not asked for the top-level object.
    fn whole(&mut self, _path: &[u8]) -> bool {
        false
    }
}

/// Name of the field of a top-level value that is not an object.
pub const TOP_LEVEL_FIELD: &str = "value";

/// Objects nested deeper than this are not flattened further (they are kept as one leaf, like
/// an array).
pub const MAX_FLATTEN_DEPTH: usize = 64;

/// Flattens validated JSON values into leaves; holds the buffers reused from value to value.
#[derive(Debug, Default, Clone)]
pub struct Flattener {
    path: Vec<u8>,
    /// Length of the path of each open object (where its members' names start).
    bases: Vec<usize>,
    /// Decoded strings with escapes.
    text: Vec<u8>,
}

impl Flattener {
    /// Walks one JSON value (validated; surrounding whitespace allowed) and hands its leaves
    /// to `visitor`. Iterative: no input can exhaust the stack.
    pub fn flatten<V: JsonVisitor>(&mut self, raw: &[u8], visitor: &mut V) {
        let Flattener { path, bases, text } = self;
        path.clear();
        bases.clear();
        let mut w = Walker::new(raw);
        match w.next() {
            None => return,
            Some(Event::BeginObject) => bases.push(0),
            Some(first) => {
                path.extend_from_slice(TOP_LEVEL_FIELD.as_bytes());
                leaf(first, &mut w, path, text, visitor);
                return;
            }
        }
        loop {
            match w.next() {
                Some(Event::Key(key)) => {
                    let base = bases.last().copied().unwrap_or(0);
                    let value = w.next();
                    if base == 0 && !key.has_escapes() && value != Some(Event::BeginObject) {
                        // A top-level member whose value is a leaf: its name is its path,
                        // as written (the common case; no copy).
                        if let Some(value) = value {
                            leaf(value, &mut w, key.raw(), text, visitor);
                        }
                        continue;
                    }
                    path.truncate(base);
                    if base > 0 {
                        path.push(b'.');
                    }
                    path.extend_from_slice(key.decode(text));
                    match value {
                        Some(Event::BeginObject)
                            if bases.len() - 1 < MAX_FLATTEN_DEPTH && !visitor.whole(path) =>
                        {
                            visitor.object(path);
                            bases.push(path.len());
                        }
                        Some(value) => leaf(value, &mut w, path, text, visitor),
                        None => return,
                    }
                }
                Some(Event::EndObject) => {
                    bases.pop();
                    if bases.is_empty() {
                        return;
                    }
                }
                // Not valid JSON (the walker trusts its input): stop.
                _ => return,
            }
        }
    }
}

/// Hands a value that began with `event` (a scalar, an array, or an object kept whole) to
/// the visitor as one leaf.
#[inline]
fn leaf<V: JsonVisitor>(
    event: Event<'_>,
    w: &mut Walker<'_>,
    path: &[u8],
    text: &mut Vec<u8>,
    visitor: &mut V,
) {
    let leaf = match event {
        Event::String(s) => Leaf::String(s.decode(text)),
        Event::Number(n) => Leaf::Number(n),
        Event::Bool(b) => Leaf::Bool(b),
        Event::Null => Leaf::Null,
        Event::BeginArray | Event::BeginObject => match w.skip_container() {
            Some(raw) => Leaf::Array(raw),
            None => return,
        },
        Event::Key(_) | Event::EndArray | Event::EndObject => return,
    };
    visitor.leaf(path, leaf);
}

#[derive(Debug, Clone)]
struct JsonField {
    name: Box<[u8]>,
    col: ColumnState,
    /// Seen as an object somewhere.
    object: bool,
    /// Where the field was first seen: the row's position in the input, then the leaf's
    /// rank in the row. Fields are listed in this order, so merged partial states list them
    /// as a sequential run does, whatever order the parts were merged in.
    first: (u64, u32),
    /// The field that followed this one the last time it was seen in a row (a guess for the
    /// next lookup: rows of one kind repeat their key order).
    next: usize,
    /// The elements of the field's arrays (from its first array on).
    elements: Option<Box<ElementState>>,
}

impl PartialEq for JsonField {
    /// What was inferred (`next`, a lookup guess, is left out).
    fn eq(&self, other: &Self) -> bool {
        (
            &self.name,
            &self.col,
            self.object,
            self.first,
            &self.elements,
        ) == (
            &other.name,
            &other.col,
            other.object,
            other.first,
            &other.elements,
        )
    }
}

/// No field (before the first field of a row).
const NO_FIELD: usize = usize::MAX;

/// Mergeable inference state over JSON rows.
#[derive(Debug, Clone, Default)]
pub struct JsonState {
    fields: Vec<JsonField>,
    index: HashMap<Box<[u8]>, usize>,
    /// The field last looked up in the row being read ([`NO_FIELD`] at its start).
    prev: usize,
    /// The first field of the last row (the guess for the first field of the next one).
    first_of_row: usize,
    /// Position of the row being read, and the rank of its next new leaf.
    at: (u64, u32),
    flattener: Flattener,
    /// Decoded strings of array elements.
    element_text: Vec<u8>,
    pub rows: u64,
}

impl PartialEq for JsonState {
    fn eq(&self, other: &Self) -> bool {
        self.fields == other.fields && self.rows == other.rows
    }
}

impl JsonState {
    #[inline]
    fn field(&mut self, path: &[u8]) -> &mut JsonField {
        let i = self.field_index(path);
        &mut self.fields[i]
    }

    /// The index of the field at `path`, made when new. The field that followed the previous
    /// one last time is tried first, so rows that repeat a key order (of one kind among
    /// several, as JSON Lines records often are) are rarely hashed.
    #[inline]
    pub(crate) fn field_index(&mut self, path: &[u8]) -> usize {
        let guess = match self.prev {
            NO_FIELD => self.first_of_row,
            p => self.fields[p].next,
        };
        let i = match self.fields.get(guess) {
            Some(f) if &*f.name == path => guess,
            _ => match self.index.get(path) {
                Some(&i) => i,
                None => {
                    let i = self.fields.len();
                    self.fields.push(JsonField {
                        name: path.into(),
                        col: ColumnState::default(),
                        object: false,
                        first: self.at,
                        next: NO_FIELD,
                        elements: None,
                    });
                    self.at.1 += 1;
                    self.index.insert(path.into(), i);
                    i
                }
            },
        };
        match self.prev {
            NO_FIELD => self.first_of_row = i,
            p => self.fields[p].next = i,
        }
        self.prev = i;
        i
    }

    /// Adds one row: a JSON value validated by spate's scanner. `position` orders the rows
    /// of an input (its byte offset; it must grow from row to row of one state).
    pub fn observe(&mut self, raw: &[u8], position: u64) {
        self.prev = NO_FIELD;
        self.at = (position, 0);
        let mut flattener = std::mem::take(&mut self.flattener);
        flattener.flatten(raw, self);
        self.flattener = flattener;
        self.rows += 1;
    }

    /// Starts a row at `position` (see [`JsonState::observe`]) whose leaves the caller then
    /// hands over one by one ([`JsonState::scalar`], the [`JsonVisitor`] methods), in the
    /// order a [`Flattener`] would; [`JsonState::end_row`] counts it.
    pub(crate) fn begin_row(&mut self, position: u64) {
        self.prev = NO_FIELD;
        self.at = (position, 0);
    }

    /// Counts the row begun by [`JsonState::begin_row`].
    pub(crate) fn end_row(&mut self) {
        self.rows += 1;
    }

    /// A scalar leaf of `field` (a [`JsonState::field_index`]) given as written (a string with its quotes and escapes, a
    /// number, a literal; validated): the same as [`JsonVisitor::leaf`] with the decoded
    /// [`Leaf`], but a value of a column that is already a `string` is only counted, since
    /// no value can change that type (its escapes are not even decoded). `text` is a buffer
    /// for decoded strings.
    #[inline]
    pub(crate) fn scalar(&mut self, field: usize, raw: &[u8], text: &mut Vec<u8>) {
        let f = &mut self.fields[field];
        let col = &mut f.col;
        let Some(&first) = raw.first() else {
            return;
        };
        if first == b'n' {
            return;
        }
        col.values += 1;
        if col.ty == Type::String {
            return;
        }
        match first {
            b'"' => {
                let inner = &raw[1..raw.len().saturating_sub(1).max(1)];
                let s = if has_backslash(inner) {
                    text.clear();
                    unescape_into(inner, text);
                    &text[..]
                } else {
                    inner
                };
                col.observe_value(json_string_value(s), s);
            }
            b't' => col.observe_value(Value::Boolean(true), b""),
            b'f' => col.observe_value(Value::Boolean(false), b""),
            _ => col.observe_value(classify_number(raw), raw),
        }
        if f.object {
            f.col.force_string();
        }
    }

    /// An array leaf (or an object kept whole) of `field`, as written, as
    /// [`JsonVisitor::leaf`] takes it.
    #[inline]
    pub(crate) fn array(&mut self, field: usize, raw: &[u8]) {
        let f = &mut self.fields[field];
        f.col.observe_type(Type::Array);
        if f.object {
            f.col.force_string();
        }
        observe_elements(f, raw, &mut self.element_text, self.at.0);
    }

    /// Merges the state of other rows of the same input (in any order: fields keep the order
    /// of their first appearance in the input).
    pub fn merge(&mut self, other: JsonState) {
        self.rows += other.rows;
        for f in other.fields {
            self.prev = NO_FIELD;
            self.at = f.first;
            let mine = self.field(&f.name);
            mine.first = mine.first.min(f.first);
            mine.object |= f.object;
            mine.col.merge(f.col);
            match (&mut mine.elements, f.elements) {
                (Some(a), Some(b)) => a.merge(*b),
                (a @ None, b) => *a = b,
                (Some(_), None) => {}
            }
            if mine.object && mine.col.values > 0 {
                mine.col.force_string();
            }
        }
    }

    /// The fields, in order of first appearance (paths seen only as objects are left out).
    pub fn finish(&self) -> Vec<crate::FieldSchema> {
        let mut order: Vec<&JsonField> = self
            .fields
            .iter()
            .filter(|f| !(f.object && f.col.values == 0))
            .collect();
        order.sort_by_key(|f| f.first);
        order
            .into_iter()
            .map(|f| {
                let mut schema = f
                    .col
                    .finish(String::from_utf8_lossy(&f.name).into_owned(), self.rows);
                if schema.ty == Type::Array {
                    let element = f.elements.as_ref().and_then(|e| e.finish_element());
                    if let Some(ElementField {
                        element: Element::Scalar(items),
                        ..
                    }) = &element
                    {
                        schema.items = Some(Box::new(items.clone()));
                    }
                    schema.element = element.map(Box::new);
                }
                schema
            })
            .collect()
    }

    /// The members seen holding objects, in first-seen order, each placed among the fields
    /// [`JsonState::finish`] lists.
    fn objects(&self) -> Vec<crate::schema::ObjectPath> {
        let listed = |f: &&JsonField| !(f.object && f.col.values == 0);
        let mut firsts: Vec<(u64, u32)> =
            self.fields.iter().filter(listed).map(|f| f.first).collect();
        firsts.sort_unstable();
        let mut objects: Vec<&JsonField> = self.fields.iter().filter(|f| f.object).collect();
        objects.sort_by_key(|f| f.first);
        objects
            .into_iter()
            .map(|f| crate::schema::ObjectPath {
                name: String::from_utf8_lossy(&f.name).into_owned(),
                before: firsts.partition_point(|&first| first < f.first),
            })
            .collect()
    }

    /// Field names in output order.
    pub fn names(&self) -> Vec<String> {
        self.finish().into_iter().map(|f| f.name).collect()
    }

    /// The schema of the rows observed.
    pub fn schema(
        &self,
        format: Format,
        sample: Option<u64>,
        complete: bool,
        bytes: u64,
    ) -> Schema {
        Schema {
            fields: self.finish(),
            rows: self.rows,
            format,
            sample,
            complete,
            null_tokens: Vec::new(),
            bytes,
            objects: self.objects(),
        }
    }
}

impl JsonVisitor for JsonState {
    #[inline]
    fn leaf(&mut self, path: &[u8], leaf: Leaf<'_>) {
        let i = self.field_index(path);
        let f = &mut self.fields[i];
        let col = &mut f.col;
        match leaf {
            Leaf::Null => return,
            Leaf::Bool(b) => {
                col.values += 1;
                col.observe_value(Value::Boolean(b), b"");
            }
            Leaf::Number(text) => {
                col.values += 1;
                col.observe_value(classify_number(text), text);
            }
            Leaf::String(s) => {
                col.values += 1;
                col.observe_value(json_string_value(s), s);
            }
            Leaf::Array(raw) => {
                col.observe_type(Type::Array);
                observe_elements(f, raw, &mut self.element_text, self.at.0);
            }
        }
        if f.object {
            f.col.force_string();
        }
    }

    fn object(&mut self, path: &[u8]) {
        let f = self.field(path);
        f.object = true;
        if f.col.values > 0 {
            f.col.force_string();
        }
    }
}

/// Types the elements of one array of `f` (not once the field is no longer an `array`).
#[inline]
fn observe_elements(f: &mut JsonField, raw: &[u8], text: &mut Vec<u8>, position: u64) {
    if f.col.ty == Type::Array {
        f.elements
            .get_or_insert_with(Default::default)
            .observe_array_at(raw, text, position);
    }
}

/// Whether `b` holds a backslash (an escape, in a string as written). Names and most values
/// are short: up to 32 bytes they are checked eight at a time in a word (a byte equals `\`
/// exactly when it is zero after an XOR with `\`, and the usual zero-byte test finds one),
/// which beats `memchr`'s setup; longer ones go to `memchr`.
#[inline]
pub(crate) fn has_backslash(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    if b.len() >= 32 {
        return memchr::memchr(b'\\', b).is_some();
    }
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        let v = u64::from_le_bytes(w.try_into().expect("8 bytes")) ^ (ONES * u64::from(b'\\'));
        if v.wrapping_sub(ONES) & !v & (ONES * 0x80) != 0 {
            return true;
        }
    }
    words.remainder().contains(&b'\\')
}

/// What a JSON string (decoded) counts as: a date or datetime by the CSV rules, a non-finite
/// float when spelled as `spate convert` writes one, else a string.
pub fn json_string_value(b: &[u8]) -> Value {
    match b {
        b"NaN" => return Value::Float(f64::NAN),
        b"Infinity" => return Value::Float(f64::INFINITY),
        b"-Infinity" => return Value::Float(f64::NEG_INFINITY),
        _ => {}
    }
    if b.len() >= 10 && b[4] == b'-' && b[0].is_ascii_digit() {
        let v = classify(b);
        if matches!(v, Value::Date(_) | Value::Datetime(_)) {
            return v;
        }
    }
    Value::String
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(lines: &[&str]) -> Vec<(String, Type, u64)> {
        let mut s = JsonState::default();
        for (i, l) in lines.iter().enumerate() {
            s.observe(l.as_bytes(), i as u64);
        }
        s.finish()
            .into_iter()
            .map(|f| (f.name, f.ty, f.nulls))
            .collect()
    }

    #[test]
    fn flattening_and_types() {
        let got = infer(&[
            r#"{"a": 1, "b": {"c": "2024-01-01", "d": [1, {"x": "]"}]}, "e": "12", "f": true}"#,
            r#"{"a": 2.5, "b": {"c": "2024-01-01T00:00:00Z"}, "e": "x", "g": null, "h\"q": 1e400}"#,
        ]);
        let want = [
            ("a", Type::Float, 0),
            ("b.c", Type::Datetime, 0),
            ("b.d", Type::Array, 1),
            ("e", Type::String, 0),
            ("f", Type::Boolean, 1),
            ("g", Type::Null, 2),
            ("h\"q", Type::Float, 1),
        ];
        let want: Vec<(String, Type, u64)> = want
            .iter()
            .map(|(n, t, k)| (n.to_string(), *t, *k))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn escaped_names_and_values_are_decoded() {
        let got =
            infer(&[r#"{"d\u0061y": "2024-01-0\u0031", "n\u00e9": {"x\/y": "\ud83d\ude00"}}"#]);
        assert_eq!(got[0], ("day".to_string(), Type::Date, 0));
        assert_eq!(got[1], ("né.x/y".to_string(), Type::String, 0));
    }

    #[test]
    fn big_integers_and_non_finite_strings() {
        let got = infer(&[
            r#"{"n": 123456789012345678901234567890, "f": "NaN"}"#,
            r#"{"n": -1, "f": 1.5}"#,
        ]);
        assert_eq!(got[0].1, Type::Integer);
        assert_eq!(got[1].1, Type::Float);
    }

    #[test]
    fn object_and_scalar_at_one_path_is_string() {
        assert_eq!(
            infer(&[r#"{"a": {"b": 1}}"#, r#"{"a": 5}"#])[0],
            ("a".to_string(), Type::String, 1)
        );
        assert_eq!(
            infer(&[r#"{"a": 5}"#, r#"{"a": {"b": 1}}"#])[0],
            ("a".to_string(), Type::String, 1)
        );
        assert_eq!(
            infer(&[r#"{"a": {"b": 1}}"#]),
            [("a.b".to_string(), Type::Integer, 0)]
        );
        assert_eq!(
            infer(&["7", "8"]),
            [("value".to_string(), Type::Integer, 0)]
        );
        assert_eq!(
            infer(&["[1, {}]", "\"x\""]),
            [("value".to_string(), Type::String, 0)]
        );
    }

    #[test]
    fn merge_in_any_order_equals_sequential() {
        let lines = [
            r#"{"a": 1}"#,
            r#"{"b": {"c": 1}}"#,
            r#"{"a": "2020-01-01", "b": 3}"#,
            r#"{"d": [1], "e": {"f": null}}"#,
            r#"{"e": {"f": 2}, "a": null}"#,
        ];
        let mut whole = JsonState::default();
        for (i, l) in lines.iter().enumerate() {
            whole.observe(l.as_bytes(), i as u64);
        }
        for split in 0..=lines.len() {
            let (mut a, mut b) = (JsonState::default(), JsonState::default());
            for (i, l) in lines.iter().enumerate() {
                let part = if i < split { &mut a } else { &mut b };
                part.observe(l.as_bytes(), i as u64);
            }
            let (mut ab, mut ba) = (a.clone(), b.clone());
            ab.merge(b);
            ba.merge(a);
            assert_eq!(ab.finish(), whole.finish(), "split {split}");
            assert_eq!(ba.finish(), whole.finish(), "split {split}, reversed");
        }
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
        let mut s = JsonState::default();
        s.observe(deep.as_bytes(), 0);
        let f = s.finish();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].name.split('.').count(), MAX_FLATTEN_DEPTH + 1);
        assert_eq!(f[0].ty, Type::Array);
    }

    #[test]
    fn has_backslash_agrees_with_a_plain_search() {
        for len in 0..70 {
            for at in 0..=len {
                let mut b: Vec<u8> = (0..len).map(|i| b"a\"\xff[\x5b\x5d\x9c"[i % 7]).collect();
                if at < len {
                    b[at] = b'\\';
                }
                assert_eq!(has_backslash(&b), b.contains(&b'\\'), "{len} {at}");
            }
        }
    }

    proptest::proptest! {
        /// The walker trusts its input to be valid, but never panics or loops on any bytes.
        #[test]
        fn walking_garbage_never_panics(bytes in proptest::collection::vec(proptest::sample::select(&b"{}[]\":,\\ 1-etrufnal"[..]), 0..200)) {
            let mut s = JsonState::default();
            s.observe(&bytes, 0);
            let _ = s.finish();
        }
    }
}
