//! The incremental cache: per transcript file, its size, modification time, parsed offset
//! and everything parsed from it, in a compact versioned binary file.
//!
//! Two files. The main file (`agents-<roots hash>.bin`): magic `SPATEAGC`, format version
//! (u32 LE), the number of files, then per file its byte length and record (LEB128 varints;
//! strings as varint length + UTF-8 bytes), then a checksum of all preceding bytes (u64 LE,
//! a word-wise FNV-style hash). A file with another magic, version or checksum is not used.
//! It holds everything a report needs: per-file partial sums ([`crate::model::Bucket`]),
//! de-duplication keys, delegations.
//!
//! The entries file (`.entries` beside it) holds the individual requests, needed only when a
//! file grows or shares requests with another file. It is append-only: a changed file's
//! entries are appended as a new section, whose offset, length and checksum the main file
//! records; when more than half of it is dead, it is rewritten whole. A section whose
//! checksum does not match is treated as missing (the file is then parsed again).
//!
//! The delta file (`.delta` beside it) holds what changed since the main file was written:
//! magic `SPATEAGD`, version, the main file's checksum, the paths of the main file's files
//! that are gone, the records of the files that changed or are new (as in the main file),
//! and a checksum. A re-run after a few files changed writes only this small file, replacing
//! the previous delta; when the delta would exceed an eighth of the main file (at least
//! 64 KiB), the main file is rewritten whole and the delta removed. A delta naming another
//! main file's checksum (left behind by a crash between the two) is ignored; a damaged one
//! makes the cache corrupt.
//!
//! The main and delta files are written to a temporary file in the same folder and renamed
//! over the old one (after the entries file was extended), so a reader never sees a
//! half-written cache.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::model::{
    AgentLink, Bucket, Buckets, Delegation, Encoded, Entries, FileMeta, FileRecord, Keys,
    SkipCounts, Tokens, UsageEntry, NONE, SLOT_MS,
};
use crate::parse::fnv64;
use rayon::prelude::*;

const MAGIC: &[u8; 8] = b"SPATEAGC";
const ENTRIES_MAGIC: &[u8; 8] = b"SPATEAGE";
const DELTA_MAGIC: &[u8; 8] = b"SPATEAGD";
/// Bump when the layout or the meaning of any field changes.
pub const FORMAT_VERSION: u32 = 12;

/// What the cache remembers about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedFile {
    /// Full path.
    pub path: PathBuf,
    /// Size when parsed.
    pub size: u64,
    /// Modification time (ns since the epoch) when parsed.
    pub mtime_ns: i128,
    /// Identity from the path.
    pub meta: FileMeta,
    /// Parsed content.
    pub record: FileRecord,
    /// Some request of this file also appears in another file (so the file's rows must be
    /// de-duplicated request by request rather than taken from its buckets).
    pub shared: bool,
}

/// Why a cache file was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheProblem {
    /// Another program's file or an older/newer spate.
    ForeignVersion,
    /// Truncated, checksum mismatch or inconsistent content.
    Corrupt,
}

/// The cache file for a set of roots, under `dir`.
pub fn cache_path(dir: &Path, roots: &[PathBuf]) -> PathBuf {
    let mut key = Vec::new();
    for r in roots {
        let abs = std::fs::canonicalize(r).unwrap_or_else(|_| r.clone());
        key.extend_from_slice(abs.to_string_lossy().as_bytes());
        key.push(0);
    }
    dir.join(format!("agents-{:016x}.bin", fnv64(&key)))
}

/// The delta file beside a main cache file: the records that changed since the main file
/// was written.
pub fn delta_path(main: &Path) -> PathBuf {
    main.with_extension("delta")
}

/// The entries file beside a main cache file.
pub fn entries_path(main: &Path) -> PathBuf {
    main.with_extension("entries")
}

/// The cache's entries file, opened only when some file's entries are needed; each section
/// is read on its own.
#[derive(Debug)]
pub struct EntryStore {
    path: PathBuf,
    file: std::sync::Mutex<Option<Option<std::fs::File>>>,
}

impl PartialEq for EntryStore {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}

impl Eq for EntryStore {}

impl EntryStore {
    /// The store at `path` (not opened yet).
    pub fn new(path: PathBuf) -> Self {
        EntryStore {
            path,
            file: std::sync::Mutex::new(None),
        }
    }

    fn open(path: &Path) -> Option<std::fs::File> {
        use std::io::Read;
        let mut f = std::fs::File::open(path).ok()?;
        let mut header = [0u8; 12];
        f.read_exact(&mut header).ok()?;
        (header[..8] == ENTRIES_MAGIC[..] && header[8..] == FORMAT_VERSION.to_le_bytes())
            .then_some(f)
    }

    /// The bytes of a section, if the file has them and they match the checksum.
    pub fn section(&self, start: u64, len: u64, sum: u64) -> Option<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut guard = self.file.lock().ok()?;
        let file = guard
            .get_or_insert_with(|| Self::open(&self.path))
            .as_mut()?;
        let file_len = file.metadata().ok()?.len();
        if start.checked_add(len)? > file_len {
            return None;
        }
        let mut bytes = vec![0u8; usize::try_from(len).ok()?];
        file.seek(SeekFrom::Start(start)).ok()?;
        file.read_exact(&mut bytes).ok()?;
        (checksum(&bytes) == sum).then_some(bytes)
    }
}

