//! Sub-agent attribution of usage counted from the ledger: a report made partly or wholly
//! from ledger entries attributes each request to the main chain or to a sub-agent exactly
//! as the report of the transcripts did, when a response was written both in the session
//! file (main chain or sidechain) and in a `subagents/` file, with and without `requestId`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use spate_agents::corpus::Corpus;
use spate_agents::ledger::{Ledger, LedgerOptions};
use spate_agents::load::CacheMode;
use spate_agents::usage::{self, Query};

/// An assistant line: `req` None writes no `requestId`; `sidechain` marks a sidechain line.
fn assistant(ts: &str, msg: &str, req: Option<&str>, sidechain: bool, tokens: u64) -> String {
    let req = req.map_or(String::new(), |r| format!(r#""requestId":"{r}","#));
    let side = if sidechain {
        r#""isSidechain":true,"#
    } else {
        ""
    };
    format!(
        concat!(
            r#"{{"type":"assistant","timestamp":"2025-08-03T{}Z","sessionId":"s1",{}{}"#,
            r#""message":{{"id":"{}","model":"claude-sonnet-4-5-20250929","#,
            r#""usage":{{"input_tokens":{},"output_tokens":{}}}}}}}"#,
            "\n"
        ),
        ts,
        side,
        req,
        msg,
        tokens,
        tokens / 10
    )
}

/// The session file: a Task delegation to an `explorer`; main-chain copies of two of the
/// sub-agent's responses (one without `requestId`); a response written on the main chain
/// and again as a sidechain line (old layout); a sidechain line without `requestId`; the
/// tool result that names the agent.
fn session_text() -> String {
    let mut s = String::new();
    s.push_str(concat!(
        r#"{"type":"assistant","timestamp":"2025-08-03T10:00:00Z","sessionId":"s1","requestId":"r1","#,
        r#""message":{"id":"m1","model":"claude-sonnet-4-5-20250929","content":[{"type":"tool_use","#,
        r#""id":"tu_1","name":"Task","input":{"subagent_type":"explorer","prompt":"Look."}}],"#,
        r#""usage":{"input_tokens":1000,"output_tokens":100}}}"#,
        "\n"
    ));
    s.push_str(&assistant("10:01:00", "m2", Some("r2"), false, 300));
    s.push_str(&assistant("10:02:00", "m3", None, false, 200));
    s.push_str(&assistant("10:03:00", "m4", Some("r4"), false, 400));
    s.push_str(&assistant("10:03:00", "m4", Some("r4"), true, 400));
    s.push_str(&assistant("10:04:00", "m5", None, true, 70));
    s.push_str(concat!(
        r#"{"type":"user","sessionId":"s1","timestamp":"2025-08-03T10:05:00Z","message":{"role":"user","#,
        r#""content":[{"type":"tool_result","tool_use_id":"tu_1","content":"done"}]},"#,
        r#""toolUseResult":{"agentId":"a1"}}"#,
        "\n"
    ));
    s
}

/// The sub-agent's own file: its copies of m2 and m3 and a response of its own.
fn agent_text() -> String {
    [
        assistant("10:01:00", "m2", Some("r2"), true, 300),
        assistant("10:02:00", "m3", None, true, 200),
        assistant("10:02:30", "m6", Some("r6"), true, 50),
    ]
    .concat()
    .replace(
        r#""sessionId":"s1","#,
        r#""sessionId":"s1","agentId":"a1","#,
    )
}

/// A tree with the session file and, when `agent`, the sub-agent's file.
fn tree(dir: &Path, agent: bool) -> (Vec<PathBuf>, PathBuf) {
    let projects = dir.join("projects");
    let session = projects.join("-home-me-app/s1.jsonl");
    fs::create_dir_all(session.parent().unwrap()).unwrap();
    fs::write(&session, session_text()).unwrap();
    let agent_file = projects.join("-home-me-app/s1/subagents/agent-a1.jsonl");
    if agent {
        fs::create_dir_all(agent_file.parent().unwrap()).unwrap();
        fs::write(&agent_file, agent_text()).unwrap();
    }
    (vec![projects], agent_file)
}

/// Requests and tokens per agent type (`main` for the main chain), from the transcripts
/// and, when given, the ledger.
fn by_agent(roots: &[PathBuf], ledger: Option<&Ledger>) -> BTreeMap<String, (u64, u64)> {
    let corpus = Corpus::open(roots, &CacheMode::Off).unwrap();
    let mut u = usage::analyze(&corpus, Query::default());
    if let Some(l) = ledger {
        l.record(&corpus).unwrap();
        l.add_ledger_only(&corpus, &mut u);
    }
    let mut out = BTreeMap::new();
    for r in &u.rows {
        let name = r.agent_type.map_or("main", |a| u.names.get(a)).to_owned();
        let slot: &mut (u64, u64) = out.entry(name).or_default();
        slot.0 += r.requests;
        slot.1 += r.tokens.total();
    }
    out
}

fn expected() -> BTreeMap<String, (u64, u64)> {
    // main: m1 only. explorer: m2 and m3 (the sub-agent's copies win the tie with the
    // main-chain copies), m4 (the sidechain copy), m5, m6.
    BTreeMap::from([
        ("main".to_owned(), (1, 1100)),
        ("explorer".to_owned(), (5, 330 + 220 + 440 + 77 + 55)),
    ])
}

#[test]
fn ledger_entries_keep_their_sub_agent_attribution() {
    let dir = tempfile::tempdir().unwrap();
    let (roots, agent_file) = tree(&dir.path().join("a"), true);
    let opts = LedgerOptions::default();
    let ledger_a = dir.path().join("la/usage-ledger.bin");
    let (l, _) = Ledger::open_at(&ledger_a, &roots, &opts).unwrap();
    assert_eq!(by_agent(&roots, None), expected(), "the transcripts");
    assert_eq!(by_agent(&roots, Some(&l)), expected(), "recorded");
    l.flush().unwrap();

    // the sub-agent's file deleted: its copies of m2 and m3 come from the ledger and still
    // win over the session file's main-chain copies
    fs::remove_file(&agent_file).unwrap();
    assert_eq!(by_agent(&roots, Some(&l)), expected(), "agent file deleted");
    // every transcript deleted: the ledger alone
    fs::remove_dir_all(&roots[0]).unwrap();
    fs::create_dir_all(&roots[0]).unwrap();
    assert_eq!(by_agent(&roots, Some(&l)), expected(), "ledger only");

    // another machine with the session file only imports this ledger
    let export = dir.path().join("a.ledger");
    l.export(&export).unwrap();
    let (roots_b, _) = tree(&dir.path().join("b"), false);
    let ledger_b = dir.path().join("lb/usage-ledger.bin");
    let (lb, _) = Ledger::open_at(&ledger_b, &roots_b, &opts).unwrap();
    let alone = by_agent(&roots_b, Some(&lb));
    assert_eq!(alone["explorer"].0, 2, "m4 and m5 only: {alone:?}");
    lb.flush().unwrap();
    let stats = lb.import(&[export]).unwrap();
    assert!(stats.added > 0, "{stats:?}");
    drop(lb);
    let (lb, _) = Ledger::open_at(&ledger_b, &roots_b, &opts).unwrap();
    assert_eq!(by_agent(&roots_b, Some(&lb)), expected(), "imported");
}
