//! 5-hour blocks on a small tree written here: block boundaries (a request exactly at the
//! end stays in its block, one millisecond later starts the next), a block across midnight,
//! a gap, a block across a daylight-saving change, the active block with its burn rate,
//! projection and token limit, and the date, `--recent` and `--active` selections.

use std::path::Path;

use spate_agents::blocks::{self, BlockOptions, TokenLimit};
use spate_agents::jiff::tz::TimeZone;
use spate_agents::load::{self, CacheMode};
use spate_agents::render_blocks::{active_view, blocks_table, local_minute};
use spate_agents::time::{parse_date, parse_timestamp_ms};
use spate_agents::usage::{self, Query};

const TIMES: &[&str] = &[
    "2026-03-07T22:10:00.000Z", // A: block 1 starts at 22:00
    "2026-03-07T23:59:59.000Z", // B: across midnight
    "2026-03-08T03:00:00.000Z", // C: exactly 5 hours after 22:00: still block 1
    "2026-03-08T03:00:00.001Z", // D: one ms later: block 2 at 03:00
    "2026-03-08T14:00:00.000Z", // E: 11 h after D: a gap, then block 3 at 14:00
    "2026-03-08T19:00:00.000Z", // F: exactly at block 3's end: still block 3
];

fn ms(s: &str) -> i64 {
    parse_timestamp_ms(s).unwrap()
}

fn write_tree(dir: &Path, times: &[&str]) {
    let project = dir.join("projects").join("-home-me-app");
    std::fs::create_dir_all(&project).unwrap();
    let mut text = String::new();
    for (i, t) in times.iter().enumerate() {
        text.push_str(&format!(
            concat!(
                r#"{{"type":"assistant","timestamp":"{}","sessionId":"s1","requestId":"r{}","#,
                r#""message":{{"id":"m{}","model":"claude-sonnet-4-5-20250929","#,
                r#""usage":{{"input_tokens":1000,"output_tokens":100}}}}}}"#,
                "\n"
            ),
            t, i, i
        ));
    }
    std::fs::write(project.join("s1.jsonl"), text).unwrap();
}

fn usage_of(times: &[&str], tz: TimeZone) -> usage::Usage {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), times);
    let roots = spate_agents::discover::resolve_roots(&[dir.path().to_owned()], None).unwrap();
    let corpus = load::load(&roots, &CacheMode::Off).unwrap();
    usage::analyze(
        &corpus,
        Query {
            tz,
            per_request: true,
            ..Query::default()
        },
    )
}

fn opts(now: &str) -> BlockOptions {
    BlockOptions {
        now_ms: ms(now),
        ..BlockOptions::default()
    }
}

#[test]
fn boundaries_midnight_and_gaps() {
    let u = usage_of(TIMES, TimeZone::UTC);
    let rep = blocks::build(&u, &opts("2026-04-01T00:00:00Z"));
    let shape: Vec<(i64, i64, bool, u64)> = rep
        .blocks
        .iter()
        .map(|b| (b.start_ms, b.end_ms, b.is_gap, b.entries))
        .collect();
    assert_eq!(
        shape,
        [
            (
                ms("2026-03-07T22:00:00Z"),
                ms("2026-03-08T03:00:00Z"),
                false,
                3
            ),
            (
                ms("2026-03-08T03:00:00Z"),
                ms("2026-03-08T08:00:00Z"),
                false,
                1
            ),
            // from the end of D's 5 hours to E
            (
                ms("2026-03-08T08:00:00.001Z"),
                ms("2026-03-08T14:00:00Z"),
                true,
                0
            ),
            (
                ms("2026-03-08T14:00:00Z"),
                ms("2026-03-08T19:00:00Z"),
                false,
                2
            ),
        ]
    );
    assert!(rep.blocks.iter().all(|b| !b.is_active));
    let b1 = &rep.blocks[0];
    assert_eq!(b1.actual_end_ms, Some(ms(TIMES[2])));
    assert_eq!(b1.total_tokens(), 3_300);
    // 3 × (1000 × $3 + 100 × $15) per million
    assert_eq!(spate_agents::pricing::format_usd_exact(b1.cost), "0.0135");
    assert_eq!(b1.models, ["claude-sonnet-4-5-20250929"]);
    assert_eq!(rep.max_tokens, 3_300);
    // no burn rate or projection for a finished block in JSON, gaps named as ccusage does
    let json = serde_json::to_value(&rep).unwrap();
    let mut keys: Vec<&str> = json["blocks"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "actualEndTime",
            "burnRate",
            "costUSD",
            "endTime",
            "entries",
            "id",
            "isActive",
            "isGap",
            "models",
            "projection",
            "startTime",
            "tokenCounts",
            "totalTokens"
        ]
    );
    assert_eq!(json["blocks"][0]["id"], "2026-03-07T22:00:00.000Z");
    assert_eq!(json["blocks"][2]["id"], "gap-2026-03-08T08:00:00.001Z");
    assert_eq!(json["blocks"][2]["actualEndTime"], serde_json::Value::Null);
    assert_eq!(json["blocks"][0]["costUSD"].to_string(), "0.0135");
    assert!(json["blocks"][0]["burnRate"].is_null());

    let desc = blocks::build(
        &u,
        &BlockOptions {
            descending: true,
            ..opts("2026-04-01T00:00:00Z")
        },
    );
    assert_eq!(desc.blocks[0].start_ms, ms("2026-03-08T14:00:00Z"));
}

