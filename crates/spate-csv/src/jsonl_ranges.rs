//! One plain JSON Lines file inferred in byte ranges on every core.
//!
//! The file is cut into byte ranges that shrink towards its end ([`range_bounds`]); spate's
//! line reader
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

/// Where the ranges of a file of `len` bytes begin, and its end: each range is a
/// `2 × workers`-th of what remains, but no smaller than `smallest` (the last one may be).
///
/// Workers take the ranges in file order, so with equal ranges the threads finish up to a
/// whole range apart; here the big ranges go first and the small ones come last, where they
/// even out the finish, while the ranges stay few (each costs a file handle, a read buffer,
/// member names learnt anew and a state to merge).
pub(crate) fn range_bounds(len: u64, smallest: u64, workers: usize) -> Vec<u64> {
    let parts = 2 * workers.max(1) as u64;
    let smallest = smallest.max(1);
    let mut bounds = vec![0];
    let mut at = 0u64;
    while at < len {
        at += ((len - at) / parts).max(smallest).min(len - at);
        bounds.push(at);
    }
    if bounds.len() == 1 {
        bounds.push(0);
    }
    bounds
}

/// Infers over the plain file at `path` (named `name` in errors) in the ranges between
/// `bounds` (see [`range_bounds`]: the last is the file's length) on `workers` threads.
pub(crate) fn infer_ranges(
    path: &Path,
    name: &str,
    bounds: &[u64],
    workers: usize,
    options: &JsonOptions,
) -> Result<Schema, Error> {
    let count = bounds.len() - 1;
    let results: Vec<Mutex<Option<RangeResult>>> = (0..count).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    // Ranges after this one are not needed (an earlier range failed).
    let cutoff = AtomicUsize::new(usize::MAX);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= count || i > cutoff.load(Ordering::Relaxed) {
            break;
        }
        let start = bounds[i];
        let end = (i + 1 < count).then(|| bounds[i + 1]);
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
            // The file scanned in place where it can be, as spate's executor scans its
            // ranges (no copy by `read`; see `spate::mapped`).
            #[cfg(unix)]
            let mapping =
                spate::mapped::Mapping::of_plain_file(&f, spate::parallel::DEFAULT_MAP_FILES_FROM);
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
            #[cfg(unix)]
            let lines = match mapping {
                Some(mapping) => lines.with_mapping(mapping),
                None => lines,
            };
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

#[cfg(test)]
mod tests {
    use super::range_bounds;

    #[test]
    fn ranges_cover_the_file_and_shrink_towards_its_end() {
        for (len, smallest, workers) in [
            (0, 1, 1),
            (1, 1, 2),
            (10, 3, 1),
            (62 << 20, 1 << 20, 2),
            (1 << 40, 1 << 30, 64),
            (1000, 1, 3),
        ] {
            let b = range_bounds(len, smallest, workers);
            assert_eq!(b[0], 0);
            assert_eq!(*b.last().unwrap(), len);
            let sizes: Vec<u64> = b.windows(2).map(|w| w[1] - w[0]).collect();
            assert!(sizes.iter().all(|&s| s > 0 || len == 0), "{sizes:?}");
            // Never growing, and none smaller than asked but the last.
            assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
            assert!(sizes[..sizes.len() - 1].iter().all(|&s| s >= smallest));
        }
        // 62 MiB on two threads, ranges of 1 MiB at least: a quarter first, then fewer
        // bytes each time, 1 MiB ranges at the end.
        let b = range_bounds(62 << 20, 1 << 20, 2);
        assert_eq!(b[1], (62 << 20) / 4);
        assert!(b.len() < 20, "{}", b.len());
        assert_eq!(b[b.len() - 2] - b[b.len() - 3], 1 << 20);
    }
}
