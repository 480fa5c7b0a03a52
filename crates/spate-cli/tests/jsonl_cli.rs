//! `spate items` and `spate validate` on JSON Lines: every command form gives byte-identical
//! output with one thread and with several, whatever the byte ranges a big file is cut into
//! (ranges of a few bytes split lines, CRLF pairs and the last line without a newline).

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use predicates::prelude::*;

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/jsonl")
        .join(rel)
}

fn spate() -> Command {
    let mut c = Command::cargo_bin("spate").unwrap();
    c.env_remove("SPATE_LOG").env_remove("SPATE_RANGE_SIZE");
    c
}

fn run(args: &[&str], threads: usize, range: Option<&str>) -> Output {
    let mut c = spate();
    c.args(args).arg(format!("-j{threads}"));
    if let Some(r) = range {
        c.args(["--range-size", r]);
    }
    c.output().unwrap()
}

/// The command forms of `spate items`, over the fixture tree (one argument list each; the
/// tree is appended).
const FORMS: &[&[&str]] = &[
    &["items", "."],
    &["items", "$"],
    &["items", "message.usage.output_tokens"],
    &["items", "message.content.item"],
    &["items", "$.message.content[*].n"],
    &[
        "items",
        ".",
        "-f",
        "objects | select(.type == \"assistant\") | .message.usage.output_tokens",
    ],
    &["items", ".", "-f", ".sessionId?", "-r"],
    &[
        "items",
        "message.content.item",
        "--with",
        "session=sessionId",
        "--with",
        "t=type",
    ],
    &[
        "items",
        ".",
        "--group-by",
        ".sessionId",
        "--count",
        "--sum",
        ".message.usage.output_tokens",
        "--max",
        ".i",
    ],
    &[
        "items",
        ".",
        "-f",
        "objects | select(.type == \"assistant\")",
        "--group-by",
        ".sessionId",
        "--sum",
        ".message.usage.input_tokens",
        "--mean",
        ".i",
    ],
    &["items", "message.usage.output_tokens", "--sum", "."],
    &["items", ".", "--count"],
    &["items", ".", "--limit", "7"],
    &["items", "message.content.item", "--limit", "13"],
    &["items", ".", "-f", ".i?", "--limit", "5"],
    &["items", ".", "-o", "json", "-f", "objects | {i, type}"],
    &[
        "items",
        ".",
        "-o",
        "csv",
        "-f",
        "objects | {i, type, s: .sessionId}",
    ],
    &[
        "items",
        ".",
        "--group-by",
        ".type",
        "--count",
        "-o",
        "table",
    ],
    &[
        "items",
        "-p",
        "message.usage.output_tokens",
        "-p",
        "i",
        "-p",
        "message.content.item",
    ],
    &[
        "items",
        "-p",
        "message.usage.output_tokens",
        "-p",
        "i",
        "--count",
    ],
    &[
        "items",
        "-p",
        "message.usage.output_tokens",
        "-p",
        "i",
        "--count",
        "--limit",
        "9",
    ],
    &["validate"],
];

#[test]
fn every_form_is_byte_identical_with_one_thread_and_many() {
    let tree = testdata("tree");
    let tree = tree.to_str().unwrap();
    for form in FORMS {
        let mut args: Vec<&str> = form.to_vec();
        args.push(tree);
        let reference = run(&args, 1, None);
        assert!(
            reference.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&reference.stderr)
        );
        assert!(!reference.stdout.is_empty(), "{args:?}");
        for threads in [1, 2, 4] {
            for range in ["1", "3", "64", "1K", "8M"] {
                let out = run(&args, threads, Some(range));
                assert_eq!(out.status.code(), Some(0), "{args:?} -j{threads} {range}");
                assert!(
                    out.stdout == reference.stdout,
                    "{args:?} -j{threads} --range-size {range}:\n{}\nvs\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&reference.stdout)
                );
                assert_eq!(out.stderr, reference.stderr, "{args:?} -j{threads} {range}");
            }
        }
    }
}

