//! `ledger::flush_all` (what a signal handler calls) writes every ledger open in the
//! process: alone in its test binary, as it would flush other tests' ledgers too.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use spate_agents::corpus::Corpus;
use spate_agents::ledger::{self, Ledger, LedgerOptions};
use spate_agents::load::CacheMode;

mod ledger_common;
use ledger_common::write;

struct Setup {
    _dir: tempfile::TempDir,
    roots: Vec<PathBuf>,
    ledger: PathBuf,
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
    }
}

#[test]
fn flush_all_writes_every_open_ledger() {
    let s = setup();
    let corpus = Corpus::open(&s.roots, &CacheMode::Off).unwrap();
    let opts = LedgerOptions {
        batch_entries: 10_000,
        batch_interval: Duration::from_secs(3600),
        ..LedgerOptions::default()
    };
    let (l, _) = Ledger::open_at(&s.ledger, &s.roots, &opts).unwrap();
    l.record(&corpus).unwrap();
    assert_eq!(l.pending(), 50);
    assert_eq!(ledger::flush_all(), 50);
    assert_eq!(l.pending(), 0);
    assert!(fs::metadata(&s.ledger).unwrap().len() > 16);
}
