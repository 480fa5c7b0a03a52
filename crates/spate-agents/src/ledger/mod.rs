//! The usage ledger: a durable, append-only record of every de-duplicated usage entry spate
//! has seen, so that reports still count usage whose transcripts Claude Code deleted, and
//! so that the usage of several machines can be merged.
//!
//! One file, `usage-ledger.bin`, in the user's data folder (`$SPATE_LEDGER_DIR`, else
//! `<data dir>/spate`: `~/.local/share/spate` on Linux). Its format is in the `format`
//! module and docs/ledger.md: a versioned header, then batches, each framed with its length
//! and a CRC-32 so that a batch torn by a crash is detected and cut when the ledger is next
//! opened. Entries are grouped by transcript (a *source*: a hash of the transcript folder
//! and the path below it) with a *watermark* (parsed offset, fingerprint of the bytes
//! before it, entry count) saying how far the transcript was recorded, so a run that
//! changed nothing decodes no entry at all.
//!
//! Each entry carries the de-duplication key the reports use (`message.id` + `requestId`,
//! see [`crate::usage`]); entries without one get a key made of their transcript and their
//! place in it. An entry appended twice (two processes racing, a batch re-written after a
//! crash, an import) counts once: readers keep one copy per key, the one with the largest
//! token total, as the reports do. Nothing acknowledged is lost: a batch is acknowledged
//! when [`Ledger::flush`] returns (after an fsync, under the default policy); a batch
//! that was not is still in the transcripts and is written again by the next run.
//!
//! Use: [`load_usage`] for a one-shot report; a long-running process opens a [`Ledger`],
//! calls [`Ledger::record`] after each corpus refresh, [`Ledger::add_ledger_only`] on each
//! report, [`Ledger::flush_if_due`] on a timer and [`Ledger::flush`] (or [`flush_all`]
//! from a signal handler) before exiting.

mod exchange;
mod format;
mod merge;
mod record;
mod store;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

pub use exchange::{ExportStats, ImportStats};
pub use format::FORMAT_VERSION;
pub use merge::{LedgerOnly, LedgerOnlyEntries};

use crate::corpus::Corpus;
use crate::load::{LoadedUsage, UsageRequest};
use crate::strings::Interner;
use crate::usage::{Query, Usage};
use crate::warning::Warning;
use format::{PayloadBuilder, RawEntry, Watermark};
use record::{PendingGroup, RootInfo};
use store::Store;

/// The environment variable naming the ledger folder.
pub const LEDGER_DIR_ENV: &str = "SPATE_LEDGER_DIR";

/// The ledger file's name in its folder.
pub const LEDGER_FILE: &str = "usage-ledger.bin";

/// The default ledger folder: `$SPATE_LEDGER_DIR` when set and not empty, else
/// `<user data dir>/spate`.
pub fn default_dir() -> Option<PathBuf> {
    match std::env::var_os(LEDGER_DIR_ENV) {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => dirs::data_dir().map(|d| d.join("spate")),
    }
}

/// The ledger file in folder `dir`.
pub fn ledger_path(dir: &Path) -> PathBuf {
    dir.join(LEDGER_FILE)
}

/// When the ledger file is synced to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// After every batch written: an acknowledged batch survives a power loss.
    Always,
    /// Once per flush (after the batches it writes): one sync per run or per timer tick.
    #[default]
    Batch,
    /// Never: the operating system writes when it likes (a killed process loses nothing,
    /// a power loss may lose the last batches; the next run writes them again from the
    /// transcripts that still exist).
    Never,
}

impl std::str::FromStr for FsyncPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "always" => Ok(FsyncPolicy::Always),
            "batch" => Ok(FsyncPolicy::Batch),
            "never" => Ok(FsyncPolicy::Never),
            _ => Err(format!(
                "unknown fsync policy {s:?} (expected always, batch or never)"
            )),
        }
    }
}

/// How the ledger is used.
#[derive(Debug, Clone)]
pub struct LedgerOptions {
    /// The ledger folder; `None`: [`default_dir`].
    pub dir: Option<PathBuf>,
    /// When to sync.
    pub fsync: FsyncPolicy,
    /// Entries per batch: pending entries are written when this many are waiting.
    pub batch_entries: usize,
    /// Pending entries older than this are written by [`Ledger::flush_if_due`] (and by
    /// the next [`Ledger::record`]).
    pub batch_interval: Duration,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        LedgerOptions {
            dir: None,
            fsync: FsyncPolicy::Batch,
            batch_entries: 4096,
            batch_interval: Duration::from_secs(2),
        }
    }
}

