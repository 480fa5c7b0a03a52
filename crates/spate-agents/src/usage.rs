//! From loaded files to de-duplicated, priced, dated usage rows and delegations.
//!
//! De-duplication rule: usage lines with the same `message.id` and `requestId` are one API
//! response written several times; it counts once, as the copy with the largest token total
//! (on a tie, a sub-agent's copy before a main-chain one, then the first copy in path
//! order, then line order: so the attribution does not hang on where a copy was read, a
//! transcript or the usage ledger). A line with a `message.id` but
//! no `requestId` is merged the same way with the other such lines of that message id and
//! timestamp, in the same file or another (a session file and its `subagents/` files), as
//! ccusage 20 does.
//! Lines without `message.id` are never merged.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

use rayon::prelude::*;

use crate::load::Corpus;
use crate::model::{SkipCounts, StrIdx, Tokens};
use crate::pricing::{ModelPrice, PriceTable, LONG_CONTEXT_THRESHOLD};

use crate::time::LocalDates;

/// Which cost to use for a request (as ccusage's `--mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CostMode {
    /// The line's `costUSD` when present, else computed from tokens.
    #[default]
    Auto,
    /// Always computed from tokens and prices.
    Calculate,
    /// Only `costUSD`; lines without it cost 0.
    Display,
}

/// What to count and how.
#[derive(Debug, Clone)]
pub struct Query {
    /// Time zone for calendar dates.
    pub tz: TimeZone,
    /// First local date to include.
    pub since: Option<Date>,
    /// Last local date to include.
    pub until: Option<Date>,
    /// Cost mode.
    pub mode: CostMode,
    /// Prices.
    pub prices: PriceTable,
    /// First day of a week for weekly reports.
    pub week_start: Weekday,
    /// Build rows from every individual request instead of the per-file buckets (slower,
    /// same answer; used to check the buckets).
    pub per_request: bool,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            tz: TimeZone::UTC,
            since: None,
            until: None,
            mode: CostMode::Auto,
            prices: PriceTable::embedded(),
            week_start: Weekday::Sunday,
            per_request: false,
        }
    }
}

/// A fast multiply-rotate hasher for the short strings and integer ids of one run (no
/// untrusted-collision concern: the inputs are the user's own transcripts).
#[derive(Default)]
pub(crate) struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(v)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_i64(&mut self, v: i64) {
        self.write_u64(v as u64);
    }
    fn write_u8(&mut self, v: u8) {
        self.write_u64(u64::from(v));
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Global string table (model, session, project, agent names).
#[derive(Debug, Default)]
pub struct Names(crate::strings::Interner);

impl Names {
    /// Id of `s`, adding it if new.
    pub fn id(&mut self, s: &str) -> u32 {
        self.0.id(s)
    }

    /// The string of an id.
    pub fn get(&self, id: u32) -> &str {
        self.0.get(id)
    }

    /// The id of `s`, if it is known.
    pub fn find(&self, s: &str) -> Option<u32> {
        self.0.find(s)
    }
}

/// De-duplicated API responses that agree on everything a report groups by: one response,
/// or a file's bucket of them (see [`crate::model::Bucket`]).
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// Time of the first response, in ms since the epoch.
    pub first_ms: i64,
    /// Time of the last response.
    pub last_ms: i64,
    /// Number of responses.
    pub requests: u64,
    /// Local date.
    pub date: Date,
    /// Model name id.
    pub model: u32,
    /// Session id.
    pub session: u32,
    /// Project id.
    pub project: u32,
    /// Tokens.
    pub tokens: Tokens,
    /// Cost in picodollars (0 when unpriced).
    pub cost: u128,
    /// False when no price was known for the model.
    pub priced: bool,
    /// For a sub-agent's own request: the agent type id (or the `(unattributed)` id).
    pub agent_type: Option<u32>,
}

/// What rows must agree on to be merged into one: everything a report groups or
/// attributes by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct RowKey {
    date: Date,
    model: u32,
    session: u32,
    project: u32,
    agent_type: Option<u32>,
    priced: bool,
}

