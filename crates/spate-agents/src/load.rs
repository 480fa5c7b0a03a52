//! Loading a transcript tree in one call (see [`Corpus`] for a tree held and refreshed).

use std::path::PathBuf;

pub use crate::corpus::Corpus;
use crate::error::Result;
use crate::usage::{self, Query, Usage};
use crate::warning::Warning;

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

/// Where a report's transcripts are and whether to use the cache: what every front end asks
/// before a report (the command line from its flags, the Python package from its arguments).
#[derive(Debug, Clone, Default)]
pub struct UsageRequest {
    /// Transcript folders given by the user; empty: `config_env`, then the default folders
    /// ([`crate::discover::resolve_roots`]).
    pub paths: Vec<PathBuf>,
    /// The value of `CLAUDE_CONFIG_DIR`, when set.
    pub config_env: Option<String>,
    /// Read and update the incremental cache.
    pub cache: bool,
    /// The cache folder; `None`: the user cache folder's `spate/`.
    pub cache_dir: Option<PathBuf>,
}

/// The usage of a tree, analysed, and what a user should know about loading it.
#[derive(Debug)]
pub struct LoadedUsage {
    /// Sums, entries and the summary of what was read and skipped.
    pub usage: Usage,
    /// Problems that did not stop the load.
    pub warnings: Vec<Warning>,
    /// The transcripts as loaded. Dropping it frees every file's record (tens of thousands
    /// of small allocations on a big tree): a process about to exit may skip that with
    /// `std::mem::forget`.
    pub corpus: Corpus,
}

/// Finds the transcripts `request` names, loads them (through the cache when asked) and
/// analyses them with `query`. A one-shot load: a long-running process holds a [`Corpus`]
/// and refreshes it instead.
pub fn load_usage(request: &UsageRequest, query: Query) -> Result<LoadedUsage> {
    let roots = crate::discover::resolve_roots(&request.paths, request.config_env.as_deref())?;
    let mut warnings = Vec::new();
    let cache = match (request.cache, request.cache_dir.clone()) {
        (false, _) => CacheMode::Off,
        (true, Some(dir)) => CacheMode::Dir(dir),
        (true, None) => match crate::cache::default_cache_dir() {
            Some(dir) => CacheMode::Dir(dir),
            None => {
                warnings.push(Warning::NoCacheFolder);
                CacheMode::Off
            }
        },
    };
    let corpus = Corpus::open(&roots, &cache)?;
    warnings.extend(corpus.warnings.iter().cloned());
    let usage = usage::analyze(&corpus, query);
    Ok(LoadedUsage {
        usage,
        warnings,
        corpus,
    })
}
