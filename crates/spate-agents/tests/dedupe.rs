//! De-duplication of usage lines that carry a `message.id` but no `requestId`, in the two
//! layouts Claude Code writes (`testdata/agents/dedupe`): copies inside one session file, and
//! sidechain copies in a session file and in its `subagents/agent-*.jsonl` file. The token
//! totals are those ccusage 20 (`claude daily --offline --json -z UTC`) gives on the same tree.

use std::path::PathBuf;

use spate_agents::load::{self, CacheMode};
use spate_agents::report::{self, Period};
use spate_agents::usage::{self, Query};
use spate_agents::{delegations, discover};

fn usage_of(cache: &CacheMode) -> usage::Usage {
    let tree = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/agents/dedupe");
    let roots = discover::resolve_roots(&[tree], None).unwrap();
    let corpus = load::load(&roots, cache).unwrap();
    usage::analyze(&corpus, Query::default())
}

#[test]
fn copies_without_request_id_count_once() {
    let dir = tempfile::tempdir().unwrap();
    for cache in [
        CacheMode::Off,
        CacheMode::Dir(dir.path().into()),
        CacheMode::Dir(dir.path().into()),
    ] {
        let u = usage_of(&cache);
        let r = report::build(&u, Period::Daily, false);
        let days: Vec<(&str, u64)> = r
            .groups
            .iter()
            .map(|g| (g.label.as_str(), g.totals.tokens.total()))
            .collect();
        // day 1: msg_one_1 written twice at 09:00:05 (160 tokens, once) and again at
        // 09:00:10 (180, a copy at another time stays apart, as in ccusage); msg_one_2 345;
        // two lines without message id (10 each) are never merged.
        // day 2: msg_two_1 1,100. day 3: msg_two_2 in the session file and in the
        // sub-agent file (330, once) and msg_two_3 (55).
        assert_eq!(
            days,
            [
                ("2026-03-01", 705),
                ("2026-03-02", 1_100),
                ("2026-03-03", 385)
            ]
        );
        assert_eq!(r.totals.tokens.total(), 2_190);
        assert_eq!(u.summary.duplicates, 2);
        // in µ$: sonnet 4.5 (3 in, 15 out) 1,200 + 1,500 + 2 × 66; opus 4.7 (5, 25, read
        // 0.5) 2,175 + 7,500; haiku 4.5 (1, 5) 450 + 75: $0.013032, as ccusage
        assert_eq!(
            spate_agents::pricing::format_usd_exact(r.totals.cost),
            "0.013032"
        );
    }
}

#[test]
fn task_and_agent_tools_are_both_delegations() {
    let u = usage_of(&CacheMode::Off);
    let d = delegations::build(&u, 20);
    let mut types: Vec<(&str, u64)> = d
        .by_type
        .iter()
        .map(|a| (a.agent_type.as_str(), a.delegations))
        .collect();
    types.sort();
    assert_eq!(types, [("explorer", 1), ("reviewer", 1)]);
    // the reviewer's own requests (msg_two_2 once, msg_two_3) are its usage
    let reviewer = d
        .by_type
        .iter()
        .find(|a| a.agent_type == "reviewer")
        .unwrap();
    assert_eq!(reviewer.usage.tokens.total(), 385);
    assert_eq!(reviewer.usage.requests, 2);
}
