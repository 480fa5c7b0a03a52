//! The incremental cache: per transcript file, its size, modification time, parsed offset
//! and everything parsed from it, in a compact versioned binary file.
//!
//! Layout: magic `SPATEAGC`, format version (u32 LE), the number of files, then per file its
//! byte length and record (LEB128 varints and strings as varint length + UTF-8 bytes), then an FNV-1a 64 checksum of all
//! preceding bytes (u64 LE, a word-wise FNV-style hash). A file with another magic, version
//! or checksum is not used.
//! Writes go to a temporary file in the same folder that is then renamed over the old one,
//! so a reader never sees a half-written cache.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::model::{
    AgentLink, Bucket, Delegation, Entries, FileMeta, FileRecord, SkipCounts, Tokens, UsageEntry,
    NONE,
};
use crate::parse::fnv64;
use rayon::prelude::*;

const MAGIC: &[u8; 8] = b"SPATEAGC";
/// Bump when the layout or the meaning of any field changes.
pub const FORMAT_VERSION: u32 = 4;

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
        w.var(e.tokens.input);
        w.var(e.tokens.output);
        w.var(e.tokens.cache_write_5m);
        w.var(e.tokens.cache_write_1h);
        w.var(e.tokens.cache_read);
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
        let tokens = Tokens {
            input: r.var()?,
            output: r.var()?,
            cache_write_5m: r.var()?,
            cache_write_1h: r.var()?,
            cache_read: r.var()?,
        };
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
fn encode_file(f: &CachedFile) -> Vec<u8> {
    let r = &f.record;
    let mut w = Writer(Vec::with_capacity(
        256 + r.buckets.len() * 40 + r.keys.len() * 16,
    ));
    w.str(&f.path.to_string_lossy());
    w.var(f.size);
    w.0.extend_from_slice(&f.mtime_ns.to_le_bytes());
    w.0.push(u8::from(f.shared));
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
    for s in &r.strings {
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
    w.var(r.buckets.len() as u64);
    for b in &r.buckets {
        w.zig(b.slot);
        w.idx(b.model);
        w.idx(b.session);
        w.idx(b.agent);
        w.idx(b.prev_delegation);
        w.0.push(
            u8::from(b.sidechain) | u8::from(b.long_prompt) << 1 | u8::from(b.has_cost_usd) << 2,
        );
        w.var(b.tokens.input);
        w.var(b.tokens.output);
        w.var(b.tokens.cache_write_5m);
        w.var(b.tokens.cache_write_1h);
        w.var(b.tokens.cache_read);
        w.0.extend_from_slice(&b.cost_usd.to_le_bytes());
        w.var(b.requests);
        w.zig(b.first_ms);
        w.zig(b.last_ms);
    }
    w.var(r.keys.len() as u64);
    for k in &r.keys {
        w.0.extend_from_slice(&k.to_le_bytes());
    }
    w.var(r.entries.len() as u64);
    match &r.entries {
        Entries::Decoded(v) => {
            let mut ew = Writer(Vec::with_capacity(v.len() * 24));
            encode_entries(&mut ew, v);
            w.var(ew.0.len() as u64);
            w.0.extend_from_slice(&ew.0);
        }
        Entries::Lazy {
            buf, start, end, ..
        } => {
            let raw = buf.get(*start..*end).unwrap_or(&[]);
            w.var(raw.len() as u64);
            w.0.extend_from_slice(raw);
        }
    }
    w.0
}

/// Encodes cached files into the cache format.
pub fn encode(files: &[&CachedFile]) -> Vec<u8> {
    let blobs: Vec<Vec<u8>> = files.par_iter().map(|f| encode_file(f)).collect();
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
    let sum = checksum(&w.0);
    w.0.extend_from_slice(&sum.to_le_bytes());
    w.0
}

/// Decodes a cache file's bytes. Entries are left undecoded (see [`Entries::Lazy`]).
pub fn decode(buf: Arc<Vec<u8>>) -> std::result::Result<Vec<CachedFile>, CacheProblem> {
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
    blobs
        .into_iter()
        .map(|(start, end)| decode_file(&buf, start, end))
        .collect::<Option<Vec<_>>>()
        .ok_or(CacheProblem::Corrupt)
}

fn decode_file(whole: &Arc<Vec<u8>>, start: usize, end: usize) -> Option<CachedFile> {
    let mut r = Reader {
        buf: whole.get(..end)?,
        pos: start,
    };
    let path = PathBuf::from(r.str()?);
    let size = r.var()?;
    let mtime_ns = i128::from_le_bytes(r.bytes(16)?.try_into().ok()?);
    let shared = match r.byte()? {
        0 => false,
        1 => true,
        _ => return None,
    };
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
    let mut strings = Vec::with_capacity(ns);
    for _ in 0..ns {
        strings.push(r.str()?);
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
    let nb = r.len()?;
    let mut buckets = Vec::with_capacity(nb);
    for _ in 0..nb {
        let slot = r.zig()?;
        let (model, session, agent, prev_delegation) = (r.idx()?, r.idx()?, r.idx()?, r.idx()?);
        let flags = r.byte()?;
        if flags & !0b111 != 0
            || !(ok_str(model) && ok_str(session) && ok_str(agent))
            || (prev_delegation != NONE && prev_delegation as usize >= nd)
        {
            return None;
        }
        let tokens = Tokens {
            input: r.var()?,
            output: r.var()?,
            cache_write_5m: r.var()?,
            cache_write_1h: r.var()?,
            cache_read: r.var()?,
        };
        buckets.push(Bucket {
            slot,
            model,
            session,
            agent,
            prev_delegation,
            sidechain: flags & 1 != 0,
            long_prompt: flags & 2 != 0,
            has_cost_usd: flags & 4 != 0,
            tokens,
            cost_usd: r.u128()?,
            requests: r.var()?,
            first_ms: r.zig()?,
            last_ms: r.zig()?,
        });
    }
    let nk = r.len()?;
    let raw_keys = r.bytes(nk.checked_mul(16)?)?;
    let keys = raw_keys
        .chunks_exact(16)
        .map(|c| u128::from_le_bytes(c.try_into().unwrap_or([0; 16])))
        .collect();
    let ne = usize::try_from(r.var()?).ok()?;
    let elen = r.len()?;
    let estart = r.pos;
    r.bytes(elen)?;
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
                buf: Arc::clone(whole),
                start: estart,
                end: estart + elen,
                count: ne,
            },
            buckets,
            keys,
            duplicates,
            delegations,
            links,
            skips,
        },
    })
}

