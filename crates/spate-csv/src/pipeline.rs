//! The two table pipelines a front end calls: the schema of an input ([`infer`]) and the
//! conversion of an input into another format ([`convert`], re-exported as
//! [`crate::convert::run`]). Front ends parse their arguments into [`CsvOptions`] and
//! [`ReadOptions`], open the output, and render the result; all reading happens here.

use std::io::{self, Write};
use std::ops::ControlFlow;
use std::path::Path;

use spate::jsonl::{select_line, Lines, LinesOptions};
use spate::{BufferSelector, Items, ItemsOptions};

use crate::convert::{convert_csv, csv_columns, OutFormat, TableWriter};
use crate::dialect::{CsvOptions, Dialect};
use crate::error::{Error, ErrorKind};
use crate::infer_json::{infer_items, infer_jsonl_file, infer_jsonl_reader, JsonOptions};
use crate::input::{InputKind, ReadOptions, TableInput};
use crate::schema::{Format, GivenSchema, Schema};
use crate::types::Type;

/// A path inside the lines of JSON Lines selects items in each line; the schema inference
/// and the text conversion here take each line as a row, so they refuse it rather than
/// leave it out (the query runner applies it: `spate items`, and the conversion to Parquet
/// or Arrow in spate-columnar).
fn refuse_path_in_lines(input: &TableInput) -> Result<(), Error> {
    match (&input.json_path, input.kind) {
        (Some(path), InputKind::JsonLines) => Err(Error::new(ErrorKind::Usage(format!(
            "{}: the path {path:?} inside each line of JSON Lines is applied by queries and \
             by Parquet or Arrow output, not by schema inference or text conversion",
            input.name
        )))),
        _ => Ok(()),
    }
}

/// Infers the schema of an opened input, by its kind: CSV/TSV (a plain file in parallel),
/// JSON Lines (a file on spate's executor, a stream through spate's line reader), or the
/// items of a JSON document. `csv.sample` and `csv.threads` apply to every kind.
pub fn infer(input: &mut TableInput, csv: &CsvOptions) -> Result<Schema, Error> {
    let json = JsonOptions {
        sample: csv.sample,
        threads: csv.threads,
        ..JsonOptions::default()
    };
    let name = input.name.clone();
    refuse_path_in_lines(input)?;
    match input.kind {
        InputKind::Json => {
            let path = input.json_path.clone().unwrap_or_else(|| "$[*]".into());
            let items = json_items(input, &path)?;
            infer_items(items, &path, csv.sample)
        }
        InputKind::JsonLines => match input.file() {
            Some(file) => infer_jsonl_file(file, &name, &json),
            None => infer_jsonl_reader(input.reader()?, &name, &json),
        },
        kind @ (InputKind::Csv | InputKind::Tsv) => {
            let mut opts = csv.clone();
            if kind == InputKind::Tsv && opts.delimiter.is_none() {
                opts.delimiter = Some(b'\t');
            }
            match input.file() {
                Some(file) if input.is_plain_file() => {
                    crate::infer_csv_path(file, &opts).map_err(|e| renamed(e, file, &name))
                }
                _ => crate::infer_csv_reader(input.reader()?, Some(Path::new(&name)), &opts),
            }
        }
    }
}

/// Errors name the input as the user named it (not a spooled copy of standard input).
fn renamed(mut e: Error, file: &Path, name: &str) -> Error {
    if e.position.path.as_deref() == Some(file) {
        e.position.path = Some(name.into());
    }
    e
}

fn json_items(
    input: &mut TableInput,
    path: &str,
) -> Result<Items<Box<dyn io::Read + Send>>, Error> {
    let paths = vec![spate::inputs::parse_path(path).map_err(spate::Error::from)?];
    let name = input.name.clone();
    Ok(Items::with_options(
        input.reader()?,
        &name,
        paths,
        ItemsOptions::default(),
    )?)
}

/// Settings of a conversion.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// The output format.
    pub to: OutFormat,
    /// How to read the input.
    pub read: ReadOptions,
    /// CSV reading (dialect, null tokens, threads for the inference pass).
    pub csv: CsvOptions,
    /// Column types given instead of inferred.
    pub given: Option<GivenSchema>,
}

/// What a conversion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ConvertReport {
    /// Rows written.
    pub rows: u64,
    /// Bytes read (decompressed).
    pub bytes_in: u64,
    /// Bytes written.
    pub bytes_out: u64,
}

