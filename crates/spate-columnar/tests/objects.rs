//! Nested objects as struct columns (the default) and flattened into dotted columns
//! (`flatten`): read back with the `parquet` crate and `arrow-ipc`, every row equals its
//! input line read by serde_json (the oracle), whatever mix of missing members, `null`
//! objects, lists and lists of structs inside the objects; members whose names hold dots,
//! paths seen both as objects and as values, nullability, partitioning by a struct's field,
//! a given schema, and items of a document with a field of the enclosing value.

use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::DataType;
use serde_json::{json, Map, Value};
use spate_columnar::{convert, ConvertOptions, FileFormat, PartitionOptions, ScanOptions};
use spate_csv::{GivenSchema, ReadOptions};

mod common;
use common::*;

/// What a column of type `ty` holds for the input value `v` (missing: `None`), as
/// [`common::cell`] shows it: structs as objects of all their fields, lists as arrays,
/// numbers as numbers; a string column holds a number's text and an object's compact JSON.
fn expect(v: Option<&Value>, ty: &DataType) -> Value {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Value::Null;
    };
    match ty {
        DataType::Struct(fields) => Value::Object(
            fields
                .iter()
                .map(|f| (f.name().clone(), expect(v.get(f.name()), f.data_type())))
                .collect(),
        ),
        DataType::List(item) => Value::Array(
            v.as_array()
                .expect("a list holds arrays")
                .iter()
                .map(|e| expect(Some(e), item.data_type()))
                .collect(),
        ),
        DataType::Float64 => json!(v.as_f64().expect("a number")),
        DataType::Utf8 => match v {
            Value::String(s) => json!(s),
            other => json!(other.to_string()),
        },
        _ => v.clone(),
    }
}

/// Each row of `batches` against its input line.
fn check_rows(batches: &[RecordBatch], lines: &[Value]) {
    let got = rows(batches);
    assert_eq!(got.len(), lines.len());
    let schema = batches[0].schema();
    for (i, (g, line)) in got.iter().zip(lines).enumerate() {
        let want: Map<String, Value> = schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), expect(line.get(f.name()), f.data_type())))
            .collect();
        assert_eq!(g, &Value::Object(want), "row {}: {line}", i + 1);
    }
}

/// A small deterministic generator (no dependency, the same rows on every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// An object of a few members, some of them objects (down to `depth` levels), lists of
/// integers and lists of objects; members left out or `null` at random.
fn object(r: &mut Lcg, depth: u32) -> Value {
    let mut o = Map::new();
    for (k, name) in [
        "id", "name", "score", "flag", "tags", "calls", "meta", "usage",
    ]
    .iter()
    .enumerate()
    {
        let v = match r.next(9) {
            0 => continue,
            1 => Value::Null,
            _ => match k {
                0 => json!(r.next(1000) as i64 - 500),
                1 => json!(format!("n{}", r.next(50))),
                2 => json!(r.next(1000) as f64 / 8.0),
                3 => json!(r.next(2) == 0),
                4 => Value::Array((0..r.next(4)).map(|i| json!(i)).collect()),
                5 => Value::Array(
                    (0..r.next(3))
                        .map(|i| json!({"tool": format!("t{i}"), "ms": r.next(90)}))
                        .collect(),
                ),
                _ if depth == 0 => continue,
                _ => object(r, depth - 1),
            },
        };
        o.insert((*name).to_owned(), v);
    }
    Value::Object(o)
}

fn lines_of(values: &[Value]) -> String {
    values.iter().map(|v| format!("{v}\n")).collect()
}

fn options(flatten: bool) -> ConvertOptions {
    ConvertOptions {
        scan: ScanOptions {
            batch_rows: 300,
            flatten,
            ..ScanOptions::default()
        },
        ..ConvertOptions::default()
    }
}

#[test]
fn random_nested_objects_round_trip_as_structs() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Lcg(7);
    let values: Vec<Value> = (0..2000).map(|_| object(&mut r, 3)).collect();
    let input = write(dir.path(), "o.jsonl", &lines_of(&values));
    for format in [FileFormat::Parquet, FileFormat::ArrowIpc] {
        let out = dir.path().join(format!("o.{format:?}"));
        let options = ConvertOptions {
            format,
            ..options(false)
        };
        let report = convert(&input, &out, &options).unwrap();
        assert_eq!(report.rows, 2000);
        let batches = read(&out, format);
        // (serde_json writes members in name order; columns come in first-seen order.)
        let mut names: Vec<String> = types(&batches).into_iter().map(|t| t.0).collect();
        let meta = &types(&batches)[names.iter().position(|n| n == "meta").unwrap()].1;
        names.sort();
        assert_eq!(
            names,
            ["calls", "flag", "id", "meta", "name", "score", "tags", "usage"]
        );
        let DataType::Struct(fields) = meta else {
            panic!("meta is {meta}")
        };
        // Three levels of objects below the top: structs in structs.
        assert!(matches!(
            fields.find("usage").unwrap().1.data_type(),
            DataType::Struct(_)
        ));
        check_rows(&batches, &values);
    }
}

