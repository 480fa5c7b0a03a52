//! `spate agents` end to end, on the hand-written tree in `testdata/agents/tree`.

use std::io::Write;
use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

fn tree() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/agents/tree")
}

/// A usage ledger folder of this test process, under Cargo's test scratch folder: fresh on
/// every run (a ledger kept from an earlier run would count fixture lines changed since as
/// usage of deleted transcripts).
fn ledger_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("ledger-{}", std::process::id()))
}

fn spate() -> Command {
    let mut cmd = Command::cargo_bin("spate").unwrap();
    cmd.env_remove("CLAUDE_CONFIG_DIR").env("TZ", "UTC");
    // the usage ledger of these runs stays out of the user's data folder
    cmd.env("SPATE_LEDGER_DIR", ledger_dir());
    cmd
}

fn agents(args: &[&str]) -> Command {
    let mut cmd = spate();
    cmd.arg("agents")
        .args(args)
        .arg("--path")
        .arg(tree())
        .arg("--no-cache");
    cmd.args(["--timezone", "UTC"]);
    cmd
}

fn json_of(args: &[&str]) -> Value {
    let out = agents(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn daily_json_has_ccusage_shape_and_exact_numbers() {
    let v = json_of(&["daily", "--json"]);
    assert_eq!(keys(&v), ["daily", "totals"]);
    let day = &v["daily"][0];
    assert_eq!(
        keys(day),
        [
            "agentBreakdowns",
            "cacheCreationTokens",
            "cacheReadTokens",
            "date",
            "inputTokens",
            "modelBreakdowns",
            "modelsUsed",
            "outputTokens",
            "subagentCost",
            "subagentRequests",
            "subagentTokens",
            "totalCost",
            "totalTokens"
        ]
    );
    assert_eq!(
        keys(&day["modelBreakdowns"][0]),
        [
            "cacheCreationTokens",
            "cacheReadTokens",
            "cost",
            "inputTokens",
            "modelName",
            "outputTokens"
        ]
    );
    assert_eq!(
        keys(&v["totals"]),
        [
            "cacheCreationTokens",
            "cacheReadTokens",
            "inputTokens",
            "outputTokens",
            "subagentCost",
            "subagentRequests",
            "subagentTokens",
            "totalCost",
            "totalTokens",
            "unpricedModels"
        ]
    );
    assert_eq!(v["totals"]["subagentTokens"], 12_500);
    assert_eq!(v["totals"]["subagentCost"].to_string(), "0.028");
    assert_eq!(v["totals"]["unpricedModels"][0], "claude-opus-9-20300101");
    let priced = json_of(&["daily", "--json", "--until", "2025-05-31"]);
    assert!(priced["totals"].get("unpricedModels").is_none());
    assert_eq!(day["date"], "2025-06-01");
    assert_eq!(day["totalTokens"], 283_910);
    assert_eq!(v["totals"]["totalTokens"], 428_510);
    // exact decimal text, not a float approximation
    let text = String::from_utf8(agents(&["daily", "--json"]).output().unwrap().stdout).unwrap();
    assert!(text.contains("\"totalCost\": 1.81038,\n"), "{text}");
}

#[test]
fn other_reports_use_the_same_naming() {
    for (cmd, list, label) in [
        ("weekly", "weekly", "week"),
        ("monthly", "monthly", "month"),
        ("session", "sessions", "sessionId"),
        ("model", "models", "modelName"),
        ("project", "projects", "project"),
    ] {
        let v = json_of(&[cmd, "--json"]);
        let mut want = vec![list.to_owned(), "totals".to_owned()];
        want.sort();
        assert_eq!(keys(&v), want, "{cmd}");
        assert!(v[list][0].get(label).is_some(), "{cmd}");
        assert_eq!(v["totals"]["totalTokens"], 428_510, "{cmd}");
    }
    let s = json_of(&["session", "--json"]);
    assert_eq!(s["sessions"][0]["projectPath"], "-home-me-alpha");
    assert_eq!(s["sessions"][0]["lastActivity"], "2025-06-01T10:15:00.000Z");
}

#[test]
fn table_is_aligned_with_totals_and_no_colour_off_a_terminal() {
    let out = agents(&["daily", "--breakdown"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    let lines: Vec<&str> = text.lines().collect();
    let header = lines.iter().position(|l| l.starts_with("Date")).unwrap();
    let cost_end = lines[header].len();
    let total = lines.iter().find(|l| l.starts_with("Total")).unwrap();
    assert!(total.contains(" $1.81*  "), "{total}");
    assert!(
        total.ends_with(" 1.5%"),
        "sub-agents' share of the cost: {total}"
    );
    assert_eq!(
        total.chars().count(),
        cost_end,
        "right-aligned under the header"
    );
    for l in &lines[header + 2..] {
        if l.starts_with("2025-") {
            assert_eq!(l.chars().count(), cost_end, "{l}");
        }
    }
    assert!(text.contains("  └ sonnet-4 "));
    assert!(text.contains("models without a known price"));
    let coloured = agents(&["daily"]).env("NO_COLOR", "1").output().unwrap();
    assert!(!String::from_utf8(coloured.stdout).unwrap().contains('\x1b'));
}

#[test]
fn summary_and_warnings_go_to_stderr() {
    let out = agents(&["daily", "--json"]).output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("no price for model \"claude-opus-9-20300101\""),
        "{err}"
    );
    assert!(
        err.contains("16 usage records (3 duplicates removed); skipped lines: 1 malformed, 1 without timestamp, 1 incomplete last line, 1 <synthetic>"),
        "{err}"
    );
}

#[test]
fn exit_codes() {
    agents(&["daily", "--strict"]).assert().code(1);
    agents(&["daily", "--since", "June"]).assert().code(2);
    agents(&["daily", "--timezone", "Mars/Olympus"])
        .assert()
        .code(2);
    agents(&["daily", "--mode", "guess"]).assert().code(2);
    spate()
        .args([
            "agents",
            "daily",
            "--no-cache",
            "--path",
            "/nonexistent/spate-agents",
        ])
        .assert()
        .code(2);
    agents(&["daily", "--pricing", "/nonexistent/prices.json"])
        .assert()
        .code(2);
}

#[test]
fn delegations_report() {
    let v = json_of(&["delegations", "--json", "--marathon", "2"]);
    assert_eq!(
        keys(&v),
        [
            "agents",
            "marathonThreshold",
            "marathons",
            "monthly",
            "totals"
        ]
    );
    let names: Vec<&str> = v["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["agentType"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["architect", "code-reviewer", "test-engineer"]);
    assert_eq!(v["totals"]["delegations"], 3);
    assert_eq!(v["totals"]["totalTokens"], 12_500);
    assert_eq!(v["marathons"][0]["sessionId"], "s-alpha-1");
    let table = agents(&["delegations"]).output().unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("Marathons (sessions with more than 20 delegations)\n\nnone"));
}

#[test]
fn filters_modes_pricing_and_discovery() {
    let v = json_of(&[
        "daily",
        "--json",
        "--since",
        "2025-06-02",
        "--until",
        "20250630",
    ]);
    assert_eq!(v["daily"].as_array().unwrap().len(), 1);
    assert_eq!(v["daily"][0]["date"], "2025-06-09");
    let v = json_of(&["daily", "--json", "--mode", "calculate"]);
    assert_eq!(v["totals"]["totalCost"].to_string(), "1.32838");
    let v = json_of(&["daily", "--json", "--order", "desc"]);
    assert_eq!(v["daily"][0]["date"], "2025-07-01");
    let v = spate()
        .args([
            "agents",
            "daily",
            "--json",
            "--no-cache",
            "--timezone",
            "Asia/Tokyo",
        ])
        .env(
            "CLAUDE_CONFIG_DIR",
            format!("/nonexistent,{}", tree().display()),
        )
        .output()
        .unwrap();
    assert!(v.status.success());
    let v: Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(v["daily"][1]["date"], "2025-06-02");

    let dir = tempfile::tempdir().unwrap();
    let prices = dir.path().join("prices.json");
    std::fs::write(
        &prices,
        r#"{"claude-opus-9": {"input_cost_per_token": 1e-05, "output_cost_per_token": 5e-05}}"#,
    )
    .unwrap();
    let prices = prices.to_str().unwrap();
    let out = agents(&["daily", "--json", "--pricing", prices])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("no price"));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["totals"]["totalCost"].to_string(), "1.82088");
}

#[test]
fn cached_runs_match_uncached() {
    let dir = tempfile::tempdir().unwrap();
    let uncached = agents(&["daily", "--json"]).output().unwrap().stdout;
    for _ in 0..2 {
        let out = spate()
            .args(["agents", "daily", "--json", "--timezone", "UTC", "--path"])
            .arg(tree())
            .arg("--cache-dir")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, uncached);
    }
    // the main file, the entries file and the lock file
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
}

