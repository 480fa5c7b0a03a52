//! The usage ledger end to end: deleted transcripts keep their usage, kill -9 at random
//! points loses and duplicates nothing, torn tails are cut, export/import merge machines.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/agents/tree")
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir_all(&dest).unwrap();
            copy_tree(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// `spate agents <args> --path tree` with a ledger in `ledger` and a cache in `cache`.
fn cmd(args: &[&str], tree: &Path, ledger: &Path, cache: Option<&Path>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_spate"));
    c.env_remove("CLAUDE_CONFIG_DIR")
        .env_remove("SPATE_LEDGER_DIR")
        .env("TZ", "UTC")
        .arg("agents")
        .args(args)
        .arg("--path")
        .arg(tree)
        .arg("--ledger-dir")
        .arg(ledger);
    match cache {
        Some(dir) => c.arg("--cache-dir").arg(dir),
        None => c.arg("--no-cache"),
    };
    c
}

/// Runs a report to completion: (stdout JSON, stderr).
fn report(args: &[&str], tree: &Path, ledger: &Path, cache: Option<&Path>) -> (Value, String) {
    let mut all = vec![args[0], "--json", "--timezone", "UTC"];
    all.extend_from_slice(&args[1..]);
    let out = cmd(&all, tree, ledger, cache).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    (serde_json::from_slice(&out.stdout).unwrap(), err)
}

fn ledger_file(dir: &Path) -> PathBuf {
    dir.join("usage-ledger.bin")
}

#[test]
fn deleted_transcripts_keep_their_usage() {
    let t = tempfile::tempdir().unwrap();
    let tree = t.path().join("tree");
    copy_tree(&fixture(), &tree);
    let ledger = t.path().join("ledger");
    let (before, _) = report(&["daily"], &tree, &ledger, None);
    let (sessions_before, _) = report(&["session"], &tree, &ledger, None);
    assert!(ledger_file(&ledger).exists());
    // a run that records nothing new leaves the ledger as it was
    let bytes = fs::read(ledger_file(&ledger)).unwrap();
    report(&["daily"], &tree, &ledger, None);
    assert_eq!(fs::read(ledger_file(&ledger)).unwrap(), bytes);

    fs::remove_file(tree.join("projects/-home-me-beta/s-beta-1.jsonl")).unwrap();
    let (after, err) = report(&["daily"], &tree, &ledger, None);
    assert_eq!(after, before, "same totals after a transcript was deleted");
    assert!(
        err.contains("entries from deleted transcripts"),
        "the report says where the usage comes from: {err}"
    );
    let (sessions_after, _) = report(&["session"], &tree, &ledger, None);
    assert_eq!(sessions_after, sessions_before);
    // without the ledger, the deleted usage is gone
    let (off, err) = report(&["daily", "--no-ledger"], &tree, &ledger, None);
    assert_ne!(off, before);
    assert!(!err.contains("deleted transcripts"));
    // with a date range: only the entries in it are counted from the ledger
    let (ranged, _) = report(&["daily", "--since", "2099-01-01"], &tree, &ledger, None);
    assert_eq!(ranged["daily"].as_array().unwrap().len(), 0);
}

#[test]
fn nothing_to_record_writes_no_ledger() {
    let t = tempfile::tempdir().unwrap();
    let project = t.path().join("tree/projects/p");
    fs::create_dir_all(&project).unwrap();
    fs::write(
        project.join("s.jsonl"),
        "{\"type\":\"user\",\"timestamp\":\"2025-05-06T10:00:00Z\",\"message\":{\"content\":\"hi\"}}\n",
    )
    .unwrap();
    let ledger = t.path().join("ledger");
    report(&["daily"], &t.path().join("tree"), &ledger, None);
    assert!(!ledger.exists(), "no usage: no ledger folder");
    // --no-ledger never writes one
    let tree = t.path().join("tree2");
    copy_tree(&fixture(), &tree);
    report(&["daily", "--no-ledger"], &tree, &ledger, None);
    assert!(!ledger.exists());
}

/// A transcript line with usage; `key` false: no message id or request id.
fn line(session: &str, i: usize, key: bool, tokens: u64) -> String {
    let ids = if key {
        format!(r#""requestId":"req_{session}_{i}","#)
    } else {
        String::new()
    };
    let msg_id = if key {
        format!(r#""id":"msg_{session}_{i}","#)
    } else {
        String::new()
    };
    let day = 1 + (i % 27);
    let model = ["claude-sonnet-4-5-20250929", "claude-opus-4-5-20251101"][i % 2];
    format!(
        concat!(
            r#"{{"type":"assistant","timestamp":"2025-06-{:02}T{:02}:{:02}:00Z","sessionId":"{}",{}"#,
            r#""message":{{{}"model":"{}","usage":{{"input_tokens":{},"output_tokens":{},"#,
            r#""cache_read_input_tokens":{}}}}}}}"#,
            "\n"
        ),
        day,
        i % 24,
        i % 60,
        session,
        ids,
        msg_id,
        model,
        tokens,
        tokens / 3,
        tokens * 2
    )
}

/// A small deterministic random sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Appends `lines` usage lines to session file `s` (creating it), with some in-file and
/// cross-file duplicates and some lines without ids.
fn append(tree: &Path, s: usize, from: usize, lines: usize, rng: &mut Rng) {
    let project = tree.join(format!("projects/-home-me-p{}", s % 7));
    fs::create_dir_all(&project).unwrap();
    let session = format!("s{s}");
    let mut text = String::new();
    for i in from..from + lines {
        // (session 100 is copied to another machine: ids only, as lines without ids
        // cannot be matched across machines)
        let l = line(&session, i, i % 13 != 0 || s >= 100, 100 + rng.below(5000));
        text.push_str(&l);
        if i % 17 == 0 {
            // the same response written twice
            text.push_str(&l);
        }
    }
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(project.join(format!("{session}.jsonl")))
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
    if s.is_multiple_of(5) && from == 0 {
        // a sub-agent's copy of some of the session's responses
        let sub = project.join(format!("{session}/subagents"));
        fs::create_dir_all(&sub).unwrap();
        let copies: String = text.lines().take(5).map(|l| format!("{l}\n")).collect();
        fs::write(sub.join("agent-x.jsonl"), copies).unwrap();
    }
}

fn totals(v: &Value) -> Value {
    v["totals"].clone()
}

#[test]
fn kill_9_at_random_points_loses_and_duplicates_nothing() {
    let t = tempfile::tempdir().unwrap();
    let tree = t.path().join("tree");
    let ledger = t.path().join("ledger");
    let cache = t.path().join("cache");
    let mut rng = Rng(0x5eed);
    let files = 60;
    let mut lengths = vec![0usize; files];
    for (s, len) in lengths.iter_mut().enumerate() {
        append(&tree, s, 0, 150, &mut rng);
        *len = 150;
    }
    // how long a full recording run takes, with tiny batches each synced
    let args = ["daily", "--ledger-batch", "40", "--ledger-fsync", "always"];
    let scratch = t.path().join("scratch-ledger");
    let start = Instant::now();
    let out = cmd(&args, &tree, &scratch, Some(&t.path().join("c0")))
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let full = start.elapsed().max(Duration::from_millis(20));

    let mut killed = 0;
    let mut repaired = 0;
    // how long a run takes, as last measured
    let mut estimate = full;
    for round in 0..40 {
        // new usage in many transcripts, so that every run has batches to write
        for _ in 0..20 {
            let s = rng.below(files as u64) as usize;
            append(&tree, s, lengths[s], 40, &mut rng);
            lengths[s] += 40;
        }
        if round % 10 == 9 {
            // a fresh cache now and then: the whole tree is parsed again
            let _ = fs::remove_dir_all(&cache);
        }
        // now and then a second process records at the same time
        let rival = (round % 5 == 4).then(|| {
            cmd(&args, &tree, &ledger, Some(&t.path().join("rival-cache")))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        });
        let started = Instant::now();
        let mut child = cmd(&args, &tree, &ledger, Some(&cache))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = if round % 4 == 3 {
            // run to the end, to learn how long a run takes now
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success());
            estimate = started.elapsed();
            out
        } else {
            let wait = Duration::from_micros(rng.below(estimate.as_micros() as u64 + 1));
            std::thread::sleep(wait);
            // SIGKILL: no handler runs
            if child.kill().is_ok() {
                killed += 1;
            }
            child.wait_with_output().unwrap()
        };
        if let Some(rival) = rival {
            assert!(rival.wait_with_output().unwrap().status.success());
        }
        if String::from_utf8_lossy(&out.stderr).contains("torn") {
            repaired += 1;
        }
    }
    assert!(killed > 10, "only {killed} runs were killed");

    // the truth: the transcripts themselves, without a ledger
    let (truth, _) = report(&["daily", "--no-ledger"], &tree, &ledger, Some(&cache));
    let (with_ledger, err) = report(&["daily"], &tree, &ledger, Some(&cache));
    assert_eq!(totals(&with_ledger), totals(&truth), "{err}");
    assert!(!err.contains("deleted transcripts"), "{err}");
    // every transcript deleted: the ledger alone gives the same report
    let gone = t.path().join("gone");
    fs::create_dir_all(gone.join("projects")).unwrap();
    fs::rename(tree.join("projects"), gone.join("old")).unwrap();
    fs::create_dir_all(tree.join("projects")).unwrap();
    let (only_ledger, err) = report(&["daily"], &tree, &ledger, Some(&cache));
    assert_eq!(only_ledger, truth, "{err}");
    assert!(err.contains("entries from deleted transcripts"), "{err}");
    eprintln!("{killed} runs killed, {repaired} saw a torn batch cut");
}

#[test]
fn a_torn_or_damaged_ledger_is_repaired_without_losing_entries() {
    let t = tempfile::tempdir().unwrap();
    let tree = t.path().join("tree");
    let mut rng = Rng(7);
    for s in 0..6 {
        append(&tree, s, 0, 50, &mut rng);
    }
    let ledger = t.path().join("ledger");
    let (truth, _) = report(&["daily", "--no-ledger"], &tree, &ledger, None);
    report(&["daily", "--ledger-batch", "30"], &tree, &ledger, None);
    let file = ledger_file(&ledger);
    let whole = fs::read(&file).unwrap();
    // a torn last batch at many cut points: cut, then written again from the transcripts
    for cut in (16..whole.len()).step_by(whole.len() / 23 + 1) {
        fs::write(&file, &whole[..cut]).unwrap();
        let (v, err) = report(&["daily", "--ledger-batch", "30"], &tree, &ledger, None);
        assert_eq!(v, truth, "cut at {cut}: {err}");
        // the ledger is whole again: delete nothing and compare with all transcripts gone
        let (v, _) = report(&["daily"], &tree, &ledger, None);
        assert_eq!(v, truth);
    }
    // garbage after the last batch (a torn write of random bytes) is cut and reported
    let mut bad = fs::read(&file).unwrap();
    bad.extend_from_slice(b"LBAT\xff\xff\x00\x00garbage");
    fs::write(&file, &bad).unwrap();
    let (v, err) = report(&["daily"], &tree, &ledger, None);
    assert_eq!(v, truth);
    assert!(err.contains("cut a torn last batch"), "{err}");
    assert!(fs::read(&file).unwrap().len() < bad.len());
    // then every transcript deleted: the repaired ledger still has everything
    fs::remove_dir_all(tree.join("projects")).unwrap();
    fs::create_dir_all(tree.join("projects")).unwrap();
    let (v, _) = report(&["daily"], &tree, &ledger, None);
    assert_eq!(v, truth);
    // a file that is not a ledger is refused, never overwritten
    fs::write(&file, b"{\"some\": \"other file\"}\n").unwrap();
    let (_, err) = report(&["daily"], &tree, &ledger, None);
    assert!(err.contains("not a spate usage ledger"), "{err}");
    assert_eq!(fs::read(&file).unwrap(), b"{\"some\": \"other file\"}\n");
}

#[test]
fn export_and_import_merge_machines_once() {
    let t = tempfile::tempdir().unwrap();
    let mut rng = Rng(11);
    // machine A and machine B, each with its own transcripts, ledger and one shared session
    let a = t.path().join("a");
    let b = t.path().join("b");
    for s in [0, 1, 2, 3, 100] {
        append(&a, s, 0, 30, &mut rng);
    }
    for s in 10..13 {
        append(&b, s, 0, 30, &mut rng);
    }
    // session 100 (project p2) is on both machines
    let shared = b.join("projects/-home-me-p2");
    fs::create_dir_all(&shared).unwrap();
    fs::copy(
        a.join("projects/-home-me-p2/s100.jsonl"),
        shared.join("s100.jsonl"),
    )
    .unwrap();
    let (la, lb) = (t.path().join("la"), t.path().join("lb"));
    let (ra, _) = report(&["daily"], &a, &la, None);
    let (rb, _) = report(&["daily"], &b, &lb, None);
    let export = t.path().join("a.ledger");
    let out = cmd(&["ledger", "export"], &a, &la, None)
        .arg(&export)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // the union on B: A's entries plus B's, the shared session once
    let all = t.path().join("all");
    copy_tree(&a, &all);
    copy_tree(&b, &all);
    let (union, _) = report(&["daily", "--no-ledger"], &all, &t.path().join("x"), None);
    let import = |file: &Path| {
        let out = cmd(&["ledger", "import"], &b, &lb, None)
            .arg(file)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        err
    };
    let err = import(&export);
    assert!(err.contains("added"), "{err}");
    let (merged, err) = report(&["daily"], &b, &lb, None);
    assert_eq!(totals(&merged), totals(&union), "{err}");
    assert!(err.contains("entries from imported ledgers"), "{err}");
    assert_ne!(totals(&merged), totals(&rb));
    // importing again changes nothing, not even the file
    let before = fs::read(ledger_file(&lb)).unwrap();
    let err = import(&export);
    assert!(err.contains(" 0 added"), "{err}");
    assert_eq!(fs::read(ledger_file(&lb)).unwrap(), before);
    // round trip: B's export imported into a fresh ledger of an empty tree gives the union
    let export_b = t.path().join("b.ledger");
    let out = cmd(&["ledger", "export"], &b, &lb, None)
        .arg(&export_b)
        .output()
        .unwrap();
    assert!(out.status.success());
    let empty = t.path().join("empty");
    fs::create_dir_all(empty.join("projects")).unwrap();
    let lc = t.path().join("lc");
    let out = cmd(&["ledger", "import"], &empty, &lc, None)
        .arg(&export_b)
        .arg(&export)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (c, _) = report(&["daily"], &empty, &lc, None);
    assert_eq!(totals(&c), totals(&union));
    // A's own export imported into A changes nothing
    let before = fs::read(ledger_file(&la)).unwrap();
    let out = cmd(&["ledger", "import"], &a, &la, None)
        .arg(&export)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(fs::read(ledger_file(&la)).unwrap(), before);
    let (ra2, _) = report(&["daily"], &a, &la, None);
    assert_eq!(ra2, ra);
    // a damaged file is refused (exit 1) and nothing is imported
    let mut bad = fs::read(&export).unwrap();
    let n = bad.len();
    bad[n - 3] ^= 0xff;
    let bad_file = t.path().join("bad.ledger");
    fs::write(&bad_file, &bad).unwrap();
    let out = cmd(&["ledger", "import"], &empty, &lc, None)
        .arg(&bad_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("damaged"));
    // exporting onto the ledger itself is refused
    let out = cmd(&["ledger", "export"], &a, &la, None)
        .arg(ledger_file(&la))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn ledger_path_and_flags() {
    let t = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_spate"))
        .args(["agents", "ledger", "path"])
        .env("SPATE_LEDGER_DIR", t.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        t.path().join("usage-ledger.bin").display().to_string()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_spate"))
        .args(["agents", "daily", "--ledger-fsync", "sometimes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[cfg(unix)]
#[test]
fn sigterm_and_sigint_flush_pending_entries() {
    use std::io::{BufRead, BufReader};
    for signal in ["-TERM", "-INT"] {
        let t = tempfile::tempdir().unwrap();
        let tree = t.path().join("tree");
        copy_tree(&fixture(), &tree);
        let ledger = t.path().join("ledger");
        let (truth, _) = report(&["daily", "--no-ledger"], &tree, &ledger, None);
        // one huge batch: nothing is written before the end of the run
        let mut child = cmd(
            &[
                "daily",
                "--json",
                "--timezone",
                "UTC",
                "--ledger-batch",
                "1000000",
            ],
            &tree,
            &ledger,
            None,
        )
        .env("SPATE_LEDGER_TEST_PENDING_DELAY_MS", "20000")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while !line.contains("ledger entries pending") {
            line.clear();
            assert!(err.read_line(&mut line).unwrap() > 0, "no pending notice");
        }
        assert!(
            !ledger_file(&ledger).exists(),
            "nothing written before the signal"
        );
        let status = Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "{signal}");
        assert!(
            ledger_file(&ledger).exists(),
            "{signal}: flushed on the signal"
        );
        // the flushed ledger holds everything: every transcript deleted, same report
        fs::remove_dir_all(tree.join("projects")).unwrap();
        fs::create_dir_all(tree.join("projects")).unwrap();
        let (v, _) = report(&["daily"], &tree, &ledger, None);
        assert_eq!(v, truth, "{signal}");
    }
}
