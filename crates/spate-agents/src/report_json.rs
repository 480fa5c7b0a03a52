//! The JSON shape of the reports, as `Serialize` implementations, so that every front end
//! (command line, daemon, Python) writes the same JSON through serde.
//!
//! `daily` has exactly the shape and field names of `ccusage claude daily --json` (`daily[]`
//! and `totals`); `weekly`, `monthly` and `session` follow ccusage's too; `model` and
//! `project` use the same naming style. Costs are exact decimals (picodollars written as a
//! decimal number, through serde_json's `RawValue`: never a binary floating-point
//! approximation); percentages are written as Rust's shortest decimal (`5`, `12.5`).

use serde::ser::{Error as _, Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::value::RawValue;

use crate::delegations::{percent, AgentTypeLine, DelegationReport, Marathon, MonthLine};
use crate::pricing::format_usd_exact;
use crate::report::{Group, Period, Report, Totals};
use crate::time::format_ms;

/// A cost in picodollars, written as an exact decimal number of dollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactUsd(pub u128);

impl Serialize for ExactUsd {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        raw_number(format_usd_exact(self.0), s)
    }
}

/// A percentage, written as its shortest decimal (`null` when not finite).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percent(pub f64);

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            raw_number(self.0.to_string(), s)
        } else {
            s.serialize_none()
        }
    }
}

/// Writes `text`, a JSON number, as it is.
fn raw_number<S: Serializer>(text: String, s: S) -> Result<S::Ok, S::Error> {
    RawValue::from_string(text)
        .map_err(S::Error::custom)?
        .serialize(s)
}

/// The four token counts of `t`, as fields of the map being written.
fn token_fields<M: SerializeMap>(m: &mut M, t: &Totals) -> Result<(), M::Error> {
    m.serialize_entry("inputTokens", &t.tokens.input)?;
    m.serialize_entry("outputTokens", &t.tokens.output)?;
    m.serialize_entry("cacheCreationTokens", &t.tokens.cache_creation())?;
    m.serialize_entry("cacheReadTokens", &t.tokens.cache_read)
}

/// The token counts, total tokens and total cost of `t`.
fn usage_fields<M: SerializeMap>(m: &mut M, t: &Totals) -> Result<(), M::Error> {
    token_fields(m, t)?;
    m.serialize_entry("totalTokens", &t.tokens.total())?;
    m.serialize_entry("totalCost", &ExactUsd(t.cost))
}

/// The sub-agents' part of a sum: `subagentTokens`, `subagentCost`, `subagentRequests`.
fn subagent_fields<M: SerializeMap>(m: &mut M, t: &Totals) -> Result<(), M::Error> {
    m.serialize_entry("subagentTokens", &t.subagent_tokens.total())?;
    m.serialize_entry("subagentCost", &ExactUsd(t.subagent_cost))?;
    m.serialize_entry("subagentRequests", &t.subagent_requests)
}

/// A line's per-agent sums: `[{"agent", tokens..., "totalTokens", "cost"}]`.
struct AgentBreakdowns<'a>(&'a [(String, Totals)]);

impl Serialize for AgentBreakdowns<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (name, t) in self.0 {
            seq.serialize_element(&AgentLine(name, t))?;
        }
        seq.end()
    }
}

struct AgentLine<'a>(&'a str, &'a Totals);

impl Serialize for AgentLine<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("agent", self.0)?;
        token_fields(&mut m, self.1)?;
        m.serialize_entry("totalTokens", &self.1.tokens.total())?;
        m.serialize_entry("cost", &ExactUsd(self.1.cost))?;
        m.end()
    }
}

/// A sum as a report's `totals`: tokens, total tokens, total cost.
impl Serialize for Totals {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        usage_fields(&mut m, self)?;
        m.end()
    }
}

