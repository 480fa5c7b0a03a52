//! Loading a transcript tree, incrementally when a cache is available.
//!
//! For each file found, the cache entry is reused when size and modification time are
//! unchanged; when the file grew (and the 64 bytes before the parsed offset still hash the
//! same), only the appended bytes are parsed; otherwise the file is parsed whole. Deleted
//! files drop out. Files are parsed in parallel.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::cache::{CacheProblem, CacheStore, CachedFile};
use crate::discover::{self, FoundFile};
use crate::error::{Error, Result};
use crate::model::FileRecord;
use crate::parse::{fnv64, LineParser, TAIL_HASH_LEN};

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

/// A loaded transcript tree.
#[derive(Debug)]
pub struct Corpus {
    /// Every file with its parsed content, sorted by path.
    pub files: Vec<CachedFile>,
    /// Counts.
    pub stats: LoadStats,
    /// Warnings for the user (cache rebuilt, unreadable file, ...).
    pub warnings: Vec<String>,
}

/// What to do with one file found on disk (records reused from the cache stay where they
/// were decoded: a record is a few hundred bytes, and moving thousands of them from list
/// to list cost more than the rest of a cached run's bookkeeping).
enum Job {
    /// Unchanged: the cached record at this index.
    Reuse(usize),
    /// Grown: parse the appended bytes on top of the cached record at this index.
    Append(usize),
    /// New or rewritten: parse it whole.
    Full,
}

/// A parsed file (reused ones are taken from the cache in place).
struct Done {
    file: CachedFile,
    kind: u8, // 1 appended, 2 parsed whole
    bytes: u64,
    pending_tail: bool,
    error: Option<String>,
}

