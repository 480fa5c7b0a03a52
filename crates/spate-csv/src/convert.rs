//! Streaming conversion between CSV, TSV, JSON Lines and JSON arrays, keeping types.
//!
//! A [`TableWriter`] writes rows in one output format; rows come from CSV records (text typed
//! by the column types: inferred in a first pass, or given with `--schema`) or from JSON values
//! (flattened into the columns for CSV output, copied compactly for JSON output). Memory is
//! bounded by the largest record.
//!
//! CSV text becomes JSON as follows: a null token is `null`; an integer is a JSON number with
//! all its digits (`+` dropped); a float is a JSON number (`.5` → `0.5`, `5.` → `5.0`, an
//! integer in a float column gets `.0`), except `NaN` and the infinities, which JSON cannot
//! spell, written as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`; a boolean is
//! `true`/`false`; dates, datetimes and strings are JSON strings. A value that does not fit its
//! column's type (only possible with `--schema`) is an error naming the line and field.

use std::io::{self, Write};

use crate::dialect::{CsvOptions, Dialect};
use crate::error::{Error, ErrorKind, Position};
use crate::infer::{column_names, drive, read_prefix, strip_bom, SNIFF};
use crate::json::{Flattener, JsonVisitor, Leaf};
use spate_json::compact::compact_into;

pub use crate::pipeline::{convert as run, ConvertOptions, ConvertReport};
use crate::split::{unescape, FieldRange, RecordSink};
use crate::types::{classify, Type, Value};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    Csv,
    Tsv,
    /// One JSON value per line.
    JsonLines,
    /// One JSON array of the rows.
    JsonArray,
}

/// Counts the bytes written.
#[derive(Debug)]
pub struct Counting<W> {
    inner: W,
    pub bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

enum Sink<W: Write> {
    Csv(Box<csv::Writer<Counting<W>>>),
    Json(io::BufWriter<Counting<W>>),
}

/// Writes rows in one format.
pub struct TableWriter<W: Write> {
    sink: Sink<W>,
    format: OutFormat,
    names: Vec<String>,
    types: Vec<Type>,
    /// `"name":` for each column, escaped.
    keys: Vec<Vec<u8>>,
    index: std::collections::HashMap<Box<[u8]>, usize>,
    nulls: crate::NullTokens,
    rows: u64,
    /// Per-column cell text for JSON→CSV rows.
    cells: Vec<Vec<u8>>,
    present: Vec<bool>,
    scratch: Vec<u8>,
    flattener: Flattener,
}

impl<W: Write> std::fmt::Debug for TableWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableWriter")
            .field("format", &self.format)
            .field("names", &self.names)
            .finish()
    }
}

