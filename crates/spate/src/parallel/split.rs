//! Cutting one big JSON document into pieces that workers scan at once, with answers
//! identical to one sequential scan.
//!
//! # Speculate, then verify in a chain
//!
//! 1. *Learn.* The document's head is scanned (up to [`LEARN_LIMIT`] bytes) until the first
//!    element of the *split array*: the array whose elements every path goes through (the
//!    first wildcard step, `sessions.item` for `sessions.item` and
//!    `sessions.item.delegations.item` alike). The scanner's and the selector's states just
//!    before that element, taken as "after a comma" ([`ScanState::as_next_element`]), are
//!    the state at the start of any later element. The element must be an object; the bytes
//!    from its `{` to the end of its first member name (`{\n    "session_id"`) are the
//!    *signature* of an element start.
//! 2. *Guess.* At every multiple of the piece size the file is searched forward for the
//!    signature preceded by blank space and a comma; its `{` is a guessed piece start.
//!    Guesses may be wrong (the text inside a string, an object at another level).
//! 3. *Scan.* Piece 0 starts at the file's start in the true state; piece `k` starts at its
//!    guess in the assumed state. A worker scans its piece up to the next guess, where it
//!    compares its own state with the assumed one: equal, the next piece's start is
//!    *confirmed* and the worker stops; different, the next piece is *void* and the worker
//!    scans on to the guess after it (or the end).
//! 4. *Merge.* The merger takes pieces in order: piece 0 is true, and a piece confirmed by
//!    a true piece started in the state the sequential scan has there, so it goes on exactly
//!    as the sequential scan (same items, errors, end). Void pieces' output, errors and
//!    partial aggregates are dropped. A wrong guess costs time, never answers.
//!
//! Errors of a piece that starts past 0 are given their line, column and excerpt again by
//! reading the file ([`relocate`]): the piece's own scan does not know the lines before it.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use spate_json::{
    excerpt, Handler, LineCounter, Member, Path, ScanOptions, Scanned, Scanner, Selector, Step,
    Watch,
};

use super::RunOptions;
use crate::error::Error;
use crate::items::Resume;

/// Most bytes of the head read to learn the signature (the first element must start
/// within it, and a second must follow it, or the document is not cut).
pub(super) const LEARN_LIMIT: usize = 4 << 20;
/// Most pieces one document is cut into: each piece's visitor (its partial aggregate) is
/// kept until the run ends, so a huge document gets larger pieces, not more.
const MAX_PIECES: u64 = 64;
/// Bytes read at a time while searching.
const SEARCH_STEP: usize = 64 << 10;
/// Most bytes searched after a piece mark for a signature before the mark is given up.
const SEARCH_LIMIT: u64 = 4 << 20;

/// One document cut into pieces: what every piece of it shares.
#[derive(Debug)]
pub(super) struct Cut {
    /// Start offsets of the pieces, from 0, increasing.
    pub starts: Vec<u64>,
    /// The state assumed at the start of every piece but the first (its offset is 0:
    /// each piece sets its own).
    pub assumed: Resume,
    /// The task number of piece 0.
    pub first_task: usize,
}

/// A task that is a piece of a cut document.
#[derive(Debug, Clone)]
pub(super) struct Piece {
    pub cut: Arc<Cut>,
    /// Index in [`Cut::starts`].
    pub index: usize,
}

impl Piece {
    pub fn start(&self) -> u64 {
        self.cut.starts[self.index]
    }

    /// The task number of the last piece of the document.
    pub fn last_task(&self) -> usize {
        self.cut.first_task + self.cut.starts.len() - 1
    }
}

/// The depth of the split array's elements when every path streams and goes through the
/// same first wildcard step (`None` otherwise: the document is not cut). The steps before
/// it must be the same too, so that nothing is selected outside the split array's
/// elements (a `with` field above them would be context that crosses a piece start).
fn split_depth(paths: &[Path]) -> Option<u32> {
    let mut prefix: Option<&[Step]> = None;
    for path in paths {
        if !path.is_simple() {
            return None;
        }
        let steps = path.steps();
        let w = steps
            .iter()
            .position(|s| matches!(s, Step::Item | Step::Any))?;
        let here = &steps[..=w];
        match prefix {
            None => prefix = Some(here),
            Some(p) => {
                let same = p.len() == here.len()
                    && p.iter().zip(here).all(|(a, b)| {
                        a == b || matches!((a, b), (Step::Item | Step::Any, Step::Item | Step::Any))
                    });
                if !same {
                    return None;
                }
            }
        }
    }
    prefix.map(|p| p.len() as u32)
}

/// Watches for the first element at the split depth while the selector works as usual.
struct Learn<'s> {
    selector: &'s mut Selector,
    depth: u32,
    first: Option<(u64, bool)>,
}

impl Handler for Learn<'_> {
    fn begin(&mut self, depth: u32, offset: u64, member: Member<'_>, container: bool) -> Watch {
        if self.first.is_none() && depth == self.depth && member == Member::Element {
            self.first = Some((offset, container));
        }
        self.selector.begin(depth, offset, member, container)
    }

    fn end(&mut self, depth: u32, end: u64) -> spate_json::Flow {
        self.selector.end(depth, end)
    }
}

/// The scanner and selector after a head scan, and the first element's offset and whether
/// it is a container.
type Head = (Scanner, Selector, Option<(u64, bool)>);

