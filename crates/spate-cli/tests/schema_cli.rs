//! `spate schema` through the binary: the edge-case file checked exactly, every input kind,
//! errors and exit codes, parallel = sequential.

use std::path::PathBuf;

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

fn schema_json(args: &[&str]) -> Value {
    let out = spate()
        .arg("schema")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["spate"].as_object_mut().unwrap().remove("file");
    v
}

#[test]
fn edge_csv_schema_is_exactly_the_expected_one() {
    let got = schema_json(&[data("edge.csv").to_str().unwrap()]);
    let want: Value =
        serde_json::from_slice(&std::fs::read(data("edge.schema.json")).unwrap()).unwrap();
    assert_eq!(got, want);
}

/// The same file, rule by rule, written out by hand (independent of the stored JSON).
#[test]
fn edge_csv_follows_every_rule() {
    let v = schema_json(&[data("edge.csv").to_str().unwrap()]);
    let fields = v["fields"].as_array().unwrap();
    let got: Vec<(&str, &str, u64)> = fields
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap(),
                f["spate"]["type"].as_str().unwrap(),
                f["spate"]["nulls"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = [
        ("int", "integer", 0),            // optional sign
        ("big_int", "integer", 0),        // beyond i64 stays integer
        ("zip", "string", 0),             // leading zeros keep it a string
        ("float", "float", 0),            // 1e5 .5 5.
        ("int_float", "float", 0),        // integer ⊂ float
        ("nan_inf", "float", 0),          // NaN / inf are floats
        ("bool", "boolean", 0),           // any case
        ("yes_no", "string", 0),          // yes/no are not booleans
        ("zero_one", "integer", 0),       // 0/1 stay integers
        ("date", "date", 0),              // leap days that exist
        ("bad_date", "string", 0),        // 2023-02-29 does not exist
        ("date_datetime", "datetime", 0), // date ⊂ datetime
        ("datetime_zone", "datetime", 0), // zones, fractions, HH:MM
        ("space_dt", "datetime", 0),      // YYYY-MM-DD HH:MM:SS
        ("all_null", "null", 4),          // "", NULL, NA, null
        ("nullable_int", "integer", 2),   // nulls join anything
        ("mixed", "string", 0),           // any other mix
        ("late_text", "string", 0),       // n/a is not a null token by default
        ("text", "string", 1),            // quoted newline, doubled quotes, tab
        ("padded", "string", 0),          // no trimming
    ];
    assert_eq!(got, want);
    let by_name = |n: &str| fields.iter().find(|f| f["name"] == n).unwrap();
    assert_eq!(by_name("big_int")["spate"]["max"], "99999999999999999999");
    assert_eq!(by_name("big_int")["spate"]["min"], "-99999999999999999999");
    assert_eq!(by_name("nan_inf")["spate"]["nonFinite"], 3);
    assert_eq!(by_name("float")["type"], "number");
    assert_eq!(by_name("all_null")["type"], "any");
    assert_eq!(by_name("space_dt")["format"], "%Y-%m-%d %H:%M:%S");
    assert_eq!(
        by_name("datetime_zone")["spate"]["min"],
        "2024-01-01T10:30:00.5+02:00"
    );
    assert_eq!(by_name("int")["constraints"]["required"], true);
    assert_eq!(by_name("nullable_int")["constraints"]["required"], false);
    assert_eq!(
        v["missingValues"],
        serde_json::json!(["", "NULL", "null", "NA"])
    );
    assert_eq!(v["spate"]["rows"], 4);
}

#[test]
fn null_tokens_are_configurable() {
    let v = schema_json(&["--null", "n/a", data("edge.csv").to_str().unwrap()]);
    let f = |n: &str| {
        v["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(f("late_text")["spate"]["type"], "integer");
    // NA and NULL are no longer null: the column holds text.
    assert_eq!(f("all_null")["spate"]["type"], "string");
}

#[test]
fn ragged_rows_are_an_error_naming_the_line_unless_flexible() {
    let out = spate()
        .args(["schema"])
        .arg(data("ragged.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ragged.csv, line 3: record has 2 fields, expected 3"),
        "{err}"
    );
    assert!(err.contains("--flexible"), "{err}");
    assert!(err.trim_end().ends_with("ragged rows): 4,5"), "{err}");
    let v = schema_json(&["--flexible", data("ragged.csv").to_str().unwrap()]);
    assert_eq!(v["fields"][2]["spate"]["nulls"], 1);
}

#[test]
fn missing_file_is_exit_2() {
    let out = spate()
        .args(["schema", "no/such/file.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unterminated_quote_is_invalid_data() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("open.csv");
    std::fs::write(&p, "a,b\n1,2\n3,\"open\n4,5\n").unwrap();
    let out = spate().arg("schema").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 3"));
}

#[test]
fn invalid_utf8_is_invalid_data() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("latin1.csv");
    std::fs::write(&p, b"a,b\n1,caf\xe9\n").unwrap();
    let out = spate().arg("schema").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2: invalid UTF-8"));
}

#[test]
fn dialects_are_sniffed_or_given() {
    let v = schema_json(&[data("semicolon.csv").to_str().unwrap()]);
    assert_eq!(v["spate"]["delimiter"], ";");
    assert_eq!(v["fields"][1]["spate"]["type"], "string"); // 1,5 is not a number
    let v = schema_json(&[data("noheader.csv").to_str().unwrap()]);
    assert_eq!(v["spate"]["header"], false);
    assert_eq!(v["fields"][0]["name"], "field_1");
    let v = schema_json(&["--header", data("noheader.csv").to_str().unwrap()]);
    assert_eq!(v["fields"][0]["name"], "1");
    assert_eq!(v["spate"]["rows"], 1);
    let v = schema_json(&[data("tabs.tsv").to_str().unwrap()]);
    assert_eq!(v["spate"]["format"], "tsv");
    assert_eq!(v["fields"][1]["spate"]["type"], "float");
    // Forcing the comma splits "1,5" and the header has one field: flexible reading says so.
    let v = schema_json(&[
        "-d",
        ",",
        "--flexible",
        data("semicolon.csv").to_str().unwrap(),
    ]);
    assert_eq!(v["fields"].as_array().unwrap().len(), 2);
    assert_eq!(v["fields"][1]["name"], "field_2");
}

#[test]
fn sample_reads_only_n_rows_and_says_so() {
    let out = spate()
        .args(["schema", "--sample", "2"])
        .arg(data("edge.csv"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("4 rows") && text.contains("2 rows"),
        "{text}"
    );
    assert!(text.contains("sampled: only the first 2 rows"), "{text}");
    // The late text value is beyond the sample: the sample says integer.
    let v = schema_json(&["--sample", "3", data("edge.csv").to_str().unwrap()]);
    let late = v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "late_text")
        .unwrap();
    assert_eq!(late["spate"]["type"], "integer");
    assert_eq!(v["spate"]["complete"], false);
    assert_eq!(v["spate"]["sample"], 3);
}

#[test]
fn types_only_stops_when_every_column_is_a_string() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("text.csv");
    let mut s = String::from("a,b\n");
    for i in 0..5000 {
        s.push_str(&format!("x{i},y\n"));
    }
    std::fs::write(&p, s).unwrap();
    let v = schema_json(&["--types-only", p.to_str().unwrap()]);
    assert_eq!(v["spate"]["complete"], false);
    assert_eq!(v["spate"]["rows"], 1024);
    let v = schema_json(&[p.to_str().unwrap()]);
    assert_eq!(v["spate"]["rows"], 5000);
}

#[test]
fn json_items_at_a_path_and_json_lines() {
    let v = schema_json(&["$.rows[*]", data("items.json").to_str().unwrap()]);
    let got: Vec<(String, String, u64)> = v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["spate"]["type"].as_str().unwrap().to_string(),
                f["spate"]["nulls"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = [
        ("id", "integer", 0),
        ("user.name", "string", 0),
        ("user.zip", "string", 2),
        ("at", "datetime", 1),
        ("tags", "array", 1),
        ("score", "float", 1),
    ];
    let want: Vec<(String, String, u64)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
        .collect();
    assert_eq!(got, want);
    assert_eq!(v["spate"]["jsonPath"], "$.rows[*]");

    let out = spate()
        .args(["schema", "-"])
        .write_stdin("{\"a\": 1}\n{\"a\": 2.5, \"b\": \"x\"}\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 rows, 2 fields (json lines)"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("a ") && l.contains("float")),
        "{text}"
    );

    let out = spate()
        .args(["schema", "-"])
        .write_stdin("{\"a\": 1}\n{\"a\": }\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // The form `validate` and `items` use: FILE:LINE:COL (byte N), message, excerpt.
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "spate: <stdin>:2:7 (byte 15): expected a JSON value, found '}'\n  {\"a\": }\n        ^\n"
    );
}

#[test]
fn csv_from_stdin() {
    let out = spate()
        .args(["schema", "--json", "-"])
        .write_stdin("a,b\n007,1.5\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["fields"][0]["type"], "string");
    assert_eq!(v["fields"][1]["type"], "number");
}

/// A file big enough for the parallel reader, with quoted newlines near every boundary: the
/// answer must not depend on the number of threads.
#[test]
fn parallel_and_sequential_agree_on_a_large_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.csv");
    let mut s = String::from("id,note,zip,v\n");
    let mut i = 0u64;
    while s.len() < 6 << 20 {
        let note = match i % 7 {
            0 => "\"multi\nline, \"\"quoted\"\"\"".to_string(),
            1 => String::new(),
            _ => format!("n{i}"),
        };
        s.push_str(&format!(
            "{i},{note},{:05},{}\n",
            i % 100_000,
            if i.is_multiple_of(11) {
                "NA".into()
            } else {
                format!("{}.5", i % 97)
            }
        ));
        i += 1;
    }
    s.push_str(&format!("{i},last,abc,x\n"));
    std::fs::write(&p, s).unwrap();
    let one = schema_json(&["-j", "1", p.to_str().unwrap()]);
    for j in ["2", "3", "5"] {
        assert_eq!(schema_json(&["-j", j, p.to_str().unwrap()]), one, "-j {j}");
    }
    assert_eq!(one["spate"]["rows"], i + 1);
    assert_eq!(one["fields"][2]["spate"]["type"], "string");
    assert_eq!(one["fields"][3]["spate"]["type"], "string");
}

#[test]
fn several_files_give_one_json_line_each_and_go_on_after_a_bad_one() {
    let out = spate()
        .args(["schema", "--json"])
        .arg(data("tabs.tsv"))
        .arg(data("ragged.csv"))
        .arg(data("noheader.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[1]["spate"]["file"]
        .as_str()
        .unwrap()
        .ends_with("noheader.csv"));
}

/// A gzip file of `data` made by hand: one stored (uncompressed) deflate block.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    assert!(data.len() < 65_536);
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let len = data.len() as u16;
    out.push(1); // final block, stored
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

#[test]
fn compressed_input_gives_the_same_schema() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("edge.csv.gz");
    std::fs::write(&gz, gzip_stored(&std::fs::read(data("edge.csv")).unwrap())).unwrap();
    let plain = schema_json(&[data("edge.csv").to_str().unwrap()]);
    let packed = schema_json(&[gz.to_str().unwrap()]);
    assert_eq!(packed["fields"], plain["fields"]);
    assert_eq!(packed["spate"]["rows"], 4);
    // And through standard input.
    let out = spate()
        .args(["schema", "--json", "-"])
        .write_stdin(gzip_stored(&std::fs::read(data("edge.csv")).unwrap()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["fields"], plain["fields"]);
}

/// `cat pretty.json | spate schema` reads a pretty-printed document (an object, or an array
/// of rows) as a document; the same rows in a file give the same schema.
#[test]
fn pretty_printed_json_on_stdin_is_a_document() {
    let doc = "{\n  \"id\": 7,\n  \"tags\": [\"a\",\n    \"b\"],\n  \"when\": \"2024-01-01\"\n}\n";
    let out = spate()
        .args(["schema", "--json"])
        .write_stdin(doc)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["spate"]["rows"], 1);
    assert_eq!(v["spate"]["jsonPath"], "$");
    let types: Vec<&str> = v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["spate"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["integer", "array", "date"]);

    let rows = "[\n  {\"a\": 1},\n  {\"a\": 2.5, \"b\": null}\n]\n";
    let out = spate()
        .args(["schema", "--json"])
        .write_stdin(rows)
        .output()
        .unwrap();
    assert!(out.status.success());
    let from_stdin: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(from_stdin["spate"]["rows"], 2);
    assert_eq!(from_stdin["fields"][0]["spate"]["type"], "float");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rows.json");
    std::fs::write(&file, rows).unwrap();
    let mut from_file = schema_json(&[file.to_str().unwrap()]);
    let mut from_stdin = from_stdin;
    from_stdin["spate"].as_object_mut().unwrap().remove("file");
    from_file["spate"].as_object_mut().unwrap().remove("file");
    assert_eq!(from_file, from_stdin);
}

/// A bad line of a JSON Lines file: the form `validate` uses, whatever the thread count.
#[test]
fn bad_json_lines_file_is_reported_like_validate() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    let mut text = String::new();
    for i in 0..500 {
        text.push_str(&format!("{{\"a\": {i}, \"b\": \"x\"}}\n"));
    }
    let offset = text.len() + 9;
    text.push_str("{\"a\": tru}\n{\"a\": 1}\n");
    std::fs::write(&bad, &text).unwrap();
    let name = bad.to_str().unwrap();
    for j in ["-j1", "-j3"] {
        let out = spate().args(["schema", j, name]).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("spate: {name}:501:10 (byte {offset}): expected the literal 'true', found '}}'\n  {{\"a\": tru}}\n           ^\n")
        );
        let validate = spate().args(["validate", name]).output().unwrap();
        assert_eq!(validate.stderr, out.stderr);
    }
}

/// A JSON Lines file big enough to be cut into ranges: every thread count gives the same
/// schema, byte for byte.
#[test]
fn json_lines_schema_is_the_same_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.jsonl");
    let mut text = String::with_capacity(20 << 20);
    let mut i = 0u64;
    while text.len() < (17 << 20) {
        let row = match i % 4 {
            0 => format!(
                "{{\"id\": {i}, \"when\": \"2024-01-{:02}\", \"x\": {{\"y\": {}.5}}}}\n",
                1 + i % 28,
                i
            ),
            1 => format!(
                "{{\"id\": {i}, \"tag{}\": true, \"when\": \"2024-02-01T10:00:0{}Z\"}}\n",
                i % 13,
                i % 10
            ),
            2 => "\n".to_string(),
            _ => format!("{{\"x\": {{\"y\": null}}, \"id\": -{i}, \"note\": \"n\\u00e9 {i}\"}}\n"),
        };
        text.push_str(&row);
        i += 1;
    }
    std::fs::write(&file, &text).unwrap();
    let run = |j: &str| {
        let out = spate()
            .args(["schema", "--json", j])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let one = run("-j1");
    let v: Value = serde_json::from_slice(&one).unwrap();
    assert_eq!(v["spate"]["bytes"], text.len() as u64);
    assert_eq!(v["fields"][0]["name"], "id");
    for j in ["-j2", "-j3"] {
        assert_eq!(run(j), one, "{j}");
    }
}

/// A path inside the lines of JSON Lines is applied by queries and by Parquet/Arrow output;
/// `schema` takes each line as a row, so it refuses the path instead of leaving it out.
#[test]
fn a_path_inside_json_lines_is_refused_not_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.jsonl");
    std::fs::write(&file, "{\"a\":{\"b\":[1,2]}}\n{\"a\":{\"b\":[3]}}\n").unwrap();
    // `spate COMMAND --path a.b.item r.jsonl [OUTPUT]`
    let run = |command: &str, output: Option<&str>| {
        let mut cmd = spate();
        cmd.args([command, "--path", "a.b.item"]).arg(&file);
        if let Some(o) = output {
            cmd.arg(dir.path().join(o));
        }
        cmd.output().unwrap()
    };
    let out = run("schema", None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("inside each line of JSON Lines"), "{err}");
    let out = run("convert", Some("b.parquet"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(run("convert", Some("b.csv")).status.code(), Some(2));
}
