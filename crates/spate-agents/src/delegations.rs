//! The delegations report: what was handed to sub-agents, and what their own work cost.
//!
//! A delegation is a `tool_use` block named `Task` or `Agent` (counted once per tool use
//! id). A sub-agent's own usage is every request from a `subagents/agent-<id>.jsonl` file or
//! a sidechain line; it is tied to an agent type through the `.meta.json` beside the file,
//! else through its `agentId` and the tool result that names it, else (old sidechain lines
//! in the session file) through the latest delegation before it in the same file. Totals
//! reported inside tool results (`toolUseResult.totalTokens`, ...) are never added: the
//! sub-agent's own lines already count.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::report::Totals;
use crate::usage::Usage;

/// One agent type's line.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentTypeLine {
    /// `subagent_type`.
    pub agent_type: String,
    /// Delegations to it.
    pub delegations: u64,
    /// Sessions that delegated to it.
    pub sessions: u64,
    /// Mean prompt length in bytes.
    pub avg_prompt_bytes: u64,
    /// The sub-agents' own usage.
    pub usage: Totals,
    /// Their cost as a share of the total cost of the sessions involved, in percent.
    pub share_pct: f64,
}

/// One month × agent type line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthLine {
    /// `YYYY-MM`.
    pub month: String,
    /// `subagent_type`.
    pub agent_type: String,
    /// Delegations that month.
    pub delegations: u64,
    /// The sub-agents' own usage that month.
    pub usage: Totals,
}

/// A session with many delegations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marathon {
    /// Session id.
    pub session: String,
    /// Project folder.
    pub project: String,
    /// Delegations in it.
    pub delegations: u64,
    /// Distinct agent types used.
    pub agent_types: u64,
    /// The whole session's usage (main agent and sub-agents).
    pub usage: Totals,
    /// The sub-agents' part of it.
    pub subagent_usage: Totals,
    /// First and last activity (ms).
    pub first_ms: i64,
    /// Last activity (ms).
    pub last_ms: i64,
}

/// The report.
#[derive(Debug, Clone, PartialEq)]
pub struct DelegationReport {
    /// Per agent type, most delegations first.
    pub by_type: Vec<AgentTypeLine>,
    /// Per month and agent type.
    pub by_month: Vec<MonthLine>,
    /// Sessions with more than `marathon_threshold` delegations, most first.
    pub marathons: Vec<Marathon>,
    /// The threshold.
    pub marathon_threshold: u64,
    /// All delegations.
    pub delegations: u64,
    /// Sessions with at least one delegation.
    pub sessions_delegating: u64,
    /// All sub-agent usage.
    pub subagent_usage: Totals,
    /// All usage.
    pub all_usage: Totals,
}

#[derive(Default)]
struct TypeAcc {
    delegations: u64,
    prompt_bytes: u64,
    sessions: BTreeSet<u32>,
    usage: Totals,
}

#[derive(Default)]
struct SessionAcc {
    usage: Totals,
    sub: Totals,
    delegations: u64,
    types: BTreeSet<u32>,
    project: Option<u32>,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
}

impl SessionAcc {
    fn seen(&mut self, ms: i64, project: u32) {
        self.project.get_or_insert(project);
        if ms != i64::MIN {
            self.first_ms = Some(self.first_ms.map_or(ms, |f| f.min(ms)));
            self.last_ms = Some(self.last_ms.map_or(ms, |l| l.max(ms)));
        }
    }
}

