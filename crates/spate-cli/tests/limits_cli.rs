//! Limits of issue 11, end to end: each reached limit is an error naming it (with a hint
//! naming a flag the command has), never a crash, a hang or a silent wrong answer.

use std::path::PathBuf;

use assert_cmd::Command;

fn spate() -> Command {
    let mut c = Command::cargo_bin("spate").unwrap();
    c.env_remove("SPATE_LOG");
    c
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn nested(depth: usize) -> Vec<u8> {
    let mut doc = vec![b'['; depth];
    doc.extend(std::iter::repeat_n(b']', depth));
    doc
}

/// Row 4: raising `--max-depth` never crashes: values handed to a filter or an aggregate
/// are limited to 1,024 levels, with an error naming that limit (before: a stack overflow
/// aborted the process).
#[test]
fn deep_items_are_an_error_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let deep = write(&dir, "deep.json", &nested(10_000));
    for args in [
        &["-f", "length"][..],
        &["--sum", "length"],
        &["--group-by", "length", "--count"],
        &["-f", "."],
    ] {
        let out = spate()
            .args(["items", ".", "--max-depth", "20000"])
            .arg(&deep)
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("nests deeper than 1024 levels"),
            "{args:?}: {err}"
        );
    }
    // Without a filter the item is only copied: any depth the scanner takes is fine.
    let out = spate()
        .args(["items", ".", "--max-depth", "20000"])
        .arg(&deep)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), 20_001);
    // At the limit, a filter gets the whole value.
    let at_limit = write(&dir, "1024.json", &nested(1024));
    let out = spate()
        .args(["items", ".", "-f", "."])
        .arg(&at_limit)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 2049);
}