#[test]
fn sums_and_counts_are_right() {
    let tree = testdata("tree");
    // Sum of message.usage.output_tokens over the tree, computed by hand from the fixture
    // generator: i*7+1 for i in 0..12 (CRLF file), 20..29, 40..43, 50..60, 60..64; plus 9
    // in the mixed file (its 5 is inside an array line, not at the path) and 1000 in the
    // document.
    let lines: u64 = [0..12, 20..29, 40..43, 50..60, 60..64]
        .into_iter()
        .flatten()
        .map(|i| i * 7 + 1)
        .sum();
    let want = lines + 9 + 1000;
    spate()
        .args(["items", "message.usage.output_tokens", "--sum", "."])
        .arg(&tree)
        .assert()
        .success()
        .stdout(format!("{{\"sum(.)\":{want}}}\n"));
    // Every JSON text of the tree: 12 + 9 + 4 (named .json) + 3 + 6 + 10 lines, 1 document.
    spate()
        .args(["items", ".", "--count"])
        .arg(&tree)
        .assert()
        .success()
        .stdout("45\n");
}

#[test]
fn unordered_output_has_the_same_lines() {
    let tree = testdata("tree");
    let sorted = |o: Output| {
        let mut lines: Vec<Vec<u8>> = o
            .stdout
            .split(|&b| b == b'\n')
            .map(<[u8]>::to_vec)
            .collect();
        lines.sort();
        lines
    };
    let args = ["items", "message.content.item", tree.to_str().unwrap()];
    let reference = sorted(run(&args, 1, None));
    for range in ["2", "100"] {
        let mut unordered = args.to_vec();
        unordered.push("--unordered");
        assert_eq!(sorted(run(&unordered, 3, Some(range))), reference);
    }
}

#[test]
fn bad_lines_fail_or_are_skipped_and_counted() {
    let bad = testdata("bad/bad-lines.jsonl");
    let name = bad.display().to_string();
    for threads in ["-j1", "-j3"] {
        // fail (default): the lines before the first bad one, then the error, exit 1.
        spate()
            .args([
                "items",
                "message.usage.output_tokens",
                threads,
                "--range-size",
                "5",
            ])
            .arg(&bad)
            .assert()
            .code(1)
            .stdout("1\n")
            .stderr(predicate::str::starts_with(format!(
                "spate: {name}:2:44 (byte 88): unexpected end of input"
            )));
        // skip: every bad line reported in order, the rest printed, the count, exit 1.
        let out = spate()
            .args([
                "items",
                "message.usage.output_tokens",
                "--on-error",
                "skip",
                threads,
                "--range-size",
                "5",
            ])
            .arg(&bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(out.stdout, b"1\n3\n5\n6\n");
        let err = String::from_utf8_lossy(&out.stderr);
        let at: Vec<&str> = err
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("spate: {name}:")))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        assert_eq!(at, ["2:44", "5:46", "7:7"], "{err}");
        assert!(
            err.contains("spate: 3 bad lines or documents skipped (--on-error skip)"),
            "{err}"
        );
    }
}

#[test]
fn validate_reports_every_bad_line_up_to_max_errors() {
    let bad = testdata("bad/bad-lines.jsonl");
    let good = testdata("tree/a-crlf.jsonl");
    let name = bad.display().to_string();
    for threads in ["-j1", "-j2"] {
        let out = spate()
            .args(["validate", threads, "--range-size", "7"])
            .arg(&good)
            .arg(&bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            stdout,
            format!(
                "{}: valid JSON Lines (18 lines, 1828 bytes)\n",
                good.display()
            )
        );
        let err = String::from_utf8_lossy(&out.stderr);
        for at in ["2:44 (byte 88)", "5:46 (byte 181)", "7:7 (byte 241)"] {
            assert!(err.contains(&format!("{name}:{at}: ")), "{at}: {err}");
        }
        assert!(err.contains("  [1, 2,, 3]\n        ^"), "{err}");
        let out = spate()
            .args(["validate", threads, "--max-errors", "2"])
            .arg(&bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.matches(&name).count(), 2, "{err}");
        assert!(err.contains("stopped after 2 errors"), "{err}");
    }
}

