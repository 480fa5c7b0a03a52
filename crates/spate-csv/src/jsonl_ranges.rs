//! One plain JSON Lines file inferred in byte ranges on every core.
//!
//! The file is cut into ranges of `range` bytes; spate's line reader
//! ([`spate::jsonl::Lines`]) gives each range exactly the lines that start in it, so every
//! line belongs to one range whatever the cut. Workers take the next range in file order,
//! infer over its lines in the scanner's pass ([`crate::json_scan`]) into a state of its
//! own, and the states merge in file order into the sequential answer (a [`JsonState`]
//! lists fields by where they first appeared, so merging is exact).
//!
//! A bad line ends the run as in a sequential read: the first error in file order wins, its
//! line number made absolute with the lines of the ranges before it; ranges after one that
//! failed are not read.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use spate::jsonl::{Lines, LinesOptions};

use crate::error::{Error, ErrorKind};
use crate::infer_json::{read_lines, spate_io, JsonOptions, ReadLines};
use crate::json::JsonState;
use crate::schema::{Format, Schema};

/// What one range gave.
#[derive(Debug, Default)]
struct RangeResult {
    state: JsonState,
    read: ReadLines,
}

/// Infers over the plain file at `path` (`len` bytes, named `name` in errors) in ranges of
/// `range` bytes on `workers` threads.
pub(crate) fn infer_ranges(
    path: &Path,
    name: &str,
    len: u64,
    range: u64,
    workers: usize,
    options: &JsonOptions,
) -> Result<Schema, Error> {
    let range = range.max(1);
    let count = len.div_ceil(range).max(1) as usize;
    let results: Vec<Mutex<Option<RangeResult>>> = (0..count).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    // Ranges after this one are not needed (an earlier range failed).
    let cutoff = AtomicUsize::new(usize::MAX);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= count || i > cutoff.load(Ordering::Relaxed) {
            break;
        }
        let start = i as u64 * range;
        let end = (i + 1 < count).then(|| start + range);
        let result = read_range(path, name, start, end, options);
        if result.read.error.is_some() {
            cutoff.fetch_min(i, Ordering::Relaxed);
        }
        *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
    };
    let threads = workers.clamp(1, count);
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(work);
            }
        });
    }
    let mut state = JsonState::default();
    let mut lines = 0u64;
    let mut bytes = 0u64;
    for slot in results {
        let Some(r) = slot.into_inner().unwrap_or_else(|p| p.into_inner()) else {
            // Only ranges after a failed one are skipped, and the failure returned first.
            return Err(spate_io(
                name,
                std::io::Error::other("a range of the file was not read"),
            ));
        };
        if let Some(mut e) = r.read.error {
            add_lines(&mut e, lines);
            return Err(e);
        }
        lines += r.read.lines;
        bytes += r.read.bytes;
        state.merge(r.state);
    }
    Ok(state.schema(Format::JsonLines, None, true, bytes))
}

/// Reads the lines that start in `start..end` (to the end of the file when `end` is
/// `None`), as spate's executor reads one range.
fn read_range(
    path: &Path,
    name: &str,
    start: u64,
    end: Option<u64>,
    options: &JsonOptions,
) -> RangeResult {
    // One byte early: a line starting exactly at `start` is then seen to start there (the
    // partial line skipped is just the previous line's `\n`).
    let from = start.saturating_sub(1);
    let opened = File::open(path).and_then(|mut f| {
        f.seek(SeekFrom::Start(from))?;
        Ok(f)
    });
    let mut result = RangeResult::default();
    match opened {
        Ok(f) => {
            let lines = Lines::new(
                f,
                LinesOptions {
                    offset: from,
                    end,
                    skip_partial_line: start > 0,
                    max_line: options.items.max_item_size,
                    ..LinesOptions::default()
                },
            );
            result.read = read_lines(lines, name, options, &mut result.state);
        }
        Err(e) => result.read.error = Some(spate_io(name, e)),
    }
    result
}

/// Makes the line number of a range's error absolute (`before`: lines of earlier ranges).
fn add_lines(e: &mut Error, before: u64) {
    if let ErrorKind::Json(inner) = &mut e.kind {
        if let spate::Error::Syntax { location, .. } | spate::Error::ItemTooLarge { location, .. } =
            inner.as_mut()
        {
            location.position.line += before;
        }
    }
}
