//! Peak memory of the `spate` binary on inputs built to make it grow (issue 11): the child's
//! high-water mark of resident memory (`VmHWM` in /proc/PID/status, which only ever grows)
//! is sampled until it exits. Linux only, as /proc is; elsewhere these tests say so and pass.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What a measured run gave.
struct Measured {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    /// Peak resident memory, in MiB.
    peak_mib: u64,
}

/// The binary under test; `SPATE_TEST_BIN` names another (to show an older build fails).
fn spate_bin() -> PathBuf {
    std::env::var_os("SPATE_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_spate")))
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `spate args…` (stdin from `stdin` when given), its output into files, sampling its
/// peak RSS every few milliseconds. Gives up (and fails) after `timeout`.
fn measure(args: &[&str], stdin: Option<&Path>, timeout: Duration) -> Option<Measured> {
    if !Path::new("/proc/self/status").exists() {
        eprintln!("no /proc on this system: peak memory not measured");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let mut cmd = Command::new(spate_bin());
    cmd.args(args)
        .env_remove("SPATE_LOG")
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap());
    match stdin {
        Some(p) => cmd.stdin(File::open(p).unwrap()),
        None => cmd.stdin(Stdio::null()),
    };
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = vm_hwm_kib(child.id()) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "spate {args:?} ran over {timeout:?} (peak {} MiB)",
                peak >> 10
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let read = |p: &Path| {
        let bytes = std::fs::read(p).unwrap();
        // Keep the head only: some runs report a great many errors.
        String::from_utf8_lossy(&bytes[..bytes.len().min(1 << 16)]).into_owned()
    };
    Some(Measured {
        status,
        stdout: read(&out_path),
        stderr: read(&err_path),
        peak_mib: peak >> 10,
    })
}

/// A file of `n` lines `x` (every one invalid JSON).
fn bad_lines(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join("x.jsonl");
    let mut w = BufWriter::new(File::create(&path).unwrap());
    for _ in 0..n {
        w.write_all(b"x\n").unwrap();
    }
    w.flush().unwrap();
    path
}

const MINUTE: Duration = Duration::from_secs(60);

/// Row 1: memory does not grow with the number of bad lines, and `--max-errors` stops
/// reading. (Before: every error of a task was held until the task ended, ~150 bytes
/// each: 1 M bad lines took 160+ MiB.)
#[test]
fn bad_lines_do_not_pile_up() {
    let dir = tempfile::tempdir().unwrap();
    let x = bad_lines(dir.path(), 1_000_000);
    let x = x.to_str().unwrap();
    for args in [
        vec!["validate", "--max-errors", "5", x],
        vec!["validate", "-j1", "--max-errors", "5", x],
        vec!["validate", x],
        vec!["items", ".", x, "--on-error", "skip", "--count"],
    ] {
        let Some(m) = measure(&args, None, MINUTE) else {
            return;
        };
        assert_eq!(m.status.code(), Some(1), "{args:?}: {}", m.stderr);
        assert!(m.peak_mib < 80, "{args:?}: peak {} MiB", m.peak_mib);
        if args.contains(&"--max-errors") {
            assert_eq!(m.stderr.matches("x.jsonl:").count(), 5, "{}", m.stderr);
            assert!(m.stderr.contains("stopped after 5 errors"), "{}", m.stderr);
        }
    }
    // Through stdin: one task reads it all.
    let Some(m) = measure(
        &["validate", "--format", "jsonl", "--max-errors", "5"],
        Some(Path::new(x)),
        MINUTE,
    ) else {
        return;
    };
    assert_eq!(m.status.code(), Some(1), "{}", m.stderr);
    assert!(m.peak_mib < 80, "stdin: peak {} MiB", m.peak_mib);
    assert!(m.stdout.is_empty() || !m.stdout.contains("valid JSON"));
}

/// Row 3: a filter's outputs stream one at a time, and `--limit` ends an endless program.
/// (Before: every output of one item was gathered before the limit was applied: `repeat(1)`
/// ran until memory ran out, and 10 M outputs of one item took 80+ MiB.)
#[test]
fn filter_outputs_stream_and_the_limit_ends_them() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.jsonl");
    std::fs::write(&one, "{\"a\":1}\n").unwrap();
    let one = one.to_str().unwrap();
    let Some(m) = measure(
        &["items", ".", one, "-f", "repeat(1)", "--limit", "5"],
        None,
        Duration::from_secs(20),
    ) else {
        return;
    };
    assert!(m.status.success(), "{}", m.stderr);
    assert_eq!(m.stdout, "1\n1\n1\n1\n1\n");
    let m = measure(&["items", ".", one, "-f", "range(1e7)"], None, MINUTE).unwrap();
    assert!(m.status.success(), "{}", m.stderr);
    assert!(m.stdout.starts_with("0\n1\n2\n"));
    assert!(m.peak_mib < 40, "range(1e7): peak {} MiB", m.peak_mib);
    let m = measure(
        &["items", ".", one, "-f", "range(1e7)", "--count"],
        None,
        MINUTE,
    )
    .unwrap();
    assert_eq!(m.stdout, "10000000\n");
    assert!(
        m.peak_mib < 40,
        "range(1e7) --count: peak {} MiB",
        m.peak_mib
    );
}

/// Row 11: a group costs far less memory (before: 700+ bytes each, 1 M groups took 700 MB
/// here and 4 M aborted), and `--max-groups` ends the run with an error naming it, in skip
/// mode too.
#[test]
fn groups_are_small_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.jsonl");
    let mut w = BufWriter::new(File::create(&path).unwrap());
    for i in 0..300_000 {
        writeln!(w, "{{\"k\":\"key-{i:07}\",\"v\":{i}}}").unwrap();
    }
    w.flush().unwrap();
    let p = path.to_str().unwrap();
    let Some(m) = measure(
        &["items", ".", p, "--group-by", ".k", "--count"],
        None,
        MINUTE,
    ) else {
        return;
    };
    assert!(m.status.success(), "{}", m.stderr);
    assert!(m.peak_mib < 120, "300 k groups: peak {} MiB", m.peak_mib);
    let m = measure(
        &[
            "items",
            ".",
            p,
            "--group-by",
            ".k",
            "--count",
            "--max-groups",
            "1000",
            "--on-error",
            "skip",
        ],
        None,
        MINUTE,
    )
    .unwrap();
    assert_eq!(m.status.code(), Some(1), "{}", m.stderr);
    assert_eq!(
        m.stderr.matches("more than 1000 groups").count(),
        1,
        "{}",
        m.stderr
    );
    assert!(m.stderr.contains("--max-groups"), "{}", m.stderr);
    assert!(m.stdout.is_empty(), "{}", m.stdout);
}
