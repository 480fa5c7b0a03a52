//! The usage only the ledger still knows (its transcripts were deleted, or it came from
//! another machine's ledger), as report rows.
//!
//! A group of a transcript that is still on disk is covered by the corpus (the corpus reads
//! that transcript, and the ledger was just brought up to date with it), except groups of
//! an older generation (the transcript was rewritten since): their keyed entries are
//! checked like deleted ones. Every other entry counts once per key with the copies the
//! corpus holds, by the rule the reports use: the copy with the largest token total, on a
//! tie a sub-agent's copy before a main-chain one, then the corpus's copy, then the first
//! written. (A tie broken by path order in a report of the transcripts alone — two
//! sub-agent copies, or two main-chain ones — is broken here in favour of the corpus's
//! copy: the ledger keeps no paths.)

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

use super::format::{decode_group, frame_str, RawEntry, G_IMPORTED};
use super::record::{source_of, RootInfo};
use super::store::Store;
use super::LedgerNotice;
use crate::corpus::Corpus;
use crate::strings::Interner;
use crate::usage::UNATTRIBUTED;
use crate::usage::{CostMode, KeyHasher, KeyMap, Names, OutsideRows, Query, Row, Usage};

/// How many entries of a report came from the ledger alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerOnly {
    /// Entries whose transcripts are gone.
    pub deleted: u64,
    /// Entries merged in from other ledgers (`import`) and not in any transcript here.
    pub imported: u64,
}

/// A group that may hold entries the corpus does not have.
struct Candidate {
    group: u32,
    /// Its keyless entries are covered (their transcript is on disk).
    keyless_covered: bool,
}

/// A ledger entry with its frame, its group's project and whether it was imported.
type LedgerEntry = (RawEntry, u32, u32, bool);

/// The ledger's entries that the corpus does not hold, one per key, and whether some of
/// their keys are also the corpus's (then the copies must be compared).
fn ledger_only_entries(
    store: &Store,
    roots: &[RootInfo],
    corpus: &Corpus,
    notices: &mut Vec<LedgerNotice>,
) -> (Vec<LedgerEntry>, bool) {
    // source → entries the corpus holds of it
    let present: super::record::IdMap<u64> = corpus
        .files
        .iter()
        .filter_map(|f| source_of(roots, &f.path).map(|(_, s)| (s, f.record.entries.len() as u64)))
        .collect();
    let mut candidates = Vec::new();
    for (source, st) in &store.sources {
        let held = present.get(source).copied();
        let on_disk = held.is_some();
        for (i, &g) in st.groups.iter().enumerate() {
            let (_, _, head) = store.group(g);
            // the corpus holds this group's entries (same generation, at least as many)
            if held.is_some_and(|n| i >= st.gen_start && head.first + head.count <= n) {
                continue;
            }
            candidates.push(Candidate {
                group: g,
                keyless_covered: on_disk,
            });
        }
    }
    candidates.extend(store.imported.iter().map(|&g| Candidate {
        group: g,
        keyless_covered: false,
    }));
    if candidates.is_empty() {
        return (Vec::new(), false);
    }
    // the groups in file order, so that "the first on a tie" is the first written
    candidates.sort_by_key(|c| c.group);
    let mut corpus_keys: HashSet<u64, BuildHasherDefault<KeyHasher>> = HashSet::default();
    for f in &corpus.files {
        corpus_keys.extend(f.record.keys.iter());
    }
    let mut best: KeyMap<usize> = KeyMap::default();
    let mut out: Vec<LedgerEntry> = Vec::new();
    let mut contested = false;
    // the body of the frame being read
    let mut body: Option<(u32, Option<Vec<u8>>)> = None;
    for c in candidates {
        let (frame_id, frame, g) = store.group(c.group);
        if body.as_ref().is_none_or(|(f, _)| *f != frame_id) {
            let read = match store.body(frame_id) {
                Ok(Some(b)) => Some(b),
                Ok(None) => {
                    let f = &store.frames[frame_id as usize];
                    notices.push(LedgerNotice::Damaged {
                        path: store.path.clone(),
                        offset: f.body_at,
                        bytes: f.lens.body_len as u64,
                    });
                    None
                }
                Err(e) => {
                    notices.push(LedgerNotice::Unusable {
                        error: std::sync::Arc::new(e),
                    });
                    None
                }
            };
            body = Some((frame_id, read));
        }
        let Some((_, Some(bytes))) = &body else {
            continue;
        };
        let Some(entries) = decode_group(bytes, frame, g) else {
            continue;
        };
        let imported = g.flags & G_IMPORTED != 0;
        for e in entries {
            if e.keyless() {
                if c.keyless_covered {
                    continue;
                }
            } else {
                contested |= corpus_keys.contains(&(e.key as u64));
            }
            match best.get(&e.key) {
                Some(&i) => {
                    if e.rank() > out[i].0.rank() {
                        out[i] = (e, frame_id, g.project, imported);
                    }
                }
                None => {
                    best.insert(e.key, out.len());
                    out.push((e, frame_id, g.project, imported));
                }
            }
        }
    }
    (out, contested)
}

