//! Round trips: JSON items (with a field of the enclosing value), JSON Lines and CSV written
//! to Parquet (and Arrow IPC), read back with the `parquet` crate (and `arrow-ipc`): the
//! row count, the column types and every value equal the input's.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float64Type, Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{json, Value};
use spate_columnar::{convert, ConvertOptions, FileFormat, ParquetOptions, ScanOptions};
use spate_csv::ReadOptions;

mod common;
// (this file's own `rows` and `read_parquet` show dates as text and count row groups)
use common::{read_ipc, types, write};

/// Reads a Parquet file back: its batches and how many row groups it has.
fn read_parquet(path: &Path) -> (Vec<RecordBatch>, usize) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    let groups = builder.metadata().num_row_groups();
    let batches = builder
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (batches, groups)
}

/// Days since the epoch as `YYYY-MM-DD` (for comparing with the input's text).
fn civil(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Every row of the batches as a JSON object: dates as text, timestamps as microseconds,
/// decimals as their digits; nulls left out (as a missing field).
fn rows(batches: &[RecordBatch]) -> Vec<Value> {
    let mut out = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            let mut row = serde_json::Map::new();
            for (f, col) in b.schema().fields().iter().zip(b.columns()) {
                if col.is_null(r) {
                    continue;
                }
                let v = match f.data_type() {
                    DataType::Int64 => json!(col.as_primitive::<Int64Type>().value(r)),
                    DataType::Float64 => json!(col.as_primitive::<Float64Type>().value(r)),
                    DataType::Boolean => json!(col.as_boolean().value(r)),
                    DataType::Utf8 => json!(col.as_string::<i32>().value(r)),
                    DataType::Date32 => {
                        json!(civil(i64::from(col.as_primitive::<Date32Type>().value(r))))
                    }
                    DataType::Timestamp(TimeUnit::Microsecond, _) => {
                        json!(col.as_primitive::<TimestampMicrosecondType>().value(r))
                    }
                    DataType::Decimal128(38, 0) => {
                        json!(col.as_primitive::<Decimal128Type>().value(r).to_string())
                    }
                    other => panic!("unexpected type {other}"),
                };
                row.insert(f.name().clone(), v);
            }
            out.push(Value::Object(row));
        }
    }
    out
}

fn small_groups() -> ConvertOptions {
    ConvertOptions {
        scan: ScanOptions {
            batch_rows: 1000,
            ..ScanOptions::default()
        },
        parquet: ParquetOptions {
            row_group_rows: 4096,
            ..ParquetOptions::default()
        },
        ..ConvertOptions::default()
    }
}

/// Microseconds of `2025-01-01T00:00:00Z` plus `s` seconds.
fn micros(s: i64) -> i64 {
    (1_735_689_600 + s) * 1_000_000
}

#[test]
fn json_items_with_an_enclosing_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut sessions = Vec::new();
    let mut want = Vec::new();
    for s in 0..40 {
        let mut delegations = Vec::new();
        for d in 0..(s % 7) * 50 {
            let n = s * 1000 + d;
            let mut item = json!({
                "id": n,
                "agent": format!("agent \"{}\" ✓", n % 5),
                "at": format!("2025-01-01T00:{:02}:{:02}Z", (n / 60) % 60, n % 60),
                "cost": n as f64 / 8.0,
                "ok": n % 3 == 0,
                "tags": [n % 2, "x"],
                "usage": {"input": n * 2, "cache": {"read": n % 11}},
            });
            if n % 4 == 0 {
                item["note"] = json!(null);
            } else {
                item["note"] = json!(format!("n{n}"));
            }
            delegations.push(item.clone());
            let mut row = json!({
                "id": n,
                "agent": item["agent"],
                "at": micros(((n / 60) % 60) * 60 + n % 60),
                "cost": n as f64 / 8.0,
                "ok": n % 3 == 0,
                "tags": format!("[{},\"x\"]", n % 2),
                "usage.input": n * 2,
                "usage.cache.read": n % 11,
                "session": format!("s{s}"),
            });
            if n % 4 != 0 {
                row["note"] = json!(format!("n{n}"));
            }
            want.push(row);
        }
        // The session's id comes after its delegations: the items wait for it.
        sessions.push(json!({"delegations": delegations, "sid": format!("s{s}")}));
    }
    let doc = serde_json::to_string_pretty(&json!({"meta": 1, "sessions": sessions})).unwrap();
    let input = write(dir.path(), "s.json", &doc);
    let out = dir.path().join("d.parquet");
    let mut options = small_groups();
    options.scan.read = ReadOptions {
        json_path: Some("sessions.item.delegations.item".into()),
        ..ReadOptions::default()
    };
    options.scan.with = vec![("session".into(), "sessions.item.sid".into())];
    // Nested objects flattened into dotted columns (tests/objects.rs: as structs).
    options.scan.flatten = true;
    let report = convert(&input, &out, &options).unwrap();
    assert_eq!(report.rows, want.len() as u64);
    let (batches, groups) = read_parquet(&out);
    assert!(groups > 1, "{groups} row groups");
    let names: Vec<_> = types(&batches).into_iter().map(|t| (t.0, t.1)).collect();
    assert_eq!(
        names,
        [
            // serde_json writes the members in name order.
            ("agent".to_string(), DataType::Utf8),
            (
                "at".into(),
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
            ),
            ("cost".into(), DataType::Float64),
            ("id".into(), DataType::Int64),
            ("note".into(), DataType::Utf8),
            ("ok".into(), DataType::Boolean),
            ("tags".into(), DataType::Utf8),
            ("usage.cache.read".into(), DataType::Int64),
            ("usage.input".into(), DataType::Int64),
            ("session".into(), DataType::Utf8),
        ]
    );
    assert_eq!(rows(&batches), want);
}

