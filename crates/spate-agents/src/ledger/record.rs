//! From a corpus to ledger groups: which transcripts have entries the ledger does not hold
//! yet, and those entries with their strings resolved (a sub-agent's type is resolved now,
//! while the session that delegated to it is still on disk).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::format::{RawEntry, Watermark, E_AGENT, E_COST, E_KEYLESS, G_RESTART};
use super::store::{path_bytes, Store};
use crate::cache::CachedFile;
use crate::corpus::Corpus;
use crate::model::UsageEntry;
use crate::parse::{fnv64, TAIL_HASH_LEN};
use crate::strings::Interner;
use crate::usage::{UNATTRIBUTED, UNKNOWN_MODEL};

/// A map keyed by source or root ids (already well-mixed hashes: not hashed again).
pub(super) type IdMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<crate::usage::KeyHasher>>;

/// A transcript folder and its id in the ledger (a hash of its canonical path).
#[derive(Debug, Clone)]
pub(super) struct RootInfo {
    pub path: PathBuf,
    pub id: u64,
}

impl RootInfo {
    pub fn new(path: &Path) -> Self {
        let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        RootInfo {
            path: path.to_owned(),
            id: fnv64(&path_bytes(&canon)),
        }
    }
}

/// The root id and source id of a transcript: the source is a hash of the root id and the
/// path below the root, so that two spellings of one root give the same sources.
pub(super) fn source_of(roots: &[RootInfo], path: &Path) -> Option<(u64, u64)> {
    let p = path_bytes(path);
    roots.iter().find_map(|r| {
        let root = path_bytes(&r.path);
        let root = root.strip_suffix(b"/").unwrap_or(&root);
        let rel = p.strip_prefix(root)?.strip_prefix(b"/")?;
        Some((r.id, source_hash(r.id, rel)))
    })
}

/// The source id of the path `rel` below the root `root`: starting from the root id, each
/// 8-byte little-endian word of the path (the last one zero-padded, then its length) is
/// xored in and the state multiplied and rotated: word-wise, as it runs for every
/// transcript of every report.
fn source_hash(root: u64, rel: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = root ^ 0x6c65_6467_6572_2d31;
    let mut words = rel.chunks_exact(8);
    for w in &mut words {
        let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        h = (h ^ w).wrapping_mul(K).rotate_left(29);
    }
    let mut last = [0u8; 8];
    last[..words.remainder().len()].copy_from_slice(words.remainder());
    h = (h ^ u64::from_le_bytes(last))
        .wrapping_mul(K)
        .rotate_left(29);
    h = (h ^ rel.len() as u64).wrapping_mul(K);
    h ^ (h >> 32)
}

/// The key of an entry without a de-duplication key: its transcript and its place in it
/// (transcripts are append-only, so the place does not change).
fn keyless_key(source: u64, ordinal: u64) -> u128 {
    const TAG: u128 = 0x6b65_796c_6573_735f_6c65_6467_6572_0000;
    (u128::from(source) << 64 | u128::from(ordinal)) ^ TAG
}

/// Entries waiting to be written, as one group of one transcript.
#[derive(Debug)]
pub(super) struct PendingGroup {
    pub root: u64,
    pub source: u64,
    pub flags: u8,
    /// Interned in the writer's names.
    pub project: u32,
    pub first: u64,
    pub watermark: Watermark,
    /// Sub-agent links (`agentId`, agent type) new to the ledger, as ids in the writer's
    /// names.
    pub links: Vec<(u32, u32)>,
    /// String fields are ids in the writer's names.
    pub entries: Vec<RawEntry>,
}

/// Which Task/Agent delegation each sub-agent answered, from every transcript: the same
/// rule as the reports' (see `usage::analyze`).
struct Attribution<'a> {
    tool_use_type: HashMap<&'a str, &'a str>,
    agent_tool_use: HashMap<&'a str, &'a str>,
}

impl<'a> Attribution<'a> {
    fn of(corpus: &'a Corpus) -> Self {
        let mut tool_use_type = HashMap::new();
        let mut agent_tool_use = HashMap::new();
        for f in &corpus.files {
            let rec = &f.record;
            for d in &rec.delegations {
                if let (Some(tu), Some(ty)) = (rec.str(d.tool_use_id), rec.str(d.agent_type)) {
                    tool_use_type.entry(tu).or_insert(ty);
                }
            }
            for l in &rec.links {
                if let (Some(a), Some(tu)) = (rec.str(l.agent), rec.str(l.tool_use_id)) {
                    agent_tool_use.entry(a).or_insert(tu);
                }
            }
        }
        Attribution {
            tool_use_type,
            agent_tool_use,
        }
    }

