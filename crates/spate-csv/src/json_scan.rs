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
//! column is not yet a `string`, and nulls (which add nothing to a field) are not handed on.
//!
//! A member's field is found by its name as written, not by its path: a [`RowInferrer`]
//! holds its state and remembers the members of earlier rows ([`crate::json_members`]), so a
//! name seen before is recognised by a comparison with the member that followed the previous
//! one last time, with no path built and no escape checked; the path is built once, when a
//! name is first seen. The handler's two callbacks are inlined into the scanner's loop.
//!
//! The leaves reach the [`JsonState`] in exactly the order, with exactly the paths, that the
//! [`Flattener`](crate::json::Flattener) gives them, so the schema is the same byte for byte;
//! the errors are the scanner's, so they are the same as `validate`'s. A line that turns out
//! invalid may have left some of its leaves in the state: callers stop at the first error
//! and drop the state.

use spate_json::{Handler, Member, ScanOptions, Scanned, Scanner, SyntaxError, Watch};

use crate::json::{JsonState, MAX_FLATTEN_DEPTH};
use crate::json_members::{Members, ROOT};

/// Validates JSON values and infers over them in one pass; holds the scanner and the buffers
/// reused from value to value.
#[derive(Debug, Clone)]
pub struct ScanInferrer {
    scanner: Scanner,
    /// The members seen (valid for one state: see [`RowInferrer`]).
    members: Members,
    /// The node of each open (flattened) object: the parent of its members.
    bases: Vec<u32>,
    /// Decoded strings with escapes.
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
            members: Members::default(),
            bases: Vec::new(),
            text: Vec::new(),
        }
    }

    /// Validates `text` (exactly one JSON value, whitespace around it allowed) and adds it
    /// to `state` as one row at `position`, as [`JsonState::observe`] would. The error is the
    /// scanner's, its offset relative to `text`; the state should then be dropped.
    ///
    /// `state` may be any state, so the members remembered from earlier values are
    /// forgotten first: to infer over many values into one state, [`RowInferrer`] (which
    /// holds its state) is faster.
    pub fn observe(
        &mut self,
        state: &mut JsonState,
        text: &[u8],
        position: u64,
    ) -> Result<(), SyntaxError> {
        self.members.clear();
        self.observe_into(state, text, position)
    }

    /// [`ScanInferrer::observe`] into the state whose members `self.members` knows.
    fn observe_into(
        &mut self,
        state: &mut JsonState,
        text: &[u8],
        position: u64,
    ) -> Result<(), SyntaxError> {
        self.scanner.reset();
        self.bases.clear();
        state.begin_row(position);
        self.members.begin_row();
        let mut h = Infer {
            state,
            input: text,
            members: &mut self.members,
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

/// Validates JSON values and infers over them into a state of its own, one row per value
/// (JSON Lines): the members of earlier rows are remembered, so a name seen before is
/// recognised as written (see [`crate::json_members`]).
#[derive(Debug, Clone)]
pub struct RowInferrer {
    inferrer: ScanInferrer,
    state: JsonState,
}

impl RowInferrer {
    /// An inferrer with an empty state, whose scanner has `max_depth`.
    pub fn new(max_depth: u32) -> Self {
        Self::with_state(max_depth, JsonState::default())
    }

    /// An inferrer that adds rows to `state` (rows read before, at smaller positions).
    pub fn with_state(max_depth: u32, state: JsonState) -> Self {
        RowInferrer {
            inferrer: ScanInferrer::new(max_depth),
            state,
        }
    }

    /// Validates `text` (one JSON value) and adds it as one row at `position` (which must
    /// grow from row to row), as [`ScanInferrer::observe`] does. After an error the state
    /// may hold part of the bad row: drop it.
    pub fn observe(&mut self, text: &[u8], position: u64) -> Result<(), SyntaxError> {
        self.inferrer.observe_into(&mut self.state, text, position)
    }

    /// The state of the rows observed.
    pub fn state(&self) -> &JsonState {
        &self.state
    }

    /// The state of the rows observed.
    pub fn into_state(self) -> JsonState {
        self.state
    }
}

/// The handler of one scan: turns the scanner's begin/end reports into leaves.
struct Infer<'a> {
    state: &'a mut JsonState,
    /// The text being scanned (the scanner's offsets are relative to it).
    input: &'a [u8],
    members: &'a mut Members,
    bases: &'a mut Vec<u32>,
    text: &'a mut Vec<u8>,
    /// Start and field of the scalar being read (its end comes next).
    scalar: Option<(usize, usize)>,
    /// Start and field of the leaf container (an array) being read: it is watched quietly,
    /// so its end comes next.
    container: Option<(usize, usize)>,
}

impl Handler for Infer<'_> {
    // Inlined into the scanner's loop (which is generic over the handler): these run for
    // every member of every row.
    #[inline(always)]
    fn begin(&mut self, depth: u32, offset: u64, member: Member<'_>, container: bool) -> Watch {
        let at = offset as usize;
        // An object is flattened down to MAX_FLATTEN_DEPTH levels below the top one; an
        // array, or an object deeper than that, is one leaf.
        let object = container && self.input.get(at) == Some(&b'{');
        let field = match member {
            Member::Key(name) => {
                let parent = self.bases.last().copied().unwrap_or(ROOT);
                let node = self.members.member(self.state, parent, name);
                if object && (depth as usize) <= MAX_FLATTEN_DEPTH {
                    self.members.open_object(self.state, node);
                    self.bases.push(node);
                    return Watch::Children;
                }
                self.members.field(node)
            }
            Member::Root => {
                if object {
                    self.bases.push(ROOT);
                    return Watch::Children;
                }
                self.members.value_field(self.state)
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

    #[inline(always)]
    fn end(&mut self, depth: u32, end: u64) -> spate_json::Flow {
        if let Some((start, field)) = self.scalar.take() {
            // A null adds nothing to its field (a missing value counts as one): no call.
            if self.input[start] != b'n' {
                let raw = &self.input[start..end as usize];
                self.state.scalar(field, raw, self.text);
            }
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

    /// The same rows through the routes: validate then walk, or one scan (a value at a time,
    /// or rows into a state of their own, whose member names are remembered); the two scans
    /// must agree.
    fn both(lines: &[&[u8]]) -> (JsonState, JsonState) {
        let mut walked = JsonState::default();
        let mut scanned = JsonState::default();
        let mut inferrer = ScanInferrer::new(spate_json::DEFAULT_MAX_DEPTH);
        let mut rows = RowInferrer::new(spate_json::DEFAULT_MAX_DEPTH);
        for (i, l) in lines.iter().enumerate() {
            walked.observe(l, i as u64);
            inferrer.observe(&mut scanned, l, i as u64).unwrap();
            rows.observe(l, i as u64).unwrap();
        }
        assert_eq!(rows.state(), &scanned);
        assert_eq!(rows.state().finish(), scanned.finish());
        (walked, scanned)
    }

    /// Names remembered from row to row: keys in changing order, optional and duplicate
    /// keys, one name written with and without escapes, a member that is an object in one
    /// row and a value in another, names that collide as paths, empty names.
    #[test]
    fn remembered_names_give_the_same_leaves() {
        let lines: [&[u8]; 14] = [
            br#"{"a": 1, "b": "x", "c": {"d": true, "e": [1]}}"#,
            br#"{"a": 2, "b": "y", "c": {"d": false, "e": [2]}}"#,
            br#"{"c": {"e": [], "d": null}, "b": "z", "a": 3}"#,
            br#"{"a": 4, "z": 1, "b": "w"}"#,
            br#"{"a": 5, "a": 2.5, "b": "2024-01-01", "b": "v"}"#,
            br#"{"\u0061": "2024-01-01", "b\"": 1, "c": {"\u0064": true}}"#,
            br#"{"a": 6, "b": "x", "c": {"d": true, "e": [1]}}"#,
            br#"{"c": 7, "a": {"x": 1}}"#,
            br#"{"c.d": 1.5, "c": {"d": 2}, "a.x": 2}"#,
            br#"{"": {"": {"y": 1}}, "y": 2}"#,
            br#"{"": 3}"#,
            b"[1, 2]",
            b"\"2024-01-01\"",
            br#"{"a": 8, "b": "x", "c": {"d": true, "e": [1]}}"#,
        ];
        let (walked, scanned) = both(&lines);
        assert_eq!(walked, scanned);
        assert_eq!(walked.finish(), scanned.finish());
        // The same rows again in another order, and each kind of row repeated.
        let mut mixed: Vec<&[u8]> = lines.iter().rev().copied().collect();
        mixed.extend(lines.iter().flat_map(|l| [*l, *l]));
        let (walked, scanned) = both(&mixed);
        assert_eq!(walked, scanned);
        assert_eq!(walked.finish(), scanned.finish());
    }

    #[test]
    fn rows_continue_a_state_read_before() {
        let first: [&[u8]; 2] = [br#"{"a": 1, "b": {"c": 2}}"#, br#"{"b": {"c": "x"}}"#];
        let (walked, _) = both(&first);
        let mut rows = RowInferrer::with_state(spate_json::DEFAULT_MAX_DEPTH, walked.clone());
        let mut all = walked;
        for (i, l) in [&br#"{"b": {"c": 3}, "a": 2.5, "d": null}"#[..], b"{}"]
            .iter()
            .enumerate()
        {
            rows.observe(l, 10 + i as u64).unwrap();
            all.observe(l, 10 + i as u64);
        }
        assert_eq!(rows.into_state().finish(), all.finish());
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
