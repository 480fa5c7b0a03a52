//! Inference in the validating scan: one pass over each JSON value.
//!
//! [`JsonState::observe`] walks a value that spate's scanner has already validated, so every
//! byte of a JSON Lines line is read twice (once to validate, once to infer). Here the
//! inference rides on the scanner itself: a [`Handler`] watches every object member down to
//! [`MAX_FLATTEN_DEPTH`], and the scanner reports where each value begins and ends while it
//! validates. Arrays (and objects deeper than the flattening depth) are leaves, so their
//! contents are validated without a callback; once the scanner has passed one, its text is
//! walked to type its elements ([`crate::elements`]). A scalar's type is read from its bytes as
//! written (the scanner has just proved them valid); strings are decoded only when their
//! column is not yet a `string`.
//!
//! The leaves reach the [`JsonState`] in exactly the order, with exactly the paths, that the
//! [`Flattener`](crate::json::Flattener) gives them, so the schema is the same byte for byte;
//! the errors are the scanner's, so they are the same as `validate`'s. A line that turns out
//! invalid may have left some of its leaves in the state: callers stop at the first error
//! and drop the state.

use spate_json::{Handler, Member, ScanOptions, Scanned, Scanner, SyntaxError, Watch};

use crate::json::{has_backslash, JsonState, JsonVisitor, MAX_FLATTEN_DEPTH, TOP_LEVEL_FIELD};

/// Validates JSON values and infers over them in one pass; holds the scanner and the buffers
/// reused from value to value.
#[derive(Debug, Clone)]
pub struct ScanInferrer {
    scanner: Scanner,
    path: Vec<u8>,
    /// Length of the path of each open (flattened) object: where its members' names start.
    bases: Vec<usize>,
    /// Decoded member names and strings with escapes.
    text: Vec<u8>,
}

impl ScanInferrer {
    /// An inferrer whose scanner has `max_depth` (one value per text, as in JSON Lines).
    pub fn new(max_depth: u32) -> Self {
        ScanInferrer {
            scanner: Scanner::new(ScanOptions {
                max_depth,
                multiple_values: false,
            }),
            path: Vec::new(),
            bases: Vec::new(),
            text: Vec::new(),
        }
    }

    /// Validates `text` (exactly one JSON value, whitespace around it allowed) and adds it
    /// to `state` as one row at `position`, as [`JsonState::observe`] would. The error is the
    /// scanner's, its offset relative to `text`; the state should then be dropped.
    pub fn observe(
        &mut self,
        state: &mut JsonState,
        text: &[u8],
        position: u64,
    ) -> Result<(), SyntaxError> {
        self.scanner.reset();
        self.path.clear();
        self.bases.clear();
        state.begin_row(position);
        let mut h = Infer {
            state,
            input: text,
            path: &mut self.path,
            bases: &mut self.bases,
            text: &mut self.text,
            scalar: None,
            container: None,
        };
        // The handler never pauses, so one call scans the whole text.
        let scanned = self.scanner.scan(text, &mut h)?;
        debug_assert_eq!(scanned, Scanned::NeedInput);
        self.scanner.finish(&mut h)?;
        h.state.end_row();
        Ok(())
    }
}

/// The handler of one scan: turns the scanner's begin/end reports into leaves.
struct Infer<'a> {
    state: &'a mut JsonState,
    /// The text being scanned (the scanner's offsets are relative to it).
    input: &'a [u8],
    path: &'a mut Vec<u8>,
    bases: &'a mut Vec<usize>,
    text: &'a mut Vec<u8>,
    /// Start and field of the scalar being read (its end comes next).
    scalar: Option<(usize, usize)>,
    /// Start and field of the leaf container (an array) being read: it is watched quietly,
    /// so its end comes next.
    container: Option<(usize, usize)>,
}

impl Infer<'_> {
    /// Sets the path to the member `key` (as written) of the innermost open object, which
    /// starts at `base`.
    #[inline]
    fn member_path(&mut self, base: usize, key: &[u8], escaped: bool) {
        self.path.truncate(base);
        if base > 0 {
            self.path.push(b'.');
        }
        if escaped {
            self.text.clear();
            spate_json::walk::unescape_into(key, self.text);
            self.path.extend_from_slice(self.text);
        } else {
            self.path.extend_from_slice(key);
        }
    }
}

