//! Property test of JSON Lines reading through the parallel executor: random lines (valid
//! values, blank lines, bad lines; LF or CRLF; with or without a final newline), cut into
//! random byte ranges and read by a random number of threads, give exactly what serde_json
//! finds line by line: the same items in the same order, and the same bad lines.

use std::io::Write;

use proptest::prelude::*;
use serde_json::Value;
use spate::inputs::{parse_path, Inputs};
use spate::parallel::{run, ItemVisitor, OnError, RunError, RunOptions, VisitError};
use spate::ItemRef;

struct Print;

impl ItemVisitor for Print {
    fn visit(&mut self, item: ItemRef<'_>, out: &mut Vec<u8>) -> Result<u64, VisitError> {
        item.compact_into(out);
        out.push(b'\n');
        Ok(1)
    }
}

/// One line of the file (without its line end).
fn line() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        (0i64..1000, "[a-z]{0,12}").prop_map(|(n, s)| format!("{{\"n\": {n}, \"s\": \"{s}\"}}")),
        (0i64..1000)
            .prop_map(|n| format!("{{\"v\": {{\"n\": {n}}}, \"list\": [1, {{\"n\": 2}}]}}")),
        (0i64..1000).prop_map(|n| n.to_string()),
        Just("[{\"n\": 7}, {\"n\": 8}]".to_owned()),
        Just("\"text with \\\"quotes\\\" and \\u00e9\"".to_owned()),
        Just("null".to_owned()),
    ];
    let bad = prop_oneof![
        Just("{\"n\": 1,}".to_owned()),
        Just("{\"n\": 1} {\"n\": 2}".to_owned()),
        Just("[1, 2".to_owned()),
        Just("tru".to_owned()),
        Just("{\"n\" 1}".to_owned()),
    ];
    prop_oneof![
        6 => value,
        1 => Just(String::new()),
        1 => Just("  \t".to_owned()),
        1 => bad,
    ]
}

/// What serde_json says, line by line: the items at `n` of the good lines, compacted, and
/// the numbers of the bad lines.
fn oracle(lines: &[String], path_n: bool) -> (Vec<String>, Vec<u64>) {
    let mut items = Vec::new();
    let mut bad = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(l) {
            Ok(v) => {
                if !path_n {
                    items.push(v.to_string());
                } else if let Some(n) = v.get("n") {
                    items.push(n.to_string());
                }
            }
            Err(_) => bad.push(i as u64 + 1),
        }
    }
    (items, bad)
}

fn line_of(e: &RunError) -> u64 {
    match e {
        RunError::Input(spate::Error::Syntax { location, .. }) => location.position.line,
        other => panic!("unexpected error {other}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ranges_and_threads_agree_with_serde_json(
        lines in proptest::collection::vec(line(), 0..40),
        crlf in proptest::collection::vec(any::<bool>(), 40),
        final_newline in any::<bool>(),
        range in 1u64..120,
        threads in 1usize..5,
        path_n in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.jsonl");
        let mut text = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            text.extend_from_slice(l.as_bytes());
            if i + 1 < lines.len() || final_newline {
                text.extend_from_slice(if crlf[i] { b"\r\n" } else { b"\n" });
            }
        }
        std::fs::File::create(&f).unwrap().write_all(&text).unwrap();
        let inputs = Inputs::from_files(&[&f], None);
        let options = RunOptions {
            threads,
            range_size: range,
            on_error: OnError::Skip,
            ..RunOptions::default()
        };
        let path = parse_path(if path_n { "n" } else { "." }).unwrap();
        let mut out = Vec::new();
        let (_, summary) = run(&inputs, &[path], &options, || Print, &mut out).unwrap();
        let got: Vec<String> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap().to_string())
            .collect();
        let (want, bad) = oracle(&lines, path_n);
        prop_assert_eq!(got, want);
        let bad_got: Vec<u64> = summary.errors.iter().map(line_of).collect();
        prop_assert_eq!(bad_got, bad);
        prop_assert_eq!(summary.lines, lines.len() as u64 - u64::from(lines.last().is_some_and(|l| l.is_empty()) && !final_newline));
        prop_assert_eq!(summary.bytes, text.len() as u64);
    }
}
