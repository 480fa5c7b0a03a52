//! The direct children of a selected value, recorded while the scanner passes them.
//!
//! A consumer that reads a selected object again to find its members (spate's jq filters
//! on an item's bytes) would step over every member value a second time, although the
//! scanner has just found where each one begins and ends. When asked to (see
//! [`crate::Selector::record_children`]), the selector watches the children of the values
//! some paths select and keeps, for the last such value, where each child's value begins
//! and ends and the length of its member name: the consumer gets them with the value
//! ([`crate::Selector::children`]). Only one value is recorded at a time (the buffer is
//! reused from one value to the next), and only up to [`MAX_CHILDREN`] children: past that,
//! nothing is handed over for that value and the consumer reads it itself, as it would
//! without recording.

use crate::scanner::Member;
use crate::selector::Span;

/// Most children recorded for one value (24 bytes each).
pub const MAX_CHILDREN: usize = 4096;

/// The children of one recorded value, as [`crate::Selector::children`] hands them over,
/// in the order written (repeated member names kept).
#[derive(Debug, Clone, Copy)]
pub struct Children<'a> {
    spans: &'a [Child],
}

/// One recorded child. A member's name is the string just before its value (and a
/// colon): it is not copied, only its length is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Child {
    /// Absolute offset of the value's first byte.
    pub start: u64,
    /// Absolute offset just past the value's last byte.
    pub end: u64,
    /// Length in bytes of the member name as written between its quotes (escapes not
    /// decoded); 0 for an array element.
    pub key_len: usize,
}

impl<'a> Children<'a> {
    /// Number of children.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when the value has no children.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The children, in the order written.
    pub fn as_slice(&self) -> &'a [Child] {
        self.spans
    }

    /// Reads the children off `text`, the recorded value's own text (which starts at
    /// offset `base`): calls `f` with each child's member name as written between its
    /// quotes (empty for an array element) and its value's text, in order. False (after
    /// calling `f` for the children before it) when a child's name or value is not where
    /// the record says: `text` is not the recorded value's.
    pub fn read<'t>(
        &self,
        text: &'t [u8],
        base: u64,
        mut f: impl FnMut(&'t [u8], &'t [u8]),
    ) -> bool {
        for c in self.spans {
            let at = |o: u64| usize::try_from(o.checked_sub(base)?).ok();
            let (Some(start), Some(end)) = (at(c.start), at(c.end)) else {
                return false;
            };
            if start >= end || end > text.len() {
                return false;
            }
            let key = match c.key_len {
                0 => &text[..0],
                len => match name_before(text, start, len) {
                    Some((open, close)) => &text[open + 1..close],
                    None => return false,
                },
            };
            f(key, &text[start..end]);
        }
        true
    }
}

/// Where the blanks that end just before `at` in `text` begin.
#[inline]
fn blanks_before(text: &[u8], mut at: usize) -> usize {
    while at > 0 && matches!(text[at - 1], b' ' | b'\t' | b'\n' | b'\r') {
        at -= 1;
    }
    at
}

/// The quotes around the member name of `len` bytes of the value at `at` in `text`: read
/// backwards over the blanks and the colon.
#[inline]
fn name_before(text: &[u8], at: usize, len: usize) -> Option<(usize, usize)> {
    let colon = blanks_before(text, at).checked_sub(1)?;
    if text[colon] != b':' {
        return None;
    }
    let close = blanks_before(text, colon).checked_sub(1)?;
    let open = close.checked_sub(len + 1)?;
    (text[close] == b'"' && text[open] == b'"').then_some((open, close))
}

/// Depth of [`Recorder::child_depth`] when nothing is being recorded.
const IDLE: u32 = u32::MAX;

/// Records the children of one value at a time (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    /// Depth of the children of the value being recorded; [`IDLE`] when none is.
    pub(crate) child_depth: u32,
    /// The recorded value's span (`end` set when it ended).
    start: u64,
    end: Option<u64>,
    /// Too many children: nothing is handed over.
    overflow: bool,
    spans: Vec<Child>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            child_depth: IDLE,
            start: 0,
            end: None,
            overflow: false,
            spans: Vec::new(),
        }
    }
}

impl Recorder {
    /// True while a value's children are being recorded.
    #[inline(always)]
    pub(crate) fn busy(&self) -> bool {
        self.child_depth != IDLE
    }

    /// Starts recording the children of the container beginning at `start`, at `depth`.
    pub(crate) fn start(&mut self, depth: u32, start: u64) {
        self.child_depth = depth + 1;
        self.start = start;
        self.end = None;
        self.overflow = false;
        self.spans.clear();
    }

    /// A child begins at `start`.
    #[inline(always)]
    pub(crate) fn begin_child(&mut self, start: u64, member: Member<'_>) {
        if self.spans.len() < MAX_CHILDREN {
            let key_len = match member {
                Member::Key(k) => k.len(),
                _ => 0,
            };
            self.spans.push(Child {
                start,
                end: start,
                key_len,
            });
        } else {
            self.overflow = true;
        }
    }

