//! `spate convert` through the binary: types kept, CSV and its JSON Lines conversion give the
//! same schema, --schema forces types, --stats.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/csv")
        .join(name)
}

fn spate() -> Command {
    Command::cargo_bin("spate").unwrap()
}

fn convert(args: &[&str]) -> std::process::Output {
    spate().arg("convert").args(args).output().unwrap()
}

fn schema(path: &Path) -> Value {
    let out = spate()
        .args(["schema", "--json"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What must be equal between a CSV file's schema and its conversion's: per field the name,
/// type, format, required, and spate's type, null count, count, min and max.
fn comparable(v: &Value) -> Vec<Value> {
    v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            serde_json::json!([
                f["name"],
                f["type"],
                f["format"],
                f["constraints"],
                f["spate"]
            ])
        })
        .collect()
}

#[test]
fn csv_and_its_json_lines_conversion_have_the_same_schema() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("edge.jsonl");
    let out = convert(&[data("edge.csv").to_str().unwrap(), jsonl.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv_schema = schema(&data("edge.csv"));
    let jsonl_schema = schema(&jsonl);
    assert_eq!(comparable(&csv_schema), comparable(&jsonl_schema));
    assert_eq!(jsonl_schema["spate"]["rows"], 4);

    // And back to CSV: the same schema again.
    let back = dir.path().join("back.csv");
    let out = convert(&[jsonl.to_str().unwrap(), back.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(comparable(&schema(&back)), comparable(&csv_schema));
}

#[test]
fn csv_to_json_lines_keeps_types() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("o.jsonl");
    let out = convert(&[
        data("edge.csv").to_str().unwrap(),
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&out_path).unwrap();
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4);
    let r0 = &rows[0];
    assert_eq!(r0["int"], 1);
    assert_eq!(r0["zip"], "01234");
    assert_eq!(r0["float"], 1.5);
    assert_eq!(r0["nan_inf"], "NaN");
    assert_eq!(r0["bool"], true);
    assert_eq!(r0["all_null"], Value::Null);
    assert_eq!(r0["text"], "a, \"quoted\"\nmultiline");
    assert_eq!(rows[2]["float"], 0.5);
    assert_eq!(rows[3]["float"], 5.0);
    assert_eq!(rows[2]["int"], 3); // +3
    assert_eq!(rows[1]["bool"], false); // FALSE
    assert!(
        text.contains("\"big_int\":99999999999999999999,"),
        "all digits are kept"
    );
}

#[test]
fn json_array_output_and_tsv() {
    let out = convert(&[data("tabs.tsv").to_str().unwrap(), "-", "--to", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{"id": 1, "v": 0.5}, {"id": 2, "v": null}])
    );

    let out = convert(&[data("semicolon.csv").to_str().unwrap(), "-", "--to", "tsv"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "name\tamount\twhen\nann\t1,5\t2024-01-01\nbob\t2\t2024-01-02\n"
    );
}

#[test]
fn json_items_to_csv_flattens_fields() {
    let out = convert(&[
        data("items.json").to_str().unwrap(),
        "-",
        "--to",
        "csv",
        "--path",
        "$.rows[*]",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "id,user.name,user.zip,at,tags,score\n\
         1,ann,01234,2024-01-01T10:00:00Z,\"[\"\"a\"\"]\",1.5\n\
         2,bob,,2024-01-02,[],2\n\
         3,cy,,,,\n"
    );
    let out = convert(&[
        data("items.json").to_str().unwrap(),
        "-",
        "--to",
        "jsonl",
        "--path",
        "$.rows[*]",
    ]);
    assert!(out.status.success());
    let first = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        first,
        r#"{"id":1,"user":{"name":"ann","zip":"01234"},"at":"2024-01-01T10:00:00Z","tags":["a"],"score":1.5}"#
    );
}

#[test]
fn schema_file_forces_types() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s.json");
    std::fs::write(
        &s,
        r#"{"fields": [{"name": "id", "type": "string"}, {"name": "v", "type": "number"}]}"#,
    )
    .unwrap();
    let out = convert(&[
        data("tabs.tsv").to_str().unwrap(),
        "-",
        "--to",
        "jsonl",
        "--schema",
        s.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"id\":\"1\",\"v\":0.5}\n{\"id\":\"2\",\"v\":null}\n"
    );

    std::fs::write(&s, r#"{"fields": [{"name": "name", "type": "integer"}]}"#).unwrap();
    let out = convert(&[
        data("semicolon.csv").to_str().unwrap(),
        "-",
        "--to",
        "jsonl",
        "--schema",
        s.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 2, field 1: value \"ann\" is not a valid integer"),
        "{err}"
    );

    std::fs::write(&s, r#"{"fields": [{"name": "x", "type": "decimal"}]}"#).unwrap();
    let out = convert(&[
        data("tabs.tsv").to_str().unwrap(),
        "-",
        "--to",
        "jsonl",
        "--schema",
        s.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn stats_and_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("o.jsonl");
    let out = convert(&[
        data("edge.csv").to_str().unwrap(),
        o.to_str().unwrap(),
        "--stats",
    ]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("spate: stats: rows 4, in "), "{err}");
    assert!(
        err.contains("MB/s") && err.contains("ratio out/in") && err.contains("peak memory"),
        "{err}"
    );

    let out = convert(&[
        data("edge.csv").to_str().unwrap(),
        dir.path().join("o.xyz").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--to"));

    let out = convert(&[data("ragged.csv").to_str().unwrap(), "-", "--to", "jsonl"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn stdin_is_spooled_for_inference() {
    let out = spate()
        .args(["convert", "-", "-", "--to", "jsonl"])
        .write_stdin("a,b\n1,x\n2.5,\n")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"a\":1.0,\"b\":\"x\"}\n{\"a\":2.5,\"b\":null}\n"
    );
}

/// A bad JSON Lines line is reported as `validate` reports it, for both passes of a
/// conversion (the inference pass to CSV, and the copy to JSON), from a file or standard input.
#[test]
fn bad_json_lines_are_reported_like_validate() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"a\":1}\n{\"a\": tru}\n").unwrap();
    let name = bad.to_str().unwrap();
    let expected = |input: &str| {
        format!(
            "spate: {input}:2:10 (byte 17): expected the literal 'true', found '}}'\n  {{\"a\": tru}}\n           ^\n"
        )
    };
    for to in ["csv", "jsonl", "json"] {
        let out = convert(&[name, "-", "--to", to]);
        assert_eq!(out.status.code(), Some(1), "{to}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), expected(name), "{to}");
        let out = spate()
            .args(["convert", "-", "-", "--from", "jsonl", "--to", to])
            .write_stdin("{\"a\":1}\n{\"a\": tru}\n")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{to}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            expected("<stdin>"),
            "{to}"
        );
    }
}

/// A pretty-printed document on standard input is a document (its items are the rows), not
/// JSON Lines.
#[test]
fn pretty_json_on_stdin_converts() {
    let out = spate()
        .args(["convert", "-", "-", "--to", "csv"])
        .write_stdin("[\n  {\"a\": 1, \"b\": {\"c\": \"x\"}},\n  {\"a\": 2.5}\n]\n")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a,b.c\n1,x\n2.5,\n");
}
