//! `spate serve` end to end: the real binary on an ephemeral loopback port, compared with
//! `spate agents ... --json` on the same tree.

mod serve_common;

use std::time::{Duration, Instant};

use serde_json::Value;
use serve_common::*;

const REPORTS: [&str; 7] = [
    "daily",
    "weekly",
    "monthly",
    "session",
    "model",
    "project",
    "delegations",
];

/// Every report endpoint equals the command line's `--json`, byte for byte, with and
/// without parameters; `/api/stats` equals the reports' totals and counts.
fn assert_equals_cli(d: &Daemon, tree: &std::path::Path) {
    for name in REPORTS {
        let body = d.get(&format!("/api/{name}")).body;
        assert_eq!(body, cli_json(tree, &[name]), "/api/{name}");
    }
    let stats = d.json("/api/stats");
    let daily: Value = serde_json::from_str(&cli_json(tree, &["daily"])).unwrap();
    assert_eq!(stats["totals"], daily["totals"]);
    let count = |name: &str, key: &str| {
        let v: Value = serde_json::from_str(&cli_json(tree, &[name])).unwrap();
        v[key].as_array().unwrap().len() as u64
    };
    assert_eq!(stats["sessions"], count("session", "sessions"));
    assert_eq!(stats["projects"], count("project", "projects"));
    assert_eq!(stats["models"], count("model", "models"));
    let model: Value = serde_json::from_str(&cli_json(tree, &["model"])).unwrap();
    let requests: u64 = model["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(stats["requests"], requests);
}

#[test]
fn every_endpoint_equals_the_cli_json() {
    let tree = fixture_tree();
    let d = Daemon::start(&tree, &[]);
    assert_equals_cli(&d, &tree);
    // parameters map to the command line's flags
    let cases: [(&str, &[&str]); 5] = [
        (
            "since=2025-06-05&until=20250701",
            &["--since", "2025-06-05", "--until", "20250701"],
        ),
        ("tz=Asia/Tokyo", &["-z", "Asia/Tokyo"]),
        (
            "tz=America/Los_Angeles&mode=calculate",
            &["-z", "America/Los_Angeles", "--mode", "calculate"],
        ),
        ("mode=display", &["--mode", "display"]),
        ("order=desc", &["--order", "desc"]),
    ];
    for (query, flags) in cases {
        // (`order` is a flag of the time-ordered reports only)
        let names: &[&str] = if query.starts_with("order") {
            &REPORTS[..4]
        } else {
            &REPORTS
        };
        for &name in names {
            let mut args = vec![name];
            args.extend_from_slice(flags);
            let body = d.get(&format!("/api/{name}?{query}")).body;
            assert_eq!(body, cli_json(&tree, &args), "/api/{name}?{query}");
        }
    }
    let body = d.get("/api/delegations?marathon=0&since=2025-06-01").body;
    assert_eq!(
        body,
        cli_json(
            &tree,
            &["delegations", "--marathon", "0", "--since", "2025-06-01"]
        )
    );
    // a project filter keeps that project's line of the project report
    let projects: Value = serde_json::from_str(&cli_json(&tree, &["project"])).unwrap();
    for p in projects["projects"].as_array().unwrap() {
        let name = p["project"].as_str().unwrap();
        let daily = d.json(&format!("/api/daily?project={name}"));
        for k in ["inputTokens", "outputTokens", "totalTokens", "totalCost"] {
            assert_eq!(daily["totals"][k], p[k], "{name} {k}");
        }
    }
}

/// `/api/blocks?query` equals `spate agents blocks FLAGS --json` run just before or just
/// after it (the active block's projection and time left follow the present minute); the
/// body.
fn assert_blocks_equal_cli(
    d: &Daemon,
    tree: &std::path::Path,
    query: &str,
    flags: &[&str],
) -> Value {
    let mut args = vec!["blocks"];
    args.extend_from_slice(flags);
    let before = cli_json(tree, &args);
    let r = d.get(&format!("/api/blocks?{query}"));
    let after = cli_json(tree, &args);
    assert_eq!(r.status, 200, "/api/blocks?{query}: {}", r.body);
    assert!(
        r.body == before || r.body == after,
        "/api/blocks?{query} differs from blocks {flags:?} --json:\n{}\n---- CLI:\n{before}",
        r.body
    );
    serde_json::from_str(&r.body).unwrap()
}

#[test]
fn blocks_equal_the_cli_json_with_an_active_block() {
    let dir = tree_copy();
    let tree = dir.path();
    add_active_block(tree);
    let d = Daemon::start(tree, &[]);
    let all = assert_blocks_equal_cli(&d, tree, "", &[]);
    let blocks = all["blocks"].as_array().unwrap();
    assert!(blocks.len() >= 3, "{all}");
    assert!(blocks.iter().any(|b| b["isGap"] == true), "a gap: {all}");
    let active = assert_blocks_equal_cli(&d, tree, "active=true", &["--active"]);
    let active = active["blocks"].as_array().unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["isActive"], true);
    assert_eq!(active[0]["entries"], 2);
    assert_eq!(active[0]["totalTokens"], 212_000);
    assert!(active[0]["burnRate"]["tokensPerMinute"].as_f64().unwrap() > 0.0);
    assert!(
        active[0]["projection"]["remainingMinutes"]
            .as_u64()
            .unwrap()
            > 0
    );
    let limited = assert_blocks_equal_cli(
        &d,
        tree,
        "active=1&token_limit=300000",
        &["--active", "--token-limit", "300000"],
    );
    assert_eq!(limited["blocks"][0]["tokenLimitStatus"]["limit"], 300_000);
    let maxed = assert_blocks_equal_cli(&d, tree, "token_limit=max", &["--token-limit", "max"]);
    assert!(maxed["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["tokenLimitStatus"]["limit"].as_u64().is_some()));
    let recent = assert_blocks_equal_cli(&d, tree, "recent=true", &["--recent"]);
    assert_eq!(recent["blocks"].as_array().unwrap().len(), 1);
    for (query, flags) in [
        (
            "order=desc&session_length=3",
            &["--order", "desc", "--session-length", "3"][..],
        ),
        (
            "since=2025-06-05&until=20250701&tz=Asia/Tokyo",
            &[
                "--since",
                "2025-06-05",
                "--until",
                "20250701",
                "-z",
                "Asia/Tokyo",
            ][..],
        ),
        (
            "mode=calculate&project=alpha",
            &["--mode", "calculate", "--project", "alpha"][..],
        ),
        ("project=-home-me-beta", &["--project=-home-me-beta"][..]),
        ("recent=false&active=0", &[][..]),
    ] {
        assert_blocks_equal_cli(&d, tree, query, flags);
    }
    // a new request joins the active block
    let events = d.events();
    events.next("hello", Duration::from_secs(10)).unwrap();
    let now = spate_agents::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S.000Z")
        .to_string();
    append(
        &tree.join("projects/-home-me-beta/s-beta-1.jsonl"),
        &usage_line("s-beta-1", "req_now", &now, 1000, 100),
    );
    events.next("update", Duration::from_secs(5)).unwrap();
    let active = assert_blocks_equal_cli(&d, tree, "active=true", &["--active"]);
    assert_eq!(active["blocks"][0]["entries"], 3);
}

#[test]
fn the_project_parameter_is_the_cli_project_filter() {
    let dir = tree_copy();
    let tree = dir.path();
    add_active_block(tree);
    let d = Daemon::start(tree, &[]);
    let cases: [(&str, &[&str]); 5] = [
        ("project=alpha", &["--project", "alpha"]),
        ("project=-home-me-beta", &["--project=-home-me-beta"]),
        (
            "project=alpha&project=beta",
            &["--project", "alpha", "--project", "beta"],
        ),
        ("project=nothing-here", &["--project", "nothing-here"]),
        (
            "project=beta&since=2025-06-01&tz=Europe/Paris",
            &[
                "--project",
                "beta",
                "--since",
                "2025-06-01",
                "-z",
                "Europe/Paris",
            ],
        ),
    ];
    for (query, flags) in cases {
        for name in REPORTS {
            let mut args = vec![name];
            args.extend_from_slice(flags);
            let body = d.get(&format!("/api/{name}?{query}")).body;
            assert_eq!(body, cli_json(tree, &args), "/api/{name}?{query}");
        }
        assert_blocks_equal_cli(&d, tree, query, flags);
    }
    // the last part of a folder name selects it: a filtered total is that project's line
    let projects: Value = serde_json::from_str(&cli_json(tree, &["project"])).unwrap();
    let alpha = projects["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["project"] == "-home-me-alpha")
        .unwrap();
    let stats = d.json("/api/stats?project=alpha");
    assert_eq!(stats["totals"]["totalTokens"], alpha["totalTokens"]);
    assert_eq!(stats["projects"], 1);
}

#[test]
fn bad_parameters_are_400_naming_the_parameter() {
    let d = Daemon::start(&fixture_tree(), &[]);
    for (query, param) in [
        ("since=June", "since"),
        ("until=2025-02-30", "until"),
        ("tz=Nowhere/Land", "tz"),
        ("mode=free", "mode"),
        ("order=sideways", "order"),
        ("marathon=many", "marathon"),
        ("project=", "project"),
        ("colour=blue", "colour"),
        ("since=2025-07-01&until=2025-06-01", "since"),
    ] {
        let r = d.get(&format!("/api/daily?{query}"));
        assert_eq!(r.status, 400, "{query}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["parameter"], param, "{query}: {}", r.body);
        assert!(v["error"].as_str().unwrap().contains(param), "{}", r.body);
    }
    assert!(d
        .get("/metrics")
        .body
        .contains("spate_http_refused_total{code=\"400\"} 9"));
    // the blocks report's own parameters, and flags of one report refused on another (as
    // the command line refuses them)
    for (path, param) in [
        ("/api/blocks?token_limit=lots", "token_limit"),
        ("/api/blocks?token_limit=-1", "token_limit"),
        ("/api/blocks?active=maybe", "active"),
        ("/api/blocks?recent=yes", "recent"),
        ("/api/blocks?session_length=0", "session_length"),
        ("/api/blocks?session_length=200", "session_length"),
        ("/api/blocks?tz=Mars/Base", "tz"),
        ("/api/blocks?marathon=3", "marathon"),
        ("/api/daily?active=true", "active"),
        ("/api/model?order=desc", "order"),
        ("/api/project?token_limit=max", "token_limit"),
    ] {
        let r = d.get(path);
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["parameter"], param, "{path}: {}", r.body);
        assert!(v["error"].as_str().unwrap().contains(param), "{}", r.body);
    }
}

#[test]
fn an_append_shows_up_in_daily_and_as_an_event_within_a_second() {
    let dir = tree_copy();
    let tree = dir.path();
    let d = Daemon::start(tree, &[]);
    let events = d.events();
    let hello = events
        .next("hello", Duration::from_secs(10))
        .expect("hello event");
    let before: Value = serde_json::from_str(&hello.data).unwrap();
    let file = tree.join("projects/-home-me-beta/s-beta-1.jsonl");
    for (i, day) in ["2025-08-01", "2025-08-02", "2025-08-02"]
        .iter()
        .enumerate()
    {
        let t0 = Instant::now();
        append(
            &file,
            &usage_line(
                "s-beta-1",
                &format!("req_new{i}"),
                &format!("{day}T10:00:00.000Z"),
                1000,
                100,
            ),
        );
        let e = events
            .next("update", Duration::from_secs(5))
            .expect("update event");
        let delay = e.at.duration_since(t0);
        assert!(delay < Duration::from_secs(1), "append to event: {delay:?}");
        let notice: Value = serde_json::from_str(&e.data).unwrap();
        assert_eq!(notice["appended"], 1);
        assert_eq!(
            notice["stats"]["requests"].as_u64().unwrap(),
            before["stats"]["requests"].as_u64().unwrap() + i as u64 + 1
        );
        // the API shows it as soon as the event is out
        let daily = d.json("/api/daily");
        assert_eq!(
            daily["daily"].as_array().unwrap().last().unwrap()["date"],
            *day
        );
        assert!(delay + t0.elapsed() < Duration::from_secs(2));
    }
    assert_equals_cli(&d, tree);
}

#[test]
fn created_truncated_and_deleted_files_are_followed() {
    let dir = tree_copy();
    let tree = dir.path();
    let d = Daemon::start(tree, &[]);
    let events = d.events();
    events.next("hello", Duration::from_secs(10)).unwrap();
    let wait_update = |what: &str| {
        events
            .next("update", Duration::from_secs(5))
            .unwrap_or_else(|| panic!("no event after {what}"))
    };
    // a new project folder with a new session
    let new_dir = tree.join("projects/-home-me-gamma");
    std::fs::create_dir(&new_dir).unwrap();
    // (the folder's watch is set up by the event of its creation)
    std::thread::sleep(Duration::from_millis(100));
    std::fs::write(
        new_dir.join("s-gamma-1.jsonl"),
        usage_line("s-gamma-1", "req_g1", "2025-09-01T10:00:00.000Z", 5000, 500),
    )
    .unwrap();
    let mut e = wait_update("create");
    // (the creation and the write may come as two refreshes)
    while serde_json::from_str::<Value>(&e.data).unwrap()["stats"]["projects"] != 3 {
        e = wait_update("write of the new file");
    }
    assert_equals_cli(&d, tree);
    // truncated: read again from the start
    let beta = tree.join("projects/-home-me-beta/s-beta-1.jsonl");
    let text = std::fs::read_to_string(&beta).unwrap();
    let first_line = text.lines().next().unwrap().to_owned() + "\n";
    std::fs::write(&beta, &first_line).unwrap();
    let e = wait_update("truncate");
    let notice: Value = serde_json::from_str(&e.data).unwrap();
    assert_eq!(notice["readWhole"], 1, "{notice}");
    assert_equals_cli(&d, tree);
    // deleted
    std::fs::remove_file(new_dir.join("s-gamma-1.jsonl")).unwrap();
    let e = wait_update("delete");
    let notice: Value = serde_json::from_str(&e.data).unwrap();
    assert_eq!(notice["stats"]["projects"], 2, "{notice}");
    assert_equals_cli(&d, tree);
}

#[test]
fn a_malformed_line_is_counted_and_does_not_stop_the_daemon() {
    let dir = tree_copy();
    let tree = dir.path();
    let d = Daemon::start(tree, &[]);
    let events = d.events();
    events.next("hello", Duration::from_secs(10)).unwrap();
    let malformed = |metrics: &str| -> u64 {
        let line = metrics
            .lines()
            .find(|l| l.starts_with("spate_parse_errors{reason=\"malformed\"}"))
            .unwrap();
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let skipped_before = d.json("/api/stats")["skippedLines"].as_u64().unwrap();
    let malformed_before = malformed(&d.get("/metrics").body);
    let file = tree.join("projects/-home-me-beta/s-beta-1.jsonl");
    append(&file, "{\"type\":\"assistant\", this is not json\n");
    events
        .next("update", Duration::from_secs(5))
        .expect("update");
    assert_eq!(d.json("/api/stats")["skippedLines"], skipped_before + 1);
    assert_eq!(malformed(&d.get("/metrics").body), malformed_before + 1);
    // still following the file
    append(
        &file,
        &usage_line("s-beta-1", "req_after", "2025-08-03T10:00:00.000Z", 7, 7),
    );
    events
        .next("update", Duration::from_secs(5))
        .expect("update after the bad line");
    let daily = d.json("/api/daily");
    assert_eq!(
        daily["daily"].as_array().unwrap().last().unwrap()["date"],
        "2025-08-03"
    );
    assert_equals_cli(&d, tree);
}

#[test]
fn sigterm_with_clients_connected_exits_0_within_a_second() {
    let mut d = Daemon::start(&fixture_tree(), &[]);
    let a = d.events();
    let b = d.events();
    a.next("hello", Duration::from_secs(10)).unwrap();
    b.next("hello", Duration::from_secs(10)).unwrap();
    // and an idle keep-alive connection
    let idle = std::net::TcpStream::connect(d.addr).unwrap();
    let (code, took) = d.terminate(Duration::from_secs(5));
    assert_eq!(code, Some(0), "{}", d.log.lock().unwrap());
    assert!(took < Duration::from_secs(1), "took {took:?}");
    drop(idle);
    assert!(d.log.lock().unwrap().contains("spate: stopped"));
}

#[test]
fn a_token_is_required_off_loopback_and_checked_on_every_api_request() {
    let tree = fixture_tree();
    // off loopback without a token: refused before listening
    let out = spate()
        .args(["serve", "--bind", "0.0.0.0:0", "--no-cache", "--path"])
        .arg(&tree)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("requires a token") && err.contains("--token"),
        "{err}"
    );
    // with one
    let secret_dir = tempfile::tempdir().unwrap();
    let secret = secret_dir.path().join("token");
    std::fs::write(&secret, "s3cret-t0ken\n").unwrap();
    let d = Daemon::start(
        &tree,
        &[
            "--bind",
            "0.0.0.0:0",
            "--token-file",
            secret.to_str().unwrap(),
        ],
    );
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], d.addr.port()));
    for path in [
        "/api/stats",
        "/api/daily",
        "/api/delegations",
        "/api/events",
        "/metrics",
    ] {
        let r = get(addr, path, &[]);
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        let r = get(addr, path, &[("Authorization", "Bearer s3cret-t0kem")]);
        assert_eq!(r.status, 401, "{path} with a wrong token");
    }
    let r = get(
        addr,
        "/api/stats",
        &[("Authorization", "Bearer s3cret-t0ken")],
    );
    assert_eq!(r.status, 200);
    let r = get(addr, "/api/daily?token=s3cret-t0ken&tz=UTC", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, cli_json(&tree, &["daily"]));
    let ev = EventStream::open(addr, "/api/events?token=s3cret-t0ken");
    assert!(ev.next("hello", Duration::from_secs(10)).is_some());
    // the page itself and the health check need no token (the page asks for it)
    assert_eq!(get(addr, "/", &[]).status, 200);
    assert_eq!(get(addr, "/healthz", &[]).status, 200);
}

