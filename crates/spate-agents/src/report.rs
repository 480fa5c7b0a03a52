//! Usage reports: rows grouped by day, week, month, session, model or project.

use std::collections::BTreeSet;

use crate::model::Tokens;
use crate::time::week_start;
use crate::usage::{FastMap, Row, Usage};

/// How to group usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// By local date.
    Daily,
    /// By week (its first day).
    Weekly,
    /// By month.
    Monthly,
    /// By session id.
    Session,
    /// By model.
    Model,
    /// By project folder.
    Project,
}

impl Period {
    /// Lower-case name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Weekly => "weekly",
            Period::Monthly => "monthly",
            Period::Session => "session",
            Period::Model => "model",
            Period::Project => "project",
        }
    }
}

/// Sums of tokens and cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Tokens.
    pub tokens: Tokens,
    /// Cost in picodollars of the priced requests.
    pub cost: u128,
    /// Requests.
    pub requests: u64,
    /// Requests without a price.
    pub unpriced: u64,
    /// Tokens of sub-agents' own requests (a part of `tokens`).
    pub subagent_tokens: Tokens,
    /// Cost of sub-agents' own requests (a part of `cost`).
    pub subagent_cost: u128,
    /// Sub-agents' own requests (a part of `requests`).
    pub subagent_requests: u64,
}

impl Totals {
    /// Adds one row.
    pub fn add_row(&mut self, r: &Row) {
        self.tokens.add(&r.tokens);
        self.cost += r.cost;
        self.requests += r.requests;
        if !r.priced {
            self.unpriced += r.requests;
        }
        if r.agent_type.is_some() {
            self.subagent_tokens.add(&r.tokens);
            self.subagent_cost += r.cost;
            self.subagent_requests += r.requests;
        }
    }

    /// Merges another partial sum.
    pub fn merge(&mut self, o: &Totals) {
        self.tokens.add(&o.tokens);
        self.cost += o.cost;
        self.requests += o.requests;
        self.unpriced += o.unpriced;
        self.subagent_tokens.add(&o.subagent_tokens);
        self.subagent_cost += o.subagent_cost;
        self.subagent_requests += o.subagent_requests;
    }
}

/// Label of the main conversation (not a sub-agent) in an agents breakdown.
pub const MAIN_AGENT: &str = "main";

/// One line of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The period, session, model or project.
    pub label: String,
    /// Sums.
    pub totals: Totals,
    /// Per model, by cost (highest first), then name.
    pub models: Vec<(String, Totals)>,
    /// Per agent: [`MAIN_AGENT`] and each sub-agent type, by cost (highest first), then name.
    pub agents: Vec<(String, Totals)>,
    /// First request (ms).
    pub first_ms: i64,
    /// Last request (ms).
    pub last_ms: i64,
    /// Projects the group's requests came from, sorted.
    pub projects: Vec<String>,
}

/// A grouped report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Grouping.
    pub period: Period,
    /// Lines, in report order.
    pub groups: Vec<Group>,
    /// Sum of all lines.
    pub totals: Totals,
}

struct Acc {
    totals: Totals,
    models: FastMap<u32, Totals>,
    agents: FastMap<Option<u32>, Totals>,
    first_ms: i64,
    last_ms: i64,
    projects: BTreeSet<u32>,
    /// The project last added to `projects` (rows of one file come together).
    last_project: Option<u32>,
}

fn key_of(period: Period, r: &Row, usage: &Usage) -> i64 {
    let d = r.date;
    let ymd = |d: jiff::civil::Date| {
        i64::from(d.year()) * 10_000 + i64::from(d.month()) * 100 + i64::from(d.day())
    };
    match period {
        Period::Daily => ymd(d),
        Period::Weekly => ymd(week_start(d, usage.query.week_start)),
        Period::Monthly => i64::from(d.year()) * 100 + i64::from(d.month()),
        Period::Session => i64::from(r.session),
        Period::Model => i64::from(r.model),
        Period::Project => i64::from(r.project),
    }
}

