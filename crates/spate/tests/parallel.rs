//! The parallel executor gives the same answers whatever the thread count, the range size
//! (ranges split at awkward places: inside long lines, at CRLF, at the end of a file with no
//! final newline, in 0-byte files), the output mode and the limit; and those answers equal
//! a plain serde_json reading of each line.

use std::io::Write;
use std::path::{Path as FsPath, PathBuf};

use serde_json::Value;
use spate::inputs::{discover, parse_path, DiscoverOptions, Inputs};
use spate::parallel::{run, ItemVisitor, OnError, RunError, RunOptions, Summary, VisitError};
use spate::{ItemRef, Path};

fn testdata(rel: &str) -> PathBuf {
    FsPath::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/jsonl")
        .join(rel)
}

fn tree() -> Inputs {
    discover(&[testdata("tree")], &DiscoverOptions::default()).unwrap()
}

/// Prints each item compactly, one per line (what `spate items` does).
struct Print;

impl ItemVisitor for Print {
    fn visit(&mut self, item: ItemRef<'_>, out: &mut Vec<u8>) -> Result<u64, VisitError> {
        item.compact_into(out);
        out.push(b'\n');
        Ok(1)
    }
}

/// Keeps a partial aggregate per worker: count, and the sum of integer items.
#[derive(Default)]
struct Sum {
    count: u64,
    sum: i128,
}

impl ItemVisitor for Sum {
    fn visit(&mut self, item: ItemRef<'_>, _out: &mut Vec<u8>) -> Result<u64, VisitError> {
        self.count += 1;
        if let Ok(n) = item.decode::<i64>() {
            self.sum += n as i128;
        }
        Ok(0)
    }
}

const PATHS: [&str; 5] = [
    ".",
    "message.usage.output_tokens",
    "message.content.item",
    "$.message.content[*].n",
    "item",
];

/// Range sizes from one byte (every range is inside a line) to the default.
const RANGES: [u64; 9] = [
    1,
    2,
    3,
    5,
    13,
    64,
    700,
    4096,
    spate::parallel::DEFAULT_RANGE_SIZE,
];

/// Options of a run on `threads` threads: with an even count, files are mapped whatever
/// their size (read in place, see `spate::mapped`), else read, so that every comparison
/// with a one-thread run compares the two routes too.
fn options(threads: usize, range_size: u64) -> RunOptions {
    RunOptions {
        threads,
        range_size,
        map_files_from: threads.is_multiple_of(2).then_some(0),
        ..RunOptions::default()
    }
}

fn paths(p: &str) -> Vec<Path> {
    vec![parse_path(p).unwrap()]
}

fn print(inputs: &Inputs, path: &str, options: &RunOptions) -> (Vec<u8>, Summary) {
    let mut out = Vec::new();
    let (_, summary) = run(inputs, &paths(path), options, || Print, &mut out).unwrap();
    (out, summary)
}

/// The values at `path` of every JSON text of the tree, read with serde_json.
fn oracle(inputs: &Inputs, path: &str) -> Vec<Value> {
    let steps: Vec<String> = match path {
        "." => vec![],
        "message.usage.output_tokens" => vec!["message", "usage", "output_tokens"],
        "message.content.item" | "$.message.content[*].n" => vec!["message", "content", "*"],
        "item" => vec!["*"],
        _ => unreachable!(),
    }
    .into_iter()
    .map(str::to_owned)
    .collect();
    let mut found = Vec::new();
    for f in &inputs.files {
        let mut bytes = Vec::new();
        spate::source::open(&f.path)
            .unwrap()
            .reader
            .read_to_end(&mut bytes)
            .unwrap();
        let texts: Vec<Value> = if f.name.ends_with("g-document.json") {
            vec![serde_json::from_slice(&bytes).unwrap()]
        } else {
            bytes
                .split(|&b| b == b'\n')
                .filter(|l| l.iter().any(|b| !b" \t\r".contains(b)))
                .map(|l| serde_json::from_slice(l).unwrap())
                .collect()
        };
        for v in texts {
            select(&v, &steps, &mut found);
        }
    }
    if path == "$.message.content[*].n" {
        found = found
            .into_iter()
            .filter_map(|v| v.get("n").cloned())
            .collect();
    }
    found
}