impl RowKey {
    fn of(r: &Row) -> Self {
        RowKey {
            date: r.date,
            model: r.model,
            session: r.session,
            project: r.project,
            agent_type: r.agent_type,
            priced: r.priced,
        }
    }
}

impl Row {
    /// Whether this copy of a request replaces `kept`, the copy of the same key kept so far:
    /// it has more tokens, or as many and it is a sub-agent's request while `kept` is not.
    pub(crate) fn beats(&self, kept: &Row) -> bool {
        (self.tokens.total(), self.agent_type.is_some())
            > (kept.tokens.total(), kept.agent_type.is_some())
    }

    /// Adds the requests of `other` (which has the same [`RowKey`]).
    fn merge(&mut self, other: &Row) {
        self.first_ms = self.first_ms.min(other.first_ms);
        self.last_ms = self.last_ms.max(other.last_ms);
        self.requests += other.requests;
        self.tokens.add(&other.tokens);
        self.cost += other.cost;
    }
}

/// One de-duplicated delegation.
#[derive(Debug, Clone)]
pub struct DelegationRow {
    /// Time in ms.
    pub ts_ms: i64,
    /// Local date (`None` when the line had no valid timestamp).
    pub date: Option<Date>,
    /// Agent type id.
    pub agent_type: u32,
    /// Session id.
    pub session: u32,
    /// Project id.
    pub project: u32,
    /// Prompt length in bytes.
    pub prompt_len: u32,
}

/// Counts for the robustness summary.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Lines seen.
    pub lines: u64,
    /// Usage lines before de-duplication.
    pub usage_lines: u64,
    /// Copies removed by de-duplication.
    pub duplicates: u64,
    /// Skipped lines by reason.
    pub skips: SkipCounts,
    /// Files that could not be read.
    pub unreadable: usize,
    /// Unpriced models: name → (requests, tokens).
    pub unpriced: BTreeMap<String, (u64, u64)>,
    /// Cached files whose entries could not be decoded (their buckets were used instead).
    pub undecodable_cache_files: usize,
}

/// De-duplicated, priced usage of a corpus, filtered by date.
#[derive(Debug)]
pub struct Usage {
    /// Names referenced by ids.
    pub names: Names,
    /// Usage rows in the date range.
    pub rows: Vec<Row>,
    /// Delegations in the date range.
    pub delegations: Vec<DelegationRow>,
    /// Robustness counts (over all dates).
    pub summary: Summary,
    /// Query used.
    pub query: Query,
}

/// Keeps only the rows and delegations of the projects named in `names`: a project folder
/// name (`-home-me-app`) or its last part (`app`). Summary counts are left as they were.
pub fn retain_projects(usage: &mut Usage, names: &[String]) {
    if names.is_empty() {
        return;
    }
    let matches = |folder: &str| {
        names
            .iter()
            .any(|n| folder == n || folder.ends_with(&format!("-{}", n.trim_start_matches('-'))))
    };
    let mut keep: FastMap<u32, bool> = FastMap::default();
    let names_ref = &usage.names;
    let mut ok = |p: u32| *keep.entry(p).or_insert_with(|| matches(names_ref.get(p)));
    usage.rows.retain(|r| ok(r.project));
    usage.delegations.retain(|d| ok(d.project));
}

/// Keeps only the rows and delegations of the sessions named in `ids` (exact session ids,
/// or a unique prefix of at least 4 characters).
pub fn retain_sessions(usage: &mut Usage, ids: &[String]) {
    if ids.is_empty() {
        return;
    }
    let mut keep: FastMap<u32, bool> = FastMap::default();
    let names_ref = &usage.names;
    let mut ok = |s: u32| {
        *keep.entry(s).or_insert_with(|| {
            let name = names_ref.get(s);
            ids.iter()
                .any(|id| name == id || (id.len() >= 4 && name.starts_with(id.as_str())))
        })
    };
    usage.rows.retain(|r| ok(r.session));
    usage.delegations.retain(|d| ok(d.session));
}

/// Label for sub-agent usage that cannot be tied to an agent type.
pub const UNATTRIBUTED: &str = "(unattributed)";
/// Model label of usage lines without `message.model`.
pub const UNKNOWN_MODEL: &str = "unknown";

