//! Things a user should know about a load that did not stop it, as data: a front end shows
//! them (the command line through `Display`, a daemon as JSON through `Serialize`).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::cache::CacheProblem;
use crate::error::Error;

/// A problem met while reading transcripts or the cache; the result is still right.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Warning {
    /// A transcript could not be read: it is left out.
    UnreadableFile {
        /// Why (names the file).
        error: Arc<Error>,
    },
    /// The file system cannot lock the cache: it is read but not updated.
    CacheNotLocked {
        /// The main cache file.
        path: PathBuf,
    },
    /// The cache folder cannot be used (created or locked): the run goes on without it.
    CacheUnusable {
        /// Why.
        error: Arc<Error>,
    },
    /// The cache is another version's or damaged: rebuilt from the transcripts.
    CacheRebuilt {
        /// The cache file at fault (the main file or its delta).
        path: PathBuf,
        /// What was wrong with it.
        problem: CacheProblem,
    },
    /// The cache could not be read: rebuilt from the transcripts.
    CacheUnreadable {
        /// Why.
        error: Arc<Error>,
    },
    /// The cache could not be written (the next run reads more).
    CacheNotWritten {
        /// Why.
        error: Arc<Error>,
    },
    /// A line longer than the limit was skipped (counted as malformed).
    LineTooLong {
        /// The transcript.
        path: PathBuf,
        /// Its line number, from 1.
        line: u64,
        /// Byte offset of the line.
        offset: u64,
        /// The limit in bytes.
        limit: usize,
    },
    /// Files sharing requests with others had entries the cache could not give back: they
    /// were read again.
    EntriesReparsed {
        /// How many files.
        files: usize,
    },
    /// A cache was asked for but the user has no cache folder: the run goes on without it.
    NoCacheFolder,
    /// About the usage ledger (see [`crate::ledger`]).
    Ledger(crate::ledger::LedgerNotice),
}

impl Warning {
    /// A short name of the kind of warning (`unreadable-file`, `cache-rebuilt`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Warning::UnreadableFile { .. } => "unreadable-file",
            Warning::CacheNotLocked { .. } => "cache-not-locked",
            Warning::CacheUnusable { .. } => "cache-unusable",
            Warning::CacheRebuilt { .. } => "cache-rebuilt",
            Warning::CacheUnreadable { .. } => "cache-unreadable",
            Warning::CacheNotWritten { .. } => "cache-not-written",
            Warning::EntriesReparsed { .. } => "entries-reparsed",
            Warning::LineTooLong { .. } => "line-too-long",
            Warning::NoCacheFolder => "no-cache-folder",
            Warning::Ledger(n) => n.kind(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::UnreadableFile { error } => write!(f, "skipped unreadable file: {error}"),
            Warning::CacheNotLocked { path } => write!(
                f,
                "cannot lock cache {}; it is read but not updated",
                path.display()
            ),
            Warning::CacheUnusable { error } => write!(f, "cannot use cache: {error}"),
            Warning::CacheRebuilt { path, problem } => {
                let why = match problem {
                    CacheProblem::ForeignVersion => "is from another version",
                    CacheProblem::Corrupt => "is corrupt",
                };
                write!(f, "cache {} {why}; rebuilding it", path.display())
            }
            Warning::CacheUnreadable { error } => {
                write!(f, "cannot read cache ({error}); rebuilding it")
            }
            Warning::CacheNotWritten { error } => write!(f, "cannot write cache: {error}"),
            Warning::LineTooLong {
                path,
                line,
                offset,
                limit,
            } => write!(
                f,
                "{}:{line} (byte {offset}): line longer than {} MiB, skipped",
                path.display(),
                limit >> 20
            ),
            Warning::EntriesReparsed { files } => write!(
                f,
                "{files} cached files had unreadable entries; parsed them again"
            ),
            Warning::NoCacheFolder => write!(f, "no user cache folder; running without cache"),
            Warning::Ledger(n) => n.fmt(f),
        }
    }
}

/// `{"kind": "...", "message": "..."}`.
impl Serialize for Warning {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("kind", self.kind())?;
        m.serialize_entry("message", &self.to_string())?;
        m.end()
    }
}
