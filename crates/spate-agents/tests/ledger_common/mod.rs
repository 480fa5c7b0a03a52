//! Transcript lines and files shared by the ledger's test binaries.

use std::fs;
use std::path::Path;

/// One assistant usage line of `session` (request `i`, `tokens` input tokens).
pub fn line(session: &str, i: usize, tokens: u64) -> String {
    format!(
        concat!(
            r#"{{"type":"assistant","timestamp":"2025-07-{:02}T10:00:00Z","sessionId":"{}","#,
            r#""requestId":"r_{}_{}","message":{{"id":"m_{}_{}","model":"claude-sonnet-4-5-20250929","#,
            r#""usage":{{"input_tokens":{},"output_tokens":7}}}}}}"#,
            "\n"
        ),
        1 + i % 28,
        session,
        session,
        i,
        session,
        i,
        tokens
    )
}

/// Writes (or appends) the lines `range` of `session` to `path`.
pub fn write(path: &Path, session: &str, range: std::ops::Range<usize>, append: bool) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text: String = range.map(|i| line(session, i, 100 + i as u64)).collect();
    if append {
        use std::io::Write;
        let mut f = fs::OpenOptions::new().append(true).open(path).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    } else {
        fs::write(path, text).unwrap();
    }
}
