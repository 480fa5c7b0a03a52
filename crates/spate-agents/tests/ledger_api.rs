//! The ledger's library API as a long-running process uses it: record after each refresh,
//! batches by count and by time, ledger-only rows, generations of a rewritten transcript
//! (`flush_all`, which flushes every ledger of the process, has a test binary of its own).

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use spate_agents::corpus::Corpus;
use spate_agents::ledger::{Ledger, LedgerOnly, LedgerOptions};
use spate_agents::load::CacheMode;
use spate_agents::usage::{self, Query};

mod ledger_common;
use ledger_common::write;

struct Setup {
    _dir: tempfile::TempDir,
    roots: Vec<PathBuf>,
    ledger: PathBuf,
    a: PathBuf,
    b: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let projects = dir.path().join("projects");
    let a = projects.join("-p1/a.jsonl");
    let b = projects.join("-p2/b.jsonl");
    write(&a, "a", 0..30, false);
    write(&b, "b", 0..20, false);
    Setup {
        roots: vec![projects],
        ledger: dir.path().join("ledger/usage-ledger.bin"),
        _dir: dir,
        a,
        b,
    }
}

fn total_tokens(corpus: &Corpus, ledger: Option<&Ledger>) -> (u64, LedgerOnly) {
    let mut u = usage::analyze(corpus, Query::default());
    let only = ledger
        .map(|l| l.add_ledger_only(corpus, &mut u))
        .unwrap_or_default();
    (u.rows.iter().map(|r| r.tokens.total()).sum(), only)
}

#[test]
fn batches_by_count_and_by_time() {
    let s = setup();
    let corpus = Corpus::open(&s.roots, &CacheMode::Off).unwrap();
    let opts = LedgerOptions {
        batch_entries: 1000,
        batch_interval: Duration::from_millis(700),
        ..LedgerOptions::default()
    };
    let (l, notices) = Ledger::open_at(&s.ledger, &s.roots, &opts).unwrap();
    assert!(notices.is_empty());
    let st = l.record(&corpus).unwrap();
    assert_eq!(
        (st.queued, st.written),
        (50, 0),
        "fewer than a batch: queued"
    );
    assert_eq!(l.pending(), 50);
    // recording the same corpus again queues nothing
    assert_eq!(l.record(&corpus).unwrap().queued, 0);
    assert!(!l.flush_if_due().unwrap(), "not due yet");
    assert!(!s.ledger.exists());
    std::thread::sleep(Duration::from_millis(800));
    assert!(l.flush_if_due().unwrap(), "due after the interval");
    assert_eq!(l.pending(), 0);
    assert!(s.ledger.exists());

    // by count: a batch of 8 is written as soon as 8 are waiting
    let mut corpus = corpus;
    write(&s.a, "a", 30..45, true);
    corpus.refresh().unwrap();
    let opts = LedgerOptions {
        batch_entries: 8,
        batch_interval: Duration::from_secs(3600),
        ..LedgerOptions::default()
    };
    let (l2, _) = Ledger::open_at(&s.ledger, &s.roots, &opts).unwrap();
    let st = l2.record(&corpus).unwrap();
    assert_eq!(
        (st.queued, st.written),
        (15, 15),
        "only the appended entries"
    );
    // the first handle learns of them when it next writes; nothing is counted twice
    let (tokens, only) = total_tokens(&corpus, Some(&l));
    assert_eq!(only, LedgerOnly::default());
    assert_eq!(tokens, total_tokens(&corpus, None).0);
}

#[test]
fn deleted_and_rewritten_transcripts() {
    let s = setup();
    let mut corpus = Corpus::open(&s.roots, &CacheMode::Off).unwrap();
    let opts = LedgerOptions::default();
    let (l, _) = Ledger::open_at(&s.ledger, &s.roots, &opts).unwrap();
    l.record(&corpus).unwrap();
    l.flush().unwrap();
    let (all, _) = total_tokens(&corpus, Some(&l));
    let a_tokens: u64 = (0..30).map(|i| 107 + i as u64).sum();

    // b deleted: the same total, b's 20 entries from the ledger
    fs::remove_file(&s.b).unwrap();
    corpus.refresh().unwrap();
    l.record(&corpus).unwrap();
    let (tokens, only) = total_tokens(&corpus, Some(&l));
    assert_eq!(tokens, all);
    assert_eq!(only.deleted, 20);

    // a rewritten with other requests: a's old entries are kept (their keys are gone from
    // the transcript), its new ones come from the transcript
    write(&s.a, "a2", 0..5, false);
    corpus.refresh().unwrap();
    let st = l.record(&corpus).unwrap();
    assert_eq!(st.queued, 5, "a new generation recorded from its start");
    l.flush().unwrap();
    let new_a: u64 = (0..5).map(|i| 107 + i as u64).sum();
    let (tokens, only) = total_tokens(&corpus, Some(&l));
    assert_eq!(tokens, all + new_a);
    assert_eq!(only.deleted, 50);
    assert!(a_tokens > 0);

    // a fresh handle (another run) reads the same from the file
    let (l2, notices) = Ledger::open_at(&s.ledger, &s.roots, &opts).unwrap();
    assert!(notices.is_empty(), "{notices:?}");
    assert_eq!(l2.record(&corpus).unwrap().queued, 0);
    assert_eq!(total_tokens(&corpus, Some(&l2)).0, all + new_a);

    // another tree's report does not see these entries
    let other = tempfile::tempdir().unwrap();
    let op = other.path().join("projects");
    write(&op.join("-x/x.jsonl"), "x", 0..3, false);
    let oc = Corpus::open(std::slice::from_ref(&op), &CacheMode::Off).unwrap();
    let (l3, _) = Ledger::open_at(&s.ledger, &[op], &opts).unwrap();
    assert_eq!(total_tokens(&oc, Some(&l3)).1, LedgerOnly::default());
}