/// What went wrong with a ledger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// A file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a spate usage ledger.
    #[error("{}: not a spate usage ledger", .0.display())]
    NotALedger(PathBuf),
    /// The ledger has another format version.
    #[error("{}: usage ledger of format version {version}; this spate reads version {FORMAT_VERSION}", path.display())]
    Version {
        /// The file.
        path: PathBuf,
        /// Its version.
        version: u32,
    },
    /// A ledger to import is damaged (a ledger in use is repaired instead).
    #[error("{}: damaged usage ledger (bad batch at byte {offset})", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Where the bad batch starts.
        offset: u64,
    },
    /// An export would overwrite the ledger it reads.
    #[error("{}: is the usage ledger itself", .0.display())]
    SameFile(PathBuf),
    /// No ledger folder was given and the user has no data folder.
    #[error("no user data folder for the usage ledger")]
    NoDataDir,
}

impl LedgerError {
    /// True when a file's content is not a usable ledger (invalid data), not an I/O or
    /// usage problem.
    pub fn is_invalid_data(&self) -> bool {
        matches!(
            self,
            LedgerError::NotALedger(_) | LedgerError::Version { .. } | LedgerError::Damaged { .. }
        )
    }
}

/// Something a user should know about the ledger during a run; the run goes on.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LedgerNotice {
    /// A torn last batch (a crash while writing) was cut; its entries are written again
    /// from the transcripts.
    Repaired {
        /// The ledger.
        path: PathBuf,
        /// Bytes cut.
        cut_bytes: u64,
    },
    /// Damaged bytes in the middle of the ledger were skipped (later batches are intact).
    Damaged {
        /// The ledger.
        path: PathBuf,
        /// Where the damage starts.
        offset: u64,
        /// How many bytes were skipped.
        bytes: u64,
    },
    /// The ledger could not be opened: the run goes on without it.
    Unusable {
        /// Why.
        error: Arc<LedgerError>,
    },
    /// The file system cannot lock the ledger: it is used without the lock.
    NotLocked {
        /// The ledger.
        path: PathBuf,
    },
    /// Entries could not be written (they are written by a later run).
    NotWritten {
        /// Why.
        error: Arc<LedgerError>,
    },
    /// Transcripts whose entries could not be read back from the cache were not recorded
    /// this time.
    EntriesUnreadable {
        /// How many transcripts.
        files: usize,
    },
    /// The report counts entries that only the ledger holds.
    FromLedger(LedgerOnly),
}

impl LedgerNotice {
    /// A short name of the kind of notice.
    pub fn kind(&self) -> &'static str {
        match self {
            LedgerNotice::Repaired { .. } => "ledger-repaired",
            LedgerNotice::Damaged { .. } => "ledger-damaged",
            LedgerNotice::Unusable { .. } => "ledger-unusable",
            LedgerNotice::NotLocked { .. } => "ledger-not-locked",
            LedgerNotice::NotWritten { .. } => "ledger-not-written",
            LedgerNotice::EntriesUnreadable { .. } => "ledger-entries-unreadable",
            LedgerNotice::FromLedger(_) => "ledger-only-entries",
        }
    }
}

impl fmt::Display for LedgerNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedgerNotice::Repaired { path, cut_bytes } => write!(
                f,
                "usage ledger {}: cut a torn last batch ({cut_bytes} bytes) left by a crash",
                path.display()
            ),
            LedgerNotice::Damaged {
                path,
                offset,
                bytes,
            } => write!(
                f,
                "usage ledger {}: skipped {bytes} damaged bytes at byte {offset}",
                path.display()
            ),
            LedgerNotice::Unusable { error } => {
                write!(f, "cannot use the usage ledger: {error}")
            }
            LedgerNotice::NotLocked { path } => write!(
                f,
                "cannot lock usage ledger {}; using it unlocked",
                path.display()
            ),
            LedgerNotice::NotWritten { error } => {
                write!(f, "cannot write the usage ledger: {error}")
            }
            LedgerNotice::EntriesUnreadable { files } => write!(
                f,
                "{files} cached transcripts had unreadable entries; not recorded in the usage ledger this time"
            ),
            LedgerNotice::FromLedger(o) => {
                let mut parts = Vec::new();
                if o.deleted > 0 {
                    parts.push(format!("{} entries from deleted transcripts", o.deleted));
                }
                if o.imported > 0 {
                    parts.push(format!("{} entries from imported ledgers", o.imported));
                }
                write!(f, "{} (counted from the usage ledger)", parts.join(" and "))
            }
        }
    }
}