#[test]
fn flattened_objects_are_dotted_columns_and_null_objects_are_null_columns() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        "{\"u\": {\"x\": 1, \"v\": {\"w\": \"a\"}}}\n{\"u\": null}\n{}\n{\"u\": {\"v\": null}}\n";
    let input = write(dir.path(), "f.jsonl", text);
    let out = dir.path().join("f.parquet");
    convert(&input, &out, &options(true)).unwrap();
    let batches = read_parquet(&out);
    assert_eq!(
        types(&batches),
        [
            ("u.x".to_string(), DataType::Int64, true),
            ("u.v.w".to_string(), DataType::Utf8, true),
        ]
    );
    assert_eq!(
        rows(&batches),
        [
            json!({"u.x": 1, "u.v.w": "a"}),
            json!({"u.x": null, "u.v.w": null}),
            json!({"u.x": null, "u.v.w": null}),
            json!({"u.x": null, "u.v.w": null}),
        ]
    );
    // As structs: a null object and a missing one are null structs; `{"v": null}` is an
    // object whose members are null.
    let out = dir.path().join("s.parquet");
    convert(&input, &out, &options(false)).unwrap();
    let batches = read_parquet(&out);
    assert_eq!(
        types(&batches),
        [(
            "u".to_string(),
            strukt(&[
                ("x", DataType::Int64, true),
                ("v", strukt(&[("w", DataType::Utf8, true)]), true)
            ]),
            true
        )]
    );
    assert_eq!(
        rows(&batches),
        [
            json!({"u": {"x": 1, "v": {"w": "a"}}}),
            json!({"u": null}),
            json!({"u": null}),
            json!({"u": {"x": null, "v": null}}),
        ]
    );
}

#[test]
fn member_names_with_dots_mixed_paths_and_nullability() {
    let dir = tempfile::tempdir().unwrap();
    let values = [
        json!({"a.b": 1, "o": {"c.d": 2, "e": {"f": true}}, "m": 1, "k": {"x": 1}}),
        json!({"a.b": 3, "o": {"c.d": 4, "e": {"f": false}}, "m": {"n": [1, 2]}, "k": {"x": 2}}),
        json!({"a.b": 5, "o": {"c.d": 6, "e": {"f": true}}, "m": "s", "k": {"x": 3, "y": "z"}}),
    ];
    let input = write(dir.path(), "d.jsonl", &lines_of(&values));
    let out = dir.path().join("d.parquet");
    convert(&input, &out, &options(false)).unwrap();
    let batches = read_parquet(&out);
    assert_eq!(
        types(&batches),
        [
            ("a.b".to_string(), DataType::Int64, false),
            (
                "k".to_string(),
                strukt(&[("x", DataType::Int64, false), ("y", DataType::Utf8, true)]),
                true
            ),
            // Seen both as an object and as values: its text (nullable, as the inference
            // saw no value in the row holding the object).
            ("m".to_string(), DataType::Utf8, true),
            (
                "o".to_string(),
                strukt(&[
                    ("c.d", DataType::Int64, false),
                    ("e", strukt(&[("f", DataType::Boolean, false)]), false)
                ]),
                false
            ),
        ]
    );
    assert_eq!(
        rows(&batches)
            .iter()
            .map(|r| r["m"].clone())
            .collect::<Vec<_>>(),
        [json!("1"), json!("{\"n\":[1,2]}"), json!("s")]
    );
    check_rows(&batches, &values);
}

