//! Matching values against compiled paths while the scanner streams.
//!
//! The [`Selector`] is the scanner's [`Handler`]. For each watched value it works out which
//! paths are still alive (their steps matched so far), whether the value is selected (a path
//! ends here: "emit"), whether to watch its children (a path goes deeper: "descend"), or
//! neither (the subtree is validated without callbacks: "skip"). Alive paths are a bit mask,
//! so up to 64 paths are matched in one pass at the cost of one.

use std::collections::VecDeque;

use crate::path::{Path, Step};
use crate::scanner::{Flow, Handler, Member, Watch};

/// Most paths one selector matches at once.
pub const MAX_PATHS: usize = 64;

/// A selected value: its byte range in the input and the index of the path that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Offset of the value's first byte.
    pub start: u64,
    /// Offset just past the value's last byte.
    pub end: u64,
    /// Index of the matching path in the list given to [`Selector::new`].
    pub path: usize,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Paths that continue below this container.
    alive: u64,
    /// Index of the next element (arrays).
    next_index: u64,
}

#[derive(Debug, Clone, Copy)]
struct Open {
    depth: u32,
    start: u64,
    paths: u64,
    /// Whether a capturing (non-marker) path selected the value: its bytes must be kept.
    retain: bool,
}

/// Selects the values at a set of paths. See the module docs.
#[derive(Debug, Clone)]
pub struct Selector {
    paths: Vec<Path>,
    /// One frame per watched open container.
    frames: Vec<Frame>,
    /// Selected values that began and have not ended yet (nested when paths nest).
    open: Vec<Open>,
    /// Selected values that ended and were not taken yet.
    ready: VecDeque<Span>,
    /// Paths that selected at least one value.
    matched: u64,
    all: u64,
    /// Paths whose values are only marked (start and end), never kept: used to learn
    /// where an enclosing value ends without holding its bytes.
    markers: u64,
    scratch: Vec<u8>,
}

impl Selector {
    /// A selector for `paths` (at most [`MAX_PATHS`]; an empty list selects nothing, which
    /// is how a plain validation runs).
    ///
    /// # Panics
    /// If more than [`MAX_PATHS`] paths are given; callers check this first.
    pub fn new(paths: Vec<Path>) -> Self {
        assert!(paths.len() <= MAX_PATHS, "at most {MAX_PATHS} paths");
        let all = if paths.len() == 64 {
            u64::MAX
        } else {
            (1u64 << paths.len()) - 1
        };
        Selector {
            paths,
            frames: Vec::new(),
            open: Vec::new(),
            ready: VecDeque::new(),
            matched: 0,
            all,
            markers: 0,
            scratch: Vec::new(),
        }
    }

    /// Like [`Selector::new`], but the paths whose bit is set in `markers` only mark where
    /// their values begin and end: their bytes are not kept (see [`Selector::retain_from`]).
    pub fn with_markers(paths: Vec<Path>, markers: u64) -> Self {
        let mut selector = Selector::new(paths);
        selector.markers = markers & selector.all;
        selector
    }

    /// True when path `i` is a marker path.
    pub fn is_marker(&self, i: usize) -> bool {
        self.markers >> i & 1 == 1
    }

    /// Forgets the current input (open values, pending items) but not which paths matched:
    /// for selecting in one JSON Lines line after another.
    pub fn reset(&mut self) {
        self.frames.clear();
        self.open.clear();
        self.ready.clear();
    }

    /// The paths, in the order given.
    pub fn paths(&self) -> &[Path] {
        &self.paths
    }

    /// Takes the next selected value that has ended, in order of their ends.
    pub fn take(&mut self) -> Option<Span> {
        self.ready.pop_front()
    }

