//! Schema inference over JSON read through spate: JSON Lines (a file on every core with
//! spate's executor, or any reader through spate's bounded line reader) and the items at a
//! path of a JSON document ([`spate::Items`]). spate's scanner validates every byte once;
//! the [`JsonState`] walks the validated values. Bad input is reported as spate reports it:
//! `FILE:LINE:COL (byte N): message` with an excerpt.

use std::io::Read;
use std::ops::ControlFlow;
use std::path::Path;

use spate::inputs::{Format as InputFormat, Inputs};
use spate::jsonl::{select_line, Lines, LinesOptions};
use spate::parallel::{ItemVisitor, RunError, RunOptions, VisitError};
use spate::{BufferSelector, ItemRef, Items, ItemsOptions};

use crate::error::{Error, ErrorKind};
use crate::json::JsonState;
use crate::schema::{Format, Schema};

/// A big JSON Lines file is cut into at most about this many ranges per thread (enough for
/// the threads to share the work evenly).
const RANGES_PER_THREAD: u64 = 8;

/// Settings of JSON inference.
#[derive(Debug, Clone)]
pub struct JsonOptions {
    /// Read only the first N rows.
    pub sample: Option<u64>,
    /// Worker threads for one big JSON Lines file; 0: one per core.
    pub threads: usize,
    /// Smallest size of the byte ranges a big JSON Lines file is cut into (see
    /// [`spate::parallel::RunOptions::range_size`]); larger files get larger ranges.
    pub range_size: u64,
    /// Line and item size and nesting limits.
    pub items: ItemsOptions,
}

impl Default for JsonOptions {
    fn default() -> Self {
        JsonOptions {
            sample: None,
            threads: 0,
            range_size: RunOptions::default().range_size,
            items: ItemsOptions::default(),
        }
    }
}

/// Infers the schema of JSON Lines from any reader, sequentially, through spate's line
/// reader. `name` names the input in errors. Blank lines are skipped.
pub fn infer_jsonl_reader<R: Read>(
    reader: R,
    name: &str,
    options: &JsonOptions,
) -> Result<Schema, Error> {
    let max_line = options.items.max_item_size;
    let mut lines = Lines::new(
        reader,
        LinesOptions {
            max_line,
            ..LinesOptions::default()
        },
    );
    let mut selector = selector(options)?;
    let mut state = JsonState::default();
    let mut complete = true;
    while let Some(line) = lines.next_line().map_err(|e| spate_io(name, e))? {
        if line.is_blank() {
            continue;
        }
        if options.sample.is_some_and(|s| state.rows >= s) {
            complete = false;
            break;
        }
        select_line(&mut selector, name, &line, max_line, |_| {
            ControlFlow::Continue(())
        })?;
        state.observe(line.text, line.offset);
    }
    Ok(state.schema(
        Format::JsonLines,
        options.sample,
        complete,
        lines.line_bytes(),
    ))
}

/// Infers the schema of a JSON Lines file (plain or compressed; `-` is standard input). A
/// whole plain file is read by spate's executor: cut into byte ranges read on every core,
/// whose partial states merge into exactly the sequential answer. With a sample it is read
/// sequentially.
pub fn infer_jsonl_path(path: &Path, options: &JsonOptions) -> Result<Schema, Error> {
    let name = if path.as_os_str() == "-" {
        spate::source::STDIN_NAME.to_owned()
    } else {
        path.display().to_string()
    };
    infer_jsonl_file(path, &name, options)
}