impl<W: Write> TableWriter<W> {
    /// A writer of `columns` (name and type) to `out`; writes the CSV header or the `[`.
    pub fn new(
        out: W,
        format: OutFormat,
        columns: Vec<(String, Type)>,
        nulls: crate::NullTokens,
    ) -> io::Result<Self> {
        let counting = Counting {
            inner: out,
            bytes: 0,
        };
        let sink = match format {
            OutFormat::Csv | OutFormat::Tsv => Sink::Csv(Box::new(
                csv::WriterBuilder::new()
                    .delimiter(if format == OutFormat::Tsv {
                        b'\t'
                    } else {
                        b','
                    })
                    .buffer_capacity(256 << 10)
                    .from_writer(counting),
            )),
            _ => Sink::Json(io::BufWriter::with_capacity(256 << 10, counting)),
        };
        let (names, types): (Vec<String>, Vec<Type>) = columns.into_iter().unzip();
        let keys = names
            .iter()
            .map(|n| {
                let mut k = Vec::new();
                write_json_string(&mut k, n.as_bytes());
                k.push(b':');
                k
            })
            .collect();
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_bytes().into(), i))
            .collect();
        let mut w = TableWriter {
            sink,
            format,
            cells: vec![Vec::new(); names.len()],
            present: vec![false; names.len()],
            names,
            types,
            keys,
            index,
            nulls,
            rows: 0,
            scratch: Vec::new(),
            flattener: Flattener::default(),
        };
        match &mut w.sink {
            Sink::Csv(c) => {
                if !w.names.is_empty() {
                    c.write_record(&w.names).map_err(csv_io)?;
                }
            }
            Sink::Json(j) => {
                if format == OutFormat::JsonArray {
                    j.write_all(b"[")?;
                }
            }
        }
        Ok(w)
    }

    /// Writes one CSV record (fields index into `buf`). On a value that does not fit its
    /// column's type, returns the 0-based field and the error.
    pub fn csv_record(
        &mut self,
        buf: &[u8],
        fields: &[FieldRange],
    ) -> Result<(), (Option<usize>, ErrorKind)> {
        if fields.len() > self.names.len() && !self.names.is_empty() {
            // More fields than columns: writing them would make a ragged output, and leaving
            // them out would drop data.
            return Err((
                None,
                ErrorKind::Ragged {
                    expected: self.names.len(),
                    found: fields.len(),
                    record: crate::split::excerpt(buf, fields),
                },
            ));
        }
        self.rows += 1;
        match &mut self.sink {
            Sink::Csv(c) => {
                for f in fields {
                    c.write_field(unescape(&buf[f.start..f.end], f.quoted))
                        .map_err(|e| (None, csv_io(e).into()))?;
                }
                // A short record (--flexible) is padded with empty fields (nulls), so that
                // every output record has the header's width.
                for _ in fields.len()..self.names.len() {
                    c.write_field(b"").map_err(|e| (None, csv_io(e).into()))?;
                }
                c.write_record(None::<&[u8]>)
                    .map_err(|e| (None, csv_io(e).into()))?;
            }
            Sink::Json(j) => {
                let out = &mut self.scratch;
                out.clear();
                if self.format == OutFormat::JsonArray && self.rows > 1 {
                    out.push(b',');
                }
                if self.format == OutFormat::JsonArray {
                    out.push(b'\n');
                }
                out.push(b'{');
                for (i, key) in self.keys.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(key);
                    match fields.get(i) {
                        Some(f) if !self.nulls.is_null(&buf[f.start..f.end]) => {
                            let text = unescape(&buf[f.start..f.end], f.quoted);
                            write_typed(out, &text, self.types[i]).map_err(|k| (Some(i), k))?;
                        }
                        _ => out.extend_from_slice(b"null"),
                    }
                }
                out.push(b'}');
                if self.format == OutFormat::JsonLines {
                    out.push(b'\n');
                }
                j.write_all(out).map_err(|e| (None, e.into()))?;
            }
        }
        Ok(())
    }

    /// Writes one JSON value (known to be valid): flattened into the columns for CSV output,
    /// copied without insignificant whitespace for JSON output.
    pub fn json_row(&mut self, raw: &[u8]) -> io::Result<()> {
        self.rows += 1;
        match &mut self.sink {
            Sink::Json(j) => {
                let out = &mut self.scratch;
                out.clear();
                if self.format == OutFormat::JsonArray {
                    if self.rows > 1 {
                        out.push(b',');
                    }
                    out.push(b'\n');
                }
                compact_into(raw, out);
                if self.format == OutFormat::JsonLines {
                    out.push(b'\n');
                }
                j.write_all(out)
            }
            Sink::Csv(_) => {
                for (c, p) in self.cells.iter_mut().zip(self.present.iter_mut()) {
                    c.clear();
                    *p = false;
                }
                let mut cells = CellFiller {
                    index: &self.index,
                    names: &self.names,
                    cursor: 0,
                    cells: &mut self.cells,
                    present: &mut self.present,
                };
                self.flattener.flatten(raw, &mut cells);
                let Sink::Csv(c) = &mut self.sink else {
                    unreachable!()
                };
                c.write_record(&self.cells).map_err(csv_io)
            }
        }
    }

    /// Flushes and returns the rows written and bytes out.
    pub fn finish(self) -> io::Result<(u64, u64)> {
        let bytes = match self.sink {
            Sink::Csv(c) => {
                let inner = c
                    .into_inner()
                    .map_err(|e| io::Error::other(e.to_string()))?;
                inner.bytes
            }
            Sink::Json(mut j) => {
                if self.format == OutFormat::JsonArray {
                    j.write_all(if self.rows > 0 { b"\n]\n" } else { b"]\n" })?;
                }
                j.flush()?;
                j.get_ref().bytes
            }
        };
        Ok((self.rows, bytes))
    }
}

fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

struct CellFiller<'a> {
    index: &'a std::collections::HashMap<Box<[u8]>, usize>,
    names: &'a [String],
    /// The column expected next (rows usually repeat the key order): one comparison instead of
    /// a hash lookup.
    cursor: usize,
    cells: &'a mut [Vec<u8>],
    present: &'a mut [bool],
}

impl JsonVisitor for CellFiller<'_> {
    fn leaf(&mut self, path: &[u8], leaf: Leaf<'_>) {
        let i = match self.names.get(self.cursor) {
            Some(n) if n.as_bytes() == path => self.cursor,
            _ => match self.index.get(path) {
                Some(&i) => i,
                None => return,
            },
        };
        self.cursor = i + 1;
        let cell = &mut self.cells[i];
        cell.clear();
        self.present[i] = true;
        match leaf {
            Leaf::Null => {}
            Leaf::Bool(b) => cell.extend_from_slice(if b { b"true" } else { b"false" }),
            Leaf::Number(t) => cell.extend_from_slice(t),
            Leaf::String(s) => cell.extend_from_slice(s),
            Leaf::Array(a) => compact_into(a, cell),
        }
    }
}

/// Writes `s` as a JSON string.
pub fn write_json_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.extend_from_slice(&s[start..i]);
                out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

/// Writes CSV text as the JSON value of a column of type `ty`.
fn write_typed(out: &mut Vec<u8>, text: &[u8], ty: Type) -> Result<(), ErrorKind> {
    let bad = |expected: &'static str| ErrorKind::BadValue {
        value: String::from_utf8_lossy(text).into_owned(),
        expected,
    };
    match ty {
        Type::Integer => match classify(text) {
            Value::Integer(_) | Value::BigInteger => {
                out.extend_from_slice(text.strip_prefix(b"+").unwrap_or(text))
            }
            _ => return Err(bad("integer")),
        },
        Type::Float => match classify(text) {
            Value::Float(f) if f.is_nan() => out.extend_from_slice(b"\"NaN\""),
            Value::Float(f) if f.is_infinite() => out.extend_from_slice(if f > 0.0 {
                b"\"Infinity\""
            } else {
                b"\"-Infinity\""
            }),
            Value::Float(_) => write_json_float(out, text),
            Value::Integer(_) | Value::BigInteger => {
                out.extend_from_slice(text.strip_prefix(b"+").unwrap_or(text));
                out.extend_from_slice(b".0");
            }
            _ => return Err(bad("float")),
        },
        Type::Boolean => match classify(text) {
            Value::Boolean(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
            _ => return Err(bad("boolean")),
        },
        Type::Date => match classify(text) {
            Value::Date(_) => write_json_string(out, text),
            _ => return Err(bad("date")),
        },
        Type::Datetime => match classify(text) {
            Value::Date(_) | Value::Datetime(_) => write_json_string(out, text),
            _ => return Err(bad("datetime")),
        },
        Type::Null | Type::String | Type::Array => write_json_string(out, text),
    }
    Ok(())
}

/// Writes a finite float's text as a JSON number: drops `+`, adds the `0` JSON requires
/// around a bare `.` (`.5`, `5.`, `5.e3`).
fn write_json_float(out: &mut Vec<u8>, text: &[u8]) {
    let t = text.strip_prefix(b"+").unwrap_or(text);
    let (sign, body) = match t.strip_prefix(b"-") {
        Some(rest) => (&b"-"[..], rest),
        None => (&b""[..], t),
    };
    out.extend_from_slice(sign);
    if body.first() == Some(&b'.') {
        out.push(b'0');
    }
    for (i, &b) in body.iter().enumerate() {
        out.push(b);
        if b == b'.' && !body.get(i + 1).is_some_and(u8::is_ascii_digit) {
            out.push(b'0');
        }
    }
}