/// One assistant line with its own request (or, with the same `i`/`j`, a copy of one).
fn usage_line(i: usize, j: usize) -> String {
    format!(
        concat!(
            r#"{{"type":"assistant","timestamp":"2025-05-{:02}T{:02}:{:02}:00Z","sessionId":"s{}","#,
            r#""requestId":"r{}-{}","message":{{"id":"m{}-{}","model":"claude-sonnet-4-5-20250929","#,
            r#""usage":{{"input_tokens":{},"output_tokens":{},"cache_read_input_tokens":{}}}}}}}"#,
            "\n"
        ),
        1 + (i + j) % 28,
        j % 24,
        (i * 7 + j) % 60,
        i,
        i,
        j,
        i,
        j,
        100 + i * 31 + j,
        10 + j,
        1000 * (j % 5),
    )
}

/// A tree big enough that two runs overlap: 120 sessions of 60 requests, every tenth
/// session also holding copies of the previous one's first requests (a resumed session,
/// so that the entries file is read).
fn generated_tree(root: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for i in 0..120 {
        let project = root.join("projects").join(format!("-home-me-p{}", i % 6));
        std::fs::create_dir_all(&project).unwrap();
        let mut text = String::new();
        if i % 10 == 9 {
            for j in 0..5 {
                text.push_str(&usage_line(i - 1, j));
            }
        }
        for j in 0..60 {
            text.push_str(&usage_line(i, j));
        }
        let path = project.join(format!("s{i}.jsonl"));
        std::fs::write(&path, text).unwrap();
        files.push(path);
    }
    files
}

