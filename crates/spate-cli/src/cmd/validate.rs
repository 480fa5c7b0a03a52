//! `spate validate`: check JSON documents and JSON Lines files against RFC 8259, on every
//! core, reporting every bad line (up to `--max-errors`).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use spate::check::validate_inputs;
use spate::parallel::{InputReport, Observer, OnError, RunError};
use spate::{Format, ItemsOptions};

use super::common::stdout;
use super::inputs::{init_logging, into_anyhow, InputArgs, Reporter};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Each valid input gets one line on stdout; each error one message on stderr \
(FILE:LINE:COLUMN (byte N): what is wrong, with an excerpt). In JSON Lines every bad line is \
reported, up to --max-errors in all. Exit code: 0 all valid, 1 invalid data, 2 unreadable input.

Examples:
  spate validate big.json logs.jsonl.zst
  spate validate ~/.claude/projects --glob '**/*.jsonl' -q")]
pub struct ValidateArgs {
    /// Files or directories to check (`-` or none: standard input). `.gz` and `.zst` are
    /// decompressed.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Longest JSON Lines line accepted (K, M, G suffixes).
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = super::common::parse_size)]
    max_line_size: usize,

    /// Stop after this many errors (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 100)]
    max_errors: u64,

    /// Print nothing for valid files.
    #[arg(short, long)]
    quiet: bool,

    #[command(flatten)]
    inputs: InputArgs,
}

/// Prints each valid input on stdout and each error on stderr, in input order.
struct Verdicts<W: Write> {
    out: W,
    quiet: bool,
    reporter: Reporter,
    written: io::Result<()>,
}

impl<W: Write> Observer for Verdicts<W> {
    fn error(&mut self, error: RunError) {
        // Keep stdout and stderr in step for a reader of both.
        let _ = self.out.flush();
        self.reporter.error(error);
    }

    fn input_done(&mut self, report: &InputReport<'_>) {
        if self.quiet || report.failed || report.errors > 0 || self.written.is_err() {
            return;
        }
        self.written = match report.format {
            Some(Format::Jsonl) => writeln!(
                self.out,
                "{}: valid JSON Lines ({} lines, {} bytes)",
                report.name, report.lines, report.bytes
            ),
            _ => writeln!(
                self.out,
                "{}: valid JSON ({} bytes)",
                report.name, report.bytes
            ),
        };
    }
}

pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    init_logging(None);
    let mut verdicts = Verdicts {
        out: stdout(),
        quiet: args.quiet,
        reporter: Reporter::new("--max-line-size"),
        written: Ok(()),
    };
    let inputs = args.inputs.discover(&args.files, &mut verdicts.reporter)?;
    let (mut options, bar) = args.inputs.run_options();
    options.on_error = OnError::Skip;
    options.max_errors = (args.max_errors > 0).then_some(args.max_errors);
    options.items = ItemsOptions {
        max_depth: args.inputs.max_depth,
        max_item_size: args.max_line_size,
        ..ItemsOptions::default()
    };
    let result = validate_inputs(&inputs, &options, &mut verdicts);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let summary = result.map_err(|e| into_anyhow(e, &verdicts.reporter))?;
    std::mem::replace(&mut verdicts.written, Ok(()))?;
    verdicts.out.flush()?;
    if summary.stopped_early {
        eprintln!(
            "spate: stopped after {} errors (raise --max-errors to see more)",
            verdicts.reporter.data_errors
        );
    }
    args.inputs.print_stats(&summary);
    Ok(ExitCode::from(verdicts.reporter.worst))
}
