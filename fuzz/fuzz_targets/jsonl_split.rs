//! Fuzz the JSON Lines splitter: the lines read over byte ranges (as the parallel executor
//! cuts a file: each range reads the lines that start in it, the first skipping the tail of
//! the line before) must be exactly the lines of one pass over the whole input, whatever the
//! cuts, the read size and the line limit.
//!
//! Input: a byte of settings, then the cut points (a count byte and that many bytes), then the
//! data. Run: `cargo +nightly fuzz run jsonl_split` from `fuzz/`.

#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use spate::jsonl::{Lines, LinesOptions};

/// (offset, text, complete) of every line.
type Seen = Vec<(u64, Vec<u8>, bool)>;

fn lines(data: &[u8], options: LinesOptions) -> Seen {
    let from = options.offset as usize;
    let mut lines = Lines::new(Cursor::new(&data[from..]), options);
    let mut out = Vec::new();
    // Reading from memory cannot fail.
    while let Some(line) = lines.next_line().unwrap() {
        out.push((line.offset, line.text.to_vec(), line.complete));
    }
    out
}

fuzz_target!(|input: &[u8]| {
    let Some((&settings, rest)) = input.split_first() else {
        return;
    };
    let Some((&ncuts, rest)) = rest.split_first() else {
        return;
    };
    let ncuts = (ncuts % 8) as usize;
    if rest.len() < ncuts {
        return;
    }
    let (cuts, data) = rest.split_at(ncuts);
    let read_size = 1 + (settings & 0x0f) as usize;
    let max_line = 1 + ((settings >> 4) as usize) * 3;
    let whole = lines(
        data,
        LinesOptions {
            read_size,
            max_line,
            ..LinesOptions::default()
        },
    );
    let mut bounds: Vec<usize> = cuts
        .iter()
        .map(|&c| c as usize * data.len() / 256)
        .collect();
    bounds.push(0);
    bounds.push(data.len());
    bounds.sort_unstable();
    bounds.dedup();
    let mut ranged = Vec::new();
    for w in bounds.windows(2) {
        let (start, end) = (w[0], w[1]);
        // As the executor does: start one byte early and skip through the first newline, so
        // that a line starting exactly at `start` is kept.
        let from = start.saturating_sub(1);
        ranged.extend(lines(
            data,
            LinesOptions {
                read_size,
                max_line,
                offset: from as u64,
                end: Some(end as u64),
                skip_partial_line: start > 0,
            },
        ));
    }
    assert_eq!(ranged, whole, "cuts {bounds:?}, read size {read_size}, max line {max_line}");
});
