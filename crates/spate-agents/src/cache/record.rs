//! One transcript's record in the main and delta files: identity, parse state, strings,
//! delegations, links, models, per-slot sums (left encoded until used), key fingerprints,
//! the time span of its entries and where its entries are.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::entries::{EntryRef, EntryStore};
use super::varint::{Reader, Writer};
use super::CachedFile;
use crate::model::{
    AgentLink, Bucket, Buckets, Delegation, Encoded, Entries, FileMeta, FileRecord, Keys,
    SkipCounts, NONE, SLOT_MS,
};

/// A time within 15-minute slot `slot`, from its offset in the slot.
pub(super) fn slot_time(slot: i64, offset: u64) -> Option<i64> {
    let offset = i64::try_from(offset).ok().filter(|o| *o < SLOT_MS)?;
    slot.checked_mul(SLOT_MS)?.checked_add(offset)
}

/// One file's record; files are length-prefixed so that they decode in parallel, and the
/// entries (needed only when a file grows or shares a request with another file) come last
/// with their own length, so that they can be left undecoded.
pub(super) fn encode_file(f: &CachedFile, entry_ref: EntryRef) -> Vec<u8> {
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
    match r.span {
        None => w.0.push(0),
        Some((lo, hi)) => {
            w.0.push(1);
            w.zig(lo);
            w.zig(hi);
        }
    }
    let (start, len, count, sum) = entry_ref;
    w.var(start);
    w.var(len);
    w.var(count);
    w.0.extend_from_slice(&sum.to_le_bytes());
    w.0
}

/// The path of the record at `range` of `bytes` (records start with it, after a flag byte).
pub(super) fn record_path(bytes: &[u8], (start, end): (usize, usize)) -> Option<&Path> {
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
pub(super) fn encode_buckets(w: &mut Writer, buckets: &[Bucket]) {
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

pub(super) fn decode_file(
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
    let span = match r.byte()? {
        0 => None,
        1 => {
            let (lo, hi) = (r.zig()?, r.zig()?);
            if lo > hi {
                return None;
            }
            Some((lo, hi))
        }
        _ => return None,
    };
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
            span,
        },
    })
}
