//! The status line reads request by request only the files whose entries reach into the
//! window it needs (chosen by the time span of their entries, not by modification times):
//! its figures must still equal those computed from every request of the tree, on trees
//! with old files, files with entries inside and outside the window, a session across
//! midnight, a request copied into another file (the copy with more tokens wins, wherever
//! it is), hours of activity without a pause (the window is widened), requests in the
//! future, and on random trees; through the cache as well as without it; modification
//! times set back or forward do not matter.

use std::path::Path;
use std::time::{Duration, SystemTime};

use spate_agents::blocks::{self, BlockOptions};
use spate_agents::jiff::tz::TimeZone;
use spate_agents::load::{self, CacheMode, Corpus};
use spate_agents::statusline::{self, StatusFigures, StatusInput};
use spate_agents::time::{format_ms, parse_timestamp_ms};
use spate_agents::usage::{self, Query};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// One usage line.
struct Req<'a> {
    ts: i64,
    session: &'a str,
    id: String,
    tokens: u64,
    sidechain: bool,
}

fn req(ts: i64, session: &str, id: impl Into<String>) -> Req<'_> {
    Req {
        ts,
        session,
        id: id.into(),
        tokens: 1000,
        sidechain: false,
    }
}

fn line(r: &Req<'_>) -> String {
    format!(
        concat!(
            r#"{{"type":"assistant","timestamp":"{}","sessionId":"{}","requestId":"r-{}","#,
            r#""isSidechain":{},"message":{{"id":"m-{}","model":"claude-opus-4-7","#,
            r#""usage":{{"input_tokens":{},"output_tokens":100}}}}}}"#,
            "\n"
        ),
        format_ms(r.ts),
        r.session,
        r.id,
        r.sidechain,
        r.id,
        r.tokens
    )
}

