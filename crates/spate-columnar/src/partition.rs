//! Hive-style partitioned output: `COLUMN=VALUE/…/part-N.parquet` folders that Spark,
//! DuckDB, Polars, pyarrow and Dask read as one table.
//!
//! Each batch's rows are grouped by the values of the partition columns, and each group is
//! written (without the partition columns, which the folder names hold) to its partition's
//! open file. Open files are bounded ([`PartitionOptions::max_open`]): past it, the file used
//! least recently is finished, and a later row of that partition starts a new `part-N` file.
//! Memory is bounded too: each open Parquet file holds at most one row group, and when the
//! row groups held together pass [`PartitionOptions::memory`], the largest is written out.
//!
//! Values in folder names: integers, booleans and floats as written, dates `YYYY-MM-DD`,
//! timestamps microseconds since the epoch, decimals their digits, strings as they are;
//! every byte other than ASCII letters, digits, `-` and `_` is percent-encoded (`%2F` for
//! `/`, `%3D` for `=`, `%2E` for `.`, UTF-8 byte by byte). A null (or an empty string) is
//! `__HIVE_DEFAULT_PARTITION__`, as Hive and Spark write it.
//!
//! A partition column may also be a field of a struct column (`message.model`, a nested
//! object's member): the folders are named after it (`message.model=VALUE`), and the struct
//! stays whole in the files (only a top-level column can be taken out of them). A null
//! struct makes its fields' values null.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float64Type, Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch, UInt32Array};
use arrow_schema::{DataType, SchemaRef};

use crate::error::Error;
use crate::nested::NestedType;
use crate::scan::BatchConsumer;
use crate::schema::{ColumnType, TableSchema};
use crate::write::{BatchWriter, FileFormat, ParquetOptions};

/// The folder name of a null partition value.
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";
/// Files open at once unless told otherwise.
pub const DEFAULT_MAX_OPEN: usize = 32;
/// Memory of the row groups held by all open files unless told otherwise.
pub const DEFAULT_MEMORY: usize = 256 << 20;

/// Settings of partitioned output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionOptions {
    /// The columns, outermost folder first.
    pub columns: Vec<String>,
    /// Files open at once.
    pub max_open: usize,
    /// Bytes of row groups held by all open files together.
    pub memory: usize,
}

impl Default for PartitionOptions {
    fn default() -> Self {
        PartitionOptions {
            columns: Vec::new(),
            max_open: DEFAULT_MAX_OPEN,
            memory: DEFAULT_MEMORY,
        }
    }
}

struct Open {
    writer: BatchWriter<BufWriter<File>>,
    path: PathBuf,
    /// When it was last written to (a counter), for closing the least recently used.
    used: u64,
}

/// Writes batches into partition folders under `root`. See the module docs.
pub struct PartitionSink {
    root: PathBuf,
    options: PartitionOptions,
    format: FileFormat,
    parquet: ParquetOptions,
    /// Where the partition columns are, and the indices of the columns written to the files.
    keys: Vec<KeyPath>,
    kept: Vec<usize>,
    file_schema: Option<SchemaRef>,
    open: HashMap<String, Open>,
    clock: u64,
    next_part: u64,
    /// Files finished so far.
    pub files: u64,
    /// Bytes of the files finished so far.
    pub bytes: u64,
}

impl std::fmt::Debug for PartitionSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionSink")
            .field("root", &self.root)
            .field("open", &self.open.len())
            .field("files", &self.files)
            .finish()
    }
}

impl PartitionSink {
    /// A sink writing under `root` (an existing, empty folder).
    pub fn new(
        root: &Path,
        options: PartitionOptions,
        format: FileFormat,
        parquet: ParquetOptions,
    ) -> PartitionSink {
        let mut parquet = parquet;
        // Each open file holds one row group: share the memory among them.
        parquet.row_group_bytes = parquet
            .row_group_bytes
            .min(options.memory / options.max_open.max(1))
            .max(1 << 20);
        PartitionSink {
            root: root.to_path_buf(),
            options,
            format,
            parquet,
            keys: Vec::new(),
            kept: Vec::new(),
            file_schema: None,
            open: HashMap::new(),
            clock: 0,
            next_part: 0,
            files: 0,
            bytes: 0,
        }
    }

