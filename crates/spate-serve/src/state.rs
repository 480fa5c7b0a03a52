//! The state the refresh thread updates and the HTTP handlers read.
//!
//! - [`Snapshot`]: every endpoint's JSON body for the default query (the daemon's time zone,
//!   no date range, `auto` cost mode), built after each refresh that changed something and
//!   published with one atomic pointer swap ([`arc_swap::ArcSwap`]). A reader loads the
//!   current snapshot and writes its bytes: it never waits for a refresh.
//! - The [`Corpus`] itself, in an `RwLock`: the refresh thread holds the write lock while
//!   [`Corpus::refresh`] reads what changed on disk (typically a few milliseconds: appended
//!   bytes only); a request with query parameters (another time zone, a date range, ...)
//!   analyses the corpus under the read lock, so it is the only kind of request that can
//!   wait for a refresh.
//!
//! One thread, the [`RefreshThread`], owns every update: it wakes on file-system events or
//! on the re-scan timer, refreshes, and broadcasts a change notice to the event streams.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use axum::body::Bytes;
use spate_agents::corpus::Corpus;
use spate_agents::ledger::{Ledger, LedgerOnlyEntries};
use spate_agents::load::LoadedUsage;
use spate_agents::report::{self, Period};
use spate_agents::usage::{self, Query, Usage};
use spate_agents::{delegations, report_json};

use crate::api::Endpoint;
use crate::blocks_cache::BlocksCache;
use crate::metrics::Metrics;
use crate::params::Shape;
use crate::stats::Stats;
use crate::watch::{self, Wake};
use crate::{ServeError, ServeOptions};

/// Every default report, serialized, as of one refresh.
#[derive(Debug)]
pub struct Snapshot {
    /// Increases by one with each refresh that changed something.
    pub generation: u64,
    /// The body of each endpoint (indexed by [`Endpoint::index`]), exactly as the command
    /// line's `--json` writes it.
    pub bodies: Vec<Bytes>,
    /// `/api/stats` as one line (for the event stream).
    pub stats_line: String,
    /// Transcript files in the corpus.
    pub files: usize,
    /// Lines skipped, by reason (for `/metrics`).
    pub skipped: Vec<(&'static str, u64)>,
    /// Files that could not be read.
    pub unreadable: usize,
}

impl Snapshot {
    /// Builds every default body from `usage`: each report once, in parallel (this is
    /// most of a refresh's time on a big tree), `/api/stats` from those reports.
    pub fn build(generation: u64, usage: &Usage) -> Result<Snapshot, serde_json::Error> {
        use rayon::prelude::*;
        const PERIODS: [Period; 6] = [
            Period::Daily,
            Period::Weekly,
            Period::Monthly,
            Period::Session,
            Period::Model,
            Period::Project,
        ];
        let shape = Shape::default();
        let (reports, dels) = rayon::join(
            || {
                PERIODS
                    .par_iter()
                    .map(|p| report::build(usage, *p, shape.descending))
                    .collect::<Vec<_>>()
            },
            || delegations::build(usage, shape.marathon),
        );
        let stats = Stats::from_reports(usage, &reports[0], &reports[3], &reports[5], &reports[4])?;
        let (texts, dels_text) = rayon::join(
            || {
                reports
                    .par_iter()
                    .map(report_json::to_pretty)
                    .collect::<Result<Vec<_>, _>>()
            },
            || report_json::to_pretty(&dels),
        );
        let mut bodies = vec![Bytes::new(); Endpoint::ALL.len()];
        bodies[Endpoint::Stats.index()] = report_json::to_pretty(&stats)?.into();
        bodies[Endpoint::Delegations.index()] = dels_text?.into();
        for (r, text) in reports.iter().zip(texts?) {
            bodies[Endpoint::Report(r.period).index()] = text.into();
        }
        // an endpoint not built above (one added later) is rendered on its own; a live one
        // (blocks: the active block depends on the present) is computed for each request
        for (i, e) in Endpoint::ALL.iter().enumerate() {
            if bodies[i].is_empty() && !e.live() {
                bodies[i] = crate::api::render(*e, usage, &shape, 0)?.into();
            }
        }
        let stats_line = serde_json::to_string(&stats)?;
        let k = &usage.summary.skips;
        Ok(Snapshot {
            generation,
            bodies,
            stats_line,
            files: usage.summary.files,
            skipped: vec![
                ("malformed", k.malformed),
                ("no_timestamp", k.no_timestamp),
                ("incomplete_tail", k.incomplete_tail),
                ("synthetic", k.synthetic),
            ],
            unreadable: usage.summary.unreadable,
        })
    }