/// Loads every transcript under `roots`.
pub fn load(roots: &[PathBuf], cache_mode: &CacheMode) -> Result<Corpus> {
    let timer = crate::Timer::start();
    let mut warnings = Vec::new();
    // locked until the end of the load: reading, parsing and writing the cache is one step
    let store = match cache_mode {
        CacheMode::Off => None,
        CacheMode::Dir(dir) => match CacheStore::open(dir, roots) {
            Ok((store, report)) => {
                if report.read_only {
                    warnings.push(format!(
                        "cannot lock cache {}; it is read but not updated",
                        store.main_path().display()
                    ));
                }
                Some(store)
            }
            Err(e) => {
                warnings.push(format!("cannot use cache: {e}"));
                None
            }
        },
    };
    let cache_file = store.as_ref().map(|s| s.main_path().to_owned());
    // listing the tree (mostly `stat` calls, split over project folders) and reading the
    // cache at the same time, both in the pool: whichever finishes first helps the other
    let (found, cache_read) = rayon::join(
        || {
            let found = discover::find_files(roots);
            timer.lap("find files");
            found
        },
        || {
            let read = store.as_ref().map(CacheStore::read);
            timer.lap("read cache");
            read
        },
    );
    let found = found?;
    timer.lap("find files and read cache");
    // sorted by path, like `found`: matched by a merge join
    // with where each record is in the cache file's bytes, to copy it back unchanged
    let mut cached: Vec<CachedFile> = Vec::new();
    let mut cached_ranges: Vec<(usize, usize)> = Vec::new();
    let mut raw_bytes: std::sync::Arc<Vec<u8>> = Default::default();
    let mut base = None;
    let mut cache_dirty = false;
    if let (Some(path), Some(read)) = (&cache_file, cache_read) {
        match read {
            Ok(None) => cache_dirty = true,
            Ok(Some(Ok(decoded))) => {
                raw_bytes = decoded.bytes;
                base = Some(decoded.base);
                let mut files = decoded.files;
                cached_ranges = decoded.ranges;
                // (written sorted; checked, as the merge below relies on it)
                let sorted = files.iter().all(|c| discover::is_plain(&c.path))
                    && files.windows(2).all(|w| {
                        discover::fast_path_cmp(&w[0].path, &w[1].path) == std::cmp::Ordering::Less
                    });
                if !sorted {
                    let mut order: Vec<usize> = (0..files.len()).collect();
                    order.sort_by(|&a, &b| files[a].path.cmp(&files[b].path));
                    cached_ranges = order.iter().map(|&i| cached_ranges[i]).collect();
                    let mut taken: Vec<Option<CachedFile>> = files.into_iter().map(Some).collect();
                    files = order.iter().filter_map(|&i| taken[i].take()).collect();
                }
                cached = files;
            }
            Ok(Some(Err(problem))) => {
                let why = match problem {
                    CacheProblem::ForeignVersion => "is from another version",
                    CacheProblem::Corrupt => "is corrupt",
                };
                warnings.push(format!("cache {} {why}; rebuilding it", path.display()));
                cache_dirty = true;
            }
            Err(e) => {
                warnings.push(format!("cannot read cache ({e}); rebuilding it"));
                cache_dirty = true;
            }
        }
    }
    let cached_count = cached.len();

    let mut deleted = 0usize;
    let mut next_cached = 0usize;
    let mut jobs: Vec<Job> = Vec::with_capacity(found.len());
    // whether the shared flags must be computed from scratch (else only files that grew
    // can have become shared, see `mark_shared_grown`)
    let mut full_share_check = cache_dirty;
    // the files to parse, with their place in `found` (the others are reused in place)
    let mut work: Vec<(usize, Option<usize>, FoundFile)> = Vec::new();
    for (at, f) in found.into_iter().enumerate() {
        let mut old = None;
        while let Some(c) = cached.get(next_cached) {
            // the same bytes are the same path (and the common case): skip the slower
            // component-wise comparison
            let order = if c.path.as_os_str() == f.path.as_os_str() {
                std::cmp::Ordering::Equal
            } else {
                discover::path_cmp(&c.path, &f.path)
            };
            match order {
                std::cmp::Ordering::Less => {
                    // in the cache but no longer on disk
                    deleted += 1;
                    next_cached += 1;
                }
                std::cmp::Ordering::Equal => {
                    old = Some((next_cached, c));
                    next_cached += 1;
                    break;
                }
                std::cmp::Ordering::Greater => break,
            }
        }
        match old {
            Some((i, c)) if c.meta == f.meta && c.size == f.size && c.mtime_ns == f.mtime_ns => {
                jobs.push(Job::Reuse(i));
            }
            // only a file that grew is read from its parsed offset; one rewritten at the
            // same size (or smaller) is parsed whole
            Some((i, c)) if c.meta == f.meta && f.size > c.size => {
                // a file that shared requests before may stop sharing: all flags are
                // computed again then
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
    deleted += cached.len() - next_cached;
    if deleted > 0 {
        cache_dirty = true;
    }
    timer.lap("plan");
    let parsed: Vec<(usize, Done)> = work
        .into_par_iter()
        .map(|(at, old, found)| (at, parse_job(old.and_then(|i| cached.get(i)), found)))
        .collect();
    let mut stats = LoadStats {
        files: jobs.len(),
        ..LoadStats::default()
    };
    let n = jobs.len();
    let mut kinds: Vec<u8> = vec![0; n];
    // When the list of files is the cached one (nothing new or deleted: the common case),
    // the decoded records become the result in place and only parsed ones are replaced.
    let same_list = n == cached.len()
        && jobs
            .iter()
            .enumerate()
            .all(|(k, j)| matches!(j, Job::Reuse(i) | Job::Append(i) if *i == k));
    let (mut files, mut raws): (Vec<CachedFile>, Vec<Option<(usize, usize)>>) = if same_list {
        let mut raws: Vec<_> = cached_ranges.iter().copied().map(Some).collect();
        let mut files = cached;
        for (at, d) in parsed {
            kinds[at] = d.kind;
            // (a parsed record is encoded anew)
            raws[at] = None;
            account(&mut stats, &mut warnings, &d);
            files[at] = d.file;
        }
        (files, raws)
    } else {
        let mut cached: Vec<Option<CachedFile>> = cached.into_iter().map(Some).collect();
        let mut parsed = parsed.into_iter().peekable();
        let mut files = Vec::with_capacity(n);
        let mut raws = Vec::with_capacity(n);
        for (at, job) in jobs.iter().enumerate() {
            if parsed.peek().is_some_and(|(p, _)| *p == at) {
                if let Some((_, d)) = parsed.next() {
                    kinds[at] = d.kind;
                    account(&mut stats, &mut warnings, &d);
                    files.push(d.file);
                    raws.push(None);
                }
            } else if let Job::Reuse(i) = job {
                if let Some(file) = cached.get_mut(*i).and_then(Option::take) {
                    files.push(file);
                    raws.push(cached_ranges.get(*i).copied());
                }
            }
        }
        (files, raws)
    };
    // reused files: counted here (their last line may still be incomplete)
    for (f, &k) in files.iter().zip(&kinds) {
        if k == 0 {
            stats.reused += 1;
            if f.size > f.record.parsed_offset {
                stats.incomplete_tails += 1;
            }
        }
    }
    if stats.reused != n {
        cache_dirty = true;
    }
    timer.lap("parse");
    if files.len() != cached_count {
        cache_dirty = true;
    }
    let kinds_ok = stats.parsed == 0 && stats.unreadable == 0;
    if cache_file.is_none() || (cache_dirty && (full_share_check || deleted > 0 || !kinds_ok)) {
        mark_shared(&mut files);
    } else if stats.appended > 0 {
        let grown: Vec<bool> = kinds.iter().map(|&k| k == 1).collect();
        mark_shared_grown(&mut files, &grown);
    }
    // Files that share requests are de-duplicated request by request: their entries must be
    // readable from the cache, else they are parsed again.
    let unreadable_entries: Vec<usize> = files
        .iter()
        .enumerate()
        .filter(|(_, f)| f.shared && !f.record.entries_available())
        .map(|(i, _)| i)
        .collect();
    if !unreadable_entries.is_empty() {
        warnings.push(format!(
            "{} cached files had unreadable entries; parsed them again",
            unreadable_entries.len()
        ));
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
    timer.lap("shared requests");
    if let (Some(store), true) = (&store, cache_dirty) {
        let refs: Vec<&CachedFile> = files.iter().collect();
        let base = base.as_ref().map(|b| (raw_bytes.as_slice(), b));
        if let Err(e) = store.write(&refs, &raws, base) {
            warnings.push(format!("cannot write cache: {e}"));
        }
        timer.lap("write cache");
    }
    Ok(Corpus {
        files,
        stats,
        warnings,
    })
}

/// [`mark_shared`] when the flags of the cache are right for every file except those that
/// grew (`grown[i]`), none of which shared a request before: a file can only have become
/// shared through a key of a grown file.
fn mark_shared_grown(files: &mut [CachedFile], grown: &[bool]) {
    let mut owner: std::collections::HashMap<
        u64,
        u32,
        std::hash::BuildHasherDefault<crate::usage::KeyHasher>,
    > = std::collections::HashMap::default();
    let mut shared = vec![false; files.len()];
    for (fi, f) in files.iter().enumerate().filter(|(i, _)| grown[*i]) {
        for k in f.record.keys.iter() {
            let first = *owner.entry(k).or_insert(fi as u32) as usize;
            if first != fi {
                shared[first] = true;
                shared[fi] = true;
            }
        }
    }
    if !owner.is_empty() {
        for (fi, f) in files.iter().enumerate().filter(|(i, _)| !grown[*i]) {
            for k in f.record.keys.iter() {
                if let Some(&g) = owner.get(&k) {
                    shared[g as usize] = true;
                    shared[fi] = true;
                }
            }
        }
    }
    for ((f, s), g) in files.iter_mut().zip(shared).zip(grown) {
        if *g {
            f.shared = s;
        } else {
            f.shared |= s;
        }
    }
}

/// Marks the files that share a request (de-duplication key) with another file.
fn mark_shared(files: &mut [CachedFile]) {
    let n: usize = files.iter().map(|f| f.record.keys.len()).sum();
    let mut owner: std::collections::HashMap<
        u64,
        u32,
        std::hash::BuildHasherDefault<crate::usage::KeyHasher>,
    > = std::collections::HashMap::with_capacity_and_hasher(n, Default::default());
    let mut shared = vec![false; files.len()];
    for (fi, f) in files.iter().enumerate() {
        for k in f.record.keys.iter() {
            match owner.entry(k) {
                std::collections::hash_map::Entry::Occupied(o) => {
                    let first = *o.get() as usize;
                    if first != fi {
                        shared[first] = true;
                        shared[fi] = true;
                    }
                }
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(fi as u32);
                }
            }
        }
    }
    for (f, s) in files.iter_mut().zip(shared) {
        f.shared = s;
    }
}

/// Parses a file: the appended bytes on top of its cached record `old`, or whole.
fn parse_job(old: Option<&CachedFile>, found: FoundFile) -> Done {
    match old {
        Some(old) => match parse_appended(old, &found) {
            Ok(Some(d)) => d,
            Ok(None) => parse_full(found),
            Err(e) => unreadable(found, e),
        },
        None => parse_full(found),
    }
}

/// Adds a parsed file's counts.
fn account(stats: &mut LoadStats, warnings: &mut Vec<String>, d: &Done) {
    match d.kind {
        1 => stats.appended += 1,
        _ => stats.parsed += 1,
    }
    stats.bytes_read += d.bytes;
    if d.pending_tail {
        stats.incomplete_tails += 1;
    }
    if let Some(e) = &d.error {
        stats.unreadable += 1;
        warnings.push(e.clone());
    }
}

fn unreadable(found: FoundFile, e: Error) -> Done {
    Done {
        file: CachedFile {
            path: found.path,
            size: 0,
            mtime_ns: 0,
            shared: false,
            meta: found.meta,
            record: FileRecord::default(),
        },
        kind: 2,
        bytes: 0,
        pending_tail: false,
        error: Some(format!("skipped unreadable file: {e}")),
    }
}

thread_local! {
    /// One read buffer per worker thread, reused from file to file: a fresh allocation per
    /// file would be zero-filled and page-faulted anew each time.
    static READ_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn read_into(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.clear();
    let mut f = File::open(path)?;
    if let Ok(md) = f.metadata() {
        buf.reserve(usize::try_from(md.len()).unwrap_or(0).saturating_add(1));
    }
    f.read_to_end(buf)?;
    Ok(())
}

fn parse_full(found: FoundFile) -> Done {
    READ_BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => parse_full_with(found, &mut buf),
        Err(_) => parse_full_with(found, &mut Vec::new()),
    })
}

fn parse_full_with(found: FoundFile, bytes: &mut Vec<u8>) -> Done {
    if let Err(e) = read_into(&found.path, bytes) {
        let err = Error::io(&found.path, e);
        return unreadable(found, err);
    }
    let bytes: &[u8] = bytes;
    let mut record = FileRecord::default();
    let mut parser = LineParser::new(&mut record);
    let outcome = parser.feed(bytes);
    parser.finish(bytes, 0);
    Done {
        file: CachedFile {
            path: found.path,
            size: bytes.len() as u64,
            mtime_ns: found.mtime_ns,
            shared: false,
            meta: found.meta,
            record,
        },
        kind: 2,
        bytes: bytes.len() as u64,
        pending_tail: outcome.pending_tail,
        error: None,
    }
}

/// Parses only what was appended; `Ok(None)` when the old prefix no longer matches.
fn parse_appended(old: &CachedFile, found: &FoundFile) -> Result<Option<Done>> {
    let offset = old.record.parsed_offset;
    let base = offset.saturating_sub(TAIL_HASH_LEN);
    let mut f = File::open(&found.path).map_err(|e| Error::io(&found.path, e))?;
    f.seek(SeekFrom::Start(base))
        .map_err(|e| Error::io(&found.path, e))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)
        .map_err(|e| Error::io(&found.path, e))?;
    let prefix = (offset - base) as usize;
    if buf.len() < prefix || fnv64(&buf[..prefix]) != old.record.tail_hash {
        return Ok(None);
    }
    let mut record = old.record.clone();
    if record.make_entries_mut().is_none() {
        return Ok(None);
    }
    let mut parser = LineParser::new(&mut record);
    let outcome = parser.feed(&buf[prefix..]);
    parser.finish(&buf, base);
    Ok(Some(Done {
        file: CachedFile {
            path: found.path.clone(),
            size: base + buf.len() as u64,
            mtime_ns: found.mtime_ns,
            shared: false,
            meta: found.meta.clone(),
            record,
        },
        kind: 1,
        bytes: (buf.len() - prefix) as u64,
        pending_tail: outcome.pending_tail,
        error: None,
    }))
}

/// Parses one file's bytes (for tests and tools): the record and whether a tail is pending.
pub fn parse_file(path: &Path) -> Result<(FileRecord, bool)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (rec, outcome) = crate::parse::parse_all(&bytes);
    Ok((rec, outcome.pending_tail))
}