/// Where a file's entries are in the entries file: start, length, count, checksum.
type EntryRef = (u64, u64, u64, u64);

/// The default cache folder: `<user cache dir>/spate`.
pub fn default_cache_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("spate"))
}

struct Writer(Vec<u8>);

impl Writer {
    fn var(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(b);
                return;
            }
            self.0.push(b | 0x80);
        }
    }
    fn zig(&mut self, v: i64) {
        self.var(((v << 1) ^ (v >> 63)) as u64);
    }
    fn idx(&mut self, v: u32) {
        // NONE (u32::MAX) becomes 0, every index i becomes i + 1
        self.var(if v == NONE { 0 } else { u64::from(v) + 1 });
    }
    fn str(&mut self, s: &str) {
        self.var(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn tokens(&mut self, t: &Tokens) {
        for v in [
            t.input,
            t.output,
            t.cache_write_5m,
            t.cache_write_1h,
            t.cache_read,
        ] {
            self.var(v);
        }
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.0.push(0),
            Some(s) => {
                self.0.push(1);
                self.str(s);
            }
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    fn var(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    fn zig(&mut self) -> Option<i64> {
        let v = self.var()?;
        Some(((v >> 1) as i64) ^ -((v & 1) as i64))
    }
    fn idx(&mut self) -> Option<u32> {
        match self.var()? {
            0 => Some(NONE),
            v => u32::try_from(v - 1).ok().filter(|&i| i != NONE),
        }
    }
    fn len(&mut self) -> Option<usize> {
        let n = usize::try_from(self.var()?).ok()?;
        // every element takes at least one byte
        (n <= self.buf.len() - self.pos).then_some(n)
    }
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn str(&mut self) -> Option<String> {
        let n = self.len()?;
        std::str::from_utf8(self.bytes(n)?).ok().map(str::to_owned)
    }
    fn opt_str(&mut self) -> Option<Option<String>> {
        match self.byte()? {
            0 => Some(None),
            1 => self.str().map(Some),
            _ => None,
        }
    }
    fn tokens(&mut self) -> Option<Tokens> {
        Some(Tokens {
            input: self.var()?,
            output: self.var()?,
            cache_write_5m: self.var()?,
            cache_write_1h: self.var()?,
            cache_read: self.var()?,
        })
    }
    fn u128(&mut self) -> Option<u128> {
        Some(u128::from_le_bytes(self.bytes(16)?.try_into().ok()?))
    }
}

/// Fast checksum over 8-byte words (the cache is a few megabytes; a byte-wise hash would
/// cost milliseconds).
fn checksum(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ w).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(29);
    }
    for &b in chunks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^ (h >> 31)
}

fn encode_entries(w: &mut Writer, entries: &[UsageEntry]) {
    for e in entries {
        w.zig(e.ts_ms);
        w.idx(e.model);
        w.idx(e.session);
        w.idx(e.agent);
        w.tokens(&e.tokens);
        let flags = u8::from(e.cost_usd.is_some())
            | u8::from(e.dedup_key.is_some()) << 1
            | u8::from(e.sidechain) << 2;
        w.0.push(flags);
        if let Some(c) = e.cost_usd {
            w.var(c);
        }
        if let Some(k) = e.dedup_key {
            w.0.extend_from_slice(&k.to_le_bytes());
        }
        w.idx(e.prev_delegation);
    }
}

/// A time within 15-minute slot `slot`, from its offset in the slot.
fn slot_time(slot: i64, offset: u64) -> Option<i64> {
    let offset = i64::try_from(offset).ok().filter(|o| *o < SLOT_MS)?;
    slot.checked_mul(SLOT_MS)?.checked_add(offset)
}

/// Decodes `count` entries of the cache format, checking every index against the file's
/// `n_strings` strings and `n_delegations` delegations.
pub(crate) fn decode_entries(
    buf: &[u8],
    count: usize,
    n_strings: usize,
    n_delegations: usize,
) -> Option<Vec<UsageEntry>> {
    let mut r = Reader { buf, pos: 0 };
    let ok_str = |i: u32| i == NONE || (i as usize) < n_strings;
    let mut entries = Vec::with_capacity(count.min(buf.len()));
    for _ in 0..count {
        let ts_ms = r.zig()?;
        let (model, session, agent) = (r.idx()?, r.idx()?, r.idx()?);
        let tokens = r.tokens()?;
        let flags = r.byte()?;
        if flags & !0b111 != 0 {
            return None;
        }
        let cost_usd = if flags & 1 != 0 { Some(r.var()?) } else { None };
        let dedup_key = if flags & 2 != 0 {
            Some(r.u128()?)
        } else {
            None
        };
        let prev_delegation = r.idx()?;
        if !(ok_str(model) && ok_str(session) && ok_str(agent))
            || (prev_delegation != NONE && prev_delegation as usize >= n_delegations)
        {
            return None;
        }
        entries.push(UsageEntry {
            ts_ms,
            model,
            session,
            agent,
            tokens,
            cost_usd,
            dedup_key,
            sidechain: flags & 4 != 0,
            prev_delegation,
        });
    }
    (r.pos == buf.len()).then_some(entries)
}

/// One file's record; files are length-prefixed so that they decode in parallel, and the
/// entries (needed only when a file grows or shares a request with another file) come last
/// with their own length, so that they can be left undecoded.
fn encode_file(f: &CachedFile, entry_ref: EntryRef) -> Vec<u8> {
    let r = &f.record;
    let mut w = Writer(Vec::with_capacity(
        256 + r.buckets.len() * 40 + r.keys.len() * 8,
    ));
    // first, so that a reused record can be checked without decoding it
    w.0.push(u8::from(f.shared));
    w.str(&f.path.to_string_lossy());
    w.var(f.size);
    w.0.extend_from_slice(&f.mtime_ns.to_le_bytes());
    w.str(&f.meta.project);
    w.str(&f.meta.session);
    w.opt_str(f.meta.agent_id.as_deref());
    w.opt_str(f.meta.meta_agent_type.as_deref());
    w.opt_str(f.meta.meta_tool_use_id.as_deref());
    w.var(r.parsed_offset);
    w.0.extend_from_slice(&r.tail_hash.to_le_bytes());
    w.var(r.lines);
    w.var(r.skips.malformed);
    w.var(r.skips.no_timestamp);
    w.var(r.skips.synthetic);
    w.var(r.duplicates);
    w.var(r.strings.len() as u64);
    for s in r.strings.iter() {
        w.str(s);
    }
    w.var(r.delegations.len() as u64);
    for d in &r.delegations {
        w.idx(d.tool_use_id);
        w.idx(d.agent_type);
        w.idx(d.session);
        w.zig(d.ts_ms);
        w.var(u64::from(d.prompt_len));
    }
    w.var(r.links.len() as u64);
    for l in &r.links {
        w.idx(l.agent);
        w.idx(l.tool_use_id);
    }
    w.var(r.models.len() as u64);
    for &m in &r.models {
        w.idx(m);
    }
    // buckets with their byte length, so that a reader can leave them encoded
    match &r.buckets {
        Buckets::Decoded(buckets) => {
            let mut inner = Writer(Vec::with_capacity(buckets.len() * 32));
            encode_buckets(&mut inner, buckets);
            w.var(buckets.len() as u64);
            w.var(inner.0.len() as u64);
            w.0.extend_from_slice(&inner.0);
        }
        Buckets::Encoded(e) => {
            w.var(e.count as u64);
            w.var(e.as_slice().len() as u64);
            w.0.extend_from_slice(e.as_slice());
        }
    }
    w.var(r.keys.len() as u64);
    match &r.keys {
        Keys::Decoded(keys) => {
            for k in keys {
                w.0.extend_from_slice(&k.to_le_bytes());
            }
        }
        Keys::Encoded(e) => w.0.extend_from_slice(e.as_slice()),
    }
    let (start, len, count, sum) = entry_ref;
    w.var(start);
    w.var(len);
    w.var(count);
    w.0.extend_from_slice(&sum.to_le_bytes());
    w.0
}

/// Encodes the main cache file; `refs[i]` says where file `i`'s entries are, `raw[i]` is
/// its record as last written, when it can be copied as is.
fn encode(files: &[&CachedFile], refs: &[EntryRef], raw: &[Option<&[u8]>]) -> Vec<u8> {
    let blobs: Vec<std::borrow::Cow<'_, [u8]>> = files
        .par_iter()
        .zip(refs.par_iter())
        .zip(raw.par_iter())
        .map(|((f, r), raw)| match raw {
            Some(bytes) => std::borrow::Cow::Borrowed(*bytes),
            None => std::borrow::Cow::Owned(encode_file(f, *r)),
        })
        .collect();
    let mut w = Writer(Vec::with_capacity(
        blobs.iter().map(|b| b.len() + 4).sum::<usize>() + 32,
    ));
    w.0.extend_from_slice(MAGIC);
    w.0.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    w.var(files.len() as u64);
    for blob in &blobs {
        w.var(blob.len() as u64);
        w.0.extend_from_slice(blob);
    }
    drop(blobs);
    let sum = checksum(&w.0);
    w.0.extend_from_slice(&sum.to_le_bytes());
    w.0
}

/// Where each file's record is in the main cache file's bytes.
type RecordRanges = Vec<(usize, usize)>;

/// A decoded main cache file.
#[derive(Debug)]
pub struct Decoded {
    /// The files, sorted by path as written.
    pub files: Vec<CachedFile>,
    /// Where each file's record is in `bytes` (reused verbatim when the file is unchanged).
    pub ranges: Vec<(usize, usize)>,
    /// The main file's bytes, followed by the delta file's when one applied.
    pub bytes: Arc<Vec<u8>>,
    /// What the main file alone holds (a delta is written against it).
    pub base: Base,
}

/// The main cache file as read, against which a delta file is written.
#[derive(Debug, Clone, Default)]
pub struct Base {
    /// Length of the main file (ranges below it are records of the main file).
    pub main_len: usize,
    /// The main file's checksum (its last 8 bytes).
    pub main_sum: u64,
    /// Where the main file's records are (in the order written, sorted by path).
    pub records: Vec<(usize, usize)>,
}

/// The path of the record at `range` of `bytes` (records start with it, after a flag byte).
fn record_path(bytes: &[u8], (start, end): (usize, usize)) -> Option<&Path> {
    let mut r = Reader {
        buf: bytes.get(..end)?,
        pos: start + 1,
    };
    let n = r.len()?;
    std::str::from_utf8(r.bytes(n)?).ok().map(Path::new)
}

/// Decodes `count` buckets encoded by [`encode_buckets`], checking every index against the
/// file's `n_strings` strings and `n_delegations` delegations, and calls `f` with each;
/// false when they do not decode (from the failing one on).
pub(crate) fn decode_buckets(
    buf: &[u8],
    count: usize,
    n_strings: usize,
    n_delegations: usize,
    mut f: impl FnMut(&Bucket),
) -> bool {
    let ok_str = |i: u32| i == NONE || (i as usize) < n_strings;
    let mut r = Reader { buf, pos: 0 };
    let mut one = |r: &mut Reader<'_>| -> Option<()> {
        let slot = r.zig()?;
        let (model, session, agent, prev_delegation) = (r.idx()?, r.idx()?, r.idx()?, r.idx()?);
        let flags = r.byte()?;
        if flags & !0b111 != 0
            || !(ok_str(model) && ok_str(session) && ok_str(agent))
            || (prev_delegation != NONE && prev_delegation as usize >= n_delegations)
        {
            return None;
        }
        let tokens = r.tokens()?;
        f(&Bucket {
            slot,
            model,
            session,
            agent,
            prev_delegation,
            sidechain: flags & 1 != 0,
            long_prompt: flags & 2 != 0,
            has_cost_usd: flags & 4 != 0,
            tokens,
            cost_usd: u128::from(r.var()?) | u128::from(r.var()?) << 64,
            requests: r.var()?,
            first_ms: slot_time(slot, r.var()?)?,
            last_ms: slot_time(slot, r.var()?)?,
        });
        Some(())
    };
    for _ in 0..count {
        if one(&mut r).is_none() {
            return false;
        }
    }
    r.pos == buf.len()
}

