//! Reading an input into record batches: the schema first (spate's exact inference over the
//! whole input, or a given schema), then the rows, cut into batches handed to a
//! [`BatchConsumer`]. Memory: spate's window, plus one batch being built.
//!
//! The rows of each kind of input:
//! - CSV/TSV: each record (spate-csv's reader; its dialect as inferred);
//! - JSON Lines: each line (validated by spate's scanner);
//! - a JSON document: each item at the path (spate's [`Items`]); with fields of enclosing
//!   values attached ([`ScanOptions::with`]), each result of spate's query runner, which
//!   attaches them as members of the item.

use std::io::Read;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow_array::RecordBatch;
use spate::jsonl::{select_line, Lines, LinesOptions};
use spate::parallel::{ItemVisitor, Observer, RunError, RunOptions, VisitError, WriteLines};
use spate::query::{Query, QueryRunner};
use spate::Inputs;
use spate::{BufferSelector, ItemRef, Items, ItemsOptions};
use spate_csv::convert::{convert_csv_rows, csv_columns, CsvRows};
use spate_csv::json::JsonState;
use spate_csv::split::FieldRange;
use spate_csv::{CsvOptions, Dialect, ErrorKind, GivenSchema, InputKind, ReadOptions, TableInput};

use crate::builder::{BatchBuilder, Fault, DEFAULT_BATCH_ROWS};
use crate::error::{Error, RowPosition};
use crate::schema::{Arrays, TableSchema};

/// Settings of a scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// The kind of input and the path of a document's items.
    pub read: ReadOptions,
    /// CSV dialect, null tokens, threads of the inference pass.
    pub csv: CsvOptions,
    /// Fields of values enclosing the items, attached to each as `name` (JSON documents).
    pub with: Vec<(String, String)>,
    /// A jq program run on each item (JSON inputs): its outputs are the rows.
    pub filter: Option<String>,
    /// Column names and types given instead of inferred: then the input is read once, and a
    /// value that does not fit is an error.
    pub given: Option<GivenSchema>,
    /// Rows per batch.
    pub batch_rows: usize,
    /// Item size and nesting limits.
    pub items: ItemsOptions,
    /// How JSON arrays are stored (with a given schema, lists only where it names the element
    /// type, `spate.items`).
    pub arrays: Arrays,
    /// Nested objects flattened into dotted columns (`usage.input_tokens`), as spate's
    /// inference and CSV output name them, instead of struct columns (the default; see
    /// [`crate::structs`]).
    pub flatten: bool,
    /// Bytes read so far (decompressed), for a progress display; reset at each pass.
    pub progress: Option<Arc<AtomicU64>>,
    /// An uncompressed JSON Lines file: only the lines that start in this byte range
    /// (`start..end`), so that workers can share one large file (each line belongs to the
    /// range it starts in; ranges that tile the file read every line once).
    pub range: Option<(u64, u64)>,
    /// The first pass over a plain JSON document with fields attached or a jq filter cuts
    /// it into pieces of about this size scanned on every core (spate's executor; 0: one
    /// piece). See `docs/parallel.md`.
    pub document_piece: u64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            read: ReadOptions::default(),
            csv: CsvOptions::default(),
            with: Vec::new(),
            filter: None,
            given: None,
            batch_rows: DEFAULT_BATCH_ROWS,
            items: ItemsOptions::default(),
            arrays: Arrays::default(),
            flatten: false,
            progress: None,
            range: None,
            document_piece: spate::parallel::DEFAULT_DOCUMENT_PIECE,
        }
    }
}

/// What a scan read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ScanReport {
    /// Rows read (and handed on in batches).
    pub rows: u64,
    /// Bytes read by the pass that wrote (decompressed).
    pub bytes_in: u64,
}

/// Receives the schema, then the batches.
pub trait BatchConsumer {
    /// The columns, once known (before any batch).
    fn schema(&mut self, table: &TableSchema) -> Result<(), Error>;
    /// One batch.
    fn batch(&mut self, batch: RecordBatch) -> Result<(), Error>;
}

