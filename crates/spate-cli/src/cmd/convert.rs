//! `spate convert`: stream between CSV, TSV, JSON Lines and JSON (items), keeping types; and
//! into Parquet or Arrow IPC files (spate-columnar).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use spate_columnar::target::{convert_text, read_given_schema, Target};
use spate_columnar::{Compression, FileFormat, ParquetOptions, PartitionOptions, ScanOptions};
use spate_csv::convert::ConvertOptions;
use spate_csv::ReadOptions;

use super::schema::{csv_error, ReadArgs};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
CSV to JSON keeps the types: integers and floats become JSON numbers, booleans true/false, \
nulls null, dates and strings JSON strings. The types are inferred in a first pass over the \
input (standard input is spooled to a temporary file for it), or given with --schema (a \
Frictionless Table Schema, such as `spate schema --json` prints); then the input is read once \
and a value that does not fit is an error.

Parquet (.parquet) and Arrow IPC (.arrow) outputs take their column types from the same \
inference (see docs/columnar.md). Text outputs ending in .gz or .zst are compressed. The output \
is written to a temporary file renamed at the end: an error leaves nothing behind, and an \
output that is the input is refused.

Examples:
  spate convert data.csv data.parquet
  spate convert big.json out.parquet --path sessions.item.delegations.item \\
        --with session_id=sessions.item.session_id --stats
  spate convert data.csv data.arrow
  spate convert big.json items.jsonl.zst --path sessions.item
  spate convert data.csv - --to json
  spate convert data.tsv data.csv --stats")]
pub struct ConvertArgs {
    /// Input file (`-`: standard input).
    input: PathBuf,

    /// Output file (`-`: standard output, text formats only).
    output: PathBuf,

    /// Output format: csv, tsv, jsonl, json, parquet or arrow (default: by the output's
    /// extension, after a .gz or .zst).
    #[arg(long, value_name = "FORMAT", value_parser = parse_out)]
    to: Option<Target>,

    /// The path of the items when the input is a JSON document (default: the elements of a
    /// top-level array).
    #[arg(short = 'p', long = "path", value_name = "PATH")]
    path: Option<String>,

    /// Attach the value at PATH (a field of a value enclosing the items) to each item as the
    /// field NAME (Parquet/Arrow output; repeatable).
    #[arg(long = "with", value_name = "NAME=PATH")]
    with: Vec<String>,

    /// Use these field types instead of inferring them (Frictionless Table Schema JSON).
    #[arg(long, value_name = "FILE")]
    schema: Option<PathBuf>,

    /// Parquet page compression: zstd, snappy, gzip or none.
    #[arg(long, value_name = "CODEC", default_value = "zstd")]
    compression: Compression,

    /// Parquet: the codec's level, zstd 1 (fastest) to 22 (smallest), gzip 0 to 10
    /// (default: zstd 3, gzip 6).
    #[arg(long, value_name = "N", allow_negative_numbers = false)]
    compression_level: Option<i32>,

    /// Parquet/Arrow: JSON arrays whose elements are scalars of one type as list columns
    /// (list), or every array as its JSON text in a string column (json).
    #[arg(long, value_name = "HOW", default_value = "list")]
    arrays: spate_columnar::Arrays,

    /// Parquet/Arrow: nested objects as dotted columns (usage.input_tokens) instead of
    /// struct columns.
    #[arg(long)]
    flatten: bool,

    /// Most rows in one Parquet row group.
    #[arg(long, value_name = "ROWS", default_value_t = spate_columnar::write::DEFAULT_ROW_GROUP_ROWS)]
    row_group_size: usize,

    /// Write hive-style partitions COLUMN=VALUE/part-N.parquet under the output folder
    /// (repeatable: nested folders, in order).
    #[arg(long = "partition-by", value_name = "COLUMN")]
    partition_by: Vec<String>,

    /// Print rows, bytes in and out, throughput, size ratio, time and peak memory on standard
    /// error (with a progress bar on a terminal while it runs).
    #[arg(long)]
    stats: bool,

    #[command(flatten)]
    read: ReadArgs,
}

fn parse_out(s: &str) -> Result<Target, String> {
    Target::from_name(s).ok_or_else(|| {
        format!("{s:?}: unknown output format (csv, tsv, jsonl, json, parquet, arrow)")
    })
}

fn target(args: &ConvertArgs) -> anyhow::Result<Target> {
    if let Some(f) = args.to {
        return Ok(f);
    }
    if !args.partition_by.is_empty() {
        // The output is a folder: Parquet unless told otherwise.
        return Ok(Target::Columnar(FileFormat::Parquet));
    }
    Target::from_file_name(&args.output.to_string_lossy()).with_context(|| {
        format!(
            "cannot tell the output format from {:?}: give --to csv|tsv|jsonl|json|parquet|arrow",
            args.output.display().to_string()
        )
    })
}