/// Encodes buckets (read back by [`decode_buckets`]).
fn encode_buckets(w: &mut Writer, buckets: &[Bucket]) {
    for b in buckets {
        w.zig(b.slot);
        w.idx(b.model);
        w.idx(b.session);
        w.idx(b.agent);
        w.idx(b.prev_delegation);
        w.0.push(
            u8::from(b.sidechain) | u8::from(b.long_prompt) << 1 | u8::from(b.has_cost_usd) << 2,
        );
        w.tokens(&b.tokens);
        w.var(b.cost_usd as u64);
        w.var((b.cost_usd >> 64) as u64);
        w.var(b.requests);
        // times within the slot, as offsets from its start
        let slot_start = b.slot.saturating_mul(SLOT_MS);
        w.var(b.first_ms.saturating_sub(slot_start) as u64);
        w.var(b.last_ms.saturating_sub(slot_start) as u64);
    }
}

/// Decodes a main cache file's bytes; entries stay in `store` (see [`Entries::Lazy`]).
pub fn decode(
    buf: &[u8],
    store: &Arc<EntryStore>,
) -> std::result::Result<Vec<CachedFile>, CacheProblem> {
    let whole = Arc::new(buf.to_vec());
    decode_with_ranges(&whole, buf.len(), store).map(|(files, _)| files)
}

