//! JSON arrays of objects as `List<Struct<..>>` and arrays of arrays as nested lists, in
//! Parquet and Arrow IPC: read back with the `parquet` crate's Arrow reader and `arrow-ipc`,
//! values, types and row counts equal the input's; the same through a given schema (one
//! pass), a value that does not fit it refused with its position, and the batch bound
//! counting nested values.

use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Fields, TimeUnit};
use serde_json::{json, Value};
use spate_columnar::{
    convert, scan, BatchConsumer, ConvertOptions, Error, FileFormat, ScanOptions, TableSchema,
};
use spate_csv::{GivenSchema, ReadOptions};

mod common;
use common::*;

const DAY: i64 = 19_723; // 2024-01-01
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Sessions whose delegations are objects with differing keys (the struct is their union),
/// nesting lists and structs; a matrix of arrays of arrays; a field of mixed kinds inside the
/// objects (JSON text); arrays of objects of mixed element kinds (the whole array JSON text).
fn sessions() -> (String, Vec<Value>) {
    let mut sessions = Vec::new();
    let mut want = Vec::new();
    for s in 0..40i64 {
        let mut ds = Vec::new();
        let mut ds_want = Vec::new();
        for d in 0..(s % 4) {
            let n = s * 10 + d;
            let tools: Vec<&str> = ["Read", "Edit"][..(n % 3) as usize].to_vec();
            let mut o = json!({"agent_type": format!("a{}", n % 3), "input_tokens": n * 100,
                               "at": "2024-01-01T00:00:01Z", "day": "2024-01-01",
                               "big": 1, "tools": tools,
                               "usage": {"cache": n, "ratio": 0.5}, "extra": 1});
            let mut w = json!({"agent_type": format!("a{}", n % 3), "input_tokens": n * 100,
                               "at": MICROS_PER_DAY * DAY + 1_000_000, "day": DAY,
                               "big": "1", "tools": tools,
                               "usage": {"cache": n, "ratio": 0.5}, "extra": "1",
                               "note": null});
            if n % 5 == 0 {
                // another key, a big integer, a datetime without a zone is not mixed in
                // (zones must agree), an object in the mixed field
                o["note"] = json!("n");
                w["note"] = json!("n");
                o["big"] = json!(424242); // beyond 64 bits once written (below)
                w["big"] = json!("99999999999999999999");
                o["extra"] = json!({"k": [1, "x"]});
                w["extra"] = json!("{\"k\":[1,\"x\"]}");
            }
            if n % 7 == 0 {
                o["usage"] = Value::Null;
                w["usage"] = Value::Null;
                o.as_object_mut().unwrap().remove("tools");
                w["tools"] = Value::Null;
            }
            ds.push(o);
            ds_want.push(w);
        }
        let matrix: Vec<Vec<i64>> = (0..s % 3).map(|i| (0..i).collect()).collect();
        let mut session = json!({"session_id": format!("s{s}"), "delegations": ds,
                                 "matrix": matrix, "odd": [{"a": 1}, 2]});
        let mut row = json!({"session_id": format!("s{s}"), "delegations": ds_want,
                             "matrix": matrix, "odd": "[{\"a\":1},2]"});
        if s % 9 == 8 {
            session["delegations"] = Value::Null;
            row["delegations"] = Value::Null;
        }
        sessions.push(session);
        want.push(row);
    }
    let text = serde_json::to_string_pretty(&json!({"sessions": sessions}))
        .unwrap()
        .replace("424242", "99999999999999999999");
    (text, want)
}

fn sessions_types() -> Vec<(String, DataType, bool)> {
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    // serde_json writes the members in name order; the struct's fields are in the order
    // of the first object, which has every key.
    let delegation = strukt(&[
        ("agent_type", DataType::Utf8, false),
        ("at", utc, false),
        ("big", DataType::Decimal128(38, 0), false),
        ("day", DataType::Date32, false),
        ("extra", DataType::Utf8, false),
        ("input_tokens", DataType::Int64, false),
        ("note", DataType::Utf8, true),
        ("tools", list(DataType::Utf8, false), true),
        (
            "usage",
            strukt(&[
                ("cache", DataType::Int64, false),
                ("ratio", DataType::Float64, false),
            ]),
            true,
        ),
    ]);
    [
        ("delegations", list(delegation, false), true),
        ("matrix", list(list(DataType::Int64, false), false), false),
        ("odd", DataType::Utf8, false),
        ("session_id", DataType::Utf8, false),
    ]
    .into_iter()
    .map(|(n, t, null)| (n.to_string(), t, null))
    .collect()
}

