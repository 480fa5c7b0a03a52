//! `spate convert`: stream between CSV, TSV, JSON Lines and JSON (items), keeping types.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use spate_csv::convert::{convert_csv, csv_columns, OutFormat, TableWriter};
use spate_csv::{GivenSchema, InputKind, Type};

use super::schema::{csv_error, infer, inspect, ReadArgs};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
CSV to JSON keeps the types: integers and floats become JSON numbers, booleans true/false, \
nulls null, dates and strings JSON strings. The types are inferred in a first pass over the \
input (standard input is spooled to a temporary file for it), or given with --schema (a \
Frictionless Table Schema, such as `spate schema --json` prints).

Examples:
  spate convert data.csv data.jsonl
  spate convert data.csv - --to json
  spate convert sessions.json sessions.csv --path '$.sessions[*]'
  spate convert data.tsv data.csv --stats")]
pub struct ConvertArgs {
    /// Input file (`-`: standard input).
    input: PathBuf,

    /// Output file (`-`: standard output).
    output: PathBuf,

    /// Output format: csv, tsv, jsonl or json (default: by the output's extension).
    #[arg(long, value_name = "FORMAT", value_parser = parse_out)]
    to: Option<OutFormat>,

    /// The path of the items when the input is a JSON document (default: the elements of a
    /// top-level array).
    #[arg(short = 'p', long = "path", value_name = "PATH")]
    path: Option<String>,

    /// Use these field types instead of inferring them (Frictionless Table Schema JSON).
    #[arg(long, value_name = "FILE")]
    schema: Option<PathBuf>,

    /// Print rows, bytes in and out, throughput and size ratio on standard error.
    #[arg(long)]
    stats: bool,

    #[command(flatten)]
    read: ReadArgs,
}

fn parse_out(s: &str) -> Result<OutFormat, String> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "csv" => OutFormat::Csv,
        "tsv" => OutFormat::Tsv,
        "jsonl" | "ndjson" => OutFormat::JsonLines,
        "json" => OutFormat::JsonArray,
        _ => {
            return Err(format!(
                "{s:?}: unknown output format (csv, tsv, jsonl, json)"
            ))
        }
    })
}

fn out_format(args: &ConvertArgs) -> anyhow::Result<OutFormat> {
    if let Some(f) = args.to {
        return Ok(f);
    }
    let name = args.output.to_string_lossy().to_ascii_lowercase();
    match InputKind::from_file_name(&name) {
        Some(InputKind::Csv) => Ok(OutFormat::Csv),
        Some(InputKind::Tsv) => Ok(OutFormat::Tsv),
        Some(InputKind::JsonLines) => Ok(OutFormat::JsonLines),
        Some(InputKind::Json) => Ok(OutFormat::JsonArray),
        None => anyhow::bail!(
            "cannot tell the output format from {:?}: give --to csv|tsv|jsonl|json",
            args.output.display().to_string()
        ),
    }
}

/// A temporary copy of standard input, removed on drop.
struct Spool(PathBuf);

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn spool_stdin() -> anyhow::Result<Spool> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let path =
        std::env::temp_dir().join(format!("spate-convert-{}-{nanos}.tmp", std::process::id()));
    let spool = Spool(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&spool.0)
        .with_context(|| format!("cannot create {}", spool.0.display()))?;
    std::io::copy(&mut std::io::stdin().lock(), &mut f).context("cannot spool standard input")?;
    Ok(spool)
}