/// Decodes the main file in `whole[..main_len]`.
fn decode_with_ranges(
    whole: &Arc<Vec<u8>>,
    main_len: usize,
    store: &Arc<EntryStore>,
) -> std::result::Result<(Vec<CachedFile>, RecordRanges), CacheProblem> {
    let buf = whole.get(..main_len).ok_or(CacheProblem::Corrupt)?;
    if buf.len() < 12 || &buf[..8] != MAGIC {
        return Err(CacheProblem::ForeignVersion);
    }
    if buf[8..12] != FORMAT_VERSION.to_le_bytes() {
        return Err(CacheProblem::ForeignVersion);
    }
    if buf.len() < 20 {
        return Err(CacheProblem::Corrupt);
    }
    let body_len = buf.len() - 8;
    if checksum(&buf[..body_len]).to_le_bytes() != buf[body_len..] {
        return Err(CacheProblem::Corrupt);
    }
    let mut r = Reader {
        buf: &buf[..body_len],
        pos: 12,
    };
    let n = r.len().ok_or(CacheProblem::Corrupt)?;
    let mut blobs = Vec::with_capacity(n);
    for _ in 0..n {
        let len = r.len().ok_or(CacheProblem::Corrupt)?;
        let start = r.pos;
        r.bytes(len).ok_or(CacheProblem::Corrupt)?;
        blobs.push((start, start + len));
    }
    if r.pos != body_len {
        return Err(CacheProblem::Corrupt);
    }
    // Sequential on purpose: entries stay undecoded, so the rest is small, and allocating
    // on worker threads costs more (their heaps grow page by page) than it saves.
    let mut files = Vec::with_capacity(blobs.len());
    for &(start, end) in &blobs {
        files.push(decode_file(whole, start, end, store).ok_or(CacheProblem::Corrupt)?);
    }
    Ok((files, blobs))
}