    /// Columns written to the files (the partition columns are in the folder names).
    pub fn columns(&self) -> usize {
        self.kept.len()
    }

    /// Finishes every open file.
    pub fn finish(mut self) -> Result<(u64, u64), Error> {
        let keys: Vec<String> = self.open.keys().cloned().collect();
        for k in keys {
            self.close(&k)?;
        }
        Ok((self.files, self.bytes))
    }

    fn close(&mut self, key: &str) -> Result<(), Error> {
        if let Some(o) = self.open.remove(key) {
            let mut file = o.writer.finish()?;
            file.flush().map_err(|source| Error::Output {
                path: o.path.clone(),
                source,
            })?;
            drop(file);
            self.files += 1;
            self.bytes += std::fs::metadata(&o.path).map(|m| m.len()).unwrap_or(0);
        }
        Ok(())
    }

    fn writer(&mut self, key: &str) -> Result<&mut Open, Error> {
        if !self.open.contains_key(key) {
            if self.open.len() >= self.options.max_open.max(1) {
                let oldest = self
                    .open
                    .iter()
                    .min_by_key(|(_, o)| o.used)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    self.close(&k)?;
                }
            }
            let dir = self.root.join(key);
            std::fs::create_dir_all(&dir).map_err(|source| Error::Output {
                path: dir.clone(),
                source,
            })?;
            let path = dir.join(format!(
                "part-{}.{}",
                self.next_part,
                self.format.extension()
            ));
            self.next_part += 1;
            let file = File::create(&path).map_err(|source| Error::Output {
                path: path.clone(),
                source,
            })?;
            let schema = self.file_schema.clone().expect("the schema comes first");
            let writer = BatchWriter::new(
                BufWriter::with_capacity(256 << 10, file),
                schema,
                self.format,
                &self.parquet,
            )?;
            self.open.insert(
                key.to_owned(),
                Open {
                    writer,
                    path,
                    used: 0,
                },
            );
        }
        Ok(self.open.get_mut(key).expect("inserted above"))
    }

    /// Writes out the largest row group held while the open files hold too much.
    fn bound_memory(&mut self) -> Result<(), Error> {
        loop {
            let total: usize = self.open.values().map(|o| o.writer.buffered()).sum();
            if total <= self.options.memory {
                return Ok(());
            }
            let Some(largest) = self.open.values_mut().max_by_key(|o| o.writer.buffered()) else {
                return Ok(());
            };
            if largest.writer.buffered() == 0 {
                return Ok(());
            }
            largest.writer.flush_row_group()?;
        }
    }
}

/// Where a partition column is: a top-level column, or a field of a struct column (the
/// field's index at each level).
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyPath {
    column: usize,
    fields: Vec<usize>,
}

impl KeyPath {
    /// The arrays from the column down to the partition column in `batch`: the structs
    /// enclosing it, then its values (the last).
    fn arrays(&self, batch: &RecordBatch) -> Vec<ArrayRef> {
        let mut chain = vec![batch.column(self.column).clone()];
        for &f in &self.fields {
            let child = chain[chain.len() - 1].as_struct().column(f).clone();
            chain.push(child);
        }
        chain
    }
}

/// The field `name` (a dotted path below a struct) among `fields`: the indices down to it,
/// and its type. A field's own name may hold dots, so each level tries its names.
fn find_field<'a>(
    fields: &'a [crate::nested::NestedField],
    name: &str,
) -> Option<(Vec<usize>, &'a NestedType)> {
    for (i, f) in fields.iter().enumerate() {
        if f.name == name {
            return Some((vec![i], &f.ty));
        }
        if let (Some(rest), NestedType::Struct(inner)) = (
            name.strip_prefix(f.name.as_str())
                .and_then(|r| r.strip_prefix('.')),
            &f.ty,
        ) {
            if let Some((mut path, ty)) = find_field(inner, rest) {
                path.insert(0, i);
                return Some((path, ty));
            }
        }
    }
    None
}

