//! The `spate items` and `spate validate` commands, end to end: output, exit codes, error
//! messages, inputs (files, stdin, .gz, .zst), limits.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn spate() -> Command {
    Command::cargo_bin("spate").unwrap()
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sample/sessions.json")
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn sample_sessions() -> Vec<Value> {
    let doc: Value = serde_json::from_slice(&std::fs::read(sample()).unwrap()).unwrap();
    doc["sessions"].as_array().unwrap().clone()
}

fn lines_as_values(stdout: &[u8]) -> Vec<Value> {
    stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

#[test]
fn items_print_each_session_compactly() {
    let out = spate()
        .args(["items", "sessions.item"])
        .arg(sample())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(lines_as_values(&out.stdout), sample_sessions());
    // Compact: no whitespace between tokens (the sample has ", " and ": " everywhere).
    let first = out.stdout.split(|&b| b == b'\n').next().unwrap();
    assert!(first.starts_with(b"{\"session_id\":\""));
    assert!(!first.windows(4).any(|w| w == b"\", \""));
}

#[test]
fn jsonpath_and_ijson_agree_and_stdin_works() {
    let a = spate()
        .args(["items", "sessions.item.delegations.item"])
        .arg(sample())
        .output()
        .unwrap();
    let b = spate()
        .args(["items", "$.sessions[*].delegations[*]", "-"])
        .pipe_stdin(sample())
        .unwrap()
        .output()
        .unwrap();
    assert!(a.status.success() && b.status.success());
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(lines_as_values(&a.stdout).len(), 125);
}

#[test]
fn count_and_limit() {
    spate()
        .args(["items", "sessions.item", "--count"])
        .arg(sample())
        .assert()
        .success()
        .stdout("9\n");
    let out = spate()
        .args(["items", "sessions.item", "--limit", "2"])
        .arg(sample())
        .output()
        .unwrap();
    assert_eq!(
        lines_as_values(&out.stdout),
        sample_sessions()[..2].to_vec()
    );
}

#[test]
fn limit_stops_reading() {
    // The first item, then 2 MB of padding, then garbage: with --limit 1 the garbage is never
    // read, so the run succeeds.
    let dir = tempfile::tempdir().unwrap();
    let mut doc = b"[{\"first\": true}, ".to_vec();
    for _ in 0..100_000 {
        doc.extend_from_slice(b"\"padding-padding\", ");
    }
    doc.extend_from_slice(b"garbage");
    let file = write(&dir, "big.json", &doc);
    spate()
        .args(["items", "item", "--limit", "1"])
        .arg(&file)
        .assert()
        .success()
        .stdout("{\"first\":true}\n");
    spate()
        .args(["items", "item", "--count"])
        .arg(&file)
        .assert()
        .code(1);
}

#[test]
fn several_paths_are_labelled() {
    let out = spate()
        .args([
            "items",
            "-p",
            "metadata.periods",
            "-p",
            "$.sessions[0].tags",
        ])
        .arg(sample())
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines = lines_as_values(&out.stdout);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["path"], "metadata.periods");
    assert_eq!(lines[0]["value"]["P4"], "2025-09");
    assert_eq!(lines[1]["path"], "$.sessions[0].tags");
    assert!(lines[1]["value"].is_array());
    spate()
        .args([
            "items",
            "-p",
            "sessions.item",
            "-p",
            "nothing.here",
            "--count",
        ])
        .arg(sample())
        .assert()
        .success()
        .stdout(
            "{\"path\":\"sessions.item\",\"count\":9}\n{\"path\":\"nothing.here\",\"count\":0}\n",
        )
        .stderr(predicate::str::contains(
            "path \"nothing.here\" matched nothing",
        ));
}

#[test]
fn compressed_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let raw = std::fs::read(sample()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    let gz = write(&dir, "s.json.gz", &gz.finish().unwrap());
    let zst = write(&dir, "s.json.zst", &zstd::encode_all(&raw[..], 3).unwrap());
    // Magic bytes decide, not the name.
    let misnamed = write(&dir, "s.json", &std::fs::read(&zst).unwrap());
    for f in [gz, zst, misnamed] {
        spate()
            .args(["items", "sessions.item", "--count"])
            .arg(&f)
            .assert()
            .success()
            .stdout("9\n");
    }
}

#[test]
fn several_files_in_a_row() {
    spate()
        .args(["items", "sessions.item", "--count"])
        .arg(sample())
        .arg(sample())
        .assert()
        .success()
        .stdout("18\n");
}

