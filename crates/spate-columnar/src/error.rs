//! Typed errors of columnar output: what went wrong, and where (input, row, byte, column).

use std::fmt;
use std::path::PathBuf;

/// Where a value that does not fit the schema was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowPosition {
    /// The input, as the user named it.
    pub input: String,
    /// 1-based row (item, line or record) of the input.
    pub row: u64,
    /// Byte offset of the row in the (decompressed) input, when known.
    pub byte: Option<u64>,
}

impl fmt::Display for RowPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: row {}", self.input, self.row)?;
        if let Some(b) = self.byte {
            write!(f, " (byte {b})")?;
        }
        Ok(())
    }
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the input: invalid JSON or CSV (with its position), an unreadable input, a
    /// CSV value that does not fit its column (line and field).
    #[error(transparent)]
    Input(#[from] spate_csv::Error),
    /// A JSON value that does not fit the column's type.
    #[error("{at}, column {column:?}: {message}")]
    Value {
        at: RowPosition,
        column: String,
        message: String,
    },
    /// A field that the schema does not have (with a given schema).
    #[error("{at}: field {column:?} is not in the schema")]
    UnknownField { at: RowPosition, column: String },
    /// The output is the input (it would be destroyed).
    #[error("the output {output} is the same file as the input {input}")]
    SameFile { input: PathBuf, output: PathBuf },
    /// Writing the output.
    #[error("{path}: {source}")]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("Arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A setting that cannot work (an unknown column to partition by, a bad value).
    #[error("{0}")]
    Usage(String),
    /// A limit was reached (the message names it).
    #[error("{0}")]
    Limit(String),
    /// The consumer of batches went away.
    #[error("cancelled")]
    Cancelled,
}

impl Error {
    /// True when the input data is invalid (exit code 1), not a usage or I/O problem.
    pub fn is_invalid_data(&self) -> bool {
        match self {
            Error::Input(e) => e.is_invalid_data(),
            Error::Value { .. } | Error::UnknownField { .. } => true,
            _ => false,
        }
    }
}

impl From<spate::Error> for Error {
    fn from(e: spate::Error) -> Self {
        Error::Input(spate_csv::Error::from(e))
    }
}
