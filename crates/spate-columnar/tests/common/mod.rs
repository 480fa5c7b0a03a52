//! Helpers shared by the list and struct round-trip tests: writing inputs, reading the
//! files back with the `parquet` crate and `arrow-ipc`, and turning batches into JSON rows
//! and (name, type, nullable) triples to compare.
#![allow(dead_code)] // each test file uses its own subset

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float64Type, Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{json, Value};
use spate_columnar::FileFormat;

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

pub fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

pub fn read_ipc(path: &Path) -> Vec<RecordBatch> {
    arrow_ipc::reader::FileReader::try_new(File::open(path).unwrap(), None)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// One value of an array as JSON: lists as JSON arrays (nulls as `null`), dates as days,
/// timestamps as microseconds, decimals as their digits.
pub fn cell(col: &ArrayRef, r: usize) -> Value {
    if col.is_null(r) {
        return Value::Null;
    }
    match col.data_type() {
        DataType::Int64 => json!(col.as_primitive::<Int64Type>().value(r)),
        DataType::Float64 => {
            let f = col.as_primitive::<Float64Type>().value(r);
            if f.is_finite() {
                json!(f)
            } else {
                json!(f.to_string())
            }
        }
        DataType::Boolean => json!(col.as_boolean().value(r)),
        DataType::Utf8 => json!(col.as_string::<i32>().value(r)),
        DataType::Date32 => json!(col.as_primitive::<Date32Type>().value(r)),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            json!(col.as_primitive::<TimestampMicrosecondType>().value(r))
        }
        DataType::Decimal128(38, 0) => {
            json!(col.as_primitive::<Decimal128Type>().value(r).to_string())
        }
        DataType::List(_) => {
            let items = col.as_list::<i32>().value(r);
            Value::Array((0..items.len()).map(|i| cell(&items, i)).collect())
        }
        DataType::Struct(fields) => {
            let s = col.as_struct();
            Value::Object(
                fields
                    .iter()
                    .zip(s.columns())
                    .map(|(f, c)| (f.name().clone(), cell(c, r)))
                    .collect(),
            )
        }
        other => panic!("unexpected type {other}"),
    }
}

/// Every row as a JSON object of its columns (nulls included, as `null`).
pub fn rows(batches: &[RecordBatch]) -> Vec<Value> {
    let mut out = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            let mut row = serde_json::Map::new();
            for (f, col) in b.schema().fields().iter().zip(b.columns()) {
                row.insert(f.name().clone(), cell(col, r));
            }
            out.push(Value::Object(row));
        }
    }
    out
}

pub fn types(batches: &[RecordBatch]) -> Vec<(String, DataType, bool)> {
    batches[0]
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()))
        .collect()
}

pub fn list(item: DataType, nullable: bool) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, nullable)))
}

/// The batches of a Parquet or Arrow IPC file.
pub fn read(path: &Path, format: FileFormat) -> Vec<RecordBatch> {
    match format {
        FileFormat::Parquet => read_parquet(path),
        _ => read_ipc(path),
    }
}

pub fn strukt(fields: &[(&str, DataType, bool)]) -> DataType {
    DataType::Struct(
        fields
            .iter()
            .map(|(n, t, null)| Field::new(*n, t.clone(), *null))
            .collect::<Fields>(),
    )
}
