//! `spate serve`'s memory stays bounded under repeated requests: `/api/blocks` (with and
//! without parameters, from several connections at once) cuts its blocks once per change of
//! the tree and variant, and the daemon's resident size does not keep growing with the
//! number of requests. Not timed: the bounds are counts and megabytes.

mod serve_common;

use std::path::Path;

use serve_common::*;

/// Files and usage lines of the generated tree: enough requests (24,000) that a per-request
/// analysis is megabytes, so that memory kept per request would show.
const FILES: usize = 240;
const LINES: usize = 100;

/// A tree of `FILES` sessions in 12 projects, their requests spread over 60 days.
fn write_tree(root: &Path) {
    let start = spate_agents::time::parse_timestamp_ms("2025-03-01T00:00:00Z").unwrap();
    for f in 0..FILES {
        let project = root.join("projects").join(format!("-home-me-p{}", f % 12));
        std::fs::create_dir_all(&project).unwrap();
        let session = format!("s{f}");
        let mut text = String::new();
        for l in 0..LINES {
            // each file a day, its requests minutes apart
            let ms = start
                + (f as i64 % 60) * 86_400_000
                + (f as i64 / 60) * 3_600_000
                + l as i64 * 60_000;
            let ts = spate_agents::time::format_ms(ms);
            text.push_str(&usage_line(
                &session,
                &format!("r{f}-{l}"),
                &ts,
                1000 + l as u64,
                100,
            ));
        }
        std::fs::write(project.join(format!("{session}.jsonl")), text).unwrap();
    }
}

/// `VmRSS` of a process, in bytes (`None` without `/proc`).
fn resident(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

fn metric(d: &Daemon, name: &str) -> Option<u64> {
    d.get("/metrics")
        .body
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Every variant once from each of `threads` connections, `rounds` times; returns the
/// bodies of the last round, in variant order, and checks each request succeeded.
fn hammer(d: &Daemon, variants: &[&str], threads: usize, rounds: usize) -> Vec<String> {
    let addr = d.addr;
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let variants: Vec<String> = variants.iter().map(|v| (*v).to_owned()).collect();
            std::thread::spawn(move || {
                let mut last = Vec::new();
                for _ in 0..rounds {
                    last = variants
                        .iter()
                        .map(|v| {
                            let r = get(addr, v, &[]);
                            assert_eq!(r.status, 200, "{v}: {}", r.body);
                            r.body
                        })
                        .collect();
                }
                last
            })
        })
        .collect();
    let mut bodies = Vec::new();
    for h in handles {
        let last = h.join().unwrap();
        if bodies.is_empty() {
            bodies = last;
        } else {
            assert_eq!(bodies, last, "every connection got the same bodies");
        }
    }
    bodies
}

#[test]
fn repeated_blocks_requests_cut_once_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path());
    let d = Daemon::start(dir.path(), &[]);
    let pid = d.child.id();
    let blocks = [
        "/api/blocks",
        "/api/blocks?active=true&token_limit=max&order=desc",
        "/api/blocks?tz=Asia/Tokyo&since=2025-03-10&until=2025-04-10",
        "/api/blocks?project=p3&session_length=3&mode=calculate",
    ];
    // the same variants again with other selections: no new cut
    let selections = [
        "/api/blocks?recent=true",
        "/api/blocks?token_limit=5000000",
        "/api/blocks?tz=Asia/Tokyo&order=desc",
        "/api/blocks?project=p3&session_length=3&mode=calculate&since=2025-04-01",
    ];
    let reports = ["/api/daily?tz=Asia/Tokyo", "/api/session?since=2025-04-01"];
    // warm-up: every variant cut, every report path and worker thread used
    let first = hammer(&d, &blocks, 4, 2);
    hammer(&d, &selections, 4, 2);
    hammer(&d, &reports, 4, 2);
    // a blocks body is the command line's (this tree has no active block: the present
    // does not matter)
    assert_eq!(first[0], cli_json(dir.path(), &["blocks"]));
    assert_eq!(
        first[2],
        cli_json(
            dir.path(),
            &[
                "blocks",
                "-z",
                "Asia/Tokyo",
                "--since",
                "2025-03-10",
                "--until",
                "2025-04-10"
            ]
        )
    );
    let cuts = metric(&d, "spate_blocks_cuts_total").expect("the cuts counter");
    // three variants: the first two differ only in their selection (active, limit, order)
    assert_eq!(cuts, 3, "one cut per variant");
    let Some(before) = resident(pid) else {
        eprintln!("skipped: no /proc/PID/status to read the daemon's resident size from");
        return;
    };
    // 4 connections × 60 rounds × 8 requests: 1,920 blocks requests
    let mut all = blocks.to_vec();
    all.extend(selections);
    let last = hammer(&d, &all, 4, 60);
    assert_eq!(
        &last[..blocks.len()],
        &first[..],
        "the same blocks as at first"
    );
    let after = resident(pid).unwrap();
    assert_eq!(
        metric(&d, "spate_blocks_cuts_total"),
        Some(cuts),
        "no cut without a change of the tree"
    );
    let mb = |b: u64| b as f64 / 1e6;
    eprintln!(
        "daemon resident size: {:.1} MB after the warm-up, {:.1} MB after 1,920 more blocks requests",
        mb(before),
        mb(after)
    );
    // a few megabytes of slack for allocator noise; a leak of 5 KB per request (a tenth of a
    // blocks body here) would be 9.6 MB
    assert!(
        after <= before + 8_000_000,
        "resident size grew from {:.1} MB to {:.1} MB over 1,920 blocks requests",
        mb(before),
        mb(after)
    );
    // the metric reports the same process
    let reported = metric(&d, "process_resident_memory_bytes").unwrap();
    assert!(reported > 0 && reported.abs_diff(after) < 32_000_000);

    // a change of the tree: the next blocks request cuts again (once per variant asked)
    let file = dir.path().join("projects/-home-me-p0/s0.jsonl");
    let events = d.events();
    events
        .next("hello", std::time::Duration::from_secs(10))
        .unwrap();
    append(
        &file,
        &usage_line("s0", "r-new", "2025-03-01T02:00:00.000Z", 7, 7),
    );
    events
        .next("update", std::time::Duration::from_secs(10))
        .unwrap();
    let again = hammer(&d, &blocks[..1], 4, 3);
    assert_ne!(again[0], first[0], "the new request is in a block");
    assert_eq!(again[0], cli_json(dir.path(), &["blocks"]));
    assert_eq!(metric(&d, "spate_blocks_cuts_total"), Some(cuts + 1));
}