/// Row 5: a number of millions of digits is refused with an error naming the limit, at
/// once (before: a sum of one 10-million-digit number took 97 s, growing with the square
/// of its length).
#[test]
fn numbers_longer_than_the_limit_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut line = b"{\"v\":".to_vec();
    line.extend(std::iter::repeat_n(b'7', 2_000_000));
    line.extend_from_slice(b"}\n");
    let big = write(&dir, "big.jsonl", &line);
    for (args, says) in [
        (&["--sum", ".v"][..], "more than 10000 digits"),
        (&["--min", ".v"], "more than 10000 digits"),
        (&["--group-by", ".v", "--count"], "more than 10000 digits"),
        (&["-f", ".v + 1"], "more than 10000 digits"),
    ] {
        let out = spate()
            .args(["items", "."])
            .arg(&big)
            .args(args)
            .timeout(std::time::Duration::from_secs(30))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // At the limit, the sum is exact.
    let mut line = b"{\"v\":".to_vec();
    line.extend(std::iter::repeat_n(b'9', 10_000));
    line.extend_from_slice(b"}\n{\"v\":1}\n");
    let at_limit = write(&dir, "limit.jsonl", &line);
    let out = spate()
        .args(["items", "."])
        .arg(&at_limit)
        .args(["--sum", ".v"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let want = format!("{{\"sum(.v)\":1{}}}\n", "0".repeat(10_000));
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
}

/// Row 10: group keys compare numbers by value, the same on the fast path and through jq
/// (before: 5 groups, and 4 through jq, where jq finds 2).
#[test]
fn group_keys_compare_numbers_by_value() {
    let input = "{\"v\":1E2}\n{\"v\":100}\n{\"v\":100.0}\n{\"v\":0}\n{\"v\":-0}\n{\"v\":1.50}\n{\"v\":1.5}\n";
    for key in [".v", ".v|."] {
        let k = serde_json::to_string(key).unwrap();
        assert_eq!(
            group_counts(input, key),
            format!("{{{k}:0,\"count\":2}}\n{{{k}:1.5,\"count\":2}}\n{{{k}:100,\"count\":3}}\n"),
            "{key}"
        );
    }
}

/// `items . --format jsonl --group-by KEY --count` over `input`: its standard output.
fn group_counts(input: &str, key: &str) -> String {
    let out = spate()
        .args([
            "items",
            ".",
            "--format",
            "jsonl",
            "--group-by",
            key,
            "--count",
        ])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Strings are grouped by their text, however they are escaped, on the fast path as through
/// jq (before: `"A"` and `"\u0041"` were two groups on the fast path, one through jq).
#[test]
fn group_keys_compare_strings_by_text() {
    let input = "{\"v\":\"A\"}\n{\"v\":\"\\u0041\"}\n{\"v\":\"\\u00e9\"}\n{\"v\":\"\u{e9}\"}\n{\"v\":\"\\/\"}\n";
    for key in [".v", ".v|."] {
        let k = serde_json::to_string(key).unwrap();
        assert_eq!(
            group_counts(input, key),
            format!(
                "{{{k}:\"/\",\"count\":1}}\n{{{k}:\"A\",\"count\":2}}\n{{{k}:\"\u{e9}\",\"count\":2}}\n"
            ),
            "{key}"
        );
    }
}

/// Row 8: invalid UTF-8 in a CSV header (or a UTF-16 file) is exit 1 with its position,
/// before any output (the old release build printed a column "caf\u{FFFD}" and exit 0).
#[test]
fn invalid_utf8_in_csv_is_an_error_before_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let latin1 = write(&dir, "h.csv", b"caf\xe9,b\n1,2\n");
    let utf16 = write(
        &dir,
        "u16.csv",
        b"\xff\xfea\x00,\x00b\x00\n\x001\x00,\x002\x00\n\x00",
    );
    for path in [latin1, utf16] {
        let out = spate().arg("schema").arg(&path).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(err.contains("line 1: invalid UTF-8"), "{err}");
    }
}

/// Row 12: an error about a huge value shows an excerpt of it (before: `-f '.x'` on a
/// 50 MB string gave a 50 MB message).
#[test]
fn errors_show_an_excerpt_of_huge_values() {
    let mut line = b"\"".to_vec();
    line.extend(std::iter::repeat_n(b'x', 5_000_000));
    line.extend_from_slice(b"\"\n");
    let out = spate()
        .args(["items", ".", "--format", "jsonl", "-f", ".x"])
        .write_stdin(line)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", &err[..err.len().min(500)]);
    assert!(err.len() < 1_000, "{} bytes of message", err.len());
    assert!(err.contains("cannot index"), "{err}");
    assert!(err.contains("more bytes)"), "{err}");
}

/// Row 13: hints name flags the command has: `schema` (no --max-depth) gets none, `items`
/// and `validate` name --max-depth; validate names --max-line-size for a long line.
#[test]
fn hints_name_flags_the_command_has() {
    let dir = tempfile::tempdir().unwrap();
    let deep = write(&dir, "deep.json", &nested(2000));
    let out = spate().arg("schema").arg(&deep).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("nesting deeper than 1024 levels"), "{err}");
    assert!(!err.contains("--max"), "{err}");
    for cmd in ["items", "validate"] {
        let mut c = spate();
        c.arg(cmd);
        if cmd == "items" {
            c.arg(".");
        }
        let out = c.arg(&deep).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("nesting deeper than 1024 levels (raise the limit with --max-depth)\n"),
            "{cmd}: {err}"
        );
    }
    let long = write(&dir, "long.jsonl", b"[1,2,3,4,5,6,7,8,9,10,11,12]\n");
    let out = spate()
        .args(["validate", "--max-line-size", "10"])
        .arg(&long)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("(raise it with --max-line-size)"), "{err}");
    assert!(
        !err.contains("max-item-size") && !err.contains("ItemsOptions"),
        "{err}"
    );
}