fn decode_file(
    whole: &Arc<Vec<u8>>,
    start: usize,
    end: usize,
    store: &Arc<EntryStore>,
) -> Option<CachedFile> {
    let mut r = Reader {
        buf: whole.get(..end)?,
        pos: start,
    };
    let shared = match r.byte()? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let path = PathBuf::from(r.str()?);
    let size = r.var()?;
    let mtime_ns = i128::from_le_bytes(r.bytes(16)?.try_into().ok()?);
    let meta = FileMeta {
        project: r.str()?,
        session: r.str()?,
        agent_id: r.opt_str()?,
        meta_agent_type: r.opt_str()?,
        meta_tool_use_id: r.opt_str()?,
    };
    let parsed_offset = r.var()?;
    let tail_hash = u64::from_le_bytes(r.bytes(8)?.try_into().ok()?);
    let lines = r.var()?;
    let skips = SkipCounts {
        malformed: r.var()?,
        no_timestamp: r.var()?,
        synthetic: r.var()?,
        incomplete_tail: 0,
    };
    let duplicates = r.var()?;
    let ns = r.len()?;
    // their total length first, for an allocation of the right size
    let strings_at = r.pos;
    let mut text_len = 0;
    for _ in 0..ns {
        let n = r.len()?;
        r.bytes(n)?;
        text_len += n;
    }
    r.pos = strings_at;
    let mut strings = crate::strings::StringTable::with_capacity(ns, text_len);
    for _ in 0..ns {
        let n = r.len()?;
        strings.push(std::str::from_utf8(r.bytes(n)?).ok()?);
    }
    let ok_str = |i: u32| i == NONE || (i as usize) < strings.len();
    let nd = r.len()?;
    let mut delegations = Vec::with_capacity(nd);
    for _ in 0..nd {
        let d = Delegation {
            tool_use_id: r.idx()?,
            agent_type: r.idx()?,
            session: r.idx()?,
            ts_ms: r.zig()?,
            prompt_len: u32::try_from(r.var()?).ok()?,
        };
        if !(ok_str(d.tool_use_id) && ok_str(d.agent_type) && ok_str(d.session)) {
            return None;
        }
        delegations.push(d);
    }
    let nl = r.len()?;
    let mut links = Vec::with_capacity(nl);
    for _ in 0..nl {
        let l = AgentLink {
            agent: r.idx()?,
            tool_use_id: r.idx()?,
        };
        if l.agent == NONE || l.tool_use_id == NONE || !ok_str(l.agent) || !ok_str(l.tool_use_id) {
            return None;
        }
        links.push(l);
    }
    let nm = r.len()?;
    let mut models = Vec::with_capacity(nm);
    for _ in 0..nm {
        let m = r.idx()?;
        if !ok_str(m) {
            return None;
        }
        models.push(m);
    }
    // buckets and keys stay encoded (see [`Encoded`]): checked by the file's checksum,
    // decoded where used
    let nb = r.len()?;
    let buckets_len = r.len()?;
    let buckets_at = r.pos;
    r.bytes(buckets_len)?;
    let buckets = Buckets::Encoded(Encoded {
        bytes: Arc::clone(whole),
        start: buckets_at,
        end: buckets_at + buckets_len,
        count: nb,
    });
    let nk = r.len()?;
    let keys_at = r.pos;
    r.bytes(nk.checked_mul(8)?)?;
    let keys = Keys::Encoded(Encoded {
        bytes: Arc::clone(whole),
        start: keys_at,
        end: keys_at + nk * 8,
        count: nk,
    });
    let estart = r.var()?;
    let elen = r.var()?;
    let ecount = usize::try_from(r.var()?).ok()?;
    let esum = u64::from_le_bytes(r.bytes(8)?.try_into().ok()?);
    if r.pos != end || parsed_offset > size {
        return None;
    }
    Some(CachedFile {
        path,
        size,
        mtime_ns,
        shared,
        meta,
        record: FileRecord {
            parsed_offset,
            tail_hash,
            lines,
            strings,
            entries: Entries::Lazy {
                store: Arc::clone(store),
                start: estart,
                len: elen,
                count: ecount,
                sum: esum,
            },
            buckets,
            keys,
            models,
            duplicates,
            delegations,
            links,
            skips,
        },
    })
}

/// Reads a main cache file and the delta file beside it: `Ok(None)` when there is none yet.
/// A delta written against another main file is ignored; a damaged one makes the whole
/// cache corrupt.
pub fn read(path: &Path) -> Result<Option<std::result::Result<Decoded, CacheProblem>>> {
    use std::io::Read;
    // one buffer for both files, so that records of either can point into it, allocated
    // once (growing it would copy the main file's bytes)
    let delta_file = std::fs::File::open(delta_path(path)).ok();
    let delta_len = delta_file
        .as_ref()
        .and_then(|f| f.metadata().ok())
        .map_or(0, |m| usize::try_from(m.len()).unwrap_or(0));
    let mut bytes = match read_reserving(path, delta_len.saturating_add(1)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let main_len = bytes.len();
    let main_sum = main_len
        .checked_sub(8)
        .and_then(|at| bytes[at..].try_into().ok())
        .map_or(0, u64::from_le_bytes);
    let has_delta = match delta_file {
        Some(mut f) => {
            if let Err(e) = f.read_to_end(&mut bytes) {
                return Err(Error::io(delta_path(path), e));
            }
            true
        }
        None => false,
    };
    let mut apply = false;
    if has_delta {
        let delta = &bytes[main_len..];
        if delta.len() < 20
            || delta[..8] != DELTA_MAGIC[..]
            || delta[8..12] != FORMAT_VERSION.to_le_bytes()
        {
            return Ok(Some(Err(CacheProblem::ForeignVersion)));
        }
        // one written against an older main file, replaced since, is left out
        apply = delta[12..20] == main_sum.to_le_bytes();
        if !apply {
            bytes.truncate(main_len);
        }
    }
    let bytes = Arc::new(bytes);
    let store = Arc::new(EntryStore::new(entries_path(path)));
    let (files, ranges) = match decode_with_ranges(&bytes, main_len, &store) {
        Ok(d) => d,
        Err(p) => return Ok(Some(Err(p))),
    };
    let base = Base {
        main_len,
        main_sum,
        records: ranges.clone(),
    };
    if !apply {
        return Ok(Some(Ok(Decoded {
            files,
            ranges,
            bytes,
            base,
        })));
    }
    Ok(Some(
        apply_delta(&bytes, main_len, files, ranges, &store)
            .ok_or(CacheProblem::Corrupt)
            .map(|(files, ranges)| Decoded {
                files,
                ranges,
                bytes,
                base,
            }),
    ))
}

/// A file's bytes, in a buffer with room for `extra` more.
fn read_reserving(path: &Path, extra: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0).saturating_add(extra));
    f.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Applies the delta file at `bytes[main_len..]` (its magic, version and base checked) to
