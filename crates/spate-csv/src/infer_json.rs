//! Schema inference over JSON read through spate: JSON Lines (a plain file in byte ranges on
//! every core, or any reader, always through spate's bounded line reader) and the items at a
//! path of a JSON document ([`spate::Items`]). JSON Lines is inferred in the scanner's own
//! pass ([`RowInferrer`]: each line is read once, validated and typed together); the items
//! of a document are validated by [`spate::Items`] and then walked by the [`JsonState`]. Bad
//! input is reported as spate reports it: `FILE:LINE:COL (byte N): message` with an excerpt.

use std::io::Read;
use std::path::Path;

use spate::inputs::{Compression, Format as InputFormat, Inputs};
use spate::jsonl::{Lines, LinesOptions};
use spate::{Items, ItemsOptions};

use crate::error::Error;
use crate::json::JsonState;
use crate::json_scan::RowInferrer;
use crate::schema::{Format, Schema};

/// A big JSON Lines file is cut into ranges no smaller than 1/this of its size per thread
/// (see [`crate::jsonl_ranges::range_bounds`]: the ranges shrink towards the end of the file,
/// so that the threads finish together).
const SMALLEST_RANGE_PER_THREAD: u64 = 32;

/// The smallest range by default: below it, a range's fixed costs (opening the file, a read
/// buffer, learning the member names anew, a state to merge) would show.
pub const DEFAULT_MIN_RANGE: u64 = 1 << 20;

/// Settings of JSON inference.
#[derive(Debug, Clone)]
pub struct JsonOptions {
    /// Read only the first N rows.
    pub sample: Option<u64>,
    /// Worker threads for one big JSON Lines file; 0: one per core.
    pub threads: usize,
    /// Smallest size of the byte ranges a big JSON Lines file is cut into (see
    /// [`spate::parallel::RunOptions::range_size`]; [`DEFAULT_MIN_RANGE`] by default): a file
    /// is cut into ranges that shrink towards its end, none smaller than this (see
    /// `jsonl_ranges::range_bounds`).
    pub range_size: u64,
    /// Line and item size and nesting limits.
    pub items: ItemsOptions,
}

impl Default for JsonOptions {
    fn default() -> Self {
        JsonOptions {
            sample: None,
            threads: 0,
            range_size: DEFAULT_MIN_RANGE,
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
    let lines = Lines::new(
        reader,
        LinesOptions {
            max_line: options.items.max_item_size,
            ..LinesOptions::default()
        },
    );
    let mut state = JsonState::default();
    let read = read_lines(lines, name, options, &mut state);
    if let Some(e) = read.error {
        return Err(e);
    }
    Ok(state.schema(Format::JsonLines, options.sample, read.complete, read.bytes))
}

/// Infers the schema of a JSON Lines file (plain or compressed; `-` is standard input). A
/// whole plain file is cut into byte ranges read on every core, whose partial states merge
/// into exactly the sequential answer. With a sample it is read sequentially.
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
    let inputs = Inputs::from_files(&[path], Some(InputFormat::Jsonl));
    let Some(mut file) = inputs.files.into_iter().next() else {
        return Err(spate_io(name, std::io::Error::other("no input")));
    };
    file.name = name.to_owned();
    // A file is cut into ranges only when it is plain (by its name and its first bytes) and
    // larger than one range, as spate's executor cuts one.
    let workers = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let len = file.len.unwrap_or(0);
    // Each range keeps its own partial state until the end, so a huge file is cut into a
    // number of ranges that depends on the threads, not on its size (memory stays bounded).
    let smallest = options
        .range_size
        .max(len.div_ceil(workers as u64 * SMALLEST_RANGE_PER_THREAD))
        .max(1);
    let splittable = options.sample.is_none()
        && file.is_seekable_file()
        && file.compression == Compression::None
        && len > smallest
        && spate::source::file_compression(path).is_ok_and(|c| c == Compression::None);
    if !splittable {
        let input = spate::source::open_input(&file, Some(InputFormat::Jsonl))?;
        return infer_jsonl_reader(input.reader, name, options);
    }
    let bounds = crate::jsonl_ranges::range_bounds(len, smallest, workers);
    crate::jsonl_ranges::infer_ranges(&file.path, name, &bounds, workers, options)
}

/// What reading the lines of one reader (or range) gave.
#[derive(Debug, Default)]
pub(crate) struct ReadLines {
    /// Lines counted (blank ones included), up to the error if any.
    pub lines: u64,
    /// Bytes of the lines read (with their line ends).
    pub bytes: u64,
    /// False when the sample stopped the reading.
    pub complete: bool,
    /// The first bad line (or read error); its line number counts from the reader's start.
    pub error: Option<Error>,
}

/// Reads every line of `lines` into `state`, validating and inferring in one pass; stops at
/// the first error or when the sample is full.
pub(crate) fn read_lines<R: Read>(
    mut lines: Lines<R>,
    name: &str,
    options: &JsonOptions,
    state: &mut JsonState,
) -> ReadLines {
    let max_line = options.items.max_item_size;
    // The inferrer holds the state while it reads (it remembers the state's members).
    let mut inferrer = RowInferrer::with_state(options.items.max_depth, std::mem::take(state));
    let mut read = ReadLines {
        complete: true,
        ..ReadLines::default()
    };
    loop {
        let line = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                read.error = Some(spate_io(name, e));
                break;
            }
        };
        if line.is_blank() {
            continue;
        }
        if options.sample.is_some_and(|s| inferrer.state().rows >= s) {
            read.complete = false;
            break;
        }
        if !line.complete {
            read.error = Some(spate::jsonl::line_too_long(name, &line, max_line).into());
            break;
        }
        if let Err(e) = inferrer.observe(line.text, line.offset) {
            read.error = Some(spate::jsonl::syntax_error(name, &line, e).into());
            break;
        }
    }
    *state = inferrer.into_state();
    read.lines = lines.line_count();
    read.bytes = lines.line_bytes();
    read
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

