//! The sans-I/O core of spate: a validating JSON scanner that can be fed any slices of an
//! input, the path language, and the selector that picks items while scanning.
//!
//! ```
//! use spate_json::{Path, Scanner, ScanOptions, Scanned, Selector};
//!
//! let doc = br#"{"sessions": [{"id": 1}, {"id": 2}], "n": 2}"#;
//! let mut scanner = Scanner::new(ScanOptions::default());
//! let mut selector = Selector::new(vec![Path::parse("sessions.item").unwrap()]);
//! let mut items = Vec::new();
//! let mut rest: &[u8] = doc;
//! loop {
//!     match scanner.scan(rest, &mut selector).unwrap() {
//!         Scanned::Paused(used) => rest = &rest[used..],
//!         Scanned::NeedInput => break,
//!     }
//!     while let Some(span) = selector.take() {
//!         items.push(&doc[span.start as usize..span.end as usize]);
//!     }
//! }
//! scanner.finish(&mut selector).unwrap();
//! assert_eq!(items, [&br#"{"id": 1}"#[..], br#"{"id": 2}"#]);
//! ```

pub mod children;
pub mod compact;
pub mod error;
mod eval;
pub mod jsonpath;
pub mod path;
pub mod scanner;
pub mod selector;
mod strings;
mod utf8;
pub mod walk;

pub use children::{Child, Children};
pub use error::{excerpt, ErrorKind, Expected, LineCounter, Position, SyntaxError};
pub use path::{Path, PathError, Step};
pub use scanner::{
    Flow, Handler, Member, ScanOptions, ScanState, Scanned, Scanner, Watch, DEFAULT_MAX_DEPTH,
};
pub use selector::{Selector, SelectorState, Span, MAX_PATHS};
pub use strings::prefix_xor;
