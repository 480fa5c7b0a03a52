//! The status line reads only the files whose requests reach into its window (see also
//! `statusline_window.rs`): its figures must equal those computed from every file, also when
//! activity ran on for more than a day without a pause (then the active block depends on
//! older requests and the window is widened).

use std::path::Path;
use std::time::{Duration, SystemTime};

use spate_agents::blocks::{self, BlockOptions};
use spate_agents::load::{self, CacheMode};
use spate_agents::statusline::{self, StatusInput};
use spate_agents::time::format_ms;
use spate_agents::usage::{self, Query};

const HOUR: i64 = 3_600_000;

fn write(path: &Path, session: &str, times: &[i64], modified_ms: i64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut text = String::new();
    for (i, &t) in times.iter().enumerate() {
        text.push_str(&format!(
            concat!(
                r#"{{"type":"assistant","timestamp":"{}","sessionId":"{}","requestId":"r{}{}","#,
                r#""message":{{"id":"m{}{}","model":"claude-opus-4-7","#,
                r#""usage":{{"input_tokens":1000,"output_tokens":100}}}}}}"#,
                "\n"
            ),
            format_ms(t),
            session,
            session,
            i,
            session,
            i
        ));
    }
    std::fs::write(path, text).unwrap();
    let f = std::fs::File::options().append(true).open(path).unwrap();
    f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_millis(modified_ms as u64))
        .unwrap();
}

fn both(dir: &Path, now: i64) -> (statusline::StatusFigures, statusline::StatusFigures) {
    let roots = spate_agents::discover::resolve_roots(&[dir.to_owned()], None).unwrap();
    let corpus = load::load(&roots, &CacheMode::Off).unwrap();
    let input = StatusInput::parse(br#"{"session_id": "new"}"#).unwrap();
    let fast = statusline::compute(&input, &corpus, Query::default(), now);
    let all = usage::analyze(
        &corpus,
        Query {
            per_request: true,
            ..Query::default()
        },
    );
    let rep = blocks::build(
        &all,
        &BlockOptions {
            now_ms: now,
            ..BlockOptions::default()
        },
    );
    (fast, statusline::figures(&input, &all, &rep))
}

#[test]
fn recent_files_give_the_figures_of_all_files() {
    let now = spate_agents::jiff::Timestamp::now().as_millisecond();
    // an old session two days ago, then a new one after a long pause
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("projects").join("-home-me-app");
    write(
        &p.join("old.jsonl"),
        "old",
        &[now - 50 * HOUR, now - 49 * HOUR],
        now - 49 * HOUR,
    );
    write(
        &p.join("new.jsonl"),
        "new",
        &[now - 2 * HOUR, now - HOUR / 2],
        now - HOUR / 2,
    );
    let (fast, all) = both(dir.path(), now);
    assert_eq!(fast, all);
    assert!(fast.block.is_some(), "an active block");
    assert_eq!(fast.session_cost, Some(2 * 7_500_000_000));

    // activity every 2 hours for 40 hours: the active block's start depends on old files
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("projects").join("-home-me-app");
    let old: Vec<i64> = (13..=20).map(|k| now - 2 * k * HOUR).collect();
    let new: Vec<i64> = (0..=11).map(|k| now - 2 * k * HOUR - HOUR / 4).collect();
    write(&p.join("old.jsonl"), "old", &old, now - 26 * HOUR);
    write(&p.join("new.jsonl"), "new", &new, now - HOUR / 4);
    let (fast, all) = both(dir.path(), now);
    assert_eq!(fast, all);
}
