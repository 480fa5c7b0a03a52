//! The ledger's bytes: a versioned header, then length- and checksum-framed batches.
//!
//! ```text
//! file   := header frame*
//! header := "SPATELDG" version:u32le reserved:u32le                     (16 bytes)
//! frame  := "LBAT" dir_len:u32le body_len:u32le dir_crc:u32le body_crc:u32le
//!           dir[dir_len] body[body_len]
//!           (dir_crc: CRC-32 of the three length/crc words before it and dir;
//!            body_crc: CRC-32 of body)
//! dir    := kind:u8(=1) root:u64le nstrings:var (len:var utf8)* ngroups:var group*
//! group  := source:u64le flags:u8 project:var first:var count:var
//!           [offset:var tail_hash:u64le total:var]   (when flags & COMPLETE)
//!           [nlinks:var (agent_id:var agent_type:var)*] (when flags & LINKS)
//!           body_offset:var body_len:var              (the group's entries in body)
//! entry  := key:u128le flags:u8 ts:zigzag-var model:var session:var
//!           [agent_type:var agent_id:var]            (when flags & AGENT)
//!           input:var output:var cache_write_5m:var cache_write_1h:var cache_read:var
//!           [cost_usd_pico:var]                       (when flags & COST)
//! ```
//!
//! `var` is an unsigned LEB128 varint; string references are indices into the frame's
//! string table. A frame is appended with one write: a crash leaves at most one torn frame
//! at the end, which a length past the end of the file or a checksum exposes. The
//! directory (strings and group headers) is checked on every read; a body only when its
//! entries are needed, and always for the last frame, so that a run which needs no entry
//! reads a few kilobytes of a ledger of many megabytes.

use std::ops::Range;

use crate::model::Tokens;

/// The first 8 bytes of a ledger file.
pub(super) const MAGIC: &[u8; 8] = b"SPATELDG";
/// The layout version written in the header; a reader refuses other versions.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes of the header.
pub(super) const HEADER_LEN: usize = 16;
/// The first 4 bytes of every frame.
pub(super) const FRAME_TAG: &[u8; 4] = b"LBAT";
/// Bytes before a frame's directory.
pub(super) const FRAME_HEAD: usize = 20;
/// The largest directory or body a frame may have (a writer's batches are far smaller): a
/// longer length is damage.
pub(super) const MAX_PART: usize = 256 << 20;
/// Payload kind of a batch of entries.
const KIND_ENTRIES: u8 = 1;

/// Group flag: the first group of a new generation of its source (the transcript was read
/// from its start again: it is new, or was rewritten).
pub(super) const G_RESTART: u8 = 1;
/// Group flag: the group ends at the watermark it carries (the file was recorded up to it).
pub(super) const G_COMPLETE: u8 = 2;
/// Group flag: entries merged in from another ledger (`import`).
pub(super) const G_IMPORTED: u8 = 4;
/// Group flag: the group carries sub-agent links (`agentId` → agent type) learned from its
/// transcript, in the directory.
pub(super) const G_LINKS: u8 = 8;

/// Entry flag: the key is synthetic (the line had no de-duplication key).
pub(super) const E_KEYLESS: u8 = 1;
/// Entry flag: the line carried `costUSD`.
pub(super) const E_COST: u8 = 2;
/// Entry flag: a sub-agent's request (agent type and id follow).
pub(super) const E_AGENT: u8 = 4;

/// How far a transcript was recorded: the state of its parsed prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Watermark {
    /// Bytes parsed.
    pub offset: u64,
    /// Fingerprint of the (up to 64) bytes before `offset`.
    pub tail_hash: u64,
    /// Usage entries in those bytes.
    pub total: u64,
}

/// The header bytes of a new ledger.
pub(super) fn header() -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h
}

/// What the first bytes of a file are.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum HeaderState {
    /// Empty, or a prefix of a header (a crash while creating the file).
    Torn,
    /// This version's header.
    Valid,
    /// Not a spate ledger.
    Foreign,
    /// A ledger of another format version.
    OtherVersion(u32),
}