#[test]
fn json_lines_with_missing_fields_nulls_and_big_integers() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    let mut want = Vec::new();
    for i in 0..10_000i64 {
        let big = format!("{}{:05}", "1234567890123456789012", i);
        let day = format!("2024-{:02}-{:02}", 1 + i % 12, 1 + i % 28);
        let line = match i % 4 {
            0 => format!(r#"{{"n": {i}, "big": {big}, "day": "{day}", "f": {i}.25, "s": "a\nb"}}"#),
            1 => format!(r#"{{"n": -{i}, "big": -5, "f": 1e3, "extra": {{"k": true}}}}"#),
            2 => format!(r#"{{"big": {big}, "n": null, "s": "2024-01-01 but text", "f": "NaN"}}"#),
            _ => format!(r#"  {{"n": {i}, "day": null, "f": 7, "s": "é"}}  "#),
        };
        text.push_str(&line);
        text.push_str(if i % 10 == 0 { "\r\n\n" } else { "\n" });
        let row = match i % 4 {
            0 => json!({"n": i, "big": big, "day": day, "f": i as f64 + 0.25, "s": "a\nb"}),
            1 => json!({"n": -i, "big": "-5", "f": 1000.0, "extra.k": true}),
            2 => json!({"big": big, "s": "2024-01-01 but text", "f": "NaN"}),
            _ => json!({"n": i, "f": 7.0, "s": "é"}),
        };
        want.push(row);
    }
    let input = write(dir.path(), "e.jsonl", &text);
    let out = dir.path().join("e.parquet");
    let mut options = small_groups();
    options.scan.flatten = true;
    let report = convert(&input, &out, &options).unwrap();
    assert_eq!(report.rows, 10_000);
    assert_eq!(report.bytes_in, text.len() as u64);
    let (batches, _) = read_parquet(&out);
    assert_eq!(
        types(&batches),
        [
            ("n".to_string(), DataType::Int64, true),
            ("big".into(), DataType::Decimal128(38, 0), true),
            ("day".into(), DataType::Date32, true),
            ("f".into(), DataType::Float64, false),
            ("s".into(), DataType::Utf8, true),
            ("extra.k".into(), DataType::Boolean, true),
        ]
    );
    let mut got = rows(&batches);
    // NaN is not equal to itself: compare it as text.
    for r in &mut got {
        if r["f"].is_null() && r.get("f").is_some() {
            r["f"] = json!("NaN");
        }
    }
    for (g, w) in got.iter().zip(&want) {
        let mut g = g.clone();
        if let Some(f) = g.get("f") {
            if f.as_f64().is_none() {
                g["f"] = json!("NaN");
            }
        }
        assert_eq!(&g, w);
    }
    assert_eq!(got.len(), want.len());

    // The same rows as an Arrow IPC file.
    let arrow = dir.path().join("e.arrow");
    let mut options = ConvertOptions {
        format: FileFormat::ArrowIpc,
        ..small_groups()
    };
    options.scan.flatten = true;
    convert(&input, &arrow, &options).unwrap();
    let ipc = read_ipc(&arrow);
    assert_eq!(types(&ipc), types(&batches));
    assert_eq!(ipc.iter().map(RecordBatch::num_rows).sum::<usize>(), 10_000);
    assert_eq!(rows(&ipc).len(), 10_000);
    assert_eq!(rows(&ipc)[..2], got[..2]);
}

#[test]
fn csv_with_quotes_null_tokens_and_every_type() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,name,amount,day,at,flag,zip\n");
    let mut want = Vec::new();
    for i in 0..5000i64 {
        let name = if i % 3 == 0 {
            format!("\"q \"\"{i}\"\", x\"")
        } else {
            format!("n{i}")
        };
        let amount = if i % 5 == 0 {
            "NA".to_string()
        } else {
            format!("{i}.5")
        };
        let at = format!("2024-03-01T10:{:02}:{:02}", (i / 60) % 60, i % 60);
        let flag = if i % 2 == 0 { "true" } else { "FALSE" };
        text.push_str(&format!(
            "{i},{name},{amount},2024-02-29,{at},{flag},0{i}\n"
        ));
        let mut row = json!({
            "id": i,
            "name": if i % 3 == 0 { format!("q \"{i}\", x") } else { format!("n{i}") },
            "day": "2024-02-29",
            "at": (1_709_287_200 + ((i / 60) % 60) * 60 + i % 60) * 1_000_000,
            "flag": i % 2 == 0,
            "zip": format!("0{i}"),
        });
        if i % 5 != 0 {
            row["amount"] = json!(i as f64 + 0.5);
        }
        want.push(row);
    }
    let input = write(dir.path(), "c.csv", &text);
    let out = dir.path().join("c.parquet");
    let report = convert(&input, &out, &small_groups()).unwrap();
    assert_eq!(report.rows, 5000);
    let (batches, _) = read_parquet(&out);
    assert_eq!(
        types(&batches),
        [
            ("id".to_string(), DataType::Int64, false),
            ("name".into(), DataType::Utf8, false),
            ("amount".into(), DataType::Float64, true),
            ("day".into(), DataType::Date32, false),
            // Every value without a zone: wall-clock times.
            (
                "at".into(),
                DataType::Timestamp(TimeUnit::Microsecond, None),
                false
            ),
            ("flag".into(), DataType::Boolean, false),
            ("zip".into(), DataType::Utf8, false),
        ]
    );
    assert_eq!(rows(&batches), want);
}

#[test]
fn a_value_that_does_not_fit_a_given_schema_is_an_error_and_nothing_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "g.jsonl",
        "{\"a\": 1, \"b\": \"x\"}\n{\"a\": 2.5, \"b\": \"y\"}\n",
    );
    let schema = spate_csv::GivenSchema::from_json(
        br#"{"fields": [{"name": "a", "type": "integer"}, {"name": "b", "type": "string"}]}"#,
    )
    .unwrap();
    let out = dir.path().join("g.parquet");
    let mut options = ConvertOptions::default();
    options.scan.given = Some(schema);
    let e = convert(&input, &out, &options).unwrap_err();
    assert!(e.is_invalid_data());
    let msg = e.to_string();
    assert!(
        msg.contains("g.jsonl: row 2 (byte 19), column \"a\": \"2.5\" is not an integer"),
        "{msg}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the input"
    );

    // A field the schema does not have is not dropped silently.
    let input = write(dir.path(), "u.jsonl", "{\"a\": 1, \"c\": 3}\n");
    let mut options = ConvertOptions::default();
    options.scan.given = Some(
        spate_csv::GivenSchema::from_json(br#"{"fields": [{"name": "a", "type": "integer"}]}"#)
            .unwrap(),
    );
    let e = convert(&input, &out, &options).unwrap_err();
    assert!(
        e.to_string().contains("field \"c\" is not in the schema"),
        "{e}"
    );

    // CSV: the line and the field.
    let input = write(dir.path(), "g.csv", "a,b\n1,x\nz,y\n");
    let mut options = ConvertOptions::default();
    options.scan.given = Some(
        spate_csv::GivenSchema::from_json(br#"{"fields": [{"name": "a", "type": "integer"}]}"#)
            .unwrap(),
    );
    let e = convert(&input, &out, &options).unwrap_err();
    assert!(e.is_invalid_data());
    assert!(e.to_string().contains("line 3, field 1"), "{e}");
    assert!(!out.exists());
}

#[test]
fn an_output_that_is_the_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "x.parquet", "a\n1\n");
    let mut options = ConvertOptions::default();
    options.scan.read.from = Some(spate_csv::InputKind::Csv);
    let e = convert(&input, &input, &options).unwrap_err();
    assert!(matches!(e, spate_columnar::Error::SameFile { .. }), "{e}");
    assert_eq!(std::fs::read_to_string(&input).unwrap(), "a\n1\n");
}

