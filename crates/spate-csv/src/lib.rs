//! CSV reading and exact, mergeable schema inference for CSV, TSV and JSON values.
//!
//! - [`split`]: a sans-I/O record splitter (RFC 4180 plus BOM, CRLF, lone CR, lenient quotes);
//! - [`types`]: the type lattice and the rules that classify one value;
//! - [`column`](mod@column): per-column state (type, counts, min/max) with `merge`;
//! - [`infer`] and [`parallel`]: whole-file inference, in parallel over byte ranges (quote
//!   parity finds record boundaries) with a sequential fallback that is always right;
//! - [`json`]: the same inference over JSON values (JSON Lines, items of a document);
//! - [`convert`]: streaming conversion between CSV, TSV, JSON Lines and JSON arrays.
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
pub mod detect;
pub mod dialect;
pub mod error;
mod fast;
pub mod infer;
pub mod json;
pub mod parallel;
pub mod schema;
pub mod split;
pub mod types;

pub use column::{Bound, ColumnState, FieldSchema, Int};
pub use detect::{detect, InputKind};
pub use dialect::{CsvOptions, Dialect, NullTokens};
pub use error::{Error, ErrorKind, Position};
pub use infer::{infer_csv_path, infer_csv_reader, TableState};
pub use schema::{Format, GivenSchema, Schema};
pub use types::{classify, Type};
