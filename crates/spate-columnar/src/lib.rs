//! Columnar output for spate: Parquet and Arrow IPC files from JSON, JSON Lines and CSV, in
//! constant memory, with the schema of spate's exact inference.
//!
//! - [`schema`]: how each inferred type is stored ([`TableSchema`], the Arrow schema);
//! - [`structs`]: nested objects as struct columns (or flattened into dotted columns);
//! - [`nested`]: structs, lists of structs and lists of lists (JSON objects and arrays);
//! - [`builder`]: rows appended to Arrow arrays, cut into record batches of bounded size;
//! - [`scan`]: an input read into batches (the inference pass, then the rows);
//! - [`write`]: Parquet (row groups of bounded size, zstd by default) and Arrow IPC writers;
//! - [`encode`]: Parquet with its row groups encoded on several threads;
//! - [`partition`]: hive-style partitioned folders, with bounded open files and memory;
//! - [`output`]: outputs written to a temporary file renamed at the end, never over an input;
//! - [`convert`]: the conversion a front end calls.
//!
//! ```
//! use spate_columnar::{scan, BatchConsumer, ScanOptions, TableSchema};
//! use arrow_array::RecordBatch;
//!
//! struct Count(usize);
//! impl BatchConsumer for Count {
//!     fn schema(&mut self, _: &TableSchema) -> Result<(), spate_columnar::Error> { Ok(()) }
//!     fn batch(&mut self, b: RecordBatch) -> Result<(), spate_columnar::Error> {
//!         self.0 += b.num_rows();
//!         Ok(())
//!     }
//! }
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("t.jsonl");
//! std::fs::write(&path, "{\"a\": 1}\n{\"a\": 2, \"b\": \"2024-01-01\"}\n")?;
//! let mut count = Count(0);
//! let report = scan(&path, &ScanOptions::default(), &mut count)?;
//! assert_eq!((report.rows, count.0), (2, 2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod builder;
pub mod convert;
pub mod encode;
pub mod error;
pub mod nested;
pub mod output;
pub mod partition;
pub mod scan;
pub mod schema;
pub mod structs;
pub mod target;
mod value;
pub mod write;

pub use builder::{BatchBuilder, Fault};
pub use convert::{convert, ConvertOptions, ConvertReport};
pub use error::{Error, RowPosition};
pub use nested::{NestedField, NestedType};
pub use partition::{PartitionOptions, PartitionSink};
pub use scan::{scan, BatchConsumer, ScanOptions, ScanReport};
pub use schema::{Arrays, Column, ColumnType, ItemType, TableSchema};
pub use write::{BatchWriter, Compression, FileFormat, ParquetOptions};
