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
