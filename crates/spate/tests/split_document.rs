//! One JSON document cut into pieces scanned at once gives exactly the answers of one
//! sequential scan: items, counts, aggregates, `with` context, errors with their
//! positions, limits and skipped items, whatever the guesses (right, inside strings, at
//! another level, none) and the thread count.

use std::path::Path as FsPath;

use proptest::prelude::*;
use spate::inputs::{parse_path, Inputs};
use spate::output::ResultSink;
use spate::parallel::{Observer, OnError, RunError, RunOptions};
use spate::query::{execute, select_paths, PathsOutput, Query};

/// Collects results.
#[derive(Default)]
struct Collect(Vec<String>);

impl ResultSink for Collect {
    fn result(&mut self, result: &[u8]) -> std::io::Result<()> {
        self.0.push(String::from_utf8_lossy(result).into_owned());
        Ok(())
    }
}

/// Collects errors as they are told (messages with positions and excerpts).
#[derive(Default)]
struct Errors(Vec<String>);

impl Observer for Errors {
    fn error(&mut self, error: RunError) {
        self.0.push(full(&error));
    }
}

/// An error's message with its excerpt (the message shows the position).
fn full(e: &RunError) -> String {
    match e {
        RunError::Input(inner) => match inner.location() {
            Some(l) => format!("{e} | {} | {:?}", l.excerpt, l.position),
            None => e.to_string(),
        },
        _ => e.to_string(),
    }
}

/// What a run answered, all of it, and how many tasks it ran.
fn answer(file: &FsPath, query: &Query, options: &RunOptions) -> (String, usize) {
    let inputs = Inputs::from_files(&[file], None);
    let mut sink = Collect::default();
    let mut errors = Errors::default();
    let out = execute(query, &inputs, options, &mut sink, &mut errors);
    let (outcome, tasks) = match out {
        Ok(o) => {
            let s = &o.summary;
            let tasks = s.tasks;
            (
                format!(
                    "ok items={} out={} bytes={} skipped={} skipped_items={} early={} matched={:?} report={:?}",
                    s.items,
                    s.output_lines,
                    // How far a scan read before it stopped or failed depends on how its
                    // input was sliced (read sizes), not only on the input.
                    if s.stopped_early || s.skipped > 0 { 0 } else { s.bytes },
                    s.skipped,
                    o.skipped_items,
                    s.stopped_early,
                    s.path_matched,
                    o.report.map(|r| r.to_json_lines())
                ),
                tasks,
            )
        }
        Err(e) => (
            format!("err {} invalid={}", full(&e), e.is_invalid_data()),
            0,
        ),
    };
    (
        format!("{outcome}\nresults: {:?}\nerrors: {:?}", sink.0, errors.0),
        tasks,
    )
}

/// The answer of `select_paths` (labelled items, or counts per path).
fn paths_answer(
    file: &FsPath,
    paths: &[&str],
    output: PathsOutput,
    options: &RunOptions,
) -> String {
    let inputs = Inputs::from_files(&[file], None);
    let paths: Vec<_> = paths.iter().map(|p| parse_path(p).unwrap()).collect();
    let mut sink = Collect::default();
    let mut errors = Errors::default();
    let out = select_paths(&paths, &inputs, options, output, &mut sink, &mut errors);
    let outcome = match out {
        Ok(o) => format!(
            "ok counts={:?} items={} matched={:?}",
            o.counts, o.summary.items, o.summary.path_matched
        ),
        Err(e) => format!("err {}", full(&e)),
    };
    format!("{outcome}\nresults: {:?}\nerrors: {:?}", sink.0, errors.0)
}

fn sequential() -> RunOptions {
    RunOptions {
        threads: 1,
        ..RunOptions::default()
    }
}

fn pieces(threads: usize, piece: u64) -> RunOptions {
    RunOptions {
        threads,
        document_piece: piece,
        ..RunOptions::default()
    }
}

/// The queries compared: plain items, nested items with context, filters, aggregates.
fn queries() -> Vec<Query> {
    vec![
        Query::new("sessions.item").unwrap(),
        Query::new("$.sessions[*]").unwrap().count_only(true),
        Query::new("sessions.item.delegations.item").unwrap(),
        Query::new("sessions.item.delegations.item")
            .unwrap()
            .with("sid", "sessions.item.id")
            .unwrap()
            .jq("select(.agent == \"dev\") | .sid")
            .unwrap(),
        Query::new("sessions.item")
            .unwrap()
            .jq("select(.delegations | length > 1) | .id")
            .unwrap(),
        Query::new("sessions.item.delegations.item")
            .unwrap()
            .group_by(".agent")
            .unwrap()
            .count()
            .sum(".tokens")
            .unwrap(),
        // A filter that fails on some items: their numbers in messages count from the
        // document's start.
        Query::new("sessions.item")
            .unwrap()
            .jq("if .n % 5 == 3 then error(\"bad\") else .n end")
            .unwrap(),
        Query::new("sessions.item.delegations.item")
            .unwrap()
            .with("sid", "sessions.item.id")
            .unwrap()
            .jq("if .tokens == 2 then error(.sid) else .id end")
            .unwrap(),
    ]
}

