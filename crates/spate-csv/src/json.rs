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

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::path::Path;

use crate::column::ColumnState;
use crate::error::{Error, ErrorKind, Position};
use crate::schema::{Format, Schema};
use crate::types::{classify, classify_number, Type, Value};

/// One leaf of a JSON value, as handed to a [`JsonVisitor`].
#[derive(Debug, Clone, PartialEq)]
pub enum Leaf<'a> {
    Null,
    Bool(bool),
    /// The number's text as written.
    Number(&'a [u8]),
    /// The decoded string.
    String(Cow<'a, str>),
    /// The array's JSON text.
    Array(&'a [u8]),
}

/// Receives the leaves of one JSON value, with their flattened paths.
pub trait JsonVisitor {
    fn leaf(&mut self, path: &str, leaf: Leaf<'_>);
    /// An object at `path` (not called for the top-level object).
    fn object(&mut self, _path: &str) {}
}

/// Name of the field of a top-level value that is not an object.
pub const TOP_LEVEL_FIELD: &str = "value";

fn json_error(e: serde_json::Error) -> Error {
    // serde_json says "... at line L column C"; the line goes into the position (the caller
    // makes it the file's line), the column stays in the message.
    let text = e.to_string();
    let what = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(w, _)| w);
    Error::at(
        ErrorKind::Json(format!("{what} (column {})", e.column())),
        Position {
            line: Some(e.line() as u64),
            ..Default::default()
        },
    )
}

/// Validates one JSON value (RFC 8259, via serde_json); the error's line is within `raw`.
pub fn check(raw: &[u8]) -> Result<(), Error> {
    serde_json::from_slice::<serde::de::IgnoredAny>(raw)
        .map(|_| ())
        .map_err(json_error)
}

/// Validates one JSON value (RFC 8259, via serde_json) and walks it. Leading and trailing
/// whitespace is allowed.
pub fn walk_checked<V: JsonVisitor>(
    raw: &[u8],
    visitor: &mut V,
    path: &mut String,
) -> Result<(), Error> {
    serde_json::from_slice::<serde::de::IgnoredAny>(raw).map_err(json_error)?;
    walk(raw, visitor, path);
    Ok(())
}

/// Walks one JSON value that is known to be valid (from a validating reader).
pub fn walk<V: JsonVisitor>(raw: &[u8], visitor: &mut V, path: &mut String) {
    path.clear();
    let mut pos = 0;
    skip_ws(raw, &mut pos);
    if raw.get(pos) == Some(&b'{') {
        walk_object(raw, &mut pos, visitor, path, 0);
    } else {
        path.push_str(TOP_LEVEL_FIELD);
        walk_value(raw, &mut pos, visitor, path, 0);
    }
}

#[inline]
fn skip_ws(b: &[u8], pos: &mut usize) {
    while *pos < b.len() && matches!(b[*pos], b' ' | b'\t' | b'\n' | b'\r') {
        *pos += 1;
    }
}

/// Returns the raw text between the quotes and moves past the closing quote.
fn raw_string<'a>(b: &'a [u8], pos: &mut usize) -> (&'a [u8], bool) {
    let start = *pos + 1;
    let mut i = start;
    let mut escaped = false;
    while i < b.len() {
        match b[i] {
            b'"' => break,
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
    let end = i.min(b.len());
    *pos = (end + 1).min(b.len());
    (&b[start..end], escaped)
}

fn decode_string(raw: &[u8], escaped: bool) -> Cow<'_, str> {
    if escaped {
        let mut quoted = Vec::with_capacity(raw.len() + 2);
        quoted.push(b'"');
        quoted.extend_from_slice(raw);
        quoted.push(b'"');
        Cow::Owned(serde_json::from_slice::<String>(&quoted).unwrap_or_default())
    } else {
        match std::str::from_utf8(raw) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(raw),
        }
    }
}

fn walk_object<V: JsonVisitor>(
    b: &[u8],
    pos: &mut usize,
    visitor: &mut V,
    path: &mut String,
    depth: usize,
) {
    *pos += 1; // {
    let base = path.len();
    loop {
        skip_ws(b, pos);
        match b.get(*pos) {
            Some(b'"') => {}
            Some(b',') => {
                *pos += 1;
                continue;
            }
            _ => {
                *pos += 1; // } (or the end of a value we trust to be valid)
                return;
            }
        }
        let (key, escaped) = raw_string(b, pos);
        if base > 0 {
            path.push('.');
        }
        path.push_str(&decode_string(key, escaped));
        skip_ws(b, pos);
        *pos += 1; // :
        skip_ws(b, pos);
        walk_value(b, pos, visitor, path, depth);
        path.truncate(base);
    }
}

/// Objects nested deeper than this are not flattened further (they are kept as one leaf, like
/// an array), which also bounds the recursion on any input.
pub const MAX_FLATTEN_DEPTH: usize = 64;

fn walk_value<V: JsonVisitor>(
    b: &[u8],
    pos: &mut usize,
    visitor: &mut V,
    path: &mut String,
    depth: usize,
) {
    let Some(&c) = b.get(*pos) else { return };
    match c {
        b'{' if depth < MAX_FLATTEN_DEPTH => {
            visitor.object(path);
            walk_object(b, pos, visitor, path, depth + 1);
        }
        b'[' | b'{' => {
            let start = *pos;
            skip_array(b, pos);
            visitor.leaf(path, Leaf::Array(&b[start..*pos]));
        }
        b'"' => {
            let (raw, escaped) = raw_string(b, pos);
            visitor.leaf(path, Leaf::String(decode_string(raw, escaped)));
        }
        b't' => {
            *pos += 4;
            visitor.leaf(path, Leaf::Bool(true));
        }
        b'f' => {
            *pos += 5;
            visitor.leaf(path, Leaf::Bool(false));
        }
        b'n' => {
            *pos += 4;
            visitor.leaf(path, Leaf::Null);
        }
        _ => {
            let start = *pos;
            while *pos < b.len()
                && matches!(b[*pos], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
            {
                *pos += 1;
            }
            visitor.leaf(path, Leaf::Number(&b[start..*pos]));
        }
    }
}

/// Moves past a (valid) array, honouring strings.
fn skip_array(b: &[u8], pos: &mut usize) {
    let mut depth = 0usize;
    while *pos < b.len() {
        match b[*pos] {
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    *pos += 1;
                    return;
                }
            }
            b'"' => {
                raw_string(b, pos);
                continue;
            }
            _ => {}
        }
        *pos += 1;
    }
}

