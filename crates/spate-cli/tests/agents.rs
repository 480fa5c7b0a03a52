//! `spate agents` end to end, on the hand-written tree in `testdata/agents/tree`.

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

fn tree() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/agents/tree")
}

fn spate() -> Command {
    let mut cmd = Command::cargo_bin("spate").unwrap();
    cmd.env_remove("CLAUDE_CONFIG_DIR").env("TZ", "UTC");
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
            "cacheCreationTokens",
            "cacheReadTokens",
            "date",
            "inputTokens",
            "modelBreakdowns",
            "modelsUsed",
            "outputTokens",
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
            "totalCost",
            "totalTokens",
            "unpricedModels"
        ]
    );
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
    assert!(total.ends_with("$1.81*"), "{total}");
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
    // the main file and the entries file
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}
