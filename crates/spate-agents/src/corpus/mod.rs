//! The transcripts of a set of folders, held in memory and refreshed in place.
//!
//! [`Corpus::open`] lists the tree and reads every transcript, reusing the cache when there
//! is one; [`Corpus::refresh`] lists the tree again and diffs it against what the corpus
//! holds: an unchanged file (same size and modification time) is not read, a file that grew
//! (whose 64 bytes before the parsed offset still hash the same) is read from its parsed
//! offset only, a new, shrunk or rewritten file is read whole, a deleted one drops out.
//! Files are read in parallel. A long-running process holds one corpus and refreshes it; a
//! command opens one and drops it.
//!
//! The cache (see [`crate::cache`]) is a separate store: opening reads it, and each open or
//! refresh that changed something writes it back, under the store's lock.

mod read;
mod shared;

use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;

use crate::cache::{self, Base, CacheProblem, CacheStore, CachedFile, Written};
use crate::discover::{self, FoundFile};
use crate::error::Result;
use crate::load::{CacheMode, LoadStats};
use crate::warning::Warning;
use read::{parse_full, parse_job, Done, ReadKind};
use shared::{mark_shared, mark_shared_grown};

/// The transcripts of a set of folders, as last read.
#[derive(Debug)]
pub struct Corpus {
    /// Every file with its parsed content, sorted by path.
    pub files: Vec<CachedFile>,
    /// Counts of the last open or refresh.
    pub stats: LoadStats,
    /// Warnings of the last open or refresh, for the user (cache rebuilt, unreadable
    /// file, ...).
    pub warnings: Vec<Warning>,
    roots: Vec<PathBuf>,
    cache_mode: CacheMode,
    held_cache: HeldCache,
}

/// The cache's main file as this corpus last read or wrote it, against which the next
/// write is a small delta file; `ranges[i]` is where `files[i]`'s record is in `bytes`
/// (copied as is when the file did not change).
#[derive(Debug, Default)]
struct HeldCache {
    bytes: Arc<Vec<u8>>,
    base: Option<Base>,
    ranges: Vec<Option<(usize, usize)>>,
    /// The checksum of the main file as last read or written by this corpus: when the
    /// main file on disk has another, another process replaced it.
    main_sum: Option<u64>,
}

/// What to do with one file found on disk (records reused stay where they are: a record
/// is a few hundred bytes, and moving thousands of them from list to list cost more than
/// the rest of a cached run's bookkeeping).
enum Job {
    /// Unchanged: the previous record at this index.
    Reuse(usize),
    /// Grown: read the appended bytes on top of the previous record at this index.
    Append(usize),
    /// New or rewritten: read it whole.
    Full,
}

/// The files known before a sync, sorted by path, with where their records are in the
/// cache's bytes.
struct Previous {
    files: Vec<CachedFile>,
    ranges: Vec<Option<(usize, usize)>>,
    /// Whether the cache must be written even if no file changed (missing, damaged).
    cache_dirty: bool,
}

impl Corpus {
    /// Lists and reads every transcript under `roots`, through the cache in `cache_mode`.
    pub fn open(roots: &[PathBuf], cache_mode: &CacheMode) -> Result<Corpus> {
        let mut corpus = Corpus {
            files: Vec::new(),
            stats: LoadStats::default(),
            warnings: Vec::new(),
            roots: roots.to_vec(),
            cache_mode: cache_mode.clone(),
            held_cache: HeldCache::default(),
        };
        corpus.sync(true)?;
        Ok(corpus)
    }

    /// Lists the tree again and brings the corpus up to date: reads what was appended to
    /// the files it holds, reads new and rewritten files whole, drops deleted ones; writes
    /// the cache when something changed. `stats` and `warnings` then describe this refresh.
    pub fn refresh(&mut self) -> Result<()> {
        self.sync(false)
    }