#[derive(Debug, Clone, PartialEq)]
struct JsonField {
    name: Box<str>,
    col: ColumnState,
    /// Seen as an object somewhere.
    object: bool,
}

/// Mergeable inference state over JSON rows.
#[derive(Debug, Clone, Default)]
pub struct JsonState {
    fields: Vec<JsonField>,
    index: HashMap<Box<str>, usize>,
    /// Where the next field of a row is likely to be (rows usually repeat the key order).
    cursor: usize,
    pub rows: u64,
}

impl PartialEq for JsonState {
    fn eq(&self, other: &Self) -> bool {
        self.fields == other.fields && self.rows == other.rows
    }
}

impl JsonState {
    #[inline]
    fn field(&mut self, path: &str) -> &mut JsonField {
        let i = match self.fields.get(self.cursor) {
            Some(f) if &*f.name == path => self.cursor,
            _ => match self.index.get(path) {
                Some(&i) => i,
                None => {
                    let i = self.fields.len();
                    self.fields.push(JsonField {
                        name: path.into(),
                        col: ColumnState::default(),
                        object: false,
                    });
                    self.index.insert(path.into(), i);
                    i
                }
            },
        };
        self.cursor = i + 1;
        &mut self.fields[i]
    }

    /// Adds one row (a JSON value known to be valid).
    pub fn observe(&mut self, raw: &[u8], path: &mut String) {
        self.cursor = 0;
        walk(raw, self, path);
        self.rows += 1;
    }

    /// Adds one row after validating it.
    pub fn observe_checked(&mut self, raw: &[u8], path: &mut String) -> Result<(), Error> {
        serde_json::from_slice::<serde::de::IgnoredAny>(raw).map_err(json_error)?;
        self.observe(raw, path);
        Ok(())
    }

    /// Merges the state of the rows that follow.
    pub fn merge(&mut self, other: JsonState) {
        self.rows += other.rows;
        for f in other.fields {
            self.cursor = usize::MAX;
            let mine = self.field(&f.name);
            mine.object |= f.object;
            mine.col.merge(f.col);
            if mine.object && mine.col.values > 0 {
                mine.col.force_string();
            }
        }
    }

    /// The fields, in order of first appearance (paths seen only as objects are left out).
    pub fn finish(&self) -> Vec<crate::FieldSchema> {
        self.fields
            .iter()
            .filter(|f| !(f.object && f.col.values == 0))
            .map(|f| f.col.finish(f.name.to_string(), self.rows))
            .collect()
    }

