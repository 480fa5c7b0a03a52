//! `spate items`: the items at a path of JSON documents, optionally filtered with jq,
//! with fields of enclosing values attached, or aggregated by group.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use spate::parallel::{run_with, ItemVisitor, Summary, VisitError};
use spate::query::{Aggregates, Query, QueryRunner, Report};
use spate::OnError;
use spate::{ItemRef, ItemsOptions, Path};

use super::common::{parse_size, stdout};
use super::inputs::{init_logging, into_anyhow, InputArgs, Reporter};
use super::output::{Format, ResultWriter};
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

    /// Deepest nesting accepted.
    #[arg(long, value_name = "N", default_value_t = spate_json::DEFAULT_MAX_DEPTH)]
    max_depth: u32,

    #[command(flatten)]
    inputs: InputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OnErrorArg {
    Fail,
    Skip,
}

/// What the command line asks for, checked and compiled.
struct Job {
    query: Query,
    files: Vec<PathBuf>,
    options: ItemsOptions,
    /// `--count` alone: print only the number of results.
    count_only: bool,
    /// `-r`: results are printed as they come (strings without quotes).
    raw: bool,
    limit: u64,
    on_error: OnError,
}

pub fn run(args: ItemsArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    let on_error = match args.on_error {
        OnErrorArg::Fail => OnError::Fail,
        OnErrorArg::Skip => OnError::Skip,
    };
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
    let options = ItemsOptions {
        max_item_size: args.max_item_size,
        max_depth: args.max_depth,
        ..ItemsOptions::default()
    };
    let limit = args.limit.unwrap_or(u64::MAX);
    if path_texts.len() > 1 {
        let querying = !(args.filter.is_none()
            && args.with.is_empty()
            && args.group_by.is_empty()
            && args.sum.is_empty()
            && args.min.is_empty()
            && args.max.is_empty()
            && args.mean.is_empty());
        if querying {
            anyhow::bail!(
                "several -p paths select items only; -f, --with and aggregates take one PATH"
            );
        }
        let paths = path_texts
            .iter()
            .map(|p| spate::inputs::parse_path(p))
            .collect::<Result<Vec<_>, _>>()?;
        return run_several_paths(
            paths,
            &files,
            options,
            args.count,
            limit,
            &args.inputs,
            on_error,
        );
    }
    let job = Job {
        query: build_query(&args, &path_texts[0])?,
        files,
        options,
        count_only: args.count
            && args.group_by.is_empty()
            && args.sum.is_empty()
            && args.min.is_empty()
            && args.max.is_empty()
            && args.mean.is_empty(),
        limit,
        raw: args.raw_output,
        on_error,
    };
    if job.raw && args.output != Format::Jsonl {
        anyhow::bail!("-r/--raw-output prints lines; it goes with -o jsonl only");
    }
    run_query(job, args.output, &args.inputs)
}

fn build_query(args: &ItemsArgs, path: &str) -> anyhow::Result<Query> {
    // `.` is the whole value, as `""` and `$` are.
    let path = if path == "." { "" } else { path };
    let mut q = Query::new(path)?
        .raw_output(args.raw_output)
        .on_error(match args.on_error {
            OnErrorArg::Fail => OnError::Fail,
            OnErrorArg::Skip => OnError::Skip,
        })
        .max_held(args.max_item_size)
        .count_only(
            args.count
                && args.group_by.is_empty()
                && args.sum.is_empty()
                && args.min.is_empty()
                && args.max.is_empty()
                && args.mean.is_empty(),
        );
    for w in &args.with {
        let Some((name, p)) = w.split_once('=') else {
            anyhow::bail!("--with {w:?}: expected NAME=PATH");
        };
        q = q.with(name, p)?;
    }
    if let Some(f) = &args.filter {
        q = q.jq(f)?;
    }
    for g in &args.group_by {
        q = q.group_by(g)?;
    }
    let aggregating = !(args.group_by.is_empty()
        && args.sum.is_empty()
        && args.min.is_empty()
        && args.max.is_empty()
        && args.mean.is_empty());
    if args.count && aggregating {
        q = q.count();
    }
    for e in &args.sum {
        q = q.sum(e)?;
    }
    for e in &args.min {
        q = q.min(e)?;
    }
    for e in &args.max {
        q = q.max(e)?;
    }
    for e in &args.mean {
        q = q.mean(e)?;
    }
    Ok(q)
}

