//! `spate agents blocks --live` in a real terminal: `script` gives it a pseudo-terminal, a
//! Ctrl-C typed after two redraws ends it with exit code 0 and the cursor shown again.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn active_tree(dir: &std::path::Path) {
    let project = dir.join("projects").join("-home-me-app");
    std::fs::create_dir_all(&project).unwrap();
    let now = spate_agents::jiff::Timestamp::now().as_millisecond();
    let mut text = String::new();
    for i in 0..20 {
        let t = spate_agents::time::format_ms(now - (100 - 5 * i) * 60_000);
        text.push_str(&format!(
            concat!(
                r#"{{"type":"assistant","timestamp":"{}","sessionId":"s","requestId":"r{}","#,
                r#""message":{{"id":"m{}","model":"claude-opus-4-7","#,
                r#""usage":{{"input_tokens":500,"output_tokens":900,"cache_read_input_tokens":20000}}}}}}"#,
                "\n"
            ),
            t, i, i
        ));
    }
    std::fs::write(project.join("s.jsonl"), text).unwrap();
}

#[test]
fn live_view_redraws_and_restores_the_terminal_on_ctrl_c() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!(
            "SKIP: `script` (util-linux) is not installed: no pseudo-terminal to test --live in"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    active_tree(dir.path());
    let spate = assert_cmd::cargo::cargo_bin("spate");
    // `script` runs the command through `$SHELL -c`. `exec` makes spate the terminal's only
    // process: a shell left waiting (dash, the default /bin/sh on Debian) would itself be
    // killed by the Ctrl-C, and `script` would report its 130 instead of spate's exit code.
    let cmd = format!(
        "exec {} agents blocks --live --interval 0.2 --token-limit 2000000 --no-cache -z UTC --path {}",
        spate.display(),
        dir.path().display()
    );
    let mut child = Command::new("script")
        .args(["-qefc", &cmd, "/dev/null"])
        .env("COLUMNS", "80")
        .env("SPATE_LEDGER_DIR", dir.path().join("ledger"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the terminal's output as it comes, and press Ctrl-C only once two frames have been
    // drawn: a Ctrl-C during loading ends the program with 130 (an interrupted load), which
    // is right but not what this test is about, and a slow machine may take a while to load.
    let mut stdout = child.stdout.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let reader = {
        let seen = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match std::io::Read::read(&mut stdout, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.lock().unwrap().extend_from_slice(&buf[..n]),
                }
            }
        })
    };
    let frames_so_far = || {
        let bytes = seen.lock().unwrap();
        String::from_utf8_lossy(&bytes)
            .matches("\x1b[H\x1b[J")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while frames_so_far() < 2 {
        assert!(
            Instant::now() < deadline,
            "no two frames within 60 s: {:?}",
            String::from_utf8_lossy(&seen.lock().unwrap())
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"\x03").unwrap();
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "--live did not end on Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    reader.join().unwrap();
    let stdout_bytes = seen.lock().unwrap().clone();
    assert!(
        out.status.success(),
        "{:?}\nterminal: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&stdout_bytes),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&stdout_bytes);
    let frames: Vec<&str> = text.split("\x1b[H\x1b[J").skip(1).collect();
    assert!(frames.len() >= 2, "redrawn: {text:?}");
    assert!(text.contains("\x1b[?25l"), "cursor hidden while drawing");
    let last = frames.last().unwrap();
    assert!(
        last.contains("\x1b[?25h"),
        "cursor shown again at the end: {last:?}"
    );
    for line in last.lines() {
        let plain = line
            .replace("\x1b[K", "")
            .replace("\x1b[?25h", "")
            .replace('\r', "");
        assert!(plain.chars().count() <= 80, "{plain:?}");
    }
    assert!(last.contains("Tokens ["), "{last:?}");
    assert!(last.contains("of 2.0M"), "{last:?}");
}