    /// Field names in output order.
    pub fn names(&self) -> Vec<String> {
        self.finish().into_iter().map(|f| f.name).collect()
    }
}

impl JsonVisitor for JsonState {
    #[inline]
    fn leaf(&mut self, path: &str, leaf: Leaf<'_>) {
        let f = self.field(path);
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
                col.observe_value(json_string_value(&s), s.as_bytes());
            }
            Leaf::Array(_) => col.observe_type(Type::Array),
        }
        if f.object {
            f.col.force_string();
        }
    }

    fn object(&mut self, path: &str) {
        let f = self.field(path);
        f.object = true;
        if f.col.values > 0 {
            f.col.force_string();
        }
    }
}

/// What a JSON string counts as: a date or datetime by the CSV rules, a non-finite float when
/// spelled as `spate convert` writes one, else a string.
pub fn json_string_value(s: &str) -> Value {
    match s {
        "NaN" => return Value::Float(f64::NAN),
        "Infinity" => return Value::Float(f64::INFINITY),
        "-Infinity" => return Value::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let b = s.as_bytes();
    if b.len() >= 10 && b[4] == b'-' && b[0].is_ascii_digit() {
        let v = classify(b);
        if matches!(v, Value::Date(_) | Value::Datetime(_)) {
            return v;
        }
    }
    Value::String
}

/// Infers the schema of JSON Lines from a reader, sequentially. Blank lines are skipped.
pub fn infer_jsonl_reader<R: Read>(reader: R, sample: Option<u64>) -> Result<Schema, Error> {
    let mut reader = std::io::BufReader::with_capacity(crate::infer::BLOCK, reader);
    let mut state = JsonState::default();
    let mut line = Vec::new();
    let mut path = String::new();
    let mut lineno = 0u64;
    let mut bytes = 0u64;
    let mut complete = true;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        lineno += 1;
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        if sample.is_some_and(|s| state.rows >= s) {
            complete = false;
            break;
        }
        state.observe_checked(&line, &mut path).map_err(|mut e| {
            e.position.line = Some(lineno);
            e
        })?;
    }
    Ok(json_schema(
        &state,
        Format::JsonLines,
        sample,
        complete,
        bytes,
    ))
}

/// Builds the schema of a JSON state.
pub fn json_schema(
    state: &JsonState,
    format: Format,
    sample: Option<u64>,
    complete: bool,
    bytes: u64,
) -> Schema {
    Schema {
        fields: state.finish(),
        rows: state.rows,
        format,
        sample,
        complete,
        null_tokens: Vec::new(),
        bytes,
    }
}

