//! `/api/stats`: the totals of a query at a glance, taken from spate-agents' reports (no
//! sums of its own): the daily report's totals (requests, tokens by kind, cost, unpriced
//! models), how many lines the session, project and model reports have, and the first and
//! last activity of the sessions.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use spate_agents::report::{self, Period, Report};
use spate_agents::usage::Usage;

/// Totals of a query.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// De-duplicated API requests.
    pub requests: u64,
    /// Tokens by kind, total tokens, total cost and unpriced models: the daily report's
    /// `totals`, byte for byte.
    pub totals: Box<RawValue>,
    /// Sessions with usage.
    pub sessions: usize,
    /// Projects with usage.
    pub projects: usize,
    /// Models used.
    pub models: usize,
    /// The first request (RFC 3339, UTC), `null` without usage.
    pub first_activity: Option<String>,
    /// The last request.
    pub last_activity: Option<String>,
    /// Transcript files read.
    pub files: usize,
    /// Lines skipped (malformed, without timestamp, incomplete last line, synthetic).
    pub skipped_lines: u64,
}

impl Stats {
    /// The totals of `usage`.
    pub fn of(usage: &Usage) -> serde_json::Result<Stats> {
        let build = |p: Period| report::build(usage, p, false);
        let (daily, sessions) = (build(Period::Daily), build(Period::Session));
        Stats::from_reports(
            usage,
            &daily,
            &sessions,
            &build(Period::Project),
            &build(Period::Model),
        )
    }

    /// The totals from the daily, session, project and model reports of `usage`.
    pub fn from_reports(
        usage: &Usage,
        daily: &Report,
        sessions: &Report,
        projects: &Report,
        models: &Report,
    ) -> serde_json::Result<Stats> {
        Ok(Stats {
            requests: daily.totals.requests,
            totals: daily_totals(daily)?,
            sessions: sessions.groups.len(),
            projects: projects.groups.len(),
            models: models.groups.len(),
            first_activity: activity(sessions, |g| g.first_ms, Iterator::min),
            last_activity: activity(sessions, |g| g.last_ms, Iterator::max),
            files: usage.summary.files,
            skipped_lines: usage.summary.skips.skipped(),
        })
    }
}

fn activity(
    r: &Report,
    at: impl Fn(&report::Group) -> i64,
    pick: impl Fn(std::vec::IntoIter<i64>) -> Option<i64>,
) -> Option<String> {
    let times: Vec<i64> = r.groups.iter().map(at).collect();
    pick(times.into_iter()).map(spate_agents::time::format_ms)
}

/// The `totals` of the daily report's JSON, as written.
fn daily_totals(daily: &Report) -> serde_json::Result<Box<RawValue>> {
    #[derive(Deserialize)]
    struct Only {
        totals: Box<RawValue>,
    }
    let text = serde_json::to_string(daily)?;
    Ok(serde_json::from_str::<Only>(&text)?.totals)
}
