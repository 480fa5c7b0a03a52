//! The usage only the ledger still knows (its transcripts were deleted, or it came from
//! another machine's ledger), as report rows.
//!
//! A group of a transcript that is still on disk is covered by the corpus (the corpus reads
//! that transcript, and the ledger was just brought up to date with it), except groups of
//! an older generation (the transcript was rewritten since): their keyed entries are
//! checked like deleted ones. Every other entry counts unless its key is among the
//! corpus's de-duplication keys; entries of the ledger with one key count once, as the copy
//! with the largest token total (the first on a tie), the rule the reports use.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

use super::format::{decode_group, frame_str, RawEntry, G_IMPORTED};
use super::record::{source_of, RootInfo};
use super::store::Store;
use super::LedgerNotice;
use crate::corpus::Corpus;
use crate::usage::{CostMode, KeyHasher, KeyMap, Row, Usage, UNATTRIBUTED};

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

/// The ledger's entries that the corpus does not hold: `(entry, frame, imported)`, one
/// per key.
fn ledger_only_entries(
    store: &Store,
    roots: &[RootInfo],
    corpus: &Corpus,
    notices: &mut Vec<LedgerNotice>,
) -> Vec<(RawEntry, u32, u32, bool)> {
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
        return Vec::new();
    }
    // the groups in file order, so that "the first on a tie" is the first written
    candidates.sort_by_key(|c| c.group);
    let mut corpus_keys: HashSet<u64, BuildHasherDefault<KeyHasher>> = HashSet::default();
    for f in &corpus.files {
        corpus_keys.extend(f.record.keys.iter());
    }
    let mut best: KeyMap<usize> = KeyMap::default();
    let mut out: Vec<(RawEntry, u32, u32, bool)> = Vec::new();
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
            } else if corpus_keys.contains(&(e.key as u64)) {
                continue;
            }
            match best.get(&e.key) {
                Some(&i) => {
                    if e.tokens.total() > out[i].0.tokens.total() {
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
    out
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

/// Adds the ledger-only entries to `usage` as rows (dated, priced and filtered by its
/// query, like the corpus's) and returns how many there are in its date range.
pub(super) fn add_rows(
    store: &Store,
    roots: &[RootInfo],
    corpus: &Corpus,
    usage: &mut Usage,
    notices: &mut Vec<LedgerNotice>,
) -> LedgerOnly {
    let entries = ledger_only_entries(store, roots, corpus, notices);
    let mut counts = LedgerOnly::default();
    if entries.is_empty() {
        return counts;
    }
    let q = &usage.query;
    let mut dates = crate::time::LocalDates::new(q.tz.clone());
    let mut prices: HashMap<u32, Option<crate::pricing::ModelPrice>> = HashMap::new();
    let mut merged: HashMap<RowKey, usize> = HashMap::new();
    let mut rows: Vec<Row> = Vec::new();
    for (e, frame_id, project, imported) in entries {
        let frame = &store.frames[frame_id as usize].head;
        let s = |i: u32| frame_str(frame, i);
        let model = usage.names.id(s(e.model));
        let session = usage.names.id(s(e.session));
        let project = usage.names.id(s(project));
        let agent_type = e.has_agent().then(|| {
            let recorded = s(e.agent_type);
            // an agent whose link to its delegation was written after its entries
            let ty = match store.links.get(s(e.agent_id)) {
                Some(t) if recorded == UNATTRIBUTED => t.as_str(),
                _ => recorded,
            };
            usage.names.id(ty)
        });
        let price = *prices
            .entry(model)
            .or_insert_with(|| q.prices.lookup(usage.names.get(model)));
        let (cost, priced) = match (q.mode, e.cost_usd()) {
            (CostMode::Auto, Some(c)) | (CostMode::Display, Some(c)) => (u128::from(c), true),
            (CostMode::Display, None) => (0, true),
            _ => match price {
                Some(p) => (p.cost(&e.tokens), true),
                None => (0, false),
            },
        };
        if !priced {
            let slot = usage
                .summary
                .unpriced
                .entry(usage.names.get(model).to_owned())
                .or_insert((0, 0));
            slot.0 += 1;
            slot.1 += e.tokens.total();
        }
        let Some(date) = dates.date(e.ts_ms) else {
            continue;
        };
        if matches!(q.since, Some(d) if date < d) || matches!(q.until, Some(d) if date > d) {
            continue;
        }
        if imported {
            counts.imported += 1;
        } else {
            counts.deleted += 1;
        }
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
        let key = RowKey {
            date,
            model,
            session,
            project,
            agent_type,
            priced,
        };
        match merged.get(&key) {
            Some(&i) => {
                let r = &mut rows[i];
                r.first_ms = r.first_ms.min(row.first_ms);
                r.last_ms = r.last_ms.max(row.last_ms);
                r.requests += 1;
                r.tokens.add(&row.tokens);
                r.cost += row.cost;
            }
            None => {
                merged.insert(key, rows.len());
                rows.push(row);
            }
        }
    }
    usage.rows.extend(rows);
    counts
}
