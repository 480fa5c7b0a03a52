//! CSV schema inference: the mergeable table state, the record sink that feeds it, and the
//! buffered driver that runs the splitter over any `Read`.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::column::ColumnState;
use crate::dialect::{sniff, CsvOptions, Dialect};
use crate::error::{Error, ErrorKind, Position};
use crate::schema::{Format, Schema};
use crate::split::{parse_records, unescape, FieldRange, RecordSink};

/// Bytes read per refill.
pub(crate) const BLOCK: usize = 1 << 20;
/// Bytes sniffed for the dialect.
pub(crate) const SNIFF: usize = 64 << 10;
/// A record larger than this is an error rather than an unbounded buffer.
pub const MAX_RECORD: usize = 256 << 20;

/// The inference state of a table: one state per column and the row count. Merging the states
/// of consecutive parts of a table gives the state of the whole.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableState {
    pub columns: Vec<ColumnState>,
    pub rows: u64,
}

impl TableState {
    /// Merges the state of another part (extra columns are added).
    pub fn merge(&mut self, other: TableState) {
        self.rows += other.rows;
        if self.columns.len() < other.columns.len() {
            self.columns
                .resize_with(other.columns.len(), ColumnState::default);
        }
        for (mine, theirs) in self.columns.iter_mut().zip(other.columns) {
            mine.merge(theirs);
        }
    }

    /// True when every column is a string: no further value can change the types.
    pub fn all_string(&self) -> bool {
        !self.columns.is_empty() && self.columns.iter().all(|c| c.ty == crate::Type::String)
    }
}

/// Feeds records into a [`TableState`].
#[derive(Debug)]
pub(crate) struct InferSink<'a> {
    pub state: TableState,
    opts: &'a CsvOptions,
    /// The next record is the header.
    pub header_next: bool,
    pub header: Option<Vec<String>>,
    /// Fields per record; 0 until the first record sets it.
    pub expected: usize,
    pub error: Option<ErrorKind>,
    /// Stopped because `--sample` rows were read or every column became a string.
    pub stopped_early: bool,
}

impl<'a> InferSink<'a> {
    pub fn new(opts: &'a CsvOptions, header_next: bool, expected: usize) -> Self {
        InferSink {
            state: TableState::default(),
            opts,
            header_next,
            header: None,
            expected,
            error: None,
            stopped_early: false,
        }
    }
}

impl RecordSink for InferSink<'_> {
    #[inline]
    fn record(&mut self, buf: &[u8], fields: &[FieldRange]) -> bool {
        if self.header_next {
            self.header_next = false;
            self.expected = fields.len();
            self.header = Some(
                fields
                    .iter()
                    .map(|f| {
                        String::from_utf8_lossy(&unescape(&buf[f.start..f.end], f.quoted))
                            .into_owned()
                    })
                    .collect(),
            );
            return true;
        }
        if self.expected == 0 {
            self.expected = fields.len();
        }
        if fields.len() != self.expected && !self.opts.flexible {
            self.error = Some(ErrorKind::Ragged {
                expected: self.expected,
                found: fields.len(),
                record: crate::split::excerpt(buf, fields),
            });
            return false;
        }
        let state = &mut self.state;
        if state.columns.len() < fields.len() {
            state
                .columns
                .resize_with(fields.len(), ColumnState::default);
        }
        for (col, f) in state.columns.iter_mut().zip(fields) {
            let v = &buf[f.start..f.end];
            if !self.opts.nulls.is_null(v) {
                col.observe(v);
            }
        }
        state.rows += 1;
        if let Some(n) = self.opts.sample {
            if state.rows >= n {
                self.stopped_early = true;
                return false;
            }
        }
        if self.opts.types_only && state.rows.is_multiple_of(1024) && state.all_string() {
            self.stopped_early = true;
            return false;
        }
        true
    }
}

/// How a drive over an input ended.
#[derive(Debug, Default)]
pub(crate) struct Drive {
    /// The sink stopped; `stop_line` is the line of the record it stopped at (when tracked).
    pub stopped: bool,
    pub stop_line: Option<u64>,
    pub stray_quote: bool,
    pub bare_cr: bool,
    /// The fast splitter found input it does not handle (see [`crate::fast`]).
    pub unclean: bool,
    /// Bytes read.
    pub bytes: u64,
}

/// Counts `\n` bytes (vectorizes well).
#[inline]
pub(crate) fn count_newlines(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}