    /// Offset of the first byte that must be kept: the start of the outermost selected value
    /// still open or not yet taken. `None` when no byte needs keeping.
    pub fn retain_from(&self) -> Option<u64> {
        let open = self.open.iter().find(|o| o.retain).map(|o| o.start);
        let ready = self
            .ready
            .iter()
            .filter(|s| !self.is_marker(s.path))
            .map(|s| s.start)
            .min();
        match (open, ready) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// True when path `i` selected at least one value so far.
    pub fn path_matched(&self, i: usize) -> bool {
        self.matched >> i & 1 == 1
    }
}

impl Handler for Selector {
    #[inline]
    fn begin(&mut self, depth: u32, offset: u64, member: Member<'_>, container: bool) -> Watch {
        debug_assert_eq!(self.frames.len(), depth as usize);
        let (candidates, index) = match self.frames.last_mut() {
            None => (self.all, 0),
            Some(frame) => {
                let index = frame.next_index;
                if member == Member::Element {
                    frame.next_index += 1;
                }
                (frame.alive, index)
            }
        };
        let d = depth as usize;
        let mut here = 0u64;
        let mut rest = candidates;
        while rest != 0 {
            let p = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            let matches = if d == 0 {
                true
            } else {
                step_matches(
                    &self.paths[p].steps()[d - 1],
                    member,
                    index,
                    &mut self.scratch,
                )
            };
            if matches {
                here |= 1 << p;
            }
        }
        let mut emit = 0u64;
        let mut deeper = 0u64;
        let mut rest = here;
        while rest != 0 {
            let p = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            if self.paths[p].steps().len() == d {
                emit |= 1 << p;
            } else {
                deeper |= 1 << p;
            }
        }
        if emit != 0 {
            self.matched |= emit;
            self.open.push(Open {
                depth,
                start: offset,
                paths: emit,
                retain: emit & !self.markers != 0,
            });
        }
        if container && deeper != 0 {
            self.frames.push(Frame {
                alive: deeper,
                next_index: 0,
            });
            Watch::Children
        } else {
            Watch::Quiet
        }
    }

    #[inline]
    fn end(&mut self, depth: u32, end: u64) -> Flow {
        if self.frames.len() > depth as usize {
            self.frames.pop();
        }
        match self.open.last() {
            Some(open) if open.depth == depth => {
                let open = self.open.pop().expect("checked");
                let mut rest = open.paths;
                while rest != 0 {
                    let p = rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    self.ready.push_back(Span {
                        start: open.start,
                        end,
                        path: p,
                    });
                }
                Flow::Pause
            }
            _ => Flow::Continue,
        }
    }
}

#[inline]
fn step_matches(step: &Step, member: Member<'_>, index: u64, scratch: &mut Vec<u8>) -> bool {
    match (step, member) {
        (Step::Any, Member::Key(_) | Member::Element) => true,
        (Step::Item, Member::Element) => true,
        (Step::Index(n), Member::Element) => *n == index,
        (Step::Key(name), Member::Key(raw)) => key_equals(raw, name, scratch),
        (Step::Item, Member::Key(raw)) => key_equals(raw, b"item", scratch),
        _ => false,
    }
}

/// Compares a raw member name (as written, escapes not decoded) with a decoded name.
fn key_equals(raw: &[u8], name: &[u8], scratch: &mut Vec<u8>) -> bool {
    if !raw.contains(&b'\\') {
        return raw == name;
    }
    scratch.clear();
    unescape(raw, scratch);
    scratch == name
}

/// Decodes the escapes of a validated JSON string body into UTF-8. Unpaired surrogates
/// become U+FFFD.
pub fn unescape(raw: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let e = raw.get(i + 1).copied().unwrap_or(b'\\');
        i += 2;
        let simple = match e {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            continue;
        }
        let hex = |at: usize| -> Option<u32> {
            let digits = raw.get(at..at + 4)?;
            u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
        };
        let Some(unit) = hex(i) else {
            out.extend_from_slice("\u{fffd}".as_bytes());
            continue;
        };
        i += 4;
        let ch = if (0xd800..0xdc00).contains(&unit) {
            let low = if raw.get(i) == Some(&b'\\') && raw.get(i + 1) == Some(&b'u') {
                hex(i + 2).filter(|l| (0xdc00..0xe000).contains(l))
            } else {
                None
            };
            match low {
                Some(low) => {
                    i += 6;
                    char::from_u32(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00))
                }
                None => None,
            }
        } else {
            char::from_u32(unit)
        };
        let ch = ch.unwrap_or('\u{fffd}');
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_decodes_everything() {
        let mut out = Vec::new();
        unescape(br#"a\"b\\c\/\n\u00e9\ud83d\ude00\ud800x"#, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "a\"b\\c/\né😀\u{fffd}x");
    }

    #[test]
    fn keys_compare_decoded() {
        let mut s = Vec::new();
        assert!(key_equals(br"sess\u0069ons", b"sessions", &mut s));
        assert!(key_equals(b"sessions", b"sessions", &mut s));
        assert!(!key_equals(b"session", b"sessions", &mut s));
    }
}