/// Every Parquet file under `root`, read with the partition values of its folders added
/// (as the folder text, decoded).
fn read_partitioned(root: &Path) -> (Vec<Value>, usize) {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for f in &files {
        let (batches, _) = read_parquet(f);
        let rel = f.strip_prefix(root).unwrap();
        let keys: Vec<(String, Option<String>)> = rel
            .parent()
            .unwrap()
            .components()
            .map(|c| {
                let s = c.as_os_str().to_str().unwrap();
                let (k, v) = s.split_once('=').unwrap();
                let v = (v != spate_columnar::partition::NULL_PARTITION).then(|| decode(v));
                (k.to_string(), v)
            })
            .collect();
        for mut row in rows(&batches) {
            for (k, v) in &keys {
                if let Some(v) = v {
                    row[k] = json!(v);
                }
            }
            out.push(row);
        }
    }
    (out, files.len())
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn sorted(mut v: Vec<Value>) -> Vec<String> {
    let mut s: Vec<String> = v.drain(..).map(|r| r.to_string()).collect();
    s.sort();
    s
}

#[test]
fn partitioned_output_read_as_one_table_equals_the_unpartitioned() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..20_000 {
        let kind = ["a/b", "x=y", "é", "", "plain", "..", "null"][i % 7];
        let kind = if kind == "null" {
            "null".to_string()
        } else {
            format!("\"{kind}\"")
        };
        text.push_str(&format!(
            "{{\"id\": {i}, \"day\": \"2024-01-{:02}\", \"kind\": {kind}, \"v\": {}.5}}\n",
            1 + i % 5,
            i % 13
        ));
    }
    let input = write(dir.path(), "p.jsonl", &text);
    let whole = dir.path().join("whole.parquet");
    convert(&input, &whole, &small_groups()).unwrap();
    let (batches, _) = read_parquet(&whole);
    let mut want = rows(&batches);
    for r in &mut want {
        // The folder holds the date's text, and an empty string is the null partition.
        if r.get("kind") == Some(&json!("")) {
            r.as_object_mut().unwrap().remove("kind");
        }
    }
    let out = dir.path().join("parts");
    let mut options = small_groups();
    options.partition = spate_columnar::PartitionOptions {
        columns: vec!["day".into(), "kind".into()],
        max_open: 3,
        ..Default::default()
    };
    let report = convert(&input, &out, &options).unwrap();
    assert_eq!(report.rows, 20_000);
    let (got, files) = read_partitioned(&out);
    // 5 days × 6 kinds (the empty string and null share a folder); few open files at once
    // means several files per partition.
    assert!(files > 30, "{files} files");
    assert_eq!(report.files, files as u64);
    assert_eq!(got.len(), 20_000);
    assert_eq!(sorted(got), sorted(want));
    assert!(out.join("day=2024-01-01/kind=a%2Fb").is_dir());
    assert!(out.join("day=2024-01-02/kind=x%3Dy").is_dir());
    assert!(out.join("day=2024-01-03/kind=%C3%A9").is_dir());
    assert!((1..=5).any(|d| out.join(format!("day=2024-01-0{d}/kind=%2E%2E")).is_dir()));

    // An existing, non-empty folder is not written into; a bad column is a clear error.
    let e = convert(&input, &out, &options).unwrap_err();
    assert!(e.to_string().contains("not empty"), "{e}");
    options.partition.columns = vec!["nope".into()];
    let e = convert(&input, &dir.path().join("p2"), &options).unwrap_err();
    assert!(
        e.to_string().contains("cannot partition by \"nope\""),
        "{e}"
    );
    assert!(!dir.path().join("p2").exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".spate-")
        })
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn a_jq_filter_makes_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "f.jsonl",
        "{\"n\": 1, \"s\": \"a\"}\n{\"n\": 5, \"s\": \"b\"}\n{\"n\": 9, \"s\": \"c\"}\n",
    );
    let out = dir.path().join("f.parquet");
    let mut options = ConvertOptions::default();
    options.scan.filter = Some("select(.n > 2) | {k: .s, m: (.n * 10)}".into());
    let report = convert(&input, &out, &options).unwrap();
    assert_eq!(report.rows, 2);
    let (batches, _) = read_parquet(&out);
    assert_eq!(
        rows(&batches),
        [json!({"k": "b", "m": 50}), json!({"k": "c", "m": 90})]
    );
}
