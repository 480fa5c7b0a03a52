//! `spate items`: the items at a path of JSON documents, optionally filtered with jq,
//! with fields of enclosing values attached, or aggregated by group.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use spate::output::RawLines;
use spate::parallel::Summary;
use spate::query::{
    print, select_paths, write_path_counts, PathsOutput, PrintError, Printed, Printing, QuerySpec,
    SpecPart,
};
use spate::{ItemsOptions, OnError};

use super::common::{parse_size, stdout};
use super::inputs::{init_logging, into_anyhow, InputArgs, Reporter};
use super::output::Format;
use crate::exit;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
PATH is an ijson prefix (sessions.item, item, \"\" or . for the whole document) or a JSONPath \
($.sessions[*], $['a.b'][0], $.a[*].b). In JSON Lines the path applies inside each line \
(message.usage; . or $ for the whole line).

FILE may be a directory (read recursively; --glob picks the files). Inputs are read in \
parallel (-j); results keep input order unless --unordered. Bad JSON Lines lines are \
reported as FILE:LINE:COLUMN; --on-error skip leaves them out (exit code 1).

With several -p paths, each output line is {\"path\": PATH, \"value\": ITEM}, in the order \
the items end in the input.

Aggregates (--count, --sum, --min, --max, --mean) apply to the results of -f when a filter is \
given, else to the items; --group-by splits them by key (one JSON object per group, sorted \
by key), without it all results are one group. --count alone prints just the number. Sums \
are exact (integers of any size, decimals in decimal).

Examples:
  spate items sessions.item big.json
  spate items '$.sessions[*]' big.json.zst --limit 10
  spate items sessions.item s.json -f 'select(.delegations | length > 20) | .session_id' -r
  spate items sessions.item.delegations.item s.json --with session_id=sessions.item.session_id
  spate items sessions.item.delegations.item s.json --group-by .agent_type --count \\
      --sum .input_tokens -o table
  spate items message.usage.output_tokens ~/.claude/projects --glob '**/*.jsonl' --sum .")]
pub struct ItemsArgs {
    /// The path, then the files (`-` or none: standard input). With -p, all are files.
    #[arg(value_name = "PATH [FILE]...")]
    args: Vec<String>,

    /// A path to select (repeatable; then every positional argument is a file).
    #[arg(short = 'p', long = "path", value_name = "PATH")]
    paths: Vec<String>,

    /// A jq program run on each item; its outputs are the results.
    #[arg(short = 'f', long = "filter", value_name = "JQ")]
    filter: Option<String>,

    /// Print string results without quotes (like jq -r).
    #[arg(short = 'r', long)]
    raw_output: bool,

    /// What to do with a bad JSON Lines line, an invalid document, or an item the filter
    /// fails on: stop, or report it, count it as skipped and go on (the run then exits
    /// with 1).
    #[arg(long, value_enum, default_value = "fail", value_name = "fail|skip")]
    on_error: OnErrorArg,

    /// Attach the value at PATH (a field of a value enclosing the items) as member NAME of
    /// each item (repeatable).
    #[arg(long = "with", value_name = "NAME=PATH")]
    with: Vec<String>,

    /// Group results by the value of a jq expression (repeatable: composite key).
    #[arg(long = "group-by", value_name = "JQ")]
    group_by: Vec<String>,

    /// Count results (per group); alone, print only the number of results.
    #[arg(long)]
    count: bool,

    /// Exact sum of a jq expression per group (repeatable).
    #[arg(long, value_name = "JQ")]
    sum: Vec<String>,

    /// Smallest value of a jq expression per group (repeatable).
    #[arg(long, value_name = "JQ")]
    min: Vec<String>,

    /// Largest value of a jq expression per group (repeatable).
    #[arg(long, value_name = "JQ")]
    max: Vec<String>,

    /// Mean of a jq expression per group (repeatable).
    #[arg(long, value_name = "JQ")]
    mean: Vec<String>,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "jsonl")]
    output: Format,

    /// Stop reading as soon as N results are out.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,

    /// Largest item accepted (K, M, G suffixes); larger is an error, not an out-of-memory
    /// kill. Also bounds the items held while waiting for a --with field.
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    max_item_size: usize,

    /// Most groups an aggregation (--group-by) holds; one more is an error, not an
    /// out-of-memory kill.
    #[arg(long, value_name = "N", default_value_t = spate::query::aggregate::DEFAULT_MAX_GROUPS)]
    max_groups: usize,

    #[command(flatten)]
    inputs: InputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OnErrorArg {
    Fail,
    Skip,
}

impl ItemsArgs {
    /// The query the flags describe, for items at `path`.
    fn spec(&self, path: &str) -> anyhow::Result<QuerySpec> {
        let with = self
            .with
            .iter()
            .map(|w| match w.split_once('=') {
                Some((name, p)) => Ok((name.to_owned(), p.to_owned())),
                None => anyhow::bail!("--with {w:?}: expected NAME=PATH"),
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(QuerySpec {
            path: path.to_owned(),
            with,
            filter: self.filter.clone(),
            group_by: self.group_by.clone(),
            count: self.count,
            sum: self.sum.clone(),
            min: self.min.clone(),
            max: self.max.clone(),
            mean: self.mean.clone(),
            raw_output: self.raw_output,
            on_error: match self.on_error {
                OnErrorArg::Fail => OnError::Fail,
                OnErrorArg::Skip => OnError::Skip,
            },
            max_held: Some(self.max_item_size),
            max_groups: Some(self.max_groups),
        })
    }
}

pub fn run(args: ItemsArgs) -> anyhow::Result<ExitCode> {
    init_logging(None);
    let (path_texts, files) = if args.paths.is_empty() {
        let mut positional = args.args.clone().into_iter();
        let Some(path) = positional.next() else {
            anyhow::bail!("a PATH is required (for example: spate items sessions.item FILE)");
        };
        (vec![path], positional.collect::<Vec<_>>())
    } else {
        (args.paths.clone(), args.args.clone())
    };
    let files: Vec<PathBuf> = if files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        files.into_iter().map(PathBuf::from).collect()
    };
    let spec = args.spec(&path_texts[0]);
    let several = path_texts.len() > 1;
    // (a --with that does not parse is not empty)
    if several
        && (args.filter.is_some()
            || !args.with.is_empty()
            || spec.as_ref().is_ok_and(QuerySpec::aggregating))
    {
        anyhow::bail!(
            "several -p paths select items only; -f, --with and aggregates take one PATH"
        );
    }
    let spec = spec?;
    let query = if several {
        None
    } else {
        Some(spec.build().map_err(|e| match e.part {
            SpecPart::With => anyhow::Error::new(e.error).context("--with"),
            _ => anyhow::Error::new(e.error),
        })?)
    };
    if args.raw_output && args.output != Format::Jsonl {
        anyhow::bail!("-r/--raw-output prints lines; it goes with -o jsonl only");
    }
    let mut reporter = Reporter::new("--max-item-size");
    let inputs = args.inputs.discover(&files, &mut reporter)?;
    let (mut options, bar) = args.inputs.run_options();
    options.items = ItemsOptions {
        max_item_size: args.max_item_size,
        max_depth: args.inputs.max_depth,
        ..ItemsOptions::default()
    };
    options.limit = args.limit;
    options.on_error = spec.on_error;
    let mut out = stdout();
    let Some(query) = query else {
        let paths = path_texts
            .iter()
            .map(|p| spate::inputs::parse_path(p))
            .collect::<Result<Vec<_>, _>>()?;
        let output = if args.count {
            PathsOutput::Counts
        } else {
            PathsOutput::Labelled
        };
        // Several paths always print JSON Lines.
        let mut sink = RawLines(&mut out);
        let result = select_paths(&paths, &inputs, &options, output, &mut sink, &mut reporter);
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let outcome = result.map_err(|e| into_anyhow(e, &reporter))?;
        write_path_counts(
            &mut out,
            &paths,
            outcome.counts.as_deref().unwrap_or_default(),
        )?;
        out.flush().context("writing to standard output")?;
        let summary = &outcome.summary;
        if !summary.stopped_early {
            for (path, matched) in paths.iter().zip(&summary.path_matched) {
                if !matched {
                    eprintln!("spate: warning: path {:?} matched nothing", path.as_str());
                }
            }
        }
        args.inputs.print_stats(summary);
        return finish(&reporter, summary, 0);
    };
    let printing = if args.raw_output {
        Printing::Raw
    } else {
        Printing::Format(args.output.into())
    };
    let result = print(&query, &inputs, &options, printing, &mut out, &mut reporter);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let Printed { outcome, written } = match result {
        Ok(printed) => printed,
        Err(PrintError::Halted { code }) => {
            // The filter halted (jq's `halt`, `halt_error`): what came before it is printed,
            // and the exit code is the one it asked for, as with jq.
            out.flush().context("writing to standard output")?;
            return Ok(ExitCode::from(code as u8));
        }
        Err(PrintError::Run(e)) => return Err(into_anyhow(e, &reporter)),
        Err(PrintError::Write(e)) => {
            return Err(anyhow::Error::new(e).context("writing to standard output"))
        }
        Err(e) => return Err(e.into()),
    };
    out.flush().context("writing to standard output")?;
    if written.dropped_cells > 0 && args.output == Format::Table {
        eprintln!(
            "spate: warning: {} values were left out of the table because their member \
             names are not among its columns (taken from the first {} results); use -o jsonl \
             to see them",
            written.dropped_cells,
            spate::output::SAMPLE_ROWS
        );
    } else if written.dropped_cells > 0 {
        eprintln!(
            "spate: warning: {} values were left out of the CSV because their member \
             names are not in the header (taken from the first result); use -o jsonl or \
             -o table to see them",
            written.dropped_cells
        );
    }
    if let Some(report) = &outcome.report {
        warn_ignored(&report.columns, report);
    }
    let summary = &outcome.summary;
    if !summary.stopped_early && !summary.path_matched.first().copied().unwrap_or(true) {
        eprintln!(
            "spate: warning: path {:?} matched nothing",
            query.path().as_str()
        );
    }
    args.inputs.print_stats(summary);
    finish(&reporter, summary, outcome.skipped_items)
}

/// The exit code after a run that did not fail outright: 2 when an input could not be
/// read, 1 when bad lines or items were skipped, else 0; says what was skipped.
fn finish(reporter: &Reporter, summary: &Summary, skipped_items: u64) -> anyhow::Result<ExitCode> {
    if summary.skipped > 0 {
        eprintln!(
            "spate: {} bad lines or documents skipped (--on-error skip)",
            summary.skipped
        );
    }
    if skipped_items > 0 {
        eprintln!(
            "spate: {skipped_items} items skipped because the filter failed on them (--on-error skip)"
        );
    }
    let mut code = reporter.worst;
    if summary.skipped > 0 || skipped_items > 0 {
        code = code.max(exit::INVALID_DATA);
    }
    Ok(ExitCode::from(code))
}

/// Notes the values an aggregate did not count in (nulls, non-numbers).
fn warn_ignored(names: &[String], report: &spate::query::Report) {
    let ignored = report.aggregates.ignored();
    let offset = names.len() - ignored.len();
    for (i, ignored) in ignored.iter().enumerate() {
        if ignored.nulls > 0 || ignored.not_numbers > 0 {
            eprintln!(
                "spate: note: {}: {} null or missing and {} non-numeric values were not counted in",
                names[offset + i],
                ignored.nulls,
                ignored.not_numbers
            );
        }
    }
}
