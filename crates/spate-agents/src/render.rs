//! Output: JSON in ccusage's shape and field names, and aligned tables for people.

use spate::output::Align;

use crate::delegations::DelegationReport;
use crate::pricing::{format_usd_cents, group_thousands};
use crate::report::{Period, Report, Totals};
use crate::time::format_ms;

/// Table styling.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// ANSI colours.
    pub color: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Sub,
    Total,
}

/// A report table: rows of multi-line cells (a cell's lines stand one under the other),
/// drawn by spate's one table renderer ([`spate::output::Table`]).
struct Table {
    headers: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<(Kind, Vec<Vec<String>>)>,
}

impl Table {
    fn new(cols: &[(&'static str, bool)]) -> Self {
        Table {
            headers: cols.iter().map(|c| c.0).collect(),
            right: cols.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, kind: Kind, cells: Vec<Vec<String>>) {
        self.rows.push((kind, cells));
    }

    fn render(&self, style: Style) -> String {
        let paint = |code: &'static str| if style.color { code } else { "" };
        let headers = self.headers.iter().map(|h| (*h).to_owned()).collect();
        let mut table = spate::output::Table::new(headers, Vec::new());
        table.set_align(
            self.right
                .iter()
                .map(|&r| if r { Align::Right } else { Align::Left })
                .collect(),
        );
        table.set_header_paint(paint("1;36"));
        // The report is in memory already: measure every line (the totals are the widest).
        table.set_sample(usize::MAX);
        for (kind, cells) in &self.rows {
            let code = paint(match kind {
                Kind::Normal => "",
                Kind::Sub => "2",
                Kind::Total => "1;33",
            });
            // Writing to memory does not fail.
            if *kind == Kind::Total {
                let _ = table.rule();
            }
            let height = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
            for li in 0..height {
                let line = (0..self.headers.len())
                    .map(|i| {
                        cells
                            .get(i)
                            .and_then(|c| c.get(li))
                            .cloned()
                            .unwrap_or_default()
                    })
                    .collect();
                let _ = table.row_painted(line, code);
            }
        }
        let out = table.finish().unwrap_or_default();
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Short model name for tables: without `claude-` and the date suffix.
pub fn short_model(m: &str) -> String {
    let s = m.strip_prefix("claude-").unwrap_or(m);
    match s.rfind('-') {
        Some(pos) if s.len() - pos == 9 && s[pos + 1..].bytes().all(|c| c.is_ascii_digit()) => {
            s[..pos].to_owned()
        }
        _ => s.to_owned(),
    }
}

fn num(n: u64) -> String {
    group_thousands(n.into())
}

fn cost_cell(t: &Totals) -> String {
    let c = format_usd_cents(t.cost);
    if t.unpriced > 0 {
        format!("{c}*")
    } else {
        c
    }
}

fn token_cells(t: &Totals) -> Vec<Vec<String>> {
    vec![
        vec![num(t.tokens.input)],
        vec![num(t.tokens.output)],
        vec![num(t.tokens.cache_creation())],
        vec![num(t.tokens.cache_read)],
        vec![num(t.tokens.total())],
        vec![cost_cell(t)],
    ]
}

/// What the lines under each line of a report table show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breakdown {
    /// Nothing.
    None,
    /// A line per model.
    Models,
    /// A line per agent: the main conversation and each sub-agent type.
    Agents,
}

/// The report as an aligned table with a totals line; `breakdown` adds a line per model.
pub fn report_table(report: &Report, breakdown: bool, style: Style) -> String {
    let by = if breakdown {
        Breakdown::Models
    } else {
        Breakdown::None
    };
    report_table_fit(report, by, style, usize::MAX)
}

/// The sub-agents' share of a line's cost (of its tokens when nothing is priced).
fn subagent_cell(t: &Totals) -> String {
    if t.subagent_requests == 0 {
        return String::from("-");
    }
    let pct = if t.cost > 0 {
        t.subagent_cost as f64 / t.cost as f64 * 100.0
    } else {
        t.subagent_tokens.total() as f64 / t.tokens.total().max(1) as f64 * 100.0
    };
    format!("{pct:.1}%")
}

/// The report as a table that fits `width` columns: the full layout when it fits (and
/// `width` is 100 or more), else a compact one (cache writes and reads in one column, no
/// model or project names, session ids shortened, no sub-agent share). Numbers are never cut.
pub fn report_table_fit(report: &Report, by: Breakdown, style: Style, width: usize) -> String {
    if width >= 100 {
        let full = report_table_layout(report, by, style, false);
        let widest = full
            .lines()
            .map(|l| strip_ansi(l).chars().count())
            .max()
            .unwrap_or(0);
        if widest <= width {
            return full;
        }
    }
    report_table_layout(report, by, style, true)
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, c) => out.push(c),
        }
    }
    out
}

fn report_table_layout(report: &Report, by: Breakdown, style: Style, compact: bool) -> String {
    let first = match report.period {
        Period::Daily => "Date",
        Period::Weekly => "Week",
        Period::Monthly => "Month",
        Period::Session => "Session",
        Period::Model => "Model",
        Period::Project => "Project",
    };
    let session = report.period == Period::Session;
    let mut cols: Vec<(&'static str, bool)> = vec![(first, false)];
    if session {
        if !compact {
            cols.push(("Project", false));
        }
        cols.push((
            if compact {
                "Last Used"
            } else {
                "Last Activity"
            },
            false,
        ));
    }
    if report.period == Period::Model {
        cols.push(("Requests", true));
    } else if !compact {
        cols.push(("Models", false));
    }
    if compact {
        cols.extend_from_slice(&[
            ("Input", true),
            ("Output", true),
            ("Cache", true),
            ("Total Tokens", true),
            ("Cost (USD)", true),
        ]);
    } else {
        cols.extend_from_slice(&[
            ("Input", true),
            ("Output", true),
            ("Cache Create", true),
            ("Cache Read", true),
            ("Total Tokens", true),
            ("Cost (USD)", true),
            ("Sub-agents", true),
        ]);
    }
    let numbers = |t: &Totals| -> Vec<Vec<String>> {
        if compact {
            vec![
                vec![num(t.tokens.input)],
                vec![num(t.tokens.output)],
                vec![num(t
                    .tokens
                    .cache_creation()
                    .saturating_add(t.tokens.cache_read))],
                vec![num(t.tokens.total())],
                vec![cost_cell(t)],
            ]
        } else {
            let mut v = token_cells(t);
            v.push(vec![subagent_cell(t)]);
            v
        }
    };
    let label = |l: &str| -> String {
        if compact && session && l.chars().count() > 8 {
            l.chars().take(8).collect()
        } else {
            l.to_owned()
        }
    };
    let mut t = Table::new(&cols);
    let mut any_unpriced = report.totals.unpriced > 0;
    for g in &report.groups {
        let mut cells = vec![vec![label(&g.label)]];
        if session {
            if !compact {
                cells.push(vec![g.projects.first().cloned().unwrap_or_default()]);
            }
            cells.push(vec![format_ms(g.last_ms).chars().take(10).collect()]);
        }
        if report.period == Period::Model {
            cells.push(vec![num(g.totals.requests)]);
        } else if !compact {
            if by == Breakdown::Models {
                // the model names are on the breakdown lines
                let n = g.models.len();
                cells.push(vec![format!("{n} model{}", if n == 1 { "" } else { "s" })]);
            } else {
                let mut names: Vec<String> = g.models.iter().map(|(m, _)| short_model(m)).collect();
                names.sort();
                names.dedup();
                cells.push(names);
            }
        }
        cells.extend(numbers(&g.totals));
        t.row(Kind::Normal, cells);
        let subs: &[(String, Totals)] = match by {
            Breakdown::Models if report.period != Period::Model => &g.models,
            Breakdown::Agents => &g.agents,
            _ => &[],
        };
        for (name, st) in subs {
            let shown = if by == Breakdown::Models {
                short_model(name)
            } else {
                name.clone()
            };
            let mut cells = vec![vec![format!("  └ {shown}")]];
            if session {
                if !compact {
                    cells.push(vec![String::new()]);
                }
                cells.push(vec![String::new()]);
            }
            if report.period == Period::Model || !compact {
                cells.push(vec![String::new()]);
            }
            cells.extend(numbers(st));
            t.row(Kind::Sub, cells);
        }
        any_unpriced |= g.totals.unpriced > 0;
    }
    let mut cells = vec![vec![String::from("Total")]];
    if session {
        if !compact {
            cells.push(vec![String::new()]);
        }
        cells.push(vec![String::new()]);
    }
    if report.period == Period::Model {
        cells.push(vec![num(report.totals.requests)]);
    } else if !compact {
        cells.push(vec![String::new()]);
    }
    cells.extend(numbers(&report.totals));
    t.row(Kind::Total, cells);
    let mut out = format!(
        "Claude Code usage by {}\n\n",
        match report.period {
            Period::Daily => "day",
            Period::Weekly => "week",
            Period::Monthly => "month",
            Period::Session => "session",
            Period::Model => "model",
            Period::Project => "project",
        }
    );
    out.push_str(&t.render(style));
    if any_unpriced {
        out.push_str(
            "* includes requests of models without a known price (not counted in the cost)\n",
        );
    }
    if !compact && report.totals.subagent_requests > 0 {
        out.push_str("Sub-agents: the share of the cost spent by sub-agents' own requests.\n");
    }
    out
}

/// The price table in use, in US dollars per million tokens, with where it comes from.
pub fn prices_table(prices: &crate::pricing::PriceTable, style: Style) -> String {
    let per_m = |pico: u64| {
        format!(
            "${}",
            crate::pricing::format_usd_exact(u128::from(pico) * 1_000_000)
        )
    };
    let mut out = String::from(
        "Prices in USD per million tokens
",
    );
    for s in prices.sources() {
        out.push_str(&format!("  {s}\n"));
    }
    out.push('\n');
    let mut t = Table::new(&[
        ("Model", false),
        ("Input", true),
        ("Output", true),
        ("Write 5m", true),
        ("Write 1h", true),
        ("Read", true),
        ("Long Context", false),
    ]);
    for e in prices.entries() {
        let r = &e.price.rates;
        let long = match e.price.long_context {
            Some(l) => format!(
                ">{}k: {} / {}",
                e.price.threshold() / 1000,
                per_m(l.input),
                per_m(l.output)
            ),
            None => String::new(),
        };
        t.row(
            Kind::Normal,
            vec![
                vec![e.model],
                vec![per_m(r.input)],
                vec![per_m(r.output)],
                vec![per_m(r.cache_write_5m)],
                vec![per_m(r.cache_write_1h)],
                vec![per_m(r.cache_read)],
                vec![long],
            ],
        );
    }
    out.push_str(&t.render(style));
    out.push_str("Model ids are looked up without provider prefix and date suffix (claude-opus-4-7-20260416 is claude-opus-4-7).\nLong context: a request whose prompt exceeds the threshold is billed entirely at those input / output rates.\n");
    out
}

/// The delegations report as tables.
pub fn delegations_table(r: &DelegationReport, style: Style) -> String {
    let mut out = String::from("Delegations by agent type\n\n");
    let mut t = Table::new(&[
        ("Agent Type", false),
        ("Delegations", true),
        ("Sessions", true),
        ("Avg Prompt", true),
        ("Sub-agent Requests", true),
        ("Sub-agent Tokens", true),
        ("Sub-agent Cost", true),
        ("Share", true),
    ]);
    for a in &r.by_type {
        t.row(
            Kind::Normal,
            vec![
                vec![a.agent_type.clone()],
                vec![num(a.delegations)],
                vec![num(a.sessions)],
                vec![format!("{} B", num(a.avg_prompt_bytes))],
                vec![num(a.usage.requests)],
                vec![num(a.usage.tokens.total())],
                vec![cost_cell(&a.usage)],
                vec![format!("{:.1}%", a.share_pct)],
            ],
        );
    }
    t.row(
        Kind::Total,
        vec![
            vec![String::from("Total")],
            vec![num(r.delegations)],
            vec![num(r.sessions_delegating)],
            vec![String::new()],
            vec![num(r.subagent_usage.requests)],
            vec![num(r.subagent_usage.tokens.total())],
            vec![cost_cell(&r.subagent_usage)],
            vec![format!(
                "{:.1}%",
                crate::delegations::percent(r.subagent_usage.cost, r.all_usage.cost)
            )],
        ],
    );
    out.push_str(&t.render(style));
    out.push_str("Share: sub-agent cost / total cost of the sessions that used the agent type (Total: of all cost).\n");

    out.push_str("\nDelegations by month\n\n");
    let mut t = Table::new(&[
        ("Month", false),
        ("Agent Type", false),
        ("Delegations", true),
        ("Sub-agent Tokens", true),
        ("Sub-agent Cost", true),
    ]);
    for m in &r.by_month {
        t.row(
            Kind::Normal,
            vec![
                vec![m.month.clone()],
                vec![m.agent_type.clone()],
                vec![num(m.delegations)],
                vec![num(m.usage.tokens.total())],
                vec![cost_cell(&m.usage)],
            ],
        );
    }
    out.push_str(&t.render(style));

    out.push_str(&format!(
        "\nMarathons (sessions with more than {} delegations)\n\n",
        r.marathon_threshold
    ));
    if r.marathons.is_empty() {
        out.push_str("none\n");
        return out;
    }
    let mut t = Table::new(&[
        ("Session", false),
        ("Project", false),
        ("Last Activity", false),
        ("Delegations", true),
        ("Agent Types", true),
        ("Total Tokens", true),
        ("Cost", true),
        ("Sub-agent Cost", true),
    ]);
    for m in &r.marathons {
        t.row(
            Kind::Normal,
            vec![
                vec![m.session.clone()],
                vec![m.project.clone()],
                vec![format_ms(m.last_ms).chars().take(10).collect()],
                vec![num(m.delegations)],
                vec![num(m.agent_types)],
                vec![num(m.usage.tokens.total())],
                vec![cost_cell(&m.usage)],
                vec![cost_cell(&m.subagent_usage)],
            ],
        );
    }
    out.push_str(&t.render(style));
    out
}