/// Runs the splitter over `buf` (already-read bytes) followed by the rest of `reader`, in
/// bounded memory, validating UTF-8. With `track_lines`, error positions carry line numbers.
pub(crate) fn drive<R: Read, S: RecordSink>(
    mut reader: R,
    mut buf: Vec<u8>,
    delim: u8,
    sink: &mut S,
    track_lines: bool,
    fast: bool,
) -> Result<Drive, Error> {
    let mut filled = buf.len();
    if buf.len() < BLOCK {
        buf.resize(BLOCK, 0);
    }
    let mut fields = Vec::with_capacity(64);
    let mut out = Drive {
        bytes: filled as u64,
        ..Drive::default()
    };
    let mut lines_before: u64 = 0;
    let mut offset_before: u64 = 0;
    let mut eof = false;
    loop {
        // Fill the buffer (one read per round keeps the latency low for pipes).
        if !eof {
            if filled == buf.len() {
                if buf.len() >= MAX_RECORD {
                    return Err(Error::at(
                        ErrorKind::RecordTooLarge { limit: MAX_RECORD },
                        Position {
                            line: track_lines.then_some(lines_before + 1),
                            byte: Some(offset_before),
                            ..Default::default()
                        },
                    ));
                }
                buf.resize(buf.len() * 2, 0);
            }
            let n = loop {
                match reader.read(&mut buf[filled..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                }
            };
            eof = n == 0;
            filled += n;
            out.bytes += n as u64;
        }
        let data = &buf[..filled];
        let result = if fast {
            match crate::fast::parse_records_fast(data, eof, delim, &mut fields, sink) {
                crate::fast::Fast::Done(p) => Ok(p),
                crate::fast::Fast::Unclean => {
                    out.unclean = true;
                    return Ok(out);
                }
            }
        } else {
            parse_records(data, eof, delim, &mut fields, sink)
        };
        let parsed = match result {
            Ok(p) => p,
            Err(u) => {
                let line = lines_before + count_newlines(&data[..u.field_start]) + 1;
                return Err(Error::at(
                    ErrorKind::Unterminated,
                    Position {
                        line: track_lines.then_some(line),
                        byte: Some(offset_before + u.field_start as u64),
                        ..Default::default()
                    },
                ));
            }
        };
        out.stray_quote |= parsed.stray_quote;
        out.bare_cr |= parsed.bare_cr;
        let consumed = &data[..parsed.consumed];
        if simdutf8::basic::from_utf8(consumed).is_err() {
            let good = simdutf8::compat::from_utf8(consumed)
                .map_err(|e| e.valid_up_to())
                .err()
                .unwrap_or(0);
            let line = lines_before + count_newlines(&consumed[..good]) + 1;
            return Err(Error::at(
                ErrorKind::InvalidUtf8,
                Position {
                    line: track_lines.then_some(line),
                    byte: Some(offset_before + good as u64),
                    ..Default::default()
                },
            ));
        }
        if parsed.stopped {
            out.stopped = true;
            if track_lines {
                out.stop_line =
                    Some(lines_before + count_newlines(&data[..parsed.last_record_start]) + 1);
            }
            return Ok(out);
        }
        if eof {
            return Ok(out);
        }
        if fast && parsed.consumed == 0 && filled == buf.len() {
            // A record larger than the buffer, or a stray quote that hides every newline: the
            // fast path declines rather than grow the buffer.
            out.unclean = true;
            return Ok(out);
        }
        if track_lines {
            lines_before += count_newlines(consumed);
        }
        offset_before += parsed.consumed as u64;
        buf.copy_within(parsed.consumed..filled, 0);
        filled -= parsed.consumed;
    }
}

/// Reads up to `n` bytes from the start of `reader`.
pub(crate) fn read_prefix<R: Read>(reader: &mut R, n: usize) -> std::io::Result<(Vec<u8>, bool)> {
    let mut buf = Vec::with_capacity(n);
    let got = reader.by_ref().take(n as u64).read_to_end(&mut buf)?;
    Ok((buf, got < n))
}

/// Removes a UTF-8 byte-order mark; returns its length (0 or 3).
pub(crate) fn strip_bom(buf: &mut Vec<u8>) -> u64 {
    if buf.starts_with(b"\xEF\xBB\xBF") {
        buf.drain(..3);
        3
    } else {
        0
    }
}

/// Column names: the header's (empty ones become `field_N`, duplicates get `_2`, `_3`, ...),
/// then `field_N` for columns beyond the header.
pub(crate) fn column_names(header: Option<Vec<String>>, columns: usize) -> Vec<String> {
    let mut names: Vec<String> = header.unwrap_or_default();
    for (i, n) in names.iter_mut().enumerate() {
        if n.is_empty() {
            *n = format!("field_{}", i + 1);
        }
    }
    while names.len() < columns {
        names.push(format!("field_{}", names.len() + 1));
    }
    let mut seen = std::collections::HashSet::new();
    for name in &mut names {
        if !seen.insert(name.clone()) {
            let mut k = 2;
            while !seen.insert(format!("{name}_{k}")) {
                k += 1;
            }
            *name = format!("{name}_{k}");
        }
    }
    names
}

fn delimiter_hint(path: Option<&Path>) -> Option<u8> {
    let name = path?.file_name()?.to_str()?.to_ascii_lowercase();
    let name = name.trim_end_matches(".gz").trim_end_matches(".zst");
    (name.ends_with(".tsv") || name.ends_with(".tab")).then_some(b'\t')
}

/// Infers the schema of CSV read from any reader (a pipe, a decompressor), sequentially.
/// `path` is used for error messages and the delimiter hint (`.tsv`).
pub fn infer_csv_reader<R: Read>(
    mut reader: R,
    path: Option<&Path>,
    opts: &CsvOptions,
) -> Result<Schema, Error> {
    let run = || -> Result<Schema, Error> {
        let (mut prefix, eof) = read_prefix(&mut reader, SNIFF)?;
        let bom = strip_bom(&mut prefix);
        let dialect = sniff(&prefix, eof, opts, delimiter_hint(path));
        infer_sequential(reader, prefix, bom, dialect, opts)
    };
    run().map_err(|e| match path {
        Some(p) => e.in_file(p),
        None => e,
    })
}

fn infer_sequential<R: Read>(
    reader: R,
    prefix: Vec<u8>,
    bom: u64,
    dialect: Dialect,
    opts: &CsvOptions,
) -> Result<Schema, Error> {
    let mut sink = InferSink::new(opts, dialect.header, 0);
    let drive = drive(reader, prefix, dialect.delimiter, &mut sink, true, false)?;
    if let Some(kind) = sink.error.take() {
        return Err(Error::at(
            kind,
            Position {
                line: drive.stop_line,
                ..Default::default()
            },
        ));
    }
    Ok(finish(
        sink.header,
        sink.state,
        dialect,
        opts,
        sink.stopped_early,
        bom + drive.bytes,
    ))
}

pub(crate) fn finish(
    header: Option<Vec<String>>,
    state: TableState,
    dialect: Dialect,
    opts: &CsvOptions,
    stopped_early: bool,
    bytes: u64,
) -> Schema {
    let names = column_names(header, state.columns.len());
    let mut columns = state.columns;
    columns.resize_with(names.len(), ColumnState::default);
    let fields = names
        .into_iter()
        .zip(&columns)
        .map(|(n, c)| c.finish(n, state.rows))
        .collect();
    Schema {
        fields,
        rows: state.rows,
        format: Format::Csv {
            delimiter: dialect.delimiter,
            header: dialect.header,
        },
        sample: opts.sample,
        complete: !stopped_early,
        null_tokens: opts
            .nulls
            .tokens()
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .collect(),
        bytes,
        objects: Vec::new(),
    }
}

/// Infers the schema of a CSV file. When the whole file is wanted, the fast splitter reads it
/// (over byte ranges in parallel when it is large, see [`crate::parallel`]); input it does not
/// handle, `--sample` and `--types-only` use the general splitter sequentially.
pub fn infer_csv_path(path: &Path, opts: &CsvOptions) -> Result<Schema, Error> {
    if opts.sample.is_none() && !opts.types_only {
        if let Some(schema) = try_parallel(path, opts)? {
            return Ok(schema);
        }
    }
    infer_csv_general(path, opts)
}

/// Sequential inference with the general splitter: handles every input, reports errors with
/// line numbers.
pub(crate) fn infer_csv_general(path: &Path, opts: &CsvOptions) -> Result<Schema, Error> {
    let run = || -> Result<Schema, Error> {
        let mut file = File::open(path)?;
        let (mut prefix, eof) = read_prefix(&mut file, SNIFF)?;
        let bom = strip_bom(&mut prefix);
        let dialect = sniff(&prefix, eof, opts, delimiter_hint(Some(path)));
        infer_sequential(file, prefix, bom, dialect, opts)
    };
    run().map_err(|e| e.in_file(path))
}

/// The parallel reader alone: `Ok(None)` when the file is too small or not clean enough for it.
pub(crate) fn try_parallel(path: &Path, opts: &CsvOptions) -> Result<Option<Schema>, Error> {
    let run = || -> Result<Option<Schema>, Error> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        let (mut prefix, eof) = read_prefix(&mut file, SNIFF)?;
        let bom = if prefix.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        strip_bom(&mut prefix);
        let dialect = sniff(&prefix, eof, opts, delimiter_hint(Some(path)));
        crate::parallel::infer_parallel(&file, len, bom, &prefix, dialect, opts)
    };
    run().map_err(|e| e.in_file(path))
}