    /// The folders this corpus reads.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    fn sync(&mut self, first: bool) -> Result<()> {
        let _span = crate::trace::phase("corpus sync");
        let mut warnings = Vec::new();
        // locked until the end: reading, parsing and writing the cache is one step
        let store = match &self.cache_mode {
            CacheMode::Off => None,
            CacheMode::Dir(dir) => match CacheStore::open(dir, &self.roots) {
                Ok((store, report)) => {
                    if report.read_only {
                        warnings.push(Warning::CacheNotLocked {
                            path: store.main_path().to_owned(),
                        });
                    }
                    Some(store)
                }
                Err(e) => {
                    warnings.push(Warning::CacheUnusable { error: Arc::new(e) });
                    None
                }
            },
        };
        // listing the tree (mostly `stat` calls, split over project folders) and reading the
        // cache at the same time, both in the pool: whichever finishes first helps the other
        let roots = &self.roots;
        let (found, cache_read) = rayon::join(
            || {
                let _span = crate::trace::phase("find files");
                discover::find_files(roots)
            },
            || store.as_ref().filter(|_| first).map(CacheStore::read),
        );
        let found = found?;
        let previous = if first {
            self.previous_from_cache(store.as_ref(), cache_read, &mut warnings)
        } else {
            self.previous_held(store.as_ref())
        };
        let Diff {
            mut files,
            grown,
            mut stats,
            mut raws,
            deleted,
            full_share_check,
            mut cache_dirty,
        } = diff(found, previous, &mut warnings);
        let _span = crate::trace::phase("shared requests");
        let kinds_ok = stats.parsed == 0 && stats.unreadable == 0;
        if store.is_none() || (cache_dirty && (full_share_check || deleted > 0 || !kinds_ok)) {
            mark_shared(&mut files);
        } else if stats.appended > 0 {
            mark_shared_grown(&mut files, &grown);
        }
        // Files that share requests are de-duplicated request by request: their entries must
        // be readable from the cache, else they are read again.
        let unreadable_entries: Vec<usize> = files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.shared && !f.record.entries_available())
            .map(|(i, _)| i)
            .collect();
        drop(_span);
        if !unreadable_entries.is_empty() {
            warnings.push(Warning::EntriesReparsed {
                files: unreadable_entries.len(),
            });
            for i in unreadable_entries {
                let f = &files[i];
                let found = FoundFile {
                    path: f.path.clone(),
                    size: f.size,
                    mtime_ns: f.mtime_ns,
                    meta: f.meta.clone(),
                };
                let d = parse_full(found);
                stats.bytes_read += d.bytes;
                stats.parsed += 1;
                stats.reused = stats.reused.saturating_sub(1);
                files[i] = d.file;
                raws[i] = None;
            }
            cache_dirty = true;
            mark_shared(&mut files);
        }
        if let (Some(store), true) = (&store, cache_dirty) {
            let refs: Vec<&CachedFile> = files.iter().collect();
            let held = &self.held_cache;
            let base = held.base.as_ref().map(|b| (held.bytes.as_slice(), b));
            match store.write(&refs, &raws, base) {
                // the main file as read is still the base of the next delta
                Ok(Some(Written::Delta)) => {}
                // records are no longer where they were read: the next write starts anew
                Ok(Some(Written::Main)) => {
                    self.held_cache = HeldCache {
                        main_sum: cache::main_checksum(store.main_path()),
                        ..HeldCache::default()
                    };
                    raws = vec![None; files.len()];
                }
                Ok(None) => {}
                Err(e) => {
                    // written again next time
                    self.held_cache.main_sum = None;
                    warnings.push(Warning::CacheNotWritten { error: Arc::new(e) });
                }
            }
        }
        self.held_cache.ranges = raws;
        self.files = files;
        self.stats = stats;
        self.warnings = warnings;
        Ok(())
    }

    /// The files of the cache as read when opening.
    fn previous_from_cache(
        &mut self,
        store: Option<&CacheStore>,
        read: Option<Result<Option<std::result::Result<cache::Decoded, CacheProblem>>>>,
        warnings: &mut Vec<Warning>,
    ) -> Previous {
        let mut previous = Previous {
            files: Vec::new(),
            ranges: Vec::new(),
            cache_dirty: false,
        };
        let (Some(store), Some(read)) = (store, read) else {
            return previous;
        };
        match read {
            Ok(None) => previous.cache_dirty = true,
            Ok(Some(Ok(decoded))) => {
                self.held_cache = HeldCache {
                    main_sum: Some(decoded.base.main_sum),
                    bytes: decoded.bytes,
                    base: Some(decoded.base),
                    ranges: Vec::new(),
                };
                let mut files = decoded.files;
                let mut ranges = decoded.ranges;
                // (written sorted; checked, as the merge below relies on it)
                let sorted = files.iter().all(|c| discover::is_plain(&c.path))
                    && files.windows(2).all(|w| {
                        discover::fast_path_cmp(&w[0].path, &w[1].path) == std::cmp::Ordering::Less
                    });
                if !sorted {
                    let mut order: Vec<usize> = (0..files.len()).collect();
                    order.sort_by(|&a, &b| files[a].path.cmp(&files[b].path));
                    ranges = order.iter().map(|&i| ranges[i]).collect();
                    let mut taken: Vec<Option<CachedFile>> = files.into_iter().map(Some).collect();
                    files = order.iter().filter_map(|&i| taken[i].take()).collect();
                }
                previous.files = files;
                previous.ranges = ranges.into_iter().map(Some).collect();
            }
            Ok(Some(Err(problem))) => {
                warnings.push(Warning::CacheRebuilt {
                    path: crate::cache::faulty_file(store.main_path()),
                    problem,
                });
                previous.cache_dirty = true;
            }
            Err(e) => {
                warnings.push(Warning::CacheUnreadable { error: Arc::new(e) });
                previous.cache_dirty = true;
            }
        }
        previous
    }

    /// The files this corpus holds. When another process replaced the cache's main file
    /// since this corpus last read or wrote it, the next write rewrites it whole.
    fn previous_held(&mut self, store: Option<&CacheStore>) -> Previous {
        let mut cache_dirty = false;
        if let Some(store) = store {
            let current = cache::main_checksum(store.main_path());
            if current.is_none() || current != self.held_cache.main_sum {
                // replaced (or removed) by another process: rewritten whole from what
                // this corpus holds
                self.held_cache = HeldCache::default();
                cache_dirty = true;
            }
        }
        let files = std::mem::take(&mut self.files);
        let mut ranges = std::mem::take(&mut self.held_cache.ranges);
        ranges.resize(files.len(), None);
        Previous {
            files,
            ranges,
            cache_dirty,
        }
    }
}

