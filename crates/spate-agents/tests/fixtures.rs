//! The hand-written transcript tree in `testdata/agents/tree`, with every number below
//! worked out by hand (see the comments) and checked exactly.

use std::path::PathBuf;

use spate_agents::jiff::tz::TimeZone;
use spate_agents::load::{self, CacheMode};
use spate_agents::pricing::{format_usd_exact, PriceTable};
use spate_agents::report::{self, Period};
use spate_agents::usage::{self, CostMode, Query};
use spate_agents::{delegations, discover};

fn tree() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/agents/tree")
}

fn usage_with(query: Query) -> usage::Usage {
    let roots = discover::resolve_roots(&[tree()], None).unwrap();
    let corpus = load::load(&roots, &CacheMode::Off).unwrap();
    usage::analyze(&corpus, query)
}

fn money(pico: u128) -> String {
    format_usd_exact(pico)
}

#[test]
fn daily_totals_by_hand() {
    let u = usage_with(Query::default());
    let s = &u.summary;
    // 19 usage lines: 12 in the session file, 2 + 1 in sub-agent files, 4 in beta;
    // msg_01 three times (twice in alpha, once in beta) and msg_02 twice
    assert_eq!(s.usage_lines, 19);
    assert_eq!(s.duplicates, 3);
    assert_eq!(s.skips.malformed, 1);
    assert_eq!(s.skips.no_timestamp, 1);
    assert_eq!(s.skips.synthetic, 1);
    assert_eq!(s.skips.incomplete_tail, 1);
    assert_eq!(
        s.unpriced.get("claude-opus-9-20300101"),
        Some(&(1, 770)),
        "unknown model is reported, not priced at $0"
    );

    let r = report::build(&u, Period::Daily, false);
    let labels: Vec<&str> = r.groups.iter().map(|g| g.label.as_str()).collect();
    assert_eq!(labels, ["2025-06-01", "2025-06-09", "2025-07-01"]);
    let d1 = &r.groups[0].totals;
    assert_eq!(d1.tokens.input, 169_160);
    assert_eq!(d1.tokens.output, 6_750);
    assert_eq!(d1.tokens.cache_creation(), 13_000);
    assert_eq!(d1.tokens.cache_write_1h, 4_000);
    assert_eq!(d1.tokens.cache_read, 95_000);
    assert_eq!(d1.tokens.total(), 283_910);
    assert_eq!(d1.requests, 14);
    assert_eq!(d1.unpriced, 1);
    // 21000 + 4800 + 2100 + 5500 + 1050 + 330 + 249000 (opus 4.1 with 1h writes)
    // + 958500 (sonnet 4 long context) + 500000 (costUSD) + 600 + 900 + 21000 + 18600 µ$
    assert_eq!(money(d1.cost), "1.78338");
    assert_eq!(money(r.groups[1].totals.cost), "0.018");
    assert_eq!(money(r.groups[2].totals.cost), "0.009");
    assert_eq!(r.totals.tokens.total(), 428_510);
    assert_eq!(money(r.totals.cost), "1.81038");

    let desc = report::build(&u, Period::Daily, true);
    assert_eq!(desc.groups[0].label, "2025-07-01");
}

#[test]
fn single_requests_priced_by_hand() {
    let u = usage_with(Query::default());
    let models = report::build(&u, Period::Model, false);
    let get = |name: &str| {
        models
            .groups
            .iter()
            .find(|g| g.label == name)
            .unwrap_or_else(|| panic!("{name}"))
            .totals
    };
    // long context: 150000 × $6 + 1000 × $22.50 + 60000 × $0.60 per million
    assert_eq!(money(get("claude-sonnet-4-20250514").cost), "0.9585");
    // 1-hour writes: 100 × 15 + 200 × 75 + 6000 × 18.75 + 4000 × 30 per million
    assert_eq!(money(get("claude-opus-4-1-20250805").cost), "0.249");
    assert_eq!(get("claude-opus-9-20300101").unpriced, 1);
    assert_eq!(get("claude-opus-9-20300101").cost, 0);
    // the duplicate msg_02 keeps its larger copy (300 output tokens, not 10)
    let sonnet45 = get("claude-sonnet-4-5-20250929");
    assert_eq!(sonnet45.tokens.output, 500 + 300 + 100 + 60 + 20 + 1000);
    assert_eq!(sonnet45.requests, 6);
    // costUSD is used in auto mode
    assert_eq!(money(get("claude-3-5-sonnet-20241022").cost), "0.5");
    assert!(models.groups.iter().all(|g| g.label != "<synthetic>"));
}

#[test]
fn cost_modes() {
    let calc = usage_with(Query {
        mode: CostMode::Calculate,
        ..Query::default()
    });
    let r = report::build(&calc, Period::Daily, false);
    // the costUSD line is computed instead: 1000 × 3 + 1000 × 15 per million = 0.018
    assert_eq!(money(r.totals.cost), "1.32838");
    let display = usage_with(Query {
        mode: CostMode::Display,
        ..Query::default()
    });
    let r = report::build(&display, Period::Daily, false);
    assert_eq!(money(r.totals.cost), "0.5");
    assert_eq!(r.totals.unpriced, 0);
}

