//! `spate items`: the items at a path of JSON documents, optionally filtered with jq,
//! with fields of enclosing values attached, or aggregated by group.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use spate::query::{Aggregates, OnError, Query, QueryRunner, Report};
use spate::{Items, ItemsOptions, Path};

use super::common::{parse_size, stdout};
use super::output::{Format, ResultWriter};
use crate::exit;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
PATH is an ijson prefix (sessions.item, item, \"\" for the whole document) or a JSONPath \
($.sessions[*], $['a.b'][0], $.a[*].b).

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
      --sum .input_tokens -o table")]
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

    /// What to do when the filter fails on an item: stop, or count it as skipped and go on
    /// (the run then exits with 1).
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
}

pub fn run(args: ItemsArgs) -> anyhow::Result<ExitCode> {
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
        let querying = args.filter.is_some()
            || !args.with.is_empty()
            || !args.group_by.is_empty()
            || !(args.sum.is_empty()
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
            .map(|p| Path::parse(p))
            .collect::<Result<Vec<_>, _>>()?;
        return run_several_paths(paths, &files, options, args.count, limit);
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
    };
    if job.raw && args.output != Format::Jsonl {
        anyhow::bail!("-r/--raw-output prints lines; it goes with -o jsonl only");
    }
    run_query(job, args.output)
}

fn build_query(args: &ItemsArgs, path: &str) -> anyhow::Result<Query> {
    let mut q = Query::new(path)?
        .raw_output(args.raw_output)
        .on_error(match args.on_error {
            OnErrorArg::Fail => OnError::Fail,
            OnErrorArg::Skip => OnError::Skip,
        })
        .max_held(args.max_item_size);
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
    let aggregating = !args.group_by.is_empty()
        || !(args.sum.is_empty()
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

/// Runs a query over the files in order; prints results (or the count, or the report).
fn run_query(job: Job, format: Format) -> anyhow::Result<ExitCode> {
    let plan = Arc::new(job.query.plan()?);
    let mut writer = ResultWriter::new(stdout(), format);
    let mut failure: Option<anyhow::Error> = None;
    let mut merged: Option<Aggregates> = None;
    let (mut results, mut skipped) = (0u64, 0u64);
    let mut matched = false;
    let mut buf = Vec::with_capacity(64 * 1024);

    'files: for file in &job.files {
        if results >= job.limit {
            break;
        }
        let opened = Items::open_with_markers(file, plan.paths.clone(), plan.markers, job.options);
        let mut items = match opened {
            Ok(items) => items,
            Err(e) => {
                report(&mut failure, e.into());
                continue;
            }
        };
        let mut runner = QueryRunner::new(job.query.clone(), plan.clone());
        loop {
            let item = match items.next_item() {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(e) => {
                    report(&mut failure, e.into());
                    break;
                }
            };
            buf.clear();
            let lines = match runner.span(item, &mut buf) {
                Ok(n) => n,
                Err(error) => {
                    let e = spate::Error::Filter {
                        input: file.display().to_string(),
                        error,
                    };
                    report(&mut failure, e.into());
                    break;
                }
            };
            if lines == 0 {
                continue;
            }
            let take = lines.min(job.limit - results);
            results += take;
            if !job.count_only {
                for line in buf
                    .split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .take(take as usize)
                {
                    if job.raw {
                        writer.raw_line(line)
                    } else {
                        writer.result(line)
                    }
                    .context("writing to standard output")?;
                }
            }
            if results >= job.limit {
                matched |= items.path_matched(0);
                skipped += runner.skipped();
                break 'files;
            }
        }
        matched |= items.path_matched(0);
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
        writeln!(out, "{results}")?;
        out.flush()?;
    } else if let Some(aggregates) = merged {
        warn_ignored(&job.query, &aggregates);
        let report = Report::new(&job.query, aggregates);
        for row in report.aggregates.rows() {
            writer.result(&report.row_json(&row))?;
        }
    }
    writer.finish().context("writing to standard output")?;
    if results < job.limit && !matched {
        eprintln!(
            "spate: warning: path {:?} matched nothing",
            job.query.path().as_str()
        );
    }
    if let Some(e) = failure {
        return Err(e);
    }
    if skipped > 0 {
        eprintln!(
            "spate: {skipped} items skipped because the filter failed on them (--on-error skip)"
        );
        return Ok(ExitCode::from(exit::INVALID_DATA));
    }
    Ok(ExitCode::SUCCESS)
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

/// Plain selection at several paths in one pass: labelled items, or counts per path.
fn run_several_paths(
    paths: Vec<Path>,
    files: &[PathBuf],
    options: ItemsOptions,
    count: bool,
    limit: u64,
) -> anyhow::Result<ExitCode> {
    let mut out = stdout();
    let mut line = Vec::with_capacity(64 * 1024);
    let mut counts = vec![0u64; paths.len()];
    let mut emitted = 0u64;
    let mut matched = BTreeSet::new();
    let mut failure: Option<anyhow::Error> = None;

    'files: for file in files {
        if emitted >= limit {
            break;
        }
        let mut items = match Items::open_with(file, paths.clone(), options) {
            Ok(items) => items,
            Err(e) => {
                report(&mut failure, e.into());
                continue;
            }
        };
        loop {
            let item = match items.next_item() {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(e) => {
                    report(&mut failure, e.into());
                    break;
                }
            };
            counts[item.path_index()] += 1;
            emitted += 1;
            if !count {
                line.clear();
                line.extend_from_slice(b"{\"path\":");
                let p = paths[item.path_index()].as_str();
                line.extend_from_slice(serde_json::to_string(p)?.as_bytes());
                line.extend_from_slice(b",\"value\":");
                item.compact_into(&mut line);
                line.extend_from_slice(b"}\n");
                out.write_all(&line).context("writing to standard output")?;
            }
            if emitted >= limit {
                matched.extend((0..paths.len()).filter(|&i| items.path_matched(i)));
                break 'files;
            }
        }
        matched.extend((0..paths.len()).filter(|&i| items.path_matched(i)));
    }

    if count {
        for (path, n) in paths.iter().zip(&counts) {
            let p = serde_json::to_string(path.as_str())?;
            writeln!(out, "{{\"path\":{p},\"count\":{n}}}")?;
        }
    }
    out.flush().context("writing to standard output")?;
    if emitted < limit {
        for (i, path) in paths.iter().enumerate() {
            if !matched.contains(&i) {
                eprintln!("spate: warning: path {:?} matched nothing", path.as_str());
            }
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// Prints an error about one input now and keeps the one that decides the exit code: the
/// run goes on with the next file.
fn report(failure: &mut Option<anyhow::Error>, err: anyhow::Error) {
    let replace = match failure {
        None => true,
        Some(prev) => exit::code_for(&err) > exit::code_for(prev),
    };
    if replace {
        if let Some(prev) = failure.take() {
            eprintln!("spate: {prev:#}");
        }
        *failure = Some(err);
    } else {
        eprintln!("spate: {err:#}");
    }
}