/// What [`Ledger::record`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordStats {
    /// Entries queued (new to the ledger).
    pub queued: usize,
    /// Entries written by this call (full or due batches).
    pub written: usize,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    roots: Vec<RootInfo>,
    options: LedgerOptions,
    names: Interner,
    pending: Vec<PendingGroup>,
    pending_entries: usize,
    pending_links: usize,
    pending_since: Option<Instant>,
    /// Watermarks of queued groups, by source.
    queued: record::IdMap<Watermark>,
    notices: Vec<LedgerNotice>,
}

/// Every ledger open in this process, for [`flush_all`].
static OPEN: Mutex<Vec<Weak<Mutex<Inner>>>> = Mutex::new(Vec::new());

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes the pending entries of every ledger open in this process (for a signal handler,
/// just before the process exits); returns how many entries were written.
pub fn flush_all() -> usize {
    let open: Vec<Arc<Mutex<Inner>>> = {
        let mut list = OPEN.lock().unwrap_or_else(|p| p.into_inner());
        list.retain(|w| w.strong_count() > 0);
        list.iter().filter_map(Weak::upgrade).collect()
    };
    open.iter().map(|m| lock(m).flush().unwrap_or(0)).sum()
}

/// The usage ledger of a set of transcript folders (a handle: clones share it).
#[derive(Debug, Clone)]
pub struct Ledger {
    inner: Arc<Mutex<Inner>>,
}

impl Ledger {
    /// Opens the ledger in `options.dir` (or [`default_dir`]) for the transcript folders
    /// `roots`: reads and indexes it, cutting a torn last batch. Nothing is created until
    /// there is something to write.
    pub fn open(
        roots: &[PathBuf],
        options: &LedgerOptions,
    ) -> Result<(Ledger, Vec<LedgerNotice>), LedgerError> {
        let dir = match &options.dir {
            Some(d) => d.clone(),
            None => default_dir().ok_or(LedgerError::NoDataDir)?,
        };
        Self::open_at(&ledger_path(&dir), roots, options)
    }

    /// [`Ledger::open`] for the ledger file `path`.
    pub fn open_at(
        path: &Path,
        roots: &[PathBuf],
        options: &LedgerOptions,
    ) -> Result<(Ledger, Vec<LedgerNotice>), LedgerError> {
        let _span = crate::trace::phase("open ledger");
        let roots: Vec<RootInfo> = roots.iter().map(|r| RootInfo::new(r)).collect();
        let ids: Vec<u64> = roots.iter().map(|r| r.id).collect();
        let mut notices = Vec::new();
        let store = Store::open(path, &ids, &mut notices)?;
        if store.unlocked {
            notices.push(LedgerNotice::NotLocked {
                path: path.to_owned(),
            });
        }
        let inner = Arc::new(Mutex::new(Inner {
            store,
            roots,
            options: LedgerOptions {
                batch_entries: options.batch_entries.max(1),
                ..options.clone()
            },
            names: Interner::default(),
            pending: Vec::new(),
            pending_entries: 0,
            pending_links: 0,
            pending_since: None,
            queued: Default::default(),
            notices: Vec::new(),
        }));
        if let Ok(mut list) = OPEN.lock() {
            list.retain(|w| w.strong_count() > 0);
            list.push(Arc::downgrade(&inner));
        }
        Ok((Ledger { inner }, notices))
    }

    /// The ledger file.
    pub fn path(&self) -> PathBuf {
        lock(&self.inner).store.path.clone()
    }

    /// Queues the entries of `corpus` the ledger does not hold yet, and writes batches
    /// when `batch_entries` are waiting or the oldest waited `batch_interval`.
    pub fn record(&self, corpus: &Corpus) -> Result<RecordStats, LedgerError> {
        let _span = crate::trace::phase("record in ledger");
        let mut inner = lock(&self.inner);
        let inner = &mut *inner;
        let found = record::collect(
            corpus,
            &inner.roots,
            &inner.store,
            &inner.queued,
            &mut inner.names,
        );
        if found.unreadable > 0 {
            inner.notices.push(LedgerNotice::EntriesUnreadable {
                files: found.unreadable,
            });
        }
        let mut stats = RecordStats {
            queued: found.entries,
            written: 0,
        };
        for g in found.groups {
            inner.queued.insert(g.source, g.watermark);
            inner.pending.push(g);
        }
        if found.entries + found.links > 0 && inner.pending_since.is_none() {
            inner.pending_since = Some(Instant::now());
        }
        inner.pending_entries += found.entries;
        inner.pending_links += found.links;
        if inner.pending_entries >= inner.options.batch_entries || inner.due() {
            stats.written = inner.flush()?;
        }
        Ok(stats)
    }

    /// Writes the pending entries and syncs (as the fsync policy says); returns how many
    /// entries were written. When it returns `Ok`, they are acknowledged.
    pub fn flush(&self) -> Result<usize, LedgerError> {
        lock(&self.inner).flush()
    }

    /// [`Ledger::flush`] when the oldest pending entry waited `batch_interval`; returns
    /// whether it wrote.
    pub fn flush_if_due(&self) -> Result<bool, LedgerError> {
        let mut inner = lock(&self.inner);
        if inner.due() {
            inner.flush().map(|n| n > 0)
        } else {
            Ok(false)
        }
    }

    /// Entries queued and not written yet.
    pub fn pending(&self) -> usize {
        lock(&self.inner).pending_entries
    }

    /// Adds to `usage` (built from `corpus` with [`crate::usage::analyze`]) the entries only
    /// the ledger holds, dated, priced and filtered by `usage.query`; call [`Ledger::record`]
    /// with the same corpus first.
    pub fn add_ledger_only(&self, corpus: &Corpus, usage: &mut Usage) -> LedgerOnly {
        let _span = crate::trace::phase("ledger-only entries");
        let mut inner = lock(&self.inner);
        let inner = &mut *inner;
        merge::add_rows(
            &inner.store,
            &inner.roots,
            corpus,
            usage,
            &mut inner.notices,
        )
    }

    /// The entries only the ledger holds for `corpus` as it is now, read once for any
    /// number of analyses of it ([`LedgerOnlyEntries::add_to`]; a daemon reads them after
    /// each refresh instead of for each report). Call [`Ledger::record`] with the same
    /// corpus first.
    pub fn ledger_only_entries(&self, corpus: &Corpus) -> LedgerOnlyEntries {
        let _span = crate::trace::phase("ledger-only entries");
        let mut inner = lock(&self.inner);
        let inner = &mut *inner;
        merge::read_entries(&inner.store, &inner.roots, corpus, &mut inner.notices)
    }

    /// Notices gathered while writing (a torn batch cut, damage skipped) since last taken.
    pub fn take_notices(&self) -> Vec<LedgerNotice> {
        std::mem::take(&mut lock(&self.inner).notices)
    }

    /// Writes every entry of these transcript folders (one per key) to a new ledger file
    /// `to` (replaced atomically), for [`Ledger::import`] on another machine.
    pub fn export(&self, to: &Path) -> Result<ExportStats, LedgerError> {
        let mut inner = lock(&self.inner);
        inner.flush()?;
        exchange::export(&inner.store, &inner.roots, to, inner.options.batch_entries)
    }

    /// Merges the entries of the ledger files `from` into this ledger: a set union on the
    /// de-duplication key (an entry already held with at least as many tokens is not
    /// added), so importing a file twice changes nothing.
    pub fn import(&self, from: &[PathBuf]) -> Result<ImportStats, LedgerError> {
        let mut inner = lock(&self.inner);
        let inner = &mut *inner;
        inner.flush()?;
        let root = inner.roots.first().map(|r| r.id).unwrap_or(0);
        let (frames, stats) =
            exchange::import_frames(&inner.store, root, from, inner.options.batch_entries)?;
        let fsync = match inner.options.fsync {
            FsyncPolicy::Never => FsyncPolicy::Never,
            _ => FsyncPolicy::Batch,
        };
        inner.store.append(&frames, fsync, &mut inner.notices)?;
        Ok(stats)
    }
}

impl Inner {
    fn due(&self) -> bool {
        self.pending_since
            .is_some_and(|t| t.elapsed() >= self.options.batch_interval)
    }

    /// Encodes the pending groups as batches of at most `batch_entries` entries, split by
    /// root, and appends them.
    fn flush(&mut self) -> Result<usize, LedgerError> {
        if self.pending_entries == 0 && self.pending_links == 0 {
            // only watermark moves: not worth a write (nothing to record)
            self.pending.clear();
            self.queued.clear();
            self.pending_since = None;
            return Ok(0);
        }
        let _span = crate::trace::phase("write ledger");
        let max = self.options.batch_entries;
        let mut frames = Vec::new();
        let mut builder: Option<(PayloadBuilder, usize)> = None;
        let mut remap: HashMap<u32, u32> = HashMap::new();
        let names = &self.names;
        let finish = |b: Option<(PayloadBuilder, usize)>, frames: &mut Vec<Vec<u8>>| {
            if let Some((b, _)) = b {
                if !b.is_empty() {
                    frames.push(b.finish());
                }
            }
        };
        for g in &self.pending {
            let mut at = 0usize;
            loop {
                if builder
                    .as_ref()
                    .is_none_or(|(b, n)| b.root() != g.root || *n >= max)
                {
                    finish(builder.take(), &mut frames);
                    builder = Some((PayloadBuilder::new(g.root), 0));
                    remap.clear();
                }
                let Some((b, n)) = builder.as_mut() else {
                    break;
                };
                let take = (max - *n).min(g.entries.len() - at);
                let mut id = |i: u32| *remap.entry(i).or_insert_with(|| b.string(names.get(i)));
                let project = id(g.project);
                let links: Vec<(u32, u32)> = if at == 0 {
                    g.links.iter().map(|&(a, t)| (id(a), id(t))).collect()
                } else {
                    Vec::new()
                };
                let chunk: Vec<RawEntry> = g.entries[at..at + take]
                    .iter()
                    .map(|e| RawEntry {
                        model: id(e.model),
                        session: id(e.session),
                        agent_type: if e.has_agent() { id(e.agent_type) } else { 0 },
                        agent_id: if e.has_agent() { id(e.agent_id) } else { 0 },
                        ..*e
                    })
                    .collect();
                let last = at + take == g.entries.len();
                let flags = if at == 0 { g.flags } else { 0 };
                b.group(
                    g.source,
                    flags,
                    project,
                    g.first + at as u64,
                    last.then_some(g.watermark),
                    &links,
                    &chunk,
                );
                *n += take;
                at += take;
                if last {
                    break;
                }
            }
        }
        finish(builder.take(), &mut frames);
        self.store
            .append(&frames, self.options.fsync, &mut self.notices)?;
        let written = self.pending_entries;
        self.pending.clear();
        self.queued.clear();
        self.pending_entries = 0;
        self.pending_links = 0;
        self.pending_since = None;
        self.names = Interner::default();
        Ok(written)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // best effort: what is not written is still in the transcripts
        let _ = self.flush();
    }
}

/// [`crate::load::load_usage`] with the ledger (when `options` is given): records the new
/// entries, adds the entries only the ledger holds to the usage, and returns the ledger
/// so that the caller flushes it before exiting. Ledger problems are warnings; the report
/// is still made from the transcripts.
pub fn load_usage(
    request: &UsageRequest,
    query: Query,
    options: Option<&LedgerOptions>,
) -> crate::Result<(LoadedUsage, Option<Ledger>)> {
    let mut loaded = crate::load::load_usage(request, query)?;
    let Some(options) = options else {
        return Ok((loaded, None));
    };
    let warn = |n: LedgerNotice| Warning::Ledger(n);
    let ledger = match Ledger::open(loaded.corpus.roots(), options) {
        Ok((ledger, notices)) => {
            loaded.warnings.extend(notices.into_iter().map(warn));
            ledger
        }
        Err(e) => {
            loaded
                .warnings
                .push(warn(LedgerNotice::Unusable { error: Arc::new(e) }));
            return Ok((loaded, None));
        }
    };
    if let Err(e) = ledger.record(&loaded.corpus) {
        loaded
            .warnings
            .push(warn(LedgerNotice::NotWritten { error: Arc::new(e) }));
    }
    // test hook, debug builds only: says so and waits while entries are pending, so that
    // a test can signal the process before they are flushed
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var("SPATE_LEDGER_TEST_PENDING_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        eprintln!("spate: test: {} ledger entries pending", ledger.pending());
        std::thread::sleep(Duration::from_millis(ms));
    }
    let only = ledger.add_ledger_only(&loaded.corpus, &mut loaded.usage);
    loaded
        .warnings
        .extend(ledger.take_notices().into_iter().map(warn));
    if only != LedgerOnly::default() {
        loaded.warnings.push(warn(LedgerNotice::FromLedger(only)));
    }
    Ok((loaded, Some(ledger)))
}