#[test]
fn active_block_burn_rate_projection_and_limits() {
    let u = usage_of(TIMES, TimeZone::UTC);
    let now = "2026-03-08T18:30:00Z";
    let rep = blocks::build(&u, &opts(now));
    let active = rep.active().expect("block 3 is active at 18:30");
    assert_eq!(active.start_ms, ms("2026-03-08T14:00:00Z"));
    // 2,200 tokens and $0.009 over the 300 minutes from E to F
    let burn = active.burn_rate().unwrap();
    assert!((burn.tokens_per_minute - 2_200.0 / 300.0).abs() < 1e-9);
    assert!((burn.tokens_per_minute_for_indicator - 2_200.0 / 300.0).abs() < 1e-9);
    assert!((burn.cost_per_hour - 0.0018).abs() < 1e-12);
    let p = active.projection(rep.now_ms).unwrap();
    assert_eq!((p.total_tokens, p.remaining_minutes), (2_420, 30));
    assert_eq!(p.total_cost, 0.01);
    // the limit: no status without one; `max` is the largest finished block (3,300)
    assert!(rep.limit_status(active).is_none());
    let with = |limit| {
        let o = BlockOptions {
            token_limit: Some(limit),
            ..opts(now)
        };
        let r = blocks::build(&u, &o);
        let b = r.active().unwrap().clone();
        r.limit_status(&b).unwrap()
    };
    let max = with(TokenLimit::Max);
    assert_eq!((max.limit, max.status), (3_300, "ok"));
    assert_eq!(with(TokenLimit::Tokens(3_000)).status, "warning");
    assert_eq!(with(TokenLimit::Tokens(2_400)).status, "exceeds");
    assert_eq!(TokenLimit::parse("max"), Some(TokenLimit::Max));
    assert_eq!(
        TokenLimit::parse("500000"),
        Some(TokenLimit::Tokens(500_000))
    );
    assert_eq!(TokenLimit::parse("lots"), None);

    let limited = blocks::build(
        &u,
        &BlockOptions {
            token_limit: Some(TokenLimit::Tokens(2_400)),
            ..opts(now)
        },
    );
    let json = serde_json::to_value(limited).unwrap();
    let b = &json["blocks"][3];
    assert_eq!(b["isActive"], true);
    assert_eq!(b["projection"]["totalTokens"], 2_420);
    assert_eq!(b["tokenLimitStatus"]["status"], "exceeds");

    // --active and --recent
    let only = blocks::build(
        &u,
        &BlockOptions {
            active_only: true,
            ..opts(now)
        },
    );
    assert_eq!(only.blocks.len(), 1);
    let recent = blocks::build(
        &u,
        &BlockOptions {
            recent: true,
            ..opts("2026-03-11T15:00:00Z")
        },
    );
    assert!(
        recent.blocks.is_empty(),
        "all blocks started more than 3 days before"
    );

    // the compact view fits 80 columns
    let view = active_view(&rep, &TimeZone::UTC, 80);
    assert!(view.lines().all(|l| l.chars().count() <= 80), "{view}");
    assert!(view.contains("4h 30m elapsed, 0h 30m left"), "{view}");
    let none = active_view(
        &blocks::build(&u, &opts("2026-04-01T00:00:00Z")),
        &TimeZone::UTC,
        80,
    );
    assert!(none.starts_with("No active 5-hour block"));
}