/// Reads `input` (`-`: standard input) into batches handed to `consumer`. Without a given
/// schema the input is read twice (standard input is first copied to a temporary file).
pub fn scan(
    input: &Path,
    options: &ScanOptions,
    consumer: &mut dyn BatchConsumer,
) -> Result<ScanReport, Error> {
    let mut input = TableInput::open(input, &options.read, options.given.is_none())?;
    let mut opts = options.csv.clone();
    opts.sample = None;
    opts.types_only = false;
    if input.kind == InputKind::Tsv && opts.delimiter.is_none() {
        opts.delimiter = Some(b'\t');
    }
    if let Some(range) = options.range {
        return scan_range(&mut input, range, options, consumer);
    }
    // (JSON Lines with a path: the path applies inside each line, as for `spate items`)
    let lines_path = input.kind == InputKind::JsonLines && options.read.json_path.is_some();
    if !options.with.is_empty() || options.filter.is_some() || lines_path {
        if matches!(input.kind, InputKind::Csv | InputKind::Tsv) {
            return Err(Error::Usage(
                "fields of enclosing values and jq filters apply to JSON items, not to CSV rows"
                    .into(),
            ));
        }
        return scan_query(&mut input, options, consumer);
    }
    match input.kind {
        InputKind::Csv | InputKind::Tsv => scan_csv(&mut input, &opts, options, consumer),
        InputKind::JsonLines | InputKind::Json => {
            let table = match &options.given {
                Some(g) => TableSchema::from_given_arrays(g, options.arrays),
                None => TableSchema::from_inferred_arrays(
                    &spate_csv::infer(&mut input, &opts)?,
                    options.arrays,
                ),
            };
            let mut rows = Rows::new(table, options, input.name.clone(), consumer)?;
            let reader = counted(input.reader()?, options);
            let bytes_in = if input.kind == InputKind::Json {
                let path = input.json_path.clone().unwrap_or_else(|| "$[*]".into());
                let paths = vec![spate::inputs::parse_path(&path).map_err(spate::Error::from)?];
                let mut items = Items::with_options(reader, &input.name, paths, options.items)?;
                while let Some(item) = items.next_item()? {
                    rows.json(item.raw(), Some(item.offset()))?;
                }
                items.bytes_scanned()
            } else {
                jsonl(reader, &input.name, options, None, |text, offset| {
                    rows.json(text, Some(offset))
                })?
            };
            rows.finish(bytes_in)
        }
    }
}

/// Counts the bytes read into the progress counter (reset to 0 first).
fn counted(reader: Box<dyn Read + Send>, options: &ScanOptions) -> Box<dyn Read + Send> {
    match &options.progress {
        Some(p) => {
            p.store(0, Ordering::Relaxed);
            Box::new(Counted(reader, p.clone()))
        }
        None => reader,
    }
}

struct Counted(Box<dyn Read + Send>, Arc<AtomicU64>);

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        self.1.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The lines of JSON Lines starting in `range` of an uncompressed file, into batches: the
/// schema inferred over those lines (or given), then the rows.
fn scan_range(
    input: &mut TableInput,
    range: (u64, u64),
    options: &ScanOptions,
    consumer: &mut dyn BatchConsumer,
) -> Result<ScanReport, Error> {
    let (path, plain) = (input.file().map(Path::to_path_buf), input.is_plain_file());
    let (Some(path), true, InputKind::JsonLines) = (path, plain, input.kind) else {
        return Err(Error::Usage(format!(
            "{}: a byte range is read of an uncompressed JSON Lines file only",
            input.name
        )));
    };
    if !options.with.is_empty()
        || options.filter.is_some()
        || input.json_path.is_some()
        || range.0 > range.1
    {
        return Err(Error::Usage(
            "a byte range takes neither fields of enclosing values, a jq filter nor a path \
             inside the lines, and its start is not past its end"
                .into(),
        ));
    }
    let name = input.name.clone();
    let open = || -> Result<Box<dyn Read + Send>, Error> {
        let mut file = std::fs::File::open(&path).map_err(|source| spate::Error::Io {
            input: name.clone(),
            source,
        })?;
        // (from the byte before: a line that starts right at the range's start is ours)
        let from = range.0.saturating_sub(1);
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(from)).map_err(|source| {
            spate::Error::Io {
                input: name.clone(),
                source,
            }
        })?;
        Ok(counted(Box::new(file), options))
    };
    let table = match &options.given {
        Some(g) => TableSchema::from_given_arrays(g, options.arrays),
        None => {
            let mut state = JsonState::default();
            let bytes = jsonl(open()?, &name, options, Some(range), |line, offset| {
                state.observe(line, offset);
                Ok(())
            })?;
            let schema = state.schema(spate_csv::Format::JsonLines, None, true, bytes);
            TableSchema::from_inferred_arrays(&schema, options.arrays)
        }
    };
    let mut rows = Rows::new(table, options, name.clone(), consumer)?;
    let bytes_in = jsonl(open()?, &name, options, Some(range), |text, offset| {
        rows.json(text, Some(offset))
    })?;
    rows.finish(bytes_in)
}

