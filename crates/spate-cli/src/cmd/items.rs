//! `spate items`: print the items at paths of JSON documents as JSON Lines.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use spate::{Items, ItemsOptions, Path};

use super::common::{parse_size, stdout, write_line};
use crate::exit;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
PATH is an ijson prefix (sessions.item, item, \"\" for the whole document) or a JSONPath \
($.sessions[*], $['a.b'][0], $.a[*].b).

With several -p paths, each output line is {\"path\": PATH, \"value\": ITEM}, in the order \
the items end in the input.

Examples:
  spate items sessions.item big.json
  spate items '$.sessions[*]' big.json.zst --limit 10
  cat big.json | spate items sessions.item --count")]
pub struct ItemsArgs {
    /// The path, then the files (`-` or none: standard input). With -p, all are files.
    #[arg(value_name = "PATH [FILE]...")]
    args: Vec<String>,

    /// A path to select (repeatable; then every positional argument is a file).
    #[arg(short = 'p', long = "path", value_name = "PATH")]
    paths: Vec<String>,

    /// Print only the number of items (one line per path with several paths).
    #[arg(long)]
    count: bool,

    /// Stop reading as soon as N items are out.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,

    /// Largest item accepted (K, M, G suffixes); larger is an error, not an out-of-memory kill.
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    max_item_size: usize,

    /// Deepest nesting accepted.
    #[arg(long, value_name = "N", default_value_t = spate_json::DEFAULT_MAX_DEPTH)]
    max_depth: u32,
}

pub fn run(args: ItemsArgs) -> anyhow::Result<ExitCode> {
    let (path_texts, files) = if args.paths.is_empty() {
        let mut positional = args.args.into_iter();
        let Some(path) = positional.next() else {
            anyhow::bail!("a PATH is required (for example: spate items sessions.item FILE)");
        };
        (vec![path], positional.collect::<Vec<_>>())
    } else {
        (args.paths, args.args)
    };
    let paths = path_texts
        .iter()
        .map(|p| Path::parse(p))
        .collect::<Result<Vec<_>, _>>()?;
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
    let several = paths.len() > 1;
    let mut out = stdout();
    let mut line = Vec::with_capacity(64 * 1024);
    let mut counts = vec![0u64; paths.len()];
    let mut emitted = 0u64;
    let mut matched = BTreeSet::new();
    let mut failure: Option<anyhow::Error> = None;
    let limit = args.limit.unwrap_or(u64::MAX);

    'files: for file in &files {
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
            if !args.count {
                line.clear();
                if several {
                    line.extend_from_slice(b"{\"path\":");
                    let p = paths[item.path_index()].as_str();
                    line.extend_from_slice(serde_json::to_string(p)?.as_bytes());
                    line.extend_from_slice(b",\"value\":");
                    item.compact_into(&mut line);
                    line.push(b'}');
                } else {
                    item.compact_into(&mut line);
                }
                write_line(&mut out, &line).context("writing to standard output")?;
            }
            if emitted >= limit {
                for i in 0..paths.len() {
                    if items.path_matched(i) {
                        matched.insert(i);
                    }
                }
                break 'files;
            }
        }
        for i in 0..paths.len() {
            if items.path_matched(i) {
                matched.insert(i);
            }
        }
    }

    if args.count {
        if several {
            for (path, n) in paths.iter().zip(&counts) {
                let p = serde_json::to_string(path.as_str())?;
                writeln!(out, "{{\"path\":{p},\"count\":{n}}}")?;
            }
        } else {
            writeln!(out, "{}", counts[0])?;
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
