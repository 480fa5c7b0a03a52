//! spate: stream the items at a path out of JSON documents of any size, validating every
//! byte, in constant memory.
//!
//! The Rust twin of ijson's `items(f, "sessions.item")`:
//!
//! ```
//! let doc = r#"{"metadata": {}, "sessions": [{"id": 1}, {"id": 2}, {"id": 3}]}"#;
//! let ids: Vec<u64> = spate::Items::new(doc.as_bytes(), "$.sessions[*]")?
//!     .map(|item| item?.to_value().map(|v| v["id"].as_u64().unwrap()))
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(ids, [1, 2, 3]);
//! # Ok::<(), spate::Error>(())
//! ```
//!
//! For speed, [`Items::next_item`] lends each item from the read window without copying.

mod buffer;
mod error;
mod items;
#[cfg(unix)]
pub mod mapped;
pub mod source;

pub use buffer::BufferSelector;
pub use error::{Error, Location, SyntaxErrorKindOnly};
pub use items::{
    validate, validate_with, Item, ItemRef, Items, ItemsOptions, DEFAULT_MAX_ITEM_SIZE, MAX_WINDOW,
    MIN_WINDOW,
};
pub use spate_json::{Path, PathError, Position, SyntaxError};
pub mod check;
pub mod inputs;
pub mod jsonl;
pub mod memory;
pub mod output;
pub mod parallel;
pub mod query;
pub use inputs::{Format, InputFile, Inputs};
pub use parallel::{Cancel, ItemVisitor, OnError, RunError, RunOptions, Summary};
