//! Claude Code transcript analytics: usage, cost and delegations.
//!
//! Claude Code writes one JSON Lines transcript per session under
//! `<config>/projects/<project>/<session>.jsonl` (sub-agents under
//! `<session>/subagents/agent-<id>.jsonl`). This crate finds them ([`discover`]), parses the
//! usage lines and delegations through spate's bounded line reader ([`parse`]), holds them
//! in a [`corpus::Corpus`] that a long-running process refreshes in place, keeps an
//! incremental cache used under a lock ([`cache`]), de-duplicates and prices the requests
//! exactly ([`usage`], [`pricing`]) and builds reports ([`report`], [`delegations`]) that
//! serialize to JSON through serde ([`report_json`]) and that [`render`] draws as tables.
//! Problems that do not stop a load are [`Warning`]s; phases are `tracing` spans.
//!
//! ```
//! use spate_agents::corpus::Corpus;
//! use spate_agents::load::CacheMode;
//! use spate_agents::{report, usage};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let project = dir.path().join("projects").join("-home-me-app");
//! std::fs::create_dir_all(&project).unwrap();
//! std::fs::write(
//!     project.join("s1.jsonl"),
//!     concat!(
//!         r#"{"type":"assistant","timestamp":"2025-05-06T10:00:00Z","sessionId":"s1","#,
//!         r#""requestId":"r1","message":{"id":"m1","model":"claude-sonnet-4-5-20250929","#,
//!         r#""usage":{"input_tokens":1000,"output_tokens":100}}}"#,
//!         "\n"
//!     ),
//! )
//! .unwrap();
//! let roots = spate_agents::discover::resolve_roots(&[dir.path().to_owned()], None).unwrap();
//! let mut corpus = Corpus::open(&roots, &CacheMode::Off).unwrap();
//! let usage = usage::analyze(&corpus, usage::Query::default());
//! let daily = report::build(&usage, report::Period::Daily, false);
//! assert_eq!(daily.groups[0].label, "2025-05-06");
//! assert_eq!(daily.totals.tokens.total(), 1100);
//! // 1000 × $3/M + 100 × $15/M = $0.0045, exactly, in JSON too
//! let json = serde_json::to_value(&daily).unwrap();
//! assert_eq!(json["totals"]["totalCost"].to_string(), "0.0045");
//! // a long-running process refreshes the corpus in place (here: nothing changed)
//! corpus.refresh().unwrap();
//! assert_eq!(corpus.stats.reused, 1);
//! ```

pub mod blocks;
mod blocks_json;
pub mod cache;
pub mod corpus;
pub mod delegations;
pub mod discover;
mod error;
pub mod ledger;
mod lenient;
pub mod load;
pub mod model;
pub mod parse;
pub mod pricing;
pub mod render;
pub mod render_blocks;
pub mod report;
pub mod report_json;
pub mod request;
pub mod statusline;
pub mod strings;
pub mod time;
mod trace;
pub mod usage;
mod warning;

pub use error::{Error, Result};
/// The date and time zone crate used in [`usage::Query`].
pub use jiff;
pub use trace::{timer_lap, timer_start};
pub use warning::Warning;

use pricing::group_thousands;

/// The robustness summary line: files and lines read, usage records kept, duplicates removed,
/// lines skipped and why, unreadable files and unpriced models.
pub fn summary_line(u: &usage::Summary) -> String {
    let mut s = format!(
        "read {} files, {} lines: {} usage records ({} duplicates removed)",
        group_thousands(u.files as u128),
        group_thousands(u.lines.into()),
        group_thousands(u.usage_lines.saturating_sub(u.duplicates).into()),
        group_thousands(u.duplicates.into()),
    );
    let k = &u.skips;
    let mut skipped = Vec::new();
    if k.malformed > 0 {
        skipped.push(format!("{} malformed", k.malformed));
    }
    if k.no_timestamp > 0 {
        skipped.push(format!("{} without timestamp", k.no_timestamp));
    }
    if k.incomplete_tail > 0 {
        skipped.push(format!("{} incomplete last line", k.incomplete_tail));
    }
    if k.synthetic > 0 {
        skipped.push(format!("{} <synthetic>", k.synthetic));
    }
    if !skipped.is_empty() {
        s.push_str("; skipped lines: ");
        s.push_str(&skipped.join(", "));
    }
    if u.unreadable > 0 {
        s.push_str(&format!("; {} unreadable files", u.unreadable));
    }
    s
}

/// True when something was skipped that the user should know about (malformed lines,
/// lines without timestamp, incomplete last lines, unreadable files).
pub fn anything_skipped(u: &usage::Summary) -> bool {
    u.skips.skipped() > 0 || u.unreadable > 0
}
