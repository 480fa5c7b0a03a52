//! JSON arrays as list columns: each array of scalars of one type becomes an Arrow `List<T>`
//! / Parquet LIST column (the element type inferred exactly over every element), arrays of
//! arrays and of objects nested lists and lists of structs (tests/structs.rs has more), every
//! other array stays JSON text; read back with the `parquet` crate's Arrow reader and `arrow-ipc`,
//! values, types and row counts equal the input's. Also the old behaviour (`Arrays::Json`),
//! a given schema, partitions, CSV (no arrays) and the batch bound on list elements.

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, TimeUnit};
use serde_json::{json, Value};
use spate_columnar::{
    convert, scan, Arrays, BatchConsumer, ConvertOptions, Error, FileFormat, PartitionOptions,
    ScanOptions, TableSchema,
};
use spate_csv::{GivenSchema, ReadOptions};

mod common;
use common::*;

/// JSON Lines with every edge case: empty arrays, null arrays, missing fields, null
/// elements, integer/float widening, big integers, dates and datetimes, `NaN` spelled as a
/// string, and arrays that stay JSON text (mixed kinds, nested, objects).
const LINES: &str = r#"{"id": 1, "ints": [1, 2, null], "nums": [1, 2.5], "big": [1, 99999999999999999999], "tags": ["a", "b\"c", "é"], "days": ["2024-01-01"], "at": ["2024-01-01T00:00:01Z"], "flags": [true], "mixed": [1, "x"], "nested": [[1]], "objs": [{"a": 1}], "empty": [], "nulls": [null]}
{"id": 2, "ints": [], "nums": null, "big": [], "tags": [], "days": [], "at": ["2024-01-01"], "flags": [false, null], "mixed": [], "nested": [], "objs": [], "empty": [], "nulls": []}
{"id": 3, "ints": null, "tags": ["c"], "days": ["2024-02-29", null], "nums": ["NaN", -3], "at": [], "empty": []}
{"id": 4}
"#;

fn lines_want() -> Vec<Value> {
    let micros = |s: i64| json!(s * 1_000_000);
    let day = 19_723; // 2024-01-01
    vec![
        json!({"id": 1, "ints": [1, 2, null], "nums": [1.0, 2.5], "big": ["1", "99999999999999999999"],
               "tags": ["a", "b\"c", "é"], "days": [day], "at": [micros(day * 86_400 + 1)],
               "flags": [true], "mixed": "[1,\"x\"]", "nested": [[1]], "objs": [{"a": 1}],
               "empty": [], "nulls": [null]}),
        json!({"id": 2, "ints": [], "nums": null, "big": [], "tags": [], "days": [],
               "at": [micros(day * 86_400)], "flags": [false, null], "mixed": "[]",
               "nested": [], "objs": [], "empty": [], "nulls": []}),
        json!({"id": 3, "ints": null, "nums": ["NaN", -3.0], "big": null, "tags": ["c"],
               "days": [day + 59, null], "at": [], "flags": null, "mixed": null, "nested": null,
               "objs": null, "empty": [], "nulls": null}),
        json!({"id": 4, "ints": null, "nums": null, "big": null, "tags": null, "days": null,
               "at": null, "flags": null, "mixed": null, "nested": null, "objs": null,
               "empty": null, "nulls": null}),
    ]
}

fn lines_types() -> Vec<(String, DataType, bool)> {
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    [
        ("id", DataType::Int64, false),
        ("ints", list(DataType::Int64, true), true),
        ("nums", list(DataType::Float64, false), true),
        ("big", list(DataType::Decimal128(38, 0), false), true),
        ("tags", list(DataType::Utf8, false), true),
        ("days", list(DataType::Date32, true), true),
        ("at", list(utc, false), true),
        ("flags", list(DataType::Boolean, true), true),
        ("mixed", DataType::Utf8, true),
        ("nested", list(list(DataType::Int64, false), false), true),
        (
            "objs",
            list(
                DataType::Struct(vec![Field::new("a", DataType::Int64, false)].into()),
                false,
            ),
            true,
        ),
        ("empty", list(DataType::Utf8, true), true),
        ("nulls", list(DataType::Utf8, true), true),
    ]
    .into_iter()
    .map(|(n, t, null)| (n.to_string(), t, null))
    .collect()
}

#[test]
fn json_lines_arrays_as_lists_in_parquet_and_arrow() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "a.jsonl", LINES);
    for (name, format) in [
        ("a.parquet", FileFormat::Parquet),
        ("a.arrow", FileFormat::ArrowIpc),
    ] {
        let out = dir.path().join(name);
        let options = ConvertOptions {
            format,
            ..ConvertOptions::default()
        };
        let report = convert(&input, &out, &options).unwrap();
        assert_eq!(report.rows, 4);
        let batches = match format {
            FileFormat::Parquet => read_parquet(&out),
            _ => read_ipc(&out),
        };
        assert_eq!(types(&batches), lines_types(), "{name}");
        assert_eq!(rows(&batches), lines_want(), "{name}");
    }
}