/// Adapts the executor's output (whole lines) to a [`ResultWriter`] for the formats that
/// reshape results (`-o json|csv|table`).
struct ResultLines<'w, W: Write> {
    writer: &'w mut ResultWriter<W>,
    partial: Vec<u8>,
    /// `-r`: lines are raw strings, not JSON.
    raw: bool,
}

impl<W: Write> ResultLines<'_, W> {
    fn line(&mut self, line: &[u8]) -> std::io::Result<()> {
        if self.raw {
            self.writer.raw_line(line)
        } else {
            self.writer.result(line)
        }
    }
}

impl<W: Write> Write for ResultLines<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = memchr_newline(rest) {
            if self.partial.is_empty() {
                self.line(&rest[..i])?;
            } else {
                self.partial.extend_from_slice(&rest[..i]);
                let line = std::mem::take(&mut self.partial);
                self.line(&line)?;
            }
            rest = &rest[i + 1..];
        }
        self.partial.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// The query stage as the executor's per-worker visitor.
struct QueryVisitor {
    runner: QueryRunner,
    /// Items the runner had seen when the current JSON text (document or line) began.
    text_start: u64,
}

impl ItemVisitor for QueryVisitor {
    fn visit(&mut self, item: ItemRef<'_>, out: &mut Vec<u8>) -> Result<u64, VisitError> {
        // The runner counts items over everything its worker saw; the index in messages
        // counts from the start of the document (or line), the same whatever the threads.
        self.runner.span(item, out).map_err(|mut e| {
            e.item = e.item.saturating_sub(self.text_start);
            e.into()
        })
    }

    fn end_text(&mut self, _out: &mut Vec<u8>) -> Result<u64, VisitError> {
        self.text_start = self.runner.items();
        Ok(0)
    }
}

