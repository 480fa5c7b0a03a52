//! A corpus refreshed in place equals one loaded afresh, through an append, a truncation, a
//! deletion and a new file; with and without the cache, which the refresh keeps current.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use spate_agents::corpus::Corpus;
use spate_agents::load::CacheMode;
use spate_agents::report::{self, Period};
use spate_agents::usage::{self, Query};
use spate_agents::{delegations, discover, report_json, summary_line};

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every report as JSON and the summary line, from buckets and from single requests.
fn answer(corpus: &Corpus) -> String {
    let mut out = String::new();
    for per_request in [false, true] {
        let u = usage::analyze(
            corpus,
            Query {
                per_request,
                ..Query::default()
            },
        );
        for p in [
            Period::Daily,
            Period::Weekly,
            Period::Monthly,
            Period::Session,
            Period::Model,
            Period::Project,
        ] {
            out.push_str(&report_json::to_pretty(&report::build(&u, p, true)).unwrap());
        }
        out.push_str(&report_json::to_pretty(&delegations::build(&u, 1)).unwrap());
        out.push_str(&summary_line(&u.summary));
    }
    out
}

fn roots(tree: &Path) -> Vec<PathBuf> {
    discover::resolve_roots(&[tree.to_owned()], None).unwrap()
}

fn fresh(tree: &Path) -> String {
    answer(&Corpus::open(&roots(tree), &CacheMode::Off).unwrap())
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

const NEW_LINE: &str = concat!(
    r#"{"type":"assistant","timestamp":"2025-06-03T10:00:00.000Z","sessionId":"s-alpha-1","#,
    r#""requestId":"req_refresh","message":{"id":"msg_refresh","model":"claude-haiku-4-5-20251001","#,
    r#""usage":{"input_tokens":111,"output_tokens":222}}}"#,
    "\n"
);

fn refresh_follows_the_tree(cache: Option<&Path>) {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    copy_tree(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/agents/tree"),
        &tree,
    );
    let mode = cache.map_or(CacheMode::Off, |c| CacheMode::Dir(c.to_owned()));
    let mut corpus = Corpus::open(&roots(&tree), &mode).unwrap();
    assert_eq!(answer(&corpus), fresh(&tree));
    assert_eq!(corpus.stats.parsed, 4);

    // nothing changed: nothing is read, and the cache is not written
    // (each file's bytes and, where there are inodes, which file it is: a file replaced by
    // an identical one is a write)
    let cache_files = || -> Vec<(PathBuf, Vec<u8>, u64)> {
        let Some(dir) = cache else { return Vec::new() };
        let mut v: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                let bytes = fs::read(&p).unwrap();
                #[cfg(unix)]
                let id = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&p).unwrap());
                #[cfg(not(unix))]
                let id = 0;
                (p, bytes, id)
            })
            .collect();
        v.sort();
        v
    };
    let before = cache_files();
    corpus.refresh().unwrap();
    assert_eq!(cache_files(), before);
    assert_eq!(
        (
            corpus.stats.reused,
            corpus.stats.parsed,
            corpus.stats.bytes_read
        ),
        (4, 0, 0)
    );
    assert_eq!(answer(&corpus), fresh(&tree));

    let projects = tree.join("projects");
    let alpha = projects.join("-home-me-alpha/s-alpha-1.jsonl");
    let beta = projects.join("-home-me-beta/s-beta-1.jsonl");
    let a2 = projects.join("-home-me-alpha/s-alpha-1/subagents/agent-a2.jsonl");
    // appended to, truncated to its first line, deleted, added
    let alpha_len = fs::metadata(&alpha).unwrap().len();
    append(&alpha, NEW_LINE);
    let beta_text = fs::read_to_string(&beta).unwrap();
    let first_line = &beta_text[..=beta_text.find('\n').unwrap()];
    fs::write(&beta, first_line).unwrap();
    fs::remove_file(&a2).unwrap();
    let gamma = projects.join("-home-me-gamma");
    fs::create_dir_all(&gamma).unwrap();
    fs::write(
        gamma.join("s-gamma-1.jsonl"),
        NEW_LINE.replace("s-alpha-1", "s-gamma-1"),
    )
    .unwrap();

    corpus.refresh().unwrap();
    let s = &corpus.stats;
    assert_eq!(s.files, 4, "{s:?}");
    assert_eq!((s.appended, s.parsed, s.reused), (1, 2, 1), "{s:?}");
    // the appended file: only its bytes from its parsed offset were read (its new line and
    // the incomplete last line it had), the beta and gamma files whole
    let whole = (NEW_LINE.len() + first_line.len() + NEW_LINE.len()) as u64;
    assert!(
        s.bytes_read >= whole && s.bytes_read < whole + alpha_len / 2,
        "{s:?} (alpha was {alpha_len} bytes)"
    );
    assert_eq!(answer(&corpus), fresh(&tree));
    assert!(corpus.warnings.is_empty(), "{:?}", corpus.warnings);

    if let Some(cache) = cache {
        // the refresh kept the cache current: another process reads it all unchanged
        let other = Corpus::open(&roots(&tree), &CacheMode::Dir(cache.to_owned())).unwrap();
        assert_eq!((other.stats.reused, other.stats.parsed), (4, 0));
        assert_eq!(answer(&other), answer(&corpus));
        // that process changes the tree and the cache; this corpus follows
        append(&beta, NEW_LINE);
        let mut other = other;
        other.refresh().unwrap();
        fs::remove_file(gamma.join("s-gamma-1.jsonl")).unwrap();
        corpus.refresh().unwrap();
        assert_eq!(answer(&corpus), fresh(&tree));
        let third = Corpus::open(&roots(&tree), &CacheMode::Dir(cache.to_owned())).unwrap();
        assert_eq!((third.stats.reused, third.stats.parsed), (3, 0));
        assert!(third.warnings.is_empty(), "{:?}", third.warnings);
        assert_eq!(answer(&third), fresh(&tree));
    }
}

#[test]
fn refresh_without_cache() {
    refresh_follows_the_tree(None);
}

#[test]
fn refresh_with_cache() {
    let cache = tempfile::tempdir().unwrap();
    refresh_follows_the_tree(Some(cache.path()));
}
