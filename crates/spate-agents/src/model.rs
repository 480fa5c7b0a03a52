//! What one transcript file contributes: usage entries, delegations, agent links and counts
//! of skipped lines. A [`FileRecord`] is what the parser produces and what the cache stores.

/// Index into a [`FileRecord`]'s own string table; [`NONE`] means absent.
pub type StrIdx = u32;

/// Marks an absent string or delegation index.
pub const NONE: u32 = u32::MAX;

/// The five token counts of one API response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    /// Uncached input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Cache writes with the 5-minute lifetime (or of unknown lifetime).
    pub cache_write_5m: u64,
    /// Cache writes with the 1-hour lifetime.
    pub cache_write_1h: u64,
    /// Cache reads.
    pub cache_read: u64,
}

impl Tokens {
    /// All cache writes, 5-minute and 1-hour.
    pub fn cache_creation(&self) -> u64 {
        self.cache_write_5m.saturating_add(self.cache_write_1h)
    }

    /// Input as the long-context rule sees it: uncached input plus cache reads and writes.
    pub fn prompt(&self) -> u64 {
        self.input
            .saturating_add(self.cache_creation())
            .saturating_add(self.cache_read)
    }

    /// Every token of the response.
    pub fn total(&self) -> u64 {
        self.prompt().saturating_add(self.output)
    }

    /// Adds another set of counts.
    pub fn add(&mut self, other: &Tokens) {
        self.input = self.input.saturating_add(other.input);
        self.output = self.output.saturating_add(other.output);
        self.cache_write_5m = self.cache_write_5m.saturating_add(other.cache_write_5m);
        self.cache_write_1h = self.cache_write_1h.saturating_add(other.cache_write_1h);
        self.cache_read = self.cache_read.saturating_add(other.cache_read);
    }
}

/// One usage line (an assistant API response with `message.usage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageEntry {
    /// `timestamp`, in milliseconds since the Unix epoch.
    pub ts_ms: i64,
    /// `message.model` (string index); [`NONE`] when the line has none.
    pub model: StrIdx,
    /// `sessionId` (string index); [`NONE`] falls back to the file's session.
    pub session: StrIdx,
    /// `agentId` of a sidechain line (string index) or [`NONE`].
    pub agent: StrIdx,
    /// Token counts.
    pub tokens: Tokens,
    /// `costUSD` in picodollars, when the line carries it.
    pub cost_usd: Option<u64>,
    /// De-duplication key: hash of `message.id` and `requestId`, or of `message.id` and the
    /// timestamp when the line has no `requestId`; `None` without `message.id`.
    pub dedup_key: Option<u128>,
    /// `isSidechain` was true.
    pub sidechain: bool,
    /// Index in the file's delegations of the latest delegation before this line, or [`NONE`].
    pub prev_delegation: u32,
}

/// One `Task`/`Agent` tool use: a hand-off to a sub-agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    /// The tool use id (string index) or [`NONE`].
    pub tool_use_id: StrIdx,
    /// `input.subagent_type` (string index) or [`NONE`].
    pub agent_type: StrIdx,
    /// `sessionId` (string index) or [`NONE`].
    pub session: StrIdx,
    /// Timestamp in milliseconds.
    pub ts_ms: i64,
    /// Length of `input.prompt` in bytes.
    pub prompt_len: u32,
}

/// A tool result that names the sub-agent that answered a tool use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentLink {
    /// The sub-agent's `agentId` (string index).
    pub agent: StrIdx,
    /// The tool use it answered (string index).
    pub tool_use_id: StrIdx,
}

/// Why lines were not used, counted per file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SkipCounts {
    /// Lines that are not valid JSON or have fields of the wrong type.
    pub malformed: u64,
    /// Usage lines without a valid `timestamp`.
    pub no_timestamp: u64,
    /// Usage lines of the `<synthetic>` model (not API calls).
    pub synthetic: u64,
    /// A last line without newline that is not (yet) complete JSON.
    pub incomplete_tail: u64,
}

impl SkipCounts {
    /// Adds another file's counts.
    pub fn add(&mut self, o: &SkipCounts) {
        self.malformed += o.malformed;
        self.no_timestamp += o.no_timestamp;
        self.synthetic += o.synthetic;
        self.incomplete_tail += o.incomplete_tail;
    }