fn with_fields(args: &ConvertArgs) -> anyhow::Result<Vec<(String, String)>> {
    args.with
        .iter()
        .map(|w| match w.split_once('=') {
            Some((n, p)) if !n.is_empty() => Ok((n.to_owned(), p.to_owned())),
            _ => anyhow::bail!("--with {w:?}: expected NAME=PATH"),
        })
        .collect()
}

pub fn run(args: ConvertArgs) -> anyhow::Result<ExitCode> {
    // batches are built on this thread and written on another: freed large buffers go back
    // to the system instead of staying in either thread's arena
    spate::memory::return_freed_memory_above(spate_columnar::write::CONVERT_MMAP_THRESHOLD);
    // Ctrl-C or SIGTERM: remove the temporary output, then end as an interrupted process
    // does (130). (The destination is only ever written by the final rename.)
    let _ = ctrlc::set_handler(|| {
        spate_columnar::output::remove_partial_outputs();
        std::process::exit(130);
    });
    let target = target(&args)?;
    let start = Instant::now();
    let given = args.schema.as_deref().map(read_given_schema).transpose()?;
    let read = ReadOptions {
        from: args.read.from,
        json_path: args.path.clone(),
    };
    let (rows, bytes_in, bytes_out) = match target {
        Target::Columnar(format) => {
            let progress = Arc::new(AtomicU64::new(0));
            let options = spate_columnar::ConvertOptions {
                scan: ScanOptions {
                    read,
                    csv: args.read.csv_options(),
                    with: with_fields(&args)?,
                    given,
                    arrays: args.arrays,
                    flatten: args.flatten,
                    progress: Some(progress.clone()),
                    ..ScanOptions::default()
                },
                format,
                parquet: ParquetOptions {
                    compression: args.compression,
                    compression_level: args.compression_level,
                    row_group_rows: args.row_group_size.max(1),
                    ..ParquetOptions::default()
                },
                partition: PartitionOptions {
                    columns: args.partition_by.clone(),
                    ..PartitionOptions::default()
                },
                ..spate_columnar::ConvertOptions::default()
            };
            let bar = (args.stats && std::io::stderr().is_terminal())
                .then(|| Progress::start(&args.input, progress));
            let result = spate_columnar::convert(&args.input, &args.output, &options);
            drop(bar);
            let report = result.map_err(columnar_error)?;
            (report.rows, report.bytes_in, report.bytes_out)
        }
        Target::Text(to) => {
            if !args.with.is_empty() || !args.partition_by.is_empty() {
                anyhow::bail!(
                    "--with and --partition-by go with Parquet and Arrow output (--to parquet, .arrow)"
                );
            }
            let options = ConvertOptions {
                to,
                read,
                csv: args.read.csv_options(),
                given,
            };
            let r = convert_text(&args.input, &args.output, &options).map_err(columnar_error)?;
            (r.rows, r.bytes_in, r.bytes_out)
        }
    };
    if args.stats {
        print_stats(rows, bytes_in, bytes_out, start.elapsed());
    }
    Ok(ExitCode::SUCCESS)
}

/// Invalid data is exit code 1; the rest (I/O, usage) 2.
fn columnar_error(e: spate_columnar::Error) -> anyhow::Error {
    match e {
        spate_columnar::Error::Input(inner) => csv_error(inner),
        e => anyhow::Error::new(e),
    }
}

fn print_stats(rows: u64, bytes_in: u64, bytes_out: u64, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    let mb = |b: u64| b as f64 / 1e6;
    let rss = spate::memory::resident().map_or_else(
        || "n/a".to_owned(),
        |(_, peak)| format!("{:.0} MB", peak as f64 / 1048576.0),
    );
    eprintln!(
        "spate: stats: rows {rows}, in {:.1} MB ({:.1} MB/s), out {:.1} MB, ratio out/in {:.3}, \
         {secs:.2} s, peak memory {rss}",
        mb(bytes_in),
        if secs > 0.0 { mb(bytes_in) / secs } else { 0.0 },
        mb(bytes_out),
        if bytes_in > 0 {
            bytes_out as f64 / bytes_in as f64
        } else {
            0.0
        },
    );
}

/// A progress bar of the writing pass, drawn from the bytes-read counter.
struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    fn start(input: &Path, counter: Arc<AtomicU64>) -> Progress {
        let total = std::fs::metadata(input).map(|m| m.len()).unwrap_or(0);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(total),
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:30} {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec} [{elapsed}]",
            ) {
                bar.set_style(style);
            }
            while !flag.load(Ordering::Relaxed) {
                bar.set_position(counter.load(Ordering::Relaxed));
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        Progress {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
