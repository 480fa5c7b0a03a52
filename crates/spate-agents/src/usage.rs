//! From loaded files to de-duplicated, priced, dated usage rows and delegations.
//!
//! De-duplication rule: usage lines with the same `message.id` and `requestId` are one API
//! response written several times; it counts once, as the copy with the largest token total
//! (on a tie, the first copy in path order, then line order). Lines missing either id are
//! never merged.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

use rayon::prelude::*;

use crate::load::Corpus;
use crate::model::{SkipCounts, StrIdx, Tokens};
use crate::pricing::{ModelPrice, PriceTable};
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
        }
    }
}

/// Global string table (model, session, project, agent names).
#[derive(Debug, Default)]
pub struct Names {
    list: Vec<String>,
    map: HashMap<String, u32>,
}

impl Names {
    /// Id of `s`, adding it if new.
    pub fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.map.get(s) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(s.to_owned());
        self.map.insert(s.to_owned(), i);
        i
    }

    /// The string of an id.
    pub fn get(&self, id: u32) -> &str {
        self.list.get(id as usize).map_or("", String::as_str)
    }
}

/// One de-duplicated API response.
#[derive(Debug, Clone)]
pub struct Row {
    /// Time in ms since the epoch.
    pub ts_ms: i64,
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

/// Label for sub-agent usage that cannot be tied to an agent type.
pub const UNATTRIBUTED: &str = "(unattributed)";
/// Model label of usage lines without `message.model`.
pub const UNKNOWN_MODEL: &str = "unknown";

/// The de-duplication keys are already well-mixed 128-bit hashes: hashing them again with
/// SipHash is wasted work, so the map uses their low 64 bits directly.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | self.0 >> 56) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

type KeyMap<V> = HashMap<u128, V, BuildHasherDefault<KeyHasher>>;

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

/// What one file contributes before de-duplication.
struct FilePart {
    rows: Vec<(Option<u128>, Row)>,
    delegations: Vec<(Option<u32>, DelegationRow)>,
    no_date: u64,
}

/// Builds the usage of a corpus: strings are interned first (sequentially), then each file's
/// rows are dated, attributed and priced in parallel, then merged in path order, which is
/// where duplicates are dropped.
pub fn analyze(corpus: &Corpus, query: Query) -> Usage {
    let mut names = Names::default();
    let mut summary = Summary {
        files: corpus.files.len(),
        unreadable: corpus.stats.unreadable,
        ..Summary::default()
    };
    summary.skips.incomplete_tail = corpus.stats.incomplete_tails as u64;
    let unattributed = names.id(UNATTRIBUTED);
    let unknown_model = names.id(UNKNOWN_MODEL);

    // Pass 1 (sequential): global ids, tool use → agent type, agent → tool use, model prices.
    let mut tool_use_type: HashMap<u32, u32> = HashMap::new();
    let mut agent_tool_use: HashMap<u32, u32> = HashMap::new();
    let mut prices: Vec<Option<Option<ModelPrice>>> = Vec::new();
    let mut ids: Vec<FileIds> = Vec::with_capacity(corpus.files.len());
    for file in &corpus.files {
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
        for e in &rec.entries {
            let model = fid.get(e.model).unwrap_or(unknown_model) as usize;
            if prices.len() <= model {
                prices.resize(model + 1, None);
            }
            if prices[model].is_none() {
                prices[model] = Some(query.prices.lookup(names.get(model as u32)));
            }
        }
        ids.push(fid);
    }

    // Pass 2 (parallel over files): dated, attributed, priced rows.
    let parts: Vec<FilePart> = corpus
        .files
        .par_iter()
        .zip(ids.par_iter())
        .map(|(file, fid)| {
            let rec = &file.record;
            let mut dates = LocalDates::new(query.tz.clone());
            let mut part = FilePart {
                rows: Vec::with_capacity(rec.entries.len()),
                delegations: Vec::with_capacity(rec.delegations.len()),
                no_date: 0,
            };
            for e in &rec.entries {
                let Some(date) = dates.date(e.ts_ms) else {
                    part.no_date += 1;
                    continue;
                };
                let model = fid.get(e.model).unwrap_or(unknown_model);
                let session = fid.get(e.session).unwrap_or(fid.session);
                let agent_type = if fid.agent.is_some() || e.sidechain {
                    let agent = fid.get(e.agent).or(fid.agent);
                    let via_link = agent
                        .and_then(|a| agent_tool_use.get(&a))
                        .or(fid.meta_tool_use.as_ref())
                        .and_then(|tu| tool_use_type.get(tu))
                        .copied();
                    let positional = if e.sidechain && fid.agent.is_none() {
                        rec.delegations
                            .get(e.prev_delegation as usize)
                            .and_then(|d| fid.get(d.agent_type))
                    } else {
                        None
                    };
                    Some(
                        fid.meta_type
                            .or(via_link)
                            .or(positional)
                            .unwrap_or(unattributed),
                    )
                } else {
                    None
                };
                let price = prices.get(model as usize).copied().flatten().flatten();
                let (cost, priced) = match (query.mode, e.cost_usd) {
                    (CostMode::Auto, Some(c)) | (CostMode::Display, Some(c)) => {
                        (u128::from(c), true)
                    }
                    (CostMode::Display, None) => (0, true),
                    _ => match price {
                        Some(p) => (p.cost(&e.tokens), true),
                        None => (0, false),
                    },
                };
                part.rows.push((
                    e.dedup_key,
                    Row {
                        ts_ms: e.ts_ms,
                        date,
                        model,
                        session,
                        project: fid.project,
                        tokens: e.tokens,
                        cost,
                        priced,
                        agent_type,
                    },
                ));
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

    // Pass 3 (sequential, path order): de-duplication.
    let n_rows: usize = parts.iter().map(|p| p.rows.len()).sum();
    let mut rows: Vec<Row> = Vec::with_capacity(n_rows);
    let mut seen: KeyMap<usize> = KeyMap::with_capacity_and_hasher(n_rows, Default::default());
    let mut delegations = Vec::new();
    let mut seen_tool_uses: HashSet<u32> = HashSet::new();
    for part in parts {
        summary.skips.no_timestamp += part.no_date;
        for (key, row) in part.rows {
            match key {
                Some(k) => match seen.get(&k) {
                    Some(&i) => {
                        summary.duplicates += 1;
                        if row.tokens.total() > rows[i].tokens.total() {
                            rows[i] = row;
                        }
                    }
                    None => {
                        seen.insert(k, rows.len());
                        rows.push(row);
                    }
                },
                None => rows.push(row),
            }
        }
        for (tool_use, d) in part.delegations {
            if tool_use.is_some_and(|tu| !seen_tool_uses.insert(tu)) {
                continue;
            }
            delegations.push(d);
        }
    }
    for r in &rows {
        if !r.priced {
            let slot = summary
                .unpriced
                .entry(names.get(r.model).to_owned())
                .or_insert((0, 0));
            slot.0 += 1;
            slot.1 += r.tokens.total();
        }
    }
    let in_range =
        |d: Date| query.since.map_or(true, |s| d >= s) && query.until.map_or(true, |u| d <= u);
    rows.retain(|r| in_range(r.date));
    delegations.retain(|d| d.date.map_or(true, in_range));
    Usage {
        names,
        rows,
        delegations,
        summary,
        query,
    }
}