/// Infers the schema of a JSON Lines file: in parallel over newline-aligned byte ranges when it
/// is large, else sequentially. On invalid JSON the file is read again sequentially to report
/// the exact line.
pub fn infer_jsonl_path(
    path: &Path,
    sample: Option<u64>,
    threads: usize,
    parallel_min: u64,
) -> Result<Schema, Error> {
    use rayon::prelude::*;
    let run = || -> Result<Schema, Error> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        let workers = if threads > 0 {
            threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        };
        if sample.is_some() || workers < 2 || len < parallel_min {
            return infer_jsonl_reader(file, sample);
        }
        let segments = (workers * 4) as u64;
        let seg_len = len.div_ceil(segments);
        let mut starts = vec![0u64];
        for k in 1..segments {
            let s = next_line_start(&file, k * seg_len, len)?;
            starts.push(s.max(*starts.last().unwrap_or(&0)));
        }
        starts.push(len);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .build()
            .map_err(|e| Error::from(std::io::Error::other(e.to_string())))?;
        let parts: Vec<Result<JsonState, Error>> = pool.install(|| {
            (0..starts.len() - 1)
                .into_par_iter()
                .map(|k| {
                    let reader = crate::parallel::RangeReader {
                        file: &file,
                        pos: starts[k],
                        end: starts[k + 1],
                    };
                    let mut reader = std::io::BufReader::with_capacity(crate::infer::BLOCK, reader);
                    let mut state = JsonState::default();
                    let mut line = Vec::new();
                    let mut p = String::new();
                    loop {
                        line.clear();
                        if reader.read_until(b'\n', &mut line)? == 0 {
                            return Ok(state);
                        }
                        if !line.iter().all(|b| b.is_ascii_whitespace()) {
                            state.observe_checked(&line, &mut p)?;
                        }
                    }
                })
                .collect()
        });
        let mut state = JsonState::default();
        for part in parts {
            match part {
                Ok(p) => state.merge(p),
                Err(e) if e.is_invalid_data() => {
                    return infer_jsonl_reader(std::fs::File::open(path)?, None);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(json_schema(&state, Format::JsonLines, None, true, len))
    };
    run().map_err(|e| e.in_file(path))
}

fn next_line_start(file: &std::fs::File, from: u64, len: u64) -> std::io::Result<u64> {
    let mut r = crate::parallel::RangeReader {
        file,
        pos: from,
        end: len,
    };
    let mut buf = vec![0u8; 64 << 10];
    let mut off = from;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(len);
        }
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return Ok(off + i as u64 + 1);
        }
        off += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(lines: &[&str]) -> Vec<(String, Type, u64)> {
        let mut s = JsonState::default();
        let mut p = String::new();
        for l in lines {
            s.observe_checked(l.as_bytes(), &mut p).unwrap();
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
    }

    #[test]
    fn invalid_json_is_an_error() {
        let mut s = JsonState::default();
        assert!(s.observe_checked(b"{\"a\": }", &mut String::new()).is_err());
        let e = infer_jsonl_reader(&b"{\"a\":1}\n\n{\"a\":\n"[..], None).unwrap_err();
        assert_eq!(e.position.line, Some(3));
    }

    #[test]
    fn merge_equals_sequential() {
        let lines = [
            r#"{"a": 1}"#,
            r#"{"b": {"c": 1}}"#,
            r#"{"a": "2020-01-01", "b": 3}"#,
            r#"{"d": [1]}"#,
        ];
        let mut whole = JsonState::default();
        let mut p = String::new();
        for l in &lines {
            whole.observe(l.as_bytes(), &mut p);
        }
        for split in 0..=lines.len() {
            let (mut a, mut b) = (JsonState::default(), JsonState::default());
            for l in &lines[..split] {
                a.observe(l.as_bytes(), &mut p);
            }
            for l in &lines[split..] {
                b.observe(l.as_bytes(), &mut p);
            }
            a.merge(b);
            assert_eq!(a.finish(), whole.finish(), "split {split}");
        }
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
        let mut s = JsonState::default();
        s.observe(deep.as_bytes(), &mut String::new());
        let f = s.finish();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].name.split('.').count(), MAX_FLATTEN_DEPTH + 1);
    }

    proptest::proptest! {
        /// The walker trusts its input to be valid, but never panics or loops on any bytes.
        #[test]
        fn walking_garbage_never_panics(bytes in proptest::collection::vec(proptest::sample::select(&b"{}[]\":,\\ 1-etrufnal"[..]), 0..200)) {
            let mut s = JsonState::default();
            s.observe(&bytes, &mut String::new());
            let _ = s.observe_checked(&bytes, &mut String::new());
            let _ = s.finish();
        }
    }

    #[test]
    fn parallel_json_lines_equal_sequential_and_report_the_right_line() {
        let mut text = String::new();
        for i in 0..2000 {
            match i % 5 {
                0 => text.push_str(&format!(
                    "{{\"a\": {i}, \"b\": {{\"c\": \"2024-01-0{}\"}}}}\n",
                    1 + i % 9
                )),
                1 => text.push_str(&format!("{{\"a\": {i}.5, \"d\": [1, 2]}}\n")),
                2 => text.push('\n'),
                3 => text.push_str(&format!("{{\"b\": {{\"c\": null}}, \"e\": \"x{i}\"}}\n")),
                _ => text.push_str(&format!("  {{\"a\": -{i}, \"e\": true}}  \n")),
            }
        }
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
        let seq = infer_jsonl_reader(text.as_bytes(), None).unwrap();
        for threads in [2, 3, 7] {
            let par = infer_jsonl_path(file.path(), None, threads, 0).unwrap();
            assert_eq!(par.fields, seq.fields, "{threads} threads");
            assert_eq!(par.rows, 1600);
        }
        let mut lines: Vec<&str> = text.lines().collect();
        lines[1320] = "{\"a\": tru}";
        let bad = lines.join("\n");
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, bad.as_bytes()).unwrap();
        let e = infer_jsonl_path(file.path(), None, 3, 0).unwrap_err();
        assert_eq!(e.position.line, Some(1321));
        assert!(
            e.to_string()
                .contains("line 1321: invalid JSON: expected ident (column 10)"),
            "{e}"
        );
    }
}
