//! The dashboard in a real browser: headless Chromium driven through chromedriver's W3C
//! WebDriver HTTP API. It loads the page, waits for the charts, checks that the numbers
//! shown equal `/api/stats` and the active 5-hour block's `/api/blocks?active=true`, that a
//! project named like an HTML injection is shown as text, that an append updates the page
//! live, and saves a screenshot as `target/serve-dashboard.png`.
//!
//! Skipped (with a message) only where `chromium` and `chromedriver` are not installed;
//! `.ci/run` installs them (Debian: `apt-get install chromium chromium-driver`).

mod serve_common;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use serve_common::*;

const XSS_PROJECT: &str = "-home-me-<img src=x onerror=window.__xss=1>";

fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

struct Driver {
    child: Child,
    addr: SocketAddr,
    session: String,
    /// The browser's process id (from the session's capabilities).
    browser: Option<u64>,
    _profile: tempfile::TempDir,
}

impl Driver {
    fn start(
        chromium: &std::path::Path,
        chromedriver: &std::path::Path,
        size: (u32, u32),
        extra: &[&str],
    ) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let t0 = Instant::now();
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ]
        .iter()
        .chain(extra)
        .map(|a| (*a).to_owned())
        .collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push(format!("--window-size={},{}", size.0, size.1));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": args,
            }
        }}});
        let mut d = Driver {
            child,
            addr,
            session: String::new(),
            browser: None,
            _profile: profile,
        };
        let v = d.call("POST", "/session", &caps);
        d.session = v["sessionId"].as_str().expect("session id").to_owned();
        d.browser = v["capabilities"]["goog:processID"].as_u64();
        d
    }

    fn call(&self, method: &str, path: &str, body: &Value) -> Value {
        let body = if method == "GET" {
            String::new()
        } else {
            body.to_string()
        };
        let r = request(
            self.addr,
            method,
            path,
            &[("Content-Type", "application/json")],
            &body,
        );
        let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        assert_eq!(r.status, 200, "{method} {path}: {}", r.body);
        v["value"].clone()
    }

    fn s(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    fn go(&self, url: &str) {
        self.call("POST", &self.s("/url"), &json!({ "url": url }));
    }

    fn js(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            &json!({ "script": script, "args": [] }),
        )
    }

    fn wait_for(&self, script: &str, limit: Duration) -> Value {
        let t0 = Instant::now();
        loop {
            let v = self.js(script);
            if !v.is_null() && v != json!(false) {
                return v;
            }
            assert!(t0.elapsed() < limit, "timed out waiting for: {script}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn screenshot(&self, to: &std::path::Path) {
        let v = self.call("GET", &self.s("/screenshot"), &Value::Null);
        std::fs::write(to, base64_decode(v.as_str().unwrap())).unwrap();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = request(self.addr, "DELETE", &self.s(""), &[], "");
        }
        // the browser ends with its session; make sure it did before chromedriver goes
        if let Some(pid) = self.browser {
            let proc = PathBuf::from(format!("/proc/{pid}"));
            let t0 = Instant::now();
            while proc.exists() && t0.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(50));
            }
            if proc.exists() {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let bytes: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let digits: Vec<u32> = chunk
            .iter()
            .filter(|c| **c != b'=')
            .map(|c| val(*c))
            .collect();
        let mut n = 0u32;
        for (i, d) in digits.iter().enumerate() {
            n |= d << (18 - 6 * i);
        }
        let take = digits.len().saturating_sub(1);
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
    }
    out
}