/// [`infer_jsonl_path`], naming the input `name` in errors (a spooled copy of standard input
/// is named `<stdin>`).
pub fn infer_jsonl_file(path: &Path, name: &str, options: &JsonOptions) -> Result<Schema, Error> {
    if options.sample.is_some() {
        let input = spate::source::open(path)?;
        return infer_jsonl_reader(input.reader, name, options);
    }
    let mut inputs = Inputs::from_files(&[path], Some(InputFormat::Jsonl));
    if let Some(file) = inputs.files.first_mut() {
        file.name = name.to_owned();
    }
    // Each range keeps its own partial state until the end, so a huge file is cut into a
    // number of ranges that depends on the threads, not on its size (memory stays bounded).
    let workers = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    } as u64;
    let len = inputs.files.first().and_then(|f| f.len).unwrap_or(0);
    let run_options = RunOptions {
        threads: options.threads,
        range_size: options
            .range_size
            .max(len.div_ceil(workers * RANGES_PER_THREAD))
            .max(1),
        items: options.items,
        ..RunOptions::default()
    };
    let segment = run_options.range_size;
    let (visitors, summary) = spate::parallel::run(
        &inputs,
        &[spate::Path::parse("").map_err(spate::Error::from)?],
        &run_options,
        || Segments::new(segment),
        &mut std::io::sink(),
    )
    .map_err(|e| named(run_error(e), path, name))?;
    if let Some(e) = summary.errors.into_iter().next() {
        return Err(named(run_error(e), path, name));
    }
    let mut parts: Vec<Part> = visitors.into_iter().flat_map(|v| v.parts).collect();
    parts.sort_by_key(|p| p.first);
    if parts.windows(2).any(|w| w[0].last >= w[1].first) {
        // The parts interleave (not expected with the executor's range plan): read the
        // file again in one sequence, which is always right.
        let input = spate::source::open(path)?;
        return infer_jsonl_reader(input.reader, name, options);
    }
    let mut state = JsonState::default();
    for p in parts {
        state.merge(p.state);
    }
    Ok(state.schema(Format::JsonLines, None, true, summary.bytes))
}

/// Infers over the items at `path` of a JSON document (validated by spate's scanner).
pub fn infer_items<R: Read>(
    mut items: Items<R>,
    path: &str,
    sample: Option<u64>,
) -> Result<Schema, Error> {
    let mut state = JsonState::default();
    let mut complete = true;
    while let Some(item) = items.next_item()? {
        if sample.is_some_and(|n| state.rows >= n) {
            complete = false;
            break;
        }
        state.observe(item.raw(), item.offset());
    }
    Ok(state.schema(
        Format::JsonItems {
            path: path.to_string(),
        },
        sample,
        complete,
        items.bytes_scanned(),
    ))
}

fn selector(options: &JsonOptions) -> Result<BufferSelector, Error> {
    Ok(BufferSelector::with_options(
        Vec::new(),
        spate_json::ScanOptions {
            max_depth: options.items.max_depth,
            ..spate_json::ScanOptions::default()
        },
    )?)
}

fn spate_io(name: &str, source: std::io::Error) -> Error {
    Error::from(spate::Error::Io {
        input: name.to_owned(),
        source,
    })
}

/// Names the input `name` where the executor named it by its path (a spooled copy of
/// standard input is `<stdin>` to the user).
fn named(mut e: Error, path: &Path, name: &str) -> Error {
    let shown = path.display().to_string();
    if let ErrorKind::Json(inner) = &mut e.kind {
        match inner.as_mut() {
            spate::Error::Syntax { location, .. } | spate::Error::ItemTooLarge { location, .. }
                if location.input == shown =>
            {
                location.input = name.to_owned();
            }
            spate::Error::Io { input, .. } if *input == shown => *input = name.to_owned(),
            _ => {}
        }
    }
    e
}

/// An executor error as ours (the visitor never fails, so it is an input or output error).
pub(crate) fn run_error(e: RunError) -> Error {
    match e {
        RunError::Input(e) => Error::from(e),
        other => Error::new(ErrorKind::Io(std::io::Error::other(other.to_string()))),
    }
}

/// The rows one worker saw, in runs of consecutive rows: one [`Part`] per run. A run ends
/// where the worker moves to another task (the next row is not after the last one, or is in
/// another segment of `segment` bytes, the executor's range size), so that each part is a
/// contiguous stretch of the input and parts merge in input order.
#[derive(Debug)]
struct Segments {
    segment: u64,
    parts: Vec<Part>,
}

#[derive(Debug)]
struct Part {
    /// Offsets of the first and last rows.
    first: u64,
    last: u64,
    state: JsonState,
}

impl Segments {
    fn new(segment: u64) -> Self {
        Segments {
            segment: segment.max(1),
            parts: Vec::new(),
        }
    }
}