#[test]
fn a_sub_agent_linked_after_its_entries_were_recorded_keeps_its_type() {
    let dir = tempfile::tempdir().unwrap();
    let projects = dir.path().join("projects");
    let session = projects.join("-p/s1.jsonl");
    let agent = projects.join("-p/s1/subagents/agent-a9.jsonl");
    fs::create_dir_all(agent.parent().unwrap()).unwrap();
    fs::write(
        &session,
        concat!(
            r#"{"type":"assistant","timestamp":"2025-06-01T10:00:00Z","sessionId":"s1","requestId":"r1","#,
            r#""message":{"id":"m1","model":"claude-sonnet-4-5-20250929","content":[{"type":"tool_use","#,
            r#""id":"tu_9","name":"Task","input":{"subagent_type":"code-reviewer","prompt":"Review."}}],"#,
            r#""usage":{"input_tokens":10,"output_tokens":5}}}"#,
            "\n"
        ),
    )
    .unwrap();
    // the sub-agent runs: its entries are recorded before the parent says who it was
    fs::write(
        &agent,
        concat!(
            r#"{"type":"assistant","isSidechain":true,"agentId":"a9","timestamp":"2025-06-01T10:01:00Z","#,
            r#""sessionId":"s1","requestId":"ra","message":{"id":"ma","model":"claude-sonnet-4-5-20250929","#,
            r#""usage":{"input_tokens":1000,"output_tokens":50}}}"#,
            "\n"
        ),
    )
    .unwrap();
    let roots = vec![projects.clone()];
    let ledger_file = dir.path().join("l/usage-ledger.bin");
    let opts = LedgerOptions::default();
    let mut corpus = Corpus::open(&roots, &CacheMode::Off).unwrap();
    let (l, _) = Ledger::open_at(&ledger_file, &roots, &opts).unwrap();
    l.record(&corpus).unwrap();
    l.flush().unwrap();
    // the sub-agent finishes: the parent's tool result names it
    use std::io::Write;
    fs::OpenOptions::new()
        .append(true)
        .open(&session)
        .unwrap()
        .write_all(
            concat!(
                r#"{"type":"user","sessionId":"s1","timestamp":"2025-06-01T10:02:00Z","message":{"role":"user","#,
                r#""content":[{"type":"tool_result","tool_use_id":"tu_9","content":"done"}]},"#,
                r#""toolUseResult":{"agentId":"a9"}}"#,
                "\n"
            )
            .as_bytes(),
        )
        .unwrap();
    corpus.refresh().unwrap();
    let types = |corpus: &Corpus, l: &Ledger| {
        let mut u = usage::analyze(corpus, Query::default());
        l.add_ledger_only(corpus, &mut u);
        let mut t: Vec<(String, u64)> = u
            .rows
            .iter()
            .filter_map(|r| {
                r.agent_type
                    .map(|a| (u.names.get(a).to_owned(), r.tokens.total()))
            })
            .collect();
        t.sort();
        t
    };
    let expected = vec![("code-reviewer".to_owned(), 1050)];
    assert_eq!(types(&corpus, &l), expected, "from the transcripts");
    l.record(&corpus).unwrap();
    l.flush().unwrap();
    // every transcript deleted: the ledger still knows the sub-agent's type
    fs::remove_dir_all(projects.join("-p")).unwrap();
    corpus.refresh().unwrap();
    let (l2, _) = Ledger::open_at(&ledger_file, &roots, &opts).unwrap();
    assert_eq!(types(&corpus, &l2), expected, "from the ledger alone");
    // and on another machine, through export and import
    let export = dir.path().join("x.ledger");
    l2.export(&export).unwrap();
    let other = dir.path().join("other/projects");
    fs::create_dir_all(&other).unwrap();
    let oroots = vec![other.clone()];
    let oc = Corpus::open(&oroots, &CacheMode::Off).unwrap();
    let (l3, _) = Ledger::open_at(&dir.path().join("l3/usage-ledger.bin"), &oroots, &opts).unwrap();
    l3.import(std::slice::from_ref(&export)).unwrap();
    assert_eq!(types(&oc, &l3), expected, "imported");
    let size = fs::metadata(l3.path()).unwrap().len();
    let again = l3.import(std::slice::from_ref(&export)).unwrap();
    assert_eq!(again.added, 0);
    assert_eq!(
        fs::metadata(l3.path()).unwrap().len(),
        size,
        "importing twice changes nothing"
    );
}