/// `1234567` → `1,234,567` (as the page writes numbers).
fn grouped(int: &str) -> String {
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn usd(v: &Value) -> String {
    let text = format!("{:.2}", v.as_f64().unwrap());
    let (int, frac) = text.split_once('.').unwrap();
    format!("${}.{frac}", grouped(int))
}

const SHOWN: &str = "return ['cost','tokens','requests','sessions','projects'].map(k => document.getElementById('stat-' + k).textContent)";

fn expected(stats: &Value) -> Value {
    json!([
        usd(&stats["totals"]["totalCost"]),
        grouped(&stats["totals"]["totalTokens"].to_string()),
        grouped(&stats["requests"].to_string()),
        grouped(&stats["sessions"].to_string()),
        grouped(&stats["projects"].to_string()),
    ])
}

const BLOCK_SHOWN: &str = "return ['cost','tokens','burn','projection','left','limit'].map(k => document.getElementById('block-' + k).textContent)";

fn int(v: &Value) -> String {
    grouped(&format!("{}", v.as_f64().unwrap().round() as i64))
}

/// The active block panel's texts for `/api/blocks?active=true&token_limit=...`.
fn block_expected(rep: &Value) -> Value {
    let b = &rep["blocks"][0];
    let minutes = b["projection"]["remainingMinutes"].as_u64().unwrap();
    let l = &b["tokenLimitStatus"];
    json!([
        usd(&b["costUSD"]),
        int(&b["totalTokens"]),
        format!(
            "{} tokens/min · {}/h",
            int(&b["burnRate"]["tokensPerMinute"]),
            usd(&b["burnRate"]["costPerHour"])
        ),
        format!(
            "{} tokens · {}",
            int(&b["projection"]["totalTokens"]),
            usd(&b["projection"]["totalCost"])
        ),
        format!("{}h {:02}m", minutes / 60, minutes % 60),
        format!(
            "{} of {} tokens used; projected {} ({:.1}% of the limit, {})",
            int(&b["totalTokens"]),
            int(&l["limit"]),
            int(&l["projectedUsage"]),
            l["percentUsed"].as_f64().unwrap(),
            l["status"].as_str().unwrap()
        ),
    ])
}

/// Reloads the page's reports and checks the active block panel against the API read just
/// before and just after (the time left follows the clock).
fn assert_block_panel(driver: &Driver, d: &Daemon, query: &str) {
    let before = d.json(&format!("/api/blocks?active=true&{query}"));
    driver.js("document.body.dataset.block = '0';\
         document.querySelector('#filters button[type=submit]').click(); return true");
    driver.wait_for(
        "return document.body.dataset.block === '1'",
        Duration::from_secs(10),
    );
    let shown = driver.js(BLOCK_SHOWN);
    let after = d.json(&format!("/api/blocks?active=true&{query}"));
    assert_eq!(before["blocks"].as_array().unwrap().len(), 1, "{before}");
    assert!(
        shown == block_expected(&before) || shown == block_expected(&after),
        "shown {shown}, API {}",
        block_expected(&after)
    );
    assert_eq!(
        driver.js("return document.getElementById('block-none').hidden"),
        json!(true)
    );
    let bar = driver.js("return document.querySelectorAll('#block-bar svg rect').length");
    assert_eq!(bar, json!(3), "the progress bar: track, projected, used");
}

#[test]
fn the_dashboard_shows_the_api_numbers_live_and_escapes_names() {
    let (Some(chromium), Some(chromedriver)) = (
        find(&["chromium", "chromium-browser", "google-chrome"]),
        find(&["chromedriver"]),
    ) else {
        eprintln!(
            "SKIPPED: the browser test needs chromium and chromedriver on PATH \
             (Debian: apt-get install chromium chromium-driver; .ci/run installs them)"
        );
        return;
    };
    let dir = tree_copy();
    let tree = dir.path();
    let evil = tree.join("projects").join(XSS_PROJECT);
    std::fs::create_dir_all(&evil).unwrap();
    std::fs::write(
        evil.join("s-xss.jsonl"),
        usage_line(
            "s-xss",
            "req_x1",
            "2025-06-20T10:00:00.000Z",
            2_000_000,
            300_000,
        ),
    )
    .unwrap();
    add_active_block(tree);
    let d = Daemon::start(tree, &[]);
    let driver = Driver::start(&chromium, &chromedriver, (1280, 1300), &[]);
    driver.go(&format!("http://{}/?token_limit=300000", d.addr));
    driver.wait_for(
        "return document.body.dataset.ready === '1'",
        Duration::from_secs(30),
    );
    // the charts are drawn
    let bars = driver.js("return document.querySelectorAll('#chart-daily svg rect').length");
    assert!(bars.as_u64().unwrap() >= 3, "daily bars: {bars}");
    for id in [
        "chart-tokens",
        "chart-projects",
        "chart-sessions",
        "chart-agents",
    ] {
        let n = driver.js(&format!(
            "return document.querySelectorAll('#{id} svg rect').length"
        ));
        assert!(n.as_u64().unwrap() >= 1, "{id}: {n}");
    }
    // the numbers shown are /api/stats'
    let stats = d.json("/api/stats");
    assert_eq!(driver.js(SHOWN), expected(&stats));
    // the HTML-shaped project name is text, not markup
    let labels = driver.js(
        "return [...document.querySelectorAll('#chart-projects svg title')].map(t => t.textContent)",
    );
    assert!(
        labels
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains(XSS_PROJECT)),
        "{labels}"
    );
    assert_eq!(
        driver.js("return document.querySelectorAll('img').length"),
        json!(0)
    );
    assert_eq!(driver.js("return window.__xss === undefined"), json!(true));
    // the active 5-hour block, with a progress bar toward the token limit of the page's URL
    assert_block_panel(&driver, &d, "token_limit=300000");
    driver.screenshot(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../serve-dashboard.png"));
    // live: an append reaches the page through /api/events
    let loads = driver
        .js("return Number(document.body.dataset.loads)")
        .as_u64()
        .unwrap();
    append(
        &tree.join("projects/-home-me-beta/s-beta-1.jsonl"),
        &usage_line(
            "s-beta-1",
            "req_live",
            "2025-08-01T10:00:00.000Z",
            1000,
            100,
        ),
    );
    driver.wait_for(
        &format!("return Number(document.body.dataset.loads) > {loads}"),
        Duration::from_secs(10),
    );
    let stats_after = d.json("/api/stats");
    assert_ne!(stats_after["requests"], stats["requests"]);
    assert_eq!(driver.js(SHOWN), expected(&stats_after));
    // the date and time-zone picker: a range re-queries the API with it
    driver.js("document.getElementById('since').value = '2025-06-01';\
         document.getElementById('until').value = '2025-06-30';\
         document.getElementById('tz').value = 'Asia/Tokyo';\
         document.body.dataset.ready = '0';\
         document.querySelector('#filters button[type=submit]').click(); return true");
    driver.wait_for(
        "return document.body.dataset.ready === '1'",
        Duration::from_secs(10),
    );
    let ranged = d.json("/api/stats?since=2025-06-01&until=2025-06-30&tz=Asia/Tokyo");
    assert_eq!(driver.js(SHOWN), expected(&ranged));
    // the active block ignores the date range (it is about the present); a new request of
    // now joins it, live
    assert_block_panel(&driver, &d, "token_limit=300000&tz=Asia/Tokyo");
    let block_loads = driver
        .js("return Number(document.body.dataset.blockLoads)")
        .as_u64()
        .unwrap();
    let now = spate_agents::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S.000Z")
        .to_string();
    append(
        &tree.join("projects/-home-me-beta/s-beta-1.jsonl"),
        &usage_line("s-beta-1", "req_now", &now, 50_000, 1_000),
    );
    driver.wait_for(
        &format!("return Number(document.body.dataset.blockLoads) > {block_loads}"),
        Duration::from_secs(10),
    );
    assert_eq!(
        d.json("/api/blocks?active=true")["blocks"][0]["totalTokens"],
        263_000
    );
    assert_block_panel(&driver, &d, "token_limit=300000&tz=Asia/Tokyo");
}

#[test]
fn the_dashboard_reads_on_a_phone_in_dark_mode() {
    let (Some(chromium), Some(chromedriver)) = (
        find(&["chromium", "chromium-browser", "google-chrome"]),
        find(&["chromedriver"]),
    ) else {
        eprintln!("SKIPPED: chromium and chromedriver are not installed");
        return;
    };
    let d = Daemon::start(&fixture_tree(), &[]);
    let driver = Driver::start(&chromium, &chromedriver, (390, 844), &["--force-dark-mode"]);
    driver.go(&format!("http://{}/", d.addr));
    driver.wait_for(
        "return document.body.dataset.ready === '1'",
        Duration::from_secs(30),
    );
    // nothing wider than the screen
    let overflow =
        driver.js("return document.documentElement.scrollWidth <= window.innerWidth + 1");
    assert_eq!(overflow, json!(true));
    assert_eq!(driver.js(SHOWN), expected(&d.json("/api/stats")));
    // no request in the last 5 hours: no active block
    driver.wait_for(
        "return document.body.dataset.block === '1'",
        Duration::from_secs(10),
    );
    assert_eq!(
        driver.js("return [document.getElementById('block-none').hidden, document.getElementById('block-body').hidden]"),
        json!([false, true])
    );
    // the dark palette
    let bg = driver.js("return getComputedStyle(document.body).backgroundColor");
    assert_eq!(bg, json!("rgb(17, 19, 24)"));
    driver.screenshot(
        &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../serve-dashboard-phone.png"),
    );
}