impl ItemVisitor for Segments {
    fn visit(&mut self, item: ItemRef<'_>, _out: &mut Vec<u8>) -> Result<u64, VisitError> {
        let at = item.offset();
        let same_run = self
            .parts
            .last()
            .is_some_and(|p| at > p.last && at / self.segment == p.last / self.segment);
        if !same_run {
            self.parts.push(Part {
                first: at,
                last: at,
                state: JsonState::default(),
            });
        }
        if let Some(p) = self.parts.last_mut() {
            p.last = at;
            p.state.observe(item.raw(), at);
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Type;

    fn text() -> String {
        let mut text = String::new();
        for i in 0..2000 {
            match i % 5 {
                0 => text.push_str(&format!(
                    "{{\"a\": {i}, \"b\": {{\"c\": \"2024-01-0{}\"}}}}\n",
                    1 + i % 9
                )),
                1 => text.push_str(&format!("{{\"a\": {i}.5, \"d\": [1, 2]}}\n")),
                2 => text.push('\n'),
                3 => text.push_str(&format!(
                    "{{\"b\": {{\"c\": null}}, \"e\": \"x{i}\", \"t{}\": 1}}\r\n",
                    i % 7
                )),
                _ => text.push_str(&format!("  {{\"a\": -{i}, \"e\": true}}  \n")),
            }
        }
        text
    }

    #[test]
    fn ranges_and_threads_give_the_sequential_answer() {
        let text = text();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
        let seq = infer_jsonl_reader(text.as_bytes(), "t", &JsonOptions::default()).unwrap();
        assert_eq!(seq.rows, 1600);
        assert_eq!(seq.bytes, text.len() as u64);
        assert_eq!(seq.fields[0].ty, Type::Float);
        for threads in [1, 2, 3, 7] {
            for range_size in [1, 100, 4096, 1 << 30] {
                let options = JsonOptions {
                    threads,
                    range_size,
                    ..JsonOptions::default()
                };
                let par = infer_jsonl_path(file.path(), &options).unwrap();
                assert_eq!(par, seq, "{threads} threads, ranges of {range_size}");
            }
        }
    }

    #[test]
    fn errors_name_file_line_column_and_byte() {
        let mut lines: Vec<String> = text().lines().map(str::to_string).collect();
        lines[1320] = "{\"a\": tru}".to_string();
        let bad = lines.join("\n");
        let offset = lines[..1320].iter().map(|l| l.len() + 1).sum::<usize>() + 9;
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, bad.as_bytes()).unwrap();
        let name = file.path().display().to_string();
        let want = format!("{name}:1321:10 (byte {offset}): expected the literal 'true', found '}}'\n  {{\"a\": tru}}\n           ^");
        for threads in [1, 3] {
            let options = JsonOptions {
                threads,
                range_size: 1000,
                ..JsonOptions::default()
            };
            let e = infer_jsonl_path(file.path(), &options).unwrap_err();
            assert!(e.is_invalid_data());
            assert_eq!(e.to_string(), want);
        }
        let e = infer_jsonl_reader(bad.as_bytes(), &name, &JsonOptions::default()).unwrap_err();
        assert_eq!(e.to_string(), want);
    }

    #[test]
    fn a_sample_stops_early() {
        let text = "{\"a\": 1}\n\n{\"a\": 2.5}\n{\"a\": \"x\"}\n";
        let options = JsonOptions {
            sample: Some(2),
            ..JsonOptions::default()
        };
        let s = infer_jsonl_reader(text.as_bytes(), "t", &options).unwrap();
        assert_eq!(
            (s.rows, s.complete, s.fields[0].ty),
            (2, false, Type::Float)
        );
    }

    #[test]
    fn items_of_a_document() {
        let doc = br#"{"rows": [{"a": 1}, {"a": 2, "b": "2024-01-01"}]}"#;
        let items = Items::new(&doc[..], "rows.item").unwrap();
        let s = infer_items(items, "rows.item", None).unwrap();
        assert_eq!(s.rows, 2);
        assert_eq!(s.fields[1].ty, Type::Date);
        assert_eq!(s.fields[1].nulls, 1);
    }
}