pub fn run(args: ConvertArgs) -> anyhow::Result<ExitCode> {
    let to = out_format(&args)?;
    let start = Instant::now();
    let _spool;
    let input: PathBuf = if args.input.as_os_str() == "-" {
        let s = spool_stdin()?;
        let p = s.0.clone();
        _spool = s;
        p
    } else {
        args.input.clone()
    };
    let opened = inspect(&input, args.read.from, args.path.as_deref())?;
    let given = match &args.schema {
        Some(p) => {
            let text = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
            Some(
                GivenSchema::from_json(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
            )
        }
        None => None,
    };
    let out: Box<dyn Write> = if args.output.as_os_str() == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(
            File::create(&args.output)
                .with_context(|| format!("cannot create {}", args.output.display()))?,
        )
    };
    let mut opts = args.read.csv_options();
    if opened.kind == InputKind::Tsv && opts.delimiter.is_none() {
        opts.delimiter = Some(b'\t');
    }
    let (rows, bytes_in, bytes_out) = match opened.kind {
        InputKind::Csv | InputKind::Tsv => {
            let to_json = matches!(to, OutFormat::JsonLines | OutFormat::JsonArray);
            let (dialect, columns) = match (&given, to_json) {
                (Some(g), _) => {
                    let (d, names) = csv_columns(spate::source::open(&input)?.reader, &opts, None)
                        .map_err(csv_error)?;
                    (
                        d,
                        names
                            .into_iter()
                            .map(|n| {
                                let t = g.type_of(&n);
                                (n, t)
                            })
                            .collect::<Vec<_>>(),
                    )
                }
                (None, true) => {
                    let schema = infer(&input, &args.read, None, None, false)?;
                    let spate_csv::Format::Csv { delimiter, header } = schema.format else {
                        anyhow::bail!("internal: CSV input gave a non-CSV schema")
                    };
                    let cols = schema.fields.into_iter().map(|f| (f.name, f.ty)).collect();
                    (spate_csv::Dialect { delimiter, header }, cols)
                }
                (None, false) => {
                    let (d, names) = csv_columns(spate::source::open(&input)?.reader, &opts, None)
                        .map_err(csv_error)?;
                    (d, names.into_iter().map(|n| (n, Type::String)).collect())
                }
            };
            let mut w = TableWriter::new(out, to, columns, opts.nulls.clone())?;
            let reader = spate::source::open(&input)?.reader;
            let bytes_in = convert_csv(reader, dialect, &opts, &mut w)
                .map_err(|e| csv_error(e.in_file(&input)))?;
            let (rows, bytes_out) = w.finish()?;
            (rows, bytes_in, bytes_out)
        }
        kind @ (InputKind::JsonLines | InputKind::Json) => {
            let to_csv = matches!(to, OutFormat::Csv | OutFormat::Tsv);
            let columns: Vec<(String, Type)> = match (&given, to_csv) {
                (Some(g), _) => g.fields.clone(),
                (None, true) => {
                    let schema =
                        infer(&input, &args.read, opened.json_path.as_deref(), None, false)?;
                    schema.fields.into_iter().map(|f| (f.name, f.ty)).collect()
                }
                (None, false) => Vec::new(),
            };
            let mut w = TableWriter::new(out, to, columns, opts.nulls.clone())?;
            let bytes_in = if kind == InputKind::Json {
                let path = opened.json_path.clone().unwrap_or_else(|| "$[*]".into());
                let mut items = spate::Items::open(&input, &path)?;
                while let Some(item) = items.next_item()? {
                    w.json_row(item.raw())?;
                }
                items.bytes_scanned()
            } else {
                jsonl_rows(&input, &mut w)?
            };
            let (rows, bytes_out) = w.finish()?;
            (rows, bytes_in, bytes_out)
        }
    };
    if args.stats {
        let secs = start.elapsed().as_secs_f64();
        let mb = |b: u64| b as f64 / 1e6;
        eprintln!(
            "rows {rows}, in {:.1} MB, out {:.1} MB, {:.1} MB/s, size ratio out/in {:.2}, {:.2} s",
            mb(bytes_in),
            mb(bytes_out),
            if secs > 0.0 { mb(bytes_in) / secs } else { 0.0 },
            if bytes_in > 0 {
                bytes_out as f64 / bytes_in as f64
            } else {
                0.0
            },
            secs
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads JSON Lines, validating each line, into the writer. Returns the bytes read.
fn jsonl_rows<W: Write>(input: &Path, w: &mut TableWriter<W>) -> anyhow::Result<u64> {
    use std::io::BufRead;
    let src = spate::source::open(input)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, src.reader);
    let mut line = Vec::new();
    let mut lineno = 0u64;
    let mut bytes = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read {}", input.display()))?;
        if n == 0 {
            return Ok(bytes);
        }
        bytes += n as u64;
        lineno += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if let Err(mut err) = spate_csv::json::check(&line) {
            err.position.line = Some(lineno);
            return Err(csv_error(err.in_file(input)));
        }
        w.json_row(&line)?;
    }
}