fn items_options() -> ConvertOptions {
    let mut options = ConvertOptions::default();
    options.scan.read = ReadOptions {
        json_path: Some("sessions.item".into()),
        ..ReadOptions::default()
    };
    options.scan.batch_rows = 7;
    options.parquet.row_group_rows = 10;
    options
}

#[test]
fn arrays_of_objects_are_lists_of_structs_in_parquet_and_arrow() {
    let dir = tempfile::tempdir().unwrap();
    let (text, want) = sessions();
    let input = write(dir.path(), "s.json", &text);
    for (name, format) in [
        ("s.parquet", FileFormat::Parquet),
        ("s.arrow", FileFormat::ArrowIpc),
    ] {
        let out = dir.path().join(name);
        let options = ConvertOptions {
            format,
            ..items_options()
        };
        let report = convert(&input, &out, &options).unwrap();
        assert_eq!(report.rows, 40);
        let batches = read(&out, format);
        assert_eq!(types(&batches), sessions_types(), "{name}");
        assert_eq!(rows(&batches), want, "{name}");
    }
}

/// The schema `spate schema --json` prints names the element types; given back, the input
/// is read once and the lists come out the same (every value nullable, as a given schema's).
#[test]
fn a_given_schema_with_element_types_reads_once_into_the_same_lists() {
    let dir = tempfile::tempdir().unwrap();
    let (text, mut want) = sessions();
    // A given schema's integers are 64 bits: no big integer here.
    let text = text.replace("99999999999999999999", "1");
    for row in &mut want {
        for d in row["delegations"].as_array_mut().into_iter().flatten() {
            d["big"] = json!(1);
        }
    }
    let input = write(dir.path(), "s.json", &text);
    let mut read = spate_csv::TableInput::open(
        &input,
        &ReadOptions {
            json_path: Some("sessions.item".into()),
            ..ReadOptions::default()
        },
        true,
    )
    .unwrap();
    let inferred = spate_csv::infer(&mut read, &Default::default()).unwrap();
    let frictionless = serde_json::to_vec(&inferred.to_frictionless()).unwrap();
    let given = GivenSchema::from_json(&frictionless).unwrap();
    let out = dir.path().join("g.parquet");
    let mut options = items_options();
    options.scan.given = Some(given.clone());
    convert(&input, &out, &options).unwrap();
    let batches = read_back(&out);
    assert_eq!(rows(&batches), want);
    // Every field nullable; otherwise the types of the two-pass route.
    let nullable = |t: &DataType| -> DataType {
        fn go(t: &DataType) -> DataType {
            match t {
                DataType::List(f) => list(go(f.data_type()), true),
                DataType::Struct(fs) => DataType::Struct(
                    fs.iter()
                        .map(|f| Field::new(f.name(), go(f.data_type()), true))
                        .collect::<Fields>(),
                ),
                // a given schema's integers are 64 bits
                DataType::Decimal128(38, 0) => DataType::Int64,
                other => other.clone(),
            }
        }
        go(t)
    };
    let want_types: Vec<_> = sessions_types()
        .into_iter()
        .map(|(n, t, _)| (n, nullable(&t), true))
        .collect();
    assert_eq!(types(&batches), want_types);
    let table = TableSchema::from_given(&given);
    assert_eq!(table.columns.len(), 4);
}

fn read_back(path: &Path) -> Vec<RecordBatch> {
    read(path, FileFormat::Parquet)
}

