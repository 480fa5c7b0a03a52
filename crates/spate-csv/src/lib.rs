//! CSV reading and exact, mergeable schema inference for CSV, TSV and JSON values.
//!
//! - [`split`]: a sans-I/O record splitter (RFC 4180 plus BOM, CRLF, lone CR, lenient quotes);
//! - [`types`]: the type lattice and the rules that classify one value;
//! - [`column`](mod@column): per-column state (type, counts, min/max) with `merge`;
//! - [`infer`] and [`parallel`]: whole-file inference, in parallel over byte ranges (quote
//!   parity finds record boundaries) with a sequential fallback that is always right;
//! - [`elements`]: the type of the elements of JSON array fields (additive: for list
//!   columns);
//! - [`json`]: the same inference over JSON values, walked with spate-json's
//!   [`walk`](spate_json::walk) after spate's scanner validated them, or ([`json_scan`])
//!   typed by a handler of spate's scanner in its own validating pass; [`infer_json`] reads
//!   JSON Lines (spate's line reader, byte ranges on every core, one pass per line) and the
//!   items of documents (spate's [`Items`](spate::Items));
//! - [`input`]: the kind of an input (spate's sniffer for JSON; CSV otherwise) and how to read
//!   it (spate's source: files, standard input, gzip, zstd);
//! - [`convert`]: streaming conversion between CSV, TSV, JSON Lines and JSON arrays, and
//!   [`pipeline`]: the schema and conversion runs a front end calls.
//!
//! ```
//! use spate_csv::{infer_csv_reader, CsvOptions, Type};
//!
//! let data = "id,zip,amount,day\n1,01234,2.5,2024-02-29\n2,99501,,2024-03-01\n";
//! let schema = infer_csv_reader(data.as_bytes(), None, &CsvOptions::default()).unwrap();
//! let types: Vec<Type> = schema.fields.iter().map(|f| f.ty).collect();
//! assert_eq!(types, [Type::Integer, Type::String, Type::Float, Type::Date]);
//! assert_eq!(schema.fields[2].nulls, 1);
//! ```

pub mod column;
pub mod convert;
pub mod describe;
pub mod dialect;
pub mod elements;
pub mod error;
mod fast;
pub mod infer;
pub mod infer_json;
pub mod input;
pub mod json;
mod json_members;
pub mod json_scan;
mod jsonl_ranges;
pub mod nested;
pub mod parallel;
pub mod pipeline;
pub mod schema;
pub mod split;
pub mod types;

pub use column::{Bound, ColumnState, FieldSchema, Int};
pub use dialect::{CsvOptions, Dialect, NullTokens};
pub use elements::ElementState;
pub use error::{Error, ErrorKind, Position};
pub use infer::{infer_csv_path, infer_csv_reader, TableState};
pub use infer_json::{infer_items, infer_jsonl_path, infer_jsonl_reader, JsonOptions};
pub use input::{detect, InputKind, ReadOptions, TableInput};
pub use nested::{Element, ElementField};
pub use pipeline::{infer, ConvertOptions, ConvertReport};
pub use schema::{Format, GivenSchema, ObjectPath, Schema};
pub use types::{classify, Type};
