//! Loading a transcript tree in one call (see [`Corpus`] for a tree held and refreshed).

use std::path::{Path, PathBuf};

pub use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::model::FileRecord;

/// Where the cache lives, if anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheMode {
    /// No cache: parse every file.
    Off,
    /// Cache files in this folder.
    Dir(PathBuf),
}

/// Counts describing how a load went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Transcript files found.
    pub files: usize,
    /// Files reused from the cache untouched.
    pub reused: usize,
    /// Files parsed from their appended bytes only.
    pub appended: usize,
    /// Files parsed whole.
    pub parsed: usize,
    /// Bytes read from transcripts.
    pub bytes_read: u64,
    /// Files that could not be read (reported in `warnings`).
    pub unreadable: usize,
    /// Files whose last line is incomplete.
    pub incomplete_tails: usize,
}

/// Loads every transcript under `roots` ([`Corpus::open`]).
pub fn load(roots: &[PathBuf], cache_mode: &CacheMode) -> Result<Corpus> {
    Corpus::open(roots, cache_mode)
}

/// Parses one file (for tests and tools): the record and whether a tail is pending.
pub fn parse_file(path: &Path) -> Result<(FileRecord, bool)> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut rec = FileRecord::default();
    let mut parser = crate::parse::LineParser::new(&mut rec);
    let (outcome, _) = parser.read(file, Vec::new());
    let outcome = outcome.map_err(|e| Error::io(path, e))?;
    parser.finish();
    Ok((rec, outcome.pending_tail))
}