/// What rows must agree on to be merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct RowKey {
    date: jiff::civil::Date,
    model: u32,
    session: u32,
    project: u32,
    agent_type: Option<u32>,
    priced: bool,
}

/// A ledger-only entry, its strings resolved into [`LedgerOnlyEntries::strings`] (no
/// reference into the ledger file's frames).
#[derive(Debug, Clone, Copy)]
struct ResolvedEntry {
    entry: RawEntry,
    model: u32,
    session: u32,
    project: u32,
    /// The agent type (a link written after the entry already applied).
    agent_type: Option<u32>,
    imported: bool,
}

/// The entries only the ledger holds for one state of a corpus (see
/// [`super::Ledger::ledger_only_entries`]): read and decoded once, then added to any number
/// of analyses of that corpus (each query dates and prices them its own way).
#[derive(Debug, Default)]
pub struct LedgerOnlyEntries {
    strings: Interner,
    entries: Vec<ResolvedEntry>,
    /// Some of their keys are also the corpus's.
    contested: bool,
}

impl LedgerOnlyEntries {
    /// How many entries only the ledger holds (before any date range).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the corpus holds every entry of the ledger.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds these entries to `usage` (built from `corpus`, the corpus they were read
    /// against, with [`crate::usage::analyze`]) as [`super::Ledger::add_ledger_only`]
    /// does.
    pub fn add_to(&self, corpus: &Corpus, usage: &mut Usage) -> LedgerOnly {
        add_resolved(self, corpus, usage)
    }

    /// Resolves the strings of `entries` (read from `store`).
    fn resolve(store: &Store, entries: Vec<LedgerEntry>, contested: bool) -> Self {
        let mut strings = Interner::default();
        let entries = entries
            .into_iter()
            .map(|(e, frame_id, project, imported)| {
                let frame = &store.frames[frame_id as usize].head;
                let s = |i: u32| frame_str(frame, i);
                // interned in the order the rows intern them (model, session, project,
                // agent type), so that names get the numbers they got before
                let model = strings.id(s(e.model));
                let session = strings.id(s(e.session));
                let project = strings.id(s(project));
                let agent_type = e.has_agent().then(|| {
                    let recorded = s(e.agent_type);
                    // an agent whose link to its delegation was written after its entries
                    let ty = match store.links.get(s(e.agent_id)) {
                        Some(t) if recorded == UNATTRIBUTED => t.as_str(),
                        _ => recorded,
                    };
                    strings.id(ty)
                });
                ResolvedEntry {
                    entry: e,
                    model,
                    session,
                    project,
                    agent_type,
                    imported,
                }
            })
            .collect();
        LedgerOnlyEntries {
            strings,
            entries,
            contested,
        }
    }