/// the main file's records.
fn apply_delta(
    bytes: &Arc<Vec<u8>>,
    main_len: usize,
    files: Vec<CachedFile>,
    ranges: RecordRanges,
    store: &Arc<EntryStore>,
) -> Option<(Vec<CachedFile>, RecordRanges)> {
    let body_len = bytes.len().checked_sub(8)?;
    if body_len < main_len + 20
        || checksum(&bytes[main_len..body_len]).to_le_bytes() != bytes[body_len..]
    {
        return None;
    }
    let mut r = Reader {
        buf: &bytes[..body_len],
        pos: main_len + 20,
    };
    // paths as bytes: hashing and comparing `Path`s component by component costs more
    // than the rest of applying a delta
    let n_removed = r.len()?;
    let mut removed: std::collections::HashSet<Vec<u8>> =
        std::collections::HashSet::with_capacity(n_removed);
    for _ in 0..n_removed {
        removed.insert(r.str()?.into_bytes());
    }
    let n = r.len()?;
    let mut added: Vec<(CachedFile, (usize, usize))> = Vec::with_capacity(n);
    for _ in 0..n {
        let len = r.len()?;
        let start = r.pos;
        r.bytes(len)?;
        let f = decode_file(bytes, start, start + len, store)?;
        if added
            .last()
            .is_some_and(|(p, _)| path_order(&p.path, &f.path) != std::cmp::Ordering::Less)
        {
            return None;
        }
        removed.insert(f.path.as_os_str().as_encoded_bytes().to_vec());
        added.push((f, (start, start + len)));
    }
    if r.pos != body_len {
        return None;
    }
    let (mut files, mut ranges) = (files, ranges);
    // The common case: every record of the delta replaces one of the main file's and none
    // was removed. Replaced in place: moving every record to a new list costs more.
    if n_removed == 0 {
        let at: Option<Vec<usize>> = added
            .iter()
            .map(|(a, _)| {
                files
                    .binary_search_by(|f| path_order(&f.path, &a.path))
                    .ok()
            })
            .collect();
        if let Some(at) = at {
            for ((a, ar), i) in added.into_iter().zip(at) {
                files[i] = a;
                ranges[i] = ar;
            }
            return Some((files, ranges));
        }
    }
    // both sorted by path: merge
    let mut out_files = Vec::with_capacity(files.len() + added.len());
    let mut out_ranges = Vec::with_capacity(files.len() + added.len());
    let mut add = added.into_iter().peekable();
    for (f, range) in files.into_iter().zip(ranges) {
        if removed.contains(f.path.as_os_str().as_encoded_bytes()) {
            continue;
        }
        while let Some((a, _)) = add.peek() {
            if path_order(&a.path, &f.path) == std::cmp::Ordering::Less {
                let (a, ar) = add.next()?;
                out_files.push(a);
                out_ranges.push(ar);
            } else {
                break;
            }
        }
        out_files.push(f);
        out_ranges.push(range);
    }
    for (a, ar) in add {
        out_files.push(a);
        out_ranges.push(ar);
    }
    Some((out_files, out_ranges))
}

/// [`Path`] order, from the bytes when that is safe (see [`crate::discover::fast_path_cmp`]).
fn path_order(a: &Path, b: &Path) -> std::cmp::Ordering {
    crate::discover::path_cmp(a, b)
}

fn entries_header() -> Vec<u8> {
    let mut h = ENTRIES_MAGIC.to_vec();
    h.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    h
}

