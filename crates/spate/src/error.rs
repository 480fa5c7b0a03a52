//! The library's error type: I/O problems and invalid data, each with enough context for a
//! person to act on it.

use std::fmt;
use std::io;

use spate_json::{PathError, Position, SyntaxError};

/// Where in an input something went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The input's name (a file path, or `<stdin>`).
    pub input: String,
    /// Byte offset from the start of the (decompressed) input.
    pub offset: u64,
    /// Line and column of `offset`.
    pub position: Position,
    /// A short excerpt of the line with a caret under the offending byte (may be empty when
    /// the bytes are no longer available).
    pub excerpt: String,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{} (byte {})",
            self.input, self.position.line, self.position.column, self.offset
        )
    }
}

/// Errors of the spate library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input could not be opened or read.
    #[error("{input}: {source}")]
    Io {
        /// The input's name.
        input: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The input is not valid JSON.
    #[error("{location}: {error}{}", excerpt_suffix(&location.excerpt))]
    Syntax {
        /// Where.
        location: Location,
        /// What.
        error: SyntaxErrorKindOnly,
    },
    /// A selected item is larger than the configured limit.
    #[error("{location}: the item starting here is larger than the {limit}-byte limit")]
    ItemTooLarge {
        /// Where the item starts.
        location: Location,
        /// The limit in bytes.
        limit: usize,
    },
    /// A path expression is invalid.
    #[error(transparent)]
    Path(#[from] PathError),
    /// More paths than one pass can match.
    #[error("at most {max} paths can be selected in one pass, {given} were given")]
    TooManyPaths {
        /// The limit.
        max: usize,
        /// How many were given.
        given: usize,
    },
    /// A query is not valid (for example a `with` path that cannot name one value).
    #[error("{0}")]
    Usage(String),
    /// A jq program that does not compile.
    #[error(transparent)]
    Jq(#[from] crate::query::JqCompileError),
    /// A query failed on an item (a jq runtime error, a number that cannot be summed).
    #[error("{input} (byte {}): {error}", error.offset)]
    Filter {
        /// The input's name.
        input: String,
        /// What failed, where.
        error: crate::query::QueryError,
    },
    /// An item could not be decoded into the requested type.
    #[error("item at byte {offset}: {source}")]
    Decode {
        /// Offset of the item.
        offset: u64,
        /// The decoder's error.
        #[source]
        source: serde_json::Error,
    },
}

/// The kind of a syntax error, displayed without its offset (the [`Location`] says where).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxErrorKindOnly(pub SyntaxError);

impl fmt::Display for SyntaxErrorKindOnly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.kind.fmt(f)
    }
}

fn excerpt_suffix(excerpt: &str) -> String {
    if excerpt.is_empty() {
        String::new()
    } else {
        format!("\n{excerpt}")
    }
}

impl Error {
    /// True when the error says the input data is invalid (as opposed to a usage or I/O
    /// problem): command-line tools exit with 1 for these and 2 for the others.
    pub fn is_invalid_data(&self) -> bool {
        match self {
            Error::Syntax { .. }
            | Error::ItemTooLarge { .. }
            | Error::Decode { .. }
            | Error::Filter { .. } => true,
            Error::Io { source, .. } => source.kind() == io::ErrorKind::InvalidData,
            Error::Path(_) | Error::TooManyPaths { .. } | Error::Usage(_) | Error::Jq(_) => false,
        }
    }

    /// Where in the input the error is, for data errors.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Error::Syntax { location, .. } | Error::ItemTooLarge { location, .. } => Some(location),
            _ => None,
        }
    }

    /// The syntax error, if this is one.
    pub fn syntax(&self) -> Option<&SyntaxError> {
        match self {
            Error::Syntax { error, .. } => Some(&error.0),
            _ => None,
        }
    }
}