/// Hands each line of JSON Lines (validated) to `f`; returns the bytes read. With a
/// `range`, only the lines starting in it (`reader` then starts one byte before the range's
/// start, or at 0).
fn jsonl<F>(
    reader: Box<dyn Read + Send>,
    name: &str,
    options: &ScanOptions,
    range: Option<(u64, u64)>,
    f: F,
) -> Result<u64, Error>
where
    F: FnMut(&[u8], u64) -> Result<(), Error>,
{
    let selector = line_selector(Vec::new(), 0, options)?;
    each_line(reader, name, options, range, selector, |_| Ok(()), f)
}

/// A selector of `paths` in one line of JSON Lines (`markers`: see
/// [`BufferSelector::with_markers`]), with the scan's nesting limit.
fn line_selector(
    paths: Vec<spate::Path>,
    markers: u64,
    options: &ScanOptions,
) -> Result<BufferSelector, Error> {
    let scan = spate_json::ScanOptions {
        max_depth: options.items.max_depth,
        ..spate_json::ScanOptions::default()
    };
    Ok(BufferSelector::with_markers(paths, markers, scan)?)
}

/// The one loop over the lines of JSON Lines: each line (not blank) is validated, the items
/// `selector` selects in it go to `item` (their offsets in the file), then the line to
/// `line`; returns the bytes read. `range`: as for [`jsonl`].
fn each_line<I, L>(
    reader: Box<dyn Read + Send>,
    name: &str,
    options: &ScanOptions,
    range: Option<(u64, u64)>,
    mut selector: BufferSelector,
    mut item: I,
    mut line: L,
) -> Result<u64, Error>
where
    I: FnMut(ItemRef<'_>) -> Result<(), Error>,
    L: FnMut(&[u8], u64) -> Result<(), Error>,
{
    let max_line = options.items.max_item_size;
    let mut lines = Lines::new(
        reader,
        LinesOptions {
            max_line,
            offset: range.map_or(0, |r| r.0.saturating_sub(1)),
            end: range.map(|r| r.1),
            skip_partial_line: range.is_some_and(|r| r.0 > 0),
            ..LinesOptions::default()
        },
    );
    while let Some(text) = lines.next_line().map_err(|source| spate::Error::Io {
        input: name.to_owned(),
        source,
    })? {
        if text.is_blank() {
            continue;
        }
        let mut failed = None;
        select_line(&mut selector, name, &text, max_line, |it| {
            match item(it.shifted(text.offset)) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    failed = Some(e);
                    ControlFlow::Break(())
                }
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        line(text.text, text.offset)?;
    }
    Ok(lines.line_bytes())
}

/// The rows of one scan: a builder, the consumer, and the position for errors.
struct Rows<'a> {
    builder: BatchBuilder,
    consumer: &'a mut dyn BatchConsumer,
    input: String,
    rows: u64,
}

impl<'a> Rows<'a> {
    fn new(
        table: TableSchema,
        options: &ScanOptions,
        input: String,
        consumer: &'a mut dyn BatchConsumer,
    ) -> Result<Self, Error> {
        let table = if options.flatten {
            table
        } else {
            table.into_structs()
        };
        consumer.schema(&table)?;
        Ok(Rows {
            builder: BatchBuilder::new(table, options.batch_rows),
            consumer,
            input,
            rows: 0,
        })
    }

    fn position(&self, byte: Option<u64>) -> RowPosition {
        RowPosition {
            input: self.input.clone(),
            row: self.rows,
            byte,
        }
    }

    fn json(&mut self, raw: &[u8], byte: Option<u64>) -> Result<(), Error> {
        self.rows += 1;
        if let Err(f) = self.builder.push_json(raw) {
            return Err(self.fault(f, byte));
        }
        self.cut_if_full()
    }

    fn fault(&self, f: Fault, byte: Option<u64>) -> Error {
        let at = self.position(byte);
        if f.unknown {
            Error::UnknownField {
                at,
                column: f.column,
            }
        } else {
            Error::Value {
                at,
                column: f.column,
                message: f.message,
            }
        }
    }

    fn cut_if_full(&mut self) -> Result<(), Error> {
        if self.builder.is_full() {
            if let Some(b) = self.builder.finish()? {
                self.consumer.batch(b)?;
            }
        }
        Ok(())
    }

    fn finish(mut self, bytes_in: u64) -> Result<ScanReport, Error> {
        if let Some(b) = self.builder.finish()? {
            self.consumer.batch(b)?;
        }
        Ok(ScanReport {
            rows: self.rows,
            bytes_in,
        })
    }
}

/// CSV records into the builder; a failure of the consumer is kept to be returned as is.
struct CsvFeed<'r, 'a> {
    rows: &'r mut Rows<'a>,
    nulls: spate_csv::NullTokens,
    failure: Option<Error>,
}

impl CsvRows for CsvFeed<'_, '_> {
    fn csv_record(
        &mut self,
        buf: &[u8],
        fields: &[FieldRange],
    ) -> Result<(), (Option<usize>, ErrorKind)> {
        self.rows.rows += 1;
        self.rows.builder.push_csv(buf, fields, &self.nulls)?;
        if let Err(e) = self.rows.cut_if_full() {
            self.failure = Some(e);
            return Err((None, ErrorKind::Usage("stopped".into())));
        }
        Ok(())
    }
}

fn scan_csv(
    input: &mut TableInput,
    opts: &CsvOptions,
    options: &ScanOptions,
    consumer: &mut dyn BatchConsumer,
) -> Result<ScanReport, Error> {
    let name = input.name.clone();
    let (dialect, table) = match &options.given {
        Some(g) => {
            let (d, names) = csv_columns(input.reader()?, opts, None)
                .map_err(|e| e.in_file(Path::new(&name)))?;
            let fields: Vec<_> = names
                .into_iter()
                .map(|n| {
                    let t = g.type_of(&n);
                    (n, t)
                })
                .collect();
            (d, TableSchema::from_types(&fields))
        }
        None => {
            let schema = spate_csv::infer(input, opts)?;
            let spate_csv::Format::Csv { delimiter, header } = schema.format else {
                unreachable!("CSV input gives a CSV schema")
            };
            (
                Dialect { delimiter, header },
                TableSchema::from_inferred_arrays(&schema, options.arrays),
            )
        }
    };
    let mut rows = Rows::new(table, options, name.clone(), consumer)?;
    let reader = counted(input.reader()?, options);
    let mut feed = CsvFeed {
        rows: &mut rows,
        nulls: opts.nulls.clone(),
        failure: None,
    };
    let result = convert_csv_rows(reader, dialect, opts, &mut feed);
    if let Some(e) = feed.failure.take() {
        return Err(e);
    }
    let bytes_in = result.map_err(|e| e.in_file(Path::new(&name)))?;
    rows.finish(bytes_in)
}

/// The items of a JSON document with fields of enclosing values attached, through spate's
/// query runner: a first pass infers the schema of the results, a second writes them.
fn scan_query(
    input: &mut TableInput,
    options: &ScanOptions,
    consumer: &mut dyn BatchConsumer,
) -> Result<ScanReport, Error> {
    let lines = input.kind == InputKind::JsonLines;
    let path = match lines {
        true => options.read.json_path.clone().unwrap_or_else(|| "$".into()),
        false => input.json_path.clone().unwrap_or_else(|| "$[*]".into()),
    };
    let mut query = Query::new(&path)?.max_held(options.items.max_item_size);
    for (name, p) in &options.with {
        query = query.with(name, p)?;
    }
    if let Some(f) = &options.filter {
        query = query.jq(f)?;
    }
    let name = input.name.clone();
    let table = match &options.given {
        Some(g) => TableSchema::from_given_arrays(g, options.arrays),
        None => {
            let (state, bytes) = observe_results(&query, input, options)?;
            let schema = state.schema(
                spate_csv::Format::JsonItems { path: path.clone() },
                None,
                true,
                bytes,
            );
            TableSchema::from_inferred_arrays(&schema, options.arrays)
        }
    };
    let mut rows = Rows::new(table, options, name.clone(), consumer)?;
    let reader = counted(input.reader()?, options);
    let bytes_in = query_results(&query, reader, &name, options, lines, |line, offset| {
        rows.json(line, Some(offset))
    })?;
    rows.finish(bytes_in)
}

/// The first pass of [`scan_query`]: each result observed by the schema inference; returns
/// the inference and the bytes read.
///
/// A plain file is read by spate's executor on every core (a big JSON document cut into
/// pieces, JSON Lines into byte ranges), each worker and piece inferring into a state of its
/// own, merged at the end: a field's place is that of its first result in the input, which
/// the states record by the offset of the item that released it (see [`Inferring`]), so the
/// schema is the one the sequential pass infers. That first pass alone was a sixth of a
/// conversion's time on one core. When the executor's run fails, the sequential pass runs
/// again: it stops at the same place and reports the error exactly as it always did (an
/// error ends the conversion, so this costs nothing on the way to a file).
fn observe_results(
    query: &Query,
    input: &mut TableInput,
    options: &ScanOptions,
) -> Result<(JsonState, u64), Error> {
    if let Some((file, format)) = parallel_file(input) {
        if let Some(inferred) = observe_on_every_core(query, file, format, options) {
            return Ok(inferred);
        }
    }
    let mut state = JsonState::default();
    let mut position = 0;
    let name = input.name.clone();
    let lines = input.kind == InputKind::JsonLines;
    let bytes = query_results(query, input.reader()?, &name, options, lines, |line, _| {
        state.observe(line, position);
        position += 1;
        Ok(())
    })?;
    Ok((state, bytes))
}

/// The executor's run of [`observe_results`]; `None` when it fails.
fn observe_on_every_core(
    query: &Query,
    file: std::path::PathBuf,
    format: spate::Format,
    options: &ScanOptions,
) -> Option<(JsonState, u64)> {
    let plan = Arc::new(query.plan().ok()?);
    let mut run = RunOptions {
        threads: options.csv.threads,
        items: options.items,
        document_piece: options.document_piece,
        markers: plan.markers,
        record_children: query.children_wanted(),
        ..RunOptions::default()
    };
    // (the executor frames JSON Lines itself)
    run.items.multiple_values &= format == spate::Format::Json;
    let inputs = Inputs::from_files(&[file], Some(format));
    let make = || Inferring {
        runner: QueryRunner::new(query.clone(), plan.clone()),
        state: JsonState::default(),
        results: Vec::new(),
    };
    let mut sink = WriteLines(std::io::sink());
    let (visitors, summary) =
        spate::parallel::run_into(&inputs, &plan.paths, &run, make, &mut sink, &mut Quiet).ok()?;
    let mut state = JsonState::default();
    for v in visitors {
        state.merge(v.state);
    }
    Some((state, summary.bytes))
}

/// The file and format of an input the executor can read as the sequential pass does: an
/// uncompressed file named as it is (not standard input spooled to a temporary file).
fn parallel_file(input: &TableInput) -> Option<(std::path::PathBuf, spate::Format)> {
    let format = match input.kind {
        InputKind::Json => spate::Format::Json,
        InputKind::JsonLines => spate::Format::Jsonl,
        InputKind::Csv | InputKind::Tsv => return None,
    };
    let file = input.file().filter(|_| input.is_plain_file())?;
    (file == Path::new(&input.name)).then(|| (file.to_path_buf(), format))
}

/// A worker's (or a piece's) share of the first pass: the query's results, observed as
/// they come, output nothing.
///
/// A result's place in the input is `offset × 2^20 + k`: the offset of the item whose
/// visit released it, and its rank among the results that visit released. Results come in
/// the order of those places (held items are released in order, by a later span, and
/// nothing overtakes them), so the merged states order fields as the sequential pass's row
/// numbers do. (Ties would need a file past 16 TB, or more than a million results
/// released by one item.)
struct Inferring {
    runner: QueryRunner,
    state: JsonState,
    results: Vec<u8>,
}

impl ItemVisitor for Inferring {
    fn visit(&mut self, item: ItemRef<'_>, _out: &mut Vec<u8>) -> Result<u64, VisitError> {
        const RANK_BITS: u32 = 20;
        let base = item.offset().saturating_mul(1 << RANK_BITS);
        self.results.clear();
        self.runner.span(item, &mut self.results)?;
        let results = &self.results;
        let ends = memchr::memchr_iter(b'\n', results).chain(std::iter::once(results.len()));
        let mut start = 0;
        for (k, end) in ends.enumerate() {
            if end > start {
                let rank = (k as u64).min((1 << RANK_BITS) - 1);
                self.state.observe(&results[start..end], base + rank);
            }
            start = end + 1;
        }
        Ok(0)
    }
}

/// The executor's reports, unheard: in its fail-fast mode the run's error is what counts,
/// and it is reported again by the sequential pass.
struct Quiet;

impl Observer for Quiet {
    fn error(&mut self, _: RunError) {}
}

/// Runs `query` over a document, or over each line of JSON Lines (`lines`), handing each
/// result (compact JSON) and the offset of the item that released it to `f`; returns the
/// bytes read.
fn query_results<F>(
    query: &Query,
    reader: Box<dyn Read + Send>,
    name: &str,
    options: &ScanOptions,
    lines: bool,
    mut f: F,
) -> Result<u64, Error>
where
    F: FnMut(&[u8], u64) -> Result<(), Error>,
{
    let plan = Arc::new(query.plan()?);
    let mut runner = QueryRunner::new(query.clone(), plan.clone());
    let mut out = Vec::new();
    let mut run = |item: ItemRef<'_>, out: &mut Vec<u8>| -> Result<(), Error> {
        let offset = item.offset();
        out.clear();
        runner
            .span(item, out)
            .map_err(|error| spate::Error::Filter {
                input: name.to_owned(),
                error,
            })?;
        // (memchr: a byte-at-a-time split cost a quarter of the reading thread)
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', out) {
            if end > start {
                f(&out[start..end], offset)?;
            }
            start = end + 1;
        }
        if start < out.len() {
            f(&out[start..], offset)?;
        }
        Ok(())
    };
    if lines {
        // Each line is a JSON text of its own, selected as the executor selects it (read
        // as one sequence of values, a line's context ran into the next: items were lost).
        let selector = line_selector(plan.paths.clone(), plan.markers, options)?;
        let item = |it: ItemRef<'_>| run(it, &mut out);
        return each_line(reader, name, options, None, selector, item, |_, _| Ok(()));
    }
    let mut items = Items::with_markers(
        reader,
        name,
        plan.paths.clone(),
        plan.markers,
        options.items,
    )?;
    while let Some(item) = items.next_item()? {
        run(item, &mut out)?;
    }
    Ok(items.bytes_scanned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The executor's first pass runs for a plain file (not for a compressed one) and, cut
    /// into pieces of a few KiB, infers the fields (types, counts, first-seen order) the
    /// sequential pass infers.
    #[test]
    fn the_first_pass_on_the_executor_infers_what_the_sequential_one_does() {
        let dir = tempfile::tempdir().unwrap();
        let mut sessions = Vec::new();
        for s in 0..400 {
            let mut d = serde_json::json!({"n": s, "text": "x".repeat(s % 70)});
            if s > 250 {
                d["late"] = serde_json::json!(s as f64 / 2.0);
            }
            sessions.push(serde_json::json!({"items": [d.clone(), d], "id": format!("s{s}")}));
        }
        let doc = serde_json::json!({ "sessions": sessions }).to_string();
        let file = dir.path().join("d.json");
        std::fs::write(&file, &doc).unwrap();
        let packed = dir.path().join("d.json.gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&packed).unwrap(),
            flate2::Compression::fast(),
        );
        std::io::Write::write_all(&mut enc, doc.as_bytes()).unwrap();
        enc.finish().unwrap();

        let path = "sessions.item.items.item";
        let read = ReadOptions {
            json_path: Some(path.into()),
            ..ReadOptions::default()
        };
        let open = |f: &Path| TableInput::open(f, &read, true).unwrap();
        assert!(parallel_file(&open(&file)).is_some());
        assert!(parallel_file(&open(&packed)).is_none());

        let query = Query::new(path)
            .unwrap()
            .with("id", "sessions.item.id")
            .unwrap();
        let options = ScanOptions {
            document_piece: 4 << 10,
            ..ScanOptions::default()
        };
        let format = spate::Format::Json;
        let (cut, cut_bytes) =
            observe_on_every_core(&query, file.clone(), format, &options).unwrap();
        let (one, one_bytes) = observe_results(&query, &mut open(&packed), &options).unwrap();
        assert_eq!(cut_bytes, one_bytes);
        let fields = |s: &JsonState| {
            s.schema(
                spate_csv::Format::JsonItems { path: path.into() },
                None,
                true,
                0,
            )
            .fields
        };
        let names: Vec<String> = fields(&cut).into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["n", "text", "id", "late"]);
        assert_eq!(fields(&cut), fields(&one));
    }
}