/// Receives the data records of a CSV conversion: a [`TableWriter`], or another writer
/// (such as a columnar one) fed by [`convert_csv_rows`].
pub trait CsvRows {
    /// One data record (`fields` index into `buf`). On a value that does not fit its column,
    /// returns the 0-based field (when known) and the error.
    fn csv_record(
        &mut self,
        buf: &[u8],
        fields: &[FieldRange],
    ) -> Result<(), (Option<usize>, ErrorKind)>;
}

impl<W: Write> CsvRows for TableWriter<W> {
    fn csv_record(
        &mut self,
        buf: &[u8],
        fields: &[FieldRange],
    ) -> Result<(), (Option<usize>, ErrorKind)> {
        TableWriter::csv_record(self, buf, fields)
    }
}

/// Feeds CSV records into a [`CsvRows`].
struct CsvConvertSink<'a, S: CsvRows> {
    writer: &'a mut S,
    header_next: bool,
    expected: usize,
    flexible: bool,
    error: Option<(Option<usize>, ErrorKind)>,
}

impl<S: CsvRows> RecordSink for CsvConvertSink<'_, S> {
    fn record(&mut self, buf: &[u8], fields: &[FieldRange]) -> bool {
        if self.header_next {
            self.header_next = false;
            self.expected = fields.len();
            return true;
        }
        if self.expected == 0 {
            self.expected = fields.len();
        }
        if fields.len() != self.expected && !self.flexible {
            self.error = Some((
                None,
                ErrorKind::Ragged {
                    expected: self.expected,
                    found: fields.len(),
                    record: crate::split::excerpt(buf, fields),
                },
            ));
            return false;
        }
        match self.writer.csv_record(buf, fields) {
            Ok(()) => true,
            Err(e) => {
                self.error = Some(e);
                false
            }
        }
    }
}

/// Converts CSV from `reader` with a known `dialect` into `writer`. Returns the bytes read.
pub fn convert_csv<R: io::Read, W: Write>(
    reader: R,
    dialect: Dialect,
    opts: &CsvOptions,
    writer: &mut TableWriter<W>,
) -> Result<u64, Error> {
    convert_csv_rows(reader, dialect, opts, writer)
}

/// Reads CSV from `reader` with a known `dialect` and hands each data record to `rows`
/// (records of another width are an error unless `opts.flexible`). Errors name the line and
/// the field. Returns the bytes read.
pub fn convert_csv_rows<R: io::Read, S: CsvRows>(
    mut reader: R,
    dialect: Dialect,
    opts: &CsvOptions,
    writer: &mut S,
) -> Result<u64, Error> {
    let (mut prefix, _) = read_prefix(&mut reader, SNIFF)?;
    strip_bom(&mut prefix);
    let mut sink = CsvConvertSink {
        writer,
        header_next: dialect.header,
        expected: 0,
        flexible: opts.flexible,
        error: None,
    };
    let d = drive(reader, prefix, dialect.delimiter, &mut sink, true, false)?;
    if let Some((field, kind)) = sink.error {
        return Err(Error::at(
            kind,
            Position {
                line: d.stop_line,
                field: field.map(|f| f + 1),
                ..Default::default()
            },
        ));
    }
    Ok(d.bytes)
}