/// Scans `head` (the document's first bytes) with the paths until the first element at
/// `depth` begins, or up to `stop` when given; returns the scanner and selector there and
/// that element's offset and whether it is a container.
fn scan_head(
    head: &[u8],
    paths: &[Path],
    markers: u64,
    options: &RunOptions,
    depth: u32,
    stop: Option<usize>,
) -> Option<Head> {
    let mut scanner = Scanner::new(ScanOptions {
        max_depth: options.items.max_depth,
        multiple_values: false,
    });
    let mut selector = Selector::with_markers(paths.to_vec(), markers);
    let mut first = None;
    let mut at = 0usize;
    let end = stop.unwrap_or(head.len());
    while at < end {
        let mut learn = Learn {
            selector: &mut selector,
            depth,
            first: None,
        };
        let scanned = scanner.scan(&head[at..end], &mut learn).ok()?;
        if first.is_none() {
            first = learn.first;
        }
        while selector.take().is_some() {}
        match scanned {
            Scanned::NeedInput => at = end,
            Scanned::Paused(used) => at += used,
        }
        if stop.is_none() && first.is_some() {
            break;
        }
    }
    Some((scanner, selector, first))
}

/// Reads up to `limit` bytes at `offset` of `file` into `buf`.
fn read_at(file: &mut File, offset: u64, limit: usize, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.clear();
    file.seek(SeekFrom::Start(offset))?;
    file.take(limit as u64).read_to_end(buf)?;
    Ok(())
}

/// Cuts the document at `path` (`len` bytes) into pieces of about `piece` bytes, when the
/// paths allow it and its head shows a signature; `None` leaves it one task.
pub(super) fn cut(
    path: &std::path::Path,
    len: u64,
    piece: u64,
    paths: &[Path],
    options: &RunOptions,
) -> Option<(Vec<u64>, Resume)> {
    let depth = split_depth(paths)?;
    if !Selector::with_markers(paths.to_vec(), options.markers).resumable() {
        return None;
    }
    let mut file = File::open(path).ok()?;
    let mut head = Vec::new();
    // Most documents show their first element in the first KiBs: read more only if not.
    let mut found = None;
    for size in [SEARCH_STEP, LEARN_LIMIT] {
        read_at(&mut file, 0, size, &mut head).ok()?;
        let (_, _, first) = scan_head(&head, paths, options.markers, options, depth, None)?;
        found = first;
        // (the element's first member name must be in the head too)
        let room = first.is_some_and(|(at, _)| head.len() - at as usize > 4096);
        if room || head.len() < size {
            break;
        }
    }
    let (first, container) = found?;
    let first = first as usize;
    if !container || head[first] != b'{' {
        return None;
    }
    // The state just before the first element, as it is before any later one.
    let (scanner, selector, _) =
        scan_head(&head, paths, options.markers, options, depth, Some(first))?;
    let assumed = Resume {
        offset: 0,
        scan: scanner.snapshot()?.as_next_element()?,
        select: selector.snapshot()?,
    };
    // The signature: `{`, blank space, the first member name with its quotes.
    let mut i = first + 1;
    while i < head.len() && matches!(head[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    if head.get(i) != Some(&b'"') {
        return None;
    }
    let close = i + 1 + memchr::memchr2(b'"', b'\\', head.get(i + 1..)?)?;
    if head[close] != b'"' {
        return None;
    }
    let signature = head[first..=close].to_vec();
    if signature.len() > 1024 {
        return None;
    }
    drop(head);
    let finder = memchr::memmem::Finder::new(&signature);
    let piece = piece.max(len.div_ceil(MAX_PIECES));
    let mut starts = vec![0u64];
    let mut buf = Vec::new();
    let mut mark = piece;
    while mark < len {
        let from = mark.max(starts[starts.len() - 1] + 1);
        if let Some(at) = search(&mut file, from, &finder, signature.len(), &mut buf) {
            starts.push(at);
        }
        mark = mark.saturating_add(piece).max(starts[starts.len() - 1] + 1);
    }
    (starts.len() > 1).then_some((starts, assumed))
}

/// The offset of the first signature at or after `from` preceded by blank space and a comma,
/// read in steps of [`SEARCH_STEP`] up to [`SEARCH_LIMIT`] bytes.
fn search(
    file: &mut File,
    from: u64,
    finder: &memchr::memmem::Finder<'_>,
    overlap: usize,
    buf: &mut Vec<u8>,
) -> Option<u64> {
    let mut at = from;
    while at - from < SEARCH_LIMIT {
        read_at(file, at, SEARCH_STEP, buf).ok()?;
        let found = finder.find_iter(buf).find(|&i| {
            let before = &buf[..i];
            let blank = before
                .iter()
                .rposition(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
            matches!(blank, Some(c) if before[c] == b',')
        });
        if let Some(i) = found {
            return Some(at + i as u64);
        }
        if buf.len() < SEARCH_STEP {
            return None;
        }
        // The next step overlaps this one by a signature and some blank space, so that a
        // signature (or its comma) across the step's end is still found.
        at += (SEARCH_STEP - overlap - 256) as u64;
    }
    None
}

/// Gives an error found in a piece that starts past 0 its line, column and excerpt as a
/// sequential scan gives them, by reading the file up to it.
pub(super) fn relocate(error: &mut Error, path: &std::path::Path) {
    let location = match error {
        Error::Syntax { location, .. } | Error::ItemTooLarge { location, .. } => location,
        _ => return,
    };
    let Ok(mut file) = File::open(path) else {
        return;
    };
    let offset = location.offset;
    let mut lines = LineCounter::default();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    while at < offset {
        let want = ((offset - at) as usize).min(buf.len());
        match file.read(&mut buf[..want]) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                lines.count(&buf[..n], at);
                at += n as u64;
            }
        }
    }
    location.position = lines.position(offset, &[]);
    const SIDE: u64 = 40;
    let from = offset.saturating_sub(SIDE);
    let mut window = Vec::new();
    if read_at(&mut file, from, 2 * SIDE as usize + 1, &mut window).is_ok() {
        location.excerpt = excerpt(&window, (offset - from) as usize);
    }
}
