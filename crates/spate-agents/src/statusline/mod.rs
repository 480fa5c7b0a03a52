//! The one line a Claude Code status-line command prints.
//!
//! Claude Code runs the command with a JSON object on standard input (`session_id`,
//! `transcript_path`, `model.id`/`model.display_name`, `workspace`, `cost.total_cost_usd`,
//! and in newer versions `context_window` and `rate_limits`). The line shows the session's
//! cost, today's cost, the active 5-hour block's cost and time left, its burn rate and the
//! context in use. [`StatusInput::parse`] never fails on odd input: unknown fields are
//! ignored, wrong types read as absent; the caller prints [`fallback_line`] when anything
//! else goes wrong.

mod window;

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::blocks::BlocksReport;
use crate::pricing::format_usd_cents;

/// The most bytes of standard input read (Claude Code sends well under 10 kB).
pub const MAX_INPUT: u64 = 1 << 20;
/// The most bytes read from the end of a transcript to find the last request's context.
pub const TAIL_BYTES: u64 = 256 << 10;
/// Context window assumed when neither the input nor the model id says otherwise.
pub const DEFAULT_CONTEXT: u64 = 200_000;

/// What the status line uses of Claude Code's input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusInput {
    /// `session_id`.
    pub session_id: Option<String>,
    /// `transcript_path`.
    pub transcript_path: Option<PathBuf>,
    /// `model.id`.
    pub model_id: Option<String>,
    /// `model.display_name`.
    pub model_name: Option<String>,
    /// `cost.total_cost_usd` (Claude Code's own figure for the session).
    pub session_cost_usd: Option<f64>,
    /// `context_window.context_window_size`.
    pub context_size: Option<u64>,
    /// Tokens in context from `context_window.current_usage`, when given.
    pub context_used: Option<u64>,
    /// `rate_limits.five_hour.used_percentage` (or `utilization`), when given.
    pub five_hour_used_pct: Option<f64>,
}

/// Why the input could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn str_at(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for k in path {
        cur = cur.get(k)?;
    }
    cur.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

fn num_at(v: &Value, path: &[&str]) -> Option<f64> {
    let mut cur = v;
    for k in path {
        cur = cur.get(k)?;
    }
    cur.as_f64().filter(|f| f.is_finite() && *f >= 0.0)
}

impl StatusInput {
    /// Reads at most [`MAX_INPUT`] bytes and parses them.
    pub fn read(r: impl Read) -> Result<StatusInput, BadInput> {
        let mut bytes = Vec::new();
        r.take(MAX_INPUT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| BadInput(format!("cannot read the input: {e}")))?;
        if bytes.len() as u64 > MAX_INPUT {
            return Err(BadInput(format!("input over {MAX_INPUT} bytes")));
        }
        StatusInput::parse(&bytes)
    }

    /// Parses Claude Code's status-line JSON (an object; every field optional).
    pub fn parse(bytes: &[u8]) -> Result<StatusInput, BadInput> {
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| BadInput(format!("not JSON: {e}")))?;
        if !v.is_object() {
            return Err(BadInput("not a JSON object".into()));
        }
        let used = v
            .get("context_window")
            .and_then(|c| c.get("current_usage"))
            .map(|u| {
                [
                    "input_tokens",
                    "cache_creation_input_tokens",
                    "cache_read_input_tokens",
                ]
                .iter()
                .filter_map(|k| u.get(k).and_then(Value::as_u64))
                .sum::<u64>()
            });
        Ok(StatusInput {
            session_id: str_at(&v, &["session_id"]),
            transcript_path: str_at(&v, &["transcript_path"]).map(PathBuf::from),
            model_id: str_at(&v, &["model", "id"]),
            model_name: str_at(&v, &["model", "display_name"]),
            session_cost_usd: num_at(&v, &["cost", "total_cost_usd"]),
            context_size: num_at(&v, &["context_window", "context_window_size"])
                .map(|f| f as u64)
                .filter(|&n| n > 0),
            context_used: used.filter(|&n| n > 0),
            five_hour_used_pct: num_at(&v, &["rate_limits", "five_hour", "used_percentage"])
                .or_else(|| num_at(&v, &["rate_limits", "five_hour", "utilization"])),
        })
    }

    /// The model's name for the line.
    pub fn model_label(&self) -> String {
        self.model_name
            .clone()
            .or_else(|| self.model_id.clone())
            .unwrap_or_else(|| "Claude".into())
    }

    /// The context window of the model: the input's, else 1M for a `[1m]` model id, else
    /// [`DEFAULT_CONTEXT`].
    pub fn context_window(&self) -> u64 {
        self.context_size.unwrap_or_else(|| match &self.model_id {
            Some(id) if id.to_ascii_lowercase().contains("[1m]") => 1_000_000,
            _ => DEFAULT_CONTEXT,
        })
    }
}