    /// The default body of an endpoint.
    pub fn body(&self, e: Endpoint) -> Bytes {
        self.bodies[e.index()].clone()
    }
}

/// What the refresh thread and the handlers share.
#[derive(Debug)]
pub struct Shared {
    /// The current snapshot.
    pub snapshot: ArcSwap<Snapshot>,
    /// The transcripts (see the module documentation for who locks it and when).
    pub corpus: RwLock<Corpus>,
    /// The query of the default reports; parameters of a request change a copy.
    pub default_query: Query,
    /// Change notices (one JSON line each) for the event streams.
    pub events: tokio::sync::broadcast::Sender<Arc<str>>,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// Set when the daemon is stopping: event streams end.
    pub stopping: tokio::sync::watch::Sender<bool>,
    watching: AtomicBool,
    /// The usage ledger, when one is used: recorded after each refresh, flushed on stop.
    ledger: Option<Ledger>,
    /// The blocks of the current generation (see [`crate::blocks_cache`]).
    pub blocks: BlocksCache,
    /// The entries only the ledger holds, read after each refresh that changed the corpus
    /// (replaced while the corpus's write lock is held, read under its read lock: they
    /// always match the corpus an analysis sees).
    ledger_only: Mutex<Arc<LedgerOnlyEntries>>,
}

impl Shared {
    /// Ends the event streams (so that in-flight requests can finish).
    pub fn begin_shutdown(&self) {
        self.stopping.send_replace(true);
    }

    /// Whether file-system events arrive (else the tree is re-scanned periodically).
    pub fn watching(&self) -> bool {
        self.watching.load(Ordering::Relaxed)
    }

    /// Analyses the corpus with `query` (under the read lock).
    /// With a ledger, the entries only the ledger holds (usage of deleted transcripts)
    /// are included, as in the command line's reports.
    ///
    /// The ledger's entries are read once per refresh ([`Ledger::ledger_only_entries`]),
    /// not for each analysis.
    pub fn analyze(&self, query: Query) -> Usage {
        let corpus = self.corpus.read().unwrap_or_else(|e| e.into_inner());
        let mut usage = usage::analyze(&corpus, query);
        if self.ledger.is_some() {
            let only = self
                .ledger_only
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            only.add_to(&corpus, &mut usage);
        }
        usage
    }

    /// Reads the entries only the ledger holds for `corpus` (just refreshed and recorded,
    /// its write lock held by the caller) and logs the ledger's notices.
    fn read_ledger_only(&self, corpus: &Corpus) {
        if let Some(ledger) = &self.ledger {
            let only = Arc::new(ledger.ledger_only_entries(corpus));
            *self.ledger_only.lock().unwrap_or_else(|e| e.into_inner()) = only;
            for n in ledger.take_notices() {
                tracing::warn!("{}", spate_agents::Warning::Ledger(n));
            }
        }
    }

    /// Records what the corpus holds in the ledger (new entries are written in batches).
    fn record_in_ledger(&self, corpus: &Corpus) {
        if let Some(ledger) = &self.ledger {
            if let Err(e) = ledger.record(corpus) {
                tracing::warn!("cannot record in the usage ledger: {e}");
            }
            if let Err(e) = ledger.flush_if_due() {
                tracing::warn!("cannot write the usage ledger: {e}");
            }
        }
    }

    /// Writes the entries the ledger still holds in memory.
    pub fn flush_ledger(&self) {
        if let Some(ledger) = &self.ledger {
            match ledger.flush() {
                Ok(n) if n > 0 => tracing::info!("usage ledger: {n} entries written"),
                Ok(_) => {}
                Err(e) => tracing::warn!("cannot write the usage ledger: {e}"),
            }
        }
    }
}

/// The loaded tree, before its refresh thread starts.
#[derive(Debug)]
pub struct Refresher {
    shared: Arc<Shared>,
}

impl Refresher {
    /// Loads the tree as the command line does ([`spate_agents::ledger::load_usage`]: cache, ledger, warnings) and
    /// builds the first snapshot.
    pub fn load(options: &ServeOptions) -> Result<(Arc<Shared>, Refresher), ServeError> {
        let query = Query {
            tz: options.tz.clone(),
            prices: options.prices.clone(),
            ..Query::default()
        };
        let started = Instant::now();
        let (
            LoadedUsage {
                usage,
                warnings,
                corpus,
            },
            ledger,
        ) = spate_agents::ledger::load_usage(
            &options.request,
            query.clone(),
            options.ledger.as_ref(),
        )?;
        for w in &warnings {
            tracing::warn!("{w}");
        }
        let snapshot = Snapshot::build(1, &usage).map_err(|e| ServeError::Io(e.into()))?;
        tracing::info!(
            "loaded {} files in {:.0?}: {}",
            corpus.files.len(),
            started.elapsed(),
            spate_agents::summary_line(&usage.summary)
        );
        let (events, _) = tokio::sync::broadcast::channel(64);
        let shared = Arc::new(Shared {
            snapshot: ArcSwap::from_pointee(snapshot),
            corpus: RwLock::new(corpus),
            default_query: query,
            events,
            metrics: Metrics::default(),
            stopping: tokio::sync::watch::channel(false).0,
            watching: AtomicBool::new(false),
            ledger,
            blocks: BlocksCache::default(),
            ledger_only: Mutex::default(),
        });
        {
            let corpus = shared.corpus.write().unwrap_or_else(|e| e.into_inner());
            shared.read_ledger_only(&corpus);
        }
        shared.metrics.record_refresh(started.elapsed(), true);
        Ok((shared.clone(), Refresher { shared }))
    }