pub(crate) fn spate_io(name: &str, source: std::io::Error) -> Error {
    Error::from(spate::Error::Io {
        input: name.to_owned(),
        source,
    })
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
        let d = seq.fields.iter().find(|f| f.name == "d").unwrap();
        assert_eq!(d.ty, Type::Array);
        assert_eq!(
            d.items.as_ref().map(|i| (i.ty, i.values)),
            Some((Type::Integer, 800))
        );
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

    /// `spate schema --json` shows the element types of array fields (`spate.items`), and
    /// nothing more: a schema without array fields prints as before.
    #[test]
    fn the_frictionless_schema_names_element_types() {
        let doc = br#"{"rows": [{"a": 1, "ds": [{"n": 1, "t": ["x"]}, {"n": null}], "xs": [1.5], "m": [1, "x"]}]}"#;
        let items = Items::new(&doc[..], "rows.item").unwrap();
        let s = infer_items(items, "rows.item", None).unwrap();
        let v = s.to_frictionless();
        assert_eq!(v["fields"][0]["spate"].get("items"), None);
        assert_eq!(
            v["fields"][1]["spate"]["items"],
            serde_json::json!({"name": "item", "type": "object", "nullable": false, "fields": [
                {"name": "n", "type": "integer", "nullable": true},
                {"name": "t", "type": "array", "nullable": true,
                 "items": {"name": "item", "type": "string", "nullable": false}}]})
        );
        assert_eq!(
            v["fields"][2]["spate"]["items"],
            serde_json::json!({"name": "item", "type": "number", "nullable": false})
        );
        assert_eq!(v["fields"][3]["spate"].get("items"), None);
        // Read back as a given schema.
        let given = crate::GivenSchema::from_json(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert_eq!(given.elements.len(), 2);
        assert_eq!(
            given.element_of("ds").map(|e| e.to_json()),
            v["fields"][1]["spate"].get("items").cloned()
        );
        // Without arrays, the text is what it was: no `items` key anywhere.
        let items = Items::new(
            &br#"{"rows": [{"a": 1, "b": {"c": "x"}}]}"#[..],
            "rows.item",
        )
        .unwrap();
        let plain = infer_items(items, "rows.item", None).unwrap();
        assert!(!serde_json::to_string(&plain.to_frictionless())
            .unwrap()
            .contains("items"));
    }
}