/// Runs `spate validate` on `bytes` and returns (exit code, stderr).
fn validate(bytes: &[u8]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let f = write(&dir, "doc.json", bytes);
    let out = spate().arg("validate").arg(&f).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).replace(&f.display().to_string(), "FILE");
    (out.status.code().unwrap(), stderr)
}

#[test]
fn errors_name_file_line_column_byte_with_excerpt() {
    let (code, err) = validate(b"{\n  \"a\": [1, 2,, 3]\n}\n");
    assert_eq!(code, 1);
    assert!(
        err.starts_with("spate: FILE:2:14 (byte 15): expected a JSON value, found ','\n"),
        "{err}"
    );
    assert!(err.contains("  \"a\": [1, 2,, 3]\n"), "{err}");
    assert!(err.contains("\n               ^"), "{err}");
}

#[test]
fn invalid_inputs_are_reported_not_panicked() {
    let cases: &[(&[u8], &str)] = &[
        (b"[\"caf\xe9\"]", "1:6 (byte 5): invalid UTF-8"),
        (
            b"{\"a\": [1, 2",
            "1:12 (byte 11): unexpected end of input, expected ',' or ']'",
        ),
        (
            b"{\"a\": 1} x",
            "1:10 (byte 9): expected end of input after the top-level value, found 'x'",
        ),
        (
            b"",
            "1:1 (byte 0): unexpected end of input, expected a JSON value",
        ),
        (
            b"[\"tab\there\"]",
            "control character U+0009 in a string must be escaped",
        ),
        (
            b"[01]",
            "expected ',' or ']' after the array element, found '1'",
        ),
        (b"[tru]", "expected the literal 'true', found ']'"),
        (
            b"{\"a\" 1}",
            "expected ':' after the member name, found '1'",
        ),
    ];
    for (doc, want) in cases {
        let (code, err) = validate(doc);
        assert_eq!(code, 1, "{doc:?}: {err}");
        assert!(err.contains(want), "{doc:?}: {err}");
    }
}

#[test]
fn deep_nesting_is_a_clear_error_not_a_crash() {
    let deep = vec![b'['; 100_000];
    let (code, err) = validate(&deep);
    assert_eq!(code, 1);
    assert!(
        err.contains("nesting deeper than 1024 levels (raise the limit with --max-depth)"),
        "{err}"
    );
    // Within a raised limit, a deep valid document is fine.
    let mut ok = vec![b'['; 5000];
    ok.extend(vec![b']'; 5000]);
    let dir = tempfile::tempdir().unwrap();
    let f = write(&dir, "deep.json", &ok);
    spate()
        .args(["validate", "--max-depth", "5000"])
        .arg(&f)
        .assert()
        .success();
}

#[test]
fn item_too_large_names_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = b"[\"".to_vec();
    doc.extend(vec![b'x'; 300_000]);
    doc.extend_from_slice(b"\"]");
    let f = write(&dir, "big-item.json", &doc);
    spate()
        .args(["items", "item", "--max-item-size", "100K"])
        .arg(&f)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("larger than the 102400-byte limit")
                .and(predicate::str::contains("--max-item-size")),
        );
    spate()
        .args(["items", "item", "--max-item-size", "1M", "--count"])
        .arg(&f)
        .assert()
        .success()
        .stdout("1\n");
}

#[test]
fn usage_and_io_errors_exit_2() {
    spate()
        .args(["validate", "/nonexistent/file.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/file.json"));
    spate()
        .args(["items", "sessions.item", "/nonexistent/file.json"])
        .assert()
        .code(2);
    spate()
        .args(["items", "$[01]"])
        .arg(sample())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("leading zeros"));
    spate()
        .args(["items", "item", "--max-item-size", "lots"])
        .assert()
        .code(2);
    spate().arg("items").assert().code(2);
    spate()
        .args(["validate"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")))
        .assert()
        .code(2);
}

#[test]
fn validate_reports_each_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(&dir, "bad.json", b"[1,]");
    spate()
        .arg("validate")
        .arg(sample())
        .arg(&bad)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "sessions.json: valid JSON (644380 bytes",
        ))
        .stderr(predicate::str::contains(
            "bad.json:1:4 (byte 3): expected a JSON value, found ']'",
        ));
}

#[test]
fn closed_stdout_exits_quietly() {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("spate"))
        .args(["items", "sessions.item.delegations.item"])
        .arg(sample())
        .arg(sample())
        .arg(sample())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
