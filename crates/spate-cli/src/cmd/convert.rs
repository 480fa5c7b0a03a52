//! `spate convert`: stream between CSV, TSV, JSON Lines and JSON (items), keeping types.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use spate_csv::convert::{ConvertOptions, OutFormat};
use spate_csv::{GivenSchema, InputKind, ReadOptions};

use super::schema::{csv_error, ReadArgs};

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

pub fn run(args: ConvertArgs) -> anyhow::Result<ExitCode> {
    let to = out_format(&args)?;
    let start = Instant::now();
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
    let options = ConvertOptions {
        to,
        read: ReadOptions {
            from: args.read.from,
            json_path: args.path.clone(),
        },
        csv: args.read.csv_options(),
        given,
    };
    let output = &args.output;
    let open_output = || -> std::io::Result<Box<dyn Write>> {
        if output.as_os_str() == "-" {
            Ok(Box::new(std::io::stdout().lock()))
        } else {
            File::create(output)
                .map(|f| Box::new(f) as Box<dyn Write>)
                .map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!("cannot create {}: {e}", output.display()),
                    )
                })
        }
    };
    let report = spate_csv::convert::run(&args.input, open_output, &options).map_err(csv_error)?;
    if args.stats {
        let secs = start.elapsed().as_secs_f64();
        let mb = |b: u64| b as f64 / 1e6;
        let (rows, bytes_in, bytes_out) = (report.rows, report.bytes_in, report.bytes_out);
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