#[test]
fn partitions_by_a_field_of_a_struct() {
    let dir = tempfile::tempdir().unwrap();
    let mut values = Vec::new();
    for i in 0..300i64 {
        let message = match i % 4 {
            0 => Value::Null,
            k => json!({"model": format!("m{k}"), "tokens": i}),
        };
        values.push(json!({"id": i, "message": message}));
    }
    let input = write(dir.path(), "p.jsonl", &lines_of(&values));
    let parts = dir.path().join("parts");
    let partitioned = ConvertOptions {
        partition: PartitionOptions {
            columns: vec!["message.model".into()],
            ..PartitionOptions::default()
        },
        ..options(false)
    };
    convert(&input, &parts, &partitioned).unwrap();
    let mut folders: Vec<String> = std::fs::read_dir(&parts)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    assert_eq!(
        folders,
        [
            "message.model=__HIVE_DEFAULT_PARTITION__",
            "message.model=m1",
            "message.model=m2",
            "message.model=m3"
        ]
    );
    // The struct stays whole in the files.
    let mut got = Vec::new();
    for f in &folders {
        for entry in std::fs::read_dir(parts.join(f)).unwrap() {
            got.extend(rows(&read_parquet(&entry.unwrap().path())));
        }
    }
    got.sort_by_key(|r| r["id"].as_i64().unwrap());
    let want: Vec<Value> = values
        .iter()
        .map(|v| {
            let m = &v["message"];
            json!({"id": v["id"], "message": if m.is_null() { Value::Null } else { m.clone() }})
        })
        .collect();
    assert_eq!(got, want);

    // A struct itself, or a field that is not there, cannot name a folder.
    for (column, message) in [
        ("message", "a list or struct"),
        ("message.nope", "no such column"),
    ] {
        let bad = ConvertOptions {
            partition: PartitionOptions {
                columns: vec![column.into()],
                ..PartitionOptions::default()
            },
            ..options(false)
        };
        let e = convert(&input, &dir.path().join("bad"), &bad).unwrap_err();
        assert!(e.to_string().contains(message), "{column}: {e}");
    }
}

#[test]
fn a_given_schema_nests_at_its_dots_and_refuses_what_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let schema = br#"{"fields": [{"name": "id", "type": "integer"},
                                {"name": "u.x", "type": "integer"},
                                {"name": "u.v.w", "type": "string"}]}"#;
    let input = write(
        dir.path(),
        "g.jsonl",
        "{\"id\": 1, \"u\": {\"x\": 5, \"v\": {\"w\": \"a\"}}}\n{\"id\": 2, \"u\": null}\n",
    );
    let out = dir.path().join("g.parquet");
    let mut given = options(false);
    given.scan.given = Some(GivenSchema::from_json(schema).unwrap());
    convert(&input, &out, &given).unwrap();
    let batches = read_parquet(&out);
    assert_eq!(
        rows(&batches),
        [
            json!({"id": 1, "u": {"x": 5, "v": {"w": "a"}}}),
            json!({"id": 2, "u": null}),
        ]
    );
    let bad = write(
        dir.path(),
        "b.jsonl",
        "{\"id\": 1, \"u\": {\"x\": 5}}\n{\"id\": 2, \"u\": {\"x\": \"s\"}}\n",
    );
    let e = convert(&bad, &dir.path().join("b.parquet"), &given).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("row 2") && text.contains("\"u\""), "{text}");
    assert!(text.contains("field \"x\""), "{text}");
    assert!(!dir.path().join("b.parquet").exists());
}

#[test]
fn items_of_a_document_with_an_enclosing_field() {
    let dir = tempfile::tempdir().unwrap();
    let doc = json!({"sessions": [
        {"sid": "s1", "delegations": [{"agent": "a", "usage": {"in": 1, "out": 2}},
                                      {"agent": "b", "usage": null}]},
        {"sid": "s2", "delegations": [{"agent": "c", "usage": {"in": 3}}]}
    ]});
    let input = write(dir.path(), "s.json", &doc.to_string());
    let out = dir.path().join("s.parquet");
    let mut items = options(false);
    items.scan.read = ReadOptions {
        json_path: Some("sessions.item.delegations.item".into()),
        ..ReadOptions::default()
    };
    items.scan.with = vec![("session".into(), "sessions.item.sid".into())];
    convert(&input, &out, &items).unwrap();
    assert_eq!(
        rows(&read_parquet(&out)),
        [
            json!({"agent": "a", "usage": {"in": 1, "out": 2}, "session": "s1"}),
            json!({"agent": "b", "usage": null, "session": "s1"}),
            json!({"agent": "c", "usage": {"in": 3, "out": null}, "session": "s2"}),
        ]
    );
}

/// Reading a file twice gives the same table; a path never seen as an object is not a
/// struct (CSV-like flat rows are unchanged by the struct layout).
#[test]
fn flat_rows_are_the_same_either_way() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "flat.jsonl",
        "{\"a\": 1, \"b\": \"x\"}\n{\"a\": 2, \"c\": [1]}\n",
    );
    let read_with = |flatten: bool, name: &str| {
        let out = dir.path().join(name);
        convert(&input, &out, &options(flatten)).unwrap();
        read_parquet(&out)
    };
    let (a, b) = (read_with(false, "a.parquet"), read_with(true, "b.parquet"));
    assert_eq!(types(&a), types(&b));
    assert_eq!(rows(&a), rows(&b));
    assert!(Path::new(&dir.path().join("a.parquet")).exists());
}