fn write(dir: &tempfile::TempDir, doc: &[u8]) -> std::path::PathBuf {
    let file = dir.path().join("doc.json");
    std::fs::write(&file, doc).unwrap();
    file
}

/// Compares every query, with and without a limit and in both error modes, between the
/// sequential scan and pieces of `piece` bytes on 2 and 3 threads. Returns the most tasks
/// a cut run had.
fn compare(doc: &[u8], piece: u64) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, doc);
    let mut most = 0;
    for query in queries() {
        for (limit, on_error) in [
            (None, OnError::Fail),
            (None, OnError::Skip),
            (Some(3), OnError::Fail),
            (Some(2), OnError::Skip),
        ] {
            // The file read (not mapped) by one thread is the reference.
            let seq = RunOptions {
                limit,
                on_error,
                map_files_from: None,
                ..sequential()
            };
            let (want, _) = answer(&file, &query, &seq);
            let mapped = RunOptions {
                map_files_from: Some(0),
                ..seq.clone()
            };
            assert_eq!(answer(&file, &query, &mapped).0, want, "{query:?} mapped");
            // Pieces mapped on 2 threads, read on 3.
            for (threads, map_files_from) in [(2, Some(0)), (3, None)] {
                let par = RunOptions {
                    limit,
                    on_error,
                    map_files_from,
                    ..pieces(threads, piece)
                };
                let (got, tasks) = answer(&file, &query, &par);
                most = most.max(tasks);
                assert_eq!(
                    got, want,
                    "{query:?} {limit:?} {on_error:?} j{threads} {map_files_from:?}"
                );
            }
        }
    }
    // Unordered output: a piece's output still waits for its confirmation, so the same
    // results come out (here in the same order: one input).
    let q = Query::new("sessions.item.delegations.item")
        .unwrap()
        .with("sid", "sessions.item.id")
        .unwrap();
    let (want, _) = answer(&file, &q, &sequential());
    let unordered = RunOptions {
        ordered: false,
        ..pieces(2, piece)
    };
    assert_eq!(answer(&file, &q, &unordered).0, want, "unordered");
    for output in [PathsOutput::Labelled, PathsOutput::Counts] {
        let paths = ["sessions.item.delegations.item", "sessions.item.id"];
        let want = paths_answer(&file, &paths, output, &sequential());
        for threads in [2, 3] {
            let got = paths_answer(&file, &paths, output, &pieces(threads, piece));
            assert_eq!(got, want, "{output:?} j{threads}");
        }
    }
    most
}

/// A sessions document: both levels' objects start with the member `id`.
fn doc(sessions: &[(&str, usize)], pretty: bool) -> Vec<u8> {
    let mut out = String::from("{\"meta\": {\"id\": \"m\"}, \"sessions\": [");
    for (i, (text, delegations)) in sessions.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if pretty {
            out.push_str("\n  ");
        }
        let ds: Vec<String> = (0..*delegations)
            .map(|d| {
                let agent = ["dev", "qa", "ops"][d % 3];
                format!("{{\"id\": \"d{i}.{d}\", \"agent\": \"{agent}\", \"tokens\": {d}}}")
            })
            .collect();
        let sep = if pretty { ",\n    " } else { "," };
        out.push_str(&format!(
            "{{\"id\": \"s{i}\", \"n\": {i}, \"note\": {}, \"delegations\": [{}]}}",
            serde_json::to_string(text).unwrap(),
            ds.join(sep)
        ));
    }
    out.push_str("], \"tail\": {\"id\": 1}}\n");
    out.into_bytes()
}

#[test]
fn right_guesses_give_the_sequential_answers() {
    let sessions: Vec<(&str, usize)> = (0..40).map(|i| ("plain", i % 4)).collect();
    for pretty in [false, true] {
        let d = doc(&sessions, pretty);
        for piece in [16, 100, 700] {
            let tasks = compare(&d, piece);
            assert!(tasks > 2, "the document was cut ({tasks} tasks)");
        }
    }
}