/// Where the partition column `name` is in `table`, and whether its values are scalars.
fn locate(table: &TableSchema, name: &str) -> Option<(KeyPath, bool)> {
    if let Some(i) = table.index_of(name) {
        let scalar = !matches!(
            table.columns[i].ty,
            ColumnType::List { .. } | ColumnType::Nested | ColumnType::Struct
        );
        return Some((
            KeyPath {
                column: i,
                fields: Vec::new(),
            },
            scalar,
        ));
    }
    table.columns.iter().enumerate().find_map(|(i, c)| {
        let rest = name.strip_prefix(c.name.as_str())?.strip_prefix('.')?;
        let NestedType::Struct(fields) = c.nested.as_deref()? else {
            return None;
        };
        let (fields, ty) = find_field(fields, rest)?;
        let scalar = matches!(ty, NestedType::Scalar(_));
        Some((KeyPath { column: i, fields }, scalar))
    })
}

impl BatchConsumer for PartitionSink {
    fn schema(&mut self, table: &TableSchema) -> Result<(), Error> {
        let mut keys: Vec<KeyPath> = Vec::new();
        for c in &self.options.columns {
            let (key, scalar) = locate(table, c).ok_or_else(|| {
                Error::Usage(format!(
                    "cannot partition by {c:?}: no such column (columns: {})",
                    table
                        .columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            if keys.contains(&key) {
                return Err(Error::Usage(format!(
                    "{c:?} is given twice to partition by"
                )));
            }
            if !scalar {
                return Err(Error::Usage(format!(
                    "cannot partition by {c:?}: it is a list or struct column (a folder takes one value)"
                )));
            }
            keys.push(key);
        }
        let top: Vec<usize> = keys
            .iter()
            .filter(|k| k.fields.is_empty())
            .map(|k| k.column)
            .collect();
        if top.len() == table.columns.len() {
            return Err(Error::Usage(
                "partitioning by every column leaves nothing to write in the files".into(),
            ));
        }
        self.kept = (0..table.columns.len())
            .filter(|i| !top.contains(i))
            .collect();
        self.keys = keys;
        self.file_schema = Some(Arc::new(table.arrow().project(&self.kept)?));
        Ok(())
    }

    fn batch(&mut self, batch: RecordBatch) -> Result<(), Error> {
        let mut groups: Vec<(String, Vec<u32>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut key = String::new();
        let values: Vec<Vec<ArrayRef>> = self.keys.iter().map(|k| k.arrays(&batch)).collect();
        for row in 0..batch.num_rows() {
            key.clear();
            for (n, array) in values.iter().enumerate() {
                if n > 0 {
                    key.push('/');
                }
                key.push_str(&self.options.columns[n]);
                key.push('=');
                folder_value(array, row, &mut key);
            }
            match index.get(&key) {
                Some(&g) => groups[g].1.push(row as u32),
                None => {
                    index.insert(key.clone(), groups.len());
                    groups.push((key.clone(), vec![row as u32]));
                }
            }
        }
        let body = batch.project(&self.kept)?;
        for (key, rows) in groups {
            let part = if rows.len() == body.num_rows() {
                body.clone()
            } else {
                arrow_select::take::take_record_batch(&body, &UInt32Array::from(rows))?
            };
            self.clock += 1;
            let clock = self.clock;
            let open = self.writer(&key)?;
            open.used = clock;
            open.writer.write(&part)?;
        }
        self.bound_memory()
    }
}

/// Appends the folder name of one value (see the module docs); `chain`: the structs
/// enclosing the value's array, then that array (a null struct is a null value).
fn folder_value(chain: &[ArrayRef], row: usize, out: &mut String) {
    let array = &chain[chain.len() - 1];
    if chain.iter().any(|a| a.is_null(row)) {
        out.push_str(NULL_PARTITION);
        return;
    }
    let text = match array.data_type() {
        DataType::Boolean => array.as_boolean().value(row).to_string(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::Float64 => array.as_primitive::<Float64Type>().value(row).to_string(),
        DataType::Decimal128(..) => array
            .as_primitive::<Decimal128Type>()
            .value(row)
            .to_string(),
        DataType::Date32 => {
            crate::value::civil_from_days(i64::from(array.as_primitive::<Date32Type>().value(row)))
        }
        DataType::Timestamp(..) => array
            .as_primitive::<TimestampMicrosecondType>()
            .value(row)
            .to_string(),
        DataType::Utf8 => array.as_string::<i32>().value(row).to_owned(),
        _ => String::new(),
    };
    if text.is_empty() {
        out.push_str(NULL_PARTITION);
        return;
    }
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}
