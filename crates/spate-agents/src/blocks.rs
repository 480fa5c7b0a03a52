//! Five-hour billing blocks, as ccusage's `blocks` report defines them.
//!
//! The de-duplicated requests, in time order, are cut into blocks: a block starts at the
//! UTC hour of its first request and lasts the session length (5 hours); a request more than
//! that after the block's start, or more than that after the previous request, starts a new
//! block (a request exactly at the end still belongs to the block). When the pause before
//! it exceeds the session length, a *gap* block spans from the end of the last request's
//! session length to the new request. A block is *active* when its last request is less than
//! the session length ago and it has not ended. Its burn rate is its tokens and cost over the
//! minutes between its first and last request; its projection adds that rate over the
//! minutes left (rounded). Dates (`since`, `until`) select blocks by the local date of their
//! start.

use jiff::civil::Date;

use crate::model::Tokens;
use crate::time::LocalDates;
use crate::usage::Usage;

/// Milliseconds in one minute.
const MINUTE_MS: i64 = 60_000;
/// Milliseconds in one hour.
const HOUR_MS: i64 = 60 * MINUTE_MS;
/// `--recent` keeps the blocks that started within this many days (and the active one).
pub const RECENT_DAYS: i64 = 3;
/// A projection above this share of the token limit is a warning.
pub const WARNING_SHARE: f64 = 0.8;

/// The token limit a block is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenLimit {
    /// A number of tokens.
    Tokens(u64),
    /// The most tokens of any finished block.
    Max,
}

impl TokenLimit {
    /// `"max"` (or empty) or a whole number of tokens.
    pub fn parse(s: &str) -> Option<TokenLimit> {
        match s.trim() {
            "" | "max" => Some(TokenLimit::Max),
            n => n.parse().ok().map(TokenLimit::Tokens),
        }
    }
}

/// What to build.
#[derive(Debug, Clone)]
pub struct BlockOptions {
    /// Block length in milliseconds (5 hours).
    pub session_ms: i64,
    /// The present, in ms since the epoch (decides which block is active).
    pub now_ms: i64,
    /// First local start date to keep.
    pub since: Option<Date>,
    /// Last local start date to keep.
    pub until: Option<Date>,
    /// Latest block first.
    pub descending: bool,
    /// Only blocks started in the last [`RECENT_DAYS`] days, and the active one.
    pub recent: bool,
    /// Only the active block.
    pub active_only: bool,
    /// The limit to measure projections against.
    pub token_limit: Option<TokenLimit>,
}

impl Default for BlockOptions {
    fn default() -> Self {
        BlockOptions {
            session_ms: 5 * HOUR_MS,
            now_ms: jiff::Timestamp::now().as_millisecond(),
            since: None,
            until: None,
            descending: false,
            recent: false,
            active_only: false,
            token_limit: None,
        }
    }
}

/// One block, or a gap between blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// Start (a whole UTC hour for a block; for a gap, the end of the previous activity).
    pub start_ms: i64,
    /// End (start plus the session length; for a gap, the next request).
    pub end_ms: i64,
    /// The last request (`None` for a gap).
    pub actual_end_ms: Option<i64>,
    /// The first request (`None` for a gap).
    pub first_ms: Option<i64>,
    /// Still running at `now_ms`.
    pub is_active: bool,
    /// A pause, not a block.
    pub is_gap: bool,
    /// De-duplicated requests.
    pub entries: u64,
    /// Token sums.
    pub tokens: Tokens,
    /// Cost in picodollars of the priced requests.
    pub cost: u128,
    /// Requests of models without a price.
    pub unpriced: u64,
    /// Models, in order of first use.
    pub models: Vec<String>,
}

/// Tokens and cost per unit of time of an active block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnRate {
    /// All tokens per minute.
    pub tokens_per_minute: f64,
    /// Input and output tokens (no cache) per minute.
    pub tokens_per_minute_for_indicator: f64,
    /// US dollars per hour.
    pub cost_per_hour: f64,
}

/// Where an active block ends up at its burn rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    /// Tokens at the end of the block.
    pub total_tokens: u64,
    /// US dollars at the end of the block, rounded to cents.
    pub total_cost: f64,
    /// Whole minutes left.
    pub remaining_minutes: u64,
}

