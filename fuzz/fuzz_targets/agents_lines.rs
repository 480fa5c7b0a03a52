//! Fuzz the agents transcript line parser: parsing a file in one go must give the same
//! record as parsing a first part and then continuing from where it stopped (what the cache
//! does when a transcript grows), and every complete line must be counted.
//!
//! Input: a byte saying where to cut, then the transcript bytes. Run:
//! `cargo +nightly fuzz run agents_lines` from `fuzz/`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use spate_agents::model::FileRecord;
use spate_agents::parse::{parse_all, LineParser};

fuzz_target!(|input: &[u8]| {
    let Some((&cut, data)) = input.split_first() else {
        return;
    };
    let (whole, outcome) = parse_all(data);
    // Every complete line (blank ones too) is counted.
    let newlines = data.iter().filter(|&&b| b == b'\n').count() as u64;
    assert!(whole.lines >= newlines, "{} lines counted of {newlines}", whole.lines);
    assert_eq!(outcome.end, data.len() as u64);

    // Cut where a writer could have stopped: after a whole line (a last line without its
    // newline that is complete JSON is taken as read, by design: see `LineParser::read`).
    let cut = cut as usize * data.len() / 255;
    let cut = match data[cut..].iter().position(|&b| b == b'\n') {
        Some(i) => cut + i + 1,
        None => data.len(),
    };
    let mut rec = FileRecord::default();
    let mut first = LineParser::new(&mut rec);
    first.feed(&data[..cut]);
    first.finish();
    let done = rec.parsed_offset as usize;
    assert!(done <= cut);
    let before = &data[done.saturating_sub(64)..done];
    let mut next = LineParser::continuing(&mut rec, before);
    next.feed(&data[done..]);
    next.finish();
    assert_eq!(rec, whole, "continuing at byte {done} changed the record");
});