fn month(d: jiff::civil::Date) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// Builds the delegations report; sessions with more than `marathon_threshold`
/// delegations are marathons.
pub fn build(usage: &Usage, marathon_threshold: u64) -> DelegationReport {
    let mut types: HashMap<u32, TypeAcc> = HashMap::new();
    let mut sessions: HashMap<u32, SessionAcc> = HashMap::new();
    let mut months: BTreeMap<(String, u32), (u64, Totals)> = BTreeMap::new();
    let mut all_usage = Totals::default();
    let mut subagent_usage = Totals::default();

    for r in &usage.rows {
        all_usage.add_row(r);
        let s = sessions.entry(r.session).or_default();
        s.usage.add_row(r);
        s.seen(r.first_ms, r.project);
        s.seen(r.last_ms, r.project);
        if let Some(t) = r.agent_type {
            subagent_usage.add_row(r);
            s.sub.add_row(r);
            let ta = types.entry(t).or_default();
            ta.usage.add_row(r);
            ta.sessions.insert(r.session);
            months.entry((month(r.date), t)).or_default().1.add_row(r);
        }
    }
    for d in &usage.delegations {
        let ta = types.entry(d.agent_type).or_default();
        ta.delegations += 1;
        ta.prompt_bytes += u64::from(d.prompt_len);
        ta.sessions.insert(d.session);
        let s = sessions.entry(d.session).or_default();
        s.delegations += 1;
        s.types.insert(d.agent_type);
        s.seen(d.ts_ms, d.project);
        if let Some(date) = d.date {
            months.entry((month(date), d.agent_type)).or_default().0 += 1;
        }
    }

    let mut by_type: Vec<AgentTypeLine> = types
        .iter()
        .map(|(&t, acc)| {
            let session_cost: u128 = acc
                .sessions
                .iter()
                .filter_map(|s| sessions.get(s))
                .map(|s| s.usage.cost)
                .sum();
            AgentTypeLine {
                agent_type: usage.names.get(t).to_owned(),
                delegations: acc.delegations,
                sessions: acc.sessions.len() as u64,
                avg_prompt_bytes: acc.prompt_bytes.checked_div(acc.delegations).unwrap_or(0),
                usage: acc.usage,
                share_pct: percent(acc.usage.cost, session_cost),
            }
        })
        .collect();
    by_type.sort_by(|a, b| {
        b.delegations
            .cmp(&a.delegations)
            .then_with(|| b.usage.cost.cmp(&a.usage.cost))
            .then_with(|| a.agent_type.cmp(&b.agent_type))
    });
    let mut by_month: Vec<MonthLine> = months
        .into_iter()
        .map(|((month, t), (delegations, usage_t))| MonthLine {
            month,
            agent_type: usage.names.get(t).to_owned(),
            delegations,
            usage: usage_t,
        })
        .collect();
    by_month.sort_by(|a, b| {
        a.month
            .cmp(&b.month)
            .then_with(|| b.delegations.cmp(&a.delegations))
            .then_with(|| a.agent_type.cmp(&b.agent_type))
    });
    let mut marathons: Vec<Marathon> = sessions
        .iter()
        .filter(|(_, s)| s.delegations > marathon_threshold)
        .map(|(&id, s)| Marathon {
            session: usage.names.get(id).to_owned(),
            project: s
                .project
                .map(|p| usage.names.get(p).to_owned())
                .unwrap_or_default(),
            delegations: s.delegations,
            agent_types: s.types.len() as u64,
            usage: s.usage,
            subagent_usage: s.sub,
            first_ms: s.first_ms.unwrap_or(0),
            last_ms: s.last_ms.unwrap_or(0),
        })
        .collect();
    marathons.sort_by(|a, b| {
        b.delegations
            .cmp(&a.delegations)
            .then_with(|| a.session.cmp(&b.session))
    });
    DelegationReport {
        by_type,
        by_month,
        marathons,
        marathon_threshold,
        delegations: usage.delegations.len() as u64,
        sessions_delegating: sessions.values().filter(|s| s.delegations > 0).count() as u64,
        subagent_usage,
        all_usage,
    }
}

/// `part / whole` in percent, rounded to 0.1; 0 when `whole` is 0.
pub fn percent(part: u128, whole: u128) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    let tenths = (part * 1000 + whole / 2) / whole;
    tenths as f64 / 10.0
}