fn encode_section(entries: &[UsageEntry]) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(entries.len() * 24));
    encode_entries(&mut w, entries);
    w.0
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Writes the cache: new entries are appended to the entries file (rewritten whole when more
/// than half of it is dead), then the main file is written atomically. Files whose entries
/// can no longer be read are left out (they are parsed again next time).
pub fn write(path: &Path, files: &[&CachedFile]) -> Result<()> {
    write_reusing(path, files, &vec![None; files.len()], None)
}

/// [`write()`], copying the records given in `raw` (ranges of `base.0`, the bytes as last
/// read, aligned with `files`) instead of encoding them again, when their entries did not
/// move and their shared flag is the same. With a `base`, when few records differ from the
/// main file's, only those are written, to the delta file (atomically, replacing the
/// previous delta); else the main file is rewritten whole and the delta file removed.
pub fn write_reusing(
    path: &Path,
    files: &[&CachedFile],
    raw: &[Option<(usize, usize)>],
    old: Option<(&[u8], &Base)>,
) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let epath = entries_path(path);
    let header = entries_header();
    let existing = match std::fs::File::open(&epath) {
        Ok(mut f) => {
            use std::io::Read;
            let mut h = [0u8; 12];
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            (f.read_exact(&mut h).is_ok() && h[..] == header[..]).then_some(len)
        }
        Err(_) => None,
    };
    let base = existing.unwrap_or(header.len() as u64);
    let mut kept: Vec<&CachedFile> = Vec::with_capacity(files.len());
    let mut kept_raw: Vec<Option<(usize, &[u8])>> = Vec::with_capacity(files.len());
    let mut refs: Vec<EntryRef> = Vec::with_capacity(files.len());
    let mut appended: Vec<u8> = Vec::new();
    let mut live = 0u64;
    for (i, f) in files.iter().enumerate() {
        let mut reusable = false;
        match &f.record.entries {
            Entries::Lazy {
                store,
                start,
                len,
                count,
                sum,
            } if existing.is_some_and(|l| start + len <= l) && store.path == epath => {
                refs.push((*start, *len, *count as u64, *sum));
                live += len;
                reusable = true;
            }
            _ => {
                let Some(entries) = f.record.entries() else {
                    continue;
                };
                let section = encode_section(&entries);
                let start = base + appended.len() as u64;
                refs.push((
                    start,
                    section.len() as u64,
                    entries.len() as u64,
                    checksum(&section),
                ));
                live += section.len() as u64;
                appended.extend_from_slice(&section);
            }
        }
        kept.push(f);
        let raw = raw
            .get(i)
            .copied()
            .flatten()
            .and_then(|(a, b)| old.map(|(bytes, _)| (a, b, bytes)))
            .and_then(|(a, b, bytes)| bytes.get(a..b).map(|r| (a, r)));
        kept_raw.push(raw.filter(|(_, b)| reusable && b.first() == Some(&u8::from(f.shared))));
    }
    let total = base + appended.len() as u64;
    if existing.is_none() || total > 2 * live + (1 << 20) {
        // rewrite the entries file with live sections only
        let mut fresh = header;
        let mut new_refs = Vec::with_capacity(kept.len());
        let mut still: Vec<&CachedFile> = Vec::with_capacity(kept.len());
        for f in &kept {
            let Some(entries) = f.record.entries() else {
                continue;
            };
            let section = encode_section(&entries);
            new_refs.push((
                fresh.len() as u64,
                section.len() as u64,
                entries.len() as u64,
                checksum(&section),
            ));
            fresh.extend_from_slice(&section);
            still.push(f);
        }
        write_atomically(&epath, &fresh)?;
        kept_raw = vec![None; still.len()];
        kept = still;
        refs = new_refs;
    } else if !appended.is_empty() {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&epath)
            .map_err(|e| Error::io(&epath, e))?;
        f.write_all(&appended).map_err(|e| Error::io(&epath, e))?;
        if let Some((bytes, main)) = old {
            if let Some(delta) = encode_delta(&kept, &refs, &kept_raw, main, bytes) {
                return write_atomically(&delta_path(path), &delta);
            }
        }
    } else if let Some((bytes, main)) = old {
        if let Some(delta) = encode_delta(&kept, &refs, &kept_raw, main, bytes) {
            return write_atomically(&delta_path(path), &delta);
        }
    }
    let raws: Vec<Option<&[u8]>> = kept_raw.iter().map(|r| r.map(|(_, b)| b)).collect();
    write_atomically(path, &encode(&kept, &refs, &raws))?;
    // the delta was written against the old main file, whose checksum it names: a delta
    // left behind is ignored
    match std::fs::remove_file(delta_path(path)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(delta_path(path), e)),
    }
}

