//! `spate schema`: the exact schema of CSV/TSV, JSON Lines, or the items of a JSON document.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use spate_csv::{describe, CsvOptions, InputKind, NullTokens, ReadOptions, Schema};

use super::common::stdout;
use crate::exit::{self, InvalidData};

/// Flags shared by `schema` and `convert` that say how to read the input.
#[derive(Debug, Clone, clap::Args)]
pub struct ReadArgs {
    /// Input format (default: by extension, then by content).
    #[arg(long, value_name = "FORMAT", value_parser = parse_kind)]
    pub from: Option<InputKind>,

    /// CSV field delimiter: one character, or `tab` (default: sniffed among , ; tab |).
    #[arg(short = 'd', long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,

    /// The first CSV record is data, not a header (default: detected).
    #[arg(long, conflicts_with = "header")]
    pub no_header: bool,

    /// The first CSV record is a header (default: detected).
    #[arg(long)]
    pub header: bool,

    /// Accept CSV records with a different number of fields (missing fields are null, extra
    /// fields become columns field_N).
    #[arg(long)]
    pub flexible: bool,

    /// A CSV value that means null (repeatable; replaces the defaults NULL, null, NA; the
    /// empty field is always null).
    #[arg(long = "null", value_name = "TOKEN")]
    pub nulls: Vec<String>,

    /// Worker threads for one big file (default: one per core).
    #[arg(short = 'j', long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
}

impl ReadArgs {
    pub fn csv_options(&self) -> CsvOptions {
        CsvOptions {
            delimiter: self.delimiter,
            header: if self.no_header {
                Some(false)
            } else if self.header {
                Some(true)
            } else {
                None
            },
            flexible: self.flexible,
            nulls: if self.nulls.is_empty() {
                NullTokens::default()
            } else {
                NullTokens::new(self.nulls.iter().map(|s| s.as_bytes().to_vec()).collect())
            },
            threads: self.threads,
            ..CsvOptions::default()
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Types: null (all empty), boolean, integer, float, date, datetime, string (and array for JSON). \
null joins anything, integer widens to float, date to datetime, any other mix is string. \
Integers with leading zeros (007, zip codes) are strings. See docs/schema.md for every rule.

Examples:
  spate schema data.csv
  spate schema --json data.csv > schema.json
  spate schema --sample 1000 big.csv.zst
  spate schema '$.sessions[*]' sessions.json
  spate schema events.jsonl")]
pub struct SchemaArgs {
    /// Files (`-` or none: standard input). A first argument that is not a file is a JSON path
    /// (the items at that path of a JSON document are the rows).
    #[arg(value_name = "[PATH] FILE")]
    args: Vec<String>,

    /// The path of the items in a JSON document (then every positional argument is a file).
    #[arg(short = 'p', long = "path", value_name = "PATH")]
    path: Option<String>,

    /// Print a Frictionless Table Schema with spate's statistics (one JSON object per file).
    #[arg(long)]
    json: bool,

    /// Read only the first N rows (the output says so).
    #[arg(long, value_name = "N")]
    sample: Option<u64>,

    /// Stop reading a CSV file once every column is a string (counts then cover the rows read).
    #[arg(long)]
    types_only: bool,

    #[command(flatten)]
    read: ReadArgs,
}

fn parse_kind(s: &str) -> Result<InputKind, String> {
    InputKind::from_name(s).ok_or_else(|| format!("{s:?}: unknown format (csv, tsv, jsonl, json)"))
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() && s != "\"" && s != "\n" && s != "\r" => {
            Ok(s.as_bytes()[0])
        }
        _ => Err(format!(
            "{s:?}: the delimiter is one ASCII character (or `tab`), not a quote or newline"
        )),
    }
}

/// Splits `[PATH] FILE...`: the first argument is a path when it is not an existing file and
/// more arguments follow.
pub(crate) fn split_args(
    args: Vec<String>,
    path: Option<String>,
) -> (Option<String>, Vec<PathBuf>) {
    let (path, files) = match path {
        Some(p) => (Some(p), args),
        None if args.len() >= 2 && args[0] != "-" && !Path::new(&args[0]).exists() => {
            let mut it = args.into_iter();
            (it.next(), it.collect())
        }
        None => (None, args),
    };
    let files = if files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        files.into_iter().map(PathBuf::from).collect()
    };
    (path, files)
}

/// Turns a library error into anyhow, marking invalid data for exit code 1 and adding the
/// flag that helps, where one does.
pub(crate) fn csv_error(e: spate_csv::Error) -> anyhow::Error {
    if let spate_csv::ErrorKind::Ragged {
        expected,
        found,
        record,
    } = &e.kind
    {
        let at = e.position.to_string();
        let at = if at.is_empty() { at } else { at + ": " };
        return anyhow::Error::new(InvalidData(format!(
            "{at}record has {found} fields, expected {expected} \
             (use --flexible to accept ragged rows): {record}"
        )));
    }
    if e.is_invalid_data() {
        anyhow::Error::new(InvalidData(e.to_string()))
    } else if let spate_csv::ErrorKind::Json(inner) = e.kind {
        // spate's message already ends with its cause: show it once, as `items` does.
        anyhow::anyhow!("{inner}")
    } else {
        anyhow::Error::new(e)
    }
}

pub fn run(args: SchemaArgs) -> anyhow::Result<ExitCode> {
    let (path, files) = split_args(args.args, args.path);
    let several = files.len() > 1;
    let mut out = stdout();
    let mut worst: u8 = 0;
    for (i, file) in files.iter().enumerate() {
        let read = ReadOptions {
            from: args.read.from,
            json_path: path.clone(),
        };
        let csv = CsvOptions {
            sample: args.sample,
            types_only: args.types_only,
            ..args.read.csv_options()
        };
        match describe::infer_file(file, &read, &csv).map_err(csv_error) {
            Ok(schema) => {
                let name = describe::input_name(file);
                if args.json {
                    let v = describe::schema_document(&schema, &name)?;
                    if several {
                        serde_json::to_writer(&mut out, &v)?;
                    } else {
                        serde_json::to_writer_pretty(&mut out, &v)?;
                    }
                    out.write_all(b"\n")?;
                } else {
                    if i > 0 {
                        out.write_all(b"\n")?;
                    }
                    write_table(&mut out, &name, &schema)?;
                }
                out.flush()?;
            }
            Err(e) if !several || exit::is_broken_pipe(&e) => return Err(e),
            Err(e) => {
                out.flush()?;
                eprintln!("spate: {e:#}");
                worst = worst.max(exit::code_for(&e));
            }
        }
    }
    Ok(ExitCode::from(worst))
}

/// The table for people: the library's summary line and fields table, with notes naming
/// the flags that cut the reading short.
fn write_table(out: &mut impl Write, name: &str, schema: &Schema) -> std::io::Result<()> {
    writeln!(out, "{}", describe::summary_line(name, schema))?;
    if let Some(n) = schema.sample {
        if !schema.complete {
            writeln!(out, "sampled: only the first {n} rows were read (--sample {n}); types may differ beyond them")?;
        }
    } else if !schema.complete {
        writeln!(out, "stopped early: every column is a string after {} rows (--types-only); counts cover those rows", schema.rows)?;
    }
    describe::write_fields_table(out, schema)
}