#[test]
fn arrays_json_keeps_the_old_text_columns() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "a.jsonl", LINES);
    let out = dir.path().join("a.parquet");
    let mut options = ConvertOptions::default();
    options.scan.arrays = Arrays::Json;
    convert(&input, &out, &options).unwrap();
    let batches = read_parquet(&out);
    for (name, ty, _) in types(&batches).into_iter().skip(1) {
        assert_eq!(ty, DataType::Utf8, "{name}");
    }
    let got = rows(&batches);
    assert_eq!(got[0]["ints"], json!("[1,2,null]"));
    assert_eq!(got[0]["tags"], json!("[\"a\",\"b\\\"c\",\"é\"]"));
    assert_eq!(got[1]["ints"], json!("[]"));
    assert_eq!(got[2]["ints"], Value::Null);
    assert_eq!("list".parse::<Arrays>(), Ok(Arrays::List));
    assert_eq!("JSON".parse::<Arrays>(), Ok(Arrays::Json));
    assert!("struct".parse::<Arrays>().is_err());
}

#[test]
fn a_given_schema_keeps_arrays_as_json_text() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "a.jsonl", "{\"a\": [1, 2]}\n{\"a\": null}\n");
    let out = dir.path().join("a.parquet");
    let mut options = ConvertOptions::default();
    options.scan.given =
        Some(GivenSchema::from_json(br#"{"fields": [{"name": "a", "type": "array"}]}"#).unwrap());
    convert(&input, &out, &options).unwrap();
    let batches = read_parquet(&out);
    assert_eq!(types(&batches)[0].1, DataType::Utf8);
    assert_eq!(rows(&batches), [json!({"a": "[1,2]"}), json!({"a": null})]);
}

/// Items of a document with a field of the enclosing value attached (`--with`), the arrays
/// of each item as lists; more items than one batch and one row group hold.
#[test]
fn json_items_with_an_enclosing_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut sessions = Vec::new();
    let mut want = Vec::new();
    for s in 0..30 {
        let mut items = Vec::new();
        for k in 0..100 {
            let n = s * 100 + k;
            let tools: Vec<Value> = (0..n % 4).map(|i| json!(format!("t{i}"))).collect();
            let scores: Vec<Value> = (0..n % 3)
                .map(|i| {
                    if i == 1 {
                        json!(null)
                    } else {
                        json!(n * 10 + i)
                    }
                })
                .collect();
            let mut item = json!({"n": n, "tools": tools, "scores": scores});
            if n % 7 == 0 {
                item["scores"] = Value::Null;
            }
            let scores_out = item["scores"].clone();
            items.push(item);
            want.push(json!({"n": n, "tools": tools, "scores": scores_out,
                             "sid": format!("s{s}")}));
        }
        sessions.push(json!({"items": items, "sid": format!("s{s}")}));
    }
    let input = write(
        dir.path(),
        "s.json",
        &serde_json::to_string(&json!({"sessions": sessions})).unwrap(),
    );
    let out = dir.path().join("s.parquet");
    let mut options = ConvertOptions::default();
    options.scan.read = ReadOptions {
        json_path: Some("sessions.item.items.item".into()),
        ..ReadOptions::default()
    };
    options.scan.with = vec![("sid".into(), "sessions.item.sid".into())];
    options.scan.batch_rows = 256;
    options.parquet.row_group_rows = 1000;
    let report = convert(&input, &out, &options).unwrap();
    assert_eq!(report.rows, 3000);
    let batches = read_parquet(&out);
    assert_eq!(
        types(&batches),
        [
            // serde_json writes the members in name order.
            ("n".to_string(), DataType::Int64, false),
            ("scores".into(), list(DataType::Int64, true), true),
            ("tools".into(), list(DataType::Utf8, false), false),
            ("sid".into(), DataType::Utf8, false),
        ]
    );
    assert_eq!(rows(&batches), want);
}