/// The delta file for `files` against the main file `base`, unless it would be large (then
/// the main file is rewritten instead).
fn encode_delta(
    files: &[&CachedFile],
    refs: &[EntryRef],
    raw: &[Option<(usize, &[u8])>],
    base: &Base,
    bytes: &[u8],
) -> Option<Vec<u8>> {
    // a small main file is cheap to rewrite, but a delta keeps the kernel work constant
    let limit = (base.main_len / 8).max(1 << 16);
    let mut w = Writer(Vec::new());
    w.0.extend_from_slice(DELTA_MAGIC);
    w.0.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    w.0.extend_from_slice(&base.main_sum.to_le_bytes());
    // the main file's paths no longer present (both lists sorted by path)
    let mut removed: Vec<&Path> = Vec::new();
    let mut fi = files.iter().map(|f| f.path.as_path()).peekable();
    for &range in &base.records {
        let p = record_path(bytes, range)?;
        // equal bytes first: the common case, and cheaper than comparing components
        if fi.next_if(|f| f.as_os_str() == p.as_os_str()).is_some() {
            continue;
        }
        while fi.next_if(|f| *f < p).is_some() {}
        if fi.next_if(|f| *f == p).is_none() {
            removed.push(p);
        }
    }
    w.var(removed.len() as u64);
    for p in removed {
        w.str(&p.to_string_lossy());
    }
    let changed: Vec<usize> = (0..files.len())
        .filter(|&i| !matches!(raw[i], Some((start, _)) if start < base.main_len))
        .collect();
    w.var(changed.len() as u64);
    for i in changed {
        match raw[i] {
            Some((_, bytes)) => {
                w.var(bytes.len() as u64);
                w.0.extend_from_slice(bytes);
            }
            None => {
                let blob = encode_file(files[i], refs[i]);
                w.var(blob.len() as u64);
                w.0.extend_from_slice(&blob);
            }
        }
        if w.0.len() > limit {
            return None;
        }
    }
    let sum = checksum(&w.0);
    w.0.extend_from_slice(&sum.to_le_bytes());
    Some(w.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_all;

    fn sample() -> CachedFile {
        let src = concat!(
            r#"{"type":"assistant","timestamp":"2025-05-06T03:05:47.123Z","sessionId":"s1","requestId":"r1","costUSD":0.25,"message":{"id":"m1","model":"claude-sonnet-4-5","usage":{"input_tokens":1,"output_tokens":2,"cache_creation_input_tokens":30,"cache_read_input_tokens":4,"cache_creation":{"ephemeral_5m_input_tokens":10,"ephemeral_1h_input_tokens":20}},"content":[{"type":"tool_use","id":"tu1","name":"Task","input":{"subagent_type":"dev","prompt":"go"}}]}}"#,
            "\n",
            r#"{"type":"assistant","isSidechain":true,"agentId":"a1","timestamp":"2025-05-06T03:06:00Z","sessionId":"s1","message":{"model":"x","usage":{"input_tokens":5}}}"#,
            "\n",
        );
        let (record, _) = parse_all(src.as_bytes());
        CachedFile {
            path: PathBuf::from("/p/proj/s1.jsonl"),
            size: src.len() as u64,
            mtime_ns: -5,
            shared: false,
            meta: FileMeta {
                project: "proj".into(),
                session: "s1".into(),
                agent_id: None,
                meta_agent_type: Some("dev".into()),
                meta_tool_use_id: None,
            },
            record,
        }
    }

    fn dec(bytes: &[u8]) -> std::result::Result<Vec<CachedFile>, CacheProblem> {
        decode(
            bytes,
            &Arc::new(EntryStore::new(PathBuf::from("/nonexistent/x.entries"))),
        )
    }

    fn materialize(mut f: CachedFile) -> CachedFile {
        let entries = f.record.entries().unwrap().into_owned();
        f.record.entries = Entries::Decoded(entries);
        f
    }

    #[test]
    fn round_trip_and_append_only_entries() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("agents-x.bin");
        let f = sample();
        assert_eq!(f.record.entries.len(), 2);
        assert_eq!(f.record.buckets.len(), 2);
        assert_eq!(f.record.keys.len(), 1);
        assert_eq!(f.record.delegations.len(), 1);
        let mut g = sample();
        g.path = PathBuf::from("/p/proj/s2.jsonl");
        write(&main, &[&f, &g]).unwrap();
        let entries_len = std::fs::metadata(entries_path(&main)).unwrap().len();
        let decoded = read(&main).unwrap().unwrap().unwrap();
        let back = &decoded.files;
        assert!(matches!(back[0].record.entries, Entries::Lazy { .. }));
        // unchanged lazy entries are not written again; a changed file's are appended; the
        // unchanged record is copied as it was read
        let mut changed = back[1].clone();
        changed.record.entries = Entries::Decoded(f.record.entries().unwrap().into_owned());
        let raw = [Some(decoded.ranges[0]), None];
        write_reusing(
            &main,
            &[&back[0], &changed],
            &raw,
            Some((&decoded.bytes, &decoded.base)),
        )
        .unwrap();
        let grown = std::fs::metadata(entries_path(&main)).unwrap().len();
        assert!(
            grown > entries_len && grown < 2 * entries_len,
            "{entries_len} -> {grown}"
        );
        let again: Vec<CachedFile> = read(&main)
            .unwrap()
            .unwrap()
            .unwrap()
            .files
            .into_iter()
            .map(materialize)
            .collect();
        assert_eq!(again, vec![f, g]);
    }

    #[test]
    fn damaged_entries_drop_out_instead_of_lying() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("agents-x.bin");
        write(&main, &[&sample()]).unwrap();
        let epath = entries_path(&main);
        let mut bytes = std::fs::read(&epath).unwrap();
        let last = bytes.len() - 3;
        bytes[last] ^= 0x55;
        std::fs::write(&epath, &bytes).unwrap();
        let back = read(&main).unwrap().unwrap().unwrap().files;
        assert!(back[0].record.entries().is_none(), "checksum catches it");
        // a decoded copy that cannot be re-encoded is left out of a rewrite
        let mut forgotten = back[0].clone();
        forgotten.record.entries = Entries::Lazy {
            store: Arc::new(EntryStore::new(dir.path().join("elsewhere.entries"))),
            start: 12,
            len: 5,
            count: 1,
            sum: 0,
        };
        write(&main, &[&forgotten]).unwrap();
        assert!(read(&main).unwrap().unwrap().unwrap().files.is_empty());
    }

    #[test]
    fn rejects_damage() {
        let f = sample();
        let bytes = encode(&[&f], &[(12, 0, 0, 0)], &[None]);
        assert_eq!(dec(b"garbage!"), Err(CacheProblem::ForeignVersion));
        let mut other = bytes.clone();
        other[8] = 99;
        assert_eq!(dec(&other), Err(CacheProblem::ForeignVersion));
        for cut in [12, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(dec(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x40;
        assert_eq!(dec(&flipped), Err(CacheProblem::Corrupt));
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
            bytes.extend_from_slice(&tail);
            let sum = checksum(&bytes);
            bytes.extend_from_slice(&sum.to_le_bytes());
            if let Ok(files) = dec(&bytes) {
                for f in files {
                    let _ = f.record.entries();
                }
            }
        }
    }
}
