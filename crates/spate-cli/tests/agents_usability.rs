//! `spate agents` as a new user meets it: the default report, refused flags, filters, empty
//! results, table widths, prices, blocks and the status line (on `testdata/agents/tree`).

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

fn tree() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/agents/tree")
}

fn spate() -> Command {
    let mut cmd = Command::cargo_bin("spate").unwrap();
    cmd.env_remove("CLAUDE_CONFIG_DIR")
        .env_remove("COLUMNS")
        .env("TZ", "UTC")
        // a fresh usage ledger per run, out of the user's data folder
        .env("SPATE_LEDGER_DIR", fresh_ledger_dir());
    cmd
}

fn fresh_ledger_dir() -> PathBuf {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("usability-ledger-{}-{n}", std::process::id()))
}

fn agents(args: &[&str]) -> Command {
    let mut cmd = spate();
    cmd.arg("agents").args(args);
    cmd.arg("--path").arg(tree()).arg("--no-cache");
    cmd
}

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(cmd: &mut Command) -> Value {
    serde_json::from_str(&stdout(cmd)).unwrap()
}

fn stderr_of_failure(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn the_bare_command_is_daily() {
    let bare = stdout(&mut agents(&["-z", "UTC", "--json"]));
    let daily = stdout(&mut agents(&["daily", "-z", "UTC", "--json"]));
    assert_eq!(bare, daily);
    // `local` is the system's zone (TZ=UTC here)
    let local = stdout(&mut agents(&["daily", "-z", "local", "--json"]));
    assert_eq!(local, daily);
}

#[test]
fn flags_a_report_does_not_use_are_refused() {
    for args in [
        &["daily", "--start-of-week", "monday"][..],
        &["model", "-o", "desc"],
        &["model", "-b"],
        &["project", "-o", "desc"],
        &["monthly", "--id", "x"],
        &["blocks", "--breakdown"],
    ] {
        let err = stderr_of_failure(&mut agents(args));
        assert!(err.contains("unexpected argument"), "{args:?}: {err}");
    }
    // where it is used, it is accepted
    stdout(&mut agents(&[
        "weekly",
        "--start-of-week",
        "monday",
        "--json",
    ]));
}

#[test]
fn filters_and_empty_results() {
    let v = json(&mut agents(&["session", "--json", "--project", "beta"]));
    let ids: Vec<&str> = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sessionId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["s-beta-1"]);
    let v = json(&mut agents(&["session", "--json", "--id", "s-alpha-1"]));
    assert_eq!(v["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(v["sessions"][0]["sessionId"], "s-alpha-1");
    let v = json(&mut agents(&[
        "daily", "--json", "-z", "UTC", "--last", "1",
    ]));
    assert_eq!(v["daily"].as_array().unwrap().len(), 1);
    assert_eq!(v["daily"][0]["date"], "2025-07-01");
    assert_eq!(v["totals"]["totalTokens"], v["daily"][0]["totalTokens"]);
    let text = stdout(&mut agents(&["daily", "--since", "2030-01-01"]));
    assert_eq!(
        text,
        "No usage found (no requests in the transcripts for these dates and filters).\n"
    );
    let text = stdout(&mut agents(&["blocks", "--project", "nothing-here"]));
    assert!(text.starts_with("No usage found"), "{text}");
}

#[test]
fn tables_fit_80_100_and_200_columns() {
    // under 100 columns the compact layout; at 100 the full one only where it fits
    for (cols, compact) in [("80", Some(true)), ("100", None), ("200", Some(false))] {
        for report in ["daily", "session", "monthly"] {
            let text = stdout(agents(&[report, "-z", "UTC", "-b"]).env("COLUMNS", cols));
            let widest = text.lines().map(|l| l.chars().count()).max().unwrap();
            let width: usize = cols.parse().unwrap();
            assert!(widest <= width, "{report} at {cols}: {widest}\n{text}");
            if let Some(compact) = compact {
                assert_eq!(
                    text.contains("Cache Read"),
                    !compact,
                    "{report} at {cols}\n{text}"
                );
            }
            // numbers are never cut
            assert!(text.contains("428,510"), "{report} at {cols}\n{text}");
        }
    }
    let text = stdout(agents(&["session", "--breakdown", "agents"]).env("COLUMNS", "200"));
    assert!(text.contains("  └ main"), "{text}");
    assert!(text.contains("  └ code-reviewer"), "{text}");
}

#[test]
fn prices_list_the_table_and_its_source() {
    let text = stdout(spate().args(["agents", "prices"]));
    assert!(text.contains("embedded: LiteLLM"), "{text}");
    assert!(text.contains("claude-opus-4-7"));
    let v = json(spate().args(["agents", "prices", "--json"]));
    let sonnet = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == "claude-sonnet-4-5")
        .unwrap();
    assert_eq!(sonnet["input"].to_string(), "3");
    assert_eq!(sonnet["cacheWrite1h"].to_string(), "6");
    assert_eq!(sonnet["longContext"]["aboveTokens"], 200_000);

    // an override file comes first, named as the source
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prices.json");
    std::fs::write(
        &file,
        r#"{"claude-opus-9": {"input_cost_per_token": 1e-05, "output_cost_per_token": 5e-05}}"#,
    )
    .unwrap();
    let v = json(
        spate()
            .args(["agents", "prices", "--json", "--pricing"])
            .arg(&file),
    );
    assert_eq!(v["models"][0]["model"], "claude-opus-9");
    assert_eq!(v["models"][0]["cacheWrite1h"].to_string(), "20");
    assert!(v["sources"][1].as_str().unwrap().starts_with("override: "));
}

#[test]
fn blocks_json_and_table() {
    let v = json(&mut agents(&["blocks", "--json", "-z", "UTC"]));
    let blocks = v["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 7);
    assert_eq!(blocks[0]["id"], "2025-06-01T10:00:00.000Z");
    assert_eq!(blocks[1]["isGap"], true);
    let text = stdout(agents(&["blocks", "-z", "UTC"]).env("COLUMNS", "80"));
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    let text = stdout(&mut agents(&["blocks", "--active"]));
    assert!(text.starts_with("No active 5-hour block"), "{text}");
    let err = stderr_of_failure(&mut agents(&["blocks", "--token-limit", "lots"]));
    assert!(err.contains("--token-limit"), "{err}");
    let err = stderr_of_failure(&mut agents(&["blocks", "--live"]));
    assert!(err.contains("not one"), "{err}");
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn statusline_never_fails() {
    // a fresh copy: the status line reads the files modified in the last day
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&tree(), dir.path());
    let line = |stdin: &str| {
        let out = spate()
            .args(["agents", "statusline", "--no-cache", "--path"])
            .arg(dir.path())
            .write_stdin(stdin)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{stdin}");
        String::from_utf8(out.stdout).unwrap()
    };
    let ok = line(r#"{"session_id": "s-alpha-1", "model": {"display_name": "Opus"}}"#);
    assert!(
        ok.starts_with("Opus | $1.76 session · $0.00 today · no active block"),
        "{ok}"
    );
    for bad in ["", "not json", "[1]", "{\"session_id\":", "\u{0}\u{1}"] {
        let l = line(bad);
        assert!(l.contains("usage unavailable"), "{bad:?}: {l}");
        assert_eq!(l.lines().count(), 1);
    }
    let out = spate()
        .args([
            "agents",
            "statusline",
            "--no-cache",
            "--path",
            "/nonexistent/x",
        ])
        .write_stdin(r#"{"model": {"display_name": "Sonnet"}}"#)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let l = String::from_utf8(out.stdout).unwrap();
    assert!(l.starts_with("Sonnet | usage unavailable: "), "{l}");
}

#[test]
fn the_missing_tree_error_names_each_folder_once() {
    let home = tempfile::tempdir().unwrap();
    let out = spate()
        .args(["agents", "daily", "--no-cache"])
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    let config = home.path().join(".config/claude").display().to_string();
    assert_eq!(err.matches(&config).count(), 1, "{err}");
}