/// Tokens in context after the last main-chain request of a transcript: its input plus
/// cache reads and writes, read from the last [`TAIL_BYTES`] of the file.
pub fn context_tokens_from_transcript(path: &Path) -> Option<u64> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let start = len.saturating_sub(TAIL_BYTES);
    f.seek(SeekFrom::Start(start)).ok()?;
    let mut buf = Vec::new();
    f.take(TAIL_BYTES).read_to_end(&mut buf).ok()?;
    for line in buf.split(|&b| b == b'\n').rev() {
        if memchr::memmem::find(line, b"\"usage\"").is_none() {
            continue;
        }
        let Ok(v) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        if v.get("isSidechain").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let Some(u) = v.get("message").and_then(|m| m.get("usage")) else {
            continue;
        };
        let n: u64 = [
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
        ]
        .iter()
        .filter_map(|k| u.get(k).and_then(Value::as_u64))
        .sum();
        if n > 0 {
            return Some(n);
        }
    }
    None
}

/// The figures of the line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusFigures {
    /// The session's cost in picodollars, from the transcripts (`None`: not found there).
    pub session_cost: Option<u128>,
    /// Today's cost in picodollars.
    pub today_cost: u128,
    /// The active block: cost, minutes left, dollars per hour.
    pub block: Option<(u128, i64, Option<f64>)>,
    /// Context tokens in use and the window.
    pub context: Option<(u64, u64)>,
}

/// The figures for `input` from a per-request usage and its blocks.
pub fn figures(
    input: &StatusInput,
    usage: &crate::usage::Usage,
    blocks: &BlocksReport,
) -> StatusFigures {
    let session = input
        .session_id
        .as_deref()
        .and_then(|id| usage.names.find(id));
    let today = {
        let now = jiff::Timestamp::from_millisecond(blocks.now_ms)
            .unwrap_or_else(|_| jiff::Timestamp::now());
        now.to_zoned(usage.query.tz.clone()).date()
    };
    let mut session_cost: Option<u128> = None;
    let mut today_cost = 0u128;
    for r in &usage.rows {
        if Some(r.session) == session {
            *session_cost.get_or_insert(0) += r.cost;
        }
        if r.date == today {
            today_cost += r.cost;
        }
    }
    let block = blocks.active().map(|b| {
        (
            b.cost,
            (b.end_ms - blocks.now_ms) / 60_000,
            b.burn_rate().map(|r| r.cost_per_hour),
        )
    });
    let used = input.context_used.or_else(|| {
        input
            .transcript_path
            .as_deref()
            .and_then(context_tokens_from_transcript)
    });
    StatusFigures {
        session_cost,
        today_cost,
        block,
        context: used.map(|u| (u, input.context_window())),
    }
}

/// Opens the transcripts `request` names, through the cache as the reports do.
pub fn open_corpus(
    request: &crate::load::UsageRequest,
) -> crate::Result<(crate::load::Corpus, Vec<crate::Warning>)> {
    let roots = crate::discover::resolve_roots(&request.paths, request.config_env.as_deref())?;
    let mut warnings = Vec::new();
    let cache = match (request.cache, request.cache_dir.clone()) {
        (false, _) => crate::load::CacheMode::Off,
        (true, Some(dir)) => crate::load::CacheMode::Dir(dir),
        (true, None) => match crate::cache::default_cache_dir() {
            Some(dir) => crate::load::CacheMode::Dir(dir),
            None => {
                warnings.push(crate::Warning::NoCacheFolder);
                crate::load::CacheMode::Off
            }
        },
    };
    let corpus = crate::load::Corpus::open(&roots, &cache)?;
    Ok((corpus, warnings))
}

/// How far back the status line of earlier versions looked by modification time. The
/// files are now chosen by the time span of their entries (see [`compute`]); kept for
/// callers of the constant.
pub const RECENT_MS: i64 = 24 * 3_600_000;