    /// Lines that were skipped as unusable (synthetic lines are not counted: they are not usage).
    pub fn skipped(&self) -> u64 {
        self.malformed + self.no_timestamp + self.incomplete_tail
    }
}

/// Where a file sits in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// Project folder name (directly under `projects/`).
    pub project: String,
    /// Session id from the path: the file stem, or for sub-agent files the session folder.
    pub session: String,
    /// For `subagents/agent-<id>.jsonl`: the `<id>`.
    pub agent_id: Option<String>,
    /// `agentType`/`subagent_type` from the `.meta.json` beside a sub-agent file.
    pub meta_agent_type: Option<String>,
    /// `toolUseId` from the `.meta.json` beside a sub-agent file.
    pub meta_tool_use_id: Option<String>,
}

/// Usage lines of one file summed over everything a report groups, attributes or prices
/// by: the 15-minute UTC slot (time zones change offset on quarter hours at the finest, so
/// every request of a slot has the same local date), model, session, sub-agent identity,
/// whether the prompt exceeds the long-context threshold and whether `costUSD` was given.
/// Costs are linear in tokens, so pricing a bucket's sums is exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// `ts_ms.div_euclid(SLOT_MS)`.
    pub slot: i64,
    /// Model (string index).
    pub model: StrIdx,
    /// Session (string index).
    pub session: StrIdx,
    /// `agentId` (string index).
    pub agent: StrIdx,
    /// Latest delegation before the lines (for sidechain lines), else [`NONE`].
    pub prev_delegation: u32,
    /// Sidechain lines.
    pub sidechain: bool,
    /// Prompts above the long-context threshold.
    pub long_prompt: bool,
    /// Lines that carry `costUSD`.
    pub has_cost_usd: bool,
    /// Token sums.
    pub tokens: Tokens,
    /// Sum of `costUSD` in picodollars (when `has_cost_usd`).
    pub cost_usd: u128,
    /// Requests.
    pub requests: u64,
    /// Earliest request (ms).
    pub first_ms: i64,
    /// Latest request (ms).
    pub last_ms: i64,
}

/// Items still encoded in a cache file's bytes, decoded where they are used: a cached run
/// then neither allocates nor decodes them up front.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The cache file's bytes.
    pub bytes: std::sync::Arc<Vec<u8>>,
    /// Where the items start in `bytes`.
    pub start: usize,
    /// Where they end.
    pub end: usize,
    /// How many there are.
    pub count: usize,
}

impl Encoded {
    /// The encoded bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.bytes.get(self.start..self.end).unwrap_or(&[])
    }
}

/// A file's buckets, decoded or still in the cache's bytes.
#[derive(Debug, Clone)]
pub enum Buckets {
    /// Decoded.
    Decoded(Vec<Bucket>),
    /// In the cache's encoding (see [`FileRecord::for_each_bucket`]).
    Encoded(Encoded),
}

impl Default for Buckets {
    fn default() -> Self {
        Buckets::Decoded(Vec::new())
    }
}

impl Buckets {
    /// Number of buckets.
    pub fn len(&self) -> usize {
        match self {
            Buckets::Decoded(v) => v.len(),
            Buckets::Encoded(e) => e.count,
        }
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buckets as a list (`None` when cached ones do not decode).
    pub fn to_vec(&self) -> Option<Vec<Bucket>> {
        match self {
            Buckets::Decoded(v) => Some(v.clone()),
            Buckets::Encoded(e) => {
                let mut v = Vec::with_capacity(e.count);
                crate::cache::decode_buckets(e.as_slice(), e.count, usize::MAX, usize::MAX, |b| {
                    v.push(b.clone())
                })
                .then_some(v)
            }
        }
    }
}

impl PartialEq for Buckets {
    fn eq(&self, other: &Self) -> bool {
        self.to_vec() == other.to_vec()
    }
}

impl Eq for Buckets {}

/// A file's de-duplication fingerprints, decoded or still in the cache's bytes (where they
/// are 8-byte little-endian words, read in place).
#[derive(Debug, Clone)]
pub enum Keys {
    /// Decoded.
    Decoded(Vec<u64>),
    /// In the cache's bytes.
    Encoded(Encoded),
}

impl Default for Keys {
    fn default() -> Self {
        Keys::Decoded(Vec::new())
    }
}

impl Keys {
    /// Number of fingerprints.
    pub fn len(&self) -> usize {
        match self {
            Keys::Decoded(v) => v.len(),
            Keys::Encoded(e) => e.count,
        }
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The fingerprints in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        let (decoded, encoded): (&[u64], &[u8]) = match self {
            Keys::Decoded(v) => (v, &[]),
            Keys::Encoded(e) => (&[], e.as_slice()),
        };
        decoded.iter().copied().chain(
            encoded
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])),
        )
    }
}