/// Partitioned output with list columns reads back as the unpartitioned table; a list column
/// cannot be a partition key.
#[test]
fn partitions_with_list_columns() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for n in 0..500 {
        let xs: Vec<u32> = (0..n % 5).collect();
        text.push_str(&format!(
            "{{\"k\": \"g{}\", \"n\": {n}, \"xs\": {}}}\n",
            n % 3,
            serde_json::to_string(&xs).unwrap()
        ));
    }
    let input = write(dir.path(), "p.jsonl", &text);
    let whole = dir.path().join("whole.parquet");
    convert(&input, &whole, &ConvertOptions::default()).unwrap();
    let mut want: Vec<Value> = rows(&read_parquet(&whole));
    let parts = dir.path().join("parts");
    let options = ConvertOptions {
        partition: PartitionOptions {
            columns: vec!["k".into()],
            ..PartitionOptions::default()
        },
        ..ConvertOptions::default()
    };
    convert(&input, &parts, &options).unwrap();
    let mut got = Vec::new();
    for g in 0..3 {
        let folder = parts.join(format!("k=g{g}"));
        for entry in std::fs::read_dir(&folder).unwrap() {
            for mut row in rows(&read_parquet(&entry.unwrap().path())) {
                row["k"] = json!(format!("g{g}"));
                got.push(row);
            }
        }
    }
    let key = |v: &Value| v["n"].as_i64().unwrap();
    got.sort_by_key(key);
    want.sort_by_key(key);
    assert_eq!(got.len(), 500);
    assert_eq!(got, want);
    assert_eq!(want[4]["xs"], json!([0, 1, 2, 3]));

    let options = ConvertOptions {
        partition: PartitionOptions {
            columns: vec!["xs".into()],
            ..PartitionOptions::default()
        },
        ..ConvertOptions::default()
    };
    let e = convert(&input, &dir.path().join("bad"), &options).unwrap_err();
    assert!(e.to_string().contains("a list or struct"), "{e}");
    assert!(!dir.path().join("bad").exists());
}

/// CSV has no arrays: its columns are what they were.
#[test]
fn csv_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "c.csv", "a,b\n1,\"[1, 2]\"\n2,x\n");
    let out = dir.path().join("c.parquet");
    convert(&input, &out, &ConvertOptions::default()).unwrap();
    let batches = read_parquet(&out);
    assert_eq!(
        types(&batches),
        [
            ("a".to_string(), DataType::Int64, false),
            ("b".into(), DataType::Utf8, false)
        ]
    );
    assert_eq!(rows(&batches)[0]["b"], json!("[1, 2]"));
}

struct Batches(Vec<RecordBatch>);

impl BatchConsumer for Batches {
    fn schema(&mut self, _: &TableSchema) -> Result<(), Error> {
        Ok(())
    }
    fn batch(&mut self, b: RecordBatch) -> Result<(), Error> {
        self.0.push(b);
        Ok(())
    }
}

/// List elements count toward the batch's byte bound: long lists of numbers (no text) cut
/// batches long before the row limit.
#[test]
fn list_elements_bound_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let line = format!(
        "{{\"xs\": {}}}\n",
        serde_json::to_string(&vec![7; 2000]).unwrap()
    );
    let input = write(dir.path(), "l.jsonl", &line.repeat(3000));
    let mut got = Batches(Vec::new());
    let report = scan(&input, &ScanOptions::default(), &mut got).unwrap();
    assert_eq!(report.rows, 3000);
    // 3000 rows of 2001 × 8 bytes are 48 MB: at least 6 batches of 8 MB.
    assert!(got.0.len() >= 6, "{} batches", got.0.len());
    assert!(got.0.iter().all(|b| b.num_rows() < 600));
    let total: usize = got.0.iter().map(|b| b.num_rows()).sum();
    assert_eq!(total, 3000);
    let last = got.0.last().unwrap();
    assert_eq!(
        cell(last.column(0), last.num_rows() - 1),
        json!(vec![7; 2000])
    );
}

/// A value of a list that does not fit its element type (the input changed between the
/// passes, or a schema built by hand) is a fault naming the column and the element.
#[test]
fn misfit_elements_are_faults() {
    use spate_columnar::{BatchBuilder, Column, ColumnType, ItemType};
    let table = TableSchema {
        columns: vec![Column {
            name: "a".into(),
            ty: ColumnType::List {
                item: ItemType::Int64,
                nullable: false,
            },
            nullable: true,
            nested: None,
        }],
        ..TableSchema::default()
    };
    for (row, want) in [
        (
            &b"{\"a\": [1, \"x\"]}"[..],
            "element 2: \"x\" is not an integer",
        ),
        (b"{\"a\": [1, null]}", "element 2: null"),
        (b"{\"a\": [[1]]}", "holding an array or an object"),
        (b"{\"a\": 3}", "is not an array of scalars"),
        (b"{\"a\": {\"b\": 1}}", "not in the schema"),
    ] {
        let mut b = BatchBuilder::new(table.clone(), 10);
        let fault = b.push_json(row).unwrap_err();
        assert!(
            fault.message.contains(want),
            "{}: {fault:?}",
            String::from_utf8_lossy(row)
        );
    }
    let mut b = BatchBuilder::new(table, 10);
    b.push_json(b"{\"a\": [1, 2]}").unwrap();
    b.push_json(b"{}").unwrap();
    let batch = b.finish().unwrap().unwrap();
    assert_eq!(
        (0..2).map(|r| cell(batch.column(0), r)).collect::<Vec<_>>(),
        [json!([1, 2]), Value::Null]
    );
}
