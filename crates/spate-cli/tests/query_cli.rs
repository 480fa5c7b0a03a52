//! `spate items` queries end to end: jq filters, parent context, aggregations, output
//! formats, error handling.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn spate() -> Command {
    Command::cargo_bin("spate").unwrap()
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sample/sessions.json")
}

fn doc() -> Value {
    serde_json::from_slice(&std::fs::read(sample()).unwrap()).unwrap()
}

fn stdout_of(args: &[&str]) -> String {
    let out = spate().args(args).arg(sample()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn filter_and_raw_output() {
    let ids = stdout_of(&[
        "items",
        "sessions.item",
        "-f",
        "select(.delegations | length > 20) | .session_id",
        "-r",
    ]);
    let want: Vec<String> = doc()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["delegations"].as_array().unwrap().len() > 20)
        .map(|s| s["session_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(ids.lines().collect::<Vec<_>>(), want);
    // Without -r, strings stay JSON.
    let quoted = stdout_of(&[
        "items",
        "sessions.item",
        "-f",
        ".session_id",
        "--limit",
        "1",
    ]);
    assert!(quoted.starts_with('"') && quoted.ends_with("\"\n"));
}

#[test]
fn count_and_limit_apply_to_results() {
    let n = doc()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["delegations"].as_array().unwrap().len())
        .sum::<usize>();
    assert_eq!(
        stdout_of(&["items", "sessions.item", "-f", ".delegations[]", "--count"]),
        format!("{n}\n")
    );
    assert_eq!(
        stdout_of(&[
            "items",
            "sessions.item",
            "-f",
            ".delegations[] | .delegation_id",
            "--limit",
            "3"
        ])
        .lines()
        .count(),
        3
    );
}

#[test]
fn with_attaches_parent_fields() {
    let out = stdout_of(&[
        "items",
        "sessions.item.delegations.item",
        "--with",
        "session_id=sessions.item.session_id",
        "--with",
        "session_message_count=sessions.item.message_count",
        "--limit",
        "2",
    ]);
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let s0 = &doc()["sessions"][0];
    assert_eq!(first["session_id"], s0["session_id"]);
    assert_eq!(first["session_message_count"], s0["message_count"]);
    assert_eq!(
        first["delegation_id"],
        s0["delegations"][0]["delegation_id"]
    );
}

#[test]
fn group_by_in_every_format() {
    let args = [
        "items",
        "sessions.item.delegations.item",
        "--group-by",
        ".agent_type",
        "--count",
        "--sum",
        ".input_tokens",
    ];
    let jsonl = stdout_of(&args);
    let rows: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let total: u64 = rows.iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 125);
    let keys: Vec<&str> = rows
        .iter()
        .map(|r| r[".agent_type"].as_str().unwrap())
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "groups are sorted by key");

    let json: Value =
        serde_json::from_str(&stdout_of(&[&args[..], &["-o", "json"]].concat())).unwrap();
    assert_eq!(json.as_array().unwrap(), &rows);

    let csv = stdout_of(&[&args[..], &["-o", "csv"]].concat());
    assert_eq!(
        csv.lines().next(),
        Some(".agent_type,count,sum(.input_tokens)")
    );
    assert_eq!(csv.lines().count(), rows.len() + 1);

    let table = stdout_of(&[&args[..], &["-o", "table"]].concat());
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with(".agent_type"));
    assert!(lines[1].starts_with("──"));
    assert_eq!(lines.len(), rows.len() + 2);
}

#[test]
fn aggregates_without_group_by_are_one_group() {
    let out = stdout_of(&[
        "items",
        "sessions.item.delegations.item",
        "-f",
        r#"select(.agent_type == "developer")"#,
        "--count",
        "--sum",
        ".input_tokens",
        "--min",
        ".output_tokens",
        "--max",
        ".output_tokens",
    ]);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    let devs: Vec<Value> = doc()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["delegations"].as_array().unwrap().clone())
        .filter(|d| d["agent_type"] == "developer")
        .collect();
    assert_eq!(v["count"], devs.len());
    assert_eq!(
        v["sum(.input_tokens)"],
        devs.iter()
            .map(|d| d["input_tokens"].as_u64().unwrap())
            .sum::<u64>()
    );
    assert_eq!(
        v["min(.output_tokens)"],
        devs.iter()
            .map(|d| d["output_tokens"].as_u64().unwrap())
            .min()
            .unwrap()
    );
    assert_eq!(
        v["max(.output_tokens)"],
        devs.iter()
            .map(|d| d["output_tokens"].as_u64().unwrap())
            .max()
            .unwrap()
    );
}

#[test]
fn filter_errors() {
    // Does not compile: usage error with jaq's message and position.
    spate()
        .args(["items", "sessions.item", "-f", ".a | nosuch(1)"])
        .arg(sample())
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("undefined").and(predicate::str::contains("at character 5")),
        );
    // Fails at run time on an item: names the item's byte offset; exit 1.
    spate()
        .args(["items", "sessions.item", "-f", ".session_id | .x"])
        .arg(sample())
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("(byte 171): item 0: cannot index")
                .and(predicate::str::contains("cannot index")),
        );
    // Skipped: counted, reported, exit 1.
    spate()
        .args([
            "items",
            "sessions.item",
            "-f",
            ".session_id | .x",
            "--on-error",
            "skip",
            "--count",
        ])
        .arg(sample())
        .assert()
        .code(1)
        .stdout("0\n")
        .stderr(predicate::str::contains("9 items skipped"));
    // Bad --with.
    spate()
        .args(["items", "sessions.item", "--with", "x"])
        .arg(sample())
        .assert()
        .code(2);
    spate()
        .args(["items", "sessions.item", "--with", "x=sessions.item"])
        .arg(sample())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a field"));
}

/// `halt` and `halt_error` end the run, not the process from inside the library: the
/// results before them are printed and the exit code is the one asked for, as with jq.
#[test]
fn halting_filters_print_what_came_before_and_exit_as_jq() {
    for (program, code, out) in [
        ("if . == 2 then halt_error else . end", 5, "1\n"),
        ("if . == 3 then halt else . end", 0, "1\n2\n"),
        (
            "., (if . == 2 then halt_error(3) else empty end)",
            3,
            "1\n2\n",
        ),
    ] {
        spate()
            .args(["items", "item", "-f", program])
            .write_stdin("[1,2,3]")
            .assert()
            .code(code)
            .stdout(out);
    }
    // JSON output is closed.
    spate()
        .args([
            "items",
            "item",
            "-o",
            "json",
            "-f",
            "if . == 2 then halt else . end",
        ])
        .write_stdin("[1,2,3]")
        .assert()
        .code(0)
        .stdout("[\n1\n]\n");
}