/// Writes `reqs` to `rel` under the tree's project folder, with the modification time
/// `modified_ms` (times that say nothing about the entries: the line must not care).
fn write(dir: &Path, rel: &str, reqs: &[Req<'_>], modified_ms: i64) {
    let path = dir.join("projects").join("-home-me-app").join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text: String = reqs.iter().map(line).collect();
    std::fs::write(&path, text).unwrap();
    let f = std::fs::File::options().append(true).open(&path).unwrap();
    let t = SystemTime::UNIX_EPOCH + Duration::from_millis(modified_ms.max(0) as u64);
    f.set_modified(t).unwrap();
}

fn open(dir: &Path, cache: &CacheMode) -> Corpus {
    let roots = spate_agents::discover::resolve_roots(&[dir.to_owned()], None).unwrap();
    load::load(&roots, cache).unwrap()
}

/// The figures from every request of the tree: the blocks report and the per-request usage.
fn full(input: &StatusInput, corpus: &Corpus, tz: &TimeZone, now: i64) -> StatusFigures {
    let all = usage::analyze(
        corpus,
        Query {
            tz: tz.clone(),
            per_request: true,
            ..Query::default()
        },
    );
    let opts = BlockOptions {
        now_ms: now,
        ..BlockOptions::default()
    };
    statusline::figures(input, &all, &blocks::build(&all, &opts))
}

fn fast(input: &StatusInput, corpus: &Corpus, tz: &TimeZone, now: i64) -> StatusFigures {
    let query = Query {
        tz: tz.clone(),
        ..Query::default()
    };
    statusline::compute(input, corpus, query, now)
}

fn input(session: &str) -> StatusInput {
    StatusInput::parse(format!(r#"{{"session_id": "{session}"}}"#).as_bytes()).unwrap()
}

/// Checks the fast figures against the full ones, without a cache and through one (opened
/// twice: the second time every record comes from the cache), for each session and zone;
/// returns the figures of the first session in UTC.
fn check(dir: &Path, now: i64, sessions: &[&str]) -> StatusFigures {
    let cache_dir = tempfile::tempdir().unwrap();
    let cached = CacheMode::Dir(cache_dir.path().to_owned());
    drop(open(dir, &cached));
    let zones = [
        TimeZone::UTC,
        TimeZone::get("America/New_York").unwrap(),
        TimeZone::get("Asia/Kolkata").unwrap(),
    ];
    let mut first = None;
    for mode in [CacheMode::Off, cached] {
        let corpus = open(dir, &mode);
        for tz in &zones {
            for s in sessions {
                let i = input(s);
                let (a, b) = (fast(&i, &corpus, tz, now), full(&i, &corpus, tz, now));
                assert_eq!(a, b, "session {s}, zone {tz:?}, now {}", format_ms(now));
                assert_eq!(statusline::line(&i, &a), statusline::line(&i, &b));
                first.get_or_insert(a);
            }
        }
    }
    first.unwrap()
}

fn now() -> i64 {
    parse_timestamp_ms("2026-03-10T01:30:00Z").unwrap()
}

#[test]
fn old_files_and_files_reaching_into_the_window() {
    let now = now();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // history weeks and days old, modified "now" (as a generated or copied tree is)
    write(
        d,
        "old1.jsonl",
        &[
            req(now - 20 * DAY, "old1", "o1"),
            req(now - 19 * DAY, "old1", "o2"),
        ],
        now,
    );
    write(d, "old2.jsonl", &[req(now - 3 * DAY, "old2", "o3")], now);
    // a file with entries three days ago and two hours ago, modified three days ago
    write(
        d,
        "mixed.jsonl",
        &[
            req(now - 3 * DAY, "mixed", "x1"),
            req(now - 2 * HOUR, "mixed", "x2"),
        ],
        now - 3 * DAY,
    );
    // the running session: entries since yesterday evening (across midnight in UTC)
    let run: Vec<Req<'_>> = (0..8)
        .map(|k| req(now - 4 * HOUR + k * 25 * MINUTE, "run", format!("run{k}")))
        .collect();
    write(d, "run.jsonl", &run, now);
    let f = check(d, now, &["run", "old1", "mixed", "nobody"]);
    assert!(f.block.is_some(), "an active block");
    assert!(f.today_cost > 0 && f.session_cost.is_some());
}

#[test]
fn no_request_in_the_last_hours() {
    let now = now();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.jsonl",
        &[req(now - 6 * HOUR, "a", "a1")],
        now,
    );
    write(
        dir.path(),
        "b.jsonl",
        &[req(now - 30 * DAY, "b", "b1")],
        now - 30 * DAY,
    );
    let f = check(dir.path(), now, &["a", "b"]);
    assert_eq!(f.block, None);
}

#[test]
fn a_session_across_midnight() {
    // 23:30 to 03:30 local time in New York (UTC-4), the day before and on the day of `now`
    let now = parse_timestamp_ms("2026-03-10T07:30:00Z").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let times: Vec<Req<'_>> = (0..9)
        .map(|k| req(now - 4 * HOUR + k * 30 * MINUTE, "night", format!("n{k}")))
        .collect();
    write(dir.path(), "night.jsonl", &times, now - 2 * DAY);
    let f = check(dir.path(), now, &["night"]);
    assert!(f.block.is_some());
}

#[test]
fn a_copy_in_an_old_file_wins_over_the_recent_one() {
    let now = now();
    let dir = tempfile::tempdir().unwrap();
    // the same request (same message and request id) in the running session at a recent
    // time, and in another session's old sub-agent file with more tokens: the old copy
    // counts, at its time and for its session
    let mut recent = req(now - HOUR, "run", "dup");
    recent.tokens = 10;
    let mut old = req(now - 6 * DAY, "other", "dup");
    old.tokens = 5000;
    old.sidechain = true;
    write(
        dir.path(),
        "run.jsonl",
        &[req(now - 2 * HOUR, "run", "r1"), recent],
        now,
    );
    write(
        dir.path(),
        "other/subagents/agent-x.jsonl",
        &[req(now - 6 * DAY, "other", "o1"), old],
        now - 6 * DAY,
    );
    check(dir.path(), now, &["run", "other"]);
}

#[test]
fn a_day_of_activity_without_a_pause_widens_the_window() {
    let now = now();
    let dir = tempfile::tempdir().unwrap();
    // a request every 3 hours for 4 days: no 5-hour pause, the chain of blocks starts days ago
    let reqs: Vec<Req<'_>> = (0..32)
        .map(|k| {
            req(
                now - 4 * DAY + k * 3 * HOUR + 7 * MINUTE,
                "long",
                format!("l{k}"),
            )
        })
        .collect();
    write(dir.path(), "long.jsonl", &reqs[..16], now - 2 * DAY);
    write(dir.path(), "long2.jsonl", &reqs[16..], now);
    check(dir.path(), now, &["long"]);
}

#[test]
fn requests_in_the_future() {
    let now = now();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "f.jsonl",
        &[
            req(now - 3 * HOUR, "f", "f1"),
            req(now + 2 * HOUR, "f", "f2"),
            req(now + 9 * HOUR, "f", "f3"),
        ],
        now,
    );
    check(dir.path(), now, &["f"]);
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn random_trees() {
    let sessions = ["s0", "s1", "s2", "s3"];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..24 {
        let now = now() + rng.below(2 * DAY as u64) as i64;
        let dir = tempfile::tempdir().unwrap();
        let n_files = 2 + rng.below(6);
        let mut ids = 0;
        for f in 0..n_files {
            let session = sessions[rng.below(4) as usize];
            // a burst of requests somewhere in the last 12 days (some around now)
            let start =
                now - rng.below(12 * DAY as u64) as i64 + rng.below(12 * HOUR as u64) as i64;
            let n = 1 + rng.below(12);
            let mut reqs = Vec::new();
            let mut t = start;
            for _ in 0..n {
                t += rng.below(7 * HOUR as u64) as i64;
                let copy = ids > 0 && rng.below(6) == 0;
                let id = if copy { rng.below(ids) } else { ids };
                if !copy {
                    ids += 1;
                }
                let mut r = req(t, session, format!("q{id}"));
                r.tokens = 1 + rng.below(3000);
                r.sidechain = rng.below(3) == 0;
                reqs.push(r);
            }
            let rel = if rng.below(3) == 0 {
                format!("{session}/subagents/agent-{f}.jsonl")
            } else {
                format!("f{f}.jsonl")
            };
            let modified = now - rng.below(20 * DAY as u64) as i64;
            write(dir.path(), &rel, &reqs, modified);
        }
        let _ = round;
        check(dir.path(), now, &sessions);
    }
}
