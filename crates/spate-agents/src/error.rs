//! Typed errors of the library.

use std::io;
use std::path::PathBuf;

/// What went wrong while loading transcripts, prices or the cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// None of the transcript folders exists.
    #[error("no Claude Code transcript folder found (looked in: {looked_in})")]
    NoTranscripts {
        /// The folders that were tried, comma separated.
        looked_in: String,
    },
    /// A pricing file is not LiteLLM-style JSON.
    #[error("pricing file {}: {message}", path.display())]
    Pricing {
        /// The pricing file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A bad option value (date, time zone, ...).
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