#[test]
fn wrong_guesses_inside_strings_and_at_the_delegations_level_cost_nothing() {
    // Minified: every delegation starts like a session (`{"id"`), and notes hold the
    // signature's text.
    let sessions: Vec<(&str, usize)> = (0..30)
        .map(|i| {
            let note = [
                "x,{\"id\": 1}",
                ",{\"id\"",
                "\\\",{\"id\"",
                "{,}",
                "é\u{1F600}",
            ][i % 5];
            (note, 3 + i % 2)
        })
        .collect();
    let mut d = doc(&sessions, false);
    // Raw signature text inside a string: `"...,{\"id\"..."` cannot hold it unescaped, so
    // put a member name after a comma-brace in a nested array of strings instead.
    let at = d.windows(6).position(|w| w == b"\"tail\"").unwrap();
    d.splice(at..at, b"\"odd\": [\",{\", \"id\"], ".iter().copied());
    for piece in [8, 33, 120] {
        compare(&d, piece);
    }
}

#[test]
fn no_signature_or_no_objects_leave_the_document_whole() {
    let dir = tempfile::tempdir().unwrap();
    // Elements are numbers: not cut.
    let numbers = format!(
        "{{\"sessions\": [{}]}}",
        (0..200)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let file = write(&dir, numbers.as_bytes());
    let q = Query::new("sessions.item").unwrap();
    let (want, _) = answer(&file, &q, &sequential());
    let (got, tasks) = answer(&file, &q, &pieces(2, 16));
    assert_eq!(got, want);
    assert_eq!(tasks, 1);
    // One session only: no later element start to guess.
    let one = doc(&[("only", 1)], false);
    let file = write(&dir, &one);
    let (want, _) = answer(&file, &q, &sequential());
    let (got, tasks) = answer(&file, &q, &pieces(2, 16));
    assert_eq!(got, want);
    assert_eq!(tasks, 1);
    // Paths that are not cut on: an index, paths through different arrays.
    let d = doc(&[("a", 1), ("b", 2), ("c", 0), ("d", 3)], true);
    let file = write(&dir, &d);
    for q in [
        Query::new("$.sessions[1]").unwrap(),
        Query::new("sessions.item")
            .unwrap()
            .with("m", "meta.id")
            .unwrap(),
        Query::new("$..id").unwrap(),
    ] {
        let (want, _) = answer(&file, &q, &sequential());
        let (got, tasks) = answer(&file, &q, &pieces(2, 16));
        assert_eq!(got, want, "{q:?}");
        assert_eq!(tasks, 1, "{q:?}");
    }
}

#[test]
fn errors_in_the_first_middle_and_last_pieces_are_told_as_sequentially() {
    let sessions: Vec<(&str, usize)> = (0..24).map(|i| ("n", i % 3)).collect();
    let good = doc(&sessions, true);
    let len = good.len();
    for at in [len / 10, len / 2, len - 30, len - 2] {
        for bad in [b'x', b'}', b'"', 0xff] {
            let mut d = good.clone();
            d[at] = bad;
            compare(&d, 64);
        }
        // Truncated there.
        compare(&good[..at], 64);
    }
    // Trailing content after the document.
    let mut d = good.clone();
    d.extend_from_slice(b" {}");
    compare(&d, 64);
}

#[test]
fn with_context_at_the_split_level() {
    let sessions: Vec<(&str, usize)> = (0..20).map(|i| ("n", i % 4)).collect();
    let d = doc(&sessions, true);
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, &d);
    let q = Query::new("sessions.item.delegations.item")
        .unwrap()
        .with("sid", "sessions.item.id")
        .unwrap()
        .with("n", "sessions.item.n")
        .unwrap();
    let (want, _) = answer(&file, &q, &sequential());
    let (got, tasks) = answer(&file, &q, &pieces(2, 50));
    assert_eq!(got, want);
    assert!(tasks > 2);
}

/// Strings that make trouble for guesses: the signature's pieces, escapes.
fn note() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "",
        "plain",
        ",{\"id\"",
        "{\"id\": 1}, {",
        "\\",
        "\"",
        ",\n  {\"id\"",
        "é\u{1F600}\u{0}",
        "]}",
    ])
    .prop_map(str::to_owned)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn pieces_answer_as_one_sequential_scan(
        sessions in prop::collection::vec((note(), 0usize..5), 1..25),
        pretty in any::<bool>(),
        piece in 4u64..300,
        damage in prop::option::of((any::<prop::sample::Index>(), prop::sample::select(vec![
            b'x', b'}', b']', b'"', b',', b'{', b'\\', 0xff, b'\n',
        ]))),
        truncate in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let notes: Vec<(&str, usize)> = sessions.iter().map(|(s, n)| (s.as_str(), *n)).collect();
        let mut d = doc(&notes, pretty);
        if let Some((at, byte)) = damage {
            let i = at.index(d.len());
            d[i] = byte;
        }
        if let Some(at) = truncate {
            let n = at.index(d.len());
            d.truncate(n);
        }
        compare(&d, piece);
    }
}
