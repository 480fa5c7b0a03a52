//! The blocks report as JSON in the shape and field names of `ccusage blocks --json`:
//! `{"blocks": [{"id", "startTime", "endTime", "actualEndTime", "isActive", "isGap",
//! "entries", "tokenCounts": {...}, "totalTokens", "costUSD", "models", "burnRate",
//! "projection", "tokenLimitStatus"?}]}`; costs as exact decimals.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::blocks::{Block, BlocksReport};
use crate::report_json::ExactUsd;
use crate::time::format_ms;

/// A block with the report it belongs to (for the projection and the limit).
struct BlockJson<'a>(&'a BlocksReport, &'a Block);

impl Serialize for BlockJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (rep, b) = (self.0, self.1);
        let mut m = s.serialize_map(None)?;
        let start = format_ms(b.start_ms);
        let id = if b.is_gap {
            format!("gap-{start}")
        } else {
            start.clone()
        };
        m.serialize_entry("id", &id)?;
        m.serialize_entry("startTime", &start)?;
        m.serialize_entry("endTime", &format_ms(b.end_ms))?;
        m.serialize_entry("actualEndTime", &b.actual_end_ms.map(format_ms))?;
        m.serialize_entry("isActive", &b.is_active)?;
        m.serialize_entry("isGap", &b.is_gap)?;
        m.serialize_entry("entries", &b.entries)?;
        m.serialize_entry(
            "tokenCounts",
            &serde_json::json!({
                "inputTokens": b.tokens.input,
                "outputTokens": b.tokens.output,
                "cacheCreationInputTokens": b.tokens.cache_creation(),
                "cacheReadInputTokens": b.tokens.cache_read,
            }),
        )?;
        m.serialize_entry("totalTokens", &b.total_tokens())?;
        m.serialize_entry("costUSD", &ExactUsd(b.cost))?;
        m.serialize_entry("models", &b.models)?;
        let burn = if b.is_active { b.burn_rate() } else { None };
        m.serialize_entry(
            "burnRate",
            &burn.map(|r| {
                serde_json::json!({
                    "tokensPerMinute": r.tokens_per_minute,
                    "tokensPerMinuteForIndicator": r.tokens_per_minute_for_indicator,
                    "costPerHour": r.cost_per_hour,
                })
            }),
        )?;
        m.serialize_entry(
            "projection",
            &b.projection(rep.now_ms).map(|p| {
                serde_json::json!({
                    "totalTokens": p.total_tokens,
                    "totalCost": p.total_cost,
                    "remainingMinutes": p.remaining_minutes,
                })
            }),
        )?;
        if let Some(l) = rep.limit_status(b) {
            m.serialize_entry(
                "tokenLimitStatus",
                &serde_json::json!({
                    "limit": l.limit,
                    "projectedUsage": l.projected,
                    "percentUsed": l.percent_used,
                    "status": l.status,
                }),
            )?;
        }
        if b.unpriced > 0 {
            m.serialize_entry("unpricedEntries", &b.unpriced)?;
        }
        m.end()
    }
}

impl Serialize for BlocksReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        let blocks: Vec<BlockJson<'_>> = self.blocks.iter().map(|b| BlockJson(self, b)).collect();
        m.serialize_entry("blocks", &blocks)?;
        m.end()
    }
}