/// The figures of the line at `now_ms`, equal to [`figures`] of the whole tree's requests
/// and blocks. Only the files whose entries reach back to 10 hours before `now_ms` (or to
/// the local midnight when that is earlier), those that name the session and those sharing
/// a request with any of them are read request by request; when the active block's chain
/// of blocks reaches further back (activity without a 5-hour pause), the window is widened,
/// up to every file (the `window` module says why this is exact).
pub fn compute(
    input: &StatusInput,
    corpus: &crate::load::Corpus,
    query: crate::usage::Query,
    now_ms: i64,
) -> StatusFigures {
    let _phase = crate::trace::phase("statusline figures");
    let query = crate::usage::Query {
        per_request: true,
        since: None,
        until: None,
        ..query
    };
    let midnight_ms = jiff::Timestamp::from_millisecond(now_ms)
        .ok()
        .and_then(|t| t.to_zoned(query.tz.clone()).start_of_day().ok())
        .map_or(now_ms - RECENT_MS, |z| z.timestamp().as_millisecond());
    let opts = crate::blocks::BlockOptions {
        now_ms,
        ..crate::blocks::BlockOptions::default()
    };
    let session = input.session_id.as_deref();
    for hours in window::LOOKBACK_HOURS {
        let from_ms = now_ms.saturating_sub(hours * 3_600_000).min(midnight_ms);
        let keep = window::files_to_read(corpus, from_ms, session);
        let mut usage = crate::usage::analyze_selected(corpus, query.clone(), &keep);
        if let Some(rep) = window::blocks_from_anchor(&mut usage, from_ms, &opts) {
            return figures(input, &usage, &rep);
        }
    }
    let usage = crate::usage::analyze(corpus, query);
    let rep = crate::blocks::build(&usage, &opts);
    figures(input, &usage, &rep)
}

/// The status line.
pub fn line(input: &StatusInput, f: &StatusFigures) -> String {
    let mut parts = vec![input.model_label()];
    let session = match (f.session_cost, input.session_cost_usd) {
        (Some(c), _) => format_usd_cents(c),
        (None, Some(usd)) => format!("${usd:.2}"),
        (None, None) => "$0.00".into(),
    };
    let mut money = format!(
        "{session} session · {} today",
        format_usd_cents(f.today_cost)
    );
    match f.block {
        Some((cost, left, _)) => money.push_str(&format!(
            " · {} block ({}h {:02}m left)",
            format_usd_cents(cost),
            left.max(0) / 60,
            left.max(0) % 60
        )),
        None => money.push_str(" · no active block"),
    }
    parts.push(money);
    if let Some((_, _, Some(per_hour))) = f.block {
        parts.push(format!("${per_hour:.2}/h"));
    }
    if let Some(pct) = input.five_hour_used_pct {
        parts.push(format!("5h limit {pct:.0}%"));
    }
    if let Some((used, window)) = f.context {
        parts.push(format!(
            "ctx {} ({:.0}%)",
            crate::pricing::group_thousands(used.into()),
            used as f64 / window as f64 * 100.0
        ));
    }
    parts.join(" | ")
}

/// The line printed when the figures cannot be had: the model and a short reason.
pub fn fallback_line(input: Option<&StatusInput>, reason: &str) -> String {
    let model = input.map_or_else(|| "Claude".to_owned(), StatusInput::model_label);
    let mut reason: String = reason.chars().take(60).collect();
    if let Some(pos) = reason.find('\n') {
        reason.truncate(pos);
    }
    format!("{model} | usage unavailable: {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_input_reads_as_absent_fields() {
        let i = StatusInput::parse(br#"{"session_id": 3, "model": {"display_name": "Opus"}, "cost": {"total_cost_usd": "x"}}"#).unwrap();
        assert_eq!(i.session_id, None);
        assert_eq!(i.model_label(), "Opus");
        assert_eq!(i.session_cost_usd, None);
        assert!(StatusInput::parse(b"").is_err());
        assert!(StatusInput::parse(b"[1,2]").is_err());
        assert!(StatusInput::parse(b"{\"a\":").is_err());
        assert!(StatusInput::read(&b"{}"[..]).is_ok());
        let big = vec![b' '; (MAX_INPUT + 10) as usize];
        assert!(StatusInput::read(&big[..]).is_err());
    }

    #[test]
    fn context_window_and_fallback() {
        let i = StatusInput::parse(br#"{"model": {"id": "claude-opus-4-7[1m]"}}"#).unwrap();
        assert_eq!(i.context_window(), 1_000_000);
        let i = StatusInput::parse(br#"{"context_window": {"context_window_size": 500000, "current_usage": {"input_tokens": 10, "cache_read_input_tokens": 90}}}"#).unwrap();
        assert_eq!((i.context_window(), i.context_used), (500_000, Some(100)));
        let l = fallback_line(Some(&i), "no transcripts\nsecond line");
        assert_eq!(l, "Claude | usage unavailable: no transcripts");
    }
}