/// A projection measured against the token limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitStatus {
    /// The limit in tokens.
    pub limit: u64,
    /// Projected tokens.
    pub projected: u64,
    /// Projected tokens in percent of the limit.
    pub percent_used: f64,
    /// `ok`, `warning` (above [`WARNING_SHARE`]) or `exceeds`.
    pub status: &'static str,
}

impl Block {
    /// Total tokens.
    pub fn total_tokens(&self) -> u64 {
        self.tokens.total()
    }

    /// The burn rate over the minutes between the first and the last request (`None` for a
    /// gap or a block whose requests share one instant).
    pub fn burn_rate(&self) -> Option<BurnRate> {
        let (first, last) = (self.first_ms?, self.actual_end_ms?);
        if self.is_gap {
            return None;
        }
        let minutes = (last - first) as f64 / MINUTE_MS as f64;
        if minutes <= 0.0 {
            return None;
        }
        let dollars = self.cost as f64 / crate::pricing::PICO_PER_USD as f64;
        Some(BurnRate {
            tokens_per_minute: self.total_tokens() as f64 / minutes,
            tokens_per_minute_for_indicator: (self.tokens.input + self.tokens.output) as f64
                / minutes,
            cost_per_hour: dollars / minutes * 60.0,
        })
    }

    /// The active block's usage at its end, at the current burn rate.
    pub fn projection(&self, now_ms: i64) -> Option<Projection> {
        if !self.is_active || self.is_gap {
            return None;
        }
        let burn = self.burn_rate()?;
        let remaining = ((self.end_ms - now_ms) as f64 / MINUTE_MS as f64).round();
        let tokens = self.total_tokens() as f64 + burn.tokens_per_minute * remaining;
        let dollars = self.cost as f64 / crate::pricing::PICO_PER_USD as f64
            + burn.cost_per_hour / 60.0 * remaining;
        Some(Projection {
            total_tokens: tokens.round() as u64,
            total_cost: (dollars * 100.0).round() / 100.0,
            remaining_minutes: remaining.max(0.0) as u64,
        })
    }
}

/// The blocks of a usage, filtered and ordered, with the limit resolved.
#[derive(Debug, Clone)]
pub struct BlocksReport {
    /// Blocks and gaps.
    pub blocks: Vec<Block>,
    /// The most tokens of a finished block (among those kept).
    pub max_tokens: u64,
    /// The limit in tokens, when one was asked for and is known.
    pub token_limit: Option<u64>,
    /// The present the report was built for.
    pub now_ms: i64,
}

impl BlocksReport {
    /// The active block, if any.
    pub fn active(&self) -> Option<&Block> {
        self.blocks.iter().find(|b| b.is_active)
    }

    /// The projection of `block` against the token limit.
    pub fn limit_status(&self, block: &Block) -> Option<LimitStatus> {
        let limit = self.token_limit?;
        let projected = block.projection(self.now_ms)?.total_tokens;
        Some(LimitStatus {
            limit,
            projected,
            percent_used: projected as f64 / limit as f64 * 100.0,
            status: if projected > limit {
                "exceeds"
            } else if projected as f64 > limit as f64 * WARNING_SHARE {
                "warning"
            } else {
                "ok"
            },
        })
    }
}

/// Cuts the requests of `usage` into blocks. `usage` must hold one row per request
/// ([`crate::usage::Query::per_request`]) and no date filter (blocks are selected by their
/// start date here, after they are cut).
pub fn build(usage: &Usage, opts: &BlockOptions) -> BlocksReport {
    cut(usage, opts.session_ms).select(opts, &usage.query.tz)
}

/// Blocks and gaps cut from every request of a usage, before the present and the selection
/// of a report are applied: all of [`build`] that needs the requests. A long-running
/// process keeps this (a few hundred bytes per block) instead of one row per request, and
/// makes reports for any present, date range, order, filter or limit from it.
#[derive(Debug, Clone)]
pub struct CutBlocks {
    /// In cut order; `is_active` is decided by [`CutBlocks::select`].
    blocks: Vec<Block>,
    session_ms: i64,
}

