//! Typed errors: what went wrong and where (file, line, record, field).

use std::fmt;
use std::path::PathBuf;

/// Where in the input an error is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Position {
    /// The file, when reading one.
    pub path: Option<PathBuf>,
    /// 1-based physical line (quoted newlines count).
    pub line: Option<u64>,
    /// 1-based field (column) number.
    pub field: Option<usize>,
    /// Byte offset in the (decompressed) input.
    pub byte: Option<u64>,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(p) = &self.path {
            parts.push(p.display().to_string());
        }
        if let Some(l) = self.line {
            parts.push(format!("line {l}"));
        }
        if let Some(c) = self.field {
            parts.push(format!("field {c}"));
        }
        if self.line.is_none() {
            if let Some(b) = self.byte {
                parts.push(format!("byte {b}"));
            }
        }
        f.write_str(&parts.join(", "))
    }
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("record has {found} fields, expected {expected}: {record}")]
    Ragged {
        expected: usize,
        found: usize,
        /// The start of the record as written.
        record: String,
    },
    #[error("quoted field is not closed before the end of the input")]
    Unterminated,
    #[error("invalid UTF-8")]
    InvalidUtf8,
    #[error("a record is larger than the {limit} byte limit")]
    RecordTooLarge { limit: usize },
    /// JSON input that spate could not read: invalid JSON (with its file, line, column,
    /// byte and excerpt), a line or item over the size limit, or an unreadable input.
    #[error(transparent)]
    Json(Box<spate::Error>),
    #[error("value {value:?} is not a valid {expected}")]
    BadValue {
        value: String,
        expected: &'static str,
    },
    #[error("invalid schema: {0}")]
    Schema(String),
    #[error("{0}")]
    Usage(String),
    /// The output could not be opened (the message says which and why).
    #[error("{0}")]
    Output(std::io::Error),
}

/// An error with its position.
#[derive(Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub position: Position,
}

impl Error {
    pub fn new(kind: ErrorKind) -> Self {
        Error {
            kind,
            position: Position::default(),
        }
    }

    pub fn at(kind: ErrorKind, position: Position) -> Self {
        Error { kind, position }
    }

    /// Sets the file when not set yet.
    pub fn in_file(mut self, path: &std::path::Path) -> Self {
        if self.position.path.is_none() {
            self.position.path = Some(path.to_path_buf());
        }
        self
    }

    /// True when the input data is at fault (exit code 1), false for I/O and usage errors.
    pub fn is_invalid_data(&self) -> bool {
        if let ErrorKind::Json(e) = &self.kind {
            return e.is_invalid_data();
        }
        !matches!(
            self.kind,
            ErrorKind::Io(_) | ErrorKind::Usage(_) | ErrorKind::Schema(_) | ErrorKind::Output(_)
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pos = self.position.to_string();
        if pos.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{pos}: {}", self.kind)
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<spate::Error> for Error {
    fn from(e: spate::Error) -> Self {
        Error::new(ErrorKind::Json(Box::new(e)))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(ErrorKind::Io(e))
    }
}
