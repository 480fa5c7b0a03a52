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
        let k = serde_json::to_string(key).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{{{k}:0,\"count\":2}}\n{{{k}:1.5,\"count\":2}}\n{{{k}:100,\"count\":3}}\n"),
            "{key}"
        );
    }
}