/// The outcome of matching the files found with the previous ones.
struct Diff {
    /// The files, sorted by path.
    files: Vec<CachedFile>,
    /// Whether each file was read from its parsed offset (it grew).
    grown: Vec<bool>,
    stats: LoadStats,
    /// Where each record is in the cache's bytes, when it can be copied as is.
    raws: Vec<Option<(usize, usize)>>,
    /// How many previous files are gone.
    deleted: usize,
    /// Whether the shared flags must be computed from scratch.
    full_share_check: bool,
    /// Whether the cache must be written.
    cache_dirty: bool,
}

/// Matches the files found with the previous ones (both sorted by path) and reads
/// what changed.
fn diff(found: Vec<FoundFile>, previous: Previous, warnings: &mut Vec<Warning>) -> Diff {
    let Previous {
        files: prev,
        ranges: prev_ranges,
        mut cache_dirty,
    } = previous;
    let prev_count = prev.len();
    let mut deleted = 0usize;
    let mut next_prev = 0usize;
    let mut jobs: Vec<Job> = Vec::with_capacity(found.len());
    // whether the shared flags must be computed from scratch (else only files that grew
    // can have become shared, see `mark_shared_grown`)
    let mut full_share_check = cache_dirty;
    // the files to read, with their place in `found` (the others are reused in place)
    let mut work: Vec<(usize, Option<usize>, FoundFile)> = Vec::new();
    {
        let _span = crate::trace::phase("plan");
        for (at, f) in found.into_iter().enumerate() {
            let mut old = None;
            while let Some(c) = prev.get(next_prev) {
                // the same bytes are the same path (and the common case): skip the
                // slower component-wise comparison
                let order = if c.path.as_os_str() == f.path.as_os_str() {
                    std::cmp::Ordering::Equal
                } else {
                    discover::path_cmp(&c.path, &f.path)
                };
                match order {
                    std::cmp::Ordering::Less => {
                        // known before but no longer on disk
                        deleted += 1;
                        next_prev += 1;
                    }
                    std::cmp::Ordering::Equal => {
                        old = Some((next_prev, c));
                        next_prev += 1;
                        break;
                    }
                    std::cmp::Ordering::Greater => break,
                }
            }
            match old {
                Some((i, c))
                    if c.meta == f.meta && c.size == f.size && c.mtime_ns == f.mtime_ns =>
                {
                    jobs.push(Job::Reuse(i));
                }
                // only a file that grew is read from its parsed offset; one rewritten at
                // the same size (or smaller) is read whole
                Some((i, c)) if c.meta == f.meta && f.size > c.size => {
                    // a file that shared requests before may stop sharing: all flags
                    // are computed again then
                    full_share_check |= c.shared;
                    jobs.push(Job::Append(i));
                    work.push((at, Some(i), f));
                }
                _ => {
                    jobs.push(Job::Full);
                    work.push((at, None, f));
                }
            }
        }
    }
    deleted += prev.len() - next_prev;
    if deleted > 0 {
        cache_dirty = true;
    }
    let parsed: Vec<(usize, Done)> = {
        let _span = crate::trace::phase("read files");
        work.into_par_iter()
            .map(|(at, old, found)| (at, parse_job(old.and_then(|i| prev.get(i)), found)))
            .collect()
    };
    let mut stats = LoadStats {
        files: jobs.len(),
        ..LoadStats::default()
    };
    let n = jobs.len();
    let mut kinds: Vec<Option<ReadKind>> = vec![None; n];
    // When the list of files is the previous one (nothing new or deleted: the common
    // case), the previous records become the result in place and only read ones are
    // replaced.
    let same_list = n == prev.len()
        && jobs
            .iter()
            .enumerate()
            .all(|(k, j)| matches!(j, Job::Reuse(i) | Job::Append(i) if *i == k));
    let (files, mut raws): (Vec<CachedFile>, Vec<Option<(usize, usize)>>) = if same_list {
        let mut raws = prev_ranges;
        let mut files = prev;
        for (at, mut d) in parsed {
            kinds[at] = Some(d.kind);
            // (a read record is encoded anew)
            raws[at] = None;
            account(&mut stats, warnings, &mut d);
            files[at] = d.file;
        }
        (files, raws)
    } else {
        let mut prev: Vec<Option<CachedFile>> = prev.into_iter().map(Some).collect();
        let mut parsed = parsed.into_iter().peekable();
        let mut files = Vec::with_capacity(n);
        let mut raws = Vec::with_capacity(n);
        for (at, job) in jobs.iter().enumerate() {
            if parsed.peek().is_some_and(|(p, _)| *p == at) {
                if let Some((_, mut d)) = parsed.next() {
                    kinds[at] = Some(d.kind);
                    account(&mut stats, warnings, &mut d);
                    files.push(d.file);
                    raws.push(None);
                }
            } else if let Job::Reuse(i) = job {
                if let Some(file) = prev.get_mut(*i).and_then(Option::take) {
                    files.push(file);
                    raws.push(prev_ranges.get(*i).copied().flatten());
                }
            }
        }
        (files, raws)
    };
    raws.resize(files.len(), None);
    // reused files: counted here (their last line may still be incomplete)
    for (f, k) in files.iter().zip(&kinds) {
        if k.is_none() {
            stats.reused += 1;
            if f.size > f.record.parsed_offset {
                stats.incomplete_tails += 1;
            }
        }
    }
    if stats.reused != n || files.len() != prev_count {
        cache_dirty = true;
    }
    let grown: Vec<bool> = kinds
        .iter()
        .map(|k| *k == Some(ReadKind::Appended))
        .collect();
    Diff {
        files,
        grown,
        stats,
        raws,
        deleted,
        full_share_check,
        cache_dirty,
    }
}

/// Adds a read file's counts.
fn account(stats: &mut LoadStats, warnings: &mut Vec<Warning>, d: &mut Done) {
    match d.kind {
        ReadKind::Appended => stats.appended += 1,
        ReadKind::Whole => stats.parsed += 1,
    }
    stats.bytes_read += d.bytes;
    if d.pending_tail {
        stats.incomplete_tails += 1;
    }
    if let Some(e) = d.error.take() {
        stats.unreadable += 1;
        warnings.push(Warning::UnreadableFile { error: Arc::new(e) });
    }
    warnings.append(&mut d.warnings);
}