    /// One row per entry (its strings interned in `names`, dated and priced by `query`),
    /// with its key (`None`: keyless) and whether it was imported; entries without a local
    /// date are left out.
    fn rows(&self, names: &mut Names, query: &Query) -> Vec<(Option<u128>, Row, bool)> {
        let mut dates = crate::time::LocalDates::new(query.tz.clone());
        let mut prices: HashMap<u32, Option<crate::pricing::ModelPrice>> = HashMap::new();
        let mut out = Vec::with_capacity(self.entries.len());
        let s = |i: u32| self.strings.get(i);
        for r in &self.entries {
            let e = &r.entry;
            let model = names.id(s(r.model));
            let session = names.id(s(r.session));
            let project = names.id(s(r.project));
            let agent_type = r.agent_type.map(|t| names.id(s(t)));
            let price = *prices
                .entry(model)
                .or_insert_with(|| query.prices.lookup(names.get(model)));
            let (cost, priced) = match (query.mode, e.cost_usd()) {
                (CostMode::Auto, Some(c)) | (CostMode::Display, Some(c)) => (u128::from(c), true),
                (CostMode::Display, None) => (0, true),
                _ => match price {
                    Some(p) => (p.cost(&e.tokens), true),
                    None => (0, false),
                },
            };
            let Some(date) = dates.date(e.ts_ms) else {
                continue;
            };
            let row = Row {
                first_ms: e.ts_ms,
                last_ms: e.ts_ms,
                requests: 1,
                date,
                model,
                session,
                project,
                tokens: e.tokens,
                cost,
                priced,
                agent_type,
            };
            out.push(((!e.keyless()).then_some(e.key), row, r.imported));
        }
        out
    }
}

/// The ledger-only entries of `corpus`, resolved.
pub(super) fn read_entries(
    store: &Store,
    roots: &[RootInfo],
    corpus: &Corpus,
    notices: &mut Vec<LedgerNotice>,
) -> LedgerOnlyEntries {
    let (entries, contested) = ledger_only_entries(store, roots, corpus, notices);
    LedgerOnlyEntries::resolve(store, entries, contested)
}

/// Adds the ledger-only entries to `usage` as rows (dated, priced and filtered by its
/// query, like the corpus's) and returns how many there are in its date range. When some
/// of them are also in the corpus, `usage` is made again from `corpus` with them, so that
/// each such request counts as the copy the de-duplication rule picks.
pub(super) fn add_rows(
    store: &Store,
    roots: &[RootInfo],
    corpus: &Corpus,
    usage: &mut Usage,
    notices: &mut Vec<LedgerNotice>,
) -> LedgerOnly {
    add_resolved(&read_entries(store, roots, corpus, notices), corpus, usage)
}

/// [`add_rows`] with the entries read already.
fn add_resolved(only: &LedgerOnlyEntries, corpus: &Corpus, usage: &mut Usage) -> LedgerOnly {
    let mut counts = LedgerOnly::default();
    if only.is_empty() {
        return counts;
    }
    let q = &usage.query;
    let in_range = |d: jiff::civil::Date| {
        !matches!(q.since, Some(s) if d < s) && !matches!(q.until, Some(u) if d > u)
    };
    let mut count = |imported: bool| {
        if imported {
            counts.imported += 1;
        } else {
            counts.deleted += 1;
        }
    };
    if only.contested {
        let mut imported = Vec::new();
        let mut dates = Vec::new();
        let (made, kept) = crate::usage::analyze_with_outside(corpus, q.clone(), |names, q| {
            let rows = only.rows(names, q);
            imported = rows.iter().map(|r| r.2).collect();
            dates = rows.iter().map(|r| r.1.date).collect();
            rows.into_iter()
                .map(|(k, r, _)| (k, r))
                .collect::<OutsideRows>()
        });
        for ((kept, imported), date) in kept.into_iter().zip(imported).zip(dates) {
            if kept && in_range(date) {
                count(imported);
            }
        }
        *usage = made;
        return counts;
    }
    let rows = only.rows(&mut usage.names, q);
    let mut merged: HashMap<RowKey, usize> = HashMap::new();
    let mut out: Vec<Row> = Vec::new();
    for (_, row, imported) in rows {
        if !row.priced {
            let slot = usage
                .summary
                .unpriced
                .entry(usage.names.get(row.model).to_owned())
                .or_insert((0, 0));
            slot.0 += 1;
            slot.1 += row.tokens.total();
        }
        if !in_range(row.date) {
            continue;
        }
        count(imported);
        let key = RowKey {
            date: row.date,
            model: row.model,
            session: row.session,
            project: row.project,
            agent_type: row.agent_type,
            priced: row.priced,
        };
        match merged.get(&key) {
            Some(&i) => {
                let r = &mut out[i];
                r.first_ms = r.first_ms.min(row.first_ms);
                r.last_ms = r.last_ms.max(row.last_ms);
                r.requests += 1;
                r.tokens.add(&row.tokens);
                r.cost += row.cost;
            }
            None => {
                merged.insert(key, out.len());
                out.push(row);
            }
        }
    }
    usage.rows.extend(out);
    counts
}