/// Reads the header (or the width of the first record) of CSV, for `--schema` runs that skip
/// inference: column names in order.
pub fn csv_columns<R: io::Read>(
    mut reader: R,
    opts: &CsvOptions,
    hint: Option<u8>,
) -> Result<(Dialect, Vec<String>), Error> {
    let (mut prefix, eof) = read_prefix(&mut reader, SNIFF)?;
    strip_bom(&mut prefix);
    let dialect = crate::dialect::sniff(&prefix, eof, opts, hint);
    struct First(Option<Vec<String>>);
    impl RecordSink for First {
        fn record(&mut self, buf: &[u8], fields: &[FieldRange]) -> bool {
            self.0 = Some(
                fields
                    .iter()
                    .map(|f| {
                        String::from_utf8_lossy(&unescape(&buf[f.start..f.end], f.quoted))
                            .into_owned()
                    })
                    .collect(),
            );
            false
        }
    }
    let mut first = First(None);
    drive(reader, prefix, dialect.delimiter, &mut first, true, false)?;
    let first = first.0.unwrap_or_default();
    let names = if dialect.header {
        column_names(Some(first), 0)
    } else {
        column_names(None, first.len())
    };
    Ok((dialect, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str, ty: Type) -> String {
        let mut out = Vec::new();
        write_typed(&mut out, text.as_bytes(), ty).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn typed_values_are_valid_json_of_the_same_type() {
        assert_eq!(typed("+5", Type::Integer), "5");
        assert_eq!(
            typed("123456789012345678901234567890", Type::Integer),
            "123456789012345678901234567890"
        );
        assert_eq!(typed(".5", Type::Float), "0.5");
        assert_eq!(typed("-.5", Type::Float), "-0.5");
        assert_eq!(typed("5.", Type::Float), "5.0");
        assert_eq!(typed("5.e3", Type::Float), "5.0e3");
        assert_eq!(typed("+1E5", Type::Float), "1E5");
        assert_eq!(typed("7", Type::Float), "7.0");
        assert_eq!(typed("-inf", Type::Float), "\"-Infinity\"");
        assert_eq!(typed("NaN", Type::Float), "\"NaN\"");
        assert_eq!(typed("TRUE", Type::Boolean), "true");
        assert_eq!(typed("2024-01-01", Type::Datetime), "\"2024-01-01\"");
        assert_eq!(
            typed("a\"b\\c\n\u{1}", Type::String),
            "\"a\\\"b\\\\c\\n\\u0001\""
        );
        for (t, ty) in [
            (".5", Type::Float),
            ("5.", Type::Float),
            ("5.e3", Type::Float),
            ("+5", Type::Integer),
        ] {
            let v: serde_json::Value = serde_json::from_str(&typed(t, ty)).unwrap();
            assert!(v.is_number(), "{t}");
        }
        let mut out = Vec::new();
        assert!(matches!(
            write_typed(&mut out, b"x", Type::Integer),
            Err(ErrorKind::BadValue { .. })
        ));
        assert!(write_typed(&mut out, b"2.5", Type::Integer).is_err());
        assert!(write_typed(&mut out, b"2023-02-29", Type::Date).is_err());
    }

    #[test]
    fn csv_to_jsonl_and_back() {
        let csv = "id,name,score\n1,\"a, \"\"b\"\"\",.5\n2,,NA\n";
        let cols = vec![
            ("id".into(), Type::Integer),
            ("name".into(), Type::String),
            ("score".into(), Type::Float),
        ];
        let mut out = Vec::new();
        let mut w = TableWriter::new(
            &mut out,
            OutFormat::JsonLines,
            cols.clone(),
            Default::default(),
        )
        .unwrap();
        let d = Dialect {
            delimiter: b',',
            header: true,
        };
        convert_csv(csv.as_bytes(), d, &CsvOptions::default(), &mut w).unwrap();
        assert_eq!(w.finish().unwrap().0, 2);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "{\"id\":1,\"name\":\"a, \\\"b\\\"\",\"score\":0.5}\n{\"id\":2,\"name\":null,\"score\":null}\n");
        let mut back = Vec::new();
        let mut w = TableWriter::new(&mut back, OutFormat::Csv, cols, Default::default()).unwrap();
        for line in text.lines() {
            w.json_row(line.as_bytes()).unwrap();
        }
        w.finish().unwrap();
        assert_eq!(
            String::from_utf8(back).unwrap(),
            "id,name,score\n1,\"a, \"\"b\"\"\",0.5\n2,,\n"
        );
    }

    #[test]
    fn bad_value_names_line_and_field() {
        let csv = "a,b\n1,2\n3,x\n";
        let cols = vec![("a".into(), Type::Integer), ("b".into(), Type::Integer)];
        let mut w =
            TableWriter::new(Vec::new(), OutFormat::JsonLines, cols, Default::default()).unwrap();
        let e = convert_csv(
            csv.as_bytes(),
            Dialect {
                delimiter: b',',
                header: true,
            },
            &CsvOptions::default(),
            &mut w,
        )
        .unwrap_err();
        assert_eq!((e.position.line, e.position.field), (Some(3), Some(2)));
        assert!(e.is_invalid_data());
    }
}