/// Row 15: a mean beyond f64's range is given, not a bare null (before:
/// `"mean(.)": null` with no note).
#[test]
fn means_beyond_f64_are_numbers() {
    let out = spate()
        .args(["items", "v", "--format", "jsonl", "--mean", "."])
        .write_stdin("{\"v\":1e400}\n{\"v\":2e400}\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"mean(.)\":1.5e400}\n"
    );
}

/// Row 14: a broken symlink in the transcript tree is reported as an unreadable file, and
/// `--strict` fails on it (before: not reported, exit 0).
#[cfg(unix)]
#[test]
fn broken_symlinks_in_the_transcript_tree_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("projects").join("-home-me-p");
    std::fs::create_dir_all(&project).unwrap();
    let line = r#"{"type":"assistant","timestamp":"2025-05-06T03:05:47.123Z","sessionId":"s1","requestId":"r1","message":{"id":"m1","model":"claude-sonnet-4-5","usage":{"input_tokens":1,"output_tokens":2}}}"#;
    std::fs::write(project.join("s1.jsonl"), format!("{line}\n")).unwrap();
    let run = || {
        spate()
            .env_remove("CLAUDE_CONFIG_DIR")
            .args([
                "agents",
                "daily",
                "--strict",
                "--no-cache",
                "--timezone",
                "UTC",
                "--path",
            ])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::os::unix::fs::symlink("/nonexistent/x.jsonl", project.join("broken.jsonl")).unwrap();
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("skipped unreadable file"), "{err}");
    assert!(err.contains("broken.jsonl"), "{err}");
}

/// Cosmetic list: items that overflow the `--with` hold in skip mode are counted in the
/// final "N items skipped" line (before: reported one by one, never summed up).
#[test]
fn overflowing_with_items_are_counted_as_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let doc = write(
        &dir,
        "w.json",
        b"{\"a\":[1,2,3,4,5,6,7,8,9,10,11,12],\"m\":1}",
    );
    let out = spate()
        .args(["items", "a.item", "--with", "m=m", "--max-item-size", "6"])
        .args(["--on-error", "skip"])
        .arg(&doc)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("wait for a `with` field").count(), 6, "{err}");
    assert!(err.contains("spate: 6 items skipped"), "{err}");
}

/// Cosmetic list: `SPATE_LOG` writes no colour codes into a file or a pipe.
#[test]
fn logs_have_no_colour_codes_when_redirected() {
    let out = spate()
        .env("SPATE_LOG", "debug")
        .args(["items", ".", "--format", "jsonl", "--count"])
        .write_stdin("1\n2\n")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("run done"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err}");
}

/// A plain file is mapped and scanned in place: when another process truncates it under the
/// scan, the fault is an I/O error with a message (exit 2), not a bare "Bus error". The run
/// is held mid-file by a full output pipe that the test does not read, the file is cut
/// short, then the output is drained so that the scan goes on into the pages that are gone.
#[cfg(unix)]
#[test]
fn a_mapped_file_truncated_under_the_scan_is_an_io_error() {
    use std::io::Read;
    use std::process::{Command as Std, Stdio};
    let dir = tempfile::tempdir().unwrap();
    // 64 MB of items, far more than the output held ahead (16 MiB) and a window (4 MiB).
    let item = format!("{{\"text\": \"{}\"}}", "x".repeat(1000));
    let mut doc = String::from("[");
    for i in 0..64_000 {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(&item);
    }
    doc.push(']');
    let path = write(&dir, "big.json", doc.as_bytes());
    let mut child = Std::new(assert_cmd::cargo::cargo_bin("spate"))
        .args(["items", "item", "-j1"])
        .arg(&path)
        .env_remove("SPATE_NO_MMAP")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    // Read a little, so the run has surely begun, then let the pipe fill and hold it.
    let mut first = [0u8; 4096];
    out.read_exact(&mut first).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(100_000)
        .unwrap();
    std::io::copy(&mut out, &mut std::io::sink()).unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("shrank while it was read"), "{err}");
}