#[test]
fn read_only_bounded_and_no_path_reaches_the_file_system() {
    let d = Daemon::start(&fixture_tree(), &[]);
    let a = d.addr;
    assert_eq!(request(a, "POST", "/api/stats", &[], "").status, 405);
    assert_eq!(request(a, "DELETE", "/api/stats", &[], "").status, 405);
    assert_eq!(
        request(a, "GET", "/api/stats", &[], "{\"x\":1}").status,
        413
    );
    let long = format!("/api/daily?project={}", "a".repeat(5000));
    assert_eq!(get(a, &long, &[]).status, 414);
    for path in [
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/app.js/../../Cargo.toml",
        "/assets/index.html",
        "/src/lib.rs",
        "/api/../../etc/hostname",
    ] {
        let r = get(a, path, &[]);
        assert!(r.status == 404 || r.status == 400, "{path}: {}", r.status);
        assert!(!r.body.contains("root:"), "{path}");
    }
    // the embedded page, with a policy that forbids inline and foreign scripts
    let page = d.get("/");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<script src=\"/app.js\""));
    assert!(!page.body.contains("http://") && !page.body.contains("https://"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("default-src 'none'"));
    let js = d.get("/app.js");
    assert_eq!(
        js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(
        !js.body.contains("innerHTML"),
        "the dashboard writes text only"
    );
    assert_eq!(d.get("/healthz").body, "ok\n");
}

#[test]
fn a_port_in_use_or_a_missing_tree_is_exit_2_with_a_message() {
    let tree = fixture_tree();
    let d = Daemon::start(&tree, &[]);
    let out = spate()
        .args([
            "serve",
            "--no-cache",
            "--bind",
            &d.addr.to_string(),
            "--path",
        ])
        .arg(&tree)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot listen on") && err.contains(&d.addr.to_string()),
        "{err}"
    );
    let out = spate()
        .args([
            "serve",
            "--no-cache",
            "--bind",
            "127.0.0.1:0",
            "--path",
            "/nonexistent/claude",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Claude Code transcript folder"));
}

#[test]
fn a_zero_query_limit_is_refused_before_loading() {
    let out = spate()
        .args(["serve", "--max-queries", "0", "--bind", "127.0.0.1:0"])
        .args(["--path", "/nonexistent/claude"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--max-queries"), "{err}");
}

#[test]
fn without_watching_the_periodic_rescan_still_follows_appends() {
    // --no-watch: as where inotify is unavailable
    let dir = tree_copy();
    let tree = dir.path();
    let cache = tempfile::tempdir().unwrap();
    let mut child = spate()
        .args([
            "serve",
            "--no-watch",
            "--bind",
            "127.0.0.1:0",
            "--rescan-interval",
            "0.2",
            "-z",
            "UTC",
            "--cache-dir",
        ])
        .arg(cache.path())
        .arg("--path")
        .arg(tree)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = String::new();
    let mut r = std::io::BufReader::new(child.stderr.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert!(
            std::io::BufRead::read_line(&mut r, &mut line).unwrap() > 0,
            "{log}"
        );
        log.push_str(&line);
        if let Some(rest) = line.strip_prefix("spate: serving http://") {
            break rest
                .split('/')
                .next()
                .unwrap()
                .parse::<std::net::SocketAddr>()
                .unwrap();
        }
    };
    let events = EventStream::open(addr, "/api/events");
    events.next("hello", Duration::from_secs(10)).unwrap();
    let t0 = Instant::now();
    append(
        &tree.join("projects/-home-me-beta/s-beta-1.jsonl"),
        &usage_line("s-beta-1", "req_rescan", "2025-08-05T10:00:00.000Z", 1, 1),
    );
    events
        .next("update", Duration::from_secs(5))
        .expect("update by re-scan");
    assert!(t0.elapsed() < Duration::from_secs(1));
    let _ = child.kill();
    let _ = child.wait();
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut r, &mut rest);
    log.push_str(&rest);
    assert!(log.contains("re-scanning the tree every 200ms"), "{log}");
}

#[test]
fn connections_beyond_the_limit_wait_until_one_closes() {
    let d = Daemon::start(&fixture_tree(), &["--max-connections", "2"]);
    let a = d.events();
    let b = d.events();
    a.next("hello", Duration::from_secs(10)).unwrap();
    b.next("hello", Duration::from_secs(10)).unwrap();
    // a third client is not served while two streams hold the connections
    let addr = d.addr;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(get(addr, "/healthz", &[]).status);
    });
    assert!(rx.recv_timeout(Duration::from_millis(500)).is_err());
    // ... and is as soon as one closes
    drop(a);
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 200);
}