#[test]
fn formats_globs_directories_and_stdin() {
    let tree = testdata("tree");
    // A directory walk without --glob skips notes.txt; with a glob only matching files.
    spate()
        .args(["items", ".", "--count", "--glob", "**/*.ndjson"])
        .arg(&tree)
        .assert()
        .success()
        .stdout("3\n");
    spate()
        .args(["items", ".", "--count", "--glob", "*.nothing"])
        .arg(&tree)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no input files found"));
    // Forcing the document format on JSON Lines is an error at the second line.
    spate()
        .args(["validate", "--format", "json"])
        .arg(testdata("tree/a-crlf.jsonl"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "a-crlf.jsonl:4:1 (byte 152): expected end of input",
        ));
    // Standard input is sniffed.
    spate()
        .args(["items", "n"])
        .write_stdin("{\"n\": 1}\r\n\n{\"n\": 2}")
        .assert()
        .success()
        .stdout("1\n2\n");
    spate()
        .args(["items", "item", "--format", "jsonl"])
        .write_stdin("[1, 2]\n[3]\n")
        .assert()
        .success()
        .stdout("1\n2\n3\n");
}

#[test]
fn stats_and_logs_go_to_stderr() {
    let tree = testdata("tree");
    spate()
        .args(["items", ".", "--count", "--stats", "-j2"])
        .arg(&tree)
        .assert()
        .success()
        .stdout("45\n")
        .stderr(predicate::str::contains(
            "spate: stats: 8 files, 51 lines, 45 items",
        ));
    spate()
        .env("SPATE_LOG", "debug")
        .args(["validate", "-q"])
        .arg(&tree)
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("task done").and(predicate::str::contains("planned")));
}

#[test]
fn a_missing_file_is_reported_and_the_others_are_read() {
    let out = spate()
        .args(["items", "i", "--count"])
        .arg(testdata("nope.jsonl"))
        .arg(testdata("tree/a-crlf.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stdout, b"12\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.jsonl"));
}

#[test]
fn compressed_json_lines_are_read_like_plain_ones() {
    let plain = std::fs::read(testdata("tree/a-crlf.jsonl")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let zst = dir.path().join("a.jsonl.zst");
    std::fs::write(&zst, zstd::encode_all(&plain[..], 3).unwrap()).unwrap();
    // Misnamed: the magic bytes decide, and the content says JSON Lines.
    let misnamed = dir.path().join("a.data");
    std::fs::write(&misnamed, zstd::encode_all(&plain[..], 3).unwrap()).unwrap();
    let want = run(
        &[
            "items",
            "message.usage",
            testdata("tree/a-crlf.jsonl").to_str().unwrap(),
        ],
        1,
        None,
    );
    assert!(want.status.success());
    for f in [&zst, &misnamed] {
        for threads in [1, 2] {
            let out = run(
                &["items", "message.usage", f.to_str().unwrap()],
                threads,
                Some("3"),
            );
            assert_eq!(out.stdout, want.stdout, "{}", f.display());
        }
    }
}

#[test]
fn with_fields_belong_to_their_own_line() {
    // The field comes after the items in line 1, is missing in line 2 (no value carried
    // over from line 1), and comes first in line 3.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("w.jsonl");
    std::fs::write(
        &f,
        "{\"content\":[{\"n\":1},{\"n\":2}],\"sid\":\"x\"}\n{\"content\":[{\"n\":3}]}\n{\"sid\":\"z\",\"content\":[{\"n\":4}]}\n",
    )
    .unwrap();
    for threads in [1, 3] {
        let out = run(
            &[
                "items",
                "content.item",
                "--with",
                "s=sid",
                f.to_str().unwrap(),
            ],
            threads,
            Some("5"),
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "{\"n\":1,\"s\":\"x\"}\n{\"n\":2,\"s\":\"x\"}\n{\"n\":3,\"s\":null}\n{\"n\":4,\"s\":\"z\"}\n"
        );
    }
}