impl PartialEq for Keys {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Keys {}

/// Length of a bucket's time slot.
pub const SLOT_MS: i64 = 15 * 60_000;

/// A file's usage entries, decoded or still in the cache's entries file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entries {
    /// Decoded.
    Decoded(Vec<UsageEntry>),
    /// Not decoded yet: `count` entries in `len` bytes at `start` of the cache's entries
    /// file, whose checksum is `sum`.
    Lazy {
        /// The entries file.
        store: std::sync::Arc<crate::cache::EntryStore>,
        /// Offset of the section.
        start: u64,
        /// Length of the section.
        len: u64,
        /// Number of entries.
        count: usize,
        /// Checksum of the section.
        sum: u64,
    },
}

impl Default for Entries {
    fn default() -> Self {
        Entries::Decoded(Vec::new())
    }
}

impl Entries {
    /// Number of entries.
    pub fn len(&self) -> usize {
        match self {
            Entries::Decoded(v) => v.len(),
            Entries::Lazy { count, .. } => *count,
        }
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Everything parsed from one transcript file (up to `parsed_offset`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileRecord {
    /// Bytes parsed: the end of the last complete line.
    pub parsed_offset: u64,
    /// Hash of the (up to 64) bytes before `parsed_offset`, to notice a rewritten file.
    pub tail_hash: u64,
    /// Lines read (complete lines, blank ones included).
    pub lines: u64,
    /// The file's string table.
    pub strings: crate::strings::StringTable,
    /// Usage lines in file order.
    pub entries: Entries,
    /// The entries without in-file duplicates, summed into buckets (see [`Bucket`]).
    pub buckets: Buckets,
    /// Fingerprints (low 64 bits of the de-duplication keys) of the entries kept in
    /// `buckets`: enough to find the files that may share a request with another file; a
    /// false match only sends a file down the exact request-by-request path.
    pub keys: Keys,
    /// The models of the buckets (string indices, [`NONE`] for requests without one), each
    /// once: what must be priced, known without decoding the buckets.
    pub models: Vec<StrIdx>,
    /// Entries dropped as in-file duplicates.
    pub duplicates: u64,
    /// Delegations in file order.
    pub delegations: Vec<Delegation>,
    /// Agent links found in tool results.
    pub links: Vec<AgentLink>,
    /// Skipped lines.
    pub skips: SkipCounts,
    /// The earliest and the latest timestamp (ms) of its usage entries, in-file duplicates
    /// included (`None` without entries): which files a question about a time window (the
    /// status line's today and active block) must read, known without decoding anything.
    pub span: Option<(i64, i64)>,
}

impl FileRecord {
    /// The string at `idx`, or `None` for [`NONE`] (or an out-of-range index).
    pub fn str(&self, idx: StrIdx) -> Option<&str> {
        self.strings.get(idx)
    }

    /// The entries, decoding them from the cache if needed (`None` if they do not decode).
    pub fn entries(&self) -> Option<std::borrow::Cow<'_, [UsageEntry]>> {
        match &self.entries {
            Entries::Decoded(v) => Some(std::borrow::Cow::Borrowed(v)),
            Entries::Lazy {
                store,
                start,
                len,
                count,
                sum,
            } => crate::cache::decode_entries(
                &store.section(*start, *len, *sum)?,
                *count,
                self.strings.len(),
                self.delegations.len(),
            )
            .map(std::borrow::Cow::Owned),
        }
    }

    /// Calls `f` with each bucket, decoding cached ones on the way; false when cached
    /// buckets do not decode (those from the failing one on are not seen).
    pub fn for_each_bucket(&self, f: impl FnMut(&Bucket)) -> bool {
        match &self.buckets {
            Buckets::Decoded(v) => {
                v.iter().for_each(f);
                true
            }
            Buckets::Encoded(e) => crate::cache::decode_buckets(
                e.as_slice(),
                e.count,
                self.strings.len(),
                self.delegations.len(),
                f,
            ),
        }
    }

    /// True when the entries can be had (decoded, or a cache section with a good checksum).
    pub fn entries_available(&self) -> bool {
        match &self.entries {
            Entries::Decoded(_) => true,
            Entries::Lazy {
                store,
                start,
                len,
                sum,
                ..
            } => store.section(*start, *len, *sum).is_some(),
        }
    }

    /// Decodes lazy entries in place, so that more can be appended.
    pub fn make_entries_mut(&mut self) -> Option<&mut Vec<UsageEntry>> {
        if let Entries::Lazy { .. } = self.entries {
            let decoded = self.entries()?.into_owned();
            self.entries = Entries::Decoded(decoded);
        }
        match &mut self.entries {
            Entries::Decoded(v) => Some(v),
            Entries::Lazy { .. } => None,
        }
    }

    /// Recomputes `buckets`, `keys` and `duplicates` from the entries: in-file duplicates
    /// (same key) count once, as the copy with the largest token total (on a tie, a sidechain
    /// copy before a main-chain one, then the first: the rule of [`crate::usage`]).
    pub fn summarize(&mut self) {
        let Some(entries) = self.entries() else {
            return;
        };
        let span = entries.iter().fold(None, |span, e| match span {
            None => Some((e.ts_ms, e.ts_ms)),
            Some((lo, hi)) => Some((e.ts_ms.min(lo), e.ts_ms.max(hi))),
        });
        let mut best: crate::usage::KeyMap<usize> = crate::usage::KeyMap::default();
        let mut keep = vec![true; entries.len()];
        let mut duplicates = 0;
        for (i, e) in entries.iter().enumerate() {
            let Some(k) = e.dedup_key else { continue };
            match best.get(&k) {
                Some(&j) => {
                    duplicates += 1;
                    let rank = |e: &UsageEntry| (e.tokens.total(), e.sidechain);
                    if rank(e) > rank(&entries[j]) {
                        keep[j] = false;
                        best.insert(k, i);
                    } else {
                        keep[i] = false;
                    }
                }
                None => {
                    best.insert(k, i);
                }
            }
        }
        let mut index: crate::usage::FastMap<(i64, u32, u32, u32, u32, u8), usize> =
            crate::usage::FastMap::default();
        let mut buckets: Vec<Bucket> = Vec::new();
        let mut keys = Vec::new();
        for (e, _) in entries.iter().zip(&keep).filter(|(_, k)| **k) {
            if let Some(k) = e.dedup_key {
                keys.push(k as u64);
            }
            let long = e.tokens.prompt() > crate::pricing::LONG_CONTEXT_THRESHOLD;
            let prev = if e.sidechain { e.prev_delegation } else { NONE };
            let flags =
                u8::from(e.sidechain) | u8::from(long) << 1 | u8::from(e.cost_usd.is_some()) << 2;
            let slot = e.ts_ms.div_euclid(SLOT_MS);
            let at = *index
                .entry((slot, e.model, e.session, e.agent, prev, flags))
                .or_insert_with(|| {
                    buckets.push(Bucket {
                        slot,
                        model: e.model,
                        session: e.session,
                        agent: e.agent,
                        prev_delegation: prev,
                        sidechain: e.sidechain,
                        long_prompt: long,
                        has_cost_usd: e.cost_usd.is_some(),
                        tokens: Tokens::default(),
                        cost_usd: 0,
                        requests: 0,
                        first_ms: e.ts_ms,
                        last_ms: e.ts_ms,
                    });
                    buckets.len() - 1
                });
            let b = &mut buckets[at];
            b.tokens.add(&e.tokens);
            b.cost_usd += u128::from(e.cost_usd.unwrap_or(0));
            b.requests += 1;
            b.first_ms = b.first_ms.min(e.ts_ms);
            b.last_ms = b.last_ms.max(e.ts_ms);
        }
        let mut models: Vec<StrIdx> = buckets.iter().map(|b| b.model).collect();
        models.sort_unstable();
        models.dedup();
        self.models = models;
        self.buckets = Buckets::Decoded(buckets);
        self.keys = Keys::Decoded(keys);
        self.duplicates = duplicates;
        self.span = span;
    }
}
