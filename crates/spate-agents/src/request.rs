//! What every front end resolves before a report, in one place: the time zone, the price
//! table, where the transcripts are; and the loads they all make (a report with the ledger,
//! the ledger alone, the status line's figures, a refreshed blocks report).
//!
//! The command line, the Python package and the daemon take these from their own flags or
//! arguments and call these functions; the messages name no flag (the front end adds its
//! hint).

use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;

use crate::blocks::{self, BlockOptions, BlocksReport};
use crate::ledger::{Ledger, LedgerOptions};
use crate::load::{Corpus, LoadedUsage, UsageRequest};
use crate::pricing::PriceTable;
use crate::statusline::{self, StatusFigures, StatusInput};
use crate::usage::{self, Query};
use crate::Warning;

/// A time zone name that is neither an IANA name nor `local`.
#[derive(Debug, thiserror::Error)]
#[error("unknown time zone {name:?} (use an IANA name such as Europe/Paris, or local)")]
pub struct UnknownTimeZone {
    /// The name given.
    pub name: String,
    /// Why the zone database has no such zone.
    #[source]
    pub source: jiff::Error,
}

/// The time zone `name` names: an IANA name, or `local` (and `None`) for the system's.
pub fn time_zone(name: Option<&str>) -> Result<TimeZone, UnknownTimeZone> {
    match name {
        None | Some("local") => Ok(crate::time::system_time_zone()),
        Some(name) => TimeZone::get(name).map_err(|source| UnknownTimeZone {
            name: name.to_owned(),
            source,
        }),
    }
}

/// The embedded price table, with the models of a LiteLLM-style JSON file added when one is
/// given.
pub fn price_table(file: Option<&Path>) -> crate::Result<PriceTable> {
    let prices = PriceTable::embedded();
    match file {
        Some(file) => prices.with_litellm_file(file),
        None => Ok(prices),
    }
}

impl UsageRequest {
    /// A request for the transcripts under `paths` (none: `CLAUDE_CONFIG_DIR`, read from the
    /// environment now, then the default folders), through the cache in `cache_dir` (none:
    /// the user cache folder) unless `cache` is false.
    pub fn from_env(paths: Vec<PathBuf>, cache: bool, cache_dir: Option<PathBuf>) -> Self {
        UsageRequest {
            paths,
            config_env: std::env::var("CLAUDE_CONFIG_DIR").ok(),
            cache,
            cache_dir,
        }
    }
}

/// [`crate::ledger::load_usage`], keeping only the usage of `projects` (a project folder
/// name or its last part; empty: every project).
pub fn load_report(
    request: &UsageRequest,
    query: Query,
    projects: &[String],
    ledger: Option<&LedgerOptions>,
) -> crate::Result<(LoadedUsage, Option<Ledger>)> {
    let (mut loaded, ledger) = crate::ledger::load_usage(request, query, ledger)?;
    usage::retain_projects(&mut loaded.usage, projects);
    Ok((loaded, ledger))
}

/// Why the ledger of a tree could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenLedgerError {
    /// The transcripts could not be loaded.
    #[error(transparent)]
    Load(#[from] crate::Error),
    /// The ledger exists but cannot be used (`warning` says why; `before` are the load's
    /// warnings that came first).
    #[error("{warning}")]
    Unusable {
        /// Why the ledger cannot be used.
        warning: Warning,
        /// The warnings of the load before it.
        before: Vec<Warning>,
    },
    /// The ledger could not be opened.
    #[error("the usage ledger could not be opened")]
    NotOpened,
}

/// Loads the tree `request` names, recording its new entries in the ledger, and returns the
/// ledger (to export or import into) with the load's other warnings.
pub fn open_ledger(
    request: &UsageRequest,
    options: &LedgerOptions,
) -> Result<(Ledger, Vec<Warning>), OpenLedgerError> {
    let (loaded, ledger) = crate::ledger::load_usage(request, Query::default(), Some(options))?;
    let mut warnings = Vec::new();
    for w in loaded.warnings {
        if w.kind() == "ledger-unusable" {
            return Err(OpenLedgerError::Unusable {
                warning: w,
                before: warnings,
            });
        }
        warnings.push(w);
    }
    // the ledger is what the caller wants: the transcripts' records are not freed one by one
    std::mem::forget(loaded.corpus);
    let ledger = ledger.ok_or(OpenLedgerError::NotOpened)?;
    Ok((ledger, warnings))
}

/// The status line's figures for `input` from the transcripts `request` names, at the time
/// `now_ms` gives once they are loaded (in milliseconds since the epoch).
pub fn status_figures(
    request: &UsageRequest,
    query: Query,
    input: &StatusInput,
    now_ms: impl FnOnce() -> i64,
) -> crate::Result<StatusFigures> {
    let (corpus, _warnings) = statusline::open_corpus(request)?;
    let figures = statusline::compute(input, &corpus, query, now_ms());
    // a status line is a short-lived process: freeing the corpus piece by piece would cost
    // more than the line
    std::mem::forget(corpus);
    Ok(figures)
}

/// The blocks report of a held corpus, analysed afresh (after a refresh), for `projects`.
pub fn blocks_of(
    corpus: &Corpus,
    query: Query,
    projects: &[String],
    options: &BlockOptions,
) -> BlocksReport {
    let mut usage = usage::analyze(corpus, query);
    usage::retain_projects(&mut usage, projects);
    blocks::build(&usage, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones() {
        assert!(time_zone(Some("Asia/Kolkata")).is_ok());
        assert!(time_zone(Some("local")).is_ok());
        assert!(time_zone(None).is_ok());
        let e = time_zone(Some("Mars/Olympus")).unwrap_err();
        assert_eq!(e.name, "Mars/Olympus");
        assert!(e
            .to_string()
            .starts_with("unknown time zone \"Mars/Olympus\""));
    }

    #[test]
    fn prices_from_a_missing_file_fail() {
        assert!(price_table(None).is_ok());
        assert!(price_table(Some(Path::new("/nonexistent/prices.json"))).is_err());
    }
}