/// The de-duplication keys are already well-mixed 128-bit hashes: hashing them again with
/// SipHash is wasted work, so the map uses their low 64 bits directly.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

pub(crate) type KeyMap<V> = HashMap<u128, V, BuildHasherDefault<KeyHasher>>;

/// A file's strings as global ids, and its path identity.
struct FileIds {
    map: Vec<u32>,
    project: u32,
    session: u32,
    agent: Option<u32>,
    meta_type: Option<u32>,
    meta_tool_use: Option<u32>,
}

impl FileIds {
    fn get(&self, idx: StrIdx) -> Option<u32> {
        self.map.get(idx as usize).copied()
    }
}

/// What one file contributes before cross-file de-duplication.
struct FilePart {
    /// Rows of requests with a de-duplication key, one per request, to be de-duplicated
    /// across files.
    keyed: Vec<(u128, Row)>,
    /// The other rows, those of one key (see [`RowKey`]) merged.
    rows: Vec<Row>,
    delegations: Vec<(Option<u32>, DelegationRow)>,
    no_date: u64,
    duplicates: u64,
    undecodable: bool,
}

/// Everything needed to turn a file's entries or buckets into rows.
struct RowContext<'a> {
    query: &'a Query,
    prices: &'a [Option<Option<ModelPrice>>],
    tool_use_type: &'a FastMap<u32, u32>,
    agent_tool_use: &'a FastMap<u32, u32>,
    unattributed: u32,
    unknown_model: u32,
}

/// Inputs of a row, from an entry or a bucket.
struct RowInput<'a> {
    first_ms: i64,
    last_ms: i64,
    requests: u64,
    model: StrIdx,
    session: StrIdx,
    agent: StrIdx,
    sidechain: bool,
    prev_delegation: u32,
    tokens: &'a Tokens,
    long_prompt: bool,
    cost_usd: Option<u128>,
}

impl RowContext<'_> {
    /// The long-context threshold of a model of the file.
    fn threshold(&self, fid: &FileIds, model: StrIdx) -> u64 {
        let model = fid.get(model).unwrap_or(self.unknown_model);
        self.prices
            .get(model as usize)
            .copied()
            .flatten()
            .flatten()
            .map_or(LONG_CONTEXT_THRESHOLD, |p| p.threshold())
    }

    fn row(
        &self,
        fid: &FileIds,
        rec: &crate::model::FileRecord,
        dates: &mut LocalDates,
        i: RowInput<'_>,
    ) -> Option<Row> {
        let date = dates.date(i.first_ms)?;
        let model = fid.get(i.model).unwrap_or(self.unknown_model);
        let session = fid.get(i.session).unwrap_or(fid.session);
        let agent_type = if fid.agent.is_some() || i.sidechain {
            let agent = fid.get(i.agent).or(fid.agent);
            let via_link = agent
                .and_then(|a| self.agent_tool_use.get(&a))
                .or(fid.meta_tool_use.as_ref())
                .and_then(|tu| self.tool_use_type.get(tu))
                .copied();
            let positional = if i.sidechain && fid.agent.is_none() {
                rec.delegations
                    .get(i.prev_delegation as usize)
                    .and_then(|d| fid.get(d.agent_type))
            } else {
                None
            };
            Some(
                fid.meta_type
                    .or(via_link)
                    .or(positional)
                    .unwrap_or(self.unattributed),
            )
        } else {
            None
        };
        let price = self.prices.get(model as usize).copied().flatten().flatten();
        let (cost, priced) = match (self.query.mode, i.cost_usd) {
            (CostMode::Auto, Some(c)) | (CostMode::Display, Some(c)) => (c, true),
            (CostMode::Display, None) => (0, true),
            _ => match price {
                Some(p) => (p.cost_of(i.tokens, i.long_prompt), true),
                None => (0, false),
            },
        };
        Some(Row {
            first_ms: i.first_ms,
            last_ms: i.last_ms,
            requests: i.requests,
            date,
            model,
            session,
            project: fid.project,
            tokens: *i.tokens,
            cost,
            priced,
            agent_type,
        })
    }
}