pub(super) fn check_header(bytes: &[u8]) -> HeaderState {
    if bytes.len() < HEADER_LEN {
        let full = header();
        return if full.starts_with(bytes) || bytes.iter().all(|&b| b == 0) {
            HeaderState::Torn
        } else {
            HeaderState::Foreign
        };
    }
    if &bytes[..8] != MAGIC {
        return HeaderState::Foreign;
    }
    let v = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if v == FORMAT_VERSION {
        HeaderState::Valid
    } else {
        HeaderState::OtherVersion(v)
    }
}

/// A frame's head: the lengths and checksums of its two parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FrameLens {
    pub dir_len: usize,
    pub body_len: usize,
    pub dir_crc: u32,
    pub body_crc: u32,
}

impl FrameLens {
    /// Bytes of the whole frame.
    pub fn total(&self) -> usize {
        FRAME_HEAD + self.dir_len + self.body_len
    }
}

fn word(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads a frame's head (`None`: not a frame head).
pub(super) fn parse_head(head: &[u8]) -> Option<FrameLens> {
    if head.len() < FRAME_HEAD || &head[..4] != FRAME_TAG {
        return None;
    }
    let lens = FrameLens {
        dir_len: word(head, 4) as usize,
        body_len: word(head, 8) as usize,
        dir_crc: word(head, 12),
        body_crc: word(head, 16),
    };
    (lens.dir_len <= MAX_PART && lens.body_len <= MAX_PART).then_some(lens)
}

/// Whether `dir` is intact for the frame `head` (20 bytes).
pub(super) fn dir_ok(head: &[u8], lens: &FrameLens, dir: &[u8]) -> bool {
    let mut h = crc32fast::Hasher::new();
    h.update(&head[4..12]);
    h.update(&head[16..20]);
    h.update(dir);
    h.finalize() == lens.dir_crc
}

/// Whether `body` is intact.
pub(super) fn body_ok(lens: &FrameLens, body: &[u8]) -> bool {
    crc32fast::hash(body) == lens.body_crc
}

/// A directory and a body framed for appending.
pub(super) fn frame(dir: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FRAME_HEAD + dir.len() + body.len());
    out.extend_from_slice(FRAME_TAG);
    out.extend_from_slice(&(dir.len() as u32).to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    let mut h = crc32fast::Hasher::new();
    h.update(&out[4..12]);
    h.update(&out[16..20]);
    h.update(dir);
    let dir_crc = h.finalize().to_le_bytes();
    out[12..16].copy_from_slice(&dir_crc);
    out.extend_from_slice(dir);
    out.extend_from_slice(body);
    out
}

/// The frame at `at` of `bytes` when it is whole and intact (both parts): its lengths.
pub(super) fn frame_at(bytes: &[u8], at: usize) -> Option<FrameLens> {
    let head = bytes.get(at..at.checked_add(FRAME_HEAD)?)?;
    let lens = parse_head(head)?;
    let dir_start = at + FRAME_HEAD;
    let dir = bytes.get(dir_start..dir_start + lens.dir_len)?;
    let body_start = dir_start + lens.dir_len;
    let body = bytes.get(body_start..body_start + lens.body_len)?;
    (dir_ok(head, &lens, dir) && body_ok(&lens, body)).then_some(lens)
}

/// Appends varints and fixed-width integers.
#[derive(Debug, Default)]
pub(super) struct Out(pub Vec<u8>);

impl Out {
    pub fn var(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u128(&mut self, v: u128) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn str(&mut self, s: &str) {
        self.var(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
}

/// Reads what [`Out`] wrote; every read is bounds-checked (`None` past the end or on an
/// over-long varint).
#[derive(Debug)]
pub(super) struct In<'a> {
    pub bytes: &'a [u8],
    pub at: usize,
}

impl<'a> In<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        In { bytes, at: 0 }
    }
    pub fn var(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.bytes.get(self.at)?;
            self.at += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }
    pub fn var_u32(&mut self) -> Option<u32> {
        u32::try_from(self.var()?).ok()
    }
    pub fn u8(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    pub fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }
    pub fn u128(&mut self) -> Option<u128> {
        self.take(16)
            .map(|b| u128::from_le_bytes(b.try_into().unwrap_or([0; 16])))
    }
    pub fn done(&self) -> bool {
        self.at == self.bytes.len()
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// One usage entry as stored, its strings as indices into a string table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RawEntry {
    pub key: u128,
    pub flags: u8,
    pub ts_ms: i64,
    pub model: u32,
    pub session: u32,
    /// With [`E_AGENT`]: the resolved agent type and the `agentId` (or empty).
    pub agent_type: u32,
    pub agent_id: u32,
    pub tokens: Tokens,
    pub cost_usd: u64,
}

impl RawEntry {
    pub fn keyless(&self) -> bool {
        self.flags & E_KEYLESS != 0
    }
    pub fn cost_usd(&self) -> Option<u64> {
        (self.flags & E_COST != 0).then_some(self.cost_usd)
    }
    pub fn has_agent(&self) -> bool {
        self.flags & E_AGENT != 0
    }
    /// How copies of one request compare (the larger is kept, the reports' rule, see
    /// `Row::beats`): the token total, then a sub-agent's copy before a main-chain one.
    pub fn rank(&self) -> (u64, bool) {
        (self.tokens.total(), self.has_agent())
    }
}

pub(super) fn put_entry(o: &mut Out, e: &RawEntry) {
    o.u128(e.key);
    o.u8(e.flags);
    o.var(zigzag(e.ts_ms));
    o.var(e.model.into());
    o.var(e.session.into());
    if e.has_agent() {
        o.var(e.agent_type.into());
        o.var(e.agent_id.into());
    }
    let t = &e.tokens;
    for v in [
        t.input,
        t.output,
        t.cache_write_5m,
        t.cache_write_1h,
        t.cache_read,
    ] {
        o.var(v);
    }
    if e.flags & E_COST != 0 {
        o.var(e.cost_usd);
    }
}

/// Reads one entry whose string indices must be below `strings`.
pub(super) fn get_entry(i: &mut In<'_>, strings: usize) -> Option<RawEntry> {
    let key = i.u128()?;
    let flags = i.u8()?;
    if flags & !(E_KEYLESS | E_COST | E_AGENT) != 0 {
        return None;
    }
    let ts_ms = unzigzag(i.var()?);
    let idx = |v: u32| ((v as usize) < strings).then_some(v);
    let model = idx(i.var_u32()?)?;
    let session = idx(i.var_u32()?)?;
    let (agent_type, agent_id) = if flags & E_AGENT != 0 {
        (idx(i.var_u32()?)?, idx(i.var_u32()?)?)
    } else {
        (0, 0)
    };
    let tokens = Tokens {
        input: i.var()?,
        output: i.var()?,
        cache_write_5m: i.var()?,
        cache_write_1h: i.var()?,
        cache_read: i.var()?,
    };
    let cost_usd = if flags & E_COST != 0 { i.var()? } else { 0 };
    Some(RawEntry {
        key,
        flags,
        ts_ms,
        model,
        session,
        agent_type,
        agent_id,
        tokens,
        cost_usd,
    })
}

/// A group's header, with where its entries are in the frame's body.
#[derive(Debug, Clone)]
pub(super) struct GroupHead {
    pub source: u64,
    pub flags: u8,
    pub project: u32,
    pub first: u64,
    pub count: u64,
    pub watermark: Option<Watermark>,
    /// Sub-agent links: (`agentId`, agent type) string indices.
    pub links: Vec<(u32, u32)>,
    pub body: Range<usize>,
}

/// A frame's directory, decoded.
#[derive(Debug)]
pub(super) struct FrameHead {
    pub root: u64,
    pub strings: Vec<String>,
    pub groups: Vec<GroupHead>,
}

/// Decodes a directory whose body has `body_len` bytes; `None` when it is inconsistent (a
/// frame whose checksum matched but whose content does not make sense: written by
/// something else).
pub(super) fn decode_dir(dir: &[u8], body_len: usize) -> Option<FrameHead> {
    let mut i = In::new(dir);
    if i.u8()? != KIND_ENTRIES {
        return None;
    }
    let root = i.u64()?;
    let n = usize::try_from(i.var()?).ok()?;
    if n > dir.len() {
        return None;
    }
    let mut strings = Vec::with_capacity(n);
    for _ in 0..n {
        let len = usize::try_from(i.var()?).ok()?;
        strings.push(std::str::from_utf8(i.take(len)?).ok()?.to_owned());
    }
    let groups_n = usize::try_from(i.var()?).ok()?;
    if groups_n > dir.len() {
        return None;
    }
    let mut groups = Vec::with_capacity(groups_n);
    for _ in 0..groups_n {
        let source = i.u64()?;
        let flags = i.u8()?;
        if flags & !(G_RESTART | G_COMPLETE | G_IMPORTED | G_LINKS) != 0 {
            return None;
        }
        let project = i.var_u32()?;
        if project as usize >= n {
            return None;
        }
        let first = i.var()?;
        let count = i.var()?;
        let watermark = if flags & G_COMPLETE != 0 {
            Some(Watermark {
                offset: i.var()?,
                tail_hash: i.u64()?,
                total: i.var()?,
            })
        } else {
            None
        };
        let mut links = Vec::new();
        if flags & G_LINKS != 0 {
            let k = usize::try_from(i.var()?).ok()?;
            if k > dir.len() {
                return None;
            }
            for _ in 0..k {
                let (a, t) = (i.var_u32()?, i.var_u32()?);
                if a as usize >= n || t as usize >= n {
                    return None;
                }
                links.push((a, t));
            }
        }
        let start = usize::try_from(i.var()?).ok()?;
        let len = usize::try_from(i.var()?).ok()?;
        let end = start.checked_add(len)?;
        // an entry is at least 24 bytes
        if end > body_len || count > (len / 24) as u64 {
            return None;
        }
        groups.push(GroupHead {
            source,
            flags,
            project,
            first,
            count,
            watermark,
            links,
            body: start..end,
        });
    }
    i.done().then_some(FrameHead {
        root,
        strings,
        groups,
    })
}

/// The string `idx` of a decoded frame.
pub(super) fn frame_str(frame: &FrameHead, idx: u32) -> &str {
    frame.strings.get(idx as usize).map_or("", String::as_str)
}

/// Decodes a group's entries from its frame's body; `None` when they are inconsistent.
pub(super) fn decode_group(body: &[u8], frame: &FrameHead, g: &GroupHead) -> Option<Vec<RawEntry>> {
    let mut i = In::new(body.get(g.body.clone())?);
    let mut out = Vec::with_capacity(g.count as usize);
    for _ in 0..g.count {
        out.push(get_entry(&mut i, frame.strings.len())?);
    }
    i.done().then_some(out)
}

/// A batch being encoded: a string table and groups, for one root.
#[derive(Debug)]
pub(super) struct PayloadBuilder {
    root: u64,
    strings: Vec<String>,
    index: std::collections::HashMap<String, u32>,
    groups: Out,
    group_count: u64,
    body: Out,
}

impl PayloadBuilder {
    pub fn new(root: u64) -> Self {
        PayloadBuilder {
            root,
            strings: Vec::new(),
            index: Default::default(),
            groups: Out::default(),
            group_count: 0,
            body: Out::default(),
        }
    }

    /// The index of `s` in this payload's table.
    pub fn string(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.strings.len() as u32;
        self.strings.push(s.to_owned());
        self.index.insert(s.to_owned(), i);
        i
    }

    /// Adds a group whose entries' and links' strings were added with [`Self::string`].
    #[allow(clippy::too_many_arguments)]
    pub fn group(
        &mut self,
        source: u64,
        flags: u8,
        project: u32,
        first: u64,
        watermark: Option<Watermark>,
        links: &[(u32, u32)],
        entries: &[RawEntry],
    ) {
        let o = &mut self.groups;
        o.u64(source);
        let mut flags = if watermark.is_some() {
            flags | G_COMPLETE
        } else {
            flags & !G_COMPLETE
        };
        if links.is_empty() {
            flags &= !G_LINKS;
        } else {
            flags |= G_LINKS;
        }
        o.u8(flags);
        o.var(project.into());
        o.var(first);
        o.var(entries.len() as u64);
        if let Some(w) = watermark {
            o.var(w.offset);
            o.u64(w.tail_hash);
            o.var(w.total);
        }
        if !links.is_empty() {
            o.var(links.len() as u64);
            for &(a, t) in links {
                o.var(a.into());
                o.var(t.into());
            }
        }
        let start = self.body.0.len();
        for e in entries {
            put_entry(&mut self.body, e);
        }
        o.var(start as u64);
        o.var((self.body.0.len() - start) as u64);
        self.group_count += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.group_count == 0
    }

    /// The root this payload is for.
    pub fn root(&self) -> u64 {
        self.root
    }

    /// The framed bytes.
    pub fn finish(self) -> Vec<u8> {
        let mut o = Out::default();
        o.u8(KIND_ENTRIES);
        o.u64(self.root);
        o.var(self.strings.len() as u64);
        for s in &self.strings {
            o.str(s);
        }
        o.var(self.group_count);
        o.0.extend_from_slice(&self.groups.0);
        frame(&o.0, &self.body.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_damage_is_seen() {
        let mut b = PayloadBuilder::new(7);
        let m = b.string("claude-x");
        let s = b.string("s1");
        let p = b.string("proj");
        let e = RawEntry {
            key: 0xdead_beef_u128 << 64 | 42,
            flags: E_COST,
            ts_ms: 1_700_000_000_000,
            model: m,
            session: s,
            agent_type: 0,
            agent_id: 0,
            tokens: Tokens {
                input: 10,
                output: 20,
                cache_write_5m: 1,
                cache_write_1h: 2,
                cache_read: 300,
            },
            cost_usd: 5,
        };
        let wm = Watermark {
            offset: 99,
            tail_hash: 5,
            total: 1,
        };
        let (ag, ty) = (b.string("agent-1"), b.string("code-reviewer"));
        b.group(3, G_RESTART, p, 0, Some(wm), &[(ag, ty)], &[e]);
        let mut bytes = header().to_vec();
        bytes.extend_from_slice(&b.finish());
        let lens = frame_at(&bytes, HEADER_LEN).unwrap();
        assert_eq!(lens.total(), bytes.len() - HEADER_LEN);
        let dir_at = HEADER_LEN + FRAME_HEAD;
        let dir = &bytes[dir_at..dir_at + lens.dir_len];
        let body = &bytes[dir_at + lens.dir_len..];
        let f = decode_dir(dir, lens.body_len).unwrap();
        assert_eq!(f.root, 7);
        assert_eq!(f.groups.len(), 1);
        let g = &f.groups[0];
        assert_eq!((g.source, g.first, g.count), (3, 0, 1));
        assert_eq!(g.watermark, Some(wm));
        assert_eq!(g.flags, G_RESTART | G_COMPLETE | G_LINKS);
        assert_eq!(g.links, vec![(ag, ty)]);
        assert_eq!(frame_str(&f, g.project), "proj");
        assert_eq!(decode_group(body, &f, g).unwrap(), vec![e]);
        // every cut and every flipped bit of the frame is noticed
        for cut in HEADER_LEN..bytes.len() {
            assert!(
                frame_at(&bytes[..cut], HEADER_LEN).is_none(),
                "cut at {cut}"
            );
        }
        for at in HEADER_LEN..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert!(frame_at(&bad, HEADER_LEN).is_none(), "flip at {at}");
        }
    }

    #[test]
    fn headers() {
        assert_eq!(check_header(&header()), HeaderState::Valid);
        assert_eq!(check_header(&header()[..5]), HeaderState::Torn);
        assert_eq!(check_header(b""), HeaderState::Torn);
        assert_eq!(check_header(b"{\"not\": 1}      "), HeaderState::Foreign);
        let mut v2 = header();
        v2[8] = 2;
        assert_eq!(check_header(&v2), HeaderState::OtherVersion(2));
    }

    #[test]
    fn zigzag_round_trips() {
        for v in [0i64, 1, -1, i64::MAX, i64::MIN, 1_700_000_000_000] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }
}