/// A nested value that does not fit a given schema is refused with the input, the row, its
/// byte offset, the column and where inside the value.
#[test]
fn a_nested_value_that_does_not_fit_is_refused_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "d.jsonl",
        "{\"ds\": [{\"n\": 1}]}\n{\"ds\": [{\"n\": 2}, {\"n\": \"x\"}]}\n",
    );
    let schema = br#"{"fields": [{"name": "ds", "type": "array", "spate": {"items":
        {"type": "object", "fields": [{"name": "n", "type": "integer"}]}}}]}"#;
    let mut options = ConvertOptions::default();
    options.scan.given = Some(GivenSchema::from_json(schema).unwrap());
    let out = dir.path().join("d.parquet");
    let e = convert(&input, &out, &options).unwrap_err();
    assert!(e.is_invalid_data());
    assert_eq!(
        e.to_string(),
        format!(
            "{}: row 2 (byte 19), column \"ds\": element 2: field \"n\": \"x\" is not an \
             integer within 64 bits",
            input.display()
        )
    );
    assert!(!out.exists());
    // A key the struct does not have: nothing is dropped silently.
    let input = write(dir.path(), "k.jsonl", "{\"ds\": [{\"n\": 1, \"m\": 2}]}\n");
    let e = convert(&input, &out, &options).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: row 1 (byte 0), column \"ds\": element 1: field \"m\" is not in the schema",
            input.display()
        )
    );
    // With arrays kept as JSON text, the element types of the schema are not used.
    let mut json_text = options.clone();
    json_text.scan.arrays = spate_columnar::Arrays::Json;
    let input = write(dir.path(), "t.jsonl", "{\"ds\": [{\"n\": \"x\"}]}\n");
    convert(&input, &out, &json_text).unwrap();
    let batches = read_back(&out);
    assert_eq!(rows(&batches), [json!({"ds": "[{\"n\":\"x\"}]"})]);
    // Not an array, not an object.
    for (line, what) in [
        ("{\"ds\": 5}", "a number is not an array"),
        ("{\"ds\": [[1]]}", "element 1: an array is not an object"),
        (
            "{\"ds\": [{\"n\": [1]}]}",
            "element 1: field \"n\": an array is not an integer within 64 bits",
        ),
    ] {
        let input = write(dir.path(), "w.jsonl", &format!("{line}\n"));
        let e = convert(&input, &out, &options).unwrap_err();
        assert!(e.to_string().ends_with(what), "{e}");
    }
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

/// Each nested value counts toward the batch bound: rows of long arrays of objects are cut
/// into batches far below the row limit.
#[test]
fn nested_values_count_toward_the_batch_bound() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    let objs: Vec<Value> = (0..2000).map(|i| json!({"a": i, "b": [i]})).collect();
    let line = serde_json::to_string(&json!({"xs": objs})).unwrap();
    for _ in 0..400 {
        text.push_str(&line);
        text.push('\n');
    }
    let input = write(dir.path(), "l.jsonl", &text);
    let mut batches = Batches(Vec::new());
    let report = scan(&input, &ScanOptions::default(), &mut batches).unwrap();
    assert_eq!(report.rows, 400);
    // Per object: the element, the struct's two fields, the inner list's element: 4 values
    // of 8 bytes, so about 64 KB a row and 8 MB a batch.
    let sizes: Vec<usize> = batches.0.iter().map(|b| b.num_rows()).collect();
    assert!(sizes.len() >= 3, "{sizes:?}");
    assert!(sizes.iter().all(|&n| n <= 200), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), 400);
    let first = &batches.0[0];
    assert_eq!(
        first.schema().field(0).data_type(),
        &list(
            strukt(&[
                ("a", DataType::Int64, false),
                ("b", list(DataType::Int64, false), false)
            ]),
            false
        )
    );
}

/// Datetimes inside structs follow the zone rule of columns: all without a zone, wall-clock
/// timestamps; with zones (or mixed), instants in UTC; integers and floats join.
#[test]
fn nested_datetimes_follow_the_zone_rule() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "z.jsonl",
        concat!(
            r#"{"xs": [{"wall": "2024-01-01T10:00:00", "mixed": "2024-01-01T10:00:00", "n": 1}]}"#,
            "\n",
            r#"{"xs": [{"wall": "2024-01-02T00:00:00", "mixed": "2024-01-01T10:00:00+02:00", "n": 2.5}]}"#,
            "\n"
        ),
    );
    let out = dir.path().join("z.parquet");
    convert(&input, &out, &ConvertOptions::default()).unwrap();
    let batches = read_back(&out);
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let wall = DataType::Timestamp(TimeUnit::Microsecond, None);
    assert_eq!(
        types(&batches)[0].1,
        list(
            strukt(&[
                ("wall", wall, false),
                ("mixed", utc, false),
                ("n", DataType::Float64, false)
            ]),
            false
        )
    );
    let h = 3_600_000_000i64;
    assert_eq!(
        rows(&batches),
        [
            json!({"xs": [{"wall": DAY * MICROS_PER_DAY + 10 * h, "mixed": DAY * MICROS_PER_DAY + 10 * h, "n": 1.0}]}),
            json!({"xs": [{"wall": (DAY + 1) * MICROS_PER_DAY, "mixed": DAY * MICROS_PER_DAY + 8 * h, "n": 2.5}]}),
        ]
    );
}
