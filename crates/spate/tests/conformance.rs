//! JSONTestSuite: every `y_` file accepted, every `n_` file rejected, every `i_` file answered
//! (no panic, no hang), identically with every window size.

mod common;

use std::fs;
use std::path::PathBuf;

fn suite() -> Vec<(String, Vec<u8>)> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/JSONTestSuite/test_parsing");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() > 300, "the suite has {} files", files.len());
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn accepts_y_rejects_n_answers_i() {
    let mut failures = Vec::new();
    let (mut y, mut n, mut i) = (0, 0, 0);
    for (name, bytes) in suite() {
        // The root path selects the whole document: validation plus item extraction.
        let answer = common::items_all_windows(&bytes, &[""]);
        match &name[..2] {
            "y_" => {
                y += 1;
                match &answer {
                    Ok(items) if items.len() == 1 => {
                        // The item is the document without surrounding whitespace.
                        let trimmed = bytes.trim_ascii();
                        if items[0].1 != trimmed {
                            failures.push(format!("{name}: item differs from the document"));
                        }
                    }
                    other => failures.push(format!("{name}: rejected: {other:?}")),
                }
            }
            "n_" => {
                n += 1;
                if answer.is_ok() {
                    failures.push(format!("{name}: accepted"));
                }
            }
            _ => i += 1,
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(y > 90 && n > 180 && i > 30, "y {y}, n {n}, i {i}");
}

#[test]
fn validate_agrees_with_items() {
    for (name, bytes) in suite() {
        let validated = spate::validate(&bytes[..]).is_ok();
        let selected = common::items_with(&bytes, &[""], None).is_ok();
        assert_eq!(validated, selected, "{name}");
    }
}