impl Handler for Infer<'_> {
    #[inline]
    fn begin(&mut self, depth: u32, offset: u64, member: Member<'_>, container: bool) -> Watch {
        let at = offset as usize;
        // An object is flattened down to MAX_FLATTEN_DEPTH levels below the top one; an
        // array, or an object deeper than that, is one leaf.
        let object = container && self.input.get(at) == Some(&b'{');
        let field = match member {
            Member::Root => {
                if object {
                    self.bases.push(0);
                    return Watch::Children;
                }
                self.state.field_index(TOP_LEVEL_FIELD.as_bytes())
            }
            Member::Key(key) => {
                let base = self.bases.last().copied().unwrap_or(0);
                let escaped = has_backslash(key);
                let flatten = object && (depth as usize) <= MAX_FLATTEN_DEPTH;
                if base == 0 && !escaped && !flatten {
                    // A leaf whose path is its name as written (a member of the top-level
                    // object, the common case): no copy.
                    self.state.field_index(key)
                } else {
                    self.member_path(base, key, escaped);
                    if flatten {
                        self.state.object(self.path);
                        self.bases.push(self.path.len());
                        return Watch::Children;
                    }
                    self.state.field_index(self.path)
                }
            }
            // Arrays are leaves: their elements are never watched.
            Member::Element => return Watch::Quiet,
        };
        if container {
            self.container = Some((at, field));
        } else {
            self.scalar = Some((at, field));
        }
        Watch::Quiet
    }

    #[inline]
    fn end(&mut self, depth: u32, end: u64) -> spate_json::Flow {
        if let Some((start, field)) = self.scalar.take() {
            let raw = &self.input[start..end as usize];
            self.state.scalar(field, raw, self.text);
        } else if let Some((start, field)) = self.container.take() {
            // A leaf container (it left the stack of objects as it was).
            self.state.array(field, &self.input[start..end as usize]);
        } else if self.bases.len() > depth as usize {
            // A flattened object closes (a leaf container leaves the stack as it was).
            self.bases.pop();
        }
        spate_json::Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Type;

    /// The same rows through the two routes: validate then walk, or one scan.
    fn both(lines: &[&[u8]]) -> (JsonState, JsonState) {
        let mut walked = JsonState::default();
        let mut scanned = JsonState::default();
        let mut inferrer = ScanInferrer::new(spate_json::DEFAULT_MAX_DEPTH);
        for (i, l) in lines.iter().enumerate() {
            walked.observe(l, i as u64);
            inferrer.observe(&mut scanned, l, i as u64).unwrap();
        }
        (walked, scanned)
    }

    #[test]
    fn the_same_leaves_as_the_walk() {
        let lines: [&[u8]; 10] = [
            br#"{"xs": [1, 2.5, null], "ts": ["2024-01-01", "x\u0041"], "z": [], "o": {"l": [true]}}"#,
            br#"{"xs": [], "ts": null, "z": [null], "o": {"l": [false, null]}, "m": [1, "x"]}"#,
            br#"{"a": 1, "b": {"c": "2024-01-01", "d": [1, {"x": "]"}]}, "e": "12", "f": true}"#,
            br#" {"a": 2.5, "b": {"c": "2024-01-01T00:00:00Z"}, "e": "x", "g": null, "h\"q": 1e400} "#,
            br#"{"d\u0061y": "2024-01-0\u0031", "n\u00e9": {"x\/y": "\ud83d\ude00"}, "": {"": 1}}"#,
            br#"{"b": 3, "a": {"z": false}, "big": 123456789012345678901234567890, "f": "NaN"}"#,
            b"17",
            b"[1, {\"a\": 2}]",
            b"\"2024-02-29\"",
            b"{}",
        ];
        let (walked, scanned) = both(&lines);
        assert_eq!(walked, scanned);
        assert_eq!(walked.finish(), scanned.finish());
        let items = |name: &str| {
            let f = scanned
                .finish()
                .into_iter()
                .find(|f| f.name == name)
                .unwrap();
            f.items.map(|i| (i.ty, i.values, i.nulls))
        };
        assert_eq!(items("xs"), Some((Type::Float, 2, 1)));
        assert_eq!(items("o.l"), Some((Type::Boolean, 2, 1)));
        assert_eq!(items("z"), Some((Type::Null, 0, 1)));
        assert_eq!(items("m"), None);
        assert_eq!(items("b.d"), None); // [1, {"x": "]"}]: an object among the elements
        assert!(walked.finish().len() > 8);
    }

    #[test]
    fn deep_objects_become_leaves_at_the_same_depth() {
        let deep = format!("{}1{}", "{\"a\":".repeat(200), "}".repeat(200));
        let (walked, scanned) = both(&[deep.as_bytes(), b"{\"a\": {\"a\": 2}}"]);
        assert_eq!(walked.finish(), scanned.finish());
        assert_eq!(
            scanned.finish()[1].name.split('.').count(),
            MAX_FLATTEN_DEPTH + 1
        );
    }

    #[test]
    fn errors_are_the_scanners() {
        let mut state = JsonState::default();
        let mut inferrer = ScanInferrer::new(8);
        for bad in [
            &b"{\"a\": tru}"[..],
            b"{\"a\": 1,}",
            b"{\"a\": 01}",
            b"[[[[[[[[[1]]]]]]]]]",
            b"{\"a\": \"\x01\"}",
            b"1 2",
            b"",
            b"{\"a\": \"\xff\"}",
        ] {
            let mut scanner = Scanner::new(ScanOptions {
                max_depth: 8,
                multiple_values: false,
            });
            let mut quiet = spate_json::Selector::new(Vec::new());
            let want = scanner
                .scan(bad, &mut quiet)
                .and_then(|_| scanner.finish(&mut quiet))
                .unwrap_err();
            let got = inferrer.observe(&mut state, bad, 0).unwrap_err();
            assert_eq!(got, want, "{}", String::from_utf8_lossy(bad));
        }
        // The inferrer is reusable after an error.
        let mut fresh = JsonState::default();
        inferrer.observe(&mut fresh, b"{\"a\": 1}", 0).unwrap();
        assert_eq!(fresh.rows, 1);
    }
}