/// A member whose first value was `null` keeps its place among the columns once it holds an
/// object.
#[test]
fn a_struct_keeps_the_place_where_its_member_was_first_seen() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "n.jsonl",
        "{\"id\": 1, \"m\": null, \"z\": 1}\n{\"id\": 2, \"m\": {\"k\": {}}, \"z\": 2}\n\
         {\"id\": 3, \"m\": {\"k\": {\"j\": 1}, \"e\": {}}, \"z\": 3}\n",
    );
    let out = dir.path().join("n.parquet");
    convert(&input, &out, &options(false)).unwrap();
    let batches = read_parquet(&out);
    // `m.e` never had a member: no field (Parquet has no empty struct).
    assert_eq!(
        types(&batches),
        [
            ("id".to_string(), DataType::Int64, false),
            (
                "m".to_string(),
                strukt(&[("k", strukt(&[("j", DataType::Int64, true)]), true)]),
                true
            ),
            ("z".to_string(), DataType::Int64, false),
        ]
    );
    assert_eq!(
        rows(&batches),
        [
            json!({"id": 1, "m": null, "z": 1}),
            json!({"id": 2, "m": {"k": {"j": null}}, "z": 2}),
            json!({"id": 3, "m": {"k": {"j": 1}}, "z": 3}),
        ]
    );
}

/// Columns encoded on several threads give the file parquet's sequential writer gives
/// (the same bytes), over many row groups of structs, lists and nulls.
#[test]
fn parallel_encoding_writes_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Lcg(11);
    let values: Vec<Value> = (0..3000).map(|_| object(&mut r, 2)).collect();
    let input = write(dir.path(), "p.jsonl", &lines_of(&values));
    let mut files = Vec::new();
    for threads in [1, 2, 4] {
        let out = dir.path().join(format!("t{threads}.parquet"));
        let options = ConvertOptions {
            threads,
            parquet: spate_columnar::ParquetOptions {
                row_group_rows: 700,
                ..Default::default()
            },
            ..options(false)
        };
        convert(&input, &out, &options).unwrap();
        files.push(std::fs::read(&out).unwrap());
        check_rows(&read_parquet(&out), &values);
    }
    assert!(files[0] == files[1] && files[1] == files[2]);
}

/// Byte ranges of a JSON Lines file: two ranges split at every byte read every line once
/// (a line belongs to the range it starts in, also when it starts right at the split).
#[test]
fn byte_ranges_read_each_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        "{\"i\": 0, \"u\": {\"x\": 1}}\n\n{\"i\": 1}\r\n  {\"i\": 2, \"u\": null}\n{\"i\": 3}";
    let input = write(dir.path(), "r.jsonl", text);
    let given = GivenSchema::from_json(
        br#"{"fields": [{"name": "i", "type": "integer"}, {"name": "u.x", "type": "integer"}]}"#,
    )
    .unwrap();
    let len = text.len() as u64;
    let ids = |range: (u64, u64)| -> Vec<i64> {
        let out = dir.path().join(format!("r{}-{}.parquet", range.0, range.1));
        let mut options = options(false);
        options.scan.given = Some(given.clone());
        options.scan.range = Some(range);
        convert(&input, &out, &options).unwrap();
        if !out.exists() {
            return Vec::new();
        }
        let batches = read_parquet(&out);
        if batches.is_empty() {
            return Vec::new();
        }
        rows(&batches)
            .iter()
            .map(|r| r["i"].as_i64().unwrap())
            .collect()
    };
    for split in 0..=len {
        let mut got = ids((0, split));
        got.extend(ids((split, len)));
        assert_eq!(got, [0, 1, 2, 3], "split at {split}");
    }
    // Without a given schema the types are inferred over the range's own lines.
    let out = dir.path().join("inferred.parquet");
    let mut options = options(false);
    options.scan.range = Some((0, 10));
    convert(&input, &out, &options).unwrap();
    assert_eq!(rows(&read_parquet(&out)), [json!({"i": 0, "u": {"x": 1}})]);
    // Only of an uncompressed JSON Lines file.
    let doc = write(dir.path(), "d.json", "[1, 2]");
    let e = convert(&doc, &dir.path().join("d.parquet"), &options).unwrap_err();
    assert!(e.to_string().contains("byte range"), "{e}");
}
