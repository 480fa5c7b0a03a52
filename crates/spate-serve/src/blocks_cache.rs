//! `/api/blocks` without one row per request for each request.
//!
//! A blocks report needs every de-duplicated request in time order (one row each: about
//! 18 MB at its peak on a 2,354-file tree, against a few hundred kilobytes for the blocks
//! themselves). Everything that needs the requests is cut once per snapshot generation
//! ([`spate_agents::blocks::cut`]) and kept here; each request then only applies the
//! present (which block is active), the date range, order and limits
//! ([`spate_agents::blocks::CutBlocks::select`]). The cut depends on what the rows are made
//! of (time zone, cost mode, projects, block length): a few such variants are kept, so a
//! dashboard that asks for another time zone or project is served from here too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use spate_agents::blocks::{self, CutBlocks};
use spate_agents::jiff::tz::TimeZone;
use spate_agents::usage::{self, CostMode, Query};

/// How many variants of one generation are kept.
const VARIANTS: usize = 4;

/// What blocks are cut from: everything a blocks report's rows depend on.
#[derive(Debug, Clone, PartialEq)]
pub struct CutKey {
    /// The time zone of the rows' dates.
    pub tz: TimeZone,
    /// The cost mode.
    pub mode: CostMode,
    /// The projects kept (empty: all), as the request names them.
    pub projects: Vec<String>,
    /// The block length.
    pub session_ms: i64,
}

impl CutKey {
    /// The key of a blocks request: its query (one row per request, no date range) and the
    /// report's projects and block length.
    pub fn of(query: &Query, projects: &[String], session_ms: i64) -> CutKey {
        CutKey {
            tz: query.tz.clone(),
            mode: query.mode,
            projects: projects.to_vec(),
            session_ms,
        }
    }
}

#[derive(Debug, Default)]
struct Cached {
    generation: u64,
    /// Most recently used last.
    variants: Vec<(CutKey, Arc<CutBlocks>)>,
}

/// The blocks cut for the current generation (see the module documentation).
#[derive(Debug, Default)]
pub struct BlocksCache {
    cached: Mutex<Cached>,
    cuts: AtomicU64,
}

impl BlocksCache {
    /// The blocks of `key` at `generation` (or a later one): kept ones, or cut from
    /// `analyze(query)` (which must return one row per request of the corpus at
    /// `generation` or later). One cut at
    /// a time: a second request for the same variant waits for the first and uses its
    /// blocks, and only one set of per-request rows is in memory at once.
    pub fn get(
        &self,
        generation: u64,
        key: &CutKey,
        query: Query,
        analyze: impl FnOnce(Query) -> usage::Usage,
    ) -> Arc<CutBlocks> {
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        // (a request that read the generation before the last one was published uses the
        // newer blocks: they are at least as recent as the corpus it would analyse)
        if generation > cached.generation {
            cached.generation = generation;
            cached.variants.clear();
        }
        if let Some(at) = cached.variants.iter().position(|(k, _)| k == key) {
            let hit = cached.variants.remove(at);
            let cuts = hit.1.clone();
            cached.variants.push(hit);
            return cuts;
        }
        self.cuts.fetch_add(1, Ordering::Relaxed);
        let cuts = {
            let mut usage = analyze(query);
            usage::retain_projects(&mut usage, &key.projects);
            Arc::new(blocks::cut(&usage, key.session_ms))
        };
        if cached.variants.len() >= VARIANTS {
            cached.variants.remove(0);
        }
        cached.variants.push((key.clone(), cuts.clone()));
        cuts
    }

    /// How many times blocks were cut (each an analysis with one row per request).
    pub fn cuts(&self) -> u64 {
        self.cuts.load(Ordering::Relaxed)
    }

    /// How many variants are kept.
    pub fn variants(&self) -> usize {
        self.cached
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .variants
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty(query: Query) -> usage::Usage {
        usage::Usage {
            names: usage::Names::default(),
            rows: Vec::new(),
            delegations: Vec::new(),
            summary: usage::Summary::default(),
            query,
        }
    }

    #[test]
    fn a_variant_is_cut_once_per_generation_and_a_few_are_kept() {
        let cache = BlocksCache::default();
        let q = Query {
            per_request: true,
            ..Query::default()
        };
        let mut cuts = 0;
        let mut count = |q: Query| {
            cuts += 1;
            empty(q)
        };
        let key = |s: i64| CutKey::of(&q, &[], s);
        cache.get(1, &key(1), q.clone(), &mut count);
        cache.get(1, &key(1), q.clone(), &mut count);
        assert_eq!(cache.variants(), 1);
        for s in 2..=6 {
            cache.get(1, &key(s), q.clone(), &mut count);
        }
        assert_eq!(cache.variants(), VARIANTS);
        // the oldest went first; a new generation starts over
        cache.get(1, &key(6), q.clone(), &mut count);
        cache.get(1, &key(1), q.clone(), &mut count);
        cache.get(2, &key(1), q.clone(), &mut count);
        assert_eq!(cache.variants(), 1);
        assert_eq!(cuts, 8);
        assert_eq!(cache.cuts(), 8);
    }
}