    /// Starts watching the tree and the refresh thread.
    pub fn spawn(self, rescan: Duration, watch: bool) -> std::io::Result<RefreshThread> {
        let (tx, rx) = mpsc::channel();
        let roots = {
            let c = self.shared.corpus.read().unwrap_or_else(|e| e.into_inner());
            c.roots().to_vec()
        };
        let watcher = if watch {
            watch::start(&roots, tx.clone())
        } else {
            None
        };
        let watching = watcher.is_some();
        self.shared.watching.store(watching, Ordering::Relaxed);
        // with events, a slow safety re-scan catches what a watcher can miss (a folder
        // created between listing and watching, a network file system)
        let period = if watching { rescan * 12 } else { rescan };
        if watching {
            tracing::info!(
                "watching {} folder(s) for changes; safety re-scan every {period:?}",
                roots.len()
            );
        } else {
            tracing::warn!(
                "file watching unavailable: re-scanning the tree every {period:?} instead"
            );
        }
        let shared = self.shared;
        let join = std::thread::Builder::new()
            .name(String::from("spate-refresh"))
            .spawn(move || {
                // keep the watcher alive as long as the thread runs
                let _watcher = watcher;
                refresh_loop(&shared, &rx, period);
            })?;
        Ok(RefreshThread { tx, join })
    }
}

/// The running refresh thread.
#[derive(Debug)]
pub struct RefreshThread {
    tx: mpsc::Sender<Wake>,
    join: JoinHandle<()>,
}

impl RefreshThread {
    /// Asks the thread to stop after its current refresh and waits for it.
    pub fn stop(self) {
        let _ = self.tx.send(Wake::Stop);
        let _ = self.join.join();
    }
}

/// Events arriving within this time of the first one are handled by one refresh (an
/// append is often several writes).
const DEBOUNCE: Duration = Duration::from_millis(15);

fn refresh_loop(shared: &Shared, rx: &mpsc::Receiver<Wake>, period: Duration) {
    loop {
        match rx.recv_timeout(period) {
            Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            Ok(Wake::Changed) => {
                let until = Instant::now() + DEBOUNCE;
                let mut stop = false;
                while let Some(left) = until.checked_duration_since(Instant::now()) {
                    match rx.recv_timeout(left) {
                        Ok(Wake::Changed) => {}
                        Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => {
                            stop = true;
                            break;
                        }
                        Err(RecvTimeoutError::Timeout) => break,
                    }
                }
                if stop {
                    break;
                }
                refresh_once(shared);
            }
            Err(RecvTimeoutError::Timeout) => refresh_once(shared),
        }
    }
    // the one place the daemon ends its updates (on SIGINT/SIGTERM too)
    shared.flush_ledger();
}

/// One refresh: brings the corpus up to date and, when something changed, publishes a new
/// snapshot and a change notice.
pub fn refresh_once(shared: &Shared) {
    let started = Instant::now();
    let mut corpus = shared.corpus.write().unwrap_or_else(|e| e.into_inner());
    let before = corpus.files.len();
    if let Err(e) = corpus.refresh() {
        drop(corpus);
        tracing::warn!("refresh failed: {e}");
        shared.metrics.record_refresh(started.elapsed(), false);
        return;
    }
    let s = &corpus.stats;
    // a file read whole is new, truncated or rewritten; a shorter list lost files
    let changed = s.appended > 0 || s.parsed > 0 || corpus.files.len() != before;
    let (appended, parsed, files) = (s.appended, s.parsed, corpus.files.len());
    if changed {
        for w in &corpus.warnings {
            tracing::warn!("{w}");
        }
        shared.record_in_ledger(&corpus);
        shared.read_ledger_only(&corpus);
    }
    drop(corpus);
    if !changed {
        // a batch recorded earlier is written once it has waited long enough
        if let Some(Err(e)) = shared.ledger.as_ref().map(Ledger::flush_if_due) {
            tracing::warn!("cannot write the usage ledger: {e}");
        }
        shared.metrics.record_refresh(started.elapsed(), true);
        return;
    }
    let refreshed = started.elapsed();
    let usage = shared.analyze(shared.default_query.clone());
    let analyzed = started.elapsed();
    let generation = shared.snapshot.load().generation + 1;
    let built = Snapshot::build(generation, &usage);
    tracing::debug!(
        "refresh {generation}: corpus {refreshed:.1?}, analysis {:.1?}, reports {:.1?}",
        analyzed - refreshed,
        started.elapsed() - analyzed
    );
    match built {
        Ok(snapshot) => {
            let notice = format!(
                r#"{{"generation":{generation},"files":{files},"filesBefore":{before},"appended":{appended},"readWhole":{parsed},"stats":{}}}"#,
                snapshot.stats_line
            );
            shared.snapshot.store(Arc::new(snapshot));
            shared.metrics.record_refresh(started.elapsed(), true);
            // no subscriber is not an error
            let _ = shared.events.send(Arc::from(notice));
        }
        Err(e) => {
            tracing::warn!("refresh: cannot serialize the reports: {e}");
            shared.metrics.record_refresh(started.elapsed(), false);
        }
    }
}