/// Reads a cache file: `Ok(None)` when there is none yet.
pub fn read(path: &Path) -> Result<Option<std::result::Result<Vec<CachedFile>, CacheProblem>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(decode(Arc::new(bytes)))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Writes a cache file atomically: a temporary file in the same folder, renamed into place.
pub fn write(path: &Path, files: &[&CachedFile]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let bytes = encode(files);
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(&bytes)
        .map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
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
        decode(Arc::new(bytes.to_vec()))
    }

    fn materialize(mut f: CachedFile) -> CachedFile {
        let entries = f.record.entries().unwrap().into_owned();
        f.record.entries = Entries::Decoded(entries);
        f
    }

    #[test]
    fn round_trip() {
        let f = sample();
        assert_eq!(f.record.entries.len(), 2);
        assert_eq!(f.record.buckets.len(), 2);
        assert_eq!(f.record.keys.len(), 1);
        assert_eq!(f.record.delegations.len(), 1);
        let bytes = encode(&[&f, &f]);
        let back = dec(&bytes).unwrap();
        assert!(matches!(back[0].record.entries, Entries::Lazy { .. }));
        // lazy entries are written back verbatim
        let refs: Vec<&CachedFile> = back.iter().collect();
        assert_eq!(encode(&refs), bytes);
        let back: Vec<CachedFile> = back.into_iter().map(materialize).collect();
        assert_eq!(back, vec![f.clone(), f]);
    }

    #[test]
    fn rejects_damage() {
        let f = sample();
        let bytes = encode(&[&f]);
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
