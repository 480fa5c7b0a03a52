//! Which transcripts the status line reads, and why its figures still equal those of the
//! whole tree.
//!
//! The line needs three sums over the de-duplicated requests of the whole tree: the running
//! session's cost, today's cost and the active 5-hour block. Reading every request of a big
//! tree costs tens of milliseconds, so the line reads request by request only the files that
//! can hold a request of these sums, chosen from what the cache records per file (the time
//! span of its entries, its strings, the fingerprints of its requests), never from
//! modification times:
//!
//! - a file whose entries reach `from` (the earlier of the local midnight and `now` minus a
//!   look-back, 10 hours at first), or that names the session;
//! - every file that shares a request with a file read, and so on: a request written in
//!   several files counts once, as the copy that wins among all copies, so all of them must
//!   be seen.
//!
//! Every request at or after `from` is then known, and so are today's and the session's. The
//! active block, if there is one, has its last request less than a block length (5 hours)
//! before `now`; with no request since then there is none. Otherwise the chain of blocks
//! must be anchored: a request that starts a block whatever came before it, one more than a
//! block length after the request before it (the first request after `from` when it is a
//! block length after `from` or later, or a request a block length after the previous
//! one). The blocks built from the anchor on are those of the whole tree from there on, and
//! none before it can be active (its last request is more than a block length before the
//! anchor, which is not in the future). Without an anchor (hours of activity without a
//! 5-hour pause) the look-back is widened, at last to the whole tree.

use crate::blocks::{BlockOptions, BlocksReport};
use crate::load::Corpus;
use std::collections::HashSet;
use std::hash::BuildHasherDefault;

use crate::usage::{KeyHasher, Usage};

/// The look-backs tried in turn, in hours; after the last one, every file is read.
pub(super) const LOOKBACK_HOURS: [i64; 4] = [10, 48, 8 * 24, 32 * 24];

/// Which files of `corpus` to read for the requests at or after `from_ms` and those of
/// `session`, with every file sharing a request with one of them.
pub(super) fn files_to_read(corpus: &Corpus, from_ms: i64, session: Option<&str>) -> Vec<bool> {
    let files = &corpus.files;
    let mut keep: Vec<bool> = files
        .iter()
        .map(|f| {
            f.record.span.is_some_and(|(_, last)| last >= from_ms)
                || session.is_some_and(|s| {
                    !f.record.entries.is_empty()
                        && (f.meta.session == s || f.record.strings.iter().any(|t| t == s))
                })
        })
        .collect();
    // the files sharing a request with a file kept, until none is added
    let mut frontier: Vec<usize> = (0..files.len())
        .filter(|&i| keep[i] && files[i].shared)
        .collect();
    while !frontier.is_empty() {
        let keys: HashSet<u64, BuildHasherDefault<KeyHasher>> = frontier
            .iter()
            .flat_map(|&i| files[i].record.keys.iter())
            .collect();
        frontier = (0..files.len())
            .filter(|&i| {
                !keep[i]
                    && files[i].shared
                    && files[i].record.keys.iter().any(|k| keys.contains(&k))
            })
            .collect();
        for &i in &frontier {
            keep[i] = true;
        }
    }
    keep
}

/// The blocks of `usage` (every request at or after `from_ms` in it, one row each) from the
/// first anchor on; `None` when the active block cannot be told from these requests.
pub(super) fn blocks_from_anchor(
    usage: &mut Usage,
    from_ms: i64,
    opts: &BlockOptions,
) -> Option<BlocksReport> {
    let session = opts.session_ms.max(1);
    let mut times: Vec<i64> = usage
        .rows
        .iter()
        .map(|r| r.first_ms)
        .filter(|&t| t >= from_ms)
        .collect();
    times.sort_unstable();
    let start_ms = match times.last() {
        // no request in the last block length: no active block
        None => i64::MAX,
        Some(&last) if opts.now_ms - last >= session => i64::MAX,
        Some(_) => {
            let first = times[0];
            let anchor = if first - from_ms >= session {
                Some(first)
            } else {
                times
                    .windows(2)
                    .find(|w| w[1] - w[0] > session)
                    .map(|w| w[1])
            };
            anchor.filter(|&a| a <= opts.now_ms)?
        }
    };
    let all = std::mem::take(&mut usage.rows);
    usage.rows = all
        .iter()
        .filter(|r| r.first_ms >= start_ms)
        .copied()
        .collect();
    let rep = crate::blocks::build(usage, opts);
    usage.rows = all;
    Some(rep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::CacheMode;

    const HOUR: i64 = 3_600_000;

    fn line(ts: i64, session: &str, id: &str) -> String {
        format!(
            concat!(
                r#"{{"type":"assistant","timestamp":"{}","sessionId":"{}","requestId":"r-{}","#,
                r#""message":{{"id":"m-{}","model":"claude-opus-4-7","#,
                r#""usage":{{"input_tokens":10,"output_tokens":1}}}}}}"#,
                "\n"
            ),
            crate::time::format_ms(ts),
            session,
            id,
            id
        )
    }

    #[test]
    fn only_the_files_of_the_window_the_session_and_their_copies_are_read() {
        let now = crate::time::parse_timestamp_ms("2026-03-10T12:00:00Z").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("projects").join("-p");
        std::fs::create_dir_all(&p).unwrap();
        let files: [(&str, String); 5] = [
            // weeks old, modified now (the listing sorts by path: a, b, c, d, e)
            ("a.jsonl", line(now - 400 * HOUR, "a", "a1")),
            // reaches into the window
            (
                "b.jsonl",
                line(now - 90 * HOUR, "b", "b1") + &line(now - HOUR, "b", "b2"),
            ),
            // old, but the session asked for
            ("c.jsonl", line(now - 300 * HOUR, "c", "c1")),
            // old, holds a copy of b's recent request
            (
                "d.jsonl",
                line(now - 200 * HOUR, "d", "d1") + &line(now - 200 * HOUR, "d", "b2"),
            ),
            // old, shares a request with a (not read): stays out
            ("e.jsonl", line(now - 400 * HOUR, "e", "a1")),
        ];
        for (name, text) in &files {
            std::fs::write(p.join(name), text).unwrap();
        }
        let roots = crate::discover::resolve_roots(&[dir.path().to_owned()], None).unwrap();
        let corpus = crate::load::load(&roots, &CacheMode::Off).unwrap();
        let names: Vec<String> = corpus
            .files
            .iter()
            .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["a.jsonl", "b.jsonl", "c.jsonl", "d.jsonl", "e.jsonl"]
        );
        let keep = files_to_read(&corpus, now - 10 * HOUR, Some("c"));
        assert_eq!(keep, [false, true, true, true, false]);
        let keep = files_to_read(&corpus, now - 10 * HOUR, None);
        assert_eq!(keep, [false, true, false, true, false]);
        let keep = files_to_read(&corpus, now - 500 * HOUR, None);
        assert_eq!(keep, [true; 5]);
    }
}