#[test]
fn time_zone_and_date_filters() {
    let tokyo = usage_with(Query {
        tz: TimeZone::get("Asia/Tokyo").unwrap(),
        ..Query::default()
    });
    let r = report::build(&tokyo, Period::Daily, false);
    let labels: Vec<&str> = r.groups.iter().map(|g| g.label.as_str()).collect();
    // 2025-06-01T23:30Z is 08:30 on 2025-06-02 in Tokyo
    assert_eq!(
        labels,
        ["2025-06-01", "2025-06-02", "2025-06-09", "2025-07-01"]
    );
    assert_eq!(r.groups[1].totals.tokens.total(), 33_000);

    let june = usage_with(Query {
        since: Some("2025-06-02".parse().unwrap()),
        until: Some("2025-06-30".parse().unwrap()),
        ..Query::default()
    });
    let r = report::build(&june, Period::Monthly, false);
    assert_eq!(r.groups.len(), 1);
    assert_eq!(r.groups[0].label, "2025-06");
    assert_eq!(r.totals.tokens.total(), 144_000);
}

#[test]
fn weekly_session_project() {
    let u = usage_with(Query::default());
    let w = report::build(&u, Period::Weekly, false);
    let labels: Vec<&str> = w.groups.iter().map(|g| g.label.as_str()).collect();
    assert_eq!(labels, ["2025-06-01", "2025-06-08", "2025-06-29"]);
    let s = report::build(&u, Period::Session, false);
    let labels: Vec<&str> = s.groups.iter().map(|g| g.label.as_str()).collect();
    assert_eq!(labels, ["s-alpha-1", "s-beta-1"]);
    assert_eq!(money(s.groups[0].totals.cost), "1.76478");
    assert_eq!(s.groups[0].projects, ["-home-me-alpha"]);
    let p = report::build(&u, Period::Project, false);
    assert_eq!(p.groups[0].label, "-home-me-alpha");
    assert_eq!(p.groups[1].totals.tokens.total(), 33_000 + 144_000 + 600);
}

#[test]
fn delegations_by_hand() {
    let u = usage_with(Query::default());
    let d = delegations::build(&u, 2);
    assert_eq!(d.delegations, 3);
    assert_eq!(d.sessions_delegating, 1);
    let line = |t: &str| d.by_type.iter().find(|a| a.agent_type == t).unwrap();
    // sidechain line in the session file → latest delegation before it (tu_1)
    let cr = line("code-reviewer");
    assert_eq!(
        (cr.delegations, cr.usage.requests, cr.usage.tokens.total()),
        (1, 1, 8_400)
    );
    assert_eq!(money(cr.usage.cost), "0.0055");
    // agent-a1.jsonl typed by its meta file
    let te = line("test-engineer");
    assert_eq!(
        (te.delegations, te.usage.requests, te.usage.tokens.total()),
        (1, 2, 1_100)
    );
    // agent-a2.jsonl linked through toolUseResult.agentId → tu_2
    let ar = line("architect");
    assert_eq!(
        (ar.delegations, ar.usage.requests, ar.usage.tokens.total()),
        (1, 1, 3_000)
    );
    assert_eq!(money(ar.usage.cost), "0.021");
    // 21000 / 1764780 µ$ of the session
    assert_eq!(ar.share_pct, 1.2);
    // toolUseResult.totalTokens (8400, 1234) is not added again
    assert_eq!(d.subagent_usage.tokens.total(), 8_400 + 1_100 + 3_000);
    assert_eq!(d.marathons.len(), 1);
    assert_eq!(d.marathons[0].session, "s-alpha-1");
    assert_eq!(d.marathons[0].delegations, 3);
    assert!(delegations::build(&u, 20).marathons.is_empty());
    assert_eq!(d.by_month.len(), 3);
    assert!(d.by_month.iter().all(|m| m.month == "2025-06"));
}

#[test]
fn pricing_file_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prices.json");
    std::fs::write(
        &file,
        r#"{"claude-opus-9": {"input_cost_per_token": 1e-05, "output_cost_per_token": 5e-05}}"#,
    )
    .unwrap();
    let prices = PriceTable::embedded().with_litellm_file(&file).unwrap();
    let u = usage_with(Query {
        prices,
        ..Query::default()
    });
    assert!(u.summary.unpriced.is_empty());
    let r = report::build(&u, Period::Daily, false);
    // + 700 × 10 + 70 × 50 per million = 0.0105
    assert_eq!(money(r.totals.cost), "1.82088");
    std::fs::write(&file, "not json").unwrap();
    assert!(PriceTable::embedded().with_litellm_file(&file).is_err());
}