#[test]
fn dates_select_by_local_start_across_a_dst_change() {
    // New York leaves EST for EDT on 2026-03-08 at 02:00 local (07:00 UTC)
    let ny = TimeZone::get("America/New_York").unwrap();
    let u = usage_of(TIMES, ny.clone());
    let rep = blocks::build(
        &u,
        &BlockOptions {
            since: parse_date("2026-03-08"),
            ..opts("2026-04-01T00:00:00Z")
        },
    );
    // block 1 starts 17:00 EST and block 2 22:00 EST on the 7th; the gap 04:00 EDT on the 8th
    let starts: Vec<String> = rep
        .blocks
        .iter()
        .map(|b| local_minute(b.start_ms, &ny))
        .collect();
    assert_eq!(starts, ["2026-03-08 04:00", "2026-03-08 10:00"]);

    // a block from 00:00 EST to 06:00 EDT: five hours, six on the wall clock
    let u = usage_of(
        &["2026-03-08T05:20:00Z", "2026-03-08T09:40:00Z"],
        ny.clone(),
    );
    let rep = blocks::build(&u, &opts("2026-04-01T00:00:00Z"));
    assert_eq!(rep.blocks.len(), 1);
    let b = &rep.blocks[0];
    assert_eq!(b.end_ms - b.start_ms, 5 * 3_600_000);
    assert_eq!(local_minute(b.start_ms, &ny), "2026-03-08 00:00");
    assert_eq!(local_minute(b.end_ms, &ny), "2026-03-08 06:00");
    let table = blocks_table(&rep, &ny, 80, spate_agents::render::Style::default());
    // the duration runs from the block start to its last request, as ccusage shows it
    assert!(table.contains("2026-03-08 00:00  4h 40m"), "{table}");
    assert!(table.lines().all(|l| l.chars().count() <= 80), "{table}");
}

/// What a long-running process relies on: blocks cut once (from a usage analysed in UTC)
/// give, for any present, time zone and selection, the report `build` makes from the
/// usage analysed in that time zone at that present.
#[test]
fn blocks_cut_once_select_like_a_fresh_build() {
    let utc = usage_of(TIMES, TimeZone::UTC);
    let cuts = blocks::cut(&utc, 5 * 3_600_000);
    assert_eq!(cuts.session_ms(), 5 * 3_600_000);
    let zones = ["UTC", "America/New_York", "Asia/Tokyo"];
    let presents = [
        "2026-03-08T02:00:00Z", // inside block 1 (before its later requests: still active)
        "2026-03-08T16:30:00Z", // block 3 active
        "2026-03-08T19:00:00Z", // block 3's last instant
        "2026-03-09T10:00:00Z", // nothing active, recent keeps some
        "2026-04-01T00:00:00Z", // long after
    ];
    let selections: Vec<BlockOptions> = vec![
        BlockOptions::default(),
        BlockOptions {
            recent: true,
            ..BlockOptions::default()
        },
        BlockOptions {
            active_only: true,
            token_limit: Some(TokenLimit::Tokens(3_000)),
            ..BlockOptions::default()
        },
        BlockOptions {
            descending: true,
            token_limit: Some(TokenLimit::Max),
            ..BlockOptions::default()
        },
        BlockOptions {
            since: parse_date("2026-03-08"),
            until: parse_date("2026-03-08"),
            ..BlockOptions::default()
        },
    ];
    let mut active_seen = 0;
    for zone in zones {
        let tz = TimeZone::get(zone).unwrap();
        let fresh = usage_of(TIMES, tz.clone());
        for now in presents {
            for sel in &selections {
                let o = BlockOptions {
                    now_ms: ms(now),
                    ..sel.clone()
                };
                let want = blocks::build(&fresh, &o);
                let got = cuts.select(&o, &tz);
                assert_eq!(got.blocks, want.blocks, "{zone} {now} {o:?}");
                assert_eq!(
                    (got.max_tokens, got.token_limit, got.now_ms),
                    (want.max_tokens, want.token_limit, want.now_ms)
                );
                assert_eq!(
                    spate_agents::report_json::to_pretty(&got).unwrap(),
                    spate_agents::report_json::to_pretty(&want).unwrap()
                );
                active_seen += usize::from(want.active().is_some());
            }
        }
    }
    assert!(active_seen > 0, "some present has an active block");
}