fn label_of(period: Period, key: i64, usage: &Usage) -> String {
    match period {
        Period::Daily | Period::Weekly => format!(
            "{:04}-{:02}-{:02}",
            key / 10_000,
            key / 100 % 100,
            key % 100
        ),
        Period::Monthly => format!("{:04}-{:02}", key / 100, key % 100),
        Period::Session | Period::Model | Period::Project => usage.names.get(key as u32).to_owned(),
    }
}

/// Builds a report. `descending` reverses the time order (for model and project reports,
/// which are ordered by cost, it has no effect).
pub fn build(usage: &Usage, period: Period, descending: bool) -> Report {
    let mut accs: FastMap<i64, Acc> = FastMap::default();
    let mut totals = Totals::default();
    for r in &usage.rows {
        let acc = accs.entry(key_of(period, r, usage)).or_insert_with(|| Acc {
            totals: Totals::default(),
            models: FastMap::default(),
            agents: FastMap::default(),
            first_ms: i64::MAX,
            last_ms: i64::MIN,
            projects: BTreeSet::new(),
            last_project: None,
        });
        acc.totals.add_row(r);
        acc.models.entry(r.model).or_default().add_row(r);
        acc.agents.entry(r.agent_type).or_default().add_row(r);
        acc.first_ms = acc.first_ms.min(r.first_ms);
        acc.last_ms = acc.last_ms.max(r.last_ms);
        if acc.last_project != Some(r.project) {
            acc.projects.insert(r.project);
            acc.last_project = Some(r.project);
        }
        totals.add_row(r);
    }
    let mut keyed: Vec<(i64, Group)> = accs
        .into_iter()
        .map(|(key, acc)| {
            let mut models: Vec<(String, Totals)> = acc
                .models
                .into_iter()
                .map(|(m, t)| (usage.names.get(m).to_owned(), t))
                .collect();
            models.sort_by(|a, b| b.1.cost.cmp(&a.1.cost).then_with(|| a.0.cmp(&b.0)));
            let mut agents: Vec<(String, Totals)> = acc
                .agents
                .into_iter()
                .map(|(a, t)| (a.map_or(MAIN_AGENT, |a| usage.names.get(a)).to_owned(), t))
                .collect();
            agents.sort_by(|a, b| b.1.cost.cmp(&a.1.cost).then_with(|| a.0.cmp(&b.0)));
            let mut projects: Vec<String> = acc
                .projects
                .iter()
                .map(|&p| usage.names.get(p).to_owned())
                .collect();
            projects.sort();
            let group = Group {
                label: label_of(period, key, usage),
                totals: acc.totals,
                models,
                agents,
                first_ms: acc.first_ms,
                last_ms: acc.last_ms,
                projects,
            };
            (key, group)
        })
        .collect();
    match period {
        Period::Daily | Period::Weekly | Period::Monthly => {
            keyed.sort_by_key(|(k, _)| *k);
            if descending {
                keyed.reverse();
            }
        }
        Period::Session => {
            keyed.sort_by(|a, b| (a.1.last_ms, &a.1.label).cmp(&(b.1.last_ms, &b.1.label)));
            if descending {
                keyed.reverse();
            }
        }
        Period::Model | Period::Project => keyed.sort_by(|a, b| {
            b.1.totals
                .cost
                .cmp(&a.1.totals.cost)
                .then_with(|| b.1.totals.tokens.total().cmp(&a.1.totals.tokens.total()))
                .then_with(|| a.1.label.cmp(&b.1.label))
        }),
    }
    Report {
        period,
        groups: keyed.into_iter().map(|(_, g)| g).collect(),
        totals,
    }
}

/// Keeps the `n` most recent lines of a time report (the last ones in ascending order, the
/// first ones in descending order) and sums the totals again over them. Other reports keep
/// their first `n` lines (the costliest).
pub fn keep_last(report: &mut Report, n: usize, descending: bool) {
    let len = report.groups.len();
    if n >= len {
        return;
    }
    let timed = matches!(
        report.period,
        Period::Daily | Period::Weekly | Period::Monthly | Period::Session
    );
    if timed && !descending {
        report.groups.drain(..len - n);
    } else {
        report.groups.truncate(n);
    }
    let mut totals = Totals::default();
    for g in &report.groups {
        totals.merge(&g.totals);
    }
    report.totals = totals;
}
