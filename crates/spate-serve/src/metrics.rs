//! Counters for `/metrics`, written in the Prometheus text format (version 0.0.4).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::state::Shared;

/// Routes counted separately.
pub const ROUTES: [&str; 6] = ["api", "events", "dashboard", "healthz", "metrics", "other"];

/// Counters updated by the handlers and the refresh thread (relaxed atomics: each is
/// independent).
#[derive(Debug, Default)]
pub struct Metrics {
    requests: [AtomicU64; ROUTES.len()],
    bad_requests: AtomicU64,
    unauthorized: AtomicU64,
    rejected: AtomicU64,
    refreshes: AtomicU64,
    refresh_failures: AtomicU64,
    refresh_micros_total: AtomicU64,
    refresh_micros_last: AtomicU64,
    /// Event streams open now.
    pub event_clients: AtomicU64,
}

impl Metrics {
    /// Counts a request on `route` (an index into [`ROUTES`]).
    pub fn request(&self, route: usize) {
        self.requests[route.min(ROUTES.len() - 1)].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request answered 400.
    pub fn bad_request(&self) {
        self.bad_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request answered 401.
    pub fn unauthorized(&self) {
        self.unauthorized.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request refused by a limit (size, method, busy).
    pub fn rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a refresh (the initial load included) and its duration.
    pub fn record_refresh(&self, took: Duration, ok: bool) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.refresh_failures.fetch_add(1, Ordering::Relaxed);
        }
        self.refresh_micros_total.fetch_add(us, Ordering::Relaxed);
        self.refresh_micros_last.store(us, Ordering::Relaxed);
    }

    /// Refreshes so far.
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str, lines: &[(String, String)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in lines {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

fn one(v: impl ToString) -> Vec<(String, String)> {
    vec![(String::new(), v.to_string())]
}

fn seconds(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// The metrics page.
pub fn render(shared: &Shared) -> String {
    let m = &shared.metrics;
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let snap = shared.snapshot.load();
    let mut out = String::with_capacity(2048);
    let requests: Vec<(String, String)> = ROUTES
        .iter()
        .zip(&m.requests)
        .map(|(r, c)| (format!("{{route=\"{r}\"}}"), get(c).to_string()))
        .collect();
    metric(
        &mut out,
        "spate_http_requests_total",
        "counter",
        "HTTP requests served, by route.",
        &requests,
    );
    let refused = vec![
        (
            String::from("{code=\"400\"}"),
            get(&m.bad_requests).to_string(),
        ),
        (
            String::from("{code=\"401\"}"),
            get(&m.unauthorized).to_string(),
        ),
        (
            String::from("{code=\"limit\"}"),
            get(&m.rejected).to_string(),
        ),
    ];
    metric(
        &mut out,
        "spate_http_refused_total",
        "counter",
        "Requests refused: bad parameters, no token, a limit.",
        &refused,
    );
    metric(
        &mut out,
        "spate_refresh_total",
        "counter",
        "Refreshes of the transcript tree, the initial load included.",
        &one(get(&m.refreshes)),
    );
    metric(
        &mut out,
        "spate_refresh_failures_total",
        "counter",
        "Refreshes that failed.",
        &one(get(&m.refresh_failures)),
    );
    metric(
        &mut out,
        "spate_refresh_seconds_total",
        "counter",
        "Time spent refreshing.",
        &one(seconds(get(&m.refresh_micros_total))),
    );
    metric(
        &mut out,
        "spate_refresh_last_seconds",
        "gauge",
        "Duration of the last refresh.",
        &one(seconds(get(&m.refresh_micros_last))),
    );
    metric(
        &mut out,
        "spate_snapshot_generation",
        "gauge",
        "Refreshes that changed the reports, plus one.",
        &one(snap.generation),
    );
    metric(
        &mut out,
        "spate_files_watched",
        "gauge",
        "Transcript files in the corpus.",
        &one(snap.files),
    );
    metric(
        &mut out,
        "spate_watch_active",
        "gauge",
        "1 when file-system events arrive, 0 when the tree is re-scanned periodically.",
        &one(u8::from(shared.watching())),
    );
    let skipped: Vec<(String, String)> = snap
        .skipped
        .iter()
        .map(|(reason, n)| (format!("{{reason=\"{reason}\"}}"), n.to_string()))
        .collect();
    metric(
        &mut out,
        "spate_parse_errors",
        "gauge",
        "Transcript lines skipped in the corpus, by reason.",
        &skipped,
    );
    metric(
        &mut out,
        "spate_unreadable_files",
        "gauge",
        "Transcript files that could not be read.",
        &one(snap.unreadable),
    );
    metric(
        &mut out,
        "spate_event_clients",
        "gauge",
        "Open /api/events streams.",
        &one(get(&m.event_clients)),
    );
    metric(
        &mut out,
        "spate_blocks_cuts_total",
        "counter",
        "Analyses with one row per request, to cut the blocks of /api/blocks (once per change of the tree and variant).",
        &one(shared.blocks.cuts()),
    );
    if let Some((now, peak)) = crate::memory::resident() {
        metric(
            &mut out,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            &one(now),
        );
        metric(
            &mut out,
            "spate_resident_memory_peak_bytes",
            "gauge",
            "Largest resident memory size so far, in bytes.",
            &one(peak),
        );
    }
    out
}