fn select(v: &Value, steps: &[String], found: &mut Vec<Value>) {
    match steps.split_first() {
        None => found.push(v.clone()),
        Some((s, rest)) if s == "*" => {
            if let Value::Array(a) = v {
                for x in a {
                    select(x, rest, found);
                }
            }
        }
        Some((s, rest)) => {
            if let Some(x) = v.get(s) {
                select(x, rest, found);
            }
        }
    }
}

use std::io::Read;

fn values(out: &[u8]) -> Vec<Value> {
    out.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

#[test]
fn the_tree_is_found_in_order_with_formats() {
    let inputs = tree();
    let names: Vec<String> = inputs
        .files
        .iter()
        .map(|f| {
            f.path
                .strip_prefix(testdata("tree"))
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(
        names,
        [
            "a-crlf.jsonl",
            "b-no-final-newline.jsonl",
            "c-empty.jsonl",
            "h-lines-named.json",
            "sub/d-long-line.ndjson",
            "sub/e-mixed.jsonl",
            "sub/f-compressed.jsonl.gz",
            "sub/g-document.json",
        ]
    );
    let globbed = discover(
        &[testdata("tree")],
        &DiscoverOptions {
            globs: vec!["sub/*.jsonl*".into()],
            ..DiscoverOptions::default()
        },
    )
    .unwrap();
    assert_eq!(globbed.files.len(), 2, "{:?}", globbed.files);
}

#[test]
fn every_thread_count_and_range_size_prints_the_same_bytes() {
    let inputs = tree();
    for path in PATHS {
        let (reference, summary) = print(
            &inputs,
            path,
            &options(1, spate::parallel::DEFAULT_RANGE_SIZE),
        );
        assert_eq!(values(&reference), oracle(&inputs, path), "{path}");
        assert!(summary.errors.is_empty(), "{:?}", summary.errors);
        for threads in [1, 2, 3, 4] {
            for range in RANGES {
                let (out, s) = print(&inputs, path, &options(threads, range));
                assert!(
                    out == reference,
                    "{path} -j{threads} range {range}:\n{}\nvs\n{}",
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&reference)
                );
                assert_eq!(
                    (s.lines, s.items, s.files, s.output_lines),
                    (
                        summary.lines,
                        summary.items,
                        summary.files,
                        summary.output_lines
                    ),
                    "{path} -j{threads} range {range}"
                );
            }
        }
    }
}

#[test]
fn aggregates_and_unordered_output_agree() {
    let inputs = tree();
    let path = "message.usage.output_tokens";
    let want: i128 = oracle(&inputs, path)
        .iter()
        .map(|v| v.as_i64().unwrap() as i128)
        .sum();
    let (reference, _) = print(&inputs, path, &options(1, 1 << 20));
    let mut sorted_ref = values(&reference);
    sorted_ref.sort_by_key(|v| v.to_string());
    for threads in [1, 2, 4] {
        for range in RANGES {
            let (sums, _) = run(
                &inputs,
                &paths(path),
                &options(threads, range),
                Sum::default,
                &mut Vec::new(),
            )
            .unwrap();
            assert!(!sums.is_empty() && sums.len() <= threads);
            let total: i128 = sums.iter().map(|s| s.sum).sum();
            let count: u64 = sums.iter().map(|s| s.count).sum();
            assert_eq!(
                (total, count),
                (want, sorted_ref.len() as u64),
                "-j{threads} range {range}"
            );
            let unordered = RunOptions {
                ordered: false,
                ..options(threads, range)
            };
            let (out, _) = print(&inputs, path, &unordered);
            let mut got = values(&out);
            got.sort_by_key(|v| v.to_string());
            assert_eq!(got, sorted_ref, "unordered -j{threads} range {range}");
        }
    }
}

#[test]
fn a_limit_writes_exactly_the_first_lines() {
    let inputs = tree();
    let (reference, _) = print(&inputs, ".", &options(1, 1 << 20));
    let lines: Vec<&[u8]> = reference.split_inclusive(|&b| b == b'\n').collect();
    for limit in [
        0,
        1,
        2,
        3,
        7,
        12,
        30,
        lines.len() as u64,
        lines.len() as u64 + 5,
    ] {
        let want: Vec<u8> = lines
            .iter()
            .take(limit as usize)
            .flat_map(|l| l.to_vec())
            .collect();
        for threads in [1, 2, 4] {
            for range in [1, 7, 64, 1 << 20] {
                let o = RunOptions {
                    limit: Some(limit),
                    ..options(threads, range)
                };
                let (out, s) = print(&inputs, ".", &o);
                assert_eq!(out, want, "limit {limit} -j{threads} range {range}");
                assert_eq!(s.output_lines, limit.min(lines.len() as u64));
                let unordered = RunOptions {
                    ordered: false,
                    ..o
                };
                let (out, _) = print(&inputs, ".", &unordered);
                assert_eq!(
                    values(&out).len(),
                    want.iter().filter(|&&b| b == b'\n').count()
                );
            }
        }
    }
}

fn bad() -> Inputs {
    Inputs::from_files(&[testdata("bad/bad-lines.jsonl")], None)
}

fn error_texts(errors: &[RunError]) -> Vec<String> {
    let base = testdata("bad/bad-lines.jsonl").display().to_string();
    errors
        .iter()
        .map(|e| e.to_string().replace(&base, "FILE"))
        .collect()
}

#[test]
fn bad_lines_are_skipped_and_reported_with_line_and_column() {
    let inputs = bad();
    let mut reference = None;
    for threads in [1, 2, 3] {
        for range in [1, 2, 5, 16, 40, 1 << 20] {
            let o = RunOptions {
                on_error: OnError::Skip,
                ..options(threads, range)
            };
            let mut out = Vec::new();
            let (_, s) = run(
                &inputs,
                &paths("message.usage.output_tokens"),
                &o,
                || Print,
                &mut out,
            )
            .unwrap();
            assert_eq!(out, b"1\n3\n5\n6\n", "-j{threads} range {range}");
            assert_eq!(s.skipped, 3);
            let errors = error_texts(&s.errors);
            assert!(
                errors[0].starts_with("FILE:2:44 (byte 88): unexpected end of input"),
                "{errors:?}"
            );
            assert!(errors[1].starts_with("FILE:5:46 (byte 181): expected end of input after the top-level value, found 't'"), "{errors:?}");
            assert!(
                errors[2].starts_with("FILE:7:7 (byte 241): expected a JSON value, found ','"),
                "{errors:?}"
            );
            assert!(
                errors[2].ends_with("\n  [1, 2,, 3]\n        ^"),
                "{errors:?}"
            );
            match &reference {
                None => reference = Some(errors),
                Some(r) => assert_eq!(&errors, r),
            }
        }
    }
}

#[test]
fn the_first_bad_line_fails_the_run_after_the_lines_before_it() {
    let inputs = bad();
    for threads in [1, 2, 3] {
        for range in [1, 2, 5, 16, 40, 1 << 20] {
            let mut out = Vec::new();
            let e = match run(
                &inputs,
                &paths("message.usage.output_tokens"),
                &options(threads, range),
                || Print,
                &mut out,
            ) {
                Err(e) => e,
                Ok(_) => panic!("a bad line must fail the run"),
            };
            assert_eq!(out, b"1\n", "-j{threads} range {range}");
            assert!(e.is_invalid_data());
            assert!(error_texts(&[e])[0].starts_with("FILE:2:44 (byte 88)"));
        }
    }
}

#[test]
fn max_errors_stops_the_run() {
    let inputs = bad();
    for threads in [1, 2] {
        for range in [1, 16, 1 << 20] {
            let o = RunOptions {
                on_error: OnError::Skip,
                max_errors: Some(2),
                ..options(threads, range)
            };
            let (_, s) = run(&inputs, &[], &o, || Print, &mut Vec::new()).unwrap();
            assert_eq!(s.errors.len(), 2, "-j{threads} range {range}");
            assert!(s.stopped_early);
        }
    }
}

/// Fails on items whose value is 3.
struct FailOnThree;

impl ItemVisitor for FailOnThree {
    fn visit(&mut self, item: ItemRef<'_>, out: &mut Vec<u8>) -> Result<u64, VisitError> {
        if item.raw() == b"3" {
            return Err("three is not allowed".into());
        }
        out.extend_from_slice(item.raw());
        out.push(b'\n');
        Ok(1)
    }
}

#[test]
fn visitor_errors_name_the_input_line_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("n.jsonl");
    std::fs::write(&f, b"{\"n\":1}\n{\"n\":3}\n{\"n\":2}\n").unwrap();
    let inputs = Inputs::from_files(&[&f], None);
    let mut out = Vec::new();
    let e = match run(
        &inputs,
        &paths("n"),
        &options(2, 3),
        || FailOnThree,
        &mut out,
    ) {
        Err(e) => e,
        Ok(_) => panic!("must fail"),
    };
    assert_eq!(out, b"1\n");
    assert_eq!(
        e.to_string(),
        format!("{}:2 (byte 13): three is not allowed", f.display())
    );
    let skip = RunOptions {
        on_error: OnError::Skip,
        ..options(2, 3)
    };
    let mut out = Vec::new();
    let (_, s) = run(&inputs, &paths("n"), &skip, || FailOnThree, &mut out).unwrap();
    assert_eq!(out, b"1\n2\n");
    assert_eq!((s.skipped_items, s.errors.len()), (1, 1));
}

#[test]
fn unreadable_inputs_are_reported_and_the_run_goes_on() {
    let missing = testdata("no-such-file.jsonl");
    let good = testdata("tree/a-crlf.jsonl");
    let inputs = discover(
        &[missing.clone(), good.clone()],
        &DiscoverOptions::default(),
    )
    .unwrap();
    let (out, s) = print(&inputs, "i", &options(2, 16));
    assert_eq!(values(&out).len(), 12);
    assert_eq!(s.io_errors, 1);
    assert!(!s.errors[0].is_invalid_data());
    assert!(s.errors[0].to_string().contains("no-such-file.jsonl"));
}

/// A larger generated file: thousands of lines of random lengths, CRLF and LF, blank lines,
/// cut into many ranges.
#[test]
fn a_big_generated_file_in_many_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("big.jsonl");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&f).unwrap());
    let mut seed = 12345u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut want = 0i128;
    for i in 0..6000 {
        let r = next();
        let pad = "z".repeat((r % 300) as usize);
        let n = (r >> 20) as i64 % 1_000_000 - 1000;
        want += n as i128;
        write!(w, "{{\"pad\":\"{pad}\",\"v\":{{\"n\":{n}}},\"i\":{i}}}").unwrap();
        w.write_all(if r % 3 == 0 { b"\r\n" } else { b"\n" })
            .unwrap();
        if r % 17 == 0 {
            w.write_all(b"\n").unwrap();
        }
    }
    drop(w);
    let inputs = Inputs::from_files(&[&f], None);
    let (reference, _) = print(&inputs, "v.n", &options(1, 1 << 30));
    for threads in [1, 2, 4] {
        for range in [97, 4096, 65536] {
            let (out, s) = print(&inputs, "v.n", &options(threads, range));
            assert!(out == reference, "-j{threads} range {range}");
            assert!(s.tasks > 1 || range > 1 << 20);
            let (sums, _) = run(
                &inputs,
                &paths("v.n"),
                &options(threads, range),
                Sum::default,
                &mut Vec::new(),
            )
            .unwrap();
            assert_eq!(sums.iter().map(|s| s.sum).sum::<i128>(), want);
        }
    }
}

