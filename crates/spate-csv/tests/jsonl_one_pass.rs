//! JSON Lines inference in the scanner's pass against the route it replaced: validate each
//! line with spate's selector, then walk it with the [`JsonState`]. On random JSON Lines
//! (bad lines, deep nesting, big numbers, escapes, repeated names included) both give the
//! same schema, or the same error message, whether read from a reader or from a file in
//! byte ranges on several threads.

use std::ops::ControlFlow;

use proptest::prelude::*;
use spate::jsonl::{select_line, Lines, LinesOptions};
use spate::{BufferSelector, ItemsOptions};
use spate_csv::json::JsonState;
use spate_csv::{infer_jsonl_path, infer_jsonl_reader, Format, JsonOptions, Schema};

/// The two-pass route, as spate-csv read JSON Lines before inference moved into the scan.
fn two_pass(text: &[u8], name: &str, options: &JsonOptions) -> Result<Schema, String> {
    let max_line = options.items.max_item_size;
    let mut lines = Lines::new(
        text,
        LinesOptions {
            max_line,
            ..LinesOptions::default()
        },
    );
    let mut selector = BufferSelector::with_options(
        Vec::new(),
        spate_json::ScanOptions {
            max_depth: options.items.max_depth,
            ..spate_json::ScanOptions::default()
        },
    )
    .unwrap();
    let mut state = JsonState::default();
    let mut complete = true;
    while let Some(line) = lines.next_line().unwrap() {
        if line.is_blank() {
            continue;
        }
        if options.sample.is_some_and(|s| state.rows >= s) {
            complete = false;
            break;
        }
        select_line(&mut selector, name, &line, max_line, |_| {
            ControlFlow::Continue(())
        })
        .map_err(|e| spate_csv::Error::from(e).to_string())?;
        state.observe(line.text, line.offset);
    }
    Ok(state.schema(
        Format::JsonLines,
        options.sample,
        complete,
        lines.line_bytes(),
    ))
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(vec!["a", "b", "id", "ts", "x.y", "", "type"]).prop_map(str::to_owned),
        1 => proptest::sample::select(vec![r"\u0061", r#"a\"b"#, r"\n", r"\ud83d\ude00", "é", r"b\/c"]).prop_map(str::to_owned),
    ]
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("false".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("123456789012345678901234567890".to_owned()),
        Just("-9223372036854775809".to_owned()),
        Just("1e400".to_owned()),
        Just("-0.0".to_owned()),
        Just("2.5E-3".to_owned()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}")),
        proptest::sample::select(vec![
            "\"2024-01-01\"",
            "\"2024-02-30\"",
            "\"2024-01-0\\u0031\"",
            "\"2024-01-01T10:00:00Z\"",
            "\"2024-01-01 10:00:00\"",
            "\"NaN\"",
            "\"-Infinity\"",
            "\"12\"",
            "\"x\"",
            "\"\"",
            "\"a\\\\b\\\"c\"",
            "\"\\ud83d\\ude00\"",
            "\"é\"",
        ])
        .prop_map(str::to_owned),
    ]
}

fn value() -> impl Strategy<Value = String> {
    scalar().prop_recursive(5, 40, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4)
                .prop_map(|v| format!("[{}]", v.join(", "))),
            proptest::collection::vec((key(), inner), 0..5).prop_map(|members| {
                let m: Vec<String> = members
                    .iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect();
                format!("{{{}}}", m.join(","))
            }),
        ]
    })
}

/// A line: mostly objects, some other values, blank lines, deep nesting, and now and then a
/// byte deleted, doubled or replaced (which usually makes it invalid).
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => proptest::collection::vec((key(), value()), 0..6).prop_map(|members| {
            let m: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
            format!("{{{}}}", m.join(", "))
        }),
        2 => value(),
        1 => Just(String::new()),
        1 => Just("  \t".to_owned()),
        1 => (60usize..72).prop_map(|d| format!("{}1{}", "{\"a\":".repeat(d), "}".repeat(d))),
        1 => (1usize..40).prop_map(|d| format!("{}{}", "[".repeat(d), "]".repeat(d))),
    ]
}

/// Bytes deleted, doubled or replaced (invalid UTF-8 included) at `at`, by `how`.
fn corrupt(line: String, how: u8, at: usize) -> Vec<u8> {
    let mut b = line.into_bytes();
    if b.is_empty() {
        return b"{".to_vec();
    }
    let at = at % b.len();
    match how {
        0 => {
            b.remove(at);
        }
        1 => b.insert(at, b[at]),
        2 => b[at] = b"x,:\"}]\\\x01"[at % 8],
        3 => b.insert(at, 0xff),
        _ => {}
    }
    b
}

fn text() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec((line(), 0u8..40, any::<usize>(), any::<bool>()), 0..30).prop_map(
        |lines| {
            let mut text = Vec::new();
            for (l, how, at, crlf) in lines {
                text.extend_from_slice(&corrupt(l, how, at));
                text.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            }
            text
        },
    )
}

fn compare(text: &[u8], options: &JsonOptions) {
    let want = two_pass(text, "t.jsonl", options);
    let got = infer_jsonl_reader(text, "t.jsonl", options).map_err(|e| e.to_string());
    let shown = String::from_utf8_lossy(text);
    assert_eq!(got, want, "reader, text:\n{shown}");
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, text).unwrap();
    let name = file.path().display().to_string();
    let want = want.map_err(|e| e.replacen("t.jsonl", &name, 1));
    for (threads, range_size) in [(1, 7), (3, 1), (2, 64), (2, 1 << 20)] {
        let options = JsonOptions {
            threads,
            range_size,
            ..options.clone()
        };
        let got = infer_jsonl_path(file.path(), &options).map_err(|e| e.to_string());
        assert_eq!(
            got, want,
            "{threads} threads, ranges of {range_size}, text:\n{shown}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn one_pass_equals_validate_then_walk(text in text()) {
        compare(&text, &JsonOptions::default());
    }

    #[test]
    fn one_pass_equals_validate_then_walk_with_limits(text in text(), sample in proptest::option::of(0u64..20)) {
        let options = JsonOptions {
            sample,
            items: ItemsOptions { max_depth: 6, max_item_size: 120, ..ItemsOptions::default() },
            ..JsonOptions::default()
        };
        compare(&text, &options);
    }
}

#[test]
fn the_bundled_shapes_agree() {
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!(
            "{{\"id\": {i}, \"n\": {{\"a\": {}, \"b\": \"2024-01-{:02}\"}}, \"s\": \"x\\\"{i}\", \"a\": [{i}], \"t{}\": null}}\n",
            i as f64 / 7.0,
            1 + i % 28,
            i % 13
        ));
    }
    compare(text.as_bytes(), &JsonOptions::default());
    let bad = text.replacen("\"id\": 2000,", "\"id\": 2000,,", 1);
    compare(bad.as_bytes(), &JsonOptions::default());
}