    /// For a sub-agent's request: its agent type (or `(unattributed)`) and `agentId`.
    fn agent(&self, file: &'a CachedFile, e: &UsageEntry) -> Option<(&'a str, &'a str)> {
        let rec = &file.record;
        let meta = &file.meta;
        if meta.agent_id.is_none() && !e.sidechain {
            return None;
        }
        let agent = rec.str(e.agent).or(meta.agent_id.as_deref());
        let via_link = agent
            .and_then(|a| self.agent_tool_use.get(a).copied())
            .or(meta.meta_tool_use_id.as_deref())
            .and_then(|tu| self.tool_use_type.get(tu).copied());
        let positional = if e.sidechain && meta.agent_id.is_none() {
            rec.delegations
                .get(e.prev_delegation as usize)
                .and_then(|d| rec.str(d.agent_type))
        } else {
            None
        };
        let ty = meta
            .meta_agent_type
            .as_deref()
            .or(via_link)
            .or(positional)
            .unwrap_or(UNATTRIBUTED);
        Some((ty, agent.unwrap_or("")))
    }
}

/// Whether the bytes before `w.offset` in the transcript at `path` still hash as recorded
/// (the transcript only grew since).
fn prefix_unchanged(path: &Path, w: &Watermark, offset: u64, tail_hash: u64) -> bool {
    if offset == w.offset {
        return tail_hash == w.tail_hash;
    }
    use std::io::{Read, Seek, SeekFrom};
    let base = w.offset.saturating_sub(TAIL_HASH_LEN);
    let mut buf = vec![0u8; (w.offset - base) as usize];
    let read = std::fs::File::open(path).and_then(|mut f| {
        f.seek(SeekFrom::Start(base))?;
        f.read_exact(&mut buf)
    });
    read.is_ok() && fnv64(&buf) == w.tail_hash
}

/// What [`collect`] found.
#[derive(Debug, Default)]
pub(super) struct Collected {
    pub groups: Vec<PendingGroup>,
    pub entries: usize,
    pub links: usize,
    /// Transcripts whose entries could not be read back from the cache (recorded later).
    pub unreadable: usize,
}

/// The groups to append so that the ledger holds every entry of `corpus`. `queued` holds
/// the watermarks of groups queued but not written yet (they count as recorded).
pub(super) fn collect(
    corpus: &Corpus,
    roots: &[RootInfo],
    store: &Store,
    queued: &IdMap<Watermark>,
    names: &mut Interner,
) -> Collected {
    let mut out = Collected::default();
    let mut attribution: Option<Attribution<'_>> = None;
    for file in &corpus.files {
        let Some((root, source)) = source_of(roots, &file.path) else {
            continue;
        };
        let rec = &file.record;
        let now = Watermark {
            offset: rec.parsed_offset,
            tail_hash: rec.tail_hash,
            total: rec.entries.len() as u64,
        };
        let known = queued
            .get(&source)
            .copied()
            .or_else(|| store.sources.get(&source).and_then(|s| s.watermark));
        if known == Some(now) || (known.is_none() && now.total == 0) {
            continue;
        }
        let (start, restart) = match known {
            Some(w)
                if now.offset >= w.offset
                    && now.total >= w.total
                    && prefix_unchanged(&file.path, &w, now.offset, now.tail_hash) =>
            {
                (w.total, false)
            }
            _ => (0, true),
        };
        let mut group = PendingGroup {
            root,
            source,
            flags: if restart { G_RESTART } else { 0 },
            project: names.id(&file.meta.project),
            first: start,
            watermark: now,
            links: Vec::new(),
            entries: Vec::new(),
        };
        if !rec.links.is_empty() {
            // what this transcript says about which agent answered which delegation, for
            // sub-agent entries recorded before their link was written
            let attribution = attribution.get_or_insert_with(|| Attribution::of(corpus));
            for l in &rec.links {
                let agent = rec.str(l.agent);
                let ty = rec
                    .str(l.tool_use_id)
                    .and_then(|tu| attribution.tool_use_type.get(tu).copied());
                if let (Some(agent), Some(ty)) = (agent, ty) {
                    if store.links.get(agent).map(String::as_str) != Some(ty) {
                        group.links.push((names.id(agent), names.id(ty)));
                    }
                }
            }
        }
        if start < now.total {
            let Some(entries) = rec.entries() else {
                out.unreadable += 1;
                continue;
            };
            let attribution = attribution.get_or_insert_with(|| Attribution::of(corpus));
            group.entries.reserve(entries.len() - start as usize);
            for (ordinal, e) in entries.iter().enumerate().skip(start as usize) {
                let mut flags = 0;
                let key = match e.dedup_key {
                    Some(k) => k,
                    None => {
                        flags |= E_KEYLESS;
                        keyless_key(source, ordinal as u64)
                    }
                };
                if e.cost_usd.is_some() {
                    flags |= E_COST;
                }
                let (agent_type, agent_id) = match attribution.agent(file, e) {
                    Some((ty, id)) => {
                        flags |= E_AGENT;
                        (names.id(ty), names.id(id))
                    }
                    None => (0, 0),
                };
                group.entries.push(RawEntry {
                    key,
                    flags,
                    ts_ms: e.ts_ms,
                    model: names.id(rec.str(e.model).unwrap_or(UNKNOWN_MODEL)),
                    session: names.id(rec.str(e.session).unwrap_or(&file.meta.session)),
                    agent_type,
                    agent_id,
                    tokens: e.tokens,
                    cost_usd: e.cost_usd.unwrap_or(0),
                });
            }
        }
        out.entries += group.entries.len();
        out.links += group.links.len();
        out.groups.push(group);
    }
    out
}