/// Converts the input at `input` (`-`: standard input, copied to a temporary file first, as
/// CSV to JSON and JSON to CSV read it twice: types, then rows) into `options.to`, writing to
/// the writer `open_output` returns (called once the input has been opened, so that a bad
/// input does not leave an empty output behind).
///
/// CSV to JSON keeps the inferred (or given) types; JSON to CSV flattens each value into the
/// columns inferred over the whole input (or given); JSON to JSON copies values compactly.
pub fn convert<W, F>(
    input: &Path,
    open_output: F,
    options: &ConvertOptions,
) -> Result<ConvertReport, Error>
where
    W: Write,
    F: FnOnce() -> io::Result<W>,
{
    let mut input = TableInput::open(input, &options.read, true)?;
    refuse_path_in_lines(&input)?;
    let out = open_output().map_err(|e| Error::new(ErrorKind::Output(e)))?;
    let to = options.to;
    let mut opts = options.csv.clone();
    opts.sample = None;
    opts.types_only = false;
    if input.kind == InputKind::Tsv && opts.delimiter.is_none() {
        opts.delimiter = Some(b'\t');
    }
    let to_json = matches!(to, OutFormat::JsonLines | OutFormat::JsonArray);
    let name = input.name.clone();
    let (rows, bytes_in, bytes_out) = match input.kind {
        InputKind::Csv | InputKind::Tsv => {
            let (dialect, columns) = match (&options.given, to_json) {
                (Some(g), _) => {
                    let (d, names) = csv_columns(input.reader()?, &opts, None)
                        .map_err(|e| e.in_file(Path::new(&name)))?;
                    let cols = names
                        .into_iter()
                        .map(|n| {
                            let t = g.type_of(&n);
                            (n, t)
                        })
                        .collect::<Vec<_>>();
                    (d, cols)
                }
                (None, true) => {
                    let schema = infer(&mut input, &opts)?;
                    let Format::Csv { delimiter, header } = schema.format else {
                        unreachable!("CSV input gives a CSV schema")
                    };
                    let cols = schema.fields.into_iter().map(|f| (f.name, f.ty)).collect();
                    (Dialect { delimiter, header }, cols)
                }
                (None, false) => {
                    let (d, names) = csv_columns(input.reader()?, &opts, None)
                        .map_err(|e| e.in_file(Path::new(&name)))?;
                    (d, names.into_iter().map(|n| (n, Type::String)).collect())
                }
            };
            let mut w = TableWriter::new(out, to, columns, opts.nulls.clone())?;
            let bytes_in = convert_csv(input.reader()?, dialect, &opts, &mut w)
                .map_err(|e| e.in_file(Path::new(&name)))?;
            let (rows, bytes_out) = w.finish()?;
            (rows, bytes_in, bytes_out)
        }
        kind @ (InputKind::JsonLines | InputKind::Json) => {
            let to_csv = !to_json;
            let columns: Vec<(String, Type)> = match (&options.given, to_csv) {
                (Some(g), _) => g.fields.clone(),
                (None, true) => infer(&mut input, &opts)?
                    .fields
                    .into_iter()
                    .map(|f| (f.name, f.ty))
                    .collect(),
                (None, false) => Vec::new(),
            };
            let mut w = TableWriter::new(out, to, columns, opts.nulls.clone())?;
            let bytes_in = if kind == InputKind::Json {
                let path = input.json_path.clone().unwrap_or_else(|| "$[*]".into());
                let mut items = json_items(&mut input, &path)?;
                while let Some(item) = items.next_item()? {
                    w.json_row(item.raw())?;
                }
                items.bytes_scanned()
            } else {
                jsonl_rows(input.reader()?, &name, &mut w)?
            };
            let (rows, bytes_out) = w.finish()?;
            (rows, bytes_in, bytes_out)
        }
    };
    Ok(ConvertReport {
        rows,
        bytes_in,
        bytes_out,
    })
}

/// Writes each line of JSON Lines (validated by spate's scanner) as a row; returns the bytes
/// read.
fn jsonl_rows<W: Write>(
    reader: Box<dyn io::Read + Send>,
    name: &str,
    w: &mut TableWriter<W>,
) -> Result<u64, Error> {
    let options = LinesOptions::default();
    let mut lines = Lines::new(reader, options);
    let mut selector = BufferSelector::new(Vec::new())?;
    while let Some(line) = lines.next_line().map_err(|source| spate::Error::Io {
        input: name.to_owned(),
        source,
    })? {
        if line.is_blank() {
            continue;
        }
        select_line(&mut selector, name, &line, options.max_line, |_| {
            ControlFlow::Continue(())
        })?;
        w.json_row(line.text)?;
    }
    Ok(lines.line_bytes())
}