/// More output than the ordered-output budget (16 MiB), in many inputs: workers ahead of
/// the oldest task wait for it instead of piling output up, and the bytes still come out in
/// order.
#[test]
fn output_larger_than_the_budget_stays_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let line = format!("{{\"k\":\"{}\"}}\n", "w".repeat(1000));
    let mut files = Vec::new();
    for i in 0..24 {
        let f = dir.path().join(format!("f{i:02}.jsonl"));
        let mut text = Vec::new();
        for j in 0..(700 + i * 13) {
            text.extend_from_slice(format!("{{\"i\":{i},\"j\":{j},").as_bytes());
            text.extend_from_slice(&line.as_bytes()[1..]);
        }
        std::fs::write(&f, text).unwrap();
        files.push(f);
    }
    let inputs = Inputs::from_files(&files, None);
    let (reference, s) = print(&inputs, ".", &options(1, 1 << 30));
    assert!(
        reference.len() > spate::parallel::OUTPUT_BUDGET,
        "{}",
        reference.len()
    );
    assert_eq!(
        s.output_lines as usize,
        (0..24).map(|i| 700 + i * 13).sum::<usize>()
    );
    for (threads, range) in [(2, 1 << 20), (4, 100_000), (3, 1 << 30)] {
        let (out, _) = print(&inputs, ".", &options(threads, range));
        assert!(out == reference, "-j{threads} range {range}");
    }
}