/// Runs a query over the inputs on every core; prints results in input order (or the
/// count, or the merged report).
fn run_query(job: Job, format: Format, input: &InputArgs) -> anyhow::Result<ExitCode> {
    let plan = Arc::new(job.query.plan()?);
    let mut reporter = Reporter::default();
    let inputs = input.discover(&job.files, &mut reporter)?;
    let (mut options, bar) = input.run_options();
    options.items = job.options;
    options.markers = plan.markers;
    options.limit = (job.limit < u64::MAX).then_some(job.limit);
    options.on_error = job.on_error;
    let make = || QueryVisitor {
        runner: QueryRunner::new(job.query.clone(), plan.clone()),
        text_start: 0,
    };
    let mut writer = ResultWriter::new(stdout(), format);
    let result = if job.count_only {
        run_with(
            &inputs,
            &plan.paths,
            &options,
            make,
            &mut std::io::sink(),
            &mut reporter,
        )
    } else if format == Format::Jsonl && !job.raw {
        // Results are lines already: straight to standard output.
        let mut out = stdout();
        let r = run_with(
            &inputs,
            &plan.paths,
            &options,
            make,
            &mut out,
            &mut reporter,
        );
        out.flush().context("writing to standard output")?;
        r
    } else {
        let mut lines = ResultLines {
            writer: &mut writer,
            partial: Vec::new(),
            raw: job.raw,
        };
        run_with(
            &inputs,
            &plan.paths,
            &options,
            make,
            &mut lines,
            &mut reporter,
        )
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let (visitors, summary) = result.map_err(into_anyhow)?;
    let mut skipped = 0u64;
    let mut merged: Option<Aggregates> = None;
    // Partials merge in worker order.
    for QueryVisitor { runner, .. } in visitors {
        skipped += runner.skipped();
        if let Some(partial) = runner.into_aggregates() {
            match &mut merged {
                Some(m) => m.merge(partial),
                None => merged = Some(partial),
            }
        }
    }
    if job.count_only {
        let mut out = stdout();
        writeln!(out, "{}", summary.output_lines)?;
        out.flush()?;
    } else if let Some(aggregates) = merged {
        warn_ignored(&job.query, &aggregates);
        let report = Report::new(&job.query, aggregates);
        for row in report.aggregates.rows() {
            writer.result(&report.row_json(&row))?;
        }
    }
    writer.finish().context("writing to standard output")?;
    if !summary.stopped_early && !summary.path_matched.first().copied().unwrap_or(true) {
        eprintln!(
            "spate: warning: path {:?} matched nothing",
            job.query.path().as_str()
        );
    }
    input.print_stats(&summary);
    finish(&reporter, &summary, skipped)
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

fn warn_ignored(query: &Query, aggregates: &Aggregates) {
    let names = query.column_names();
    let offset = names.len() - aggregates.ignored().len();
    for (i, ignored) in aggregates.ignored().iter().enumerate() {
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

/// Labels each item with its path (or, to count, names its path index).
struct Labelled {
    labels: Arc<Vec<Vec<u8>>>,
    count: bool,
}

/// Counts the path indexes [`Labelled`] writes when counting.
struct PathCounts {
    counts: Vec<u64>,
    partial: Vec<u8>,
}

impl Write for PathCounts {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for &b in buf {
            if b == b'\n' {
                let i: usize = std::str::from_utf8(&self.partial)
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                if let Some(c) = self.counts.get_mut(i) {
                    *c += 1;
                }
                self.partial.clear();
            } else {
                self.partial.push(b);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl ItemVisitor for Labelled {
    fn visit(&mut self, item: ItemRef<'_>, out: &mut Vec<u8>) -> Result<u64, VisitError> {
        if self.count {
            // One line per item naming its path: counted as written, so that a limit cuts
            // the counts exactly where a sequential run would.
            out.extend_from_slice(item.path_index().to_string().as_bytes());
            out.push(b'\n');
            return Ok(1);
        }
        out.extend_from_slice(b"{\"path\":");
        out.extend_from_slice(&self.labels[item.path_index()]);
        out.extend_from_slice(b",\"value\":");
        item.compact_into(out);
        out.extend_from_slice(b"}\n");
        Ok(1)
    }
}

/// Plain selection at several paths in one pass: labelled items, or counts per path.
fn run_several_paths(
    paths: Vec<Path>,
    files: &[PathBuf],
    options: ItemsOptions,
    count: bool,
    limit: u64,
    input: &InputArgs,
    on_error: OnError,
) -> anyhow::Result<ExitCode> {
    let mut reporter = Reporter::default();
    let inputs = input.discover(files, &mut reporter)?;
    let (mut run_options, bar) = input.run_options();
    run_options.items = options;
    run_options.limit = (limit < u64::MAX).then_some(limit);
    run_options.on_error = on_error;
    let labels = Arc::new(
        paths
            .iter()
            .map(|p| serde_json::to_vec(p.as_str()))
            .collect::<Result<Vec<_>, _>>()?,
    );
    let make = || Labelled {
        labels: labels.clone(),
        count,
    };
    let mut out = stdout();
    let mut counter = PathCounts {
        counts: vec![0; paths.len()],
        partial: Vec::new(),
    };
    let result = if count {
        run_with(
            &inputs,
            &paths,
            &run_options,
            make,
            &mut counter,
            &mut reporter,
        )
    } else {
        run_with(&inputs, &paths, &run_options, make, &mut out, &mut reporter)
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let (_, summary) = result.map_err(into_anyhow)?;
    if count {
        for (path, n) in paths.iter().zip(&counter.counts) {
            let p = serde_json::to_string(path.as_str())?;
            writeln!(out, "{{\"path\":{p},\"count\":{n}}}")?;
        }
    }
    out.flush().context("writing to standard output")?;
    if !summary.stopped_early {
        for (path, matched) in paths.iter().zip(&summary.path_matched) {
            if !matched {
                eprintln!("spate: warning: path {:?} matched nothing", path.as_str());
            }
        }
    }
    input.print_stats(&summary);
    finish(&reporter, &summary, 0)
}