/// Every record of the cache in `dir` decodes and names a readable, matching section of
/// the entries file (wrong offsets would be caught by a checksum and parsed again, silently).
fn assert_valid_cache(dir: &std::path::Path, round: usize) {
    let main: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    assert_eq!(main.len(), 1, "round {round}: one main cache file");
    let decoded = spate_agents::cache::read(&main[0])
        .unwrap()
        .expect("a cache was written")
        .expect("the cache decodes");
    assert_eq!(decoded.files.len(), 120, "round {round}");
    for f in &decoded.files {
        assert!(
            f.record.entries().is_some(),
            "round {round}: entries of {} unreadable",
            f.path.display()
        );
    }
}

#[test]
fn concurrent_runs_share_one_cache_safely() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let cache = dir.path().join("cache");
    let files = generated_tree(&tree);
    let run = |cached: bool| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("spate"));
        // (a debug build's hook: a pause inside the cache write, so that two unlocked
        // writers would overlap)
        cmd.env_remove("CLAUDE_CONFIG_DIR")
            .env("SPATE_AGENTS_TEST_WRITE_DELAY_MS", "40")
            .env("SPATE_LEDGER_DIR", ledger_dir())
            .args(["agents", "daily", "--json", "--timezone", "UTC", "--path"])
            .arg(&tree)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if cached {
            cmd.arg("--cache-dir").arg(&cache);
        } else {
            cmd.arg("--no-cache");
        }
        cmd
    };
    let check = |out: std::process::Output, expected: &[u8], round: usize| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "round {round}: {stderr}");
        // a cache written with wrong offsets shows as "rebuilding it" or "parsed them again"
        assert!(!stderr.contains("cache"), "round {round}: {stderr}");
        assert!(
            out.stdout == expected,
            "round {round}: output differs from an uncached run"
        );
    };
    let append = |at: &PathBuf, line: &str| {
        std::fs::OpenOptions::new()
            .append(true)
            .open(at)
            .unwrap()
            .write_all(line.as_bytes())
            .unwrap();
    };
    for round in 0..20 {
        // Two runs on the same tree, something to write each round: a request appended to
        // one file, every third round a copy of another file's request (the two files then
        // share it); round 0 starts without any cache.
        let at = &files[(round * 7) % files.len()];
        let mut line = usage_line(1000 + round, 0);
        if round % 3 == 2 {
            line.push_str(&usage_line((round * 13) % 120, 3));
        }
        append(at, &line);
        let expected = run(false).output().unwrap().stdout;
        let a = run(true).spawn().unwrap();
        let b = run(true).spawn().unwrap();
        check(a.wait_with_output().unwrap(), &expected, round);
        check(b.wait_with_output().unwrap(), &expected, round);
        assert_valid_cache(&cache, round);
        // Two runs that write different things: a file grows while the first runs, so the
        // second has one more section to append (unlocked, its sections would land after
        // the first's while its main file names the offsets it saw).
        append(
            &files[(round * 11 + 3) % files.len()],
            &usage_line(2000 + round, 0),
        );
        let before = run(false).output().unwrap().stdout;
        let a = run(true).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        append(
            &files[(round * 5 + 1) % files.len()],
            &usage_line(3000 + round, 0),
        );
        let b = run(true).spawn().unwrap();
        let after = run(false).output().unwrap().stdout;
        let a = a.wait_with_output().unwrap();
        let a_saw = if a.stdout == before { &before } else { &after };
        check(a, a_saw, round);
        check(b.wait_with_output().unwrap(), &after, round);
        assert_valid_cache(&cache, round);
        // and a third run uses the cache left behind without complaint
        check(run(true).output().unwrap(), &after, round);
    }
    let left: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.iter().all(|n| !n.contains(".tmp")),
        "no temporary file is left behind: {left:?}"
    );
}

/// Issue 11 row 9: SIGINT in the middle of a cache write leaves no temporary file behind.
#[cfg(unix)]
#[test]
fn interrupt_during_a_cache_write_removes_its_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let temps = |cache: &std::path::Path| -> Vec<String> {
        std::fs::read_dir(cache)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.contains(".tmp"))
                    .collect()
            })
            .unwrap_or_default()
    };
    // (a debug build's hook: the temporary file stays in place for 10 s)
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("spate"))
        .env_remove("CLAUDE_CONFIG_DIR")
        .env("SPATE_AGENTS_TEST_TEMP_DELAY_MS", "10000")
        .env("SPATE_LEDGER_DIR", ledger_dir())
        .args(["agents", "daily", "--json", "--timezone", "UTC", "--path"])
        .arg(tree())
        .arg("--cache-dir")
        .arg(&cache)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while temps(&cache).is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "no temporary cache file appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "the interrupt did not end the run promptly"
    );
    assert_eq!(temps(&cache), Vec::<String>::new());
}