/// Builds the usage of a corpus. Strings are interned first (sequentially); then each file
/// contributes rows in parallel: from its buckets when none of its requests also appears in
/// another file (in-file duplicates were already dropped when the buckets were built), else
/// from its individual entries; then the entry rows are de-duplicated across files in path
/// order.
pub fn analyze(corpus: &Corpus, query: Query) -> Usage {
    analyze_where(corpus, query, |_| true)
}

/// [`analyze`] over the files `keep` accepts only (the summary counts those files too). A
/// request that also appears in a file left out counts once, as the copy in the files kept.
pub fn analyze_where(
    corpus: &Corpus,
    query: Query,
    keep: impl Fn(&crate::cache::CachedFile) -> bool,
) -> Usage {
    analyze_impl(corpus, query, |_, f| keep(f), |_, _| Vec::new()).0
}

/// [`analyze`] over the files `keep[i]` accepts only (`corpus.files[i]`; the files past the
/// end of `keep` are left out).
pub(crate) fn analyze_selected(corpus: &Corpus, query: Query, keep: &[bool]) -> Usage {
    analyze_impl(
        corpus,
        query,
        |i, _| keep.get(i).copied().unwrap_or(false),
        |_, _| Vec::new(),
    )
    .0
}

/// Requests read outside the corpus (the usage ledger's): one row each, with its
/// de-duplication key (`None`: never merged).
pub(crate) type OutsideRows = Vec<(Option<u128>, Row)>;

/// [`analyze`] with the requests `outside` returns (given the names and the query, once
/// the corpus's names are interned) de-duplicated together with the corpus's, after them
/// in path order. Also returns which of the outside rows were kept.
pub(crate) fn analyze_with_outside(
    corpus: &Corpus,
    query: Query,
    outside: impl FnOnce(&mut Names, &Query) -> OutsideRows,
) -> (Usage, Vec<bool>) {
    analyze_impl(corpus, query, |_, _| true, outside)
}