impl Period {
    /// The name of the report's list and of its lines' label field in JSON.
    fn json_keys(self) -> (&'static str, &'static str) {
        match self {
            Period::Daily => ("daily", "date"),
            Period::Weekly => ("weekly", "week"),
            Period::Monthly => ("monthly", "month"),
            Period::Session => ("sessions", "sessionId"),
            Period::Model => ("models", "modelName"),
            Period::Project => ("projects", "project"),
        }
    }
}

/// One line of a report, with the grouping that names its label field.
#[derive(Debug, Clone, Copy)]
pub struct GroupJson<'a> {
    /// The report's grouping.
    pub period: Period,
    /// The line.
    pub group: &'a Group,
}

impl Serialize for GroupJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let g = self.group;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(self.period.json_keys().1, &g.label)?;
        if self.period == Period::Session {
            m.serialize_entry("projectPath", g.projects.first().map_or("", String::as_str))?;
            m.serialize_entry("firstActivity", &format_ms(g.first_ms))?;
            m.serialize_entry("lastActivity", &format_ms(g.last_ms))?;
        }
        usage_fields(&mut m, &g.totals)?;
        if self.period == Period::Model {
            m.serialize_entry("requests", &g.totals.requests)?;
        } else {
            let mut used: Vec<&str> = g.models.iter().map(|(m, _)| m.as_str()).collect();
            used.sort_unstable();
            m.serialize_entry("modelsUsed", &used)?;
            m.serialize_entry("modelBreakdowns", &Breakdowns(&g.models))?;
        }
        subagent_fields(&mut m, &g.totals)?;
        m.serialize_entry("agentBreakdowns", &AgentBreakdowns(&g.agents))?;
        m.end()
    }
}

/// A line's per-model sums.
struct Breakdowns<'a>(&'a [(String, Totals)]);

impl Serialize for Breakdowns<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (model, t) in self.0 {
            seq.serialize_element(&Breakdown(model, t))?;
        }
        seq.end()
    }
}

struct Breakdown<'a>(&'a str, &'a Totals);

impl Serialize for Breakdown<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("modelName", self.0)?;
        token_fields(&mut m, self.1)?;
        m.serialize_entry("cost", &ExactUsd(self.1.cost))?;
        m.end()
    }
}

/// The lines of a report.
struct Groups<'a>(&'a Report);

impl Serialize for Groups<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut seq = s.serialize_seq(Some(r.groups.len()))?;
        for group in &r.groups {
            seq.serialize_element(&GroupJson {
                period: r.period,
                group,
            })?;
        }
        seq.end()
    }
}

/// A report's totals, with the models whose cost is not counted when there are any (as
/// ccusage does).
struct ReportTotals<'a>(&'a Report);

impl Serialize for ReportTotals<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(None)?;
        usage_fields(&mut m, &r.totals)?;
        subagent_fields(&mut m, &r.totals)?;
        let mut unpriced: Vec<&str> = r
            .groups
            .iter()
            .flat_map(|g| g.models.iter())
            .filter(|(_, t)| t.unpriced > 0)
            .map(|(m, _)| m.as_str())
            .collect();
        unpriced.sort_unstable();
        unpriced.dedup();
        if !unpriced.is_empty() {
            m.serialize_entry("unpricedModels", &unpriced)?;
        }
        m.end()
    }
}

/// `{"<period list>": [lines], "totals": {...}}`.
impl Serialize for Report {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry(self.period.json_keys().0, &Groups(self))?;
        m.serialize_entry("totals", &ReportTotals(self))?;
        m.end()
    }
}

impl Serialize for AgentTypeLine {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("agentType", &self.agent_type)?;
        m.serialize_entry("delegations", &self.delegations)?;
        m.serialize_entry("sessions", &self.sessions)?;
        m.serialize_entry("avgPromptBytes", &self.avg_prompt_bytes)?;
        m.serialize_entry("requests", &self.usage.requests)?;
        usage_fields(&mut m, &self.usage)?;
        m.serialize_entry("shareOfSessionCostPct", &Percent(self.share_pct))?;
        m.end()
    }
}