#[test]
fn a_client_that_sends_nothing_is_dropped_after_the_idle_timeout() {
    use std::io::{Read, Write};
    let d = Daemon::start(
        &fixture_tree(),
        &["--max-connections", "1", "--idle-timeout", "0.5"],
    );
    // half a request line, then silence: holds the only connection ...
    let mut slow = std::net::TcpStream::connect(d.addr).unwrap();
    slow.write_all(b"GET /api/stats HTTP/1.1\r\nHost: x")
        .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let t0 = Instant::now();
    let mut buf = [0u8; 64];
    // ... until the daemon closes it
    let n = slow.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "expected a close");
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // and its place is free again
    assert_eq!(d.get("/healthz").status, 200);
}

/// With a usage ledger, the daemon records what it reads, writes it when it stops, and keeps
/// counting the usage of a transcript deleted since: its reports equal `agents --json` with
/// the same ledger.
#[test]
fn the_usage_ledger_keeps_deleted_transcripts_and_is_written_on_stop() {
    let dir = tree_copy();
    let tree = dir.path();
    let ledger = tempfile::tempdir().unwrap();
    let ledger_arg = ledger.path().to_str().unwrap();
    let file = ledger.path().join("usage-ledger.bin");
    let full = cli_json(tree, &["daily"]);
    let mut d = Daemon::start(tree, &["--ledger-dir", ledger_arg]);
    assert_eq!(d.get("/api/daily").body, full);
    let (code, _) = d.terminate(Duration::from_secs(5));
    assert_eq!(code, Some(0));
    assert!(file.exists(), "the ledger is written when the daemon stops");
    // a transcript deleted while the daemon was down: still counted
    std::fs::remove_file(tree.join("projects/-home-me-beta/s-beta-1.jsonl")).unwrap();
    assert_ne!(
        cli_json(tree, &["daily"]),
        full,
        "the deletion changes the plain report"
    );
    let d = Daemon::start(tree, &["--ledger-dir", ledger_arg]);
    assert_eq!(d.get("/api/daily").body, full);
    // `agents ARGS --json` with the same ledger
    let with_ledger = |args: &[&str]| {
        let out = spate()
            .arg("agents")
            .args(args)
            .args(["--json", "--no-cache", "--path"])
            .arg(tree)
            .arg("--ledger-dir")
            .arg(ledger.path())
            .args(if args.contains(&"-z") {
                &[][..]
            } else {
                &["-z", "UTC"][..]
            })
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(with_ledger(&["daily"]), full);
    // reports with parameters count the deleted transcript too (the ledger's entries are
    // read once per refresh, not per request)
    let check = |d: &Daemon| {
        for (query, args) in [
            ("/api/daily", &["daily"][..]),
            (
                "/api/daily?tz=Asia/Tokyo",
                &["daily", "-z", "Asia/Tokyo"][..],
            ),
            (
                "/api/session?mode=calculate",
                &["session", "--mode", "calculate"][..],
            ),
            ("/api/blocks", &["blocks"][..]),
            (
                "/api/blocks?tz=Asia/Tokyo",
                &["blocks", "-z", "Asia/Tokyo"][..],
            ),
        ] {
            assert_eq!(d.get(query).body, with_ledger(args), "{query}");
        }
    };
    check(&d);
    // a transcript deleted while the daemon runs
    let events = d.events();
    events.next("hello", Duration::from_secs(10)).unwrap();
    std::fs::remove_file(tree.join("projects/-home-me-alpha/s-alpha-1.jsonl")).unwrap();
    events.next("update", Duration::from_secs(10)).unwrap();
    check(&d);
}
