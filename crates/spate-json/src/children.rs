//! The direct children of a selected value, recorded while the scanner passes them.
//!
//! A consumer that reads a selected object again to find its members (spate's jq filters
//! on an item's bytes) would step over every member value a second time, although the
//! scanner has just found where each one begins and ends. When asked to (see
//! [`crate::Selector::record_children`]), the selector watches the children of the values
//! some paths select and keeps, for the last such value, the byte range of each child's
//! value and the length of its member name: the consumer gets them with the value
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

    /// A watched value at `depth` ends at `end`: a child, or the recorded value itself.
    #[inline(always)]
    pub(crate) fn end(&mut self, depth: u32, end: u64) {
        if depth == self.child_depth {
            if let Some(last) = self.spans.last_mut() {
                last.end = end;
            }
        } else if depth + 1 == self.child_depth {
            self.end = Some(end);
            self.child_depth = IDLE;
        }
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
                    Some(c) => c
                        .as_slice()
                        .iter()
                        .map(|c| {
                            let v = &doc[c.start as usize..c.end as usize];
                            let v = String::from_utf8_lossy(v);
                            if c.key_len == 0 {
                                return v.into_owned();
                            }
                            let at = doc[..c.start as usize]
                                .iter()
                                .rposition(|&b| b == b':')
                                .unwrap();
                            let close = doc[..at].iter().rposition(|&b| b == b'"').unwrap();
                            let key = &doc[close - c.key_len..close];
                            format!("{}={v}", String::from_utf8_lossy(key))
                        })
                        .collect::<Vec<_>>()
                        .join(" "),
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
            assert_eq!(recorded(doc, &["s.item"], 1, size), want, "slices of {size}");
        }
        // not asked for: nothing recorded
        let plain = recorded(doc, &["s.item"], 0, 4);
        assert!(plain.iter().all(|l| l.ends_with("[-]")), "{plain:?}");
    }

    #[test]
    fn one_value_at_a_time() {
        // a selected value inside one being recorded is not recorded itself; the outer
        // one is, with the inner one as its child
        let doc = br#"{"a": {"b": {"c": 1}, "d": 2}}"#;
        assert_eq!(
            recorded(doc, &["a", "a.b"], 0b11, 3),
            [r#"{"c": 1} [-]"#, r#"{"b": {"c": 1}, "d": 2} [b={"c": 1} d=2]"#]
        );
        // only the paths asked for
        assert_eq!(
            recorded(doc, &["a", "a.b"], 0b10, 5),
            [r#"{"c": 1} [c=1]"#, r#"{"b": {"c": 1}, "d": 2} [-]"#]
        );
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