impl Serialize for MonthLine {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("month", &self.month)?;
        m.serialize_entry("agentType", &self.agent_type)?;
        m.serialize_entry("delegations", &self.delegations)?;
        usage_fields(&mut m, &self.usage)?;
        m.end()
    }
}

impl Serialize for Marathon {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("sessionId", &self.session)?;
        m.serialize_entry("projectPath", &self.project)?;
        m.serialize_entry("delegations", &self.delegations)?;
        m.serialize_entry("agentTypes", &self.agent_types)?;
        m.serialize_entry("firstActivity", &format_ms(self.first_ms))?;
        m.serialize_entry("lastActivity", &format_ms(self.last_ms))?;
        m.serialize_entry("totalTokens", &self.usage.tokens.total())?;
        m.serialize_entry("totalCost", &ExactUsd(self.usage.cost))?;
        m.serialize_entry("subagentTokens", &self.subagent_usage.tokens.total())?;
        m.serialize_entry("subagentCost", &ExactUsd(self.subagent_usage.cost))?;
        m.end()
    }
}

/// The delegations report's totals.
struct DelegationTotals<'a>(&'a DelegationReport);

impl Serialize for DelegationTotals<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("delegations", &r.delegations)?;
        m.serialize_entry("sessionsDelegating", &r.sessions_delegating)?;
        m.serialize_entry("subagentRequests", &r.subagent_usage.requests)?;
        usage_fields(&mut m, &r.subagent_usage)?;
        m.serialize_entry(
            "shareOfAllCostPct",
            &Percent(percent(r.subagent_usage.cost, r.all_usage.cost)),
        )?;
        m.end()
    }
}

impl Serialize for DelegationReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("agents", &self.by_type)?;
        m.serialize_entry("monthly", &self.by_month)?;
        m.serialize_entry("marathonThreshold", &self.marathon_threshold)?;
        m.serialize_entry("marathons", &self.marathons)?;
        m.serialize_entry("totals", &DelegationTotals(self))?;
        m.end()
    }
}

/// Pretty JSON (two-space indentation) with a final newline, as the command line writes it.
pub fn to_pretty(value: &impl Serialize) -> serde_json::Result<String> {
    let mut out = serde_json::to_string_pretty(value)?;
    out.push('\n');
    Ok(out)
}

/// The price table in use as JSON: `{"sources": [...], "models": [{"model", "origin",
/// "input", "output", "cacheWrite5m", "cacheWrite1h", "cacheRead", "longContext"}]}`, prices
/// in USD per million tokens (exact decimals).
pub fn prices_json(prices: &crate::pricing::PriceTable) -> serde_json::Value {
    let per_m = |pico: u64| -> serde_json::Value {
        let text = crate::pricing::format_usd_exact(u128::from(pico) * 1_000_000);
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    };
    let rates = |r: &crate::pricing::Rates| {
        serde_json::json!({
            "input": per_m(r.input),
            "output": per_m(r.output),
            "cacheWrite5m": per_m(r.cache_write_5m),
            "cacheWrite1h": per_m(r.cache_write_1h),
            "cacheRead": per_m(r.cache_read),
        })
    };
    let models: Vec<serde_json::Value> = prices
        .entries()
        .iter()
        .map(|e| {
            let mut v = rates(&e.price.rates);
            v["model"] = e.model.clone().into();
            v["origin"] = e.origin.clone().into();
            v["longContext"] = match &e.price.long_context {
                Some(l) => {
                    let mut lv = rates(l);
                    lv["aboveTokens"] = e.price.threshold().into();
                    lv
                }
                None => serde_json::Value::Null,
            };
            v
        })
        .collect();
    serde_json::json!({ "unit": "USD per million tokens", "sources": prices.sources(), "models": models })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_costs_and_shortest_percentages() {
        let text = serde_json::to_string(&(
            ExactUsd(1_820_880_000_000),
            ExactUsd(0),
            Percent(5.0),
            Percent(12.5),
            Percent(f64::NAN),
        ))
        .unwrap();
        assert_eq!(text, "[1.82088,0,5,12.5,null]");
    }
}
