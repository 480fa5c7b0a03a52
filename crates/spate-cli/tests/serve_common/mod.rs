//! A real `spate serve` on an ephemeral loopback port, and a minimal HTTP/1.1 client (plain
//! `TcpStream`: what is tested is the daemon, not a client library).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn fixture_tree() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/agents/tree")
}

/// A copy of the fixture tree the test may change.
pub fn tree_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture_tree(), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// One assistant line of session `session` with a fresh request id.
pub fn usage_line(session: &str, request: &str, ts: &str, input: u64, output: u64) -> String {
    format!(
        r#"{{"type":"assistant","sessionId":"{session}","timestamp":"{ts}","requestId":"{request}","message":{{"id":"m-{request}","model":"claude-sonnet-4-5-20250929","role":"assistant","usage":{{"input_tokens":{input},"output_tokens":{output}}}}}}}"#
    ) + "\n"
}

pub fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f.flush().unwrap();
}

/// A running daemon; killed when dropped (unless it already exited).
pub struct Daemon {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: Arc<Mutex<String>>,
    _cache: tempfile::TempDir,
}

pub fn spate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_spate"));
    cmd.env_remove("CLAUDE_CONFIG_DIR")
        .env_remove("SPATE_SERVE_TOKEN")
        .env("TZ", "UTC")
        // a run that does use a usage ledger keeps it out of the user's data folder
        .env("SPATE_LEDGER_DIR", fresh_ledger_dir());
    cmd
}

/// A ledger folder no other run uses.
pub fn fresh_ledger_dir() -> PathBuf {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("serve-ledger-{}-{n}", std::process::id()))
}

impl Daemon {
    /// Starts `spate serve --bind 127.0.0.1:0 --path tree -z UTC` with `extra` arguments and
    /// waits until it says where it listens.
    pub fn start(tree: &Path, extra: &[&str]) -> Daemon {
        Self::try_start(tree, extra).unwrap_or_else(|log| panic!("daemon did not start:\n{log}"))
    }

    pub fn try_start(tree: &Path, extra: &[&str]) -> Result<Daemon, String> {
        let cache = tempfile::tempdir().unwrap();
        let mut cmd = spate();
        cmd.arg("serve")
            .arg("--path")
            .arg(tree)
            .arg("--cache-dir")
            .arg(cache.path())
            .args(["-z", "UTC"]);
        // the reports are compared with `agents --no-ledger` (tests that keep a ledger name
        // its folder)
        if !extra.contains(&"--ledger-dir") {
            cmd.arg("--no-ledger");
        }
        if !extra.contains(&"--bind") {
            cmd.args(["--bind", "127.0.0.1:0"]);
        }
        let mut child = cmd
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("spate: serving http://") {
                    let _ = tx.send(
                        rest.trim_end_matches(|c| c != '/')
                            .trim_end_matches('/')
                            .to_owned(),
                    );
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a
                .split_whitespace()
                .next()
                .unwrap()
                .parse::<SocketAddr>()
                .unwrap(),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                return Err(log.lock().unwrap().clone());
            }
        };
        Ok(Daemon {
            child,
            addr,
            log,
            _cache: cache,
        })
    }

    pub fn get(&self, path: &str) -> Response {
        get(self.addr, path, &[])
    }

    pub fn json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        serde_json::from_str(&r.body).unwrap()
    }

    pub fn events(&self) -> EventStream {
        EventStream::open(self.addr, "/api/events")
    }

    /// Sends SIGTERM and waits (at most `limit`) for the exit; the code and the time taken.
    pub fn terminate(&mut self, limit: Duration) -> (Option<i32>, Duration) {
        let t0 = Instant::now();
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.code(), t0.elapsed());
            }
            if t0.elapsed() > limit {
                return (None, t0.elapsed());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A GET with `Connection: close`.
pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Response {
    request(addr, "GET", path, headers, "")
}

pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    // read the head, then the body by its length (some servers keep the connection open
    // despite `Connection: close`), else to the end
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        let n = s.read(&mut buf).unwrap();
        raw.extend_from_slice(&buf[..n]);
        if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse::<usize>().unwrap());
            if let Some(len) = length {
                while raw.len() < split + 4 + len {
                    let n = s.read(&mut buf).unwrap();
                    assert!(n > 0, "connection closed before the end of the body");
                    raw.extend_from_slice(&buf[..n]);
                }
                return parse_response(&raw);
            }
            s.read_to_end(&mut raw).unwrap();
            return parse_response(&raw);
        }
        if n == 0 {
            return parse_response(&raw);
        }
    }
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body: String::from_utf8(body).unwrap(),
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone)]
pub struct Sse {
    pub event: String,
    pub data: String,
    pub at: Instant,
}

/// An open `/api/events` stream, read by a thread.
pub struct EventStream {
    pub rx: Receiver<Sse>,
    pub stream: TcpStream,
}

impl EventStream {
    pub fn open(addr: SocketAddr, path: &str) -> EventStream {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        let reader = s.try_clone().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(reader);
            let mut line = String::new();
            // headers
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if line == "\r\n" {
                    break;
                }
            }
            // chunked frames: the size lines are skipped, event lines kept
            let (mut event, mut data) = (String::new(), String::new());
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let l = line.trim_end_matches(['\r', '\n']);
                if let Some(v) = l.strip_prefix("event:") {
                    event = v.trim().to_owned();
                } else if let Some(v) = l.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                } else if l.is_empty() && !event.is_empty() {
                    let e = Sse {
                        event: std::mem::take(&mut event),
                        data: std::mem::take(&mut data),
                        at: Instant::now(),
                    };
                    if tx.send(e).is_err() {
                        return;
                    }
                }
            }
        });
        EventStream { rx, stream: s }
    }

    /// The next event named `name` within `limit`.
    pub fn next(&self, name: &str, limit: Duration) -> Option<Sse> {
        let until = Instant::now() + limit;
        loop {
            let left = until.checked_duration_since(Instant::now())?;
            match self.rx.recv_timeout(left) {
                Ok(e) if e.event == name => return Some(e),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        // (the reader thread holds a duplicate of the socket: close the connection itself)
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

/// `spate agents <args> --json --path tree --no-cache --no-ledger -z UTC`'s output.
pub fn cli_json(tree: &Path, args: &[&str]) -> String {
    let out = spate()
        .arg("agents")
        .args(args)
        .arg("--json")
        .arg("--path")
        .arg(tree)
        .arg("--no-cache")
        // the daemon reads no usage ledger: neither does the report it is compared with
        // (and a test must not write to the user's ledger)
        .arg("--no-ledger")
        .args(if args.contains(&"-z") {
            &[][..]
        } else {
            &["-z", "UTC"][..]
        })
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Appends two requests of 12 and 50 minutes ago to a session of `tree` (a copy), so that
/// its blocks report has an active block, after blocks far in the past.
pub fn add_active_block(tree: &Path) {
    use spate_agents::jiff::Timestamp;
    let now = Timestamp::now().as_millisecond();
    let at = |minutes_ago: i64| {
        Timestamp::from_millisecond(now - minutes_ago * 60_000)
            .unwrap()
            .strftime("%Y-%m-%dT%H:%M:%S.000Z")
            .to_string()
    };
    let file = tree.join("projects/-home-me-beta/s-beta-1.jsonl");
    append(
        &file,
        &usage_line("s-beta-1", "req_active1", &at(50), 120_000, 3_000),
    );
    append(
        &file,
        &usage_line("s-beta-1", "req_active2", &at(12), 80_000, 9_000),
    );
}