fn analyze_impl(
    corpus: &Corpus,
    query: Query,
    keep: impl Fn(usize, &crate::cache::CachedFile) -> bool,
    outside: impl FnOnce(&mut Names, &Query) -> OutsideRows,
) -> (Usage, Vec<bool>) {
    let files: Vec<&crate::cache::CachedFile> = corpus
        .files
        .iter()
        .enumerate()
        .filter(|(i, f)| keep(*i, f))
        .map(|(_, f)| f)
        .collect();
    let phase = crate::trace::phase("analyze: ids and keys");
    let mut names = Names::default();
    let mut summary = Summary {
        files: files.len(),
        unreadable: corpus.stats.unreadable,
        ..Summary::default()
    };
    summary.skips.incomplete_tail = corpus.stats.incomplete_tails as u64;
    let unattributed = names.id(UNATTRIBUTED);
    let unknown_model = names.id(UNKNOWN_MODEL);

    // Pass 1 (sequential): global ids, tool use → agent type, agent → tool use, model
    // prices. (Which files share a request with another file was settled when loading.)
    let mut tool_use_type: FastMap<u32, u32> = FastMap::default();
    let mut agent_tool_use: FastMap<u32, u32> = FastMap::default();
    let mut prices: Vec<Option<Option<ModelPrice>>> = Vec::new();
    let mut ids: Vec<FileIds> = Vec::with_capacity(files.len());
    for file in &files {
        let rec = &file.record;
        summary.lines += rec.lines;
        summary.skips.add(&rec.skips);
        summary.usage_lines += rec.entries.len() as u64;
        let fid = FileIds {
            map: rec.strings.iter().map(|s| names.id(s)).collect(),
            project: names.id(&file.meta.project),
            session: names.id(&file.meta.session),
            agent: file.meta.agent_id.as_deref().map(|a| names.id(a)),
            meta_type: file.meta.meta_agent_type.as_deref().map(|t| names.id(t)),
            meta_tool_use: file.meta.meta_tool_use_id.as_deref().map(|t| names.id(t)),
        };
        for d in &rec.delegations {
            if let (Some(tu), Some(ty)) = (fid.get(d.tool_use_id), fid.get(d.agent_type)) {
                tool_use_type.entry(tu).or_insert(ty);
            }
        }
        for l in &rec.links {
            if let (Some(a), Some(tu)) = (fid.get(l.agent), fid.get(l.tool_use_id)) {
                agent_tool_use.entry(a).or_insert(tu);
            }
        }
        // every model of the file's entries is also the model of one of its buckets
        for &m in &rec.models {
            let model = fid.get(m).unwrap_or(unknown_model) as usize;
            if prices.len() <= model {
                prices.resize(model + 1, None);
            }
            if prices[model].is_none() {
                prices[model] = Some(query.prices.lookup(names.get(model as u32)));
            }
        }
        ids.push(fid);
    }
    let outside = outside(&mut names, &query);
    // a file holding a request also read outside the corpus is read request by request
    let outside_keys: HashSet<u64, BuildHasherDefault<KeyHasher>> = outside
        .iter()
        .filter_map(|(k, _)| k.map(|k| k as u64))
        .collect();
    drop(phase);
    let phase = crate::trace::phase("analyze: rows");

    // Pass 2 (parallel over files): dated, attributed, priced rows.
    let ctx = RowContext {
        query: &query,
        prices: &prices,
        tool_use_type: &tool_use_type,
        agent_tool_use: &agent_tool_use,
        unattributed,
        unknown_model,
    };
    let parts: Vec<FilePart> = files
        .par_iter()
        .zip(ids.par_iter())
        .map(|(file, fid)| {
            let is_shared = file.shared
                || (!outside_keys.is_empty()
                    && file.record.keys.iter().any(|k| outside_keys.contains(&k)));
            let rec = &file.record;
            let mut dates = LocalDates::new(query.tz.clone());
            let mut part = FilePart {
                keyed: Vec::new(),
                rows: Vec::new(),
                delegations: Vec::with_capacity(rec.delegations.len()),
                no_date: 0,
                duplicates: 0,
                undecodable: false,
            };
            // a model whose long-context threshold is not the one the buckets were split at
            // is priced request by request
            let other_threshold = rec.models.iter().any(|&m| {
                let model = fid.get(m).unwrap_or(unknown_model) as usize;
                prices
                    .get(model)
                    .copied()
                    .flatten()
                    .flatten()
                    .is_some_and(|p| {
                        p.long_context.is_some() && p.threshold() != LONG_CONTEXT_THRESHOLD
                    })
            });
            let entries = if is_shared || query.per_request || other_threshold {
                rec.entries()
            } else {
                None
            };
            part.undecodable = is_shared && entries.is_none();
            match entries {
                Some(entries) => {
                    part.keyed.reserve(entries.len());
                    for e in entries.iter() {
                        let input = RowInput {
                            first_ms: e.ts_ms,
                            last_ms: e.ts_ms,
                            requests: 1,
                            model: e.model,
                            session: e.session,
                            agent: e.agent,
                            sidechain: e.sidechain,
                            prev_delegation: e.prev_delegation,
                            tokens: &e.tokens,
                            long_prompt: e.tokens.prompt() > ctx.threshold(fid, e.model),
                            cost_usd: e.cost_usd.map(u128::from),
                        };
                        match (ctx.row(fid, rec, &mut dates, input), e.dedup_key) {
                            (Some(row), Some(key)) => part.keyed.push((key, row)),
                            (Some(row), None) => part.rows.push(row),
                            (None, _) => part.no_date += 1,
                        }
                    }
                }
                None => {
                    part.duplicates = rec.duplicates;
                    // buckets of one file that fall on the same local date (and agree on
                    // the rest) become one row: fewer rows to keep and add up
                    let mut merged: FastMap<RowKey, usize> = FastMap::default();
                    let decoded = rec.for_each_bucket(|b| {
                        let input = RowInput {
                            first_ms: b.first_ms,
                            last_ms: b.last_ms,
                            requests: b.requests,
                            model: b.model,
                            session: b.session,
                            agent: b.agent,
                            sidechain: b.sidechain,
                            prev_delegation: b.prev_delegation,
                            tokens: &b.tokens,
                            long_prompt: b.long_prompt,
                            cost_usd: b.has_cost_usd.then_some(b.cost_usd),
                        };
                        match ctx.row(fid, rec, &mut dates, input) {
                            Some(row) => match merged.entry(RowKey::of(&row)) {
                                std::collections::hash_map::Entry::Occupied(at) => {
                                    part.rows[*at.get()].merge(&row);
                                }
                                std::collections::hash_map::Entry::Vacant(at) => {
                                    at.insert(part.rows.len());
                                    part.rows.push(row);
                                }
                            },
                            None => part.no_date += b.requests,
                        }
                    });
                    part.undecodable |= !decoded;
                }
            }
            for d in &rec.delegations {
                let date = if d.ts_ms == i64::MIN {
                    None
                } else {
                    dates.date(d.ts_ms)
                };
                part.delegations.push((
                    fid.get(d.tool_use_id),
                    DelegationRow {
                        ts_ms: d.ts_ms,
                        date,
                        agent_type: fid.get(d.agent_type).unwrap_or(unattributed),
                        session: fid.get(d.session).unwrap_or(fid.session),
                        project: fid.project,
                        prompt_len: d.prompt_len,
                    },
                ));
            }
            part
        })
        .collect();

    drop(phase);
    let _phase = crate::trace::phase("analyze: de-duplicate");
    // Pass 3 (sequential, path order): de-duplication of the entry rows across files.
    let n_rows: usize = parts.iter().map(|p| p.rows.len() + p.keyed.len()).sum();
    let mut rows: Vec<Row> = Vec::with_capacity(n_rows);
    let mut seen: KeyMap<usize> = KeyMap::default();
    let mut delegations = Vec::new();
    let mut seen_tool_uses: HashSet<u32, BuildHasherDefault<FastHasher>> = Default::default();
    for part in parts {
        summary.skips.no_timestamp += part.no_date;
        summary.duplicates += part.duplicates;
        if part.undecodable {
            summary.undecodable_cache_files += 1;
        }
        rows.extend(part.rows);
        for (k, row) in part.keyed {
            match seen.get(&k) {
                Some(&i) => {
                    summary.duplicates += 1;
                    if row.beats(&rows[i]) {
                        rows[i] = row;
                    }
                }
                None => {
                    seen.insert(k, rows.len());
                    rows.push(row);
                }
            }
        }
        for (tool_use, d) in part.delegations {
            if tool_use.is_some_and(|tu| !seen_tool_uses.insert(tu)) {
                continue;
            }
            delegations.push(d);
        }
    }
    // the outside rows last; which of them are kept (the keyed ones by the index of the
    // kept row of their key)
    let mut outside_kept = vec![false; outside.len()];
    let mut outside_at: KeyMap<usize> = KeyMap::default();
    for (n, (key, row)) in outside.into_iter().enumerate() {
        let Some(k) = key else {
            outside_kept[n] = true;
            rows.push(row);
            continue;
        };
        match seen.get(&k) {
            Some(&i) => {
                if row.beats(&rows[i]) {
                    rows[i] = row;
                    if let Some(before) = outside_at.insert(k, n) {
                        outside_kept[before] = false;
                    }
                    outside_kept[n] = true;
                }
            }
            None => {
                seen.insert(k, rows.len());
                outside_at.insert(k, n);
                outside_kept[n] = true;
                rows.push(row);
            }
        }
    }
    for r in &rows {
        if !r.priced {
            let slot = summary
                .unpriced
                .entry(names.get(r.model).to_owned())
                .or_insert((0, 0));
            slot.0 += r.requests;
            slot.1 += r.tokens.total();
        }
    }
    let in_range = |d: Date| {
        !matches!(query.since, Some(s) if d < s) && !matches!(query.until, Some(u) if d > u)
    };
    rows.retain(|r| in_range(r.date));
    delegations.retain(|d| !matches!(d.date, Some(date) if !in_range(date)));
    let usage = Usage {
        names,
        rows,
        delegations,
        summary,
        query,
    };
    (usage, outside_kept)
}