/// Cuts the requests of `usage` (one row per request, no date filter, as for [`build`])
/// into blocks of `session_ms`.
pub fn cut(usage: &Usage, session_ms: i64) -> CutBlocks {
    let mut order: Vec<usize> = (0..usage.rows.len()).collect();
    order.sort_by_key(|&i| usage.rows[i].first_ms);
    let session = session_ms.max(1);
    let mut blocks: Vec<Block> = Vec::new();
    let mut current: Option<Block> = None;
    for i in order {
        let r = &usage.rows[i];
        let ts = r.first_ms;
        if let Some(b) = &current {
            let last = b.actual_end_ms.unwrap_or(b.start_ms);
            if ts - b.start_ms > session || ts - last > session {
                let done = current.take().expect("current block");
                blocks.push(finish(done, session));
                if ts - last > session {
                    blocks.push(gap(last + session, ts));
                }
            }
        }
        let b = current.get_or_insert_with(|| Block {
            start_ms: ts.div_euclid(HOUR_MS) * HOUR_MS,
            end_ms: 0,
            actual_end_ms: None,
            first_ms: Some(ts),
            is_active: false,
            is_gap: false,
            entries: 0,
            tokens: Tokens::default(),
            cost: 0,
            unpriced: 0,
            models: Vec::new(),
        });
        b.actual_end_ms = Some(ts);
        b.entries += r.requests;
        b.tokens.add(&r.tokens);
        b.cost += r.cost;
        if !r.priced {
            b.unpriced += r.requests;
        }
        let model = usage.names.get(r.model);
        if !b.models.iter().any(|m| m == model) {
            b.models.push(model.to_owned());
        }
    }
    if let Some(b) = current {
        blocks.push(finish(b, session));
    }
    CutBlocks { blocks, session_ms }
}

impl CutBlocks {
    /// The block length these blocks were cut with.
    pub fn session_ms(&self) -> i64 {
        self.session_ms
    }

    /// The report of these blocks at `opts.now_ms`, selected and ordered by `opts` (its
    /// `session_ms` is not used: the blocks were cut with [`CutBlocks::session_ms`]), with
    /// the local start dates of `since`/`until` taken in `tz`.
    pub fn select(&self, opts: &BlockOptions, tz: &jiff::tz::TimeZone) -> BlocksReport {
        let session = self.session_ms.max(1);
        let mut dates =
            (opts.since.is_some() || opts.until.is_some()).then(|| LocalDates::new(tz.clone()));
        let mut blocks: Vec<Block> = self
            .blocks
            .iter()
            .filter(|b| match &mut dates {
                None => true,
                Some(dates) => match dates.date(b.start_ms) {
                    Some(d) => {
                        !matches!(opts.since, Some(s) if d < s)
                            && !matches!(opts.until, Some(u) if d > u)
                    }
                    None => false,
                },
            })
            .map(|b| Block {
                is_active: b
                    .actual_end_ms
                    .is_some_and(|last| opts.now_ms - last < session && opts.now_ms < b.end_ms),
                ..b.clone()
            })
            .collect();
        // a gap starts after the hour its next block starts at: the list is in start order
        blocks.sort_by_key(|b| b.start_ms);
        if opts.descending {
            blocks.reverse();
        }
        if opts.recent {
            let cutoff = opts.now_ms - RECENT_DAYS * 24 * HOUR_MS;
            blocks.retain(|b| b.start_ms >= cutoff || b.is_active);
        }
        if opts.active_only {
            blocks.retain(|b| b.is_active);
        }
        let max_tokens = blocks
            .iter()
            .filter(|b| !b.is_gap && !b.is_active)
            .map(Block::total_tokens)
            .max()
            .unwrap_or(0);
        let token_limit = match opts.token_limit {
            None => None,
            Some(TokenLimit::Tokens(n)) => Some(n),
            Some(TokenLimit::Max) => (max_tokens > 0).then_some(max_tokens),
        };
        BlocksReport {
            blocks,
            max_tokens,
            token_limit,
            now_ms: opts.now_ms,
        }
    }
}

/// Ends a block (whether it is active is decided when a report selects it).
fn finish(mut b: Block, session: i64) -> Block {
    b.end_ms = b.start_ms + session;
    b
}

fn gap(start_ms: i64, end_ms: i64) -> Block {
    Block {
        start_ms,
        end_ms,
        actual_end_ms: None,
        first_ms: None,
        is_active: false,
        is_gap: true,
        entries: 0,
        tokens: Tokens::default(),
        cost: 0,
        unpriced: 0,
        models: Vec::new(),
    }
}
