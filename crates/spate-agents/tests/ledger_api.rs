//! The ledger's library API as a long-running process uses it: record after each refresh,
//! batches by count and by time, ledger-only rows, generations of a rewritten transcript
//! (`flush_all`, which flushes every ledger of the process, has a test binary of its own).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use spate_agents::corpus::Corpus;
use spate_agents::ledger::{Ledger, LedgerOnly, LedgerOptions};
use spate_agents::load::CacheMode;
use spate_agents::usage::{self, Query};

fn line(session: &str, i: usize, tokens: u64) -> String {
    format!(
        concat!(
            r#"{{"type":"assistant","timestamp":"2025-07-{:02}T10:00:00Z","sessionId":"{}","#,
            r#""requestId":"r_{}_{}","message":{{"id":"m_{}_{}","model":"claude-sonnet-4-5-20250929","#,
            r#""usage":{{"input_tokens":{},"output_tokens":7}}}}}}"#,
            "\n"
        ),
        1 + i % 28,
        session,
        session,
        i,
        session,
        i,
        tokens
    )
}

fn write(path: &Path, session: &str, range: std::ops::Range<usize>, append: bool) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text: String = range.map(|i| line(session, i, 100 + i as u64)).collect();
    if append {
        use std::io::Write;
        let mut f = fs::OpenOptions::new().append(true).open(path).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    } else {
        fs::write(path, text).unwrap();
    }
}

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