    /// The child last begun ends at `end`.
    #[inline(always)]
    pub(crate) fn child_end(&mut self, end: u64) {
        if let Some(last) = self.spans.last_mut() {
            last.end = end;
        }
    }

    /// The recorded value ends at `end`.
    pub(crate) fn finish(&mut self, end: u64) {
        self.end = Some(end);
        self.child_depth = IDLE;
    }

    /// Forgets the value being recorded (the input starts over).
    pub(crate) fn reset(&mut self) {
        self.child_depth = IDLE;
        self.end = None;
    }

    /// The children of the value `span` selected, when it is the value recorded last and
    /// all of them were recorded.
    pub(crate) fn children(&self, span: &Span) -> Option<Children<'_>> {
        (self.end == Some(span.end) && self.start == span.start && !self.overflow)
            .then_some(Children { spans: &self.spans })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Path, ScanOptions, Scanned, Scanner, Selector};

    /// Each selected value with its recorded children (member names read back from the
    /// text by their lengths), scanning `doc` in slices of `size` bytes.
    fn recorded(doc: &[u8], paths: &[&str], record: u64, size: usize) -> Vec<String> {
        let paths = paths.iter().map(|p| Path::parse(p).unwrap()).collect();
        let mut scanner = Scanner::new(ScanOptions::default());
        let mut selector = Selector::new(paths);
        selector.record_children(record);
        let mut out = Vec::new();
        let mut take = |selector: &mut Selector| {
            while let Some(span) = selector.take() {
                let value = String::from_utf8_lossy(&doc[span.start as usize..span.end as usize]);
                let children = match selector.children(&span) {
                    None => "-".to_owned(),
                    Some(c) => {
                        let text = &doc[span.start as usize..span.end as usize];
                        let mut parts = Vec::new();
                        let read = c.read(text, span.start, |key, v| {
                            let v = String::from_utf8_lossy(v);
                            parts.push(match key.is_empty() {
                                true => v.into_owned(),
                                false => format!("{}={v}", String::from_utf8_lossy(key)),
                            });
                        });
                        assert!(read, "where recorded");
                        parts.join(" ")
                    }
                };
                out.push(format!("{value} [{children}]"));
            }
        };
        for chunk in doc.chunks(size) {
            let mut rest = chunk;
            loop {
                let step = scanner.scan(rest, &mut selector).unwrap();
                take(&mut selector);
                match step {
                    Scanned::Paused(used) => rest = &rest[used..],
                    Scanned::NeedInput => break,
                }
            }
        }
        scanner.finish(&mut selector).unwrap();
        take(&mut selector);
        out
    }

    #[test]
    fn children_of_selected_values_whatever_the_slices() {
        let doc = br#"{"s": [{"a" : 1, "b\"c":[2, {"x": 3}],"a":"z"}, [true, null], {}, 5, {"k\\": {"n": []}}]}"#;
        let want = [
            r#"{"a" : 1, "b\"c":[2, {"x": 3}],"a":"z"} [a=1 b\"c=[2, {"x": 3}] a="z"]"#,
            "[true, null] [true null]",
            "{} []",
            "5 [-]",
            r#"{"k\\": {"n": []}} [k\\={"n": []}]"#,
        ];
        for size in [1, 2, 3, 7, doc.len()] {
            assert_eq!(
                recorded(doc, &["s.item"], 1, size),
                want,
                "slices of {size}"
            );
        }
        // not asked for: nothing recorded
        let plain = recorded(doc, &["s.item"], 0, 4);
        assert!(plain.iter().all(|l| l.ends_with("[-]")), "{plain:?}");
    }

    #[test]
    fn one_value_at_a_time() {
        // a value below which another path goes on is not recorded; the inner one is
        let doc = br#"{"a": {"b": {"c": 1}, "d": 2}, "e": [{"f": 1}]}"#;
        assert_eq!(
            recorded(doc, &["a", "a.b"], 0b11, 3),
            [r#"{"c": 1} [c=1]"#, r#"{"b": {"c": 1}, "d": 2} [-]"#]
        );
        // only the paths asked for
        assert_eq!(
            recorded(doc, &["a", "a.b"], 0b01, 5),
            [r#"{"c": 1} [-]"#, r#"{"b": {"c": 1}, "d": 2} [-]"#]
        );
        // (nothing below a recorded value is selected: no path goes on there)
        assert_eq!(
            recorded(doc, &["e", "e.item"], 0b11, 4),
            [r#"{"f": 1} [f=1]"#, r#"[{"f": 1}] [-]"#]
        );
        assert_eq!(recorded(doc, &["e"], 1, 4), [r#"[{"f": 1}] [{"f": 1}]"#]);
    }

    #[test]
    fn too_many_children_hand_over_nothing() {
        let many = vec!["0"; super::MAX_CHILDREN + 1].join(",");
        let doc = format!("[[{many}], [1, 2]]");
        let got = recorded(doc.as_bytes(), &["item"], 1, doc.len());
        assert!(got[0].ends_with("[-]"));
        assert_eq!(got[1], "[1, 2] [1 2]");
    }
}
